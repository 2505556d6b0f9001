//! Helpers shared by the engine's integration tests: plans built by hand, a state store
//! that keeps every saved version, a reporter that records events.

#![allow(dead_code)]

use ecsctl_engine::memory::{CallRecord, MemoryProvider, Method};
use ecsctl_engine::{apply, ApplyOptions, ApplyOutcome, Interrupt, Op, Reporter, StateStore};
use ecsctl_graph::{Address, Kind, Value};
use ecsctl_plan::{Action, Change, Plan};
use ecsctl_provider::ProviderError;
use ecsctl_state::{ResourceState, State};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

pub fn addr(s: &str) -> Address {
    s.parse().unwrap()
}

/// A store that keeps every saved state and can fail the n-th save (1-based).
#[derive(Clone, Default)]
pub struct Store {
    pub saved: Arc<Mutex<Vec<State>>>,
    pub fail_at: Option<usize>,
}

impl Store {
    pub fn count(&self) -> usize {
        self.saved.lock().unwrap().len()
    }

    pub fn last(&self) -> State {
        self.saved
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a saved state")
    }

    pub fn all(&self) -> Vec<State> {
        self.saved.lock().unwrap().clone()
    }
}

impl StateStore for Store {
    fn save(&mut self, state: &mut State) -> Result<(), String> {
        let mut saved = self.saved.lock().unwrap();
        if self.fail_at == Some(saved.len() + 1) {
            return Err("no space left on device".into());
        }
        state.serial += 1;
        saved.push(state.clone());
        Ok(())
    }
}

/// Records reporter events as text.
#[derive(Default)]
pub struct Events(pub Mutex<Vec<String>>);

impl Reporter for Events {
    fn started(&self, address: &Address, op: Op) {
        self.0.lock().unwrap().push(format!("start {op} {address}"));
    }
    fn progress(&self, address: &Address, message: &str) {
        self.0
            .lock()
            .unwrap()
            .push(format!("note {address}: {message}"));
    }
    fn finished(&self, address: &Address, op: Op, _: Duration, error: Option<&ProviderError>) {
        let how = if error.is_some() { "failed" } else { "done" };
        self.0.lock().unwrap().push(format!("{how} {op} {address}"));
    }
    fn skipped(&self, address: &Address, reason: &str) {
        self.0
            .lock()
            .unwrap()
            .push(format!("skip {address}: {reason}"));
    }
}

fn tags(a: &Address) -> Value {
    Value::Map(BTreeMap::from([
        ("Name".to_string(), Value::str(format!("t-{}", a.name))),
        ("ecsctl:stack".to_string(), Value::str("t")),
        ("ecsctl:address".to_string(), Value::str(a.to_string())),
    ]))
}

/// The desired arguments: `args` plus tags for taggable kinds.
pub fn desired(a: &Address, args: &[(&str, Value)]) -> BTreeMap<String, Value> {
    let mut m: BTreeMap<String, Value> = args
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    if a.kind.schema().taggable {
        m.insert("tags".into(), tags(a));
    }
    m
}

fn refs_of(args: &BTreeMap<String, Value>, me: &Address) -> Vec<Address> {
    let set: BTreeSet<Address> = args
        .values()
        .flat_map(|v| v.refs())
        .map(|r| r.address.clone())
        .filter(|a| a != me)
        .collect();
    set.into_iter().collect()
}

fn change(a: &Address, action: Action, before: Option<ResourceState>) -> Change {
    Change {
        address: a.clone(),
        action,
        create_before_destroy: false,
        resume: false,
        before,
        after: None,
        diffs: vec![],
        replace_reasons: vec![],
        deps: vec![],
    }
}

pub fn create(a: &str, args: &[(&str, Value)]) -> Change {
    let a = addr(a);
    let after = desired(&a, args);
    let mut c = change(&a, Action::Create, None);
    c.deps = refs_of(&after, &a);
    c.after = Some(after);
    c
}

pub fn update(a: &str, state: &State, args: &[(&str, Value)]) -> Change {
    let a = addr(a);
    let after = desired(&a, args);
    let mut c = change(&a, Action::Update, state.resources.get(&a).cloned());
    c.deps = refs_of(&after, &a);
    c.after = Some(after);
    c
}

pub fn replace(a: &str, state: &State, args: &[(&str, Value)], cbd: bool) -> Change {
    let mut c = update(a, state, args);
    c.action = Action::Replace;
    c.create_before_destroy = cbd;
    c
}

pub fn delete(a: &str, state: &State) -> Change {
    let a = addr(a);
    let before = state.resources.get(&a).cloned();
    let mut c = change(&a, Action::Delete, before.clone());
    c.deps = before.map(|b| b.deps).unwrap_or_default();
    c
}

/// Delete everything in the state (in address order: the engine must find the order).
pub fn destroy_all(state: &State) -> Plan {
    let changes = state
        .resources
        .keys()
        .map(|a| delete(&a.to_string(), state))
        .collect();
    let mut p = plan(changes);
    p.destroy = true;
    p
}

pub fn plan(changes: Vec<Change>) -> Plan {
    Plan {
        format_version: 1,
        stack: "t".into(),
        stack_hash: String::new(),
        lineage: String::new(),
        serial: 0,
        destroy: false,
        data: BTreeMap::new(),
        changes,
    }
}

pub fn r(a: &str, attr: &str) -> Value {
    addr(a).attr(attr)
}

pub fn s(v: &str) -> Value {
    Value::str(v)
}

pub struct Run {
    pub provider: Arc<MemoryProvider>,
    pub store: Store,
    pub events: Arc<Events>,
    pub opts: ApplyOptions,
    pub interrupt: Interrupt,
}

impl Default for Run {
    fn default() -> Self {
        Run {
            provider: Arc::new(MemoryProvider::new()),
            store: Store::default(),
            events: Arc::new(Events::default()),
            opts: ApplyOptions::default(),
            interrupt: Interrupt::new(),
        }
    }
}

impl Run {
    pub async fn apply(&mut self, plan: &Plan, state: State) -> ApplyOutcome {
        apply(
            plan,
            state,
            self.provider.clone(),
            &mut self.store,
            self.events.clone(),
            &self.opts,
            self.interrupt.clone(),
        )
        .await
    }

    /// The calls of `method` for `address`.
    pub fn calls(&self, method: Method, address: &str) -> Vec<CallRecord> {
        let a = addr(address);
        self.provider
            .calls()
            .into_iter()
            .filter(|c| c.method == method && c.address.as_ref() == Some(&a))
            .collect()
    }

    /// The only call of `method` for `address`.
    pub fn call(&self, method: Method, address: &str) -> CallRecord {
        let calls = self.calls(method, address);
        assert_eq!(calls.len(), 1, "{method:?} calls for {address}: {calls:?}");
        calls.into_iter().next().unwrap()
    }
}

pub fn end(c: &CallRecord) -> Instant {
    c.end.expect("the call ended")
}

/// The most calls that were in flight at once according to the log, among `calls`.
pub fn max_overlap(calls: &[CallRecord]) -> usize {
    calls
        .iter()
        .map(|c| {
            calls
                .iter()
                .filter(|d| d.start <= c.start && d.end.is_none_or(|e| c.start < e))
                .count()
        })
        .max()
        .unwrap_or(0)
}

pub fn completed(o: &ApplyOutcome) -> BTreeSet<String> {
    o.completed.iter().map(|(a, _, _)| a.to_string()).collect()
}

pub fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

pub fn addresses<'a>(it: impl IntoIterator<Item = &'a Address>) -> BTreeSet<String> {
    it.into_iter().map(|a| a.to_string()).collect()
}

pub fn kind_count(p: &MemoryProvider, kind: Kind) -> usize {
    p.objects().iter().filter(|o| o.kind == kind).count()
}
