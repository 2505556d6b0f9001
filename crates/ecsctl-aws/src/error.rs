//! Mapping SDK errors to the engine's error classes.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use ecsctl_provider::{ErrorClass, ProviderError};

/// Classify an AWS error code.
pub fn class_of(code: &str) -> ErrorClass {
    match code {
        c if c.ends_with("NotFound") || c.ends_with(".NotFound") || c.starts_with("NoSuch") => {
            ErrorClass::NotFound
        }
        "ResourceNotFoundException"
        | "ClusterNotFoundException"
        | "ServiceNotFoundException"
        | "TargetGroupNotFound"
        | "LoadBalancerNotFound"
        | "ListenerNotFound"
        | "RuleNotFound" => ErrorClass::NotFound,
        "RequestLimitExceeded"
        | "Throttling"
        | "ThrottlingException"
        | "SlowDown"
        | "TooManyRequestsException"
        | "PriorRequestNotComplete" => ErrorClass::Throttled,
        "DependencyViolation"
        | "ResourceInUse"
        | "ResourceInUseException"
        | "DeleteConflict"
        | "HostedZoneNotEmpty"
        | "InvalidIPAddress.InUse" => ErrorClass::DependencyViolation,
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" => {
            ErrorClass::AccessDenied
        }
        c if c.starts_with("Invalid")
            || c.starts_with("Validation")
            || c.ends_with("Exception") && c.contains("Invalid") =>
        {
            ErrorClass::InvalidInput
        }
        _ => ErrorClass::Other,
    }
}

/// Map any SDK error to a [`ProviderError`] carrying the AWS code and message.
pub fn map<E, R>(err: SdkError<E, R>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = err.code().map(str::to_string);
    let message = err
        .message()
        .map(str::to_string)
        .unwrap_or_else(|| aws_smithy_types::error::display::DisplayErrorContext(&err).to_string());
    let class = code.as_deref().map(class_of).unwrap_or(ErrorClass::Other);
    let mut e = ProviderError::new(class, message);
    e.code = code;
    e
}
