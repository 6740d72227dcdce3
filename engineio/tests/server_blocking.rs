//! The blocking server: plain closures that may block, `send` from
//! ordinary threads, `serve_blocking` for programs without a runtime.
#![cfg(feature = "blocking")]

mod server_util;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use engineio::server::blocking;
use engineio::server::{Data, DisconnectReason, Server, Sid};
use server_util::*;

#[tokio::test]
async fn blocking_handlers_and_send_from_another_thread() {
    let eio = blocking::Server::from_async(
        Server::builder()
            .ping_interval(Duration::from_millis(100))
            .ping_timeout(Duration::from_millis(100))
            .build()
            .unwrap(),
    )
    .unwrap();
    let connected: Arc<Mutex<Vec<Sid>>> = Arc::default();
    let c = connected.clone();
    eio.on_connect(move |_eio, sid, _| {
        c.lock().unwrap().push(sid);
        Ok(())
    });
    eio.on_message(move |tx, sid, data| {
        // Blocking for longer than a heartbeat round is fine here.
        if matches!(&data, Data::Text(t) if t == "sleep") {
            std::thread::sleep(Duration::from_millis(500));
        }
        tx.send(sid, data).unwrap();
    });
    let (dtx, mut drx) = tokio::sync::mpsc::unbounded_channel();
    eio.on_disconnect(move |_eio, _, reason| {
        let _ = dtx.send(reason);
    });
    let addr = eio.start("127.0.0.1:0").unwrap();
    let base = format!("http://{addr}");

    let (mut ws, sid) = open_ws(&base).await;
    let sid: Sid = sid.parse().unwrap();
    assert_eq!(*connected.lock().unwrap(), vec![sid]);
    ws_send(&mut ws, "4sleep").await;
    // Heartbeats go on while the handler blocks.
    let mut pings = 0;
    let echoed = loop {
        match ws_next(&mut ws).await {
            WsEvent::Text(t) if t == "2" => {
                pings += 1;
                ws_send(&mut ws, "3").await;
            }
            other => break other,
        }
    };
    assert_eq!(echoed, WsEvent::Text("4sleep".into()));
    assert!(pings >= 3, "{pings} pings during a 500 ms handler");

    // `send` from an ordinary thread, no runtime involved.
    let from_thread = eio.clone();
    std::thread::spawn(move || from_thread.send(sid, "from a thread").unwrap())
        .join()
        .unwrap();
    assert_eq!(
        ws_next_data(&mut ws).await,
        WsEvent::Text("4from a thread".into())
    );
    let d = eio.clone();
    std::thread::spawn(move || d.disconnect(sid).unwrap())
        .join()
        .unwrap();
    assert_eq!(ws_next_data(&mut ws).await, WsEvent::Text("1".into()));
    assert_eq!(recv(&mut drx).await, DisconnectReason::ServerDisconnect);
}

#[test]
fn serve_listener_blocks_until_shutdown_from_another_thread() {
    let eio = blocking::Server::new().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    eio.on_message(move |e, sid, _| {
        let _ = e.send(sid, "pong");
    });
    let server = eio.clone();
    let serving = std::thread::spawn(move || {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        tx.send(listener.local_addr().unwrap().port()).unwrap();
        server.serve_listener(listener)
    });
    let port = rx.recv().unwrap();
    let addr = format!("127.0.0.1:{port}");
    // A plain blocking client, no runtime in this test.
    let body = loop {
        match std_http(&addr, "GET", "EIO=4&transport=polling", "") {
            Some(body) => break body,
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let sid = open_json(&body)["sid"].as_str().unwrap().to_owned();
    let q = sid_query(&sid);
    assert_eq!(std_http(&addr, "POST", &q, "4ping").unwrap(), "ok");
    assert_eq!(std_http(&addr, "GET", &q, "").unwrap(), "4pong");

    let stopper = eio.clone();
    std::thread::spawn(move || {
        // The polling session's close is collected by the GET below.
        let _ = stopper.shutdown(Duration::from_secs(2));
    });
    assert_eq!(std_http(&addr, "GET", &q, "").unwrap(), "1");
    serving.join().unwrap().unwrap();
}

/// One HTTP/1.1 request over std's blocking TCP; the body of the answer,
/// or `None` if the server is not listening yet.
fn std_http(addr: &str, method: &str, query: &str, body: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut tcp = std::net::TcpStream::connect(addr).ok()?;
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    write!(
        tcp,
        "{method} /engine.io/?{query} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    tcp.read_to_string(&mut out).unwrap();
    let (_, body) = out.split_once("\r\n\r\n").expect("a response");
    Some(body.to_owned())
}

/// `shutdown` from a blocking handler (as the docs of `serve_blocking`
/// advertise): it must not wait for the calling handler, whose session's
/// disconnect handler can only run after it. The message `stop` makes the
/// message handler shut down; with `from_disconnect`, a client close makes
/// the disconnect handler do it.
async fn shutdown_from_blocking_handler(from_disconnect: bool) {
    const TIMEOUT: Duration = Duration::from_secs(3);
    let eio = blocking::Server::new().unwrap();
    let (tx, mut outcome) = tokio::sync::mpsc::unbounded_channel();
    let (dtx, mut disconnects) = tokio::sync::mpsc::unbounded_channel();
    let stop = move |e: &blocking::Server| {
        let started = std::time::Instant::now();
        let r = e.shutdown(TIMEOUT);
        let _ = tx.send((started.elapsed(), r.map_err(|e| e.to_string())));
    };
    let stop = Arc::new(stop);
    let s = stop.clone();
    eio.on_message(move |e, _, data| {
        if !from_disconnect && matches!(&data, Data::Text(t) if t == "stop") {
            s(e);
        }
    });
    eio.on_disconnect(move |e, sid, reason| {
        let _ = dtx.send((sid, reason));
        if from_disconnect && reason == DisconnectReason::ClientDisconnect {
            stop(e);
        }
    });
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = eio.clone();
    let serving = std::thread::spawn(move || server.serve_listener(listener));

    // A bystander on polling, with a GET pending: it gets its close.
    let other = open_polling(&base).await;
    let (b, q) = (base.clone(), sid_query(&other));
    let pending = tokio::spawn(async move { get(&b, &q).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (mut ws, _) = open_ws(&base).await;
    ws_send(&mut ws, if from_disconnect { "1" } else { "4stop" }).await;

    let (took, r) = recv(&mut outcome).await;
    assert_eq!(r, Ok(()), "shutdown from a blocking handler");
    assert!(
        took < Duration::from_secs(1),
        "shutdown from a blocking handler took {took:?}"
    );
    assert_eq!(pending.await.unwrap().body, "1");
    let mut reasons = vec![
        recv(&mut disconnects).await.1,
        recv(&mut disconnects).await.1,
    ];
    reasons.sort_by_key(|r| r.to_string());
    let mut expected = vec![
        DisconnectReason::ServerDisconnect,
        if from_disconnect {
            DisconnectReason::ClientDisconnect
        } else {
            DisconnectReason::ServerDisconnect
        },
    ];
    expected.sort_by_key(|r| r.to_string());
    assert_eq!(reasons, expected);
    // `serve_listener` returns once the shutdown has finished.
    let joined = tokio::task::spawn_blocking(move || serving.join().unwrap());
    tokio::time::timeout(WAIT, joined)
        .await
        .expect("serve_listener returned")
        .unwrap()
        .unwrap();
    assert!(eio.sids().is_empty());
}

#[tokio::test]
async fn shutdown_from_a_blocking_message_handler() {
    shutdown_from_blocking_handler(false).await;
}

#[tokio::test]
async fn shutdown_from_a_blocking_disconnect_handler() {
    shutdown_from_blocking_handler(true).await;
}

#[tokio::test]
async fn a_dropped_blocking_server_frees_its_sessions() {
    struct Guard(tokio::sync::mpsc::UnboundedSender<Sid>, Sid);
    impl Drop for Guard {
        fn drop(&mut self) {
            let _ = self.0.send(self.1);
        }
    }
    let eio = blocking::Server::new().unwrap();
    let (freed_tx, mut freed) = tokio::sync::mpsc::unbounded_channel();
    eio.on_connect(move |eio, sid, _| {
        eio.save_session(sid, Guard(freed_tx.clone(), sid)).unwrap();
        Ok(())
    });
    // The handler echoes through its own argument: no clone of `eio`.
    eio.on_message(|eio, sid, data| {
        let _ = eio.send(sid, data);
    });
    let base = format!("http://{}", eio.start("127.0.0.1:0").unwrap());
    let (mut ws, sid) = open_ws(&base).await;
    ws_send(&mut ws, "4hi").await;
    assert_eq!(ws_next_data(&mut ws).await, WsEvent::Text("4hi".into()));
    assert!(freed.try_recv().is_err());

    // The last handle: its runtime thread stops, and the session is freed.
    drop(eio);
    assert_eq!(recv(&mut freed).await.to_string(), sid);
    assert!(matches!(ws_next_data(&mut ws).await, WsEvent::Closed(_)));
}
