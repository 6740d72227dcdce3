//! The WebSocket transport: the handshake made *through reqwest* (so the
//! user's proxy, CA, client-certificate and cookie settings apply) — or,
//! for a plain `ws://` URL with the default client and no proxy, with
//! hyper's HTTP/1 connection on a TCP stream of its own, which leaves the
//! socket a bare [`TcpStream`] (`ws_direct`: reqwest's upgraded connection
//! cost 1.1 KB per idle connection) — then one
//! hand-written future per socket ([`Socket`]) that reads and writes frames
//! with the sans-IO [`engineio_proto::ws`] codec in the client role
//! (unmasked frames in, masked frames out), as the server's socket does.
//!
//! This module only moves frames; what they mean is the session's business.
//!
//! An idle socket holds no buffer: reads land in a per-thread scratch
//! buffer and only an incomplete frame is kept, and frames to write are
//! encoded into a per-thread spare buffer that goes back once they are
//! written (`crate::ws_io`). That is what fastwebsockets' reader and writer
//! tasks could not give: an 8 KiB read buffer and a 2 KiB write buffer per
//! connection for life, and two tasks (about 13 KB of a 22.5 KB idle
//! connection, bench/results/eio-client-2026-12-02.md and the README).
//!
//! What a server can make it hold is bounded:
//! * a message, fragments reassembled by the codec, by
//!   `websocket_max_message_size` over all its fragments, and by
//!   [`MAX_FRAGMENTS`];
//! * received messages by the connection's [`Budget`]: the socket reads the
//!   next frame only while the budget has room, so a server that sends
//!   faster than the application consumes is held back by TCP;
//! * pongs owed to a server that pings without reading: one WebSocket pong
//!   (for the latest ping, as RFC 6455 §5.5.3 allows) and one Engine.IO pong
//!   wait at most; more pings while they wait are answered by them.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use engineio_proto::ws::{self, MessageDecoder, OpCode, WsError, WsMessage};
use reqwest::cookie::Jar;
use reqwest::header::{
    HeaderMap, HeaderValue, CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY,
    SEC_WEBSOCKET_VERSION, UPGRADE,
};
use reqwest::{StatusCode, Url};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::budget::{Budget, Charge};
use super::error::{body_json, BoxError, ClientError};
use super::queue;
use super::ws_direct::{self, Answer};
use crate::proto::Packet;
use crate::ws_io::{poll_read_into, put_spare, release_if_drained, take_spare, OUT_BATCH};

/// An open WebSocket's connection: a bare TCP stream when the handshake
/// went past reqwest (`ws_direct`), reqwest's upgraded connection
/// otherwise (TLS, proxies, a user's HTTP client).
enum Stream {
    Tcp(TcpStream),
    Upgraded(reqwest::Upgraded),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Upgraded(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Upgraded(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
            Stream::Upgraded(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Upgraded(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// Most fragments a message may come in (engine.io 6.6.13's
/// `maxBufferedChunks` for its server); more fail the connection.
pub(crate) const MAX_FRAGMENTS: usize = 10_000;

/// What the socket writes, besides the replies it owes the server.
#[derive(Debug)]
enum Out {
    /// A packet.
    Packet(Packet),
    /// An Engine.IO pong (`3`), deduplicated through [`Outbox::eio_pong`].
    EioPong,
    /// A normal closure (1000), then stop.
    Close,
}

/// The driver's side of the socket's queue.
#[derive(Debug)]
struct Outbox {
    tx: queue::Sender<Out>,
    /// Whether an `Out::EioPong` waits in the queue (shared with the
    /// socket, which clears it when it writes the pong).
    eio_pong: Arc<AtomicBool>,
}

/// What a socket reports to the driver.
#[derive(Debug)]
pub(crate) enum WsEvent {
    /// A packet arrived, charged to the connection's budget until the driver
    /// has turned it into an event (which carries its own charge).
    Packet(Packet, Charge),
    /// The server closed the WebSocket with a close frame.
    Closed,
    /// The connection ended without a close frame.
    Eof,
    /// The connection broke (IO error, bad frame, undecodable packet, a
    /// message over the limits).
    Failed(String),
}

/// A [`WsEvent`] tagged with the id of the WebSocket it belongs to.
#[derive(Debug)]
pub(crate) struct WsIo {
    pub(crate) id: u64,
    pub(crate) event: WsEvent,
}

/// The reading half's state: the codec, the bytes of an incomplete frame,
/// and the pong owed.
#[derive(Debug)]
struct Reader {
    decoder: MessageDecoder,
    max_size: usize,
    /// Received bytes not yet decoded (no allocation when empty).
    input: BytesMut,
    /// The payload of the latest ping not answered yet: one pong at most
    /// waits.
    pong: Option<Bytes>,
}

/// What reading gives.
#[derive(Debug)]
enum Read {
    Packet(Packet),
    /// A close frame, with its code.
    Close(Option<u16>),
    Eof,
    /// A message over this many bytes.
    TooLarge(usize),
    Failed(String),
}

impl Reader {
    /// The next packet, close frame or failure; pings are noted in
    /// [`pong`](Self::pong) for the writer.
    fn poll_next(&mut self, io: &mut Stream, cx: &mut Context<'_>) -> Poll<Read> {
        loop {
            loop {
                let msg = match self.decoder.decode(&mut self.input) {
                    Ok(Some(m)) => m,
                    Ok(None) => break,
                    Err(WsError::TooLarge) => return Poll::Ready(Read::TooLarge(self.max_size)),
                    Err(e) => return Poll::Ready(Read::Failed(e.to_string())),
                };
                return Poll::Ready(match msg {
                    WsMessage::Text(data) => match Packet::decode_text(data) {
                        Ok(p) => Read::Packet(p),
                        Err(e) => Read::Failed(e.to_string()),
                    },
                    WsMessage::Binary(data) => Read::Packet(Packet::decode_binary_frame(data)),
                    WsMessage::Ping(payload) => {
                        self.pong = Some(payload);
                        continue;
                    }
                    WsMessage::Pong(_) => continue,
                    WsMessage::Close(code) => Read::Close(code),
                });
            }
            release_if_drained(&mut self.input);
            match poll_read_into(io, cx, &mut self.input) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(0)) => return Poll::Ready(Read::Eof),
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Read::Failed(e.to_string())),
            }
        }
    }
}

/// An open WebSocket whose socket has not been started yet (the
/// handshake reads the `open` packet from it first).
pub(crate) struct WsSocket {
    io: Stream,
    reader: Reader,
    /// A close frame was received during the handshake (its reply is owed).
    closed: Option<Option<u16>>,
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

/// Opens a WebSocket with an HTTP/1.1 upgrade request sent through `http`,
/// or past it on a TCP stream of its own when `direct` holds the
/// connection's jar (see `ws_direct` for when).
pub(crate) async fn open(
    http: reqwest::Client,
    url: Url,
    mut headers: HeaderMap,
    direct: Option<Arc<Jar>>,
    max_message_size: usize,
    timeout: Duration,
) -> Result<WsSocket, OpenError> {
    let mut raw = [0u8; 16];
    getrandom::fill(&mut raw).map_err(|e| OpenError::Handshake(e.to_string().into()))?;
    let key = STANDARD.encode(raw);
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
    headers.insert(
        SEC_WEBSOCKET_KEY,
        HeaderValue::from_str(&key).map_err(|e| OpenError::Handshake(Box::new(e)))?,
    );
    // The timeout covers the handshake only; reqwest's per-request timeout
    // would also apply to the upgraded stream's lifetime.
    let handshake = async {
        if let Some(jar) = &direct {
            match ws_direct::handshake(&url, &headers, jar).await? {
                Some(Answer::Switched(answer, tcp, rest)) => {
                    check_answer(&answer, &key)?;
                    return Ok((Stream::Tcp(tcp), rest));
                }
                Some(Answer::Refused(status, body)) => {
                    return Err(OpenError::Rejected(status, body_json(&body)))
                }
                // No connection: reqwest's attempt says why.
                None => {}
            }
        }
        let req = http
            .get(url)
            .version(http::Version::HTTP_11)
            .headers(headers.clone());
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
        check_answer(resp.headers(), &key)?;
        let upgraded = resp
            .upgrade()
            .await
            .map_err(|e| OpenError::Handshake(Box::new(e)))?;
        Ok((Stream::Upgraded(upgraded), Bytes::new()))
    };
    let (stream, rest) = tokio::time::timeout(timeout, handshake)
        .await
        .map_err(|_| OpenError::Timeout)??;

    Ok(WsSocket {
        io: stream,
        reader: Reader {
            // No limit on the reads a frame may take (the server's
            // `maxBufferedChunks`): a slow network delivers a large message
            // a segment at a time, and the size limit bounds it anyway.
            decoder: MessageDecoder::client(max_message_size)
                .with_max_chunks(usize::MAX)
                .with_max_fragments(MAX_FRAGMENTS),
            max_size: max_message_size,
            // What the handshake read past the `101`: the first frames.
            input: BytesMut::from(&rest[..]),
            pong: None,
        },
        closed: None,
    })
}

/// Checks a `101` answer's `Upgrade` and `Sec-WebSocket-Accept` for `key`.
fn check_answer(headers: &HeaderMap, key: &str) -> Result<(), OpenError> {
    let accept_ok = headers
        .get(SEC_WEBSOCKET_ACCEPT)
        .is_some_and(|v| v.as_bytes() == accept_key(key.as_bytes()).as_bytes());
    let upgrade_ok = headers
        .get(UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if accept_ok && upgrade_ok {
        Ok(())
    } else {
        Err(OpenError::Handshake(
            "invalid WebSocket handshake answer (Upgrade / Sec-WebSocket-Accept)".into(),
        ))
    }
}

impl WsSocket {
    /// Reads the next packet (used by the handshake, before the socket
    /// starts). `None` when the server closed the WebSocket.
    pub(crate) async fn read_packet(&mut self) -> Result<Option<Packet>, OpenError> {
        if self.closed.is_some() {
            return Ok(None);
        }
        let read = poll_fn(|cx| self.reader.poll_next(&mut self.io, cx)).await;
        match read {
            Read::Packet(p) => Ok(Some(p)),
            Read::Close(code) => {
                self.closed = Some(code);
                Ok(None)
            }
            Read::Eof => Err(OpenError::Handshake(
                "connection closed without a close frame".into(),
            )),
            Read::TooLarge(limit) => Err(OpenError::TooLarge(limit)),
            Read::Failed(e) => Err(OpenError::Handshake(e.into())),
        }
    }

    /// Makes the running socket; events go to `events` tagged `id`. It
    /// reads only while `budget` has room. The socket is not a task of its
    /// own: the driver polls it ([`WsConn::poll_socket`]).
    pub(crate) fn start(self, id: u64, events: queue::Sender<WsIo>, budget: Arc<Budget>) -> WsConn {
        let (tx, rx) = queue::queue();
        let eio_pong = Arc::new(AtomicBool::new(false));
        let mut socket = Socket {
            io: self.io,
            reader: self.reader,
            id,
            rx,
            eio_pong: eio_pong.clone(),
            events,
            budget,
            out: Vec::new(),
            written: 0,
            unflushed: false,
            reading: true,
            closing: false,
        };
        if let Some(code) = self.closed {
            socket.on_close(code);
        }
        WsConn {
            id,
            out: Outbox { tx, eio_pong },
            socket: Some(socket),
            close_sent: false,
        }
    }
}

/// A running WebSocket: its socket, which the driver's task polls (one
/// task per connection instead of a socket task beside the driver: 512
/// bytes less per idle connection, and a received message or a packet to
/// send no longer wakes a second task). Dropping it closes the TCP
/// connection.
pub(crate) struct WsConn {
    pub(crate) id: u64,
    out: Outbox,
    /// `None` once the socket has finished.
    socket: Option<Socket>,
    close_sent: bool,
}

impl std::fmt::Debug for WsConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsConn")
            .field("id", &self.id)
            .field("running", &self.socket.is_some())
            .field("close_sent", &self.close_sent)
            .finish_non_exhaustive()
    }
}

impl WsConn {
    /// Queues a packet: text packets as text frames, binary messages as
    /// binary frames. A pong is dropped while another one waits to be
    /// written: that one answers the server's pings just as well.
    pub(crate) fn send(&self, p: Packet) {
        if p == Packet::pong() {
            if !self.out.eio_pong.swap(true, Ordering::AcqRel) {
                let _ = self.out.tx.send(Out::EioPong);
            }
            return;
        }
        let _ = self.out.tx.send(Out::Packet(p));
    }

    /// Queues a normal closure after whatever is queued; the socket stops
    /// after writing it.
    pub(crate) fn close(&mut self) {
        if !self.close_sent {
            self.close_sent = true;
            let _ = self.out.tx.send(Out::Close);
        }
    }

    /// Whether a close was queued and the socket is still flushing it.
    pub(crate) fn flushing(&self) -> bool {
        self.close_sent && self.socket.is_some()
    }

    /// Runs the socket: reads frames into events, writes what is queued.
    /// Ready once the socket has finished (after flushing a close, or once
    /// the connection ended; it reported how first), never after that.
    pub(crate) fn poll_socket(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(socket) = &mut self.socket else {
            return Poll::Pending;
        };
        std::task::ready!(Pin::new(socket).poll(cx));
        // Dropped now: that closes the connection.
        self.socket = None;
        Poll::Ready(())
    }
}

/// One WebSocket: a single future, polled by the driver's task, that reads
/// frames into events and writes the driver's packets and the replies owed
/// to the server.
struct Socket {
    io: Stream,
    reader: Reader,
    id: u64,
    rx: queue::Receiver<Out>,
    eio_pong: Arc<AtomicBool>,
    events: queue::Sender<WsIo>,
    budget: Arc<Budget>,
    /// Encoded frames not yet written, from `written` on.
    out: Vec<u8>,
    written: usize,
    /// Something was written since the last flush.
    unflushed: bool,
    /// The reading half still runs (no end was reported).
    reading: bool,
    /// A close frame is in `out`: once it is written, the socket is done.
    closing: bool,
}

/// A masking key for a frame (RFC 6455 §5.3: unpredictable, from a strong
/// source of entropy; rand's thread-local generator is a CSPRNG seeded by
/// the OS).
fn mask_key() -> [u8; 4] {
    rand::random()
}

impl Future for Socket {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.reading && this.poll_read_side(cx).is_ready() {
            // The driver is gone.
            return Poll::Ready(());
        }
        this.poll_write_side(cx)
    }
}

impl Socket {
    /// Reports the end of the reading half.
    fn end(&mut self, event: WsEvent) {
        self.reading = false;
        self.reader.input = BytesMut::new();
        let _ = self.events.send(WsIo { id: self.id, event });
    }

    /// A close frame from the server: the reply (its code echoed, RFC 6455
    /// §5.5.1), then the end.
    fn on_close(&mut self, code: Option<u16>) {
        take_spare(&mut self.out);
        match code {
            Some(code) => ws::encode_masked_close(&mut self.out, code, mask_key()),
            None => ws::encode_masked_frame(&mut self.out, OpCode::Close, &[], mask_key()),
        }
        self.closing = true;
        self.end(WsEvent::Closed);
    }

    /// Reads and reports packets while the budget has room; ready only
    /// when the driver is gone.
    fn poll_read_side(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        while self.reading {
            // Backpressure: while the application is behind, leave the
            // data in the socket.
            if self.budget.poll_room(cx).is_pending() {
                return Poll::Pending;
            }
            let event = match self.reader.poll_next(&mut self.io, cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Read::Packet(p)) => {
                    let charge = self.budget.charge(p.text_len());
                    WsEvent::Packet(p, charge)
                }
                Poll::Ready(Read::Close(code)) => {
                    self.on_close(code);
                    return Poll::Pending;
                }
                Poll::Ready(Read::Eof) => WsEvent::Eof,
                Poll::Ready(Read::TooLarge(limit)) => {
                    WsEvent::Failed(format!("a message over {limit} bytes"))
                }
                Poll::Ready(Read::Failed(e)) => WsEvent::Failed(e),
            };
            if !matches!(event, WsEvent::Packet(..)) {
                self.end(event);
                return Poll::Pending;
            }
            if self.events.send(WsIo { id: self.id, event }).is_err() {
                return Poll::Ready(());
            }
        }
        Poll::Pending
    }

    /// Encodes what is owed and queued into `out`, up to [`OUT_BATCH`]
    /// bytes; ready (the driver is gone) when the queue is closed.
    fn refill(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        take_spare(&mut self.out);
        if let Some(payload) = self.reader.pong.take() {
            ws::encode_masked_frame(&mut self.out, OpCode::Pong, &payload, mask_key());
        }
        while self.out.len() < OUT_BATCH && !self.closing {
            match self.rx.poll_recv(cx) {
                Poll::Ready(Some(Out::Packet(p))) => {
                    ws::encode_masked_packet(&mut self.out, &p, mask_key());
                }
                Poll::Ready(Some(Out::EioPong)) => {
                    // Cleared before the write: a ping that arrives
                    // meanwhile gets a pong of its own.
                    self.eio_pong.store(false, Ordering::Release);
                    ws::encode_masked_packet(&mut self.out, &Packet::pong(), mask_key());
                }
                Poll::Ready(Some(Out::Close)) => {
                    ws::encode_masked_close(&mut self.out, 1000, mask_key());
                    self.closing = true;
                }
                Poll::Ready(None) => return Poll::Ready(()),
                Poll::Pending => break,
            }
        }
        Poll::Pending
    }

    /// Writes pending frames, refilling from the queue, until the socket
    /// would block or nothing is left; ready once the socket is done.
    fn poll_write_side(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            while self.written < self.out.len() {
                match Pin::new(&mut self.io).poll_write(cx, &self.out[self.written..]) {
                    Poll::Ready(Ok(n)) if n > 0 => {
                        self.written += n;
                        self.unflushed = true;
                    }
                    Poll::Ready(r) => {
                        if self.reading {
                            let e = r
                                .err()
                                .map_or_else(|| "write zero".to_owned(), |e| e.to_string());
                            self.end(WsEvent::Failed(e));
                        }
                        return Poll::Ready(());
                    }
                    Poll::Pending => return Poll::Pending,
                }
            }
            self.out.clear();
            self.written = 0;
            if !self.closing && self.reading && self.refill(cx).is_ready() {
                return Poll::Ready(());
            }
            if self.out.is_empty() {
                put_spare(&mut self.out);
                if self.unflushed || self.closing || !self.reading {
                    match Pin::new(&mut self.io).poll_flush(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Ok(())) => self.unflushed = false,
                        Poll::Ready(Err(_)) => return Poll::Ready(()),
                    }
                }
                // A close written, or a connection that ended: done.
                return if self.closing || !self.reading {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                };
            }
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
