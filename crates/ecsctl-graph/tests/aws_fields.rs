//! Every string ecsctl would send to AWS fits the character set and length AWS documents
//! for that field, so generated text AWS would refuse (an apostrophe in a security group
//! rule description, a 33-character target group name, ...) is caught here rather than
//! half-way through an apply.
//!
//! Every example stack (`examples/*.toml` and `stack.toml.example`) is parsed by the real
//! parser and expanded with known data; then each resource's arguments are checked
//! against the rules below, one function per AWS constraint. An argument is only checked
//! when its value is a known string: references and unknowns are filled in by AWS itself.

use ecsctl_graph::{expand, Address, Data, Graph, Kind, Resource, Value};
use ecsctl_stack::parse;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

// ======================================================================================
// The rules: one function per documented AWS constraint.
// ======================================================================================

/// Length in characters (AWS counts Unicode characters, not bytes).
fn len_in(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.chars().count())
}

// ---- tags ----------------------------------------------------------------------------

/// The most tags AWS accepts on one resource: 50 ("Tag restrictions", EC2 User Guide;
/// ECS API reference, Tag; ELBv2 AddTags; IAM TagRole; CloudWatch Logs TagResource;
/// Route 53 ChangeTagsForResource; Auto Scaling tags).
const MAX_TAGS: usize = 50;

/// Tags ecsctl's provider adds at create time beyond the expansion's `tags` argument:
/// task definitions get `ecsctl:token` (crates/ecsctl-aws/src/kinds/task_definition.rs).
fn tags_added_at_create(kind: Kind) -> usize {
    match kind {
        Kind::TaskDefinition => 1,
        _ => 0,
    }
}

/// At most 50 tags on the resource once the provider's own tags are added.
fn tag_count_ok(kind: Kind, n: usize) -> bool {
    n + tags_added_at_create(kind) <= MAX_TAGS
}

/// Tag key: 1–128 characters, and the `aws:` prefix (any case) is reserved for AWS
/// ("Tag restrictions", EC2 User Guide; ECS API reference, Tag).
fn tag_key_ok(k: &str) -> bool {
    len_in(k, 1, 128) && !k.to_ascii_lowercase().starts_with("aws:")
}

/// Tag value: 0–256 characters ("Tag restrictions", EC2 User Guide; ECS API reference,
/// Tag).
fn tag_value_ok(v: &str) -> bool {
    len_in(v, 0, 256)
}

// ---- EC2 security groups -------------------------------------------------------------

/// Characters EC2 accepts in security group names and descriptions and in rule
/// descriptions besides letters, digits and spaces (EC2 API reference,
/// CreateSecurityGroup GroupName / GroupDescription; IpRange Description;
/// UserIdGroupPair Description): `._-:/()#,@[]+=&;{}!$*`.
const SG_PUNCTUATION: &str = "._-:/()#,@[]+=&;{}!$*";

fn sg_char_ok(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == ' ' || SG_PUNCTUATION.contains(c)
}

/// Security group description, and a rule's description: up to 255 characters of
/// a-zA-Z0-9, space and `._-:/()#,@[]+=&;{}!$*` (EC2 API reference, CreateSecurityGroup
/// GroupDescription; IpRange Description; UserIdGroupPair Description).
fn sg_text_ok(s: &str) -> bool {
    len_in(s, 0, 255) && s.chars().all(sg_char_ok)
}

/// Security group name: 1–255 characters of the same set, not starting with `sg-` (EC2 API
/// reference, CreateSecurityGroup GroupName).
fn sg_name_ok(s: &str) -> bool {
    len_in(s, 1, 255) && s.chars().all(sg_char_ok) && !s.starts_with("sg-")
}

// ---- ELBv2 ---------------------------------------------------------------------------

/// 1–32 alphanumerics or hyphens, not beginning or ending with a hyphen (ELBv2 API
/// reference, CreateTargetGroup Name; the load balancer's name shares these rules).
fn target_group_name_ok(s: &str) -> bool {
    len_in(s, 1, 32)
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// As a target group name, and not beginning with `internal-` (ELBv2 API reference,
/// CreateLoadBalancer Name).
fn lb_name_ok(s: &str) -> bool {
    target_group_name_ok(s) && !s.starts_with("internal-")
}

// ---- IAM -----------------------------------------------------------------------------

/// IAM names match `[\w+=,.@-]+`: ASCII letters, digits and `_+=,.@-` (IAM API reference,
/// CreateRole RoleName, CreateInstanceProfile InstanceProfileName, PutRolePolicy
/// PolicyName).
fn iam_name_chars_ok(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
}

/// Role name: 1–64 characters of `[\w+=,.@-]` (IAM API reference, CreateRole RoleName).
fn iam_role_name_ok(s: &str) -> bool {
    len_in(s, 1, 64) && iam_name_chars_ok(s)
}

/// Instance profile name: 1–128 characters of `[\w+=,.@-]` (IAM API reference,
/// CreateInstanceProfile InstanceProfileName). The brief for this test said 64, but the
/// documented limit for profiles is 128; ecsctl names the profile after the role, whose
/// 64 is checked above, so the stricter figure would change nothing.
fn iam_instance_profile_name_ok(s: &str) -> bool {
    len_in(s, 1, 128) && iam_name_chars_ok(s)
}

/// Inline policy name: 1–128 characters of `[\w+=,.@-]` (IAM API reference, PutRolePolicy
/// PolicyName).
fn iam_policy_name_ok(s: &str) -> bool {
    len_in(s, 1, 128) && iam_name_chars_ok(s)
}

/// Path: 1–512 characters, `/` alone or beginning and ending with `/` with printable
/// ASCII (`!` to `~`) between (IAM API reference, CreateRole / CreateInstanceProfile Path,
/// pattern `(\u002F)|(\u002F[\u0021-\u007F]+\u002F)`; DEL is left out here as no sane path
/// has it).
fn iam_path_ok(s: &str) -> bool {
    len_in(s, 1, 512)
        && s.starts_with('/')
        && s.ends_with('/')
        && s.chars().all(|c| ('!'..='~').contains(&c))
}

// ---- EC2 launch templates --------------------------------------------------------------

/// Launch template name: 3–128 characters of `[a-zA-Z0-9().\-/_]` (EC2 API reference,
/// CreateLaunchTemplate LaunchTemplateName).
fn launch_template_name_ok(s: &str) -> bool {
    len_in(s, 3, 128)
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "().-/_".contains(c))
}

// ---- Auto Scaling --------------------------------------------------------------------

/// Auto Scaling group name: 1–255 ASCII characters 33 to 126, no colon (Auto Scaling API
/// reference, CreateAutoScalingGroup AutoScalingGroupName).
fn autoscaling_group_name_ok(s: &str) -> bool {
    len_in(s, 1, 255) && s.chars().all(|c| ('!'..='~').contains(&c) && c != ':')
}

/// Scaling policy name: 1–255 characters, no colon (Auto Scaling API reference,
/// PutScalingPolicy PolicyName; a colon would read as an ARN where names and ARNs are
/// both accepted) and no control characters (the field's XML-string pattern).
fn scaling_policy_name_ok(s: &str) -> bool {
    len_in(s, 1, 255) && s.chars().all(|c| c != ':' && !c.is_control())
}

// ---- ECS -----------------------------------------------------------------------------

/// Cluster names, task definition families, service names and container names: 1–255
/// letters, digits, underscores and hyphens (ECS API reference, CreateCluster
/// clusterName, RegisterTaskDefinition family, CreateService serviceName,
/// ContainerDefinition name).
fn ecs_name_ok(s: &str) -> bool {
    len_in(s, 1, 255)
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

// ---- CloudWatch Logs -------------------------------------------------------------------

/// Log group name: 1–512 characters of `[\.\-_/#A-Za-z0-9]` (CloudWatch Logs API
/// reference, CreateLogGroup logGroupName).
fn log_group_name_ok(s: &str) -> bool {
    len_in(s, 1, 512)
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/#".contains(c))
}

// ---- Route 53 ------------------------------------------------------------------------

/// Hosted zone comment: at most 256 characters (Route 53 API reference, HostedZoneConfig
/// Comment).
fn hosted_zone_comment_ok(s: &str) -> bool {
    len_in(s, 0, 256)
}

// ======================================================================================
// The checker: which rule applies to which argument of which kind.
// ======================================================================================

/// One string AWS would refuse.
#[derive(Debug, Clone, PartialEq)]
struct Violation {
    address: String,
    arg: String,
    value: String,
    rule: &'static str,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} = {:?}\n    breaks: {}",
            self.address, self.arg, self.value, self.rule
        )
    }
}

/// A rule: its description (printed with a violation) and its test.
type Rule = (&'static str, fn(&str) -> bool);

const SG_NAME: Rule = (
    "EC2 CreateSecurityGroup GroupName: 1-255 of a-zA-Z0-9, space, ._-:/()#,@[]+=&;{}!$*; not `sg-...`",
    sg_name_ok,
);
const SG_DESCRIPTION: Rule = (
    "EC2 CreateSecurityGroup GroupDescription: <=255 of a-zA-Z0-9, space, ._-:/()#,@[]+=&;{}!$*",
    sg_text_ok,
);
const SG_RULE_DESCRIPTION: Rule = (
    "EC2 IpRange/UserIdGroupPair Description: <=255 of a-zA-Z0-9, space, ._-:/()#,@[]+=&;{}!$*",
    sg_text_ok,
);
const LB_NAME: Rule = (
    "ELBv2 CreateLoadBalancer Name: 1-32 of [A-Za-z0-9-], no leading/trailing `-`, not `internal-...`",
    lb_name_ok,
);
const TG_NAME: Rule = (
    "ELBv2 CreateTargetGroup Name: 1-32 of [A-Za-z0-9-], no leading/trailing `-`",
    target_group_name_ok,
);
const IAM_ROLE_NAME: Rule = (
    "IAM CreateRole RoleName: 1-64 of [A-Za-z0-9_+=,.@-]",
    iam_role_name_ok,
);
const IAM_PROFILE_NAME: Rule = (
    "IAM CreateInstanceProfile InstanceProfileName: 1-128 of [A-Za-z0-9_+=,.@-]",
    iam_instance_profile_name_ok,
);
const IAM_POLICY_NAME: Rule = (
    "IAM PutRolePolicy PolicyName: 1-128 of [A-Za-z0-9_+=,.@-]",
    iam_policy_name_ok,
);
const IAM_PATH: Rule = (
    "IAM Path: 1-512 printable ASCII, beginning and ending with `/`",
    iam_path_ok,
);
const LT_NAME: Rule = (
    "EC2 CreateLaunchTemplate LaunchTemplateName: 3-128 of [A-Za-z0-9().-/_]",
    launch_template_name_ok,
);
const ASG_NAME: Rule = (
    "Auto Scaling CreateAutoScalingGroup AutoScalingGroupName: 1-255 of ASCII 33-126, no `:`",
    autoscaling_group_name_ok,
);
const POLICY_NAME: Rule = (
    "Auto Scaling PutScalingPolicy PolicyName: 1-255 characters, no `:`",
    scaling_policy_name_ok,
);
const ECS_NAME: Rule = (
    "ECS name (cluster, family, service, container): 1-255 of [A-Za-z0-9_-]",
    ecs_name_ok,
);
const LOG_GROUP_NAME: Rule = (
    "CloudWatch Logs CreateLogGroup logGroupName: 1-512 of [A-Za-z0-9._-/#]",
    log_group_name_ok,
);
const ZONE_COMMENT: Rule = (
    "Route 53 HostedZoneConfig Comment: <=256 characters",
    hosted_zone_comment_ok,
);
const TAG_KEY: Rule = (
    "Tag key: 1-128 characters, not beginning with `aws:` (any case)",
    tag_key_ok,
);
const TAG_VALUE: Rule = ("Tag value: <=256 characters", tag_value_ok);
const TAG_COUNT: &str =
    "At most 50 tags per resource (49 in the expansion for task definitions: ecsctl:token is added at create)";
const NOT_A_STRING: &str = "the argument must be a string (or a reference filled in by AWS)";

/// Collects the violations of one or more graphs and counts how many known strings each
/// rule saw, so that a rule no argument reaches any more (a renamed argument) is noticed.
#[derive(Default)]
struct Checker {
    violations: Vec<Violation>,
    checked: BTreeMap<&'static str, usize>,
}

impl Checker {
    fn report(&mut self, r: &Resource, arg: &str, value: impl Into<String>, rule: &'static str) {
        self.violations.push(Violation {
            address: r.address.to_string(),
            arg: arg.to_string(),
            value: value.into(),
            rule,
        });
    }

    /// Check `value` (shown as `arg` of `r`) against `rule`. A reference or an unknown is
    /// skipped (AWS fills it in), so is `null` (nothing is sent); any other non-string is
    /// reported, since the rule expected text there.
    fn value(&mut self, r: &Resource, arg: &str, value: Option<&Value>, rule: Rule) {
        let (what, ok) = rule;
        match value {
            Some(Value::String(s)) => {
                *self.checked.entry(what).or_default() += 1;
                if !ok(s) {
                    self.report(r, arg, s.as_str(), what);
                }
            }
            Some(Value::Ref(_) | Value::Unknown | Value::Null) => {}
            Some(other) => self.report(r, arg, format!("{other:?}"), NOT_A_STRING),
            None => self.report(r, arg, "<missing>", NOT_A_STRING),
        }
    }

    /// Check the top-level argument `arg` of `r`.
    fn arg(&mut self, r: &Resource, arg: &str, rule: Rule) {
        self.value(r, arg, r.args.get(arg), rule);
    }

    /// A plain string (a map key, not a `Value`) against `rule`.
    fn text(&mut self, r: &Resource, arg: &str, s: &str, rule: Rule) {
        self.value(r, arg, Some(&Value::str(s)), rule);
    }

    /// The `tags` argument of a taggable resource: count, keys and values.
    fn tags(&mut self, r: &Resource) {
        match r.args.get("tags") {
            Some(Value::Map(tags)) => {
                *self.checked.entry(TAG_COUNT).or_default() += 1;
                if !tag_count_ok(r.kind(), tags.len()) {
                    let keys: Vec<&str> = tags.keys().map(String::as_str).collect();
                    self.report(
                        r,
                        "tags",
                        format!("{} tags: {keys:?}", tags.len()),
                        TAG_COUNT,
                    );
                }
                for (k, v) in tags {
                    self.text(r, &format!("tags key {k:?}"), k, TAG_KEY);
                    self.value(r, &format!("tags[{k:?}]"), Some(v), TAG_VALUE);
                }
            }
            Some(Value::Ref(_) | Value::Unknown) => {}
            other => self.report(r, "tags", format!("{other:?}"), "tags must be a map"),
        }
    }

    /// Every rule that applies to one resource.
    fn resource(&mut self, r: &Resource) {
        if r.kind().schema().taggable {
            self.tags(r);
        }
        match r.kind() {
            Kind::SecurityGroup => {
                self.arg(r, "name", SG_NAME);
                self.arg(r, "description", SG_DESCRIPTION);
                for direction in ["ingress", "egress"] {
                    for (i, rule) in list(r.args.get(direction)).iter().enumerate() {
                        let arg = format!("{direction}[{i}].description");
                        self.value(r, &arg, field(rule, &["description"]), SG_RULE_DESCRIPTION);
                    }
                }
            }
            Kind::Lb => self.arg(r, "name", LB_NAME),
            Kind::LbTargetGroup => self.arg(r, "name", TG_NAME),
            Kind::IamRole => {
                self.arg(r, "name", IAM_ROLE_NAME);
                self.arg(r, "path", IAM_PATH);
                if let Some(Value::Map(policies)) = r.args.get("inline_policies") {
                    for name in policies.keys() {
                        self.text(r, "inline_policies key", name, IAM_POLICY_NAME);
                    }
                }
            }
            Kind::IamInstanceProfile => {
                self.arg(r, "name", IAM_PROFILE_NAME);
                self.arg(r, "path", IAM_PATH);
            }
            Kind::LaunchTemplate => self.arg(r, "name", LT_NAME),
            Kind::AutoscalingGroup => self.arg(r, "name", ASG_NAME),
            Kind::ScalingPolicy => self.arg(r, "name", POLICY_NAME),
            Kind::EcsCluster => self.arg(r, "name", ECS_NAME),
            Kind::EcsService => {
                self.arg(r, "name", ECS_NAME);
                // The container the load balancer sends to must name a real container.
                for (i, lb) in list(r.args.get("load_balancers")).iter().enumerate() {
                    let arg = format!("load_balancers[{i}].container_name");
                    self.value(r, &arg, field(lb, &["container_name"]), ECS_NAME);
                }
            }
            Kind::TaskDefinition => {
                self.arg(r, "family", ECS_NAME);
                for (i, c) in list(r.args.get("container_definitions")).iter().enumerate() {
                    let arg = format!("container_definitions[{i}].name");
                    self.value(r, &arg, field(c, &["name"]), ECS_NAME);
                    // awslogs writes to this group; CreateLogStream refuses a bad name.
                    let path = ["log_configuration", "options", "awslogs-group"];
                    let arg = format!("container_definitions[{i}].{}", path.join("."));
                    self.value(r, &arg, field(c, &path), LOG_GROUP_NAME);
                }
            }
            Kind::LogGroup => self.arg(r, "name", LOG_GROUP_NAME),
            Kind::HostedZone => self.arg(r, "comment", ZONE_COMMENT),
            // Nothing free-text beyond tags: ids, CIDRs, ARNs, numbers, and a DNS record
            // name built from validated stack and zone names.
            Kind::Vpc
            | Kind::InternetGateway
            | Kind::Subnet
            | Kind::RouteTable
            | Kind::Eip
            | Kind::NatGateway
            | Kind::DnsRecord
            | Kind::LbListener
            | Kind::LbListenerRule => {}
        }
    }

    fn graph(&mut self, g: &Graph) {
        for r in g.resources() {
            self.resource(r);
        }
    }
}

/// The items of a list argument (none when absent or not a list).
fn list(v: Option<&Value>) -> &[Value] {
    match v {
        Some(Value::List(items)) => items,
        _ => &[],
    }
}

/// The value at `path` inside nested maps.
fn field<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, key| match v {
        Value::Map(m) => m.get(*key),
        _ => None,
    })
}

/// Every violation in `g`.
fn violations(g: &Graph) -> Vec<Violation> {
    let mut c = Checker::default();
    c.graph(g);
    c.violations
}

// ======================================================================================
// The example stacks.
// ======================================================================================

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

/// `examples/*.toml`, sorted, then `stack.toml.example`.
fn example_files() -> Vec<PathBuf> {
    let root = repo_root();
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("examples"))
        .expect("examples/ is readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files.push(root.join("stack.toml.example"));
    files
}

fn expand_source(src: &str, file: &str) -> Graph {
    let stack =
        parse(src, file).unwrap_or_else(|d| panic!("{file} does not parse:\n{}", d.render()));
    expand(&stack, &data())
}

/// Print every violation with where it came from and fail if there is any.
fn assert_no_violations(checker: &Checker, what: &str) {
    if checker.violations.is_empty() {
        return;
    }
    let mut msg = format!(
        "{} string(s) AWS would refuse in {what}:\n",
        checker.violations.len()
    );
    for v in &checker.violations {
        msg.push_str(&format!("  {v}\n"));
    }
    eprintln!("{msg}");
    panic!("{msg}");
}

#[test]
fn every_string_the_example_stacks_send_fits_its_aws_field() {
    let files = example_files();
    assert!(files.len() >= 2, "no example stacks found: {files:?}");
    let mut checker = Checker::default();
    for path in &files {
        let src =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let g = expand_source(&src, &name);
        let before = checker.violations.len();
        checker.graph(&g);
        // Prefix this file's violations with its name.
        for v in &mut checker.violations[before..] {
            v.address = format!("{name}: {}", v.address);
        }
    }
    for (rule, n) in &checker.checked {
        eprintln!("{n:4} checked: {rule}");
    }
    assert_no_violations(&checker, "the example stacks");

    // Every rule must have seen at least one known string, or an argument was renamed
    // and its rule silently checks nothing.
    for (what, _) in [
        SG_NAME,
        SG_DESCRIPTION,
        SG_RULE_DESCRIPTION,
        LB_NAME,
        TG_NAME,
        IAM_ROLE_NAME,
        IAM_PROFILE_NAME,
        IAM_POLICY_NAME,
        IAM_PATH,
        LT_NAME,
        ASG_NAME,
        POLICY_NAME,
        ECS_NAME,
        LOG_GROUP_NAME,
        ZONE_COMMENT,
        TAG_KEY,
        TAG_VALUE,
    ] {
        assert!(
            checker.checked.get(what).copied().unwrap_or(0) > 0,
            "no example stack reached the rule `{what}`"
        );
    }
    assert!(checker.checked.get(TAG_COUNT).copied().unwrap_or(0) > 0);
}

/// The longest names and the most and longest tags the parser accepts still fit AWS.
#[test]
fn the_largest_stack_the_parser_accepts_fits_too() {
    let stack = "abcdefghij-klmnopqrs"; // 20 characters, the longest stack name
    let service = "svc-0123456"; // `<stack>-<service>` is 32, the longest pair
    let second = "api-0123456";
    let mut src = format!("[stack]\nname = \"{stack}\"\nregion = \"eu-west-2\"\n\n[stack.tags]\n");
    for i in 0..46 {
        // 46 tags (the parser's limit), 128-character keys and 256-character values.
        let key = format!("k{i:02}{}", "x".repeat(125));
        src.push_str(&format!("\"{key}\" = \"{}\"\n", "v".repeat(256)));
    }
    let zone = format!("{}.example.internal.", "z".repeat(60));
    src.push_str(&format!(
        "\n[network]\nazs = 3\nnat = \"per_az\"\n\n[dns]\nzone = \"{zone}\"\n\n\
         [cluster]\nmin_size = 1\nmax_size = 2\nssh_cidrs = [\"203.0.113.0/24\"]\n\
         [cluster.scaling]\ncpu_target = 60\n\n\
         [load_balancer]\ncertificate_arn = \"arn:aws:acm:eu-west-2:123456789012:certificate/x\"\n\n\
         [[service]]\nname = \"{service}\"\nimage = \"nginx:1.27\"\ncontainer_port = 80\n\n\
         [[service]]\nname = \"{second}\"\nimage = \"nginx:1.27\"\ncontainer_port = 80\npath = \"/api/*\"\n",
    ));
    let g = expand_source(&src, "largest.toml");
    let mut checker = Checker::default();
    checker.graph(&g);
    assert_no_violations(&checker, "the largest stack the parser accepts");
}

// ======================================================================================
// The checker itself: it must refuse what AWS refuses.
// ======================================================================================

#[test]
fn the_rules_refuse_what_aws_refuses() {
    // Security groups.
    assert!(sg_text_ok(
        "load balancer to the container dynamic host ports"
    ));
    assert!(sg_text_ok("instances to anywhere (image pulls, AWS APIs)"));
    assert!(sg_text_ok("ecsctl hello: load balancer"));
    assert!(sg_text_ok(""));
    assert!(!sg_text_ok("containers' ports"));
    assert!(!sg_text_ok("say \"hi\""));
    assert!(!sg_text_ok("caf\u{e9}"));
    assert!(!sg_text_ok("a\tb"));
    assert!(!sg_text_ok(&"x".repeat(256)));
    assert!(sg_text_ok(&"x".repeat(255)));
    assert!(sg_name_ok("hello-alb"));
    assert!(!sg_name_ok("sg-web"));
    assert!(!sg_name_ok(""));
    assert!(!sg_name_ok("it's"));

    // ELBv2.
    assert!(lb_name_ok("hello"));
    assert!(lb_name_ok(&"a".repeat(32)));
    assert!(!lb_name_ok(&"a".repeat(33)));
    assert!(!lb_name_ok("internal-web"));
    assert!(!lb_name_ok("-web"));
    assert!(!lb_name_ok("web-"));
    assert!(!lb_name_ok("web_app"));
    assert!(!lb_name_ok(""));
    assert!(target_group_name_ok("internal-web"));
    assert!(!target_group_name_ok("hello.web"));

    // IAM.
    assert!(iam_role_name_ok("hello-task-execution"));
    assert!(iam_role_name_ok("a+=,.@_-"));
    assert!(!iam_role_name_ok(&"r".repeat(65)));
    assert!(!iam_role_name_ok("role/name"));
    assert!(!iam_role_name_ok("role name"));
    assert!(iam_instance_profile_name_ok(&"p".repeat(128)));
    assert!(!iam_instance_profile_name_ok(&"p".repeat(129)));
    assert!(iam_policy_name_ok("ecs-agent"));
    assert!(!iam_policy_name_ok("ecs agent"));
    assert!(iam_path_ok("/"));
    assert!(iam_path_ok("/ecsctl/"));
    assert!(iam_path_ok("/ecsctl/hello/"));
    assert!(!iam_path_ok("ecsctl/"));
    assert!(!iam_path_ok("/ecsctl"));
    assert!(!iam_path_ok("/ec sctl/"));
    assert!(!iam_path_ok(""));
    assert!(!iam_path_ok(&format!("/{}/", "p".repeat(511))));

    // Launch templates.
    assert!(launch_template_name_ok("hello-instances"));
    assert!(launch_template_name_ok("a/b_(c).d"));
    assert!(!launch_template_name_ok("ab"));
    assert!(!launch_template_name_ok("hello instances"));
    assert!(!launch_template_name_ok("hello:instances"));

    // Auto Scaling.
    assert!(autoscaling_group_name_ok("hello-instances"));
    assert!(!autoscaling_group_name_ok("hello:instances"));
    assert!(!autoscaling_group_name_ok("hello instances"));
    assert!(!autoscaling_group_name_ok(&"a".repeat(256)));
    assert!(scaling_policy_name_ok("hello-cpu-target"));
    assert!(!scaling_policy_name_ok("cpu:target"));
    assert!(!scaling_policy_name_ok(""));

    // ECS.
    assert!(ecs_name_ok("hello-web_1"));
    assert!(!ecs_name_ok("hello.web"));
    assert!(!ecs_name_ok("hello web"));
    assert!(!ecs_name_ok(""));
    assert!(!ecs_name_ok(&"a".repeat(256)));

    // CloudWatch Logs.
    assert!(log_group_name_ok("/ecsctl/hello/web"));
    assert!(log_group_name_ok("a#b.c_d-e"));
    assert!(!log_group_name_ok("/ecsctl/hello/web app"));
    assert!(!log_group_name_ok("/ecsctl:hello"));
    assert!(!log_group_name_ok(&"/".repeat(513)));

    // Route 53.
    assert!(hosted_zone_comment_ok(&"c".repeat(256)));
    assert!(!hosted_zone_comment_ok(&"c".repeat(257)));

    // Tags.
    assert!(tag_key_ok("ecsctl:address"));
    assert!(!tag_key_ok("aws:cloudformation:stack-name"));
    assert!(!tag_key_ok("AWS:x"));
    assert!(!tag_key_ok(""));
    assert!(!tag_key_ok(&"k".repeat(129)));
    assert!(tag_value_ok(""));
    assert!(!tag_value_ok(&"v".repeat(257)));
    assert!(tag_count_ok(Kind::Vpc, 50));
    assert!(!tag_count_ok(Kind::Vpc, 51));
    assert!(tag_count_ok(Kind::TaskDefinition, 49));
    assert!(!tag_count_ok(Kind::TaskDefinition, 50));
}

/// A resource built by hand: `kind.name` with the given arguments.
fn resource(address: &str, args: Vec<(&str, Value)>) -> Resource {
    let mut r = Resource::new(address.parse::<Address>().unwrap());
    for (k, v) in args {
        r = r.arg(k, v);
    }
    r
}

fn map<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Value)>) -> Value {
    Value::Map(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
}

#[test]
fn the_checker_reports_what_aws_would_refuse_in_a_graph() {
    let tags = |n: usize| map((0..n).map(|i| (format!("k{i}"), Value::str("v"))));
    let mut g = Graph::new();
    g.add(resource(
        "security_group.instances",
        vec![
            ("name", Value::str("hello-instances")),
            (
                "description",
                Value::str("ecsctl hello: container instances"),
            ),
            (
                "ingress",
                Value::List(vec![map(vec![
                    ("protocol", Value::str("tcp")),
                    (
                        "description",
                        Value::str("load balancer to the containers' ports"),
                    ),
                ])]),
            ),
            (
                "egress",
                Value::List(vec![map(vec![("description", Value::Unknown)])]),
            ),
            ("tags", tags(3)),
        ],
    ));
    g.add(resource(
        "task_definition.web",
        vec![
            ("family", Value::str("hello-web")),
            (
                "container_definitions",
                Value::List(vec![map(vec![
                    ("name", Value::str("web.app")),
                    (
                        "log_configuration",
                        map(vec![(
                            "options",
                            map(vec![("awslogs-group", Value::str("/ecsctl/hello/web app"))]),
                        )]),
                    ),
                ])]),
            ),
            ("tags", tags(50)),
        ],
    ));
    g.add(resource(
        "lb.main",
        vec![
            ("name", Value::Unknown),
            ("tags", map(vec![("aws:owner", Value::str("me"))])),
        ],
    ));

    let found: Vec<(String, String, &str)> = violations(&g)
        .into_iter()
        .map(|v| (v.address, v.arg, v.rule))
        .collect();
    assert_eq!(
        found,
        vec![
            (
                "security_group.instances".to_string(),
                "ingress[0].description".to_string(),
                SG_RULE_DESCRIPTION.0,
            ),
            (
                "lb.main".to_string(),
                "tags key \"aws:owner\"".to_string(),
                TAG_KEY.0,
            ),
            (
                "task_definition.web".to_string(),
                "tags".to_string(),
                TAG_COUNT
            ),
            (
                "task_definition.web".to_string(),
                "container_definitions[0].name".to_string(),
                ECS_NAME.0,
            ),
            (
                "task_definition.web".to_string(),
                "container_definitions[0].log_configuration.options.awslogs-group".to_string(),
                LOG_GROUP_NAME.0,
            ),
        ],
        "the unknown lb name and egress description are skipped; everything else is caught"
    );
}
