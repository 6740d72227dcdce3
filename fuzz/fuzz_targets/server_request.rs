//! Request verification alone: `engineio_proto::verify::verify`, a pure
//! function, with no runtime. An input picks the method, the WebSocket
//! flag, the accepted transports, an `allow_request` verdict, and a query
//! built from fragments around the one known sid (or arbitrary text).
//!
//! Oracles: no panic; the route agrees with the request (a handshake is a
//! sid-less `GET` with `EIO=4`, an accepted transport and the hook's
//! consent; an upgrade is a WebSocket request on the known sid; a poll or
//! a POST is its method on the known session); every refusal carries its
//! code's message (the hook's for code 4) and a 400 or 403 status.
#![no_main]

use engineio_proto::handshake::EngineQuery;
use engineio_proto::verify::{verify, ErrorCode, Head, Method, Route};
use engineio_proto::{Sid, TransportKind};
use libfuzzer_sys::arbitrary::{Result as ArbResult, Unstructured};
use libfuzzer_sys::fuzz_target;

const SID: &str = "AAAAAAAAAAAAAAAAAAAA";
const FRAGMENTS: &[&str] = &[
    "EIO=4",
    "EIO=3",
    "EIO=",
    "EIO=5",
    "transport=polling",
    "transport=websocket",
    "transport=x",
    "sid=AAAAAAAAAAAAAAAAAAAA",
    "sid=BBBBBBBBBBBBBBBBBBBB",
    "sid=",
    "j=",
    "j=1a",
    "t=x",
    "EIO=%34",
    "transport=poll%69ng",
    "&",
    "=",
    "%",
    "deny",
];

fn query(u: &mut Unstructured<'_>) -> ArbResult<String> {
    if u.ratio(1, 4)? {
        let len = u.int_in_range(0..=64)?;
        return Ok(String::from_utf8_lossy(u.bytes(len)?).into_owned());
    }
    let n = u.int_in_range(0..=6)?;
    let mut parts = Vec::with_capacity(n);
    for _ in 0..n {
        parts.push(*u.choose(FRAGMENTS)?);
    }
    Ok(parts.join("&"))
}

fn run(u: &mut Unstructured<'_>) -> ArbResult<()> {
    let method = *u.choose(&[Method::Get, Method::Post, Method::Other])?;
    let websocket = u.arbitrary::<bool>()?;
    let accepted: &[TransportKind] = u.choose(&[
        &[TransportKind::Polling, TransportKind::WebSocket][..],
        &[TransportKind::Polling][..],
        &[TransportKind::WebSocket][..],
    ])?;
    let session_transport = *u.choose(&[TransportKind::Polling, TransportKind::WebSocket])?;
    let allowed = u.arbitrary::<bool>()?;
    let q = query(u)?;
    let head = Head {
        method,
        query: &q,
        websocket,
    };
    let mut hook_called = false;
    let result = verify(
        &head,
        accepted,
        |sid, _late_get| (sid.as_str() == SID).then_some(((), session_transport)),
        || {
            hook_called = true;
            if allowed {
                Ok(())
            } else {
                Err("hook says no".to_owned())
            }
        },
    );
    let parsed = EngineQuery::parse(&q);
    let transport = parsed.transport.as_deref().and_then(TransportKind::parse);
    let known_sid = parsed
        .sid
        .as_deref()
        .and_then(Sid::parse)
        .map(|s| s.as_str() == SID);
    match result {
        Ok(Route::Handshake {
            transport: t,
            jsonp,
        }) => {
            assert!(parsed.sid.is_none() && method == Method::Get && allowed && hook_called);
            assert_eq!(parsed.eio.as_deref(), Some("4"));
            assert_eq!(Some(t), transport);
            assert!(accepted.contains(&t));
            assert_eq!(websocket, t == TransportKind::WebSocket);
            assert_eq!(
                jsonp.is_some(),
                t == TransportKind::Polling && parsed.jsonp.is_some()
            );
            if let Some(j) = jsonp {
                assert!(j.chars().all(|c| c.is_ascii_digit()));
            }
        }
        Ok(Route::Upgrade(())) => {
            assert!(websocket && known_sid == Some(true) && !hook_called);
            assert_eq!(transport, Some(TransportKind::WebSocket));
        }
        Ok(Route::Poll(()) | Route::Post(()) | Route::OtherMethod(())) => {
            assert!(!websocket && known_sid == Some(true) && !hook_called);
            assert_eq!(transport, Some(session_transport));
            assert_eq!(parsed.eio.as_deref(), Some("4"));
        }
        Err(r) => {
            assert!(matches!(r.code.http_status(), 400 | 403));
            match r.code {
                ErrorCode::Forbidden => {
                    assert!(hook_called && !allowed);
                    assert_eq!(r.message, "hook says no");
                }
                code => assert_eq!(r.message, code.message()),
            }
            if r.code == ErrorCode::TransportUnknown {
                assert!(transport.is_none_or(|t| !accepted.contains(&t)));
            }
            if r.code == ErrorCode::SessionIdUnknown {
                assert_ne!(known_sid, Some(true));
            }
        }
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
