//! The WebSocket transport: the handshake made *through reqwest* (so the
//! user's proxy, CA, client-certificate and cookie settings apply), then
//! fastwebsockets framing in the client role, split into a reader task and a
//! writer task.
//!
//! This module only moves frames; what they mean is the session's business.
//!
//! What a server can make it hold is bounded:
//! * a message, fragments reassembled here, by `websocket_max_message_size`
//!   over all its fragments, and by [`MAX_FRAGMENTS`];
//! * received messages by the connection's [`Budget`]: the reader waits for
//!   room before it reads the next frame, so a server that sends faster
//!   than the application consumes is held back by TCP;
//! * pongs owed to a server that pings without reading: one WebSocket pong
//!   (for the latest ping, as RFC 6455 §5.5.3 allows) and one Engine.IO pong
//!   wait at most; more pings while they wait are answered by them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use fastwebsockets::{
    Frame, OpCode, Payload, Role, WebSocket, WebSocketError, WebSocketRead, WebSocketWrite,
};
use reqwest::header::{
    HeaderMap, HeaderValue, CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY,
    SEC_WEBSOCKET_VERSION, UPGRADE,
};
use reqwest::{StatusCode, Url};
use tokio::io::{BufWriter, ReadHalf, WriteHalf};
use tokio::task::JoinHandle;

use super::budget::{Budget, Charge};
use super::error::{body_json, BoxError, ClientError};
use super::queue;
use crate::proto::{DecodeError, Packet};

type Stream = reqwest::Upgraded;
/// The write half, buffered: the writer task flushes when its queue is
/// empty, so a burst of small frames leaves in one `write` instead of one
/// each (53% of a Socket.IO client's CPU was `sendto` at 16 acks in flight).
/// 2 KiB holds dozens of small frames and keeps an idle connection cheap;
/// larger frames bypass the buffer.
type Writer = WebSocketWrite<BufWriter<WriteHalf<Stream>>>;

const WRITE_BUFFER: usize = 2048;

/// Most fragments a message may come in (engine.io 6.6.13's
/// `maxBufferedChunks` for its server); more fail the connection.
pub(crate) const MAX_FRAGMENTS: usize = 10_000;

/// What the writer task writes.
#[derive(Debug)]
pub(crate) enum Out {
    /// A frame (data, or a close reply owed to the peer).
    Frame(OpCode, Bytes),
    /// The WebSocket pong owed for the latest ping (in [`Outbox::pong`]).
    Pong,
    /// An Engine.IO pong (`3`).
    EioPong,
    /// A normal closure (1000), then stop.
    Close,
}

/// The sending side of the writer task's queue, shared by the driver (data)
/// and the reader (replies owed to the server).
#[derive(Debug, Clone)]
struct Outbox {
    tx: queue::Sender<Out>,
    /// The payload of the latest unanswered ping; `Out::Pong` is queued only
    /// when it was empty.
    pong: Arc<Mutex<Option<Bytes>>>,
    /// Whether an `Out::EioPong` waits in the queue.
    eio_pong: Arc<AtomicBool>,
}

impl Outbox {
    /// Queues a frame fastwebsockets says we owe (a pong or a close reply).
    fn owe(&self, f: &Frame<'_>) -> Result<(), &'static str> {
        let out = if f.opcode == OpCode::Pong {
            let mut slot = self.pong.lock().unwrap_or_else(|p| p.into_inner());
            if slot.replace(Bytes::copy_from_slice(&f.payload)).is_some() {
                return Ok(());
            }
            Out::Pong
        } else {
            Out::Frame(f.opcode, Bytes::copy_from_slice(&f.payload))
        };
        self.tx
            .send(out)
            .map_err(|_| "the WebSocket writer stopped")
    }
}

/// Reads whole messages: fastwebsockets frames, fragments reassembled within
/// the limits.
struct MessageReader {
    ws: WebSocketRead<ReadHalf<Stream>>,
    max_size: usize,
    /// A fragmented message so far: its opcode, data and fragment count.
    partial: Option<(OpCode, BytesMut, usize)>,
}

/// What a reader (or writer) task reports to the driver.
#[derive(Debug)]
pub(crate) enum WsEvent {
    /// A packet arrived, charged to the connection's budget until the driver
    /// has turned it into an event (which carries its own charge).
    Packet(Packet, Charge),
    /// The server closed the WebSocket with a close frame.
    Closed,
    /// The connection ended without a close frame.
    Eof,
    /// The connection broke (EOF without close frame, IO error, bad frame,
    /// undecodable packet, a message over the limits).
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
    reader: MessageReader,
    out: Outbox,
    out_rx: queue::Receiver<Out>,
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
    Rejected(StatusCode, Option<serde_json::Value>),
    /// The request failed.
    Http(reqwest::Error),
    /// No answer within the timeout.
    Timeout,
    /// A 101 that is not a valid WebSocket handshake, or the upgrade failed.
    Handshake(BoxError),
    /// The first message was over the size limit (handshake only).
    TooLarge(usize),
}

impl From<OpenError> for ClientError {
    fn from(e: OpenError) -> Self {
        match e {
            OpenError::Rejected(status, body) => ClientError::HandshakeRejected { status, body },
            OpenError::Http(e) => ClientError::from_reqwest(e),
            OpenError::Timeout => ClientError::Timeout,
            OpenError::Handshake(e) => ClientError::WebSocket(e),
            OpenError::TooLarge(limit) => ClientError::TooLarge {
                what: "WebSocket message",
                limit,
            },
        }
    }
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Rejected(s, b) => write!(f, "rejected with HTTP {s} {b:?}"),
            OpenError::Http(e) => write!(f, "{e}"),
            OpenError::Timeout => f.write_str("timed out"),
            OpenError::Handshake(e) => write!(f, "{e}"),
            OpenError::TooLarge(limit) => write!(f, "a message over {limit} bytes"),
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
            return Err(OpenError::Rejected(status, body_json(&body)));
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
    // fastwebsockets refuses a frame of exactly its limit; ours is inclusive.
    ws.set_max_message_size(max_message_size.saturating_add(1));
    let (read, writer) = ws.split(|s| {
        let (r, w) = tokio::io::split(s);
        (r, BufWriter::with_capacity(WRITE_BUFFER, w))
    });
    let (tx, out_rx) = queue::queue();
    Ok(WsSocket {
        reader: MessageReader {
            ws: read,
            max_size: max_message_size,
            partial: None,
        },
        out: Outbox {
            tx,
            pong: Arc::default(),
            eio_pong: Arc::default(),
        },
        out_rx,
        writer,
    })
}

impl WsSocket {
    /// Reads the next packet (used by the handshake, before the reader task
    /// starts). `None` when the server closed the WebSocket.
    pub(crate) async fn read_packet(&mut self) -> Result<Option<Packet>, OpenError> {
        read_packet(&mut self.reader, &self.out)
            .await
            .map_err(|e| match e {
                ReadError::TooLarge(limit) => OpenError::TooLarge(limit),
                e => OpenError::Handshake(e.to_string().into()),
            })
    }

    /// Starts the reader and writer tasks; events go to `io` tagged `id`.
    /// The reader reads only while `budget` has room.
    pub(crate) fn start(self, id: u64, io: queue::Sender<WsIo>, budget: Arc<Budget>) -> WsConn {
        let WsSocket {
            reader,
            out,
            out_rx,
            writer,
        } = self;
        let w = tokio::spawn(run_writer(writer, out_rx, out.clone(), id, io.clone()));
        let r = tokio::spawn(run_reader(reader, out.clone(), id, io, budget));
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
    out: Outbox,
    /// `None` once the writer has been awaited.
    pub(crate) writer: Option<JoinHandle<()>>,
    reader: JoinHandle<()>,
    close_sent: bool,
}

impl WsConn {
    /// Queues a packet: text packets as text frames, binary messages as
    /// binary frames. A pong is dropped while another one waits to be
    /// written: that one answers the server's pings just as well.
    pub(crate) fn send(&self, p: &Packet) {
        if *p == Packet::pong() {
            if !self.out.eio_pong.swap(true, Ordering::AcqRel) {
                let _ = self.out.tx.send(Out::EioPong);
            }
            return;
        }
        let (binary, data) = p.to_ws_frame();
        let op = if binary { OpCode::Binary } else { OpCode::Text };
        let _ = self.out.tx.send(Out::Frame(op, data));
    }

    /// Queues a normal closure after whatever is queued; the writer stops
    /// after writing it.
    pub(crate) fn close(&mut self) {
        if !self.close_sent {
            self.close_sent = true;
            let _ = self.out.tx.send(Out::Close);
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
    /// A message over this many bytes.
    TooLarge(usize),
    Other(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Eof => f.write_str("connection closed without a close frame"),
            ReadError::TooLarge(limit) => write!(f, "a message over {limit} bytes"),
            ReadError::Other(e) => f.write_str(e),
        }
    }
}

async fn read_packet(r: &mut MessageReader, out: &Outbox) -> Result<Option<Packet>, ReadError> {
    let max = r.max_size;
    loop {
        // A pong or the close reply owed to the server goes out through the
        // writer task, in order with everything else.
        let mut owed = |f: Frame<'_>| std::future::ready(out.owe(&f));
        let frame = r.ws.read_frame(&mut owed).await.map_err(|e| match e {
            WebSocketError::UnexpectedEOF => ReadError::Eof,
            WebSocketError::FrameTooLarge => ReadError::TooLarge(max),
            e => ReadError::Other(e.to_string()),
        })?;
        let (op, data) = match frame.opcode {
            OpCode::Text | OpCode::Binary => {
                if r.partial.is_some() {
                    return Err(ReadError::Other(
                        "a new message before the fragmented one ended".into(),
                    ));
                }
                if !frame.fin {
                    r.partial = Some((frame.opcode, BytesMut::from(&frame.payload[..]), 1));
                    continue;
                }
                (frame.opcode, Bytes::copy_from_slice(&frame.payload))
            }
            OpCode::Continuation => {
                let Some((_, buf, count)) = &mut r.partial else {
                    return Err(ReadError::Other(
                        "a continuation frame with nothing to continue".into(),
                    ));
                };
                *count += 1;
                if *count > MAX_FRAGMENTS {
                    return Err(ReadError::Other(format!(
                        "a message in more than {MAX_FRAGMENTS} fragments"
                    )));
                }
                if frame.payload.len() > max - buf.len() {
                    return Err(ReadError::TooLarge(max));
                }
                buf.extend_from_slice(&frame.payload);
                if !frame.fin {
                    continue;
                }
                let Some((op, buf, _)) = r.partial.take() else {
                    unreachable!("matched above")
                };
                (op, buf.freeze())
            }
            OpCode::Close => return Ok(None),
            // Pings are answered by fastwebsockets (through `owed`).
            OpCode::Ping | OpCode::Pong => continue,
        };
        return match op {
            OpCode::Text => Packet::decode_text(data)
                .map(Some)
                .map_err(|e: DecodeError| ReadError::Other(e.to_string())),
            _ => Ok(Some(Packet::decode_binary_frame(data))),
        };
    }
}

async fn run_reader(
    mut reader: MessageReader,
    out: Outbox,
    id: u64,
    io: queue::Sender<WsIo>,
    budget: Arc<Budget>,
) {
    loop {
        // Backpressure: while the application is behind, leave the data in
        // the socket.
        budget.room().await;
        let event = match read_packet(&mut reader, &out).await {
            Ok(Some(p)) => {
                let charge = budget.charge(p.text_len());
                WsEvent::Packet(p, charge)
            }
            Ok(None) => WsEvent::Closed,
            Err(ReadError::Eof) => WsEvent::Eof,
            Err(e) => WsEvent::Failed(e.to_string()),
        };
        let last = !matches!(event, WsEvent::Packet(..));
        if io.send(WsIo { id, event }).is_err() || last {
            return;
        }
    }
}

async fn run_writer(
    mut writer: Writer,
    mut rx: queue::Receiver<Out>,
    outbox: Outbox,
    id: u64,
    io: queue::Sender<WsIo>,
) {
    while let Some(out) = rx.recv().await {
        let (op, data) = match out {
            Out::Frame(op, data) => (op, data),
            Out::Pong => {
                let payload = outbox.pong.lock().unwrap_or_else(|p| p.into_inner()).take();
                (OpCode::Pong, payload.unwrap_or_default())
            }
            Out::EioPong => {
                // Cleared before the write: a ping that arrives meanwhile
                // gets a pong of its own.
                outbox.eio_pong.store(false, Ordering::Release);
                (OpCode::Text, Bytes::from_static(b"3"))
            }
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
