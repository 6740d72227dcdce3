//! Checks the test harness itself: every reference peer in `interop/` starts,
//! and every client CLI talks to every reference server (Node engine.io and
//! python-engineio). Our own server and client are not involved; the
//! conformance tests point these same peers at them.
//!
//! The close reasons asserted here are the reference peers' own behaviour,
//! recorded so that a change of pinned versions shows up.

mod common;

use std::time::Duration;

use common::{node_client, node_server, python_client, python_server, ClientProc};
use serde_json::{json, Value};

const T: Duration = Duration::from_secs(10);

/// GETs a polling handshake and returns the open packet's JSON.
async fn polling_handshake(base: &str) -> Value {
    let resp = reqwest::get(format!("{base}/engine.io/?EIO=4&transport=polling"))
        .await
        .expect("handshake GET");
    assert_eq!(resp.status(), 200);
    let body = resp.text().await.expect("body");
    assert!(
        body.starts_with("0{\"sid\""),
        "not an open packet: {body:?}"
    );
    let open: Value = serde_json::from_str(&body[1..]).expect("handshake JSON");
    let sid = open["sid"].as_str().expect("sid");
    assert_eq!(sid.len(), 20, "{open}");
    assert_eq!(open["upgrades"], json!(["websocket"]), "{open}");
    for key in ["pingInterval", "pingTimeout", "maxPayload"] {
        assert!(open[key].is_u64(), "{key} in {open}");
    }
    open
}

#[tokio::test]
async fn node_server_answers_a_polling_handshake() {
    let peer = node_server(json!({"pingInterval": 300, "pingTimeout": 200}));
    let open = polling_handshake(&peer.base_url()).await;
    assert_eq!(open["pingInterval"], 300);
    assert_eq!(open["pingTimeout"], 200);
    assert_eq!(open["maxPayload"], 1_000_000);
}

#[tokio::test]
async fn python_server_answers_a_polling_handshake() {
    let peer = python_server(json!({"ping_interval": 2, "ping_timeout": 1,
                                    "max_http_buffer_size": 5000}));
    let open = polling_handshake(&peer.base_url()).await;
    assert_eq!(open["pingInterval"], 2000);
    assert_eq!(open["pingTimeout"], 1000);
    assert_eq!(open["maxPayload"], 5000);
}

#[tokio::test]
async fn node_server_denies_a_query_with_deny() {
    let peer = node_server(json!({}));
    let url = format!(
        "{}/engine.io/?EIO=4&transport=polling&deny=1",
        peer.base_url()
    );
    let resp = reqwest::get(url).await.unwrap();
    assert_eq!(resp.status(), 403);
    let body: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    assert_eq!(body, json!({"code": 4, "message": "Forbidden"}));
}

#[tokio::test]
async fn python_server_rejects_a_query_with_reject() {
    let peer = python_server(json!({}));
    let url = format!(
        "{}/engine.io/?EIO=4&transport=polling&reject=1",
        peer.base_url()
    );
    let resp = reqwest::get(url).await.unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    assert_eq!(body, json!({"message": "rejected", "code": 42}));
}

/// The next event that is not `upgrade` (which may come at any point);
/// records whether one was seen.
fn next_skipping_upgrade(c: &mut ClientProc, upgraded: &mut bool) -> Value {
    loop {
        let ev = c.next_event(T);
        if ev["event"] == "upgrade" {
            assert_eq!(ev["transport"], "websocket", "{ev}");
            *upgraded = true;
        } else {
            return ev;
        }
    }
}

/// Open, text and binary echo, then the server's `disconnect`; returns the
/// close event and whether the client upgraded.
fn echo_then_server_disconnect(mut c: ClientProc, first_transport: &str) -> (Value, bool) {
    let mut upgraded = false;
    let open = next_skipping_upgrade(&mut c, &mut upgraded);
    assert_eq!(open["event"], "open", "{open}");
    assert_eq!(open["transport"], first_transport, "{open}");
    assert_eq!(open["sid"].as_str().map(str::len), Some(20), "{open}");
    assert_eq!(open["handshake"]["sid"], open["sid"], "{open}");

    c.send_text("hello");
    let ev = next_skipping_upgrade(&mut c, &mut upgraded);
    assert_eq!(
        ev,
        json!({"event": "message", "type": "text", "data": "hello"})
    );

    // Text that python-engineio would decode as JSON still echoes verbatim.
    c.send_text(r#"{"a": [1, true]}"#);
    let ev = next_skipping_upgrade(&mut c, &mut upgraded);
    assert_eq!(ev["data"], r#"{"a": [1, true]}"#, "{ev}");

    c.send_binary(&[0x00, 0x01, 0x02, 0xfe, 0xff]);
    let ev = next_skipping_upgrade(&mut c, &mut upgraded);
    assert_eq!(
        ev,
        json!({"event": "message", "type": "binary", "data": "000102feff"})
    );

    c.send_text("disconnect");
    let close = next_skipping_upgrade(&mut c, &mut upgraded);
    assert_eq!(close["event"], "close", "{close}");
    let status = c.wait_exit(T).expect("client exits after close");
    assert!(status.success(), "{status:?}");
    (close, upgraded)
}

#[test]
fn node_client_echoes_with_node_server() {
    let server = node_server(json!({}));
    let c = node_client(&server.base_url(), json!({}));
    let (close, upgraded) = echo_then_server_disconnect(c, "polling");
    assert!(upgraded, "engine.io-client upgrades to websocket");
    // engine.io closes a WebSocket without a close packet.
    assert_eq!(close["reason"], "transport close", "{close}");
}

#[test]
fn node_client_echoes_with_python_server_over_polling() {
    // Polling only: over a WebSocket python-engineio sends a `1` packet and
    // keeps the socket open, and engine.io-client ignores `1` there, so the
    // client would only notice at its ping timeout.
    let server = python_server(json!({}));
    let c = node_client(&server.base_url(), json!({"transports": ["polling"]}));
    let (close, upgraded) = echo_then_server_disconnect(c, "polling");
    assert!(!upgraded);
    assert_eq!(close["reason"], "transport close", "{close}");
}

#[test]
fn node_client_closes_on_command_over_websocket_with_python_server() {
    let server = python_server(json!({}));
    let mut c = node_client(&server.base_url(), json!({"transports": ["websocket"]}));
    let open = c.next_event(T);
    assert_eq!(open["event"], "open", "{open}");
    assert_eq!(open["transport"], "websocket");
    assert_eq!(open["handshake"]["upgrades"], json!([]));
    c.send_text("hi");
    assert_eq!(c.next_event(T)["data"], "hi");
    c.close();
    let close = c.next_event(T);
    assert_eq!(
        close,
        json!({"event": "close", "reason": "forced close", "description": null})
    );
    assert!(c.wait_exit(T).is_some());
}

#[test]
fn node_client_reports_a_rejected_handshake() {
    let server = python_server(json!({}));
    let mut c = node_client(&format!("{}/?reject=1", server.base_url()), json!({}));
    let err = c.next_event(T);
    assert_eq!(err["event"], "error", "{err}");
    assert_eq!(err["description"], 401, "{err}");
    let close = c.next_event(T);
    assert_eq!(close["reason"], "transport error", "{close}");
}

#[test]
fn python_client_echoes_with_node_server() {
    let server = node_server(json!({}));
    let c = python_client(&server.base_url(), json!({}), false);
    let (close, upgraded) = echo_then_server_disconnect(c, "polling");
    assert!(upgraded, "python-engineio upgrades to websocket");
    // No close packet over the WebSocket: python-engineio sees the socket end.
    assert_eq!(close["reason"], "transport error", "{close}");
}

#[test]
fn python_async_client_echoes_with_node_server_over_polling() {
    let server = node_server(json!({}));
    let c = python_client(&server.base_url(), json!({"transports": ["polling"]}), true);
    let (close, upgraded) = echo_then_server_disconnect(c, "polling");
    assert!(!upgraded);
    assert_eq!(close["reason"], "server disconnect", "{close}");
}

#[test]
fn python_client_echoes_with_python_server() {
    let server = python_server(json!({}));
    let c = python_client(&server.base_url(), json!({}), false);
    let (close, upgraded) = echo_then_server_disconnect(c, "polling");
    assert!(upgraded);
    assert_eq!(close["reason"], "server disconnect", "{close}");
}

#[test]
fn python_async_client_echoes_with_python_server_over_websocket() {
    let server = python_server(json!({}));
    let c = python_client(
        &server.base_url(),
        json!({"transports": ["websocket"]}),
        true,
    );
    let (close, upgraded) = echo_then_server_disconnect(c, "websocket");
    assert!(!upgraded);
    assert_eq!(close["reason"], "server disconnect", "{close}");
}

#[test]
fn python_client_reports_a_rejected_handshake() {
    let server = python_server(json!({}));
    let mut c = python_client(
        &format!("{}/?reject=1", server.base_url()),
        json!({}),
        false,
    );
    let err = c.next_event(T);
    assert_eq!(err["event"], "error", "{err}");
    assert_eq!(
        err["description"],
        json!({"message": "rejected", "code": 42}),
        "{err}"
    );
    let status = c.wait_exit(T).expect("exits after a failed connect");
    assert_eq!(status.code(), Some(1));
}

/// The `_async` API, in a runtime, with the client closing on command.
#[tokio::test]
async fn python_async_client_closes_on_command_with_node_server() {
    let server = node_server(json!({}));
    let mut c = python_client(&server.base_url(), json!({}), true);
    let open = c.next_event_async(T).await;
    assert_eq!(open["event"], "open", "{open}");
    let up = c.next_event_async(T).await;
    assert_eq!(up, json!({"event": "upgrade", "transport": "websocket"}));
    c.send_text("hi");
    let msg = c.wait_for_async("message", T).await;
    assert_eq!(msg["data"], "hi");
    c.close();
    let close = c.wait_for_async("close", T).await;
    assert_eq!(close["reason"], "client disconnect", "{close}");
}
