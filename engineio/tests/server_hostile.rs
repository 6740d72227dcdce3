//! Hostile clients against the real server over sockets: malformed and
//! oversized requests, bad packets, forged sids and origins, slow clients,
//! abandoned handshakes and upgrade probes, and a client that never reads.
//! Each test also checks that the server keeps serving other clients.
//!
//! Covered elsewhere (not repeated here): POST bodies at the limit and one
//! byte over (`server_limits.rs`), WebSocket messages over the limit (1009,
//! `server_limits.rs`), the plain cross-origin refusal
//! (`server_tower.rs::cors_same_origin_by_default`), `abc` on both
//! transports (`server_disconnect.rs`), panicking handlers
//! (`server_handlers.rs::panicking_handlers_are_contained`).

mod server_util;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use engineio::server::{DisconnectReason, Server, ServerError, Sid, TransportKind};
use futures_util::{SinkExt, StreamExt};
use server_util::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data as OpData, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;

/// The tests that open thousands of sessions or sockets run one at a time
/// (file descriptors, and the RSS measurement is process-wide).
static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// An echo server reporting `(sid, reason)` of each disconnect.
async fn echo(builder: engineio::server::ServerBuilder) -> (Server, String, Disconnects) {
    let eio = builder.build().unwrap();
    eio.on_message(move |tx, sid, data| {
        let _ = tx.send(sid, data);
    });
    let (dtx, drx) = tokio::sync::mpsc::unbounded_channel();
    eio.on_disconnect(move |_eio, sid, reason| {
        let _ = dtx.send((sid, reason));
    });
    let base = start(&eio).await;
    (eio, base, drx)
}

type Disconnects = UnboundedReceiver<(Sid, DisconnectReason)>;

/// The server still opens sessions and echoes on them.
async fn assert_serving(base: &str) {
    let sid = open_polling(base).await;
    let q = sid_query(&sid);
    assert_eq!(post(base, &q, "4alive").await.body, "ok");
    // With short ping intervals a ping may come first: answer it.
    for _ in 0..5 {
        let body = get(base, &q).await.body;
        if body.split('\x1e').any(|p| p == "4alive") {
            return;
        }
        assert!(body.split('\x1e').all(|p| p == "2"), "{body:?}");
        assert_eq!(post(base, &q, "3").await.body, "ok");
    }
    panic!("the echo never came");
}

fn host(base: &str) -> &str {
    base.strip_prefix("http://").unwrap()
}

/// Writes `head` (and `body`) on a fresh connection; returns the status
/// line, or `None` if the server closed or reset the connection without an
/// answer (hyper may close before reading an oversized request to its end).
async fn raw_status(base: &str, head: Vec<u8>) -> Option<String> {
    let mut tcp = tokio::net::TcpStream::connect(host(base)).await.unwrap();
    let (mut rd, mut wr) = tcp.split();
    let write = async {
        let _ = wr.write_all(&head).await;
    };
    let read = async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            match rd.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            if buf.windows(2).any(|w| w == b"\r\n") {
                break;
            }
        }
        let text = String::from_utf8_lossy(&buf).into_owned();
        text.lines().next().map(str::to_owned)
    };
    let (_, status) = tokio::time::timeout(WAIT, async { tokio::join!(write, read) })
        .await
        .expect("the server neither answered nor closed");
    status
}

#[tokio::test]
async fn oversized_query_and_headers_get_hyper_limits_and_the_server_stays_up() {
    let (_eio, base, _d) = echo(Server::builder()).await;
    let h = host(&base);

    // A 64 KiB query string: over what `http::Uri` accepts.
    let q = format!("EIO=4&transport=polling&pad={}", "a".repeat(64 * 1024));
    let head = format!("GET /engine.io/?{q} HTTP/1.1\r\nHost: {h}\r\n\r\n");
    let status = raw_status(&base, head.into_bytes()).await;
    assert!(
        status
            .as_deref()
            .is_none_or(|s| s.starts_with("HTTP/1.1 414")),
        "{status:?}"
    );

    // A 1 MiB header: over hyper's read buffer.
    let head = format!(
        "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: {h}\r\nX-Big: {}\r\n\r\n",
        "b".repeat(1 << 20)
    );
    let status = raw_status(&base, head.into_bytes()).await;
    assert!(
        status
            .as_deref()
            .is_none_or(|s| s.starts_with("HTTP/1.1 431")),
        "{status:?}"
    );

    // 500 small headers: over hyper's header count.
    let mut head = format!("GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: {h}\r\n");
    for i in 0..500 {
        head.push_str(&format!("X-H{i}: v\r\n"));
    }
    head.push_str("\r\n");
    let status = raw_status(&base, head.into_bytes()).await;
    assert!(
        status
            .as_deref()
            .is_none_or(|s| s.starts_with("HTTP/1.1 431")),
        "{status:?}"
    );

    // Not HTTP at all.
    let status = raw_status(&base, b"\x16\x03\x01\x00\xff garbage\r\n\r\n".to_vec()).await;
    assert!(
        status
            .as_deref()
            .is_none_or(|s| s.starts_with("HTTP/1.1 400")),
        "{status:?}"
    );

    // A 16 KiB query string is within hyper's limits and reaches the
    // server: extra parameters are ignored.
    let q = format!("EIO=4&transport=polling&pad={}", "a".repeat(16 * 1024));
    assert_eq!(get(&base, &q).await.status, 200);

    assert_serving(&base).await;
}

#[tokio::test]
async fn malformed_query_strings_get_the_reference_error_codes() {
    let (_eio, base, _d) = echo(Server::builder()).await;
    let json = |code: u8, msg: &str| format!(r#"{{"code":{code},"message":"{msg}"}}"#);
    let cases: &[(&str, u16, String)] = &[
        ("", 400, json(0, "Transport unknown")),
        ("&&&===&", 400, json(0, "Transport unknown")),
        ("EIO=4&transport=%ZZ", 400, json(0, "Transport unknown")),
        ("EIO=4&transport=%FF%FE", 400, json(0, "Transport unknown")),
        (
            "EIO=4&transport=polling%00",
            400,
            json(0, "Transport unknown"),
        ),
        ("EIO=4&transport=POLLING", 400, json(0, "Transport unknown")),
        (
            "EIO=%34&transport=polling&sid=%",
            400,
            json(1, "Session ID unknown"),
        ),
        (
            "EIO=4%00&transport=polling",
            400,
            json(5, "Unsupported protocol version"),
        ),
        (
            "EIO=-1&transport=polling",
            400,
            json(5, "Unsupported protocol version"),
        ),
        (
            "EIO=99999999999999999999&transport=polling",
            400,
            json(5, "Unsupported protocol version"),
        ),
        (
            "EIO&transport=polling",
            400,
            json(5, "Unsupported protocol version"),
        ),
    ];
    for (q, status, body) in cases {
        let r = get(&base, q).await;
        assert_eq!((r.status, &r.body), (*status, body), "query {q:?}");
    }
    // Repeated parameters: the first value counts (engine.io's parser).
    let r = get(&base, "EIO=4&transport=polling&transport=websocket&EIO=3").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_serving(&base).await;
}

#[tokio::test]
async fn sids_of_the_wrong_length_or_alphabet_are_unknown() {
    let (_eio, base, _d) = echo(Server::builder()).await;
    let real = open_polling(&base).await;
    let unknown = r#"{"code":1,"message":"Session ID unknown"}"#;
    let mut wrong_alphabet = real.clone();
    wrong_alphabet.replace_range(0..1, "!");
    let bad = [
        String::new(),
        "a".into(),
        real[..19].to_owned(),
        format!("{real}A"),
        wrong_alphabet,
        real.replace(|_| true, "."),
        "%E2%82%AC".repeat(7),
        "A".repeat(4096),
    ];
    for sid in &bad {
        for method in ["GET", "POST"] {
            let url = url(&base, &sid_query(sid));
            let req = match method {
                "GET" => http().get(url),
                _ => http().post(url).body("4x"),
            };
            let r = read(req.send().await.unwrap()).await;
            assert_eq!(
                (r.status, r.body.as_str()),
                (400, unknown),
                "{method} {sid:?}"
            );
        }
        // A WebSocket with that sid: a plain 400 with the message.
        let err = tokio_tungstenite::connect_async(ws_url(
            &base,
            &format!("EIO=4&transport=websocket&sid={sid}"),
        ))
        .await
        .expect_err("refused");
        match err {
            tokio_tungstenite::tungstenite::Error::Http(r) => {
                assert_eq!(r.status(), 400);
                assert_eq!(r.body().as_deref(), Some(&b"Session ID unknown"[..]));
            }
            other => panic!("{other:?}"),
        }
    }
    // The real session is untouched.
    let q = sid_query(&real);
    assert_eq!(post(&base, &q, "4still").await.body, "ok");
    assert_eq!(get(&base, &q).await.body, "4still");
}

#[tokio::test]
async fn a_valid_sid_with_another_transport_or_eio_is_a_bad_request() {
    let (eio, base, mut d) = echo(Server::builder()).await;
    let bad_request = r#"{"code":3,"message":"Bad request"}"#;

    // A polling session addressed as WebSocket (a plain GET), or with
    // another protocol version.
    let sid = open_polling(&base).await;
    for q in [
        format!("EIO=4&transport=websocket&sid={sid}"),
        format!("EIO=3&transport=polling&sid={sid}"),
        format!("EIO=5&transport=polling&sid={sid}"),
        format!("transport=polling&sid={sid}"),
    ] {
        let r = get(&base, &q).await;
        assert_eq!((r.status, r.body.as_str()), (400, bad_request), "{q}");
        let r = post(&base, &q, "4x").await;
        assert_eq!((r.status, r.body.as_str()), (400, bad_request), "{q}");
    }
    // An upgrade with another EIO is refused before the 101.
    let err = tokio_tungstenite::connect_async(ws_url(
        &base,
        &format!("EIO=3&transport=websocket&sid={sid}"),
    ))
    .await
    .expect_err("refused");
    assert!(matches!(err, tokio_tungstenite::tungstenite::Error::Http(r) if r.status() == 400));
    // The session survived all of it.
    let q = sid_query(&sid);
    assert_eq!(post(&base, &q, "4ok").await.body, "ok");
    assert_eq!(get(&base, &q).await.body, "4ok");

    // A WebSocket session addressed by polling.
    let (mut ws, ws_sid) = open_ws(&base).await;
    let r = get(&base, &sid_query(&ws_sid)).await;
    assert_eq!((r.status, r.body.as_str()), (400, bad_request));
    let r = post(&base, &sid_query(&ws_sid), "4x").await;
    assert_eq!((r.status, r.body.as_str()), (400, bad_request));
    // A second WebSocket on it is refused; the first one still works.
    let err = tokio_tungstenite::connect_async(ws_url(
        &base,
        &format!("EIO=4&transport=websocket&sid={ws_sid}"),
    ))
    .await
    .expect_err("refused");
    assert!(matches!(err, tokio_tungstenite::tungstenite::Error::Http(r) if r.status() == 400));
    ws_send(&mut ws, "4ws").await;
    assert_eq!(ws_next_data(&mut ws).await, WsEvent::Text("4ws".into()));
    assert_eq!(eio.sids().len(), 2);
    assert!(d.try_recv().is_err(), "no session ended");
}

#[tokio::test]
async fn spoofed_origins_are_refused_under_the_same_origin_default() {
    let (_eio, base, _d) = echo(Server::builder()).await;
    let sid = open_polling(&base).await;
    let port = base.rsplit(':').next().unwrap();
    let bad_request = r#"{"code":3,"message":"Bad request"}"#;
    let spoofs = [
        format!("{base}.evil.example"),
        format!("http://127.0.0.1:{port}@evil.example"),
        format!("http://evil.example/{base}"),
        format!("https://127.0.0.1:{port}"),
        "http://127.0.0.1:1".to_owned(),
        format!("http://localhost:{port}"),
        "null".to_owned(),
        "*".to_owned(),
    ];
    for origin in &spoofs {
        // The handshake and a request on an existing session.
        for q in ["EIO=4&transport=polling".to_owned(), sid_query(&sid)] {
            let r = read(
                http()
                    .get(url(&base, &q))
                    .header("origin", origin)
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(
                (r.status, r.body.as_str()),
                (400, bad_request),
                "{origin:?}"
            );
            assert!(r.headers.get("access-control-allow-origin").is_none());
        }
        let r = read(
            http()
                .post(url(&base, &sid_query(&sid)))
                .header("origin", origin)
                .body("4forged")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 400, "{origin:?}");
    }
    // An empty Origin counts as none (python-engineio): no CORS headers.
    let r = http()
        .get(url(&base, "EIO=4&transport=polling"))
        .header("origin", "")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("access-control-allow-origin").is_none());
    // Not visible ASCII (obs-text bytes): refused.
    let r = http()
        .get(url(&base, "EIO=4&transport=polling"))
        .header(
            "origin",
            reqwest::header::HeaderValue::from_bytes(b"http://\xe9vil.example").unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // Two Origin headers, one of them ours: refused.
    let r = http()
        .get(url(&base, "EIO=4&transport=polling"))
        .header("origin", "http://evil.example")
        .header("origin", &base)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // Nothing forged reached the session.
    let q = sid_query(&sid);
    assert_eq!(post(&base, &q, "4mine").await.body, "ok");
    assert_eq!(get(&base, &q).await.body, "4mine");
}

#[tokio::test]
async fn invalid_utf8_is_replaced_on_polling_and_closes_a_websocket() {
    let (_eio, base, mut d) = echo(Server::builder()).await;

    // Polling: as Node (`Buffer.toString()`), each invalid sequence becomes
    // U+FFFD and the session goes on.
    let cases: [(&[u8], &str); 3] = [
        (b"4\xff\xfe", "4\u{fffd}\u{fffd}"),
        (b"4ok\x1e4\xc3\x28", "4ok\x1e4\u{fffd}("),
        (b"4\xed\xa0\x80", "4\u{fffd}\u{fffd}\u{fffd}"),
    ];
    for (body, echoed) in cases {
        let sid = open_polling(&base).await;
        let r = post(&base, &sid_query(&sid), body.to_vec()).await;
        assert_eq!((r.status, r.body.as_str()), (200, "ok"), "{body:?}");
        let r = get(&base, &sid_query(&sid)).await;
        assert_eq!((r.status, r.body.as_str()), (200, echoed), "{body:?}");
    }
    assert!(d.try_recv().is_err(), "no session ended");

    // WebSocket: a text frame must be UTF-8 (RFC 6455 §8.1): close 1007.
    let (mut ws, sid) = open_ws(&base).await;
    let frame = Frame::message(
        Bytes::from_static(b"4\xff\xfe"),
        OpCode::Data(OpData::Text),
        true,
    );
    ws.send(Message::Frame(frame)).await.unwrap();
    assert_eq!(ws_next_data(&mut ws).await, WsEvent::Closed(Some(1007)));
    assert_eq!(
        recv(&mut d).await,
        (sid.parse().unwrap(), DisconnectReason::TransportError)
    );

    // The same split across fragments (each fragment alone looks fine).
    let (mut ws, sid) = open_ws(&base).await;
    let first = Frame::message(
        Bytes::from_static(b"4ok\xe2"),
        OpCode::Data(OpData::Text),
        false,
    );
    let rest = Frame::message(
        Bytes::from_static(b"\x28"),
        OpCode::Data(OpData::Continue),
        true,
    );
    ws.send(Message::Frame(first)).await.unwrap();
    ws.send(Message::Frame(rest)).await.unwrap();
    assert_eq!(ws_next_data(&mut ws).await, WsEvent::Closed(Some(1007)));
    assert_eq!(
        recv(&mut d).await,
        (sid.parse().unwrap(), DisconnectReason::TransportError)
    );

    // Invalid UTF-8 in a *binary* frame is just bytes.
    let (mut ws, _) = open_ws(&base).await;
    ws.send(Message::binary(vec![0xff, 0xfe])).await.unwrap();
    assert_eq!(
        ws_next_data(&mut ws).await,
        WsEvent::Binary(vec![0xff, 0xfe])
    );
    assert_serving(&base).await;
}

#[tokio::test]
async fn packets_of_unknown_type_or_wrong_direction_close_the_session() {
    let (_eio, base, mut d) = echo(Server::builder()).await;
    // Unknown types (7, 8, 9, letters), an empty segment, and types only the
    // server may send (open, v4 ping).
    // Refused whole: a bare 400.
    let bodies = ["7", "9hello", "4ok\x1e8", "4ok\x1e\x1e4ok", "b!!!"];
    // Decoded, then refused by the session: the POST itself is `ok`.
    let server_only = ["0{}", "2"];
    for body in bodies.iter().chain(&server_only) {
        let sid = open_polling(&base).await;
        let r = post(&base, &sid_query(&sid), *body).await;
        let want = if server_only.contains(body) {
            (200, "ok")
        } else {
            (400, "")
        };
        assert_eq!((r.status, r.body.as_str()), want, "{body:?}");
        let s: Sid = sid.parse().unwrap();
        assert_eq!(
            recv(&mut d).await,
            (s, DisconnectReason::TransportError),
            "{body:?}"
        );
        assert_eq!(get(&base, &sid_query(&sid)).await.status, 400, "{body:?}");
    }
    for text in ["7", "9hello", "", "0{}", "2"] {
        let (mut ws, sid) = open_ws(&base).await;
        ws_send(&mut ws, text).await;
        let closed = ws_next_data(&mut ws).await;
        if ["0{}", "2"].contains(&text) {
            assert!(matches!(closed, WsEvent::Closed(_)), "{text:?}: {closed:?}");
        } else {
            // Not a packet at all: a protocol error.
            assert_eq!(closed, WsEvent::Closed(Some(1002)), "{text:?}");
        }
        assert_eq!(
            recv(&mut d).await,
            (sid.parse().unwrap(), DisconnectReason::TransportError),
            "{text:?}"
        );
    }
    assert_serving(&base).await;
}

/// A POST whose body never completes is answered 408 after
/// `http_request_timeout`; headers that never complete get the connection
/// closed; meanwhile other clients are served normally.
#[tokio::test]
async fn slowloris_requests_time_out_and_others_are_served_meanwhile() {
    let timeout = Duration::from_millis(500);
    let (eio, base, mut d) = echo(Server::builder().http_request_timeout(timeout)).await;
    let h = host(&base).to_owned();
    let sid = open_polling(&base).await;

    // The body: 10 of 100 announced bytes, then a byte every 100 ms.
    let mut slow_body = tokio::net::TcpStream::connect(&h).await.unwrap();
    let head = format!(
        "POST /engine.io/?{} HTTP/1.1\r\nHost: {h}\r\nContent-Length: 100\r\n\r\n4aaaaaaaaa",
        sid_query(&sid)
    );
    slow_body.write_all(head.as_bytes()).await.unwrap();
    // The headers: never finished.
    let mut slow_head = tokio::net::TcpStream::connect(&h).await.unwrap();
    slow_head
        .write_all(
            format!("GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: {h}\r\n").as_bytes(),
        )
        .await
        .unwrap();

    let started = Instant::now();
    let (mut body_rd, mut body_wr) = slow_body.split();
    let trickle = async {
        for _ in 0..30 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if body_wr.write_all(b"a").await.is_err() {
                // Closed by the server: the answer decides.
                std::future::pending::<()>().await;
            }
        }
    };
    let answer = async {
        let mut buf = vec![0u8; 1024];
        let n = tokio::time::timeout(WAIT, body_rd.read(&mut buf))
            .await
            .expect("no answer to the slow POST")
            .unwrap();
        (
            String::from_utf8_lossy(&buf[..n]).into_owned(),
            started.elapsed(),
        )
    };
    // Other clients, meanwhile: a new session echoes, promptly.
    let others = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let t = Instant::now();
        assert_serving(&base).await;
        t.elapsed()
    };
    let ((text, answered_after), other_latency) = tokio::select! {
        r = async { tokio::join!(answer, others) } => r,
        () = trickle => panic!("the trickle outlived the timeout"),
    };
    assert!(
        other_latency < timeout,
        "another client waited {other_latency:?}"
    );
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("connection: close"),
        "{text}"
    );
    assert!(answered_after >= timeout, "{answered_after:?}");

    let mut buf = vec![0u8; 1024];
    // The headers that never came: the connection is closed.
    let n = tokio::time::timeout(WAIT, slow_head.read(&mut buf))
        .await
        .expect("the slow connection was not closed");
    assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");

    // The timed-out POST ended its session (engine.io 6.6.13's
    // `httpRequestBodyTimeout`); the other session goes on.
    let q = sid_query(&sid);
    let ended = tokio::time::timeout(WAIT, d.recv()).await.unwrap().unwrap();
    assert_eq!(
        ended,
        (sid.parse().unwrap(), DisconnectReason::TransportError)
    );
    assert_eq!(post(&base, &q, "4after").await.status, 400);
    assert_eq!(eio.sids().len(), 1);
}

/// Resident set size of this process, in bytes.
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// The session table's size, including sessions whose end is not yet
/// processed (the Debug form reports it).
fn table_len(eio: &Server) -> usize {
    let dbg = format!("{eio:?}");
    let n = dbg.rsplit("sessions: ").next().unwrap();
    n.trim_end_matches([' ', '}']).parse().unwrap()
}

async fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_unused_handshakes_are_reaped_and_memory_returns() {
    let _heavy = HEAVY.lock().await;
    let eio = Server::builder()
        .ping_interval(Duration::from_millis(200))
        .ping_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let reasons: Arc<Mutex<Vec<DisconnectReason>>> = Arc::default();
    let r = reasons.clone();
    eio.on_disconnect(move |_eio, _, reason| r.lock().unwrap().push(reason));
    eio.on_message(move |tx, sid, data| {
        let _ = tx.send(sid, data);
    });
    let base = start(&eio).await;

    // Warm up (allocator arenas, connection pool), then measure.
    let _ = raw_handshakes(&base, 500).await;
    wait_until("warm-up reaped", Duration::from_secs(5), || {
        table_len(&eio) == 0
    })
    .await;
    let baseline = rss();

    let started = Instant::now();
    let sids = raw_handshakes(&base, 10_000).await;
    let opened = started.elapsed();
    let peak = rss();
    assert_eq!(
        sids.iter().collect::<std::collections::HashSet<_>>().len(),
        10_000,
        "sids are unique"
    );
    // Every session ends ping_interval + ping_timeout after its handshake.
    wait_until("all reaped", Duration::from_secs(8), || {
        eio.sids().is_empty() && table_len(&eio) == 0
    })
    .await;
    let reaped = rss();
    let reasons = reasons.lock().unwrap().clone();
    assert_eq!(reasons.len(), 10_500);
    assert!(reasons.iter().all(|r| *r == DisconnectReason::PingTimeout));
    eprintln!(
        "10k handshakes in {opened:?}; RSS baseline {} KiB, peak {} KiB, after reaping {} KiB",
        baseline / 1024,
        peak / 1024,
        reaped / 1024
    );
    // Loose: the allocator keeps some of what it got back, but 10,000
    // leaked sessions (tasks, queues, timers) would be far more than this.
    assert!(
        reaped.saturating_sub(baseline) < 32 << 20,
        "RSS grew from {baseline} to {reaped} bytes"
    );
    assert_serving(&base).await;
}

/// Opens a direct WebSocket session over raw TCP; returns the stream, with
/// the `101` head and the `open` frame read.
async fn raw_ws(base: &str) -> tokio::net::TcpStream {
    let h = host(base);
    let mut tcp = tokio::net::TcpStream::connect(h).await.unwrap();
    let head = format!(
        "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {h}\r\n\
         Upgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    while !got.ends_with(b"\r\n\r\n") {
        got.push(tcp.read_u8().await.unwrap());
    }
    assert!(got.starts_with(b"HTTP/1.1 101"));
    let (op, payload) = raw_frame(&mut tcp).await.expect("open frame");
    assert_eq!((op, payload.first()), (1, Some(&b'0')));
    tcp
}

/// Reads one server frame: `(opcode, payload)`, `None` at the end.
async fn raw_frame(tcp: &mut tokio::net::TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut h = [0u8; 2];
    tokio::time::timeout(WAIT, tcp.read_exact(&mut h))
        .await
        .expect("no frame in time")
        .ok()?;
    assert_eq!(h[1] & 0x80, 0, "server frames are not masked");
    let len = match h[1] & 0x7F {
        126 => usize::from(tcp.read_u16().await.ok()?),
        127 => usize::try_from(tcp.read_u64().await.ok()?).unwrap(),
        n => usize::from(n),
    };
    let mut payload = vec![0; len];
    tcp.read_exact(&mut payload).await.ok()?;
    Some((h[0] & 0x0F, payload))
}

/// Frames that break RFC 6455 fail the connection with close 1002 and end
/// the session with `TransportError`; an unallowed close code too.
#[tokio::test]
async fn malformed_websocket_frames_fail_the_connection_with_1002() {
    let (_eio, base, mut d) = echo(Server::builder()).await;
    let mut long_ping = vec![0x89, 0x80 | 126, 0, 126, 0, 0, 0, 0];
    long_ping.extend_from_slice(&[0; 126]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("reserved bit", vec![0xC1, 0x81, 0, 0, 0, 0, b'4']),
        ("unmasked", vec![0x81, 0x01, b'4']),
        ("unknown opcode", vec![0x83, 0x80, 0, 0, 0, 0]),
        ("fragmented ping", vec![0x09, 0x80, 0, 0, 0, 0]),
        ("ping over 125 bytes", long_ping),
        ("continuation first", vec![0x80, 0x81, 0, 0, 0, 0, b'x']),
        ("close code 1005", vec![0x88, 0x82, 0, 0, 0, 0, 0x03, 0xED]),
        ("close of one byte", vec![0x88, 0x81, 0, 0, 0, 0, 0x03]),
    ];
    for (what, bytes) in cases {
        let mut tcp = raw_ws(&base).await;
        tcp.write_all(&bytes).await.unwrap();
        let code = loop {
            match raw_frame(&mut tcp).await {
                Some((8, p)) => break u16::from_be_bytes([p[0], p[1]]),
                Some(_) => {}
                None => panic!("{what}: closed without a close frame"),
            }
        };
        assert_eq!(code, 1002, "{what}");
        assert_eq!(
            recv(&mut d).await.1,
            DisconnectReason::TransportError,
            "{what}"
        );
    }
    // A client close frame with an allowed code is echoed.
    let mut tcp = raw_ws(&base).await;
    tcp.write_all(&[0x88, 0x82, 0, 0, 0, 0, 0x0F, 0xA0])
        .await
        .unwrap();
    let (op, p) = raw_frame(&mut tcp).await.expect("close frame");
    assert_eq!((op, &p[..]), (8, &[0x0F, 0xA0][..]));
    assert_eq!(recv(&mut d).await.1, DisconnectReason::TransportClose);
    assert_serving(&base).await;
}

/// An upgrade probe that never sends `5`, on a hand-written WebSocket
/// (cheap enough for thousands in a debug build): returns how long after
/// `3probe` the server closed the socket.
async fn probe_never_upgrade(base: String, sid: String) -> Duration {
    use tokio::io::AsyncBufReadExt;
    let h = host(&base);
    let tcp = tokio::net::TcpStream::connect(h).await.unwrap();
    let mut tcp = tokio::io::BufReader::new(tcp);
    let head = format!(
        "GET /engine.io/?EIO=4&transport=websocket&sid={sid} HTTP/1.1\r\nHost: {h}\r\n\
         Upgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.get_mut().write_all(head.as_bytes()).await.unwrap();
    let mut line = String::new();
    tcp.read_line(&mut line).await.unwrap();
    assert!(line.starts_with("HTTP/1.1 101"), "{line:?}");
    while line != "\r\n" {
        line.clear();
        assert!(tcp.read_line(&mut line).await.unwrap() > 0);
    }
    // A masked text frame (zero mask key) holding `2probe`.
    let mut frame = vec![0x81, 0x80 | 6, 0, 0, 0, 0];
    frame.extend_from_slice(b"2probe");
    tcp.get_mut().write_all(&frame).await.unwrap();
    let mut reply = [0u8; 8];
    tokio::time::timeout(WAIT, tcp.read_exact(&mut reply))
        .await
        .expect("no probe answer")
        .unwrap();
    assert_eq!(&reply, b"\x81\x063probe");
    let probed = Instant::now();
    // Next: a close frame (0x88 ...) or the end of the connection.
    let mut next = [0u8; 1];
    let r = tokio::time::timeout(WAIT, tcp.read(&mut next))
        .await
        .expect("the probe was never closed");
    assert!(
        matches!(r, Ok(0) | Err(_)) || next[0] == 0x88,
        "{r:?} {next:?}"
    );
    probed.elapsed()
}

/// A minimal HTTP/1.1 keep-alive client for bulk requests (reqwest costs
/// too much CPU in a debug build to open 10,000 sessions quickly).
async fn raw_handshakes(base: &str, n: usize) -> Vec<String> {
    use tokio::io::AsyncBufReadExt;
    const CONNS: usize = 16;
    let h = host(base).to_owned();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..CONNS {
        let h = h.clone();
        let count = n / CONNS + usize::from(c < n % CONNS);
        tasks.spawn(async move {
            let tcp = tokio::net::TcpStream::connect(&h).await.unwrap();
            let mut tcp = tokio::io::BufReader::new(tcp);
            let req =
                format!("GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: {h}\r\n\r\n");
            let mut sids = Vec::with_capacity(count);
            for _ in 0..count {
                tcp.get_mut().write_all(req.as_bytes()).await.unwrap();
                let mut line = String::new();
                let mut len = 0usize;
                tcp.read_line(&mut line).await.unwrap();
                assert!(line.starts_with("HTTP/1.1 200"), "{line:?}");
                while line != "\r\n" {
                    line.clear();
                    assert!(tcp.read_line(&mut line).await.unwrap() > 0);
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0u8; len];
                tcp.read_exact(&mut body).await.unwrap();
                let body = String::from_utf8(body).unwrap();
                sids.push(open_json(&body)["sid"].as_str().unwrap().to_owned());
            }
            sids
        });
    }
    let mut all = Vec::with_capacity(n);
    while let Some(sids) = tasks.join_next().await {
        all.extend(sids.unwrap());
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_unanswered_upgrade_probes_are_cleaned_after_the_upgrade_timeout() {
    let _heavy = HEAVY.lock().await;
    // Long enough for `2probe` to arrive while thousands of sockets open.
    let upgrade_timeout = Duration::from_millis(1000);
    let eio = Server::builder()
        .upgrade_timeout(upgrade_timeout)
        .ping_interval(Duration::from_secs(60))
        .build()
        .unwrap();
    eio.on_message(move |tx, sid, data| {
        let _ = tx.send(sid, data);
    });
    let base = start(&eio).await;
    let sids = raw_handshakes(&base, 10_000).await;

    // Each probe: WebSocket with the sid, `2probe` → `3probe`, never `5`;
    // the server closes it after the upgrade timeout. At most 2,000 sockets
    // are open at once (client and server ends share this process's fds).
    let started = Instant::now();
    let closed_in: Vec<Duration> = futures_util::stream::iter(sids.clone())
        .map(|sid| probe_never_upgrade(base.clone(), sid))
        .buffer_unordered(2_000)
        .collect()
        .await;
    eprintln!(
        "10k probes in {:?}; longest close after the probe {:?}",
        started.elapsed(),
        closed_in.iter().max()
    );
    assert_eq!(closed_in.len(), 10_000);
    assert!(closed_in
        .iter()
        .all(|d| *d < upgrade_timeout + Duration::from_secs(4)));

    // Every session is still there, on polling, and usable.
    assert_eq!(eio.sids().len(), 10_000);
    for sid in sids.iter().step_by(500) {
        let s: Sid = sid.parse().unwrap();
        assert_eq!(eio.transport(s).unwrap(), TransportKind::Polling);
        let q = sid_query(sid);
        assert_eq!(post(&base, &q, "4back").await.body, "ok");
        assert_eq!(get(&base, &q).await.body, "4back");
    }
}

/// The send queue is bounded by `max_queued_packets`: a client that does not
/// collect its messages is dropped with `TransportError` once it is full
/// (the message that overflows is refused); other sessions carry on.
#[tokio::test]
async fn a_client_that_never_reads_is_dropped_at_the_queue_bound() {
    const BOUND: usize = 16;
    let (eio, base, mut d) = echo(Server::builder().max_queued_packets(BOUND)).await;
    let (mut healthy, healthy_sid) = open_ws(&base).await;

    // Polling: nobody GETs.
    let sid = open_polling(&base).await;
    let s: Sid = sid.parse().unwrap();
    for i in 0..BOUND {
        eio.send(s, format!("m{i}")).unwrap();
    }
    assert!(matches!(
        eio.send(s, "overflow"),
        Err(ServerError::SessionClosed(_))
    ));
    assert_eq!(recv(&mut d).await, (s, DisconnectReason::TransportError));
    assert_eq!(get(&base, &sid_query(&sid)).await.status, 400);

    // WebSocket: the client stops reading; once the socket buffers are full
    // the queue grows to the bound.
    let (mut ws, sid) = open_ws(&base).await;
    let s: Sid = sid.parse().unwrap();
    let big = Bytes::from(vec![7u8; 64 * 1024]);
    let started = Instant::now();
    let mut sent = 0usize;
    let refused = loop {
        match eio.send(s, big.clone()) {
            Ok(()) => sent += 1,
            Err(e) => break e,
        }
        assert!(
            started.elapsed() < WAIT && sent < 100_000,
            "the queue never filled ({sent} sent)"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    assert!(
        matches!(refused, ServerError::SessionClosed(_)),
        "{refused:?}"
    );
    assert_eq!(recv(&mut d).await, (s, DisconnectReason::TransportError));
    eprintln!("a non-reading WebSocket client took {sent} messages of 64 KiB before the drop");

    // The server lets go of the socket within its 1 s close grace, without
    // waiting for this client to read: after that, draining what the
    // kernel buffered ends in EOF, with no close frame (a writer still
    // blocked on the socket would be unblocked by the draining and send one).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let end = tokio::time::timeout(WAIT, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(f))) => return format!("close frame {f:?}"),
                Some(Ok(_)) => {}
                Some(Err(e)) => return format!("error {e}"),
                None => return "end".to_owned(),
            }
        }
    })
    .await
    .expect("the server kept the socket of a dropped session");
    assert!(!end.starts_with("close frame"), "{end}");

    // The other session never noticed.
    ws_send(&mut healthy, "4fine").await;
    assert_eq!(
        ws_next_data(&mut healthy).await,
        WsEvent::Text("4fine".into())
    );
    assert_eq!(eio.sids(), vec![healthy_sid.parse::<Sid>().unwrap()]);
}

/// A session the server closed, whose client never polls again, ends after
/// `close_timeout` (its `close` packet is never collected).
#[tokio::test]
async fn a_server_closed_session_nobody_polls_ends_after_the_close_timeout() {
    let (eio, base, mut d) =
        echo(Server::builder().close_timeout(Duration::from_millis(300))).await;
    let sid = open_polling(&base).await;
    let s: Sid = sid.parse().unwrap();
    let started = Instant::now();
    eio.disconnect(s).unwrap();
    assert_eq!(recv(&mut d).await, (s, DisconnectReason::ServerDisconnect));
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(300), "{took:?}");
    wait_until("session gone", WAIT, || table_len(&eio) == 0).await;
    assert_eq!(get(&base, &sid_query(&sid)).await.status, 400);
}
