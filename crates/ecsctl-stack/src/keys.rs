//! The schema of the stack file: every section's keys, in one place. Readers check each
//! section against its list; an unknown key is reported with the closest known one.

/// The sections, in the order the file documents them.
pub(crate) const ROOT: &[&str] = &[
    "stack",
    "network",
    "dns",
    "cluster",
    "load_balancer",
    "service",
];
/// `[stack]`
pub(crate) const STACK: &[&str] = &["name", "region", "tags"];
/// `[dns]`
pub(crate) const DNS: &[&str] = &["zone"];
/// `[cluster]`
pub(crate) const CLUSTER: &[&str] = &[
    "instance_type",
    "ami",
    "min_size",
    "max_size",
    "desired_capacity",
    "key_name",
    "ssh_cidrs",
    "root_volume_size",
    "scaling",
];
/// `[cluster.scaling]`
pub(crate) const SCALING: &[&str] = &["cpu_target"];
/// `[load_balancer]`
pub(crate) const LOAD_BALANCER: &[&str] = &[
    "listen_port",
    "allowed_cidrs",
    "certificate_arn",
    "idle_timeout",
];

/// `[network]`
pub(crate) const NETWORK: &[&str] = &["cidr", "azs", "public_subnets", "private_subnets", "nat"];
/// `[[service]]`
pub(crate) const SERVICE: &[&str] = &[
    "name",
    "image",
    "command",
    "container_port",
    "cpu",
    "memory",
    "desired_count",
    "health_check_path",
    "environment",
    "path",
    "host",
    "log_retention_days",
    "deregistration_delay",
    "health_check_grace_period",
];

/// Each section's header and keys (to say where a misplaced key belongs).
pub(crate) const SECTIONS: [(&str, &[&str]); 6] = [
    ("[stack]", STACK),
    ("[network]", NETWORK),
    ("[dns]", DNS),
    ("[cluster]", CLUSTER),
    ("[load_balancer]", LOAD_BALANCER),
    ("[[service]]", SERVICE),
];
