//! The WebSocket handshake of a plain `ws://` connection made with hyper's
//! HTTP/1 client connection on a TCP stream of our own, instead of through
//! reqwest, so that the open WebSocket is that bare [`TcpStream`].
//!
//! reqwest's `Upgraded` cannot give its stream back (it has no `downcast`),
//! and what it wraps — hyper's upgraded IO, reqwest's boxed connection and
//! its wrappers — cost 1,104 bytes of heap per idle client connection (heap
//! profile of 200 connections, 2026-12-06), a quarter of it. hyper's own
//! [`Upgraded::downcast`](hyper::upgrade::Upgraded::downcast) gives the
//! stream back, with any bytes it read past the `101`.
//!
//! It is used only where it sends what reqwest would: the default HTTP
//! client (no user-supplied one), an `http` URL (no TLS), and no proxy in
//! the environment (reqwest's default client honours `HTTP_PROXY` and
//! `ALL_PROXY`; where the system has proxy settings of its own, macOS and
//! Windows, it is never used). Everything else goes through reqwest. The
//! request carries the same headers (`Host`, the user's, the jar's cookies,
//! the WebSocket ones); the `101`'s `Set-Cookie` headers go to the
//! connection's jar, as reqwest's cookie store does. A redirect answer is
//! not followed: the WebSocket handshake fails with its status (reqwest
//! would follow it, an upgrade to a redirected URL that no Engine.IO server
//! sends).

use std::future::{poll_fn, Future};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty, Limited};
use hyper_util::rt::TokioIo;
use reqwest::cookie::{CookieStore as _, Jar};
use reqwest::header::{HeaderMap, HeaderValue, HOST, SET_COOKIE};
use reqwest::Url;
use tokio::net::TcpStream;

use super::websocket::OpenError;

/// Most bytes of a refusal's body kept for the error.
const REFUSAL_BODY_LIMIT: usize = 64 * 1024;

/// Whether the environment names a proxy that reqwest's default client
/// would use for an `http` URL (then the handshake goes through reqwest).
pub(crate) fn proxy_configured() -> bool {
    if cfg!(any(target_os = "macos", windows)) {
        return true;
    }
    ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
        .iter()
        .any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()))
}

/// What the server answered.
pub(crate) enum Answer {
    /// A `101` with its headers, the stream, and the bytes read past it.
    Switched(HeaderMap, TcpStream, Bytes),
    /// Anything else, with (up to 64 KiB of) its body.
    Refused(http::StatusCode, Bytes),
}

/// Connects to `url`'s host and sends the upgrade request; `headers` hold
/// the user's, the cookies and the WebSocket ones. `None` when no TCP
/// connection could be made: the caller then goes through reqwest, whose
/// error says why (a typed [`reqwest::Error`] that
/// [`ClientError::is_connect`](super::ClientError::is_connect) recognises).
pub(crate) async fn handshake(
    url: &Url,
    headers: &HeaderMap,
    jar: &Arc<Jar>,
) -> Result<Option<Answer>, OpenError> {
    let Some(tcp) = connect(url).await else {
        return Ok(None);
    };
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(handshake_error)?;
    let mut conn = Driven {
        conn: Box::pin(conn.with_upgrades()),
        ended: false,
    };
    let req = request(url, headers)?;
    let resp = conn
        .alongside(sender.send_request(req))
        .await
        .map_err(handshake_error)?;
    let (mut parts, body) = resp.into_parts();
    if parts.status != http::StatusCode::SWITCHING_PROTOCOLS {
        let body = conn
            .alongside(Limited::new(body, REFUSAL_BODY_LIMIT).collect())
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        return Ok(Some(Answer::Refused(parts.status, body)));
    }
    let mut cookies = parts.headers.get_all(SET_COOKIE).iter().peekable();
    if cookies.peek().is_some() {
        jar.set_cookies(&mut cookies, url);
    }
    let headers = std::mem::take(&mut parts.headers);
    let resp = http::Response::from_parts(parts, Empty::<Bytes>::new());
    // The connection hands its IO over once it has read the `101`.
    let upgraded = conn
        .alongside(hyper::upgrade::on(resp))
        .await
        .map_err(handshake_error)?;
    let parts = upgraded
        .downcast::<TokioIo<TcpStream>>()
        .map_err(|_| OpenError::Handshake("the upgraded connection is not a TCP stream".into()))?;
    Ok(Some(Answer::Switched(
        headers,
        parts.io.into_inner(),
        parts.read_buf,
    )))
}

/// The client connection's future, polled alongside whatever waits for it
/// (the answer, its body, the upgrade) until it ends: after a `101` it ends
/// once it has handed the IO over, which may come before the answer is
/// seen.
struct Driven {
    /// hyper's `UpgradeableConnection`, which cannot be named.
    conn: Pin<Box<dyn Future<Output = hyper::Result<()>> + Send>>,
    ended: bool,
}

impl Driven {
    async fn alongside<F: Future>(&mut self, fut: F) -> F::Output {
        let mut fut = std::pin::pin!(fut);
        poll_fn(|cx| {
            if !self.ended {
                if let Poll::Ready(r) = self.conn.as_mut().poll(cx) {
                    // Its error, if any, is what `fut` ends with too.
                    if let Err(e) = r {
                        tracing::debug!("engine.io client: WebSocket handshake connection: {e}");
                    }
                    self.ended = true;
                }
            }
            fut.as_mut().poll(cx)
        })
        .await
    }
}

fn handshake_error(e: hyper::Error) -> OpenError {
    OpenError::Handshake(Box::new(e))
}

/// The upgrade request: `GET` of the URL's path and query, `Host` first.
fn request(url: &Url, headers: &HeaderMap) -> Result<http::Request<Empty<Bytes>>, OpenError> {
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    let host = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_owned(),
    };
    let mut req = http::Request::get(target)
        .body(Empty::new())
        .map_err(|e| OpenError::Handshake(Box::new(e)))?;
    let h = req.headers_mut();
    h.insert(
        HOST,
        HeaderValue::from_str(&host).map_err(|e| OpenError::Handshake(Box::new(e)))?,
    );
    h.extend(headers.clone());
    Ok(req)
}

/// A TCP connection to the URL's host, trying its addresses in turn (with
/// `TCP_NODELAY`, as reqwest sets it); `None` if none answers.
async fn connect(url: &Url) -> Option<TcpStream> {
    let port = url.port_or_known_default().unwrap_or(80);
    // `host:port` (`[v6]:port`): a literal address is parsed, not resolved.
    let target = format!("{}:{port}", url.host_str()?);
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host(target).await.ok()?.collect();
    for addr in addrs {
        if let Ok(s) = TcpStream::connect(addr).await {
            s.set_nodelay(true).ok()?;
            return Some(s);
        }
    }
    None
}
