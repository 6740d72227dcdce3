//! The async client against the reference Node engine.io server (npm
//! `engine.io`), plus small fake servers for what Node will not do (stop
//! pinging).

mod client_util;
mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use client_util::*;
use engineio::client::{Client, ClientError, ClientEvent, Data};
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
        // engine.io's default sids have the form of ours.
        assert!(client.sid().to_sid().is_some(), "{}", client.sid());
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
        client.send_json(&json!({"foo": [1, "bar"]})).unwrap();
        assert_eq!(
            next_message(&mut events).await,
            text(r#"{"foo":[1,"bar"]}"#),
            "{mode}"
        );
        client.disconnect().await;
        assert_eq!(
            next_disconnect(&mut events).await,
            DisconnectReason::ClientDisconnect,
            "{mode}"
        );
        assert!(events.recv().await.is_none(), "{mode}: stream ends");
        assert!(!client.is_connected());
        assert!(matches!(client.send("late"), Err(ClientError::Closed)));
        assert_eq!(client.wait().await, DisconnectReason::ClientDisconnect);
    }
}

#[tokio::test]
async fn ws_urls_and_query_are_accepted() {
    let server = common::node_server(json!({}));
    let url = format!("ws://127.0.0.1:{}/ignored/path?token=a%20b", server.port);
    let client = builder(&[TransportKind::WebSocket])
        .engineio_path("engine.io")
        .timestamp_requests(false)
        .connect(&url)
        .await
        .unwrap();
    let mut events = client.events();
    client.send("x").unwrap();
    assert_eq!(next_message(&mut events).await, text("x"));
    client.disconnect().await;
}

#[tokio::test]
async fn sessions_outlive_three_ping_intervals() {
    let server = common::node_server(json!({"pingInterval": 300, "pingTimeout": 200}));
    let url = server.base_url();
    let runs = MODES.map(|(mode, transports)| {
        let url = url.clone();
        tokio::spawn(async move {
            let client = builder(transports).connect(&url).await.unwrap();
            assert_eq!(client.handshake().ping_interval_ms, 300);
            let mut events = client.events();
            tokio::time::sleep(Duration::from_millis(1200)).await;
            assert!(client.is_connected(), "{mode}: still connected");
            client.send("still here").unwrap();
            assert_eq!(
                next_message(&mut events).await,
                text("still here"),
                "{mode}"
            );
            client.disconnect().await;
            assert_eq!(
                next_disconnect(&mut events).await,
                DisconnectReason::ClientDisconnect,
                "{mode}"
            );
        })
    });
    for r in runs {
        r.await.unwrap();
    }
}

#[tokio::test]
async fn server_initiated_disconnect_is_reported_as_such() {
    let server = common::node_server(json!({}));
    for (mode, transports) in MODES {
        let reason = Arc::new(Mutex::new(Vec::new()));
        let seen = reason.clone();
        let client = builder(transports)
            .on_disconnect(move |r| seen.lock().unwrap().push(r))
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
        assert_eq!(client.wait().await, DisconnectReason::ServerDisconnect);
        assert_eq!(
            *reason.lock().unwrap(),
            vec![DisconnectReason::ServerDisconnect],
            "{mode}: the handler ran once"
        );
        assert!(!client.is_connected());
    }
}

#[tokio::test]
async fn refused_handshake_is_a_typed_error() {
    let server = common::node_server(json!({}));
    let url = format!("{}/?deny=1", server.base_url());
    match builder(&[TransportKind::Polling]).connect(&url).await {
        Err(ClientError::HandshakeRejected { status, body }) => {
            assert_eq!(status, 403);
            assert_eq!(body, Some(json!({"code": 4, "message": "Forbidden"})));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    match builder(&[TransportKind::WebSocket]).connect(&url).await {
        Err(ClientError::HandshakeRejected { status, .. }) => {
            assert!(status.is_client_error(), "{status}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn nothing_listening_is_a_connect_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    for (mode, transports) in MODES {
        let err = builder(transports)
            .connect(format!("http://127.0.0.1:{port}"))
            .await
            .expect_err(mode);
        assert!(err.is_connect(), "{mode}: {err:?}");
    }
}

#[tokio::test]
async fn invalid_arguments_are_typed_errors() {
    assert!(matches!(
        Client::connect("ftp://127.0.0.1:1").await,
        Err(ClientError::InvalidUrl(_))
    ));
    assert!(matches!(
        Client::connect("no url").await,
        Err(ClientError::InvalidUrl(_))
    ));
    assert!(matches!(
        builder(&[]).connect("http://127.0.0.1:1").await,
        Err(ClientError::InvalidTransports(_))
    ));
    assert!(matches!(
        builder(&[TransportKind::Polling])
            .header("bad header", "x")
            .connect("http://127.0.0.1:1")
            .await,
        Err(ClientError::InvalidHeader(_))
    ));
}

#[tokio::test]
async fn a_dead_server_ends_the_session_with_a_reason() {
    for (mode, transports) in MODES {
        let server = common::node_server(json!({}));
        let client = builder(transports)
            .connect(server.base_url())
            .await
            .unwrap();
        let mut events = client.events();
        if mode == "upgrade" {
            next_upgrade(&mut events).await;
        }
        drop(server);
        let reason = next_disconnect(&mut events).await;
        assert!(
            matches!(
                reason,
                DisconnectReason::TransportError | DisconnectReason::TransportClose
            ),
            "{mode}: {reason:?}"
        );
        assert!(!client.is_connected());
        assert!(matches!(client.send("x"), Err(ClientError::Closed)));
    }
}

/// 1,000 numbered messages, sent while the upgrade happens, come back in
/// order and once each. Two ways: one message a millisecond until the switch
/// (sends straddle the probe, the pause and the switch), then the rest; and
/// all at once with a small `maxHttpBufferSize`, so that polling carries the
/// first ones in several POSTs and the WebSocket the rest. Either way the
/// first message must find the session on polling, and in the first way the
/// switch must come during the sends: otherwise nothing crosses the upgrade
/// and the case fails.
#[tokio::test]
async fn message_order_is_kept_across_the_upgrade() {
    for (opts, burst) in [
        (json!({}), false),
        (json!({"maxHttpBufferSize": 2000}), true),
    ] {
        let server = common::node_server(opts.clone());
        let client = builder(&[TransportKind::Polling, TransportKind::WebSocket])
            .connect(server.base_url())
            .await
            .unwrap();
        let mut events = client.events();
        assert_eq!(
            client.transport(),
            TransportKind::Polling,
            "{opts}: the upgrade was done before the first send"
        );
        let sender = client.clone();
        // Returns how many messages went out before the switch was seen.
        let send = tokio::spawn(async move {
            let mut before = burst.then_some(0);
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
        let mut upgraded_at = None;
        while got.len() < 1000 {
            match next_event(&mut events, 20).await {
                ClientEvent::Message(Data::Text(t)) => got.push(t.to_string()),
                ClientEvent::Upgrade => upgraded_at = Some(got.len()),
                ClientEvent::Connect => {}
                other => panic!("{opts}: unexpected {other:?}"),
            }
        }
        let sent_before = send.await.unwrap();
        if !burst {
            let before = sent_before.expect("the upgrade came after the 1,000 paced sends");
            assert!(before > 1, "{opts}: sends straddle the upgrade ({before})");
        }
        let want: Vec<String> = (0..1000).map(|i| format!("m{i}")).collect();
        assert!(got == want, "{opts}: out of order or duplicated: {got:?}");
        if upgraded_at.is_none() {
            next_upgrade(&mut events).await;
        }
        assert_eq!(client.transport(), TransportKind::WebSocket);
        client.disconnect().await;
    }
}

#[tokio::test]
async fn handlers_run_in_order_and_can_answer() {
    let server = common::node_server(json!({}));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let client = builder(&[TransportKind::Polling, TransportKind::WebSocket])
        // python's basic example: say hello from the connect handler.
        .on_connect(|c: &Client| c.send("hello from client"))
        .on_message_async(move |c, data| {
            let log = log.clone();
            async move {
                let Data::Text(t) = data else { return };
                // Uneven handler durations must not reorder messages.
                if t.ends_with('0') {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                log.lock().unwrap().push(t.to_string());
                if t == "hello from client" {
                    for i in 0..50 {
                        c.send(format!("n{i}")).unwrap();
                    }
                }
                if t == "n49" {
                    // Disconnecting from a handler must not wait for itself.
                    c.disconnect().await;
                }
            }
        })
        .connect(server.base_url())
        .await
        .unwrap();
    let reason = tokio::time::timeout(Duration::from_secs(10), client.wait())
        .await
        .expect("wait returns");
    assert_eq!(reason, DisconnectReason::ClientDisconnect);
    let mut want = vec!["hello from client".to_owned()];
    want.extend((0..50).map(|i| format!("n{i}")));
    assert_eq!(*seen.lock().unwrap(), want);
}

#[tokio::test]
async fn a_failing_connect_handler_fails_connect() {
    let server = common::node_server(json!({}));
    let disconnects = Arc::new(Mutex::new(0));
    let count = disconnects.clone();
    let err = builder(&[TransportKind::WebSocket])
        .on_connect(|_: &Client| Err::<(), _>("not today"))
        .on_disconnect(move |_| *count.lock().unwrap() += 1)
        .connect(server.base_url())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::ConnectHandler(e) if e.to_string() == "not today"),
        "{err:?}"
    );
    let err = builder(&[TransportKind::Polling])
        .on_connect(|_: &Client| -> () { panic!("boom") })
        .connect(server.base_url())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::ConnectHandler(e) if e.to_string().contains("boom")),
        "{err:?}"
    );
    assert_eq!(*disconnects.lock().unwrap(), 0, "no disconnect handler");
}

#[tokio::test]
async fn abort_and_drop_stop_everything() {
    let server = common::node_server(json!({}));
    // abort(): no close packet, but still a disconnect event.
    let client = builder(&[TransportKind::WebSocket])
        .connect(server.base_url())
        .await
        .unwrap();
    let mut events = client.events();
    client.abort();
    assert_eq!(
        next_disconnect(&mut events).await,
        DisconnectReason::ClientDisconnect
    );

    // Dropping the last handle cancels the driver and handler tasks (and
    // their requests): the runtime is back to its task count.
    let url = server.base_url();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let baseline = tokio::runtime::Handle::current()
                .metrics()
                .num_alive_tasks();
            for (mode, transports) in MODES {
                let client = builder(transports).connect(&url).await.unwrap();
                let mut events = client.events();
                if mode == "upgrade" {
                    next_upgrade(&mut events).await;
                }
                let live = tokio::runtime::Handle::current()
                    .metrics()
                    .num_alive_tasks();
                assert!(live > baseline, "{mode}: driver tasks run");
                drop(client);
                let start = Instant::now();
                while tokio::runtime::Handle::current()
                    .metrics()
                    .num_alive_tasks()
                    > baseline
                {
                    assert!(
                        start.elapsed() < Duration::from_secs(5),
                        "{mode}: tasks leaked after drop"
                    );
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                // The stream ends without a disconnect: the client is gone.
                loop {
                    match tokio::time::timeout(Duration::from_secs(1), events.recv()).await {
                        Ok(None) => break,
                        Ok(Some(ClientEvent::Connect)) => {}
                        other => panic!("{mode}: {other:?}"),
                    }
                }
            }
        });
    })
    .join()
    .unwrap();
}

#[tokio::test]
async fn ping_timeout_is_detected_when_the_server_goes_silent() {
    let addr = silent_server().await;
    for (mode, transports) in &MODES[..2] {
        let start = Instant::now();
        let client = builder(transports)
            .connect(format!("http://{addr}"))
            .await
            .unwrap_or_else(|e| panic!("{mode}: {e}"));
        let mut events = client.events();
        assert_eq!(
            next_disconnect(&mut events).await,
            DisconnectReason::PingTimeout,
            "{mode}"
        );
        let took = start.elapsed();
        // pingInterval + pingTimeout = 300 ms after the handshake.
        assert!(
            took >= Duration::from_millis(290) && took < Duration::from_secs(5),
            "{mode}: {took:?}"
        );
        assert!(!client.is_connected());
    }
}
