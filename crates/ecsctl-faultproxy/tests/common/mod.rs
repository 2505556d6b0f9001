//! Shared test helpers: SDK clients pointed at a proxy (or at moto directly) in an
//! account of their own, and a tiny raw HTTP client for the control endpoints.

#![allow(dead_code)]

use aws_config::retry::RetryConfig;
use aws_types::SdkConfig;
use ecsctl_testing::{AccountHeader, Moto};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// SDK clients for one endpoint and one moto account.
pub struct Clients {
    pub ec2: aws_sdk_ec2::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub iam: aws_sdk_iam::Client,
    pub route53: aws_sdk_route53::Client,
}

pub fn no_retries() -> RetryConfig {
    RetryConfig::disabled()
}

/// The SDK's standard retry strategy with `attempts` attempts and tiny backoffs.
pub fn standard_retries(attempts: u32) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(attempts)
        .with_initial_backoff(Duration::from_millis(5))
        .with_max_backoff(Duration::from_millis(20))
}

pub async fn base_config() -> SdkConfig {
    Moto::get().sdk_config().await
}

/// Clients that talk to `endpoint` in `account`, retrying as `retry` says.
pub async fn clients(endpoint: &str, account: &str, retry: RetryConfig) -> Clients {
    let conf = base_config().await;
    let header = AccountHeader(account.to_string());
    Clients {
        ec2: aws_sdk_ec2::Client::from_conf(
            aws_sdk_ec2::config::Builder::from(&conf)
                .endpoint_url(endpoint)
                .retry_config(retry.clone())
                .interceptor(header.clone())
                .build(),
        ),
        ecs: aws_sdk_ecs::Client::from_conf(
            aws_sdk_ecs::config::Builder::from(&conf)
                .endpoint_url(endpoint)
                .retry_config(retry.clone())
                .interceptor(header.clone())
                .build(),
        ),
        iam: aws_sdk_iam::Client::from_conf(
            aws_sdk_iam::config::Builder::from(&conf)
                .endpoint_url(endpoint)
                .retry_config(retry.clone())
                .interceptor(header.clone())
                .build(),
        ),
        route53: aws_sdk_route53::Client::from_conf(
            aws_sdk_route53::config::Builder::from(&conf)
                .endpoint_url(endpoint)
                .retry_config(retry)
                .interceptor(header)
                .build(),
        ),
    }
}

/// Clients straight to moto (no proxy), to check what really happened.
pub async fn direct(account: &str) -> Clients {
    clients(&Moto::get().url(), account, no_retries()).await
}

/// A raw HTTP/1.1 exchange: returns the status and the body.
pub async fn http(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr)
        .await
        .expect("connect to the proxy");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.expect("write request");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.expect("read response");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// `GET /__proxy/stats` as JSON.
pub async fn stats_json(addr: SocketAddr) -> serde_json::Value {
    let (status, body) = http(addr, "GET", "/__proxy/stats").await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("stats are not JSON ({e}): {body}"))
}
