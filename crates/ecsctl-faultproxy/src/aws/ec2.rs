//! EC2 rules: security group text and names, tags, and network interfaces that keep
//! security groups and subnets in use.

use super::limits::{sg_text_ok, tags_problem};
use super::request::{xml_items, xml_texts, Req};
use super::upstream::Upstream;
use super::{Refusal, RuleDoc, Rules};
use std::collections::BTreeMap;

pub(crate) const SG_TEXT: RuleDoc = RuleDoc {
    name: "ec2-security-group-text",
    calls: "ec2:CreateSecurityGroup, ec2:AuthorizeSecurityGroupIngress, \
            ec2:AuthorizeSecurityGroupEgress",
    behaviour: "A security group description and the description of each rule may hold only \
                a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$*, at most 255 characters; \
                anything else is InvalidParameterValue (`Invalid rule description. Valid \
                descriptions are strings less than 256 characters from the following set: \
                ...`).",
    source: "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html \
             (GroupDescription), API_IpRange.html (Description); the error text as reported in \
             https://github.com/aws-cloudformation/cfn-lint/issues/173",
};

pub(crate) const SG_NAME: RuleDoc = RuleDoc {
    name: "ec2-security-group-name",
    calls: "ec2:CreateSecurityGroup",
    behaviour: "A security group name has at most 255 characters and cannot start with `sg-` \
                (`Group names may not be in the format sg-*.`).",
    source:
        "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html \
             (GroupName); the error as reported in https://github.com/pulumi/pulumi-awsx/issues/328",
};

pub(crate) const TAGS: RuleDoc = RuleDoc {
    name: "ec2-tags",
    calls: "ec2:Create* (TagSpecification), ec2:CreateTags",
    behaviour: "At most 50 tags a resource, keys of 1-128 characters not starting with `aws:`, \
                values of at most 256 characters.",
    source: "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Tag.html",
};

pub(crate) const IN_USE_BY_ENI: RuleDoc = RuleDoc {
    name: "ec2-in-use-by-network-interface",
    calls: "ec2:DeleteSecurityGroup, ec2:DeleteSubnet",
    behaviour: "A security group or subnet that a load balancer's network interface \
                (`ELB ...`) still uses cannot be deleted (DependencyViolation). Other \
                interfaces are not counted: the emulator keeps those of terminated instances \
                and deleted NAT gateways, which AWS removes.",
    source: "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteSecurityGroup.html; \
             https://github.com/hashicorp/terraform-provider-aws/issues/40",
};

pub(crate) async fn before(
    _rules: &Rules,
    req: &Req<'_>,
    up: &Upstream,
) -> Option<(&'static str, Refusal)> {
    if let Some(problem) = tag_problem(req) {
        return Some((
            TAGS.name,
            Refusal::new(400, "InvalidParameterValue", problem),
        ));
    }
    match req.call.action.as_str() {
        "CreateSecurityGroup" => create_security_group(req),
        "AuthorizeSecurityGroupIngress" | "AuthorizeSecurityGroupEgress" => rule_descriptions(req),
        "DeleteSecurityGroup" => {
            let id = req.param("GroupId")?;
            in_use(up, "group-id", id).await.then(|| {
                (
                    IN_USE_BY_ENI.name,
                    Refusal::new(
                        400,
                        "DependencyViolation",
                        format!("resource {id} has a dependent object"),
                    ),
                )
            })
        }
        "DeleteSubnet" => {
            let id = req.param("SubnetId")?;
            in_use(up, "subnet-id", id).await.then(|| {
                (
                    IN_USE_BY_ENI.name,
                    Refusal::new(
                        400,
                        "DependencyViolation",
                        format!("The subnet '{id}' has dependencies and cannot be deleted."),
                    ),
                )
            })
        }
        _ => None,
    }
}

/// Whether a load balancer's network interface uses `value` (a group or a subnet).
async fn in_use(up: &Upstream, filter: &str, value: &str) -> bool {
    let Some(xml) = up
        .ec2(
            "DescribeNetworkInterfaces",
            &[
                ("Filter.1.Name", filter),
                ("Filter.1.Value.1", value),
                ("Filter.2.Name", "description"),
                ("Filter.2.Value.1", "ELB *"),
            ],
        )
        .await
    else {
        return false;
    };
    !xml_texts(&xml, "networkInterfaceId").is_empty()
}

fn create_security_group(req: &Req) -> Option<(&'static str, Refusal)> {
    let name = req.param("GroupName").unwrap_or("");
    let description = req.param("GroupDescription").unwrap_or("");
    if name.starts_with("sg-") || name.chars().count() > 255 {
        return Some((
            SG_NAME.name,
            Refusal::new(
                400,
                "InvalidParameterValue",
                format!(
                    "Value ({name}) for parameter GroupName is invalid. Group names may not be \
                     in the format sg-* and may have at most 255 characters."
                ),
            ),
        ));
    }
    if !sg_text_ok(description) || description.chars().count() > 255 {
        return Some((
            SG_TEXT.name,
            Refusal::new(
                400,
                "InvalidParameterValue",
                "Invalid security group description. Valid descriptions are strings less than \
                 256 characters from the following set:  a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*",
            ),
        ));
    }
    None
}

fn rule_descriptions(req: &Req) -> Option<(&'static str, Refusal)> {
    let bad = req
        .params_like("IpPermissions.", ".Description")
        .into_iter()
        .any(|(_, d)| !sg_text_ok(d) || d.chars().count() > 255);
    bad.then(|| {
        (
            SG_TEXT.name,
            Refusal::new(
                400,
                "InvalidParameterValue",
                "Invalid rule description. Valid descriptions are strings less than 256 \
                 characters from the following set:  a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*",
            ),
        )
    })
}

/// The tags of a create call's `TagSpecification.N.Tag.M.*` or CreateTags' `Tag.M.*`,
/// checked per specification.
fn tag_problem(req: &Req) -> Option<String> {
    // prefix (`TagSpecification.1.` or ``) -> index -> (key, value)
    let mut sets: BTreeMap<String, BTreeMap<String, (String, String)>> = BTreeMap::new();
    for (k, v) in req.params_like("", "") {
        let (prefix, rest) = match k.strip_prefix("TagSpecification.") {
            Some(rest) => {
                let Some((n, rest)) = rest.split_once('.') else {
                    continue;
                };
                (format!("TagSpecification.{n}."), rest.to_string())
            }
            None => (String::new(), k.to_string()),
        };
        let Some(rest) = rest.strip_prefix("Tag.") else {
            continue;
        };
        let Some((index, field)) = rest.split_once('.') else {
            continue;
        };
        let entry = sets
            .entry(prefix)
            .or_default()
            .entry(index.to_string())
            .or_default();
        match field {
            "Key" => entry.0 = v.to_string(),
            "Value" => entry.1 = v.to_string(),
            _ => {}
        }
    }
    sets.values()
        .find_map(|tags| tags_problem(tags.values().map(|(k, v)| (k.as_str(), v.as_str()))))
}

pub(crate) const LAUNCH_TEMPLATE_TAGS: RuleDoc = RuleDoc {
    name: "ec2-launch-template-tags",
    calls: "ec2:DescribeLaunchTemplates",
    behaviour: "A launch template's `Tags` are its current tags: CreateTags and DeleteTags on \
                the template show in DescribeLaunchTemplates. (moto answers with the tags the \
                template was created with; the layer answers with the current ones.)",
    source: "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_LaunchTemplate.html \
             (Tags: the tags for the launch template); API_CreateTags.html (launch templates \
             are taggable resources)",
};

/// What AWS would have answered instead of `answer`, where moto answers otherwise.
pub(crate) async fn rewrite(req: &Req<'_>, answer: &str, up: &Upstream) -> Option<String> {
    if req.key() != "ec2:DescribeLaunchTemplates" {
        return None;
    }
    let ids = xml_texts(answer, "launchTemplateId");
    if ids.is_empty() {
        return None;
    }
    let keys: Vec<String> = (1..=ids.len())
        .map(|i| format!("Filter.1.Value.{i}"))
        .collect();
    let mut params: Vec<(&str, &str)> = vec![("Filter.1.Name", "resource-id")];
    params.extend(
        keys.iter()
            .map(String::as_str)
            .zip(ids.iter().map(String::as_str)),
    );
    let listed = up.ec2("DescribeTags", &params).await?;
    let mut current: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for item in xml_items(&listed, "item") {
        let one = |tag: &str| xml_texts(item, tag).into_iter().next().unwrap_or_default();
        current
            .entry(one("resourceId"))
            .or_default()
            .push((one("key"), one("value")));
    }
    Some(with_tag_sets(answer, &current))
}

/// `answer` with the `tagSet` of each launch template (the first after its id) holding
/// `current`'s tags for that id.
fn with_tag_sets(answer: &str, current: &BTreeMap<String, Vec<(String, String)>>) -> String {
    const ID: &str = "<launchTemplateId>";
    let mut out = String::with_capacity(answer.len());
    let mut rest = answer;
    while let Some(at) = rest.find(ID) {
        let segment_end = rest[at + ID.len()..]
            .find(ID)
            .map_or(rest.len(), |n| at + ID.len() + n);
        let segment = &rest[..segment_end];
        let id = xml_texts(segment, "launchTemplateId")
            .into_iter()
            .next()
            .unwrap_or_default();
        let tags = current.get(&id).map(Vec::as_slice).unwrap_or_default();
        let items: String = tags
            .iter()
            .map(|(k, v)| {
                format!(
                    "<item><key>{}</key><value>{}</value></item>",
                    escape(k),
                    escape(v)
                )
            })
            .collect();
        match (segment.find("<tagSet>"), segment.find("</tagSet>")) {
            (Some(open), Some(close)) if open < close => {
                out.push_str(&segment[..open]);
                out.push_str("<tagSet>");
                out.push_str(&items);
                out.push_str(&segment[close..]);
            }
            _ => match segment.find("<tagSet/>") {
                Some(empty) => {
                    out.push_str(&segment[..empty]);
                    out.push_str(&format!("<tagSet>{items}</tagSet>"));
                    out.push_str(&segment[empty + "<tagSet/>".len()..]);
                }
                None => out.push_str(segment),
            },
        }
        rest = &rest[segment_end..];
    }
    out.push_str(rest);
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod launch_template_tests {
    use super::*;

    #[test]
    fn each_template_gets_its_current_tags() {
        let answer = "<r><launchTemplates>\
            <item><launchTemplateId>lt-1</launchTemplateId><tagSet><item><key>a</key><value>1</value></item></tagSet></item>\
            <item><launchTemplateId>lt-2</launchTemplateId><tagSet/></item>\
            </launchTemplates></r>";
        let mut current = BTreeMap::new();
        current.insert(
            "lt-1".to_string(),
            vec![("a".into(), "1".into()), ("b".into(), "x&y".into())],
        );
        current.insert("lt-2".to_string(), vec![("c".into(), "3".into())]);
        let out = with_tag_sets(answer, &current);
        assert_eq!(
            out,
            "<r><launchTemplates>\
            <item><launchTemplateId>lt-1</launchTemplateId><tagSet><item><key>a</key><value>1</value></item><item><key>b</key><value>x&amp;y</value></item></tagSet></item>\
            <item><launchTemplateId>lt-2</launchTemplateId><tagSet><item><key>c</key><value>3</value></item></tagSet></item>\
            </launchTemplates></r>"
        );
    }
}
