//! The provider boundary. The engine calls these methods, one per change; the AWS provider
//! implements them with one module per resource kind, and an in-memory provider implements
//! them for engine tests.
//!
//! Arguments and outputs follow [`ecsctl_graph::kinds`]: `args` is a resource's arguments
//! with every reference resolved to JSON; outputs are the attributes known after create.

mod interrupt;

pub use interrupt::Interrupt;

use async_trait::async_trait;
use ecsctl_graph::{Address, Kind};
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

pub type Attrs = Map<String, Json>;

/// What a create (or a successful look-up of an earlier create) returns.
#[derive(Clone, Debug, PartialEq)]
pub struct Created {
    pub id: String,
    pub outputs: Attrs,
}

/// One resource to read back.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadItem {
    pub address: Address,
    pub id: String,
    /// The arguments as last applied; reads may need them (e.g. a record's zone id).
    pub args: Attrs,
    pub outputs: Attrs,
}

/// The live form of a resource, in the same normalised shape as the arguments the plan
/// compares, plus its outputs.
#[derive(Clone, Debug, PartialEq)]
pub struct Live {
    pub args: Attrs,
    pub outputs: Attrs,
}

/// What [`Provider::scan`] found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Per kind read, what [`Provider::read`] would return.
    pub live: BTreeMap<Kind, Result<BTreeMap<Address, Option<Live>>, ProviderError>>,
    /// Per taggable kind, when a stack was given: what [`Provider::tagged`] would return
    /// (resources the state knows included; the caller tells orphans apart).
    pub tagged: BTreeMap<Kind, Result<Vec<Orphan>, ProviderError>>,
}

/// Data looked up before expansion.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DataQuery {
    /// Discover this many availability zone names (in name order) when set.
    pub az_count: Option<usize>,
    /// Read this SSM parameter for the AMI id when set. An ECS-optimised image parameter
    /// is switched to its arm64 twin when `instance_type` runs arm64 only.
    pub ami_parameter: Option<String>,
    /// The cluster's instance type: its architecture picks the image, and only zones that
    /// offer it are picked.
    pub instance_type: Option<String>,
    /// An AMI id given explicitly: it must exist and match the instance type's architecture.
    pub ami_id: Option<String>,
    /// A key pair the instances name: it must exist.
    pub key_name: Option<String>,
    /// Zones the stack names explicitly: each must offer `instance_type`.
    pub zone_names: Vec<String>,
}

/// A resource found by tag that the state does not know.
#[derive(Clone, Debug, PartialEq)]
pub struct Orphan {
    pub address: Address,
    pub id: String,
}

/// The small set of failures the engine tells apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    NotFound,
    Throttled,
    DependencyViolation,
    InvalidInput,
    AccessDenied,
    /// A waiter's deadline passed (NAT not available, service not stable, …).
    Timeout,
    Other,
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorClass::NotFound => "not found",
            ErrorClass::Throttled => "throttled",
            ErrorClass::DependencyViolation => "dependency violation",
            ErrorClass::InvalidInput => "invalid input",
            ErrorClass::AccessDenied => "access denied",
            ErrorClass::Timeout => "timed out",
            ErrorClass::Other => "error",
        })
    }
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{}{class}: {message}{}", .address.as_ref().map(|a| format!("{a}: ")).unwrap_or_default(), .code.as_ref().map(|c| format!(" ({c})")).unwrap_or_default())]
pub struct ProviderError {
    pub class: ErrorClass,
    pub address: Option<Address>,
    /// The AWS error code, e.g. `DependencyViolation`.
    pub code: Option<String>,
    pub message: String,
}

impl ProviderError {
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        ProviderError {
            class,
            address: None,
            code: None,
            message: message.into(),
        }
    }

    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    pub fn at(mut self, address: &Address) -> Self {
        self.address = Some(address.clone());
        self
    }
}

/// Where slow operations say what they wait for (`waiting for NAT gateway nat-1 to become
/// available (45s)`, a service's latest events). Libraries never print; the CLI renders.
pub trait Progress: Send + Sync {
    fn note(&self, address: &Address, message: &str);
}

/// A progress sink that drops everything.
pub struct Quiet;

impl Progress for Quiet {
    fn note(&self, _: &Address, _: &str) {}
}

/// Per-call settings from the command line.
#[derive(Clone, Debug)]
pub struct Options {
    /// Wait for ECS services to become stable and for the Auto Scaling group's minimum of
    /// instances to join the cluster (`--no-wait` turns both off).
    pub wait_for_services: bool,
    /// The longest any single waiter may take before failing with `Timeout`.
    pub wait_timeout: Duration,
    /// How long to keep retrying a DependencyViolation on delete.
    pub dependency_timeout: Duration,
    /// Triggered (first Ctrl-C): waiters stop waiting at once.
    pub interrupt: Interrupt,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            wait_for_services: true,
            wait_timeout: Duration::from_secs(15 * 60),
            dependency_timeout: Duration::from_secs(10 * 60),
            interrupt: Interrupt::new(),
        }
    }
}

impl Options {
    /// The options of a run bounded by `wait_timeout`: dependency violations are retried
    /// for at most as long as a wait may take (default 10 minutes).
    pub fn bounded(wait_for_services: bool, wait_timeout: Duration) -> Self {
        let d = Options::default();
        Options {
            wait_for_services,
            wait_timeout,
            dependency_timeout: d.dependency_timeout.min(wait_timeout),
            ..d
        }
    }
}

/// Context for one call.
pub struct Call<'a> {
    pub address: &'a Address,
    pub progress: &'a dyn Progress,
    pub options: &'a Options,
}

#[async_trait]
pub trait Provider: Send + Sync {
    /// Create the resource with `args`. `token` is stable for this intent (it is recorded
    /// in state before the call) and is used as the API's idempotency token where there is
    /// one; the resource is tagged `ecsctl:address` so [`Provider::find`] can adopt it.
    async fn create(
        &self,
        call: &Call<'_>,
        args: &Attrs,
        token: &str,
    ) -> Result<Created, ProviderError>;

    /// Find a resource an interrupted create may have made, by token or by its
    /// `ecsctl:stack` + `ecsctl:address` tags (or unique name, for untaggable kinds).
    async fn find(
        &self,
        call: &Call<'_>,
        args: &Attrs,
        token: &str,
    ) -> Result<Option<Created>, ProviderError>;

    /// Change in place from `old` to `new` arguments; returns the new outputs.
    async fn update(
        &self,
        call: &Call<'_>,
        id: &str,
        old: &Attrs,
        new: &Attrs,
        outputs: &Attrs,
    ) -> Result<Attrs, ProviderError>;

    /// Delete; "already gone" is success. Waits where AWS needs it before dependents go.
    async fn delete(
        &self,
        call: &Call<'_>,
        id: &str,
        args: &Attrs,
        outputs: &Attrs,
    ) -> Result<(), ProviderError>;

    /// Read back every item of one kind in as few calls as the API allows. Missing
    /// resources map to `None`.
    async fn read(
        &self,
        kind: Kind,
        items: &[ReadItem],
    ) -> Result<BTreeMap<Address, Option<Live>>, ProviderError>;

    /// Read back every item of several kinds at once (a refresh) and, given a stack name,
    /// list the resources tagged for it of every taggable kind (orphan discovery). Providers
    /// whose APIs answer for several kinds, or for the items and the tagged resources, in
    /// one call override it to share those calls; by default each kind is read and listed
    /// on its own, all concurrently. A kind whose read fails does not hide the others.
    async fn scan(&self, items: BTreeMap<Kind, Vec<ReadItem>>, stack: Option<&str>) -> Scan {
        let reads = items.into_iter().map(|(kind, items)| async move {
            let r = self.read(kind, &items).await;
            (kind, r)
        });
        let kinds: Vec<Kind> = match stack {
            Some(_) => Kind::ALL
                .iter()
                .copied()
                .filter(|k| k.schema().taggable)
                .collect(),
            None => Vec::new(),
        };
        let lists = kinds.into_iter().map(|kind| async move {
            let r = self.tagged(kind, stack.unwrap_or_default()).await;
            (kind, r)
        });
        let (live, tagged) = futures_util::future::join(
            futures_util::future::join_all(reads),
            futures_util::future::join_all(lists),
        )
        .await;
        Scan {
            live: live.into_iter().collect(),
            tagged: tagged.into_iter().collect(),
        }
    }

    /// Resources tagged `ecsctl:stack = stack` of this kind.
    async fn tagged(&self, kind: Kind, stack: &str) -> Result<Vec<Orphan>, ProviderError>;

    /// Availability zones, AMI id, region, account.
    async fn data(&self, query: &DataQuery) -> Result<ecsctl_graph::Data, ProviderError>;
}
