//! python-engineio's basic client example, with the blocking client:
//! handlers registered up front (python's `@client.on(...)` decorators),
//! a hello sent from the connect handler, then `wait()`.
//!
//! ```sh
//! cargo run -p engineio --example client_basic -- http://localhost:5000
//! ```
//!
//! ```python
//! client = engineio.Client()
//!
//! @client.on('connect')
//! def on_connect():
//!     print('Connected!')
//!     client.send('Hello from client')
//!
//! @client.on('message')
//! def on_message(data):
//!     print(f'Server says: {data}')
//!
//! client.connect('http://localhost:5000')
//! client.wait()
//! ```

use engineio::client::blocking::Client;
use engineio::client::Data;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://localhost:5000".into());
    let client = Client::builder()
        .on_connect(|client: &Client| {
            println!("Connected!");
            client.send("Hello from client")
        })
        .on_message(|_client, data| match data {
            Data::Text(text) => println!("Server says: {text}"),
            Data::Binary(bytes) => println!("Server says: {bytes:?}"),
        })
        .on_disconnect(|reason| println!("Disconnected from server ({reason})"))
        .connect(&url)?;
    println!("my sid is {}", client.sid());
    // Until the server disconnects us, or Ctrl-C.
    client.wait();
    Ok(())
}
