//! python-socketio's `AsyncClient` example: connect, then wait until the
//! connection ends.
//!
//! ```sh
//! cargo run -p socketio --example sio_async_client -- http://localhost:5000
//! ```
//!
//! ```python
//! sio = socketio.AsyncClient()
//! await sio.connect('http://localhost:5000')
//! await sio.wait()
//! ```

use socketio::AsyncClient;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://localhost:5000".into());
    let sio = AsyncClient::builder()
        .on_connect("/", |client, _ns| {
            println!("connected, sid {:?}", client.get_sid("/"));
        })
        .on_disconnect("/", |_client, _ns, reason| {
            println!("disconnected: {reason}")
        })
        .build();
    sio.connect(url).await?;
    sio.wait().await;
    Ok(())
}
