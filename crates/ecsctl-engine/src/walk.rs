//! The apply loop. One owner (this loop) holds the state and the store: it decides what
//! starts, records intents, applies results and saves; provider calls run as tasks and
//! report back. So saves are never concurrent, and a save always follows the side effect
//! it records.

use crate::resolve::{new_token, now_rfc3339, resolve_args};
use crate::schedule::{build, Node, Part};
use crate::{ApplyOptions, ApplyOutcome, Interrupt, Reporter, StateStore};
use ecsctl_graph::Address;
use ecsctl_plan::Plan;
use ecsctl_provider::{Attrs, Call, Created, ErrorClass, Progress, Provider, ProviderError};
use ecsctl_state::{Deposed, Pending, ResourceState, State};
use rand::Rng;
use std::collections::btree_map::Entry;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::{Id, JoinError, JoinSet};
use tokio::time::Instant;

/// Apply `plan` to `state` through `provider`, saving through `store` after every side
/// effect. Never fails as a whole: what happened to each change is in the outcome.
pub async fn apply(
    plan: &Plan,
    state: State,
    provider: Arc<dyn Provider>,
    store: &mut dyn StateStore,
    reporter: Arc<dyn Reporter>,
    opts: &ApplyOptions,
    interrupt: Interrupt,
) -> ApplyOutcome {
    let nodes = build(plan, &state);
    // The interrupt also stops the provider's waiters.
    let mut opts = opts.clone();
    opts.provider.interrupt = interrupt.clone();
    let opts = &opts;
    let mut run = Run::new(plan, nodes, state, store, provider, reporter, opts);
    run.walk(&interrupt).await;
    run.finish()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Waiting,
    Ready,
    Running,
    Done,
    Failed,
    Skipped,
}

/// Per-node retry bookkeeping.
#[derive(Default)]
struct Attempts {
    started: Option<Instant>,
    retries: u32,
    throttles: u32,
    /// When `DependencyViolation` retries of a delete give up.
    dv_deadline: Option<Instant>,
    /// The token of the intent this run recorded (a retry reuses it without a look-up).
    token: Option<String>,
}

struct ChangeTrack {
    parts_left: usize,
    started: Option<Instant>,
    settled: bool,
}

/// What a task is asked to do.
enum Work {
    Create {
        args: Attrs,
        token: String,
        /// The arguments of an unconfirmed create of an earlier run: look it up first.
        recover: Option<Attrs>,
        /// The id of the object a create-before-destroy replace supersedes; a look-up that
        /// finds it has not found the new one.
        current_id: Option<String>,
    },
    Update {
        id: String,
        old: Attrs,
        new: Attrs,
        outputs: Attrs,
    },
    Delete {
        id: String,
        args: Attrs,
        outputs: Attrs,
    },
    Find {
        args: Attrs,
        token: String,
    },
}

enum Prepared {
    Call(Box<Work>),
    /// Nothing to call: the object is already gone.
    Nothing,
    NotStarted,
}

impl Prepared {
    fn or_nothing(work: Option<Work>) -> Prepared {
        work.map_or(Prepared::Nothing, |w| Prepared::Call(Box::new(w)))
    }
}

enum Done {
    Created { created: Created, args: Attrs },
    Updated { outputs: Attrs, args: Attrs },
    Deleted,
    Found(Option<Created>),
}

struct TaskReport {
    result: Result<Done, ProviderError>,
    /// An earlier run's object that was found (and should be recorded) even though the
    /// update to the desired arguments then failed.
    adopted: Option<(Created, Attrs)>,
    /// The arguments of an update that failed: it may have changed the object in part or
    /// in whole before failing.
    unconfirmed: Option<Attrs>,
}

/// Forwards provider progress notes to the reporter.
struct Forward(Arc<dyn Reporter>);

impl Progress for Forward {
    fn note(&self, address: &Address, message: &str) {
        self.0.progress(address, message);
    }
}

enum Stop {
    Interrupted,
    SaveFailed,
}

/// What woke the loop; one exists at a time, so its size does not matter.
#[allow(clippy::large_enum_variant)]
enum Event {
    Joined(Option<Result<(Id, TaskReport), JoinError>>),
    Timer,
    Interrupt,
}

struct Run<'a> {
    plan: &'a Plan,
    nodes: Vec<Node>,
    status: Vec<Status>,
    waiting_on: Vec<usize>,
    not_before: Vec<Option<Instant>>,
    attempts: Vec<Attempts>,
    changes: Vec<ChangeTrack>,
    state: State,
    store: &'a mut dyn StateStore,
    provider: Arc<dyn Provider>,
    reporter: Arc<dyn Reporter>,
    opts: &'a ApplyOptions,
    running: usize,
    api_running: HashMap<&'static str, usize>,
    api_limit: HashMap<&'static str, usize>,
    tasks: JoinSet<TaskReport>,
    task_node: HashMap<Id, usize>,
    stop: Option<Stop>,
    out: ApplyOutcome,
}

fn api(address: &Address) -> &'static str {
    address.kind.schema().api
}

impl<'a> Run<'a> {
    fn new(
        plan: &'a Plan,
        nodes: Vec<Node>,
        state: State,
        store: &'a mut dyn StateStore,
        provider: Arc<dyn Provider>,
        reporter: Arc<dyn Reporter>,
        opts: &'a ApplyOptions,
    ) -> Run<'a> {
        let mut changes: Vec<ChangeTrack> = plan
            .changes
            .iter()
            .map(|_| ChangeTrack {
                parts_left: 0,
                started: None,
                settled: false,
            })
            .collect();
        for n in &nodes {
            if let Some(c) = n.change {
                changes[c].parts_left += 1;
            }
        }
        let status = nodes
            .iter()
            .map(|n| {
                if n.waits_for.is_empty() {
                    Status::Ready
                } else {
                    Status::Waiting
                }
            })
            .collect();
        Run {
            plan,
            status,
            waiting_on: nodes.iter().map(|n| n.waits_for.len()).collect(),
            not_before: vec![None; nodes.len()],
            attempts: nodes.iter().map(|_| Attempts::default()).collect(),
            nodes,
            changes,
            out: ApplyOutcome {
                state: State::new(&state.stack),
                completed: Vec::new(),
                operations: Vec::new(),
                failed: Vec::new(),
                skipped: Vec::new(),
                interrupted: false,
                save_error: None,
            },
            state,
            store,
            provider,
            reporter,
            opts,
            running: 0,
            api_running: HashMap::new(),
            api_limit: HashMap::new(),
            tasks: JoinSet::new(),
            task_node: HashMap::new(),
            stop: None,
        }
    }

    async fn walk(&mut self, interrupt: &Interrupt) {
        loop {
            if self.stop.is_none() && interrupt.is_triggered() {
                self.stop = Some(Stop::Interrupted);
            }
            if self.stop.is_none() {
                self.start_ready();
            }
            let next_timer = if self.stop.is_none() {
                self.next_timer()
            } else {
                None
            };
            if self.running == 0 && (self.stop.is_some() || next_timer.is_none()) {
                // Nothing in flight and nothing will become ready on its own.
                return;
            }
            let event = tokio::select! {
                joined = self.tasks.join_next_with_id(), if self.running > 0 => Event::Joined(joined),
                _ = tokio::time::sleep_until(next_timer.unwrap_or_else(Instant::now)), if next_timer.is_some() => Event::Timer,
                _ = interrupt.triggered(), if self.stop.is_none() => Event::Interrupt,
            };
            match event {
                Event::Joined(Some(joined)) => self.on_joined(joined),
                Event::Joined(None) => self.running = 0,
                Event::Timer => {}
                Event::Interrupt => self.stop = Some(Stop::Interrupted),
            }
        }
    }

    /// The earliest retry time of a ready node still waiting out a backoff. (Nodes whose
    /// backoff has passed are just ready; a timer for them would spin.)
    fn next_timer(&self) -> Option<Instant> {
        let now = Instant::now();
        (0..self.nodes.len())
            .filter(|&n| self.status[n] == Status::Ready)
            .filter_map(|n| self.not_before[n])
            .filter(|&t| t > now)
            .min()
    }

    fn start_ready(&mut self) {
        let parallelism = self.opts.parallelism.max(1);
        loop {
            let mut progressed = false;
            for n in 0..self.nodes.len() {
                if self.stop.is_some() {
                    return;
                }
                if self.status[n] != Status::Ready {
                    continue;
                }
                if self.not_before[n].is_some_and(|t| t > Instant::now()) {
                    continue;
                }
                if self.running >= parallelism {
                    return;
                }
                let api = api(&self.nodes[n].address);
                let limit = *self
                    .api_limit
                    .entry(api)
                    .or_insert(self.opts.per_api.max(1));
                if self.api_running.get(api).copied().unwrap_or(0) >= limit {
                    continue;
                }
                self.start(n);
                progressed = true;
            }
            if !progressed {
                return;
            }
        }
    }

    fn start(&mut self, n: usize) {
        let now = Instant::now();
        let node = self.nodes[n].clone();
        let first_attempt = self.attempts[n].started.is_none();
        if first_attempt {
            self.attempts[n].started = Some(now);
            if let Some(c) = node.change {
                self.changes[c].started.get_or_insert(now);
            }
            self.reporter.started(&node.address, node.part.op());
        }
        let work = match self.prepare(n, &node) {
            Ok(Prepared::Call(work)) => *work,
            Ok(Prepared::Nothing) => {
                self.status[n] = Status::Running;
                self.succeeded(n, false);
                return;
            }
            // The intent could not be saved (the run stops): the create was not started.
            Ok(Prepared::NotStarted) => return,
            Err(e) => {
                self.status[n] = Status::Running;
                self.fail(n, e);
                return;
            }
        };
        self.status[n] = Status::Running;
        self.running += 1;
        *self.api_running.entry(api(&node.address)).or_default() += 1;
        let provider = self.provider.clone();
        let reporter = self.reporter.clone();
        let options = self.opts.provider.clone();
        let address = node.address.clone();
        let handle = self
            .tasks
            .spawn(async move { perform(provider, reporter, options, address, work).await });
        self.task_node.insert(handle.id(), n);
    }

    /// Work out the call for node `n`, recording the intent of a create first.
    fn prepare(&mut self, n: usize, node: &Node) -> Result<Prepared, ProviderError> {
        let a = &node.address;
        let change = node.change.map(|c| &self.plan.changes[c]);
        let desired = || -> Result<Attrs, ProviderError> {
            let after = change.and_then(|c| c.after.as_ref()).ok_or_else(|| {
                ProviderError::new(
                    ErrorClass::InvalidInput,
                    "the plan holds no desired arguments for this change; run `ecsctl plan` again",
                )
                .at(a)
            })?;
            resolve_args(a, after, &self.state)
        };
        match node.part {
            Part::Create => {
                let args = desired()?;
                let current_id = if node.before_destroy {
                    self.state.resources.get(a).map(|r| r.id.clone())
                } else {
                    None
                };
                if let Some(p) = self.state.pending.get(a) {
                    let ours = self.attempts[n].token.as_deref() == Some(p.token.as_str());
                    return Ok(Prepared::Call(Box::new(Work::Create {
                        args,
                        token: p.token.clone(),
                        recover: (!ours).then(|| p.args.clone()),
                        current_id,
                    })));
                }
                let token = new_token();
                self.state.pending.insert(
                    a.clone(),
                    Pending {
                        token: token.clone(),
                        since: now_rfc3339(),
                        args: args.clone(),
                        deps: change.map(|c| c.deps.clone()).unwrap_or_default(),
                    },
                );
                if !self.save() {
                    self.state.pending.remove(a);
                    return Ok(Prepared::NotStarted);
                }
                self.attempts[n].token = Some(token.clone());
                Ok(Prepared::Call(Box::new(Work::Create {
                    args,
                    token,
                    recover: None,
                    current_id,
                })))
            }
            Part::Update => {
                let new = desired()?;
                let cur = self.state.resources.get(a).ok_or_else(|| {
                    ProviderError::new(
                        ErrorClass::NotFound,
                        "cannot update: the resource is not in the state; run `ecsctl plan` again",
                    )
                    .at(a)
                })?;
                Ok(Prepared::Call(Box::new(Work::Update {
                    id: cur.id.clone(),
                    old: cur.args.clone(),
                    new,
                    outputs: cur.outputs.clone(),
                })))
            }
            Part::Delete => Ok(Prepared::or_nothing(self.state.resources.get(a).map(|r| {
                Work::Delete {
                    id: r.id.clone(),
                    args: r.args.clone(),
                    outputs: r.outputs.clone(),
                }
            }))),
            Part::DeleteOld => {
                let Some(id) = &node.old_id else {
                    return Ok(Prepared::Nothing);
                };
                Ok(Prepared::or_nothing(
                    self.state
                        .deposed
                        .iter()
                        .find(|d| d.address == *a && d.resource.id == *id)
                        .map(|d| Work::Delete {
                            id: d.resource.id.clone(),
                            args: d.resource.args.clone(),
                            outputs: d.resource.outputs.clone(),
                        }),
                ))
            }
            Part::Recover => Ok(Prepared::or_nothing(self.state.pending.get(a).map(|p| {
                Work::Find {
                    args: p.args.clone(),
                    token: p.token.clone(),
                }
            }))),
        }
    }

    fn on_joined(&mut self, joined: Result<(Id, TaskReport), JoinError>) {
        let (id, report) = match joined {
            Ok((id, report)) => (id, report),
            Err(e) => {
                let id = e.id();
                let message = if e.is_panic() {
                    "the provider panicked during this call (a bug in ecsctl)".to_string()
                } else {
                    "the provider call was cancelled".to_string()
                };
                (
                    id,
                    TaskReport {
                        result: Err(ProviderError::new(ErrorClass::Other, message)),
                        adopted: None,
                        unconfirmed: None,
                    },
                )
            }
        };
        let Some(n) = self.task_node.remove(&id) else {
            return;
        };
        self.running -= 1;
        if let Some(c) = self.api_running.get_mut(api(&self.nodes[n].address)) {
            *c = c.saturating_sub(1);
        }
        if let Some((created, args)) = report.adopted {
            self.record_created(n, created, args);
            self.save();
        }
        if let Some(args) = report.unconfirmed {
            let a = self.nodes[n].address.clone();
            self.state.unconfirmed.insert(a, args);
            self.save();
        }
        match report.result {
            Ok(done) => {
                self.commit(n, done);
                self.save();
                self.succeeded(n, true);
            }
            Err(e) => self.on_error(n, e),
        }
    }

    /// Record a successful call in the state (the caller saves).
    fn commit(&mut self, n: usize, done: Done) {
        let node = &self.nodes[n];
        let a = node.address.clone();
        match done {
            Done::Created { created, args } => self.record_created(n, created, args),
            Done::Updated { outputs, args } => {
                let deps = self.new_deps(n);
                if let Some(r) = self.state.resources.get_mut(&a) {
                    r.args = args;
                    r.outputs = outputs;
                    r.deps = deps;
                }
                self.state.unconfirmed.remove(&a);
            }
            Done::Deleted => match node.part {
                Part::DeleteOld => {
                    let id = node.old_id.clone();
                    self.state
                        .deposed
                        .retain(|d| !(d.address == a && Some(&d.resource.id) == id.as_ref()));
                }
                _ => {
                    self.state.resources.remove(&a);
                    self.state.unconfirmed.remove(&a);
                }
            },
            Done::Found(found) => {
                if let Some(p) = self.state.pending.remove(&a) {
                    if let Some(c) = found {
                        let resource = ResourceState {
                            id: c.id,
                            args: p.args,
                            outputs: c.outputs,
                            deps: p.deps,
                        };
                        match self.state.resources.entry(a.clone()) {
                            // The address is taken: keep the found object for deletion.
                            Entry::Occupied(_) => self.state.deposed.push(Deposed {
                                address: a,
                                resource,
                            }),
                            Entry::Vacant(v) => {
                                v.insert(resource);
                            }
                        }
                    }
                }
            }
        }
    }

    /// The object created (or adopted) for node `n` becomes the resource at its address;
    /// the object it replaces, if any, is kept as deposed until its delete part runs.
    fn record_created(&mut self, n: usize, created: Created, args: Attrs) {
        let a = self.nodes[n].address.clone();
        let deps = self.new_deps(n);
        let resource = ResourceState {
            id: created.id,
            args,
            outputs: created.outputs,
            deps,
        };
        if let Some(old) = self.state.resources.insert(a.clone(), resource) {
            if old.id != self.state.resources[&a].id {
                let old_id = old.id.clone();
                self.state.deposed.push(Deposed {
                    address: a.clone(),
                    resource: old,
                });
                let change = self.nodes[n].change;
                for m in self.nodes[n].dependents.clone() {
                    let other = &mut self.nodes[m];
                    if other.part == Part::DeleteOld && other.change == change {
                        other.old_id = Some(old_id.clone());
                    }
                }
            }
        }
        self.state.pending.remove(&a);
        self.state.unconfirmed.remove(&a);
    }

    fn new_deps(&self, n: usize) -> Vec<Address> {
        self.nodes[n]
            .change
            .map(|c| self.plan.changes[c].deps.clone())
            .unwrap_or_default()
    }

    fn on_error(&mut self, n: usize, e: ProviderError) {
        let now = Instant::now();
        let node = &self.nodes[n];
        let a = node.address.clone();
        let deleting = matches!(node.part, Part::Delete | Part::DeleteOld);
        let at = &mut self.attempts[n];
        match e.class {
            ErrorClass::Throttled if at.throttles < self.opts.throttle_retries => {
                at.throttles += 1;
                let api = api(&a);
                let limit = self
                    .api_limit
                    .entry(api)
                    .or_insert(self.opts.per_api.max(1));
                *limit = (*limit / 2).max(1);
                let limit = *limit;
                let wait = self.backoff(n);
                self.reporter.progress(
                    &a,
                    &format!(
                        "throttled by {api}; at most {limit} concurrent {api} calls now, retrying in {}s",
                        wait.as_secs()
                    ),
                );
                self.retry_after(n, wait);
            }
            ErrorClass::DependencyViolation if deleting => {
                let timeout = self.opts.provider.dependency_timeout;
                let deadline = *at.dv_deadline.get_or_insert(now + timeout);
                if now < deadline {
                    let wait = self.backoff(n).min(deadline - now);
                    self.reporter.progress(
                        &a,
                        &format!(
                            "still in use, retrying in {}s: {}",
                            wait.as_secs(),
                            e.message
                        ),
                    );
                    self.retry_after(n, wait);
                } else {
                    let message = format!(
                        "{} (still in use after retrying for {}s)",
                        e.message,
                        timeout.as_secs()
                    );
                    self.fail(n, ProviderError { message, ..e });
                }
            }
            _ => {
                if node.part == Part::Create && certainly_not_created(e.class) {
                    // Nothing was made: the intent can go.
                    if self.state.pending.remove(&a).is_some() {
                        self.save();
                    }
                }
                self.fail(n, e);
            }
        }
    }

    /// Jittered exponential backoff for the next retry of node `n`.
    fn backoff(&mut self, n: usize) -> Duration {
        let at = &mut self.attempts[n];
        let exp = self
            .opts
            .backoff
            .saturating_mul(1u32 << at.retries.min(16))
            .min(self.opts.max_backoff);
        at.retries += 1;
        let factor: f64 = rand::thread_rng().gen_range(0.5..=1.0);
        exp.mul_f64(factor)
    }

    fn retry_after(&mut self, n: usize, wait: Duration) {
        self.status[n] = Status::Ready;
        self.not_before[n] = Some(Instant::now() + wait);
    }

    fn elapsed(&self, n: usize) -> Duration {
        self.attempts[n]
            .started
            .map(|s| s.elapsed())
            .unwrap_or_default()
    }

    /// Node `n` is done; `called`: a provider call did it (else there was nothing to do).
    fn succeeded(&mut self, n: usize, called: bool) {
        self.status[n] = Status::Done;
        let node = &self.nodes[n];
        self.reporter
            .finished(&node.address, node.part.op(), self.elapsed(n), None);
        if called {
            self.out
                .operations
                .push((node.address.clone(), node.part.op()));
        }
        if let Some(c) = node.change {
            let track = &mut self.changes[c];
            track.parts_left -= 1;
            if track.parts_left == 0 && !track.settled {
                track.settled = true;
                let elapsed = track.started.map(|s| s.elapsed()).unwrap_or_default();
                let change = &self.plan.changes[c];
                self.out
                    .completed
                    .push((change.address.clone(), change.action, elapsed));
            }
        }
        for m in self.nodes[n].dependents.clone() {
            self.waiting_on[m] -= 1;
            if self.waiting_on[m] == 0 && self.status[m] == Status::Waiting {
                self.status[m] = Status::Ready;
            }
        }
    }

    fn fail(&mut self, n: usize, e: ProviderError) {
        self.status[n] = Status::Failed;
        let node = &self.nodes[n];
        let a = node.address.clone();
        let e = if e.address.is_none() { e.at(&a) } else { e };
        self.reporter
            .finished(&a, node.part.op(), self.elapsed(n), Some(&e));
        let settle = match node.change {
            Some(c) => !std::mem::replace(&mut self.changes[c].settled, true),
            None => true,
        };
        if settle {
            self.out.failed.push((a.clone(), e));
        }
        let reason = format!("not started: it depends on `{a}`, which failed");
        let mut stack: Vec<usize> = self.nodes[n].dependents.iter().copied().collect();
        while let Some(m) = stack.pop() {
            if matches!(self.status[m], Status::Waiting | Status::Ready) {
                self.skip(m, &reason);
                stack.extend(self.nodes[m].dependents.iter().copied());
            }
        }
    }

    fn skip(&mut self, n: usize, reason: &str) {
        self.status[n] = Status::Skipped;
        let node = &self.nodes[n];
        let settle = match node.change {
            Some(c) => !std::mem::replace(&mut self.changes[c].settled, true),
            None => true,
        };
        if settle {
            self.reporter.skipped(&node.address, reason);
            self.out
                .skipped
                .push((node.address.clone(), reason.to_string()));
        }
    }

    /// Save the state; on failure, stop the run. Returns whether it was saved.
    fn save(&mut self) -> bool {
        match self.store.save(&mut self.state) {
            Ok(()) => true,
            Err(e) => {
                if self.out.save_error.is_none() {
                    self.out.save_error = Some(e);
                }
                if self.stop.is_none() {
                    self.stop = Some(Stop::SaveFailed);
                }
                false
            }
        }
    }

    fn finish(mut self) -> ApplyOutcome {
        let reason = match self.stop {
            Some(Stop::Interrupted) => {
                self.out.interrupted = true;
                "not started: the run was interrupted".to_string()
            }
            Some(Stop::SaveFailed) => format!(
                "not started: saving the state failed: {}",
                self.out.save_error.clone().unwrap_or_default()
            ),
            None => {
                let stuck: Vec<String> = (0..self.nodes.len())
                    .filter(|&n| matches!(self.status[n], Status::Waiting | Status::Ready))
                    .map(|n| format!("{} ({})", self.nodes[n].address, self.nodes[n].part.op()))
                    .collect();
                format!(
                    "not started: these operations wait for each other: {}; apply the plan in \
                     two steps (e.g. with fewer changes) or report this as a bug",
                    stuck.join(", ")
                )
            }
        };
        for n in 0..self.nodes.len() {
            if matches!(self.status[n], Status::Waiting | Status::Ready) {
                self.skip(n, &reason);
            }
        }
        self.out.state = self.state;
        self.out
    }
}

/// Errors after which AWS certainly made nothing, so an intent record can be dropped.
fn certainly_not_created(class: ErrorClass) -> bool {
    matches!(
        class,
        ErrorClass::InvalidInput
            | ErrorClass::AccessDenied
            | ErrorClass::DependencyViolation
            | ErrorClass::NotFound
    )
}

async fn perform(
    provider: Arc<dyn Provider>,
    reporter: Arc<dyn Reporter>,
    options: ecsctl_provider::Options,
    address: Address,
    work: Work,
) -> TaskReport {
    let progress = Forward(reporter);
    let call = Call {
        address: &address,
        progress: &progress,
        options: &options,
    };
    let plain = |result: Result<Done, ProviderError>| TaskReport {
        result,
        adopted: None,
        unconfirmed: None,
    };
    match work {
        Work::Create {
            args,
            token,
            recover,
            current_id,
        } => {
            if let Some(old_args) = recover {
                let found = match provider.find(&call, &old_args, &token).await {
                    Ok(f) => f.filter(|c| Some(&c.id) != current_id.as_ref()),
                    Err(e) => return plain(Err(e)),
                };
                if let Some(found) = found {
                    progress.note(
                        &address,
                        &format!("adopted {} made by an interrupted earlier run", found.id),
                    );
                    if old_args == args {
                        return plain(Ok(Done::Created {
                            created: found,
                            args,
                        }));
                    }
                    let updated = provider
                        .update(&call, &found.id, &old_args, &args, &found.outputs)
                        .await;
                    return match updated {
                        Ok(outputs) => plain(Ok(Done::Created {
                            created: Created {
                                id: found.id,
                                outputs,
                            },
                            args,
                        })),
                        Err(e) => TaskReport {
                            result: Err(e),
                            adopted: Some((found, old_args)),
                            unconfirmed: Some(args),
                        },
                    };
                }
            }
            let r = provider.create(&call, &args, &token).await;
            plain(r.map(|created| Done::Created { created, args }))
        }
        Work::Update {
            id,
            old,
            new,
            outputs,
        } => match provider.update(&call, &id, &old, &new, &outputs).await {
            Ok(outputs) => plain(Ok(Done::Updated { outputs, args: new })),
            Err(e) => TaskReport {
                result: Err(e),
                adopted: None,
                unconfirmed: Some(new),
            },
        },
        Work::Delete { id, args, outputs } => {
            let r = provider.delete(&call, &id, &args, &outputs).await;
            plain(r.map(|()| Done::Deleted))
        }
        Work::Find { args, token } => {
            let r = provider.find(&call, &args, &token).await;
            plain(r.map(Done::Found))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_apply_future_can_be_spawned() {
        fn is_send<T: Send>(_: &T) {}
        struct Nowhere;
        impl StateStore for Nowhere {
            fn save(&mut self, _: &mut State) -> Result<(), String> {
                Ok(())
            }
        }
        let plan = Plan {
            format_version: 1,
            stack: "t".into(),
            stack_hash: String::new(),
            lineage: String::new(),
            serial: 0,
            destroy: false,
            data: Default::default(),
            changes: vec![],
        };
        let mut store = Nowhere;
        let opts = ApplyOptions::default();
        let f = apply(
            &plan,
            State::new("t"),
            Arc::new(crate::memory::MemoryProvider::new()),
            &mut store,
            Arc::new(crate::Silent),
            &opts,
            Interrupt::new(),
        );
        is_send(&f);
    }

    #[test]
    fn definite_failures_drop_the_intent_and_uncertain_ones_keep_it() {
        assert!(certainly_not_created(ErrorClass::InvalidInput));
        assert!(!certainly_not_created(ErrorClass::Other));
        assert!(!certainly_not_created(ErrorClass::Timeout));
    }
}
