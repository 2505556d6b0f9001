//! `parse` and `load`: TOML with positions, then every section read and checked, every
//! problem collected.

use crate::reader::{Ctx, Section};
use crate::text::{check_nesting, suggest, MAX_SOURCE_BYTES};
use crate::{cluster, dns, keys, load_balancer, network, service, stack_section};
use crate::{Diagnostic, Diagnostics, Stack};
use sha2::{Digest, Sha256};
use std::path::Path;
use toml_edit::{ImDocument, Item};

/// Parses and validates a stack file. `file` names it in diagnostics.
///
/// Returns the typed [`Stack`], or every problem found (syntax errors stop at the first,
/// since nothing after one can be trusted).
pub fn parse(src: &str, file: &str) -> Result<Stack, Diagnostics> {
    let mut ctx = Ctx::new(src, file);
    if src.len() > MAX_SOURCE_BYTES {
        ctx.error(
            &Some(0..0),
            format!(
                "the file is {} bytes; a stack file is at most {} bytes",
                src.len(),
                MAX_SOURCE_BYTES
            ),
            "check that this is the right file: a stack file is a few dozen lines of TOML",
        );
        return Err(Diagnostics(ctx.finish()));
    }
    if let Err(e) = check_nesting(src) {
        ctx.error(
            &Some(e.offset..e.offset),
            e.message,
            "a stack file needs at most two levels, e.g. `[cluster.scaling]` or `azs = [\"eu-west-2a\"]`",
        );
        return Err(Diagnostics(ctx.finish()));
    }
    let doc = match ImDocument::parse(src) {
        Ok(doc) => doc,
        Err(e) => {
            let (message, hint) = syntax_problem(e.message());
            ctx.error(&e.span(), message, hint);
            return Err(Diagnostics(ctx.finish()));
        }
    };
    let stack = read(&mut ctx, doc.as_table(), src);
    if ctx.has_errors() {
        Err(Diagnostics(ctx.finish()))
    } else {
        Ok(stack)
    }
}

/// Reads and parses the stack file at `path`; an unreadable or non-UTF-8 file is a
/// diagnostic like any other problem.
pub fn load(path: &Path) -> Result<Stack, Diagnostics> {
    let file = path.display().to_string();
    let fail = |line: usize, column: usize, message: String, hint: &str| {
        Diagnostics(vec![Diagnostic {
            file: file.clone(),
            line,
            column,
            message,
            hint: Some(hint.to_string()),
        }])
    };
    let bytes = std::fs::read(path).map_err(|e| {
        fail(
            0,
            0,
            format!("cannot read the stack file: {e}"),
            "check the path (`--file`) and the file's permissions",
        )
    })?;
    match std::str::from_utf8(&bytes) {
        Ok(src) => parse(src, &file),
        Err(e) => {
            let valid = &bytes[..e.valid_up_to()];
            let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
            let line_start = valid.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
            let column = String::from_utf8_lossy(&valid[line_start..])
                .chars()
                .count()
                + 1;
            Err(fail(
                line,
                column,
                format!(
                    "the stack file is not UTF-8 text (invalid byte at offset {})",
                    e.valid_up_to()
                ),
                "save the file as UTF-8",
            ))
        }
    }
}

/// The TOML parser's message as one line, and a hint for the common mistakes.
fn syntax_problem(message: &str) -> (String, String) {
    let one_line = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    let hint = if one_line.contains("duplicate key") || one_line.contains("redefin") {
        "each key and each [table] may appear once: remove or rename the repeated one \
         (every service block is written `[[service]]`)"
    } else if one_line.contains("table header") {
        "a section header is a name in brackets on its own line: `[cluster]`, `[[service]]`"
    } else if one_line.contains("string") {
        "close the string with a matching quote; use '...' for text containing backslashes"
    } else {
        "fix the TOML syntax here: strings need quotes (`image = \"nginx\"`), lists use brackets \
         (`azs = [\"eu-west-2a\"]`), sections are `[name]`"
    };
    let message = if one_line.is_empty() {
        "invalid TOML".to_string()
    } else {
        format!("invalid TOML: {one_line}")
    };
    (message, hint.to_string())
}

fn read(ctx: &mut Ctx<'_>, root_table: &toml_edit::Table, src: &str) -> Stack {
    let root = Section {
        label: String::new(),
        path: String::new(),
        table: root_table,
        span: Some(0..0),
    };
    check_root_keys(ctx, &root);

    let (name, name_span, region, tags) = stack_section::read(ctx, &root);
    let network = network::read(ctx, &root, region.as_deref());
    let dns = dns::read(ctx, &root);
    let cluster = cluster::read(ctx, &root);
    let load_balancer = load_balancer::read(ctx, &root, region.as_deref());
    let services = service::read(ctx, &root, name.as_deref(), &name_span);

    Stack {
        name: name.unwrap_or_default(),
        region,
        tags,
        network,
        dns,
        cluster,
        load_balancer,
        services,
        source_hash: hex_sha256(src.as_bytes()),
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Unknown top-level keys: a misspelt section, or a key written outside its section.
fn check_root_keys(ctx: &mut Ctx<'_>, root: &Section<'_>) {
    let header = |s: &str| {
        if s == "service" {
            "[[service]]".to_string()
        } else {
            format!("[{s}]")
        }
    };
    for (name, item) in root.table.iter() {
        if keys::ROOT.contains(&name) {
            continue;
        }
        let key_span = root.table.key(name).and_then(|k| k.span());
        let (span, message) = match item {
            Item::Table(t) => (t.span().or(key_span), format!("unknown section `[{name}]`")),
            Item::ArrayOfTables(a) => (
                a.get(0).and_then(|t| t.span()).or(key_span),
                format!("unknown section `[[{name}]]`"),
            ),
            _ => (key_span, format!("unknown key `{name}` at the top level")),
        };
        let home = keys::SECTIONS
            .iter()
            .find(|(_, keys)| keys.contains(&name))
            .map(|(s, _)| *s);
        let hint = match (suggest(name, keys::ROOT), home) {
            (Some(s), _) => format!("did you mean `{}`?", header(s)),
            (None, Some(h)) if matches!(item, Item::Value(_)) => {
                format!("`{name}` belongs in {h}: move it below the `{h}` line")
            }
            _ => format!(
                "the sections are: {}",
                keys::ROOT
                    .iter()
                    .map(|s| header(s))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        ctx.error(&span, message, hint);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::{Ami, Azs, Dns, NatMode, Scaling, DEFAULT_AMI_PARAMETER};
    use ipnet::Ipv4Net;

    #[test]
    fn minimal_stack_gets_every_default() {
        let src = stack_with("");
        let s = ok(&src);
        assert_eq!(s.name, "hello");
        assert_eq!(s.region, None);
        assert!(s.tags.is_empty());
        assert_eq!(s.network.cidr.to_string(), "10.0.0.0/16");
        assert_eq!(s.network.azs, Azs::Count(2));
        let nets = |v: &[Ipv4Net]| v.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(
            nets(&s.network.public_subnets),
            ["10.0.0.0/24", "10.0.1.0/24"]
        );
        assert_eq!(
            nets(&s.network.private_subnets),
            ["10.0.128.0/24", "10.0.129.0/24"]
        );
        assert_eq!(s.network.nat, NatMode::Single);
        assert_eq!(s.dns, None);
        assert_eq!(s.cluster.instance_type, "t3.small");
        assert_eq!(s.cluster.ami, Ami::Ssm(DEFAULT_AMI_PARAMETER.into()));
        assert_eq!(
            (
                s.cluster.min_size,
                s.cluster.max_size,
                s.cluster.desired_capacity
            ),
            (1, 2, 1)
        );
        assert_eq!(s.cluster.key_name, None);
        assert!(s.cluster.ssh_cidrs.is_empty());
        assert_eq!(s.cluster.root_volume_size, 30);
        assert_eq!(s.cluster.scaling, None);
        assert_eq!(s.load_balancer.listen_port, 80);
        assert_eq!(nets(&s.load_balancer.allowed_cidrs), ["0.0.0.0/0"]);
        assert_eq!(s.load_balancer.certificate_arn, None);
        assert_eq!(s.load_balancer.idle_timeout, 60);
        let web = &s.services[0];
        assert_eq!(
            (web.name.as_str(), web.image.as_str(), web.container_port),
            ("web", "nginx:1.27", 80)
        );
        assert!(web.command.is_empty());
        assert_eq!((web.cpu, web.memory, web.desired_count), (256, 512, 1));
        assert_eq!(web.health_check_path, "/");
        assert_eq!(
            (
                web.log_retention_days,
                web.deregistration_delay,
                web.health_check_grace_period
            ),
            (30, 30, 30)
        );
        assert_eq!((web.path.clone(), web.host.clone()), (None, None));
    }

    #[test]
    fn source_hash_is_the_sha256_of_the_bytes() {
        assert_eq!(
            hex_sha256(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let src = stack_with("");
        assert_eq!(ok(&src).source_hash, hex_sha256(src.as_bytes()));
        assert_ne!(
            ok(&src).source_hash,
            ok(&stack_with("# changed\n")).source_hash
        );
    }

    #[test]
    fn full_stack_reads_every_key() {
        let src = r#"
[stack]
name = "hello"
region = "eu-west-2"
[stack.tags]
Environment = "dev"

[dns]
zone = "MyOrg.Local"

[cluster]
instance_type = "m7g.large"
ami = "ami-0123456789abcdef0"
min_size = 2
max_size = 4
desired_capacity = 3
key_name = "eHa"
ssh_cidrs = ["203.0.113.0/24"]
root_volume_size = 40
[cluster.scaling]
cpu_target = 55.5

[load_balancer]
listen_port = 8080
allowed_cidrs = ["198.51.100.0/24", "203.0.113.0/24"]
certificate_arn = "arn:aws:acm:eu-west-2:123456789012:certificate/abc"
idle_timeout = 120

[[service]]
name = "web"
image = "nginx:1.27"
container_port = 80
"#;
        let s = ok(src);
        assert_eq!(s.region.as_deref(), Some("eu-west-2"));
        assert_eq!(s.tags.get("Environment").map(String::as_str), Some("dev"));
        assert_eq!(
            s.dns,
            Some(Dns {
                zone: "myorg.local.".into()
            })
        );
        assert_eq!(s.cluster.instance_type, "m7g.large");
        assert_eq!(s.cluster.ami, Ami::Id("ami-0123456789abcdef0".into()));
        assert_eq!(
            (
                s.cluster.min_size,
                s.cluster.max_size,
                s.cluster.desired_capacity
            ),
            (2, 4, 3)
        );
        assert_eq!(s.cluster.key_name.as_deref(), Some("eHa"));
        assert_eq!(s.cluster.ssh_cidrs[0].to_string(), "203.0.113.0/24");
        assert_eq!(s.cluster.root_volume_size, 40);
        assert_eq!(s.cluster.scaling, Some(Scaling { cpu_target: 55.5 }));
        assert_eq!(s.load_balancer.listen_port, 8080);
        assert_eq!(s.load_balancer.allowed_cidrs.len(), 2);
        assert!(s.load_balancer.certificate_arn.is_some());
        assert_eq!(s.load_balancer.idle_timeout, 120);
    }

    #[test]
    fn inline_tables_work_like_sections() {
        let src = format!(
            "cluster = {{ min_size = 2, max_size = 3, scaling = {{ cpu_target = 70 }} }}\n{}",
            stack_with("")
        );
        let s = ok(&src);
        assert_eq!((s.cluster.min_size, s.cluster.max_size), (2, 3));
        assert_eq!(s.cluster.scaling, Some(Scaling { cpu_target: 70.0 }));
    }

    #[test]
    fn syntax_error_has_the_parser_position() {
        let src = "[stack]\nname = \"hello\nregion = 1\n";
        let d = only(src);
        assert_eq!((d.line, d.column), (2, 14));
        assert!(d.message.starts_with("invalid TOML"), "{d}");
        assert!(d.hint.unwrap().contains("quote"));
    }

    #[test]
    fn duplicate_key_is_a_syntax_error_at_the_second() {
        let src = "[stack]\nname = \"a\"\nname = \"b\"\n";
        let d = only(src);
        assert_eq!(d.line, 3);
        assert!(d.message.contains("duplicate key"), "{d}");
    }

    #[test]
    fn unknown_key_suggests_the_closest() {
        let src = stack_with("[cluster]\n    instnce_type = \"t3.small\"\n");
        let d = only(&src);
        check(
            &d,
            &src,
            "instnce_type",
            "unknown key `instnce_type` in [cluster]",
            "did you mean `instance_type`?",
        );
        assert_eq!((d.line, d.column), (4, 5));
        assert_eq!(
            d.to_string(),
            "stack.toml:4:5: error: unknown key `instnce_type` in [cluster]\n  hint: did you mean `instance_type`?"
        );
    }

    #[test]
    fn unknown_key_without_a_close_match_lists_the_keys() {
        let src = stack_with("[dns]\nzone = \"a.local\"\ncolour = \"blue\"\n");
        let d = only(&src);
        check(
            &d,
            &src,
            "colour",
            "unknown key `colour` in [dns]",
            "the keys [dns] accepts are: zone",
        );
    }

    #[test]
    fn every_problem_is_collected() {
        let src = "[stack]\nname = \"Hello\"\nregion = \"london\"\n[cluster]\nmin_size = \"1\"\nfoo = 1\n[[service]]\nname = \"web\"\n";
        let e = errors(src);
        let messages: Vec<&str> = e.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(e.len(), 6, "{messages:#?}");
        // sorted by position
        let lines: Vec<usize> = e.iter().map(|d| d.line).collect();
        let mut sorted = lines.clone();
        sorted.sort();
        assert_eq!(lines, sorted);
    }

    #[test]
    fn wrong_types_say_expected_and_found() {
        let src = stack_with("[cluster]\nmin_size = \"2\"\n");
        let d = only(&src);
        check(
            &d,
            &src,
            "\"2\"",
            "`min_size` in [cluster] must be an integer, found a string",
            "remove the quotes",
        );
        let src = "[stack]\nname = 5\n".to_string() + SERVICE;
        let d = only(&src);
        check(
            &d,
            &src,
            "5",
            "`name` in [stack] must be a string, found an integer",
            "name = \"hello\"",
        );
        let src = stack_with("[load_balancer]\nallowed_cidrs = \"0.0.0.0/0\"\n");
        let d = only(&src);
        check(
            &d,
            &src,
            "\"0.0.0.0/0\"",
            "must be an array of strings, found a string",
            "[\"0.0.0.0/0\"]",
        );
        let src = format!("cluster = 3\n{}", stack_with(""));
        let d = only(&src);
        check(
            &d,
            &src,
            "3\n",
            "`cluster` must be a table, found an integer",
            "",
        );
        let src = stack_with("cluster = { min_size = 2 }\n");
        let d = only(&src);
        check(
            &d,
            &src,
            "cluster",
            "unknown key `cluster` in [stack]",
            "`[cluster]` is a section of its own",
        );
    }

    #[test]
    fn missing_required_key_points_at_the_header() {
        let src = "\n[stack]\nregion = \"eu-west-2\"\n".to_string() + SERVICE;
        let d = only(&src);
        check(
            &d,
            &src,
            "[stack]",
            "missing required key `name` in [stack]",
            "add `name = \"hello\"` to [stack]",
        );
    }

    #[test]
    fn missing_stack_section() {
        let src = SERVICE.trim_start().to_string();
        let d = only(&src);
        assert_eq!((d.line, d.column), (1, 1));
        assert_eq!(d.message, "missing the [stack] section");
    }

    #[test]
    fn top_level_keys_and_sections() {
        let src = format!("region = \"eu-west-2\"\n{}", stack_with(""));
        let d = only(&src);
        check(
            &d,
            &src,
            "region",
            "unknown key `region` at the top level",
            "belongs in [stack]",
        );
        let src = stack_with("[clustr]\nmin_size = 1\n");
        let d = only(&src);
        check(
            &d,
            &src,
            "[clustr]",
            "unknown section `[clustr]`",
            "did you mean `[cluster]`?",
        );
        let src = stack_with("[[services]]\nname = \"x\"\n");
        let d = only(&src);
        check(
            &d,
            &src,
            "[[services]]",
            "unknown section `[[services]]`",
            "did you mean `[[service]]`?",
        );
    }

    #[test]
    fn stack_name_rules() {
        let src = "[stack]\nname = \"Hello_App\"\n".to_string() + SERVICE;
        let d = only(&src);
        check(
            &d,
            &src,
            "\"Hello_App\"",
            "invalid stack name `Hello_App`: it must start with a lowercase letter",
            "`hello-app`",
        );
        let src = format!("[stack]\nname = \"{}\"\n{SERVICE}", "a".repeat(21));
        check(
            &only(&src),
            &src,
            "\"aaa",
            "21 characters long, the limit is 20",
            "",
        );
        let src = "[stack]\nname = \"ab--c\"\n".to_string() + SERVICE;
        check(&only(&src), &src, "\"ab", "must not contain `--`", "");
        let src = "[stack]\nname = \"abc-\"\n".to_string() + SERVICE;
        check(&only(&src), &src, "\"abc", "must not end with `-`", "");
    }

    #[test]
    fn region_shape() {
        let src = "[stack]\nname = \"a\"\nregion = \"London\"\n".to_string() + SERVICE;
        check(
            &only(&src),
            &src,
            "\"London\"",
            "invalid region `London`",
            "eu-west-2",
        );
    }

    #[test]
    fn tag_rules() {
        let src = stack_with("[stack.tags]\nOwner = \"me\"\n\"aws:x\" = \"y\"\n");
        check(
            &only(&src),
            &src,
            "\"aws:x\"",
            "invalid tag key `aws:x`: the `aws:` prefix is reserved",
            "",
        );
        let src = stack_with(&format!("[stack.tags]\nOwner = \"{}\"\n", "v".repeat(257)));
        check(
            &only(&src),
            &src,
            "\"vvv",
            "invalid tag `Owner` value",
            "shorter",
        );
        let src = stack_with(&format!("[stack.tags]\n{} = \"v\"\n", "k".repeat(129)));
        check(&only(&src), &src, "kkk", "the limit is 128", "");
        let src = stack_with("[stack.tags]\nCost = 12\n");
        check(
            &only(&src),
            &src,
            "12",
            "`Cost` in [stack.tags] must be a string, found an integer",
            "quote it: `Cost = \"12\"`",
        );
        let many: String = (0..47).map(|i| format!("k{i} = \"v\"\n")).collect();
        let src = stack_with(&format!("[stack.tags]\n{many}"));
        check(&only(&src), &src, "[stack.tags]", "47 tags; at most 46", "");
    }

    #[test]
    fn dns_zone() {
        let src = stack_with("[dns]\nzone = \"my_org.local\"\n");
        check(
            &only(&src),
            &src,
            "\"my_org",
            "invalid zone `my_org.local`: `_` is not allowed",
            "myorg.local.",
        );
        let src = stack_with("[dns]\n");
        check(
            &only(&src),
            &src,
            "[dns]",
            "missing required key `zone` in [dns]",
            "",
        );
        let long = vec!["abcdefghij"; 24].join(".");
        let src = stack_with(&format!("[dns]\nzone = \"{long}\"\n"));
        check(&only(&src), &src, "\"abc", "the limit is 253", "");
    }

    #[test]
    fn instance_type_and_ami() {
        let src = stack_with("[cluster]\ninstance_type = \"t3-small\"\n");
        check(
            &only(&src),
            &src,
            "\"t3-small\"",
            "invalid instance type `t3-small`",
            "t3.small",
        );
        let src = stack_with("[cluster]\nami = \"ami-XYZ\"\n");
        check(
            &only(&src),
            &src,
            "\"ami-XYZ\"",
            "invalid ami `ami-XYZ`",
            "ssm:/aws/service",
        );
        let src = stack_with("[cluster]\nami = \"ssm:/my/param\"\n");
        assert_eq!(ok(&src).cluster.ami, Ami::Ssm("/my/param".into()));
    }

    #[test]
    fn cluster_sizes() {
        let src = stack_with("[cluster]\nmin_size = 3\nmax_size = 2\n");
        check(
            &only(&src),
            &src,
            "3\n",
            "min_size 3 is greater than max_size 2",
            "at least 3",
        );
        let src = stack_with("[cluster]\nmin_size = 3\n");
        check(
            &only(&src),
            &src,
            "3\n",
            "min_size 3 is greater than max_size 2",
            "defaults to 2",
        );
        let src = stack_with("[cluster]\nmin_size = 1\nmax_size = 3\ndesired_capacity = 4\n");
        check(
            &only(&src),
            &src,
            "4\n",
            "desired_capacity 4 is outside min_size..max_size (1..3)",
            "from 1 to 3",
        );
        let src = stack_with("[cluster]\nmax_size = 101\n");
        check(
            &only(&src),
            &src,
            "101",
            "`max_size` in [cluster] is 101, outside the allowed range 1 to 100",
            "",
        );
        let src = stack_with("[cluster]\nmin_size = 2\nmax_size = 4\n");
        assert_eq!(ok(&src).cluster.desired_capacity, 2);
    }

    #[test]
    fn ssh_and_volume() {
        let src = stack_with("[cluster]\nssh_cidrs = [\"0.0.0.0/0\"]\n");
        check(
            &only(&src),
            &src,
            "\"0.0.0.0/0\"",
            "must not open SSH to the whole internet",
            "VPN",
        );
        let src = stack_with("[cluster]\nssh_cidrs = [\"203.0.113.7/24\"]\n");
        check(
            &only(&src),
            &src,
            "\"203",
            "invalid `ssh_cidrs` block `203.0.113.7/24`: it has host bits set",
            "use `203.0.113.0/24`",
        );
        let src = stack_with("[cluster]\nroot_volume_size = 20\n");
        check(
            &only(&src),
            &src,
            "20",
            "smaller than the ECS-optimised Amazon Linux 2023 image",
            "30",
        );
        let src = stack_with("[cluster]\nami = \"ami-12345678\"\nroot_volume_size = 20\n");
        assert_eq!(ok(&src).cluster.root_volume_size, 20);
    }

    #[test]
    fn scaling_target() {
        let src = stack_with("[cluster.scaling]\ncpu_target = 0\n");
        check(
            &only(&src),
            &src,
            "0\n",
            "cpu_target 0 in [cluster.scaling] is outside 1 to 100",
            "",
        );
        let src = stack_with("[cluster.scaling]\ncpu_target = 100.5\n");
        check(&only(&src), &src, "100.5", "outside 1 to 100", "");
        let src = stack_with("[cluster.scaling]\ncpu_target = \"60\"\n");
        check(
            &only(&src),
            &src,
            "\"60\"",
            "must be a number, found a string",
            "",
        );
        let src = stack_with("[cluster.scaling]\n");
        assert_eq!(ok(&src).cluster.scaling, Some(Scaling { cpu_target: 60.0 }));
        let src = stack_with("[cluster.scaling]\ncpu_targt = 50\n");
        check(
            &only(&src),
            &src,
            "cpu_targt",
            "unknown key `cpu_targt` in [cluster.scaling]",
            "`cpu_target`",
        );
    }

    #[test]
    fn load_balancer_rules() {
        let src = stack_with("[load_balancer]\nlisten_port = 0\n");
        check(
            &only(&src),
            &src,
            "0\n",
            "`listen_port` in [load_balancer] is 0, outside the allowed range 1 to 65535",
            "",
        );
        let src = stack_with("[load_balancer]\nlisten_port = 70000\n");
        check(
            &only(&src),
            &src,
            "70000",
            "outside the allowed range 1 to 65535",
            "",
        );
        let src = stack_with("[load_balancer]\ncertificate_arn = \"arn:aws:iam::123456789012:server-certificate/x\"\n");
        check(&only(&src), &src, "\"arn", "invalid certificate_arn", "ACM");
        let src = "[stack]\nname = \"a\"\nregion = \"eu-west-2\"\n[load_balancer]\ncertificate_arn = \"arn:aws:acm:us-east-1:123456789012:certificate/x\"\n".to_string() + SERVICE;
        check(
            &only(&src),
            &src,
            "\"arn",
            "certificate_arn is in us-east-1 but the stack is in eu-west-2",
            "its own region",
        );
        let src = stack_with("[load_balancer]\nlisten_port = 443\ncertificate_arn = \"arn:aws:acm:eu-west-2:123456789012:certificate/x\"\n");
        check(
            &only(&src),
            &src,
            "443",
            "listen_port 443 clashes with the HTTPS listener",
            "",
        );
        let src = stack_with("[load_balancer]\nallowed_cidrs = []\n");
        check(
            &only(&src),
            &src,
            "[]",
            "`allowed_cidrs` in [load_balancer] is empty",
            "",
        );
        let src = stack_with("[load_balancer]\nidle_timeout = 0\n");
        check(
            &only(&src),
            &src,
            "0\n",
            "`idle_timeout` in [load_balancer] is 0 seconds, outside the allowed range 1 to 4000",
            "",
        );
    }

    #[test]
    fn oversized_and_deeply_nested_inputs_are_refused() {
        let big = format!("{}\n# {}", stack_with(""), "x".repeat(MAX_SOURCE_BYTES));
        let d = only(&big);
        assert_eq!((d.line, d.column), (1, 1));
        assert!(d.message.contains("a stack file is at most"), "{d}");
        let deep = format!(
            "[stack]\nname = {}{}",
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        let d = only(&deep);
        assert_eq!(d.line, 2);
        assert!(d.message.contains("nested more than"), "{d}");
    }

    #[test]
    fn a_byte_order_mark_does_not_shift_positions() {
        let src = format!("\u{feff}{}", stack_with("[cluster]\nmin_sise = 1\n"));
        check(
            &only(&src),
            &src,
            "min_sise",
            "unknown key `min_sise` in [cluster]",
            "`min_size`",
        );
    }

    fn temp_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("ecsctl-stack-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn load_reads_files_and_reports_unreadable_ones() {
        let path = temp_file("ok.toml", stack_with("").as_bytes());
        assert_eq!(load(&path).unwrap().name, "hello");

        let missing = path.with_file_name("missing.toml");
        let e = load(&missing).unwrap_err();
        assert_eq!(e.0[0].line, 0);
        assert!(e.0[0].message.starts_with("cannot read the stack file"));
        assert!(e
            .render()
            .starts_with(&format!("{}: error:", missing.display())));

        let path = temp_file("binary.toml", b"[stack]\nname = \"a\xff\"\n");
        let d = &load(&path).unwrap_err().0[0];
        assert_eq!((d.line, d.column), (2, 10));
        assert!(d.message.contains("not UTF-8"));
    }
}

#[cfg(test)]
mod reference_tests {
    use super::*;

    fn repo_file(name: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn every_key() -> Vec<&'static str> {
        [
            keys::STACK,
            keys::NETWORK,
            keys::DNS,
            keys::CLUSTER,
            keys::SCALING,
            keys::LOAD_BALANCER,
            keys::SERVICE,
        ]
        .concat()
    }

    #[test]
    fn stack_toml_example_shows_every_key() {
        let example = repo_file("stack.toml.example");
        for key in every_key() {
            let shown = example.lines().any(|l| {
                let l = l.trim_start_matches(['#', ' ']);
                l.starts_with(&format!("{key} "))
                    || l.starts_with(&format!("{key}="))
                    || l == format!("[stack.{key}]")
                    || l == format!("[cluster.{key}]")
                    || l == format!("[service.{key}]")
            });
            assert!(shown, "stack.toml.example does not show `{key}`");
        }
    }

    #[test]
    fn the_reference_documents_every_key() {
        let doc = repo_file("docs/stack-file.md");
        for key in every_key() {
            assert!(
                doc.contains(&format!("| `{key}` |")),
                "docs/stack-file.md has no table row for `{key}`"
            );
        }
    }
}
