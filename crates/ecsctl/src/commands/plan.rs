//! `ecsctl plan`: what apply would change. Never writes the state.

use crate::cli::{Global, PlanArgs};
use crate::session::Session;
use crate::ui;
use anyhow::Result;
use std::process::ExitCode;

pub async fn run(g: &Global, args: PlanArgs) -> Result<ExitCode> {
    let mut s = Session::open(g, "plan")?;
    let provider = s.provider().await?;
    let plan = s
        .make_plan(&*provider, args.refresh.refresh, args.destroy)
        .await?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&ecsctl_plan::render::json(&plan))?
        );
    } else {
        print!("{}", ecsctl_plan::render::human(&plan, ui::color_stdout()));
    }
    if let Some(out) = &args.out {
        ecsctl_plan::save(&plan, out)?;
        if !args.json {
            println!(
                "\nSaved the plan to {}. To perform exactly these actions, run:\n    ecsctl apply {}",
                out.display(),
                out.display()
            );
        }
    }
    Ok(if args.detailed_exitcode && !plan.is_empty() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
