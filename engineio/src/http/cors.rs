//! Origin validation and CORS response headers: python-engineio's
//! `cors_allowed_origins` and `cors_credentials`.
//!
//! This module decides; it never writes a response on its own. The server
//! calls [`CorsPolicy::check`] once per request (HTTP and WebSocket alike),
//! answers a rejection with [`CorsRejected::into_response`], answers an
//! `OPTIONS` preflight with [`preflight_response`], and adds the returned
//! [`CorsHeaders`] to every other answer.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_REQUEST_HEADERS, CONTENT_TYPE, HOST, ORIGIN, VARY,
};
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode};

/// A user function deciding whether an `Origin` is accepted; it receives the
/// origin and the request head (python's `cors_allowed_origins(origin, environ)`).
pub type OriginPredicate = Arc<dyn Fn(&str, &Parts) -> bool + Send + Sync>;

/// Which `Origin` values the server accepts (python's `cors_allowed_origins`).
///
/// Requests without an `Origin` header (or with an empty one) are always
/// accepted. With [`CorsOrigins::Any`] every answer carries
/// `Access-Control-Allow-Origin: *` and never
/// `Access-Control-Allow-Credentials`, as Node's engine.io with
/// `cors: {origin: "*"}`: browsers then send no cookies, so no site can read
/// a cookie-carrying answer. With the other variants an accepted origin is
/// echoed (with `Vary: Origin`) and credentials are allowed as
/// `cors_credentials` says. To allow credentials from every origin, say so
/// explicitly: `CorsOrigins::predicate(|_, _| true)`.
///
/// python-engineio differs here: with `'*'` it echoes the request's origin
/// and adds `Access-Control-Allow-Credentials: true`, which lets any site
/// make cookie-carrying requests and read the answers. Node's answer is the
/// wire behaviour we follow, and the safe one.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum CorsOrigins {
    /// The default: only the server's own origin, `{scheme}://{Host}`, where
    /// the scheme is `https` on a TLS connection and `http` otherwise (the
    /// request's authority stands in for a missing `Host`, as in HTTP/2). When
    /// `X-Forwarded-Proto` or `X-Forwarded-Host` is present, the origin they
    /// describe (the first comma-separated value of each, the other part taken
    /// from the connection) is accepted too. Scheme and host compare
    /// ASCII-case-insensitively. Python: `cors_allowed_origins=None`.
    #[default]
    SameOrigin,
    /// Every origin, answered `Access-Control-Allow-Origin: *` without
    /// credentials (Node's `cors: {origin: "*"}`). Python: `'*'`, which
    /// echoes the origin with credentials instead (see the type's docs).
    Any,
    /// Exactly these origins (byte-for-byte); a list containing `"*"` means
    /// [`CorsOrigins::Any`]. Python: a string or a list of strings.
    List(Vec<String>),
    /// The origins for which the function returns `true`. Python: a callable.
    Predicate(OriginPredicate),
    /// No origin validation and no CORS headers at all, for when a proxy or
    /// framework handles CORS. Python: `[]`.
    Disabled,
}

impl CorsOrigins {
    /// [`CorsOrigins::List`] from anything iterable of strings.
    pub fn list<I, S>(origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::List(origins.into_iter().map(Into::into).collect())
    }

    /// Every origin: [`CorsOrigins::Any`], or a list that contains `"*"`.
    fn is_any(&self) -> bool {
        match self {
            Self::Any => true,
            Self::List(list) => list.iter().any(|o| o == "*"),
            _ => false,
        }
    }

    /// [`CorsOrigins::Predicate`] from a closure.
    pub fn predicate<F>(f: F) -> Self
    where
        F: Fn(&str, &Parts) -> bool + Send + Sync + 'static,
    {
        Self::Predicate(Arc::new(f))
    }

    /// Whether `origin` (a non-empty `Origin` value) is accepted for `req`.
    fn allows(&self, origin: &str, req: &Parts, tls: bool) -> bool {
        if self.is_any() {
            return true;
        }
        match self {
            Self::SameOrigin => same_origin(origin, req, tls),
            Self::Any | Self::Disabled => true,
            Self::List(list) => list.iter().any(|o| o == origin),
            Self::Predicate(f) => f(origin, req),
        }
    }
}

impl fmt::Debug for CorsOrigins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SameOrigin => f.write_str("SameOrigin"),
            Self::Any => f.write_str("Any"),
            Self::List(list) => f.debug_tuple("List").field(list).finish(),
            Self::Predicate(_) => f.write_str("Predicate(..)"),
            Self::Disabled => f.write_str("Disabled"),
        }
    }
}

/// `"*"` is [`CorsOrigins::Any`]; any other string a one-origin list.
impl From<&str> for CorsOrigins {
    fn from(origin: &str) -> Self {
        if origin == "*" {
            Self::Any
        } else {
            Self::List(vec![origin.to_owned()])
        }
    }
}

/// A list of exact origins; one of them being `"*"` means every origin.
impl From<Vec<String>> for CorsOrigins {
    fn from(origins: Vec<String>) -> Self {
        Self::List(origins)
    }
}

/// The server's CORS settings: python's `cors_allowed_origins` plus
/// `cors_credentials`.
///
/// Defaults: [`CorsOrigins::SameOrigin`], credentials allowed.
#[derive(Clone, Debug)]
pub(crate) struct CorsPolicy {
    /// Which origins are accepted. Default: [`CorsOrigins::SameOrigin`].
    pub(crate) origins: CorsOrigins,
    /// Whether to send `Access-Control-Allow-Credentials: true`, which python
    /// does on every answer, with or without an `Origin`. Default: `true`.
    pub(crate) credentials: bool,
}

impl Default for CorsPolicy {
    fn default() -> Self {
        Self::new(CorsOrigins::SameOrigin)
    }
}

impl CorsPolicy {
    /// A policy accepting `origins`, with credentials allowed.
    pub(crate) fn new(origins: impl Into<CorsOrigins>) -> Self {
        Self {
            origins: origins.into(),
            credentials: true,
        }
    }

    /// Sets whether credentials are allowed (python's `cors_credentials`).
    #[must_use]
    pub(crate) fn with_credentials(mut self, credentials: bool) -> Self {
        self.credentials = credentials;
        self
    }

    /// `false` for [`CorsOrigins::Disabled`]: the server should then neither
    /// validate origins nor answer preflights itself.
    pub(crate) fn is_enabled(&self) -> bool {
        !matches!(self.origins, CorsOrigins::Disabled)
    }

    /// Validates the request's `Origin` and computes the CORS headers of the
    /// answer, in Node engine.io's (`cors` package) shape:
    ///
    /// - every origin ([`CorsOrigins::Any`]): `Access-Control-Allow-Origin: *`
    ///   on every answer, and never credentials;
    /// - otherwise `Access-Control-Allow-Origin: <origin>` (plus
    ///   `Vary: Origin`) when an accepted `Origin` is present, and
    ///   `Access-Control-Allow-Credentials: true` when `credentials`, even
    ///   without an `Origin` (as python);
    /// - on `OPTIONS`: `Access-Control-Allow-Methods: GET,POST`, the two
    ///   methods Engine.IO serves (Node's `cors` default lists six, python
    ///   `OPTIONS, GET, POST`);
    /// - `Access-Control-Allow-Headers` echoing `Access-Control-Request-Headers`
    ///   whenever the request carries it (only preflights do in practice),
    ///   with `Vary: Access-Control-Request-Headers`.
    ///
    /// `tls` says whether the connection is TLS (the scheme of the
    /// same-origin check). With [`CorsOrigins::Disabled`] the answer is always
    /// `Ok` with no headers. A rejection is to be answered with
    /// [`CorsRejected::into_response`].
    pub(crate) fn check(&self, req: &Parts, tls: bool) -> Result<CorsHeaders, CorsRejected> {
        let mut headers = CorsHeaders::default();
        if !self.is_enabled() {
            return Ok(headers);
        }
        let any = self.origins.is_any();
        if any {
            headers.push(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        } else if let Some(origin) = req.headers.get(ORIGIN).filter(|o| !o.is_empty()) {
            // An origin that is not visible ASCII never names a real site.
            let allowed = origin
                .to_str()
                .is_ok_and(|text| self.origins.allows(text, req, tls));
            if !allowed {
                return Err(CorsRejected {
                    origin: origin.clone(),
                });
            }
            headers.push(ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            headers.push(VARY, HeaderValue::from_static("Origin"));
        }
        if req.method == Method::OPTIONS {
            headers.push(
                ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET,POST"),
            );
        }
        if let Some(requested) = req.headers.get(ACCESS_CONTROL_REQUEST_HEADERS) {
            headers.push(
                VARY,
                HeaderValue::from_static("Access-Control-Request-Headers"),
            );
            headers.push(ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
        }
        if self.credentials && !any {
            headers.push(
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        Ok(headers)
    }
}

/// `{scheme}://{host}` of the connection, or of the `X-Forwarded-*` headers.
fn same_origin(origin: &str, req: &Parts, tls: bool) -> bool {
    let scheme = if tls { "https" } else { "http" };
    let host = req
        .headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri.authority().map(|a| a.as_str()));
    if host.is_some_and(|host| origin_is(origin, scheme, host)) {
        return true;
    }
    let forwarded_proto = first_value(req.headers.get("x-forwarded-proto"));
    let forwarded_host = first_value(req.headers.get("x-forwarded-host"));
    if forwarded_proto.is_none() && forwarded_host.is_none() {
        return false;
    }
    let scheme = forwarded_proto.unwrap_or(scheme);
    forwarded_host
        .or(host)
        .is_some_and(|host| origin_is(origin, scheme, host))
}

/// Whether `origin` is `{scheme}://{host}`, ignoring ASCII case.
fn origin_is(origin: &str, scheme: &str, host: &str) -> bool {
    origin.split_once("://").is_some_and(|(s, h)| {
        !h.is_empty() && s.eq_ignore_ascii_case(scheme) && h.eq_ignore_ascii_case(host)
    })
}

/// The first comma-separated value of a proxy header, trimmed.
fn first_value(value: Option<&HeaderValue>) -> Option<&str> {
    let first = value?.to_str().ok()?.split(',').next()?.trim();
    (!first.is_empty()).then_some(first)
}

/// The CORS headers [`CorsPolicy::check`] computed for one answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CorsHeaders(Vec<(HeaderName, HeaderValue)>);

impl CorsHeaders {
    fn push(&mut self, name: HeaderName, value: HeaderValue) {
        self.0.push((name, value));
    }

    /// Adds the headers to a response's headers: `Vary` is appended (so an
    /// existing `Vary: Accept-Encoding` survives), the others replace any
    /// value already there.
    pub(crate) fn apply_to(&self, headers: &mut HeaderMap) {
        for (name, value) in &self.0 {
            if *name == VARY {
                headers.append(name.clone(), value.clone());
            } else {
                headers.insert(name.clone(), value.clone());
            }
        }
    }

    /// The headers, in the order python sends them.
    #[cfg(test)]
    fn iter(&self) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
        self.0.iter().map(|(n, v)| (n, v))
    }
}

/// An `Origin` the policy does not accept.
///
/// The server answers it with [`CorsRejected::into_response`]: `400` with the
/// Node reference's JSON body `{"code":3,"message":"Bad request"}`, for HTTP
/// and WebSocket requests alike (python answers 400 too, with a text body).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("origin {origin:?} is not an accepted origin")]
pub(crate) struct CorsRejected {
    /// The rejected `Origin` value, for logging.
    pub(crate) origin: HeaderValue,
}

impl CorsRejected {
    /// The status of a rejection.
    pub(crate) const STATUS: StatusCode = StatusCode::BAD_REQUEST;
    /// The body of a rejection (Engine.IO error 3, "Bad request").
    pub(crate) const BODY: &'static str = r#"{"code":3,"message":"Bad request"}"#;

    /// The complete rejection: `400`, `Content-Type: application/json`,
    /// [`CorsRejected::BODY`]. No CORS headers: the browser is not meant to
    /// read it.
    pub(crate) fn into_response<B: From<Bytes>>(self) -> Response<B> {
        let mut res = Response::new(B::from(Bytes::from_static(Self::BODY.as_bytes())));
        *res.status_mut() = Self::STATUS;
        res.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        res
    }
}

/// The answer to an `OPTIONS` preflight: `204 No Content` with `headers`
/// (which [`CorsPolicy::check`] computed for the `OPTIONS` request, so they
/// include `Access-Control-Allow-Methods`). As Node's engine.io with `cors`.
pub(crate) fn preflight_response<B: From<Bytes>>(headers: &CorsHeaders) -> Response<B> {
    let mut res = Response::new(B::from(Bytes::new()));
    *res.status_mut() = StatusCode::NO_CONTENT;
    headers.apply_to(res.headers_mut());
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request head: method, headers.
    fn req(method: &str, headers: &[(&str, &str)]) -> Parts {
        let mut b = http::Request::builder()
            .method(method)
            .uri("/engine.io/?EIO=4&transport=polling");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    fn names(h: &CorsHeaders) -> Vec<(String, String)> {
        h.iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
            .collect()
    }

    const ACAO: &str = "access-control-allow-origin";

    #[test]
    fn same_origin_default_table() {
        let p = CorsPolicy::default();
        // (headers, tls, accepted)
        type Case<'a> = (&'a [(&'a str, &'a str)], bool, bool);
        let cases: &[Case<'_>] = &[
            (&[("host", "a.com")], false, true),
            (
                &[("host", "a.com"), ("origin", "http://a.com")],
                false,
                true,
            ),
            (
                &[("host", "a.com"), ("origin", "HTTP://A.COM")],
                false,
                true,
            ),
            (
                &[("host", "a.com"), ("origin", "https://a.com")],
                false,
                false,
            ),
            (
                &[("host", "a.com"), ("origin", "https://a.com")],
                true,
                true,
            ),
            (
                &[("host", "a.com"), ("origin", "http://a.com")],
                true,
                false,
            ),
            (
                &[("host", "a.com:8"), ("origin", "http://a.com")],
                false,
                false,
            ),
            (
                &[("host", "a.com"), ("origin", "http://b.com")],
                false,
                false,
            ),
            (&[("host", "a.com"), ("origin", "null")], false, false),
            (&[("host", "a.com"), ("origin", "http://")], false, false),
            (&[("origin", "http://a.com")], false, false),
            // an empty Origin counts as none
            (&[("host", "a.com"), ("origin", "")], false, true),
            // X-Forwarded-Proto alone
            (
                &[
                    ("host", "a.com"),
                    ("x-forwarded-proto", "https"),
                    ("origin", "https://a.com"),
                ],
                false,
                true,
            ),
            // X-Forwarded-Host alone keeps the connection's scheme
            (
                &[
                    ("host", "internal:8000"),
                    ("x-forwarded-host", "a.com"),
                    ("origin", "http://a.com"),
                ],
                false,
                true,
            ),
            // both, first comma-separated value of each
            (
                &[
                    ("host", "internal:8000"),
                    ("x-forwarded-proto", "https, http"),
                    ("x-forwarded-host", "a.com, proxy.lan"),
                    ("origin", "https://a.com"),
                ],
                false,
                true,
            ),
            (
                &[
                    ("host", "internal:8000"),
                    ("x-forwarded-proto", "https, http"),
                    ("x-forwarded-host", "a.com, proxy.lan"),
                    ("origin", "https://proxy.lan"),
                ],
                false,
                false,
            ),
            // the direct origin stays accepted behind a proxy
            (
                &[
                    ("host", "internal:8000"),
                    ("x-forwarded-host", "a.com"),
                    ("origin", "http://internal:8000"),
                ],
                false,
                true,
            ),
        ];
        for (i, (headers, tls, accepted)) in cases.iter().enumerate() {
            let r = p.check(&req("GET", headers), *tls);
            assert_eq!(r.is_ok(), *accepted, "case {i}: {headers:?} tls={tls}");
        }
    }

    #[test]
    fn same_origin_uses_uri_authority_without_host() {
        // HTTP/2 requests carry the authority in the URI, not in Host.
        let parts = http::Request::builder()
            .uri("https://a.com/engine.io/")
            .header("origin", "https://a.com")
            .body(())
            .unwrap()
            .into_parts()
            .0;
        assert!(CorsPolicy::default().check(&parts, true).is_ok());
    }

    #[test]
    fn any_list_predicate_and_from() {
        let h = [("host", "a.com"), ("origin", "http://b.com")];
        let cases: Vec<(CorsOrigins, bool)> = vec![
            (CorsOrigins::Any, true),
            ("*".into(), true),
            ("http://b.com".into(), true),
            ("http://c.com".into(), false),
            (CorsOrigins::list(["http://c.com", "http://b.com"]), true),
            (CorsOrigins::list(["http://c.com", "*"]), true),
            (CorsOrigins::list(["http://b.com/"]), false),
            (CorsOrigins::list(["HTTP://B.COM"]), false),
            (CorsOrigins::list(Vec::<String>::new()), false),
            (vec!["http://b.com".to_owned()].into(), true),
            (CorsOrigins::predicate(|o, _| o.ends_with("b.com")), true),
            (CorsOrigins::predicate(|_, _| false), false),
            (
                CorsOrigins::predicate(|_, req| req.headers.contains_key("host")),
                true,
            ),
            (CorsOrigins::Disabled, true),
        ];
        for (origins, accepted) in cases {
            let what = format!("{origins:?}");
            let r = CorsPolicy::new(origins).check(&req("GET", &h), false);
            assert_eq!(r.is_ok(), accepted, "{what}");
        }
    }

    #[test]
    fn any_is_star_without_credentials_like_node() {
        for p in [
            CorsPolicy::new(CorsOrigins::Any),
            CorsPolicy::new(CorsOrigins::list(["http://c.com", "*"])),
        ] {
            for headers in [&[("origin", "http://b.com")][..], &[]] {
                let h = p.check(&req("GET", headers), false).unwrap();
                assert_eq!(names(&h), [(ACAO.into(), "*".into())], "{headers:?}");
            }
        }
    }

    #[test]
    fn accepted_origin_is_echoed_with_credentials() {
        let p = CorsPolicy::new(CorsOrigins::list(["http://b.com"]));
        let h = p
            .check(&req("GET", &[("origin", "http://b.com")]), false)
            .unwrap();
        assert_eq!(
            names(&h),
            [
                (ACAO.into(), "http://b.com".into()),
                ("vary".into(), "Origin".into()),
                ("access-control-allow-credentials".into(), "true".into()),
            ]
        );
    }

    #[test]
    fn non_ascii_origin_only_passes_any() {
        let mut parts = req("GET", &[("host", "a.com")]);
        parts
            .headers
            .insert(ORIGIN, HeaderValue::from_bytes(b"http://\xe9.com").unwrap());
        assert!(CorsPolicy::default().check(&parts, false).is_err());
        assert!(CorsPolicy::new("*").check(&parts, false).is_ok());
        assert!(CorsPolicy::new(CorsOrigins::Disabled)
            .check(&parts, false)
            .is_ok());
    }

    #[test]
    fn credentials_without_origin_like_python() {
        let h = CorsPolicy::default()
            .check(&req("GET", &[("host", "a.com")]), false)
            .unwrap();
        assert_eq!(
            names(&h),
            [("access-control-allow-credentials".into(), "true".into())]
        );
        let h = CorsPolicy::default()
            .with_credentials(false)
            .check(&req("GET", &[("host", "a.com")]), false)
            .unwrap();
        assert!(names(&h).is_empty());
    }

    #[test]
    fn disabled_adds_nothing_and_validates_nothing() {
        let p = CorsPolicy::new(CorsOrigins::Disabled);
        assert!(!p.is_enabled());
        let h = p
            .check(
                &req(
                    "OPTIONS",
                    &[
                        ("host", "a.com"),
                        ("origin", "http://evil.com"),
                        ("access-control-request-headers", "x-a"),
                    ],
                ),
                false,
            )
            .unwrap();
        assert!(names(&h).is_empty());
        assert!(CorsPolicy::default().is_enabled());
    }

    /// The headers `p` answers a preflight from `http://b.com` with, for a
    /// POST asking for `request_headers`.
    fn preflight(p: CorsPolicy, request_headers: &str) -> CorsHeaders {
        let r = req(
            "OPTIONS",
            &[
                ("origin", "http://b.com"),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", request_headers),
            ],
        );
        p.check(&r, false).unwrap()
    }

    #[test]
    fn preflight_headers_and_response() {
        let h = preflight(
            CorsPolicy::new(CorsOrigins::list(["http://b.com"])),
            "content-type, x-custom",
        );
        assert_eq!(
            names(&h),
            [
                (ACAO.into(), "http://b.com".into()),
                ("vary".into(), "Origin".into()),
                ("access-control-allow-methods".into(), "GET,POST".into()),
                ("vary".into(), "Access-Control-Request-Headers".into()),
                (
                    "access-control-allow-headers".into(),
                    "content-type, x-custom".into()
                ),
                ("access-control-allow-credentials".into(), "true".into()),
            ]
        );
        let res: Response<Bytes> = preflight_response(&h);
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert!(res.body().is_empty());
        assert_eq!(res.headers()[ACAO], "http://b.com");
        assert_eq!(res.headers()["access-control-allow-methods"], "GET,POST");
    }

    #[test]
    fn preflight_with_any_has_no_credentials() {
        let h = preflight(CorsPolicy::new("*"), "x-a");
        assert_eq!(
            names(&h),
            [
                (ACAO.into(), "*".into()),
                ("access-control-allow-methods".into(), "GET,POST".into()),
                ("vary".into(), "Access-Control-Request-Headers".into()),
                ("access-control-allow-headers".into(), "x-a".into()),
            ]
        );
    }

    #[test]
    fn methods_only_on_options() {
        let h = CorsPolicy::new("*")
            .with_credentials(false)
            .check(&req("POST", &[("origin", "http://b.com")]), false)
            .unwrap();
        assert!(!names(&h)
            .iter()
            .any(|(n, _)| n == "access-control-allow-methods"));
    }

    #[test]
    fn apply_to_appends_vary_and_replaces_the_rest() {
        let h = CorsPolicy::new("http://b.com")
            .check(&req("GET", &[("origin", "http://b.com")]), false)
            .unwrap();
        let mut map = HeaderMap::new();
        map.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
        map.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("x"));
        h.apply_to(&mut map);
        let vary: Vec<_> = map.get_all(VARY).iter().collect();
        assert_eq!(vary, ["Accept-Encoding", "Origin"]);
        assert_eq!(map.get_all(ACCESS_CONTROL_ALLOW_ORIGIN).iter().count(), 1);
        assert_eq!(map[ACCESS_CONTROL_ALLOW_ORIGIN], "http://b.com");
    }

    #[test]
    fn rejection_response_is_error_3() {
        let err = CorsPolicy::default()
            .check(
                &req("GET", &[("host", "a.com"), ("origin", "http://evil.com")]),
                false,
            )
            .unwrap_err();
        assert_eq!(err.origin, "http://evil.com");
        assert!(err.to_string().contains("evil.com"));
        let res: Response<Bytes> = err.into_response();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_eq!(res.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(
            res.body().as_ref(),
            br#"{"code":3,"message":"Bad request"}"#
        );
    }
}
