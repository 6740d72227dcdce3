//! The handshake: the `open` packet's JSON, session ids and request query
//! parameters.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::packet::Text;
use crate::DecodeError;

/// The JSON object carried by the `open` packet.
///
/// Field names and order follow the reference server:
/// `{"sid","upgrades","pingInterval","pingTimeout","maxPayload"}`. The
/// heartbeat fields hold the wire's milliseconds; [`ping_interval`](Self::ping_interval)
/// and [`ping_timeout`](Self::ping_timeout) give them as durations.
///
/// ```
/// use std::time::Duration;
/// use engineio_proto::OpenData;
///
/// let open = OpenData::parse(
///     r#"{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#,
/// )
/// .unwrap();
/// assert_eq!(open.ping_interval_ms, 25_000);
/// assert_eq!(open.ping_interval(), Duration::from_secs(25));
/// assert_eq!(open.ping_timeout(), Duration::from_secs(20));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenData {
    /// The session id, as the server sent it: any text (a client's typed
    /// view of it is a [`ClientSid`]; this crate's servers send a [`Sid`]).
    pub sid: String,
    /// Transports the client may upgrade to (`["websocket"]` on polling).
    pub upgrades: Vec<String>,
    /// Milliseconds between server pings (`pingInterval`).
    #[serde(rename = "pingInterval")]
    pub ping_interval_ms: u64,
    /// Milliseconds the server waits for a pong (`pingTimeout`).
    #[serde(rename = "pingTimeout")]
    pub ping_timeout_ms: u64,
    /// Largest payload, in bytes, the server accepts (`maxPayload`).
    pub max_payload: u64,
}

impl OpenData {
    /// Serialises to the `open` packet's JSON text.
    pub fn to_text(&self) -> Text {
        Text::from(serde_json::to_string(self).unwrap_or_default())
    }

    /// Parses an `open` packet's JSON text.
    pub fn parse(text: &str) -> Result<Self, DecodeError> {
        serde_json::from_str(text).map_err(|_| DecodeError::InvalidHandshake)
    }

    /// [`ping_interval_ms`](Self::ping_interval_ms) as a duration.
    pub fn ping_interval(&self) -> Duration {
        Duration::from_millis(self.ping_interval_ms)
    }

    /// [`ping_timeout_ms`](Self::ping_timeout_ms) as a duration.
    pub fn ping_timeout(&self) -> Duration {
        Duration::from_millis(self.ping_timeout_ms)
    }
}

/// A session id as a client holds it: the text the server put in its
/// `open` packet, whatever its form.
///
/// A [`Sid`] is the form this crate's servers give out (20 URL-safe base64
/// characters, `Copy`) and the only one they accept back. Today's engine.io
/// and python-engineio happen to use the same form by default, but nothing
/// in the protocol says so: engine.io's `generateId` option and
/// python-engineio's `generate_id` method may return any string, and older
/// python-engineio versions sent 32 hex digits. So a client keeps the sid
/// exactly as it was sent, and sends it back as it was. Compare it with a
/// `&str` or a [`Sid`], print it, or get the [`Sid`] with
/// [`to_sid`](Self::to_sid) when the server is one of ours. Cloning is
/// cheap (a shared string).
///
/// ```
/// use engineio_proto::{ClientSid, Sid};
///
/// let custom = ClientSid::from("user-42:6f1c");
/// assert_eq!(custom, "user-42:6f1c");
/// assert_eq!(custom.to_sid(), None); // not our form, still a valid sid
///
/// let ours = Sid::from_random([0xfb; 15]);
/// let sid = ClientSid::from(ours);
/// assert_eq!(sid, ours);
/// assert_eq!(sid.to_sid(), Some(ours));
/// assert_eq!(sid.to_string(), "-_v7-_v7-_v7-_v7-_v7");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientSid(std::sync::Arc<str>);

impl ClientSid {
    /// The sid as text, exactly as the server sent it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The sid as a [`Sid`], if it has this crate's form (see
    /// [`Sid::parse`]); `None` for another server's sid.
    pub fn to_sid(&self) -> Option<Sid> {
        Sid::parse(&self.0)
    }
}

impl fmt::Display for ClientSid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ClientSid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientSid({})", &*self.0)
    }
}

impl From<&str> for ClientSid {
    fn from(s: &str) -> Self {
        ClientSid(s.into())
    }
}

impl From<String> for ClientSid {
    fn from(s: String) -> Self {
        ClientSid(s.into())
    }
}

impl From<Sid> for ClientSid {
    fn from(sid: Sid) -> Self {
        ClientSid(sid.as_str().into())
    }
}

impl AsRef<str> for ClientSid {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for ClientSid {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for ClientSid {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for ClientSid {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<Sid> for ClientSid {
    fn eq(&self, other: &Sid) -> bool {
        &*self.0 == other.as_str()
    }
}

impl PartialEq<ClientSid> for Sid {
    fn eq(&self, other: &ClientSid) -> bool {
        self.as_str() == &*other.0
    }
}

impl Serialize for ClientSid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ClientSid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(ClientSid::from)
    }
}

/// A session id: 20 URL-safe base64 characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sid([u8; Sid::LEN]);

impl Sid {
    /// Length of a sid in characters.
    pub const LEN: usize = 20;
    /// Random bytes a sid is made of (15 bytes → 20 base64 characters).
    pub const RANDOM_BYTES: usize = 15;

    /// Builds a sid from 15 bytes, which the caller draws from a CSPRNG
    /// (the core does no IO, so it takes the randomness as input).
    ///
    /// ```
    /// use engineio_proto::Sid;
    /// let sid = Sid::from_random([0xfb; 15]);
    /// assert_eq!(sid.as_str(), "-_v7-_v7-_v7-_v7-_v7");
    /// ```
    pub fn from_random(bytes: [u8; Self::RANDOM_BYTES]) -> Self {
        let mut out = [0u8; Self::LEN];
        // 15 bytes always encode to exactly 20 characters.
        let n = URL_SAFE_NO_PAD
            .encode_slice(bytes, &mut out)
            .unwrap_or_default();
        debug_assert_eq!(n, Self::LEN);
        Sid(out)
    }

    /// Longest prefix [`Sid::with_prefix`] accepts: each prefix character
    /// replaces 6 of the 120 random bits, so 8 leave 72.
    pub const MAX_PREFIX_LEN: usize = 8;

    /// True if `prefix` can start a sid: at most [`Sid::MAX_PREFIX_LEN`]
    /// URL-safe base64 characters (`A-Z a-z 0-9 - _`). Empty is valid.
    pub fn is_valid_prefix(prefix: &str) -> bool {
        prefix.len() <= Self::MAX_PREFIX_LEN
            && prefix
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    }

    /// Builds a sid that starts with `prefix` (a node name a load balancer
    /// routes on) followed by random characters from `bytes`, still 20
    /// characters in all. `None` if the prefix is not valid
    /// ([`Sid::is_valid_prefix`]).
    ///
    /// ```
    /// use engineio_proto::Sid;
    /// assert!(Sid::with_prefix("n1.", [0xfb; 15]).is_none());
    /// assert!(Sid::with_prefix("123456789", [0xfb; 15]).is_none()); // > MAX_PREFIX_LEN
    /// let sid = Sid::with_prefix("n1-", [0xfb; 15]).unwrap();
    /// assert_eq!(sid.as_str(), "n1-7-_v7-_v7-_v7-_v7");
    /// assert_eq!(Sid::parse(sid.as_str()), Some(sid));
    /// ```
    pub fn with_prefix(prefix: &str, bytes: [u8; Self::RANDOM_BYTES]) -> Option<Self> {
        if !Self::is_valid_prefix(prefix) {
            return None;
        }
        let mut sid = Self::from_random(bytes);
        sid.0[..prefix.len()].copy_from_slice(prefix.as_bytes());
        Some(sid)
    }

    /// Parses a sid received from a peer: exactly 20 URL-safe base64
    /// characters. Anything else cannot be one of our sessions.
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != Self::LEN
            || !b
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
        {
            return None;
        }
        let mut out = [0u8; Self::LEN];
        out.copy_from_slice(b);
        Some(Sid(out))
    }

    /// The sid as text.
    pub fn as_str(&self) -> &str {
        // Always ASCII by construction.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sid({})", self.as_str())
    }
}

impl std::str::FromStr for Sid {
    type Err = DecodeError;
    fn from_str(s: &str) -> Result<Self, DecodeError> {
        Sid::parse(s).ok_or(DecodeError::InvalidSid)
    }
}

/// A transport name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    WebSocket,
}

impl TransportKind {
    /// The query-string name: `polling` or `websocket`.
    pub const fn as_str(self) -> &'static str {
        match self {
            TransportKind::Polling => "polling",
            TransportKind::WebSocket => "websocket",
        }
    }

    /// Parses a query-string name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "polling" => Some(TransportKind::Polling),
            "websocket" => Some(TransportKind::WebSocket),
            _ => None,
        }
    }
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The Engine.IO parameters of a request's query string, decoded (see
/// [`percent_decode`]); each borrows from the query unless decoding
/// changed it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineQuery<'a> {
    /// `EIO`: the protocol version.
    pub eio: Option<Cow<'a, str>>,
    /// `transport`.
    pub transport: Option<Cow<'a, str>>,
    /// `sid`.
    pub sid: Option<Cow<'a, str>>,
    /// `j`: JSONP index.
    pub jsonp: Option<Cow<'a, str>>,
}

impl<'a> EngineQuery<'a> {
    /// Extracts the Engine.IO parameters from a raw query string
    /// (without the `?`). Unknown parameters are ignored; the first occurrence
    /// of a parameter wins; values are percent-decoded.
    ///
    /// ```
    /// use engineio_proto::handshake::EngineQuery;
    /// let q = EngineQuery::parse("EIO=4&transport=polling&t=Nx1");
    /// assert_eq!(q.eio.as_deref(), Some("4"));
    /// assert_eq!(q.transport.as_deref(), Some("polling"));
    /// assert_eq!(q.sid, None);
    /// ```
    pub fn parse(query: &'a str) -> Self {
        let mut q = EngineQuery::default();
        // Every request parses its query: one pass over the bytes, where
        // `split('&')` and `split_once('=')` set up a searcher per piece
        // (1,658 instructions for a polling request's query; 765 now, with
        // the values borrowed). `&` and `=` are ASCII, so the slices stay
        // on char boundaries.
        let mut rest = query;
        loop {
            let (pair, next) = match rest.bytes().position(|b| b == b'&') {
                Some(i) => (&rest[..i], Some(&rest[i + 1..])),
                None => (rest, None),
            };
            let (k, v) = match pair.bytes().position(|b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, ""),
            };
            let slot = match k {
                "EIO" => Some(&mut q.eio),
                "transport" => Some(&mut q.transport),
                "sid" => Some(&mut q.sid),
                "j" => Some(&mut q.jsonp),
                _ => None,
            };
            if let Some(slot) = slot.filter(|s| s.is_none()) {
                *slot = Some(if needs_decoding(v) {
                    Cow::Owned(percent_decode(v))
                } else {
                    Cow::Borrowed(v)
                });
            }
            match next {
                Some(n) => rest = n,
                None => return q,
            }
        }
    }
}

/// Decodes a query key or value as `application/x-www-form-urlencoded`:
/// `+` is a space and `%XX` a byte, as engine.io 6 (`URLSearchParams`) and
/// python-engineio (`parse_qs`) read a query; invalid escapes are kept
/// verbatim and invalid UTF-8 is replaced.
///
/// ```
/// use engineio_proto::handshake::percent_decode;
/// assert_eq!(percent_decode("a+b%2Bc%20d"), "a b+c d");
/// assert_eq!(percent_decode("%zz%E2%82%AC"), "%zz€");
/// ```
pub fn percent_decode(s: &str) -> String {
    if !needs_decoding(s) {
        return s.to_owned();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether [`percent_decode`] would change `s`.
fn needs_decoding(s: &str) -> bool {
    s.bytes().any(|b| b == b'%' || b == b'+')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn open_json_matches_reference_order() {
        let o = OpenData {
            sid: "lv_VI97HAXpY6yYWAAAC".into(),
            upgrades: vec!["websocket".into()],
            ping_interval_ms: 25000,
            ping_timeout_ms: 20000,
            max_payload: 1000000,
        };
        assert_eq!(
            o.to_text(),
            r#"{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
        );
        assert_eq!(OpenData::parse(&o.to_text()).unwrap(), o);
        assert_eq!(OpenData::parse("{}"), Err(DecodeError::InvalidHandshake));
        // The wire names, not the field names.
        assert_eq!(
            OpenData::parse(
                r#"{"sid":"a","upgrades":[],"ping_interval_ms":1,"ping_timeout_ms":1,"maxPayload":1}"#
            ),
            Err(DecodeError::InvalidHandshake)
        );
    }

    #[test]
    fn client_sids_keep_any_server_text() {
        // Old python-engineio (uuid4 hex), a custom `generateId`, ours.
        for text in [
            "0123456789abcdef0123456789abcdef",
            "user:42/a+b=",
            "lv_VI97HAXpY6yYWAAAC",
        ] {
            let open = OpenData::parse(&format!(
                r#"{{"sid":"{text}","upgrades":[],"pingInterval":1,"pingTimeout":1,"maxPayload":1}}"#
            ))
            .unwrap();
            let sid = ClientSid::from(open.sid);
            assert_eq!(sid, text);
            assert_eq!(sid.as_str(), text);
            assert_eq!(sid.to_sid().is_some(), Sid::parse(text).is_some());
            assert_eq!(serde_json::to_string(&sid).unwrap(), format!("{text:?}"));
        }
    }

    #[test]
    fn sid_parse() {
        assert!(Sid::parse("lv_VI97HAXpY6yYWAAAC").is_some());
        assert!(Sid::parse("short").is_none());
        assert!(Sid::parse("lv_VI97HAXpY6yYWAAA+").is_none());
        assert!(Sid::parse("lv_VI97HAXpY6yYWAAAC1").is_none());
    }

    #[test]
    fn query_parse() {
        let q = EngineQuery::parse("EIO=4&transport=websocket&sid=a%2Db&sid=ignored&j=0");
        assert_eq!(q.sid.as_deref(), Some("a-b"));
        assert_eq!(q.jsonp.as_deref(), Some("0"));
        assert_eq!(EngineQuery::parse(""), EngineQuery::default());
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("%41%zz"), "A%zz");
        // As URLSearchParams and parse_qs: `+` is a space, `%2B` a plus.
        assert_eq!(percent_decode("a+b%2B"), "a b+");
        assert_eq!(percent_decode("+"), " ");
        assert_eq!(
            EngineQuery::parse("transport=web+socket")
                .transport
                .as_deref(),
            Some("web socket")
        );
    }

    proptest! {
        #[test]
        fn sid_roundtrip(bytes in proptest::array::uniform15(any::<u8>())) {
            let sid = Sid::from_random(bytes);
            prop_assert_eq!(sid.as_str().len(), Sid::LEN);
            prop_assert_eq!(Sid::parse(sid.as_str()), Some(sid));
        }

        #[test]
        fn query_parse_never_panics(s in ".{0,200}") {
            let _ = EngineQuery::parse(&s);
        }

        /// The one-pass parser reads a query as splitting it does.
        #[test]
        fn query_parse_agrees_with_splitting(
            s in "((EIO|transport|sid|j|t|x|é)?(=)?[a-z0-9%+=é]{0,6}&?){0,8}"
        ) {
            let mut want = EngineQuery::default();
            for pair in s.split('&') {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                let slot = match k {
                    "EIO" => &mut want.eio,
                    "transport" => &mut want.transport,
                    "sid" => &mut want.sid,
                    "j" => &mut want.jsonp,
                    _ => continue,
                };
                if slot.is_none() {
                    *slot = Some(Cow::Owned(percent_decode(v)));
                }
            }
            prop_assert_eq!(EngineQuery::parse(&s), want);
        }
    }
}
