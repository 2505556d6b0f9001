//! `ecsctl refresh`: read every resource of the state back, report what changed outside
//! ecsctl, and record the live form in the state file (under the lock). Nothing in AWS
//! changes.

use crate::cli::{Global, RefreshArgs};
use crate::session::Session;
use crate::ui;
use anyhow::Result;
use std::process::ExitCode;

pub async fn run(g: &Global, args: RefreshArgs) -> Result<ExitCode> {
    let mut s = Session::open(g, "refresh")?;
    let provider = s.provider().await?;
    let before = s.state.clone();
    let refreshed = s.refresh(&provider, false).await?;
    let changed = s.state != before;
    if changed {
        ecsctl_state::write(&s.state_path, &mut s.state)?;
    }
    if args.json {
        let v = serde_json::json!({
            "drift": ecsctl_plan::drift::json(&refreshed.drift),
            "state_updated": changed,
            "serial": s.state.serial,
            "refresh": super::plan::stats_json(&refreshed.calls, refreshed.elapsed),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    if refreshed.drift.is_empty() && refreshed.drift.unfinished.is_empty() {
        println!(
            "No changes outside ecsctl: the {} resources in the state match AWS.",
            s.state.resources.len()
        );
    } else if refreshed.drift.is_empty() {
        println!("No changes outside ecsctl.");
    }
    print!(
        "{}",
        ecsctl_plan::drift::human(&refreshed.drift, ui::color_stdout())
    );
    if changed {
        println!(
            "Updated {} (serial {}).",
            s.state_path.display(),
            s.state.serial
        );
    }
    if args.stats {
        println!(
            "{}",
            super::plan::stats_line("refresh", &refreshed.calls, refreshed.elapsed)
        );
    }
    Ok(ExitCode::SUCCESS)
}
