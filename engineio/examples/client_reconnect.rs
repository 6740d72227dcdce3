//! python-engineio's "reconnection" client example. Engine.IO clients do
//! not reconnect by themselves; here the loop reconnects after the server
//! drops the connection, and stops after a clean `disconnect` (or Ctrl-C).
//!
//! ```sh
//! cargo run -p engineio --example client_reconnect -- http://localhost:5000
//! ```
//!
//! ```python
//! @client.on('disconnect')
//! def on_disconnect():
//!     print('Disconnected, attempting to reconnect...')
//!     time.sleep(5)
//!     try:
//!         client.connect('http://localhost:5000')
//!     except Exception as e:
//!         print(f'Reconnection failed: {e}')
//! ```

use std::time::Duration;

use engineio::client::blocking::Client;
use engineio::client::DisconnectReason;

fn main() {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://localhost:5000".into());
    let builder = Client::builder().on_connect(|_: &Client| println!("Connected to server"));
    loop {
        match builder.clone().connect(&url) {
            Ok(client) => match client.wait() {
                DisconnectReason::ClientDisconnect => break,
                reason => println!("Disconnected ({reason}), attempting to reconnect..."),
            },
            Err(e) => println!("Reconnection failed: {e}"),
        }
        std::thread::sleep(Duration::from_secs(5));
    }
}
