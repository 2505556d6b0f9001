//! IAM eventual consistency: a role or instance profile that was just created is not
//! usable by other services for some seconds (typically 5–15 s, rarely up to ~2 minutes).
//! Callers that pass a fresh role or profile to another API (launch template, ASG, task
//! definition, ECS service) wrap that call in [`retry_iam_propagation`].
//!
//! What AWS answers while a new role or profile propagates:
//! - EC2 RunInstances / Auto Scaling (launch template with a profile):
//!   `InvalidParameterValue` / `ValidationError`: "Value (…) for parameter
//!   iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name" (or "… ARN").
//! - ECS CreateService / UpdateService: `InvalidParameterException`: "Unable to assume role
//!   and validate the specified targetGroupArn …", or "Unable to assume the service linked
//!   role".
//! - ECS RegisterTaskDefinition with a task or execution role: `ClientException`: "ECS was
//!   unable to assume the role '…' that was provided for this task", or "Role is not valid".
//! - Auto Scaling PutScalingPolicy / CreateAutoScalingGroup with a service role: "… cannot
//!   be assumed …".

use ecsctl_provider::{Call, ProviderError};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// How long a fresh IAM role or instance profile may take to become usable.
pub const PROPAGATION_TIMEOUT: Duration = Duration::from_secs(120);

const FIRST_DELAY: Duration = Duration::from_secs(2);
const MAX_DELAY: Duration = Duration::from_secs(10);

/// Message fragments (lower case) of the errors AWS returns while a new IAM role or
/// instance profile is not yet visible to the calling service.
const PATTERNS: &[&str] = &[
    "invalid iam instance profile",
    "iaminstanceprofile.name is invalid",
    "iaminstanceprofile.arn is invalid",
    "unable to assume role",
    "unable to assume the role",
    "unable to assume the service linked role",
    "role is not valid",
    "cannot be assumed",
    // ECS CreateService / UpdateService right after the listener or rule that forwards to
    // the target group was made (terraform-provider-aws retries the same two messages in
    // internal/service/ecs/service.go, retryServiceCreate).
    "does not have an associated load balancer",
    "verify that the ecs service role being passed has the proper permissions",
];

/// Whether `err` is AWS saying that an IAM role or instance profile is not usable yet.
pub fn is_iam_propagation(err: &ProviderError) -> bool {
    let message = err.message.to_ascii_lowercase();
    PATTERNS.iter().any(|p| message.contains(p))
}

/// Run `f`, retrying while it fails with an IAM propagation error (see
/// [`is_iam_propagation`]) for up to [`PROPAGATION_TIMEOUT`], with a progress note on each
/// retry. Any other error, or the propagation error still there at the deadline, is
/// returned as is (the latter with a hint appended).
pub async fn retry_iam_propagation<F, Fut, T>(call: &Call<'_>, mut f: F) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let start = Instant::now();
    let deadline = start + PROPAGATION_TIMEOUT;
    let mut delay = FIRST_DELAY;
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) if is_iam_propagation(&e) => {
                let elapsed = start.elapsed().as_secs();
                if Instant::now() + delay > deadline {
                    let mut e = e;
                    e.message = format!(
                        "{} (still failing after {elapsed}s; a new IAM role or instance \
                         profile usually becomes usable within 2 minutes: check that it \
                         exists and that its trust policy allows this service)",
                        e.message
                    );
                    return Err(e);
                }
                tracing::debug!(error = %e, "IAM role or profile not usable yet; retrying");
                call.progress.note(
                    call.address,
                    &format!(
                        "waiting for AWS to propagate a new IAM role, instance profile or \
                         load balancer association ({elapsed}s): {}",
                        e.message
                    ),
                );
            }
            Err(e) => return Err(e),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(MAX_DELAY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecsctl_graph::{Address, Kind};
    use ecsctl_provider::{ErrorClass, Options, Progress};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    #[derive(Default)]
    struct Notes(Mutex<Vec<String>>);

    impl Progress for Notes {
        fn note(&self, _: &Address, message: &str) {
            self.0.lock().unwrap().push(message.to_string());
        }
    }

    fn profile_error() -> ProviderError {
        ProviderError::new(
            ErrorClass::InvalidInput,
            "Value (hello-instance) for parameter iamInstanceProfile.name is invalid. \
             Invalid IAM Instance Profile name",
        )
        .with_code("InvalidParameterValue")
    }

    #[tokio::test(start_paused = true)]
    async fn retries_until_the_role_is_usable() {
        let address = Address::new(Kind::AutoscalingGroup, "instances");
        let notes = Notes::default();
        let options = Options::default();
        let call = Call {
            address: &address,
            progress: &notes,
            options: &options,
        };
        let calls = AtomicUsize::new(0);
        let got = retry_iam_propagation(&call, || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(profile_error())
            } else {
                Ok("asg")
            }
        })
        .await;
        assert_eq!(got, Ok("asg"));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        let notes = notes.0.lock().unwrap();
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(
            notes[0].contains("Invalid IAM Instance Profile"),
            "{notes:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn other_errors_are_not_retried() {
        let address = Address::new(Kind::EcsService, "hello");
        let options = Options::default();
        let call = Call {
            address: &address,
            progress: &ecsctl_provider::Quiet,
            options: &options,
        };
        let calls = AtomicUsize::new(0);
        let got: Result<(), _> = retry_iam_propagation(&call, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(ProviderError::new(
                ErrorClass::AccessDenied,
                "not authorized to perform: iam:PassRole",
            ))
        })
        .await;
        assert_eq!(got.unwrap_err().class, ErrorClass::AccessDenied);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_the_propagation_timeout() {
        let address = Address::new(Kind::EcsService, "hello");
        let options = Options::default();
        let call = Call {
            address: &address,
            progress: &ecsctl_provider::Quiet,
            options: &options,
        };
        let start = Instant::now();
        let got: Result<(), _> = retry_iam_propagation(&call, || async {
            Err(ProviderError::new(
                ErrorClass::InvalidInput,
                "Unable to assume role and validate the specified targetGroupArn.",
            ))
        })
        .await;
        let err = got.unwrap_err();
        assert!(err.message.contains("still failing after"), "{err}");
        assert!(start.elapsed() <= PROPAGATION_TIMEOUT + MAX_DELAY);
        assert!(start.elapsed() >= PROPAGATION_TIMEOUT - MAX_DELAY);
    }
}
