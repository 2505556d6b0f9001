//! Reading back every resource in a state: one batched `Provider::read` per kind, all
//! kinds at once.

use ecsctl_graph::{Address, Kind};
use ecsctl_plan::drift::Observed;
use ecsctl_provider::{ErrorClass, Live, Provider, ProviderError, ReadItem};
use ecsctl_state::State;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tokio::task::JoinSet;

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

/// Read every resource of `state` through `provider`.
pub async fn refresh(state: &State, provider: Arc<dyn Provider>) -> RefreshOutcome {
    let mut by_kind: BTreeMap<Kind, Vec<ReadItem>> = BTreeMap::new();
    for (address, r) in &state.resources {
        by_kind.entry(address.kind).or_default().push(ReadItem {
            address: address.clone(),
            id: r.id.clone(),
            args: r.args.clone(),
            outputs: r.outputs.clone(),
        });
    }
    let mut out = RefreshOutcome::default();
    let mut reads = JoinSet::new();
    let mut kinds = HashMap::new();
    for (kind, items) in by_kind {
        let provider = provider.clone();
        out.calls += 1;
        let handle = reads.spawn(async move {
            let r = provider.read(kind, &items).await;
            (kind, items, r)
        });
        kinds.insert(handle.id(), kind);
    }
    let mut results = Vec::new();
    while let Some(joined) = reads.join_next().await {
        match joined {
            Ok(r) => results.push(r),
            Err(e) => {
                let kind = kinds.get(&e.id()).copied().unwrap_or(Kind::Vpc);
                let err = ProviderError::new(
                    ErrorClass::Other,
                    format!("reading every {kind} failed unexpectedly (a bug in ecsctl): {e}"),
                );
                results.push((kind, Vec::new(), Err(err)));
            }
        }
    }
    results.sort_by_key(|(k, _, _)| *k);
    for (kind, items, r) in results {
        match r {
            Ok(mut found) => {
                for item in items {
                    let live = found.remove(&item.address).flatten();
                    out.live.insert(item.address, live);
                }
            }
            Err(e) => out.failed.push((kind, e)),
        }
    }
    out
}
