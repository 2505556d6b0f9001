//! Mapping SDK errors to the engine's error classes.
//!
//! The engine acts on the class: `NotFound` on delete is success, `Throttled` is retried,
//! `DependencyViolation` on delete is retried up to a deadline, the rest stop the change.
//! The AWS code and message are kept so the user sees what AWS said.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use ecsctl_provider::{ErrorClass, ProviderError};
use std::future::Future;

/// Codes that mean "the thing addressed does not exist (any more)" and do not follow the
/// `*NotFound*` / `NoSuch*` patterns.
const NOT_FOUND: &[&str] = &[
    // EC2: detaching a gateway that is not attached, an association already gone.
    "Gateway.NotAttached",
    "InvalidAssociationID.NotFound",
    "InvalidPermission.NotFound",
    // ECS: a service that was deleted (DRAINING / INACTIVE).
    "ServiceNotActiveException",
    // SSM
    "ParameterNotFound",
];

/// Codes that say the call was rejected for its rate, or collided with a change still in
/// flight: worth retrying after a pause.
const THROTTLED: &[&str] = &[
    "RequestLimitExceeded",
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "BandwidthLimitExceeded",
    "EC2ThrottledException",
    "PriorRequestNotComplete",
    "ConcurrentModification",
    "ConcurrentModificationException",
    "ResourceContention",
    "OperationAbortedException",
];

/// Codes that say something else still uses the resource.
const DEPENDENCY: &[&str] = &[
    "DependencyViolation",
    "ResourceInUse",
    "ResourceInUseException",
    "DeleteConflict",
    "HostedZoneNotEmpty",
    "InvalidIPAddress.InUse",
    "InvalidNetworkInterface.InUse",
    "ClusterContainsServicesException",
    "ClusterContainsContainerInstancesException",
    "ClusterContainsTasksException",
    "ScalingActivityInProgress",
];

/// Codes that say the caller may not do this, or the credentials are not valid.
const ACCESS: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthFailure",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "OptInRequired",
    "MissingAuthenticationToken",
];

/// Codes that say the request itself is wrong and the same request will fail again.
const INVALID: &[&str] = &[
    "ValidationError",
    "ValidationException",
    "MissingParameter",
    "MalformedPolicyDocument",
    "ClientException",
    "IdempotentParameterMismatch",
    "UnsupportedOperation",
    "OperationNotPermitted",
    "DuplicateLoadBalancerName",
    "DuplicateTargetGroupName",
    "DuplicateListener",
    "PriorityInUse",
    "EntityAlreadyExists",
    "HostedZoneAlreadyExists",
    "ConflictingDomainExists",
    "ResourceAlreadyExistsException",
    "AlreadyExists",
    "AlreadyExistsFault",
];

/// Classify an AWS error code.
pub fn class_of(code: &str) -> ErrorClass {
    if NOT_FOUND.contains(&code)
        || code.ends_with("NotFound")
        || code.ends_with("NotFoundException")
        || code.ends_with("NotFoundFault")
        || code.contains(".NotFound")
        || code.starts_with("NoSuch")
    {
        return ErrorClass::NotFound;
    }
    if THROTTLED.contains(&code) {
        return ErrorClass::Throttled;
    }
    if DEPENDENCY.contains(&code) {
        return ErrorClass::DependencyViolation;
    }
    if ACCESS.contains(&code) {
        return ErrorClass::AccessDenied;
    }
    if INVALID.contains(&code)
        || code.starts_with("Invalid")
        || code.starts_with("Malformed")
        || code.starts_with("Validation")
        || code.ends_with(".Malformed")
        || code.ends_with(".Duplicate")
        || code.ends_with("AlreadyExists")
        || code.ends_with("AlreadyExistsException")
    {
        return ErrorClass::InvalidInput;
    }
    ErrorClass::Other
}

/// Map any SDK error to a [`ProviderError`] carrying the AWS code and message. An error
/// without a code (an HTML error page, a dropped connection, a timeout) is `Other`, with
/// the HTTP status when there was a response.
pub fn map<E, R>(err: SdkError<E, R>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let code = err.code().map(str::to_string);
    if let Some(code) = code {
        let message = err
            .message()
            .map(str::to_string)
            .unwrap_or_else(|| DisplayErrorContext(&err).to_string());
        return ProviderError::new(class_of(&code), message).with_code(code);
    }
    let status = raw_status(&err);
    let detail = clip(&DisplayErrorContext(&err).to_string(), 300);
    let message = match (&err, status) {
        (_, Some(status)) => format!("HTTP {status} from AWS without an error code: {detail}"),
        (SdkError::TimeoutError(_), None) => {
            format!("the call timed out (AWS did not answer in time): {detail}")
        }
        (SdkError::DispatchFailure(_), None) => {
            format!("could not reach the AWS endpoint: {detail}")
        }
        (_, None) => detail,
    };
    ProviderError::new(ErrorClass::Other, message)
}

/// The HTTP status of the response behind `err`, if there was one.
fn raw_status<E, R: 'static>(err: &SdkError<E, R>) -> Option<u16> {
    let raw: &dyn std::any::Any = err.raw_response()?;
    raw.downcast_ref::<HttpResponse>()
        .map(|r| r.status().as_u16())
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max).collect();
    format!("{cut}…")
}

/// `err` with `extra` appended to its message (what holds a resource, which call failed).
pub fn with_context(mut err: ProviderError, extra: &str) -> ProviderError {
    if !extra.is_empty() {
        err.message = format!("{}; {extra}", err.message);
    }
    err
}

/// Whether the error says the object addressed does not exist (any more).
pub fn gone(err: &ProviderError) -> bool {
    err.class == ErrorClass::NotFound
}

/// A lookup's result with "does not exist" as `None`.
pub fn not_found_ok<T>(r: Result<T, ProviderError>) -> Result<Option<T>, ProviderError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if gone(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A delete's result with "already gone" (class NotFound) counted as success.
pub fn gone_ok<T>(r: Result<T, ProviderError>) -> Result<(), ProviderError> {
    match r {
        Ok(_) => Ok(()),
        Err(e) if e.class == ErrorClass::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Run a batched Describe for `ids`; when it fails NotFound (one id is gone and the API
/// refuses the whole batch), ask for each id alone and leave out the ones that are gone.
pub async fn each_on_missing<T, F, Fut>(ids: &[String], fetch: F) -> Result<Vec<T>, ProviderError>
where
    F: Fn(Vec<String>) -> Fut,
    Fut: Future<Output = Result<Vec<T>, ProviderError>>,
{
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    match fetch(ids.to_vec()).await {
        Err(e) if gone(&e) && ids.len() > 1 => {
            let mut all = Vec::new();
            for id in ids {
                match fetch(vec![id.clone()]).await {
                    Ok(found) => all.extend(found),
                    Err(e) if gone(&e) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(all)
        }
        Err(e) if gone(&e) => Ok(Vec::new()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_missing_id_does_not_hide_the_others() {
        let calls = std::sync::Mutex::new(Vec::new());
        let ids = vec!["a".to_string(), "gone".to_string(), "c".to_string()];
        let found = each_on_missing(&ids, |ids| {
            calls.lock().unwrap().push(ids.clone());
            async move {
                if ids.iter().any(|i| i == "gone") {
                    Err(ProviderError::new(ErrorClass::NotFound, "gone"))
                } else {
                    Ok(ids)
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(found, vec!["a".to_string(), "c".to_string()]);
        assert_eq!(calls.lock().unwrap().len(), 4);
    }
    use aws_sdk_ec2::operation::describe_vpcs::DescribeVpcsError;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    #[test]
    fn ec2_not_found_codes() {
        for code in [
            "InvalidVpcID.NotFound",
            "InvalidSubnetID.NotFound",
            "InvalidGroup.NotFound",
            "InvalidGroupId.NotFound",
            "InvalidAllocationID.NotFound",
            "InvalidAssociationID.NotFound",
            "NatGatewayNotFound",
            "InvalidLaunchTemplateName.NotFoundException",
            "InvalidLaunchTemplateId.NotFound",
            "InvalidLaunchTemplateId.VersionNotFound",
            "InvalidRouteTableID.NotFound",
            "InvalidRoute.NotFound",
            "InvalidInternetGatewayID.NotFound",
            "InvalidNetworkInterfaceID.NotFound",
            "InvalidPermission.NotFound",
            "Gateway.NotAttached",
        ] {
            assert_eq!(class_of(code), ErrorClass::NotFound, "{code}");
        }
    }

    #[test]
    fn other_services_not_found_codes() {
        for code in [
            "ClusterNotFoundException",
            "ServiceNotFoundException",
            "ServiceNotActiveException",
            "NoSuchEntity",
            "LoadBalancerNotFound",
            "TargetGroupNotFound",
            "ListenerNotFound",
            "RuleNotFound",
            "NoSuchHostedZone",
            "NoSuchChange",
            "ResourceNotFoundException",
            "ParameterNotFound",
        ] {
            assert_eq!(class_of(code), ErrorClass::NotFound, "{code}");
        }
    }

    #[test]
    fn throttling_codes() {
        for code in [
            "RequestLimitExceeded",
            "Throttling",
            "ThrottlingException",
            "TooManyRequestsException",
            "PriorRequestNotComplete",
            "ConcurrentModification",
        ] {
            assert_eq!(class_of(code), ErrorClass::Throttled, "{code}");
        }
    }

    #[test]
    fn dependency_codes() {
        for code in [
            "DependencyViolation",
            "ResourceInUse",
            "DeleteConflict",
            "HostedZoneNotEmpty",
            "InvalidIPAddress.InUse",
            "ClusterContainsServicesException",
        ] {
            assert_eq!(class_of(code), ErrorClass::DependencyViolation, "{code}");
        }
    }

    #[test]
    fn invalid_and_access_codes() {
        for code in [
            "InvalidParameterValue",
            "InvalidParameterCombination",
            "InvalidParameterException",
            "InvalidGroup.Duplicate",
            "InvalidPermission.Duplicate",
            "InvalidSubnet.Conflict",
            "ValidationError",
            "MalformedPolicyDocument",
            "MissingParameter",
            "EntityAlreadyExists",
            "InvalidLaunchTemplateName.AlreadyExistsException",
        ] {
            assert_eq!(class_of(code), ErrorClass::InvalidInput, "{code}");
        }
        for code in ["AccessDenied", "UnauthorizedOperation", "AuthFailure"] {
            assert_eq!(class_of(code), ErrorClass::AccessDenied, "{code}");
        }
        assert_eq!(class_of("InternalError"), ErrorClass::Other);
        assert_eq!(class_of("VpcLimitExceeded"), ErrorClass::Other);
    }

    fn service_error(code: Option<&str>, status: u16) -> SdkError<DescribeVpcsError, HttpResponse> {
        let mut meta = ErrorMetadata::builder().message("the vpc ID 'vpc-1' does not exist");
        if let Some(c) = code {
            meta = meta.code(c);
        }
        let err = DescribeVpcsError::generic(meta.build());
        let raw = HttpResponse::new(
            status.try_into().expect("status"),
            SdkBody::from("<html>Internal Server Error</html>"),
        );
        SdkError::service_error(err, raw)
    }

    #[test]
    fn map_keeps_code_and_message() {
        let e = map(service_error(Some("InvalidVpcID.NotFound"), 400));
        assert_eq!(e.class, ErrorClass::NotFound);
        assert_eq!(e.code.as_deref(), Some("InvalidVpcID.NotFound"));
        assert_eq!(e.message, "the vpc ID 'vpc-1' does not exist");
    }

    #[test]
    fn an_error_without_code_names_the_http_status() {
        let e = map(service_error(None, 500));
        assert_eq!(e.class, ErrorClass::Other);
        assert_eq!(e.code, None);
        assert!(e.message.contains("HTTP 500"), "{}", e.message);
    }

    #[test]
    fn context_is_appended() {
        let e = ProviderError::new(ErrorClass::DependencyViolation, "has dependencies");
        let e = with_context(e, "held by eni-1");
        assert_eq!(e.message, "has dependencies; held by eni-1");
        assert_eq!(with_context(e.clone(), "").message, e.message);
    }
}
