//! `[[service]]` blocks: each one's fields, and the rules between services (unique
//! names, the listener's default action, distinct path and host rules).

use crate::parse::report;
use crate::reader::{Ctx, Got, Section, Span};
use crate::rules::{self, NAME_MAX, PAIR_MAX};
use crate::Service;
use std::collections::BTreeMap;
use toml_edit::{Item, Value};

pub(crate) const KEYS: &[&str] = &[
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

/// One service as read, with the positions the cross-service rules point at.
struct Read {
    service: Service,
    header: Span,
    name_span: Span,
    name_ok: bool,
    path_span: Span,
    host_span: Span,
}

pub(crate) fn read(
    ctx: &mut Ctx<'_>,
    root: &Section<'_>,
    stack_name: Option<&str>,
    stack_span: &Span,
) -> Vec<Service> {
    let sections = match sections(ctx, root, stack_span) {
        Some(s) => s,
        None => return Vec::new(),
    };
    let read: Vec<Read> = sections.iter().map(|s| read_one(ctx, s)).collect();
    check_names(ctx, &read, stack_name);
    check_routing(ctx, &read);
    read.into_iter().map(|r| r.service).collect()
}

/// Every `[[service]]` table (or `service = [{...}]` inline tables), each labelled.
fn sections<'a>(ctx: &mut Ctx<'_>, root: &Section<'a>, stack_span: &Span) -> Option<Vec<Section<'a>>> {
    let add_one = "add a `[[service]]` block with `name`, `image` and `container_port`";
    let Some((key, item)) = root.entry("service") else {
        ctx.error(
            stack_span,
            "the stack has no [[service]] block",
            add_one,
        );
        return None;
    };
    let mut out = Vec::new();
    match item {
        Item::ArrayOfTables(array) => {
            for (i, table) in array.iter().enumerate() {
                out.push(Section {
                    label: format!("[[service]] #{}", i + 1),
                    path: "service".into(),
                    table,
                    span: table.span().or_else(|| key.span()),
                });
            }
        }
        Item::Value(Value::Array(array)) => {
            for (i, value) in array.iter().enumerate() {
                let label = format!("[[service]] #{}", i + 1);
                match value.as_inline_table() {
                    Some(table) => out.push(Section {
                        label,
                        path: "service".into(),
                        table,
                        span: value.span(),
                    }),
                    None => {
                        ctx.error(
                            &value.span(),
                            format!(
                                "element {} of `service` must be a table, found {}",
                                i + 1,
                                crate::reader::value_type_name(value)
                            ),
                            "write each service as a `[[service]]` block",
                        );
                        return None;
                    }
                }
            }
        }
        Item::Table(t) => {
            ctx.error(
                &t.span().or_else(|| key.span()),
                "`[service]` must be written `[[service]]` (there can be several)",
                "use double brackets: `[[service]]`",
            );
            return None;
        }
        other => {
            ctx.error(
                &other.span().or_else(|| key.span()),
                format!(
                    "`service` must be [[service]] blocks, found {}",
                    crate::reader::type_name(other)
                ),
                "write each service as a `[[service]]` block",
            );
            return None;
        }
    }
    if out.is_empty() {
        ctx.error(&key.span(), "the stack has no [[service]] block", add_one);
        return None;
    }
    Some(out)
}

fn read_one(ctx: &mut Ctx<'_>, s: &Section<'_>) -> Read {
    s.check_keys(ctx, KEYS);
    let mut svc = Service {
        name: String::new(),
        image: String::new(),
        command: Vec::new(),
        container_port: 80,
        cpu: 256,
        memory: 512,
        desired_count: 1,
        health_check_path: "/".into(),
        environment: BTreeMap::new(),
        path: None,
        host: None,
        log_retention_days: 30,
        deregistration_delay: 30,
        health_check_grace_period: 30,
    };

    let mut name_ok = false;
    let mut name_span = s.span.clone();
    if let Got::Val(name, span) = s.required_string(ctx, "name", "\"web\"") {
        match rules::resource_name(&name) {
            Ok(()) => name_ok = true,
            Err(p) => report(ctx, &span, "service name", &name, p),
        }
        name_span = span;
        svc.name = name;
    }
    if let Got::Val(image, span) = s.required_string(ctx, "image", "\"nginx:1.27\"") {
        if let Err(p) = rules::image(&image) {
            report(ctx, &span, "image", &image, p);
        }
        svc.image = image;
    }
    if let Got::Val(cmd, _) =
        s.string_array(ctx, "command", "[\"python\", \"-m\", \"http.server\", \"5000\"]")
    {
        svc.command = cmd.into_iter().map(|(c, _)| c).collect();
    }
    match s.int_in::<u16>(ctx, "container_port", 1, 65535, "", "5000") {
        Got::Val(p, _) => svc.container_port = p,
        Got::Absent => s.missing(ctx, "container_port", "5000"),
        Got::Bad => {}
    }
    if let Some(v) = s.int_in::<u32>(ctx, "cpu", 128, 10240, " units", "256").ok() {
        svc.cpu = v;
    }
    if let Some(v) = s.int_in::<u32>(ctx, "memory", 128, 30720, " MiB", "512").ok() {
        svc.memory = v;
    }
    if let Some(v) = s.int_in::<u32>(ctx, "desired_count", 0, 1000, "", "2").ok() {
        svc.desired_count = v;
    }
    if let Got::Val(p, span) = s.string(ctx, "health_check_path", "\"/health\"") {
        if let Err(problem) = rules::health_check_path(&p) {
            report(ctx, &span, "health_check_path", &p, problem);
        }
        svc.health_check_path = p;
    }
    if let Got::Val(env, _) = s.string_map(ctx, "environment", "{ GREETING = \"hello\" }") {
        for (key, key_span, value, _) in env {
            if let Err(p) = rules::env_key(&key) {
                report(ctx, &key_span, "environment variable", &key, p);
            }
            svc.environment.insert(key, value);
        }
    }
    let path_span = s.value_span("path");
    if let Got::Val(p, span) = s.string(ctx, "path", "\"/api/*\"") {
        if let Err(problem) = rules::path_pattern(&p) {
            report(ctx, &span, "path", &p, problem);
        }
        svc.path = Some(p);
    }
    let host_span = s.value_span("host");
    if let Got::Val(h, span) = s.string(ctx, "host", "\"api.example.com\"") {
        if let Err(problem) = rules::host_pattern(&h) {
            report(ctx, &span, "host", &h, problem);
        }
        svc.host = Some(h);
    }
    if let Got::Val(days, span) = s.integer(ctx, "log_retention_days", "30") {
        match rules::log_retention(days) {
            Ok(d) => svc.log_retention_days = d,
            Err(p) => report(ctx, &span, "log_retention_days", &days.to_string(), p),
        }
    }
    if let Some(v) = s
        .int_in::<u32>(ctx, "deregistration_delay", 0, 3600, " seconds", "30")
        .ok()
    {
        svc.deregistration_delay = v;
    }
    if let Some(v) = s
        .int_in::<u32>(ctx, "health_check_grace_period", 0, 2_147_483_647, " seconds", "30")
        .ok()
    {
        svc.health_check_grace_period = v;
    }
    Read {
        service: svc,
        header: s.span.clone(),
        name_span,
        name_ok,
        path_span,
        host_span,
    }
}

/// Unique service names, and `S-V` short enough for AWS's 32-character names.
fn check_names(ctx: &mut Ctx<'_>, read: &[Read], stack_name: Option<&str>) {
    for (i, r) in read.iter().enumerate() {
        if !r.name_ok {
            continue;
        }
        let name = &r.service.name;
        if let Some(first) = read[..i].iter().position(|o| o.name_ok && o.service.name == *name) {
            ctx.error(
                &r.name_span,
                format!("service name `{name}` is already used by [[service]] #{}", first + 1),
                "give every service its own name",
            );
            continue;
        }
        if let Some(stack) = stack_name {
            let pair = stack.len() + 1 + name.len();
            if pair > PAIR_MAX {
                ctx.error(
                    &r.name_span,
                    format!(
                        "`{stack}-{name}` is {pair} characters; AWS limits target group names to {PAIR_MAX}"
                    ),
                    format!(
                        "shorten the service name to at most {} characters (or the stack name)",
                        (PAIR_MAX - 1 - stack.len()).min(NAME_MAX)
                    ),
                );
            }
        }
    }
}

/// The first service takes the default action; each later one has exactly one of
/// `path` or `host`, and no two rules are the same.
fn check_routing(ctx: &mut Ctx<'_>, read: &[Read]) {
    for (i, r) in read.iter().enumerate() {
        let svc = &r.service;
        if i == 0 {
            if svc.path.is_some() {
                ctx.error(
                    &r.path_span,
                    "the first [[service]] takes the load balancer's default action and cannot have a `path` rule",
                    "remove `path` here, or put a service without `path`/`host` first",
                );
            }
            if svc.host.is_some() {
                ctx.error(
                    &r.host_span,
                    "the first [[service]] takes the load balancer's default action and cannot have a `host` rule",
                    "remove `host` here, or put a service without `path`/`host` first",
                );
            }
            continue;
        }
        match (&svc.path, &svc.host) {
            (None, None) => ctx.error(
                &r.header,
                format!(
                    "[[service]] #{} needs a `path` or `host` rule: only the first service takes the default action",
                    i + 1
                ),
                "add e.g. `path = \"/api/*\"` or `host = \"api.example.com\"`",
            ),
            (Some(_), Some(_)) => ctx.error(
                &r.host_span,
                format!("[[service]] #{} has both `path` and `host`; give one", i + 1),
                "keep either `path` or `host`",
            ),
            (Some(path), None) => {
                if let Some(j) = read[1..i]
                    .iter()
                    .position(|o| o.service.path.as_deref() == Some(path.as_str()))
                {
                    ctx.error(
                        &r.path_span,
                        format!("path `{path}` is already routed to [[service]] #{}", j + 2),
                        "give each service a different path",
                    );
                }
            }
            (None, Some(host)) => {
                if let Some(j) = read[1..i].iter().position(|o| {
                    o.service
                        .host
                        .as_deref()
                        .is_some_and(|h| h.eq_ignore_ascii_case(host))
                }) {
                    ctx.error(
                        &r.host_span,
                        format!("host `{host}` is already routed to [[service]] #{}", j + 2),
                        "give each service a different host",
                    );
                }
            }
        }
    }
}
