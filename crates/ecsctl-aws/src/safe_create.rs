//! Creates that neither lose nor duplicate a resource when a reply is lost.
//!
//! A create call whose reply never arrives (a 5xx after the work was done, a timeout, a
//! dropped connection) may or may not have made the resource. Two rules keep that safe:
//!
//! 1. The SDK never re-sends the create call of a kind by itself after such an error:
//!    [`crate::retry::once!`] gives the call [`crate::retry::ThrottlingOnly`], which keeps the retries of throttling
//!    errors (AWS guarantees a throttled call did nothing) and forbids every other retry.
//!    Follow-up calls inside a create (attach, authorize, put policy …) keep the standard
//!    retries; their handlers treat "already done" answers as success.
//! 2. [`create`] resolves an uncertain failure by asking the kind's `find` (tags, unique
//!    name or token) for what the create made. `find` finishes what an interrupted create
//!    left undone (attributes, rules, policies), so an adopted resource matches its
//!    arguments. When nothing is found it creates again after a jittered backoff, a
//!    bounded number of times.

use crate::error;
use crate::kinds::{Handler, Req};
use crate::Clients;
use ecsctl_provider::{Created, ErrorClass, ProviderError};
use rand::Rng;
use std::time::Duration;

/// Create calls per [`create`]: the first, and at most two more when a lost reply left
/// nothing behind.
pub const MAX_CREATE_ATTEMPTS: u32 = 3;

/// Why a failed create may have made something.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Doubt {
    /// No reply, a server error or a timeout: the call may have taken effect.
    LostReply,
    /// A later call of the create was throttled past its retries; the resource may exist.
    Throttled,
    /// The name (or token) is taken: by an earlier attempt of this create, or by someone
    /// else.
    AlreadyExists,
}

/// Codes of server-side failures after which a call may or may not have taken effect.
const SERVER_CODES: &[&str] = &[
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "InternalServiceError",
    "InternalServiceErrorException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "Unavailable",
    "ServerException",
    "ServiceException",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// Codes saying the name, token or slot a create wants is taken.
const EXISTS_CODES: &[&str] = &[
    "EntityAlreadyExists",
    "HostedZoneAlreadyExists",
    "DuplicateLoadBalancerName",
    "DuplicateTargetGroupName",
    "DuplicateListener",
    "PriorityInUse",
    "IdempotentParameterMismatch",
];

fn doubt(e: &ProviderError) -> Option<Doubt> {
    let code = e.code.as_deref();
    if let Some(c) = code {
        if EXISTS_CODES.contains(&c)
            || c.ends_with("AlreadyExists")
            || c.ends_with("AlreadyExistsException")
            || c.ends_with("AlreadyExistsFault")
            || c.ends_with(".Duplicate")
        {
            return Some(Doubt::AlreadyExists);
        }
    }
    match e.class {
        ErrorClass::Throttled => Some(Doubt::Throttled),
        ErrorClass::Other => match code {
            None if no_answer(&e.message) => Some(Doubt::LostReply),
            Some(c) if SERVER_CODES.contains(&c) => Some(Doubt::LostReply),
            _ => None,
        },
        _ => None,
    }
}

/// Whether a code-less error is one `error::map` made of a call without a usable answer: a
/// 5xx page, a timeout, a dropped connection. Errors the handlers make themselves (a load
/// balancer that failed to provision, a reply without an id) are not.
fn no_answer(message: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "HTTP 5",
        "the call timed out",
        "could not reach the AWS endpoint",
    ];
    PREFIXES.iter().any(|p| message.starts_with(p))
}

/// The wait before create attempt `attempt + 1`: up to `min(base × 2^(attempt-1), cap)`,
/// at least half of it.
fn backoff(base: Duration, cap: Duration, attempt: u32) -> Duration {
    let exp = base
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(cap.max(base));
    exp.mul_f64(rand::thread_rng().gen_range(0.5..=1.0))
}

/// The backoff the clients' retry policy uses (the same settings shorten both).
fn backoff_settings(aws: &Clients) -> (Duration, Duration) {
    match aws.ec2.config().retry_config() {
        Some(r) => (r.initial_backoff(), r.max_backoff()),
        None => (Duration::from_secs(1), Duration::from_secs(20)),
    }
}

/// `handler.create`, resolving failures that leave it unknown whether the resource was
/// made: `find` adopts what the create made (and finishes it), or the create is sent again
/// after a backoff, up to [`MAX_CREATE_ATTEMPTS`] times. "Already exists" is adopted only
/// when `find` says the resource is this address's; otherwise the error stands.
pub async fn create(handler: &dyn Handler, req: &Req<'_>) -> Result<Created, ProviderError> {
    let call = req.call;
    let (base, cap) = backoff_settings(req.aws);
    let mut attempt = 1;
    loop {
        let err = match handler.create(req).await {
            Ok(created) => return Ok(created),
            Err(e) => e,
        };
        let Some(why) = doubt(&err) else {
            return Err(err);
        };
        tracing::debug!(address = %call.address, attempt, ?why, error = %err, "create failed uncertainly");
        match handler.find(req).await {
            Ok(Some(found)) => {
                call.progress.note(
                    call.address,
                    &format!(
                        "adopted {}: the create made it although its answer was an error ({})",
                        found.id, err.message
                    ),
                );
                return Ok(found);
            }
            Ok(None) => {}
            Err(fe) => {
                return Err(error::with_context(
                    err,
                    &format!(
                        "looking for what the create may have made failed too: {fe}; \
                         run the command again to resolve it"
                    ),
                ))
            }
        }
        if why != Doubt::LostReply {
            return Err(err);
        }
        if attempt >= MAX_CREATE_ATTEMPTS {
            return Err(error::with_context(
                err,
                &format!(
                    "{attempt} create attempts failed and none left a resource behind; \
                     run the command again"
                ),
            ));
        }
        let wait = backoff(base, cap, attempt);
        call.progress.note(
            call.address,
            &format!(
                "create failed ({}) and made nothing; trying again in {}ms",
                err.message,
                wait.as_millis()
            ),
        );
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use ecsctl_graph::{Address, Kind};
    use ecsctl_provider::{Attrs, Call, Live, Options, Orphan, Quiet, ReadItem};
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    fn err(class: ErrorClass, code: Option<&str>) -> ProviderError {
        let e = ProviderError::new(class, "boom");
        match code {
            Some(c) => e.with_code(c),
            None => e,
        }
    }

    fn mapped(status: u16) -> ProviderError {
        use aws_sdk_ec2::operation::create_vpc::CreateVpcError;
        use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
        use aws_smithy_runtime_api::client::result::SdkError;
        let e = CreateVpcError::generic(aws_smithy_types::error::ErrorMetadata::builder().build());
        let raw = HttpResponse::new(
            status.try_into().expect("status"),
            aws_smithy_types::body::SdkBody::from("<html>oops</html>"),
        );
        error::map(SdkError::service_error(e, raw))
    }

    #[test]
    fn which_failures_leave_doubt() {
        assert_eq!(doubt(&mapped(500)), Some(Doubt::LostReply));
        assert_eq!(doubt(&mapped(503)), Some(Doubt::LostReply));
        assert_eq!(doubt(&mapped(400)), None);
        let timeout: aws_smithy_runtime_api::client::result::SdkError<
            aws_sdk_ec2::operation::create_vpc::CreateVpcError,
            aws_smithy_runtime_api::client::orchestrator::HttpResponse,
        > = aws_smithy_runtime_api::client::result::SdkError::timeout_error("attempt timeout");
        assert_eq!(doubt(&error::map(timeout)), Some(Doubt::LostReply));
        assert_eq!(
            doubt(&err(ErrorClass::Other, None)),
            None,
            "a handler's own error is certain"
        );
        assert_eq!(
            doubt(&err(ErrorClass::Other, Some("InternalError"))),
            Some(Doubt::LostReply)
        );
        assert_eq!(
            doubt(&err(ErrorClass::Throttled, Some("RequestLimitExceeded"))),
            Some(Doubt::Throttled)
        );
        for code in [
            "EntityAlreadyExists",
            "InvalidGroup.Duplicate",
            "ResourceAlreadyExistsException",
            "AlreadyExists",
            "InvalidLaunchTemplateName.AlreadyExistsException",
            "DuplicateTargetGroupName",
        ] {
            assert_eq!(
                doubt(&err(ErrorClass::InvalidInput, Some(code))),
                Some(Doubt::AlreadyExists),
                "{code}"
            );
        }
        assert_eq!(
            doubt(&err(ErrorClass::Other, Some("VpcLimitExceeded"))),
            None
        );
        assert_eq!(
            doubt(&err(
                ErrorClass::InvalidInput,
                Some("InvalidParameterValue")
            )),
            None
        );
        assert_eq!(
            doubt(&err(ErrorClass::AccessDenied, Some("AccessDenied"))),
            None
        );
        assert_eq!(doubt(&err(ErrorClass::Timeout, None)), None);
    }

    #[test]
    fn backoff_grows_to_the_cap_with_jitter() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_millis(300);
        for _ in 0..50 {
            let first = backoff(base, cap, 1);
            assert!(
                first >= Duration::from_millis(50) && first <= base,
                "{first:?}"
            );
            let late = backoff(base, cap, 10);
            assert!(
                late >= Duration::from_millis(150) && late <= cap,
                "{late:?}"
            );
        }
    }

    /// A kind whose creates fail as scripted; `made` counts what they made.
    struct Script {
        /// Per create call: whether it makes the resource, and the error it answers.
        steps: Mutex<Vec<(bool, Option<ProviderError>)>>,
        made: Mutex<u32>,
        creates: Mutex<u32>,
        finds: Mutex<u32>,
    }

    impl Script {
        fn new(steps: Vec<(bool, Option<ProviderError>)>) -> Script {
            Script {
                steps: Mutex::new(steps),
                made: Mutex::new(0),
                creates: Mutex::new(0),
                finds: Mutex::new(0),
            }
        }
        fn count(m: &Mutex<u32>) -> u32 {
            *m.lock().unwrap()
        }
    }

    fn made(id: &str) -> Created {
        Created {
            id: id.to_string(),
            outputs: Attrs::new(),
        }
    }

    #[async_trait]
    impl Handler for Script {
        async fn create(&self, _: &Req<'_>) -> Result<Created, ProviderError> {
            *self.creates.lock().unwrap() += 1;
            let (makes, fails) = {
                let mut steps = self.steps.lock().unwrap();
                if steps.is_empty() {
                    (true, None)
                } else {
                    steps.remove(0)
                }
            };
            if makes {
                *self.made.lock().unwrap() += 1;
            }
            match fails {
                Some(e) => Err(e),
                None => Ok(made("r-1")),
            }
        }
        async fn find(&self, _: &Req<'_>) -> Result<Option<Created>, ProviderError> {
            *self.finds.lock().unwrap() += 1;
            Ok((Script::count(&self.made) > 0).then(|| made("r-1")))
        }
        async fn update(&self, _: &Req<'_>) -> Result<Attrs, ProviderError> {
            Ok(Attrs::new())
        }
        async fn delete(&self, _: &Req<'_>) -> Result<(), ProviderError> {
            Ok(())
        }
        async fn read(
            &self,
            _: &Clients,
            _: &crate::ReadSet,
            _: &[ReadItem],
        ) -> Result<BTreeMap<Address, Option<Live>>, ProviderError> {
            Ok(BTreeMap::new())
        }
        async fn tagged(
            &self,
            _: &Clients,
            _: &crate::ReadSet,
            _: &str,
        ) -> Result<Vec<Orphan>, ProviderError> {
            Ok(Vec::new())
        }
    }

    fn clients() -> Clients {
        let conf = aws_types::SdkConfig::builder()
            .region(aws_config::Region::new("eu-west-2"))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        Clients::from_conf_settings(
            &conf,
            &crate::RetrySettings {
                max_attempts: 2,
                initial_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(2),
            },
            &[],
        )
    }

    async fn run(script: &Script) -> Result<Created, ProviderError> {
        let a = Address::new(Kind::Vpc, "main");
        let opts = Options::default();
        let call = Call {
            address: &a,
            progress: &Quiet,
            options: &opts,
        };
        let (aws, args) = (clients(), Attrs::new());
        create(script, &Req::create(&aws, &call, &args, "tok")).await
    }

    #[tokio::test]
    async fn a_lost_reply_is_adopted_not_duplicated() {
        let s = Script::new(vec![(true, Some(mapped(500)))]);
        let c = run(&s).await.expect("adopted");
        assert_eq!(c.id, "r-1");
        assert_eq!(Script::count(&s.made), 1);
        assert_eq!(Script::count(&s.creates), 1);
        assert_eq!(Script::count(&s.finds), 1);
    }

    #[tokio::test]
    async fn a_failure_that_made_nothing_is_created_again() {
        let s = Script::new(vec![(
            false,
            Some(err(ErrorClass::Other, Some("InternalError"))),
        )]);
        run(&s).await.expect("second attempt");
        assert_eq!(Script::count(&s.made), 1);
        assert_eq!(Script::count(&s.creates), 2);
    }

    #[tokio::test]
    async fn attempts_are_bounded() {
        let lost = || (false, Some(mapped(502)));
        let s = Script::new(vec![lost(), lost(), lost(), lost()]);
        let e = run(&s).await.unwrap_err();
        assert_eq!(Script::count(&s.creates), MAX_CREATE_ATTEMPTS);
        assert_eq!(e.class, ErrorClass::Other);
        assert!(e.message.contains("3 create attempts"), "{}", e.message);
    }

    #[tokio::test]
    async fn a_name_taken_by_someone_else_is_an_error() {
        let s = Script::new(vec![(
            false,
            Some(err(ErrorClass::InvalidInput, Some("EntityAlreadyExists"))),
        )]);
        let e = run(&s).await.unwrap_err();
        assert_eq!(e.code.as_deref(), Some("EntityAlreadyExists"));
        assert_eq!(Script::count(&s.creates), 1);
    }

    #[tokio::test]
    async fn certain_failures_are_not_looked_into() {
        let s = Script::new(vec![(
            false,
            Some(err(ErrorClass::InvalidInput, Some("InvalidParameterValue"))),
        )]);
        run(&s).await.unwrap_err();
        assert_eq!(Script::count(&s.finds), 0);
        assert_eq!(Script::count(&s.creates), 1);
    }
}
