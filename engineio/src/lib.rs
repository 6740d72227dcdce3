//! Engine.IO v4 server and clients on tokio, hyper and tower: python-engineio
//! (`AsyncServer`, `Server`, `AsyncClient`, `Client`) in Rust.
//!
//! # The model: who calls whom
//!
//! ```text
//!   your handlers ◀── events ──┐                 ┌── events ──▶ your handlers
//!   (&Server, sid, data)       │                 │              (&Client, data)
//!                       ┌──────┴──────┐   ┌──────┴──────┐
//!   hyper / axum ─────▶ │   server    │   │   client    │ ◀── Client::connect
//!   (tower Service)     │  drivers    │   │   driver    │     (reqwest, WebSocket)
//!                       └──────┬──────┘   └──────┬──────┘
//!                              │ inputs, now     │ inputs, now
//!                       ┌──────▼─────────────────▼──────┐
//!                       │ engineio-proto (sans-IO):      │
//!                       │ ServerSession, ClientSession,  │
//!                       │ verify, payload, ws            │
//!                       └────────────────────────────────┘
//! ```
//!
//! Every protocol decision (heartbeats, the upgrade, queues, request
//! verification and its error codes) is made by [`proto`] (the
//! `engineio-proto` crate), which does no IO and reads no clock. This crate
//! moves the bytes, runs one timer per session on tokio's clock (so tests
//! can run it in paused time), and calls your handlers. The `blocking`
//! types are the async ones on a private runtime thread, as reqwest's
//! blocking client is.
//!
//! | entry point | python-engineio | page |
//! |---|---|---|
//! | [`Server`] | `engineio.AsyncServer` | [`server`] |
//! | [`server::blocking::Server`] | `engineio.Server` | [`server::blocking`] |
//! | [`Client`] | `engineio.AsyncClient` | [`client`] |
//! | [`client::blocking::Client`] | `engineio.Client` | [`client::blocking`] |
//! | [`ServerOptions`], [`ClientOptions`] | the constructors' keyword arguments (same names and defaults) | their own pages |
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `blocking` | yes | [`server::blocking`] and [`client::blocking`]: plain closures that may block, no runtime needed by the caller |
//!
//! # A server
//!
//! Every handler gets the server first, so none needs a clone of it:
//!
//! ```no_run
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let eio = engineio::Server::new();
//! eio.on_message(|eio, sid, data| drop(eio.send(sid, data))); // echo
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
//! eio.serve(listener).await?;
//! # Ok(()) }
//! ```
//!
//! Inside another tower or axum application, [`Server::layer`] serves the
//! Engine.IO path and hands every other request on:
//!
//! ```
//! let eio = engineio::Server::new();
//! let app: axum::Router = axum::Router::new()
//!     .route("/", axum::routing::get(|| async { "hello" }))
//!     .layer(eio.layer()); // not `nest_service`: axum would strip the path
//! # drop(app);
//! ```
//!
//! # A client
//!
//! ```no_run
//! # #[tokio::main] async fn main() -> Result<(), engineio::ClientError> {
//! use engineio::{Client, ClientEvent};
//! let client = Client::connect("http://127.0.0.1:5000").await?;
//! client.send("hello")?;
//! let mut events = client.events();
//! while let Some(event) = events.recv().await {
//!     match event {
//!         ClientEvent::Message(data) => println!("got {data:?}"),
//!         ClientEvent::Disconnect(reason) => break,
//!         _ => {}
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! The blocking client, for programs without a runtime:
//!
//! ```no_run
//! # #[cfg(feature = "blocking")]
//! # fn main() -> Result<(), engineio::ClientError> {
//! let client = engineio::client::blocking::Client::connect("http://127.0.0.1:5000")?;
//! client.send("hello")?;
//! client.disconnect();
//! # Ok(()) }
//! # #[cfg(not(feature = "blocking"))] fn main() {}
//! ```

pub use engineio_proto as proto;
/// Messages: text or binary ([`Text`] is cheaply clonable UTF-8).
pub use engineio_proto::{Data, Text};

pub mod client;
mod clock;

/// Locks `m`, poisoned or not. Every mutex of the crate guards state that
/// stays consistent even if a holder panicked: nothing under these locks
/// panics, and user code never runs under them.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub use client::{Client, ClientBuilder, ClientError, ClientEvent, ClientOptions};
mod http;
pub mod server;
pub use server::{Server, ServerBuilder, ServerError, ServerOptions};
mod ws_io;
