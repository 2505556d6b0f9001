//! `ecsctl import`: adopt resources that exist in AWS but not in the state. Tagged ones are
//! found by their `ecsctl:stack` tag and placed at their `ecsctl:address` tag; untaggable
//! ones the stack describes (DNS records, scaling policies) are looked up by name once
//! what they refer to is known. Each is read back, so the state holds its live form.

use crate::cli::{Global, ImportArgs};
use crate::session::Session;
use anyhow::{Context, Result};
use ecsctl_graph::{Address, Graph};
use ecsctl_plan::drift::{refresh_state, Observed};
use ecsctl_provider::{Call, Options, Orphan, Provider, Quiet, ReadItem};
use ecsctl_state::{ResourceState, State};
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Instant;

pub async fn run(g: &Global, args: ImportArgs) -> Result<ExitCode> {
    let mut s = Session::open(g, "import")?;
    let provider = s.provider().await?;
    let before = provider.call_stats();
    let started = Instant::now();
    let data = s.data(&*provider, true).await?;
    let graph = ecsctl_graph::expand(&s.stack, &data);
    let orphans = s.orphans(&provider).await?;

    let mut by_address: BTreeMap<Address, Vec<Orphan>> = BTreeMap::new();
    for o in orphans.found {
        by_address.entry(o.address.clone()).or_default().push(o);
    }
    let order = graph.topo_order()?;
    let mut adopted = Vec::new();
    let mut notes = Vec::new();
    // Dependencies first, so what a resource refers to is in the state when it is read.
    let undescribed: Vec<Address> = by_address
        .keys()
        .filter(|a| graph.get(a).is_none())
        .cloned()
        .collect();
    for address in order.iter().chain(&undescribed) {
        if s.state.resources.contains_key(address) {
            if let Some(extra) = by_address.get(address) {
                for o in extra {
                    notes.push(format!(
                        "{address}: {} is tagged with this address but the state already tracks {}; delete it by hand if it is a leftover",
                        o.id, s.state.resources[address].id
                    ));
                }
            }
            continue;
        }
        let found = match by_address.get(address) {
            Some(candidates) => {
                for o in &candidates[1..] {
                    notes.push(format!(
                        "{address}: several resources carry this address; adopted {}, left {} (delete it by hand)",
                        candidates[0].id, o.id
                    ));
                }
                Some((candidates[0].id.clone(), serde_json::Map::new()))
            }
            None if !address.kind.schema().taggable => {
                let Some(desired) = resolved_args(&graph, &s.state, address) else {
                    continue;
                };
                let call = Call {
                    address,
                    progress: &Quiet,
                    options: &Options::default(),
                };
                provider
                    .find(&call, &desired, "")
                    .await
                    .with_context(|| format!("looking up {address}"))?
                    .map(|c| (c.id, c.outputs))
            }
            None => None,
        };
        let Some((id, outputs)) = found else { continue };
        match adopt(&*provider, &graph, &s.state, address, &id, outputs).await? {
            Some(resource) => {
                s.state.resources.insert(address.clone(), resource);
                adopted.push((address.clone(), id));
            }
            None => notes.push(format!(
                "{address}: {id} was gone when it was read back; not imported"
            )),
        }
    }

    for n in &notes {
        eprintln!("note: {n}");
    }
    if adopted.is_empty() {
        println!("Nothing to import: every resource tagged for this stack is in the state.");
    } else {
        println!("Imported into the state:\n");
        for (address, id) in &adopted {
            println!("  + {address} (id {id})");
        }
        ecsctl_state::write(&s.state_path, &mut s.state)?;
        println!(
            "\nImported {} resource{} into {} (serial {}). Run `ecsctl plan` to compare them \
             with the stack file.",
            adopted.len(),
            if adopted.len() == 1 { "" } else { "s" },
            s.state_path.display(),
            s.state.serial
        );
    }
    if args.stats {
        let calls = provider.call_stats().since(&before);
        println!(
            "{}",
            super::plan::stats_line("import", &calls, started.elapsed())
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The desired arguments of `address` with every reference resolved against `state`;
/// `None` when some reference cannot be resolved yet (or the stack does not describe it).
fn resolved_args(graph: &Graph, state: &State, address: &Address) -> Option<ecsctl_state::Attrs> {
    let r = graph.get(address)?;
    let mut out = ecsctl_state::Attrs::new();
    for (name, v) in &r.args {
        let j = v.substitute(&|x| state.lookup(x)).to_json()?;
        out.insert(name.clone(), j);
    }
    Some(out)
}

/// Read `id` at `address` back and make its state: the desired arguments (as far as they
/// resolve) overlaid with what the read reports, as a refresh would.
async fn adopt(
    provider: &dyn Provider,
    graph: &Graph,
    state: &State,
    address: &Address,
    id: &str,
    outputs: ecsctl_state::Attrs,
) -> Result<Option<ResourceState>> {
    let desired = graph.get(address);
    let mut args = ecsctl_state::Attrs::new();
    if let Some(r) = desired {
        for (name, v) in &r.args {
            if let Some(j) = v.substitute(&|x| state.lookup(x)).to_json() {
                args.insert(name.clone(), j);
            }
        }
    }
    let item = ReadItem {
        address: address.clone(),
        id: id.to_string(),
        args: args.clone(),
        outputs: outputs.clone(),
    };
    let mut live = provider
        .read(address.kind, &[item])
        .await
        .with_context(|| format!("reading {address} ({id})"))?;
    let Some(Some(found)) = live.remove(address) else {
        return Ok(None);
    };
    let mut scratch = state.clone();
    scratch.resources.insert(
        address.clone(),
        ResourceState {
            id: id.to_string(),
            args,
            outputs,
            deps: desired
                .map(|r| r.deps().into_iter().collect())
                .unwrap_or_default(),
        },
    );
    let observed = BTreeMap::from([(
        address.clone(),
        Some(Observed {
            args: found.args,
            outputs: found.outputs,
        }),
    )]);
    let (mut merged, _) = refresh_state(&scratch, &observed);
    Ok(merged.resources.remove(address))
}
