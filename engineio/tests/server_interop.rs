//! Our server with the real clients: engine.io-client (Node) and
//! python-engineio (sync and asyncio), over polling, WebSocket and
//! polling-then-upgrade; text and binary both ways; server-side close.

mod common;
mod server_util;

use std::time::Duration;

use common::ClientProc;
use engineio::server::{Data, DisconnectReason, Server, Sid};
use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedReceiver;

const T: Duration = Duration::from_secs(15);

/// An echo server that closes a session on the text `disconnect` and
/// reports every disconnect reason.
async fn echo() -> (Server, String, UnboundedReceiver<DisconnectReason>) {
    let eio = Server::new();
    eio.on_message(move |tx, sid, data| {
        if matches!(&data, Data::Text(t) if t == "disconnect") {
            let _ = tx.disconnect(sid);
        } else {
            let _ = tx.send(sid, data);
        }
    });
    let (dtx, drx) = tokio::sync::mpsc::unbounded_channel();
    eio.on_disconnect(move |_eio, _, reason| {
        let _ = dtx.send(reason);
    });
    let base = server_util::start(&eio).await;
    (eio, base, drx)
}

/// The next `message` event, skipping others.
async fn message(client: &mut ClientProc) -> (String, String) {
    let m = client.wait_for_async("message", T).await;
    (
        m["type"].as_str().unwrap_or_default().to_owned(),
        m["data"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn run(make: impl FnOnce(&str) -> ClientProc, first: &str, upgrade: bool, last: &str) {
    let (eio, base, mut reasons) = echo().await;
    let mut client = make(&base);
    let open = client.wait_for_async("open", T).await;
    assert_eq!(open["transport"], first, "{open}");
    let sid: Sid = open["sid"].as_str().expect("sid").parse().expect("a sid");
    if upgrade {
        let up = client.wait_for_async("upgrade", T).await;
        assert_eq!(up["transport"], "websocket");
        // The server switches when it handles `5`.
        let start = std::time::Instant::now();
        while eio.transport(sid).ok() != Some(engineio::server::TransportKind::WebSocket) {
            assert!(start.elapsed() < T, "server never saw the upgrade");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    assert_eq!(
        eio.transport(sid).unwrap().as_str(),
        last,
        "server-side transport"
    );

    // Client → server → client, text and binary.
    client.send_text("hello €");
    assert_eq!(
        message(&mut client).await,
        ("text".into(), "hello €".into())
    );
    client.send_binary(&[0, 1, 2, 255]);
    assert_eq!(
        message(&mut client).await,
        ("binary".into(), "000102ff".into())
    );
    // Server-initiated, from outside any handler.
    eio.send(sid, "from the server").unwrap();
    assert_eq!(
        message(&mut client).await,
        ("text".into(), "from the server".into())
    );
    eio.send(sid, vec![9u8, 8, 7]).unwrap();
    assert_eq!(
        message(&mut client).await,
        ("binary".into(), "090807".into())
    );

    // Server-side disconnect: the client sees its session closed.
    client.send_text("disconnect");
    client.wait_for_async("close", T).await;
    assert_eq!(
        tokio::time::timeout(T, reasons.recv()).await.unwrap(),
        Some(DisconnectReason::ServerDisconnect)
    );
}

fn node(opts: Value) -> impl FnOnce(&str) -> ClientProc {
    move |base| common::node_client(base, opts)
}

fn python(opts: Value, use_async: bool) -> impl FnOnce(&str) -> ClientProc {
    move |base| common::python_client(base, opts, use_async)
}

#[tokio::test]
async fn node_client_polling() {
    run(
        node(json!({"transports": ["polling"]})),
        "polling",
        false,
        "polling",
    )
    .await;
}

#[tokio::test]
async fn node_client_websocket() {
    run(
        node(json!({"transports": ["websocket"]})),
        "websocket",
        false,
        "websocket",
    )
    .await;
}

#[tokio::test]
async fn node_client_polling_then_upgrade() {
    run(node(json!({})), "polling", true, "websocket").await;
}

#[tokio::test]
async fn python_client_polling() {
    run(
        python(json!({"transports": ["polling"]}), false),
        "polling",
        false,
        "polling",
    )
    .await;
}

#[tokio::test]
async fn python_client_websocket() {
    run(
        python(json!({"transports": ["websocket"]}), false),
        "websocket",
        false,
        "websocket",
    )
    .await;
}

#[tokio::test]
async fn python_client_polling_then_upgrade() {
    run(python(json!({}), false), "polling", true, "websocket").await;
}

#[tokio::test]
async fn python_async_client_polling_then_upgrade() {
    run(python(json!({}), true), "polling", true, "websocket").await;
}

#[tokio::test]
async fn node_client_is_refused_with_the_connect_handlers_401() {
    let eio = Server::new();
    eio.on_connect(|_eio, _, req| match req.query_param("token").as_deref() {
        Some("good") => Ok(()),
        _ => Err(engineio::server::Reject::with_body(
            json!({"message": "bad token"}),
        )),
    });
    let base = server_util::start(&eio).await;
    let mut client = common::node_client(&base, json!({"query": {"token": "bad"}}));
    let err = client.wait_for_async("error", T).await;
    assert!(
        err.to_string().contains("401") || err.to_string().contains("bad token"),
        "{err}"
    );
    let mut client = common::node_client(&base, json!({"query": {"token": "good"}}));
    client.wait_for_async("open", T).await;
}
