//! Catch-all handlers: `@sio.on('*')` for every event without a handler of
//! its own, and `@sio.on('*', namespace='*')` for every namespace.
//!
//! ```sh
//! cargo run -p socketio --example sio_catch_all -- http://localhost:5000
//! ```
//!
//! ```python
//! @sio.on('*')
//! def catch_all(event, data):
//!     pass
//!
//! @sio.on('*', namespace='*')
//! def any_event_any_namespace(event, namespace, data):
//!     pass
//! ```

use socketio::{AsyncClient, ConnectOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://localhost:5000".into());
    let sio = AsyncClient::builder()
        .on("*", |_sio, event| {
            println!("/ got {} {:?}", event.name, event.args)
        })
        .on_ns("*", "*", |_sio, event| {
            println!("{} got {} {:?}", event.namespace, event.name, event.args)
        })
        .on_connect("*", |_sio, ns| println!("{ns} connected"))
        .build();
    sio.connect_with(ConnectOptions::new(url).namespaces(["/", "/chat"]))
        .await?;
    sio.wait().await;
    Ok(())
}
