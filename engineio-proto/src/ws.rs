//! WebSocket framing (RFC 6455 §5), sans-IO, for both ends.
//!
//! [`MessageDecoder`] turns the bytes a peer sent into whole messages and
//! control frames: it checks the reserved bits, the opcode, the masking
//! (a client's frames are masked, a server's are not; [`MessageDecoder::new`]
//! decodes a client's, [`MessageDecoder::client`] a server's), control-frame
//! rules, close codes and UTF-8, reassembles fragmented
//! messages, and refuses a message over its size limit as soon as a frame
//! header announces it (before its payload is buffered), and a frame whose
//! bytes trickle in over too many reads ([`MessageDecoder::with_max_chunks`]).
//! Every refusal carries the close code the connection must be failed with
//! ([`WsError::close_code`]).
//!
//! [`encode_frame`], [`encode_packet`] and [`encode_close`] write unmasked
//! (server) frames; [`encode_masked_frame`], [`encode_masked_packet`] and
//! [`encode_masked_close`] write masked (client) frames, with a key the
//! caller draws from a strong source of entropy (§5.3).
//!
//! The decoder keeps no buffer of its own: the driver owns the input bytes
//! and can free them whenever they are all consumed, so an idle connection
//! holds no read buffer at all.
//!
//! ```
//! use bytes::BytesMut;
//! use engineio_proto::ws::{encode_frame, MessageDecoder, OpCode, WsMessage};
//!
//! // A masked text frame "4hi", as a client sends it.
//! let key = [1, 2, 3, 4];
//! let mut frame = vec![0x81, 0x80 | 3];
//! frame.extend_from_slice(&key);
//! frame.extend(b"4hi".iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
//!
//! let mut input = BytesMut::from(&frame[..]);
//! let mut decoder = MessageDecoder::new(1_000_000);
//! assert_eq!(
//!     decoder.decode(&mut input).unwrap(),
//!     Some(WsMessage::Text("4hi".into()))
//! );
//! assert!(input.is_empty());
//!
//! // The server's answer: unmasked.
//! let mut out = Vec::new();
//! encode_frame(&mut out, OpCode::Text, b"4hi");
//! assert_eq!(out, b"\x81\x034hi");
//! ```

use bytes::{Buf, Bytes, BytesMut};

use crate::packet::{Data, Packet};

/// A frame's opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpCode {
    /// A continuation of a fragmented message.
    Continuation,
    /// A text message (UTF-8).
    Text,
    /// A binary message.
    Binary,
    /// The closing handshake.
    Close,
    /// A ping.
    Ping,
    /// A pong.
    Pong,
}

impl OpCode {
    fn from_bits(b: u8) -> Option<OpCode> {
        Some(match b {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            _ => return None,
        })
    }

    const fn bits(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    const fn is_control(self) -> bool {
        matches!(self, OpCode::Close | OpCode::Ping | OpCode::Pong)
    }
}

/// A whole message or a control frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsMessage {
    /// A text message; its bytes are valid UTF-8.
    Text(Bytes),
    /// A binary message.
    Binary(Bytes),
    /// A ping, with its payload (to be echoed in the pong).
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// A close frame, with its status code if it had one (the code is one a
    /// peer may send; the reason, valid UTF-8, is dropped).
    Close(Option<u16>),
}

/// Why a connection must be failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WsError {
    /// The peer broke the framing rules (close code 1002).
    #[error("websocket protocol error: {0}")]
    Protocol(&'static str),
    /// A message is over the size limit (close code 1009).
    #[error("websocket message over the size limit")]
    TooLarge,
    /// A text message or close reason is not UTF-8 (close code 1007).
    #[error("websocket text is not UTF-8")]
    InvalidUtf8,
    /// A frame arrived in more reads than the decoder's chunk limit
    /// (close code 1008, ws's "Too many buffered chunks").
    #[error("websocket frame in too many pieces")]
    TooManyChunks,
    /// A message came in more fragments than the decoder's fragment limit
    /// (close code 1008).
    #[error("websocket message in too many fragments")]
    TooManyFragments,
}

impl WsError {
    /// The close code to fail the connection with.
    pub const fn close_code(self) -> u16 {
        match self {
            WsError::Protocol(_) => 1002,
            WsError::TooLarge => 1009,
            WsError::InvalidUtf8 => 1007,
            WsError::TooManyChunks | WsError::TooManyFragments => 1008,
        }
    }
}

/// Whether a peer may send close code `code` (RFC 6455 §7.4; 1005, 1006
/// and 1015 are for local use only).
pub const fn close_code_allowed(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1013 | 3000..=4999)
}

/// Decodes the frames a client sends (masked, RFC 6455 §5.3), or with
/// [`client`](Self::client) those a server sends (unmasked), into messages.
///
/// The driver appends every read to one input buffer and then calls
/// [`decode`](Self::decode) until it returns `Ok(None)`; between calls it
/// only appends to the buffer. The decoder counts the reads that the frame
/// at the front of the input has been waiting over, as `ws` 8.23 counts
/// the chunks its receiver buffers, and refuses a frame whose bytes arrive
/// in more reads than its chunk limit (see [`with_max_chunks`](Self::with_max_chunks)).
#[derive(Debug)]
pub struct MessageDecoder {
    max_message: usize,
    max_chunks: usize,
    max_fragments: usize,
    /// Whether frames must be masked (a client's) or must not be (a
    /// server's, RFC 6455 §5.1).
    masked: bool,
    /// Reads that still hold bytes of the frame at the front of the input
    /// (the chunks `ws` would keep buffered).
    held: usize,
    /// `input.len()` when `decode` last returned: a longer input at the
    /// next call means a read came in between.
    seen: usize,
    /// A fragmented message in progress: (is text, bytes so far,
    /// fragments so far).
    partial: Option<(bool, BytesMut, usize)>,
}

impl MessageDecoder {
    /// The chunk limit of [`new`](Self::new): 10,000, engine.io 6.6.13's
    /// `maxBufferedChunks`.
    pub const DEFAULT_MAX_CHUNKS: usize = 10_000;

    /// A decoder that refuses messages over `max_message` bytes, and frames
    /// in more than [`DEFAULT_MAX_CHUNKS`](Self::DEFAULT_MAX_CHUNKS) reads.
    pub fn new(max_message: usize) -> Self {
        MessageDecoder {
            max_message,
            max_chunks: Self::DEFAULT_MAX_CHUNKS,
            max_fragments: usize::MAX,
            masked: true,
            held: 0,
            seen: 0,
            partial: None,
        }
    }

    /// A decoder for a client: it decodes the frames a server sends, which
    /// must not be masked (a masked one fails the connection, RFC 6455
    /// §5.1), with the limits of [`new`](Self::new). The chunk limit is the
    /// server's defence against a trickling client; engineio's client lifts
    /// it (`with_max_chunks(usize::MAX)`), since a slow network delivers a
    /// large message a segment at a time.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use engineio_proto::ws::{encode_frame, MessageDecoder, OpCode, WsMessage};
    ///
    /// let mut frame = Vec::new();
    /// encode_frame(&mut frame, OpCode::Text, b"4hi");
    /// let mut input = BytesMut::from(&frame[..]);
    /// assert_eq!(
    ///     MessageDecoder::client(100).decode(&mut input).unwrap(),
    ///     Some(WsMessage::Text("4hi".into()))
    /// );
    /// ```
    pub fn client(max_message: usize) -> Self {
        MessageDecoder {
            masked: false,
            ..Self::new(max_message)
        }
    }

    /// Sets the fragment limit: a message may come in at most
    /// `max_fragments` frames (0 counts as 1); the frame after that fails
    /// the connection with [`WsError::TooManyFragments`] (close code 1008).
    /// Without one, only the size limit ends a message that never ends, and
    /// a peer sending empty fragments costs a decode each, indefinitely.
    /// [`new`](Self::new) sets none, as `ws`; engine.io-client's bound for
    /// the server's messages is the size limit alone.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use engineio_proto::ws::{MessageDecoder, WsError};
    ///
    /// // A text message begun, then continued with empty fragments.
    /// let mut wire = vec![0x01, 0x01, b'4'];
    /// for _ in 0..3 {
    ///     wire.extend_from_slice(&[0x00, 0x00]);
    /// }
    /// let mut d = MessageDecoder::client(100).with_max_fragments(3);
    /// let mut input = BytesMut::from(&wire[..]);
    /// assert_eq!(d.decode(&mut input), Err(WsError::TooManyFragments));
    /// ```
    #[must_use]
    pub fn with_max_fragments(mut self, max_fragments: usize) -> Self {
        self.max_fragments = max_fragments.max(1);
        self
    }

    /// Sets the chunk limit: a frame may arrive in at most `max_chunks`
    /// reads (0 counts as 1: every frame whole in one read). One more read
    /// while the frame is still incomplete fails the connection with
    /// [`WsError::TooManyChunks`] (close code 1008), as `ws` 8.23 does with
    /// `maxBufferedChunks`: without a limit, a peer trickling a frame a
    /// byte at a time costs a wakeup and a decode per byte, indefinitely.
    ///
    /// What counts is the reads holding bytes of the incomplete frame: a
    /// read that ends the previous frame and starts the next one counts for
    /// the next one, and reads that brought only the frame's header stop
    /// counting once the header is all there and no payload yet (ws consumes
    /// a header as soon as it is whole). Reads that split a header *and*
    /// brought some payload still count (ws would have dropped them, so the
    /// count may exceed ws's by at most 13, the bytes of a header less one).
    /// Fragments of a message are separate frames, each with its own count.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use engineio_proto::ws::{MessageDecoder, WsError, WsMessage};
    ///
    /// // A masked text frame "4hello" (mask key 0: the payload is as is).
    /// let mut frame = b"\x81\x86\0\0\0\0".to_vec();
    /// frame.extend_from_slice(b"4hello");
    /// let mut decoder = MessageDecoder::new(1_000).with_max_chunks(3);
    ///
    /// // In three reads: fine.
    /// let mut input = BytesMut::new();
    /// for piece in [&frame[..7], &frame[7..9], &frame[9..]] {
    ///     input.extend_from_slice(piece);
    ///     if let Some(msg) = decoder.decode(&mut input).unwrap() {
    ///         assert_eq!(msg, WsMessage::Text("4hello".into()));
    ///     }
    /// }
    ///
    /// // In four: the fourth read is refused, whole frame or not.
    /// let mut input = BytesMut::new();
    /// for piece in [&frame[..7], &frame[7..8], &frame[8..9]] {
    ///     input.extend_from_slice(piece);
    ///     assert_eq!(decoder.decode(&mut input), Ok(None));
    /// }
    /// input.extend_from_slice(&frame[9..]);
    /// assert_eq!(decoder.decode(&mut input), Err(WsError::TooManyChunks));
    /// assert_eq!(WsError::TooManyChunks.close_code(), 1008);
    /// ```
    #[must_use]
    pub fn with_max_chunks(mut self, max_chunks: usize) -> Self {
        self.max_chunks = max_chunks.max(1);
        self
    }

    /// Decodes the next message or control frame from the front of `input`,
    /// consuming its bytes; `Ok(None)` when `input` holds no whole frame
    /// yet (fragments of a message are consumed and kept meanwhile). After
    /// an error the connection must be failed with its close code.
    ///
    /// Call it after every read until it returns `Ok(None)`: that is how
    /// the decoder counts the reads a frame arrives in (calling it again
    /// with no new bytes counts nothing).
    pub fn decode(&mut self, input: &mut BytesMut) -> Result<Option<WsMessage>, WsError> {
        if input.len() > self.seen {
            // A read since the last call: as ws, refuse it if the frame has
            // already waited over as many reads as allowed.
            if self.held >= self.max_chunks {
                return Err(WsError::TooManyChunks);
            }
            self.held += 1;
        }
        let r = self.decode_frames(input);
        self.seen = input.len();
        r
    }

    fn decode_frames(&mut self, input: &mut BytesMut) -> Result<Option<WsMessage>, WsError> {
        loop {
            let Some(head) = self.header(input)? else {
                return Ok(None);
            };
            if input.len() < head.len + head.payload {
                if input.len() == head.len {
                    // Only the header so far: ws has consumed it and holds
                    // none of the reads that brought it.
                    self.held = 0;
                }
                // Make room for the whole frame at once.
                input.reserve(head.len + head.payload - input.len());
                return Ok(None);
            }
            let mut payload = input.split_to(head.len + head.payload);
            // What is left came with the latest read (the frame would have
            // been whole earlier otherwise): one read held for the next frame.
            self.held = usize::from(!input.is_empty());
            payload.advance(head.len);
            if let Some(key) = head.mask {
                unmask(&mut payload, key);
            }
            match head.opcode {
                OpCode::Text | OpCode::Binary => {
                    let text = head.opcode == OpCode::Text;
                    if head.fin {
                        return finish(text, payload).map(Some);
                    }
                    self.partial = Some((text, payload, 1));
                }
                OpCode::Continuation => {
                    let Some((text, mut buf, count)) = self.partial.take() else {
                        return Err(WsError::Protocol("continuation without a message"));
                    };
                    if count >= self.max_fragments {
                        return Err(WsError::TooManyFragments);
                    }
                    buf.unsplit(payload);
                    if head.fin {
                        return finish(text, buf).map(Some);
                    }
                    self.partial = Some((text, buf, count + 1));
                }
                OpCode::Ping => return Ok(Some(WsMessage::Ping(payload.freeze()))),
                OpCode::Pong => return Ok(Some(WsMessage::Pong(payload.freeze()))),
                OpCode::Close => {
                    return match &payload[..] {
                        [] => Ok(Some(WsMessage::Close(None))),
                        [_] => Err(WsError::Protocol("close frame of one byte")),
                        [a, b, reason @ ..] => {
                            let code = u16::from_be_bytes([*a, *b]);
                            if !close_code_allowed(code) {
                                Err(WsError::Protocol("close code not allowed"))
                            } else if std::str::from_utf8(reason).is_err() {
                                Err(WsError::InvalidUtf8)
                            } else {
                                Ok(Some(WsMessage::Close(Some(code))))
                            }
                        }
                    };
                }
            }
        }
    }

    /// Parses and checks the header at the front of `input`, if complete.
    fn header(&self, input: &[u8]) -> Result<Option<Header>, WsError> {
        let [b0, b1, ..] = *input else {
            return Ok(None);
        };
        if b0 & 0x70 != 0 {
            return Err(WsError::Protocol("reserved bits set"));
        }
        let fin = b0 & 0x80 != 0;
        let opcode = OpCode::from_bits(b0 & 0x0F).ok_or(WsError::Protocol("unknown opcode"))?;
        let masked = b1 & 0x80 != 0;
        if masked != self.masked {
            return Err(WsError::Protocol(if self.masked {
                "client frame not masked"
            } else {
                "server frame masked"
            }));
        }
        let short = usize::from(b1 & 0x7F);
        if opcode.is_control() && (!fin || short > 125) {
            return Err(WsError::Protocol("bad control frame"));
        }
        match opcode {
            OpCode::Continuation if self.partial.is_none() => {
                return Err(WsError::Protocol("continuation without a message"))
            }
            OpCode::Text | OpCode::Binary if self.partial.is_some() => {
                return Err(WsError::Protocol("new message inside a fragmented one"))
            }
            _ => {}
        }
        let ext = match short {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let len = 2 + ext + if masked { 4 } else { 0 };
        if input.len() < len {
            return Ok(None);
        }
        let payload = match ext {
            0 => short as u64,
            2 => u64::from(u16::from_be_bytes([input[2], input[3]])),
            _ => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&input[2..10]);
                let n = u64::from_be_bytes(b);
                if n >> 63 != 0 {
                    return Err(WsError::Protocol("payload length over 2^63"));
                }
                n
            }
        };
        if !opcode.is_control() {
            let so_far = self.partial.as_ref().map_or(0, |(_, b, _)| b.len()) as u64;
            if so_far.saturating_add(payload) > self.max_message as u64 {
                return Err(WsError::TooLarge);
            }
        }
        let mask = masked.then(|| {
            let mut key = [0u8; 4];
            key.copy_from_slice(&input[len - 4..len]);
            key
        });
        Ok(Some(Header {
            fin,
            opcode,
            mask,
            len,
            // At most `max_message` (a usize) or 125.
            payload: payload as usize,
        }))
    }

    /// Whether a fragmented message is in progress (its fragments are held).
    pub fn is_mid_message(&self) -> bool {
        self.partial.is_some()
    }
}

struct Header {
    fin: bool,
    opcode: OpCode,
    /// The masking key, for a masked frame.
    mask: Option<[u8; 4]>,
    /// Header length in bytes.
    len: usize,
    /// Payload length in bytes.
    payload: usize,
}

fn finish(text: bool, buf: BytesMut) -> Result<WsMessage, WsError> {
    if text {
        if std::str::from_utf8(&buf).is_err() {
            return Err(WsError::InvalidUtf8);
        }
        Ok(WsMessage::Text(buf.freeze()))
    } else {
        Ok(WsMessage::Binary(buf.freeze()))
    }
}

/// XORs `buf` with the masking key (RFC 6455 §5.3), eight bytes at a time:
/// it masks and unmasks alike.
fn unmask(buf: &mut [u8], key: [u8; 4]) {
    let wide = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut chunks = buf.chunks_exact_mut(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        c.copy_from_slice(&(u64::from_ne_bytes(w) ^ wide).to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= key[i % 4];
    }
}

/// Appends the header of a final frame of `len` payload bytes (the
/// shortest length form), masked with `key` if given, reserving room for
/// the payload too.
fn encode_header(out: &mut Vec<u8>, opcode: OpCode, len: usize, key: Option<[u8; 4]>) {
    out.reserve(14 + len);
    out.push(0x80 | opcode.bits());
    let mask_bit = if key.is_some() { 0x80 } else { 0 };
    if len < 126 {
        out.push(mask_bit | len as u8);
    } else if let Ok(n) = u16::try_from(len) {
        out.push(mask_bit | 126);
        out.extend_from_slice(&n.to_be_bytes());
    } else {
        out.push(mask_bit | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    if let Some(key) = key {
        out.extend_from_slice(&key);
    }
}

/// Appends one unmasked, final frame (a server's frame) to `out`.
pub fn encode_frame(out: &mut Vec<u8>, opcode: OpCode, payload: &[u8]) {
    frame_with(out, opcode, payload, None);
}

/// Appends one final frame masked with `key` (a client's frame, RFC 6455
/// §5.3) to `out`.
///
/// ```
/// use bytes::BytesMut;
/// use engineio_proto::ws::{encode_masked_frame, MessageDecoder, OpCode, WsMessage};
///
/// let mut out = Vec::new();
/// encode_masked_frame(&mut out, OpCode::Text, b"4hi", [1, 2, 3, 4]);
/// assert_eq!(out, [0x81, 0x83, 1, 2, 3, 4, b'4' ^ 1, b'h' ^ 2, b'i' ^ 3]);
/// // What a server decodes.
/// let mut input = BytesMut::from(&out[..]);
/// assert_eq!(
///     MessageDecoder::new(100).decode(&mut input).unwrap(),
///     Some(WsMessage::Text("4hi".into()))
/// );
/// ```
pub fn encode_masked_frame(out: &mut Vec<u8>, opcode: OpCode, payload: &[u8], key: [u8; 4]) {
    frame_with(out, opcode, payload, Some(key));
}

fn frame_with(out: &mut Vec<u8>, opcode: OpCode, payload: &[u8], key: Option<[u8; 4]>) {
    encode_header(out, opcode, payload.len(), key);
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = key {
        unmask(&mut out[start..], key);
    }
}

/// Appends the frame that carries `packet` on a WebSocket to `out`: a
/// binary message as a binary frame, anything else as a text frame of the
/// type digit and the data.
pub fn encode_packet(out: &mut Vec<u8>, packet: &Packet) {
    packet_with(out, packet, None);
}

/// [`encode_packet`], masked with `key` (a client's frame).
pub fn encode_masked_packet(out: &mut Vec<u8>, packet: &Packet, key: [u8; 4]) {
    packet_with(out, packet, Some(key));
}

fn packet_with(out: &mut Vec<u8>, packet: &Packet, key: Option<[u8; 4]>) {
    if let Packet::Message(Data::Binary(b)) = packet {
        frame_with(out, OpCode::Binary, b, key);
        return;
    }
    let data = packet.text_data();
    encode_header(out, OpCode::Text, 1 + data.len(), key);
    let start = out.len();
    out.push(packet.packet_type().as_byte());
    out.extend_from_slice(data);
    if let Some(key) = key {
        unmask(&mut out[start..], key);
    }
}

/// Appends a close frame with status `code` and no reason to `out`.
pub fn encode_close(out: &mut Vec<u8>, code: u16) {
    encode_frame(out, OpCode::Close, &code.to_be_bytes());
}

/// [`encode_close`], masked with `key` (a client's frame).
pub fn encode_masked_close(out: &mut Vec<u8>, code: u16, key: [u8; 4]) {
    encode_masked_frame(out, OpCode::Close, &code.to_be_bytes(), key);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A client frame: masked with `key`.
    fn client_frame(fin: bool, op: u8, payload: &[u8], key: [u8; 4]) -> Vec<u8> {
        let mut out = vec![(u8::from(fin) << 7) | op];
        let n = payload.len();
        if n < 126 {
            out.push(0x80 | n as u8);
        } else if n <= 0xFFFF {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        } else {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
        out.extend_from_slice(&key);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        out
    }

    fn decode_all(bytes: &[u8], max: usize) -> Result<Vec<WsMessage>, WsError> {
        let mut d = MessageDecoder::new(max);
        let mut input = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(m) = d.decode(&mut input)? {
            out.push(m);
        }
        Ok(out)
    }

    const K: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    #[test]
    fn rfc_6455_masked_hello() {
        // RFC 6455 §5.7: a single-frame masked text message "Hello".
        let bytes = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        assert_eq!(
            decode_all(&bytes, 100).unwrap(),
            vec![WsMessage::Text("Hello".into())]
        );
    }

    #[test]
    fn fragments_with_a_ping_between() {
        let mut b = client_frame(false, 1, b"Hel", K);
        b.extend(client_frame(true, 9, b"p", K));
        b.extend(client_frame(true, 0, b"lo", K));
        assert_eq!(
            decode_all(&b, 100).unwrap(),
            vec![WsMessage::Ping("p".into()), WsMessage::Text("Hello".into())]
        );
    }

    #[test]
    fn byte_by_byte_input_gives_the_same_messages() {
        let mut b = client_frame(true, 2, &[7u8; 300], K);
        b.extend(client_frame(true, 1, b"4x", K));
        let mut d = MessageDecoder::new(1000);
        let mut input = BytesMut::new();
        let mut got = Vec::new();
        for byte in b {
            input.extend_from_slice(&[byte]);
            while let Some(m) = d.decode(&mut input).unwrap() {
                got.push(m);
            }
        }
        assert_eq!(
            got,
            vec![
                WsMessage::Binary(vec![7u8; 300].into()),
                WsMessage::Text("4x".into())
            ]
        );
    }

    #[test]
    fn the_size_limit_is_inclusive_and_checked_from_the_header() {
        assert!(decode_all(&client_frame(true, 2, &[0; 10], K), 10).is_ok());
        // Only the header of an oversized frame is needed to refuse it.
        let big = client_frame(true, 2, &[0; 11], K);
        assert_eq!(decode_all(&big[..6], 10), Err(WsError::TooLarge));
        // Fragments count together.
        let mut b = client_frame(false, 2, &[0; 6], K);
        b.extend(client_frame(true, 0, &[0; 5], K));
        assert_eq!(decode_all(&b, 10), Err(WsError::TooLarge));
        // A 64-bit length with the top bit set.
        let mut huge = vec![0x82, 0xFF];
        huge.extend_from_slice(&u64::MAX.to_be_bytes());
        huge.extend_from_slice(&K);
        assert_eq!(
            decode_all(&huge, usize::MAX),
            Err(WsError::Protocol("payload length over 2^63"))
        );
    }

    #[test]
    fn framing_errors_and_their_close_codes() {
        let cases: Vec<(Vec<u8>, u16)> = vec![
            (client_frame(true, 0x41, b"x", K), 1002),   // RSV1 set
            (client_frame(true, 3, b"x", K), 1002),      // reserved opcode
            (client_frame(false, 9, b"x", K), 1002),     // fragmented ping
            (client_frame(true, 9, &[0; 126], K), 1002), // long ping
            (client_frame(true, 0, b"x", K), 1002),      // continuation first
            (vec![0x81, 0x01, b'x'], 1002),              // unmasked
            (client_frame(true, 8, &[3], K), 1002),      // close of one byte
            (client_frame(true, 8, &1005u16.to_be_bytes(), K), 1002),
            (client_frame(true, 8, &[0x03, 0xE8, 0xFF], K), 1007),
            (client_frame(true, 1, &[0xC3, 0x28], K), 1007),
        ];
        for (bytes, code) in cases {
            let err = decode_all(&bytes, 100).unwrap_err();
            assert_eq!(err.close_code(), code, "{bytes:02x?}: {err}");
        }
        let mut b = client_frame(false, 1, b"a", K);
        b.extend(client_frame(true, 1, b"b", K));
        assert_eq!(decode_all(&b, 100).unwrap_err().close_code(), 1002);
        // A UTF-8 sequence split across fragments is fine.
        let mut b = client_frame(false, 1, &[0xC3], K);
        b.extend(client_frame(true, 0, &[0xA9], K));
        assert_eq!(
            decode_all(&b, 100).unwrap(),
            vec![WsMessage::Text("é".into())]
        );
    }

    #[test]
    fn close_frames() {
        assert_eq!(
            decode_all(&client_frame(true, 8, b"", K), 10).unwrap(),
            vec![WsMessage::Close(None)]
        );
        let mut p = 4000u16.to_be_bytes().to_vec();
        p.extend_from_slice(b"bye");
        assert_eq!(
            decode_all(&client_frame(true, 8, &p, K), 10).unwrap(),
            vec![WsMessage::Close(Some(4000))]
        );
        assert!(close_code_allowed(1000) && close_code_allowed(1013) && close_code_allowed(3000));
        assert!(
            !close_code_allowed(1004) && !close_code_allowed(1006) && !close_code_allowed(1015)
        );
        assert!(!close_code_allowed(999) && !close_code_allowed(5000) && !close_code_allowed(2000));
    }

    #[test]
    fn encoding_uses_the_shortest_length_form() {
        for (n, head) in [
            (0usize, vec![0x82, 0]),
            (125, vec![0x82, 125]),
            (126, vec![0x82, 126, 0, 126]),
            (65535, vec![0x82, 126, 0xFF, 0xFF]),
            (65536, vec![0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]),
        ] {
            let mut out = Vec::new();
            encode_frame(&mut out, OpCode::Binary, &vec![1u8; n]);
            assert_eq!(&out[..head.len()], &head[..], "{n}");
            assert_eq!(out.len(), head.len() + n);
        }
        let mut out = Vec::new();
        encode_close(&mut out, 1009);
        assert_eq!(out, [0x88, 2, 0x03, 0xF1]);
    }

    #[test]
    fn packets_encode_like_their_ws_frame_form() {
        let long = "x".repeat(70_000);
        for p in [
            Packet::ping(),
            Packet::Message(Data::Text(crate::Text::from(long.as_str()))),
            Packet::Message(Data::Text(crate::Text::from("é"))),
            Packet::binary(Bytes::from(vec![1u8; 200])),
            Packet::Close,
        ] {
            let (binary, bytes) = p.to_ws_frame();
            let mut want = Vec::new();
            let op = if binary { OpCode::Binary } else { OpCode::Text };
            encode_frame(&mut want, op, &bytes);
            let mut got = Vec::new();
            encode_packet(&mut got, &p);
            assert_eq!(got, want);
        }
    }

    /// Feeds `pieces` as successive reads, decoding after each until
    /// `Ok(None)`; the messages, or the first error with the index of the
    /// read it came on.
    fn feed_reads(
        d: &mut MessageDecoder,
        pieces: &[&[u8]],
    ) -> Result<Vec<WsMessage>, (usize, WsError)> {
        let mut input = BytesMut::new();
        let mut out = Vec::new();
        for (i, piece) in pieces.iter().enumerate() {
            input.extend_from_slice(piece);
            while let Some(m) = d.decode(&mut input).map_err(|e| (i, e))? {
                out.push(m);
            }
        }
        Ok(out)
    }

    /// `frame` cut into `n` reads: the first holds the header and one
    /// payload byte, the rest one payload byte each but the last.
    fn cut(frame: &[u8], header: usize, n: usize) -> Vec<&[u8]> {
        let mut bounds: Vec<usize> = (0..n)
            .map(|i| if i == 0 { 0 } else { header + i })
            .collect();
        bounds.push(frame.len());
        bounds.windows(2).map(|w| &frame[w[0]..w[1]]).collect()
    }

    #[test]
    fn a_frame_in_max_chunks_reads_is_fine_and_one_more_fails() {
        let body = [b'4'; 40];
        let frame = client_frame(true, 1, &body, K);
        let text = WsMessage::Text(Bytes::copy_from_slice(&body));
        for n in [1usize, 2, 10] {
            let exact = cut(&frame, 6, n);
            assert_eq!(exact.len(), n);
            let mut d = MessageDecoder::new(100).with_max_chunks(n);
            assert_eq!(feed_reads(&mut d, &exact), Ok(vec![text.clone()]), "{n}");
            // One more read is refused when it comes, even the one that
            // would complete the frame.
            let over = cut(&frame, 6, n + 1);
            let mut d = MessageDecoder::new(100).with_max_chunks(n);
            assert_eq!(
                feed_reads(&mut d, &over),
                Err((n, WsError::TooManyChunks)),
                "{n}"
            );
        }
        assert_eq!(WsError::TooManyChunks.close_code(), 1008);
        // 0 is taken as 1.
        let mut d = MessageDecoder::new(100).with_max_chunks(0);
        assert_eq!(feed_reads(&mut d, &[&frame]), Ok(vec![text.clone()]));
        assert!(feed_reads(&mut d, &cut(&frame, 6, 2)).is_err());
    }

    #[test]
    fn completing_frames_resets_the_chunk_count() {
        let a = client_frame(true, 2, &[1; 20], K);
        let b = client_frame(true, 2, &[2; 20], K);
        let bin = |x: u8| WsMessage::Binary(vec![x; 20].into());
        // Frame after frame in 3 reads each, with a limit of 3.
        let mut d = MessageDecoder::new(100).with_max_chunks(3);
        let mut pieces = Vec::new();
        for _ in 0..5 {
            pieces.extend(cut(&a, 6, 3));
            pieces.extend(cut(&b, 6, 3));
        }
        let got = feed_reads(&mut d, &pieces).unwrap();
        assert_eq!(got.len(), 10);
        assert_eq!(got[8..], [bin(1), bin(2)]);

        // A read that ends one frame and starts the next counts for the
        // next one: here b arrives in 3 reads (the first shared with a).
        let mut both = a.clone();
        both.extend_from_slice(&b);
        let (x, y) = (a.len() + 10, a.len() + 20);
        let shared: [&[u8]; 4] = [&both[..10], &both[10..x], &both[x..y], &both[y..]];
        let mut d = MessageDecoder::new(100).with_max_chunks(3);
        assert_eq!(feed_reads(&mut d, &shared), Ok(vec![bin(1), bin(2)]));
        let mut d = MessageDecoder::new(100).with_max_chunks(2);
        assert_eq!(
            feed_reads(&mut d, &shared),
            Err((3, WsError::TooManyChunks))
        );

        // Fragments are frames: each gets its own count.
        let mut msg = client_frame(false, 1, &[b'a'; 10], K);
        msg.extend(client_frame(true, 0, &[b'b'; 10], K));
        // Three reads for the message, at most two for each fragment (the
        // middle read ends the first and starts the second).
        let frags: [&[u8]; 3] = [&msg[..11], &msg[11..27], &msg[27..]];
        let mut d = MessageDecoder::new(100).with_max_chunks(2);
        let want = WsMessage::Text(format!("{}{}", "a".repeat(10), "b".repeat(10)).into());
        assert_eq!(feed_reads(&mut d, &frags), Ok(vec![want]));
    }

    #[test]
    fn a_header_alone_is_not_held_and_repeated_decodes_count_nothing() {
        let frame = client_frame(true, 1, &[b'4'; 300], K);
        // A 126-length header (8 bytes) in two reads, then the payload in
        // exactly `max` reads.
        let mut pieces: Vec<&[u8]> = vec![&frame[..3], &frame[3..8]];
        pieces.extend(frame[8..].chunks(100));
        let mut d = MessageDecoder::new(1000).with_max_chunks(3);
        assert_eq!(feed_reads(&mut d, &pieces).map(|v| v.len()), Ok(1));

        // Decoding again with nothing new read counts no read.
        let mut d = MessageDecoder::new(1000).with_max_chunks(2);
        let mut input = BytesMut::from(&frame[..100]);
        for _ in 0..5 {
            assert_eq!(d.decode(&mut input), Ok(None));
        }
        input.extend_from_slice(&frame[100..]);
        assert!(matches!(d.decode(&mut input), Ok(Some(WsMessage::Text(_)))));
        for _ in 0..5 {
            assert_eq!(d.decode(&mut input), Ok(None));
        }
    }

    #[test]
    fn a_client_decodes_unmasked_frames_and_refuses_masked_ones() {
        let mut wire = Vec::new();
        encode_frame(&mut wire, OpCode::Text, b"4hi");
        encode_frame(&mut wire, OpCode::Ping, b"p");
        encode_close(&mut wire, 1001);
        let mut d = MessageDecoder::client(100);
        let mut input = BytesMut::from(&wire[..]);
        let mut got = Vec::new();
        while let Some(m) = d.decode(&mut input).unwrap() {
            got.push(m);
        }
        assert_eq!(
            got,
            [
                WsMessage::Text("4hi".into()),
                WsMessage::Ping("p".into()),
                WsMessage::Close(Some(1001))
            ]
        );
        // A masked frame from a server fails the connection (§5.1).
        let mut input = BytesMut::from(&client_frame(true, 1, b"4hi", K)[..]);
        let err = MessageDecoder::client(100).decode(&mut input).unwrap_err();
        assert_eq!(err, WsError::Protocol("server frame masked"));
        assert_eq!(err.close_code(), 1002);
        // The size limit is read from the header alone, as for a server.
        let mut head = vec![0x82, 127];
        head.extend_from_slice(&1000u64.to_be_bytes());
        let mut input = BytesMut::from(&head[..]);
        assert_eq!(
            MessageDecoder::client(999).decode(&mut input),
            Err(WsError::TooLarge)
        );
    }

    #[test]
    fn the_fragment_limit_counts_every_frame_of_a_message() {
        let msg = |n: usize| {
            let mut b = client_frame(n == 1, 1, b"4", K);
            for i in 1..n {
                b.extend(client_frame(i + 1 == n, 0, b"x", K));
            }
            b
        };
        let text = |n: usize| WsMessage::Text(format!("4{}", "x".repeat(n - 1)).into());
        for limit in [1usize, 2, 5] {
            let d = || MessageDecoder::new(100).with_max_fragments(limit);
            assert_eq!(feed_reads(&mut d(), &[&msg(limit)]), Ok(vec![text(limit)]));
            assert_eq!(
                feed_reads(&mut d(), &[&msg(limit + 1)]),
                Err((0, WsError::TooManyFragments))
            );
        }
        // A limit is per message: the count starts again after one ends.
        let mut two = msg(3);
        two.extend(msg(3));
        let mut d = MessageDecoder::new(100).with_max_fragments(3);
        assert_eq!(feed_reads(&mut d, &[&two]), Ok(vec![text(3), text(3)]));
        // None by default.
        assert_eq!(
            feed_reads(&mut MessageDecoder::new(1 << 20), &[&msg(20_000)]).map(|v| v.len()),
            Ok(1)
        );
        assert_eq!(WsError::TooManyFragments.close_code(), 1008);
    }

    #[test]
    fn masked_encoding_is_the_unmasked_frame_with_the_key_applied() {
        let key = [0xA1, 0x02, 0xF3, 0x44];
        for p in [
            Packet::ping(),
            Packet::Message(Data::Text(crate::Text::from("x".repeat(300).as_str()))),
            Packet::binary(Bytes::from(vec![9u8; 70_000])),
        ] {
            let mut plain = Vec::new();
            encode_packet(&mut plain, &p);
            let mut masked = Vec::new();
            encode_masked_packet(&mut masked, &p, key);
            // The same header with the mask bit, the key, then the payload
            // XORed with it.
            let head = plain.len() - p.to_ws_frame().1.len();
            assert_eq!(masked[0], plain[0]);
            assert_eq!(masked[1], plain[1] | 0x80);
            assert_eq!(masked[2..head], plain[2..head]);
            assert_eq!(masked[head..head + 4], key);
            let body: Vec<u8> = masked[head + 4..]
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ key[i % 4])
                .collect();
            assert_eq!(body, plain[head..]);
        }
        let mut close = Vec::new();
        encode_masked_close(&mut close, 1000, [0; 4]);
        assert_eq!(close, [0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE8]);
    }

    /// Decodes `wire` fed in reads of `cut` bytes: the messages, and the
    /// bytes left undecoded.
    fn decode_in_pieces(
        d: &mut MessageDecoder,
        wire: &[u8],
        cut: usize,
    ) -> (Vec<WsMessage>, usize) {
        let mut input = BytesMut::new();
        let mut got = Vec::new();
        for piece in wire.chunks(cut) {
            input.extend_from_slice(piece);
            while let Some(m) = d.decode(&mut input).unwrap() {
                got.push(m);
            }
        }
        (got, input.len())
    }

    proptest! {
        #[test]
        fn masked_frames_round_trip_in_any_split(
            msgs in proptest::collection::vec((any::<bool>(), proptest::collection::vec(any::<u8>(), 0..300)), 1..8),
            key in any::<[u8; 4]>(),
            frag in 1usize..50,
            cut in 1usize..64,
        ) {
            let mut wire = Vec::new();
            let mut want = Vec::new();
            for (text, body) in &msgs {
                let body: Vec<u8> = if *text {
                    String::from_utf8_lossy(body).into_owned().into_bytes()
                } else {
                    body.clone()
                };
                let chunks: Vec<&[u8]> = if body.is_empty() { vec![&[][..]] } else { body.chunks(frag).collect() };
                for (i, c) in chunks.iter().enumerate() {
                    let op = if i > 0 { 0 } else if *text { 1 } else { 2 };
                    wire.extend(client_frame(i + 1 == chunks.len(), op, c, key));
                }
                want.push(if *text { WsMessage::Text(body.into()) } else { WsMessage::Binary(body.into()) });
            }
            let (got, left) = decode_in_pieces(&mut MessageDecoder::new(1 << 20), &wire, cut);
            prop_assert_eq!(left, 0);
            prop_assert_eq!(got, want);
        }

        #[test]
        fn each_end_decodes_what_the_other_encodes(
            msgs in proptest::collection::vec((any::<bool>(), proptest::collection::vec(any::<u8>(), 0..70_000)), 1..4),
            key in any::<[u8; 4]>(),
            cut in 1usize..4096,
        ) {
            let mut to_server = Vec::new();
            let mut to_client = Vec::new();
            let mut want = Vec::new();
            for (text, body) in &msgs {
                let (op, m) = if *text {
                    let s = String::from_utf8_lossy(body).into_owned();
                    (OpCode::Text, WsMessage::Text(s.into()))
                } else {
                    (OpCode::Binary, WsMessage::Binary(body.clone().into()))
                };
                let (WsMessage::Text(b) | WsMessage::Binary(b)) = &m else { unreachable!() };
                encode_masked_frame(&mut to_server, op, b, key);
                encode_frame(&mut to_client, op, b);
                want.push(m);
            }
            for (wire, mut d) in [
                (to_server, MessageDecoder::new(1 << 20).with_max_chunks(usize::MAX)),
                (to_client, MessageDecoder::client(1 << 20).with_max_chunks(usize::MAX)),
            ] {
                let (got, left) = decode_in_pieces(&mut d, &wire, cut);
                prop_assert_eq!(left, 0);
                prop_assert_eq!(&got, &want);
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic_a_client(bytes in proptest::collection::vec(any::<u8>(), 0..512), max in 0usize..300, frags in 0usize..4) {
            let mut d = MessageDecoder::client(max).with_max_fragments(frags);
            let mut input = BytesMut::from(&bytes[..]);
            while let Ok(Some(_)) = d.decode(&mut input) {}
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), max in 0usize..300) {
            let mut d = MessageDecoder::new(max);
            let mut input = BytesMut::from(&bytes[..]);
            while let Ok(Some(_)) = d.decode(&mut input) {}
        }
    }
}
