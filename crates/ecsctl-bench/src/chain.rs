//! `ecsctl-bench chain --stack FILE --calls FILE [--latency-ms N] [--destroy]`: the physical
//! limit of an apply (or destroy) — the longest chain of AWS calls that must wait on each
//! other.
//!
//! `--calls` is a call log taken from a `--parallelism 1` run (scripts/bench-apply.sh makes
//! it from the SDK's debug log): one call per line,
//! `ADDRESS<TAB>service:Action<TAB>start_us<TAB>end_us`, with `-` as the address of calls
//! made outside any change (data lookups, refresh). With one change at a time every call
//! belongs to exactly one change.
//!
//! The chain is computed as:
//! - the depth of a change is its longest run of calls that each started after the
//!   previous one ended (calls a change makes concurrently count once);
//! - the calls outside any change before the first change count the same way (prefix);
//! - the chain is prefix + the longest path through the stack's graph (dependencies first
//!   for an apply, dependents first for a destroy) weighted by depth.
//!
//! The limit is chain × latency: no client can finish sooner when every call takes that
//! long.

use crate::offline::bench_data;
use ecsctl_graph::{Address, Graph};
use std::collections::BTreeMap;

/// One AWS call of the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// `None` for calls outside any change.
    pub address: Option<Address>,
    pub action: String,
    pub start_us: u64,
    pub end_us: u64,
}

/// Reads the call log; every line must parse.
pub fn parse_calls(text: &str) -> Result<Vec<Call>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 4 {
            return Err(format!(
                "call log line {}: expected ADDRESS, service:Action, start_us, end_us separated by tabs, got `{line}`",
                i + 1
            ));
        }
        let address = match f[0] {
            "-" => None,
            a => Some(
                a.parse::<Address>()
                    .map_err(|e| format!("call log line {}: {e}", i + 1))?,
            ),
        };
        let num = |s: &str| -> Result<u64, String> {
            s.parse()
                .map_err(|_| format!("call log line {}: `{s}` is not a time in µs", i + 1))
        };
        out.push(Call {
            address,
            action: f[1].to_string(),
            start_us: num(f[2])?,
            end_us: num(f[3])?,
        });
    }
    Ok(out)
}

/// The longest run of calls each starting after the previous one ended.
pub fn sequential_depth(calls: &[&Call]) -> usize {
    let mut sorted: Vec<&Call> = calls.to_vec();
    sorted.sort_by_key(|c| (c.start_us, c.end_us));
    let mut depth: Vec<usize> = Vec::with_capacity(sorted.len());
    for (i, c) in sorted.iter().enumerate() {
        let before = (0..i)
            .filter(|&j| sorted[j].end_us <= c.start_us)
            .map(|j| depth[j])
            .max()
            .unwrap_or(0);
        depth.push(before + 1);
    }
    depth.into_iter().max().unwrap_or(0)
}

/// The calls of one change.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub address: Address,
    pub depth: usize,
    pub actions: Vec<String>,
}

/// The analysis of one call log.
#[derive(Debug, Clone, PartialEq)]
pub struct Chain {
    /// Sequential depth of the calls before the first change.
    pub prefix: usize,
    pub prefix_actions: Vec<String>,
    /// The longest path through the graph, in execution order.
    pub path: Vec<Step>,
    /// Calls per change, for every change in the log.
    pub per_change: BTreeMap<Address, Vec<String>>,
    /// Calls outside any change (prefix and after the last change).
    pub outside: usize,
    pub total_calls: usize,
}

impl Chain {
    /// Calls that must wait on each other: prefix + the path's depths.
    pub fn length(&self) -> usize {
        self.prefix + self.path.iter().map(|s| s.depth).sum::<usize>()
    }
}

/// Finds the longest chain of `calls` through `graph` (reversed for a destroy).
pub fn analyse(graph: &Graph, calls: &[Call], destroy: bool) -> Result<Chain, String> {
    let first_in_change = calls
        .iter()
        .filter(|c| c.address.is_some())
        .map(|c| c.start_us)
        .min()
        .unwrap_or(u64::MAX);
    let prefix_calls: Vec<&Call> = calls
        .iter()
        .filter(|c| c.address.is_none() && c.start_us < first_in_change)
        .collect();
    let mut by_change: BTreeMap<Address, Vec<&Call>> = BTreeMap::new();
    for c in calls {
        if let Some(a) = &c.address {
            by_change.entry(a.clone()).or_default().push(c);
        }
    }
    let depth: BTreeMap<&Address, usize> = by_change
        .iter()
        .map(|(a, cs)| (a, sequential_depth(cs)))
        .collect();

    let mut order = graph.topo_order().map_err(|e| e.to_string())?;
    if destroy {
        order.reverse();
    }
    // Must-run-before lists: dependencies for an apply, dependents for a destroy.
    let mut before: BTreeMap<Address, Vec<Address>> = BTreeMap::new();
    for r in graph.resources() {
        for dep in r.deps() {
            if destroy {
                before.entry(dep).or_default().push(r.address.clone());
            } else {
                before.entry(r.address.clone()).or_default().push(dep);
            }
        }
    }
    // Longest weighted path ending at each resource.
    let mut best: BTreeMap<Address, (usize, Option<Address>)> = BTreeMap::new();
    for a in &order {
        let own = depth.get(a).copied().unwrap_or(0);
        let (prior, via) = before
            .get(a)
            .into_iter()
            .flatten()
            .filter_map(|p| best.get(p).map(|(len, _)| (*len, Some(p.clone()))))
            .max_by_key(|(len, _)| *len)
            .unwrap_or((0, None));
        best.insert(a.clone(), (prior + own, via));
    }
    let mut path = Vec::new();
    let mut cursor = best
        .iter()
        .max_by_key(|(_, (len, _))| *len)
        .map(|(a, _)| a.clone());
    while let Some(a) = cursor {
        let actions = by_change
            .get(&a)
            .map(|cs| cs.iter().map(|c| c.action.clone()).collect())
            .unwrap_or_default();
        path.push(Step {
            depth: depth.get(&a).copied().unwrap_or(0),
            address: a.clone(),
            actions,
        });
        cursor = best.get(&a).and_then(|(_, via)| via.clone());
    }
    path.reverse();
    path.retain(|s| s.depth > 0);

    Ok(Chain {
        prefix: sequential_depth(&prefix_calls),
        prefix_actions: prefix_calls.iter().map(|c| c.action.clone()).collect(),
        path,
        per_change: by_change
            .into_iter()
            .map(|(a, cs)| (a, cs.iter().map(|c| c.action.clone()).collect()))
            .collect(),
        outside: calls.iter().filter(|c| c.address.is_none()).count(),
        total_calls: calls.len(),
    })
}

/// The command: reads the stack and the call log, prints the chain as Markdown.
pub fn run(args: &[String]) -> Result<(), String> {
    let (mut stack_path, mut calls_path, mut latency_ms, mut destroy) = (None, None, 100u64, false);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--stack" => stack_path = it.next().cloned(),
            "--calls" => calls_path = it.next().cloned(),
            "--latency-ms" => {
                let v = it.next().ok_or("--latency-ms needs a number")?;
                latency_ms = v
                    .parse()
                    .map_err(|_| format!("--latency-ms: `{v}` is not a whole number"))?;
            }
            "--destroy" => destroy = true,
            other => return Err(format!("chain: unknown argument `{other}`")),
        }
    }
    let stack_path = stack_path.ok_or("chain needs --stack FILE (the stack that was applied)")?;
    let calls_path = calls_path.ok_or("chain needs --calls FILE (the call log)")?;
    let src = std::fs::read_to_string(&stack_path)
        .map_err(|e| format!("cannot read {stack_path}: {e}"))?;
    let stack = ecsctl_stack::parse(&src, &stack_path).map_err(|e| e.to_string())?;
    let mut data = bench_data();
    // Only the number of zones shapes the graph; give enough names for any stack.
    data.azs = Some(
        ["a", "b", "c", "d", "e", "f"]
            .iter()
            .map(|z| format!("{}{z}", stack.region.as_deref().unwrap_or("eu-west-2")))
            .collect(),
    );
    let graph = ecsctl_graph::expand(&stack, &data);
    let text = std::fs::read_to_string(&calls_path)
        .map_err(|e| format!("cannot read {calls_path}: {e}"))?;
    let calls = parse_calls(&text)?;
    let chain = analyse(&graph, &calls, destroy)?;
    print!("{}", render(&chain, graph.len(), latency_ms));
    Ok(())
}

/// The chain, the limit and the calls per kind as Markdown.
pub fn render(chain: &Chain, resources: usize, latency_ms: u64) -> String {
    let mut out = String::new();
    out.push_str("| step | sequential calls | calls |\n|---|---:|---|\n");
    if chain.prefix > 0 {
        out.push_str(&format!(
            "| before the first change (data lookups, refresh) | {} | {} |\n",
            chain.prefix,
            summarise(&chain.prefix_actions)
        ));
    }
    for s in &chain.path {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            s.address,
            s.depth,
            summarise(&s.actions)
        ));
    }
    let len = chain.length();
    out.push_str(&format!(
        "| **chain** | **{len}** | limit = {len} × {latency_ms} ms = **{:.1} s** |\n\n",
        len as f64 * latency_ms as f64 / 1000.0
    ));
    let in_changes = chain.total_calls - chain.outside;
    out.push_str(&format!(
        "{} calls in all: {} outside changes, {} in {} changes ({:.2} per change; {:.2} per resource of the {} in the graph).\n\n",
        chain.total_calls,
        chain.outside,
        in_changes,
        chain.per_change.len(),
        in_changes as f64 / chain.per_change.len().max(1) as f64,
        chain.total_calls as f64 / resources.max(1) as f64,
        resources
    ));
    let mut by_kind: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (a, calls) in &chain.per_change {
        let e = by_kind.entry(a.kind.as_str()).or_default();
        e.0 += 1;
        e.1 += calls.len();
    }
    out.push_str("| kind | changes | calls | calls per change |\n|---|---:|---:|---:|\n");
    for (kind, (n, calls)) in by_kind {
        out.push_str(&format!(
            "| {kind} | {n} | {calls} | {:.1} |\n",
            calls as f64 / n.max(1) as f64
        ));
    }
    out
}

/// `ec2:CreateVpc, ec2:ModifyVpcAttribute ×2` — actions in first-seen order with counts.
fn summarise(actions: &[String]) -> String {
    let mut seen: Vec<(&str, usize)> = Vec::new();
    for a in actions {
        match seen.iter_mut().find(|(s, _)| *s == a.as_str()) {
            Some((_, n)) => *n += 1,
            None => seen.push((a, 1)),
        }
    }
    seen.iter()
        .map(|(a, n)| {
            if *n > 1 {
                format!("{a} ×{n}")
            } else {
                a.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offline::generated_stack;

    fn call(addr: &str, action: &str, start: u64, end: u64) -> Call {
        Call {
            address: (addr != "-").then(|| addr.parse().expect("address")),
            action: action.into(),
            start_us: start,
            end_us: end,
        }
    }

    #[test]
    fn overlapping_calls_count_once() {
        let a = call("-", "ec2:A", 0, 10);
        let b = call("-", "ec2:B", 2, 12);
        let c = call("-", "ec2:C", 12, 20);
        assert_eq!(sequential_depth(&[&a, &b, &c]), 2);
        assert_eq!(sequential_depth(&[]), 0);
    }

    #[test]
    fn the_chain_follows_dependencies_and_skips_parallel_branches() {
        let stack = ecsctl_stack::parse(&generated_stack(1), "s.toml").expect("valid");
        let graph = ecsctl_graph::expand(&stack, &bench_data());
        let vpc = graph
            .resources()
            .find(|r| r.kind() == ecsctl_graph::Kind::Vpc)
            .expect("a vpc")
            .address
            .to_string();
        let subnet = graph
            .resources()
            .find(|r| r.kind() == ecsctl_graph::Kind::Subnet)
            .expect("a subnet")
            .address
            .to_string();
        let calls = vec![
            call("-", "sts:GetCallerIdentity", 0, 10),
            call(&vpc, "ec2:CreateVpc", 20, 30),
            call(&vpc, "ec2:ModifyVpcAttribute", 30, 40),
            call(&subnet, "ec2:CreateSubnet", 40, 50),
        ];
        let chain = analyse(&graph, &calls, false).expect("analysed");
        assert_eq!(chain.prefix, 1);
        let names: Vec<String> = chain.path.iter().map(|s| s.address.to_string()).collect();
        assert_eq!(names, vec![vpc.clone(), subnet.clone()]);
        assert_eq!(chain.length(), 4);
        let destroyed = analyse(&graph, &calls, true).expect("analysed");
        let names: Vec<String> = destroyed
            .path
            .iter()
            .map(|s| s.address.to_string())
            .collect();
        assert_eq!(names, vec![subnet, vpc]);
        let text = render(&chain, graph.len(), 100);
        assert!(text.contains("limit = 4 × 100 ms = **0.4 s**"), "{text}");
        assert!(
            text.contains("ec2:CreateVpc, ec2:ModifyVpcAttribute"),
            "{text}"
        );
    }

    #[test]
    fn a_malformed_log_line_is_reported_with_its_number() {
        let err = parse_calls("-\tec2:A\t1\t2\nvpc.main\tec2:B\n").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        let err = parse_calls("-\tec2:A\tx\t2\n").unwrap_err();
        assert!(err.contains("not a time"), "{err}");
    }
}
