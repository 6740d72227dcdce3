//! Why sessions end: the reason the disconnect handler receives for every
//! way a session can end, on both transports.

mod server_util;

use std::time::Duration;

use engineio::server::{DisconnectReason, Server, Sid};
use server_util::*;
use tokio::sync::mpsc::UnboundedReceiver;

/// A server reporting `(sid, reason)` of each disconnect.
async fn server(ping: Duration) -> (Server, String, UnboundedReceiver<(Sid, DisconnectReason)>) {
    let eio = Server::builder()
        .ping_interval(ping)
        .ping_timeout(ping)
        .build()
        .unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    eio.on_disconnect(move |_eio, sid, reason| {
        let _ = tx.send((sid, reason));
    });
    let base = start(&eio).await;
    (eio, base, rx)
}

const LONG: Duration = Duration::from_secs(30);

#[tokio::test]
async fn client_disconnect_polling_and_websocket() {
    let (_eio, base, mut rx) = server(LONG).await;
    let sid = open_polling(&base).await;
    assert_eq!(post(&base, &sid_query(&sid), "1").await.body, "ok");
    assert_eq!(
        recv(&mut rx).await,
        (sid.parse().unwrap(), DisconnectReason::ClientDisconnect)
    );

    let (mut ws, sid) = open_ws(&base).await;
    ws_send(&mut ws, "1").await;
    assert_eq!(
        recv(&mut rx).await,
        (sid.parse().unwrap(), DisconnectReason::ClientDisconnect)
    );
    assert!(matches!(ws_next(&mut ws).await, WsEvent::Closed(_)));
}

#[tokio::test]
async fn server_disconnect_polling_and_websocket() {
    let (eio, base, mut rx) = server(LONG).await;
    let sid = open_polling(&base).await;
    let s: Sid = sid.parse().unwrap();
    eio.send(s, "bye").unwrap();
    eio.disconnect(s).unwrap();
    // What was queued is still delivered, then the close packet.
    assert_eq!(get(&base, &sid_query(&sid)).await.body, "4bye\x1e1");
    assert_eq!(recv(&mut rx).await, (s, DisconnectReason::ServerDisconnect));
    let resp = get(&base, &sid_query(&sid)).await;
    assert_eq!(resp.status, 400);

    let (mut ws, sid) = open_ws(&base).await;
    let s: Sid = sid.parse().unwrap();
    eio.send(s, "bye").unwrap();
    eio.disconnect(s).unwrap();
    assert_eq!(ws_next(&mut ws).await, WsEvent::Text("4bye".into()));
    assert_eq!(ws_next(&mut ws).await, WsEvent::Text("1".into()));
    assert!(matches!(ws_next(&mut ws).await, WsEvent::Closed(_)));
    assert_eq!(recv(&mut rx).await, (s, DisconnectReason::ServerDisconnect));
}

#[tokio::test]
async fn disconnect_all_closes_every_session() {
    let (eio, base, mut rx) = server(LONG).await;
    let (mut a, _) = open_ws(&base).await;
    let (mut b, _) = open_ws(&base).await;
    eio.disconnect_all();
    for ws in [&mut a, &mut b] {
        assert_eq!(ws_next(ws).await, WsEvent::Text("1".into()));
    }
    for _ in 0..2 {
        assert_eq!(recv(&mut rx).await.1, DisconnectReason::ServerDisconnect);
    }
    eventually("no sessions", || eio.sids().is_empty()).await;
}

#[tokio::test]
async fn ping_timeout_polling_and_websocket() {
    let (_eio, base, mut rx) = server(Duration::from_millis(100)).await;
    let sid = open_polling(&base).await;
    let (mut ws, ws_sid) = open_ws(&base).await;
    assert_eq!(ws_next(&mut ws).await, WsEvent::Text("2".into()));
    // Nobody answers: both time out 200 ms after their handshakes.
    let mut got = vec![recv(&mut rx).await, recv(&mut rx).await];
    got.sort_by_key(|(s, _)| s.to_string());
    let mut want = vec![
        (sid.parse().unwrap(), DisconnectReason::PingTimeout),
        (ws_sid.parse().unwrap(), DisconnectReason::PingTimeout),
    ];
    want.sort_by_key(|(s, _): &(Sid, _)| s.to_string());
    assert_eq!(got, want);
    assert!(matches!(ws_next(&mut ws).await, WsEvent::Closed(_)));
}

#[tokio::test]
async fn transport_close_when_the_websocket_goes_away() {
    let (_eio, base, mut rx) = server(LONG).await;
    // The TCP connection just drops.
    let (ws, sid) = open_ws(&base).await;
    drop(ws);
    assert_eq!(
        recv(&mut rx).await,
        (sid.parse().unwrap(), DisconnectReason::TransportClose)
    );
    // A WebSocket close frame.
    let (mut ws, sid) = open_ws(&base).await;
    ws.close(None).await.unwrap();
    assert_eq!(
        recv(&mut rx).await,
        (sid.parse().unwrap(), DisconnectReason::TransportClose)
    );
}

#[tokio::test]
async fn transport_error_on_protocol_violations() {
    let (_eio, base, mut rx) = server(LONG).await;
    // An invalid packet on a WebSocket.
    let (mut ws, sid) = open_ws(&base).await;
    ws_send(&mut ws, "abc").await;
    assert!(matches!(ws_next(&mut ws).await, WsEvent::Closed(_)));
    assert_eq!(
        recv(&mut rx).await,
        (sid.parse().unwrap(), DisconnectReason::TransportError)
    );
    // An invalid polling payload.
    let sid = open_polling(&base).await;
    assert_eq!(post(&base, &sid_query(&sid), "abc").await.status, 400);
    assert_eq!(
        recv(&mut rx).await,
        (sid.parse().unwrap(), DisconnectReason::TransportError)
    );
}

#[tokio::test]
async fn upgraded_session_reports_reasons_on_its_websocket() {
    let (eio, base, mut rx) = server(LONG).await;
    let sid = open_polling(&base).await;
    let mut ws = ws_connect(&base, &format!("EIO=4&transport=websocket&sid={sid}")).await;
    ws_send(&mut ws, "2probe").await;
    assert_eq!(ws_next(&mut ws).await, WsEvent::Text("3probe".into()));
    ws_send(&mut ws, "5").await;
    let s: Sid = sid.parse().unwrap();
    eventually("upgraded", || {
        eio.transport(s).ok() == Some(engineio::server::TransportKind::WebSocket)
    })
    .await;
    drop(ws);
    assert_eq!(recv(&mut rx).await, (s, DisconnectReason::TransportClose));
}

/// What became of a polling GET's response future (see [`Watched`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GetFate {
    /// First polled without an answer: the server holds the GET (a GET
    /// that is refused is answered at once).
    Pending,
    Answered,
    /// Dropped before it was answered: the server let go of the GET.
    Dropped,
}

/// A response future that reports its [`GetFate`]s.
struct Watched<F> {
    fut: std::pin::Pin<Box<F>>,
    tx: tokio::sync::mpsc::UnboundedSender<GetFate>,
    pending_told: bool,
    answered: bool,
}

impl<F: std::future::Future> std::future::Future for Watched<F> {
    type Output = F::Output;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let r = self.fut.as_mut().poll(cx);
        let fate = if r.is_ready() {
            self.answered = true;
            GetFate::Answered
        } else if !std::mem::replace(&mut self.pending_told, true) {
            GetFate::Pending
        } else {
            return r;
        };
        let _ = self.tx.send(fate);
        r
    }
}

impl<F> Drop for Watched<F> {
    fn drop(&mut self) {
        if !self.answered {
            let _ = self.tx.send(GetFate::Dropped);
        }
    }
}

/// A long-poll whose connection goes away is not a pending GET any more: the
/// next GET is not an overlap.
///
/// The server is watched from outside (its tower service's response futures,
/// for polling GETs on a session), so that the test fails unless the
/// long-poll really was held by the server and then really let go of,
/// before the next GET.
#[tokio::test]
async fn abandoned_long_poll_does_not_count_as_an_overlap() {
    use tokio::io::AsyncWriteExt;
    let eio = Server::builder()
        .ping_interval(LONG)
        .ping_timeout(LONG)
        .build()
        .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    eio.on_disconnect(move |_eio, sid, reason| {
        let _ = tx.send((sid, reason));
    });
    let (fates_tx, mut fates) = tokio::sync::mpsc::unbounded_channel();
    let base = start_around(&eio, move |req, svc| {
        let tx = fates_tx.clone();
        let watched = req.method() == http::Method::GET
            && req.uri().query().is_some_and(|q| q.contains("sid="));
        let fut = tower::ServiceExt::oneshot(svc, req);
        async move {
            if !watched {
                return fut.await;
            }
            Watched {
                fut: Box::pin(fut),
                tx,
                pending_told: false,
                answered: false,
            }
            .await
        }
    })
    .await;
    let sid = open_polling(&base).await;
    let host = base.strip_prefix("http://").unwrap();
    let mut tcp = tokio::net::TcpStream::connect(host).await.unwrap();
    let head = format!(
        "GET /engine.io/?{} HTTP/1.1\r\nHost: {host}\r\n\r\n",
        sid_query(&sid)
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    assert_eq!(
        recv(&mut fates).await,
        GetFate::Pending,
        "the long-poll is held"
    );
    drop(tcp);
    assert_eq!(
        recv(&mut fates).await,
        GetFate::Dropped,
        "the server lets go of the abandoned long-poll"
    );
    eio.send(sid.parse().unwrap(), "x").unwrap();
    let r = get(&base, &sid_query(&sid)).await;
    assert_eq!((r.status, r.body.as_str()), (200, "4x"));
    assert_eq!(recv(&mut fates).await, GetFate::Answered);
    assert!(rx.try_recv().is_err(), "the session must survive");
}
