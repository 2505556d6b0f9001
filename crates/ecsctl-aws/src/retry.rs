//! Retries that stop when waiting will not help, and calls that must not be sent twice.
//!
//! The SDK's standard mode gives every retryable error the same budget of attempts. ecsctl
//! asks for many (25, as Terraform's AWS provider) so that throttling (`RequestLimitExceeded`,
//! `Throttling`, HTTP 429) is ridden out when many resources change at once. A server error
//! (HTTP 500/502/504, `InternalError`) that repeats is different: AWS documents these as
//! transient and worth "a few" retries, but one that answers the same after a few attempts
//! will answer the same for minutes (an emulator's unimplemented action, a regional outage),
//! and 25 attempts with backoff up to 20 s kept the user waiting 3.5 minutes for it.
//!
//! The classifier here runs after the SDK's own and forbids a further retry of anything but
//! throttling once [`SERVER_ERROR_ATTEMPTS`] attempts were made. Classifiers only see the
//! attempt's request and response, not the attempt count, so an interceptor stamps the count
//! onto the response first.
//!
//! Sources: AWS SDKs and Tools reference guide, "Retry behavior" (standard mode: transient
//! and throttling errors retried, 3 attempts by default); EC2 API reference, "Error codes"
//! (`RequestLimitExceeded` is throttling, `InternalError`/`Unavailable` are server errors).

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextMut, InterceptorContext,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryClassifierPriority, RetryReason,
};
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::retry::ErrorKind;

/// Attempts a call gets, the first included, when it fails with anything but throttling.
/// With the default 1 s base backoff the waits between them add up to at most 15 s.
pub const SERVER_ERROR_ATTEMPTS: u32 = 5;

/// The response header that carries the attempt number from the interceptor to the
/// classifier. It never leaves the process.
const ATTEMPT_HEADER: &str = "x-ecsctl-attempt";

/// Stamps each response with the number of the attempt that received it.
#[derive(Debug)]
pub(crate) struct StampAttempt;

impl Intercept for StampAttempt {
    fn name(&self) -> &'static str {
        "ecsctl-stamp-attempt"
    }

    fn modify_before_deserialization(
        &self,
        ctx: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let attempt = cfg
            .load::<RequestAttempts>()
            .map(|a| a.attempts())
            .unwrap_or(1);
        ctx.response_mut()
            .headers_mut()
            .insert(ATTEMPT_HEADER, attempt.to_string());
        Ok(())
    }
}

/// Forbids retrying a non-throttling error after `max` attempts.
#[derive(Debug)]
pub(crate) struct BoundServerErrors {
    pub max: u32,
}

impl BoundServerErrors {
    fn attempt(ctx: &InterceptorContext) -> Option<u32> {
        ctx.response()?.headers().get(ATTEMPT_HEADER)?.parse().ok()
    }
}

impl ClassifyRetry for BoundServerErrors {
    fn classify_retry(&self, _ctx: &InterceptorContext) -> RetryAction {
        RetryAction::NoActionIndicated
    }

    fn classify_retry_v2(&self, ctx: &InterceptorContext, previous: &RetryAction) -> RetryAction {
        let RetryAction::RetryIndicated(RetryReason::RetryableError { kind, .. }) = previous else {
            return RetryAction::NoActionIndicated;
        };
        if *kind == ErrorKind::ThrottlingError {
            return RetryAction::NoActionIndicated;
        }
        match Self::attempt(ctx) {
            Some(n) if n >= self.max => {
                tracing::debug!(
                    attempts = n,
                    "server error repeated; not retrying it further"
                );
                RetryAction::RetryForbidden
            }
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "ecsctl-bound-server-errors"
    }

    fn priority(&self) -> RetryClassifierPriority {
        // After every classifier the SDK registers (the highest of them is the transient
        // error classifier), so that `previous` holds their verdict.
        RetryClassifierPriority::run_after(RetryClassifierPriority::run_after(
            RetryClassifierPriority::transient_error_classifier(),
        ))
    }
}

/// A retry classifier for calls that are not safe to send twice: throttling errors stay
/// retried (the standard classifiers' verdict is kept), any other retry is forbidden.
/// Runs after every standard classifier.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThrottlingOnly;

impl ClassifyRetry for ThrottlingOnly {
    fn classify_retry(&self, _ctx: &InterceptorContext) -> RetryAction {
        RetryAction::NoActionIndicated
    }

    fn classify_retry_v2(&self, _ctx: &InterceptorContext, previous: &RetryAction) -> RetryAction {
        verdict(previous)
    }

    fn name(&self) -> &'static str {
        "ecsctl-throttling-only"
    }

    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::run_after(RetryClassifierPriority::run_after(
            RetryClassifierPriority::transient_error_classifier(),
        ))
    }
}

/// What [`ThrottlingOnly`] makes of the verdict of the classifiers before it.
fn verdict(previous: &RetryAction) -> RetryAction {
    match previous {
        RetryAction::RetryIndicated(RetryReason::RetryableError {
            kind: ErrorKind::ThrottlingError,
            ..
        }) => RetryAction::NoActionIndicated,
        RetryAction::RetryIndicated(_) => RetryAction::RetryForbidden,
        _ => RetryAction::NoActionIndicated,
    }
}

/// The per-call configuration of a kind's create call: `.customize().config_override(
/// once!(aws_sdk_ec2))` sends it once per [`crate::safe_create::create`] attempt (throttling aside).
macro_rules! once {
    ($sdk:ident) => {
        $sdk::config::Config::builder().retry_classifier($crate::retry::ThrottlingOnly)
    };
}
pub(crate) use once;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::{Clients, RetrySettings};
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// An HTTP server on loopback that answers every request with `status` and `body` and
    /// counts the requests.
    async fn always(status: &'static str, body: &'static str) -> (String, Arc<AtomicU32>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let count = Arc::new(AtomicU32::new(0));
        let seen = count.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 65536];
                    let mut got = Vec::new();
                    loop {
                        let Ok(n) = sock.read(&mut buf).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        got.extend_from_slice(&buf[..n]);
                        // Every request the SDK sends here is small: one read of the head
                        // and body, then an answer; keep-alive brings the next attempt.
                        if let Some(end) = find(&got, b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&got[..end]).to_lowercase();
                            let len: usize = head
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:"))
                                .and_then(|v| v.trim().parse().ok())
                                .unwrap_or(0);
                            if got.len() < end + 4 + len {
                                continue;
                            }
                            got.drain(..end + 4 + len);
                            seen.fetch_add(1, Ordering::SeqCst);
                            let resp = format!(
                                "HTTP/1.1 {status}\r\ncontent-type: text/xml\r\ncontent-length: {}\r\n\r\n{body}",
                                body.len()
                            );
                            if sock.write_all(resp.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        (url, count)
    }

    fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len()).position(|w| w == needle)
    }

    fn clients(url: &str) -> Clients {
        let conf = aws_types::SdkConfig::builder()
            .region(aws_config::Region::new("eu-west-2"))
            .endpoint_url(url)
            .credentials_provider(aws_types::sdk_config::SharedCredentialsProvider::new(
                aws_sdk_sts::config::Credentials::for_tests(),
            ))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        // The default number of attempts, with millisecond waits so the test is quick.
        let settings = RetrySettings {
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(2),
            ..RetrySettings::default()
        };
        Clients::from_conf_settings(&conf, &settings, &[])
    }

    #[test]
    fn only_throttling_keeps_its_retry() {
        assert_eq!(
            verdict(&RetryAction::throttling_error()),
            RetryAction::NoActionIndicated
        );
        for retry in [
            RetryAction::transient_error(),
            RetryAction::server_error(),
            RetryAction::client_error(),
        ] {
            assert_eq!(verdict(&retry), RetryAction::RetryForbidden, "{retry}");
        }
        assert_eq!(
            verdict(&RetryAction::NoActionIndicated),
            RetryAction::NoActionIndicated
        );
        assert!(ThrottlingOnly.priority() > RetryClassifierPriority::transient_error_classifier());
    }

    const EC2_ERROR: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>{code}</Code><Message>m</Message></Error></Errors><RequestID>r</RequestID></Response>";

    #[tokio::test]
    async fn a_repeated_server_error_is_given_up_after_a_few_attempts() {
        let body: &'static str = Box::leak(
            EC2_ERROR
                .replace("{code}", "InternalError")
                .into_boxed_str(),
        );
        let (url, count) = always("500 Internal Server Error", body).await;
        let c = clients(&url);
        let err = c
            .ec2
            .describe_vpcs()
            .send()
            .await
            .expect_err("the server always fails");
        assert_eq!(
            count.load(Ordering::SeqCst),
            super::SERVER_ERROR_ATTEMPTS,
            "{err:?}"
        );
        use aws_smithy_types::error::metadata::ProvideErrorMetadata;
        assert_eq!(err.code(), Some("InternalError"));
    }

    #[tokio::test]
    async fn throttling_keeps_the_whole_retry_budget() {
        let body: &'static str = Box::leak(
            EC2_ERROR
                .replace("{code}", "RequestLimitExceeded")
                .into_boxed_str(),
        );
        let (url, count) = always("503 Service Unavailable", body).await;
        let c = clients(&url);
        let _ = c
            .ec2
            .describe_vpcs()
            .send()
            .await
            .expect_err("the server always throttles");
        assert_eq!(
            count.load(Ordering::SeqCst),
            RetrySettings::default().max_attempts
        );
    }
}
