//! With a proxy in the environment (`HTTP_PROXY`), the client's WebSocket
//! handshake goes through reqwest, and so through that proxy, instead of
//! connecting to the server itself (`client/ws_direct.rs`). A test binary
//! of its own: the variable is process-wide, and every client in the
//! process would see it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod client_util;

use client_util::next_message;
use engineio::client::Client;
use engineio::proto::TransportKind;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Reads a request head; returns its request line and headers.
async fn read_head(s: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 1 << 16 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

/// An unmasked text frame.
fn text_frame(payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mut out = vec![0x81, payload.len() as u8];
    out.extend_from_slice(payload);
    out
}

#[tokio::test]
async fn the_websocket_handshake_goes_through_the_proxy_of_the_environment() {
    // The server the client is pointed at: it must not be contacted.
    let origin = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin_addr = origin.local_addr().unwrap();
    let contacted = Arc::new(AtomicUsize::new(0));
    {
        let contacted = contacted.clone();
        tokio::spawn(async move {
            while let Ok((s, _)) = origin.accept().await {
                contacted.fetch_add(1, Ordering::SeqCst);
                drop(s);
            }
        });
    }
    // The proxy: answers the upgrade itself, as a proxy relaying a server
    // would, and records the request line.
    let proxy = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_addr = proxy.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(None::<String>));
    {
        let seen = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = proxy.accept().await {
                let seen = seen.clone();
                tokio::spawn(async move {
                    let Some(head) = read_head(&mut s).await else {
                        return;
                    };
                    let key = header(&head, "sec-websocket-key").unwrap_or_default();
                    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(
                        key.as_bytes(),
                    );
                    *seen.lock().unwrap() = Some(head);
                    let mut out = format!(
                        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
                    )
                    .into_bytes();
                    let open = r#"0{"sid":"AAAAAAAAAAAAAAAAAAAA","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
                    out.extend(text_frame(open.as_bytes()));
                    out.extend(text_frame(b"4via the proxy"));
                    let _ = s.write_all(&out).await;
                    let mut sink = [0u8; 1024];
                    while matches!(s.read(&mut sink).await, Ok(n) if n > 0) {}
                });
            }
        });
    }
    for k in [
        "NO_PROXY",
        "no_proxy",
        "ALL_PROXY",
        "all_proxy",
        "http_proxy",
    ] {
        std::env::remove_var(k);
    }
    std::env::set_var("HTTP_PROXY", format!("http://{proxy_addr}"));

    let client = Client::builder()
        .transports([TransportKind::WebSocket])
        .handle_sigint(false)
        .request_timeout(Duration::from_secs(5))
        .connect(format!("http://{origin_addr}"))
        .await
        .unwrap();
    let mut events = client.events();
    let first = next_message(&mut events).await;
    assert_eq!(first, "via the proxy".into());
    let head = seen
        .lock()
        .unwrap()
        .clone()
        .expect("the proxy saw no request");
    // A forward proxy is sent the absolute URL of the server.
    let target = head.split(' ').nth(1).unwrap_or_default().to_owned();
    assert!(
        target.starts_with(&format!(
            "http://{origin_addr}/engine.io/?EIO=4&transport=websocket"
        )),
        "{head}"
    );
    assert_eq!(
        contacted.load(Ordering::SeqCst),
        0,
        "the client connected to the server past the proxy"
    );
    client.disconnect().await;
}
