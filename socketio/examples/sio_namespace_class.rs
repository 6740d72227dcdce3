//! A class-based namespace (python's `socketio.ClientNamespace` with
//! `register_namespace`).
//!
//! ```sh
//! cargo run -p socketio --example sio_namespace_class -- http://localhost:5000
//! ```
//!
//! ```python
//! class MyCustomNamespace(socketio.ClientNamespace):
//!     def on_connect(self):
//!         pass
//!     def on_disconnect(self, reason):
//!         pass
//!     def on_my_event(self, data):
//!         self.emit('my_response', data)
//!
//! sio.register_namespace(MyCustomNamespace('/chat'))
//! ```

use socketio::{AsyncClient, DisconnectReason, Event, NamespaceHandler, Value};

struct MyCustomNamespace;

impl NamespaceHandler for MyCustomNamespace {
    async fn on_connect(&self, _client: AsyncClient, namespace: String) {
        println!("{namespace} connected");
    }

    async fn on_disconnect(
        &self,
        _client: AsyncClient,
        namespace: String,
        reason: DisconnectReason,
    ) {
        println!("{namespace} disconnected: {reason}");
    }

    async fn on_event(&self, client: AsyncClient, event: Event) -> Vec<Value> {
        if event.name == "my_event" {
            let _ = client
                .of(&event.namespace)
                .emit("my_response", socketio::Args(event.args));
        }
        Vec::new()
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://localhost:5000".into());
    let sio = AsyncClient::builder()
        .register_namespace("/chat", MyCustomNamespace)
        .build();
    sio.connect(url).await?;
    sio.wait().await;
    Ok(())
}
