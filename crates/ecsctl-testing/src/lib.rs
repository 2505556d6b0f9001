//! Test support: one real `moto` server per test process, started on a free loopback port
//! the first time a test asks for it and stopped when the process exits; each test gets an
//! SDK configuration with an account id of its own, so tests run in parallel without
//! seeing each other's resources.
//!
//! The server is `python3 -m moto.server` (install: `python3 -m pip install
//! 'moto[server]==5.*'`, which `make test` does). `ECSCTL_PYTHON` overrides the interpreter.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_types::SdkConfig;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

/// The region tests use (the seeds' users are in London).
pub const REGION: &str = "eu-west-2";

/// A running moto server.
pub struct Moto {
    pub port: u16,
    pub pid: u32,
}

impl Moto {
    /// The server for this process, started on first use.
    pub fn get() -> &'static Moto {
        static MOTO: OnceLock<Moto> = OnceLock::new();
        MOTO.get_or_init(|| start().unwrap_or_else(|e| panic!("cannot start moto: {e}")))
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// An SDK configuration pointed at this server with static credentials and the test
    /// region. `SdkConfig` carries no interceptors: give each service client
    /// [`AccountHeader`] (`ecsctl_aws::Clients::from_conf_with`) to isolate a test in an
    /// account of its own ([`next_account`]).
    pub async fn sdk_config(&self) -> SdkConfig {
        sdk_config_at(&self.url()).await
    }

    /// Environment variables that point a child `ecsctl` at this server (default account;
    /// tests keep apart by stack name).
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_ENDPOINT_URL".into(), self.url()),
            ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
            ("AWS_REGION".into(), REGION.into()),
        ]
    }
}

/// An SDK configuration for `url` with the emulator's static credentials and the test region.
async fn sdk_config_at(url: &str) -> SdkConfig {
    let creds = aws_credential_types::Credentials::new("testing", "testing", None, None, "moto");
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .region(aws_config::Region::new(REGION))
        .credentials_provider(creds)
        .load()
        .await
}

/// A fresh 12-digit account id, unique within this process.
pub fn next_account() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    format!("{:06}{:06}", std::process::id() % 1_000_000, 100_000 + n)
}

/// Adds `x-moto-account-id` to every request (moto's per-account isolation).
#[derive(Debug, Clone)]
pub struct AccountHeader(pub String);

impl Intercept for AccountHeader {
    fn name(&self) -> &'static str {
        "moto-account-header"
    }

    fn modify_before_transmit(
        &self,
        ctx: &mut BeforeTransmitInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), BoxError> {
        ctx.request_mut()
            .headers_mut()
            .insert("x-moto-account-id", self.0.clone());
        Ok(())
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn start() -> Result<Moto, String> {
    let port = free_port().map_err(|e| e.to_string())?;
    let python = std::env::var("ECSCTL_PYTHON").unwrap_or_else(|_| "python3".into());
    let (tx, rx) = mpsc::channel();
    // The child is tied to this thread's life with PR_SET_PDEATHSIG, so the thread that
    // spawns it lives as long as the process and the server dies with the process.
    std::thread::spawn(move || {
        let mut cmd = Command::new(&python);
        cmd.args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        .env("MOTO_ACM_VALIDATION_WAIT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        // The emulator dies with the test process (prctl in the child before exec).
        #[allow(unsafe_code)]
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        match cmd.spawn() {
            Ok(child) => {
                let _ = tx.send(Ok(child.id()));
                loop {
                    std::thread::park();
                }
            }
            Err(e) => {
                let _ = tx.send(Err(format!(
                    "{python} -m moto.server: {e} (install it: python3 -m pip install 'moto[server]==5.*')"
                )));
            }
        }
    });
    let pid = rx.recv().map_err(|e| e.to_string())??;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if http_get(port, "/moto-api/").is_ok() {
            return Ok(Moto { port, pid });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!(
        "moto did not answer on port {port} within 30s (is moto[server] installed?)"
    ))
}

/// A minimal HTTP GET against the server, returning the status code.
pub fn http_get(port: u16, path: &str) -> std::io::Result<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut buf = [0u8; 12];
    s.read_exact(&mut buf)?;
    let status = std::str::from_utf8(&buf[9..12])
        .ok()
        .and_then(|c| c.parse().ok());
    status.ok_or_else(|| std::io::Error::other("bad HTTP status line"))
}

/// The emulator behind the AWS behaviour layer (`ecsctl_faultproxy` with its AWS rules on):
/// moto answering as AWS does where it otherwise would not (validation, ordering, eventual
/// consistency, the ECS agent; see docs/aws-behaviour.md). One per test process, started on
/// first use, in front of [`Moto::get`].
pub struct AwsLike {
    pub proxy: ecsctl_faultproxy::RunningProxy,
}

impl AwsLike {
    /// The layer for this process, started on first use.
    pub fn get() -> &'static AwsLike {
        static LAYER: OnceLock<AwsLike> = OnceLock::new();
        LAYER.get_or_init(|| {
            let upstream = Moto::get().url();
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                        return;
                    }
                };
                rt.block_on(async move {
                    let started = ecsctl_faultproxy::FaultProxy::builder()
                        .upstream(upstream)
                        .aws_rules(ecsctl_faultproxy::aws::RuleSettings {
                            eni_linger: Duration::from_secs(2),
                        })
                        .start()
                        .await
                        .map_err(|e| e.to_string());
                    let _ = tx.send(started);
                    std::future::pending::<()>().await;
                });
            });
            let proxy = rx
                .recv()
                .map_err(|e| e.to_string())
                .and_then(|r| r)
                .unwrap_or_else(|e| panic!("cannot start the AWS behaviour layer: {e}"));
            AwsLike { proxy }
        })
    }

    pub fn url(&self) -> String {
        self.proxy.url()
    }

    /// Environment variables that point a child `ecsctl` at the layer.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = Moto::get().env();
        for (k, v) in &mut env {
            if k == "AWS_ENDPOINT_URL" {
                *v = self.url();
            }
        }
        env
    }

    /// An SDK configuration pointed at the layer (see [`Moto::sdk_config`]).
    pub async fn sdk_config(&self) -> SdkConfig {
        sdk_config_at(&self.url()).await
    }

    /// The messages of the refusals so far that mention `needle` (an id, a name), with the
    /// rule that refused: what AWS would have answered this caller.
    pub fn refusals_mentioning(&self, needle: &str) -> Vec<String> {
        self.proxy
            .rules()
            .map(|r| r.refused())
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, m)| m.contains(needle))
            .map(|(rule, m)| format!("{rule}: {m}"))
            .collect()
    }

    /// Container instances the layer's ECS agents left registered because their way out
    /// was cut before their instance terminated (a real account would hang on them).
    pub fn stranded(&self) -> Vec<String> {
        self.proxy.rules().map(|r| r.stranded()).unwrap_or_default()
    }
}
