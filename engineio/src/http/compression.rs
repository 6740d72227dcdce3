//! gzip/deflate for polling responses (python-engineio's `http_compression`
//! and `compression_threshold`), done by tower-http's
//! [`Compression`](tower_http::compression::Compression) service.
//!
//! What tower-http does, for every answer the [`PollingPayload`] predicate
//! lets through:
//! - negotiation: reads the request's `Accept-Encoding` (q-values honoured,
//!   `q=0` is a refusal, gzip preferred over deflate when both are equally
//!   acceptable; `identity` or nothing acceptable means no compression);
//! - the encoding: gzip, or deflate in the zlib format (RFC 1950, what
//!   browsers and python's `zlib.compress` call deflate), at flate2's default
//!   level, streamed by the response body frame by frame on the connection
//!   task (as engine.io streams it) instead of in one synchronous call
//!   before the answer;
//! - the headers: `Vary: accept-encoding` (compressed or not: the answer
//!   could have been; neither reference sends it), and on a compressed
//!   answer `Content-Encoding: gzip|deflate` with `Content-Length` removed
//!   (the body goes chunked, as engine.io's).
//!
//! What stays here, by hand, and why:
//! - the predicate, i.e. *which* answers may be compressed. tower-http's
//!   own do not fit: `SizeAbove` takes a `u16` (our threshold is a `usize`,
//!   1024 by default, with no cap in python) and, like the default
//!   predicate, knows nothing of Engine.IO, whose other answers (the `101`
//!   of a WebSocket upgrade, `ok`, JSON errors, CORS preflights) are never
//!   compressed;
//! - *when* tower-http runs: only once the answer exists and the predicate
//!   admits it ([`Negotiation::admits`]). Wrapping every request in
//!   `Compression` instead parses `Accept-Encoding` on every request and
//!   makes every answer's body tower-http's 328-byte `CompressionBody`;
//!   measured in-process, that added about 100 ns to a small answer without
//!   `Accept-Encoding` and about 200 ns with a browser's, on answers that
//!   are never compressed. Here a POST costs nothing, a GET one header
//!   lookup and a clone of the `Accept-Encoding` value (a reference count
//!   for the values hyper parses; one allocation for a value built from a
//!   string), and a small answer keeps its `Full` body and its
//!   `Content-Length`. Measured with callgrind over hyper (POST `4hello`
//!   plus the GET that returns it, browser `Accept-Encoding`), the round
//!   trip costs the same instructions as the hand-written version within
//!   0.1%, with the same allocations.
//!
//! Brotli and zstd are never offered, whatever tower-http features other
//! crates enable: python and engine.io speak only gzip and deflate.
//!
//! Differences from the references, all from tower-http's negotiation
//! (private to it, not configurable). python-engineio takes the first of
//! `gzip` or `deflate` in list order and ignores q-values; engine.io 6.6
//! (`accepts`/`negotiator`) ranks by q-value, then by the client's order.
//! tower-http ranks by q-value, then prefers gzip: `deflate, gzip` gets gzip
//! where both references choose deflate (browsers and HTTP libraries list
//! gzip first, so they get gzip from all three). `x-gzip` counts as gzip;
//! `*` is not expanded (engine.io takes it as gzip); an entry with a
//! malformed q-value is ignored (as engine.io does).

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{ACCEPT_ENCODING, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, Request, Response};
use http_body::Body;
use http_body_util::Full;
use tower_http::compression::predicate::Predicate;
use tower_http::compression::{Compression, CompressionLevel, ResponseFuture};
use tower_service::Service;

use crate::server::ServerOptions;

/// The content type of polling payloads. Only the polling answer
/// (`payload_response`) carries it, which is how [`PollingPayload`] tells
/// a payload from the server's other answers without a per-request marker.
pub(crate) const PAYLOAD_CONTENT_TYPE: &str = "text/plain; charset=UTF-8";

/// What compressing an Engine.IO answer needs from its request, taken
/// before the request goes to the handler.
#[derive(Debug)]
pub(crate) struct Negotiation {
    predicate: PollingPayload,
    /// The request's `Accept-Encoding` (its lines joined, if several).
    accept_encoding: Option<HeaderValue>,
}

impl Negotiation {
    pub(crate) fn new(
        options: &ServerOptions,
        req_method: &Method,
        req_headers: &HeaderMap,
    ) -> Self {
        let mut predicate = PollingPayload::new(options);
        // Payloads answer GETs only (a POST gets `ok`): a POST costs nothing.
        if *req_method != Method::GET {
            predicate.min_size = None;
        }
        let accept_encoding = match predicate.min_size {
            Some(_) => accept_encoding(req_headers),
            None => None,
        };
        Negotiation {
            predicate,
            accept_encoding,
        }
    }

    /// Whether `resp` goes through tower-http ([`compress`](Self::compress)):
    /// the predicate's verdict. By reference, so that the usual small answer
    /// is not moved around for nothing.
    pub(crate) fn admits(&self, resp: &Response<Full<Bytes>>) -> bool {
        self.predicate.should_compress(resp)
    }

    /// Hands `resp`, which [`admits`](Self::admits), to tower-http's
    /// `Compression`: compressed if the client accepts gzip or deflate, and
    /// marked `Vary: accept-encoding` either way. The future is ready when
    /// first polled (it only waits for `resp`, which is there).
    pub(crate) fn compress(self, resp: Response<Full<Bytes>>) -> Compressing {
        let mut req = Request::new(());
        if let Some(accept) = self.accept_encoding {
            req.headers_mut().insert(ACCEPT_ENCODING, accept);
        }
        Compression::new(Answered(Some(resp)))
            .no_br()
            .no_zstd()
            .quality(CompressionLevel::Default)
            .compress_when(self.predicate)
            .call(req)
    }
}

/// The future of [`Negotiation::compress`].
pub(crate) type Compressing =
    ResponseFuture<Ready<Result<Response<Full<Bytes>>, Infallible>>, PollingPayload>;

/// All `Accept-Encoding` lines as one value. The usual single line is
/// cloned: a reference count for the values hyper parses (their bytes are
/// shared with the read buffer), no copy.
fn accept_encoding(headers: &HeaderMap) -> Option<HeaderValue> {
    let mut lines = headers.get_all(ACCEPT_ENCODING).iter();
    let first = lines.next()?;
    if lines.next().is_none() {
        return Some(first.clone());
    }
    let lines: Vec<&[u8]> = headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .map(HeaderValue::as_bytes)
        .collect();
    HeaderValue::from_bytes(&lines.join(&b","[..])).ok()
}

/// The tower-http [`Predicate`] for Engine.IO: a polling payload (see
/// [`PAYLOAD_CONTENT_TYPE`]) whose body is at least `compression_threshold`
/// bytes long (python: `len(body) >= compression_threshold`), and only with
/// `http_compression` on.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PollingPayload {
    /// `None` when compression is off.
    min_size: Option<u64>,
}

impl PollingPayload {
    pub(crate) fn new(options: &ServerOptions) -> Self {
        let threshold = u64::try_from(options.compression_threshold).unwrap_or(u64::MAX);
        PollingPayload {
            min_size: options.http_compression.then_some(threshold),
        }
    }
}

impl Predicate for PollingPayload {
    fn should_compress<B: Body>(&self, response: &Response<B>) -> bool {
        let Some(min_size) = self.min_size else {
            return false;
        };
        // Engine.IO answers are whole `Full` bodies, so the size is exact.
        response
            .body()
            .size_hint()
            .exact()
            .is_some_and(|len| len >= min_size)
            && response
                .headers()
                .get(CONTENT_TYPE)
                .is_some_and(|ct| ct == PAYLOAD_CONTENT_TYPE)
    }
}

/// The service tower-http's `Compression` wraps: it has already answered.
struct Answered(Option<Response<Full<Bytes>>>);

impl Service<Request<()>> for Answered {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _req: Request<()>) -> Self::Future {
        // tower-http calls it once; a second call would get an empty `500`.
        ready(Ok(self.0.take().unwrap_or_else(|| {
            let mut resp = Response::new(Full::default());
            *resp.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
            resp
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::{GzDecoder, ZlibDecoder};
    use http::header::{CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, VARY};
    use http::StatusCode;
    use http_body_util::BodyExt;
    use std::io::Read;

    fn options(http_compression: bool, threshold: usize) -> ServerOptions {
        ServerOptions {
            http_compression,
            compression_threshold: threshold,
            ..ServerOptions::default()
        }
    }

    fn payload(body: &[u8]) -> Response<Full<Bytes>> {
        let mut resp = Response::new(Full::new(Bytes::copy_from_slice(body)));
        let h = resp.headers_mut();
        h.insert(CONTENT_TYPE, HeaderValue::from_static(PAYLOAD_CONTENT_TYPE));
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        resp
    }

    /// The answer to `resp` for a client sending `accept` (`None`: no
    /// header), and whether tower-http saw it.
    fn answer_of(
        options: &ServerOptions,
        accept: Option<&str>,
        resp: Response<Full<Bytes>>,
    ) -> (HeaderMap, Bytes, bool) {
        let mut headers = HeaderMap::new();
        if let Some(a) = accept {
            headers.insert(ACCEPT_ENCODING, HeaderValue::from_str(a).unwrap());
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let negotiation = Negotiation::new(options, &Method::GET, &headers);
            if negotiation.admits(&resp) {
                let (parts, body) = negotiation.compress(resp).await.unwrap().into_parts();
                let body = body.collect().await.unwrap().to_bytes();
                (parts.headers, body, true)
            } else {
                let (parts, body) = resp.into_parts();
                let body = body.collect().await.unwrap().to_bytes();
                (parts.headers, body, false)
            }
        })
    }

    fn answer(
        options: &ServerOptions,
        accept: Option<&str>,
        resp: Response<Full<Bytes>>,
    ) -> (HeaderMap, Vec<u8>) {
        let (headers, body, _) = answer_of(options, accept, resp);
        (headers, body.to_vec())
    }

    fn decode(body: &[u8], encoding: Option<&str>) -> Vec<u8> {
        let mut out = Vec::new();
        match encoding {
            None => out.extend_from_slice(body),
            Some("gzip") => drop(GzDecoder::new(body).read_to_end(&mut out).unwrap()),
            Some("deflate") => drop(ZlibDecoder::new(body).read_to_end(&mut out).unwrap()),
            Some(other) => panic!("unexpected encoding {other}"),
        }
        out
    }

    fn encoding(headers: &HeaderMap) -> Option<&str> {
        headers.get(CONTENT_ENCODING).map(|v| v.to_str().unwrap())
    }

    #[test]
    fn negotiation_table() {
        let o = options(true, 0);
        let body = b"4hello engine.io \xe2\x9c\x93".repeat(100);
        let cases: &[(Option<&str>, Option<&str>)] = &[
            (None, None),
            (Some(""), None),
            (Some("identity"), None),
            (Some("br"), None),
            (Some("zstd, br"), None),
            (Some("*"), None),
            (Some("gzip"), Some("gzip")),
            (Some("deflate"), Some("deflate")),
            (Some("GZip"), Some("gzip")),
            (Some("x-gzip"), Some("gzip")),
            // gzip is preferred when equally acceptable (tower-http; python
            // and engine.io take the client's order)
            (Some("gzip, deflate"), Some("gzip")),
            (Some("deflate, gzip"), Some("gzip")),
            (Some("gzip, deflate, br, zstd"), Some("gzip")),
            // otherwise the q-values decide
            (Some("gzip;q=0.5, deflate"), Some("deflate")),
            (Some("br, deflate;q=0.5, gzip"), Some("gzip")),
            // q=0 is a refusal
            (Some("gzip;q=0, deflate"), Some("deflate")),
            (Some("gzip;Q=0.000"), None),
            (Some("gzip;q=0, deflate;q=0"), None),
            (Some("gzip;q=0.001"), Some("gzip")),
            // an entry with an unreadable q-value is ignored
            (Some("gzip;q=abc, deflate"), Some("deflate")),
            (Some("gzipx"), None),
        ];
        for (accept, want) in cases {
            let (headers, out) = answer(&o, *accept, payload(&body));
            assert_eq!(encoding(&headers), *want, "{accept:?}");
            assert_eq!(decode(&out, *want), body, "{accept:?}");
        }
    }

    #[test]
    fn compressed_answer_headers() {
        let body = b"4".repeat(5000);
        for enc in ["gzip", "deflate"] {
            let (h, out) = answer(&options(true, 1024), Some(enc), payload(&body));
            assert_eq!(h[CONTENT_ENCODING], enc);
            assert_eq!(h[VARY], "accept-encoding");
            assert_eq!(h[CONTENT_TYPE], PAYLOAD_CONTENT_TYPE);
            assert_eq!(h[CACHE_CONTROL], "no-store");
            assert!(h.get(CONTENT_LENGTH).is_none(), "length of the plain body");
            assert!(out.len() < body.len(), "repetitive data shrinks");
            assert_eq!(decode(&out, Some(enc)), body);
        }
        // gzip and zlib formats
        let (_, gz) = answer(&options(true, 0), Some("gzip"), payload(b"x"));
        assert_eq!(&gz[..2], &[0x1f, 0x8b], "gzip magic");
        let (_, z) = answer(&options(true, 0), Some("deflate"), payload(b"x"));
        assert_eq!(z[0] & 0x0f, 8, "zlib CM=8");
        assert_eq!((u16::from(z[0]) * 256 + u16::from(z[1])) % 31, 0);
    }

    #[test]
    fn threshold_is_inclusive() {
        let o = options(true, 1024);
        for (len, want) in [(1023, None), (1024, Some("gzip")), (1025, Some("gzip"))] {
            let (h, out) = answer(&o, Some("gzip"), payload(&vec![b'a'; len]));
            assert_eq!(encoding(&h), want, "{len}");
            assert_eq!(h.contains_key(VARY), want.is_some(), "{len}");
            assert_eq!(decode(&out, want).len(), len);
        }
        // A client that accepts neither: plain, but the answer could vary.
        let (h, out) = answer(&o, Some("br"), payload(&[b'a'; 2000]));
        assert_eq!((encoding(&h), out.len()), (None, 2000));
        assert_eq!(h[VARY], "accept-encoding");
        assert_eq!(h[CONTENT_LENGTH], "2000");
    }

    #[test]
    fn only_polling_payloads_and_only_when_on() {
        let big = vec![b'a'; 4096];
        // compression off
        let (h, out) = answer(&options(false, 0), Some("gzip"), payload(&big));
        assert_eq!(
            (encoding(&h), h.contains_key(VARY), out.len()),
            (None, false, 4096)
        );
        // other answers, even with a zero threshold
        let o = options(true, 0);
        let mut json = Response::new(Full::new(Bytes::from(big.clone())));
        json.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let mut upgrade = Response::new(Full::new(Bytes::new()));
        *upgrade.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        for resp in [json, upgrade] {
            let (h, _) = answer(&o, Some("gzip"), resp);
            assert_eq!((encoding(&h), h.contains_key(VARY)), (None, false));
        }
    }

    #[test]
    fn small_answers_skip_tower_http_and_keep_their_bytes() {
        let body = Bytes::from(vec![b'a'; 100]);
        let ptr = body.as_ptr();
        let resp = payload(&body).map(|_| Full::new(body));
        let (h, out, negotiated) = answer_of(&options(true, 1024), Some("gzip"), resp);
        assert!(!negotiated);
        assert_eq!((out.as_ptr(), out.len()), (ptr, 100), "no copy");
        assert_eq!(h[CONTENT_LENGTH], "100");
        assert!(!h.contains_key(VARY));
    }

    #[test]
    fn several_accept_encoding_lines_are_one_list() {
        let mut headers = HeaderMap::new();
        assert_eq!(accept_encoding(&headers), None);
        headers.append(ACCEPT_ENCODING, HeaderValue::from_static("br"));
        assert_eq!(accept_encoding(&headers).unwrap(), "br");
        headers.append(ACCEPT_ENCODING, HeaderValue::from_static("deflate;q=0.5"));
        assert_eq!(accept_encoding(&headers).unwrap(), "br,deflate;q=0.5");

        let negotiation = Negotiation::new(&options(true, 0), &Method::GET, &headers);
        let resp = payload(&[b'a'; 100]);
        assert!(negotiation.admits(&resp));
        let resp = futures_util::FutureExt::now_or_never(negotiation.compress(resp))
            .expect("ready at once")
            .unwrap();
        assert_eq!(resp.headers()[CONTENT_ENCODING], "deflate");
        // Compression off, or a POST: the header is not even kept.
        let negotiation = Negotiation::new(&options(false, 0), &Method::GET, &headers);
        assert!(negotiation.accept_encoding.is_none());
        let negotiation = Negotiation::new(&options(true, 0), &Method::POST, &headers);
        assert!(negotiation.accept_encoding.is_none());
        assert!(
            !negotiation.admits(&payload(&[b'a'; 100])),
            "a POST's answer"
        );
    }
}
