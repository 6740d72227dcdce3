//! Server handlers: connect rejection, panics, the connect request, user
//! sessions, ordering and heartbeats independent of slow handlers.

mod server_util;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use engineio::server::{Data, DisconnectReason, Reject, Server, ServerError, Sid};
use serde_json::json;
use server_util::*;

#[tokio::test]
async fn connect_rejection_default_body_is_unauthorized() {
    let eio = Server::new();
    eio.on_connect(|_eio, _, _| Err(Reject::unauthorized()));
    let base = start(&eio).await;
    let resp = get(&base, "EIO=4&transport=polling").await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.headers["content-type"], "application/json");
    assert_eq!(resp.body, r#""Unauthorized""#);
    assert!(eio.sids().is_empty());
}

#[tokio::test]
async fn connect_rejection_custom_json_body_polling_and_websocket() {
    let eio = Server::new();
    eio.on_connect_async(|_eio, _, _| async {
        Err(Reject::with_body(json!({"message": "nope", "code": 42})))
    });
    let base = start(&eio).await;
    let resp = get(&base, "EIO=4&transport=polling").await;
    assert_eq!(resp.status, 401);
    let body: serde_json::Value = serde_json::from_str(&resp.body).unwrap();
    assert_eq!(body, json!({"message": "nope", "code": 42}));

    // A direct WebSocket handshake is refused before the upgrade, the same way.
    let err = tokio_tungstenite::connect_async(ws_url(&base, "EIO=4&transport=websocket"))
        .await
        .expect_err("must be refused");
    match err {
        tokio_tungstenite::tungstenite::Error::Http(resp) => assert_eq!(resp.status(), 401),
        other => panic!("unexpected error {other}"),
    }
}

#[tokio::test]
async fn panicking_handlers_are_contained() {
    let eio = Server::new();
    eio.on_connect(|_eio, _, req| {
        if req.query_param("boom").is_some() {
            panic!("connect handler failure");
        }
        Ok(())
    });
    eio.on_message(move |tx, sid, data| {
        if matches!(&data, Data::Text(t) if t == "boom") {
            panic!("message handler failure");
        }
        let _ = tx.send(sid, data);
    });
    let base = start(&eio).await;

    // A panicking connect handler rejects, with the default body.
    let resp = get(&base, "EIO=4&transport=polling&boom=1").await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.body, r#""Unauthorized""#);

    // A panicking message handler is logged; the session and server go on.
    let (mut ws, _sid) = open_ws(&base).await;
    ws_send(&mut ws, "4boom").await;
    ws_send(&mut ws, "4after").await;
    assert_eq!(ws_next_data(&mut ws).await, WsEvent::Text("4after".into()));
    let sid = open_polling(&base).await;
    assert_eq!(post(&base, &sid_query(&sid), "4hi").await.body, "ok");
    assert_eq!(get(&base, &sid_query(&sid)).await.body, "4hi");
}

/// What the connect handler saw: address, `token`, cookie, `x-test`.
type Seen = (Option<SocketAddr>, Option<String>, Option<String>, String);

#[tokio::test]
async fn connect_request_carries_query_headers_cookies_and_real_remote_addr() {
    let eio = Server::new();
    let seen: Arc<Mutex<Option<Seen>>> = Arc::default();
    let s = seen.clone();
    eio.on_connect(move |_eio, _, req| {
        *s.lock().unwrap() = Some((
            req.remote_addr(),
            req.query_param("token"),
            req.cookie("session").map(str::to_owned),
            req.headers()["x-test"].to_str().unwrap().to_owned(),
        ));
        Ok(())
    });
    let base = start(&eio).await;
    let resp = http()
        .get(url(&base, "EIO=4&transport=polling&token=a%20b+c%2B"))
        .header("x-test", "yes")
        .header("cookie", "other=1; session=xyz")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (addr, token, cookie, header) = seen.lock().unwrap().take().expect("connect ran");
    let addr = addr.expect("remote address");
    assert!(addr.ip().is_loopback(), "{addr}");
    assert_ne!(
        addr.port(),
        base.rsplit(':').next().unwrap().parse::<u16>().unwrap()
    );
    // `+` is a space, as engine.io 6 and python-engineio read a query.
    assert_eq!(token.as_deref(), Some("a b c+"));
    assert_eq!(cookie.as_deref(), Some("xyz"));
    assert_eq!(header, "yes");
}

/// The `Cookie` header is split as browsers and python's `SimpleCookie`
/// read it: trimmed, one pair of quotes dropped, broken pairs skipped, and
/// every `Cookie` header counted.
/// Every cookie the connect handler saw, and `cookie("d")`.
type SeenCookies = (Vec<(String, String)>, Option<String>);

#[tokio::test]
async fn connect_request_cookies_are_split_like_a_cookie_header() {
    let eio = Server::new();
    let seen: Arc<Mutex<Option<SeenCookies>>> = Arc::default();
    let s = seen.clone();
    eio.on_connect(move |_eio, _, req| {
        let all = req.cookies().map(|(k, v)| (k.to_owned(), v.to_owned()));
        *s.lock().unwrap() = Some((all.collect(), req.cookie("d").map(str::to_owned)));
        Ok(())
    });
    let base = start(&eio).await;
    let resp = http()
        .get(url(&base, "EIO=4&transport=polling"))
        .header(
            "cookie",
            r#"a=1; b="quoted" ;c = spaced ; noeq; =anon;; d=x=y; e="""#,
        )
        .header("cookie", "f=%41")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (all, d) = seen.lock().unwrap().take().expect("connect ran");
    let pairs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (&k[..], &v[..])).collect();
    assert_eq!(
        pairs,
        [
            ("a", "1"),
            ("b", "quoted"),
            ("c", "spaced"),
            ("d", "x=y"),
            ("e", ""),
            ("f", "%41")
        ]
    );
    assert_eq!(d.as_deref(), Some("x=y"));
}

#[derive(Clone, Default, Debug, PartialEq)]
struct User {
    name: String,
    messages: usize,
}

#[tokio::test]
async fn user_sessions_get_save_and_scoped() {
    let eio = Server::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    eio.on_connect(move |e, sid, req| {
        // The session exists while the connect handler runs.
        let name = req.query_param("name").unwrap_or_default();
        e.save_session(sid, User { name, messages: 0 }).unwrap();
        Ok(())
    });
    eio.on_message(move |e, sid, _| {
        let count = e
            .with_session(sid, |u: &mut User| {
                u.messages += 1;
                u.messages
            })
            .unwrap();
        let user: User = e.get_session(sid).unwrap().unwrap();
        let _ = e.send(sid, format!("{} {count}", user.name));
    });
    eio.on_disconnect(move |e, sid, _| {
        // Still readable in the disconnect handler.
        let _ = tx.send(e.get_session::<User>(sid));
    });
    let base = start(&eio).await;
    let resp = get(&base, "EIO=4&transport=polling&name=ann").await;
    let sid_str = open_json(&resp.body)["sid"].as_str().unwrap().to_owned();
    let sid: Sid = sid_str.parse().unwrap();

    assert_eq!(
        post(&base, &sid_query(&sid_str), "4a\x1e4b").await.body,
        "ok"
    );
    let mut got = String::new();
    while got.split('\x1e').count() < 2 {
        let body = get(&base, &sid_query(&sid_str)).await.body;
        if !got.is_empty() {
            got.push('\x1e');
        }
        got.push_str(&body);
    }
    assert_eq!(got, "4ann 1\x1e4ann 2");

    // Typed access: another type is an error, not a panic.
    assert!(matches!(
        eio.get_session::<String>(sid),
        Err(ServerError::SessionType(_))
    ));
    let r = eio.with_session(sid, |s: &mut String| s.clear());
    assert!(matches!(r, Err(ServerError::SessionType(_))));

    // A polling session ends once the client collects the close packet.
    eio.disconnect(sid).unwrap();
    assert_eq!(get(&base, &sid_query(&sid_str)).await.body, "1");
    let at_disconnect = recv(&mut rx).await.unwrap();
    assert_eq!(
        at_disconnect,
        Some(User {
            name: "ann".into(),
            messages: 2
        })
    );
    // Dropped with the session.
    eventually("session removed", || eio.get_session::<User>(sid).is_err()).await;
    assert!(matches!(
        eio.save_session(sid, 1u8),
        Err(ServerError::UnknownSid(_))
    ));
}

#[tokio::test]
async fn messages_of_one_session_reach_the_handler_in_order() {
    let eio = Server::new();
    let got: Arc<Mutex<Vec<u32>>> = Arc::default();
    let g = got.clone();
    // An async handler that yields at random points: order must still hold.
    eio.on_message_async(move |_eio, _, data| {
        let g = g.clone();
        async move {
            let Data::Text(t) = data else { return };
            let n: u32 = t.parse().unwrap();
            if n % 7 == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            g.lock().unwrap().push(n);
        }
    });
    let base = start(&eio).await;
    let (mut ws, _) = open_ws(&base).await;
    for i in 0..300u32 {
        ws_send(&mut ws, &format!("4{i}")).await;
    }
    eventually("300 messages", || got.lock().unwrap().len() == 300).await;
    assert_eq!(*got.lock().unwrap(), (0..300).collect::<Vec<_>>());
}

#[tokio::test]
async fn heartbeat_is_not_delayed_by_a_slow_handler() {
    let eio = Server::builder()
        .ping_interval(Duration::from_millis(100))
        .ping_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let (dtx, mut drx) = tokio::sync::mpsc::unbounded_channel();
    eio.on_message_async(|_eio, _, _| async {
        // Far longer than ping_interval + ping_timeout.
        tokio::time::sleep(Duration::from_millis(800)).await;
    });
    eio.on_disconnect(move |_eio, _, reason| {
        let _ = dtx.send(reason);
    });
    let base = start(&eio).await;
    let (mut ws, _) = open_ws(&base).await;
    ws_send(&mut ws, "4slow").await;
    ws_send(&mut ws, "4slower").await;
    // Pings keep coming while the handler sleeps, and answering them keeps
    // the session up.
    let start = std::time::Instant::now();
    let mut pings = 0;
    while start.elapsed() < Duration::from_millis(1200) {
        match ws_next(&mut ws).await {
            WsEvent::Text(t) if t == "2" => {
                pings += 1;
                ws_send(&mut ws, "3").await;
            }
            other => panic!("unexpected {other:?} after {pings} pings"),
        }
    }
    assert!(pings >= 8, "only {pings} pings in 1.2 s");
    assert!(
        drx.try_recv().is_err(),
        "session closed while the handler was slow"
    );
    drop(ws);
    assert_eq!(recv(&mut drx).await, DisconnectReason::TransportClose);
}

#[tokio::test]
async fn async_handlers_option_runs_messages_concurrently() {
    let eio = Server::builder().async_handlers(true).build().unwrap();
    let done: Arc<Mutex<Vec<String>>> = Arc::default();
    let d = done.clone();
    eio.on_message_async(move |_eio, _, data| {
        let d = d.clone();
        async move {
            let Data::Text(t) = data else { return };
            if t == "slow" {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            d.lock().unwrap().push(t.to_string());
        }
    });
    let base = start(&eio).await;
    let (mut ws, _) = open_ws(&base).await;
    ws_send(&mut ws, "4slow").await;
    ws_send(&mut ws, "4fast").await;
    eventually("both handled", || done.lock().unwrap().len() == 2).await;
    assert_eq!(*done.lock().unwrap(), ["fast", "slow"]);
}

#[tokio::test]
async fn send_binary_text_and_json_and_transport() {
    let eio = Server::new();
    let base = start(&eio).await;
    let (mut ws, sid) = open_ws(&base).await;
    let sid: Sid = sid.parse().unwrap();
    assert_eq!(
        eio.transport(sid).unwrap(),
        engineio::server::TransportKind::WebSocket
    );
    eio.send(sid, "text").unwrap();
    eio.send(sid, vec![1u8, 2, 3]).unwrap();
    eio.send_json(sid, &json!({"a": [1, 2]})).unwrap();
    assert_eq!(ws_next_data(&mut ws).await, WsEvent::Text("4text".into()));
    assert_eq!(ws_next_data(&mut ws).await, WsEvent::Binary(vec![1, 2, 3]));
    assert_eq!(
        ws_next_data(&mut ws).await,
        WsEvent::Text(r#"4{"a":[1,2]}"#.into())
    );
    assert_eq!(eio.sids(), vec![sid]);
    let unknown: Sid = "AAAAAAAAAAAAAAAAAAAA".parse().unwrap();
    assert!(matches!(
        eio.send(unknown, "x"),
        Err(ServerError::UnknownSid(_))
    ));
}

#[tokio::test]
async fn the_joining_session_is_in_sids_and_gets_send_all_from_its_connect_handler() {
    // python adds the socket to `sockets` before `connect`: the obvious
    // "everyone, X joined" must reach X too.
    let eio = Server::new();
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    eio.on_connect(move |eio, sid, _| {
        let _ = seen_tx.send((
            eio.sids().contains(&sid),
            eio.send_all(format!("{sid} joined")),
        ));
        Ok(())
    });
    let base = start(&eio).await;
    let (mut first, first_sid) = open_ws(&base).await;
    assert_eq!(recv(&mut seen).await, (true, 1));
    assert_eq!(
        ws_next_data(&mut first).await,
        WsEvent::Text(format!("4{first_sid} joined"))
    );
    let (mut second, second_sid) = open_ws(&base).await;
    assert_eq!(recv(&mut seen).await, (true, 2));
    for ws in [&mut first, &mut second] {
        assert_eq!(
            ws_next_data(ws).await,
            WsEvent::Text(format!("4{second_sid} joined"))
        );
    }
    // A polling session joins the same way: as with python-engineio, what
    // the connect handler sent comes with the handshake's answer.
    let handshake = get(&base, "EIO=4&transport=polling").await.body;
    let (open, joined) = handshake.split_once('\x1e').expect("two packets");
    let third = open_json(open)["sid"].as_str().unwrap().to_owned();
    assert_eq!(joined, format!("4{third} joined"));
    assert_eq!(recv(&mut seen).await, (true, 3));
    assert_eq!(eio.send_all("bye"), 3);
}

/// A polling POST runs a message handler that completes at once itself, as
/// a WebSocket task does, instead of starting a handler task for each
/// message: the handlers of two POSTs on one keep-alive connection run on
/// that connection's task.
#[tokio::test]
async fn a_polling_post_runs_a_sync_handler_on_its_own_task() {
    let eio = Server::new();
    let tasks = Arc::new(Mutex::new(Vec::new()));
    let seen = tasks.clone();
    eio.on_message(move |_eio, _sid, data| {
        seen.lock().unwrap().push((data, tokio::task::try_id()));
    });
    let base = start(&eio).await;
    let sid = open_polling(&base).await;
    // One pooled connection for both POSTs.
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    for body in ["4one", "4two"] {
        let resp = client
            .post(url(&base, &sid_query(&sid)))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.text().await.unwrap(), "ok");
    }
    let tasks = tasks.lock().unwrap().clone();
    assert_eq!(
        tasks.iter().map(|(d, _)| d.clone()).collect::<Vec<_>>(),
        [Data::from("one"), Data::from("two")],
        "both handled before their POST was answered"
    );
    let (a, b) = (tasks[0].1, tasks[1].1);
    assert!(a.is_some(), "handlers run on a task");
    assert_eq!(a, b, "the connection's task ran both handlers");
}
