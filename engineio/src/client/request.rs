//! Building the client's HTTP requests: Engine.IO URLs, headers, the `t`
//! cache-buster, and the per-connection cookie jar of the default HTTP
//! client; reading their answers within a size limit and a deadline.
//! Interpreting them is the driver's business.
//!
//! Cookies: the default HTTP client gets a fresh [`Jar`] (reqwest's cookie
//! store, which follows `Domain`, `Path`, `Secure`, `Expires` and `Max-Age`)
//! for each connection. reqwest stores every `Set-Cookie` of every answer in
//! it — the handshake, long polls, POSTs, redirects, the WebSocket `101` —
//! and [`Requests::headers`] / [`Requests::websocket_headers`] read it back
//! for each request's URL, so a sticky-session cookie set on the polling
//! handshake also reaches the WebSocket upgrade. A user's own `Cookie` header
//! comes first, the jar's cookies after it.
//!
//! TLS: the default HTTP client is one `reqwest::Client` per connection (its
//! own pool and cookie jar, so nothing outlives the connection or crosses
//! runtimes; the driver drops it, and with it the pooled connections, once
//! the connection is on WebSocket), but its TLS configuration is built once
//! per process and shared
//! ([`shared_tls`]): reqwest builds a fresh rustls configuration with the
//! platform verifier for every `Client`, which measured 107 KB and 2.8 ms per
//! client; with the shared one a client costs 4 KB and 7 µs. The shared
//! configuration is what reqwest builds by default (the installed or
//! aws-lc-rs crypto provider, every TLS version, the platform verifier,
//! ALPN `http/1.1` as `http1_only` asks); `ssl_verify = false` keeps reqwest's
//! own per-client build, which is rare.
//!
//! Every request is bounded twice: its body by `max_payload_size` (refused
//! from `Content-Length` before reading, or as soon as the streamed body
//! passes it, so at most the limit is ever held), and the whole exchange —
//! connecting, headers, every byte of the body — by one deadline (reqwest's
//! `timeout`, and a tokio timeout around the whole future as well), so a
//! server that trickles a body forever is cut off.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use reqwest::cookie::{CookieStore as _, Jar};
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE, COOKIE};
use reqwest::{StatusCode, Url};

use super::error::ClientError;
use super::options::ClientOptions;
use crate::proto::TransportKind;

/// The TLS configuration of every default HTTP client that verifies
/// certificates, built on first use; `None` if the platform verifier cannot
/// be set up (each client then builds its own, as reqwest does, and reports
/// the error itself).
fn shared_tls() -> Option<&'static rustls::ClientConfig> {
    static TLS: std::sync::OnceLock<Option<rustls::ClientConfig>> = std::sync::OnceLock::new();
    TLS.get_or_init(|| {
        let provider = rustls::crypto::CryptoProvider::get_default()
            .cloned()
            .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
        let verifier = rustls_platform_verifier::Verifier::new(provider.clone()).ok()?;
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(rustls::ALL_VERSIONS)
            .ok()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Some(tls)
    })
    .as_ref()
}

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
    /// The connection's cookies: `Some` with the default HTTP client, which
    /// stores into it; a client the user supplies keeps its own cookie
    /// settings.
    pub(crate) cookies: Option<Arc<Jar>>,
    /// Whether a `ws://` handshake may go past reqwest (the default HTTP
    /// client and no proxy in the environment; see `ws_direct`).
    ws_direct: bool,
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

/// The answer to a polling request, body read (its cookies went to the
/// jar on the way).
#[derive(Debug)]
pub(crate) struct HttpAnswer {
    pub(crate) status: StatusCode,
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
                let jar = Arc::new(Jar::default());
                let mut builder = reqwest::Client::builder()
                    .http1_only()
                    .cookie_provider(jar.clone());
                builder = match shared_tls().filter(|_| options.ssl_verify) {
                    Some(tls) => builder.tls_backend_preconfigured(tls.clone()),
                    None => builder.tls_danger_accept_invalid_certs(!options.ssl_verify),
                };
                let http = builder.build().map_err(ClientError::Http)?;
                (http, Some(jar))
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
            ws_direct: cookies.is_some() && !super::ws_direct::proxy_configured(),
            cookies,
        })
    }

    /// The headers of a polling request to `url`: the user's, plus the
    /// cookies the jar holds for `url`.
    pub(crate) fn headers(&self, url: &Url) -> HeaderMap {
        self.with_cookies(self.headers.clone(), url)
    }

    /// The headers of a WebSocket handshake to `url`: the user's, then the
    /// WebSocket-only ones, plus the cookies the jar holds for `url` (those
    /// set on the polling handshake reach the upgrade too).
    pub(crate) fn websocket_headers(&self, url: &Url) -> HeaderMap {
        let mut h = self.headers.clone();
        h.extend(self.ws_headers.clone());
        self.with_cookies(h, url)
    }

    /// Adds the jar's cookies for `url` after the user's own `Cookie`
    /// header, if any. A `Cookie` header set here also keeps reqwest from
    /// adding the jar's cookies a second time.
    fn with_cookies(&self, mut h: HeaderMap, url: &Url) -> HeaderMap {
        let Some(jar) = self.cookies.as_ref().and_then(|j| j.cookies(url)) else {
            return h;
        };
        let merged = match h.get(COOKIE) {
            Some(user) => {
                let mut v = user.as_bytes().to_vec();
                v.extend_from_slice(b"; ");
                v.extend_from_slice(jar.as_bytes());
                HeaderValue::from_bytes(&v).unwrap_or(jar)
            }
            None => jar,
        };
        h.insert(COOKIE, merged);
        h
    }

    /// The jar a WebSocket handshake to `url` stores its cookies in when it
    /// goes past reqwest (`ws_direct`): for a plain `http` URL with the
    /// default client and no proxy.
    pub(crate) fn websocket_direct(&self, url: &Url) -> Option<Arc<Jar>> {
        self.cookies
            .clone()
            .filter(|_| self.ws_direct && url.scheme() == "http")
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
        let url = self.polling_url(sid);
        let req = self
            .http
            .get(url.clone())
            .headers(self.headers(&url))
            .timeout(timeout);
        exchange(req, timeout, self.max_payload_size)
    }

    /// A polling POST carrying `body`.
    pub(crate) fn post(
        &self,
        sid: &str,
        body: Bytes,
    ) -> impl std::future::Future<Output = Result<HttpAnswer, RequestError>> + Send + 'static {
        let url = self.polling_url(Some(sid));
        let req = self
            .http
            .post(url.clone())
            .headers(self.headers(&url))
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
    Ok(HttpAnswer { status, body })
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

    /// The names of the cookies in `headers`, sorted.
    fn cookie_names(headers: HeaderMap) -> Vec<String> {
        let mut names: Vec<String> = headers
            .get(COOKIE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
            .split("; ")
            .filter(|c| !c.is_empty())
            .map(|c| c.split_once('=').map_or(c, |(n, _)| n).to_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn the_cookie_jar_follows_path_and_max_age_on_both_transports() {
        let req = Requests::new("http://example.com:5000/", &ClientOptions::default()).unwrap();
        let jar = req.cookies.clone().expect("the default client has a jar");
        let handshake = req.polling_url(None);
        for c in [
            "io=abc; Path=/; HttpOnly",
            // Five seconds to live, written with a leading zero.
            "lb=node1; Max-Age=05",
            "scoped=1; Path=/engine.io/",
            "elsewhere=1; Path=/other/",
            "expired=1; Max-Age=0",
            "secure=1; Secure",
            "foreign=1; Domain=example.org",
        ] {
            jar.add_cookie_str(c, &handshake);
        }
        let live = ["io", "lb", "scoped"];
        let polling = req.polling_url(Some("abc"));
        assert_eq!(cookie_names(req.headers(&polling)), live);
        let ws = req.websocket_url(Some("abc"));
        assert_eq!(cookie_names(req.websocket_headers(&ws)), live);
        // Deleted by the server.
        jar.add_cookie_str("lb=; Max-Age=0", &handshake);
        assert_eq!(cookie_names(req.headers(&polling)), ["io", "scoped"]);
    }

    #[test]
    fn user_cookies_come_first_and_a_supplied_client_has_no_jar() {
        let mut options = ClientOptions::default();
        options
            .headers
            .insert(COOKIE, HeaderValue::from_static("user=1"));
        options
            .websocket_extra_headers
            .insert(COOKIE, HeaderValue::from_static("ws=1"));
        let req = Requests::new("http://example.com/", &options).unwrap();
        let url = req.polling_url(None);
        let cookie = |h: HeaderMap| h.get(COOKIE).unwrap().to_str().unwrap().to_owned();
        assert_eq!(cookie(req.headers(&url)), "user=1");
        req.cookies
            .as_ref()
            .unwrap()
            .add_cookie_str("lb=node1", &url);
        assert_eq!(cookie(req.headers(&url)), "user=1; lb=node1");
        let ws = req.websocket_url(Some("abc"));
        assert_eq!(cookie(req.websocket_headers(&ws)), "ws=1; lb=node1");

        options.http_client = Some(reqwest::Client::new().into());
        let req = Requests::new("http://example.com/", &options).unwrap();
        assert!(req.cookies.is_none());
        assert_eq!(cookie(req.headers(&url)), "user=1");
    }
}
