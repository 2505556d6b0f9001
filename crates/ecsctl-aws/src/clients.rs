//! SDK clients built once from the standard configuration chain, with one retry policy and
//! one set of timeouts for every AWS API the stack uses.

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::classifiers::SharedRetryClassifier;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the SDK retries a failed call (throttling, 5xx, dropped connections) before the
/// caller sees the error. Standard mode with jittered exponential backoff: attempt `n`
/// waits a random time up to `min(initial_backoff × 2ⁿ, max_backoff)`. Throttling, timeouts
/// and dropped connections get all `max_attempts`; an error answer from the server (5xx)
/// stops after [`crate::retry::SERVER_ERROR_ATTEMPTS`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetrySettings {
    /// Attempts per call, the first one included (the SDK's default is 3).
    pub max_attempts: u32,
    /// The base of the exponential backoff.
    pub initial_backoff: Duration,
    /// The longest single wait between two attempts.
    pub max_backoff: Duration,
}

impl Default for RetrySettings {
    /// 25 attempts (as Terraform's AWS provider), 1 s base, at most 20 s between attempts:
    /// rides out minutes of `RequestLimitExceeded` when many resources change at once.
    fn default() -> Self {
        RetrySettings {
            max_attempts: 25,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(20),
        }
    }
}

impl RetrySettings {
    /// Few attempts and tiny waits: for tests against an emulator whose unimplemented
    /// actions answer HTTP 500, and for mocked throttling.
    pub fn quick() -> Self {
        RetrySettings {
            max_attempts: 2,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
        }
    }

    fn retry_config(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts.max(1))
            .with_initial_backoff(self.initial_backoff)
            .with_max_backoff(self.max_backoff.max(self.initial_backoff))
    }
}

/// Establishing a connection to an AWS endpoint takes milliseconds; more means it is down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// One attempt (request sent, response read). Control-plane calls answer in well under a
/// second; a stalled connection is cut here and the attempt retried.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(60);
/// One call with all its retries. Long enough for the default retry policy's worst case,
/// short enough that a call never hangs an apply.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(10 * 60);

fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// One client per AWS API the stack uses.
#[derive(Clone, Debug)]
pub struct Clients {
    pub ec2: aws_sdk_ec2::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub autoscaling: aws_sdk_autoscaling::Client,
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    pub iam: aws_sdk_iam::Client,
    pub route53: aws_sdk_route53::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub sts: aws_sdk_sts::Client,
    /// The region every client uses (empty when none is configured).
    pub region: String,
    /// How many API calls these clients made, per service (every client counts its own).
    pub calls: CallCounter,
}

/// API calls made per service (`ec2`, `elbv2`, …): one per operation sent, however many
/// attempts its retries took. Shared by clones of the [`Clients`] it belongs to.
#[derive(Clone, Debug, Default)]
pub struct CallCounter(Arc<Mutex<BTreeMap<&'static str, u64>>>);

impl CallCounter {
    fn count(&self, service: &'static str) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry(service).or_default() += 1;
    }

    /// The counts so far.
    pub fn snapshot(&self) -> CallStats {
        let m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        CallStats {
            by_service: m.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }
}

/// A count of API calls per service.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallStats {
    pub by_service: BTreeMap<String, u64>,
}

impl CallStats {
    pub fn total(&self) -> u64 {
        self.by_service.values().sum()
    }

    /// The calls made since `earlier` (a snapshot of the same counter).
    pub fn since(&self, earlier: &CallStats) -> CallStats {
        let by_service = self
            .by_service
            .iter()
            .map(|(k, v)| {
                let before = earlier.by_service.get(k).copied().unwrap_or(0);
                (k.clone(), v.saturating_sub(before))
            })
            .filter(|(_, v)| *v > 0)
            .collect();
        CallStats { by_service }
    }
}

/// `ec2 8, elbv2 5` (busiest service first, then by name).
impl fmt::Display for CallStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut counts: Vec<(&String, &u64)> = self.by_service.iter().collect();
        counts.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let parts: Vec<String> = counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
        f.write_str(&parts.join(", "))
    }
}

/// The interceptor that counts the calls of one service's client.
#[derive(Debug)]
struct CountCalls {
    service: &'static str,
    counter: CallCounter,
}

impl Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "ecsctl-call-counter"
    }

    fn read_before_serialization(
        &self,
        _ctx: &BeforeSerializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.counter.count(self.service);
        match cfg.load::<Metadata>() {
            Some(m) => tracing::debug!(service = self.service, operation = m.name(), "AWS call"),
            None => tracing::debug!(service = self.service, "AWS call"),
        }
        Ok(())
    }
}

impl Clients {
    /// Clients from the standard chain (env, profile, SSO, IMDS); `AWS_ENDPOINT_URL` points
    /// every service at an emulator. `region` overrides the chain's region.
    pub async fn from_env(region: Option<&str>, settings: &RetrySettings) -> Self {
        let conf = load_env(region).await;
        Self::from_conf_settings(&conf, settings, &[])
    }

    /// Clients for `conf` with the default [`RetrySettings`].
    pub fn from_conf(conf: &aws_types::SdkConfig) -> Self {
        Self::from_conf_settings(conf, &RetrySettings::default(), &[])
    }

    /// Like [`Clients::from_conf`], with an interceptor on every client (tests use it to
    /// give each test its own emulator account).
    pub fn from_conf_with(conf: &aws_types::SdkConfig, interceptor: SharedInterceptor) -> Self {
        Self::from_conf_settings(conf, &RetrySettings::default(), &[interceptor])
    }

    /// Clients for `conf` with the given retry policy and interceptors on every client.
    pub fn from_conf_settings(
        conf: &aws_types::SdkConfig,
        settings: &RetrySettings,
        interceptors: &[SharedInterceptor],
    ) -> Self {
        let retry = settings.retry_config();
        let timeouts = timeout_config();
        let calls = CallCounter::default();
        macro_rules! client {
            ($sdk:ident, $service:literal) => {{
                let mut b = $sdk::config::Builder::from(conf);
                b.set_retry_config(Some(retry.clone()));
                b.set_timeout_config(Some(timeouts.clone()));
                b.push_interceptor(SharedInterceptor::new(crate::retry::StampAttempt));
                b.push_retry_classifier(SharedRetryClassifier::new(
                    crate::retry::BoundServerErrors {
                        max: crate::retry::SERVER_ERROR_ATTEMPTS,
                    },
                ));
                for i in interceptors {
                    b.push_interceptor(i.clone());
                }
                b.push_interceptor(SharedInterceptor::new(CountCalls {
                    service: $service,
                    counter: calls.clone(),
                }));
                $sdk::Client::from_conf(b.build())
            }};
        }
        Clients {
            ec2: client!(aws_sdk_ec2, "ec2"),
            ecs: client!(aws_sdk_ecs, "ecs"),
            autoscaling: client!(aws_sdk_autoscaling, "autoscaling"),
            elbv2: client!(aws_sdk_elasticloadbalancingv2, "elbv2"),
            iam: client!(aws_sdk_iam, "iam"),
            route53: client!(aws_sdk_route53, "route53"),
            ssm: client!(aws_sdk_ssm, "ssm"),
            logs: client!(aws_sdk_cloudwatchlogs, "logs"),
            sts: client!(aws_sdk_sts, "sts"),
            region: conf.region().map(|r| r.to_string()).unwrap_or_default(),
            calls,
        }
    }
}

/// The SDK configuration from the standard chain, `region` overriding the chain's.
pub(crate) async fn load_env(region: Option<&str>) -> aws_types::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(r) = region {
        loader = loader.region(aws_config::Region::new(r.to_string()));
    }
    loader.load().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_retries_far_more_than_the_sdk_default() {
        let c = RetrySettings::default().retry_config();
        assert_eq!(c.max_attempts(), 25);
        assert_eq!(c.max_backoff(), Duration::from_secs(20));
        assert_eq!(c.mode(), aws_config::retry::RetryMode::Standard);
    }

    #[test]
    fn degenerate_settings_still_make_one_attempt() {
        let s = RetrySettings {
            max_attempts: 0,
            initial_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(1),
        };
        let c = s.retry_config();
        assert_eq!(c.max_attempts(), 1);
        assert_eq!(c.max_backoff(), Duration::from_secs(2));
    }

    #[test]
    fn clients_carry_the_policy_and_timeouts() {
        let conf = aws_types::SdkConfig::builder()
            .region(aws_config::Region::new("eu-west-2"))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let c = Clients::from_conf_settings(&conf, &RetrySettings::quick(), &[]);
        assert_eq!(c.region, "eu-west-2");
        let retry = c.ec2.config().retry_config().expect("retry config");
        assert_eq!(retry.max_attempts(), 2);
        let t = c.sts.config().timeout_config().expect("timeouts");
        assert_eq!(t.operation_attempt_timeout(), Some(ATTEMPT_TIMEOUT));
        assert_eq!(t.operation_timeout(), Some(OPERATION_TIMEOUT));
    }

    #[test]
    fn call_stats_subtract_and_render_busiest_first() {
        let counter = CallCounter::default();
        counter.count("elbv2");
        let before = counter.snapshot();
        for _ in 0..3 {
            counter.count("ec2");
        }
        counter.count("elbv2");
        counter.count("iam");
        let after = counter.snapshot();
        assert_eq!(after.total(), 6);
        let delta = after.since(&before);
        assert_eq!(delta.total(), 5);
        assert_eq!(delta.to_string(), "ec2 3, elbv2 1, iam 1");
        assert_eq!(CallStats::default().to_string(), "");
    }

    #[tokio::test]
    async fn every_client_counts_its_calls() {
        let conf = aws_types::SdkConfig::builder()
            .region(aws_config::Region::new("eu-west-2"))
            .endpoint_url("http://127.0.0.1:9")
            .credentials_provider(aws_types::sdk_config::SharedCredentialsProvider::new(
                aws_sdk_sts::config::Credentials::for_tests(),
            ))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let c = Clients::from_conf_settings(&conf, &RetrySettings::quick(), &[]);
        // Nothing listens on port 9: the call fails, but it was made (once, retries aside).
        let _ = c.sts.get_caller_identity().send().await;
        let _ = c.ec2.describe_vpcs().send().await;
        let stats = c.calls.snapshot();
        assert_eq!(stats.by_service.get("sts"), Some(&1));
        assert_eq!(stats.by_service.get("ec2"), Some(&1));
        assert_eq!(stats.total(), 2);
    }
}
