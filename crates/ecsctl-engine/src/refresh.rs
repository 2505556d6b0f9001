//! Reading back every resource in a state: one batched `Provider::read` per kind, all
//! kinds at once.

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
/// ([`Provider::read_all`]).
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
    let mut out = RefreshOutcome {
        calls: by_kind.len(),
        ..Default::default()
    };
    let kinds: Vec<Kind> = by_kind.keys().copied().collect();
    let wanted = by_kind.clone();
    // In a task of its own, so a bug in a provider fails the refresh, not the process.
    let mut found = match tokio::spawn(async move { provider.read_all(by_kind).await }).await {
        Ok(found) => found,
        Err(e) => kinds
            .iter()
            .map(|k| {
                let err = ProviderError::new(
                    ErrorClass::Other,
                    format!("reading every {k} failed unexpectedly (a bug in ecsctl): {e}"),
                );
                (*k, Err(err))
            })
            .collect(),
    };
    let mut results: Vec<(Kind, Vec<ReadItem>, Result<_, ProviderError>)> = wanted
        .into_iter()
        .map(|(kind, items)| {
            let r = found.remove(&kind).unwrap_or_else(|| {
                Err(ProviderError::new(
                    ErrorClass::Other,
                    format!("the provider did not read the {kind} resources (a bug in ecsctl)"),
                ))
            });
            (kind, items, r)
        })
        .collect();
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
