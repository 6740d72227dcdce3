//! What a connect handler gets: the handshake request ([`ConnectRequest`]).
//! A leaf of the server's modules: it knows nothing of sessions.

use std::net::SocketAddr;

use engineio_proto::handshake::percent_decode;
use engineio_proto::TransportKind;
use http::request::Parts;
use http::{Extensions, HeaderMap, Method, Uri};

/// What the connect handler learns about the handshake request: python's
/// `environ`, with the real remote address.
///
/// ```
/// # fn check(req: &engineio::server::ConnectRequest) {
/// let token = req.query_param("token");
/// let session_cookie = req.cookie("session");
/// let ua = req.headers().get("user-agent");
/// let peer = req.remote_addr();
/// # let _ = (token, session_cookie, ua, peer); }
/// ```
#[derive(Debug, Clone)]
pub struct ConnectRequest {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    extensions: Extensions,
    remote_addr: Option<SocketAddr>,
    transport: TransportKind,
}

impl ConnectRequest {
    pub(crate) fn new(
        parts: &Parts,
        remote_addr: Option<SocketAddr>,
        transport: TransportKind,
    ) -> Self {
        ConnectRequest {
            method: parts.method.clone(),
            uri: parts.uri.clone(),
            headers: parts.headers.clone(),
            extensions: parts.extensions.clone(),
            remote_addr,
            transport,
        }
    }

    /// The request method (always `GET` for a handshake).
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The request URI.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The request headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The request extensions (e.g. a framework's connection info).
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// The peer's address: from the hook set with
    /// [`ServerBuilder::remote_addr`](super::ServerBuilder::remote_addr),
    /// else the [`RemoteAddr`](super::RemoteAddr) or [`SocketAddr`] request extension. `None`
    /// if the server was mounted somewhere that provides neither.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.remote_addr
    }

    /// The transport of the handshake.
    pub fn transport(&self) -> TransportKind {
        self.transport
    }

    /// The raw query string (without `?`).
    pub fn query(&self) -> &str {
        self.uri.query().unwrap_or("")
    }

    /// The first value of a query parameter, decoded as a form (`+` is a
    /// space, `%XX` a byte), as engine.io and python-engineio decode it.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query().split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k) == name).then(|| percent_decode(v))
        })
    }

    /// Every cookie of the `Cookie` header(s), as `(name, value)`, split
    /// by the `cookie` crate: names and values are trimmed, a value in
    /// double quotes loses them, and a pair without `=` or with an empty
    /// name is skipped. Nothing is percent-decoded.
    pub fn cookies(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(::cookie::Cookie::split_parse)
            .filter_map(|c| {
                // The `_raw` forms borrow from the header, not from `c`.
                let c = c.ok()?;
                let value = c.value_raw()?;
                let unquoted = value.strip_prefix('"').and_then(|v| v.strip_suffix('"'));
                Some((c.name_raw()?, unquoted.unwrap_or(value)))
            })
    }

    /// The value of the first cookie called `name`.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies().find(|(k, _)| *k == name).map(|(_, v)| v)
    }
}
