//! What each resource kind is made of: its arguments (set by the stack, compared by the
//! plan), its outputs (known once it exists), which arguments force a replacement, and
//! which AWS API serves it. This table is the contract between expansion, the plan and the
//! provider: the provider receives exactly these arguments, resolved to JSON, and returns
//! these outputs.

use crate::Kind;

/// The shape of one resource kind.
#[derive(Debug, Clone, Copy)]
pub struct KindSchema {
    /// Argument names and what they hold.
    pub args: &'static [(&'static str, &'static str)],
    /// Attributes only known after create (`id` always).
    pub outputs: &'static [&'static str],
    /// Arguments whose change cannot be made in place. `&["*"]` means any change.
    pub replace_on: &'static [&'static str],
    /// Whether a replacement may create the new one before deleting the old one (true where
    /// the name is not unique or changes with the replacement).
    pub create_before_destroy: bool,
    /// The AWS API that serves this kind; the executor bounds concurrency per API.
    pub api: &'static str,
    /// Whether the kind carries tags (the `tags` argument).
    pub taggable: bool,
}

const TAGS: (&str, &str) = (
    "tags",
    "map: Name, ecsctl:stack, ecsctl:address and the stack's tags",
);

impl Kind {
    pub fn schema(self) -> KindSchema {
        use Kind::*;
        match self {
            Vpc => KindSchema {
                args: &[
                    ("cidr_block", "string: IPv4 CIDR"),
                    ("enable_dns_support", "bool"),
                    ("enable_dns_hostnames", "bool"),
                    TAGS,
                ],
                outputs: &["id"],
                replace_on: &["cidr_block"],
                create_before_destroy: false,
                api: "ec2",
                taggable: true,
            },
            InternetGateway => KindSchema {
                args: &[("vpc_id", "string: the VPC it is attached to"), TAGS],
                outputs: &["id"],
                replace_on: &["vpc_id"],
                create_before_destroy: false,
                api: "ec2",
                taggable: true,
            },
            Subnet => KindSchema {
                args: &[
                    ("vpc_id", "string"),
                    ("cidr_block", "string"),
                    ("availability_zone", "string: AZ name"),
                    ("map_public_ip_on_launch", "bool"),
                    TAGS,
                ],
                outputs: &["id"],
                replace_on: &["vpc_id", "cidr_block", "availability_zone"],
                create_before_destroy: false,
                api: "ec2",
                taggable: true,
            },
            RouteTable => KindSchema {
                args: &[
                    ("vpc_id", "string"),
                    (
                        "routes",
                        "list of {destination_cidr_block, gateway_id | nat_gateway_id}",
                    ),
                    ("subnet_ids", "list of subnet ids associated with the table"),
                    TAGS,
                ],
                outputs: &["id", "association_ids"],
                replace_on: &["vpc_id"],
                create_before_destroy: false,
                api: "ec2",
                taggable: true,
            },
            Eip => KindSchema {
                args: &[("domain", "string: \"vpc\""), TAGS],
                outputs: &["id", "public_ip"],
                replace_on: &["domain"],
                create_before_destroy: false,
                api: "ec2",
                taggable: true,
            },
            NatGateway => KindSchema {
                args: &[("subnet_id", "string: a public subnet"), ("allocation_id", "string: EIP"), TAGS],
                outputs: &["id"],
                replace_on: &["subnet_id", "allocation_id"],
                create_before_destroy: false,
                api: "ec2",
                taggable: true,
            },
            HostedZone => KindSchema {
                args: &[
                    ("name", "string: zone name with trailing dot"),
                    ("vpc_id", "string: the VPC the private zone is associated with"),
                    ("vpc_region", "string"),
                    ("comment", "string"),
                    TAGS,
                ],
                outputs: &["id", "name_servers"],
                replace_on: &["name"],
                create_before_destroy: false,
                api: "route53",
                taggable: true,
            },
            DnsRecord => KindSchema {
                args: &[
                    ("zone_id", "string"),
                    ("name", "string: fully qualified, trailing dot"),
                    ("type", "string: \"A\""),
                    ("alias_target", "{dns_name, hosted_zone_id, evaluate_target_health}"),
                ],
                outputs: &["id"],
                replace_on: &["zone_id", "name", "type"],
                create_before_destroy: false,
                api: "route53",
                taggable: false,
            },
            SecurityGroup => KindSchema {
                args: &[
                    ("name", "string"),
                    ("description", "string"),
                    ("vpc_id", "string"),
                    (
                        "ingress",
                        "list of {protocol, from_port, to_port, cidr_blocks: [..] | source_security_group_id, description}",
                    ),
                    ("egress", "list, same shape as ingress"),
                    TAGS,
                ],
                outputs: &["id"],
                replace_on: &["name", "description", "vpc_id"],
                create_before_destroy: false,
                api: "ec2",
                taggable: true,
            },
            IamRole => KindSchema {
                args: &[
                    ("name", "string"),
                    ("path", "string: \"/ecsctl/<stack>/\""),
                    ("assume_role_policy", "object: trust policy document"),
                    ("inline_policies", "map: policy name -> policy document object"),
                    ("managed_policy_arns", "list of strings"),
                    TAGS,
                ],
                outputs: &["id", "arn"],
                replace_on: &["name", "path"],
                create_before_destroy: false,
                api: "iam",
                taggable: true,
            },
            IamInstanceProfile => KindSchema {
                args: &[("name", "string"), ("path", "string"), ("role_name", "string"), TAGS],
                outputs: &["id", "arn"],
                replace_on: &["name", "path"],
                create_before_destroy: false,
                api: "iam",
                taggable: true,
            },
            EcsCluster => KindSchema {
                args: &[("name", "string"), ("container_insights", "bool"), TAGS],
                outputs: &["id", "arn"],
                replace_on: &["name"],
                create_before_destroy: false,
                api: "ecs",
                taggable: true,
            },
            LaunchTemplate => KindSchema {
                args: &[
                    ("name", "string"),
                    ("image_id", "string: AMI id"),
                    ("instance_type", "string"),
                    ("iam_instance_profile_arn", "string"),
                    ("security_group_ids", "list of strings"),
                    ("user_data", "string: plain text, the provider base64-encodes it"),
                    ("key_name", "string or null"),
                    ("metadata_http_tokens", "string: \"required\" (IMDSv2)"),
                    ("metadata_hop_limit", "integer: IMDS PUT response hop limit"),
                    ("root_volume", "{device_name, size_gb, volume_type, encrypted}"),
                    TAGS,
                ],
                outputs: &["id", "latest_version"],
                replace_on: &["name"],
                create_before_destroy: false,
                api: "ec2",
                taggable: true,
            },
            AutoscalingGroup => KindSchema {
                args: &[
                    ("name", "string"),
                    ("launch_template_id", "string"),
                    ("launch_template_version", "string: a version number"),
                    ("min_size", "integer"),
                    ("max_size", "integer"),
                    ("desired_capacity", "integer"),
                    ("subnet_ids", "list of strings"),
                    ("health_check_grace_period", "integer seconds"),
                    ("cluster", "string: the ECS cluster the instances join"),
                    TAGS,
                ],
                outputs: &["id", "arn"],
                replace_on: &["name"],
                create_before_destroy: false,
                api: "autoscaling",
                taggable: true,
            },
            ScalingPolicy => KindSchema {
                args: &[
                    ("name", "string"),
                    ("autoscaling_group_name", "string"),
                    ("target_cpu", "number: target average CPU utilisation in percent"),
                ],
                outputs: &["id", "arn"],
                replace_on: &["name", "autoscaling_group_name"],
                create_before_destroy: false,
                api: "autoscaling",
                taggable: false,
            },
            Lb => KindSchema {
                args: &[
                    ("name", "string"),
                    ("internal", "bool"),
                    ("type", "string: \"application\""),
                    ("subnet_ids", "list of strings"),
                    ("security_group_ids", "list of strings"),
                    ("idle_timeout", "integer seconds"),
                    TAGS,
                ],
                outputs: &["id", "arn", "dns_name", "zone_id"],
                replace_on: &["name", "internal", "type"],
                create_before_destroy: false,
                api: "elbv2",
                taggable: true,
            },
            LbTargetGroup => KindSchema {
                args: &[
                    ("name", "string"),
                    ("port", "integer"),
                    ("protocol", "string: \"HTTP\""),
                    ("vpc_id", "string"),
                    ("target_type", "string: \"instance\""),
                    (
                        "health_check",
                        "{path, matcher, interval, timeout, healthy_threshold, unhealthy_threshold}",
                    ),
                    ("deregistration_delay", "integer seconds"),
                    TAGS,
                ],
                outputs: &["id", "arn"],
                replace_on: &["name", "port", "protocol", "vpc_id", "target_type"],
                create_before_destroy: false,
                api: "elbv2",
                taggable: true,
            },
            LbListener => KindSchema {
                args: &[
                    ("load_balancer_arn", "string"),
                    ("port", "integer"),
                    ("protocol", "string: HTTP | HTTPS"),
                    ("certificate_arn", "string or null"),
                    (
                        "default_action",
                        "{type: forward, target_group_arn} | {type: redirect, port, protocol, status_code}",
                    ),
                    TAGS,
                ],
                outputs: &["id", "arn"],
                replace_on: &["load_balancer_arn"],
                create_before_destroy: false,
                api: "elbv2",
                taggable: true,
            },
            LbListenerRule => KindSchema {
                args: &[
                    ("listener_arn", "string"),
                    ("priority", "integer"),
                    ("path_patterns", "list of strings (may be empty)"),
                    ("host_headers", "list of strings (may be empty)"),
                    ("target_group_arn", "string"),
                    TAGS,
                ],
                outputs: &["id", "arn"],
                replace_on: &["listener_arn"],
                create_before_destroy: false,
                api: "elbv2",
                taggable: true,
            },
            LogGroup => KindSchema {
                args: &[("name", "string"), ("retention_in_days", "integer"), TAGS],
                outputs: &["id", "arn"],
                replace_on: &["name"],
                create_before_destroy: false,
                api: "logs",
                taggable: true,
            },
            TaskDefinition => KindSchema {
                args: &[
                    ("family", "string"),
                    ("execution_role_arn", "string"),
                    ("task_role_arn", "string or null"),
                    ("network_mode", "string: \"bridge\""),
                    ("requires_compatibilities", "list: [\"EC2\"]"),
                    (
                        "container_definitions",
                        "list of {name, image, command, cpu, memory, essential, port_mappings: [{container_port, host_port, protocol}], environment: [{name, value}] sorted by name, log_configuration: {log_driver, options}}",
                    ),
                    TAGS,
                ],
                outputs: &["id", "arn", "revision"],
                // A revision is immutable except for its tags (ECS TagResource takes a task
                // definition ARN): everything else registers a new revision.
                replace_on: &[
                    "family",
                    "execution_role_arn",
                    "task_role_arn",
                    "network_mode",
                    "requires_compatibilities",
                    "container_definitions",
                ],
                create_before_destroy: true,
                api: "ecs",
                taggable: true,
            },
            EcsService => KindSchema {
                args: &[
                    ("name", "string"),
                    ("cluster", "string: cluster ARN"),
                    ("task_definition", "string: task definition ARN"),
                    ("desired_count", "integer"),
                    ("launch_type", "string: \"EC2\""),
                    ("load_balancers", "list of {target_group_arn, container_name, container_port}"),
                    (
                        "deployment",
                        "{minimum_healthy_percent, maximum_percent, circuit_breaker: {enable, rollback}}",
                    ),
                    ("health_check_grace_period", "integer seconds"),
                    ("placement_strategy", "list of {type, field}"),
                    TAGS,
                ],
                outputs: &["id", "arn"],
                replace_on: &["name", "cluster", "launch_type"],
                create_before_destroy: false,
                api: "ecs",
                taggable: true,
            },
        }
    }

    /// Whether changing `attr` forces a replacement of a resource of this kind.
    pub fn forces_replace(self, attr: &str) -> bool {
        let r = self.schema().replace_on;
        r.contains(&"*") || r.contains(&attr)
    }

    /// Arguments AWS keeps unique among live resources of this kind (in their scope: a
    /// name in the account or VPC, a CIDR in the VPC, a port on a load balancer). Two
    /// objects with the same values cannot exist at once, so a replacement that keeps them
    /// must destroy first, and one that changes any of them can create first.
    pub fn unique_args(self) -> &'static [&'static str] {
        use Kind::*;
        match self {
            Subnet => &["cidr_block"],
            SecurityGroup | IamRole | IamInstanceProfile | EcsCluster | LaunchTemplate
            | AutoscalingGroup | ScalingPolicy | Lb | LbTargetGroup | LogGroup | EcsService
            | DnsRecord => &["name"],
            LbListener => &["port"],
            LbListenerRule => &["priority"],
            Vpc | InternetGateway | RouteTable | Eip | NatGateway | HostedZone | TaskDefinition => {
                &[]
            }
        }
    }

    /// Whether a replacement whose changed arguments are `changed` creates the new object
    /// before deleting the old one: always for kinds whose schema says so, otherwise when
    /// the replacement changes a unique argument (so both can exist at once).
    pub fn replace_creates_first(self, changed: &[&str]) -> bool {
        self.schema().create_before_destroy
            || self.unique_args().iter().any(|u| changed.contains(u))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacements_create_first_only_when_the_unique_arguments_change() {
        assert!(Kind::Subnet.replace_creates_first(&["cidr_block"]));
        assert!(!Kind::Subnet.replace_creates_first(&["availability_zone"]));
        assert!(Kind::EcsService.replace_creates_first(&["name", "cluster"]));
        assert!(!Kind::EcsService.replace_creates_first(&["launch_type"]));
        assert!(Kind::TaskDefinition.replace_creates_first(&["family"]));
        for k in Kind::ALL {
            for u in k.unique_args() {
                assert!(k.schema().args.iter().any(|(a, _)| a == u), "{k}: {u}");
            }
        }
    }

    #[test]
    fn replace_rules_name_real_arguments() {
        for k in Kind::ALL {
            let s = k.schema();
            for r in s.replace_on {
                assert!(*r == "*" || s.args.iter().any(|(a, _)| a == r), "{k}: {r}");
            }
            assert_eq!(s.taggable, s.args.iter().any(|(a, _)| *a == "tags"), "{k}");
            assert!(s.outputs.contains(&"id"), "{k}");
        }
    }
}
