//! Value rules AWS enforces (or that ecsctl needs), as pure functions: each returns what
//! is wrong and how to fix it, and the caller adds the position.

use crate::Ami;

/// What is wrong with a value and how to fix it.
#[derive(Debug, PartialEq)]
pub(crate) struct Problem {
    pub(crate) reason: String,
    pub(crate) hint: String,
}

fn problem(reason: impl Into<String>, hint: impl Into<String>) -> Problem {
    Problem {
        reason: reason.into(),
        hint: hint.into(),
    }
}

/// Longest stack or service name: `S-V` must fit AWS's 32-character target group names.
pub(crate) const NAME_MAX: usize = 20;
/// Longest `S-V` (target group names, task definition families).
pub(crate) const PAIR_MAX: usize = 32;

/// A stack or service name: 1–20 of `[a-z0-9-]`, starting with a letter, no trailing `-`,
/// no `--`.
pub(crate) fn resource_name(s: &str) -> Result<(), Problem> {
    let fix = || match sanitize_name(s) {
        f if f.is_empty() => {
            "use lowercase letters, digits and `-`, starting with a letter, e.g. `web`".to_string()
        }
        f => format!("use lowercase letters, digits and `-`, e.g. `{f}`"),
    };
    let reason = if s.is_empty() {
        "it is empty".to_string()
    } else if s.chars().count() > NAME_MAX {
        format!(
            "it is {} characters long, the limit is {NAME_MAX} (AWS limits the names built from it)",
            s.chars().count()
        )
    } else if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
        "it must start with a lowercase letter".to_string()
    } else if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        format!("`{c}` is not allowed")
    } else if s.ends_with('-') {
        "it must not end with `-`".to_string()
    } else if s.contains("--") {
        "it must not contain `--`".to_string()
    } else {
        return Ok(());
    };
    Err(problem(reason, fix()))
}

/// A stack name, beyond [`resource_name`]: the load balancer is named after the stack and
/// AWS refuses load balancer names that begin with `internal-` (ELBv2 API reference,
/// CreateLoadBalancer); security groups are named `<stack>-alb` and `<stack>-instances`
/// and AWS refuses group names that begin with `sg-` (EC2 API reference,
/// CreateSecurityGroup).
pub(crate) fn stack_name(s: &str) -> Result<(), Problem> {
    resource_name(s)?;
    let rest = |prefix: &str| s.strip_prefix(prefix).unwrap_or(s).to_string();
    if s.starts_with("internal-") {
        return Err(problem(
            "AWS refuses load balancer names that begin with `internal-`, and the load \
             balancer is named after the stack",
            format!("drop the prefix, e.g. `{}`", rest("internal-")),
        ));
    }
    if s == "sg" || s.starts_with("sg-") {
        return Err(problem(
            "AWS refuses security group names that begin with `sg-`, and the groups are \
             named `<stack>-alb` and `<stack>-instances`",
            format!("use another name, e.g. `{}-stack`", rest("sg-")),
        ));
    }
    Ok(())
}

/// The closest valid name to `s`, or an empty string when nothing usable is left.
fn sanitize_name(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        if out.is_empty() && c.is_ascii_digit() {
            continue;
        }
        out.push(c);
    }
    out.truncate(NAME_MAX);
    out.trim_end_matches('-').to_string()
}

/// A region code: `eu-west-2`, `us-gov-west-1`, `cn-north-1`.
pub(crate) fn region(s: &str) -> Result<(), Problem> {
    let parts: Vec<&str> = s.split('-').collect();
    let ok = parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].chars().all(|c| c.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty();
    if ok {
        Ok(())
    } else {
        Err(problem(
            "it is not a region code",
            "use a region code like `eu-west-2` (London) or `us-east-1`",
        ))
    }
}

/// An availability zone name (`eu-west-2a`); returns its region (`eu-west-2`).
pub(crate) fn az_name(s: &str) -> Result<&str, Problem> {
    let bad = || {
        problem(
            "it is not an availability zone name",
            "use the region followed by a letter, e.g. `eu-west-2a`",
        )
    };
    let letter = s.chars().last().ok_or_else(bad)?;
    if !letter.is_ascii_lowercase() {
        return Err(bad());
    }
    let region_part = &s[..s.len() - 1];
    region(region_part).map_err(|_| bad())?;
    Ok(region_part)
}

/// A DNS zone name, normalised to lowercase with a trailing dot.
pub(crate) fn zone(s: &str) -> Result<String, Problem> {
    let hint = "use dot-separated labels of letters, digits and `-`, e.g. `myorg.local.`";
    let lower = s.to_ascii_lowercase();
    let bare = lower.strip_suffix('.').unwrap_or(&lower);
    if bare.is_empty() {
        return Err(problem("it is empty", hint));
    }
    if bare.len() > 253 {
        return Err(problem(
            format!("it is {} characters long, the limit is 253", bare.len()),
            "use a shorter name",
        ));
    }
    for label in bare.split('.') {
        if label.is_empty() {
            return Err(problem("it has an empty label (`..`)", hint));
        }
        if label.len() > 63 {
            return Err(problem(
                format!("the label `{label}` is longer than 63 characters"),
                "shorten that label",
            ));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(problem(format!("`{c}` is not allowed in a DNS name"), hint));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(problem(
                format!("the label `{label}` starts or ends with `-`"),
                hint,
            ));
        }
    }
    Ok(format!("{bare}."))
}

/// An EC2 instance type: `family.size` (`t3.small`, `m7g.2xlarge`, `m7i.metal-24xl`).
pub(crate) fn instance_type(s: &str) -> Result<(), Problem> {
    let part_ok = |p: &str, first_letter: bool| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && (!first_letter || p.starts_with(|c: char| c.is_ascii_lowercase()))
            && !p.starts_with('-')
            && !p.ends_with('-')
    };
    match s.split_once('.') {
        Some((family, size)) if part_ok(family, true) && part_ok(size, false) => Ok(()),
        _ => Err(problem(
            "an instance type is `family.size` in lowercase",
            "for example `t3.small`, `m7g.large` or `c6i.2xlarge`",
        )),
    }
}

/// `ssm:/parameter/path` or `ami-0123456789abcdef0`.
pub(crate) fn ami(s: &str) -> Result<Ami, Problem> {
    let hint = "use `ssm:/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id` \
                or an image id like `ami-0123456789abcdef0`";
    if let Some(path) = s.strip_prefix("ssm:") {
        if path.len() > 1
            && path.starts_with('/')
            && !path.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Ok(Ami::Ssm(path.to_string()));
        }
        return Err(problem(
            "an SSM parameter path must start with `/` and contain no spaces",
            hint,
        ));
    }
    if let Some(hex) = s.strip_prefix("ami-") {
        if (8..=17).contains(&hex.len())
            && hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        {
            return Ok(Ami::Id(s.to_string()));
        }
        return Err(problem(
            "an AMI id is `ami-` followed by 8 to 17 lowercase hexadecimal digits",
            hint,
        ));
    }
    Err(problem("it is neither `ssm:/...` nor `ami-...`", hint))
}

/// An ACM certificate ARN in any partition; returns the ARN's region.
pub(crate) fn certificate_arn(s: &str) -> Result<&str, Problem> {
    let hint = "copy the certificate's ARN from ACM, e.g. \
                `arn:aws:acm:eu-west-2:123456789012:certificate/…`";
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    if parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "acm"
        && region(parts[3]).is_ok()
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && parts[5].starts_with("certificate/")
        && parts[5].len() > "certificate/".len()
    {
        Ok(parts[3])
    } else {
        Err(problem(
            "it is not an ACM certificate ARN (`arn:aws:acm:<region>:<account>:certificate/<id>`)",
            hint,
        ))
    }
}

/// An environment variable name a container may set.
pub(crate) fn env_key(s: &str) -> Result<(), Problem> {
    let valid = s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        let mut fixed: String = s
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect();
        if !fixed.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            fixed.insert(0, '_');
        }
        return Err(problem(
            "it is not a valid environment variable name",
            format!("use letters, digits and `_`, not starting with a digit, e.g. `{fixed}`"),
        ));
    }
    if s.starts_with("AWS_") {
        return Err(problem(
            "names starting with `AWS_` are reserved for AWS's own variables",
            "rename it without the `AWS_` prefix",
        ));
    }
    Ok(())
}

/// A container image reference.
pub(crate) fn image(s: &str) -> Result<(), Problem> {
    let hint = "use an image reference like `public.ecr.aws/docker/library/python:3.12-slim`";
    if s.is_empty() {
        return Err(problem("it is empty", hint));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(problem("it contains whitespace", hint));
    }
    if s.len() > 255 {
        return Err(problem(
            format!("it is {} characters long, ECS accepts at most 255", s.len()),
            hint,
        ));
    }
    Ok(())
}

fn tag_chars_ok(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c))
}

/// The most tags a user may add: AWS allows 50 per resource (ECS API reference, Tag) and
/// ecsctl adds `Name`, `ecsctl:stack` and `ecsctl:address`, and on task definitions
/// `ecsctl:token` too.
pub(crate) const MAX_USER_TAGS: usize = 46;

pub(crate) fn tag_key(s: &str) -> Result<(), Problem> {
    let lower = s.to_ascii_lowercase();
    if s.is_empty() {
        return Err(problem("it is empty", "give the tag a name"));
    }
    if lower.starts_with("aws:") {
        return Err(problem(
            "the `aws:` prefix is reserved for AWS",
            "choose a key without the `aws:` prefix",
        ));
    }
    if lower.starts_with("ecsctl:") {
        return Err(problem(
            "the `ecsctl:` prefix is reserved for ecsctl's own tags",
            "choose a key without the `ecsctl:` prefix",
        ));
    }
    if s.chars().count() > 128 {
        return Err(problem(
            format!(
                "it is {} characters long, the limit is 128",
                s.chars().count()
            ),
            "use a shorter key",
        ));
    }
    if !tag_chars_ok(s) {
        return Err(problem(
            "it contains a character that not every AWS service accepts in tags",
            "use letters, digits, spaces and `_ . : / = + - @`",
        ));
    }
    Ok(())
}

pub(crate) fn tag_value(s: &str) -> Result<(), Problem> {
    if s.chars().count() > 256 {
        return Err(problem(
            format!(
                "it is {} characters long, the limit is 256",
                s.chars().count()
            ),
            "use a shorter value",
        ));
    }
    if !tag_chars_ok(s) {
        return Err(problem(
            "it contains a character that not every AWS service accepts in tags",
            "use letters, digits, spaces and `_ . : / = + - @`",
        ));
    }
    Ok(())
}

/// `health_check_path`: an absolute URL path.
pub(crate) fn health_check_path(s: &str) -> Result<(), Problem> {
    if !s.starts_with('/') {
        return Err(problem(
            "it must start with `/`",
            format!("write it as `/{}`", s.trim_start_matches('/')),
        ));
    }
    if s.len() > 1024 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(problem(
            "it must be at most 1024 characters without spaces",
            "use a plain path such as `/health`",
        ));
    }
    Ok(())
}

/// `path`: an ALB path-pattern condition.
pub(crate) fn path_pattern(s: &str) -> Result<(), Problem> {
    if !s.starts_with('/') {
        return Err(problem(
            "a path pattern must start with `/`",
            format!("write it as `/{}`", s.trim_start_matches('/')),
        ));
    }
    if s.len() > 128 {
        return Err(problem(
            format!("it is {} characters long, the ALB limit is 128", s.len()),
            "use a shorter pattern such as `/api/*`",
        ));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_-.$/~\"'@:+&*?".contains(*c)))
    {
        return Err(problem(
            format!("`{c}` is not allowed in an ALB path pattern"),
            "use letters, digits, `_-.$/~\"'@:+&` and the wildcards `*` and `?`",
        ));
    }
    Ok(())
}

/// `host`: an ALB host-header condition.
pub(crate) fn host_pattern(s: &str) -> Result<(), Problem> {
    let hint = "use a host name such as `api.example.com` (`*` and `?` are wildcards)";
    if s.is_empty() {
        return Err(problem("it is empty", hint));
    }
    if s.len() > 128 {
        return Err(problem(
            format!("it is {} characters long, the ALB limit is 128", s.len()),
            hint,
        ));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-.*?".contains(*c)))
    {
        return Err(problem(
            format!("`{c}` is not allowed in a host name"),
            hint,
        ));
    }
    if s.starts_with('.') || s.ends_with('.') || s.contains("..") {
        return Err(problem("it has an empty label", hint));
    }
    Ok(())
}

/// Retention periods CloudWatch Logs accepts, in days.
pub(crate) const LOG_RETENTION_DAYS: [i64; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

pub(crate) fn log_retention(days: i64) -> Result<u32, Problem> {
    if LOG_RETENTION_DAYS.contains(&days) {
        return Ok(days as u32);
    }
    let nearest = LOG_RETENTION_DAYS
        .iter()
        .min_by_key(|d| (*d - days).abs())
        .copied()
        .unwrap_or(30);
    Err(problem(
        "CloudWatch Logs does not accept that retention period",
        format!(
            "use one of {} (the nearest is {nearest})",
            LOG_RETENTION_DAYS
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ))
}

/// An EC2 key pair name.
pub(crate) fn key_name(s: &str) -> Result<(), Problem> {
    if s.is_empty() || s.len() > 255 || !s.chars().all(|c| c.is_ascii() && !c.is_ascii_control()) {
        return Err(problem(
            "a key pair name is 1 to 255 printable ASCII characters",
            "use the name shown in the EC2 console under Key pairs",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_names_aws_reserves() {
        assert!(stack_name("hello").is_ok());
        assert!(stack_name("internal").is_ok());
        assert!(stack_name("sgx").is_ok());
        let p = stack_name("internal-api").unwrap_err();
        assert!(p.reason.contains("internal-"), "{p:?}");
        assert!(p.hint.contains("`api`"), "{p:?}");
        assert!(stack_name("sg").is_err());
        assert!(stack_name("sg-web")
            .unwrap_err()
            .hint
            .contains("`web-stack`"));
    }

    #[test]
    fn names() {
        assert!(resource_name("hello").is_ok());
        assert!(resource_name("a1-b2").is_ok());
        assert_eq!(resource_name("").unwrap_err().reason, "it is empty");
        let e = resource_name("Hello_World").unwrap_err();
        assert_eq!(e.reason, "it must start with a lowercase letter");
        assert!(e.hint.contains("`hello-world`"), "{}", e.hint);
        assert_eq!(
            resource_name("a_b").unwrap_err().reason,
            "`_` is not allowed"
        );
        assert_eq!(
            resource_name("ab-").unwrap_err().reason,
            "it must not end with `-`"
        );
        assert_eq!(
            resource_name("a--b").unwrap_err().reason,
            "it must not contain `--`"
        );
        assert!(resource_name(&"a".repeat(21))
            .unwrap_err()
            .reason
            .contains("21 characters"));
        assert!(resource_name(&"a".repeat(20)).is_ok());
        assert!(resource_name("1abc").unwrap_err().hint.contains("`abc`"));
    }

    #[test]
    fn regions_and_azs() {
        for ok in [
            "eu-west-2",
            "us-east-1",
            "us-gov-west-1",
            "cn-north-1",
            "ap-southeast-4",
        ] {
            assert!(region(ok).is_ok(), "{ok}");
        }
        for bad in [
            "eu-west",
            "euwest2",
            "EU-WEST-2",
            "eu-west-2a",
            "e-west-2",
            "eu--2",
            "",
        ] {
            assert!(region(bad).is_err(), "{bad}");
        }
        assert_eq!(az_name("eu-west-2a").unwrap(), "eu-west-2");
        assert!(az_name("eu-west-2").is_err());
        assert!(az_name("eu-west-2A").is_err());
        assert!(az_name("").is_err());
        assert!(az_name("é").is_err());
    }

    #[test]
    fn zones() {
        assert_eq!(zone("MyOrg.Local").unwrap(), "myorg.local.");
        assert_eq!(zone("myorg.local.").unwrap(), "myorg.local.");
        assert_eq!(zone("internal").unwrap(), "internal.");
        assert!(zone("").is_err());
        assert!(zone(".").is_err());
        assert!(zone("a..b").unwrap_err().reason.contains("empty label"));
        assert!(zone("-a.local").is_err());
        assert!(zone("a_b.local").unwrap_err().reason.contains("`_`"));
        assert!(zone(&format!("{}.local", "a".repeat(64))).is_err());
        let long = vec!["abcdefghi"; 26].join(".");
        assert!(zone(&long).unwrap_err().reason.contains("253"));
    }

    #[test]
    fn instance_types() {
        for ok in [
            "t3.small",
            "m7g.2xlarge",
            "m7i.metal-24xl",
            "u-6tb1.metal",
            "c7gn.medium",
        ] {
            assert!(instance_type(ok).is_ok(), "{ok}");
        }
        for bad in [
            "t3",
            "t3.",
            ".small",
            "T3.small",
            "t3 small",
            "3t.small",
            "t3.small.x",
        ] {
            assert!(instance_type(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn amis() {
        assert_eq!(ami("ssm:/a/b").unwrap(), Ami::Ssm("/a/b".into()));
        assert_eq!(
            ami("ami-0123456789abcdef0").unwrap(),
            Ami::Id("ami-0123456789abcdef0".into())
        );
        assert!(ami("ami-12345678").is_ok());
        assert!(ami("ami-1234567").is_err());
        assert!(ami("ami-0123456789ABCDEF0").is_err());
        assert!(ami("ssm:").is_err());
        assert!(ami("ssm:a/b").is_err());
        assert!(ami("ubuntu").is_err());
    }

    #[test]
    fn certificate_arns() {
        let arn = "arn:aws:acm:eu-west-2:123456789012:certificate/0a1b2c3d";
        assert_eq!(certificate_arn(arn).unwrap(), "eu-west-2");
        assert!(
            certificate_arn("arn:aws-us-gov:acm:us-gov-west-1:123456789012:certificate/x").is_ok()
        );
        assert!(certificate_arn("arn:aws:iam::123456789012:certificate/x").is_err());
        assert!(certificate_arn("arn:aws:acm:eu-west-2:123:certificate/x").is_err());
        assert!(certificate_arn("arn:aws:acm:eu-west-2:123456789012:certificate/").is_err());
    }

    #[test]
    fn env_keys() {
        assert!(env_key("GREETING").is_ok());
        assert!(env_key("_x1").is_ok());
        assert!(env_key("aws_profile").is_ok());
        let e = env_key("AWS_REGION").unwrap_err();
        assert!(e.reason.contains("reserved"));
        let e = env_key("1-bad").unwrap_err();
        assert!(e.hint.contains("`_1_BAD`"), "{}", e.hint);
        assert!(env_key("").is_err());
    }

    #[test]
    fn images_tags_paths_hosts() {
        assert!(image("nginx:1.27").is_ok());
        assert!(image("").is_err());
        assert!(image("nginx latest").is_err());
        assert!(tag_key("Environment").is_ok());
        assert!(tag_key("aws:cloudformation").is_err());
        assert!(tag_key("AWS:x").is_err());
        assert!(tag_key("ecsctl:stack").is_err());
        assert!(tag_key(&"k".repeat(129)).is_err());
        assert!(tag_value(&"v".repeat(256)).is_ok());
        assert!(tag_value(&"v".repeat(257)).is_err());
        assert!(tag_value("a#b").is_err());
        assert!(health_check_path("/health").is_ok());
        assert_eq!(
            health_check_path("health").unwrap_err().hint,
            "write it as `/health`"
        );
        assert!(path_pattern("/api/*").is_ok());
        assert!(path_pattern("api/*").is_err());
        assert!(path_pattern("/a b").is_err());
        assert!(host_pattern("api.example.com").is_ok());
        assert!(host_pattern("*.example.com").is_ok());
        assert!(host_pattern("api..example.com").is_err());
        assert!(host_pattern("api_x.com").is_err());
        assert!(host_pattern("").is_err());
    }

    #[test]
    fn retention_and_key_names() {
        assert_eq!(log_retention(30).unwrap(), 30);
        assert_eq!(log_retention(3653).unwrap(), 3653);
        let e = log_retention(31).unwrap_err();
        assert!(e.hint.contains("the nearest is 30"), "{}", e.hint);
        assert!(log_retention(0).is_err());
        assert!(key_name("eHa").is_ok());
        assert!(key_name("").is_err());
        assert!(key_name("é").is_err());
    }
}
