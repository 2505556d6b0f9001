//! The HTTP server: control endpoints, fault decisions and byte-exact forwarding.

use crate::aws::request::Req;
use crate::aws::upstream::Upstream;
use crate::aws::{Prepared, Rules};
use crate::classify::classify;
use crate::fate::{happens, request_id, Roll};
use crate::responses;
use crate::stats::{Outcome, Recorder};
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, Uri, Version};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// The checked settings the server runs with.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// `host:port` of the upstream (checked to be loopback).
    pub upstream: String,
    pub latency: Duration,
    pub action_latency: HashMap<String, Duration>,
    pub throttle_rate: f64,
    pub lost_reply_rate: f64,
    /// Lost-reply rates of single actions (`service:Action`), instead of the global one.
    pub action_lost_reply_rate: HashMap<String, f64>,
    pub seed: u64,
    /// The AWS behaviour rules, when on.
    pub rules: Option<Arc<Rules>>,
}

type Body = BoxBody<Bytes, hyper::Error>;

struct Shared {
    settings: Settings,
    recorder: Arc<Recorder>,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// How long in-flight requests may take to finish after a shutdown.
const DRAIN: Duration = Duration::from_secs(5);

/// Serves until `shutdown` turns true or its sender is dropped.
pub(crate) async fn serve(
    listener: TcpListener,
    settings: Settings,
    recorder: Arc<Recorder>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client = Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build(connector);
    let shared = Arc::new(Shared {
        settings,
        recorder,
        client,
    });
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let shared = shared.clone();
                    let mut stop = shutdown.clone();
                    conns.spawn(async move {
                        let service = service_fn(move |req| handle(shared.clone(), req));
                        let conn = http1::Builder::new()
                            .timer(TokioTimer::new())
                            .serve_connection(TokioIo::new(stream), service);
                        tokio::pin!(conn);
                        let stopped = tokio::select! {
                            _ = conn.as_mut() => false,
                            _ = wait_stop(&mut stop) => true,
                        };
                        if stopped {
                            conn.as_mut().graceful_shutdown();
                            let _ = conn.await;
                        }
                    });
                }
                // Running out of file descriptors and the like: back off, keep serving.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
            _ = wait_stop(&mut shutdown) => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    let drained =
        tokio::time::timeout(DRAIN, async { while conns.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        conns.abort_all();
    }
}

/// Returns when the stop flag turns true or its sender is gone.
async fn wait_stop(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    if req.uri().path().starts_with(CONTROL_PREFIX) {
        return Ok(control(&shared, req.method(), req.uri().path()));
    }
    let (mut parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            return Ok(text(
                StatusCode::BAD_REQUEST,
                format!("ecsctl-faultproxy: cannot read the request body: {e}\n"),
            ))
        }
    };
    let call = classify(&parts.method, &parts.uri, &parts.headers, &body);
    let n = shared.recorder.begin(&call);
    let s = &shared.settings;
    let key = call.key();

    let mut lost = false;
    if call.is_aws() {
        let delay = s.action_latency.get(&key).copied().unwrap_or(s.latency);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if happens(s.throttle_rate, s.seed, &key, n, Roll::Throttle) {
            shared.recorder.record(&call, Outcome::Throttled);
            let id = request_id(s.seed, &key, n);
            return Ok(injected(responses::throttle(&call.protocol, &id)));
        }
        let rate = s
            .action_lost_reply_rate
            .get(&key)
            .copied()
            .unwrap_or(s.lost_reply_rate);
        lost = call.mutating && happens(rate, s.seed, &key, n, Roll::Lost);
    }

    // The AWS behaviour rules: refuse as AWS would, or note what to do after.
    let headers = parts.headers.clone();
    let req = Req::new(&call, &headers, &body);
    let mut after: Option<(&Rules, Upstream, Prepared)> = None;
    if let (Some(rules), true) = (&s.rules, call.is_aws()) {
        let up = Upstream::new(shared.client.clone(), &s.upstream, &req);
        if let Some(refusal) = rules.before(&req, &up).await {
            shared.recorder.record(&call, Outcome::Refused);
            let id = request_id(s.seed, &key, n);
            return Ok(injected(responses::error(
                &call.protocol,
                refusal.status,
                refusal.code,
                &refusal.message,
                &id,
            )));
        }
        let prepared = rules.prepare(&req, &up).await;
        after = Some((rules.as_ref(), up, prepared));
    }

    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    let target: Uri = match format!("http://{}{}", s.upstream, path_and_query).parse() {
        Ok(uri) => uri,
        Err(e) => {
            shared.recorder.record(&call, Outcome::UpstreamError);
            return Ok(text(
                StatusCode::BAD_REQUEST,
                format!("ecsctl-faultproxy: cannot forward path `{path_and_query}`: {e}\n"),
            ));
        }
    };
    parts.uri = target;
    parts.version = Version::HTTP_11;
    let forward = Request::from_parts(parts, Full::new(body.clone()));
    let upstream = match shared.client.request(forward).await {
        Ok(resp) => resp,
        Err(e) => {
            shared.recorder.record(&call, Outcome::UpstreamError);
            return Ok(text(
                StatusCode::BAD_GATEWAY,
                format!(
                    "ecsctl-faultproxy: cannot reach the upstream http://{}: {e} \
                     (is the emulator running?)\n",
                    s.upstream
                ),
            ));
        }
    };
    let upstream = match after {
        Some((rules, up, prepared)) if upstream.status().is_success() => {
            let (mut head, body) = upstream.into_parts();
            let mut bytes = body
                .collect()
                .await
                .map(|c| c.to_bytes())
                .unwrap_or_default();
            let instead = rules
                .after(&req, &String::from_utf8_lossy(&bytes), &up)
                .await;
            if let Some(answer) = instead {
                bytes = Bytes::from(answer);
                head.headers.remove(hyper::header::CONTENT_LENGTH);
            }
            rules.after_prepared(prepared, &up).await;
            Response::from_parts(
                head,
                Full::new(bytes).map_err(|never| match never {}).boxed(),
            )
        }
        _ => upstream.map(|b| b.boxed()),
    };
    if lost {
        // Let the upstream finish its answer, then drop it.
        let _ = upstream.into_body().collect().await;
        shared.recorder.record(&call, Outcome::Lost);
        let id = request_id(s.seed, &key, n);
        return Ok(injected(responses::lost_reply(&call.protocol, &id)));
    }
    shared.recorder.record(&call, Outcome::Forwarded);
    Ok(upstream)
}

/// Paths under this prefix are the proxy's own.
const CONTROL_PREFIX: &str = "/__proxy/";

fn control(shared: &Shared, method: &Method, path: &str) -> Response<Body> {
    match (method, path) {
        (&Method::GET, "/__proxy/stats") => {
            let stats = shared.recorder.snapshot();
            match serde_json::to_string_pretty(&stats) {
                Ok(json) => {
                    let mut resp = full(StatusCode::OK, Bytes::from(json));
                    resp.headers_mut()
                        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                    resp
                }
                Err(e) => text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("ecsctl-faultproxy: cannot encode the stats: {e}\n"),
                ),
            }
        }
        (&Method::GET, "/__proxy/rules") => {
            let body = match &shared.settings.rules {
                Some(rules) => serde_json::json!({
                    "refusals": rules.refusals(),
                    "stranded": rules.stranded(),
                }),
                None => serde_json::json!(null),
            };
            let mut resp = full(StatusCode::OK, Bytes::from(body.to_string()));
            resp.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            resp
        }
        (&Method::POST, "/__proxy/reset-stats") => {
            shared.recorder.reset();
            full(StatusCode::NO_CONTENT, Bytes::new())
        }
        _ => text(
            StatusCode::NOT_FOUND,
            format!(
                "ecsctl-faultproxy: no endpoint {method} {path}; \
                 use GET /__proxy/stats or POST /__proxy/reset-stats\n"
            ),
        ),
    }
}

fn injected(answer: responses::Injected) -> Response<Body> {
    answer
        .into_response()
        .map(|b| Full::new(b).map_err(|never| match never {}).boxed())
}

fn full(status: StatusCode, body: Bytes) -> Response<Body> {
    let mut resp = Response::new(Full::new(body).map_err(|never| match never {}).boxed());
    *resp.status_mut() = status;
    resp
}

fn text(status: StatusCode, message: String) -> Response<Body> {
    let mut resp = full(status, Bytes::from(message));
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}
