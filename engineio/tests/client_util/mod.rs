//! Helpers shared by the client test files (`client_*.rs`).
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::extract::RawQuery;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use engineio::client::{ClientBuilder, ClientEvent, Data, Events};
use engineio::proto::TransportKind;

/// The three ways to connect, with a label for messages.
pub const MODES: [(&str, &[TransportKind]); 3] = [
    ("polling", &[TransportKind::Polling]),
    ("websocket", &[TransportKind::WebSocket]),
    (
        "upgrade",
        &[TransportKind::Polling, TransportKind::WebSocket],
    ),
];

/// A builder for tests: the given transports, Ctrl-C left alone.
pub fn builder(transports: &[TransportKind]) -> ClientBuilder {
    ClientBuilder::new()
        .transports(transports.iter().copied())
        .handle_sigint(false)
}

/// The next event, within `secs` seconds.
pub async fn next_event(events: &mut Events, secs: u64) -> ClientEvent {
    match tokio::time::timeout(Duration::from_secs(secs), events.recv()).await {
        Ok(Some(ev)) => ev,
        Ok(None) => panic!("event stream ended"),
        Err(_) => panic!("no event within {secs} s"),
    }
}

/// The next message (skipping `Connect` / `Upgrade`), within 10 s.
pub async fn next_message(events: &mut Events) -> Data {
    loop {
        match next_event(events, 10).await {
            ClientEvent::Message(d) => return d,
            ClientEvent::Connect | ClientEvent::Upgrade => {}
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

/// Waits (up to 10 s) for the `Disconnect` event, skipping anything before.
pub async fn next_disconnect(events: &mut Events) -> engineio::proto::DisconnectReason {
    loop {
        if let ClientEvent::Disconnect(r) = next_event(events, 10).await {
            return r;
        }
    }
}

/// Waits (up to 10 s) for the `Upgrade` event, failing on a message.
pub async fn next_upgrade(events: &mut Events) {
    loop {
        match next_event(events, 10).await {
            ClientEvent::Upgrade => return,
            ClientEvent::Connect => {}
            other => panic!("expected the upgrade, got {other:?}"),
        }
    }
}

pub fn text(s: &str) -> Data {
    Data::from(s)
}

pub fn binary(b: &[u8]) -> Data {
    Data::from(b)
}

// --- a server that stops pinging -------------------------------------

pub const OPEN: &str = r#"0{"sid":"AAAAAAAAAAAAAAAAAAAA","upgrades":[],"pingInterval":200,"pingTimeout":100,"maxPayload":1000000}"#;

async fn engine(
    RawQuery(q): RawQuery,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> axum::response::Response {
    let q = q.unwrap_or_default();
    if let Ok(ws) = ws {
        return ws
            .on_upgrade(|mut socket| async move {
                let _ = socket.send(Message::Text(OPEN.into())).await;
                // Read (and ignore) whatever comes; never ping.
                while let Some(Ok(_)) = socket.recv().await {}
            })
            .into_response();
    }
    if q.contains("sid=") {
        // A long poll that never answers.
        std::future::pending::<()>().await;
    }
    OPEN.into_response()
}

/// A server that handshakes (polling or WebSocket, pingInterval 200 ms,
/// pingTimeout 100 ms) and then never pings. Must be called in a runtime.
pub async fn silent_server() -> SocketAddr {
    let app = Router::new().route("/engine.io/", get(engine).post(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}
