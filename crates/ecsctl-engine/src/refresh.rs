//! Reading back every resource in a state: one batched `Provider::read` per kind, all
//! kinds at once.

use crate::orphans::{self, OrphanSearch};
use ecsctl_graph::{Address, Kind};
use ecsctl_plan::drift::Observed;
use ecsctl_provider::{ErrorClass, Live, Provider, ProviderError, ReadItem};
use ecsctl_state::State;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What a refresh found.
#[derive(Debug, Default)]
pub struct RefreshOutcome {
    /// Every address of the state whose kind was read: its live form, or `None` when it
    /// no longer exists.
    pub live: BTreeMap<Address, Option<Live>>,
    /// Kinds whose read failed; their addresses are not in `live`.
    pub failed: Vec<(Kind, ProviderError)>,
    /// How many `read` calls were made (one per kind present in the state).
    pub calls: usize,
}

impl RefreshOutcome {
    /// What was read, in the form [`ecsctl_plan::drift::refresh_state`] merges into a state.
    pub fn observed(&self) -> BTreeMap<Address, Option<Observed>> {
        self.live
            .iter()
            .map(|(a, l)| {
                let o = l.as_ref().map(|l| Observed {
                    args: l.args.clone(),
                    outputs: l.outputs.clone(),
                });
                (a.clone(), o)
            })
            .collect()
    }
}

/// Read every resource of `state` through `provider`, every kind at once
/// ([`Provider::scan`]).
pub async fn refresh(state: &State, provider: Arc<dyn Provider>) -> RefreshOutcome {
    scan(state, provider, None).await.0
}

/// [`refresh`] and [`crate::find_orphans`] together, in one [`Provider::scan`]: where an
/// API lists a kind's resources by the stack tag, the same call reads the state's
/// resources and finds the orphans.
pub async fn refresh_and_find_orphans(
    state: &State,
    provider: Arc<dyn Provider>,
    stack: &str,
) -> (RefreshOutcome, OrphanSearch) {
    let (refreshed, orphans) = scan(state, provider, Some(stack)).await;
    (refreshed, orphans.unwrap_or_default())
}

async fn scan(
    state: &State,
    provider: Arc<dyn Provider>,
    stack: Option<&str>,
) -> (RefreshOutcome, Option<OrphanSearch>) {
    let mut by_kind: BTreeMap<Kind, Vec<ReadItem>> = BTreeMap::new();
    for (address, r) in &state.resources {
        by_kind.entry(address.kind).or_default().push(ReadItem {
            address: address.clone(),
            id: r.id.clone(),
            args: r.args.clone(),
            outputs: r.outputs.clone(),
        });
    }
    let mut out = RefreshOutcome {
        calls: by_kind.len(),
        ..Default::default()
    };
    let wanted: Vec<(Kind, Vec<Address>)> = by_kind
        .iter()
        .map(|(k, items)| (*k, items.iter().map(|i| i.address.clone()).collect()))
        .collect();
    let stack_name = stack.map(str::to_string);
    // In a task of its own, so a bug in a provider fails the refresh, not the process.
    let scanned =
        tokio::spawn(async move { provider.scan(by_kind, stack_name.as_deref()).await }).await;
    let (mut found, orphans) = match scanned {
        Ok(scan) => (
            scan.live,
            stack.map(|_| orphans::sort_out(state, scan.tagged)),
        ),
        Err(e) => {
            let live = wanted
                .iter()
                .map(|(k, _)| (*k, Err(orphans::bug(&e))))
                .collect();
            let orphans = stack.map(|_| OrphanSearch {
                failed: vec![(Kind::Vpc, orphans::bug(&e))],
                ..Default::default()
            });
            (live, orphans)
        }
    };
    for (kind, addresses) in wanted {
        let read = found.remove(&kind).unwrap_or_else(|| {
            Err(ProviderError::new(
                ErrorClass::Other,
                format!("the provider did not read the {kind} resources (a bug in ecsctl)"),
            ))
        });
        match read {
            Ok(mut found) => {
                for address in addresses {
                    let live = found.remove(&address).flatten();
                    out.live.insert(address, live);
                }
            }
            Err(e) => out.failed.push((kind, e)),
        }
    }
    (out, orphans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{MemoryProvider, Method, Target};
    use ecsctl_graph::Address;
    use ecsctl_state::ResourceState;
    use serde_json::json;

    fn a(s: &str) -> Address {
        s.parse().unwrap()
    }

    fn tagged(address: &str) -> ecsctl_state::Attrs {
        let j = json!({"tags": {"ecsctl:stack": "hello", "ecsctl:address": address}});
        j.as_object().cloned().unwrap()
    }

    #[tokio::test]
    async fn one_scan_reads_the_state_and_finds_the_orphans() {
        let p = Arc::new(MemoryProvider::new());
        let vpc = p.insert(&a("vpc.main"), tagged("vpc.main"));
        let left = p.insert(&a("subnet.private[0]"), tagged("subnet.private[0]"));
        let mut state = State::new("hello");
        state.resources.insert(
            a("vpc.main"),
            ResourceState {
                id: vpc.id.clone(),
                args: tagged("vpc.main"),
                outputs: Default::default(),
                deps: vec![],
            },
        );
        state.resources.insert(
            a("subnet.public[0]"),
            ResourceState {
                id: "subnet-gone".into(),
                args: Default::default(),
                outputs: Default::default(),
                deps: vec![],
            },
        );
        let (refreshed, orphans) = refresh_and_find_orphans(&state, p.clone(), "hello").await;
        assert!(refreshed.failed.is_empty(), "{:?}", refreshed.failed);
        assert!(refreshed.live[&a("vpc.main")].is_some());
        assert!(refreshed.live[&a("subnet.public[0]")].is_none());
        assert!(orphans.failed.is_empty(), "{:?}", orphans.failed);
        assert_eq!(
            orphans.orphans,
            vec![ecsctl_provider::Orphan {
                address: a("subnet.private[0]"),
                id: left.id
            }]
        );
        // A plain refresh lists nothing.
        let before = p.call_count(Method::Tagged, &Target::Any);
        let refreshed = refresh(&state, p.clone()).await;
        assert_eq!(refreshed.live.len(), 2);
        assert_eq!(p.call_count(Method::Tagged, &Target::Any), before);
    }
}
