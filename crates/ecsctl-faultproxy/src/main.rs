//! `ecsctl-faultproxy`: put latency, throttling and lost replies between the AWS SDK and a
//! local emulator.
//!
//! ```text
//! ecsctl-faultproxy --upstream http://127.0.0.1:5000 --listen 127.0.0.1:0 --latency 100ms \
//!     --latency-action ec2:CreateNatGateway=2s --throttle 0.2 --lost 0.05 --seed 7
//! ```
//!
//! Prints `listening on 127.0.0.1:PORT` on stdout once it accepts connections, then serves
//! until interrupted (Ctrl-C or SIGTERM). Counters: `GET /__proxy/stats`,
//! `POST /__proxy/reset-stats`; with `--aws-rules`, `GET /__proxy/rules` (refusals, stranded
//! container instances).

use clap::Parser;
use ecsctl_faultproxy::{
    parse_action_latency, parse_duration, parse_listen, parse_rate, FaultProxy,
};
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "ecsctl-faultproxy",
    version,
    about = "A loopback proxy between the AWS SDK and a local emulator that injects latency, \
             throttling errors and lost replies, and counts calls (GET /__proxy/stats)"
)]
struct Args {
    /// The emulator to forward to (loopback only), e.g. http://127.0.0.1:5000.
    #[arg(long, env = "ECSCTL_FAULTPROXY_UPSTREAM")]
    upstream: String,

    /// Where to listen (loopback only); port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0", value_parser = listen_arg)]
    listen: SocketAddr,

    /// Delay before forwarding every AWS call, e.g. 100ms.
    #[arg(long, default_value = "0", value_parser = duration_arg)]
    latency: Duration,

    /// Delay for one action instead of --latency, service:Action=DURATION
    /// (e.g. ec2:CreateNatGateway=2s). Repeatable.
    #[arg(long = "latency-action", value_parser = action_latency_arg)]
    latency_action: Vec<(String, Duration)>,

    /// Fraction of AWS calls answered with the protocol's throttling error, 0 to 1.
    #[arg(long, default_value = "0", value_parser = throttle_arg)]
    throttle: f64,

    /// Fraction of mutating AWS calls carried out but answered 500 (reply lost), 0 to 1.
    #[arg(long, default_value = "0", value_parser = lost_arg)]
    lost: f64,

    /// Seed of the fault decisions (default: from the clock, printed on stderr).
    #[arg(long)]
    seed: Option<u64>,

    /// Answer as AWS does where the emulator does not (the AWS behaviour rules:
    /// validation, ordering, eventual consistency; see docs/aws-behaviour.md).
    #[arg(long)]
    aws_rules: bool,

    /// With --aws-rules: how long a deleted load balancer's network interfaces linger.
    #[arg(long, default_value = "2s", value_parser = duration_arg)]
    eni_linger: Duration,
}

fn listen_arg(s: &str) -> Result<SocketAddr, String> {
    parse_listen(s).map_err(|e| e.to_string())
}

fn duration_arg(s: &str) -> Result<Duration, String> {
    parse_duration(s).map_err(|e| e.to_string())
}

fn action_latency_arg(s: &str) -> Result<(String, Duration), String> {
    parse_action_latency(s).map_err(|e| e.to_string())
}

fn throttle_arg(s: &str) -> Result<f64, String> {
    parse_rate("throttle rate", s).map_err(|e| e.to_string())
}

fn lost_arg(s: &str) -> Result<f64, String> {
    parse_rate("lost-reply rate", s).map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let mut builder = FaultProxy::builder()
        .upstream(&args.upstream)
        .listen(args.listen)
        .latency(args.latency)
        .throttle_rate(args.throttle)
        .lost_reply_rate(args.lost);
    for (action, delay) in args.latency_action {
        builder = builder.action_latency(action, delay);
    }
    if let Some(seed) = args.seed {
        builder = builder.seed(seed);
    }
    if args.aws_rules {
        builder = builder.aws_rules(ecsctl_faultproxy::aws::RuleSettings {
            eni_linger: args.eni_linger,
        });
    }
    let proxy = match builder.start().await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if args.seed.is_none() {
        eprintln!(
            "seed {} (pass --seed {} to repeat this run)",
            proxy.seed(),
            proxy.seed()
        );
    }
    let mut out = std::io::stdout().lock();
    if writeln!(out, "listening on {}", proxy.addr())
        .and_then(|()| out.flush())
        .is_err()
    {
        eprintln!("error: cannot write to stdout");
        return ExitCode::FAILURE;
    }
    drop(out);
    wait_for_signal().await;
    proxy.shutdown().await;
    ExitCode::SUCCESS
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
