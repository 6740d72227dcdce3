//! A server dropped without `shutdown()` frees its sessions: the handlers
//! get the server as an argument, so they hold no clone of it, and nothing
//! the server started (connections, WebSocket tasks, timers) keeps it alive.

mod server_util;

use std::time::Duration;

use engineio::server::{ConnectRequest, Server, Sid};
use server_util::*;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// Session data that reports its drop.
struct Guard(UnboundedSender<String>, String);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.send(self.1.clone());
    }
}

/// An echo server whose sessions each hold a [`Guard`] named by `name`;
/// the receiver gets the name of each session whose data is dropped.
fn echo_server_with_guards(
    name: fn(Sid, &ConnectRequest) -> String,
) -> (Server, UnboundedReceiver<String>) {
    let eio = Server::builder()
        // Heartbeats far away: only the drop may end these sessions.
        .ping_interval(Duration::from_secs(60))
        .build()
        .unwrap();
    let (freed_tx, freed) = unbounded_channel();
    eio.on_connect(move |eio, sid, req| {
        eio.save_session(sid, Guard(freed_tx.clone(), name(sid, req)))
            .unwrap();
        Ok(())
    });
    // The one-line echo: the handler's own argument, no clone of `eio`.
    eio.on_message(|eio, sid, data| drop(eio.send(sid, data)));
    (eio, freed)
}

#[tokio::test]
async fn a_dropped_server_frees_its_sessions() {
    let (eio, mut freed) =
        echo_server_with_guards(|_, req| req.query_param("transport").unwrap_or_default());
    let (disconnect_tx, mut disconnects) = unbounded_channel();
    eio.on_disconnect(move |_eio, sid, _| {
        let _ = disconnect_tx.send(sid);
    });

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    // The serving task owns the only handle on the server.
    let serving = tokio::spawn(async move { eio.serve(listener).await });

    // A WebSocket session that echoes through the handler...
    let (mut ws, _) = open_ws(&base).await;
    ws_send(&mut ws, "4hello").await;
    assert_eq!(ws_next_data(&mut ws).await, WsEvent::Text("4hello".into()));
    // ...and a polling session with a long-poll in flight.
    let sid = open_polling(&base).await;
    let poll_url = url(&base, &sid_query(&sid));
    // No client timeout: only the server's side may end this request.
    let no_timeout = reqwest::Client::builder().no_proxy().build().unwrap();
    let pending = tokio::spawn(async move { no_timeout.get(poll_url).send().await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!pending.is_finished(), "the long-poll must be in flight");
    assert!(
        freed.try_recv().is_err(),
        "no session may end before the drop"
    );

    // Drop the last handle: the serve future, with its connections.
    serving.abort();
    assert!(serving.await.unwrap_err().is_cancelled());

    // Both sessions' data is dropped, and the WebSocket is closed.
    let mut gone = vec![recv(&mut freed).await, recv(&mut freed).await];
    gone.sort();
    assert_eq!(gone, ["polling", "websocket"]);
    loop {
        match ws_next(&mut ws).await {
            WsEvent::Closed(_) => break,
            WsEvent::Text(t) => assert_eq!(t, "1", "only a close packet may come"),
            other => panic!("unexpected {other:?}"),
        }
    }
    // The long-poll's connection went with the server.
    let answer = tokio::time::timeout(WAIT, pending).await.unwrap().unwrap();
    assert!(answer.is_err(), "the long-poll got {answer:?}");
    // The handlers went with the server: no disconnect handler ran.
    assert!(disconnects.try_recv().is_err());
    // Nothing listens any more.
    assert!(http()
        .get(url(&base, "EIO=4&transport=polling"))
        .send()
        .await
        .is_err());
}

#[tokio::test]
async fn an_open_websocket_does_not_keep_a_dropped_server() {
    // Mounted with `service()` in the application's own accept loop: the
    // WebSocket task outlives the HTTP connection that upgraded, and must
    // not keep the server alive on its own.
    let (eio, mut freed) = echo_server_with_guards(|sid, _| sid.to_string());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let svc = eio.service(engineio::server::NotFound);
    let accepting = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        while let Ok((stream, _)) = listener.accept().await {
            let app = hyper_util::service::TowerToHyperService::new(svc.clone());
            connections.spawn(
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .serve_connection_with_upgrades(hyper_util::rt::TokioIo::new(stream), app)
                    .into_owned(),
            );
        }
    });
    let (mut ws, sid) = open_ws(&base).await;
    ws_send(&mut ws, "4hi").await;
    assert_eq!(ws_next_data(&mut ws).await, WsEvent::Text("4hi".into()));

    // The application stops serving and drops its handle.
    accepting.abort();
    let _ = accepting.await;
    drop(eio);

    assert_eq!(recv(&mut freed).await, sid);
    loop {
        match ws_next(&mut ws).await {
            WsEvent::Closed(_) => break,
            WsEvent::Text(t) => assert_eq!(t, "1", "only a close packet may come"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
