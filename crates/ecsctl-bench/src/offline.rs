//! The offline core on generated stacks: parse + validate, expand, plan against an empty
//! state (everything to create) and plan against a state that already holds every resource
//! (the no-op plan a user sees every day). No network.

use crate::fit::median;
use crate::ALLOC;
use ecsctl_graph::{Data, Graph, Ref};
use ecsctl_state::{ResourceState, State};
use serde_json::{Map, Value as Json};
use std::time::{Duration, Instant};

/// A stack with `n` services in three zones with a NAT gateway per zone: the first service
/// takes the listener's default action, the others a path rule each.
pub fn generated_stack(n: usize) -> String {
    let mut s = String::from(
        "[stack]\nname = \"bench\"\nregion = \"eu-west-2\"\n[stack.tags]\nTeam = \"platform\"\n\n\
         [network]\ncidr = \"10.0.0.0/16\"\nazs = 3\nnat = \"per_az\"\n\n[dns]\nzone = \"bench.local.\"\n\n\
         [cluster]\ninstance_type = \"t3.large\"\nmin_size = 3\nmax_size = 12\ndesired_capacity = 3\n\
         [cluster.scaling]\ncpu_target = 60\n\n",
    );
    for i in 0..n {
        s.push_str(&format!(
            "[[service]]\nname = \"svc{i}\"\nimage = \"public.ecr.aws/docker/library/nginx:1.27\"\n\
             container_port = 80\ncpu = 128\nmemory = 256\ndesired_count = 2\n"
        ));
        if i > 0 {
            s.push_str(&format!("path = \"/svc{i}/*\"\n"));
        }
        s.push_str("[service.environment]\nMODE = \"bench\"\n\n");
    }
    s
}

/// The data lookups a real plan makes, answered as AWS would for eu-west-2.
pub fn bench_data() -> Data {
    Data {
        azs: Some(vec![
            "eu-west-2a".into(),
            "eu-west-2b".into(),
            "eu-west-2c".into(),
        ]),
        ami_id: Some("ami-0123456789abcdef0".into()),
        region: Some("eu-west-2".into()),
        account_id: Some("123456789012".into()),
    }
}

/// A state as if `graph` had been applied: every resource with made-up ids and outputs and
/// its arguments resolved against them, so that planning `graph` against it finds nothing
/// to change.
pub fn applied_state(graph: &Graph, stack: &str) -> Result<State, String> {
    let mut state = State::new(stack);
    let order = graph.topo_order().map_err(|e| e.to_string())?;
    for address in order {
        let Some(resource) = graph.get(&address) else {
            continue;
        };
        let mut args = Map::new();
        for (name, value) in &resource.args {
            let lookup = |r: &Ref| state.lookup(r);
            let resolved = value.substitute(&lookup).to_json().ok_or_else(|| {
                format!("{address}: argument `{name}` is not known after its dependencies")
            })?;
            args.insert(name.clone(), resolved);
        }
        let mut outputs = Map::new();
        for attr in address.kind.schema().outputs {
            if *attr != "id" {
                outputs.insert(
                    attr.to_string(),
                    Json::String(format!("fake-{address}-{attr}")),
                );
            }
        }
        let deps = resource.deps().into_iter().collect();
        let id = format!("fake-{address}");
        state.resources.insert(
            address,
            ResourceState {
                id,
                args,
                outputs,
                deps,
            },
        );
    }
    Ok(state)
}

/// What one size measured: medians over the runs, and memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub services: usize,
    pub file_bytes: usize,
    pub resources: usize,
    /// Changes planned against an empty state (every resource created).
    pub changes: usize,
    /// Changes planned against the applied state: 0 unless the diff sees false drift.
    pub noop_changes: usize,
    pub parse: Duration,
    pub expand: Duration,
    pub plan_create: Duration,
    pub plan_noop: Duration,
    /// The most heap bytes live at once during one parse + expand + both plans.
    pub peak_heap: usize,
}

impl Sample {
    /// What a user waits for before a plan is shown: parse + expand + the no-op plan.
    pub fn total(&self) -> Duration {
        self.parse + self.expand + self.plan_noop
    }

    /// One line of tab-separated fields, read back by [`Sample::from_line`] (the parent
    /// process collects one child's line per size so each size has its own peak RSS).
    pub fn to_line(&self) -> String {
        format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            self.services,
            self.file_bytes,
            self.resources,
            self.changes,
            self.noop_changes,
            self.parse.as_nanos(),
            self.expand.as_nanos(),
            self.plan_create.as_nanos(),
            self.plan_noop.as_nanos(),
            self.peak_heap
        )
    }

    pub fn from_line(line: &str) -> Result<Sample, String> {
        let f: Vec<&str> = line.trim().split('\t').collect();
        if f.len() != 10 {
            return Err(format!("expected 10 tab-separated fields, got `{line}`"));
        }
        let num = |i: usize| -> Result<u64, String> {
            f[i].parse()
                .map_err(|_| format!("field {i} of `{line}` is not a number"))
        };
        let ns = |i: usize| num(i).map(Duration::from_nanos);
        Ok(Sample {
            services: num(0)? as usize,
            file_bytes: num(1)? as usize,
            resources: num(2)? as usize,
            changes: num(3)? as usize,
            noop_changes: num(4)? as usize,
            parse: ns(5)?,
            expand: ns(6)?,
            plan_create: ns(7)?,
            plan_noop: ns(8)?,
            peak_heap: num(9)? as usize,
        })
    }
}

/// Measures the stack with `services` services `runs` times and keeps the medians.
pub fn measure(services: usize, runs: usize) -> Result<Sample, String> {
    let src = generated_stack(services);
    let data = bench_data();
    let (mut tp, mut te, mut tc, mut tn) = (vec![], vec![], vec![], vec![]);
    let mut sample = Sample {
        services,
        file_bytes: src.len(),
        resources: 0,
        changes: 0,
        noop_changes: 0,
        parse: Duration::ZERO,
        expand: Duration::ZERO,
        plan_create: Duration::ZERO,
        plan_noop: Duration::ZERO,
        peak_heap: 0,
    };
    for run in 0..runs.max(1) {
        // The applied state stands in for the state file the CLI would have read; it is
        // built outside the timed and memory-counted sections.
        let applied = {
            let stack = parse(&src)?;
            applied_state(&ecsctl_graph::expand(&stack, &data), &stack.name)?
        };
        if run == 0 {
            ALLOC.reset_peak();
        }
        let base = ALLOC.live();

        let t = Instant::now();
        let stack = parse(&src)?;
        tp.push(t.elapsed());

        let t = Instant::now();
        let graph = ecsctl_graph::expand(&stack, &data);
        te.push(t.elapsed());

        let empty = State::new(&stack.name);
        let t = Instant::now();
        let create = ecsctl_plan::plan(&graph, &empty, &stack.source_hash)
            .map_err(|e| format!("plan of {services} services: {e}"))?;
        tc.push(t.elapsed());

        let t = Instant::now();
        let noop = ecsctl_plan::plan(&graph, &applied, &stack.source_hash)
            .map_err(|e| format!("no-op plan of {services} services: {e}"))?;
        tn.push(t.elapsed());

        if run == 0 {
            sample.peak_heap = ALLOC.peak().saturating_sub(base);
        }
        sample.resources = graph.len();
        sample.changes = create.changes.len();
        sample.noop_changes = noop.changes.len();
    }
    sample.parse = median(tp);
    sample.expand = median(te);
    sample.plan_create = median(tc);
    sample.plan_noop = median(tn);
    Ok(sample)
}

fn parse(src: &str) -> Result<ecsctl_stack::Stack, String> {
    ecsctl_stack::parse(src, "bench.toml")
        .map_err(|e| format!("the generated stack does not validate: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_stacks_validate_and_grow_with_services() {
        let one = parse(&generated_stack(1)).expect("valid");
        let ten = parse(&generated_stack(10)).expect("valid");
        assert_eq!(one.services.len(), 1);
        assert_eq!(ten.services.len(), 10);
        let data = bench_data();
        let g1 = ecsctl_graph::expand(&one, &data);
        let g10 = ecsctl_graph::expand(&ten, &data);
        assert!(g10.len() > g1.len());
    }

    #[test]
    fn planning_against_the_applied_state_finds_nothing_to_change() {
        let stack = parse(&generated_stack(3)).expect("valid");
        let graph = ecsctl_graph::expand(&stack, &bench_data());
        let state = applied_state(&graph, &stack.name).expect("resolvable");
        assert_eq!(state.resources.len(), graph.len());
        let plan = ecsctl_plan::plan(&graph, &state, &stack.source_hash).expect("no cycle");
        assert!(
            plan.changes.is_empty(),
            "false drift: {:?}",
            plan.changes
                .iter()
                .map(|c| c.address.to_string())
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_sample_survives_its_line_form() {
        let s = measure(1, 1).expect("measured");
        assert_eq!(s.changes, s.resources);
        assert_eq!(s.noop_changes, 0);
        assert!(s.peak_heap > 0);
        assert_eq!(Sample::from_line(&s.to_line()).expect("parses"), s);
        assert!(Sample::from_line("1\t2").is_err());
    }
}
