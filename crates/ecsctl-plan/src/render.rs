//! How a plan is shown: [`human`] for the terminal (Terraform-like), [`json`] for `--json`.
//!
//! Each change is a header line (`  + vpc.main`, `-/+ subnet.private[0] (replace:
//! availability_zone)`) with its attributes under it: every argument of a create, only the
//! changed ones of an update or replace (`desired_count: 2 -> 4`). Values that do not fit
//! on one line (policy documents, container definitions, tags) are shown one line per leaf
//! (`tags.Name = "hello"`), and their changes one line per changed leaf, compared in
//! normalised form so that reordered sets and re-encoded policies show no noise.

use crate::model::{Action, Change, Plan};
use crate::normalize::normalize;
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Lines longer than this break compound values into one line per leaf.
const WIDTH: usize = 100;
const INDENT: &str = "      ";
const UNKNOWN: &str = "(known after apply)";
const ABSENT: &str = "(none)";

const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[31m";
const RESET: &str = "\x1b[0m";

/// The plan as shown in a terminal; ANSI colours only when `color`.
pub fn human(plan: &Plan, color: bool) -> String {
    if plan.is_empty() {
        return "No changes. Your infrastructure matches the configuration.\n".to_string();
    }
    let mut out = String::new();
    let common = common_tags(plan);
    if !common.is_empty() {
        let listed: Vec<String> = common
            .iter()
            .map(|(k, v)| format!("{k} = {}", compact(v)))
            .collect();
        let _ = writeln!(
            out,
            "Every resource created below that takes tags is tagged {}.\n",
            listed.join(", ")
        );
    }
    for change in &plan.changes {
        out.push_str(&header(change, color));
        out.push('\n');
        for line in body(change, color, &common) {
            out.push_str(INDENT);
            out.push_str(&line);
            out.push('\n');
        }
        out.push('\n');
    }
    let stops = crate::interruptions(plan);
    if !stops.is_empty() {
        let (red, reset) = if color { (RED, RESET) } else { ("", "") };
        out.push_str("These replacements interrupt service:\n");
        for i in &stops {
            let _ = writeln!(out, "  {red}!{reset} {}: {}", i.address, i.why);
        }
        out.push('\n');
    }
    let (add, change, destroy) = plan.counts();
    let _ = writeln!(
        out,
        "Plan: {add} to add, {change} to change, {destroy} to destroy."
    );
    out
}

/// The plan for `--json`: the plan file's fields (values in tagged form: references as
/// `{"$ref": "vpc.main.id"}`, unknowns as `{"$unknown": true}`) and a `summary` of counts.
pub fn json(plan: &Plan) -> Json {
    let mut v = serde_json::to_value(plan).unwrap_or(Json::Null);
    let (add, change, destroy) = plan.counts();
    if let Json::Object(m) = &mut v {
        m.insert(
            "summary".to_string(),
            json!({ "add": add, "change": change, "destroy": destroy }),
        );
        m.insert(
            "interruptions".to_string(),
            serde_json::to_value(crate::interruptions(plan)).unwrap_or(Json::Null),
        );
    }
    v
}

fn header(c: &Change, color: bool) -> String {
    let symbol = format!("{:>3}", c.symbol());
    let symbol = if color { paint(c, &symbol) } else { symbol };
    let mut line = format!("{symbol} {}", c.address);
    if c.action == Action::Replace {
        let _ = write!(line, " (replace: {})", c.replace_reasons.join(", "));
    }
    if c.resume && c.action == Action::Delete {
        line.push_str(" (interrupted create: deleted if it exists)");
    } else if c.resume {
        line.push_str(" (resume interrupted create)");
    }
    line
}

fn paint(c: &Change, padded: &str) -> String {
    match (c.action, c.create_before_destroy) {
        (Action::Create, _) => format!("{GREEN}{padded}{RESET}"),
        (Action::Update, _) => format!("{YELLOW}{padded}{RESET}"),
        (Action::Delete, _) => format!("{RED}{padded}{RESET}"),
        (Action::Replace, false) => format!("{RED}-{RESET}/{GREEN}+{RESET}"),
        (Action::Replace, true) => format!("{GREEN}+{RESET}/{RED}-{RESET}"),
    }
}

/// The tags every create that takes tags shares (the stack's tags and `ecsctl:stack`),
/// when at least two creates do: shown once above the plan instead of under each.
fn common_tags(plan: &Plan) -> BTreeMap<String, Json> {
    let mut tagged = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Create)
        .filter_map(|c| c.after.as_ref()?.get("tags"))
        .map(|t| t.to_tagged_json());
    let Some(Json::Object(first)) = tagged.next() else {
        return BTreeMap::new();
    };
    let mut common: BTreeMap<String, Json> = first.into_iter().collect();
    let mut count = 1;
    for t in tagged {
        count += 1;
        let Json::Object(t) = t else {
            return BTreeMap::new();
        };
        common.retain(|k, v| t.get(k) == Some(v));
    }
    if count < 2 {
        return BTreeMap::new();
    }
    common
}

fn body(c: &Change, color: bool, common: &BTreeMap<String, Json>) -> Vec<String> {
    let mut lines = Vec::new();
    match c.action {
        Action::Create => {
            for (name, value) in c.after.iter().flatten() {
                let mut v = value.to_tagged_json();
                if name == "tags" {
                    if let Json::Object(m) = &mut v {
                        m.retain(|k, _| !common.contains_key(k));
                    }
                }
                assign_lines(name, &v, &mut lines);
            }
        }
        Action::Delete => {
            if let Some(before) = &c.before {
                lines.push(format!(
                    "id = {}",
                    compact(&Json::String(before.id.clone()))
                ));
            }
        }
        Action::Update | Action::Replace => {
            let kind = c.address.kind;
            for d in &c.diffs {
                let before = d.before.as_ref().map(|b| normalize(kind, &d.name, b));
                let after = d
                    .after
                    .as_ref()
                    .map(|a| normalize(kind, &d.name, &a.to_tagged_json()));
                let mut these = Vec::new();
                diff_lines(
                    &d.name,
                    before.as_ref().filter(|j| !j.is_null()),
                    after.as_ref().filter(|j| !j.is_null()),
                    &mut these,
                );
                if these.is_empty() {
                    // Equal once normalised for display, different as compared: say so
                    // rather than show nothing.
                    these.push(format!("{}: (changed)", d.name));
                }
                if d.forces_replace {
                    let marker = if color {
                        format!("  {RED}# forces replacement{RESET}")
                    } else {
                        "  # forces replacement".to_string()
                    };
                    for l in &mut these {
                        l.push_str(&marker);
                    }
                }
                lines.extend(these);
            }
        }
    }
    lines
}

/// `path = value`, or one such line per leaf when the value does not fit.
fn assign_lines(path: &str, v: &Json, out: &mut Vec<String>) {
    let line = format!("{path} = {}", compact(v));
    if line.len() <= WIDTH || !splittable(v) {
        out.push(line);
        return;
    }
    match v {
        Json::Object(m) => {
            for (k, x) in m {
                assign_lines(&format!("{path}{}", key_segment(k)), x, out);
            }
        }
        Json::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                assign_lines(&format!("{path}[{i}]"), x, out);
            }
        }
        _ => out.push(line),
    }
}

/// `path: before -> after` for every changed leaf under `path`.
pub(crate) fn diff_lines(
    path: &str,
    before: Option<&Json>,
    after: Option<&Json>,
    out: &mut Vec<String>,
) {
    if before == after {
        return;
    }
    let line = format!("{path}: {} -> {}", show(before), show(after));
    if line.len() <= WIDTH {
        out.push(line);
        return;
    }
    match (before, after) {
        (Some(Json::Object(b)), Some(Json::Object(a))) if splittable_pair(before, after) => {
            let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = format!("{path}{}", key_segment(k));
                diff_lines(&p, b.get(k), a.get(k), out);
            }
        }
        (Some(Json::Array(b)), Some(Json::Array(a))) if b.len() == a.len() => {
            let gone = missing_from(b, a);
            let came = missing_from(a, b);
            let shifted = b.iter().zip(a).filter(|(x, y)| x != y).count() > gone.len();
            if shifted {
                // Elements matched by identity, not position: one rule swapped for another
                // in a sorted list is one `-` and one `+`, not a change at every index after.
                for (i, x) in gone {
                    element_line(&format!("{path}[{i}]"), '-', x, out);
                }
                for (i, y) in came {
                    element_line(&format!("{path}[{i}]"), '+', y, out);
                }
            } else {
                for (i, (x, y)) in b.iter().zip(a).enumerate() {
                    diff_lines(&format!("{path}[{i}]"), Some(x), Some(y), out);
                }
            }
        }
        (Some(Json::Array(b)), Some(Json::Array(a))) => {
            // Lists of different lengths (mostly sets): what went, then what came.
            for (i, x) in missing_from(b, a) {
                element_line(&format!("{path}[{i}]"), '-', x, out);
            }
            for (i, y) in missing_from(a, b) {
                element_line(&format!("{path}[{i}]"), '+', y, out);
            }
        }
        (Some(x), None) if splittable(x) => each_leaf(path, x, &mut |p, leaf| {
            out.push(format!("{p}: {} -> {ABSENT}", compact(leaf)))
        }),
        (None, Some(y)) if splittable(y) => each_leaf(path, y, &mut |p, leaf| {
            out.push(format!("{p}: {ABSENT} -> {}", compact(leaf)))
        }),
        _ => out.push(line),
    }
}

/// One element added to (`+`) or removed from (`-`) a list, split into leaves if long.
fn element_line(path: &str, sign: char, x: &Json, out: &mut Vec<String>) {
    let line = format!("{path}: {sign} {}", compact(x));
    if line.len() <= WIDTH || !splittable(x) {
        out.push(line);
        return;
    }
    each_leaf(path, x, &mut |p, leaf| {
        out.push(format!("{p}: {sign} {}", compact(leaf)))
    });
}

/// Call `f` with each leaf under `path` that fits on a line (or cannot be split).
fn each_leaf(path: &str, v: &Json, f: &mut dyn FnMut(&str, &Json)) {
    let fits = path.len() + compact(v).len() + 16 <= WIDTH;
    if fits || !splittable(v) {
        f(path, v);
        return;
    }
    match v {
        Json::Object(m) => {
            for (k, x) in m {
                each_leaf(&format!("{path}{}", key_segment(k)), x, f);
            }
        }
        Json::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                each_leaf(&format!("{path}[{i}]"), x, f);
            }
        }
        _ => f(path, v),
    }
}

/// Elements of `a` (with their positions) that `b` does not hold, counting duplicates.
fn missing_from<'a>(a: &'a [Json], b: &[Json]) -> Vec<(usize, &'a Json)> {
    let mut unmatched: Vec<&Json> = b.iter().collect();
    let mut out = Vec::new();
    for (i, x) in a.iter().enumerate() {
        match unmatched.iter().position(|y| *y == x) {
            Some(pos) => {
                unmatched.swap_remove(pos);
            }
            None => out.push((i, x)),
        }
    }
    out
}

fn show(v: Option<&Json>) -> String {
    v.map(compact).unwrap_or_else(|| ABSENT.to_string())
}

fn splittable(v: &Json) -> bool {
    match v {
        Json::Array(a) => !a.is_empty(),
        Json::Object(m) => !m.is_empty() && !is_unknown(v),
        _ => false,
    }
}

fn splittable_pair(a: Option<&Json>, b: Option<&Json>) -> bool {
    a.is_some_and(splittable) && b.is_some_and(splittable)
}

/// The tagged forms of a reference or an unknown value.
fn is_unknown(v: &Json) -> bool {
    match v {
        Json::Object(m) if m.len() == 1 => {
            m.contains_key("$ref") || m.get("$unknown") == Some(&Json::Bool(true))
        }
        _ => false,
    }
}

/// One-line form: strings quoted, `[a, b]`, `{ key = value }`, unknowns as
/// `(known after apply)`.
fn compact(v: &Json) -> String {
    if is_unknown(v) {
        return UNKNOWN.to_string();
    }
    match v {
        Json::String(s) => quote(s),
        Json::Array(items) => {
            let inner: Vec<String> = items.iter().map(compact).collect();
            format!("[{}]", inner.join(", "))
        }
        Json::Object(m) if m.is_empty() => "{}".to_string(),
        Json::Object(m) => {
            let inner: Vec<String> = m
                .iter()
                .map(|(k, x)| format!("{} = {}", key(k), compact(x)))
                .collect();
            format!("{{ {} }}", inner.join(", "))
        }
        other => other.to_string(),
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

fn is_ident(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn key(k: &str) -> String {
    if is_ident(k) {
        k.to_string()
    } else {
        quote(k)
    }
}

fn key_segment(k: &str) -> String {
    if is_ident(k) {
        format!(".{k}")
    } else {
        format!("[{}]", quote(k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AttrDiff, FORMAT_VERSION};
    use ecsctl_graph::{Address, Value};
    use ecsctl_state::ResourceState;
    use std::collections::BTreeMap;

    fn a(s: &str) -> Address {
        s.parse().unwrap()
    }

    fn plan(changes: Vec<Change>) -> Plan {
        Plan {
            format_version: FORMAT_VERSION,
            stack: "hello".into(),
            stack_hash: "h".into(),
            lineage: "l".into(),
            serial: 1,
            destroy: false,
            data: BTreeMap::new(),
            changes,
        }
    }

    fn change(addr: &str, action: Action) -> Change {
        Change {
            address: a(addr),
            action,
            create_before_destroy: false,
            resume: false,
            before: None,
            after: None,
            diffs: vec![],
            replace_reasons: vec![],
            deps: vec![],
        }
    }

    fn state(id: &str) -> Option<ResourceState> {
        Some(ResourceState {
            id: id.into(),
            args: Default::default(),
            outputs: Default::default(),
            deps: vec![],
        })
    }

    fn diff(name: &str, before: Json, after: Value, forces: bool) -> AttrDiff {
        AttrDiff {
            name: name.into(),
            before: Some(before),
            after: Some(after),
            forces_replace: forces,
        }
    }

    #[test]
    fn replacements_that_interrupt_service_are_named_with_why_before_the_summary() {
        let mut svc = change("ecs_service.web", Action::Replace);
        svc.before = state("arn:svc");
        svc.replace_reasons = vec!["cluster".into()];
        let mut tg = change("lb_target_group.web", Action::Replace);
        tg.before = state("arn:tg");
        tg.create_before_destroy = true;
        let mut lb = change("lb.main", Action::Replace);
        lb.before = state("arn:lb");
        lb.create_before_destroy = true;
        let p = plan(vec![svc, tg, lb, change("log_group.web", Action::Update)]);
        let text = human(&p, false);
        let (_, tail) = text
            .split_once("These replacements interrupt service:\n")
            .expect(&text);
        assert!(
            tail.starts_with("  ! ecs_service.web: the old service's tasks stop"),
            "{text}"
        );
        assert!(
            tail.contains("  ! lb.main: the new load balancer has a new DNS name"),
            "{text}"
        );
        // A target group made before the old one goes, and an update, interrupt nothing.
        assert!(!tail.contains("lb_target_group.web"), "{text}");
        assert!(!tail.contains("log_group.web"), "{text}");
        assert!(tail.contains("\n\nPlan: "), "{text}");
        let j = json(&p);
        assert_eq!(j["interruptions"][0]["address"], "ecs_service.web");
        assert_eq!(j["interruptions"].as_array().unwrap().len(), 2);
        // Nothing replaced: no section, and an empty list in JSON.
        let quiet = plan(vec![change("log_group.web", Action::Update)]);
        assert!(!human(&quiet, false).contains("interrupt"));
        assert_eq!(json(&quiet)["interruptions"], serde_json::json!([]));
    }

    #[test]
    fn an_empty_plan_says_so() {
        assert_eq!(
            human(&plan(vec![]), true),
            "No changes. Your infrastructure matches the configuration.\n"
        );
    }

    #[test]
    fn creates_show_every_argument_and_unknowns() {
        let mut c = change("subnet.private[0]", Action::Create);
        c.after = Some(BTreeMap::from([
            ("cidr_block".to_string(), Value::str("10.0.50.0/24")),
            ("vpc_id".to_string(), a("vpc.main").attr("id")),
            ("map_public_ip_on_launch".to_string(), Value::Bool(false)),
        ]));
        let text = human(&plan(vec![c]), false);
        assert_eq!(
            text,
            "  + subnet.private[0]\n\
             \x20     cidr_block = \"10.0.50.0/24\"\n\
             \x20     map_public_ip_on_launch = false\n\
             \x20     vpc_id = (known after apply)\n\
             \n\
             Plan: 1 to add, 0 to change, 0 to destroy.\n"
        );
    }

    #[test]
    fn long_values_are_shown_one_leaf_per_line() {
        let mut c = change("iam_role.instance", Action::Create);
        let doc = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                "Principal": {"Service": "ec2.amazonaws.com"}}]
        });
        c.after = Some(BTreeMap::from([
            ("assume_role_policy".to_string(), Value::from(doc)),
            (
                "tags".to_string(),
                Value::from(serde_json::json!({"ecsctl:stack": "hello", "Name": "hello-instance"})),
            ),
        ]));
        let text = human(&plan(vec![c]), false);
        assert!(
            text.contains(
                "      assume_role_policy.Statement[0].Principal = { Service = \"ec2.amazonaws.com\" }\n"
            ),
            "{text}"
        );
        assert!(text.contains("      assume_role_policy.Version = \"2012-10-17\"\n"));
        assert!(text.contains(
            "      tags = { Name = \"hello-instance\", \"ecsctl:stack\" = \"hello\" }\n"
        ));
    }

    #[test]
    fn updates_show_only_changed_arguments() {
        let mut c = change("ecs_service.hello", Action::Update);
        c.before = state("arn:svc");
        c.diffs = vec![diff(
            "desired_count",
            serde_json::json!(2),
            Value::int(4),
            false,
        )];
        let text = human(&plan(vec![c]), false);
        assert_eq!(
            text,
            "  ~ ecs_service.hello\n\
             \x20     desired_count: 2 -> 4\n\
             \n\
             Plan: 0 to add, 1 to change, 0 to destroy.\n"
        );
    }

    #[test]
    fn replaces_name_their_reason_and_mark_forcing_arguments() {
        let mut c = change("subnet.private[0]", Action::Replace);
        c.before = state("subnet-1");
        c.replace_reasons = vec!["availability_zone".into()];
        c.diffs = vec![diff(
            "availability_zone",
            serde_json::json!("eu-west-2a"),
            Value::str("eu-west-2b"),
            true,
        )];
        let text = human(&plan(vec![c]), false);
        assert!(text.starts_with(
            "-/+ subnet.private[0] (replace: availability_zone)\n\
             \x20     availability_zone: \"eu-west-2a\" -> \"eu-west-2b\"  # forces replacement\n"
        ));
        assert!(text.ends_with("Plan: 1 to add, 0 to change, 1 to destroy.\n"));
    }

    #[test]
    fn deletes_show_the_id() {
        let mut c = change("nat_gateway.main[1]", Action::Delete);
        c.before = state("nat-0002");
        let text = human(&plan(vec![c]), false);
        assert!(text.starts_with("  - nat_gateway.main[1]\n      id = \"nat-0002\"\n"));
        assert!(text.ends_with("Plan: 0 to add, 0 to change, 1 to destroy.\n"));
    }

    #[test]
    fn policy_changes_show_changed_leaves_not_blobs() {
        let statement = |resources: Json| {
            serde_json::json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": resources},
                {"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], "Resource": "*"}
            ]})
        };
        let before = serde_json::json!({"logs": statement(serde_json::json!(
            ["arn:aws:logs:eu-west-2:123456789012:log-group:/ecsctl/hello/hello:*"]))});
        let after = serde_json::json!({"logs": statement(serde_json::json!([
            "arn:aws:logs:eu-west-2:123456789012:log-group:/ecsctl/hello/hello:*",
            "arn:aws:logs:eu-west-2:123456789012:log-group:/ecsctl/hello/api:*"]))});
        // The state holds IAM's URL-encoded form: the display decodes it.
        let encoded = serde_json::json!({"logs": urlencoding::encode(&before["logs"].to_string()).into_owned()});
        let mut c = change("iam_role.task_execution", Action::Update);
        c.before = state("hello-exec");
        c.diffs = vec![diff("inline_policies", encoded, Value::from(after), false)];
        let text = human(&plan(vec![c]), false);
        let body: Vec<&str> = text.lines().skip(1).take_while(|l| !l.is_empty()).collect();
        assert_eq!(
            body,
            ["      inline_policies.logs.Statement[1].Resource[0]: + \"arn:aws:logs:eu-west-2:123456789012:log-group:/ecsctl/hello/api:*\""]
        );
    }

    #[test]
    fn unknown_after_values_are_known_after_apply() {
        let mut c = change("autoscaling_group.instances", Action::Update);
        c.before = state("asg");
        c.diffs = vec![diff(
            "launch_template_version",
            serde_json::json!("1"),
            a("launch_template.instances").attr("latest_version"),
            false,
        )];
        let text = human(&plan(vec![c]), false);
        assert!(text.contains("      launch_template_version: \"1\" -> (known after apply)\n"));
    }

    #[test]
    fn colours_only_when_asked() {
        let mut c = change("vpc.main", Action::Create);
        c.after = Some(BTreeMap::new());
        let mut r = change("task_definition.hello", Action::Replace);
        r.create_before_destroy = true;
        r.replace_reasons = vec!["container_definitions".into()];
        let p = plan(vec![c, r]);
        assert!(!human(&p, false).contains('\x1b'));
        let coloured = human(&p, true);
        assert!(coloured.contains("\x1b[32m  +\x1b[0m vpc.main"));
        assert!(coloured.contains("\x1b[32m+\x1b[0m/\x1b[31m-\x1b[0m task_definition.hello"));
        assert!(
            human(&p, false).contains("+/- task_definition.hello (replace: container_definitions)")
        );
    }

    #[test]
    fn list_elements_are_matched_by_identity_not_position() {
        let rule = |port: i64| json!({"protocol": "tcp", "from_port": port, "to_port": port, "cidr_blocks": ["0.0.0.0/0"]});
        // 80 replaced by 22 in a list sorted by port: every index differs.
        let before = json!([rule(80), rule(443), rule(8080)]);
        let after = json!([rule(22), rule(80), rule(443)]);
        let mut out = Vec::new();
        diff_lines("ingress", Some(&before), Some(&after), &mut out);
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(
            out[0].starts_with("ingress[2]: - ") && out[0].contains("8080"),
            "{out:?}"
        );
        assert!(
            out[1].starts_with("ingress[0]: + ") && out[1].contains("22"),
            "{out:?}"
        );
        // One field of one element: shown in place.
        let edited = json!([rule(80), rule(443), rule(8081)]);
        let mut out = Vec::new();
        diff_lines("ingress", Some(&before), Some(&edited), &mut out);
        assert!(out.iter().all(|l| l.starts_with("ingress[2]")), "{out:?}");
    }

    #[test]
    fn resumed_creates_are_marked() {
        let mut c = change("ecs_cluster.main", Action::Create);
        c.resume = true;
        assert!(human(&plan(vec![c]), false)
            .starts_with("  + ecs_cluster.main (resume interrupted create)\n"));
    }

    #[test]
    fn json_has_stable_fields_and_tagged_values() {
        let mut c = change("subnet.private[0]", Action::Create);
        c.after = Some(BTreeMap::from([(
            "vpc_id".to_string(),
            a("vpc.main").attr("id"),
        )]));
        let j = json(&plan(vec![c]));
        assert_eq!(
            j["summary"],
            serde_json::json!({"add": 1, "change": 0, "destroy": 0})
        );
        assert_eq!(j["changes"][0]["address"], "subnet.private[0]");
        assert_eq!(j["changes"][0]["action"], "create");
        assert_eq!(
            j["changes"][0]["after"]["vpc_id"],
            serde_json::json!({"$ref": "vpc.main.id"})
        );
        assert_eq!(j["format_version"], 1);
    }
}
