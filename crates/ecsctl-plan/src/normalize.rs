//! Normalisation: the canonical form in which a desired argument and its recorded state are
//! compared, so that values AWS considers equal compare equal and the plan never shows a
//! perpetual diff.
//!
//! Rules, applied to every argument:
//! - numbers: `1` and `1.0` are the same number;
//! - objects: keys sorted; members that are `null`, `[]` or `{}` are dropped (absent, null
//!   and empty are the same thing to AWS);
//! - the whole value: `[]` and `{}` become `null` (an empty list argument equals an absent one).
//!
//! And per argument:
//! - IAM policy documents (`assume_role_policy`, each value of `inline_policies`) may be
//!   objects, JSON strings or URL-encoded JSON strings (IAM returns them URL-encoded): they
//!   are decoded; `Statement`, `Action`, `NotAction`, `Resource`, `NotResource`, the values
//!   of `Principal`/`NotPrincipal` and of each `Condition` operator become lists, sorted and
//!   without duplicates; statements are sorted. `Version` is compared as written (a missing
//!   `Version` means the 2008 policy language, a real difference);
//! - CIDRs (`cidr_block`, `destination_cidr_block`, `cidr_blocks`) in canonical network form;
//! - DNS names (`name` of zones and records, `alias_target.dns_name`) lowercase with a
//!   trailing dot, without the `dualstack.` prefix Route 53 adds to ELB aliases; zone ids
//!   without the `/hostedzone/` prefix;
//! - security group rules (`ingress`, `egress`) with several `cidr_blocks` are split into one
//!   rule per CIDR, the form AWS reads them back in;
//! - lists AWS treats as sets are sorted and deduplicated: `subnet_ids`,
//!   `security_group_ids`, `cidr_blocks`, `ingress`, `egress`, `routes`,
//!   `managed_policy_arns`, `path_patterns`, `host_headers`, `name_servers`,
//!   `requires_compatibilities`, `load_balancers`, and each container's `environment`
//!   (by name);
//! - `container_definitions` given as a JSON string is parsed;
//! - `launch_template_version` is compared as a string (`3` equals `"3"`).

use ecsctl_graph::Kind;
use serde_json::{Map, Number, Value as Json};
use std::cmp::Ordering;

/// The canonical form of argument `attr` of a resource of kind `kind`.
pub fn normalize(kind: Kind, attr: &str, v: &Json) -> Json {
    let v = canonical(v);
    let v = specific(kind, attr, v);
    // Decoding may have produced unsorted keys, floats or empties: canonicalise again.
    empty_to_null(canonical(&v))
}

/// Whether two values of argument `attr` are equal once normalised.
pub fn equal(kind: Kind, attr: &str, a: &Json, b: &Json) -> bool {
    normalize(kind, attr, a) == normalize(kind, attr, b)
}

/// The rules that hold for every value: numbers, key order, absent members.
fn canonical(v: &Json) -> Json {
    match v {
        Json::Number(n) => Json::Number(canonical_number(n)),
        Json::Array(items) => Json::Array(items.iter().map(canonical).collect()),
        Json::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                let value = canonical(&m[k]);
                if !is_empty(&value) {
                    out.insert(k.clone(), value);
                }
            }
            Json::Object(out)
        }
        other => other.clone(),
    }
}

/// `1.0` becomes `1`; other numbers stay as they are.
fn canonical_number(n: &Number) -> Number {
    if n.is_f64() {
        if let Some(f) = n.as_f64() {
            if f.fract() == 0.0 && f.abs() < 9.0e15 {
                return Number::from(f as i64);
            }
        }
    }
    n.clone()
}

fn is_empty(v: &Json) -> bool {
    match v {
        Json::Null => true,
        Json::Array(a) => a.is_empty(),
        Json::Object(m) => m.is_empty(),
        _ => false,
    }
}

fn empty_to_null(v: Json) -> Json {
    if is_empty(&v) {
        Json::Null
    } else {
        v
    }
}

fn specific(kind: Kind, attr: &str, v: Json) -> Json {
    match (kind, attr) {
        (Kind::IamRole, "assume_role_policy") => policy(v),
        (Kind::IamRole, "inline_policies") => map_values(v, policy),
        (Kind::HostedZone | Kind::DnsRecord, "name") => dns_name(v),
        (Kind::DnsRecord, "zone_id") => zone_id(v),
        (Kind::DnsRecord, "alias_target") => alias_target(v),
        (_, "cidr_block" | "destination_cidr_block") => cidr(v),
        (_, "cidr_blocks") => set(map_items(v, cidr)),
        (_, "routes") => set(map_items(v, route)),
        (_, "ingress" | "egress") => set(map_items(split_cidrs(v), sg_rule)),
        (_, "host_headers") => set(map_items(v, lowercase)),
        (
            _,
            "subnet_ids"
            | "security_group_ids"
            | "managed_policy_arns"
            | "path_patterns"
            | "name_servers"
            | "requires_compatibilities"
            | "load_balancers",
        ) => set(v),
        (_, "container_definitions") => map_items(parse_json_string(v), container),
        (_, "launch_template_version") => number_as_string(v),
        _ => v,
    }
}

/// Security group rules with several CIDRs become one rule per CIDR (the form AWS reports
/// them in: one rule per protocol, port range and single peer).
fn split_cidrs(v: Json) -> Json {
    let Json::Array(rules) = v else { return v };
    let mut out = Vec::with_capacity(rules.len());
    for rule in rules {
        match &rule {
            Json::Object(m) => match m.get("cidr_blocks") {
                Some(Json::Array(cidrs)) if cidrs.len() > 1 => {
                    for c in cidrs {
                        let mut one = m.clone();
                        one.insert("cidr_blocks".to_string(), Json::Array(vec![c.clone()]));
                        out.push(Json::Object(one));
                    }
                }
                _ => out.push(rule),
            },
            _ => out.push(rule),
        }
    }
    Json::Array(out)
}

/// Whether a live value read back for argument `attr` says nothing about it, so the
/// recorded value stands: the ECS service settings some APIs (and the emulator, on
/// CreateService) leave out of their answers read back as null or empty.
pub fn not_reported(kind: Kind, attr: &str, live: &Json) -> bool {
    const UNREPORTED_WHEN_EMPTY: &[(Kind, &str)] = &[
        (Kind::EcsService, "deployment"),
        (Kind::EcsService, "health_check_grace_period"),
        (Kind::EcsService, "placement_strategy"),
    ];
    UNREPORTED_WHEN_EMPTY.contains(&(kind, attr)) && is_empty(&canonical(live))
}

/// A string holding JSON (possibly URL-encoded) becomes that JSON; anything else is kept.
fn parse_json_string(v: Json) -> Json {
    let Json::String(s) = &v else { return v };
    if let Ok(parsed) = serde_json::from_str::<Json>(s) {
        return canonical(&parsed);
    }
    if let Ok(decoded) = urlencoding::decode(s) {
        if let Ok(parsed) = serde_json::from_str::<Json>(&decoded) {
            return canonical(&parsed);
        }
    }
    v
}

fn policy(v: Json) -> Json {
    let mut doc = match parse_json_string(v) {
        Json::Object(m) => m,
        other => return other,
    };
    if let Some(statements) = doc.remove("Statement") {
        let statements = match as_list(statements) {
            Json::Array(items) => items.into_iter().map(statement).collect(),
            other => other,
        };
        doc.insert("Statement".to_string(), set(statements));
    }
    Json::Object(doc)
}

fn statement(v: Json) -> Json {
    let Json::Object(mut m) = v else { return v };
    for key in ["Action", "NotAction", "Resource", "NotResource"] {
        if let Some(x) = m.remove(key) {
            m.insert(key.to_string(), set(as_list(x)));
        }
    }
    for key in ["Principal", "NotPrincipal", "Condition"] {
        if let Some(x) = m.remove(key) {
            let x = if key == "Condition" {
                map_values(x, |op| map_values(op, |vals| set(as_list(vals))))
            } else {
                map_values(x, |vals| set(as_list(vals)))
            };
            m.insert(key.to_string(), x);
        }
    }
    Json::Object(m)
}

fn container(v: Json) -> Json {
    let Json::Object(mut m) = v else { return v };
    if let Some(env) = m.remove("environment") {
        m.insert("environment".to_string(), set(env));
    }
    Json::Object(m)
}

fn route(v: Json) -> Json {
    let Json::Object(mut m) = v else { return v };
    if let Some(c) = m.remove("destination_cidr_block") {
        m.insert("destination_cidr_block".to_string(), cidr(c));
    }
    Json::Object(m)
}

fn sg_rule(v: Json) -> Json {
    let Json::Object(mut m) = v else { return v };
    if let Some(c) = m.remove("cidr_blocks") {
        m.insert("cidr_blocks".to_string(), set(map_items(c, cidr)));
    }
    if let Some(p) = m.remove("protocol") {
        let p = match p {
            // AWS reports "all protocols" as "-1" however it was given.
            Json::String(s) if s.eq_ignore_ascii_case("all") => Json::String("-1".to_string()),
            Json::Number(n) if n.as_i64() == Some(-1) => Json::String("-1".to_string()),
            other => lowercase(other),
        };
        m.insert("protocol".to_string(), p);
    }
    Json::Object(m)
}

fn alias_target(v: Json) -> Json {
    let Json::Object(mut m) = v else { return v };
    if let Some(d) = m.remove("dns_name") {
        m.insert("dns_name".to_string(), dns_name(d));
    }
    if let Some(z) = m.remove("hosted_zone_id") {
        m.insert("hosted_zone_id".to_string(), zone_id(z));
    }
    Json::Object(m)
}

/// `10.0.0.1/16` → `10.0.0.0/16`; strings that are not CIDRs are kept.
fn cidr(v: Json) -> Json {
    match &v {
        Json::String(s) => match s.trim().parse::<ipnet::IpNet>() {
            Ok(net) => Json::String(net.trunc().to_string()),
            Err(_) => v,
        },
        _ => v,
    }
}

/// Lowercase, one trailing dot, no `dualstack.` prefix.
fn dns_name(v: Json) -> Json {
    match v {
        Json::String(s) => {
            let mut s = s.trim().to_ascii_lowercase();
            if let Some(rest) = s.strip_prefix("dualstack.") {
                s = rest.to_string();
            }
            if !s.ends_with('.') {
                s.push('.');
            }
            Json::String(s)
        }
        other => other,
    }
}

fn zone_id(v: Json) -> Json {
    match v {
        Json::String(s) => Json::String(s.strip_prefix("/hostedzone/").unwrap_or(&s).to_string()),
        other => other,
    }
}

fn lowercase(v: Json) -> Json {
    match v {
        Json::String(s) => Json::String(s.to_ascii_lowercase()),
        other => other,
    }
}

fn number_as_string(v: Json) -> Json {
    match v {
        Json::Number(n) => Json::String(n.to_string()),
        other => other,
    }
}

/// A scalar becomes a one-element list; null stays null.
fn as_list(v: Json) -> Json {
    match v {
        Json::Array(_) | Json::Null => v,
        other => Json::Array(vec![other]),
    }
}

fn map_items(v: Json, f: fn(Json) -> Json) -> Json {
    match v {
        Json::Array(items) => Json::Array(items.into_iter().map(f).collect()),
        other => other,
    }
}

fn map_values(v: Json, f: impl Fn(Json) -> Json) -> Json {
    match v {
        Json::Object(m) => Json::Object(m.into_iter().map(|(k, x)| (k, f(x))).collect()),
        other => other,
    }
}

/// A list sorted and without duplicates (after canonicalising each element).
fn set(v: Json) -> Json {
    match v {
        Json::Array(items) => {
            let mut items: Vec<Json> = items.iter().map(canonical).collect();
            items.sort_by(compare);
            items.dedup();
            Json::Array(items)
        }
        other => other,
    }
}

/// A total order on JSON values: strings by their text, anything else by its serialisation.
fn compare(a: &Json, b: &Json) -> Ordering {
    match (a, b) {
        (Json::String(x), Json::String(y)) => x.cmp(y),
        _ => a.to_string().cmp(&b.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn n(kind: Kind, attr: &str, v: Json) -> Json {
        normalize(kind, attr, &v)
    }

    #[test]
    fn integers_and_integral_floats_are_equal() {
        assert!(equal(
            Kind::EcsService,
            "desired_count",
            &json!(1),
            &json!(1.0)
        ));
        assert!(!equal(
            Kind::EcsService,
            "desired_count",
            &json!(1),
            &json!(1.5)
        ));
        assert!(equal(
            Kind::ScalingPolicy,
            "target_cpu",
            &json!(60.0),
            &json!(60)
        ));
    }

    #[test]
    fn multi_cidr_rules_equal_one_rule_per_cidr() {
        let desired = json!([{"protocol": "tcp", "from_port": 80, "to_port": 80,
            "cidr_blocks": ["10.0.0.0/8", "192.168.1.7/24"], "description": "clients"}]);
        let live = json!([
            {"protocol": "tcp", "from_port": 80, "to_port": 80, "cidr_blocks": ["192.168.1.0/24"], "description": "clients"},
            {"protocol": "tcp", "from_port": 80, "to_port": 80, "cidr_blocks": ["10.0.0.0/8"], "description": "clients"}
        ]);
        assert!(equal(Kind::SecurityGroup, "ingress", &desired, &live));
        let fewer = json!([
            {"protocol": "tcp", "from_port": 80, "to_port": 80, "cidr_blocks": ["10.0.0.0/8"], "description": "clients"}
        ]);
        assert!(!equal(Kind::SecurityGroup, "ingress", &desired, &fewer));
        // Rules naming a group are kept as they are.
        let group = json!([{"protocol": "tcp", "from_port": 1, "to_port": 2, "source_security_group_id": "sg-1"}]);
        assert_eq!(
            n(Kind::SecurityGroup, "egress", group.clone()),
            canonical(&group)
        );
    }

    #[test]
    fn empty_ecs_service_settings_are_not_reported() {
        for attr in [
            "deployment",
            "health_check_grace_period",
            "placement_strategy",
        ] {
            assert!(not_reported(Kind::EcsService, attr, &Json::Null));
            assert!(not_reported(Kind::EcsService, attr, &json!([])));
            assert!(not_reported(
                Kind::EcsService,
                attr,
                &json!({"circuit_breaker": null})
            ));
        }
        assert!(!not_reported(
            Kind::EcsService,
            "health_check_grace_period",
            &json!(0)
        ));
        assert!(!not_reported(
            Kind::EcsService,
            "deployment",
            &json!({"maximum_percent": 200})
        ));
        // Other arguments read as empty are real values.
        assert!(!not_reported(
            Kind::EcsService,
            "load_balancers",
            &json!([])
        ));
        assert!(!not_reported(Kind::LaunchTemplate, "key_name", &Json::Null));
    }

    #[test]
    fn null_absent_and_empty_are_equal() {
        assert!(equal(
            Kind::LaunchTemplate,
            "key_name",
            &Json::Null,
            &json!(null)
        ));
        assert!(equal(
            Kind::Lb,
            "security_group_ids",
            &json!([]),
            &Json::Null
        ));
        assert!(equal(Kind::Vpc, "tags", &json!({}), &Json::Null));
        assert!(!equal(Kind::Lb, "subnet_ids", &json!(["a"]), &Json::Null));
        // Inside objects, null and empty members are the same as absent ones.
        assert!(equal(
            Kind::TaskDefinition,
            "container_definitions",
            &json!([{"name": "web", "command": [], "mount_points": null}]),
            &json!([{"name": "web"}]),
        ));
    }

    #[test]
    fn tags_ignore_key_order_but_not_values() {
        let a = json!({"Name": "hello", "ecsctl:stack": "hello"});
        let b: Json = serde_json::from_str(r#"{"ecsctl:stack":"hello","Name":"hello"}"#).unwrap();
        assert!(equal(Kind::Subnet, "tags", &a, &b));
        let c = json!({"Name": "hello", "ecsctl:stack": "other"});
        assert!(!equal(Kind::Subnet, "tags", &a, &c));
        // The normal form has sorted keys, so its text is stable too.
        assert_eq!(
            n(Kind::Subnet, "tags", b).to_string(),
            r#"{"Name":"hello","ecsctl:stack":"hello"}"#
        );
    }

    #[test]
    fn policies_compare_equal_whatever_their_encoding() {
        let object = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": ["ecs-tasks.amazonaws.com"]},
                "Action": ["sts:AssumeRole"]
            }]
        });
        // IAM returns documents URL-encoded, with single values as scalars.
        let from_iam = urlencoding::encode(
            r#"{"Statement":{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"}},"Version":"2012-10-17"}"#,
        )
        .into_owned();
        assert!(equal(
            Kind::IamRole,
            "assume_role_policy",
            &object,
            &Json::String(from_iam)
        ));
        let plain_string = Json::String(object.to_string());
        assert!(equal(
            Kind::IamRole,
            "assume_role_policy",
            &object,
            &plain_string
        ));
    }

    #[test]
    fn policy_lists_are_sets_and_statements_unordered() {
        let a = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["logs:PutLogEvents", "logs:CreateLogStream"], "Resource": "arn:a"},
            {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"}
        ]});
        let b = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": ["*"]},
            {"Resource": ["arn:a"], "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:PutLogEvents"]}
        ]});
        let policies = |doc: &Json| json!({ "logs": doc.to_string() });
        assert!(equal(
            Kind::IamRole,
            "inline_policies",
            &json!({"logs": a}),
            &policies(&b)
        ));
        let c = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": ["*"]}
        ]});
        assert!(!equal(
            Kind::IamRole,
            "inline_policies",
            &json!({"logs": a}),
            &json!({"logs": c})
        ));
    }

    #[test]
    fn policy_version_is_compared() {
        let with = json!({"Version": "2012-10-17", "Statement": []});
        let without = json!({"Statement": []});
        assert!(!equal(Kind::IamRole, "assume_role_policy", &with, &without));
    }

    #[test]
    fn conditions_take_single_values_or_lists() {
        let a = json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
            "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}]});
        let b = json!({"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"],
            "Condition": {"StringEquals": {"aws:SourceAccount": ["123456789012"]}}}]});
        assert!(equal(Kind::IamRole, "assume_role_policy", &a, &b));
    }

    #[test]
    fn cidrs_are_canonical() {
        assert!(equal(
            Kind::Vpc,
            "cidr_block",
            &json!("10.0.0.0/16"),
            &json!("10.0.3.4/16")
        ));
        assert!(!equal(
            Kind::Subnet,
            "cidr_block",
            &json!("10.0.0.0/24"),
            &json!("10.0.1.0/24")
        ));
        let a = json!([{"protocol": "tcp", "from_port": 80, "to_port": 80, "cidr_blocks": ["10.0.0.0/8", "0.0.0.0/0"]}]);
        let b = json!([{"protocol": "TCP", "from_port": 80.0, "to_port": 80, "cidr_blocks": ["0.0.0.0/0", "10.1.0.0/8"]}]);
        assert!(equal(Kind::SecurityGroup, "ingress", &a, &b));
        let r1 = json!([{"destination_cidr_block": "0.0.0.0/0", "gateway_id": "igw-1"}]);
        let r2 = json!([{"destination_cidr_block": "0.0.0.0/0", "gateway_id": "igw-2"}]);
        assert!(!equal(Kind::RouteTable, "routes", &r1, &r2));
    }

    #[test]
    fn all_protocols_is_minus_one() {
        let a =
            json!([{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]}]);
        let b =
            json!([{"protocol": -1, "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]}]);
        assert!(equal(Kind::SecurityGroup, "egress", &a, &b));
    }

    #[test]
    fn dns_names_are_lowercase_with_a_trailing_dot() {
        assert!(equal(
            Kind::HostedZone,
            "name",
            &json!("MyOrg.Local"),
            &json!("myorg.local.")
        ));
        assert!(equal(
            Kind::DnsRecord,
            "name",
            &json!("hello.myorg.local"),
            &json!("hello.myorg.local.")
        ));
        assert!(equal(
            Kind::DnsRecord,
            "alias_target",
            &json!({"dns_name": "hello-123.eu-west-2.elb.amazonaws.com", "hosted_zone_id": "ZHURV8PSTC4K8", "evaluate_target_health": true}),
            &json!({"dns_name": "dualstack.Hello-123.eu-west-2.elb.amazonaws.com.", "hosted_zone_id": "/hostedzone/ZHURV8PSTC4K8", "evaluate_target_health": true}),
        ));
        // `name` of other kinds is not a DNS name.
        assert!(!equal(
            Kind::EcsCluster,
            "name",
            &json!("Hello"),
            &json!("hello")
        ));
    }

    #[test]
    fn set_like_lists_ignore_order_and_duplicates() {
        for attr in [
            "subnet_ids",
            "security_group_ids",
            "managed_policy_arns",
            "path_patterns",
            "name_servers",
        ] {
            assert!(
                equal(Kind::Lb, attr, &json!(["b", "a"]), &json!(["a", "b", "a"])),
                "{attr}"
            );
            assert!(
                !equal(Kind::Lb, attr, &json!(["b", "a"]), &json!(["a"])),
                "{attr}"
            );
        }
        assert!(equal(
            Kind::LbListenerRule,
            "host_headers",
            &json!(["API.example.com", "b.example.com"]),
            &json!(["b.example.com", "api.example.com"])
        ));
        let rules = |a: &str, b: &str| {
            json!([
                {"protocol": "tcp", "from_port": 80, "to_port": 80, "cidr_blocks": [a]},
                {"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": [b]}
            ])
        };
        let mut reversed = rules("1.0.0.0/8", "2.0.0.0/8");
        reversed.as_array_mut().unwrap().reverse();
        assert!(equal(
            Kind::SecurityGroup,
            "ingress",
            &rules("1.0.0.0/8", "2.0.0.0/8"),
            &reversed
        ));
    }

    #[test]
    fn ordered_lists_keep_their_order() {
        assert!(!equal(
            Kind::TaskDefinition,
            "container_definitions",
            &json!([{"name": "web", "command": ["python", "-m"]}]),
            &json!([{"name": "web", "command": ["-m", "python"]}])
        ));
    }

    #[test]
    fn container_environment_is_a_set_by_name() {
        let a = json!([{"name": "web", "cpu": 256, "environment": [
            {"name": "B", "value": "2"}, {"name": "A", "value": "1"}]}]);
        let b = json!([{"cpu": 256.0, "name": "web", "environment": [
            {"value": "1", "name": "A"}, {"name": "B", "value": "2"}]}]);
        assert!(equal(Kind::TaskDefinition, "container_definitions", &a, &b));
        // ... and may arrive as a JSON string.
        let s = Json::String(b.to_string());
        assert!(equal(Kind::TaskDefinition, "container_definitions", &a, &s));
        let c = json!([{"name": "web", "cpu": 256, "environment": [{"name": "A", "value": "9"}, {"name": "B", "value": "2"}]}]);
        assert!(!equal(
            Kind::TaskDefinition,
            "container_definitions",
            &a,
            &c
        ));
    }

    #[test]
    fn launch_template_versions_compare_as_strings() {
        assert!(equal(
            Kind::AutoscalingGroup,
            "launch_template_version",
            &json!(3),
            &json!("3")
        ));
        assert!(!equal(
            Kind::AutoscalingGroup,
            "launch_template_version",
            &json!(3),
            &json!("4")
        ));
    }

    #[test]
    fn unknown_shapes_pass_through() {
        // Odd input is never an error: it just compares as itself.
        assert_eq!(
            n(Kind::IamRole, "assume_role_policy", json!("not json")),
            json!("not json")
        );
        assert_eq!(n(Kind::Vpc, "cidr_block", json!("nope")), json!("nope"));
        assert_eq!(n(Kind::Lb, "subnet_ids", json!(7)), json!(7));
    }
}
