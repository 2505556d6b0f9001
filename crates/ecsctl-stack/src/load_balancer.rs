//! `[load_balancer]`: the listener port, who may reach it, HTTPS and the idle timeout.

use crate::keys;
use crate::reader::{cidr_list, report, section, Ctx, Got, Section};
use crate::rules;
use crate::LoadBalancer;
use ipnet::Ipv4Net;

pub(crate) fn read(ctx: &mut Ctx<'_>, root: &Section<'_>, region: Option<&str>) -> LoadBalancer {
    let mut lb = LoadBalancer {
        listen_port: 80,
        allowed_cidrs: vec![Ipv4Net::default()], // 0.0.0.0/0
        certificate_arn: None,
        idle_timeout: 60,
    };
    let s = match section(ctx, root, "load_balancer") {
        Got::Val(s, _) => s,
        _ => return lb,
    };
    s.check_keys(ctx, keys::LOAD_BALANCER);
    let port = s.int_in::<u16>(ctx, "listen_port", 1, 65535, "", "80");
    let port_span = s.value_span("listen_port");
    if let Some(p) = port.ok() {
        lb.listen_port = p;
    }
    match cidr_list(ctx, &s, "allowed_cidrs", "[\"0.0.0.0/0\"]") {
        Got::Val(list, span) if list.is_empty() => ctx.error(
            &span,
            "`allowed_cidrs` in [load_balancer] is empty: nothing could reach the load balancer",
            "list the blocks allowed in, e.g. `[\"0.0.0.0/0\"]` for everyone",
        ),
        Got::Val(list, _) => lb.allowed_cidrs = list.into_iter().map(|(n, _)| n).collect(),
        _ => {}
    }
    if let Got::Val(arn, span) = s.string(ctx, "certificate_arn", "\"arn:aws:acm:...\"") {
        match rules::certificate_arn(&arn) {
            Ok(arn_region) => {
                if let Some(r) = region.filter(|r| *r != arn_region) {
                    ctx.error(
                        &span,
                        format!("certificate_arn is in {arn_region} but the stack is in {r}"),
                        format!("a load balancer can only use an ACM certificate from its own region: request or import one in {r}"),
                    );
                }
                if lb.listen_port == 443 {
                    ctx.error(
                        &port_span,
                        "listen_port 443 clashes with the HTTPS listener that certificate_arn adds on 443",
                        "keep listen_port = 80: it redirects to HTTPS on 443",
                    );
                }
                lb.certificate_arn = Some(arn);
            }
            Err(p) => report(ctx, &span, "certificate_arn", &arn, p),
        }
    }
    if let Some(t) = s
        .int_in::<u32>(ctx, "idle_timeout", 1, 4000, " seconds", "60")
        .ok()
    {
        lb.idle_timeout = t;
    }
    lb
}
