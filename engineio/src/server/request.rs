//! The Engine.IO request path: the handshake, and the polling GET and POST.
//!
//! Which request this is, or which of the reference server's error codes
//! refuses it, is decided by the sans-IO [`engineio_proto::verify`] (Node
//! engine.io's `verify()` then `handshake()` order); this module looks the
//! session up for it, runs the `allow_request` hook, and writes the answer.
//! HTTP errors carry the JSON body `{"code":N,"message":"..."}`; WebSocket
//! upgrade errors are a plain `400` with the message as body.

use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;

use bytes::{BufMut, Bytes, BytesMut};
use engineio_proto::server::{GetOutcome, PostFailure, RequestError, UPGRADE_CHECK};
use engineio_proto::verify::{self, ErrorCode, Head, Refusal, Route};
use engineio_proto::{payload, Packet, Sid, TransportKind};
use http::header::{CACHE_CONTROL, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, SET_COOKIE};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Full};

use super::connect::ConnectRequest;
use super::handlers::{guarded, Reject};
use super::response::{empty, error, full, json, json_error, ok_response, upgrade_error, BoxError};
use super::session::SessionHandle;
use super::websocket::{self, wants_websocket};
use super::{RemoteAddr, Server, Shared};
use crate::http::{compression, cors};

fn remote_addr(shared: &Shared, parts: &Parts) -> Option<SocketAddr> {
    shared
        .remote_addr
        .as_ref()
        .and_then(|f| f(parts))
        .or_else(|| parts.extensions.get::<RemoteAddr>().map(|r| r.0))
        .or_else(|| parts.extensions.get::<SocketAddr>().copied())
}

/// Answers one Engine.IO request.
pub(crate) async fn handle<B>(shared: Arc<Shared>, req: Request<B>) -> Response<Full<Bytes>>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let (parts, body) = req.into_parts();
    let is_ws = wants_websocket(&parts.headers);
    // Origins are checked first, on every request (python's order).
    // HTTP/2 carries the scheme in the URI; an accept loop that terminates
    // TLS itself says so with a `Scheme::HTTPS` request extension.
    let https = Some(&http::uri::Scheme::HTTPS);
    let tls = parts.uri.scheme() == https || parts.extensions.get::<http::uri::Scheme>() == https;
    let cors = match shared.cors.check(&parts, tls) {
        Ok(headers) => headers,
        Err(rejected) => {
            tracing::debug!(origin = ?rejected.origin, "origin refused");
            return rejected.into_response();
        }
    };
    if is_preflight(&parts) && shared.cors.is_enabled() {
        return cors::preflight_response(&cors);
    }
    let mut resp = route(&shared, parts, body, is_ws).await;
    if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
        cors.apply_to(resp.headers_mut());
    }
    resp
}

/// A CORS preflight: `OPTIONS` with `Origin` and
/// `Access-Control-Request-Method`. Any other `OPTIONS` is an ordinary
/// request (a handshake answered "Bad handshake method", as the reference
/// without CORS).
fn is_preflight(parts: &Parts) -> bool {
    parts.method == Method::OPTIONS
        && parts.headers.contains_key(http::header::ORIGIN)
        && parts
            .headers
            .contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD)
}

async fn route<B>(shared: &Arc<Shared>, parts: Parts, body: B, is_ws: bool) -> Response<Full<Bytes>>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let head = Head {
        method: match parts.method {
            Method::GET => verify::Method::Get,
            Method::POST => verify::Method::Post,
            _ => verify::Method::Other,
        },
        query: parts.uri.query().unwrap_or(""),
        websocket: is_ws,
    };
    let lookup = |sid: Sid, late_get: bool| {
        // A session the client has just closed may still answer one GET
        // (the one sent together with the close).
        let handle = shared
            .session(&sid)
            .filter(|h| h.is_accepted() && (!h.is_closed() || (late_get && h.is_lingering())))?;
        let transport = handle.transport();
        Some((handle, transport))
    };
    let allow = || match &shared.allow_request {
        Some(allow) => allow(&parts),
        None => Ok(()),
    };
    match verify::verify(&head, &shared.options.transports, lookup, allow) {
        Err(refusal) => refuse(is_ws, refusal),
        Ok(Route::Upgrade(handle)) => websocket::start_upgrade(shared, handle, parts),
        Ok(Route::Poll(handle)) => {
            if handle.is_upgrading() {
                // Hold it as the reference does; a `5` already on its way
                // over the WebSocket then counts as having come first.
                handle.wait_upgrade(UPGRADE_CHECK).await;
                if handle.transport() != TransportKind::Polling {
                    return refuse(is_ws, ErrorCode::BadRequest.into());
                }
            }
            polling_get(&handle).await
        }
        Ok(Route::Post(handle)) => polling_post(shared, &handle, &parts, body).await,
        // The reference answers other methods on a session with a bare 500.
        Ok(Route::OtherMethod(_)) => empty(StatusCode::INTERNAL_SERVER_ERROR),
        Ok(Route::Handshake { .. }) if shared.is_shutting_down() => {
            empty(StatusCode::SERVICE_UNAVAILABLE)
        }
        // Boxed: it runs once per session, and inline its state (the
        // connect handler's, the first GET's) made every request's future
        // larger, a held long poll's included (2,040 → 1,568 bytes for
        // `handle` in a test build).
        Ok(Route::Handshake { transport, jsonp }) => {
            Box::pin(handshake(shared, parts, transport, jsonp)).await
        }
    }
}

/// The answer to a refused request: the JSON error on polling, a plain
/// `400` with the message on a WebSocket upgrade (even for code 4).
fn refuse(is_ws: bool, refusal: Refusal) -> Response<Full<Bytes>> {
    if is_ws {
        return upgrade_error(&refusal.message);
    }
    let status =
        StatusCode::from_u16(refusal.code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    json(
        status,
        &serde_json::json!({"code": refusal.code.code(), "message": refusal.message}),
    )
}

async fn handshake(
    shared: &Arc<Shared>,
    parts: Parts,
    transport: TransportKind,
    jsonp: Option<Box<str>>,
) -> Response<Full<Bytes>> {
    let (parts, upgrade) = if transport == TransportKind::WebSocket {
        match websocket::prepare(parts) {
            (parts, Ok(u)) => (parts, Some(u)),
            (_, Err(e)) => {
                tracing::debug!(error = %e, "invalid websocket handshake");
                return upgrade_error(ErrorCode::BadRequest.message());
            }
        }
    } else {
        (parts, None)
    };
    let is_ws = upgrade.is_some();
    let Some(handle) = shared.insert_new_session(transport, jsonp) else {
        return error(is_ws, ErrorCode::BadRequest);
    };
    let sid = handle.sid;
    let remote = remote_addr(shared, &parts);
    if let Some(connect) = shared.handlers().connect {
        let req = ConnectRequest::new(&parts, remote, transport);
        let reject = match guarded(
            "connect",
            sid,
            connect(Server::from_shared(shared.clone()), sid, req),
        )
        .await
        {
            Some(Ok(())) => None,
            Some(Err(r)) => Some(r),
            None => Some(Reject::unauthorized()),
        };
        if let Some(r) = reject {
            tracing::debug!(%sid, body = %r.body(), "connection rejected");
            shared.remove_session(&handle);
            return json(StatusCode::UNAUTHORIZED, r.body());
        }
    }
    handle.start();
    tracing::debug!(%sid, %transport, remote = ?remote, "session opened");
    match upgrade {
        Some(u) => websocket::start_direct(shared, handle, u),
        None => {
            let mut resp = polling_get(&handle).await;
            if let Some(cookie) = &shared.options.cookie {
                match cookie.set_cookie_value(sid.as_str()) {
                    Ok(v) => {
                        resp.headers_mut().insert(SET_COOKIE, v);
                    }
                    Err(e) => tracing::warn!(%sid, error = %e, "session cookie not set"),
                }
            }
            resp
        }
    }
}

/// Ends the pending GET if the request goes away before its answer.
struct GetGuard<'a>(Option<&'a Arc<SessionHandle>>);

impl Drop for GetGuard<'_> {
    fn drop(&mut self) {
        if let Some(h) = self.0.take() {
            h.output(|inner, _| inner.core.end_get());
        }
    }
}

/// Ends the session if the request goes away before its body is read, as
/// Node does ("data request connection closed prematurely").
struct PostGuard<'a>(Option<&'a Arc<SessionHandle>>);

impl Drop for PostGuard<'_> {
    fn drop(&mut self) {
        if let Some(h) = self.0.take() {
            h.input(|inner, _| inner.core.fail_post(PostFailure::ConnectionFailed));
        }
    }
}

impl PostGuard<'_> {
    /// The body could not be read whole: the session ends, and the answer
    /// is `status` with `Connection: close` (what is left of the body is
    /// not read).
    fn fail(mut self, why: PostFailure, status: StatusCode) -> Response<Full<Bytes>> {
        if let Some(h) = self.0.take() {
            tracing::debug!(sid = %h.sid, ?why, "POST failed; session closed");
            h.input(|inner, _| inner.core.fail_post(why));
        }
        let mut resp = empty(status);
        if status != StatusCode::BAD_REQUEST {
            resp.headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
        }
        resp
    }
}

fn request_error(e: RequestError) -> Response<Full<Bytes>> {
    match e {
        // Overlaps and bad bodies: a bare 400, as the reference.
        RequestError::OverlappingGet
        | RequestError::OverlappingPost
        | RequestError::BadPayload(_) => empty(StatusCode::BAD_REQUEST),
        RequestError::PayloadTooLarge => {
            let mut resp = empty(StatusCode::PAYLOAD_TOO_LARGE);
            resp.headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
            resp
        }
        RequestError::TransportMismatch
        | RequestError::UpgradeRefused
        | RequestError::DuplicateUpgrade => json_error(ErrorCode::BadRequest),
        _ => json_error(ErrorCode::SessionIdUnknown),
    }
}

async fn polling_get(handle: &Arc<SessionHandle>) -> Response<Full<Bytes>> {
    if let Err(e) = handle.input(|inner, _| inner.core.begin_get()) {
        tracing::debug!(sid = %handle.sid, error = %e, "GET refused");
        return request_error(e);
    }
    let mut guard = GetGuard(Some(handle));
    let packets = loop {
        let notified = handle.changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let out = handle.output(|inner, _| match inner.core.poll_get() {
            GetOutcome::Payload(p) => {
                inner.core.end_get();
                Some(p)
            }
            GetOutcome::Wait => None,
        });
        if let Some(p) = out {
            break p;
        }
        notified.await;
    };
    guard.0 = None;
    payload_response(handle.jsonp.as_deref(), &packets)
}

/// A polling answer: the payload, or its JSONP call for a JSONP session.
///
/// Compression is not done here: once the answer is ready, `EngineIoService`
/// hands a large payload, recognised by its content type, to tower-http
/// (see `crate::http::compression`).
fn payload_response(jsonp: Option<&str>, packets: &[Packet]) -> Response<Full<Bytes>> {
    let body = match jsonp {
        Some(index) => payload::jsonp::encode(index, packets),
        None => payload::encode(packets),
    };
    let content_type = Some(compression::PAYLOAD_CONTENT_TYPE);
    let mut resp = full(StatusCode::OK, content_type, body);
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn is_octet_stream(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/octet-stream"))
        })
}

enum BodyError {
    TooLarge,
    TooManyChunks,
    Failed,
}

/// Reads a body, refusing it as soon as it grows over `max` raw bytes or
/// arrives in more than `max_chunks` pieces (engine.io's
/// `maxHttpBufferSize` and `maxBufferedChunks`).
async fn read_limited<B>(body: B, max: usize, max_chunks: usize) -> Result<Bytes, BodyError>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    let mut body = std::pin::pin!(body);
    let mut buf = BytesMut::new();
    let mut chunks = 0usize;
    while let Some(frame) = body.as_mut().frame().await {
        let frame = frame.map_err(|_| BodyError::Failed)?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + bytes::Buf::remaining(&data) > max {
                return Err(BodyError::TooLarge);
            }
            chunks += 1;
            if chunks > max_chunks {
                return Err(BodyError::TooManyChunks);
            }
            buf.put(data);
        }
    }
    Ok(buf.freeze())
}

async fn polling_post<B>(
    shared: &Shared,
    handle: &Arc<SessionHandle>,
    parts: &Parts,
    body: B,
) -> Response<Full<Bytes>>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    if let Err(e) = handle.input(|inner, _| inner.core.begin_post()) {
        tracing::debug!(sid = %handle.sid, error = %e, "POST refused");
        return request_error(e);
    }
    let mut guard = PostGuard(Some(handle));
    if is_octet_stream(&parts.headers) {
        // Binary POST bodies do not exist in v4: the reference closes.
        return guard.fail(PostFailure::BinaryBody, StatusCode::BAD_REQUEST);
    }
    let max = shared.options.max_http_buffer_size;
    if content_length(&parts.headers).is_some_and(|len| len > max as u64) {
        return guard.fail(PostFailure::TooLarge, StatusCode::PAYLOAD_TOO_LARGE);
    }
    // A client that trickles its body (or stops sending it) must not hold
    // the session's POST slot and a connection forever.
    let read = tokio::time::timeout(
        shared.options.http_request_timeout,
        read_limited(body, max, shared.options.max_buffered_chunks),
    );
    let bytes = match read.await {
        Ok(Ok(b)) => b,
        Ok(Err(BodyError::TooLarge)) => {
            return guard.fail(PostFailure::TooLarge, StatusCode::PAYLOAD_TOO_LARGE)
        }
        Ok(Err(BodyError::TooManyChunks)) => {
            return guard.fail(PostFailure::TooManyChunks, StatusCode::PAYLOAD_TOO_LARGE)
        }
        Ok(Err(BodyError::Failed)) => {
            return guard.fail(PostFailure::ConnectionFailed, StatusCode::BAD_REQUEST)
        }
        Err(_elapsed) => return guard.fail(PostFailure::TimedOut, StatusCode::REQUEST_TIMEOUT),
    };
    guard.0 = None;
    let bytes = match handle.jsonp {
        None => bytes,
        Some(_) => match payload::jsonp::decode_form(&bytes) {
            Some(d) => Bytes::from(d),
            None => {
                // Node answers `ok` and ignores a form without `d`.
                handle.input(|inner, _| inner.core.ignore_post());
                return ok_response();
            }
        },
    };
    let posted = handle.input(|inner, now| {
        // This request runs the handlers for what the body queues, below.
        inner.defer_handlers = true;
        inner.core.handle_post(now, bytes)
    });
    // As a WebSocket task does (`run_handlers_here`): the handlers run here,
    // before the answer, while each completes when first polled, which saves
    // a task per message; one that has to wait moves, with the rest of the
    // queue, to a handler task.
    std::future::poll_fn(|cx| {
        handle.run_handlers_here(cx);
        Poll::Ready(())
    })
    .await;
    match posted {
        Ok(()) => {
            // The answer waits while the handler is far behind, so the
            // client (one POST at a time) slows down to its pace.
            handle.wait_backlog(shared.options.max_queued_packets).await;
            ok_response()
        }
        Err(e) => {
            tracing::debug!(sid = %handle.sid, error = %e, "POST body refused");
            request_error(e)
        }
    }
}
