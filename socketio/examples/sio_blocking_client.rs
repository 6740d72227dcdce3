//! python-socketio's basic `Client` usage, with the blocking client: handlers
//! registered up front (python's `@sio.on(...)` / `@sio.event` decorators),
//! `connect`, an emit, a `call`, then `wait()` until the server (or Ctrl-C)
//! ends the connection.
//!
//! ```sh
//! cargo run -p socketio --example sio_blocking_client -- http://localhost:5000
//! ```
//!
//! ```python
//! import socketio
//!
//! sio = socketio.Client()
//!
//! @sio.on('connect')
//! def connect_handler():
//!     print('Connected!')
//!
//! @sio.on('message')
//! def message_handler(msg):
//!     print('Received message: ', msg)
//!     sio.send('response')
//!
//! @sio.event
//! def my_event(data):
//!     print('Received data: ', data)
//!     return 'got it'            # the ack, if the server asked for one
//!
//! @sio.event
//! def disconnect():
//!     print('disconnected from server')
//!
//! sio.connect('http://localhost:5000')
//! print('my sid is', sio.get_sid())
//! sio.emit('my message', {'foo': 'bar'})
//! print('the server says', sio.call('sum', (1, 2), timeout=5))
//! sio.wait()
//! ```

use std::time::Duration;

use socketio::blocking::Client;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://localhost:5000".into());
    let sio = Client::builder()
        .on_connect("/", |_sio, _ns| println!("Connected!"))
        .on("message", |sio, event| {
            println!("Received message: {:?}", event.args);
            // Handlers run on their own thread and get the client: emitting
            // from here is fine.
            let _ = sio.send("response");
        })
        .on("my_event", |_sio, event| {
            println!("Received data: {:?}", event.args);
            "got it"
        })
        .on_disconnect("/", |_sio, _ns, reason| {
            println!("disconnected from server ({reason:?})");
        })
        .build();

    sio.connect(url)?;
    println!("my sid is {:?}", sio.get_sid("/"));
    sio.emit("my message", serde_json::json!({"foo": "bar"}))?;
    match sio.call_timeout("sum", (1, 2), Duration::from_secs(5)) {
        Ok(answer) => println!("the server says {answer:?}"),
        Err(socketio::Error::Timeout) => println!("no answer to `sum`"),
        Err(e) => return Err(e.into()),
    }
    // Until the server disconnects us, or Ctrl-C.
    sio.wait();
    Ok(())
}
