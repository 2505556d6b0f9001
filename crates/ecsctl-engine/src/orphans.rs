//! Orphans: resources tagged `ecsctl:stack = <stack>` that the state does not track (left
//! by a crash before the state was written, or by a lost state file). One
//! listing per taggable kind, all kinds at once ([`Provider::scan`]).

use ecsctl_graph::Kind;
use ecsctl_provider::{ErrorClass, Orphan, Provider, ProviderError};
use ecsctl_state::State;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// What an orphan search found.
#[derive(Debug, Default)]
pub struct OrphanSearch {
    /// Tagged resources the state does not know, by address then id.
    pub orphans: Vec<Orphan>,
    /// Kinds whose listing failed.
    pub failed: Vec<(Kind, ProviderError)>,
    /// How many kinds were listed (every taggable kind).
    pub calls: usize,
}

/// Every resource tagged for `stack` whose id the state does not hold (as a resource or an
/// old object awaiting deletion). Resources at an address with a pending create are left
/// out: the next apply adopts them through `Provider::find`. One [`Provider::scan`] with no
/// items; [`crate::refresh_and_find_orphans`] does the same in the refresh's own reads.
pub async fn find_orphans(state: &State, provider: Arc<dyn Provider>, stack: &str) -> OrphanSearch {
    let stack_name = stack.to_string();
    let scanned =
        tokio::spawn(async move { provider.scan(BTreeMap::new(), Some(&stack_name)).await }).await;
    match scanned {
        Ok(scan) => sort_out(state, scan.tagged),
        Err(e) => OrphanSearch {
            failed: vec![(Kind::Vpc, bug(&e))],
            ..Default::default()
        },
    }
}

pub(crate) fn bug(e: &tokio::task::JoinError) -> ProviderError {
    ProviderError::new(
        ErrorClass::Other,
        format!("reading the live resources failed unexpectedly (a bug in ecsctl): {e}"),
    )
}

/// The orphans among what each kind's listing found.
pub(crate) fn sort_out(
    state: &State,
    tagged: BTreeMap<Kind, Result<Vec<Orphan>, ProviderError>>,
) -> OrphanSearch {
    let known: BTreeSet<&str> = state
        .resources
        .values()
        .map(|r| r.id.as_str())
        .chain(state.deposed.iter().map(|d| d.resource.id.as_str()))
        .collect();
    let mut out = OrphanSearch {
        calls: tagged.len(),
        ..Default::default()
    };
    for (kind, found) in tagged {
        match found {
            Ok(found) => out.orphans.extend(found.into_iter().filter(|o| {
                !known.contains(o.id.as_str()) && !state.pending.contains_key(&o.address)
            })),
            Err(e) => out.failed.push((kind, e)),
        }
    }
    out.orphans
        .sort_by(|a, b| (&a.address, &a.id).cmp(&(&b.address, &b.id)));
    out.orphans.dedup();
    out
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

    fn tagged(stack: &str, address: &str) -> ecsctl_state::Attrs {
        let j = json!({"tags": {"ecsctl:stack": stack, "ecsctl:address": address}});
        j.as_object().cloned().unwrap()
    }

    #[tokio::test]
    async fn tagged_resources_the_state_does_not_hold_are_orphans() {
        let p = Arc::new(MemoryProvider::new());
        let vpc = p.insert(&a("vpc.main"), tagged("hello", "vpc.main"));
        let subnet = p.insert(
            &a("subnet.private[0]"),
            tagged("hello", "subnet.private[0]"),
        );
        p.insert(&a("ecs_cluster.main"), tagged("hello", "ecs_cluster.main"));
        p.insert(&a("subnet.public[0]"), tagged("other", "subnet.public[0]"));
        let mut state = State::new("hello");
        state.resources.insert(
            a("vpc.main"),
            ResourceState {
                id: vpc.id.clone(),
                args: Default::default(),
                outputs: Default::default(),
                deps: vec![],
            },
        );
        state.pending.insert(
            a("ecs_cluster.main"),
            ecsctl_state::Pending {
                token: "t".into(),
                since: "2024-01-01T00:00:00Z".into(),
                args: Default::default(),
                deps: vec![],
            },
        );
        let found = find_orphans(&state, p.clone(), "hello").await;
        assert!(found.failed.is_empty(), "{:?}", found.failed);
        assert_eq!(
            found.orphans,
            vec![Orphan {
                address: a("subnet.private[0]"),
                id: subnet.id
            }]
        );
        let taggable = Kind::ALL.iter().filter(|k| k.schema().taggable).count();
        assert_eq!(found.calls, taggable);
        assert_eq!(p.call_count(Method::Tagged, &Target::Any), taggable);
    }

    #[tokio::test]
    async fn a_failed_listing_is_reported_by_kind() {
        let p = Arc::new(MemoryProvider::new());
        p.fail(
            Target::Kind(Kind::Subnet),
            Method::Tagged,
            ErrorClass::AccessDenied,
            1,
        );
        let found = find_orphans(&State::new("hello"), p, "hello").await;
        assert_eq!(found.failed.len(), 1);
        assert_eq!(found.failed[0].0, Kind::Subnet);
        assert_eq!(found.failed[0].1.class, ErrorClass::AccessDenied);
    }
}
