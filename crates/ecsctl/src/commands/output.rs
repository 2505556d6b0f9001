//! `ecsctl output`: what users need after an apply — the load balancer's address, each
//! service's URLs, the cluster, the network ids — read from the state.

use crate::cli::{Global, OutputArgs};
use crate::session::{load_stack, state_path};
use anyhow::{anyhow, Result};
use ecsctl_graph::{Address, Kind};
use ecsctl_stack::Stack;
use ecsctl_state::State;
use serde_json::{json, Value as Json};
use std::process::ExitCode;

pub fn run(g: &Global, args: OutputArgs) -> Result<ExitCode> {
    let stack = load_stack(g)?;
    let path = state_path(g);
    let state = ecsctl_state::read(&path)?
        .ok_or_else(|| anyhow!("no state at {}; run `ecsctl apply` first", path.display()))?;
    let out = outputs(&stack, &state);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print!("{}", render(&out));
    }
    Ok(ExitCode::SUCCESS)
}

fn get(state: &State, kind: Kind, name: &str, index: Option<usize>, attr: &str) -> Json {
    let a = Address {
        kind,
        name: name.to_string(),
        index,
    };
    state
        .resources
        .get(&a)
        .and_then(|r| {
            if attr == "id" {
                Some(Json::from(r.id.clone()))
            } else {
                r.outputs.get(attr).cloned()
            }
        })
        .unwrap_or(Json::Null)
}

fn indexed(state: &State, kind: Kind, name: &str) -> Json {
    Json::Array(
        state
            .resources
            .iter()
            .filter(|(a, _)| a.kind == kind && a.name == name)
            .map(|(_, r)| Json::from(r.id.clone()))
            .collect(),
    )
}

/// The outputs as one JSON object (stable keys; null where not applied).
pub fn outputs(stack: &Stack, state: &State) -> Json {
    let dns = get(state, Kind::Lb, "main", None, "dns_name");
    let scheme = if stack.load_balancer.certificate_arn.is_some() {
        "https"
    } else {
        "http"
    };
    let port = match (scheme, stack.load_balancer.listen_port) {
        ("https", _) | ("http", 80) => String::new(),
        (_, p) => format!(":{p}"),
    };
    let services: serde_json::Map<String, Json> = stack
        .services
        .iter()
        .map(|s| {
            let url = dns.as_str().map(|d| {
                let host = s.host.clone().unwrap_or_else(|| d.to_string());
                let path = s
                    .path
                    .as_deref()
                    .map(|p| p.trim_end_matches('*'))
                    .unwrap_or("/");
                format!("{scheme}://{host}{port}{path}")
            });
            let private = stack.dns.as_ref().map(|z| format!("{}.{}", s.name, z.zone));
            let addr = Address::new(Kind::EcsService, &s.name);
            (
                s.name.clone(),
                json!({
                    "url": url,
                    "private_name": private,
                    "service_arn": state.resources.get(&addr).map(|r| r.id.clone()),
                }),
            )
        })
        .collect();
    json!({
        "stack": stack.name,
        "load_balancer_dns_name": dns,
        "services": services,
        "cluster": get(state, Kind::EcsCluster, "main", None, "id"),
        "vpc_id": get(state, Kind::Vpc, "main", None, "id"),
        "public_subnet_ids": indexed(state, Kind::Subnet, "public"),
        "private_subnet_ids": indexed(state, Kind::Subnet, "private"),
        "hosted_zone_id": get(state, Kind::HostedZone, "private", None, "id"),
    })
}

/// `key = value` lines, services indented.
pub fn render(out: &Json) -> String {
    let mut s = String::new();
    let show = |v: &Json| match v {
        Json::String(x) => x.clone(),
        Json::Null => "(not created)".to_string(),
        other => other.to_string(),
    };
    for key in [
        "stack",
        "load_balancer_dns_name",
        "cluster",
        "vpc_id",
        "public_subnet_ids",
        "private_subnet_ids",
        "hosted_zone_id",
    ] {
        s.push_str(&format!("{key} = {}\n", show(&out[key])));
    }
    if let Some(services) = out["services"].as_object() {
        for (name, v) in services {
            s.push_str(&format!("service.{name}.url = {}\n", show(&v["url"])));
            if !v["private_name"].is_null() {
                s.push_str(&format!(
                    "service.{name}.private_name = {}\n",
                    show(&v["private_name"])
                ));
            }
        }
    }
    s
}
