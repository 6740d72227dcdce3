//! The sans-IO core of a Socket.IO v5 client.
//!
//! **This crate never does IO and never reads the clock.** Engine.IO
//! messages go in through `handle_*` methods and come out of `poll_*`
//! methods; the one time-dependent piece, the reconnection schedule, takes
//! its random number from the caller and returns durations for the
//! caller's timer. The async and blocking clients in the `socketio` crate
//! are thin drivers around it, on top of `engineio`'s Engine.IO client.
//!
//! ```text
//!               Engine.IO messages in                  messages, events out
//!  driver ─── handle_engine_open()        ──▶ ┌─────────────┐ ──▶ poll_transmit() ─── engine send
//!  (engine    handle_message(data)        ──▶ │ ClientState │ ──▶ poll_event()    ─── app
//!   client,   handle_engine_close(reason) ──▶ │  (Decoder,  │
//!   app)      connect / emit / ack /      ──▶ │   encode)   │
//!             disconnect                      └─────────────┘
//!  on engine loss:  Backoff::next_delay(random) ──▶ Duration ─── one timer
//! ```
//!
//! | module | owns |
//! |---|---|
//! | [`value`] | [`Value`] (JSON plus binary), serde conversions, the argument-list rules ([`to_args`], [`from_args`], [`Args`]) |
//! | [`packet`] | [`Packet`], the packet types, namespace normalisation |
//! | [`parser`] | [`encode`] and [`Decoder`] for the default (JSON + attachments) and msgpack parsers, [`DecodeError`] |
//! | [`client`] | [`ClientState`], the client state machine: namespaces, ack ids, events |
//! | [`reconnect`] | [`Backoff`], python-socketio's reconnection schedule |
//!
//! # Arguments
//!
//! As in python-socketio, a tuple means several arguments:
//!
//! ```
//! use socketio_proto::{from_args, to_args, Value};
//! let args = to_args(&("hello", 42, [1, 2])).unwrap();
//! assert_eq!(args.len(), 3);
//! let (greeting, n, list): (String, u32, Vec<u8>) = from_args(args).unwrap();
//! assert_eq!((greeting.as_str(), n, list), ("hello", 42, vec![1, 2]));
//! ```
//!
//! # Packets on the wire
//!
//! ```
//! use engineio_proto::Data;
//! use socketio_proto::{encode, Decoder, DecoderLimits, Packet, Serializer, Value};
//! let p = Packet::Event { nsp: "/admin".into(), id: Some(13), name: "foo".into(), args: vec![] };
//! let wire = encode(Serializer::Default, &p);
//! assert_eq!(wire, vec![Data::from(r#"2/admin,13["foo"]"#)]);
//! let mut d = Decoder::new(Serializer::Default, DecoderLimits::default());
//! assert_eq!(d.decode(wire[0].clone()), Ok(Some(p)));
//! ```
//!
//! # A client session
//!
//! ```
//! use engineio_proto::Data;
//! use socketio_proto::{ClientState, DecoderLimits, DisconnectReason, Event, Serializer, Value};
//!
//! let mut c = ClientState::new(Serializer::Default, DecoderLimits::default());
//! c.handle_engine_open();
//! c.connect("/admin", Some(Value::from(serde_json::json!({"token": "123"}))));
//! assert_eq!(c.poll_transmit(), Some(Data::from(r#"0/admin,{"token":"123"}"#)));
//! c.handle_message(Data::from(r#"0/admin,{"sid":"iLnRaVGHY4B75TeVAAAB"}"#)).unwrap();
//! assert!(matches!(c.poll_event(), Some(Event::Connect { .. })));
//!
//! c.handle_message(Data::from(r#"2/admin,13["foo"]"#)).unwrap();
//! let Some(Event::Event { ack_id: Some(id), .. }) = c.poll_event() else { unreachable!() };
//! c.ack("/admin", id, vec![Value::from("bar")]).unwrap();
//! assert_eq!(c.poll_transmit(), Some(Data::from(r#"3/admin,13["bar"]"#)));
//!
//! c.handle_engine_close(DisconnectReason::TransportClose);
//! assert_eq!(
//!     c.poll_event(),
//!     Some(Event::Disconnect { nsp: "/admin".into(), reason: DisconnectReason::TransportClose })
//! );
//! ```
//!
//! # Reconnecting
//!
//! ```
//! use socketio_proto::{Backoff, ReconnectConfig};
//! let mut b = Backoff::new(ReconnectConfig::default().with_attempts(2));
//! assert_eq!(b.next_delay(0.5).map(|d| d.as_secs()), Some(1));
//! assert_eq!(b.next_delay(0.5).map(|d| d.as_secs()), Some(2));
//! assert_eq!(b.next_delay(0.5), None); // give up
//! ```

pub mod client;
pub mod packet;
pub mod parser;
pub mod reconnect;
pub mod value;

pub use client::{ClientState, DisconnectReason, EmitError, Event};
pub use packet::{Packet, PacketType};
pub use parser::{encode, DecodeError, Decoder, DecoderLimits, Serializer};
pub use reconnect::{Backoff, ReconnectConfig};
pub use value::{from_args, from_value, to_args, to_value, Args, Map, Value, ValueError};
