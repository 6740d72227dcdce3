//! Request verification: which Engine.IO request a server is looking at, or
//! which of the reference server's error codes refuses it.
//!
//! [`verify`] is a pure function of the request head (method, query string,
//! whether it asks for a WebSocket), the transports the server accepts, a
//! session lookup and the application's `allow_request` hook. It follows
//! Node engine.io's `verify()` then `handshake()`, in this order:
//!
//! 1. `transport` missing, unknown, or not accepted: code 0.
//! 2. With a `sid`:
//!    1. no such session (or one that cannot take this request): code 1;
//!    2. `EIO` other than `4`: code 3;
//!    3. a WebSocket request whose `transport` is not `websocket`: code 3;
//!       otherwise it is an upgrade ([`Route::Upgrade`]);
//!    4. a `transport` other than the session's: code 3;
//!    5. `GET` is a long-poll, `POST` a body, any other method
//!       [`Route::OtherMethod`] (the reference answers a bare `500`).
//! 3. Without a `sid` (a handshake):
//!    1. a method other than `GET`: code 2;
//!    2. `transport=websocket` without a WebSocket request, or the reverse:
//!       code 3;
//!    3. the `allow_request` hook refuses: code 4, with its message;
//!    4. `EIO` other than `4`: code 5;
//!    5. otherwise a handshake, JSONP when the query has `j`
//!       ([`crate::payload::jsonp`]).
//!
//! The server answers a [`Refusal`] with `{"code":N,"message":...}` (HTTP
//! `400`, or `403` for code 4) on polling, and with a plain `400` and the
//! message as body on a WebSocket upgrade.

use crate::handshake::{EngineQuery, Sid, TransportKind};
use crate::payload;

/// The request method, as far as Engine.IO tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`: a handshake, a long-poll or a WebSocket upgrade.
    Get,
    /// `POST`: a polling body.
    Post,
    /// Anything else (`OPTIONS` outside a CORS preflight, `PUT`, ...).
    Other,
}

/// The head of a request: what [`verify`] looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head<'a> {
    /// The method.
    pub method: Method,
    /// The raw query string, without `?`.
    pub query: &'a str,
    /// Whether the request asks for a WebSocket (`Upgrade: websocket`).
    pub websocket: bool,
}

/// What a verified request is, with the session `S` the lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route<S> {
    /// A new session on `transport`; `jsonp` is the callback index of a
    /// JSONP session (the digits of `j`), if the query has `j`.
    Handshake {
        /// The transport of the new session.
        transport: TransportKind,
        /// The JSONP callback index, for a polling handshake with `j`.
        jsonp: Option<Box<str>>,
    },
    /// A WebSocket for session `S`: an upgrade attempt.
    Upgrade(S),
    /// A long-poll `GET` on session `S`.
    Poll(S),
    /// A `POST` on session `S`.
    Post(S),
    /// Another method on session `S`: the reference answers a bare `500`
    /// and the session goes on.
    OtherMethod(S),
}

/// The reference server's error codes, with their messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// 0: `transport` missing, unknown or not accepted.
    TransportUnknown,
    /// 1: an unknown, expired or unusable `sid`.
    SessionIdUnknown,
    /// 2: a handshake that is not a `GET`.
    BadHandshakeMethod,
    /// 3: a transport or `EIO` mismatch, or a WebSocket request that does
    /// not match `transport`.
    BadRequest,
    /// 4: the application's `allow_request` hook refused the handshake.
    Forbidden,
    /// 5: an `EIO` other than `4`.
    UnsupportedProtocolVersion,
}

impl ErrorCode {
    /// The number sent as `code`.
    ///
    /// ```
    /// use engineio_proto::verify::ErrorCode;
    /// assert_eq!(ErrorCode::UnsupportedProtocolVersion.code(), 5);
    /// ```
    pub const fn code(self) -> u8 {
        match self {
            ErrorCode::TransportUnknown => 0,
            ErrorCode::SessionIdUnknown => 1,
            ErrorCode::BadHandshakeMethod => 2,
            ErrorCode::BadRequest => 3,
            ErrorCode::Forbidden => 4,
            ErrorCode::UnsupportedProtocolVersion => 5,
        }
    }

    /// The reference's message, sent as `message`.
    ///
    /// ```
    /// use engineio_proto::verify::ErrorCode;
    /// assert_eq!(ErrorCode::SessionIdUnknown.message(), "Session ID unknown");
    /// ```
    pub const fn message(self) -> &'static str {
        match self {
            ErrorCode::TransportUnknown => "Transport unknown",
            ErrorCode::SessionIdUnknown => "Session ID unknown",
            ErrorCode::BadHandshakeMethod => "Bad handshake method",
            ErrorCode::BadRequest => "Bad request",
            ErrorCode::Forbidden => "Forbidden",
            ErrorCode::UnsupportedProtocolVersion => "Unsupported protocol version",
        }
    }

    /// The HTTP status of a polling answer: `403` for
    /// [`ErrorCode::Forbidden`], else `400`. (A refused WebSocket upgrade is
    /// always `400`, as in the reference.)
    pub const fn http_status(self) -> u16 {
        match self {
            ErrorCode::Forbidden => 403,
            _ => 400,
        }
    }
}

/// Why [`verify`] refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The error code.
    pub code: ErrorCode,
    /// The message to send: the code's own, or the `allow_request` hook's
    /// for [`ErrorCode::Forbidden`].
    pub message: String,
}

impl From<ErrorCode> for Refusal {
    fn from(code: ErrorCode) -> Self {
        Refusal {
            code,
            message: code.message().to_owned(),
        }
    }
}

/// Verifies a request (see the [module docs](self) for the order).
///
/// - `accepted`: the transports the server accepts.
/// - `lookup(sid, late_get)`: the session with this sid and its transport,
///   if it can take the request; `late_get` says the request is a polling
///   `GET`, which a session the client has just closed may still answer.
/// - `allow()`: the application's `allow_request` hook, called for
///   handshakes only; an `Err` carries the message of code 4.
///
/// ```
/// use engineio_proto::verify::{verify, ErrorCode, Head, Method, Route};
/// use engineio_proto::TransportKind;
/// let both = [TransportKind::Polling, TransportKind::WebSocket];
/// let head = Head { method: Method::Get, query: "EIO=4&transport=polling", websocket: false };
/// let none = |_, _| None::<((), TransportKind)>;
/// assert_eq!(
///     verify(&head, &both, none, || Ok(())),
///     Ok(Route::Handshake { transport: TransportKind::Polling, jsonp: None })
/// );
/// let head = Head { query: "EIO=3&transport=polling", ..head };
/// assert_eq!(
///     verify(&head, &both, none, || Ok(())).unwrap_err().code,
///     ErrorCode::UnsupportedProtocolVersion
/// );
/// ```
pub fn verify<S>(
    head: &Head<'_>,
    accepted: &[TransportKind],
    lookup: impl FnOnce(Sid, bool) -> Option<(S, TransportKind)>,
    allow: impl FnOnce() -> Result<(), String>,
) -> Result<Route<S>, Refusal> {
    let query = EngineQuery::parse(head.query);
    let transport = query
        .transport
        .as_deref()
        .and_then(TransportKind::parse)
        .filter(|t| accepted.contains(t))
        .ok_or(ErrorCode::TransportUnknown)?;
    let eio4 = query.eio.as_deref() == Some("4");

    if let Some(sid) = query.sid.as_deref() {
        let late_get = !head.websocket && head.method == Method::Get;
        let (session, session_transport) = Sid::parse(sid)
            .and_then(|sid| lookup(sid, late_get))
            .ok_or(ErrorCode::SessionIdUnknown)?;
        if !eio4 {
            return Err(ErrorCode::BadRequest.into());
        }
        if head.websocket {
            if transport != TransportKind::WebSocket {
                return Err(ErrorCode::BadRequest.into());
            }
            return Ok(Route::Upgrade(session));
        }
        if transport != session_transport {
            return Err(ErrorCode::BadRequest.into());
        }
        return Ok(match head.method {
            Method::Get => Route::Poll(session),
            Method::Post => Route::Post(session),
            Method::Other => Route::OtherMethod(session),
        });
    }

    if head.method != Method::Get {
        return Err(ErrorCode::BadHandshakeMethod.into());
    }
    if (transport == TransportKind::WebSocket) != head.websocket {
        return Err(ErrorCode::BadRequest.into());
    }
    if let Err(message) = allow() {
        return Err(Refusal {
            code: ErrorCode::Forbidden,
            message,
        });
    }
    if !eio4 {
        return Err(ErrorCode::UnsupportedProtocolVersion.into());
    }
    // `j` (even empty) on a polling handshake makes a JSONP session.
    let jsonp = match transport {
        TransportKind::Polling => query.jsonp.as_deref().map(payload::jsonp::index),
        TransportKind::WebSocket => None,
    };
    Ok(Route::Handshake { transport, jsonp })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: [TransportKind; 2] = [TransportKind::Polling, TransportKind::WebSocket];
    const SID: &str = "AAAAAAAAAAAAAAAAAAAA";

    fn head(method: Method, query: &str, websocket: bool) -> Head<'_> {
        Head {
            method,
            query,
            websocket,
        }
    }

    /// Verifies with one known polling session, `SID`, and a hook that
    /// refuses `deny`.
    fn check(h: Head<'_>) -> Result<Route<&'static str>, Refusal> {
        verify(
            &h,
            &BOTH,
            |sid, _| (sid.as_str() == SID).then_some(("s", TransportKind::Polling)),
            || {
                if h.query.contains("deny") {
                    Err("not you".to_owned())
                } else {
                    Ok(())
                }
            },
        )
    }

    fn code(h: Head<'_>) -> u8 {
        check(h).expect_err("refused").code.code()
    }

    #[test]
    fn the_reference_error_table() {
        use Method::*;
        let sid = |q: &str| q.replace("SID", SID);
        let cases: &[(Method, &str, bool, u8)] = &[
            (Get, "EIO=4", false, 0),
            (Get, "EIO=4&transport=abc", false, 0),
            (Get, "EIO=4&transport=polling&sid=nope", false, 1),
            (
                Get,
                "EIO=4&transport=polling&sid=BBBBBBBBBBBBBBBBBBBB",
                false,
                1,
            ),
            (Post, "EIO=4&transport=polling", false, 2),
            (Other, "EIO=4&transport=polling", false, 2),
            (Get, "EIO=4&transport=websocket", false, 3),
            (Get, "EIO=4&transport=polling", true, 3),
            (Get, "EIO=3&transport=polling&sid=SID", false, 3),
            (Get, "EIO=4&transport=websocket&sid=SID", false, 3),
            (Get, "EIO=4&transport=polling&sid=SID", true, 3),
            (Get, "EIO=4&transport=polling&deny", false, 4),
            (Get, "EIO=3&transport=polling", false, 5),
            (Get, "transport=polling", false, 5),
            (Get, "EIO=abc&transport=websocket", true, 5),
        ];
        for (method, query, ws, want) in cases {
            let q = sid(query);
            assert_eq!(
                code(head(*method, &q, *ws)),
                *want,
                "{method:?} ?{q} ws={ws}"
            );
        }
    }

    #[test]
    fn routes() {
        use Method::*;
        let q = format!("EIO=4&transport=polling&sid={SID}");
        assert_eq!(check(head(Get, &q, false)), Ok(Route::Poll("s")));
        assert_eq!(check(head(Post, &q, false)), Ok(Route::Post("s")));
        assert_eq!(check(head(Other, &q, false)), Ok(Route::OtherMethod("s")));
        let q = format!("EIO=4&transport=websocket&sid={SID}");
        assert_eq!(check(head(Get, &q, true)), Ok(Route::Upgrade("s")));
        assert_eq!(
            check(head(Get, "EIO=4&transport=websocket&j=1", true)),
            Ok(Route::Handshake {
                transport: TransportKind::WebSocket,
                jsonp: None
            })
        );
        assert_eq!(
            check(head(Get, "EIO=4&transport=polling&j=x7", false)),
            Ok(Route::Handshake {
                transport: TransportKind::Polling,
                jsonp: Some("7".into())
            })
        );
    }

    #[test]
    fn forbidden_carries_the_hooks_message_and_comes_before_the_version() {
        let r = check(head(Method::Get, "EIO=9&transport=polling&deny", false)).unwrap_err();
        assert_eq!(r.code, ErrorCode::Forbidden);
        assert_eq!(r.message, "not you");
        assert_eq!(r.code.http_status(), 403);
    }

    #[test]
    fn transports_not_accepted_are_unknown() {
        let h = head(Method::Get, "EIO=4&transport=websocket", true);
        let r = verify(
            &h,
            &[TransportKind::Polling],
            |_, _| None::<((), _)>,
            || Ok(()),
        );
        assert_eq!(r.unwrap_err().code, ErrorCode::TransportUnknown);
    }

    #[test]
    fn late_get_is_only_a_polling_get() {
        let mut seen = Vec::new();
        for (method, ws) in [
            (Method::Get, false),
            (Method::Post, false),
            (Method::Get, true),
        ] {
            let q = format!("EIO=4&transport=polling&sid={SID}");
            let h = head(method, &q, ws);
            let _ = verify(
                &h,
                &BOTH,
                |_, late| {
                    seen.push(late);
                    None::<((), _)>
                },
                || Ok(()),
            );
        }
        assert_eq!(seen, [true, false, false]);
    }

    #[test]
    fn the_hook_runs_for_handshakes_only() {
        let q = format!("EIO=4&transport=polling&sid={SID}");
        let h = head(Method::Get, &q, false);
        let r = verify(
            &h,
            &BOTH,
            |_, _| Some(((), TransportKind::Polling)),
            || panic!("called"),
        );
        assert_eq!(r, Ok(Route::Poll(())));
    }
}
