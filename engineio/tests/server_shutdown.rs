//! Graceful shutdown: sessions are closed and flushed, handlers run, the
//! accept loop stops; a timeout bounds the wait.

mod server_util;

use std::time::{Duration, Instant};

use engineio::server::{DisconnectReason, Server, ServerError};
use server_util::*;

#[tokio::test]
async fn shutdown_closes_every_session_and_stops_serving() {
    let eio = Server::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    eio.on_disconnect(move |_, reason| {
        let _ = tx.send(reason);
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let s = eio.clone();
    let serving = tokio::spawn(async move { s.serve(listener).await });

    let (mut ws, _) = open_ws(&base).await;
    let sid = open_polling(&base).await;
    eio.send(sid.parse().unwrap(), "last words").unwrap();
    let q = sid_query(&sid);
    let b = base.clone();
    // A long-poll in flight when the shutdown starts.
    let pending = tokio::spawn(async move {
        let first = get(&b, &q).await.body;
        let second = get(&b, &q).await.body;
        (first, second)
    });
    tokio::time::sleep(Duration::from_millis(50)).await;

    let started = Instant::now();
    eio.shutdown(Duration::from_secs(3))
        .await
        .expect("clean shutdown");
    assert!(started.elapsed() < Duration::from_secs(2));

    assert_eq!(ws_next(&mut ws).await, WsEvent::Text("1".into()));
    assert!(matches!(ws_next(&mut ws).await, WsEvent::Closed(_)));
    let (first, second) = pending.await.unwrap();
    assert_eq!(
        format!("{first}\x1e{second}").trim_end_matches('\x1e'),
        "4last words\x1e1"
    );
    for _ in 0..2 {
        assert_eq!(recv(&mut rx).await, DisconnectReason::ServerDisconnect);
    }
    assert!(eio.sids().is_empty());
    // The accept loop ended and the port no longer answers.
    tokio::time::timeout(WAIT, serving)
        .await
        .expect("serve returned")
        .unwrap()
        .unwrap();
    let refused = reqwest::Client::new()
        .get(url(&base, "EIO=4&transport=polling"))
        .send()
        .await;
    assert!(refused.is_err());
}

#[tokio::test]
async fn shutdown_gives_up_at_its_timeout() {
    // A polling session nobody polls cannot receive its close packet.
    let eio = Server::new();
    let base = start(&eio).await;
    let _sid = open_polling(&base).await;
    let started = Instant::now();
    let r = eio.shutdown(Duration::from_millis(200)).await;
    assert!(
        matches!(r, Err(ServerError::ShutdownTimedOut { remaining: 1 })),
        "{r:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(eio.sids().is_empty());
}

#[tokio::test]
async fn handshakes_are_refused_once_shutting_down() {
    let eio = Server::new();
    // Mounted as a layer (no accept loop to stop): new sessions are refused.
    let app = eio.service(engineio::server::NotFound);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let svc = hyper_util::service::TowerToHyperService::new(app.clone());
            tokio::spawn(
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .serve_connection_with_upgrades(hyper_util::rt::TokioIo::new(stream), svc)
                    .into_owned(),
            );
        }
    });
    eio.shutdown(Duration::from_millis(100)).await.unwrap();
    assert_eq!(get(&base, "EIO=4&transport=polling").await.status, 503);
}
