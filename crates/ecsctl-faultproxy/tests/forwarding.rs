//! Forwarding is byte for byte (the SigV4 signature covers method, path, query, headers
//! including Host, and body), and the control endpoints answer over HTTP.

mod common;

use common::{http, stats_json};
use ecsctl_faultproxy::FaultProxy;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// A one-shot upstream: records the raw request it receives and answers a fixed reply.
async fn recording_upstream() -> (SocketAddr, oneshot::Receiver<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.expect("accept");
        let mut raw = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = s.read(&mut buf).await.expect("read");
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&buf[..n]);
            if let Some(end) = find(&raw, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map(|v| v.trim().parse().expect("length"))
                    .unwrap_or(0);
                if raw.len() >= end + 4 + len {
                    break;
                }
            }
        }
        s.write_all(
            b"HTTP/1.1 201 Created\r\nContent-Length: 8\r\nX-Upstream: yes\r\n\
              Connection: close\r\n\r\nupstream",
        )
        .await
        .expect("answer");
        let _ = tx.send(raw);
    });
    (addr, rx)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[tokio::test]
async fn forwards_method_path_query_headers_and_body_unchanged() {
    let (upstream, received) = recording_upstream().await;
    let proxy = FaultProxy::builder()
        .upstream(format!("http://{upstream}"))
        .start()
        .await
        .expect("start");

    let body =
        "Action=DescribeVpcs&Version=2016-11-15&Filter.1.Name=cidr&Filter.1.Value.1=10.0.0.0%2F16";
    let request = format!(
        "POST /some/path?b=2&a=%2Fx HTTP/1.1\r\n\
         Host: ec2.eu-west-2.example.internal:4566\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20240101/eu-west-2/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc\r\n\
         X-Amz-Date: 20240101T000000Z\r\n\
         Content-Type: application/x-www-form-urlencoded\r\n\
         X-Repeated: first\r\n\
         X-Repeated: second\r\n\
         Content-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let mut client = TcpStream::connect(proxy.addr()).await.expect("connect");
    client.write_all(request.as_bytes()).await.expect("send");
    let mut answer = Vec::new();
    client.read_to_end(&mut answer).await.expect("answer");
    let answer = String::from_utf8_lossy(&answer).to_string();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("x-upstream: yes"),
        "{answer}"
    );
    assert!(answer.ends_with("upstream"), "{answer}");

    let raw = received.await.expect("the upstream got the request");
    let end = find(&raw, b"\r\n\r\n").expect("head");
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let mut lines = head.lines();
    assert_eq!(lines.next(), Some("POST /some/path?b=2&a=%2Fx HTTP/1.1"));
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (k, v) = l.split_once(':').expect("header line");
            (k.to_ascii_lowercase(), v.trim().to_string())
        })
        .collect();
    let values = |name: &str| -> Vec<&str> {
        headers
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    assert_eq!(values("host"), ["ec2.eu-west-2.example.internal:4566"]);
    assert_eq!(
        values("authorization"),
        ["AWS4-HMAC-SHA256 Credential=testing/20240101/eu-west-2/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"]
    );
    assert_eq!(values("x-amz-date"), ["20240101T000000Z"]);
    assert_eq!(values("x-repeated"), ["first", "second"]);
    assert_eq!(
        values("content-type"),
        ["application/x-www-form-urlencoded"]
    );
    assert_eq!(&raw[end + 4..], body.as_bytes());

    let stats = proxy.stats().action("ec2", "DescribeVpcs");
    assert_eq!((stats.calls, stats.forwarded), (1, 1));
}

#[tokio::test]
async fn stats_and_reset_over_http() {
    let proxy = FaultProxy::builder()
        .upstream(ecsctl_testing::Moto::get().url())
        .start()
        .await
        .expect("start");
    // An unsigned request (moto's own API) is forwarded and counted, without faults.
    let (status, _) = http(proxy.addr(), "GET", "/moto-api/").await;
    assert_eq!(status, 200);
    let stats = stats_json(proxy.addr()).await;
    assert_eq!(stats["total"]["calls"], 1, "{stats}");
    assert_eq!(
        stats["services"]["unsigned"]["actions"]["GET /moto-api/"]["forwarded"], 1,
        "{stats}"
    );

    let (status, _) = http(proxy.addr(), "POST", "/__proxy/reset-stats").await;
    assert_eq!(status, 204);
    let stats = stats_json(proxy.addr()).await;
    assert_eq!(stats["total"]["calls"], 0, "{stats}");
    assert_eq!(proxy.stats().total.calls, 0);

    let (status, body) = http(proxy.addr(), "GET", "/__proxy/nothing").await;
    assert_eq!(status, 404);
    assert!(body.contains("/__proxy/stats"), "{body}");
}

#[tokio::test]
async fn unreachable_upstream_is_a_502_that_says_so() {
    // A port that was free a moment ago: nothing listens there.
    let free = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind")
        .local_addr()
        .expect("addr");
    let proxy = FaultProxy::builder()
        .upstream(format!("http://{free}"))
        .start()
        .await
        .expect("start");
    let (status, body) = http(proxy.addr(), "GET", "/anything").await;
    assert_eq!(status, 502);
    assert!(body.contains("cannot reach the upstream"), "{body}");
    assert_eq!(proxy.stats().total.upstream_errors, 1);
}

#[tokio::test]
async fn shutdown_closes_the_port() {
    let proxy = FaultProxy::builder()
        .upstream("http://127.0.0.1:9")
        .start()
        .await
        .expect("start");
    let addr = proxy.addr();
    assert!(TcpStream::connect(addr).await.is_ok());
    proxy.shutdown().await;
    assert!(TcpStream::connect(addr).await.is_err(), "still listening");
}
