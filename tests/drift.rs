//! Refresh, drift and orphans as users meet them: the real binary against the emulator.
//! A change made outside ecsctl shows in the drift section and in the plan, apply repairs
//! it, and the next plan is empty; a plan right after apply is empty for every example;
//! refresh stays within its call budget as services are added; resources left behind by a
//! lost state are found and imported. Each test uses its own stack name.

use ecsctl_testing::Moto;
use std::path::Path;

mod common;
use common::{command, repo, Run};

/// `ecsctl ARGS` in `dir`, pointed at the emulator.
fn ecsctl(dir: &Path, args: &[&str]) -> Run {
    Run::from(
        command(dir, args, &Moto::get().env())
            .output()
            .expect("run ecsctl"),
    )
}

fn ok(r: Run, what: &str) -> Run {
    r.ok(what)
}

/// A temp dir holding `stack.toml`: `source` (relative to the repository) renamed to `name`.
fn stack_dir(source: &str, name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = std::fs::read_to_string(repo().join(source)).unwrap();
    let start = src.find("\nname").expect("a [stack] name") + 1;
    let end = start + src[start..].find('\n').unwrap();
    let src = format!("{}name = \"{name}\"{}", &src[..start], &src[end..]);
    std::fs::write(dir.path().join("stack.toml"), src).unwrap();
    dir
}

fn apply(d: &Path) {
    ok(
        ecsctl(d, &["apply", "--auto-approve", "--no-wait"]),
        "apply",
    );
}

fn destroy(d: &Path) {
    ok(ecsctl(d, &["destroy", "--auto-approve"]), "destroy");
}

/// `plan --detailed-exitcode` exits 0: nothing to change.
fn assert_no_changes(d: &Path, when: &str) {
    let r = ecsctl(d, &["plan", "--detailed-exitcode"]);
    assert_eq!(
        r.code, 0,
        "the plan {when} is not empty:\n{}\n{}",
        r.stdout, r.stderr
    );
    assert!(
        !r.stdout.contains("Objects changed outside ecsctl"),
        "false drift {when}:\n{}",
        r.stdout
    );
    assert!(
        !r.stdout.contains("does not track"),
        "orphans {when}:\n{}",
        r.stdout
    );
}

fn state_of(d: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(d.join("stack.state.json")).unwrap()).unwrap()
}

fn id_of(d: &Path, address: &str) -> String {
    state_of(d)["resources"][address]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no {address} in state"))
        .to_string()
}

/// The text of the drift section (empty when there is none).
fn drift_section(plan: &str) -> &str {
    match plan.find("Objects changed outside ecsctl:") {
        Some(start) => {
            let rest = &plan[start..];
            &rest[..rest.find("Values are shown as").unwrap_or(rest.len())]
        }
        None => "",
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_outside_ecsctl_are_shown_repaired_and_gone() {
    let dir = stack_dir("stack.toml.example", "drift");
    let d = dir.path();
    apply(d);
    assert_no_changes(d, "right after apply");

    let conf = Moto::get().sdk_config().await;
    let ec2 = aws_sdk_ec2::Client::new(&conf);
    // Scale the service by hand.
    aws_sdk_ecs::Client::new(&conf)
        .update_service()
        .cluster(id_of(d, "ecs_cluster.main"))
        .service(id_of(d, "ecs_service.hello"))
        .desired_count(5)
        .send()
        .await
        .unwrap();
    // Open SSH on the instances' group.
    ec2.authorize_security_group_ingress()
        .group_id(id_of(d, "security_group.instances"))
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(
                    aws_sdk_ec2::types::IpRange::builder()
                        .cidr_ip("203.0.113.0/24")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    // Retag the VPC.
    ec2.create_tags()
        .resources(id_of(d, "vpc.main"))
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("Environment")
                .value("prod")
                .build(),
        )
        .send()
        .await
        .unwrap();
    // Delete the service's log group.
    aws_sdk_cloudwatchlogs::Client::new(&conf)
        .delete_log_group()
        .log_group_name(id_of(d, "log_group.hello"))
        .send()
        .await
        .unwrap();

    let r = ecsctl(d, &["plan", "--detailed-exitcode"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    let drift = drift_section(&r.stdout);
    for expected in [
        "~ ecs_service.hello",
        "desired_count: 2 -> 5",
        "~ security_group.instances",
        "\"203.0.113.0/24\"",
        "~ vpc.main",
        "\"dev\" -> \"prod\"",
        "- log_group.hello",
        "deleted outside ecsctl",
    ] {
        assert!(
            drift.contains(expected),
            "drift lacks `{expected}`:\n{drift}"
        );
    }
    let plan = &r.stdout[r.stdout.find("Values are shown as").unwrap()..];
    for expected in [
        "~ ecs_service.hello",
        "desired_count: 5 -> 2",
        "~ security_group.instances",
        "~ vpc.main",
        "\"prod\" -> \"dev\"",
        "+ log_group.hello",
    ] {
        assert!(plan.contains(expected), "plan lacks `{expected}`:\n{plan}");
    }
    // plan never writes the state.
    assert_eq!(
        state_of(d)["resources"]["ecs_service.hello"]["args"]["desired_count"],
        2
    );

    // `refresh` records what lives, and says what it found.
    let serial = state_of(d)["serial"].as_u64().unwrap();
    let r = ok(ecsctl(d, &["refresh"]), "refresh");
    assert!(r.stdout.contains("desired_count: 2 -> 5"), "{}", r.stdout);
    let state = state_of(d);
    assert_eq!(
        state["resources"]["ecs_service.hello"]["args"]["desired_count"],
        5
    );
    assert!(state["resources"].get("log_group.hello").is_none());
    assert_eq!(state["serial"].as_u64().unwrap(), serial + 1);

    // Apply repairs everything; afterwards nothing is left to do.
    apply(d);
    assert_no_changes(d, "after repairing the drift");
    let r = ok(
        ecsctl(d, &["state", "show", "ecs_service.hello"]),
        "state show",
    );
    assert!(r.stdout.contains("\"desired_count\": 2"), "{}", r.stdout);
    destroy(d);
}

#[test]
fn refresh_false_plans_against_the_recorded_state() {
    let dir = stack_dir("examples/minimal.toml", "norefresh");
    let d = dir.path();
    apply(d);
    let log_group = id_of(d, "log_group.web");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let conf = Moto::get().sdk_config().await;
        aws_sdk_cloudwatchlogs::Client::new(&conf)
            .delete_log_group()
            .log_group_name(&log_group)
            .send()
            .await
            .unwrap();
    });
    let r = ecsctl(d, &["plan", "--detailed-exitcode", "--refresh=false"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let r = ecsctl(d, &["plan", "--detailed-exitcode"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("+ log_group.web"), "{}", r.stdout);
    destroy(d);
}

/// Every example applies to an empty plan (no false drift). `examples/https.toml` is left
/// out: it needs an ACM certificate, and the workspace has no ACM SDK crate to import a
/// self-signed one into the emulator.
fn example_has_no_drift_after_apply(file: &str, name: &str) {
    let dir = stack_dir(file, name);
    let d = dir.path();
    apply(d);
    assert_no_changes(d, &format!("right after applying {file}"));
    destroy(d);
}

#[test]
fn minimal_example_has_no_drift_after_apply() {
    example_has_no_drift_after_apply("examples/minimal.toml", "exmin");
}

#[test]
fn hello_flask_example_has_no_drift_after_apply() {
    example_has_no_drift_after_apply("examples/hello-flask.toml", "exflask");
}

#[test]
fn multi_service_example_has_no_drift_after_apply() {
    example_has_no_drift_after_apply("examples/multi-service.toml", "exmulti");
}

#[test]
fn readme_example_has_no_drift_after_apply() {
    example_has_no_drift_after_apply("stack.toml.example", "exreadme");
}

/// The README's stack with `n` services (the first takes every request; the others are
/// behind path rules).
fn stack_with_services(name: &str, n: usize) -> tempfile::TempDir {
    let dir = stack_dir("stack.toml.example", name);
    let p = dir.path().join("stack.toml");
    let mut src = std::fs::read_to_string(&p).unwrap();
    for i in 2..=n {
        src.push_str(&format!(
            "\n[[service]]\nname = \"s{i}\"\nimage = \"public.ecr.aws/nginx/nginx:1.27\"\n\
             container_port = 80\npath = \"/s{i}/*\"\n"
        ));
    }
    std::fs::write(&p, src).unwrap();
    dir
}

/// The API calls of a plan's refresh, from `plan --json`: without orphan discovery, and
/// with it (the default, in the same reads).
fn plan_calls(d: &Path) -> (u64, u64) {
    let calls = |args: &[&str]| {
        let r = ok(ecsctl(d, args), "plan --json");
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(v["summary"]["add"], 0, "{}", r.stdout);
        assert_eq!(v["summary"]["change"], 0, "{}", r.stdout);
        assert_eq!(v["drift"]["changed"], serde_json::json!([]), "{}", r.stdout);
        v["refresh"]["calls"].as_u64().unwrap()
    };
    (
        calls(&["plan", "--json", "--find-orphans=false"]),
        calls(&["plan", "--json"]),
    )
}

#[test]
fn refresh_cost_stays_flat_as_services_are_added() {
    let one = stack_with_services("cost1", 1);
    let thirty = stack_with_services("cost30", 30);
    apply(one.path());
    apply(thirty.path());
    let (refresh_1, scan_1) = plan_calls(one.path());
    let (refresh_30, scan_30) = plan_calls(thirty.path());
    eprintln!(
        "refresh: 1 service {refresh_1} calls, 30 services {refresh_30}; \
         with orphan discovery: {scan_1} and {scan_30}"
    );
    // The target: at most 25 calls for the example stack (25 today: ec2 10, elbv2
    // 6, route53 3, autoscaling 2, ecs 2, iam 1, logs 1).
    assert!(
        refresh_1 <= 25,
        "refreshing the example stack took {refresh_1} calls"
    );
    assert!(
        refresh_30 <= 2 * refresh_1,
        "30 services took {refresh_30} refresh calls, one took {refresh_1}"
    );
    // Orphan discovery rides on the same listings: a few calls more, not a second pass.
    assert!(
        scan_1 <= refresh_1 + 8,
        "refresh with orphan discovery took {scan_1} calls, without {refresh_1}"
    );
    assert!(
        scan_30 <= 2 * scan_1,
        "30 services took {scan_30} calls with orphan discovery, one took {scan_1}"
    );
    // The human form says the same.
    let r = ok(ecsctl(one.path(), &["plan", "--stats"]), "plan --stats");
    assert!(
        r.stdout.contains(&format!(
            "refresh and orphan discovery: {scan_1} API calls ("
        )),
        "{}",
        r.stdout
    );
    destroy(one.path());
    destroy(thirty.path());
}

#[test]
fn resources_left_by_a_lost_state_are_found_and_imported() {
    let dir = stack_dir("stack.toml.example", "orphan");
    let d = dir.path();
    apply(d);
    let before = state_of(d);
    std::fs::remove_file(d.join("stack.state.json")).unwrap();

    let r = ok(ecsctl(d, &["plan"]), "plan without a state");
    assert!(
        r.stdout
            .contains("Resources tagged for this stack that the state does not track:"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("ecsctl import"), "{}", r.stdout);
    for address in [
        "vpc.main",
        "ecs_service.hello",
        "lb.main",
        "iam_role.instance",
    ] {
        let id = before["resources"][address]["id"].as_str().unwrap();
        assert!(
            r.stdout.contains(&format!("? {address} (id {id})")),
            "{address} not reported:\n{}",
            r.stdout
        );
    }
    let r = ok(ecsctl(d, &["plan", "--json"]), "plan --json");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(
        v["orphans"].as_array().unwrap().len() >= 20,
        "{}",
        v["orphans"]
    );

    // Apply without the state refuses, before anything changes, instead of building a
    // second VPC, NAT and load balancer beside the first and adopting parts of the first.
    let r = ecsctl(d, &["apply", "--auto-approve", "--no-wait"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("exist in AWS but not in the state")
            && r.stderr.contains("vpc.main")
            && r.stderr.contains("ecsctl import"),
        "{}",
        r.stderr
    );
    assert!(!r.stdout.contains("Apply complete"), "{}", r.stdout);
    let r = ok(
        ecsctl(d, &["plan", "--json"]),
        "plan --json after the refused apply",
    );
    let again: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        again["orphans"].as_array().unwrap().len(),
        v["orphans"].as_array().unwrap().len(),
        "the refused apply made something: {}",
        again["orphans"]
    );

    let r = ok(ecsctl(d, &["import"]), "import");
    assert!(r.stdout.contains("Imported"), "{}", r.stdout);
    let after = state_of(d);
    let addresses = |s: &serde_json::Value| {
        s["resources"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v["id"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(addresses(&after), addresses(&before));
    assert_no_changes(d, "after import");
    let r = ok(ecsctl(d, &["import"]), "import again");
    assert!(r.stdout.contains("Nothing to import"), "{}", r.stdout);
    destroy(d);
}
