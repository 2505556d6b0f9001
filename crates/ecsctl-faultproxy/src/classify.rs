//! Which AWS service, action and wire protocol a request belongs to.
//!
//! The service comes from the SigV4 credential scope (`Credential=AKID/20240101/eu-west-2/ec2/
//! aws4_request` in the `Authorization` header, or `X-Amz-Credential` in a presigned URL's
//! query). The action comes from the protocol: `Action=` in a form body (EC2 and awsQuery),
//! the `X-Amz-Target` header (JSON protocols), or the method and path (Route53, S3, anything
//! else REST).

use hyper::header::{HeaderMap, AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Uri};

/// The wire protocol of a request, which decides the shape of an injected error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Protocol {
    /// EC2's query protocol (`Action=…&Version=2016-11-15`): errors are
    /// `<Response><Errors><Error>…`.
    Ec2Query,
    /// The awsQuery protocol (autoscaling, elasticloadbalancing, iam, sts): errors are
    /// `<ErrorResponse><Error>…`.
    AwsQuery,
    /// awsJson 1.0 / 1.1 (ECS, CloudWatch Logs, SSM, …), selected by `X-Amz-Target`; the
    /// request's content type, which an error answer repeats.
    AwsJson { content_type: String },
    /// Route53's REST-XML under `/2013-04-01/`.
    Route53,
    /// S3's REST-XML.
    S3,
    /// Any other REST service (restJson1): errors carry `x-amzn-ErrorType`.
    RestJson,
}

/// What the proxy knows about one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The signing name from the credential scope (`ec2`, `iam`, `route53`, …), or
    /// `unsigned` for a request without SigV4 (e.g. moto's own `/moto-api/`).
    pub service: String,
    /// The API action (`CreateVpc`), or `METHOD /path` when it cannot be named.
    pub action: String,
    pub protocol: Protocol,
    /// Whether the call changes something (and so is a candidate for a lost reply).
    pub mutating: bool,
}

impl Call {
    /// `service:Action`, the key used for per-action settings and in logs.
    pub fn key(&self) -> String {
        format!("{}:{}", self.service, self.action)
    }

    /// Whether faults may be injected: only into signed AWS API calls.
    pub fn is_aws(&self) -> bool {
        self.service != UNSIGNED
    }
}

/// The service name given to requests that carry no SigV4 credential scope.
pub const UNSIGNED: &str = "unsigned";

/// Actions with these prefixes only read.
const READ_PREFIXES: [&str; 4] = ["Describe", "List", "Get", "Head"];

/// Classifies a request from its method, URI, headers and (buffered) body.
pub fn classify(method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Call {
    let service = signing_service(headers, uri).unwrap_or_else(|| UNSIGNED.to_string());
    let path = uri.path();
    let rest_action = || format!("{method} {path}");

    if let Some(target) = header_str(headers, "x-amz-target") {
        let action = target.rsplit('.').next().unwrap_or(target).to_string();
        let content_type = header_str(headers, CONTENT_TYPE.as_str())
            .filter(|ct| ct.contains("json"))
            .unwrap_or("application/x-amz-json-1.1")
            .to_string();
        return Call {
            mutating: action_mutates(&action),
            service,
            action,
            protocol: Protocol::AwsJson { content_type },
        };
    }

    if service == "route53" || path.starts_with(ROUTE53_PREFIX) {
        let (action, mutating) = match route53_action(method, path) {
            Some(action) => (action.to_string(), action_mutates(action)),
            None => (
                rest_action(),
                matches!(*method, Method::POST | Method::DELETE),
            ),
        };
        return Call {
            service,
            action,
            protocol: Protocol::Route53,
            mutating,
        };
    }

    if service == "s3" {
        let (action, mutating) = match s3_action(method, path) {
            Some(action) => (action.to_string(), action_mutates(action)),
            None => (rest_action(), method_mutates(method)),
        };
        return Call {
            service,
            action,
            protocol: Protocol::S3,
            mutating,
        };
    }

    let form = if is_form(headers) {
        form_params(body)
    } else {
        Vec::new()
    };
    let query = uri
        .query()
        .map(|q| form_params(q.as_bytes()))
        .unwrap_or_default();
    let param = |name: &str| {
        form.iter()
            .chain(query.iter())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    if let Some(action) = param("Action") {
        let ec2 = service == "ec2" || param("Version").as_deref() == Some(EC2_API_VERSION);
        return Call {
            mutating: action_mutates(&action),
            service,
            action,
            protocol: if ec2 {
                Protocol::Ec2Query
            } else {
                Protocol::AwsQuery
            },
        };
    }

    Call {
        action: rest_action(),
        mutating: method_mutates(method),
        service,
        protocol: Protocol::RestJson,
    }
}

/// EC2's API version, the one query service with its own error shape.
pub const EC2_API_VERSION: &str = "2016-11-15";

const ROUTE53_PREFIX: &str = "/2013-04-01/";

fn action_mutates(action: &str) -> bool {
    !READ_PREFIXES.iter().any(|p| action.starts_with(p))
}

fn method_mutates(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn is_form(headers: &HeaderMap) -> bool {
    header_str(headers, CONTENT_TYPE.as_str())
        .map(|ct| {
            ct.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
        .unwrap_or(false)
}

/// `a=b&c=d` pairs, percent- and plus-decoded; pairs that do not decode are skipped.
pub(crate) fn form_params(raw: &[u8]) -> Vec<(String, String)> {
    let decode = |s: &[u8]| {
        let plus: Vec<u8> = s
            .iter()
            .map(|&b| if b == b'+' { b' ' } else { b })
            .collect();
        urlencoding::decode_binary(&plus).into_owned()
    };
    raw.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .filter_map(|pair| {
            let mut it = pair.splitn(2, |&b| b == b'=');
            let k = decode(it.next().unwrap_or_default());
            let v = decode(it.next().unwrap_or_default());
            Some((String::from_utf8(k).ok()?, String::from_utf8(v).ok()?))
        })
        .collect()
}

/// The signing name from a SigV4 (or SigV4a) credential scope: the second-to-last
/// `/`-separated part of `Credential=…/aws4_request`.
fn signing_service(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    let from_header = header_str(headers, AUTHORIZATION.as_str()).and_then(|auth| {
        let start = auth.find("Credential=")? + "Credential=".len();
        let rest = &auth[start..];
        let end = rest.find([',', ' ']).unwrap_or(rest.len());
        scope_service(&rest[..end])
    });
    from_header.or_else(|| {
        form_params(uri.query()?.as_bytes())
            .into_iter()
            .find(|(k, _)| k == "X-Amz-Credential")
            .and_then(|(_, v)| scope_service(&v))
    })
}

fn scope_service(credential: &str) -> Option<String> {
    let parts: Vec<&str> = credential.split('/').collect();
    if parts.len() < 4 || parts[parts.len() - 1] != "aws4_request" {
        return None;
    }
    let service = parts[parts.len() - 2];
    (!service.is_empty()).then(|| service.to_string())
}

/// Names the Route53 operations the stack uses (and their close relatives).
fn route53_action(method: &Method, path: &str) -> Option<&'static str> {
    let rest = path.strip_prefix(ROUTE53_PREFIX)?;
    let parts: Vec<&str> = rest
        .trim_end_matches('/')
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    let action = match (method.as_str(), parts.as_slice()) {
        ("POST", ["hostedzone"]) => "CreateHostedZone",
        ("GET", ["hostedzone"]) => "ListHostedZones",
        ("GET", ["hostedzone", _]) => "GetHostedZone",
        ("POST", ["hostedzone", _]) => "UpdateHostedZoneComment",
        ("DELETE", ["hostedzone", _]) => "DeleteHostedZone",
        ("POST", ["hostedzone", _, "rrset"]) => "ChangeResourceRecordSets",
        ("GET", ["hostedzone", _, "rrset"]) => "ListResourceRecordSets",
        ("POST", ["hostedzone", _, "associatevpc"]) => "AssociateVPCWithHostedZone",
        ("POST", ["hostedzone", _, "disassociatevpc"]) => "DisassociateVPCFromHostedZone",
        ("GET", ["hostedzonesbyname"]) => "ListHostedZonesByName",
        ("GET", ["hostedzonecount"]) => "GetHostedZoneCount",
        ("GET", ["change", _]) => "GetChange",
        ("POST", ["tags", _]) => "ListTagsForResources",
        ("GET", ["tags", _, _]) => "ListTagsForResource",
        ("POST", ["tags", _, _]) => "ChangeTagsForResource",
        _ => return None,
    };
    Some(action)
}

/// Names S3 object and bucket operations (path-style addressing, as moto needs).
fn s3_action(method: &Method, path: &str) -> Option<&'static str> {
    let trimmed = path.trim_start_matches('/');
    let (bucket, key) = match trimmed.split_once('/') {
        Some((b, k)) => (b, k),
        None => (trimmed, ""),
    };
    if bucket.is_empty() {
        return (*method == Method::GET).then_some("ListBuckets");
    }
    let action = match (method.as_str(), key.is_empty()) {
        ("GET", true) => "ListObjects",
        ("PUT", true) => "CreateBucket",
        ("DELETE", true) => "DeleteBucket",
        ("HEAD", true) => "HeadBucket",
        ("GET", false) => "GetObject",
        ("PUT", false) => "PutObject",
        ("DELETE", false) => "DeleteObject",
        ("HEAD", false) => "HeadObject",
        _ => return None,
    };
    Some(action)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn auth(service: &str, region: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!(
                "AWS4-HMAC-SHA256 Credential=testing/20240101/{region}/{service}/aws4_request, \
                 SignedHeaders=host;x-amz-date, Signature=abc"
            ))
            .unwrap(),
        );
        h
    }

    fn form(mut h: HeaderMap) -> HeaderMap {
        h.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
        );
        h
    }

    fn call(method: Method, uri: &str, headers: &HeaderMap, body: &str) -> Call {
        classify(&method, &uri.parse().unwrap(), headers, body.as_bytes())
    }

    #[test]
    fn ec2_query_by_scope_and_version() {
        let c = call(
            Method::POST,
            "/",
            &form(auth("ec2", "eu-west-2")),
            "Action=CreateVpc&Version=2016-11-15&CidrBlock=10.0.0.0%2F16",
        );
        assert_eq!(c.service, "ec2");
        assert_eq!(c.action, "CreateVpc");
        assert_eq!(c.protocol, Protocol::Ec2Query);
        assert!(c.mutating);
        assert_eq!(c.key(), "ec2:CreateVpc");

        let d = call(
            Method::POST,
            "/",
            &form(auth("ec2", "eu-west-2")),
            "Action=DescribeVpcs&Version=2016-11-15",
        );
        assert!(!d.mutating);
    }

    #[test]
    fn aws_query_services() {
        for (service, action, mutating) in [
            ("iam", "CreateRole", true),
            ("iam", "GetRole", false),
            ("autoscaling", "UpdateAutoScalingGroup", true),
            ("elasticloadbalancing", "DescribeLoadBalancers", false),
            ("sts", "GetCallerIdentity", false),
        ] {
            let c = call(
                Method::POST,
                "/",
                &form(auth(service, "us-east-1")),
                &format!("Action={action}&Version=2010-05-08"),
            );
            assert_eq!(c.service, service);
            assert_eq!(c.action, action);
            assert_eq!(c.protocol, Protocol::AwsQuery, "{service}");
            assert_eq!(c.mutating, mutating, "{action}");
        }
    }

    #[test]
    fn json_target_names_the_action_and_keeps_the_content_type() {
        let mut h = auth("ecs", "eu-west-2");
        h.insert(
            "x-amz-target",
            HeaderValue::from_static("AmazonEC2ContainerServiceV20141113.CreateService"),
        );
        h.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-amz-json-1.1"),
        );
        let c = call(Method::POST, "/", &h, "{}");
        assert_eq!(c.service, "ecs");
        assert_eq!(c.action, "CreateService");
        assert!(c.mutating);
        assert_eq!(
            c.protocol,
            Protocol::AwsJson {
                content_type: "application/x-amz-json-1.1".into()
            }
        );
    }

    #[test]
    fn route53_paths() {
        let h = auth("route53", "us-east-1");
        for (method, path, action, mutating) in [
            (
                Method::POST,
                "/2013-04-01/hostedzone",
                "CreateHostedZone",
                true,
            ),
            (
                Method::GET,
                "/2013-04-01/hostedzone",
                "ListHostedZones",
                false,
            ),
            (
                Method::GET,
                "/2013-04-01/hostedzone/Z1",
                "GetHostedZone",
                false,
            ),
            (
                Method::DELETE,
                "/2013-04-01/hostedzone/Z1",
                "DeleteHostedZone",
                true,
            ),
            (
                Method::POST,
                "/2013-04-01/hostedzone/Z1/rrset/",
                "ChangeResourceRecordSets",
                true,
            ),
            (
                Method::GET,
                "/2013-04-01/hostedzone/Z1/rrset",
                "ListResourceRecordSets",
                false,
            ),
            (
                Method::POST,
                "/2013-04-01/hostedzone/Z1/associatevpc",
                "AssociateVPCWithHostedZone",
                true,
            ),
            (
                Method::GET,
                "/2013-04-01/hostedzonesbyname?dnsname=a.internal",
                "ListHostedZonesByName",
                false,
            ),
            (Method::GET, "/2013-04-01/change/C1", "GetChange", false),
            (
                Method::POST,
                "/2013-04-01/tags/hostedzone",
                "ListTagsForResources",
                false,
            ),
            (
                Method::POST,
                "/2013-04-01/tags/hostedzone/Z1",
                "ChangeTagsForResource",
                true,
            ),
        ] {
            let c = call(method.clone(), path, &h, "");
            assert_eq!(c.action, action, "{method} {path}");
            assert_eq!(c.mutating, mutating, "{method} {path}");
            assert_eq!(c.protocol, Protocol::Route53);
        }
        let other = call(Method::POST, "/2013-04-01/healthcheck", &h, "");
        assert_eq!(other.action, "POST /2013-04-01/healthcheck");
        assert!(other.mutating);
        let read = call(Method::GET, "/2013-04-01/healthcheck", &h, "");
        assert!(!read.mutating);
    }

    #[test]
    fn s3_paths_and_presigned_scope() {
        let h = auth("s3", "eu-west-2");
        assert_eq!(call(Method::PUT, "/b/k", &h, "x").action, "PutObject");
        assert_eq!(
            call(Method::GET, "/b?list-type=2", &h, "").action,
            "ListObjects"
        );
        let presigned = call(
            Method::GET,
            "/b/k?X-Amz-Credential=testing%2F20240101%2Feu-west-2%2Fs3%2Faws4_request&X-Amz-Signature=x",
            &HeaderMap::new(),
            "",
        );
        assert_eq!(presigned.service, "s3");
        assert_eq!(presigned.action, "GetObject");
        assert!(!presigned.mutating);
    }

    #[test]
    fn unsigned_requests_are_not_aws_calls() {
        let c = call(Method::POST, "/moto-api/reset", &HeaderMap::new(), "");
        assert_eq!(c.service, UNSIGNED);
        assert_eq!(c.action, "POST /moto-api/reset");
        assert!(!c.is_aws());
    }

    #[test]
    fn malformed_credential_scope_is_unsigned() {
        let mut h = HeaderMap::new();
        h.insert(
            AUTHORIZATION,
            HeaderValue::from_static("AWS4-HMAC-SHA256 Credential=nonsense, Signature=x"),
        );
        assert_eq!(call(Method::GET, "/", &h, "").service, UNSIGNED);
    }
}
