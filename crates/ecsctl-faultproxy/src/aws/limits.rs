//! Field rules AWS enforces and the emulator does not: character sets, lengths, tag limits.

/// Characters AWS accepts in a security group's description and in the descriptions of its
/// rules: "a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*" (EC2 API reference,
/// CreateSecurityGroup `GroupDescription` and IpRange/UserIdGroupPair `Description`).
pub(crate) fn sg_text_ok(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || " ._-:/()#,@[]+=&;{}!$*".contains(c))
}

/// The tag limits AWS documents for every service ("Tagging your AWS resources", tag
/// naming limits): at most 50 user tags a resource, keys of 1–128 and values of 0–256
/// characters, keys that do not start with `aws:`. `None` when `tags` fit, else the
/// problem.
pub(crate) fn tags_problem<'t>(
    tags: impl IntoIterator<Item = (&'t str, &'t str)>,
) -> Option<String> {
    let tags: Vec<(&str, &str)> = tags.into_iter().collect();
    if tags.len() > 50 {
        return Some(format!(
            "{} tags: a resource can have at most 50 tags",
            tags.len()
        ));
    }
    for (k, v) in tags {
        let kn = k.chars().count();
        if kn == 0 || kn > 128 {
            return Some(format!(
                "Tag key '{k}' is {kn} characters long: keys must be 1 to 128 characters"
            ));
        }
        if v.chars().count() > 256 {
            return Some(format!(
                "Tag value of key '{k}' is {} characters long: values may have at most 256",
                v.chars().count()
            ));
        }
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Some(format!("Tag key '{k}' uses the reserved prefix 'aws:'"));
        }
    }
    None
}

/// Load balancer and target group names: "a maximum of 32 alphanumeric characters
/// including hyphens … must not begin or end with a hyphen" and a load balancer's "must
/// not begin with internal-" (ELBv2 API reference, CreateLoadBalancer / CreateTargetGroup
/// `Name`).
pub(crate) fn elb_name_problem(name: &str, load_balancer: bool) -> Option<String> {
    if name.is_empty() || name.len() > 32 {
        return Some(format!("Name '{name}' must be 1 to 32 characters long"));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Some(format!(
            "Name '{name}' can only contain characters that are alphanumeric characters or hyphens(-)"
        ));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Some(format!(
            "Name '{name}' cannot begin or end with '-' character"
        ));
    }
    if load_balancer && name.starts_with("internal-") {
        return Some(format!(
            "Load balancer name '{name}' cannot begin with 'internal-'"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_group_text() {
        assert!(sg_text_ok("HTTP from the load balancer (port 80) #1"));
        assert!(!sg_text_ok("to the containers' dynamic host ports"));
        assert!(!sg_text_ok("é"));
    }

    #[test]
    fn tag_limits() {
        assert!(tags_problem([("Name", "x")]).is_none());
        assert!(tags_problem([("aws:x", "y")]).is_some());
        let long = "k".repeat(129);
        assert!(tags_problem([(long.as_str(), "v")]).is_some());
        let many: Vec<(String, String)> = (0..51).map(|i| (format!("k{i}"), "v".into())).collect();
        assert!(tags_problem(many.iter().map(|(k, v)| (k.as_str(), v.as_str()))).is_some());
    }

    #[test]
    fn elb_names() {
        assert!(elb_name_problem("hello", true).is_none());
        assert!(elb_name_problem("internal-app", true).is_some());
        assert!(elb_name_problem("internal-app", false).is_none());
        assert!(elb_name_problem("a_b", false).is_some());
        assert!(elb_name_problem(&"a".repeat(33), false).is_some());
        assert!(elb_name_problem("-a", false).is_some());
    }
}
