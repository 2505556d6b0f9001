//! The `ecsctl-faultproxy` binary: flags, the `listening on` line, the HTTP stats, and
//! refusing non-loopback addresses.

mod common;

use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use common::{clients, http, no_retries, stats_json};
use ecsctl_testing::{next_account, Moto};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_ecsctl-faultproxy");

/// Kills the child (by its own handle) when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str]) -> (Running, SocketAddr) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run ecsctl-faultproxy");
    let stdout = child.stdout.take().expect("stdout");
    let running = Running(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the first line");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .expect("an address");
    (running, addr)
}

#[tokio::test]
async fn binary_injects_faults_and_serves_stats() {
    let upstream = Moto::get().url();
    let (_proxy, addr) = spawn(&[
        "--upstream",
        &upstream,
        "--listen",
        "127.0.0.1:0",
        "--latency",
        "0ms",
        "--latency-action",
        "ec2:DescribeVpcs=150ms",
        "--throttle",
        "1",
        "--lost",
        "0",
        "--seed",
        "7",
    ]);
    let c = clients(&format!("http://{addr}"), &next_account(), no_retries()).await;
    let start = Instant::now();
    let err = c.ec2.describe_vpcs().send().await.expect_err("throttled");
    assert!(start.elapsed() >= Duration::from_millis(150));
    assert_eq!(err.code(), Some("RequestLimitExceeded"));

    let stats = stats_json(addr).await;
    assert_eq!(
        stats["services"]["ec2"]["actions"]["DescribeVpcs"]["throttled"], 1,
        "{stats}"
    );
    assert_eq!(stats["total"]["forwarded"], 0, "{stats}");
    let (status, _) = http(addr, "POST", "/__proxy/reset-stats").await;
    assert_eq!(status, 204);
    assert_eq!(stats_json(addr).await["total"]["calls"], 0);
}

#[test]
fn binary_refuses_a_non_loopback_upstream() {
    let out = Command::new(BIN)
        .args(["--upstream", "http://192.0.2.10:5000"])
        .output()
        .expect("run ecsctl-faultproxy");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a loopback address"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn binary_refuses_a_non_loopback_listen_address() {
    let out = Command::new(BIN)
        .args([
            "--upstream",
            "http://127.0.0.1:5000",
            "--listen",
            "0.0.0.0:0",
        ])
        .output()
        .expect("run ecsctl-faultproxy");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a loopback address"), "{stderr}");
}

#[test]
fn binary_explains_a_bad_rate() {
    let out = Command::new(BIN)
        .args(["--upstream", "http://127.0.0.1:5000", "--throttle", "1.5"])
        .output()
        .expect("run ecsctl-faultproxy");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("between 0 and 1"), "{stderr}");
}
