//! Auto Scaling and the ECS agent: the architecture a launch template's image must share
//! with its instance type, and the agent on each instance, which registers the instance
//! with its cluster only when it can reach ECS (through a NAT or an internet gateway), and
//! whose instance ECS deregisters on termination only while that agent is connected.

use super::request::{xml_items, xml_texts, Req};
use super::upstream::Upstream;
use super::{Refusal, RuleDoc, Rules};
use base64::Engine;
use serde_json::{json, Value};

pub(crate) const ARCHITECTURE: RuleDoc = RuleDoc {
    name: "autoscaling-architecture",
    calls: "autoscaling:CreateAutoScalingGroup, autoscaling:UpdateAutoScalingGroup",
    behaviour: "A launch template whose image's architecture the instance type does not support \
                is refused: ValidationError `You must use a valid fully-formed launch template. \
                The architecture 'arm64' of the specified instance type does not match the \
                architecture 'x86_64' of the specified AMI. ...`",
    source: "https://github.com/eksctl-io/eksctl/issues/8235; \
             https://github.com/Genaker/TerraformMagentoCloud/issues/21",
};

pub(crate) const AGENT: RuleDoc = RuleDoc {
    name: "ecs-agent",
    calls: "autoscaling:CreateAutoScalingGroup, autoscaling:UpdateAutoScalingGroup, \
            autoscaling:SetDesiredCapacity, autoscaling:DeleteAutoScalingGroup",
    behaviour: "Each instance's ECS agent registers it with the cluster its user data names \
                (`ECS_CLUSTER=`), but only if its subnet has a way out (a route to an \
                available NAT gateway in a subnet routed to an attached internet gateway, or \
                to that gateway). When an instance terminates, ECS deregisters it only if its \
                agent is still connected; an instance whose way out was cut stays registered \
                (the layer counts it as stranded).",
    source: "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeregisterContainerInstance.html \
             (\"stopped container instances or instances with disconnected agents aren't \
             automatically deregistered when terminated\"); \
             https://docs.aws.amazon.com/AmazonECS/latest/developerguide/launch_container_instance.html",
};

/// An instance whose agent registered it.
#[derive(Debug, Clone)]
pub(crate) struct Agent {
    pub instance: String,
    pub subnet: String,
    pub cluster: String,
    pub arn: String,
}

pub(crate) async fn before(req: &Req<'_>, up: &Upstream) -> Option<(&'static str, Refusal)> {
    if !matches!(
        req.call.action.as_str(),
        "CreateAutoScalingGroup" | "UpdateAutoScalingGroup"
    ) {
        return None;
    }
    let id = req.param("LaunchTemplate.LaunchTemplateId");
    let name = req.param("LaunchTemplate.LaunchTemplateName");
    if id.is_none() && name.is_none() {
        return None;
    }
    let version = req.param("LaunchTemplate.Version").unwrap_or("$Default");
    let data = template_data(up, id, name, version).await?;
    let image = xml_texts(&data, "imageId").into_iter().next()?;
    let itype = xml_texts(&data, "instanceType").into_iter().next()?;
    let images = up.ec2("DescribeImages", &[("ImageId.1", &image)]).await?;
    let image_arch = xml_texts(&images, "architecture").into_iter().next()?;
    let types = up
        .ec2("DescribeInstanceTypes", &[("InstanceType.1", &itype)])
        .await?;
    let supported = xml_items(&types, "supportedArchitectures")
        .first()
        .map(|s| xml_texts(s, "item"))
        .unwrap_or_default();
    if supported.is_empty() || supported.contains(&image_arch) {
        return None;
    }
    Some((
        ARCHITECTURE.name,
        Refusal::new(
            400,
            "ValidationError",
            format!(
                "You must use a valid fully-formed launch template. The architecture '{}' of \
                 the specified instance type does not match the architecture '{image_arch}' of \
                 the specified AMI. Specify an instance type and an AMI that have matching \
                 architectures, and try again. You can use 'describe-instance-types' or \
                 'describe-images' to discover the architecture of the instance type or AMI.",
                supported.join(", ")
            ),
        ),
    ))
}

/// The `launchTemplateData` XML of one version.
async fn template_data(
    up: &Upstream,
    id: Option<&str>,
    name: Option<&str>,
    version: &str,
) -> Option<String> {
    let mut params = vec![("LaunchTemplateVersion.1", version)];
    match (id, name) {
        (Some(id), _) => params.push(("LaunchTemplateId", id)),
        (None, Some(name)) => params.push(("LaunchTemplateName", name)),
        _ => return None,
    }
    let xml = up.ec2("DescribeLaunchTemplateVersions", &params).await?;
    xml_items(&xml, "launchTemplateData")
        .first()
        .map(|s| s.to_string())
}

/// After a call that may start or stop instances: agents register new instances, ECS
/// deregisters (or strands) the ones that are gone.
pub(crate) async fn after(rules: &Rules, req: &Req<'_>, up: &Upstream) {
    if !matches!(
        req.call.action.as_str(),
        "CreateAutoScalingGroup"
            | "UpdateAutoScalingGroup"
            | "SetDesiredCapacity"
            | "DeleteAutoScalingGroup"
            | "TerminateInstanceInAutoScalingGroup"
    ) {
        return;
    }
    let Some(group) = req.param("AutoScalingGroupName") else {
        return;
    };
    reconcile(rules, &req.account(), group, up).await;
}

/// Brings the agents of `group` in line with its instances.
async fn reconcile(rules: &Rules, account: &str, group: &str, up: &Upstream) {
    // One description of the group serves its instances and, for new ones, its template.
    let described = up
        .autoscaling(
            "DescribeAutoScalingGroups",
            &[("AutoScalingGroupNames.member.1", group)],
        )
        .await
        .unwrap_or_default();
    let running = group_instances(&described);
    let key = (account.to_string(), group.to_string());
    let known: Vec<Agent> = rules.mem().agents.get(&key).cloned().unwrap_or_default();
    let mut kept = Vec::new();
    for agent in known {
        if running.iter().any(|(id, _)| *id == agent.instance) {
            kept.push(agent);
        } else if way_out(up, &agent.subnet).await {
            let _ = up
                .ecs(
                    "DeregisterContainerInstance",
                    json!({ "cluster": agent.cluster, "containerInstance": agent.arn, "force": true }),
                )
                .await;
        } else {
            rules
                .mem()
                .stranded
                .push((account.to_string(), agent.arn.clone()));
        }
    }
    let new: Vec<&(String, Option<String>)> = running
        .iter()
        .filter(|(id, _)| !kept.iter().any(|a| a.instance == *id))
        .collect();
    if !new.is_empty() {
        if let Some(cluster) = group_cluster(up, &described).await {
            for (instance, _) in new {
                let Some(subnet) = instance_subnet(up, instance).await else {
                    continue;
                };
                if !way_out(up, &subnet).await {
                    continue;
                }
                let document = json!({ "instanceId": instance, "region": up.region() }).to_string();
                let Some(answer) = up
                    .ecs(
                        "RegisterContainerInstance",
                        json!({ "cluster": cluster, "instanceIdentityDocument": document }),
                    )
                    .await
                else {
                    continue;
                };
                if let Some(arn) = answer
                    .pointer("/containerInstance/containerInstanceArn")
                    .and_then(Value::as_str)
                {
                    kept.push(Agent {
                        instance: instance.clone(),
                        subnet,
                        cluster: cluster.clone(),
                        arn: arn.to_string(),
                    });
                }
            }
        }
    }
    rules.mem().agents.insert(key, kept);
}

/// The instances of a described group that are in service or starting:
/// `(id, lifecycle state)`.
fn group_instances(xml: &str) -> Vec<(String, Option<String>)> {
    let Some(instances) = xml_items(xml, "Instances").first().copied() else {
        return Vec::new();
    };
    xml_items(instances, "member")
        .into_iter()
        .filter_map(|m| {
            let id = xml_texts(m, "InstanceId").into_iter().next()?;
            let state = xml_texts(m, "LifecycleState").into_iter().next();
            let live = state
                .as_deref()
                .is_none_or(|s| s == "InService" || s.starts_with("Pending"));
            live.then_some((id, state))
        })
        .collect()
}

/// The cluster the group's launch template's user data names.
async fn group_cluster(up: &Upstream, xml: &str) -> Option<String> {
    let lt = xml_items(xml, "LaunchTemplate").first().copied()?;
    let id = xml_texts(lt, "LaunchTemplateId").into_iter().next();
    let version = xml_texts(lt, "Version")
        .into_iter()
        .next()
        .unwrap_or_else(|| "$Default".into());
    let data = template_data(up, id.as_deref(), None, &version).await?;
    let user_data = xml_texts(&data, "userData").into_iter().next()?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(user_data.trim())
        .ok()?;
    cluster_in(&String::from_utf8_lossy(&decoded))
}

/// `ECS_CLUSTER=name` in user data, or `default` as the agent assumes.
fn cluster_in(user_data: &str) -> Option<String> {
    let Some(at) = user_data.find("ECS_CLUSTER=") else {
        return Some("default".into());
    };
    let name: String = user_data[at + "ECS_CLUSTER=".len()..]
        .trim_start_matches(['"', '\''])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

async fn instance_subnet(up: &Upstream, instance: &str) -> Option<String> {
    let xml = up
        .ec2("DescribeInstances", &[("InstanceId.1", instance)])
        .await?;
    xml_texts(&xml, "subnetId").into_iter().next()
}

/// Whether an instance in `subnet` (without a public address) can reach ECS: its route
/// table sends 0.0.0.0/0 to an available NAT gateway whose own subnet routes to an
/// attached internet gateway.
async fn way_out(up: &Upstream, subnet: &str) -> bool {
    match default_target(up, subnet).await {
        Some(Target::Nat(nat)) => {
            let Some(xml) = up
                .ec2("DescribeNatGateways", &[("NatGatewayId.1", &nat)])
                .await
            else {
                return false;
            };
            let available =
                xml_texts(&xml, "state").first().map(String::as_str) == Some("available");
            let Some(nat_subnet) = xml_texts(&xml, "subnetId").into_iter().next() else {
                return false;
            };
            available
                && matches!(default_target(up, &nat_subnet).await, Some(Target::Igw(igw)) if attached(up, &igw).await)
        }
        Some(Target::Igw(igw)) => attached(up, &igw).await,
        None => false,
    }
}

enum Target {
    Nat(String),
    Igw(String),
}

/// Where the subnet's route table (explicit, else the VPC's main one) sends 0.0.0.0/0.
async fn default_target(up: &Upstream, subnet: &str) -> Option<Target> {
    let mut xml = up
        .ec2(
            "DescribeRouteTables",
            &[
                ("Filter.1.Name", "association.subnet-id"),
                ("Filter.1.Value.1", subnet),
            ],
        )
        .await?;
    if xml_texts(&xml, "routeTableId").is_empty() {
        let subnets = up.ec2("DescribeSubnets", &[("SubnetId.1", subnet)]).await?;
        let vpc = xml_texts(&subnets, "vpcId").into_iter().next()?;
        xml = up
            .ec2(
                "DescribeRouteTables",
                &[
                    ("Filter.1.Name", "vpc-id"),
                    ("Filter.1.Value.1", &vpc),
                    ("Filter.2.Name", "association.main"),
                    ("Filter.2.Value.1", "true"),
                ],
            )
            .await?;
    }
    let routes = xml_items(&xml, "routeSet").first().copied()?;
    for route in xml_items(routes, "item") {
        if xml_texts(route, "destinationCidrBlock")
            .first()
            .map(String::as_str)
            != Some("0.0.0.0/0")
        {
            continue;
        }
        if let Some(nat) = xml_texts(route, "natGatewayId").into_iter().next() {
            return Some(Target::Nat(nat));
        }
        if let Some(gw) = xml_texts(route, "gatewayId")
            .into_iter()
            .find(|g| g.starts_with("igw-"))
        {
            return Some(Target::Igw(gw));
        }
    }
    None
}

async fn attached(up: &Upstream, igw: &str) -> bool {
    let Some(xml) = up
        .ec2("DescribeInternetGateways", &[("InternetGatewayId.1", igw)])
        .await
    else {
        return false;
    };
    xml_texts(&xml, "state")
        .iter()
        .any(|s| s == "available" || s == "attached")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_from_user_data() {
        assert_eq!(
            cluster_in("#!/bin/bash\necho ECS_CLUSTER=hello-1 >> /etc/ecs/ecs.config\n"),
            Some("hello-1".into())
        );
        assert_eq!(cluster_in("echo 'ECS_CLUSTER=x_y'"), Some("x_y".into()));
        assert_eq!(cluster_in("#!/bin/bash\n"), Some("default".into()));
    }
}
