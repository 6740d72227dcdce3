//! The async and blocking clients against this crate's own server.

mod client_util;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use client_util::*;
use engineio::client::{blocking, ClientError, ClientEvent};
use engineio::proto::{DisconnectReason, TransportKind};
use engineio::server::{Reject, Server, Sid};
use serde_json::json;

struct Own {
    url: String,
    /// The server's view of how each session ended.
    ends: Arc<Mutex<Vec<(Sid, DisconnectReason)>>>,
}

impl Own {
    fn reason_for(&self, sid: &str) -> Option<DisconnectReason> {
        self.ends
            .lock()
            .unwrap()
            .iter()
            .find(|(s, _)| s.as_str() == sid)
            .map(|(_, r)| *r)
    }

    async fn wait_reason(&self, sid: &str) -> DisconnectReason {
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
    let tx = eio.clone();
    let ends = Arc::new(Mutex::new(Vec::new()));
    let log = ends.clone();
    eio.on_connect(|_sid, req| match req.query_param("reject") {
        Some(_) => Err(Reject::with_body(
            json!({"message": "rejected", "code": 42}),
        )),
        None => Ok(()),
    })
    .on_message(move |sid, data| {
        if data == "disconnect".into() {
            let _ = tx.disconnect(sid);
        } else {
            let _ = tx.send(sid, data);
        }
    })
    .on_disconnect(move |sid, reason| log.lock().unwrap().push((sid, reason)));
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
            Err(ClientError::ConnectionRefused { status, body }) => {
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
    eio.on_message(move |_sid, data| {
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
