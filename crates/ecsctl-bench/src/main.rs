//! `ecsctl-bench [SERVICES...]`: for generated stacks with 1, 10, 50 (or the given numbers
//! of) services, times parse + validate, expand, and plan against an empty state, and
//! prints a Markdown table with the median of several runs and the process's peak memory.
//! Run it in release mode (`make bench`); it is a benchmark, not a test.

use std::time::{Duration, Instant};

/// A stack with `n` services: the first takes the listener's default action, the others a
/// path rule each.
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

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn fmt(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let sizes: Vec<usize> = {
        let args: Vec<usize> = std::env::args()
            .skip(1)
            .filter_map(|a| a.parse().ok())
            .collect();
        if args.is_empty() {
            vec![1, 10, 50]
        } else {
            args
        }
    };
    let runs = 21;
    let data = ecsctl_graph::Data {
        azs: Some(vec![
            "eu-west-2a".into(),
            "eu-west-2b".into(),
            "eu-west-2c".into(),
        ]),
        ami_id: Some("ami-0123456789abcdef0".into()),
        region: Some("eu-west-2".into()),
        account_id: Some("123456789012".into()),
    };
    println!("| services | file bytes | resources | changes | parse+validate | expand | plan | total | peak RSS |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for n in sizes {
        let src = generated_stack(n);
        let (mut tp, mut te, mut tl) = (Vec::new(), Vec::new(), Vec::new());
        let (mut resources, mut changes) = (0, 0);
        for _ in 0..runs {
            let t = Instant::now();
            let stack = ecsctl_stack::parse(&src, "bench.toml").expect("generated stack is valid");
            tp.push(t.elapsed());
            let t = Instant::now();
            let graph = ecsctl_graph::expand(&stack, &data);
            te.push(t.elapsed());
            let state = ecsctl_state::State::new(&stack.name);
            let t = Instant::now();
            let plan = ecsctl_plan::plan(&graph, &state, &stack.source_hash).expect("no cycle");
            tl.push(t.elapsed());
            resources = graph.len();
            changes = plan.changes.len();
        }
        let (p, e, l) = (median(tp), median(te), median(tl));
        println!(
            "| {n} | {} | {resources} | {changes} | {} | {} | {} | {} | {} |",
            src.len(),
            fmt(p),
            fmt(e),
            fmt(l),
            fmt(p + e + l),
            peak_rss_kib()
                .map(|k| format!("{:.1} MiB", k as f64 / 1024.0))
                .unwrap_or_else(|| "n/a".into())
        );
    }
}
