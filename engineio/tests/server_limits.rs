//! `max_http_buffer_size`: 413 for polling POSTs (declared or streamed),
//! close 1009 for WebSocket messages; exactly the limit passes.

mod server_util;

use engineio::server::{DisconnectReason, Server};
use server_util::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LIMIT: usize = 100;

async fn echo_server() -> (
    Server,
    String,
    tokio::sync::mpsc::UnboundedReceiver<DisconnectReason>,
) {
    let eio = Server::builder()
        .max_http_buffer_size(LIMIT)
        .build()
        .unwrap();
    eio.on_message(move |tx, sid, data| {
        let _ = tx.send(sid, data);
    });
    let (dtx, drx) = tokio::sync::mpsc::unbounded_channel();
    eio.on_disconnect(move |_eio, _, reason| {
        let _ = dtx.send(reason);
    });
    let base = start(&eio).await;
    (eio, base, drx)
}

#[tokio::test]
async fn polling_post_at_the_limit_passes_and_one_more_byte_is_413() {
    let (_eio, base, mut d) = echo_server().await;
    let resp = get(&base, "EIO=4&transport=polling").await;
    assert_eq!(open_json(&resp.body)["maxPayload"], LIMIT);
    let sid = open_json(&resp.body)["sid"].as_str().unwrap().to_owned();

    let fits = format!("4{}", "a".repeat(LIMIT - 1));
    let resp = post(&base, &sid_query(&sid), fits.clone()).await;
    assert_eq!((resp.status, resp.body.as_str()), (200, "ok"));
    assert_eq!(get(&base, &sid_query(&sid)).await.body, fits);

    let over = format!("4{}", "a".repeat(LIMIT));
    let resp = post(&base, &sid_query(&sid), over).await;
    assert_eq!((resp.status, resp.body.as_str()), (413, ""));

    // A 413 ends the session, as in engine.io 6.6.13.
    let reason = tokio::time::timeout(WAIT, d.recv()).await.unwrap().unwrap();
    assert_eq!(reason, DisconnectReason::TransportError);
    let resp = post(&base, &sid_query(&sid), "4still").await;
    assert_eq!(resp.status, 400);
}

/// A chunked POST announces no length: the limit applies while streaming.
#[tokio::test]
async fn streamed_post_over_the_limit_is_413() {
    let (_eio, base, _d) = echo_server().await;
    let sid = open_polling(&base).await;
    let host = base.strip_prefix("http://").unwrap();
    let mut tcp = tokio::net::TcpStream::connect(host).await.unwrap();
    let chunk = format!("4{}", "a".repeat(60));
    let head = format!(
        "POST /engine.io/?{} HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n",
        sid_query(&sid)
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    for _ in 0..2 {
        tcp.write_all(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes())
            .await
            .unwrap();
    }
    tcp.write_all(b"0\r\n\r\n").await.unwrap();
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(WAIT, tcp.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
}

#[tokio::test]
async fn websocket_message_at_the_limit_passes_and_one_more_byte_closes_1009() {
    let (_eio, base, mut d) = echo_server().await;
    let (mut ws, _) = open_ws(&base).await;
    let fits = format!("4{}", "a".repeat(LIMIT - 1));
    ws_send(&mut ws, &fits).await;
    assert_eq!(ws_next_data(&mut ws).await, WsEvent::Text(fits));

    let over = format!("4{}", "a".repeat(LIMIT));
    ws_send(&mut ws, &over).await;
    assert_eq!(ws_next_data(&mut ws).await, WsEvent::Closed(Some(1009)));
    assert_eq!(recv(&mut d).await, DisconnectReason::TransportError);
}

/// Received messages waiting for a slow handler are bounded: past
/// `max_queued_packets` the server stops reading (WebSocket) or holds the
/// POST answer, and nothing is lost.
#[tokio::test]
async fn inbound_backlog_applies_backpressure() {
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};
    let eio = Server::builder().max_queued_packets(4).build().unwrap();
    let got: Arc<Mutex<Vec<String>>> = Arc::default();
    let g = got.clone();
    eio.on_message_async(move |_eio, _, data| {
        let g = g.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if let engineio::server::Data::Text(t) = data {
                g.lock().unwrap().push(t.to_string());
            }
        }
    });
    let base = start(&eio).await;

    // Polling: 12 messages in one POST; the answer waits until at most 4
    // are left, i.e. about 8 × 20 ms.
    let sid = open_polling(&base).await;
    let body: Vec<String> = (0..12).map(|i| format!("4p{i}")).collect();
    let started = Instant::now();
    let resp = post(&base, &sid_query(&sid), body.join("\x1e")).await;
    assert_eq!(resp.body, "ok");
    assert!(
        started.elapsed() >= Duration::from_millis(140),
        "{:?}",
        started.elapsed()
    );

    // WebSocket: a burst is read at the handler's pace, in order, all of it.
    let (mut ws, _) = open_ws(&base).await;
    for i in 0..12 {
        ws_send(&mut ws, &format!("4w{i}")).await;
    }
    eventually("24 messages", || got.lock().unwrap().len() == 24).await;
    // In order within each session (the two sessions interleave).
    let got = got.lock().unwrap().clone();
    for prefix in ["p", "w"] {
        let mine: Vec<&String> = got.iter().filter(|m| m.starts_with(prefix)).collect();
        let want: Vec<String> = (0..12).map(|i| format!("{prefix}{i}")).collect();
        assert_eq!(mine, want.iter().collect::<Vec<_>>());
    }
}
