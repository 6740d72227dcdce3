//! Heartbeats in virtual time (`start_paused`): the default 25 s / 20 s
//! heartbeat runs for minutes of protocol time in milliseconds, and every
//! deadline is checked to the millisecond.
//!
//! The server is driven in-process through its tower service (no socket, so
//! tokio's clock advances only when every task waits on a timer). The client
//! runs against our server over loopback TCP in the same paused runtime.

use std::time::Duration;

use bytes::Bytes;
use engineio::client::{Client, ClientEvent, Data, DisconnectReason as ClientReason};
use engineio::proto::TransportKind;
use engineio::server::{DisconnectReason, NotFound, Server};
use http_body_util::{BodyExt, Full};
use tokio::time::Instant;
use tower::ServiceExt as _;

const INTERVAL: Duration = Duration::from_secs(25);
const TIMEOUT: Duration = Duration::from_secs(20);

/// One request through the server's service: status and body.
async fn call(eio: &Server, method: &str, query: &str, body: &str) -> (u16, String) {
    let req = http::Request::builder()
        .method(method)
        .uri(format!("/engine.io/?{query}"))
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    let resp = eio.service(NotFound).oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

/// Asserts that `t0.elapsed()` is `want`, to the millisecond.
fn at(t0: Instant, want: Duration, what: &str) {
    let got = t0.elapsed();
    assert!(
        got >= want && got < want + Duration::from_millis(1),
        "{what}: at {got:?}, expected {want:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn server_pings_every_interval_and_times_out_a_silent_client() {
    let eio = Server::new(); // python's defaults: 25 s interval, 20 s timeout
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    eio.on_disconnect(move |_eio, sid, reason| {
        let _ = tx.send((sid, reason, Instant::now()));
    });
    let t0 = Instant::now();
    let (status, open) = call(&eio, "GET", "EIO=4&transport=polling", "").await;
    assert_eq!(status, 200);
    let open: serde_json::Value = serde_json::from_str(open.strip_prefix('0').unwrap()).unwrap();
    assert_eq!(open["pingInterval"], 25_000);
    assert_eq!(open["pingTimeout"], 20_000);
    let sid = open["sid"].as_str().unwrap().to_owned();
    let q = format!("EIO=4&transport=polling&sid={sid}");

    // Three rounds: the first ping one interval after the handshake, each
    // next one an interval after the pong (as Node's `schedulePing` on a
    // pong, and python's), and each pong keeps the session alive.
    let mut ping_due = INTERVAL;
    for round in 1..=3u32 {
        let (status, body) = call(&eio, "GET", &q, "").await;
        assert_eq!((status, body.as_str()), (200, "2"), "round {round}");
        at(t0, ping_due, "ping");
        // The pong arrives 5 s later.
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(call(&eio, "POST", &q, "3").await, (200, "ok".to_owned()));
        ping_due += Duration::from_secs(5) + INTERVAL;
    }
    assert_eq!(eio.sids().len(), 1);

    // Now the client goes silent after the fourth ping: the session ends
    // one ping timeout after it, with the disconnect handler's reason.
    let (_, body) = call(&eio, "GET", &q, "").await;
    assert_eq!(body, "2");
    at(t0, ping_due, "fourth ping");
    let (gone, reason, when) = tokio::time::timeout(Duration::from_secs(60), rx.recv())
        .await
        .expect("the session must time out")
        .unwrap();
    assert_eq!(
        (gone.to_string(), reason),
        (sid, DisconnectReason::PingTimeout)
    );
    at(t0, ping_due + TIMEOUT, "ping timeout");
    assert_eq!(when, t0 + ping_due + TIMEOUT);
    assert!(eio.sids().is_empty());
    // The sid is unknown afterwards: code 1.
    let (status, body) = call(&eio, "GET", &q, "").await;
    assert_eq!(status, 400);
    assert!(body.contains("\"code\":1"), "{body}");
}

/// Our server on loopback, in the calling (paused) runtime.
async fn start(eio: &Server) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = eio.clone();
    tokio::spawn(async move { server.serve(listener).await });
    url
}

async fn next_event(events: &mut engineio::client::Events) -> ClientEvent {
    use futures_util::StreamExt as _;
    tokio::time::timeout(Duration::from_secs(300), events.next())
        .await
        .expect("an event within 300 virtual seconds")
        .expect("the stream ended")
}

#[tokio::test(start_paused = true)]
async fn client_answers_pings_for_ten_minutes_of_virtual_time() {
    for transport in [TransportKind::Polling, TransportKind::WebSocket] {
        let eio = Server::new();
        let (tx, mut pongs) = tokio::sync::mpsc::unbounded_channel();
        eio.on_message(|eio, sid, data| drop(eio.send(sid, data)));
        eio.on_disconnect(move |_eio, _, reason| {
            let _ = tx.send(reason);
        });
        let url = start(&eio).await;
        let client = Client::builder()
            .transports([transport])
            .connect(&url)
            .await
            .unwrap();
        let mut events = client.events();
        let t0 = Instant::now();
        // 24 ping rounds of the default heartbeat.
        tokio::time::sleep(INTERVAL * 24).await;
        at(t0, INTERVAL * 24, "sleep");
        assert_eq!(
            eio.sids().len(),
            1,
            "{transport}: the session must be alive"
        );
        assert!(pongs.try_recv().is_err(), "{transport}: no disconnect");
        client.send("still here").unwrap();
        loop {
            match next_event(&mut events).await {
                ClientEvent::Message(m) => {
                    assert_eq!(m, Data::from("still here"));
                    break;
                }
                ClientEvent::Disconnect(r) => panic!("{transport}: disconnected: {r:?}"),
                _ => {}
            }
        }
        client.disconnect().await;
        eio.shutdown(Duration::from_secs(1)).await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn client_notices_a_server_that_stops_pinging() {
    // A raw TCP server that answers the handshake and then holds every
    // long-poll forever: no ping ever comes.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut conn, _)) = listener.accept().await {
            let mut buf = vec![0u8; 4096];
            let n = conn.read(&mut buf).await.unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]).to_string();
            if !head.contains("sid=") {
                let body = r#"0{"sid":"AAAAAAAAAAAAAAAAAAAA","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=UTF-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(resp.as_bytes()).await;
            } else {
                held.push(conn); // never answered
            }
        }
    });
    let client = Client::builder()
        .transports([TransportKind::Polling])
        .connect(&url)
        .await
        .unwrap();
    let t0 = Instant::now();
    let reason = tokio::time::timeout(Duration::from_secs(300), client.wait())
        .await
        .expect("the client must give up within 300 virtual seconds");
    assert_eq!(reason, ClientReason::PingTimeout);
    // python-engineio's client waits pingInterval + pingTimeout for a ping.
    at(t0, INTERVAL + TIMEOUT, "client ping timeout");
}
