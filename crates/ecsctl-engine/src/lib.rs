//! The executor: walks a plan's changes in parallel through a [`Provider`], writing the
//! state after every side effect, and reads resources back for refresh.
//!
//! - [`apply`] runs an [`ecsctl_plan::Plan`]: each change starts as soon as what it waits for is done,
//!   bounded by [`ApplyOptions::parallelism`] and a per-API limit. Creates record their
//!   intent in `state.pending` (saved) before calling the provider, so a run that dies
//!   mid-create is resolved by the next one through `Provider::find`.
//! - [`refresh`] reads every resource in a state, one batched call per kind;
//!   [`find_orphans`] lists what is tagged for the stack but not in the state.
//! - [`memory::MemoryProvider`] is an in-memory provider with injectable faults for tests.

pub mod memory;
mod orphans;
mod refresh;
mod resolve;
mod schedule;
mod walk;

pub use ecsctl_provider::Interrupt;
pub use orphans::{find_orphans, OrphanSearch};
pub use refresh::{refresh, refresh_and_find_orphans, RefreshOutcome};
pub use walk::apply;

use ecsctl_graph::Address;
use ecsctl_plan::Action;
use ecsctl_provider::ProviderError;
use ecsctl_state::State;
use std::fmt;
use std::time::Duration;

/// Where the executor writes the state. The CLI implements it with `ecsctl_state::write`.
///
/// `save` may change the state it is given (the file writer bumps `serial`); the executor
/// keeps the changed value. It is never called twice at once. A failed save stops the run:
/// no further change is started.
pub trait StateStore: Send {
    fn save(&mut self, state: &mut State) -> Result<(), String>;
}

/// One provider operation the executor performs for a change. A replace is a `Create` and
/// a `Delete` (or `DeleteDeposed` for the old object of a create-before-destroy replace).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Create,
    Update,
    Delete,
    /// Delete the old object of a create-before-destroy replacement.
    DeleteDeposed,
    /// Resolve a create a previous run started but did not confirm, for an address this
    /// plan does not create: adopt what it made, or forget the intent.
    Recover,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Create => "create",
            Op::Update => "update",
            Op::Delete => "delete",
            Op::DeleteDeposed => "delete old object",
            Op::Recover => "recover interrupted create",
        })
    }
}

/// Receives what the executor does, for the CLI to render. Libraries never print.
pub trait Reporter: Send + Sync {
    /// An operation started.
    fn started(&self, _address: &Address, _op: Op) {}
    /// A slow operation says what it waits for, or a retry is scheduled.
    fn progress(&self, _address: &Address, _message: &str) {}
    /// An operation ended: `error` is `None` on success.
    fn finished(
        &self,
        _address: &Address,
        _op: Op,
        _elapsed: Duration,
        _error: Option<&ProviderError>,
    ) {
    }
    /// A change was not started, and why.
    fn skipped(&self, _address: &Address, _reason: &str) {}
}

/// A reporter that drops every event.
pub struct Silent;

impl Reporter for Silent {}

/// Settings of one apply.
#[derive(Clone, Debug)]
pub struct ApplyOptions {
    /// The most changes in flight at once.
    pub parallelism: usize,
    /// The most calls in flight at once against one AWS API (`Kind::schema().api`); lowered
    /// for an API (halved, down to 1) whenever it throttles.
    pub per_api: usize,
    /// Passed to every provider call; `dependency_timeout` bounds the retries of deletes
    /// failing with `DependencyViolation`.
    pub provider: ecsctl_provider::Options,
    /// The first wait before retrying a `DependencyViolation` or `Throttled` error; doubled
    /// on each retry (with jitter), up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
    /// How many times one change is retried after `Throttled` before it fails.
    pub throttle_retries: u32,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            parallelism: 10,
            per_api: 4,
            provider: ecsctl_provider::Options::default(),
            backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(30),
            throttle_retries: 8,
        }
    }
}

/// What an apply did.
#[derive(Debug)]
pub struct ApplyOutcome {
    /// The state as last saved (or as it would have been saved, if a save failed).
    pub state: State,
    /// Changes that completed, with how long they took, in completion order.
    pub completed: Vec<(Address, Action, Duration)>,
    /// Every provider operation that succeeded, in order: a replacement whose delete
    /// failed still made its new object, and a summary must count it.
    pub operations: Vec<(Address, Op)>,
    /// Changes (and cleanups of old objects) that failed.
    pub failed: Vec<(Address, ProviderError)>,
    /// Changes that were not started, with the reason (a failed dependency, an interrupt, a
    /// failed save, an ordering cycle).
    pub skipped: Vec<(Address, String)>,
    /// The run was interrupted: in-flight calls finished and were saved, nothing new started.
    pub interrupted: bool,
    /// The save that failed and stopped the run.
    pub save_error: Option<String>,
}

impl ApplyOutcome {
    /// True when every change completed and the state was saved.
    pub fn is_success(&self) -> bool {
        self.failed.is_empty()
            && self.skipped.is_empty()
            && !self.interrupted
            && self.save_error.is_none()
    }
}
