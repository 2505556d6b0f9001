//! Rendered plans of real stacks, parsed and expanded by the real parser and expansion:
//! every example stack against an empty state, and a sequence of edits, each planned
//! against the state made by "applying" the previous plan in memory with fake ids.
//! After every apply, planning the same stack again must show no changes.

use ecsctl_graph::{expand, Data, Kind, Value};
use ecsctl_plan::{plan, plan_destroy, render, Action, Plan};
use ecsctl_stack::parse;
use ecsctl_state::{Attrs, ResourceState, State};
use serde_json::Value as Json;
use std::path::{Path, PathBuf};

/// The stack of STACK.md with one service; the edits below start from it.
const HELLO: &str = r#"
[stack]
name   = "hello"
region = "eu-west-2"
[stack.tags]
Environment = "dev"

[network]
cidr            = "10.0.0.0/16"
azs             = ["eu-west-2a", "eu-west-2b"]
public_subnets  = ["10.0.0.0/24", "10.0.1.0/24"]
private_subnets = ["10.0.50.0/24", "10.0.51.0/24"]
nat             = "single"

[dns]
zone = "myorg.local."

[cluster]
instance_type    = "t3.small"
min_size         = 2
max_size         = 4
desired_capacity = 2
[cluster.scaling]
cpu_target = 60

[load_balancer]
listen_port   = 80
allowed_cidrs = ["0.0.0.0/0"]

[[service]]
name           = "hello"
image          = "public.ecr.aws/docker/library/python:3.12-slim"
command        = ["python", "-m", "http.server", "5000"]
container_port = 5000
cpu            = 256
memory         = 512
desired_count  = 4
health_check_path = "/"
[service.environment]
GREETING = "hello"
"#;

const API_SERVICE: &str = r#"
[[service]]
name           = "api"
image          = "public.ecr.aws/docker/library/python:3.12-slim"
command        = ["python", "-m", "http.server", "8080"]
container_port = 8080
desired_count  = 2
path           = "/api/*"
"#;

fn data() -> Data {
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

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Parse and expand; returns the plan against `state` and the stack's hash.
fn plan_for(src: &str, file: &str, state: &State) -> Plan {
    let stack = match parse(src, file) {
        Ok(s) => s,
        Err(d) => panic!("{file} does not parse: {:#?}", d.0),
    };
    let graph = expand(&stack, &data());
    plan(&graph, state, &stack.source_hash)
        .unwrap_or_else(|e| panic!("{file}: {e}"))
        .with_data(&data())
}

/// A fake cloud: hands out ids like `vpc-0001` and the outputs each kind returns, and turns
/// a plan into the state a real apply would leave.
#[derive(Default)]
struct FakeCloud {
    next: u32,
}

impl FakeCloud {
    fn apply(&mut self, plan: &Plan, prev: &State) -> State {
        let mut state = prev.clone();
        state.serial += 1;
        state.data = plan.data.clone();
        for c in &plan.changes {
            match c.action {
                Action::Delete => {
                    state.resources.remove(&c.address);
                }
                Action::Create | Action::Replace | Action::Update => {
                    let mut args = Attrs::new();
                    for (name, v) in c.after.as_ref().expect("after of a non-delete") {
                        args.insert(name.clone(), resolve(v, &state, &c.address, name));
                    }
                    let (id, outputs) = match (c.action, state.resources.get(&c.address)) {
                        (Action::Update, Some(old)) => (
                            old.id.clone(),
                            updated_outputs(c.address.kind, &old.outputs),
                        ),
                        _ => self.create(c.address.kind, &args),
                    };
                    state.pending.remove(&c.address);
                    state.resources.insert(
                        c.address.clone(),
                        ResourceState {
                            id,
                            args,
                            outputs,
                            deps: c.deps.clone(),
                        },
                    );
                }
            }
        }
        state
    }

    fn create(&mut self, kind: Kind, args: &Attrs) -> (String, Attrs) {
        self.next += 1;
        let n = self.next;
        let prefix = match kind {
            Kind::Vpc => "vpc",
            Kind::InternetGateway => "igw",
            Kind::Subnet => "subnet",
            Kind::RouteTable => "rtb",
            Kind::Eip => "eipalloc",
            Kind::NatGateway => "nat",
            Kind::HostedZone => "Z",
            Kind::SecurityGroup => "sg",
            Kind::LaunchTemplate => "lt",
            _ => kind.as_str(),
        };
        let id = format!("{prefix}-{n:04}");
        let mut outputs = Attrs::new();
        for out in kind.schema().outputs {
            let v = match *out {
                "id" => continue,
                "arn" => Json::from(format!(
                    "arn:aws:{}:eu-west-2:123456789012:{}/{id}",
                    kind.schema().api,
                    kind
                )),
                "latest_version" | "revision" => Json::from(1),
                "dns_name" => {
                    let name = args.get("name").and_then(Json::as_str).unwrap_or("lb");
                    Json::from(format!("{name}-{n}.eu-west-2.elb.amazonaws.com"))
                }
                "zone_id" => Json::from("ZHURV8PSTC4K8"),
                "public_ip" => Json::from(format!("203.0.113.{n}")),
                "association_ids" => Json::from(vec![format!("rtbassoc-{n:04}")]),
                "name_servers" => Json::Array(vec![]),
                other => Json::from(format!("{other}-{n:04}")),
            };
            outputs.insert(out.to_string(), v);
        }
        (id, outputs)
    }
}

/// An update of a launch template makes a new version.
fn updated_outputs(kind: Kind, old: &Attrs) -> Attrs {
    let mut outputs = old.clone();
    if kind == Kind::LaunchTemplate {
        let v = old
            .get("latest_version")
            .and_then(Json::as_i64)
            .unwrap_or(1);
        outputs.insert("latest_version".into(), Json::from(v + 1));
    }
    outputs
}

fn resolve(v: &Value, state: &State, at: &ecsctl_graph::Address, arg: &str) -> Json {
    let resolved = v.substitute(&|r| state.lookup(r));
    resolved
        .to_json()
        .unwrap_or_else(|| panic!("{at}.{arg}: a value stays unknown at apply time: {v:?}"))
}

/// Apply `p`, then check that planning `src` again shows nothing to do.
fn apply_and_check(cloud: &mut FakeCloud, p: &Plan, state: &State, src: &str) -> State {
    let next = cloud.apply(p, state);
    let again = plan_for(src, "stack.toml", &next);
    assert!(
        again.is_empty(),
        "a plan right after apply shows changes:\n{}",
        render::human(&again, false)
    );
    next
}

fn example_files() -> Vec<PathBuf> {
    let root = repo_root();
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("examples"))
        .map(|dir| {
            dir.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let example = root.join("stack.toml.example");
    if example.exists() {
        files.push(example);
    }
    files
}

#[test]
fn every_example_stack_against_an_empty_state() {
    for path in example_files() {
        let src = std::fs::read_to_string(&path).unwrap();
        let name = path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace('.', "_");
        let p = plan_for(&src, &path.display().to_string(), &State::new("x"));
        let (add, change, destroy) = p.counts();
        assert!(
            add > 0 && change == 0 && destroy == 0,
            "{name}: {add} {change} {destroy}"
        );
        insta::assert_snapshot!(format!("empty__{name}"), render::human(&p, false));
        // Applying it leaves nothing to do.
        let mut cloud = FakeCloud::default();
        apply_and_check(&mut cloud, &p, &State::new("x"), &src);
    }
}

#[test]
fn hello_against_an_empty_state() {
    let p = plan_for(HELLO, "stack.toml", &State::new("hello"));
    insta::assert_snapshot!("hello_create", render::human(&p, false));
    let (add, change, destroy) = p.counts();
    assert_eq!((change, destroy), (0, 0));
    assert_eq!(add, p.changes.len());
}

/// Apply HELLO and return the cloud and the state.
fn applied_hello() -> (FakeCloud, State) {
    let mut cloud = FakeCloud::default();
    let empty = State::new("hello");
    let p = plan_for(HELLO, "stack.toml", &empty);
    let state = apply_and_check(&mut cloud, &p, &empty, HELLO);
    (cloud, state)
}

fn addresses(p: &Plan, action: Action) -> Vec<String> {
    let mut v: Vec<String> = p
        .changes
        .iter()
        .filter(|c| c.action == action)
        .map(|c| c.address.to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn adding_a_service_creates_its_resources_and_widens_the_execution_role() {
    let (mut cloud, state) = applied_hello();
    let src = format!("{HELLO}{API_SERVICE}");
    let p = plan_for(&src, "stack.toml", &state);
    insta::assert_snapshot!("edit_add_service", render::human(&p, false));
    let created = addresses(&p, Action::Create);
    assert!(created.iter().all(|a| a.ends_with(".api")), "{created:?}");
    assert!(created.contains(&"ecs_service.api".to_string()));
    assert!(created.contains(&"lb_listener_rule.api".to_string()));
    assert!(created.contains(&"dns_record.api".to_string()));
    assert!(addresses(&p, Action::Update).contains(&"iam_role.task_execution".to_string()));
    assert!(addresses(&p, Action::Delete).is_empty());
    assert!(addresses(&p, Action::Replace).is_empty());
    apply_and_check(&mut cloud, &p, &state, &src);
}

#[test]
fn removing_a_service_deletes_its_resources() {
    let (mut cloud, state) = applied_hello();
    let two = format!("{HELLO}{API_SERVICE}");
    let p = plan_for(&two, "stack.toml", &state);
    let state = apply_and_check(&mut cloud, &p, &state, &two);

    let p = plan_for(HELLO, "stack.toml", &state);
    insta::assert_snapshot!("edit_remove_service", render::human(&p, false));
    let deleted = addresses(&p, Action::Delete);
    assert!(deleted.iter().all(|a| a.ends_with(".api")), "{deleted:?}");
    assert!(deleted.contains(&"ecs_service.api".to_string()));
    assert!(addresses(&p, Action::Create).is_empty());
    // The service goes before its target group and task definition.
    let pos = |a: &str| p.changes.iter().position(|c| c.address.to_string() == a);
    assert!(pos("ecs_service.api") < pos("lb_target_group.api"));
    assert!(pos("ecs_service.api") < pos("task_definition.api"));
    apply_and_check(&mut cloud, &p, &state, HELLO);
}

#[test]
fn changing_the_instance_type_updates_the_template_and_the_group() {
    let (mut cloud, state) = applied_hello();
    let src = HELLO.replace(
        "instance_type    = \"t3.small\"",
        "instance_type    = \"t3.medium\"",
    );
    let p = plan_for(&src, "stack.toml", &state);
    insta::assert_snapshot!("edit_instance_type", render::human(&p, false));
    assert_eq!(
        addresses(&p, Action::Update),
        ["autoscaling_group.instances", "launch_template.instances"]
    );
    assert_eq!(p.counts(), (0, 2, 0));
    let state = apply_and_check(&mut cloud, &p, &state, &src);
    assert_eq!(
        state.resources[&"launch_template.instances".parse().unwrap()].outputs["latest_version"],
        2
    );
}

#[test]
fn moving_a_subnet_to_another_az_replaces_it() {
    let (mut cloud, state) = applied_hello();
    let src = HELLO.replace(
        "azs             = [\"eu-west-2a\", \"eu-west-2b\"]",
        "azs             = [\"eu-west-2a\", \"eu-west-2c\"]",
    );
    let p = plan_for(&src, "stack.toml", &state);
    insta::assert_snapshot!("edit_subnet_az", render::human(&p, false));
    let replaced = addresses(&p, Action::Replace);
    assert_eq!(replaced, ["subnet.private[1]", "subnet.public[1]"]);
    for c in p.changes.iter().filter(|c| c.action == Action::Replace) {
        assert_eq!(c.replace_reasons, ["availability_zone"]);
    }
    apply_and_check(&mut cloud, &p, &state, &src);
}

#[test]
fn changing_a_subnet_cidr_replaces_it() {
    let (mut cloud, state) = applied_hello();
    let src = HELLO.replace("\"10.0.51.0/24\"]", "\"10.0.52.0/24\"]");
    let p = plan_for(&src, "stack.toml", &state);
    insta::assert_snapshot!("edit_subnet_cidr", render::human(&p, false));
    assert_eq!(addresses(&p, Action::Replace), ["subnet.private[1]"]);
    assert_eq!(p.changes[0].replace_reasons, ["cidr_block"]);
    apply_and_check(&mut cloud, &p, &state, &src);
}

#[test]
fn changing_desired_count_updates_the_service_in_place() {
    let (mut cloud, state) = applied_hello();
    let src = HELLO.replace("desired_count  = 4", "desired_count  = 2");
    let p = plan_for(&src, "stack.toml", &state);
    insta::assert_snapshot!("edit_desired_count", render::human(&p, false));
    assert_eq!(addresses(&p, Action::Update), ["ecs_service.hello"]);
    assert_eq!(p.counts(), (0, 1, 0));
    apply_and_check(&mut cloud, &p, &state, &src);
}

#[test]
fn destroying_deletes_everything_dependents_first() {
    let (_, state) = applied_hello();
    let p = plan_destroy(&state, "");
    insta::assert_snapshot!("destroy", render::human(&p, false));
    assert_eq!(p.counts(), (0, 0, state.resources.len()));
    let pos = |a: &str| p.changes.iter().position(|c| c.address.to_string() == a);
    assert!(pos("nat_gateway.main[0]") < pos("internet_gateway.main"));
    assert!(pos("ecs_service.hello") < pos("lb_target_group.hello"));
    assert!(pos("subnet.private[0]") < pos("vpc.main"));
}

#[test]
fn a_saved_plan_of_a_real_stack_round_trips() {
    let (_, state) = applied_hello();
    let src = format!("{HELLO}{API_SERVICE}");
    let p = plan_for(&src, "stack.toml", &state);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hello.plan");
    ecsctl_plan::save(&p, &path).unwrap();
    let back = ecsctl_plan::load(&path).unwrap();
    assert_eq!(back, p);
    assert_eq!(back.check_current(&state, &p.stack_hash), Ok(()));
}
