//! The conformance cases (`tests/conformance/`) against our server: an echo
//! server that closes the session on the message `disconnect`, configured
//! as each case asks, on 127.0.0.1:0.

mod conformance;

use std::time::Duration;

use conformance::ServerOptions;
use engineio::server::{Data, Server};

/// Stops the server when the test ends.
struct Guard(Server);

impl Drop for Guard {
    fn drop(&mut self) {
        let server = self.0.clone();
        // Best effort: the runtime may already be shutting down.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let _ = server.shutdown(Duration::from_millis(100)).await;
            });
        }
    }
}

async fn start(opts: ServerOptions) -> (Guard, String) {
    let server = Server::builder()
        .ping_interval(Duration::from_millis(opts.ping_interval_ms))
        .ping_timeout(Duration::from_millis(opts.ping_timeout_ms))
        .max_http_buffer_size(opts.max_http_buffer_size as usize)
        .allow_request(|req| match req.uri.query() {
            Some(q) if q.split('&').any(|p| p == "deny") => Err("Forbidden".to_owned()),
            _ => Ok(()),
        })
        .build()
        .expect("server");
    let echo = server.clone();
    server.on_message(move |sid, data| {
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
    let s = server.clone();
    tokio::spawn(async move { s.serve(listener).await });
    (Guard(server), base)
}

conformance::conformance_tests!(|opts| start(opts));

/// Code 4: our `allow_request` hook refuses `?deny`.
#[tokio::test]
async fn error_forbidden() {
    let (_server, base) = start(ServerOptions::SUITE).await;
    conformance::run_case("error_forbidden", conformance::error_forbidden(&base)).await;
}
