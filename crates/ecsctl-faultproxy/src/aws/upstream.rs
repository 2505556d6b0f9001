//! Questions the rules ask the emulator about its state, on behalf of the caller's
//! account and region (the same `x-moto-account-id` and credential scope).

use crate::aws::request::Req;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;

/// The emulator as seen by one caller.
#[derive(Clone)]
pub(crate) struct Upstream {
    client: Client<HttpConnector, Full<Bytes>>,
    authority: String,
    account: Option<HeaderValue>,
    access_key: String,
    region: String,
}

/// EC2's query API version.
const EC2_VERSION: &str = "2016-11-15";

impl Upstream {
    pub fn new(client: Client<HttpConnector, Full<Bytes>>, authority: &str, req: &Req) -> Self {
        let auth = req
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        // Credential=AKID/DATE/REGION/SERVICE/aws4_request
        let scope: Vec<&str> = auth
            .split("Credential=")
            .nth(1)
            .and_then(|r| r.split([',', ' ']).next())
            .unwrap_or("")
            .split('/')
            .collect();
        Upstream {
            client,
            authority: authority.to_string(),
            account: req.headers.get("x-moto-account-id").cloned(),
            access_key: scope.first().copied().unwrap_or("testing").to_string(),
            region: scope.get(2).copied().unwrap_or("us-east-1").to_string(),
        }
    }

    /// The caller's region.
    pub fn region(&self) -> &str {
        &self.region
    }

    fn authorization(&self, service: &str) -> String {
        format!(
            "AWS4-HMAC-SHA256 Credential={}/20260101/{}/{service}/aws4_request, \
             SignedHeaders=host, Signature=0",
            self.access_key, self.region
        )
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        service: &str,
        content_type: &str,
        target: Option<&str>,
        body: String,
    ) -> Option<String> {
        let mut builder = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.authority))
            .header(AUTHORIZATION, self.authorization(service))
            .header(CONTENT_TYPE, content_type);
        if let Some(t) = target {
            builder = builder.header("x-amz-target", t);
        }
        if let Some(a) = &self.account {
            builder = builder.header("x-moto-account-id", a.clone());
        }
        let req = builder.body(Full::new(Bytes::from(body))).ok()?;
        let resp = self.client.request(req).await.ok()?;
        let ok = resp.status().is_success();
        let bytes = resp.into_body().collect().await.ok()?.to_bytes();
        ok.then(|| String::from_utf8_lossy(&bytes).into_owned())
    }

    /// An EC2 query call; `None` if it failed.
    pub async fn ec2(&self, action: &str, params: &[(&str, &str)]) -> Option<String> {
        self.query("ec2", action, EC2_VERSION, params).await
    }

    /// An Auto Scaling query call.
    pub async fn autoscaling(&self, action: &str, params: &[(&str, &str)]) -> Option<String> {
        self.query("autoscaling", action, "2011-01-01", params)
            .await
    }

    /// An ELBv2 query call.
    pub async fn elbv2(&self, action: &str, params: &[(&str, &str)]) -> Option<String> {
        self.query("elasticloadbalancing", action, "2015-12-01", params)
            .await
    }

    async fn query(
        &self,
        service: &str,
        action: &str,
        version: &str,
        params: &[(&str, &str)],
    ) -> Option<String> {
        let mut body = format!("Action={action}&Version={version}");
        for (k, v) in params {
            body.push('&');
            body.push_str(&urlencoding::encode(k));
            body.push('=');
            body.push_str(&urlencoding::encode(v));
        }
        self.send(
            Method::POST,
            "/",
            service,
            "application/x-www-form-urlencoded; charset=utf-8",
            None,
            body,
        )
        .await
    }

    /// An ECS (awsJson 1.1) call.
    pub async fn ecs(&self, action: &str, body: serde_json::Value) -> Option<serde_json::Value> {
        let target = format!("AmazonEC2ContainerServiceV20141113.{action}");
        let text = self
            .send(
                Method::POST,
                "/",
                "ecs",
                "application/x-amz-json-1.1",
                Some(&target),
                body.to_string(),
            )
            .await?;
        serde_json::from_str(&text).ok()
    }
}
