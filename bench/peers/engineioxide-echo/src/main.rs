//! engineioxide echo server for the peer benchmark: echoes every message
//! (text as text, binary as binary) with default Engine.IO settings.
//! Binds 127.0.0.1:0 (or the port given as the first argument) and prints
//! `LISTENING <port>`.

use std::sync::Arc;

use bytes::Bytes;
use engineioxide::handler::EngineIoHandler;
use engineioxide::service::EngineIoService;
use engineioxide::{DisconnectReason, Socket, Str};

#[derive(Debug, Default, Clone)]
struct Echo;

impl EngineIoHandler for Echo {
    type Data = ();

    fn on_connect(self: Arc<Self>, _socket: Arc<Socket<()>>) {}

    fn on_disconnect(&self, _socket: Arc<Socket<()>>, _reason: DisconnectReason) {}

    fn on_message(self: &Arc<Self>, msg: Str, socket: Arc<Socket<()>>) {
        socket.emit(msg).ok();
    }

    fn on_binary(self: &Arc<Self>, data: Bytes, socket: Arc<Socket<()>>) {
        socket.emit_binary(data).ok();
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    // One service as the router's fallback, not `Router::layer`: a layer is
    // applied to each fallback separately, which gives each its own engine
    // (and session table), so polling requests miss their session.
    let app = axum::Router::new().fallback_service(EngineIoService::new(Arc::new(Echo)));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    println!("LISTENING {}", listener.local_addr().unwrap().port());
    axum::serve(listener, app).await.unwrap();
}
