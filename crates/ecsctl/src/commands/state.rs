//! `ecsctl state list|show`: read-only views of the state file.

use crate::cli::{Global, StateCommand};
use crate::session::state_path;
use anyhow::{anyhow, Result};
use ecsctl_graph::Address;
use std::process::ExitCode;

pub fn run(g: &Global, cmd: StateCommand) -> Result<ExitCode> {
    let path = state_path(g);
    let state = ecsctl_state::read(&path)?.ok_or_else(|| {
        anyhow!(
            "no state at {}; nothing has been applied yet",
            path.display()
        )
    })?;
    match cmd {
        StateCommand::List => {
            for (address, r) in &state.resources {
                println!("{address}\t{}", r.id);
            }
            for address in state.pending.keys() {
                println!("{address}\t(interrupted create: resolved on the next apply)");
            }
        }
        StateCommand::Show { address } => {
            let a: Address = address
                .parse()
                .map_err(|e| anyhow!("{e}; `ecsctl state list` shows the addresses"))?;
            let r = state.resources.get(&a).ok_or_else(|| {
                anyhow!("{a} is not in the state; `ecsctl state list` shows what is")
            })?;
            let doc = serde_json::json!({ "address": a.to_string(), "id": r.id, "args": r.args, "outputs": r.outputs, "deps": r.deps });
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}
