//! The two Socket.IO parsers: packets to Engine.IO messages and back.
//!
//! | [`Serializer`] | wire format | binary |
//! |---|---|---|
//! | [`Serializer::Default`] | socket.io-parser's text form, `<type>[<n>-][<nsp>,][<id>][JSON]` | each [`Value::Binary`] becomes `{"_placeholder":true,"num":i}` and its bytes follow as `n` binary messages (types 5 and 6) |
//! | [`Serializer::MsgPack`] | socket.io-msgpack-parser: one msgpack map `{type, data, nsp, id?}` per binary message | inline as msgpack `bin` |
//!
//! [`encode`] is a pure function; [`Decoder`] holds the only state there is,
//! a BINARY_EVENT / BINARY_ACK waiting for its attachments. Both decoders
//! bound what the peer can make them hold ([`DecoderLimits`]) and the
//! nesting depth of values ([`MAX_DEPTH`]).
//!
//! ```
//! use engineio_proto::Data;
//! use socketio_proto::{encode, Decoder, DecoderLimits, Packet, Serializer, Value};
//!
//! let packet = Packet::Event {
//!     nsp: "/".into(),
//!     id: Some(14),
//!     name: "foo".into(),
//!     args: vec![Value::from(vec![1u8, 2, 3, 4])],
//! };
//! let messages = encode(Serializer::Default, &packet);
//! assert_eq!(messages[0], Data::from(r#"51-14["foo",{"_placeholder":true,"num":0}]"#));
//! assert_eq!(messages[1], Data::from(vec![1u8, 2, 3, 4]));
//!
//! let mut decoder = Decoder::new(Serializer::Default, DecoderLimits::default());
//! assert_eq!(decoder.decode(messages[0].clone()), Ok(None)); // waits for 1 attachment
//! assert!(decoder.is_mid_packet());
//! assert_eq!(decoder.decode(messages[1].clone()), Ok(Some(packet)));
//! ```

use engineio_proto::Data;

use crate::{Packet, Value};

mod msgpack;
mod text;

/// The deepest nesting of arrays and objects either decoder accepts (the
/// default parser gets it from serde_json's recursion limit, the msgpack
/// decoder counts itself). Deeper input is an error, never a stack
/// overflow.
pub const MAX_DEPTH: usize = 128;

/// Which parser a client speaks; it must match the server's.
///
/// python-socketio's `serializer='default'` and `serializer='msgpack'`;
/// socket.io's default parser and `socket.io-msgpack-parser`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Serializer {
    /// socket.io-parser: JSON text plus binary attachments.
    #[default]
    Default,
    /// socket.io-msgpack-parser: one msgpack binary message per packet.
    MsgPack,
}

/// Bounds on what one decoded packet may make the [`Decoder`] hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecoderLimits {
    /// Most binary attachments one BINARY_EVENT / BINARY_ACK may announce.
    /// Checked on the header, before anything is buffered. Default 1000.
    pub max_attachments: usize,
    /// Most bytes of binary data in one packet: the sum of its attachments
    /// (default parser) or of its `bin` values (msgpack). Default 64 MiB.
    pub max_binary_bytes: usize,
}

impl Default for DecoderLimits {
    fn default() -> Self {
        DecoderLimits {
            max_attachments: 1000,
            max_binary_bytes: 64 << 20,
        }
    }
}

impl DecoderLimits {
    /// Sets [`DecoderLimits::max_attachments`].
    #[must_use]
    pub fn with_max_attachments(mut self, n: usize) -> Self {
        self.max_attachments = n;
        self
    }

    /// Sets [`DecoderLimits::max_binary_bytes`].
    #[must_use]
    pub fn with_max_binary_bytes(mut self, n: usize) -> Self {
        self.max_binary_bytes = n;
        self
    }
}

/// Why an Engine.IO message could not be decoded into a packet.
///
/// After an error the [`Decoder`] is idle again (a half-received binary
/// packet is dropped). socket.io-client closes the connection on any of
/// these ("parse error"); a driver should do the same.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// An empty text message.
    #[error("empty packet")]
    Empty,
    /// The first byte of a text message is not a type digit `0`..`6`
    /// (the byte is given).
    #[error("unknown packet type byte {0:#04x}")]
    UnknownType(u8),
    /// A msgpack packet whose `type` is missing or not an integer in
    /// `0..=4`.
    #[error("invalid packet type")]
    BadType,
    /// The attachment count of a BINARY_EVENT / BINARY_ACK header is not
    /// digits followed by `-`.
    #[error("illegal attachments")]
    BadAttachmentCount,
    /// A header announces more attachments than
    /// [`DecoderLimits::max_attachments`].
    #[error("{count} attachments exceed the limit of {max}")]
    TooManyAttachments {
        /// Attachments announced (saturated at `usize::MAX`).
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The binary data of one packet exceeds
    /// [`DecoderLimits::max_binary_bytes`].
    #[error("binary data exceeds the limit of {max} bytes")]
    BinaryTooLarge {
        /// The limit.
        max: usize,
    },
    /// A binary message while no attachment is expected (default parser).
    #[error("got binary data when not reconstructing a packet")]
    UnexpectedBinary,
    /// A text message where none may come: while attachments are pending
    /// (default parser), or at all (msgpack parser).
    #[error("unexpected text message")]
    UnexpectedText,
    /// A msgpack packet whose `nsp` is missing or not a string.
    #[error("invalid namespace")]
    BadNamespace,
    /// An ack id that is not a non-negative integer within `u64`, or an
    /// ACK without one.
    #[error("invalid ack id")]
    BadAckId,
    /// The JSON payload does not parse (serde_json's message, which also
    /// covers nesting deeper than [`MAX_DEPTH`]).
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    /// The payload is not valid for the packet type: CONNECT takes an
    /// object or nothing, DISCONNECT nothing, CONNECT_ERROR a string or an
    /// object, EVENT a non-empty array starting with the event name (a
    /// string, or a number, which is turned into one; the default parser
    /// also refuses socket.io's reserved names such as `"connect"`), ACK an
    /// array. `kind` is the packet type's name, e.g. `"EVENT"`.
    #[error("invalid payload for {kind}")]
    InvalidPayload {
        /// The packet type's name.
        kind: &'static str,
    },
    /// A `{"_placeholder":true}` object whose `num` is not the index of an
    /// announced attachment.
    #[error("invalid attachment placeholder")]
    BadPlaceholder,
    /// Malformed msgpack: truncated, trailing bytes, reserved bytes, a
    /// non-string map key, an unsupported extension, invalid UTF-8, or not a
    /// map at the top.
    #[error("invalid msgpack: {0}")]
    MsgPack(String),
    /// Msgpack nested deeper than [`MAX_DEPTH`].
    #[error("nesting deeper than {max} levels")]
    TooDeep {
        /// The limit.
        max: usize,
    },
}

/// Encodes one packet as the Engine.IO messages to send, in order.
///
/// - [`Serializer::Default`]: one text message, then, for an EVENT or ACK
///   holding binary (sent as BINARY_EVENT / BINARY_ACK), each binary value
///   as a binary message, in placeholder order (depth first). Binary in a
///   CONNECT or CONNECT_ERROR payload, which the protocol has no place for,
///   is written as `{"$binary":"<hex>"}` (see [`Value::to_json`]).
/// - [`Serializer::MsgPack`]: exactly one binary message.
///
/// Encoding cannot fail: every [`Value`] has a JSON and a msgpack form.
pub fn encode(serializer: Serializer, packet: &Packet) -> Vec<Data> {
    match serializer {
        Serializer::Default => text::encode(packet),
        Serializer::MsgPack => vec![Data::Binary(msgpack::encode(packet).into())],
    }
}

/// Turns received Engine.IO messages back into packets.
///
/// The default parser is stateful: a BINARY_EVENT / BINARY_ACK header is
/// followed by its attachments as binary messages, and [`Decoder::decode`]
/// returns `Ok(None)` until the last one has arrived. The msgpack parser
/// decodes every message on its own.
#[derive(Debug)]
pub struct Decoder {
    serializer: Serializer,
    limits: DecoderLimits,
    pending: Option<text::Pending>,
}

impl Decoder {
    /// A decoder for `serializer`, bounded by `limits`.
    pub fn new(serializer: Serializer, limits: DecoderLimits) -> Self {
        Decoder {
            serializer,
            limits,
            pending: None,
        }
    }

    /// The serializer this decoder reads.
    pub fn serializer(&self) -> Serializer {
        self.serializer
    }

    /// Decodes one Engine.IO message: `Ok(Some(packet))` when a packet is
    /// complete, `Ok(None)` while a binary packet waits for attachments.
    /// On error the decoder is reset.
    pub fn decode(&mut self, data: Data) -> Result<Option<Packet>, DecodeError> {
        let result = self.decode_inner(data);
        if result.is_err() {
            self.reset();
        }
        result
    }

    fn decode_inner(&mut self, data: Data) -> Result<Option<Packet>, DecodeError> {
        match (self.serializer, data) {
            (Serializer::MsgPack, Data::Binary(b)) => msgpack::decode(b, &self.limits).map(Some),
            (Serializer::MsgPack, Data::Text(_)) => Err(DecodeError::UnexpectedText),
            (Serializer::Default, Data::Text(t)) => {
                if self.pending.is_some() {
                    return Err(DecodeError::UnexpectedText);
                }
                match text::decode(t.as_str(), &self.limits)? {
                    text::Decoded::Packet(p) => Ok(Some(p)),
                    text::Decoded::Pending(p) => {
                        self.pending = Some(p);
                        Ok(None)
                    }
                }
            }
            (Serializer::Default, Data::Binary(b)) => {
                let pending = self.pending.as_mut().ok_or(DecodeError::UnexpectedBinary)?;
                if pending.add(b, &self.limits)? {
                    if let Some(p) = self.pending.take() {
                        return Ok(Some(p.finish()));
                    }
                }
                Ok(None)
            }
        }
    }

    /// Drops a half-received binary packet.
    pub fn reset(&mut self) {
        self.pending = None;
    }

    /// Whether a binary packet is waiting for attachments.
    pub fn is_mid_packet(&self) -> bool {
        self.pending.is_some()
    }
}

/// The reserved event names socket.io-parser refuses in an EVENT.
const RESERVED_EVENTS: &[&str] = &[
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// Splits an EVENT payload into name and arguments.
fn split_event(payload: Value, reject_reserved: bool) -> Result<(String, Vec<Value>), DecodeError> {
    let invalid = DecodeError::InvalidPayload { kind: "EVENT" };
    let Value::Array(mut items) = payload else {
        return Err(invalid);
    };
    if items.is_empty() {
        return Err(invalid);
    }
    let name = match items.remove(0) {
        Value::String(s) if reject_reserved && RESERVED_EVENTS.contains(&s.as_str()) => {
            return Err(invalid)
        }
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        _ => return Err(invalid),
    };
    Ok((name, items))
}

#[cfg(test)]
mod tests;
