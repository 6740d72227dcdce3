//! Acknowledgements both ways: `emit(..., callback=...)`, `call()` with a
//! timeout, and a handler whose return value is the server's ack.
//!
//! ```sh
//! cargo run -p socketio --example sio_acks -- http://localhost:5000
//! ```
//!
//! ```python
//! sio.emit('my event', {'data': 'foo'}, callback=lambda *args: print(args))
//! result = sio.call('sum', (1, 2), timeout=5)
//!
//! @sio.event
//! def question(data):
//!     return 'answer', 42      # a tuple: two ack arguments
//! ```

use std::time::Duration;

use bytes::Bytes;
use socketio::{AsyncClient, Error};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://localhost:5000".into());
    let sio = AsyncClient::builder()
        .on("question", |_sio, _event| ("answer", 42))
        .build();
    sio.connect(url).await?;
    // Binary anywhere inside the arguments travels as an attachment.
    let data = serde_json::json!({"data": "foo"});
    sio.emit_with_ack(
        "my event",
        (data, Bytes::from_static(b"\x01\x02")),
        |args| {
            println!("the server acknowledged with {args:?}");
        },
    )?;
    match sio
        .call_timeout("sum", (1, 2), Duration::from_secs(5))
        .await
    {
        Ok(args) => println!("sum: {args:?}"),
        Err(Error::Timeout) => println!("no answer within 5 s"),
        Err(e) => return Err(e.into()),
    }
    sio.disconnect().await;
    Ok(())
}
