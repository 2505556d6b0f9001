//! The error answers the proxy injects, in each protocol's real shape so the SDK parses
//! them (and classifies throttling as throttling).

use crate::classify::Protocol;
use bytes::Bytes;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};

/// An injected answer: status, headers and body.
pub struct Injected {
    pub status: StatusCode,
    pub content_type: String,
    pub request_id: String,
    pub body: String,
    /// `x-amzn-ErrorType`, for protocols that name the error in a header.
    pub error_type: Option<&'static str>,
}

impl Injected {
    pub fn into_response(self) -> Response<Bytes> {
        let mut resp = Response::new(Bytes::from(self.body));
        *resp.status_mut() = self.status;
        let headers = resp.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&self.content_type) {
            headers.insert(CONTENT_TYPE, v);
        }
        if let Ok(v) = HeaderValue::from_str(&self.request_id) {
            headers.insert("x-amzn-requestid", v.clone());
            headers.insert("x-amz-request-id", v);
        }
        if let Some(t) = self.error_type {
            headers.insert("x-amzn-errortype", HeaderValue::from_static(t));
        }
        resp
    }
}

/// The throttling error a real service answers for `protocol`.
pub fn throttle(protocol: &Protocol, request_id: &str) -> Injected {
    match protocol {
        Protocol::Ec2Query => xml(
            StatusCode::SERVICE_UNAVAILABLE,
            request_id,
            ec2_error(
                "RequestLimitExceeded",
                "Request limit exceeded.",
                request_id,
            ),
        ),
        Protocol::AwsQuery => xml(
            StatusCode::BAD_REQUEST,
            request_id,
            query_error("", "Sender", "Throttling", "Rate exceeded", request_id),
        ),
        Protocol::Route53 => xml(
            StatusCode::BAD_REQUEST,
            request_id,
            query_error(
                ROUTE53_XMLNS,
                "Sender",
                "Throttling",
                "Rate exceeded",
                request_id,
            ),
        ),
        Protocol::S3 => xml(
            StatusCode::SERVICE_UNAVAILABLE,
            request_id,
            s3_error("SlowDown", "Please reduce your request rate.", request_id),
        ),
        Protocol::AwsJson { content_type } => Injected {
            status: StatusCode::BAD_REQUEST,
            content_type: content_type.clone(),
            request_id: request_id.to_string(),
            body: json_error("ThrottlingException", "Rate exceeded"),
            error_type: None,
        },
        Protocol::RestJson => Injected {
            status: StatusCode::TOO_MANY_REQUESTS,
            content_type: "application/json".into(),
            request_id: request_id.to_string(),
            body: json_error("ThrottlingException", "Rate exceeded"),
            error_type: Some("ThrottlingException"),
        },
    }
}

/// The internal error answered in place of a reply that was "lost" after the call was
/// carried out.
pub fn lost_reply(protocol: &Protocol, request_id: &str) -> Injected {
    const MSG: &str = "An internal error has occurred";
    let status = StatusCode::INTERNAL_SERVER_ERROR;
    match protocol {
        Protocol::Ec2Query => xml(
            status,
            request_id,
            ec2_error("InternalError", MSG, request_id),
        ),
        Protocol::AwsQuery => xml(
            status,
            request_id,
            query_error("", "Receiver", "InternalError", MSG, request_id),
        ),
        Protocol::Route53 => xml(
            status,
            request_id,
            query_error(ROUTE53_XMLNS, "Receiver", "InternalError", MSG, request_id),
        ),
        Protocol::S3 => xml(
            status,
            request_id,
            s3_error("InternalError", MSG, request_id),
        ),
        Protocol::AwsJson { content_type } => Injected {
            status,
            content_type: content_type.clone(),
            request_id: request_id.to_string(),
            body: json_error("InternalError", MSG),
            error_type: None,
        },
        Protocol::RestJson => Injected {
            status,
            content_type: "application/json".into(),
            request_id: request_id.to_string(),
            body: json_error("InternalError", MSG),
            error_type: Some("InternalError"),
        },
    }
}

/// An error a real service answers for `protocol`: its code, message and HTTP status.
pub fn error(
    protocol: &Protocol,
    status: u16,
    code: &str,
    message: &str,
    request_id: &str,
) -> Injected {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let kind = if status.is_server_error() {
        "Receiver"
    } else {
        "Sender"
    };
    let message = xml_escape(message);
    match protocol {
        Protocol::Ec2Query => xml(status, request_id, ec2_error(code, &message, request_id)),
        Protocol::AwsQuery => xml(
            status,
            request_id,
            query_error("", kind, code, &message, request_id),
        ),
        Protocol::Route53 => xml(
            status,
            request_id,
            query_error(ROUTE53_XMLNS, kind, code, &message, request_id),
        ),
        Protocol::S3 => xml(status, request_id, s3_error(code, &message, request_id)),
        Protocol::AwsJson { content_type } => Injected {
            status,
            content_type: content_type.clone(),
            request_id: request_id.to_string(),
            body: json_error(code, &xml_unescape(&message)),
            error_type: None,
        },
        Protocol::RestJson => Injected {
            status,
            content_type: "application/json".into(),
            request_id: request_id.to_string(),
            body: json_error(code, &xml_unescape(&message)),
            error_type: None,
        },
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

const ROUTE53_XMLNS: &str = "https://route53.amazonaws.com/doc/2013-04-01/";

fn xml(status: StatusCode, request_id: &str, body: String) -> Injected {
    Injected {
        status,
        content_type: "text/xml".into(),
        request_id: request_id.to_string(),
        body,
        error_type: None,
    }
}

fn ec2_error(code: &str, message: &str, request_id: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code>\
         <Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
    )
}

fn query_error(xmlns: &str, kind: &str, code: &str, message: &str, request_id: &str) -> String {
    let ns = if xmlns.is_empty() {
        String::new()
    } else {
        format!(" xmlns=\"{xmlns}\"")
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse{ns}><Error><Type>{kind}</Type>\
         <Code>{code}</Code><Message>{message}</Message></Error>\
         <RequestId>{request_id}</RequestId></ErrorResponse>"
    )
}

fn s3_error(code: &str, message: &str, request_id: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
         <Message>{message}</Message><RequestId>{request_id}</RequestId>\
         <HostId>ecsctl-faultproxy</HostId></Error>"
    )
}

fn json_error(kind: &str, message: &str) -> String {
    serde_json::json!({ "__type": kind, "message": message }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec2_throttle_is_503_request_limit_exceeded() {
        let r = throttle(&Protocol::Ec2Query, "rid-1");
        assert_eq!(r.status, 503);
        assert!(r.body.contains(
            "<Response><Errors><Error><Code>RequestLimitExceeded</Code>\
             <Message>Request limit exceeded.</Message></Error></Errors>\
             <RequestID>rid-1</RequestID></Response>"
        ));
    }

    #[test]
    fn query_and_route53_throttle_are_400_throttling() {
        let q = throttle(&Protocol::AwsQuery, "r");
        assert_eq!(q.status, 400);
        assert!(q.body.contains(
            "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>\
             <Message>Rate exceeded</Message></Error><RequestId>r</RequestId></ErrorResponse>"
        ));
        let r = throttle(&Protocol::Route53, "r");
        assert_eq!(r.status, 400);
        assert!(r.body.contains(
            "<ErrorResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">\
             <Error><Type>Sender</Type><Code>Throttling</Code>"
        ));
    }

    #[test]
    fn json_throttle_keeps_the_request_content_type() {
        let r = throttle(
            &Protocol::AwsJson {
                content_type: "application/x-amz-json-1.0".into(),
            },
            "r",
        )
        .into_response();
        assert_eq!(r.status(), 400);
        assert_eq!(r.headers()[CONTENT_TYPE], "application/x-amz-json-1.0");
        let body: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"__type": "ThrottlingException", "message": "Rate exceeded"})
        );
    }

    #[test]
    fn s3_throttle_is_slow_down() {
        let r = throttle(&Protocol::S3, "r");
        assert_eq!(r.status, 503);
        assert!(r.body.contains("<Error><Code>SlowDown</Code>"));
    }

    #[test]
    fn lost_replies_are_500_internal_errors() {
        for p in [
            Protocol::Ec2Query,
            Protocol::AwsQuery,
            Protocol::Route53,
            Protocol::S3,
            Protocol::AwsJson {
                content_type: "application/x-amz-json-1.1".into(),
            },
            Protocol::RestJson,
        ] {
            let r = lost_reply(&p, "r");
            assert_eq!(r.status, 500, "{p:?}");
            assert!(r.body.contains("InternalError"), "{p:?}");
        }
    }
}
