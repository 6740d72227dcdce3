//! Socket.IO v5 clients, async ([`AsyncClient`]) and blocking
//! ([`blocking::Client`], feature `blocking`), on the `engineio` crate:
//! python-socketio's `AsyncClient` and `Client` in Rust.
//!
//! The protocol lives in [`socketio_proto`] (re-exported as [`proto`]), a
//! sans-IO core: packets, the default and msgpack parsers, binary
//! attachments, the client state machine and the reconnection schedule.
//! This crate is the driver around it.
//!
//! ```no_run
//! use socketio::AsyncClient;
//!
//! # async fn run() -> socketio::Result<()> {
//! let client = AsyncClient::builder()
//!     .on_connect("/", |_client, _ns| println!("connected"))
//!     .on("news", |_client, event| println!("news: {:?}", event.args))
//!     .build();
//! client.connect("http://localhost:5000").await?;
//! client.emit("my event", serde_json::json!({"data": "foo"}))?;
//! client.wait().await;
//! # Ok(()) }
//! ```

pub use socketio_proto as proto;
pub use socketio_proto::{
    from_args, from_value, to_args, to_value, Args, DisconnectReason, Map, Serializer, Value,
};

#[cfg(feature = "blocking")]
pub mod blocking;
pub mod client;
mod error;

pub use client::{
    AsyncClient, ClientBuilder, ClientOptions, ConnectOptions, Event, NamespaceHandler, Socket,
};
pub use engineio::proto::TransportKind;
pub use error::{Error, Result};
