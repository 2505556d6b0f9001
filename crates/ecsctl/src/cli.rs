//! Command-line arguments. Every environment variable the binary honours is declared here
//! (`NO_COLOR` is read in `ui`; the AWS SDK reads its own standard variables).

use clap::{ArgAction, Args, Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "ecsctl",
    version,
    about = "Plan, apply and destroy an ECS deployment on AWS from one short TOML file",
    long_about = "ecsctl turns one TOML stack file (VPC, subnets, NAT, private DNS zone, IAM roles, \
security groups, an ECS cluster on an Auto Scaling group, an Application Load Balancer and \
services) into a resource graph, diffs it against a local JSON state file, and creates, updates \
and destroys the AWS resources.\n\nCredentials and region come from the standard AWS chain \
(environment, profile, SSO, instance metadata); AWS_ENDPOINT_URL points every call at an emulator."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// The stack file.
    #[arg(
        short = 'f',
        long = "file",
        global = true,
        default_value = "stack.toml",
        value_name = "PATH"
    )]
    pub file: PathBuf,
    /// The state file [default: <stack file stem>.state.json beside the stack file].
    #[arg(long, global = true, value_name = "PATH")]
    pub state: Option<PathBuf>,
    /// How long to wait for another ecsctl holding the state lock (e.g. 30s, 5m).
    #[arg(long, global = true, value_name = "DURATION", default_value = "0s", value_parser = parse_duration)]
    pub lock_timeout: Duration,
    /// More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check the stack file and report every problem with its location.
    Validate,
    /// Show what apply would change.
    Plan(PlanArgs),
    /// Create and update resources to match the stack file (or run a saved plan).
    Apply(ApplyArgs),
    /// Delete every resource the state holds.
    Destroy(DestroyArgs),
    /// Print the resource dependency graph in DOT.
    Graph,
    /// Print the stack's outputs: load balancer address, service URLs, ids.
    Output(OutputArgs),
    /// Inspect the state file.
    #[command(subcommand)]
    State(StateCommand),
    /// Read every resource in the state back from AWS, report what changed outside ecsctl,
    /// and record it in the state file (nothing in AWS is changed).
    Refresh(RefreshArgs),
    /// Take resources tagged for this stack that the state does not track (left by a crash
    /// or a lost state file) into the state, by their `ecsctl:address` tag.
    Import(ImportArgs),
}

#[derive(Args, Debug, Clone)]
pub struct RefreshArg {
    /// Read the live resources before planning (`--refresh=false` to skip).
    #[arg(long, default_value_t = true, action = ArgAction::Set, value_name = "BOOL")]
    pub refresh: bool,
}

#[derive(Args, Debug)]
pub struct PlanArgs {
    /// Save the plan to this file for a later `ecsctl apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Plan the destruction of everything in state.
    #[arg(long)]
    pub destroy: bool,
    #[command(flatten)]
    pub refresh: RefreshArg,
    /// Look for resources tagged for this stack that the state does not track
    /// (`--find-orphans=false` to skip; only with refresh).
    #[arg(long, default_value_t = true, action = ArgAction::Set, value_name = "BOOL")]
    pub find_orphans: bool,
    /// Print how many AWS API calls the refresh and the orphan search made, and how long
    /// they took.
    #[arg(long)]
    pub stats: bool,
}

#[derive(Args, Debug)]
pub struct RefreshArgs {
    /// Print the drift as JSON.
    #[arg(long)]
    pub json: bool,
    /// Print how many AWS API calls the refresh made.
    #[arg(long)]
    pub stats: bool,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Print how many AWS API calls the search and the reads made.
    #[arg(long)]
    pub stats: bool,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// Do not wait for ECS services to become stable, nor for the Auto Scaling group's
    /// minimum of instances to join the cluster.
    #[arg(long)]
    pub no_wait: bool,
    /// How many changes may run at once.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallelism: u16,
    /// The longest any single wait (NAT gateway, load balancer, service stability) may take.
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = parse_duration)]
    pub wait_timeout: Duration,
    #[command(flatten)]
    pub refresh: RefreshArg,
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// A plan saved by `ecsctl plan --out FILE`; applied exactly, refused if stale.
    #[arg(value_name = "PLANFILE")]
    pub plan_file: Option<PathBuf>,
    /// Look for resources tagged for this stack that the state does not track, and refuse
    /// to create a second one at an address where one exists (`--find-orphans=false` to
    /// skip; only with refresh).
    #[arg(long, default_value_t = true, action = ArgAction::Set, value_name = "BOOL")]
    pub find_orphans: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Args, Debug)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Args, Debug)]
pub struct OutputArgs {
    /// Print the outputs as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum StateCommand {
    /// List the addresses in state.
    List,
    /// Show one resource's id, arguments and outputs.
    Show {
        /// The address, e.g. `subnet.private[1]`.
        address: String,
    },
}

/// `90`, `90s`, `5m`, `1h`, `1h30m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration; use e.g. 30s, 5m or 1h".into());
    }
    if let Ok(n) = s.parse::<u64>() {
        return Ok(Duration::from_secs(n));
    }
    let mut total = 0u64;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => {
                return Err(format!(
                    "`{s}`: unknown unit `{c}`; use s, m or h (e.g. 30s, 5m, 1h)"
                ))
            }
        };
        let n: u64 = num
            .parse()
            .map_err(|_| format!("`{s}`: expected a number before `{c}`"))?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or("duration too large")?;
        num.clear();
    }
    if !num.is_empty() {
        return Err(format!(
            "`{s}`: the last number has no unit; use e.g. {num}s"
        ));
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert!(parse_duration("5x").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("5m3").unwrap_err().contains("no unit"));
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn arguments_are_consistent() {
        Cli::command().debug_assert();
    }
}
