//! The WebSocket transport: the handshake made *through reqwest* (so the
//! user's proxy, CA, client-certificate and cookie settings apply), then
//! fastwebsockets framing in the client role, split into a reader task and a
//! writer task.
//!
//! This module only moves frames; what they mean is the session's business.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use fastwebsockets::{
    FragmentCollectorRead, Frame, OpCode, Payload, Role, WebSocket, WebSocketError, WebSocketWrite,
};
use reqwest::header::{
    HeaderMap, HeaderValue, CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY,
    SEC_WEBSOCKET_VERSION, UPGRADE,
};
use reqwest::{StatusCode, Url};
use tokio::io::{ReadHalf, WriteHalf};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::error::{body_json, BoxError, ClientError};
use crate::proto::{DecodeError, Packet};

type Stream = reqwest::Upgraded;
type Reader = FragmentCollectorRead<ReadHalf<Stream>>;
type Writer = WebSocketWrite<WriteHalf<Stream>>;

/// What the writer task writes.
#[derive(Debug)]
pub(crate) enum Out {
    /// A frame (data, or a pong / close owed to the peer).
    Frame(OpCode, Bytes),
    /// A normal closure (1000), then stop.
    Close,
}

/// What a reader (or writer) task reports to the driver.
#[derive(Debug)]
pub(crate) enum WsEvent {
    /// A packet arrived.
    Packet(Packet),
    /// The server closed the WebSocket with a close frame.
    Closed,
    /// The connection ended without a close frame.
    Eof,
    /// The connection broke (EOF without close frame, IO error, bad frame,
    /// undecodable packet).
    Failed(String),
}

/// A [`WsEvent`] tagged with the id of the WebSocket it belongs to.
#[derive(Debug)]
pub(crate) struct WsIo {
    pub(crate) id: u64,
    pub(crate) event: WsEvent,
}

/// An open WebSocket whose reader has not been started yet (the handshake
/// reads the `open` packet from it first).
pub(crate) struct WsSocket {
    reader: Reader,
    out: mpsc::UnboundedSender<Out>,
    out_rx: mpsc::UnboundedReceiver<Out>,
    writer: Writer,
}

impl std::fmt::Debug for WsSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WsSocket")
    }
}

/// Why opening a WebSocket failed.
#[derive(Debug)]
pub(crate) enum OpenError {
    /// A non-101 answer.
    Refused(StatusCode, Option<serde_json::Value>),
    /// The request failed.
    Http(reqwest::Error),
    /// No answer within the timeout.
    Timeout,
    /// A 101 that is not a valid WebSocket handshake, or the upgrade failed.
    Handshake(BoxError),
}

impl From<OpenError> for ClientError {
    fn from(e: OpenError) -> Self {
        match e {
            OpenError::Refused(status, body) => ClientError::ConnectionRefused { status, body },
            OpenError::Http(e) => ClientError::from_reqwest(e),
            OpenError::Timeout => ClientError::Timeout,
            OpenError::Handshake(e) => ClientError::WebSocket(e),
        }
    }
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Refused(s, b) => write!(f, "refused with HTTP {s} {b:?}"),
            OpenError::Http(e) => write!(f, "{e}"),
            OpenError::Timeout => f.write_str("timed out"),
            OpenError::Handshake(e) => write!(f, "{e}"),
        }
    }
}

/// Opens a WebSocket with an HTTP/1.1 upgrade request sent through `http`.
pub(crate) async fn open(
    http: reqwest::Client,
    url: Url,
    headers: HeaderMap,
    max_message_size: usize,
    timeout: Duration,
) -> Result<WsSocket, OpenError> {
    let mut raw = [0u8; 16];
    getrandom::fill(&mut raw).map_err(|e| OpenError::Handshake(e.to_string().into()))?;
    let key = STANDARD.encode(raw);
    let req = http
        .get(url)
        .version(http::Version::HTTP_11)
        .headers(headers)
        .header(CONNECTION, HeaderValue::from_static("Upgrade"))
        .header(UPGRADE, HeaderValue::from_static("websocket"))
        .header(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"))
        .header(SEC_WEBSOCKET_KEY, key.as_str());
    // The timeout covers the handshake only; reqwest's per-request timeout
    // would also apply to the upgraded stream's lifetime.
    let handshake = async {
        let resp = req.send().await.map_err(OpenError::Http)?;
        let status = resp.status();
        if status != StatusCode::SWITCHING_PROTOCOLS {
            if resp.version() == http::Version::HTTP_2 {
                return Err(OpenError::Handshake(
                    "the server answered the WebSocket handshake over HTTP/2; \
                     use an HTTP client built with `http1_only()`"
                        .into(),
                ));
            }
            let body = resp.bytes().await.unwrap_or_default();
            return Err(OpenError::Refused(status, body_json(&body)));
        }
        let accept_ok = resp
            .headers()
            .get(SEC_WEBSOCKET_ACCEPT)
            .is_some_and(|v| v.as_bytes() == accept_key(key.as_bytes()).as_bytes());
        let upgrade_ok = resp
            .headers()
            .get(UPGRADE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
        if !accept_ok || !upgrade_ok {
            return Err(OpenError::Handshake(
                "invalid WebSocket handshake answer (Upgrade / Sec-WebSocket-Accept)".into(),
            ));
        }
        resp.upgrade()
            .await
            .map_err(|e| OpenError::Handshake(Box::new(e)))
    };
    let stream = tokio::time::timeout(timeout, handshake)
        .await
        .map_err(|_| OpenError::Timeout)??;

    let mut ws = WebSocket::after_handshake(stream, Role::Client);
    ws.set_auto_close(true);
    ws.set_auto_pong(true);
    ws.set_max_message_size(max_message_size);
    let (read, writer) = ws.split(tokio::io::split);
    let (out, out_rx) = mpsc::unbounded_channel();
    Ok(WsSocket {
        reader: FragmentCollectorRead::new(read),
        out,
        out_rx,
        writer,
    })
}

impl WsSocket {
    /// Reads the next packet (used by the handshake, before the reader task
    /// starts). `None` when the server closed the WebSocket.
    pub(crate) async fn read_packet(&mut self) -> Result<Option<Packet>, String> {
        read_packet(&mut self.reader, &self.out)
            .await
            .map_err(|e| e.to_string())
    }

    /// Starts the reader and writer tasks; events go to `io` tagged `id`.
    pub(crate) fn start(self, id: u64, io: mpsc::UnboundedSender<WsIo>) -> WsConn {
        let WsSocket {
            reader,
            out,
            out_rx,
            writer,
        } = self;
        let w = tokio::spawn(run_writer(writer, out_rx, id, io.clone()));
        let r = tokio::spawn(run_reader(reader, out.clone(), id, io));
        WsConn {
            id,
            out,
            writer: Some(w),
            reader: r,
            close_sent: false,
        }
    }
}

/// A running WebSocket: a reader task and a writer task. Dropping it aborts
/// both (closing the TCP connection).
#[derive(Debug)]
pub(crate) struct WsConn {
    pub(crate) id: u64,
    out: mpsc::UnboundedSender<Out>,
    /// `None` once the writer has been awaited.
    pub(crate) writer: Option<JoinHandle<()>>,
    reader: JoinHandle<()>,
    close_sent: bool,
}

impl WsConn {
    /// Queues a packet: text packets as text frames, binary messages as
    /// binary frames.
    pub(crate) fn send(&self, p: &Packet) {
        let (binary, data) = p.to_ws_frame();
        let op = if binary { OpCode::Binary } else { OpCode::Text };
        let _ = self.out.send(Out::Frame(op, data));
    }

    /// Queues a normal closure after whatever is queued; the writer stops
    /// after writing it.
    pub(crate) fn close(&mut self) {
        if !self.close_sent {
            self.close_sent = true;
            let _ = self.out.send(Out::Close);
        }
    }

    /// Whether a close was queued and the writer is still flushing it.
    pub(crate) fn flushing(&self) -> bool {
        self.close_sent && self.writer.as_ref().is_some_and(|w| !w.is_finished())
    }
}

impl Drop for WsConn {
    fn drop(&mut self) {
        self.reader.abort();
        if let Some(w) = &self.writer {
            w.abort();
        }
    }
}

/// Why reading failed.
#[derive(Debug)]
enum ReadError {
    Eof,
    Other(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Eof => f.write_str("connection closed without a close frame"),
            ReadError::Other(e) => f.write_str(e),
        }
    }
}

async fn read_packet(
    reader: &mut Reader,
    out: &mpsc::UnboundedSender<Out>,
) -> Result<Option<Packet>, ReadError> {
    loop {
        let mut owed = |f: Frame<'_>| {
            // A pong or the close reply owed to the server goes out through
            // the writer task, in order with everything else.
            let r = out
                .send(Out::Frame(f.opcode, Bytes::copy_from_slice(&f.payload)))
                .map_err(|_| "the WebSocket writer stopped");
            std::future::ready(r)
        };
        let frame = reader.read_frame(&mut owed).await.map_err(|e| match e {
            WebSocketError::UnexpectedEOF => ReadError::Eof,
            e => ReadError::Other(e.to_string()),
        })?;
        let data = Bytes::copy_from_slice(&frame.payload);
        return match frame.opcode {
            OpCode::Text => Packet::decode_text(data)
                .map(Some)
                .map_err(|e: DecodeError| ReadError::Other(e.to_string())),
            OpCode::Binary => Ok(Some(Packet::decode_binary_frame(data))),
            OpCode::Close => Ok(None),
            // Pings and pongs are answered by fastwebsockets; continuation
            // frames are assembled by the fragment collector.
            _ => continue,
        };
    }
}

async fn run_reader(
    mut reader: Reader,
    out: mpsc::UnboundedSender<Out>,
    id: u64,
    io: mpsc::UnboundedSender<WsIo>,
) {
    loop {
        let event = match read_packet(&mut reader, &out).await {
            Ok(Some(p)) => WsEvent::Packet(p),
            Ok(None) => WsEvent::Closed,
            Err(ReadError::Eof) => WsEvent::Eof,
            Err(ReadError::Other(e)) => WsEvent::Failed(e),
        };
        let last = !matches!(event, WsEvent::Packet(_));
        if io.send(WsIo { id, event }).is_err() || last {
            return;
        }
    }
}

async fn run_writer(
    mut writer: Writer,
    mut rx: mpsc::UnboundedReceiver<Out>,
    id: u64,
    io: mpsc::UnboundedSender<WsIo>,
) {
    while let Some(out) = rx.recv().await {
        let (op, data) = match out {
            Out::Frame(op, data) => (op, data),
            Out::Close => (OpCode::Close, Bytes::from_static(&[0x03, 0xe8])),
        };
        let last = op == OpCode::Close;
        let mut r = writer
            .write_frame(Frame::new(true, op, None, Payload::Borrowed(&data)))
            .await;
        if r.is_ok() && (last || rx.is_empty()) {
            r = writer.flush().await;
        }
        if let Err(e) = r {
            let _ = io.send(WsIo {
                id,
                event: WsEvent::Failed(e.to_string()),
            });
            return;
        }
        if last {
            return;
        }
    }
}

/// `Sec-WebSocket-Accept` for a key (RFC 6455 §4.2.2).
pub(crate) fn accept_key(key: &[u8]) -> String {
    let mut input = key.to_vec();
    input.extend_from_slice(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    STANDARD.encode(sha1(&input))
}

/// SHA-1, needed only to check the handshake's `Sec-WebSocket-Accept` (no
/// security rests on it).
fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64).wrapping_mul(8)).to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 80];
        for (wi, word) in w.iter_mut().zip(block.chunks_exact(4)) {
            *wi = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (hi, v) in h.iter_mut().zip([a, b, c, d, e]) {
            *hi = hi.wrapping_add(v);
        }
    }
    let mut out = [0u8; 20];
    for (o, v) in out.chunks_exact_mut(4).zip(h) {
        o.copy_from_slice(&v.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6455_accept_example() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn sha1_vectors() {
        let hex = |b: [u8; 20]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        assert_eq!(hex(sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            hex(sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex(sha1(&[b'a'; 1000])),
            "291e9a6c66994949b57ba5e650361e98fc36b1ba"
        );
    }
}
