//! The async client against the reference Node engine.io server.

mod client_util;
mod common;

use std::time::Duration;

use client_util::*;
use engineio::client::{ClientError, ClientEvent};
use engineio::proto::{DisconnectReason, TransportKind};
use serde_json::json;

#[tokio::test]
async fn echo_text_and_binary_on_every_transport() {
    let server = common::node_server(json!({}));
    for (mode, transports) in MODES {
        let client = builder(transports)
            .connect(server.base_url())
            .await
            .unwrap_or_else(|e| panic!("{mode}: {e}"));
        let mut events = client.events();
        assert_eq!(client.transport(), transports[0], "{mode}");
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
        assert!(!client.is_connected());
        assert!(matches!(client.send("late"), Err(ClientError::Closed)));
    }
}
