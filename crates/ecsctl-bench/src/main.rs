//! Benchmarks of ecsctl; benchmarks, not tests (`make bench` runs them in release mode).
//!
//! ```text
//! ecsctl-bench [--runs R] [SERVICES...]   offline core for generated stacks (default
//!                                         1 10 50 100 200 services): Markdown table
//! ecsctl-bench --one N [--runs R]         one size, one machine-readable line (used by the
//!                                         table so that each size has its own peak RSS)
//! ecsctl-bench chain --dot FILE --calls FILE
//!                                         the longest chain of dependent AWS calls of an
//!                                         apply (see `chain.rs`)
//! ```

mod alloc;
mod chain;
mod fit;
mod offline;

use offline::Sample;
use std::process::{Command, ExitCode};

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting::new();

const DEFAULT_SIZES: [usize; 5] = [1, 10, 50, 100, 200];
const DEFAULT_RUNS: usize = 15;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.first().map(String::as_str) == Some("chain") {
        chain::run(&args[1..])
    } else {
        offline_command(&args)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ecsctl-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn offline_command(args: &[String]) -> Result<(), String> {
    let mut runs = DEFAULT_RUNS;
    let mut one = None;
    let mut sizes = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => runs = number(it.next(), "--runs")?,
            "--one" => one = Some(number(it.next(), "--one")?),
            "-h" | "--help" => {
                println!("usage: ecsctl-bench [--runs R] [SERVICES...] | --one N | chain --dot FILE --calls FILE");
                return Ok(());
            }
            other => sizes.push(number(Some(&other.to_string()), "a size")?),
        }
    }
    if let Some(n) = one {
        let sample = offline::measure(n, runs)?;
        println!("{}", sample.to_line());
        println!("rss\t{}", peak_rss_kib().unwrap_or(0));
        return Ok(());
    }
    if sizes.is_empty() {
        sizes = DEFAULT_SIZES.to_vec();
    }
    let mut rows = Vec::new();
    for n in sizes {
        rows.push(run_child(n, runs)?);
    }
    print_table(&rows, runs);
    Ok(())
}

fn number(v: Option<&String>, what: &str) -> Result<usize, String> {
    let v = v.ok_or_else(|| format!("{what} needs a number"))?;
    v.parse()
        .map_err(|_| format!("{what}: `{v}` is not a whole number (e.g. 50)"))
}

/// Runs one size in a fresh process so its peak RSS is its own.
fn run_child(n: usize, runs: usize) -> Result<(Sample, u64), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let out = Command::new(exe)
        .args(["--one", &n.to_string(), "--runs", &runs.to_string()])
        .output()
        .map_err(|e| format!("cannot start the measurement of {n} services: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "the measurement of {n} services failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let mut lines = stdout.lines();
    let sample = Sample::from_line(lines.next().unwrap_or(""))?;
    let rss = lines
        .next()
        .and_then(|l| l.strip_prefix("rss\t"))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Ok((sample, rss))
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn ms(d: std::time::Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

fn print_table(rows: &[(Sample, u64)], runs: usize) {
    let points: Vec<(f64, f64)> = rows
        .iter()
        .map(|(s, _)| (s.resources as f64, s.total().as_secs_f64() * 1000.0))
        .collect();
    let line = fit::least_squares(&points);
    println!(
        "Times are medians of {runs} runs in ms. total = parse+validate + expand + no-op plan \
         (what `ecsctl plan` costs offline on an applied stack). k = growth exponent of total \
         against resources since the previous row (1 = linear, < 1 better). fit = total / \
         the least-squares line's value at that size."
    );
    println!();
    println!("| services | resources | file bytes | parse+validate | expand | plan (create all) | plan (no-op) | no-op changes | total | µs/resource | k | fit | peak heap | peak RSS |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut prev: Option<(f64, f64)> = None;
    for ((s, rss), &(x, y)) in rows.iter().zip(&points) {
        let k = prev
            .and_then(|p| fit::growth_exponent(p, (x, y)))
            .map(|k| format!("{k:.2}"))
            .unwrap_or_else(|| "–".into());
        let vs_fit = line
            .filter(|l| l.at(x) > 0.0)
            .map(|l| format!("{:.2}", y / l.at(x)))
            .unwrap_or_else(|| "–".into());
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} | {k} | {vs_fit} | {:.1} MiB | {:.1} MiB |",
            s.services,
            s.resources,
            s.file_bytes,
            ms(s.parse),
            ms(s.expand),
            ms(s.plan_create),
            ms(s.plan_noop),
            s.noop_changes,
            ms(s.total()),
            y * 1000.0 / x.max(1.0),
            s.peak_heap as f64 / 1_048_576.0,
            *rss as f64 / 1024.0,
        );
        prev = Some((x, y));
    }
    println!();
    if let Some(l) = line {
        println!(
            "Linear fit: total ≈ {:.3} ms + {:.2} µs × resources (R² = {:.4}).",
            l.intercept,
            l.slope * 1000.0,
            l.r2
        );
    }
    if let (Some(first), Some(last)) = (points.first(), points.last()) {
        if let Some(k) = fit::growth_exponent(*first, *last) {
            println!(
                "From {} to {} resources ({:.0}×) total grew {:.1}×: exponent {k:.2}.",
                first.0,
                last.0,
                last.0 / first.0,
                last.1 / first.1
            );
        }
    }
}
