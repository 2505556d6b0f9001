//! A fault and latency injection proxy for tests and benchmarks.
//!
//! The moto emulator answers at once and never fails; AWS is slow and throttles. This
//! proxy sits between the AWS SDK and moto (`AWS_ENDPOINT_URL=http://127.0.0.1:<proxy port>`)
//! and, for every signed AWS call:
//!
//! - waits a fixed delay, or a per-action one (`ec2:CreateNatGateway` = 2 s), before
//!   forwarding;
//! - rejects a fraction of calls with the protocol's real throttling error (EC2
//!   `RequestLimitExceeded`, awsQuery and Route53 `Throttling`, JSON `ThrottlingException`,
//!   S3 `SlowDown`), which the SDK classifies as throttling;
//! - for a fraction of mutating calls (actions not starting with Describe/List/Get/Head),
//!   forwards the call, so it takes effect, then answers 500 `InternalError` as if the
//!   reply had been lost (a per-action rate, `ec2:CreateVpc` = 1.0, targets one action);
//! - counts calls by service and action, in process ([`RunningProxy::stats`]) and at
//!   `GET /__proxy/stats` (JSON), reset by `POST /__proxy/reset-stats`.
//!
//! Everything else is forwarded byte for byte: method, path, query, headers (the `Host`
//! header unchanged, as the SigV4 signature covers it) and body. Requests without a SigV4
//! credential scope (moto's own `/moto-api/`) are forwarded without faults. Decisions are
//! seeded: the same seed gives every `service:Action`'s n-th call the same fate.
//!
//! It only binds to and forwards to loopback addresses.
//!
//! ```no_run
//! # async fn demo() -> Result<(), ecsctl_faultproxy::Error> {
//! use ecsctl_faultproxy::FaultProxy;
//! use std::time::Duration;
//! let proxy = FaultProxy::builder()
//!     .upstream("http://127.0.0.1:5000")
//!     .latency(Duration::from_millis(100))
//!     .action_latency("ec2:CreateNatGateway", Duration::from_secs(2))
//!     .throttle_rate(0.2)
//!     .lost_reply_rate(0.05)
//!     .seed(7)
//!     .start()
//!     .await?;
//! // point the SDK at proxy.url(), run the workload, then:
//! let create_vpc = proxy.stats().action("ec2", "CreateVpc");
//! assert_eq!(create_vpc.calls, create_vpc.throttled + create_vpc.forwarded);
//! proxy.shutdown().await;
//! # Ok(()) }
//! ```

pub mod aws;
mod classify;
mod fate;
mod proxy;
mod responses;
mod stats;

pub use classify::{classify, Call, Protocol, EC2_API_VERSION, UNSIGNED};
pub use stats::{Counts, ServiceStats, Stats};

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Errors in the proxy's configuration or start-up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "no upstream given: set it to the emulator's URL, e.g. \
         FaultProxy::builder().upstream(\"http://127.0.0.1:5000\") (--upstream)"
    )]
    NoUpstream,
    #[error("upstream `{url}` is not usable: {reason} (write e.g. http://127.0.0.1:5000)")]
    BadUpstream { url: String, reason: String },
    #[error(
        "{what} `{addr}` is not a loopback address: the proxy only binds to and forwards to \
         127.0.0.0/8, ::1 or localhost"
    )]
    NotLoopback { what: &'static str, addr: String },
    #[error("{name} `{value}` is not a rate between 0 and 1 (e.g. 0.2 for one call in five)")]
    BadRate { name: &'static str, value: String },
    #[error("{what} `{spec}`: {reason}")]
    BadLatency {
        what: &'static str,
        spec: String,
        reason: String,
    },
    #[error("listen address `{spec}` is not IP:PORT (write e.g. 127.0.0.1:0 for any free port)")]
    BadListen { spec: String },
    #[error("cannot listen on {addr}: {source} (is the port in use? use port 0 for a free one)")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Entry point: `FaultProxy::builder()`.
#[derive(Debug, Clone, Copy)]
pub struct FaultProxy;

impl FaultProxy {
    pub fn builder() -> FaultProxyBuilder {
        FaultProxyBuilder::default()
    }
}

/// The proxy's settings; [`FaultProxyBuilder::start`] checks them.
#[derive(Debug, Clone)]
pub struct FaultProxyBuilder {
    upstream: Option<String>,
    listen: SocketAddr,
    latency: Duration,
    action_latency: HashMap<String, Duration>,
    throttle_rate: f64,
    lost_reply_rate: f64,
    action_lost_reply_rate: HashMap<String, f64>,
    seed: Option<u64>,
    rules: Option<aws::RuleSettings>,
}

impl Default for FaultProxyBuilder {
    fn default() -> Self {
        Self {
            upstream: None,
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            latency: Duration::ZERO,
            action_latency: HashMap::new(),
            throttle_rate: 0.0,
            lost_reply_rate: 0.0,
            action_lost_reply_rate: HashMap::new(),
            seed: None,
            rules: None,
        }
    }
}

impl FaultProxyBuilder {
    /// The emulator to forward to: `http://127.0.0.1:PORT` (loopback only). Required.
    pub fn upstream(mut self, url: impl Into<String>) -> Self {
        self.upstream = Some(url.into());
        self
    }

    /// Where to listen (loopback only); default `127.0.0.1:0`, a free port.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// A delay added before every AWS call is forwarded (or rejected); default none.
    pub fn latency(mut self, delay: Duration) -> Self {
        self.latency = delay;
        self
    }

    /// The delay for one action, `service:Action` as in the stats (e.g.
    /// `ec2:CreateNatGateway`), instead of [`latency`](Self::latency).
    pub fn action_latency(mut self, action: impl Into<String>, delay: Duration) -> Self {
        self.action_latency.insert(action.into(), delay);
        self
    }

    /// The fraction of AWS calls answered with a throttling error, 0 to 1; default 0.
    pub fn throttle_rate(mut self, rate: f64) -> Self {
        self.throttle_rate = rate;
        self
    }

    /// The fraction of mutating AWS calls carried out but answered with a 500, 0 to 1;
    /// default 0.
    pub fn lost_reply_rate(mut self, rate: f64) -> Self {
        self.lost_reply_rate = rate;
        self
    }

    /// The lost-reply rate of one mutating action, `service:Action` as in the stats (e.g.
    /// `ec2:CreateVpc` at 1.0: every CreateVpc takes effect and is answered 500), instead
    /// of [`lost_reply_rate`](Self::lost_reply_rate).
    pub fn action_lost_reply_rate(mut self, action: impl Into<String>, rate: f64) -> Self {
        self.action_lost_reply_rate.insert(action.into(), rate);
        self
    }

    /// Turns on the AWS behaviour rules ([`aws::CATALOG`]): the emulator then answers as
    /// AWS does where moto does not (validation, ordering, eventual consistency).
    pub fn aws_rules(mut self, settings: aws::RuleSettings) -> Self {
        self.rules = Some(settings);
        self
    }

    /// The seed of the fault decisions; default one from the clock
    /// ([`RunningProxy::seed`] tells which, to reproduce a run).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Checks the settings, binds the listener and starts serving in the background of the
    /// current Tokio runtime. The port accepts connections when this returns.
    pub async fn start(self) -> Result<RunningProxy, Error> {
        let url = self.upstream.clone().ok_or(Error::NoUpstream)?;
        let authority = upstream_authority(&url)?;
        if !self.listen.ip().is_loopback() {
            return Err(Error::NotLoopback {
                what: "listen address",
                addr: self.listen.to_string(),
            });
        }
        check_rate("throttle rate", self.throttle_rate)?;
        check_rate("lost-reply rate", self.lost_reply_rate)?;
        for key in self.action_latency.keys() {
            check_action_key(key)?;
        }
        for (key, rate) in &self.action_lost_reply_rate {
            check_action_key(key)?;
            check_rate("per-action lost-reply rate", *rate)?;
        }
        let seed = self.seed.unwrap_or_else(clock_seed);
        let listener = tokio::net::TcpListener::bind(self.listen)
            .await
            .map_err(|source| Error::Bind {
                addr: self.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: self.listen,
            source,
        })?;
        let recorder = Arc::new(stats::Recorder::default());
        let rules = self.rules.map(|r| Arc::new(aws::Rules::new(r)));
        let settings = proxy::Settings {
            upstream: authority,
            latency: self.latency,
            action_latency: self.action_latency,
            throttle_rate: self.throttle_rate,
            lost_reply_rate: self.lost_reply_rate,
            action_lost_reply_rate: self.action_lost_reply_rate,
            seed,
            rules: rules.clone(),
        };
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(proxy::serve(listener, settings, recorder.clone(), rx));
        Ok(RunningProxy {
            port: addr.port(),
            addr,
            seed,
            recorder,
            rules,
            shutdown: tx,
            task: Some(task),
        })
    }
}

/// A proxy serving in the background. Dropping it stops it too (without waiting).
#[derive(Debug)]
pub struct RunningProxy {
    /// The port it listens on.
    pub port: u16,
    addr: SocketAddr,
    seed: u64,
    recorder: Arc<stats::Recorder>,
    rules: Option<Arc<aws::Rules>>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl RunningProxy {
    /// The AWS behaviour rules, when on: what they refused and remember.
    pub fn rules(&self) -> Option<&aws::Rules> {
        self.rules.as_deref()
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, the endpoint URL to give the SDK.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The seed of its fault decisions.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// A snapshot of the call counters.
    pub fn stats(&self) -> Stats {
        self.recorder.snapshot()
    }

    /// Zeroes the call counters (fault decisions carry on where they were).
    pub fn reset_stats(&self) {
        self.recorder.reset();
    }

    /// Stops accepting connections, lets requests in flight finish (up to 5 s) and
    /// returns when it has stopped.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningProxy {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// Parses a rate between 0 and 1 (`0.2`), naming the setting in the error.
pub fn parse_rate(name: &'static str, s: &str) -> Result<f64, Error> {
    let rate: f64 = s.trim().parse().map_err(|_| Error::BadRate {
        name,
        value: s.to_string(),
    })?;
    check_rate(name, rate)?;
    Ok(rate)
}

/// Parses a duration: `250ms`, `2s`, `1m 30s`, or `0`.
pub fn parse_duration(s: &str) -> Result<Duration, Error> {
    let t = s.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(t).map_err(|e| Error::BadLatency {
        what: "latency",
        spec: s.to_string(),
        reason: format!("{e} (write e.g. 100ms or 2s)"),
    })
}

/// Parses a per-action latency, `service:Action=DURATION` (e.g.
/// `ec2:CreateNatGateway=2s`).
pub fn parse_action_latency(s: &str) -> Result<(String, Duration), Error> {
    let bad = |reason: String| Error::BadLatency {
        what: "per-action latency",
        spec: s.to_string(),
        reason,
    };
    let (key, dur) = s.split_once('=').ok_or_else(|| {
        bad("expected service:Action=DURATION, e.g. ec2:CreateNatGateway=2s".into())
    })?;
    let key = key.trim();
    check_action_key(key)?;
    let delay = parse_duration(dur).map_err(|e| bad(e.to_string()))?;
    Ok((key.to_string(), delay))
}

/// Parses a listen address, `IP:PORT` (`localhost:PORT` means `127.0.0.1:PORT`).
pub fn parse_listen(s: &str) -> Result<SocketAddr, Error> {
    let t = s.trim();
    let t = match t.strip_prefix("localhost:") {
        Some(port) => format!("127.0.0.1:{port}"),
        None => t.to_string(),
    };
    t.parse().map_err(|_| Error::BadListen {
        spec: s.to_string(),
    })
}

fn check_rate(name: &'static str, rate: f64) -> Result<(), Error> {
    if rate.is_finite() && (0.0..=1.0).contains(&rate) {
        Ok(())
    } else {
        Err(Error::BadRate {
            name,
            value: rate.to_string(),
        })
    }
}

fn check_action_key(key: &str) -> Result<(), Error> {
    match key.split_once(':') {
        Some((service, action)) if !service.is_empty() && !action.is_empty() => Ok(()),
        _ => Err(Error::BadLatency {
            what: "per-action latency",
            spec: key.to_string(),
            reason: "the action must be service:Action as in the stats, \
                     e.g. ec2:CreateNatGateway or ecs:CreateService"
                .into(),
        }),
    }
}

/// Checks the upstream URL (plain http, loopback host, no path) and returns its
/// `host:port` authority.
fn upstream_authority(url: &str) -> Result<String, Error> {
    let bad = |reason: &str| Error::BadUpstream {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let uri: hyper::Uri = url.trim().parse().map_err(|_| bad("not a URL"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some(_) => {
            return Err(bad(
                "only http:// is supported (the emulator speaks plain HTTP)",
            ))
        }
        None => return Err(bad("missing http://")),
    }
    let authority = uri.authority().ok_or_else(|| bad("missing host"))?;
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return Err(bad("it must not have a path or query"));
    }
    let host = authority.host();
    let host_ip = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host_ip.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        return Err(Error::NotLoopback {
            what: "upstream",
            addr: url.to_string(),
        });
    }
    Ok(match authority.port_u16() {
        Some(_) => authority.as_str().to_string(),
        None => format!("{}:80", authority.as_str()),
    })
}

fn clock_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos ^ (u64::from(std::process::id()) << 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_must_be_plain_http_on_loopback() {
        assert_eq!(
            upstream_authority("http://127.0.0.1:5000").unwrap(),
            "127.0.0.1:5000"
        );
        assert_eq!(
            upstream_authority("http://localhost:5000/").unwrap(),
            "localhost:5000"
        );
        assert_eq!(
            upstream_authority("http://[::1]:5000").unwrap(),
            "[::1]:5000"
        );
        assert_eq!(
            upstream_authority("http://127.0.0.1").unwrap(),
            "127.0.0.1:80"
        );
        assert!(matches!(
            upstream_authority("http://10.0.0.1:5000"),
            Err(Error::NotLoopback { .. })
        ));
        assert!(matches!(
            upstream_authority("http://ec2.eu-west-2.amazonaws.com"),
            Err(Error::NotLoopback { .. })
        ));
        assert!(matches!(
            upstream_authority("https://127.0.0.1:5000"),
            Err(Error::BadUpstream { .. })
        ));
        assert!(matches!(
            upstream_authority("http://127.0.0.1:5000/prefix"),
            Err(Error::BadUpstream { .. })
        ));
        assert!(matches!(
            upstream_authority("127.0.0.1:5000"),
            Err(Error::BadUpstream { .. })
        ));
    }

    #[test]
    fn rates_and_latencies_parse_or_explain() {
        assert_eq!(parse_rate("throttle rate", "0.2").unwrap(), 0.2);
        assert_eq!(parse_rate("throttle rate", "1").unwrap(), 1.0);
        for bad in ["1.5", "-0.1", "NaN", "lots"] {
            let e = parse_rate("throttle rate", bad).unwrap_err().to_string();
            assert!(e.contains("between 0 and 1"), "{e}");
        }
        assert_eq!(parse_duration("100ms").unwrap(), Duration::from_millis(100));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_duration("fast").is_err());
        assert_eq!(
            parse_action_latency("ec2:CreateNatGateway=2000ms").unwrap(),
            ("ec2:CreateNatGateway".to_string(), Duration::from_secs(2))
        );
        assert_eq!(
            parse_action_latency("ec2:CreateNatGateway=2s").unwrap().1,
            Duration::from_secs(2)
        );
        let e = parse_action_latency("CreateNatGateway=2s")
            .unwrap_err()
            .to_string();
        assert!(e.contains("service:Action"), "{e}");
        assert!(parse_action_latency("ec2:CreateNatGateway").is_err());
    }

    #[test]
    fn listen_addresses() {
        assert_eq!(
            parse_listen("127.0.0.1:0").unwrap(),
            "127.0.0.1:0".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(
            parse_listen("localhost:8080").unwrap(),
            "127.0.0.1:8080".parse::<SocketAddr>().unwrap()
        );
        assert!(parse_listen("nowhere").is_err());
    }

    #[tokio::test]
    async fn start_refuses_bad_settings() {
        let e = FaultProxy::builder().start().await.unwrap_err();
        assert!(matches!(e, Error::NoUpstream));
        let e = FaultProxy::builder()
            .upstream("http://127.0.0.1:5000")
            .listen("0.0.0.0:0".parse().unwrap())
            .start()
            .await
            .unwrap_err();
        assert!(matches!(e, Error::NotLoopback { .. }), "{e}");
        let e = FaultProxy::builder()
            .upstream("http://127.0.0.1:5000")
            .throttle_rate(2.0)
            .start()
            .await
            .unwrap_err();
        assert!(matches!(e, Error::BadRate { .. }), "{e}");
        let e = FaultProxy::builder()
            .upstream("http://127.0.0.1:5000")
            .action_latency("CreateVpc", Duration::from_secs(1))
            .start()
            .await
            .unwrap_err();
        assert!(matches!(e, Error::BadLatency { .. }), "{e}");
    }
}
