//! One file per command; each is a short function over the libraries.

mod apply;
mod graph;
mod import;
mod output;
mod plan;
mod refresh;
mod state;
mod validate;

use crate::cli::{Cli, Command};
use anyhow::Result;
use std::process::ExitCode;

pub async fn run(cli: Cli) -> Result<ExitCode> {
    let g = &cli.global;
    match cli.command {
        Command::Validate => validate::run(g),
        Command::Plan(args) => plan::run(g, args).await,
        Command::Apply(args) => apply::apply(g, args).await,
        Command::Destroy(args) => apply::destroy(g, args).await,
        Command::Graph => graph::run(g),
        Command::Output(args) => output::run(g, args),
        Command::State(cmd) => state::run(g, cmd),
        Command::Refresh(args) => refresh::run(g, args).await,
        Command::Import(args) => import::run(g, args).await,
    }
}
