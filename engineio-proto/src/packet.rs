//! Engine.IO v4 packets and their single-packet encodings.
//!
//! This module owns the packet type table and the two framings of one packet:
//! the *text* form (`4hello`, used inside polling payloads and as WebSocket text
//! frames) and the *binary* form (a raw WebSocket binary frame, always a
//! message). Payload framing (several packets per HTTP body) lives in
//! [`crate::payload`].

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::{BufMut, Bytes, BytesMut};

use crate::DecodeError;

/// The seven Engine.IO packet types and their wire digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// `0`: the handshake, sent by the server.
    Open,
    /// `1`: closes the session.
    Close,
    /// `2`: heartbeat request (server → client in v4) or upgrade probe.
    Ping,
    /// `3`: heartbeat answer or probe answer.
    Pong,
    /// `4`: application data.
    Message,
    /// `5`: completes a transport upgrade.
    Upgrade,
    /// `6`: ends a pending polling request during an upgrade.
    Noop,
}

impl PacketType {
    /// The wire digit of this type (`b'0'`..=`b'6'`).
    pub const fn as_byte(self) -> u8 {
        match self {
            PacketType::Open => b'0',
            PacketType::Close => b'1',
            PacketType::Ping => b'2',
            PacketType::Pong => b'3',
            PacketType::Message => b'4',
            PacketType::Upgrade => b'5',
            PacketType::Noop => b'6',
        }
    }

    /// Parses a wire digit.
    pub const fn from_byte(b: u8) -> Result<Self, DecodeError> {
        Ok(match b {
            b'0' => PacketType::Open,
            b'1' => PacketType::Close,
            b'2' => PacketType::Ping,
            b'3' => PacketType::Pong,
            b'4' => PacketType::Message,
            b'5' => PacketType::Upgrade,
            b'6' => PacketType::Noop,
            other => return Err(DecodeError::UnknownPacketType(other)),
        })
    }
}

/// The data a [`Packet`] carries: UTF-8 text or raw bytes.
///
/// Text is held as [`Bytes`] known to be valid UTF-8, so decoding a packet
/// from a received buffer copies nothing.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Data {
    /// A text message (valid UTF-8).
    Text(Text),
    /// A binary message.
    Binary(Bytes),
}

impl std::fmt::Debug for Data {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Data::Text(t) => f.debug_tuple("Text").field(&t.as_str()).finish(),
            Data::Binary(b) => f.debug_tuple("Binary").field(b).finish(),
        }
    }
}

impl Data {
    /// Length of the data in bytes (UTF-8 bytes for text).
    pub fn len(&self) -> usize {
        match self {
            Data::Text(t) => t.len(),
            Data::Binary(b) => b.len(),
        }
    }

    /// Whether the data is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text, if this is a text message.
    ///
    /// ```
    /// use engineio_proto::Data;
    /// assert_eq!(Data::from("hi").as_str(), Some("hi"));
    /// assert_eq!(Data::from(vec![1u8, 2]).as_str(), None);
    /// ```
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Data::Text(t) => Some(t.as_str()),
            Data::Binary(_) => None,
        }
    }

    /// Whether this is binary data.
    pub fn is_binary(&self) -> bool {
        matches!(self, Data::Binary(_))
    }
}

impl From<&str> for Data {
    fn from(s: &str) -> Self {
        Data::Text(Text::from(s))
    }
}

impl From<String> for Data {
    fn from(s: String) -> Self {
        Data::Text(Text::from(s))
    }
}

impl From<Text> for Data {
    fn from(t: Text) -> Self {
        Data::Text(t)
    }
}

impl From<Bytes> for Data {
    fn from(b: Bytes) -> Self {
        Data::Binary(b)
    }
}

impl From<Vec<u8>> for Data {
    fn from(b: Vec<u8>) -> Self {
        Data::Binary(Bytes::from(b))
    }
}

impl From<&[u8]> for Data {
    fn from(b: &[u8]) -> Self {
        Data::Binary(Bytes::copy_from_slice(b))
    }
}

/// Cheaply clonable UTF-8 text backed by [`Bytes`].
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Text(Bytes);

impl Text {
    /// Wraps bytes after checking they are valid UTF-8.
    pub fn from_utf8(bytes: Bytes) -> Result<Self, DecodeError> {
        std::str::from_utf8(&bytes).map_err(|_| DecodeError::InvalidUtf8)?;
        Ok(Text(bytes))
    }

    /// Wraps a static string without copying.
    pub const fn from_static(s: &'static str) -> Self {
        Text(Bytes::from_static(s.as_bytes()))
    }

    /// The text as a `&str`.
    pub fn as_str(&self) -> &str {
        // The constructors guarantee UTF-8; a checked conversion keeps the
        // crate free of `unsafe` and costs one linear scan the optimiser
        // usually elides for ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The UTF-8 bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Length in UTF-8 bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Returns the underlying bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text(Bytes::from(s))
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One Engine.IO packet.
///
/// Only `Message` carries binary data; every other type carries text (often
/// empty, `probe` for the upgrade probe, JSON for `Open`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// Handshake data (JSON text).
    Open(Text),
    /// Close the session.
    Close,
    /// Heartbeat request; `Ping("probe")` is the upgrade probe.
    Ping(Text),
    /// Heartbeat answer; `Pong("probe")` answers the upgrade probe.
    Pong(Text),
    /// Application data.
    Message(Data),
    /// Completes an upgrade.
    Upgrade,
    /// No operation.
    Noop,
}

/// The text of the upgrade probe packets (`2probe` / `3probe`).
pub const PROBE: &str = "probe";

impl Packet {
    /// A text message.
    pub fn text(s: impl Into<Text>) -> Self {
        Packet::Message(Data::Text(s.into()))
    }

    /// A binary message.
    pub fn binary(b: impl Into<Bytes>) -> Self {
        Packet::Message(Data::Binary(b.into()))
    }

    /// A heartbeat ping with no data.
    pub fn ping() -> Self {
        Packet::Ping(Text::default())
    }

    /// A heartbeat pong with no data.
    pub fn pong() -> Self {
        Packet::Pong(Text::default())
    }

    /// The packet's type.
    pub fn packet_type(&self) -> PacketType {
        match self {
            Packet::Open(_) => PacketType::Open,
            Packet::Close => PacketType::Close,
            Packet::Ping(_) => PacketType::Ping,
            Packet::Pong(_) => PacketType::Pong,
            Packet::Message(_) => PacketType::Message,
            Packet::Upgrade => PacketType::Upgrade,
            Packet::Noop => PacketType::Noop,
        }
    }

    /// Whether this is `2probe`.
    pub fn is_ping_probe(&self) -> bool {
        matches!(self, Packet::Ping(t) if t == PROBE)
    }

    /// Whether this is `3probe`.
    pub fn is_pong_probe(&self) -> bool {
        matches!(self, Packet::Pong(t) if t == PROBE)
    }

    /// Whether this packet is a binary message (sent as a raw WebSocket
    /// binary frame, or `b<base64>` in a polling payload).
    pub fn is_binary(&self) -> bool {
        matches!(self, Packet::Message(Data::Binary(_)))
    }

    pub(crate) fn text_data(&self) -> &[u8] {
        match self {
            Packet::Open(t) | Packet::Ping(t) | Packet::Pong(t) => t.as_bytes(),
            Packet::Message(Data::Text(t)) => t.as_bytes(),
            Packet::Message(Data::Binary(b)) => b,
            Packet::Close | Packet::Upgrade | Packet::Noop => &[],
        }
    }

    /// Decodes a packet in text form (`4hello`), as found in a WebSocket text
    /// frame or one segment of a polling payload. Binary segments of a polling
    /// payload (`b...`) are handled by [`crate::payload`].
    ///
    /// ```
    /// use engineio_proto::Packet;
    /// let p = Packet::decode_text(bytes::Bytes::from_static(b"4hello")).unwrap();
    /// assert_eq!(p, Packet::text("hello"));
    /// ```
    pub fn decode_text(buf: Bytes) -> Result<Packet, DecodeError> {
        let Some(&first) = buf.first() else {
            return Err(DecodeError::Empty);
        };
        let ty = PacketType::from_byte(first)?;
        let data = buf.slice(1..);
        let text = || Text::from_utf8(data.clone());
        Ok(match ty {
            PacketType::Open => Packet::Open(text()?),
            PacketType::Close => Packet::Close,
            PacketType::Ping => Packet::Ping(text()?),
            PacketType::Pong => Packet::Pong(text()?),
            PacketType::Message => Packet::Message(Data::Text(text()?)),
            PacketType::Upgrade => Packet::Upgrade,
            PacketType::Noop => Packet::Noop,
        })
    }

    /// Decodes a WebSocket binary frame: always a binary message in v4.
    pub fn decode_binary_frame(buf: Bytes) -> Packet {
        Packet::Message(Data::Binary(buf))
    }

    /// Length of the text encoding of a non-binary packet, in bytes.
    pub fn text_len(&self) -> usize {
        1 + self.text_data().len()
    }

    /// Encodes a non-binary packet in text form (type digit + data).
    ///
    /// A binary message is encoded in the polling form `b<base64>`, which is
    /// what a text-only channel must carry; WebSocket drivers send binary
    /// messages as raw binary frames instead (see [`Packet::is_binary`]).
    pub fn encode_text(&self, out: &mut BytesMut) {
        match self {
            Packet::Message(Data::Binary(b)) => encode_base64_segment(b, out),
            _ => {
                out.reserve(self.text_len());
                out.put_u8(self.packet_type().as_byte());
                out.put_slice(self.text_data());
            }
        }
    }

    /// Encodes the packet for a WebSocket frame: `(is_binary, bytes)`.
    ///
    /// Text packets become `4hello`-style text; binary messages become their
    /// raw bytes with no type prefix (v4).
    pub fn to_ws_frame(&self) -> (bool, Bytes) {
        match self {
            Packet::Message(Data::Binary(b)) => (true, b.clone()),
            _ => {
                let mut out = BytesMut::with_capacity(self.text_len());
                self.encode_text(&mut out);
                (false, out.freeze())
            }
        }
    }
}

/// The polling form of a binary message, both directions: `b` and the
/// standard base64 of the bytes. [`crate::payload`] frames these segments;
/// they live here, with the rest of one packet's encoding.
pub(crate) fn encode_base64_segment(b: &[u8], out: &mut BytesMut) {
    let start = out.len();
    let n = base64_segment_len(b) - 1;
    out.reserve(1 + n);
    out.put_u8(b'b');
    out.resize(start + 1 + n, 0);
    let written = STANDARD
        .encode_slice(b, &mut out[start + 1..])
        .unwrap_or_default();
    out.truncate(start + 1 + written);
}

/// Bytes of [`encode_base64_segment`]'s output for `b`.
pub(crate) fn base64_segment_len(b: &[u8]) -> usize {
    1 + base64::encoded_len(b.len(), true).unwrap_or(0)
}

/// Decodes a `b<base64>` segment (the leading `b` included) to its bytes.
pub(crate) fn decode_base64_segment(seg: &[u8]) -> Result<Bytes, DecodeError> {
    let b64 = seg.strip_prefix(b"b").unwrap_or(seg);
    STANDARD
        .decode(b64)
        .map(Bytes::from)
        .map_err(|_| DecodeError::InvalidBase64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &'static [u8]) -> Result<Packet, DecodeError> {
        Packet::decode_text(Bytes::from_static(s))
    }

    fn enc(p: &Packet) -> Vec<u8> {
        let mut out = BytesMut::new();
        p.encode_text(&mut out);
        out.to_vec()
    }

    #[test]
    fn spec_examples_decode() {
        assert_eq!(dec(b"4hello").unwrap(), Packet::text("hello"));
        assert_eq!(dec(b"2").unwrap(), Packet::ping());
        assert_eq!(dec(b"3").unwrap(), Packet::pong());
        assert_eq!(dec(b"2probe").unwrap(), Packet::Ping(Text::from("probe")));
        assert!(dec(b"2probe").unwrap().is_ping_probe());
        assert!(dec(b"3probe").unwrap().is_pong_probe());
        assert_eq!(dec(b"1").unwrap(), Packet::Close);
        assert_eq!(dec(b"5").unwrap(), Packet::Upgrade);
        assert_eq!(dec(b"6").unwrap(), Packet::Noop);
        assert_eq!(dec(b"4").unwrap(), Packet::text(""));
        assert_eq!(dec("4h€llo".as_bytes()).unwrap(), Packet::text("h€llo"));
        assert_eq!(
            dec(br#"0{"sid":"abc"}"#).unwrap(),
            Packet::Open(Text::from(r#"{"sid":"abc"}"#))
        );
    }

    #[test]
    fn spec_examples_encode() {
        assert_eq!(enc(&Packet::text("hello")), b"4hello");
        assert_eq!(enc(&Packet::ping()), b"2");
        assert_eq!(enc(&Packet::Pong(Text::from("probe"))), b"3probe");
        assert_eq!(enc(&Packet::Close), b"1");
        assert_eq!(enc(&Packet::Upgrade), b"5");
        assert_eq!(enc(&Packet::Noop), b"6");
        assert_eq!(enc(&Packet::binary(vec![1u8, 2, 3, 4])), b"bAQIDBA==");
    }

    #[test]
    fn ws_frames() {
        assert_eq!(
            Packet::binary(vec![1u8, 2, 3, 4]).to_ws_frame(),
            (true, Bytes::from_static(&[1, 2, 3, 4]))
        );
        assert_eq!(
            Packet::text("hi").to_ws_frame(),
            (false, Bytes::from_static(b"4hi"))
        );
        assert_eq!(
            Packet::decode_binary_frame(Bytes::from_static(&[1, 2])),
            Packet::binary(vec![1u8, 2])
        );
    }

    #[test]
    fn errors() {
        assert_eq!(dec(b""), Err(DecodeError::Empty));
        assert_eq!(dec(b"abc"), Err(DecodeError::UnknownPacketType(b'a')));
        assert_eq!(dec(b"7"), Err(DecodeError::UnknownPacketType(b'7')));
        assert_eq!(dec(b"4\xff"), Err(DecodeError::InvalidUtf8));
    }

    #[test]
    fn data_after_dataless_types_is_ignored() {
        // As in engine.io-parser: close, upgrade and noop carry no data, and
        // trailing bytes (found by the fuzzer, even invalid UTF-8) are
        // ignored rather than rejected.
        assert_eq!(dec(b"1\xcb"), Ok(Packet::Close));
        assert_eq!(dec(b"5junk"), Ok(Packet::Upgrade));
        assert_eq!(dec(b"6x"), Ok(Packet::Noop));
    }

    #[test]
    fn decoding_is_zero_copy() {
        let buf = Bytes::from(b"4some message".to_vec());
        let ptr = buf.as_ptr();
        let Packet::Message(Data::Text(t)) = Packet::decode_text(buf).unwrap() else {
            panic!("not a text message")
        };
        assert_eq!(t.as_bytes().as_ptr(), ptr.wrapping_add(1));
    }
}
