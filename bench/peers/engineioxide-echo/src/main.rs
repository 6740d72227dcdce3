//! engineioxide echo server for the peer benchmark: echoes every message
//! (text as text, binary as binary) with default Engine.IO settings, except
//! the text message `broadcast:<N>` (e.g. `broadcast:64`), which sends N
//! bytes of text (`x` repeated) to every connected socket, the sender
//! included (the benchmark's broadcast workload). engineioxide has no
//! broadcast of its own, so the handler keeps the open sockets in a map.
//! Binds 127.0.0.1:0 (or the port given as the first argument) and prints
//! `LISTENING <port>`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use engineioxide::handler::EngineIoHandler;
use engineioxide::service::EngineIoService;
use engineioxide::socket::Sid;
use engineioxide::{DisconnectReason, Socket, Str};

#[derive(Debug, Default)]
struct Echo {
    sockets: Mutex<HashMap<Sid, Arc<Socket<()>>>>,
}

impl EngineIoHandler for Echo {
    type Data = ();

    fn on_connect(self: Arc<Self>, socket: Arc<Socket<()>>) {
        if let Ok(mut all) = self.sockets.lock() {
            all.insert(socket.id, socket);
        }
    }

    fn on_disconnect(&self, socket: Arc<Socket<()>>, _reason: DisconnectReason) {
        if let Ok(mut all) = self.sockets.lock() {
            all.remove(&socket.id);
        }
    }

    fn on_message(self: &Arc<Self>, msg: Str, socket: Arc<Socket<()>>) {
        let size = msg
            .strip_prefix("broadcast:")
            .and_then(|n| n.parse::<usize>().ok());
        match size {
            Some(n) => {
                let msg = Str::from("x".repeat(n));
                if let Ok(all) = self.sockets.lock() {
                    for s in all.values() {
                        s.emit(msg.clone()).ok();
                    }
                }
            }
            None => {
                socket.emit(msg).ok();
            }
        }
    }

    fn on_binary(self: &Arc<Self>, data: Bytes, socket: Arc<Socket<()>>) {
        socket.emit_binary(data).ok();
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    // One service as the router's fallback, not `Router::layer`: a layer is
    // applied to each fallback separately, which gives each its own engine
    // (and session table), so polling requests miss their session.
    let app = axum::Router::new().fallback_service(EngineIoService::new(Arc::new(Echo::default())));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    println!("LISTENING {}", listener.local_addr().unwrap().port());
    axum::serve(listener, app).await.unwrap();
}
