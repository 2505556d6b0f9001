//! `ecsctl`: plan, apply and destroy an ECS deployment on AWS from one TOML file.
//! This binary is thin: it parses arguments and calls one command module, which calls
//! the libraries. Errors end here and become exit codes: 0 ok, 1 error, 2 changes
//! (`plan --detailed-exitcode`).

mod cli;
mod commands;
mod session;
mod ui;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    ui::init_logging(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            ui::print_error(&anyhow::anyhow!("cannot start the async runtime: {e}"));
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            ui::print_error(&e);
            ExitCode::from(1)
        }
    }
}
