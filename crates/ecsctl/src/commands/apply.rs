//! `ecsctl apply` and `ecsctl destroy`: show the plan, ask, then let the engine walk it,
//! saving the state after every change.

use crate::cli::{ApplyArgs, DestroyArgs, Global, RunArgs};
use crate::session::Session;
use crate::ui::{self, Lines};
use anyhow::{anyhow, bail, Result};
use ecsctl_engine::{ApplyOptions, Interrupt, Op, Reporter, StateStore};
use ecsctl_graph::Address;
use ecsctl_plan::{Action, Plan};
use ecsctl_provider::{Options, Orphan, Provider, ProviderError};
use ecsctl_state::State;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub async fn apply(g: &Global, args: ApplyArgs) -> Result<ExitCode> {
    let mut s = Session::open(g, "apply")?;
    let provider = s.provider().await?;
    let plan = match &args.plan_file {
        Some(file) => {
            let plan = ecsctl_plan::load(file)?;
            if s.state.serial == 0 && s.state.resources.is_empty() && plan.serial == 0 {
                // A plan made before any state existed: the state starts in its lineage.
                s.state.lineage = plan.lineage.clone();
            }
            plan.check_current(&s.state, &s.stack.source_hash)?;
            s.state.data.extend(plan.data.clone());
            plan
        }
        None => {
            let planned = s
                .make_plan(
                    &provider,
                    args.run.refresh.refresh,
                    false,
                    args.find_orphans,
                )
                .await?;
            print!("{}", super::plan::human(&planned, ui::color_stdout()));
            let orphans = planned
                .refreshed
                .as_ref()
                .and_then(|r| r.orphans.as_deref());
            refuse_duplicates(&planned.plan, orphans.unwrap_or_default(), &s.stack.name)?;
            planned.plan
        }
    };
    run(
        s,
        plan,
        provider,
        &args.run,
        args.plan_file.is_some(),
        "Apply",
    )
    .await
}

/// A plan that creates a resource at an address where one tagged for the stack already
/// exists, untracked (a lost or wrong state file, another copy of the stack), would build a
/// second stack beside the first and cross-wire them: refuse it before anything changes.
/// Orphans at addresses the plan does not create are only shown.
fn refuse_duplicates(plan: &Plan, orphans: &[Orphan], stack: &str) -> Result<()> {
    if orphans.is_empty() {
        return Ok(());
    }
    let creates: BTreeSet<&Address> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Create && !c.resume)
        .map(|c| &c.address)
        .collect();
    let clashing: Vec<&Orphan> = orphans
        .iter()
        .filter(|o| creates.contains(&o.address))
        .collect();
    if clashing.is_empty() {
        print!("{}", super::plan::orphans_text(orphans));
        return Ok(());
    }
    let listed: Vec<String> = clashing
        .iter()
        .take(5)
        .map(|o| format!("{} ({})", o.address, o.id))
        .collect();
    let more = clashing.len().saturating_sub(listed.len());
    bail!(
        "{} resource(s) tagged for stack {stack} exist in AWS but not in the state, and this \
         plan would create a second one at their addresses: {}{}. Nothing was changed. The \
         state file may be lost or another one in use: run `ecsctl import` to take them into \
         this state (then plan again), point --state at the right file, or delete them by \
         hand; --find-orphans=false skips this check",
        clashing.len(),
        listed.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    )
}

pub async fn destroy(g: &Global, args: DestroyArgs) -> Result<ExitCode> {
    let mut s = Session::open(g, "destroy")?;
    let provider = s.provider().await?;
    let planned = s
        .make_plan(&provider, args.run.refresh.refresh, true, false)
        .await?;
    print!("{}", super::plan::human(&planned, ui::color_stdout()));
    run(s, planned.plan, provider, &args.run, false, "Destroy").await
}

async fn run(
    mut s: Session,
    plan: Plan,
    provider: Arc<ecsctl_aws::AwsProvider>,
    args: &RunArgs,
    saved_plan: bool,
    what: &str,
) -> Result<ExitCode> {
    if !plan.destroy {
        crate::session::refuse_stuck(&plan, &s.state)?;
    }
    if plan.is_empty() {
        if what == "Apply" {
            print_outputs(&s);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !saved_plan && !args.auto_approve {
        let question = if plan.destroy {
            "Do you really want to destroy all resources of this stack?"
        } else {
            "Do you want to perform these actions?"
        };
        if !ui::confirm(question)? {
            bail!("{what} cancelled: nothing was changed");
        }
    }
    let options = ApplyOptions {
        parallelism: args.parallelism as usize,
        provider: Options::bounded(!args.no_wait, args.wait_timeout),
        ..ApplyOptions::default()
    };
    let interrupt = Interrupt::new();
    watch_ctrl_c(interrupt.clone());
    let mut store = FileStore {
        path: s.state_path.clone(),
    };
    let ops: usize = plan
        .changes
        .iter()
        .map(|c| if c.action == Action::Replace { 2 } else { 1 })
        .sum();
    let reporter = Arc::new(LineReporter {
        lines: Lines::new(ops as u64),
    });
    let started = Instant::now();
    println!();
    let provider: Arc<dyn Provider> = provider;
    let outcome = ecsctl_engine::apply(
        &plan,
        s.state.clone(),
        provider,
        &mut store,
        reporter.clone(),
        &options,
        interrupt,
    )
    .await;
    reporter.lines.finish();
    let elapsed = ui::human_duration(started.elapsed());

    // What was done, operation by operation: a replacement that created its new object but
    // could not delete the old one counts as added, not as nothing.
    let (mut added, mut changed, mut destroyed) = (0, 0, 0);
    for (_, op) in &outcome.operations {
        match op {
            Op::Create => added += 1,
            Op::Update => changed += 1,
            Op::Delete | Op::DeleteDeposed => destroyed += 1,
            Op::Recover => {}
        }
    }
    s.state = outcome.state.clone();
    if outcome.is_success() {
        println!("\n{what} complete! Resources: {added} added, {changed} changed, {destroyed} destroyed in {elapsed}.");
        if what == "Apply" {
            print_outputs(&s);
        }
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!();
    for (address, err) in &outcome.failed {
        eprintln!(
            "{} {address}: {err}",
            ui::paint(ui::color_stderr(), "1;31", "failed:")
        );
    }
    for (address, why) in &outcome.skipped {
        eprintln!("not started: {address}: {why}");
    }
    if let Some(e) = &outcome.save_error {
        eprintln!("the state could not be saved: {e}");
    }
    let why = if outcome.interrupted {
        "interrupted"
    } else {
        "incomplete"
    };
    Err(anyhow!(
        "{what} {why} after {elapsed}: {added} added, {changed} changed, {destroyed} destroyed; \
         {} failed, {} not started. The state holds every change that completed; \
         run the command again to continue.",
        outcome.failed.len(),
        outcome.skipped.len()
    ))
}

fn print_outputs(s: &Session) {
    let out = super::output::outputs(&s.stack, &s.state);
    println!("\nOutputs:\n\n{}", super::output::render(&out));
}

/// First Ctrl-C: stop starting changes, let running ones finish and save. Second: exit.
fn watch_ctrl_c(interrupt: Interrupt) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "\nInterrupt received: no new changes will start; waiting for running ones to finish \
                 and saving the state. Press Ctrl-C again to exit at once (the next apply resumes safely)."
            );
            interrupt.trigger();
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("Second interrupt: exiting now.");
                std::process::exit(130);
            }
        }
    });
}

struct FileStore {
    path: PathBuf,
}

impl StateStore for FileStore {
    fn save(&mut self, state: &mut State) -> Result<(), String> {
        ecsctl_state::write(&self.path, state).map_err(|e| e.to_string())
    }
}

struct LineReporter {
    lines: Lines,
}

fn symbol(op: Op) -> &'static str {
    match op {
        Op::Create | Op::Recover => "+",
        Op::Update => "~",
        Op::Delete | Op::DeleteDeposed => "-",
    }
}

fn verbs(op: Op) -> (&'static str, &'static str) {
    match op {
        Op::Create => ("creating", "created"),
        Op::Update => ("updating", "updated"),
        Op::Delete => ("destroying", "destroyed"),
        Op::DeleteDeposed => (
            "destroying the replaced object",
            "destroyed the replaced object",
        ),
        Op::Recover => (
            "resolving an interrupted create",
            "resolved the interrupted create",
        ),
    }
}

impl Reporter for LineReporter {
    fn started(&self, address: &Address, op: Op) {
        self.lines.line(
            symbol(op),
            &address.to_string(),
            &format!("{}...", verbs(op).0),
        );
    }

    fn progress(&self, address: &Address, message: &str) {
        self.lines.line("..", &address.to_string(), message);
    }

    fn finished(
        &self,
        address: &Address,
        op: Op,
        elapsed: Duration,
        error: Option<&ProviderError>,
    ) {
        let took = ui::human_duration(elapsed);
        self.lines.advance();
        match error {
            None => self.lines.line(
                symbol(op),
                &address.to_string(),
                &format!("{} in {took}", verbs(op).1),
            ),
            Some(e) => self.lines.line(
                "!",
                &address.to_string(),
                &format!("{} failed after {took}: {e}", verbs(op).0),
            ),
        }
    }

    fn skipped(&self, address: &Address, reason: &str) {
        self.lines
            .line(" ", &address.to_string(), &format!("not started: {reason}"));
    }
}
