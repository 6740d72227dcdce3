//! The conformance cases (`tests/conformance/`) against our server: an echo
//! server that closes the session on the message `disconnect`, configured
//! as each case asks, on 127.0.0.1:0.
//!
//! The server runs on its own multi-threaded runtime, as `eio serve` does:
//! on the test's single-threaded runtime, requests sent together would
//! always be handled in the order they were sent, which hides races between
//! them.

mod conformance;

use std::time::Duration;

use conformance::ServerOptions;
use engineio::server::{Data, Server};

/// Stops the server, and its runtime, when the test ends.
struct Guard(Option<tokio::runtime::Runtime>);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

async fn start(opts: ServerOptions) -> (Guard, String) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("server runtime");
    let base = rt
        .spawn(start_on_this_runtime(opts))
        .await
        .expect("server start");
    (Guard(Some(rt)), base)
}

async fn start_on_this_runtime(opts: ServerOptions) -> String {
    let mut builder = Server::builder()
        .ping_interval(Duration::from_millis(opts.ping_interval_ms))
        .ping_timeout(Duration::from_millis(opts.ping_timeout_ms))
        .max_http_buffer_size(opts.max_http_buffer_size as usize)
        .max_buffered_chunks(opts.max_buffered_chunks as usize)
        .http_request_timeout(Duration::from_millis(opts.body_timeout_ms));
    if opts.cors_any {
        builder = builder.cors_allowed_origins("*");
    }
    let server = builder
        .allow_request(|req| match req.uri.query() {
            Some(q) if q.split('&').any(|p| p == "deny") => Err("Forbidden".to_owned()),
            _ => Ok(()),
        })
        .build()
        .expect("server");
    server.on_message(move |echo, sid, data| {
        if matches!(&data, Data::Text(t) if t == "disconnect") {
            let _ = echo.disconnect(sid);
        } else {
            let _ = echo.send(sid, data);
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { server.serve(listener).await });
    base
}

conformance::conformance_tests!(|opts| start(opts));

/// Code 4: our `allow_request` hook refuses `?deny`.
#[tokio::test]
async fn error_forbidden() {
    let (_server, base) = start(ServerOptions::SUITE).await;
    conformance::run_case("error_forbidden", conformance::error_forbidden(&base)).await;
}
