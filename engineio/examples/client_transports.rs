//! python-engineio's "transports" client example: WebSocket only, then
//! polling only.
//!
//! ```sh
//! cargo run -p engineio --example client_transports -- localhost:5000
//! ```
//!
//! ```python
//! client = engineio.Client()
//! client.connect('ws://localhost:5000', transports=['websocket'])
//! client.connect('http://localhost:5000', transports=['polling'])
//! ```

use engineio::client::blocking::Client;
use engineio::proto::TransportKind;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let host = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "localhost:5000".into());

    // Only use the WebSocket transport.
    let client = Client::builder()
        .transports([TransportKind::WebSocket])
        .connect(format!("ws://{host}"))?;
    println!("{} over {}", client.sid(), client.transport());
    client.disconnect();

    // Only use the polling transport (never upgrade).
    let client = Client::builder()
        .transports([TransportKind::Polling])
        .connect(format!("http://{host}"))?;
    println!("{} over {}", client.sid(), client.transport());
    client.disconnect();
    Ok(())
}
