//! python-engineio's "custom headers" client example: headers sent with
//! every request of the connection, the WebSocket handshake included.
//!
//! ```sh
//! cargo run -p engineio --example client_headers -- https://api.example.com
//! ```
//!
//! ```python
//! client = engineio.Client()
//! headers = {'Authorization': 'Bearer token123', 'User-Agent': 'MyApp/1.0'}
//! client.connect('https://api.example.com', headers=headers)
//! ```

use engineio::client::blocking::Client;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://localhost:5000".into());
    let client = Client::builder()
        .header("Authorization", "Bearer token123")
        .header("User-Agent", "MyApp/1.0")
        .connect(&url)?;
    println!("connected as {} over {}", client.sid(), client.transport());
    client.disconnect();
    Ok(())
}
