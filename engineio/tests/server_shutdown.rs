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
    eio.on_disconnect(move |_eio, _, reason| {
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
    // A long-poll in flight when the shutdown starts. It polls until it has
    // the close: the first GET may come late enough to collect the message
    // and the close at once, and then the server is gone for a second one.
    let pending = tokio::spawn(async move {
        let mut payloads = Vec::new();
        while payloads.len() < 3 {
            let body = get(&b, &q).await.body;
            let closed = body.split('\x1e').next_back() == Some("1");
            payloads.push(body);
            if closed {
                break;
            }
        }
        payloads.join("\x1e")
    });
    tokio::time::sleep(Duration::from_millis(50)).await;

    let started = Instant::now();
    eio.shutdown(Duration::from_secs(3))
        .await
        .expect("clean shutdown");
    assert!(started.elapsed() < Duration::from_secs(2));

    assert_eq!(ws_next(&mut ws).await, WsEvent::Text("1".into()));
    assert!(matches!(ws_next(&mut ws).await, WsEvent::Closed(_)));
    assert_eq!(pending.await.unwrap(), "4last words\x1e1");
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

/// Shutdown called from inside a handler.
///
/// The calling handler cannot return before `shutdown` does, and its
/// session's disconnect handler runs only after it (handlers of a session
/// run in order): `shutdown` must not wait for its own handler's session,
/// yet close it, wait for every other session, and finish once the calling
/// handler returned.
mod from_a_handler {
    use super::*;
    use engineio::server::{Data, Sid};
    use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

    /// The timeout given to `shutdown`; a handler that waited for itself
    /// would take all of it.
    const TIMEOUT: Duration = Duration::from_secs(3);
    const PROMPT: Duration = Duration::from_secs(1);

    type Outcome = (Duration, Result<(), String>);

    /// Registers a disconnect handler reporting `(sid, reason)` and serves
    /// on 127.0.0.1:0; returns the base URL, the reports and the task
    /// running the accept loop.
    async fn server(
        eio: &Server,
    ) -> (
        String,
        UnboundedReceiver<(Sid, DisconnectReason)>,
        tokio::task::JoinHandle<engineio::server::Result<()>>,
    ) {
        let (tx, rx) = unbounded_channel();
        eio.on_disconnect(move |_eio, sid, reason| {
            let _ = tx.send((sid, reason));
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let s = eio.clone();
        let serving = tokio::spawn(async move { s.serve(listener).await });
        (base, rx, serving)
    }

    fn report(tx: &UnboundedSender<Outcome>, started: Instant, r: engineio::server::Result<()>) {
        let _ = tx.send((started.elapsed(), r.map_err(|e| e.to_string())));
    }

    /// What every case checks once the handler reported: `shutdown` was
    /// prompt and clean, both sessions (the caller's and a bystander on
    /// polling, whose pending GET gets the close) ended with their
    /// disconnect handler, and the accept loop stopped.
    async fn check(
        outcome: Outcome,
        mut disconnects: UnboundedReceiver<(Sid, DisconnectReason)>,
        serving: tokio::task::JoinHandle<engineio::server::Result<()>>,
        bystander: tokio::task::JoinHandle<Resp>,
        eio: &Server,
    ) {
        let (took, r) = outcome;
        assert_eq!(r, Ok(()), "shutdown from a handler");
        assert!(took < PROMPT, "shutdown from a handler took {took:?}");
        let poll = bystander.await.unwrap();
        assert_eq!(poll.body, "1", "the bystander's pending GET: {poll:?}");
        for _ in 0..2 {
            let (_, reason) = recv(&mut disconnects).await;
            assert_eq!(reason, DisconnectReason::ServerDisconnect);
        }
        tokio::time::timeout(WAIT, serving)
            .await
            .expect("the accept loop stopped")
            .unwrap()
            .unwrap();
        assert!(eio.sids().is_empty());
    }

    /// A polling session with a GET pending, which the shutdown must close.
    async fn bystander(base: &str) -> tokio::task::JoinHandle<Resp> {
        let sid = open_polling(base).await;
        let (b, q) = (base.to_owned(), sid_query(&sid));
        let pending = tokio::spawn(async move { get(&b, &q).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        pending
    }

    /// An async message handler that awaits `shutdown` on `stop`.
    fn stop_on_message_async(eio: &Server) -> UnboundedReceiver<Outcome> {
        let (tx, rx) = unbounded_channel();
        eio.on_message_async(move |e, _, data| {
            let (e, tx) = (e.clone(), tx.clone());
            async move {
                if matches!(&data, Data::Text(t) if t == "stop") {
                    let started = Instant::now();
                    report(&tx, started, e.shutdown(TIMEOUT).await);
                }
            }
        });
        rx
    }

    #[tokio::test]
    async fn async_message_handler_on_websocket() {
        let eio = Server::new();
        let mut outcome = stop_on_message_async(&eio);
        let (base, disconnects, serving) = server(&eio).await;
        let other = bystander(&base).await;
        let (mut ws, _) = open_ws(&base).await;
        ws_send(&mut ws, "4stop").await;
        let o = recv(&mut outcome).await;
        assert_eq!(ws_next_data(&mut ws).await, WsEvent::Text("1".into()));
        check(o, disconnects, serving, other, &eio).await;
    }

    #[tokio::test]
    async fn async_message_handler_on_polling() {
        let eio = Server::new();
        let mut outcome = stop_on_message_async(&eio);
        let (base, disconnects, serving) = server(&eio).await;
        let other = bystander(&base).await;
        let sid = open_polling(&base).await;
        assert_eq!(post(&base, &sid_query(&sid), "4stop").await.body, "ok");
        let o = recv(&mut outcome).await;
        assert_eq!(get(&base, &sid_query(&sid)).await.body, "1");
        check(o, disconnects, serving, other, &eio).await;
    }

    #[tokio::test]
    async fn async_message_handler_with_async_handlers() {
        let eio = Server::builder().async_handlers(true).build().unwrap();
        let mut outcome = stop_on_message_async(&eio);
        let (base, disconnects, serving) = server(&eio).await;
        let other = bystander(&base).await;
        let (mut ws, _) = open_ws(&base).await;
        ws_send(&mut ws, "4stop").await;
        let o = recv(&mut outcome).await;
        check(o, disconnects, serving, other, &eio).await;
        drop(ws);
    }

    /// A sync handler cannot wait: it starts the shutdown on a task.
    #[tokio::test]
    async fn sync_message_handler() {
        let eio = Server::new();
        let (tx, mut outcome) = unbounded_channel();
        eio.on_message(move |e, _, data| {
            if matches!(&data, Data::Text(t) if t == "stop") {
                let (e, tx) = (e.clone(), tx.clone());
                tokio::spawn(async move {
                    let started = Instant::now();
                    report(&tx, started, e.shutdown(TIMEOUT).await);
                });
            }
        });
        let (base, disconnects, serving) = server(&eio).await;
        let other = bystander(&base).await;
        let (mut ws, _) = open_ws(&base).await;
        ws_send(&mut ws, "4stop").await;
        let o = recv(&mut outcome).await;
        check(o, disconnects, serving, other, &eio).await;
        drop(ws);
    }

    #[tokio::test]
    async fn async_connect_handler() {
        let eio = Server::new();
        let (tx, mut outcome) = unbounded_channel();
        eio.on_connect_async(move |e, _, req| {
            let (e, tx) = (e.clone(), tx.clone());
            async move {
                if req.query_param("stop").is_some() {
                    let started = Instant::now();
                    report(&tx, started, e.shutdown(TIMEOUT).await);
                }
                Ok(())
            }
        });
        let (base, disconnects, serving) = server(&eio).await;
        let other = bystander(&base).await;
        // The handshake that shuts down gets its open packet and the close.
        let resp = get(&base, "EIO=4&transport=polling&stop").await;
        assert_eq!(resp.status, 200, "{resp:?}");
        assert!(resp.body.ends_with("\x1e1"), "{resp:?}");
        let o = recv(&mut outcome).await;
        check(o, disconnects, serving, other, &eio).await;
    }

    #[tokio::test]
    async fn async_disconnect_handler() {
        let eio = Server::new();
        let (tx, mut outcome) = unbounded_channel();
        let (dtx, disconnects) = unbounded_channel();
        eio.on_disconnect_async(move |e, sid, reason| {
            let (e, tx, dtx) = (e.clone(), tx.clone(), dtx.clone());
            async move {
                let _ = dtx.send((sid, reason));
                if reason == DisconnectReason::ClientDisconnect {
                    let started = Instant::now();
                    report(&tx, started, e.shutdown(TIMEOUT).await);
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let s = eio.clone();
        let serving = tokio::spawn(async move { s.serve(listener).await });
        let other = bystander(&base).await;
        let (mut ws, _) = open_ws(&base).await;
        ws_send(&mut ws, "1").await;
        let (took, r) = recv(&mut outcome).await;
        assert_eq!(r, Ok(()), "shutdown from a disconnect handler");
        assert!(
            took < PROMPT,
            "shutdown from a disconnect handler took {took:?}"
        );
        let mut disconnects = disconnects;
        let reasons = [
            recv(&mut disconnects).await.1,
            recv(&mut disconnects).await.1,
        ];
        assert!(
            reasons.contains(&DisconnectReason::ClientDisconnect),
            "{reasons:?}"
        );
        assert!(
            reasons.contains(&DisconnectReason::ServerDisconnect),
            "{reasons:?}"
        );
        assert_eq!(other.await.unwrap().body, "1");
        tokio::time::timeout(WAIT, serving)
            .await
            .expect("the accept loop stopped")
            .unwrap()
            .unwrap();
        assert!(eio.sids().is_empty());
    }
}
