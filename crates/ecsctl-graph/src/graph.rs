//! The resource graph: resources keyed by address, edges from references and from the
//! ordering AWS needs beyond them.

use crate::{Address, Kind, Value};
use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One desired resource: its arguments (see [`Kind::schema`]) and what it depends on.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    pub address: Address,
    pub args: BTreeMap<String, Value>,
    /// Dependencies that no argument references (e.g. NAT gateway after the internet
    /// gateway is attached). Referenced resources are dependencies implicitly.
    pub extra_deps: BTreeSet<Address>,
}

impl Resource {
    pub fn new(address: Address) -> Self {
        Resource {
            address,
            args: BTreeMap::new(),
            extra_deps: BTreeSet::new(),
        }
    }

    pub fn kind(&self) -> Kind {
        self.address.kind
    }

    pub fn arg(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.args.insert(name.to_string(), value.into());
        self
    }

    pub fn after(mut self, dep: &Address) -> Self {
        self.extra_deps.insert(dep.clone());
        self
    }

    /// Everything this resource must wait for: referenced resources and extra deps.
    pub fn deps(&self) -> BTreeSet<Address> {
        let mut deps = self.extra_deps.clone();
        for v in self.args.values() {
            deps.extend(v.refs().into_iter().map(|r| r.address.clone()));
        }
        deps.remove(&self.address);
        deps
    }
}

/// A dependency cycle, named by its members in sorted order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dependency cycle: {}", .0.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(" -> "))]
pub struct CycleError(pub Vec<Address>);

/// Resources keyed by address (ordered, so iteration is deterministic).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Graph {
    resources: BTreeMap<Address, Resource>,
}

impl Graph {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a resource; a second resource at the same address replaces the first (expansion
    /// never does that; tests may).
    pub fn add(&mut self, r: Resource) -> Address {
        let a = r.address.clone();
        self.resources.insert(a.clone(), r);
        a
    }

    pub fn get(&self, a: &Address) -> Option<&Resource> {
        self.resources.get(a)
    }

    pub fn resources(&self) -> impl Iterator<Item = &Resource> {
        self.resources.values()
    }

    pub fn len(&self) -> usize {
        self.resources.len()
    }

    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    /// Dependencies that point outside the graph: `(resource, missing dependency)`.
    pub fn dangling(&self) -> Vec<(Address, Address)> {
        let mut out = Vec::new();
        for r in self.resources.values() {
            for d in r.deps() {
                if !self.resources.contains_key(&d) {
                    out.push((r.address.clone(), d));
                }
            }
        }
        out
    }

    fn petgraph(&self) -> (DiGraph<Address, ()>, HashMap<Address, NodeIndex>) {
        let mut g = DiGraph::new();
        let mut idx = HashMap::new();
        for a in self.resources.keys() {
            idx.insert(a.clone(), g.add_node(a.clone()));
        }
        for r in self.resources.values() {
            for d in r.deps() {
                if let Some(&from) = idx.get(&d) {
                    g.add_edge(from, idx[&r.address], ());
                }
            }
        }
        (g, idx)
    }

    /// Every cycle (strongly connected component of more than one node, or a self edge),
    /// each sorted, the list sorted.
    pub fn cycles(&self) -> Vec<CycleError> {
        let (g, _) = self.petgraph();
        let mut out: Vec<CycleError> = tarjan_scc(&g)
            .into_iter()
            .filter(|scc| scc.len() > 1 || g.contains_edge(scc[0], scc[0]))
            .map(|scc| {
                let mut members: Vec<Address> = scc.iter().map(|n| g[*n].clone()).collect();
                members.sort();
                CycleError(members)
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Addresses in an order where every resource comes after its dependencies; ties are
    /// broken by address so the order is deterministic.
    pub fn topo_order(&self) -> Result<Vec<Address>, CycleError> {
        if let Some(c) = self.cycles().into_iter().next() {
            return Err(c);
        }
        let mut remaining: BTreeMap<&Address, BTreeSet<Address>> = self
            .resources
            .values()
            .map(|r| {
                let deps = r
                    .deps()
                    .into_iter()
                    .filter(|d| self.resources.contains_key(d));
                (&r.address, deps.collect())
            })
            .collect();
        let mut out = Vec::with_capacity(remaining.len());
        while !remaining.is_empty() {
            let ready: Vec<Address> = remaining
                .iter()
                .filter(|(_, deps)| deps.is_empty())
                .map(|(a, _)| (*a).clone())
                .collect();
            for a in &ready {
                remaining.remove(a);
            }
            for deps in remaining.values_mut() {
                for a in &ready {
                    deps.remove(a);
                }
            }
            out.extend(ready);
        }
        Ok(out)
    }

    /// Direct dependencies of each resource, for writers of the state and the plan.
    pub fn edges(&self) -> Vec<(Address, Address)> {
        let mut out = Vec::new();
        for r in self.resources.values() {
            for d in r.deps() {
                out.push((r.address.clone(), d));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Address {
        s.parse().unwrap()
    }

    #[test]
    fn topo_order_puts_dependencies_first() {
        let mut g = Graph::new();
        let vpc = g.add(Resource::new(a("vpc.main")).arg("cidr_block", "10.0.0.0/16"));
        let igw = g.add(Resource::new(a("internet_gateway.main")).arg("vpc_id", vpc.attr("id")));
        g.add(Resource::new(a("nat_gateway.main[0]")).after(&igw));
        let order = g.topo_order().unwrap();
        let pos = |s: &str| order.iter().position(|x| *x == a(s)).unwrap();
        assert!(pos("vpc.main") < pos("internet_gateway.main"));
        assert!(pos("internet_gateway.main") < pos("nat_gateway.main[0]"));
    }

    #[test]
    fn a_cycle_is_named() {
        let mut g = Graph::new();
        let x = a("security_group.alb");
        let y = a("security_group.instances");
        g.add(Resource::new(x.clone()).arg("peer", y.attr("id")));
        g.add(Resource::new(y.clone()).arg("peer", x.attr("id")));
        let err = g.topo_order().unwrap_err();
        assert_eq!(err.0, vec![x, y]);
        assert_eq!(
            err.to_string(),
            "dependency cycle: security_group.alb -> security_group.instances"
        );
    }
}
