//! Who the credentials are, checked once before anything else: a clear error when there are
//! no credentials or the endpoint does not answer, in bounded time, instead of the first
//! real call failing after the SDK's retries with its own debug output.

use aws_credential_types::provider::ProvideCredentials;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use ecsctl_provider::{ErrorClass, ProviderError};
use std::time::Duration;

/// The account and region the credentials resolve to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub account: String,
    pub region: String,
}

/// How long resolving credentials may take (SSO and IMDS go over the network).
const CREDENTIALS_TIMEOUT: Duration = Duration::from_secs(15);
/// How long the identity call may take, retries included.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

const HOW: &str = "provide credentials in one of the standard ways: AWS_PROFILE=<profile> \
                   (after `aws sso login --profile <profile>` for an SSO profile), \
                   AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), or a \
                   role of the instance or task ecsctl runs on";

/// Resolves the credentials of `conf` and asks STS whose they are.
pub async fn check(conf: &aws_types::SdkConfig) -> Result<Identity, ProviderError> {
    let region = conf.region().map(|r| r.to_string()).unwrap_or_default();
    let Some(provider) = conf.credentials_provider() else {
        return Err(ProviderError::new(
            ErrorClass::InvalidInput,
            format!("no AWS credentials: {HOW}"),
        ));
    };
    match tokio::time::timeout(CREDENTIALS_TIMEOUT, provider.provide_credentials()).await {
        Err(_) => {
            return Err(ProviderError::new(
                ErrorClass::InvalidInput,
                format!(
                    "no AWS credentials after {}s of looking (is an SSO login or the \
                     instance metadata service hanging?): {HOW}",
                    CREDENTIALS_TIMEOUT.as_secs()
                ),
            ))
        }
        Ok(Err(e)) => {
            return Err(ProviderError::new(
                ErrorClass::InvalidInput,
                format!("no AWS credentials ({}): {HOW}", error_chain(&e)),
            ))
        }
        Ok(Ok(_)) => {}
    }
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(conf)
            .retry_config(RetryConfig::standard().with_max_attempts(2))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_attempt_timeout(Duration::from_secs(8))
                    .build(),
            )
            .build(),
    );
    let endpoint = conf
        .endpoint_url()
        .map(str::to_string)
        .unwrap_or_else(|| format!("https://sts.{region}.amazonaws.com"));
    tracing::debug!(%endpoint, "GetCallerIdentity");
    let answer = tokio::time::timeout(CALL_TIMEOUT, sts.get_caller_identity().send()).await;
    let out = match answer {
        Err(_) => {
            return Err(ProviderError::new(
                ErrorClass::Other,
                format!(
                    "AWS at {endpoint} did not answer within {}s: check the network, a proxy, \
                     or AWS_ENDPOINT_URL",
                    CALL_TIMEOUT.as_secs()
                ),
            ))
        }
        Ok(Err(e)) => {
            use aws_sdk_sts::error::SdkError;
            let (class, what) = match &e {
                SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => (
                    ErrorClass::Other,
                    format!(
                        "cannot reach AWS at {endpoint} ({}): check the network, a proxy, the \
                         region, or AWS_ENDPOINT_URL",
                        error_chain(&e)
                    ),
                ),
                _ => (
                    ErrorClass::InvalidInput,
                    format!(
                        "AWS refused the credentials ({}): they may be expired or wrong; {HOW}",
                        error_chain(&e)
                    ),
                ),
            };
            return Err(ProviderError::new(class, what));
        }
        Ok(Ok(out)) => out,
    };
    let account = out.account().unwrap_or_default().to_string();
    Ok(Identity { account, region })
}

/// An error and its sources, one line.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}
