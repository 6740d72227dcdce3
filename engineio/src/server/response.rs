//! The answers the server writes itself: JSON errors with the reference's
//! codes, refused WebSocket upgrades, `ok`. A leaf of the server's modules.

use bytes::Bytes;
use engineio_proto::verify::ErrorCode;
use http::header::{CONNECTION, CONTENT_TYPE};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;

/// The error type of inner services and bodies.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub(crate) fn full(
    status: StatusCode,
    content_type: Option<&'static str>,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = status;
    if let Some(ct) = content_type {
        resp.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    resp
}

pub(crate) fn empty(status: StatusCode) -> Response<Full<Bytes>> {
    full(status, None, Bytes::new())
}

pub(crate) fn json(status: StatusCode, value: &serde_json::Value) -> Response<Full<Bytes>> {
    full(status, Some("application/json"), value.to_string())
}

pub(crate) fn json_error(e: ErrorCode) -> Response<Full<Bytes>> {
    json(
        StatusCode::BAD_REQUEST,
        &serde_json::json!({"code": e.code(), "message": e.message()}),
    )
}

/// A refused WebSocket upgrade: plain `400`, `text/html`, message as body.
pub(crate) fn upgrade_error(message: &str) -> Response<Full<Bytes>> {
    let mut resp = full(
        StatusCode::BAD_REQUEST,
        Some("text/html"),
        message.to_owned(),
    );
    resp.headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    resp
}

pub(crate) fn error(is_ws: bool, e: ErrorCode) -> Response<Full<Bytes>> {
    if is_ws {
        upgrade_error(e.message())
    } else {
        json_error(e)
    }
}

/// The answer to an accepted POST: `ok`, `text/html` (engine.io's choice,
/// which avoids a download dialog in some browsers).
pub(crate) fn ok_response() -> Response<Full<Bytes>> {
    full(StatusCode::OK, Some("text/html"), Bytes::from_static(b"ok"))
}
