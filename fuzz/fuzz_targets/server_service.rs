//! The server's whole request path (`server_request` fuzzes request
//! verification alone, without a runtime): a sequence of arbitrary
//! requests (method, path, query, headers, a body in chunks, possibly never
//! finishing) through `engineio::server::Server`'s tower service. The
//! literal `SID` in a query is replaced by the sid of an earlier handshake
//! in the same input, so the fuzzer reaches session code (POST bodies,
//! long-polls, overlaps, closes).
//!
//! One current-thread runtime with paused time serves every input: a
//! long-poll or a stalled body resolves as soon as the runtime is idle, by
//! advancing virtual time to the next timer (ping, request timeout).
//! WebSocket upgrades are refused here (no connection to upgrade), so only
//! their validation path is covered.
//!
//! Oracles: no panic; every answer has a status the server is documented
//! to give; a JSON error body is `{"code":N,"message":...}`.
#![no_main]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use engineio::server::{NotFound, Server};
use http::{HeaderName, HeaderValue, Method, Request};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use libfuzzer_sys::arbitrary::{Result as ArbResult, Unstructured};
use libfuzzer_sys::fuzz_target;
use tower_service::Service;

thread_local! {
    static RT: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime");
}

/// A request body: chunks, then either the end or a stall forever.
struct FuzzBody {
    chunks: VecDeque<Bytes>,
    stall: bool,
}

impl Body for FuzzBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.chunks.pop_front() {
            Some(c) => Poll::Ready(Some(Ok(Frame::data(c)))),
            // Never woken: only the server's request timeout ends this.
            None if self.stall => Poll::Pending,
            None => Poll::Ready(None),
        }
    }
}

const PATHS: &[&str] = &[
    "/engine.io/",
    "/engine.io",
    "/engine.io/x/y",
    "/",
    "/socket.io/",
];
const METHODS: &[&str] = &[
    "GET", "POST", "OPTIONS", "PUT", "DELETE", "HEAD", "PATCH", "BREW",
];
const QUERIES: &[&str] = &[
    "EIO=4&transport=polling",
    "EIO=4&transport=polling&sid=SID",
    "EIO=4&transport=websocket",
    "EIO=4&transport=websocket&sid=SID",
    "EIO=3&transport=polling&sid=SID",
    "EIO=4&transport=polling&sid=SID&t=x&j=0&b64=1",
];
const HEADERS: &[&str] = &[
    "host",
    "origin",
    "content-type",
    "content-length",
    "accept-encoding",
    "cookie",
    "upgrade",
    "connection",
    "sec-websocket-key",
    "sec-websocket-version",
    "access-control-request-method",
    "access-control-request-headers",
    "x-forwarded-host",
    "x-forwarded-proto",
    "transfer-encoding",
];
const VALUES: &[&str] = &[
    "127.0.0.1:5000",
    "http://127.0.0.1:5000",
    "http://evil.example",
    "application/octet-stream",
    "text/plain;charset=UTF-8",
    "gzip, deflate",
    "websocket",
    "Upgrade",
    "dGhlIHNhbXBsZSBub25jZQ==",
    "13",
    "POST",
    "io=SID",
    "https",
    "2",
];
const BODIES: &[&str] = &[
    "4hello",
    "1",
    "2",
    "3",
    "5",
    "6",
    "4a\x1e4b",
    "bAQIDBA==",
    "3probe",
    "4\u{20ac}",
];

fn pick<'a>(u: &mut Unstructured<'_>, known: &[&'a str]) -> ArbResult<String> {
    // Mostly known values (to reach deep code), sometimes arbitrary text.
    if u.ratio(3, 4)? {
        Ok((*u.choose(known)?).to_owned())
    } else {
        <String as libfuzzer_sys::arbitrary::Arbitrary>::arbitrary(u)
    }
}

struct Req {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<Bytes>,
    stall: bool,
}

fn req(u: &mut Unstructured<'_>) -> ArbResult<Req> {
    let method = pick(u, METHODS)?;
    let path = pick(u, PATHS)?;
    let mut query = pick(u, QUERIES)?;
    if u.ratio(1, 4)? {
        query.push('&');
        query.push_str(&pick(u, QUERIES)?);
    }
    let mut headers = Vec::new();
    for _ in 0..u.int_in_range(0..=6)? {
        let name = pick(u, HEADERS)?;
        let value = if u.ratio(3, 4)? {
            pick(u, VALUES)?.into_bytes()
        } else {
            <Vec<u8> as libfuzzer_sys::arbitrary::Arbitrary>::arbitrary(u)?
        };
        headers.push((name, value));
    }
    let mut body = Vec::new();
    for _ in 0..u.int_in_range(0..=4)? {
        let chunk = if u.ratio(1, 2)? {
            let mut parts = Vec::new();
            for _ in 0..u.int_in_range(1..=3)? {
                parts.push(pick(u, BODIES)?);
            }
            parts.join("\x1e").into_bytes()
        } else {
            <Vec<u8> as libfuzzer_sys::arbitrary::Arbitrary>::arbitrary(u)?
        };
        body.push(Bytes::from(chunk));
    }
    let stall = u.ratio(1, 16)?;
    Ok(Req {
        method,
        path,
        query,
        headers,
        body,
        stall,
    })
}

fn server() -> Server {
    let eio = Server::builder()
        .ping_interval(Duration::from_millis(500))
        .ping_timeout(Duration::from_millis(500))
        .upgrade_timeout(Duration::from_millis(500))
        .close_timeout(Duration::from_millis(500))
        .http_request_timeout(Duration::from_millis(500))
        .max_http_buffer_size(64)
        .max_queued_packets(8)
        .build()
        .expect("server");
    eio.on_message(|eio, sid, data| {
        let _ = eio.send(sid, data);
    });
    eio
}

fn sid_of(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let json = text.strip_prefix('0')?;
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    Some(v["sid"].as_str()?.to_owned())
}

async fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let eio = server();
    let mut svc = eio.service(NotFound);
    let mut sids: Vec<String> = Vec::new();
    for _ in 0..8 {
        if u.is_empty() {
            break;
        }
        let Ok(r) = req(&mut u) else { break };
        let sid = match sids.len() {
            0 => "AAAAAAAAAAAAAAAAAAAA".to_owned(),
            n => sids[usize::from(u.arbitrary::<u8>().unwrap_or(0)) % n].clone(),
        };
        let uri = format!("{}?{}", r.path, r.query.replace("SID", &sid));
        let Ok(method) = Method::from_bytes(r.method.as_bytes()) else {
            continue;
        };
        let mut builder = Request::builder().method(method).uri(uri);
        for (name, value) in &r.headers {
            let value = String::from_utf8_lossy(value).replace("SID", &sid);
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_bytes(value.as_bytes()),
            ) {
                builder = builder.header(n, v);
            }
        }
        let body = FuzzBody {
            chunks: r.body.into(),
            stall: r.stall,
        };
        let Ok(request) = builder.body(body) else {
            continue;
        };
        let is_engine = request.uri().path().starts_with("/engine.io/");
        let fut = svc.call(request);
        // Virtual time: a minute passes instantly once everything is idle.
        let Ok(Ok(resp)) = tokio::time::timeout(Duration::from_secs(60), fut).await else {
            panic!("a request took over a minute of (virtual) time");
        };
        let status = resp.status().as_u16();
        let json = resp
            .headers()
            .get(http::header::CONTENT_TYPE)
            .is_some_and(|v| v == "application/json");
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        if is_engine {
            assert!(
                matches!(
                    status,
                    101 | 200 | 204 | 400 | 401 | 403 | 408 | 413 | 500 | 503
                ),
                "unexpected status {status}"
            );
        } else {
            assert_eq!(status, 404);
        }
        if json {
            let v: serde_json::Value = serde_json::from_slice(&body).expect("JSON error body");
            assert!(v["code"].is_u64() && v["message"].is_string(), "{v}");
        }
        if status == 200 {
            if let Some(s) = sid_of(&body) {
                sids.push(s);
            }
        }
    }
    // End every session so no task outlives the input.
    let _ = eio.shutdown(Duration::from_secs(5)).await;
}

fuzz_target!(|data: &[u8]| {
    RT.with(|rt| rt.block_on(run(data)));
});
