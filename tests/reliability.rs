//! Reliability of the real binary under faults, against moto behind the fault proxy:
//!
//! - apply and destroy of the example stack each finish in one run at 20% throttling and
//!   5% lost replies, leaving exactly one of every resource, then nothing;
//! - `kill -9` of an apply at several points, then a plain re-run converges to exactly the
//!   resources of a clean apply and the next plan is empty;
//! - two applies on one state: one runs, the other is refused naming the holder's pid.
//!
//! Resources are counted in moto directly (`census`), by the stack's tag or names. Each
//! test uses its own stack name in moto's default account.

#[path = "../crates/ecsctl-aws/tests/census/mod.rs"]
mod census;

use ecsctl_faultproxy::{FaultProxy, RunningProxy};
use ecsctl_state::State;
use ecsctl_testing::Moto;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The fault seed of the throttling/lost-reply run (the proxy's decisions are a pure
/// function of it, so a failure reproduces).
const FAULT_SEED: u64 = 20_240_611;

mod common;
use common::{repo, Run};

/// `ecsctl ARGS` in `dir`, its AWS calls sent to `endpoint`.
fn command(dir: &Path, endpoint: &str, args: &[&str]) -> Command {
    let mut cmd = common::command(dir, args, &Moto::get().env());
    cmd.env("AWS_ENDPOINT_URL", endpoint).env("NO_COLOR", "1");
    cmd
}

fn ecsctl(dir: &Path, endpoint: &str, args: &[&str]) -> Run {
    Run::from(command(dir, endpoint, args).output().expect("run ecsctl"))
}

fn spawn(dir: &Path, endpoint: &str, args: &[&str]) -> Child {
    command(dir, endpoint, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ecsctl")
}

/// A temp dir holding `stack.toml`: the example stack renamed to `name`.
fn stack_dir(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = std::fs::read_to_string(repo().join("stack.toml.example")).expect("example");
    let src = src.replacen("name = \"hello\"", &format!("name = \"{name}\""), 1);
    std::fs::write(dir.path().join("stack.toml"), src).expect("write stack.toml");
    dir
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A proxy in front of moto with `latency` per call, `throttle` and `lost` rates.
fn proxy(rt: &tokio::runtime::Runtime, latency_ms: u64, throttle: f64, lost: f64) -> RunningProxy {
    rt.block_on(
        FaultProxy::builder()
            .upstream(Moto::get().url())
            .latency(Duration::from_millis(latency_ms))
            .throttle_rate(throttle)
            .lost_reply_rate(lost)
            .seed(FAULT_SEED)
            .start(),
    )
    .expect("start the fault proxy")
}

fn read_state(path: &Path) -> Option<State> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not a valid state: {e}\n{text}", path.display())),
    )
}

fn census(rt: &tokio::runtime::Runtime, stack: &str) -> census::Census {
    rt.block_on(census::census(None, stack))
}

/// The example stack has 28 resources.
const RESOURCES: usize = 28;

#[test]
fn apply_and_destroy_each_finish_in_one_run_under_throttling_and_lost_replies() {
    let stack = "relfaults";
    let rt = runtime();
    let p = proxy(&rt, 0, 0.2, 0.05);
    let dir = stack_dir(stack);
    let d = dir.path();

    let started = Instant::now();
    let apply = ecsctl(d, &p.url(), &["apply", "--auto-approve", "--no-wait"]).ok("apply");
    let apply_time = started.elapsed();
    assert!(apply.stdout.contains("Apply complete!"), "{}", apply.stdout);
    let stats = p.stats();
    assert!(
        stats.total.throttled > 0 && stats.total.lost > 0,
        "{stats:?}"
    );
    assert_eq!(census(&rt, stack), census::example_stack());
    let state = read_state(&d.join("stack.state.json")).expect("state");
    assert_eq!(state.resources.len(), RESOURCES);
    assert!(state.pending.is_empty(), "{:?}", state.pending);

    ecsctl(d, &Moto::get().url(), &["plan", "--detailed-exitcode"])
        .ok("plan after apply (expected no changes)");

    let started = Instant::now();
    let destroy = ecsctl(d, &p.url(), &["destroy", "--auto-approve"]).ok("destroy");
    let destroy_time = started.elapsed();
    assert!(
        destroy.stdout.contains("Destroy complete!"),
        "{}",
        destroy.stdout
    );
    assert_eq!(census(&rt, stack), census::nothing());
    let state = read_state(&d.join("stack.state.json")).expect("state");
    assert!(state.resources.is_empty() && state.pending.is_empty());
    let stats = p.stats();
    eprintln!(
        "seed {FAULT_SEED}: apply {apply_time:?}, destroy {destroy_time:?}; {} calls, {} \
         throttled, {} lost",
        stats.total.calls, stats.total.throttled, stats.total.lost
    );
}

/// When to kill the apply, judged from its state file.
#[derive(Clone, Copy, Debug)]
enum KillPoint {
    /// Once the state holds this many resources.
    Resources(usize),
    /// Once a create's intent is recorded (its call in flight) after this many resources.
    Pending(usize),
}

impl KillPoint {
    fn reached(self, s: &State) -> bool {
        match self {
            KillPoint::Resources(n) => s.resources.len() >= n,
            KillPoint::Pending(n) => s.resources.len() >= n && !s.pending.is_empty(),
        }
    }
}

/// Start an apply through a slow proxy, `kill -9` it at `point`, re-run it against moto
/// and check it converges to the clean apply's resources with an empty plan after.
fn killed_apply_converges(stack: &str, point: KillPoint) {
    let rt = runtime();
    let p = proxy(&rt, 80, 0.0, 0.0);
    let dir = stack_dir(stack);
    let d = dir.path();
    let state_path = d.join("stack.state.json");

    let mut child = spawn(d, &p.url(), &["apply", "--auto-approve", "--no-wait"]);
    let deadline = Instant::now() + Duration::from_secs(90);
    let at_kill = loop {
        if let Some(s) = read_state(&state_path) {
            if point.reached(&s) {
                child.kill().expect("kill -9 the apply");
                break s;
            }
        }
        if let Some(status) = child.try_wait().expect("poll the apply") {
            panic!("the apply ended ({status}) before {point:?}");
        }
        assert!(Instant::now() < deadline, "{point:?} not reached in 90s");
        std::thread::sleep(Duration::from_millis(3));
    };
    let status = child.wait().expect("reap the apply");
    assert!(!status.success(), "the apply was not killed: {status}");
    let after = read_state(&state_path).expect("the state survives the kill");
    assert!(after.serial >= at_kill.serial);

    let started = Instant::now();
    ecsctl(
        d,
        &Moto::get().url(),
        &["apply", "--auto-approve", "--no-wait"],
    )
    .ok("apply after kill -9");
    let rerun = started.elapsed();
    let state = read_state(&state_path).expect("state");
    assert_eq!(state.resources.len(), RESOURCES);
    assert!(state.pending.is_empty(), "{:?}", state.pending);
    assert_eq!(
        census(&rt, stack),
        census::example_stack(),
        "killed at {point:?} with {} resources and {} intents in state",
        after.resources.len(),
        after.pending.len()
    );
    ecsctl(d, &Moto::get().url(), &["plan", "--detailed-exitcode"])
        .ok("plan after the re-run (expected no changes)");
    eprintln!(
        "{stack}: killed at {point:?} ({} resources, {} intents), re-run {rerun:?}",
        after.resources.len(),
        after.pending.len()
    );

    ecsctl(d, &Moto::get().url(), &["destroy", "--auto-approve"]).ok("destroy");
    assert_eq!(census(&rt, stack), census::nothing());
}

#[test]
fn kill_9_after_3_resources_then_rerun_converges() {
    killed_apply_converges("relkill3", KillPoint::Resources(3));
}

#[test]
fn kill_9_after_10_resources_then_rerun_converges() {
    killed_apply_converges("relkill10", KillPoint::Resources(10));
}

#[test]
fn kill_9_after_20_resources_then_rerun_converges() {
    killed_apply_converges("relkill20", KillPoint::Resources(20));
}

#[test]
fn kill_9_during_a_create_then_rerun_converges() {
    killed_apply_converges("relkillmid", KillPoint::Pending(6));
}

#[test]
fn a_second_apply_on_a_locked_state_is_refused_naming_the_holder() {
    let stack = "rellock";
    let rt = runtime();
    let p = proxy(&rt, 40, 0.0, 0.0);
    let dir = stack_dir(stack);
    let d = dir.path();
    let state_path = d.join("stack.state.json");

    let first = spawn(d, &p.url(), &["apply", "--auto-approve", "--no-wait"]);
    let pid = first.id();
    // The state file appears once the first apply holds the lock and records intents.
    let deadline = Instant::now() + Duration::from_secs(60);
    while read_state(&state_path).is_none() {
        assert!(
            Instant::now() < deadline,
            "the first apply never wrote its state"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let second = ecsctl(d, &p.url(), &["apply", "--auto-approve", "--no-wait"]);
    assert_ne!(second.code, 0, "the second apply ran: {}", second.stdout);
    assert!(
        second.stderr.contains("locked") && second.stderr.contains(&format!("pid {pid}")),
        "the refusal should name the holder (pid {pid}): {}",
        second.stderr
    );

    let out = first.wait_with_output().expect("the first apply");
    Run::from(out).ok("the first apply");
    let state = read_state(&state_path).expect("state");
    assert_eq!(state.resources.len(), RESOURCES);
    assert!(state.pending.is_empty());
    let backup = read_state(&ecsctl_state::backup_path(&state_path)).expect("backup");
    assert_eq!(
        state.serial,
        backup.serial + 1,
        "serials move one write at a time"
    );
    assert_eq!(state.lineage, backup.lineage);
    assert_eq!(census(&rt, stack), census::example_stack());

    ecsctl(d, &Moto::get().url(), &["destroy", "--auto-approve"]).ok("destroy");
    assert_eq!(census(&rt, stack), census::nothing());
}
