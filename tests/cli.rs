//! The CLI as users run it: the real binary, against a real moto server for everything
//! that reaches AWS. Each test uses its own stack name, so tests share the emulator safely.

use ecsctl_testing::{AwsLike, Moto};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

mod common;
use common::{command, repo, Run};

/// `ecsctl ARGS` in `dir`, pointed at the emulator behind the AWS behaviour layer.
fn ecsctl(dir: &Path, args: &[&str]) -> Run {
    Run::from(
        command(dir, args, &AwsLike::get().env())
            .output()
            .expect("run ecsctl"),
    )
}

/// A temp dir holding `stack.toml`: the README's example stack renamed to `name`.
fn stack_dir(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = std::fs::read_to_string(repo().join("stack.toml.example")).unwrap();
    let src = src.replacen("name = \"hello\"", &format!("name = \"{name}\""), 1);
    std::fs::write(dir.path().join("stack.toml"), src).unwrap();
    dir
}

fn edit(dir: &Path, from: &str, to: &str) {
    let p = dir.join("stack.toml");
    let s = std::fs::read_to_string(&p).unwrap();
    assert!(s.contains(from), "stack.toml has no `{from}`");
    std::fs::write(&p, s.replacen(from, to, 1)).unwrap();
}

fn ec2(conf: &aws_types::SdkConfig) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(conf)
}

/// Everything in the emulator still tagged `ecsctl:stack = stack`, plus IAM roles and
/// ELBv2/ECS objects named after it.
async fn leftovers(stack: &str) -> Vec<String> {
    let conf = Moto::get().sdk_config().await;
    let mut out = Vec::new();
    let c = ec2(&conf);
    let f = || {
        aws_sdk_ec2::types::Filter::builder()
            .name("tag:ecsctl:stack")
            .values(stack)
            .build()
    };
    let vpcs = c.describe_vpcs().filters(f()).send().await.unwrap();
    out.extend(
        vpcs.vpcs()
            .iter()
            .map(|v| format!("vpc {}", v.vpc_id().unwrap_or_default())),
    );
    let subnets = c.describe_subnets().filters(f()).send().await.unwrap();
    out.extend(
        subnets
            .subnets()
            .iter()
            .map(|v| format!("subnet {}", v.subnet_id().unwrap_or_default())),
    );
    let igws = c
        .describe_internet_gateways()
        .filters(f())
        .send()
        .await
        .unwrap();
    out.extend(
        igws.internet_gateways()
            .iter()
            .map(|v| format!("igw {}", v.internet_gateway_id().unwrap_or_default())),
    );
    let rts = c.describe_route_tables().filters(f()).send().await.unwrap();
    out.extend(
        rts.route_tables()
            .iter()
            .map(|v| format!("route table {}", v.route_table_id().unwrap_or_default())),
    );
    let sgs = c
        .describe_security_groups()
        .filters(f())
        .send()
        .await
        .unwrap();
    out.extend(
        sgs.security_groups()
            .iter()
            .map(|v| format!("sg {}", v.group_id().unwrap_or_default())),
    );
    let eips = c.describe_addresses().filters(f()).send().await.unwrap();
    out.extend(
        eips.addresses()
            .iter()
            .map(|v| format!("eip {}", v.allocation_id().unwrap_or_default())),
    );
    let nats = c.describe_nat_gateways().filter(f()).send().await.unwrap();
    out.extend(
        nats.nat_gateways()
            .iter()
            .filter(|n| n.state().map(|s| s.as_str()) != Some("deleted"))
            // moto ignores the tag filter on DescribeNatGateways: check the tag here.
            .filter(|n| {
                n.tags()
                    .iter()
                    .any(|t| t.key() == Some("ecsctl:stack") && t.value() == Some(stack))
            })
            .map(|v| format!("nat {}", v.nat_gateway_id().unwrap_or_default())),
    );
    let lts = c
        .describe_launch_templates()
        .filters(f())
        .send()
        .await
        .unwrap();
    out.extend(lts.launch_templates().iter().map(|v| {
        format!(
            "launch template {}",
            v.launch_template_id().unwrap_or_default()
        )
    }));
    let running = aws_sdk_ec2::types::Filter::builder()
        .name("instance-state-name")
        .values("pending")
        .values("running")
        .build();
    let instances = c
        .describe_instances()
        .filters(f())
        .filters(running)
        .send()
        .await
        .unwrap();
    for r in instances.reservations() {
        out.extend(
            r.instances()
                .iter()
                .map(|i| format!("instance {}", i.instance_id().unwrap_or_default())),
        );
    }
    let roles = aws_sdk_iam::Client::new(&conf)
        .list_roles()
        .send()
        .await
        .unwrap();
    for r in roles.roles() {
        if r.role_name().starts_with(&format!("{stack}-")) {
            out.push(format!("iam role {}", r.role_name()));
        }
    }
    let lbs = aws_sdk_elasticloadbalancingv2::Client::new(&conf)
        .describe_load_balancers()
        .send()
        .await
        .unwrap();
    for lb in lbs.load_balancers() {
        if lb.load_balancer_name() == Some(stack) {
            out.push(format!("lb {stack}"));
        }
    }
    let clusters = aws_sdk_ecs::Client::new(&conf)
        .list_clusters()
        .send()
        .await
        .unwrap();
    for c in clusters.cluster_arns() {
        if c.ends_with(&format!("/{stack}")) {
            let d = aws_sdk_ecs::Client::new(&conf)
                .describe_clusters()
                .clusters(c)
                .send()
                .await
                .unwrap();
            if d.clusters().iter().any(|c| c.status() == Some("ACTIVE")) {
                out.push(format!("ecs cluster {c}"));
            }
        }
    }
    out
}

#[test]
fn every_command_has_help() {
    let dir = tempfile::tempdir().unwrap();
    for cmd in [
        "validate", "plan", "apply", "destroy", "graph", "output", "state",
    ] {
        let r = ecsctl(dir.path(), &[cmd, "--help"]);
        assert_eq!(r.code, 0, "{cmd} --help: {}", r.stderr);
        assert!(r.stdout.contains("Usage: ecsctl"), "{cmd}: {}", r.stdout);
    }
}

#[test]
fn validate_accepts_the_examples() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.push(repo().join("stack.toml.example"));
    for f in files {
        let r = ecsctl(&repo(), &["validate", "-f", f.to_str().unwrap()]);
        assert_eq!(r.code, 0, "{}: {}", f.display(), r.stderr);
        assert!(r.stdout.contains("is valid"), "{}", r.stdout);
    }
}

#[test]
fn validate_reports_every_problem_with_its_location() {
    let dir = tempfile::tempdir().unwrap();
    let bad = "[stack]\nname = \"ok\"\n\n[cluster]\ninstnce_type = \"t3.small\"\nmin_size = 5\nmax_size = 2\n\n[[service]]\nname = \"web\"\nimage = \"nginx\"\ncontainer_port = 70000\n";
    std::fs::write(dir.path().join("stack.toml"), bad).unwrap();
    let r = ecsctl(dir.path(), &["validate"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("stack.toml:5:1"), "{}", r.stderr);
    assert!(
        r.stderr.contains("instance_type"),
        "no suggestion: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains("stack.toml:12:"),
        "port not located: {}",
        r.stderr
    );
    assert!(r.stderr.contains("min_size"), "{}", r.stderr);
    assert!(r.stderr.contains("hint:"), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

#[test]
fn a_missing_stack_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let r = ecsctl(dir.path(), &["plan"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("stack.toml"), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

#[test]
fn bad_flags_are_refused_with_usage() {
    let dir = tempfile::tempdir().unwrap();
    let r = ecsctl(dir.path(), &["plan", "--lock-timeout", "5x"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("unknown unit"), "{}", r.stderr);
    let r = ecsctl(dir.path(), &["apply", "--parallelism", "0"]);
    assert_ne!(r.code, 0);
}

#[test]
fn a_corrupt_state_is_refused_and_left_untouched() {
    let dir = stack_dir("corrupt");
    let state = dir.path().join("stack.state.json");
    std::fs::write(&state, "{\"format_version\": 1, \"serial\": ").unwrap();
    let r = ecsctl(dir.path(), &["plan"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("stack.state.json"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        "{\"format_version\": 1, \"serial\": "
    );
}

#[test]
fn a_held_lock_names_its_holder() {
    let dir = stack_dir("locked");
    let state = dir.path().join("stack.state.json");
    let _held = ecsctl_state::Lock::acquire(&state, "apply", std::time::Duration::ZERO).unwrap();
    let r = ecsctl(dir.path(), &["plan"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("locked"), "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("pid {}", std::process::id())),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--lock-timeout"), "{}", r.stderr);
}

#[test]
fn apply_without_a_terminal_asks_for_auto_approve_and_changes_nothing() {
    let dir = stack_dir("noconfirm");
    let r = ecsctl(dir.path(), &["apply"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("--auto-approve"), "{}", r.stderr);
    assert!(!dir.path().join("stack.state.json").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn lifecycle_apply_edit_reapply_destroy() {
    let dir = stack_dir("life");
    let d = dir.path();

    let r = ecsctl(d, &["plan", "--detailed-exitcode"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("Plan: 28 to add, 0 to change, 0 to destroy."),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains('\x1b'), "colour without a terminal");

    let r = ecsctl(d, &["apply", "--auto-approve", "--no-wait"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("Apply complete! Resources: 28 added, 0 changed, 0 destroyed"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("load_balancer_dns_name = "),
        "{}",
        r.stdout
    );
    let state = d.join("stack.state.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&state).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let r = ecsctl(d, &["plan", "--detailed-exitcode"]);
    assert_eq!(
        r.code, 0,
        "a plan right after apply is not empty:\n{}",
        r.stdout
    );

    // Scale the service, deploy a new image, change the instance type.
    edit(d, "desired_count = 2", "desired_count = 3");
    edit(d, "python:3.12-slim", "python:3.13-slim");
    edit(
        d,
        "instance_type = \"t3.small\"",
        "instance_type = \"t3.medium\"",
    );
    let r = ecsctl(d, &["plan", "--detailed-exitcode"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stdout.contains("~ ecs_service.hello"), "{}", r.stdout);
    assert!(r.stdout.contains("desired_count: 2 -> 3"), "{}", r.stdout);
    assert!(
        r.stdout.contains("+/- task_definition.hello"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("~ launch_template.instances"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("~ autoscaling_group.instances"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("-/+ vpc.main"), "{}", r.stdout);

    let r = ecsctl(d, &["apply", "--auto-approve", "--no-wait"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let r = ecsctl(d, &["plan", "--detailed-exitcode"]);
    assert_eq!(
        r.code, 0,
        "plan after the second apply is not empty:\n{}",
        r.stdout
    );

    let r = ecsctl(d, &["state", "show", "launch_template.instances"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("t3.medium"), "{}", r.stdout);
    assert!(
        r.stdout.contains("\"latest_version\": \"2\""),
        "{}",
        r.stdout
    );

    let r = ecsctl(d, &["output", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        out["services"]["hello"]["private_name"],
        "hello.myorg.local."
    );
    assert!(out["vpc_id"].as_str().unwrap().starts_with("vpc-"));

    // The layer's ECS agents registered the instances: they reached ECS through the NAT.
    let ecs = aws_sdk_ecs::Client::new(&Moto::get().sdk_config().await);
    let registered = ecs
        .list_container_instances()
        .cluster("life")
        .send()
        .await
        .unwrap();
    assert!(
        !registered.container_instance_arns().is_empty(),
        "no container instance registered"
    );
    let ids: Vec<String> = {
        let raw = std::fs::read_to_string(&state).unwrap();
        let json: serde_json::Value = serde_json::from_str(&raw).unwrap();
        json["resources"]
            .as_object()
            .unwrap()
            .values()
            .filter_map(|r| r["id"].as_str().map(str::to_string))
            .filter(|id| id.starts_with("subnet-") || id.starts_with("sg-"))
            .collect()
    };
    assert!(ids.len() >= 6, "{ids:?}");

    let r = ecsctl(d, &["destroy", "--auto-approve"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("28 destroyed"), "{}", r.stdout);
    assert_eq!(leftovers("life").await, Vec::<String>::new());
    // Destroy kept the way out until the instances were gone (ECS deregisters a terminated
    // instance only while its agent is connected), and waited for the load balancer's
    // network interfaces before deleting its subnets and groups, so AWS refused nothing.
    let stranded: Vec<String> = AwsLike::get()
        .stranded()
        .into_iter()
        .filter(|a| a.contains("/life/"))
        .collect();
    assert!(
        stranded.is_empty(),
        "instances left registered: {stranded:?}"
    );
    for id in &ids {
        let refused = AwsLike::get().refusals_mentioning(id);
        assert!(refused.is_empty(), "AWS would have refused: {refused:?}");
    }
    let r = ecsctl(d, &["state", "list"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.trim().is_empty(), "{}", r.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_applies_exactly_and_a_stale_one_is_refused() {
    let dir = stack_dir("saved");
    let d = dir.path();
    let r = ecsctl(d, &["plan", "--out", "first.plan"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = ecsctl(d, &["apply", "first.plan", "--no-wait"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    // The same plan again: the state moved on since it was made.
    let r = ecsctl(d, &["apply", "first.plan", "--no-wait"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("plan again"), "{}", r.stderr);

    edit(d, "desired_count = 2", "desired_count = 1");
    let r = ecsctl(d, &["plan", "--out", "second.plan"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    edit(d, "desired_count = 1", "desired_count = 4");
    let r = ecsctl(d, &["apply", "second.plan", "--no-wait"]);
    assert_eq!(r.code, 1, "a plan for another stack file was applied");
    assert!(r.stderr.contains("stack file"), "{}", r.stderr);

    let r = ecsctl(d, &["destroy", "--auto-approve"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(leftovers("saved").await, Vec::<String>::new());
}

/// A temp dir holding `stack.toml`: `src` with its stack renamed to `name` (the first
/// `name = ` line is the [stack] table's).
fn stack_dir_from(src: &str, name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut done = false;
    let text: Vec<String> = src
        .lines()
        .map(|l| {
            if !done && l.trim_start().starts_with("name") && l.contains('=') {
                done = true;
                format!("name = \"{name}\"")
            } else {
                l.to_string()
            }
        })
        .collect();
    std::fs::write(dir.path().join("stack.toml"), text.join("\n") + "\n").unwrap();
    dir
}

/// Every shipped example applies, plans empty and destroys with the AWS behaviour layer on
/// (names and characters AWS refuses, an arm64 instance type on an x86_64 image, a key
/// pair a fresh account does not have, the ordering AWS enforces).
#[tokio::test(flavor = "multi_thread")]
async fn every_example_applies_plans_empty_and_destroys() {
    let mut examples: Vec<PathBuf> = std::fs::read_dir(repo().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    examples.sort();
    assert!(examples.len() >= 3, "{examples:?}");
    for (i, path) in examples.iter().enumerate() {
        let stack = format!("ex{i}");
        let mut src = std::fs::read_to_string(path).unwrap();
        if let Some(arn) = src
            .lines()
            .find_map(|l| l.trim().strip_prefix("certificate_arn = "))
            .map(|v| v.trim_matches('"').to_string())
        {
            // The example says to put one's own certificate there: the emulator's ACM
            // issues one, as a user would.
            src = src.replace(&arn, &moto_certificate("app.example.com"));
        }
        let dir = stack_dir_from(&src, &stack);
        let d = dir.path();
        let what = path.file_name().unwrap().to_string_lossy().to_string();
        let r = ecsctl(d, &["apply", "--auto-approve", "--no-wait"]);
        assert_eq!(r.code, 0, "{what}: apply\n{}\n{}", r.stdout, r.stderr);
        let r = ecsctl(d, &["plan", "--detailed-exitcode"]);
        assert_eq!(
            r.code, 0,
            "{what}: plan after apply\n{}\n{}",
            r.stdout, r.stderr
        );
        let r = ecsctl(d, &["destroy", "--auto-approve"]);
        assert_eq!(r.code, 0, "{what}: destroy\n{}\n{}", r.stdout, r.stderr);
        assert_eq!(leftovers(&stack).await, Vec::<String>::new(), "{what}");
    }
}

/// The https example runs Graviton instances: the image must be the arm64 one, or Auto
/// Scaling refuses the launch template.
#[test]
fn an_arm64_instance_type_gets_the_arm64_image() {
    let src = std::fs::read_to_string(repo().join("examples/https.toml")).unwrap();
    assert!(src.contains("m7g."), "the example no longer uses Graviton");
    let dir = stack_dir_from(&src, "graviton");
    let r = ecsctl(dir.path(), &["plan", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let plan: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let text = plan.to_string();
    let image = text
        .split("\"image_id\"")
        .nth(1)
        .and_then(|s| s.split('"').nth(1))
        .expect("an image_id in the plan")
        .to_string();
    let conf = futures_block(Moto::get().sdk_config());
    let arch = futures_block(async {
        aws_sdk_ec2::Client::new(&conf)
            .describe_images()
            .image_ids(&image)
            .send()
            .await
            .unwrap()
            .images()[0]
            .architecture()
            .map(|a| a.as_str().to_string())
    });
    assert_eq!(arch.as_deref(), Some("arm64"), "{image}");
}

/// A certificate issued by the emulator's ACM (through boto3, which moto brings along).
fn moto_certificate(domain: &str) -> String {
    let script = format!(
        "import boto3; print(boto3.client('acm', endpoint_url='{}', region_name='eu-west-2', \
         aws_access_key_id='testing', aws_secret_access_key='testing')\
         .request_certificate(DomainName='{domain}')['CertificateArn'])",
        Moto::get().url()
    );
    let out = Command::new(std::env::var("ECSCTL_PYTHON").unwrap_or_else(|_| "python3".into()))
        .args(["-c", &script])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn futures_block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// A key pair the account does not have is refused at plan time, by name, with what to do.
#[test]
fn a_missing_key_pair_is_refused_at_plan() {
    let dir = stack_dir("nokey");
    edit(
        dir.path(),
        "# key_name  = \"eHa\"",
        "key_name  = \"no-such-key\"",
    );
    let r = ecsctl(dir.path(), &["plan"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("key pair `no-such-key` does not exist"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("create-key-pair"), "{}", r.stderr);
}

/// Zones named in `azs` must offer the instance type (moto's offerings follow AWS's:
/// c6id.large is not offered in eu-west-2b), or the group's launches fail after apply began.
#[test]
fn a_named_zone_without_the_instance_type_is_refused_at_plan() {
    let dir = stack_dir("nozone");
    edit(
        dir.path(),
        "azs = 2",
        "azs = [\"eu-west-2a\", \"eu-west-2b\"]",
    );
    edit(
        dir.path(),
        "instance_type = \"t3.small\"",
        "instance_type = \"c6id.large\"",
    );
    let r = ecsctl(dir.path(), &["plan"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("instance type `c6id.large` is not offered in eu-west-2b"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("eu-west-2a, eu-west-2c"), "{}", r.stderr);
    // (The example's comment names the same zones: edit the key's line.)
    edit(dir.path(), "\"eu-west-2b\"]\n", "\"eu-west-2c\"]\n");
    let r = ecsctl(dir.path(), &["plan"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
}

/// As many stack tags as validate accepts apply on AWS: task definitions carry one more
/// tag than the rest (50 at most per ECS resource), and Route53 takes 10 tags a call.
#[test]
fn the_most_tags_validate_accepts_apply() {
    let dir = stack_dir("tagged");
    let d = dir.path();
    let mut most = 0;
    for n in (40..=50).rev() {
        let tags: String = (0..n).map(|i| format!("t{i:02} = \"v{i}\"\n")).collect();
        let src = std::fs::read_to_string(repo().join("stack.toml.example"))
            .unwrap()
            .replacen("name = \"hello\"", "name = \"tagged\"", 1);
        let src = src.replacen("[stack.tags]\n", &format!("[stack.tags]\n{tags}"), 1);
        // No instances: moto counts the `aws:autoscaling:groupName` tag it puts on an
        // instance against the 50, AWS does not (API reference, Tag: the `aws:` prefix
        // does not count).
        let src = src
            .replacen("min_size         = 1", "min_size         = 0", 1)
            .replacen("desired_capacity = 1", "desired_capacity = 0", 1);
        assert!(
            src.contains("t00 = "),
            "the example has no [stack.tags] table"
        );
        std::fs::write(d.join("stack.toml"), src).unwrap();
        if ecsctl(d, &["validate"]).code == 0 {
            most = n;
            break;
        }
    }
    assert!(most >= 40, "validate refuses even 40 tags");
    let r = ecsctl(d, &["apply", "--auto-approve", "--no-wait"]);
    assert_eq!(r.code, 0, "{most} tags:\n{}\n{}", r.stdout, r.stderr);
    let r = ecsctl(d, &["destroy", "--auto-approve"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
}

/// `ecsctl ARGS` in `dir` with exactly `env` for AWS (no credentials unless given, no
/// profile files, no instance metadata).
fn ecsctl_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ecsctl"));
    cmd.current_dir(dir).args(args).stdin(Stdio::null());
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "eu-west-2")
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    Run::from(cmd.output().expect("run ecsctl"))
}

#[test]
fn no_credentials_is_one_clear_error() {
    let dir = stack_dir("nocreds");
    let url = AwsLike::get().url();
    let r = ecsctl_env(dir.path(), &["plan"], &[("AWS_ENDPOINT_URL", &url)]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("no AWS credentials"), "{}", r.stderr);
    assert!(r.stderr.contains("AWS_PROFILE"), "{}", r.stderr);
    assert!(r.stderr.contains("aws sso login"), "{}", r.stderr);
    assert!(!r.stderr.contains("WARN"), "SDK noise:\n{}", r.stderr);
    assert!(!r.stderr.contains("find-orphans"), "{}", r.stderr);
}

#[test]
fn an_endpoint_that_does_not_answer_is_named() {
    let dir = stack_dir("noanswer");
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let r = ecsctl_env(
        dir.path(),
        &["plan"],
        &[
            ("AWS_ENDPOINT_URL", &url),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
        ],
    );
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(&format!("cannot reach AWS at {url}")),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("WARN"), "SDK noise:\n{}", r.stderr);
}

/// A state applied in one account is not planned (or applied, or destroyed) with
/// credentials of another: the error names both.
#[test]
fn a_state_from_another_account_is_refused() {
    let dir = stack_dir("elsewhere");
    let path = dir.path().join("stack.state.json");
    let mut state = ecsctl_state::State::new("elsewhere");
    state
        .data
        .insert("account_id".into(), serde_json::json!("999999999999"));
    state
        .data
        .insert("region".into(), serde_json::json!("eu-west-2"));
    state.resources.insert(
        "vpc.main".parse().unwrap(),
        serde_json::from_value(serde_json::json!({"id": "vpc-0123", "args": {}, "outputs": {}}))
            .unwrap(),
    );
    ecsctl_state::write(&path, &mut state).unwrap();
    for args in [&["plan"][..], &["destroy", "--auto-approve"][..]] {
        let r = ecsctl(dir.path(), args);
        assert_eq!(r.code, 1, "{args:?}\n{}\n{}", r.stdout, r.stderr);
        assert!(r.stderr.contains("account 999999999999"), "{}", r.stderr);
        assert!(r.stderr.contains("account 123456789012"), "{}", r.stderr);
    }
    // Nothing was written.
    let after = ecsctl_state::read(&path).unwrap().unwrap();
    assert_eq!(after.serial, state.serial);
}

/// Apply waits until the group's minimum of instances has joined the cluster. Instances in
/// private subnets with no NAT never reach ECS (the layer's agents register only with a
/// way out): the apply fails at the deadline saying so, instead of reporting success with
/// nothing able to run a task.
#[tokio::test(flavor = "multi_thread")]
async fn apply_waits_for_the_instances_to_join_the_cluster() {
    // No tasks: moto runs no containers, and this is about the instances.
    let joined = stack_dir("joins");
    edit(joined.path(), "desired_count = 2", "desired_count = 0");
    let r = ecsctl(joined.path(), &["apply", "--auto-approve"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let registered = aws_sdk_ecs::Client::new(&Moto::get().sdk_config().await)
        .list_container_instances()
        .cluster("joins")
        .send()
        .await
        .unwrap();
    assert_eq!(registered.container_instance_arns().len(), 1);
    let r = ecsctl(joined.path(), &["destroy", "--auto-approve"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);

    let cut = stack_dir("noway");
    edit(cut.path(), "desired_count = 2", "desired_count = 0");
    edit(cut.path(), "nat = \"single\"", "nat = \"none\"");
    let r = ecsctl(
        cut.path(),
        &["apply", "--auto-approve", "--wait-timeout", "20s"],
    );
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(
        all.contains("to join ECS cluster noway (0/1 registered"),
        "{all}"
    );
    let r = ecsctl(cut.path(), &["destroy", "--auto-approve"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(leftovers("noway").await, Vec::<String>::new());
}

/// IAM and Route53 are global to the account: one stack name applied in two regions must
/// not share, adopt or report as orphans the other region's roles or private zone (both
/// named alike), and destroying one leaves the other's.
#[tokio::test(flavor = "multi_thread")]
async fn one_stack_name_in_two_regions_keeps_its_own_roles() {
    let london = stack_dir("twin");
    let virginia = stack_dir("twin");
    edit(
        virginia.path(),
        "region = \"eu-west-2\"",
        "region = \"us-east-1\"",
    );
    for d in [london.path(), virginia.path()] {
        let r = ecsctl(d, &["apply", "--auto-approve", "--no-wait"]);
        assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    }
    let iam = aws_sdk_iam::Client::new(&Moto::get().sdk_config().await);
    let roles = |list: aws_sdk_iam::operation::list_roles::ListRolesOutput| -> Vec<String> {
        let mut names: Vec<String> = list
            .roles()
            .iter()
            .map(|r| r.role_name().to_string())
            .filter(|n| n.starts_with("twin-"))
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        roles(iam.list_roles().send().await.unwrap()),
        vec![
            "twin-eu-west-2-instance",
            "twin-eu-west-2-task-execution",
            "twin-us-east-1-instance",
            "twin-us-east-1-task-execution",
        ]
    );
    // Each region's plan is empty: no orphans, nothing to adopt.
    for d in [london.path(), virginia.path()] {
        let r = ecsctl(d, &["plan", "--detailed-exitcode"]);
        assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
        let r = ecsctl(d, &["plan", "--json"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let plan: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(plan["orphans"], serde_json::json!([]), "{}", r.stdout);
    }
    let r = ecsctl(virginia.path(), &["destroy", "--auto-approve"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        roles(iam.list_roles().send().await.unwrap()),
        vec!["twin-eu-west-2-instance", "twin-eu-west-2-task-execution"]
    );
    let r = ecsctl(london.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let r = ecsctl(london.path(), &["destroy", "--auto-approve"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(leftovers("twin").await, Vec::<String>::new());
}

/// A stack tag added later changes every resource's tags in place: no task definition
/// revision is registered and no service redeployed for it (ECS TagResource takes a task
/// definition ARN).
#[tokio::test(flavor = "multi_thread")]
async fn a_new_stack_tag_changes_tags_in_place() {
    let dir = stack_dir("retag");
    let d = dir.path();
    let r = ecsctl(d, &["apply", "--auto-approve", "--no-wait"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    edit(
        d,
        "Environment = \"dev\"",
        "Environment = \"dev\"\nTeam = \"platform\"",
    );
    let r = ecsctl(d, &["plan", "--detailed-exitcode"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stdout.contains(" 0 to add,"), "{}", r.stdout);
    assert!(r.stdout.contains(" 0 to destroy."), "{}", r.stdout);
    assert!(r.stdout.contains("~ task_definition.hello"), "{}", r.stdout);
    let r = ecsctl(d, &["apply", "--auto-approve", "--no-wait"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(" 0 added,") && r.stdout.contains(" 0 destroyed"),
        "{}",
        r.stdout
    );
    let r = ecsctl(d, &["plan", "--detailed-exitcode"]);
    assert_eq!(r.code, 0, "{}", r.stdout);

    let ecs = aws_sdk_ecs::Client::new(&Moto::get().sdk_config().await);
    let revisions = ecs
        .list_task_definitions()
        .family_prefix("retag-hello")
        .send()
        .await
        .unwrap();
    assert_eq!(
        revisions.task_definition_arns().len(),
        1,
        "a revision was registered"
    );
    let arn = &revisions.task_definition_arns()[0];
    let tags = ecs
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .unwrap();
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == Some("Team") && t.value() == Some("platform")),
        "{:?}",
        tags.tags()
    );
    let r = ecsctl(d, &["destroy", "--auto-approve"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
}

/// A new container port replaces the service's target group (AWS cannot change a group's
/// port). The new group has a new name, so it is created first, the listener and the
/// service move to it, then the old one is deleted: one run, no deadlock against the
/// listener (which AWS would answer with ResourceInUse until the deadline).
#[tokio::test(flavor = "multi_thread")]
async fn a_new_container_port_applies_in_one_run() {
    let dir = stack_dir("newport");
    let d = dir.path();
    let r = ecsctl(d, &["apply", "--auto-approve", "--no-wait"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let state = |d: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(d.join("stack.state.json")).unwrap()).unwrap()
    };
    let old_tg = state(d)["resources"]["lb_target_group.hello"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    edit(d, "\"http.server\", \"5000\"", "\"http.server\", \"5001\"");
    edit(d, "container_port = 5000", "container_port = 5001");
    let r = ecsctl(d, &["plan"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("+/- lb_target_group.hello"),
        "{}",
        r.stdout
    );
    let r = ecsctl(
        d,
        &[
            "apply",
            "--auto-approve",
            "--no-wait",
            "--wait-timeout",
            "60s",
        ],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let r = ecsctl(d, &["plan", "--detailed-exitcode"]);
    assert_eq!(r.code, 0, "{}", r.stdout);

    let st = state(d);
    let new_tg = st["resources"]["lb_target_group.hello"]["id"]
        .as_str()
        .unwrap();
    assert_ne!(new_tg, old_tg);
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&Moto::get().sdk_config().await);
    let listener = st["resources"]["lb_listener.http"]["id"].as_str().unwrap();
    let listeners = elb
        .describe_listeners()
        .listener_arns(listener)
        .send()
        .await
        .unwrap();
    let forwards_to = listeners.listeners()[0].default_actions()[0].target_group_arn();
    assert_eq!(forwards_to, Some(new_tg));
    let old = elb
        .describe_target_groups()
        .target_group_arns(&old_tg)
        .send()
        .await;
    assert!(
        old.is_err() || old.unwrap().target_groups().is_empty(),
        "the old group is left"
    );
    let r = ecsctl(d, &["destroy", "--auto-approve"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
}

/// Renaming a path-routed service applies in one run: its new listener rule takes the
/// priority the old rule held (AWS refuses two rules with one priority: PriorityInUse), so
/// it is created right after the old rule is deleted.
#[tokio::test(flavor = "multi_thread")]
async fn renaming_a_routed_service_applies_in_one_run() {
    let src = std::fs::read_to_string(repo().join("examples/multi-service.toml")).unwrap();
    let dir = stack_dir_from(&src, "rename");
    let d = dir.path();
    let r = ecsctl(d, &["apply", "--auto-approve", "--no-wait"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let st: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("stack.state.json")).unwrap())
            .unwrap();
    // The example runs in its own region.
    let region = st["data"]["region"].as_str().unwrap().to_string();
    let conf = Moto::get()
        .sdk_config()
        .await
        .to_builder()
        .region(aws_types::region::Region::new(region))
        .build();
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&conf);
    let listener = st["resources"]["lb_listener.http"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    edit(
        d,
        "name              = \"api\"",
        "name              = \"backend\"",
    );
    // While the rename applies, watch the listener: some rule must route /api/* at every
    // look (the old rule until its successor is in place, then the successor).
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (elb, listener, stop) = (elb.clone(), listener.clone(), stop.clone());
        tokio::spawn(async move {
            let (mut looks, mut unrouted) = (0, 0);
            while !stop.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(5)).await;
                let Ok(out) = elb.describe_rules().listener_arn(&listener).send().await else {
                    continue;
                };
                looks += 1;
                let routed = out.rules().iter().any(|r| {
                    r.conditions().iter().any(|c| {
                        c.values()
                            .iter()
                            .chain(
                                c.path_pattern_config()
                                    .map(|p| p.values())
                                    .unwrap_or_default(),
                            )
                            .any(|v| v == "/api/*")
                    })
                });
                if !routed {
                    unrouted += 1;
                }
            }
            (looks, unrouted)
        })
    };
    let dir_path = d.to_path_buf();
    let r = tokio::task::spawn_blocking(move || {
        ecsctl(
            &dir_path,
            &[
                "apply",
                "--auto-approve",
                "--no-wait",
                "--wait-timeout",
                "60s",
            ],
        )
    })
    .await
    .unwrap();
    stop.store(true, Ordering::SeqCst);
    let (looks, unrouted) = watcher.await.unwrap();
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(looks > 0);
    assert_eq!(
        unrouted, 0,
        "/api/* had no rule at {unrouted} of {looks} looks\n{}",
        r.stdout
    );
    // The order a user reads in the output: the new rule is parked behind the old one, the
    // new service runs before the old rule goes, the old service stops after it.
    let at = |address: &str, what: &str| {
        r.stdout
            .lines()
            .position(|l| l.contains(&format!("{address}:")) && l.contains(what))
            .unwrap_or_else(|| panic!("no `{address}` line with `{what}`:\n{}", r.stdout))
    };
    at("lb_listener_rule.backend", "behind it until then");
    assert!(
        at("ecs_service.backend", "created in") < at("lb_listener_rule.api", "destroying..."),
        "{}",
        r.stdout
    );
    assert!(
        at("lb_listener_rule.api", "destroyed in") < at("ecs_service.api", "destroying..."),
        "{}",
        r.stdout
    );
    let r = ecsctl(d, &["plan", "--detailed-exitcode"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let st: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("stack.state.json")).unwrap())
            .unwrap();
    let rule = st["resources"]["lb_listener_rule.backend"]["id"]
        .as_str()
        .unwrap();
    let tg = st["resources"]["lb_target_group.backend"]["id"]
        .as_str()
        .unwrap();
    let rules = elb
        .describe_rules()
        .listener_arn(&listener)
        .send()
        .await
        .unwrap();
    let found = rules
        .rules()
        .iter()
        .find(|r| r.rule_arn() == Some(rule))
        .expect("the backend rule on the listener");
    assert_eq!(found.actions()[0].target_group_arn(), Some(tg));
    assert_eq!(found.priority(), Some("10"));
    let r = ecsctl(d, &["destroy", "--auto-approve"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
}

/// Services reordered in the file: their listener rules swap priorities (AWS allows one
/// rule per priority, so each waits parked behind the other until it moves), in one run,
/// and the next plan is empty.
#[tokio::test(flavor = "multi_thread")]
async fn reordered_services_swap_their_rule_priorities_in_one_run() {
    let src = std::fs::read_to_string(repo().join("examples/multi-service.toml")).unwrap();
    let dir = stack_dir_from(&src, "reorder");
    let d = dir.path();
    let r = ecsctl(d, &["apply", "--auto-approve", "--no-wait"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    // Move the api service (priority 10) after the admin one (20).
    let p = d.join("stack.toml");
    let text = std::fs::read_to_string(&p).unwrap();
    let api = text
        .find("[[service]]\nname              = \"api\"")
        .expect("the api block");
    let admin = text
        .find("[[service]]\nname                 = \"admin\"")
        .expect("the admin block");
    let reordered = format!("{}{}\n{}", &text[..api], &text[admin..], &text[api..admin]);
    std::fs::write(&p, reordered).unwrap();
    let r = ecsctl(d, &["apply", "--auto-approve", "--no-wait"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let r = ecsctl(d, &["plan", "--detailed-exitcode"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let st: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("stack.state.json")).unwrap())
            .unwrap();
    let region = st["data"]["region"].as_str().unwrap().to_string();
    let conf = Moto::get()
        .sdk_config()
        .await
        .to_builder()
        .region(aws_types::region::Region::new(region))
        .build();
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&conf);
    let priority = |name: &str| {
        let arn = st["resources"][format!("lb_listener_rule.{name}")]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let elb = elb.clone();
        async move {
            let out = elb.describe_rules().rule_arns(arn).send().await.unwrap();
            out.rules()[0].priority().unwrap().to_string()
        }
    };
    assert_eq!(priority("admin").await, "10");
    assert_eq!(priority("api").await, "20");
    let r = ecsctl(d, &["destroy", "--auto-approve"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
}

/// A new network CIDR replaces the VPC and everything in it, the load balancer included
/// (it cannot move to another VPC, and its replacement needs its name): that cannot be done
/// in one run, so plan and apply refuse it, saying why and what to do, and nothing changes.
#[tokio::test(flavor = "multi_thread")]
async fn a_new_network_cidr_is_refused_before_anything_changes() {
    let dir = stack_dir("newcidr");
    let d = dir.path();
    let r = ecsctl(d, &["apply", "--auto-approve", "--no-wait"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let before = std::fs::read_to_string(d.join("stack.state.json")).unwrap();
    edit(d, "cidr = \"10.0.0.0/16\"", "cidr = \"10.1.0.0/16\"");
    for args in [&["plan"][..], &["apply", "--auto-approve", "--no-wait"][..]] {
        let r = ecsctl(d, args);
        assert_eq!(r.code, 1, "{args:?}\n{}\n{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains("cannot be applied in one run")
                && r.stderr.contains("lb.main")
                && r.stderr.contains("ecsctl destroy"),
            "{}",
            r.stderr
        );
    }
    let after = std::fs::read_to_string(d.join("stack.state.json")).unwrap();
    assert_eq!(before, after, "the refused apply changed the state");
    edit(d, "cidr = \"10.1.0.0/16\"", "cidr = \"10.0.0.0/16\"");
    let r = ecsctl(d, &["plan", "--detailed-exitcode"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let r = ecsctl(d, &["destroy", "--auto-approve"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
}
