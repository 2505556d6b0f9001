//! The typed, validated stack. Everything here is checked and defaulted: code that
//! receives a `Stack` never needs to validate it again.

use ipnet::Ipv4Net;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Stack {
    /// `[stack] name`: 1–20 characters, lowercase letters, digits and `-`, starting with a
    /// letter, not ending in `-`, no `--` (it prefixes names AWS limits to 32 characters,
    /// e.g. the target group `<stack>-<service>`).
    pub name: String,
    /// `[stack] region`; `None` means the standard chain (AWS_REGION, profile).
    pub region: Option<String>,
    /// `[stack.tags]`, added to every taggable resource.
    pub tags: BTreeMap<String, String>,
    pub network: Network,
    /// `[dns]`; `None` when the section is absent (no private zone, no records).
    pub dns: Option<Dns>,
    pub cluster: Cluster,
    pub load_balancer: LoadBalancer,
    /// `[[service]]`, at least one, in file order. The first takes the listener's default
    /// action; each further one has a `path` or `host` rule.
    pub services: Vec<Service>,
    /// SHA-256 of the file's bytes, hex; binds saved plans to the stack they came from.
    pub source_hash: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Network {
    /// `cidr`, default `10.0.0.0/16`.
    pub cidr: Ipv4Net,
    /// `azs`: a count (names discovered at plan time) or explicit names, 2–6 (the load
    /// balancer needs two zones). Default 2.
    pub azs: Azs,
    /// `public_subnets`, one per AZ; carved from `cidr` when omitted.
    pub public_subnets: Vec<Ipv4Net>,
    /// `private_subnets`, one per AZ; carved from `cidr` when omitted.
    pub private_subnets: Vec<Ipv4Net>,
    /// `nat`, default `single`.
    pub nat: NatMode,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Azs {
    Count(usize),
    Names(Vec<String>),
}

impl Azs {
    pub fn count(&self) -> usize {
        match self {
            Azs::Count(n) => *n,
            Azs::Names(v) => v.len(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NatMode {
    /// One NAT gateway in the first public subnet; every private route table uses it.
    Single,
    /// One NAT gateway per AZ.
    PerAz,
    /// No NAT: private subnets have no route to the internet.
    None,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Dns {
    /// `zone`, normalised to lowercase with a trailing dot: `myorg.local.`
    pub zone: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cluster {
    /// `instance_type`, default `t3.small`.
    pub instance_type: String,
    /// `ami`: `ssm:/path` (looked up at plan time) or an `ami-…` id. Default: the ECS
    /// optimised Amazon Linux 2023 parameter.
    pub ami: Ami,
    /// `min_size` default 1, `max_size` default 2, `desired_capacity` default `min_size`.
    pub min_size: u32,
    pub max_size: u32,
    pub desired_capacity: u32,
    /// `key_name`, optional.
    pub key_name: Option<String>,
    /// `ssh_cidrs`, default empty: no SSH ingress at all.
    pub ssh_cidrs: Vec<Ipv4Net>,
    /// `root_volume_size` in GiB, default 30.
    pub root_volume_size: u32,
    /// `[cluster.scaling]`; `None` when absent.
    pub scaling: Option<Scaling>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ami {
    /// The SSM parameter path, without the `ssm:` prefix.
    Ssm(String),
    Id(String),
}

pub const DEFAULT_AMI_PARAMETER: &str =
    "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id";

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scaling {
    /// `cpu_target`: average CPU percent the ASG tracks, 1–100, default 60.
    pub cpu_target: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LoadBalancer {
    /// `listen_port`, default 80.
    pub listen_port: u16,
    /// `allowed_cidrs`, default `["0.0.0.0/0"]`.
    pub allowed_cidrs: Vec<Ipv4Net>,
    /// `certificate_arn`: adds an HTTPS listener on 443 and redirects `listen_port` to it.
    pub certificate_arn: Option<String>,
    /// `idle_timeout` seconds, default 60.
    pub idle_timeout: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Service {
    /// `name`: 1–20 characters of the same form as the stack name, unique in the stack;
    /// `<stack>-<name>` is at most 32 characters.
    pub name: String,
    pub image: String,
    /// `command`, default empty (the image's own).
    pub command: Vec<String>,
    pub container_port: u16,
    /// `cpu` units, default 256; `memory` MiB, default 512.
    pub cpu: u32,
    pub memory: u32,
    /// `desired_count`, default 1.
    pub desired_count: u32,
    /// `health_check_path`, default `/`.
    pub health_check_path: String,
    pub environment: BTreeMap<String, String>,
    /// Listener rule condition for services after the first (`path = "/api/*"`).
    pub path: Option<String>,
    pub host: Option<String>,
    /// `log_retention_days`, default 30 (a value CloudWatch accepts).
    pub log_retention_days: u32,
    /// `deregistration_delay` seconds, default 30 (AWS's 300 makes every deploy slow).
    pub deregistration_delay: u32,
    /// `health_check_grace_period` seconds, default 30.
    pub health_check_grace_period: u32,
}
