//! python-socketio's handler examples: `@sio.event`, `@sio.on('my_event')`,
//! a handler in the `/test` namespace, a connect handler, and a `message`
//! handler that answers with `sio.send('response')`.
//!
//! ```sh
//! cargo run -p socketio --example sio_events -- http://localhost:5000
//! ```
//!
//! ```python
//! @sio.event
//! def my_event(data):
//!     print('Received data: ', data)
//!
//! @sio.event(namespace='/test')
//! def my_event(data):
//!     print('Received data: ', data)
//!
//! @sio.on('connect')
//! def connect_handler():
//!     print('Connected!')
//!
//! def message_handler(msg):
//!     print('Received message: ', msg)
//!     sio.send('response')
//! sio.on('message', message_handler)
//! ```

use socketio::AsyncClient;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://localhost:5000".into());
    let sio = AsyncClient::builder()
        .on("my_event", |_sio, event| {
            println!("Received data: {:?}", event.args)
        })
        .on_ns("/test", "my_event", |_sio, event| {
            println!("Received data on /test: {:?}", event.args)
        })
        .on_connect("/", |_sio, _ns| println!("Connected!"))
        .on("message", |sio, event| {
            println!("Received message: {:?}", event.args);
            if let Err(e) = sio.send("response") {
                eprintln!("cannot answer: {e}");
            }
        })
        .build();
    // No namespaces given: the ones with handlers connect, `/` and `/test`.
    sio.connect(url).await?;
    sio.wait().await;
    Ok(())
}
