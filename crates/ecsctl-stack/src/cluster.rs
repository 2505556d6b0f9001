//! `[cluster]` and `[cluster.scaling]`: the instances the services run on.

use crate::keys;
use crate::reader::{cidr_list, report, section, Ctx, Got, Section};
use crate::rules;
use crate::{Ami, Cluster, Scaling, DEFAULT_AMI_PARAMETER};

pub(crate) fn read(ctx: &mut Ctx<'_>, root: &Section<'_>) -> Cluster {
    let mut cluster = Cluster {
        instance_type: "t3.small".into(),
        ami: Ami::Ssm(DEFAULT_AMI_PARAMETER.into()),
        min_size: 1,
        max_size: 2,
        desired_capacity: 1,
        key_name: None,
        ssh_cidrs: Vec::new(),
        root_volume_size: 30,
        scaling: None,
    };
    let s = match section(ctx, root, "cluster") {
        Got::Val(s, _) => s,
        _ => return cluster,
    };
    s.check_keys(ctx, keys::CLUSTER);

    if let Got::Val(t, span) = s.string(ctx, "instance_type", "\"t3.small\"") {
        if let Err(p) = rules::instance_type(&t) {
            report(ctx, &span, "instance type", &t, p);
        }
        cluster.instance_type = t;
    }
    if let Got::Val(a, span) = s.string(ctx, "ami", "\"ssm:/aws/service/...\"") {
        match rules::ami(&a) {
            Ok(ami) => cluster.ami = ami,
            Err(p) => report(ctx, &span, "ami", &a, p),
        }
    }

    let min = s.int_in::<u32>(ctx, "min_size", 0, 100, "", "1");
    let max = s.int_in::<u32>(ctx, "max_size", 1, 100, "", "4");
    let desired = s.int_in::<u32>(ctx, "desired_capacity", 0, 100, "", "2");
    let (min_bad, max_bad, desired_bad) = (min.is_bad(), max.is_bad(), desired.is_bad());
    let min_span = s.value_span("min_size");
    let desired_span = s.value_span("desired_capacity");
    let desired_given = matches!(desired, Got::Val(..));
    cluster.min_size = min.or_default(1).unwrap_or(1);
    cluster.max_size = max.or_default(2).unwrap_or(2);
    cluster.desired_capacity = desired
        .or_default(cluster.min_size)
        .unwrap_or(cluster.min_size);
    if !min_bad && !max_bad && cluster.min_size > cluster.max_size {
        ctx.error(
            &min_span,
            format!(
                "min_size {} is greater than max_size {} in [cluster]",
                cluster.min_size, cluster.max_size
            ),
            if s.entry("max_size").is_some() {
                format!("set max_size to at least {}", cluster.min_size)
            } else {
                format!(
                    "set max_size to at least {} (max_size defaults to 2)",
                    cluster.min_size
                )
            },
        );
    } else if !min_bad && !max_bad && !desired_bad && desired_given {
        let d = cluster.desired_capacity;
        if d < cluster.min_size || d > cluster.max_size {
            ctx.error(
                &desired_span,
                format!(
                    "desired_capacity {d} is outside min_size..max_size ({}..{}) in [cluster]",
                    cluster.min_size, cluster.max_size
                ),
                format!(
                    "use a value from {} to {}, or leave it out to start at min_size",
                    cluster.min_size, cluster.max_size
                ),
            );
        }
    }

    if let Got::Val(k, span) = s.string(ctx, "key_name", "\"my-key\"") {
        match rules::key_name(&k) {
            Ok(()) => cluster.key_name = Some(k),
            Err(p) => report(ctx, &span, "key_name", &k, p),
        }
    }
    if let Got::Val(list, _) = cidr_list(ctx, &s, "ssh_cidrs", "[\"203.0.113.0/24\"]") {
        for (net, span) in &list {
            if net.prefix_len() == 0 {
                ctx.error(
                    span,
                    "`ssh_cidrs` must not open SSH to the whole internet (0.0.0.0/0)",
                    "list only your office or VPN blocks, e.g. `203.0.113.0/24`",
                );
            }
        }
        cluster.ssh_cidrs = list.into_iter().map(|(n, _)| n).collect();
    }
    if let Got::Val(size, span) = s.int_in::<u32>(ctx, "root_volume_size", 1, 16384, " GiB", "30") {
        let ecs_al2023 = matches!(&cluster.ami, Ami::Ssm(p) if p.contains("/ecs/optimized-ami/amazon-linux-2023"));
        if ecs_al2023 && size < 30 {
            ctx.error(
                &span,
                format!("root_volume_size {size} GiB is smaller than the ECS-optimised Amazon Linux 2023 image (30 GiB)"),
                "use 30 or more",
            );
        }
        cluster.root_volume_size = size;
    }

    if let Got::Val(sc, _) = s.table(ctx, "scaling", "{ cpu_target = 60 }") {
        sc.check_keys(ctx, keys::SCALING);
        let mut scaling = Scaling { cpu_target: 60.0 };
        if let Got::Val(t, span) = sc.number(ctx, "cpu_target", "60") {
            if !(1.0..=100.0).contains(&t) {
                ctx.error(
                    &span,
                    format!("cpu_target {t} in [cluster.scaling] is outside 1 to 100"),
                    "give the average CPU percent to keep the instances at, e.g. 60",
                );
            } else {
                scaling.cpu_target = t;
            }
        }
        cluster.scaling = Some(scaling);
    }
    cluster
}
