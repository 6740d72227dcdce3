//! Engine.IO v4 server and clients on tokio, hyper and tower.
//!
//! The protocol logic lives in [`engineio_proto`] (re-exported as [`proto`]);
//! this crate holds the IO drivers.

pub use engineio_proto as proto;

pub mod client;
mod clock;
pub use client::{Client, ClientBuilder, ClientError, ClientEvent, ClientOptions};
mod http;
pub mod server;
pub use server::{Server, ServerBuilder, ServerError, ServerOptions};
