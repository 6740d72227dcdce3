//! Building the client's HTTP requests: Engine.IO URLs, headers, the `t`
//! cache-buster, and the per-session cookie jar of the default HTTP client;
//! reading their answers within a size limit and a deadline. Interpreting
//! them is the driver's business.
//!
//! Every request is bounded twice: its body by `max_payload_size` (refused
//! from `Content-Length` before reading, or as soon as the streamed body
//! passes it, so at most the limit is ever held), and the whole exchange —
//! connecting, headers, every byte of the body — by one deadline (reqwest's
//! `timeout`, and a tokio timeout around the whole future as well), so a
//! server that trickles a body forever is cut off.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE, COOKIE, SET_COOKIE};
use reqwest::{StatusCode, Url};

use super::error::ClientError;
use super::options::ClientOptions;
use crate::proto::TransportKind;

/// The Engine.IO endpoint of a server: scheme, host, path and the user's
/// query; transport parameters are added per request.
#[derive(Debug, Clone)]
pub(crate) struct EngineUrl {
    /// `http` or `https` form, with the engine path and the user's query.
    base: Url,
}

impl EngineUrl {
    /// Parses the URL given to `connect`: `http`, `https`, `ws` or `wss`; its
    /// query is kept, its path replaced by `engineio_path` (as
    /// python-engineio does).
    pub(crate) fn parse(url: &str, engineio_path: &str) -> Result<Self, ClientError> {
        let mut u = Url::parse(url).map_err(|e| ClientError::InvalidUrl(format!("{url}: {e}")))?;
        let scheme = match u.scheme() {
            "http" | "ws" => "http",
            "https" | "wss" => "https",
            other => {
                return Err(ClientError::InvalidUrl(format!(
                    "{url}: scheme {other:?} is not http, https, ws or wss"
                )))
            }
        };
        if u.host_str().is_none_or(str::is_empty) {
            return Err(ClientError::InvalidUrl(format!("{url}: no host")));
        }
        if u.scheme() != scheme {
            // `Url::set_scheme` refuses some special-scheme changes; rebuild.
            let rest = &url[u.scheme().len()..];
            u = Url::parse(&format!("{scheme}{rest}"))
                .map_err(|e| ClientError::InvalidUrl(format!("{url}: {e}")))?;
        }
        u.set_path(&normalize_path(engineio_path));
        u.set_fragment(None);
        if u.query() == Some("") {
            u.set_query(None);
        }
        Ok(EngineUrl { base: u })
    }

    /// The URL of a request on `transport`, with `sid` once known and `t`
    /// when given.
    pub(crate) fn request(
        &self,
        transport: TransportKind,
        sid: Option<&str>,
        t: Option<&str>,
    ) -> Url {
        let mut u = self.base.clone();
        {
            let mut q = u.query_pairs_mut();
            q.append_pair("EIO", "4");
            q.append_pair("transport", transport.as_str());
            if let Some(sid) = sid {
                q.append_pair("sid", sid);
            }
            if let Some(t) = t {
                q.append_pair("t", t);
            }
        }
        u
    }
}

/// `engine.io` → `/engine.io/`; `""` → `/`.
pub(crate) fn normalize_path(p: &str) -> String {
    let trimmed = p.trim_matches('/');
    if trimmed.is_empty() {
        "/".to_owned()
    } else {
        format!("/{trimmed}/")
    }
}

/// A cache-busting value, unique within the process.
fn timestamp() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{ms}-{n}")
}

/// Cookies set by the server during one session, replayed on its later
/// requests, WebSocket handshake included (sticky sessions behind a load
/// balancer). Only used with the default HTTP client: a client you supply
/// handles cookies itself (reqwest's `cookie_store`).
#[derive(Debug, Default, Clone)]
pub(crate) struct CookieJar {
    cookies: Vec<(String, String)>,
}

impl CookieJar {
    pub(crate) fn update(&mut self, headers: &HeaderMap) {
        for v in headers.get_all(SET_COOKIE) {
            let Ok(v) = v.to_str() else { continue };
            let mut parts = v.split(';');
            let Some((name, value)) = parts.next().and_then(|nv| nv.split_once('=')) else {
                continue;
            };
            let (name, value) = (name.trim().to_owned(), value.trim().to_owned());
            let expired = parts.any(|a| {
                let a = a.trim();
                a.len() >= 8
                    && a[..8].eq_ignore_ascii_case("max-age=")
                    && a[8..].trim().starts_with(['0', '-'])
            });
            self.cookies.retain(|(n, _)| *n != name);
            if !expired {
                self.cookies.push((name, value));
            }
        }
    }

    fn header(&self) -> Option<String> {
        (!self.cookies.is_empty()).then(|| {
            self.cookies
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }
}

/// Everything needed to make the requests of one connection.
#[derive(Debug, Clone)]
pub(crate) struct Requests {
    pub(crate) http: reqwest::Client,
    pub(crate) url: EngineUrl,
    pub(crate) headers: HeaderMap,
    pub(crate) ws_headers: HeaderMap,
    pub(crate) request_timeout: Duration,
    pub(crate) timestamp: bool,
    pub(crate) ws_max_message_size: usize,
    pub(crate) max_payload_size: usize,
    /// `Some` with the default HTTP client.
    pub(crate) cookies: Option<CookieJar>,
}

/// Why a polling request failed.
#[derive(Debug)]
pub(crate) enum RequestError {
    /// The request could not be made or its answer not read.
    Http(reqwest::Error),
    /// The answer's body is larger than this limit.
    TooLarge(usize),
    /// The answer (body included) did not arrive within the deadline.
    Timeout,
}

impl From<RequestError> for ClientError {
    fn from(e: RequestError) -> Self {
        match e {
            RequestError::Http(e) => ClientError::from_reqwest(e),
            RequestError::TooLarge(limit) => ClientError::TooLarge {
                what: "polling body",
                limit,
            },
            RequestError::Timeout => ClientError::Timeout,
        }
    }
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestError::Http(e) => write!(f, "{e}"),
            RequestError::TooLarge(limit) => write!(f, "the body is over {limit} bytes"),
            RequestError::Timeout => f.write_str("timed out"),
        }
    }
}

/// The answer to a polling request, body read.
#[derive(Debug)]
pub(crate) struct HttpAnswer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Requests {
    pub(crate) fn new(url: &str, options: &ClientOptions) -> Result<Self, ClientError> {
        let url = EngineUrl::parse(url, &options.engineio_path)?;
        let (http, cookies) = match &options.http_client {
            Some(c) => {
                if !options.ssl_verify {
                    tracing::warn!(
                        "engine.io client: ssl_verify=false has no effect on a supplied HTTP client; \
                         configure it with `tls_danger_accept_invalid_certs`"
                    );
                }
                (c.get(), None)
            }
            None => {
                let http = reqwest::Client::builder()
                    .http1_only()
                    .tls_danger_accept_invalid_certs(!options.ssl_verify)
                    .build()
                    .map_err(ClientError::Http)?;
                (http, Some(CookieJar::default()))
            }
        };
        Ok(Requests {
            http,
            url,
            headers: options.headers.clone(),
            ws_headers: options.websocket_extra_headers.clone(),
            request_timeout: options.request_timeout,
            timestamp: options.timestamp_requests,
            ws_max_message_size: options.websocket_max_message_size,
            max_payload_size: options.max_payload_size,
            cookies,
        })
    }

    /// The headers of every request: the user's, plus the session cookies.
    pub(crate) fn headers(&self) -> HeaderMap {
        let mut h = self.headers.clone();
        if let Some(c) = self.cookies.as_ref().and_then(CookieJar::header) {
            let merged = match h.get(COOKIE).and_then(|v| v.to_str().ok()) {
                Some(user) => format!("{user}; {c}"),
                None => c,
            };
            if let Ok(v) = HeaderValue::from_str(&merged) {
                h.insert(COOKIE, v);
            }
        }
        h
    }

    pub(crate) fn remember_cookies(&mut self, headers: &HeaderMap) {
        if let Some(jar) = &mut self.cookies {
            jar.update(headers);
        }
    }

    fn polling_url(&self, sid: Option<&str>) -> Url {
        let t = self.timestamp.then(timestamp);
        self.url.request(TransportKind::Polling, sid, t.as_deref())
    }

    /// A polling GET (the handshake when `sid` is `None`), as a future that
    /// owns everything it needs; `timeout` bounds all of it, body included.
    pub(crate) fn get(
        &self,
        sid: Option<&str>,
        timeout: Duration,
    ) -> impl std::future::Future<Output = Result<HttpAnswer, RequestError>> + Send + 'static {
        let req = self
            .http
            .get(self.polling_url(sid))
            .headers(self.headers())
            .timeout(timeout);
        exchange(req, timeout, self.max_payload_size)
    }

    /// A polling POST carrying `body`.
    pub(crate) fn post(
        &self,
        sid: &str,
        body: Bytes,
    ) -> impl std::future::Future<Output = Result<HttpAnswer, RequestError>> + Send + 'static {
        let req = self
            .http
            .post(self.polling_url(Some(sid)))
            .headers(self.headers())
            .header(CONTENT_TYPE, "text/plain;charset=UTF-8")
            .body(body)
            .timeout(self.request_timeout);
        exchange(req, self.request_timeout, self.max_payload_size)
    }

    /// The URL of a WebSocket handshake, in its `http`/`https` form (the
    /// handshake is an HTTP/1.1 upgrade made through reqwest).
    pub(crate) fn websocket_url(&self, sid: Option<&str>) -> Url {
        self.url.request(TransportKind::WebSocket, sid, None)
    }
}

/// Sends `req` and reads its answer, all within `timeout` and with at most
/// `limit` body bytes.
async fn exchange(
    req: reqwest::RequestBuilder,
    timeout: Duration,
    limit: usize,
) -> Result<HttpAnswer, RequestError> {
    let run = async {
        let resp = req.send().await.map_err(RequestError::Http)?;
        read_answer(resp, limit).await
    };
    // reqwest's own timeout covers the body too; this one is the backstop
    // for an HTTP client supplied without it applying.
    tokio::time::timeout(timeout, run)
        .await
        .unwrap_or(Err(RequestError::Timeout))
}

async fn read_answer(
    mut resp: reqwest::Response,
    limit: usize,
) -> Result<HttpAnswer, RequestError> {
    let status = resp.status();
    let headers = resp.headers().clone();
    let declared = resp.content_length();
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(RequestError::TooLarge(limit));
    }
    // The first chunk is kept as it is (most bodies are one chunk); later
    // ones are appended to a copy.
    let mut first: Option<Bytes> = None;
    let mut more = bytes::BytesMut::new();
    let mut len = 0usize;
    while let Some(chunk) = resp.chunk().await.map_err(|e| {
        if e.is_timeout() {
            RequestError::Timeout
        } else {
            RequestError::Http(e)
        }
    })? {
        if chunk.len() > limit - len {
            return Err(RequestError::TooLarge(limit));
        }
        len += chunk.len();
        match &first {
            None => first = Some(chunk),
            Some(f) => {
                if more.is_empty() {
                    more.reserve(declared.map_or(f.len() + chunk.len(), |n| n as usize));
                    more.extend_from_slice(f);
                }
                more.extend_from_slice(&chunk);
            }
        }
    }
    let body = if more.is_empty() {
        first.unwrap_or_default()
    } else {
        more.freeze()
    };
    Ok(HttpAnswer {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = EngineUrl::parse("ws://localhost:5000/ignored?token=a%20b", "engine.io").unwrap();
        assert_eq!(
            u.request(TransportKind::Polling, None, Some("x")).as_str(),
            "http://localhost:5000/engine.io/?token=a%20b&EIO=4&transport=polling&t=x"
        );
        let u = EngineUrl::parse("wss://example.com", "/socket.io").unwrap();
        assert_eq!(
            u.request(TransportKind::WebSocket, Some("abc"), None)
                .as_str(),
            "https://example.com/socket.io/?EIO=4&transport=websocket&sid=abc"
        );
        let u = EngineUrl::parse("https://example.com:8443/?", "/").unwrap();
        assert_eq!(
            u.request(TransportKind::Polling, None, None).as_str(),
            "https://example.com:8443/?EIO=4&transport=polling"
        );
        assert!(matches!(
            EngineUrl::parse("ftp://x", "/engine.io/"),
            Err(ClientError::InvalidUrl(_))
        ));
        assert!(matches!(
            EngineUrl::parse("not a url", "/engine.io/"),
            Err(ClientError::InvalidUrl(_))
        ));
        assert_eq!(normalize_path("engine.io"), "/engine.io/");
        assert_eq!(normalize_path("/a/b/"), "/a/b/");
        assert_eq!(normalize_path(""), "/");
    }

    #[test]
    fn timestamps_are_unique() {
        assert_ne!(timestamp(), timestamp());
    }

    #[test]
    fn cookie_jar() {
        let mut jar = CookieJar::default();
        let mut h = HeaderMap::new();
        h.append(
            SET_COOKIE,
            HeaderValue::from_static("io=abc; Path=/; HttpOnly"),
        );
        h.append(SET_COOKIE, HeaderValue::from_static("lb=node1"));
        jar.update(&h);
        assert_eq!(jar.header().as_deref(), Some("io=abc; lb=node1"));
        let mut h = HeaderMap::new();
        h.append(SET_COOKIE, HeaderValue::from_static("io=; Max-Age=0"));
        h.append(SET_COOKIE, HeaderValue::from_static("lb=node2"));
        jar.update(&h);
        assert_eq!(jar.header().as_deref(), Some("lb=node2"));
    }
}
