//! Socket.IO v5 clients, async ([`AsyncClient`]) and blocking
//! ([`blocking::Client`], feature `blocking`): python-socketio's
//! `AsyncClient` and `Client` in Rust, on the `engineio` crate.
//!
//! # The model
//!
//! ```text
//!  your code ── emit / call / of(ns) / disconnect ──▶ AsyncClient (a handle; cheap to clone)
//!                                                         │ commands
//!                                                         ▼
//!  handlers ◀── handler task ◀── dispatches ◀── driver task (one per connect)
//!  (in order; return                              │  owns socketio_proto::ClientState
//!   value = ack)                                  │  (codec, namespaces, ack ids) and the
//!                                                 │  reconnection loop (Backoff)
//!                                                 ▼
//!                                          engineio::Client ◀──▶ server
//! ```
//!
//! The protocol lives in [`socketio_proto`] (re-exported as [`proto`]), a
//! sans-IO core with no tokio, no IO and no clock: packets, the default and
//! msgpack parsers, binary attachments, the client state machine and
//! python-socketio's reconnection schedule. This crate is the driver: it
//! moves Engine.IO messages between the core and an [`engineio::Client`],
//! runs the handlers, and decides when to reconnect (after an unexpected
//! drop only; see [`client`]).
//!
//! # Values and arguments
//!
//! Socket.IO arguments are JSON values in which binary may appear anywhere.
//! [`Value`] is that type: JSON plus [`Value::Binary`]. Anything `serde` can
//! serialise becomes arguments through [`to_args`], with python's rule that a
//! tuple means several arguments (`()` means none); `bytes::Bytes` (or any
//! type that serialises with `serialize_bytes`) becomes binary. Handlers get
//! `Vec<Value>`, and [`Event::parse`] reads them back into types.
//!
//! ```
//! use bytes::Bytes;
//! use socketio::{to_args, Value};
//!
//! let args = to_args(&("photo", serde_json::json!({"w": 2}), Bytes::from_static(b"\x89PNG"))).unwrap();
//! assert_eq!(args.len(), 3);
//! assert!(matches!(args[2], Value::Binary(_)));
//! ```
//!
//! # Example
//!
//! ```no_run
//! use socketio::AsyncClient;
//!
//! # async fn run() -> socketio::Result<()> {
//! let client = AsyncClient::builder()
//!     .on_connect("/", |_client, _ns| println!("connected"))
//!     .on("news", |_client, event| println!("news: {:?}", event.args))
//!     .on("question", |_client, _event| ("answer", 42)) // the ack: two arguments
//!     .build();
//! client.connect("http://localhost:5000").await?;
//! client.emit("my event", serde_json::json!({"data": "foo"}))?;
//! let reply = client.call("sum", (1, 2)).await?;
//! println!("1 + 2 = {reply:?}");
//! client.wait().await;
//! # Ok(()) }
//! ```
//!
//! # Features
//!
//! | feature | default | what |
//! |---|---|---|
//! | `blocking` | yes | [`blocking::Client`]: the async client on a private runtime thread, for programs without an async runtime |
//!
//! # From python-socketio
//!
//! The README's table maps every item of python-socketio's client
//! documentation to this crate; the short form: `socketio.AsyncClient(...)`
//! is [`AsyncClient::builder`], `connect(...)`'s arguments are
//! [`ConnectOptions`], `@sio.on(event, namespace=)` is
//! [`ClientBuilder::on_ns`], `emit`/`call`/`send` keep their names (with
//! [`AsyncClient::of`] for another namespace), `register_namespace` takes a
//! [`NamespaceHandler`], and exceptions are [`Error`] variants.

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
