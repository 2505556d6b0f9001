//! `ecsctl validate`: the stack file alone, no state, no AWS.

use crate::cli::Global;
use crate::session::load_stack;
use anyhow::Result;
use std::process::ExitCode;

pub fn run(g: &Global) -> Result<ExitCode> {
    let stack = load_stack(g)?;
    let graph = ecsctl_graph::expand(&stack, &ecsctl_graph::Data::default());
    println!(
        "{} is valid: stack `{}`, {} service{}, {} resources.",
        g.file.display(),
        stack.name,
        stack.services.len(),
        if stack.services.len() == 1 { "" } else { "s" },
        graph.len()
    );
    Ok(ExitCode::SUCCESS)
}
