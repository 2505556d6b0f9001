//! `[[service]]` blocks: each one's fields, and the rules between services (unique
//! names, the listener's default action, distinct path and host rules).

use crate::keys;
use crate::reader::{report, Ctx, Got, Section, Span};
use crate::rules::{self, NAME_MAX, PAIR_MAX};
use crate::Service;
use std::collections::BTreeMap;
use toml_edit::{Item, Value};

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
fn sections<'a>(
    ctx: &mut Ctx<'_>,
    root: &Section<'a>,
    stack_span: &Span,
) -> Option<Vec<Section<'a>>> {
    let add_one = "add a `[[service]]` block with `name`, `image` and `container_port`";
    let Some((key, item)) = root.entry("service") else {
        ctx.error(stack_span, "the stack has no [[service]] block", add_one);
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
    s.check_keys(ctx, keys::SERVICE);
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
    if let Got::Val(cmd, _) = s.string_array(
        ctx,
        "command",
        "[\"python\", \"-m\", \"http.server\", \"5000\"]",
    ) {
        svc.command = cmd.into_iter().map(|(c, _)| c).collect();
    }
    match s.int_in::<u16>(ctx, "container_port", 1, 65535, "", "5000") {
        Got::Val(p, _) => svc.container_port = p,
        Got::Absent => s.missing(ctx, "container_port", "5000"),
        Got::Bad => {}
    }
    if let Some(v) = s
        .int_in::<u32>(ctx, "cpu", 128, 10240, " units", "256")
        .ok()
    {
        svc.cpu = v;
    }
    if let Some(v) = s
        .int_in::<u32>(ctx, "memory", 128, 30720, " MiB", "512")
        .ok()
    {
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
        .int_in::<u32>(
            ctx,
            "health_check_grace_period",
            0,
            2_147_483_647,
            " seconds",
            "30",
        )
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
        if let Some(first) = read[..i]
            .iter()
            .position(|o| o.name_ok && o.service.name == *name)
        {
            ctx.error(
                &r.name_span,
                format!(
                    "service name `{name}` is already used by [[service]] #{}",
                    first + 1
                ),
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

#[cfg(test)]
mod tests {
    use crate::testutil::*;

    const HEAD: &str = "[stack]\nname = \"hello\"\n";

    fn with_services(services: &str) -> String {
        format!("{HEAD}{services}")
    }

    #[test]
    fn several_services_with_rules() {
        let src = with_services(
            "[[service]]\nname = \"web\"\nimage = \"nginx:1.27\"\ncontainer_port = 80\n\
             [[service]]\nname = \"api\"\nimage = \"api:1\"\ncontainer_port = 8080\npath = \"/api/*\"\n\
             command = [\"serve\", \"--port\", \"8080\"]\ncpu = 512\nmemory = 1024\ndesired_count = 3\n\
             health_check_path = \"/health\"\nlog_retention_days = 7\nderegistration_delay = 5\nhealth_check_grace_period = 60\n\
             [service.environment]\nGREETING = \"hi\"\n\
             [[service]]\nname = \"admin\"\nimage = \"admin:1\"\ncontainer_port = 3000\nhost = \"admin.example.com\"\n",
        );
        let s = ok(&src);
        assert_eq!(s.services.len(), 3);
        let api = &s.services[1];
        assert_eq!(api.path.as_deref(), Some("/api/*"));
        assert_eq!(api.command, ["serve", "--port", "8080"]);
        assert_eq!((api.cpu, api.memory, api.desired_count), (512, 1024, 3));
        assert_eq!(api.health_check_path, "/health");
        assert_eq!(
            (
                api.log_retention_days,
                api.deregistration_delay,
                api.health_check_grace_period
            ),
            (7, 5, 60)
        );
        assert_eq!(
            api.environment.get("GREETING").map(String::as_str),
            Some("hi")
        );
        assert_eq!(s.services[2].host.as_deref(), Some("admin.example.com"));
    }

    #[test]
    fn inline_array_of_services() {
        let src = format!(
            "service = [{{ name = \"web\", image = \"nginx\", container_port = 80 }}]\n{HEAD}"
        );
        assert_eq!(ok(&src).services[0].name, "web");
    }

    #[test]
    fn no_service_at_all() {
        let src = HEAD.to_string();
        check(
            &only(&src),
            &src,
            "\"hello\"",
            "the stack has no [[service]] block",
            "container_port",
        );
    }

    #[test]
    fn single_brackets_are_refused() {
        let src =
            with_services("[service]\nname = \"web\"\nimage = \"nginx\"\ncontainer_port = 80\n");
        check(
            &only(&src),
            &src,
            "[service]",
            "`[service]` must be written `[[service]]`",
            "double brackets",
        );
    }

    #[test]
    fn missing_keys_point_at_the_block() {
        let src = with_services("[[service]]\nname = \"web\"\n");
        let e = errors(&src);
        assert_eq!(e.len(), 2);
        check(
            &e[0],
            &src,
            "[[service]]",
            "missing required key `image` in [[service]] #1",
            "add `image = ",
        );
        check(
            &e[1],
            &src,
            "[[service]]",
            "missing required key `container_port` in [[service]] #1",
            "",
        );
    }

    #[test]
    fn unknown_service_key() {
        let src = with_services("[[service]]\nname = \"web\"\nimgae = \"nginx\"\nimage = \"nginx\"\ncontainer_port = 80\n");
        check(
            &only(&src),
            &src,
            "imgae",
            "unknown key `imgae` in [[service]] #1",
            "did you mean `image`?",
        );
    }

    #[test]
    fn names_are_checked_and_unique() {
        let svc = |name: &str, extra: &str| {
            format!(
                "[[service]]\nname = \"{name}\"\nimage = \"nginx\"\ncontainer_port = 80\n{extra}"
            )
        };
        let src = with_services(&svc("Web", ""));
        check(
            &only(&src),
            &src,
            "\"Web\"",
            "invalid service name `Web`",
            "`web`",
        );
        let src = with_services(&(svc("web", "") + &svc("web", "path = \"/x\"\n")));
        let d = only(&src);
        assert_eq!((d.line, d.column), pos_nth(&src, "\"web\"", 1));
        assert!(
            d.message
                .contains("service name `web` is already used by [[service]] #1"),
            "{d}"
        );
        let src = format!(
            "[stack]\nname = \"{}\"\n{}",
            "s".repeat(20),
            svc("abcdefghijkl", "")
        );
        check(
            &only(&src),
            &src,
            "\"abcdefghijkl\"",
            "is 33 characters; AWS limits target group names to 32",
            "at most 11 characters",
        );
    }

    #[test]
    fn image_and_command() {
        let svc = |extra: &str| {
            with_services(&format!(
                "[[service]]\nname = \"web\"\ncontainer_port = 80\n{extra}"
            ))
        };
        let src = svc("image = \"nginx latest\"\n");
        check(
            &only(&src),
            &src,
            "\"nginx latest\"",
            "invalid image `nginx latest`: it contains whitespace",
            "",
        );
        let src = svc("image = \"\"\n");
        check(
            &only(&src),
            &src,
            "\"\"",
            "invalid image ``: it is empty",
            "",
        );
        let src = svc("image = \"nginx\"\ncommand = \"python app.py\"\n");
        check(
            &only(&src),
            &src,
            "\"python app.py\"",
            "`command` in [[service]] #1 must be an array of strings, found a string",
            "[\"python\"",
        );
        let src = svc("image = \"nginx\"\ncommand = [\"sleep\", 5]\n");
        check(
            &only(&src),
            &src,
            "5]",
            "element 2 of `command` in [[service]] #1 must be a string, found an integer",
            "",
        );
    }

    #[test]
    fn sizes_and_ports() {
        let svc = |extra: &str| {
            with_services(&format!(
                "[[service]]\nname = \"web\"\nimage = \"nginx\"\n{extra}"
            ))
        };
        let src = svc("container_port = 0\n");
        check(
            &only(&src),
            &src,
            "0\n",
            "`container_port` in [[service]] #1 is 0, outside the allowed range 1 to 65535",
            "",
        );
        let src = svc("container_port = 80\ncpu = 64\n");
        check(
            &only(&src),
            &src,
            "64",
            "`cpu` in [[service]] #1 is 64 units, outside the allowed range 128 to 10240",
            "",
        );
        let src = svc("container_port = 80\nmemory = 40000\n");
        check(
            &only(&src),
            &src,
            "40000",
            "is 40000 MiB, outside the allowed range 128 to 30720",
            "",
        );
        let src = svc("container_port = 80\ndesired_count = 1001\n");
        check(
            &only(&src),
            &src,
            "1001",
            "outside the allowed range 0 to 1000",
            "",
        );
        let src = svc("container_port = 80\ndesired_count = 0\n");
        assert_eq!(ok(&src).services[0].desired_count, 0);
        let src = svc("container_port = 80\nderegistration_delay = 3601\n");
        check(
            &only(&src),
            &src,
            "3601",
            "`deregistration_delay` in [[service]] #1 is 3601 seconds",
            "",
        );
        let src = svc("container_port = 80\nlog_retention_days = 31\n");
        check(
            &only(&src),
            &src,
            "31",
            "invalid log_retention_days `31`: CloudWatch Logs does not accept",
            "the nearest is 30",
        );
        let src = svc("container_port = 80\nhealth_check_path = \"health\"\n");
        check(
            &only(&src),
            &src,
            "\"health\"",
            "invalid health_check_path `health`: it must start with `/`",
            "`/health`",
        );
    }

    #[test]
    fn environment_rules() {
        let svc = |env: &str| {
            with_services(&format!("[[service]]\nname = \"web\"\nimage = \"nginx\"\ncontainer_port = 80\n[service.environment]\n{env}"))
        };
        let src = svc("AWS_REGION = \"eu-west-2\"\n");
        check(
            &only(&src),
            &src,
            "AWS_REGION",
            "invalid environment variable `AWS_REGION`: names starting with `AWS_` are reserved",
            "without the `AWS_` prefix",
        );
        let src = svc("\"1-X\" = \"v\"\n");
        check(
            &only(&src),
            &src,
            "\"1-X\"",
            "invalid environment variable `1-X`",
            "`_1_X`",
        );
        let src = svc("PORT = 5000\n");
        check(
            &only(&src),
            &src,
            "5000",
            "`PORT` in [service.environment] of [[service]] #1 must be a string, found an integer",
            "quote it: `PORT = \"5000\"`",
        );
    }

    #[test]
    fn routing_rules() {
        let svc = |name: &str, rule: &str| {
            format!(
                "[[service]]\nname = \"{name}\"\nimage = \"nginx\"\ncontainer_port = 80\n{rule}"
            )
        };
        let src = with_services(&svc("web", "path = \"/web/*\"\n"));
        check(&only(&src), &src, "\"/web/*\"", "the first [[service]] takes the load balancer's default action and cannot have a `path` rule", "remove `path`");
        let src = with_services(&svc("web", "host = \"a.example.com\"\n"));
        check(
            &only(&src),
            &src,
            "\"a.example.com\"",
            "cannot have a `host` rule",
            "",
        );

        let src = with_services(&(svc("web", "") + &svc("api", "")));
        let d = only(&src);
        assert_eq!((d.line, d.column), pos_nth(&src, "[[service]]", 1));
        assert!(
            d.message
                .contains("[[service]] #2 needs a `path` or `host` rule"),
            "{d}"
        );

        let src = with_services(
            &(svc("web", "") + &svc("api", "path = \"/api/*\"\nhost = \"api.example.com\"\n")),
        );
        check(
            &only(&src),
            &src,
            "\"api.example.com\"",
            "[[service]] #2 has both `path` and `host`",
            "either",
        );

        let src = with_services(
            &(svc("web", "")
                + &svc("api", "path = \"/api/*\"\n")
                + &svc("v2", "path = \"/api/*\"\n")),
        );
        let d = only(&src);
        assert_eq!((d.line, d.column), pos_nth(&src, "\"/api/*\"", 1));
        assert!(
            d.message
                .contains("path `/api/*` is already routed to [[service]] #2"),
            "{d}"
        );

        let src = with_services(
            &(svc("web", "")
                + &svc("api", "host = \"API.example.com\"\n")
                + &svc("v2", "host = \"api.example.com\"\n")),
        );
        check(
            &only(&src),
            &src,
            "\"api.example.com\"",
            "host `api.example.com` is already routed to [[service]] #2",
            "",
        );

        let src = with_services(&(svc("web", "") + &svc("api", "path = \"api\"\n")));
        let d = only(&src);
        assert_eq!((d.line, d.column), pos_nth(&src, "\"api\"", 1));
        assert!(
            d.message
                .contains("invalid path `api`: a path pattern must start with `/`"),
            "{d}"
        );
        let src = with_services(&(svc("web", "") + &svc("api", "host = \"api_x.example.com\"\n")));
        check(
            &only(&src),
            &src,
            "\"api_x",
            "invalid host `api_x.example.com`",
            "",
        );
    }
}
