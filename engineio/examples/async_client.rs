//! The async client (python-engineio's `AsyncClient`): `async` handlers, a
//! JSON message, and the same events read as a stream.
//!
//! ```sh
//! cargo run -p engineio --example async_client -- http://localhost:5000
//! ```
//!
//! ```python
//! eio = engineio.AsyncClient()
//!
//! @eio.on('message')
//! async def on_message(data):
//!     print('I received a message!')
//!
//! await eio.connect('http://localhost:5000')
//! await eio.send({'foo': 'bar'})
//! await eio.wait()
//! ```

use engineio::client::{Client, ClientEvent};
use futures_util::StreamExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://localhost:5000".into());

    // Handlers, python style; an async handler may await (here: answer).
    let client = Client::builder()
        .on_message_async(|client, data| async move {
            println!("I received a message: {data:?}");
            if data == "ping".into() {
                let _ = client.send("pong");
            }
        })
        .on_disconnect(|reason| println!("I'm disconnected! ({reason})"))
        .connect(&url)
        .await?;
    println!("my sid is {}", client.sid());
    // python's `send({'foo': 'bar'})`: values are sent as JSON text.
    client.send_json(&serde_json::json!({"foo": "bar"}))?;

    // The same events, as a stream (taken after connecting: it starts now).
    let mut events = client.events();
    while let Some(event) = events.next().await {
        if let ClientEvent::Upgrade = event {
            println!("now on {}", client.transport());
        }
    }
    println!("finished: {}", client.wait().await);
    Ok(())
}
