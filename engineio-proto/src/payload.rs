//! Engine.IO v4 polling payloads: several packets in one HTTP body.
//!
//! Packets are joined with the record separator `\x1e`; a binary message is
//! written as `b` followed by its standard base64 (no type digit). This module
//! is pure: it never allocates more than the input justifies and refuses input
//! above a caller-given byte limit.

use bytes::{BufMut, Bytes, BytesMut};

use crate::packet::{base64_segment_len, decode_base64_segment, Data, Packet};
use crate::DecodeError;

/// The v4 packet separator in polling payloads.
pub const SEPARATOR: u8 = 0x1e;

/// Bytes that `packet` occupies in a v4 polling payload, separator excluded.
pub fn encoded_len(packet: &Packet) -> usize {
    match packet {
        Packet::Message(Data::Binary(b)) => base64_segment_len(b),
        other => other.text_len(),
    }
}

/// Encodes packets into one v4 polling payload.
///
/// ```
/// use engineio_proto::{payload, Packet};
/// let body = payload::encode(&[Packet::text("hello"), Packet::ping(), Packet::binary(vec![1u8, 2, 3, 4])]);
/// assert_eq!(&body[..], b"4hello\x1e2\x1ebAQIDBA==");
/// ```
pub fn encode<'a>(packets: impl IntoIterator<Item = &'a Packet>) -> Bytes {
    let mut out = BytesMut::new();
    encode_into(packets, &mut out);
    out.freeze()
}

/// Like [`encode`], appending to `out`.
pub fn encode_into<'a>(packets: impl IntoIterator<Item = &'a Packet>, out: &mut BytesMut) {
    for (i, p) in packets.into_iter().enumerate() {
        if i > 0 {
            out.put_u8(SEPARATOR);
        }
        p.encode_text(out);
    }
}

/// Decodes a v4 polling payload.
///
/// `max_len` bounds the body size in raw bytes (the server's
/// `max_http_buffer_size`); a longer body is refused with
/// [`DecodeError::TooLong`] before any work is done. Every packet must be
/// valid: one bad segment rejects the whole payload, so a caller never acts
/// on half of a malformed body.
///
/// Invalid UTF-8 is not an error: each invalid sequence becomes U+FFFD, as
/// Node's engine.io does (it reads the body with `Buffer.toString()`, and
/// browsers read answers the same way). python-engineio decodes strictly and
/// refuses such a body; where the two differ on the wire we follow Node,
/// and a stray byte must not end a session the reference keeps. A body that
/// is valid UTF-8 (every body a browser sends) is not copied.
///
/// ```
/// use engineio_proto::{payload, Packet};
/// let packets = payload::decode(bytes::Bytes::from_static(b"4hello\x1e4world"), 1_000).unwrap();
/// assert_eq!(packets, vec![Packet::text("hello"), Packet::text("world")]);
/// assert!(payload::decode(bytes::Bytes::from_static(b"abc"), 1_000).is_err());
/// let lossy = payload::decode(bytes::Bytes::from_static(b"4a\xffb"), 1_000).unwrap();
/// assert_eq!(lossy, vec![Packet::text("a\u{fffd}b")]);
/// ```
pub fn decode(body: Bytes, max_len: usize) -> Result<Vec<Packet>, DecodeError> {
    if body.len() > max_len {
        return Err(DecodeError::TooLong {
            len: body.len(),
            max: max_len,
        });
    }
    if body.is_empty() {
        return Err(DecodeError::Empty);
    }
    let body = match std::str::from_utf8(&body) {
        Ok(_) => body,
        Err(_) => Bytes::from(String::from_utf8_lossy(&body).into_owned()),
    };
    let mut packets = Vec::new();
    let mut start = 0;
    loop {
        let end = body[start..]
            .iter()
            .position(|&b| b == SEPARATOR)
            .map_or(body.len(), |i| start + i);
        packets.push(decode_segment(body.slice(start..end))?);
        if end == body.len() {
            break;
        }
        start = end + 1;
    }
    Ok(packets)
}

/// Decodes one segment of a v4 payload (a text packet or `b<base64>`).
pub fn decode_segment(seg: Bytes) -> Result<Packet, DecodeError> {
    if seg.first() == Some(&b'b') {
        return Ok(Packet::Message(Data::Binary(decode_base64_segment(&seg)?)));
    }
    Packet::decode_text(seg)
}

/// JSONP polling (`j=<n>` on the handshake), which engine.io 6.x and
/// python-engineio still serve to old browsers: every answer of the session
/// is the JavaScript call `___eio[<n>]("<payload>");` and every POST body
/// is the form `d=<payload>`.
pub mod jsonp {
    use bytes::Bytes;

    use crate::handshake::percent_decode;
    use crate::packet::Packet;

    /// The callback index of a `j` query value: only its ASCII digits count,
    /// as in Node's engine.io (`"a1b2"` → `"12"`, `""` → `""`).
    ///
    /// ```
    /// use engineio_proto::payload::jsonp;
    /// assert_eq!(&*jsonp::index("a1b2"), "12");
    /// ```
    pub fn index(j: &str) -> Box<str> {
        j.chars().filter(char::is_ascii_digit).collect()
    }

    /// Encodes `packets` as the JSONP answer `___eio[<index>]("…");`: the
    /// payload as a JSON string (`JSON.stringify`'s escapes) with U+2028 and
    /// U+2029 escaped too, so that the answer is valid JavaScript.
    ///
    /// ```
    /// use engineio_proto::{payload::jsonp, Packet};
    /// let body = jsonp::encode("3", &[Packet::text("a\"b"), Packet::ping()]);
    /// assert_eq!(&body[..], br#"___eio[3]("4a\"b\u001e2");"#);
    /// ```
    pub fn encode(index: &str, packets: &[Packet]) -> Bytes {
        let payload = super::encode(packets);
        // Payloads are built from UTF-8 text and base64, never invalid.
        let text = String::from_utf8_lossy(&payload);
        let json = serde_json::to_string(&*text).unwrap_or_default();
        let mut out = String::with_capacity(json.len() + index.len() + 10);
        out.push_str("___eio[");
        out.push_str(index);
        out.push_str("](");
        for c in json.chars() {
            match c {
                '\u{2028}' => out.push_str("\\u2028"),
                '\u{2029}' => out.push_str("\\u2029"),
                c => out.push(c),
            }
        }
        out.push_str(");");
        Bytes::from(out)
    }

    /// The payload of a JSONP POST body: the `d` field of the form
    /// (`+` is a space, `%XX` escapes decoded), where the client escaped
    /// newlines as `\n` and a literal `\n` as `\\n`. `None` when the form
    /// has no `d` field or more than one; Node then ignores the body (and
    /// still answers `ok`).
    ///
    /// ```
    /// use engineio_proto::payload::jsonp;
    /// assert_eq!(jsonp::decode_form(b"d=4hello%20world").as_deref(), Some("4hello world"));
    /// assert_eq!(jsonp::decode_form(br"d=4a\nb\\nc").as_deref(), Some("4a\nb\\nc"));
    /// assert_eq!(jsonp::decode_form(b"x=1"), None);
    /// ```
    pub fn decode_form(body: &[u8]) -> Option<String> {
        let form = String::from_utf8_lossy(body);
        let mut found = None;
        for pair in form.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            if percent_decode(k) != "d" {
                continue;
            }
            if found.is_some() {
                return None;
            }
            found = Some(percent_decode(v));
        }
        found.map(|d| unescape_newlines(&d))
    }

    /// `\n` → newline, `\\n` → `\n` (Node's two replacements, in one pass).
    fn unescape_newlines(d: &str) -> String {
        let mut out = String::with_capacity(d.len());
        let mut rest = d;
        while let Some(i) = rest.find("\\n") {
            let escaped = rest[..i].ends_with('\\');
            if escaped {
                out.push_str(&rest[..i - 1]);
                out.push_str("\\n");
            } else {
                out.push_str(&rest[..i]);
                out.push('\n');
            }
            rest = &rest[i + 2..];
        }
        out.push_str(rest);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::Text;
    use proptest::prelude::*;

    #[test]
    fn spec_payloads() {
        let p = decode(Bytes::from_static(b"4hello\x1e2\x1e4world"), 100).unwrap();
        assert_eq!(
            p,
            vec![Packet::text("hello"), Packet::ping(), Packet::text("world")]
        );
        let p = decode(Bytes::from_static(b"4hello\x1ebAQIDBA=="), 100).unwrap();
        assert_eq!(
            p,
            vec![Packet::text("hello"), Packet::binary(vec![1u8, 2, 3, 4])]
        );
        assert_eq!(
            &encode(&[Packet::text("hello"), Packet::binary(vec![1u8, 2, 3, 4])])[..],
            b"4hello\x1ebAQIDBA=="
        );
        assert_eq!(&encode(&[Packet::Noop])[..], b"6");
        assert_eq!(&encode(&[])[..], b"");
    }

    #[test]
    fn errors() {
        assert_eq!(decode(Bytes::new(), 10), Err(DecodeError::Empty));
        assert_eq!(
            decode(Bytes::from_static(b"4hello"), 5),
            Err(DecodeError::TooLong { len: 6, max: 5 })
        );
        assert_eq!(
            decode(Bytes::from_static(b"abc"), 10),
            Err(DecodeError::UnknownPacketType(b'a'))
        );
        assert_eq!(
            decode(Bytes::from_static(b"4a\x1e\x1e4b"), 10),
            Err(DecodeError::Empty)
        );
        assert_eq!(
            decode(Bytes::from_static(b"b!!"), 10),
            Err(DecodeError::InvalidBase64)
        );
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters_like_node() {
        assert_eq!(
            decode(Bytes::from_static(b"4ok\x1e4\xff\xfe"), 10),
            Ok(vec![Packet::text("ok"), Packet::text("\u{fffd}\u{fffd}")])
        );
        // The limit counts raw bytes, before the replacement grows them.
        let raw = [&b"4"[..], &[0xff; 9][..]].concat();
        assert_eq!(decode(Bytes::from(raw), 10).unwrap().len(), 1);
    }

    #[test]
    fn jsonp_round_trip_and_escapes() {
        let packets = [
            Packet::text("a\nb\u{2028}c\"d\\"),
            Packet::binary(vec![1u8, 2]),
        ];
        let body = jsonp::encode("12", &packets);
        let text = std::str::from_utf8(&body).unwrap();
        assert_eq!(text, r#"___eio[12]("4a\nb\u2028c\"d\\\u001ebAQI=");"#);
        assert_eq!(jsonp::index("x-9/8"), "98".into());
        assert_eq!(jsonp::index(""), "".into());
        // A form with `d` twice, or none, carries nothing (Node ignores it).
        assert_eq!(jsonp::decode_form(b"d=1&d=2"), None);
        assert_eq!(jsonp::decode_form(b""), None);
        assert_eq!(
            jsonp::decode_form(b"a=1&d=4x+y%2B").as_deref(),
            Some("4x y+")
        );
        // `\\\n` (backslash, escaped newline) keeps one backslash-n.
        assert_eq!(jsonp::decode_form(br"d=\\\n").as_deref(), Some(r"\\n"));
    }

    #[test]
    fn limit_is_inclusive() {
        assert!(decode(Bytes::from_static(b"4hello"), 6).is_ok());
    }

    #[test]
    fn encoded_len_matches() {
        for p in [
            Packet::text("h€llo"),
            Packet::binary(vec![0u8; 7]),
            Packet::Close,
            Packet::Ping(Text::from("probe")),
        ] {
            assert_eq!(encoded_len(&p), encode(std::slice::from_ref(&p)).len());
        }
    }

    fn arb_packet() -> impl Strategy<Value = Packet> {
        // Text payload data may hold any char but the separator.
        let text = "[^\u{1e}]{0,40}";
        prop_oneof![
            text.prop_map(|s: String| Packet::Open(Text::from(s))),
            Just(Packet::Close),
            text.prop_map(|s: String| Packet::Ping(Text::from(s))),
            text.prop_map(|s: String| Packet::Pong(Text::from(s))),
            text.prop_map(Packet::text),
            proptest::collection::vec(any::<u8>(), 0..64).prop_map(Packet::binary),
            Just(Packet::Upgrade),
            Just(Packet::Noop),
        ]
    }

    proptest! {
        #[test]
        fn payload_roundtrip(packets in proptest::collection::vec(arb_packet(), 1..12)) {
            let body = encode(&packets);
            let back = decode(body.clone(), body.len()).unwrap();
            prop_assert_eq!(back, packets);
        }

        #[test]
        fn packet_text_roundtrip(p in arb_packet()) {
            let mut out = BytesMut::new();
            p.encode_text(&mut out);
            prop_assert_eq!(decode_segment(out.freeze()).unwrap(), p);
        }

        #[test]
        fn ws_frame_roundtrip(p in arb_packet()) {
            let (bin, bytes) = p.to_ws_frame();
            let back = if bin { Packet::decode_binary_frame(bytes) } else { Packet::decode_text(bytes).unwrap() };
            prop_assert_eq!(back, p);
        }

        #[test]
        fn decode_arbitrary_bytes_never_panics(body in proptest::collection::vec(any::<u8>(), 0..512), max in 0usize..600) {
            let _ = decode(Bytes::from(body.clone()), max);
            let _ = Packet::decode_text(Bytes::from(body));
        }

        #[test]
        fn decode_separator_heavy_input_never_panics(body in proptest::collection::vec(prop_oneof![Just(0x1eu8), Just(b'b'), Just(b'4'), Just(b'='), any::<u8>()], 0..256)) {
            let _ = decode(Bytes::from(body), 1000);
        }
    }
}
