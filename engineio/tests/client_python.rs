//! The async and blocking clients against the reference python-engineio
//! server (`AsyncServer` under uvicorn).

mod client_util;
mod common;

use std::time::Duration;

use client_util::*;
use engineio::client::{blocking, ClientError, ClientEvent, Data};
use engineio::proto::{DisconnectReason, TransportKind};
use serde_json::json;

#[tokio::test]
async fn echo_text_and_binary_on_every_transport() {
    let server = common::python_server(json!({}));
    for (mode, transports) in MODES {
        let client = builder(transports)
            .connect(server.base_url())
            .await
            .unwrap_or_else(|e| panic!("{mode}: {e}"));
        let mut events = client.events();
        if mode == "upgrade" {
            next_upgrade(&mut events).await;
            assert_eq!(client.transport(), TransportKind::WebSocket);
        }
        client.send("hello é").unwrap();
        assert_eq!(next_message(&mut events).await, text("hello é"), "{mode}");
        client.send(vec![1u8, 2, 3, 4]).unwrap();
        assert_eq!(
            next_message(&mut events).await,
            binary(&[1, 2, 3, 4]),
            "{mode}"
        );
        client.disconnect().await;
        assert_eq!(
            next_disconnect(&mut events).await,
            DisconnectReason::ClientDisconnect,
            "{mode}"
        );
    }
}

#[tokio::test]
async fn a_rejecting_connect_handler_gives_401_with_its_json() {
    let server = common::python_server(json!({}));
    let url = format!("{}/?reject=1", server.base_url());
    match builder(&[TransportKind::Polling]).connect(&url).await {
        Err(ClientError::HandshakeRejected { status, body }) => {
            assert_eq!(status, 401);
            assert_eq!(body, Some(json!({"message": "rejected", "code": 42})));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    match builder(&[TransportKind::WebSocket]).connect(&url).await {
        Err(ClientError::HandshakeRejected { status, .. }) => {
            assert!(status.is_client_error(), "{status}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    match blocking::Client::builder()
        .handle_sigint(false)
        .connect(&url)
    {
        Err(ClientError::HandshakeRejected { status, body }) => {
            assert_eq!(status, 401);
            assert_eq!(body, Some(json!({"message": "rejected", "code": 42})));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn server_initiated_disconnect_is_reported_as_such() {
    let server = common::python_server(json!({}));
    for (mode, transports) in MODES {
        let client = builder(transports)
            .connect(server.base_url())
            .await
            .unwrap();
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
    }
}

/// python-engineio truncates fractional ping intervals, so whole seconds.
#[tokio::test]
async fn sessions_outlive_three_ping_intervals() {
    let server = common::python_server(json!({"ping_interval": 1, "ping_timeout": 1}));
    let url = server.base_url();
    let runs = MODES.map(|(mode, transports)| {
        let url = url.clone();
        tokio::spawn(async move {
            let client = builder(transports).connect(&url).await.unwrap();
            assert_eq!(client.handshake().ping_interval(), Duration::from_secs(1));
            let mut events = client.events();
            tokio::time::sleep(Duration::from_millis(3300)).await;
            assert!(client.is_connected(), "{mode}");
            client.send("alive").unwrap();
            assert_eq!(next_message(&mut events).await, text("alive"), "{mode}");
            client.disconnect().await;
        })
    });
    for r in runs {
        r.await.unwrap();
    }
}

#[tokio::test]
async fn message_order_is_kept_across_the_upgrade() {
    let server = common::python_server(json!({}));
    let client = builder(&[TransportKind::Polling, TransportKind::WebSocket])
        .connect(server.base_url())
        .await
        .unwrap();
    let mut events = client.events();
    // Nothing would cross the upgrade if it were done before the first send,
    // or came after the last.
    assert_eq!(
        client.transport(),
        TransportKind::Polling,
        "the upgrade was done before the first send"
    );
    let sender = client.clone();
    // One message a millisecond until the switch is seen, then the rest;
    // returns how many went out before it.
    let send = tokio::spawn(async move {
        let mut before = None;
        for i in 0..1000 {
            sender.send(format!("m{i}")).unwrap();
            if before.is_none() {
                if sender.transport() == TransportKind::WebSocket {
                    before = Some(i + 1);
                } else {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        }
        before
    });
    let mut got = Vec::new();
    while got.len() < 1000 {
        match next_event(&mut events, 20).await {
            ClientEvent::Message(Data::Text(t)) => got.push(t.to_string()),
            ClientEvent::Connect | ClientEvent::Upgrade => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    let before = send
        .await
        .unwrap()
        .expect("the upgrade came after the 1,000 paced sends");
    assert!(before > 1, "sends straddle the upgrade ({before})");
    let want: Vec<String> = (0..1000).map(|i| format!("m{i}")).collect();
    assert!(got == want, "out of order or duplicated: {got:?}");
    assert_eq!(client.transport(), TransportKind::WebSocket);
    client.disconnect().await;
}

#[test]
fn blocking_client_echo_on_every_transport() {
    let server = common::python_server(json!({}));
    for (mode, transports) in MODES {
        let client = blocking::Client::builder()
            .transports(transports.iter().copied())
            .handle_sigint(false)
            .connect(server.base_url())
            .unwrap_or_else(|e| panic!("{mode}: {e}"));
        let mut events = client.events();
        client.send("hi").unwrap();
        client.send(vec![9u8, 8]).unwrap();
        let mut got = Vec::new();
        while got.len() < 2 {
            match events.recv_timeout(Duration::from_secs(10)).expect(mode) {
                ClientEvent::Message(d) => got.push(d),
                ClientEvent::Connect | ClientEvent::Upgrade => {}
                other => panic!("{mode}: {other:?}"),
            }
        }
        assert_eq!(
            got,
            vec![Data::from("hi"), Data::from(vec![9u8, 8])],
            "{mode}"
        );
        client.send("disconnect").unwrap();
        assert_eq!(client.wait(), DisconnectReason::ServerDisconnect, "{mode}");
    }
}
