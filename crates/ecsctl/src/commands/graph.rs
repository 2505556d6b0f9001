//! `ecsctl graph`: the resource graph in DOT (data from the state's cache when present).

use crate::cli::Global;
use crate::session::{cached_data, load_stack, state_path};
use anyhow::Result;
use std::process::ExitCode;

pub fn run(g: &Global) -> Result<ExitCode> {
    let stack = load_stack(g)?;
    let data = ecsctl_state::read(state_path(g))?
        .map(|s| cached_data(&s))
        .unwrap_or_default();
    let graph = ecsctl_graph::expand(&stack, &data);
    if let Some(cycle) = graph.cycles().into_iter().next() {
        return Err(cycle.into());
    }
    print!("{}", ecsctl_graph::to_dot(&graph));
    Ok(ExitCode::SUCCESS)
}
