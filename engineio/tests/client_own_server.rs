//! The async and blocking clients against this crate's own server.

mod client_util;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use client_util::*;
use engineio::client::{blocking, ClientError, ClientEvent, ClientSid};
use engineio::proto::{DisconnectReason, TransportKind};
use engineio::server::{Reject, Server, Sid};
use serde_json::json;

struct Own {
    url: String,
    /// The server's view of how each session ended.
    ends: Arc<Mutex<Vec<(Sid, DisconnectReason)>>>,
}

impl Own {
    fn reason_for(&self, sid: &ClientSid) -> Option<DisconnectReason> {
        self.ends
            .lock()
            .unwrap()
            .iter()
            .find(|(s, _)| s == sid)
            .map(|(_, r)| *r)
    }

    async fn wait_reason(&self, sid: &ClientSid) -> DisconnectReason {
        let start = Instant::now();
        loop {
            if let Some(r) = self.reason_for(sid) {
                return r;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "server saw no end"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// An echo server: `disconnect` closes the session, a query with `reject`
/// is refused with 401 `{"message":"rejected","code":42}`.
async fn own_server() -> Own {
    let eio = Server::builder()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let ends = Arc::new(Mutex::new(Vec::new()));
    let log = ends.clone();
    eio.on_connect(|eio, sid, req| {
        if req.query_param("reject").is_some() {
            return Err(Reject::with_body(
                json!({"message": "rejected", "code": 42}),
            ));
        }
        if req.query_param("welcome").is_some() {
            let _ = eio.send(sid, "welcome");
        }
        Ok(())
    })
    .on_message(|eio, sid, data| {
        if data == "disconnect".into() {
            let _ = eio.disconnect(sid);
        } else {
            let _ = eio.send(sid, data);
        }
    })
    .on_disconnect(move |_eio, sid, reason| log.lock().unwrap().push((sid, reason)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { eio.serve(listener).await });
    Own { url, ends }
}

#[tokio::test]
async fn echo_heartbeat_and_both_ends_agree_on_reasons() {
    let own = own_server().await;
    for (mode, transports) in MODES {
        let client = builder(transports)
            .connect(&own.url)
            .await
            .unwrap_or_else(|e| panic!("{mode}: {e}"));
        let mut events = client.events();
        if mode == "upgrade" {
            next_upgrade(&mut events).await;
        }
        client.send("hello").unwrap();
        assert_eq!(next_message(&mut events).await, text("hello"), "{mode}");
        client.send(vec![7u8; 3]).unwrap();
        assert_eq!(next_message(&mut events).await, binary(&[7; 3]), "{mode}");
        // Three ping intervals.
        tokio::time::sleep(Duration::from_millis(1000)).await;
        assert!(client.is_connected(), "{mode}");
        client.disconnect().await;
        assert_eq!(
            own.wait_reason(client.sid()).await,
            DisconnectReason::ClientDisconnect,
            "{mode}: the server got the close packet"
        );

        let client = builder(transports).connect(&own.url).await.unwrap();
        let mut events = client.events();
        if mode == "upgrade" {
            next_upgrade(&mut events).await;
        }
        client.send("disconnect").unwrap();
        assert_eq!(
            next_disconnect(&mut events).await,
            DisconnectReason::ServerDisconnect,
            "{mode}"
        );
        assert_eq!(
            own.wait_reason(client.sid()).await,
            DisconnectReason::ServerDisconnect
        );
    }
}

#[tokio::test]
async fn rejection_and_order_across_the_upgrade() {
    let own = own_server().await;
    let url = format!("{}/?reject=1", own.url);
    for (mode, transports) in MODES {
        match builder(transports).connect(&url).await {
            Err(ClientError::HandshakeRejected { status, body }) => {
                assert_eq!(status, 401, "{mode}");
                if transports[0] == TransportKind::Polling {
                    assert_eq!(body, Some(json!({"message": "rejected", "code": 42})));
                }
            }
            other => panic!("{mode}: expected a refusal, got {other:?}"),
        }
    }

    let client = builder(&[TransportKind::Polling, TransportKind::WebSocket])
        .connect(&own.url)
        .await
        .unwrap();
    let mut events = client.events();
    let sender = client.clone();
    let send = tokio::spawn(async move {
        for i in 0..1000 {
            sender.send(format!("m{i}")).unwrap();
            if sender.transport() == TransportKind::Polling && i < 500 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    });
    let mut got = Vec::new();
    while got.len() < 1000 {
        match next_event(&mut events, 20).await {
            ClientEvent::Message(engineio::client::Data::Text(t)) => got.push(t.to_string()),
            ClientEvent::Connect | ClientEvent::Upgrade => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    send.await.unwrap();
    let want: Vec<String> = (0..1000).map(|i| format!("m{i}")).collect();
    assert!(got == want, "out of order or duplicated: {got:?}");
    client.disconnect().await;
}

#[tokio::test]
async fn dropping_a_client_ends_its_server_session() {
    let own = own_server().await;
    let client = builder(&[TransportKind::WebSocket])
        .connect(&own.url)
        .await
        .unwrap();
    let sid = client.sid().to_owned();
    drop(client);
    let reason = own.wait_reason(&sid).await;
    assert_eq!(reason, DisconnectReason::TransportClose);
}

#[tokio::test]
async fn blocking_client_against_our_server() {
    let own = own_server().await;
    let url = own.url.clone();
    tokio::task::spawn_blocking(move || {
        for (mode, transports) in MODES {
            let client = blocking::Client::builder()
                .transports(transports.iter().copied())
                .handle_sigint(false)
                .connect(&url)
                .unwrap_or_else(|e| panic!("{mode}: {e}"));
            let mut events = client.events();
            client.send("x").unwrap();
            loop {
                match events.recv_timeout(Duration::from_secs(10)).expect(mode) {
                    ClientEvent::Message(d) => break assert_eq!(d, text("x")),
                    ClientEvent::Connect | ClientEvent::Upgrade => {}
                    other => panic!("{mode}: {other:?}"),
                }
            }
            client.send("disconnect").unwrap();
            assert_eq!(client.wait(), DisconnectReason::ServerDisconnect, "{mode}");
        }
    })
    .await
    .unwrap();
}

/// `flush` returns only once the server has the messages queued before it:
/// over polling that means their POST was answered, so a server-side
/// record of them exists without any waiting.
#[tokio::test]
async fn flush_returns_once_queued_messages_reached_the_server() {
    let eio = Server::builder().build().unwrap();
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let log = seen.clone();
    eio.on_message(move |_eio, _sid, data| {
        if let engineio::proto::Data::Text(t) = data {
            log.lock().unwrap().push(t.as_str().to_owned());
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { eio.serve(listener).await });
    let client = builder(&[TransportKind::Polling])
        .connect(&url)
        .await
        .unwrap();
    for i in 0..50 {
        client.send(format!("m{i}")).unwrap();
    }
    client.flush().await;
    assert_eq!(seen.lock().unwrap().len(), 50, "flush returned early");
    client.disconnect().await;
    // On a closed connection it returns at once.
    tokio::time::timeout(Duration::from_secs(1), client.flush())
        .await
        .expect("flush on a closed client hangs");
}

/// What the cookie test's middleware saw of one request with a sid.
#[derive(Debug, Clone)]
struct SeenRequest {
    websocket: bool,
    cookie: String,
}

/// Cookies set on the polling handshake, as a sticky load balancer sets
/// them, reach every later request of the session, the WebSocket upgrade
/// included, as their attributes say: `Max-Age=05` is five seconds (alive),
/// a `Path` elsewhere keeps its cookie away, `Max-Age=0` deletes. A
/// `Cookie` header of the user's goes along, first.
#[tokio::test]
async fn handshake_cookies_reach_later_requests_and_the_upgrade() {
    use axum::extract::Request;
    use axum::middleware::Next;
    use http::header::{COOKIE, SET_COOKIE};
    use http::HeaderValue;

    let eio = Server::new();
    eio.on_message(move |echo, sid, data| {
        let _ = echo.send(sid, data);
    });
    let seen = Arc::new(Mutex::new(Vec::<SeenRequest>::new()));
    let log = seen.clone();
    let cookies = move |req: Request, next: Next| {
        let log = log.clone();
        async move {
            let query = req.uri().query().unwrap_or_default().to_owned();
            let handshake = !query.contains("sid=");
            if !handshake {
                log.lock().unwrap().push(SeenRequest {
                    websocket: query.contains("transport=websocket"),
                    cookie: req
                        .headers()
                        .get(COOKIE)
                        .map(|v| v.to_str().unwrap().to_owned())
                        .unwrap_or_default(),
                });
            }
            let mut resp = next.run(req).await;
            if handshake {
                for c in [
                    "lb=node1; Max-Age=05",
                    "scoped=1; Path=/engine.io/",
                    "elsewhere=1; Path=/other/",
                    "expired=1; Max-Age=0",
                ] {
                    resp.headers_mut()
                        .append(SET_COOKIE, HeaderValue::from_static(c));
                }
            }
            resp
        }
    };
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "home" }))
        .layer(eio.layer())
        .layer(axum::middleware::from_fn(cookies));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let client = builder(&[TransportKind::Polling, TransportKind::WebSocket])
        .header("Cookie", "user=1")
        .connect(&url)
        .await
        .unwrap();
    let mut events = client.events();
    client.send("before").unwrap();
    assert_eq!(next_message(&mut events).await, text("before"));
    let start = Instant::now();
    while client.transport() != TransportKind::WebSocket {
        assert!(start.elapsed() < Duration::from_secs(10), "no upgrade");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    client.send("after").unwrap();
    assert_eq!(next_message(&mut events).await, text("after"));
    client.disconnect().await;

    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.iter().any(|r| r.websocket),
        "no upgrade request: {seen:?}"
    );
    assert!(
        seen.iter().any(|r| !r.websocket),
        "no polling request: {seen:?}"
    );
    for r in &seen {
        let mut names: Vec<&str> = r
            .cookie
            .split("; ")
            .map(|c| c.split_once('=').map_or(c, |(n, _)| n))
            .collect();
        assert_eq!(names.first(), Some(&"user"), "{r:?}");
        names.sort_unstable();
        assert_eq!(names, ["lb", "scoped", "user"], "{r:?}");
    }
}

/// Ctrl-C (`handle_sigint`, the default) in a process with a connected
/// client: the client disconnects gracefully (the server gets `close`),
/// then the process ends killed by SIGINT, as it would without the handler;
/// with no client connected, it ends by SIGINT at once. The library never
/// calls `exit`. The clients run in child processes: this test binary
/// again, running only [`sigint_child`].
#[cfg(unix)]
#[tokio::test]
async fn ctrl_c_disconnects_then_ends_the_process_by_sigint() {
    use std::io::BufRead as _;
    use std::os::unix::process::ExitStatusExt as _;

    let own = own_server().await;
    for mode in ["connected", "idle"] {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "sigint_child", "--nocapture", "--test-threads=1"])
            .env("EIO_SIGINT_CHILD_URL", &own.url)
            .env("EIO_SIGINT_CHILD_MODE", mode)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Read every line (a closed pipe would fail the child's prints),
        // passing on the one that says it is ready.
        let stdout = child.stdout.take().unwrap();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in std::io::BufReader::new(stdout).lines() {
                let line = line.unwrap();
                // libtest may have written `test sigint_child ... ` first.
                if let Some((_, sid)) = line.split_once("sigint-child ready ") {
                    let _ = ready_tx.send(sid.to_owned());
                }
                lines.push(line);
            }
            lines
        });
        let sid =
            tokio::task::spawn_blocking(move || ready_rx.recv_timeout(Duration::from_secs(20)))
                .await
                .unwrap()
                .unwrap_or_else(|_| panic!("{mode}: the child is not ready"));
        let kill = std::process::Command::new("sh")
            .args(["-c", &format!("kill -INT {}", child.id())])
            .status()
            .unwrap();
        assert!(kill.success());
        let start = Instant::now();
        let status = tokio::task::spawn_blocking(move || child.wait())
            .await
            .unwrap()
            .unwrap();
        let lines = reader.join().unwrap();
        assert_eq!(status.signal(), Some(2), "{mode}: {status:?}, {lines:?}");
        assert!(start.elapsed() < Duration::from_secs(5), "{mode}");
        assert!(
            !lines.iter().any(|l| l.contains("still alive")),
            "{mode}: {lines:?}"
        );
        assert_eq!(
            own.wait_reason(&ClientSid::from(sid)).await,
            DisconnectReason::ClientDisconnect,
            "{mode}: the server got the close packet"
        );
    }
}

/// The child process of [`ctrl_c_disconnects_then_ends_the_process_by_sigint`];
/// does nothing unless that test started it.
#[test]
fn sigint_child() {
    let (Ok(url), Ok(mode)) = (
        std::env::var("EIO_SIGINT_CHILD_URL"),
        std::env::var("EIO_SIGINT_CHILD_MODE"),
    ) else {
        return;
    };
    // `handle_sigint` is on by default.
    let client = blocking::Client::builder().connect(&url).unwrap();
    if mode == "idle" {
        // Registered no more: Ctrl-C finds no client.
        client.disconnect();
    }
    println!("sigint-child ready {}", client.sid());
    println!("sigint-child wait returned: {}", client.wait());
    std::thread::sleep(Duration::from_secs(10));
    println!("sigint-child still alive");
}

#[tokio::test]
async fn a_builder_stream_gets_every_event_whatever_the_handlers() {
    // A message sent by the server's connect handler comes with the
    // handshake's answer; a disconnect handler is registered, so a stream
    // taken from the client after `connect` would start later.
    let own = own_server().await;
    let (tx, rx) = std::sync::mpsc::channel();
    let mut builder = engineio::Client::builder()
        .transports([TransportKind::Polling])
        .on_disconnect(move |reason| {
            let _ = tx.send(reason);
        });
    let mut events = builder.events();
    let client = builder
        .connect(format!("{}/?welcome=1", own.url))
        .await
        .unwrap();
    assert!(matches!(
        next_in_time(&mut events).await,
        Some(ClientEvent::Connect)
    ));
    match next_in_time(&mut events).await {
        Some(ClientEvent::Message(m)) => assert_eq!(m.as_str(), Some("welcome")),
        other => panic!("expected the welcome, got {other:?}"),
    }
    client.disconnect().await;
    assert!(matches!(
        next_in_time(&mut events).await,
        Some(ClientEvent::Disconnect(DisconnectReason::ClientDisconnect))
    ));
    assert!(next_in_time(&mut events).await.is_none());
    assert_eq!(rx.recv().unwrap(), DisconnectReason::ClientDisconnect);
}

async fn next_in_time(events: &mut engineio::client::Events) -> Option<ClientEvent> {
    tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .expect("an event in time")
}

/// A TCP relay to `upstream` that counts the connections open through it:
/// (open now, most at once).
async fn counting_relay(upstream: String) -> (String, Arc<Mutex<(usize, usize)>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let counts = Arc::new(Mutex::new((0, 0)));
    let c = counts.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut down, _)) = listener.accept().await else {
                return;
            };
            let mut up = tokio::net::TcpStream::connect(&upstream).await.unwrap();
            {
                let mut c = c.lock().unwrap();
                c.0 += 1;
                c.1 = c.1.max(c.0);
            }
            let c = c.clone();
            tokio::spawn(async move {
                let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                c.lock().unwrap().0 -= 1;
            });
        }
    });
    (url, counts)
}

/// Once upgraded, the client sends nothing more over HTTP: it drops its
/// HTTP client, which closes the long poll's and the POST's pooled
/// connections at once (they stayed open for reqwest's 90 s idle timeout),
/// and the WebSocket carries on alone.
#[tokio::test]
async fn after_the_upgrade_only_the_websocket_stays_open() {
    let own = own_server().await;
    let (url, counts) = counting_relay(own.url.trim_start_matches("http://").to_owned()).await;
    let client = builder(&[TransportKind::Polling, TransportKind::WebSocket])
        .connect(&url)
        .await
        .unwrap();
    let mut events = client.events();
    // A POST while polling (unless the upgrade is done already), so that
    // the pool holds more than the long poll. The echo and the upgrade may
    // come in either order.
    client.send("before").unwrap();
    let (mut echoed, mut upgraded) = (false, false);
    while !(echoed && upgraded) {
        match next_event(&mut events, 10).await {
            ClientEvent::Message(d) => {
                assert_eq!(d, text("before"));
                echoed = true;
            }
            ClientEvent::Upgrade => upgraded = true,
            ClientEvent::Connect => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    let start = Instant::now();
    loop {
        let (open, most) = *counts.lock().unwrap();
        assert!(
            most >= 2,
            "polling and the WebSocket used {most} connection(s)"
        );
        if open == 1 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{open} connections still open after the upgrade"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    client.send("after").unwrap();
    assert_eq!(next_message(&mut events).await, text("after"));
    assert_eq!(client.transport(), TransportKind::WebSocket);
    client.disconnect().await;
}
