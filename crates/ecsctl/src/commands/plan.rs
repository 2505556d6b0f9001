//! `ecsctl plan`: what apply would change, after reading the live resources back (drift)
//! and looking for resources tagged for the stack that the state does not track (orphans).
//! Never writes the state.

use crate::cli::{Global, PlanArgs};
use crate::session::{Planned, Session};
use crate::ui;
use anyhow::Result;
use ecsctl_aws::CallStats;
use ecsctl_provider::Orphan;
use serde_json::json;
use std::fmt::Write;
use std::process::ExitCode;
use std::time::Duration;

pub async fn run(g: &Global, args: PlanArgs) -> Result<ExitCode> {
    let mut s = Session::open(g, "plan")?;
    let provider = s.provider().await?;
    let refresh = args.refresh.refresh;
    let planned = s
        .make_plan(&provider, refresh, args.destroy, args.find_orphans)
        .await?;
    let orphans = planned.refreshed.as_ref().and_then(|r| r.orphans.as_ref());
    let plan = &planned.plan;
    if args.json {
        let mut v = ecsctl_plan::render::json(plan);
        if let serde_json::Value::Object(m) = &mut v {
            if let Some(r) = &planned.refreshed {
                m.insert("drift".into(), ecsctl_plan::drift::json(&r.drift));
                m.insert("refresh".into(), stats_json(&r.calls, r.elapsed));
            }
            if let Some(o) = orphans {
                let found: Vec<_> = o
                    .iter()
                    .map(|x| json!({"address": x.address.to_string(), "id": x.id}))
                    .collect();
                m.insert("orphans".into(), json!(found));
            }
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        let color = ui::color_stdout();
        print!("{}", human(&planned, color));
        if let Some(o) = orphans {
            print!("{}", orphans_text(o));
        }
        if args.stats {
            println!();
            if let Some(r) = &planned.refreshed {
                let what = if r.orphans.is_some() {
                    "refresh and orphan discovery"
                } else {
                    "refresh"
                };
                println!("{}", stats_line(what, &r.calls, r.elapsed));
            }
        }
    }
    if let Some(out) = &args.out {
        ecsctl_plan::save(plan, out)?;
        if !args.json {
            println!(
                "\nSaved the plan to {}. To perform exactly these actions, run:\n    ecsctl apply {}",
                out.display(),
                out.display()
            );
        }
    }
    if !plan.destroy {
        crate::session::refuse_stuck(plan, &s.state)?;
    }
    Ok(if args.detailed_exitcode && !plan.is_empty() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// The drift section (when a refresh found any) followed by the plan.
pub fn human(planned: &Planned, color: bool) -> String {
    let mut out = String::new();
    if let Some(r) = &planned.refreshed {
        out.push_str(&ecsctl_plan::drift::human(&r.drift, color));
    }
    out.push_str(&ecsctl_plan::render::human(&planned.plan, color));
    out
}

pub(crate) fn orphans_text(found: &[Orphan]) -> String {
    if found.is_empty() {
        return String::new();
    }
    let mut out =
        String::from("\nResources tagged for this stack that the state does not track:\n\n");
    for x in found {
        let _ = writeln!(out, "  ? {} (id {})", x.address, x.id);
    }
    out.push_str(
        "\nThe plan above does not know them: it may create duplicates. Run `ecsctl import` to \
         adopt them into the state, or delete them by hand.\n",
    );
    out
}

/// `refresh: 23 API calls (ec2 10, elbv2 6, …) in 412 ms`
pub fn stats_line(what: &str, calls: &CallStats, elapsed: Duration) -> String {
    let detail = if calls.total() == 0 {
        String::new()
    } else {
        format!(" ({calls})")
    };
    format!(
        "{what}: {} API calls{detail} in {} ms",
        calls.total(),
        elapsed.as_millis()
    )
}

pub fn stats_json(calls: &CallStats, elapsed: Duration) -> serde_json::Value {
    json!({
        "calls": calls.total(),
        "by_service": calls.by_service,
        "ms": elapsed.as_millis() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn stats_name_the_total_and_each_service() {
        let calls = CallStats {
            by_service: BTreeMap::from([("ec2".to_string(), 8), ("elbv2".to_string(), 5)]),
        };
        assert_eq!(
            stats_line("refresh", &calls, Duration::from_millis(412)),
            "refresh: 13 API calls (ec2 8, elbv2 5) in 412 ms"
        );
        assert_eq!(
            stats_line("refresh", &CallStats::default(), Duration::ZERO),
            "refresh: 0 API calls in 0 ms"
        );
        let j = stats_json(&calls, Duration::from_millis(7));
        assert_eq!(j["calls"], 13);
        assert_eq!(j["by_service"]["elbv2"], 5);
    }
}
