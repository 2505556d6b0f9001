//! The handler of each kind.

use super::*;
use ecsctl_graph::Kind;

pub fn handler(kind: Kind) -> &'static dyn Handler {
    match kind {
        Kind::Vpc => &vpc::Vpc,
        Kind::InternetGateway => &internet_gateway::InternetGateway,
        Kind::Subnet => &subnet::Subnet,
        Kind::RouteTable => &route_table::RouteTable,
        Kind::Eip => &eip::Eip,
        Kind::NatGateway => &nat_gateway::NatGateway,
        Kind::HostedZone => &hosted_zone::HostedZone,
        Kind::DnsRecord => &dns_record::DnsRecord,
        Kind::SecurityGroup => &security_group::SecurityGroup,
        Kind::IamRole => &iam_role::IamRole,
        Kind::IamInstanceProfile => &iam_instance_profile::IamInstanceProfile,
        Kind::EcsCluster => &ecs_cluster::EcsCluster,
        Kind::LaunchTemplate => &launch_template::LaunchTemplate,
        Kind::AutoscalingGroup => &autoscaling_group::AutoscalingGroup,
        Kind::ScalingPolicy => &scaling_policy::ScalingPolicy,
        Kind::Lb => &lb::Lb,
        Kind::LbTargetGroup => &lb_target_group::LbTargetGroup,
        Kind::LbListener => &lb_listener::LbListener,
        Kind::LbListenerRule => &lb_listener_rule::LbListenerRule,
        Kind::LogGroup => &log_group::LogGroup,
        Kind::TaskDefinition => &task_definition::TaskDefinition,
        Kind::EcsService => &ecs_service::EcsService,
    }
}
