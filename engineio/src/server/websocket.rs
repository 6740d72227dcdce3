//! The WebSocket transport: the hyper upgrade, then one task per socket
//! that reads frames into the core and writes the core's packets out.
//!
//! A socket is either the session's active transport (`active_ws`) or a
//! probe for a polling → WebSocket upgrade (`probe_ws`), identified by a
//! per-socket id in the session state. Each socket is one hand-written
//! future ([`Socket`]): it reads and decodes frames (with the sans-IO
//! [`engineio_proto::ws`] codec) and feeds them to the core, then writes
//! what the core queued, batching every ready packet into one write. It
//! waits on the socket and on a waker kept in the session state, which
//! every input to the session wakes; so an idle socket costs one small task
//! and no buffers. Once the session is closed or the socket retired, it
//! writes what is left and a close frame, within a grace period.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use engineio_proto::server::{ProbeOutcome, RequestError};
use engineio_proto::verify::ErrorCode;
use engineio_proto::ws::{self, MessageDecoder, OpCode, WsMessage};
use engineio_proto::{DisconnectReason, Packet};
use fastwebsockets::upgrade::UpgradeFut;
use fastwebsockets::WebSocketError;
use http::request::Parts;
use http::{HeaderMap, Request, Response};
use http_body_util::Full;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::response::upgrade_error;
use super::session::{Inner, SessionHandle};
use super::Shared;
use crate::ws_io::{poll_read_into, put_spare, release_if_drained, take_spare, OUT_BATCH};

/// How long the writer may take to send the closing frames after the
/// reader stopped.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Whether the request asks for a WebSocket (`Upgrade: websocket`).
pub(crate) fn wants_websocket(headers: &HeaderMap) -> bool {
    headers.get_all(http::header::UPGRADE).iter().any(|v| {
        v.as_bytes()
            .split(|&c| c == b',')
            .any(|p| p.trim_ascii().eq_ignore_ascii_case(b"websocket"))
    })
}

pub(crate) type Upgrade = (Response<Full<Bytes>>, UpgradeFut);

/// Checks the upgrade headers and prepares the `101` answer.
pub(crate) fn prepare(parts: Parts) -> (Parts, Result<Upgrade, WebSocketError>) {
    let mut req = Request::from_parts(parts, ());
    let has_conn_upgrade = fastwebsockets::upgrade::is_upgrade_request(&req);
    let has_on_upgrade = req
        .extensions()
        .get::<hyper::upgrade::OnUpgrade>()
        .is_some();
    let result = if !has_conn_upgrade {
        Err(WebSocketError::InvalidConnectionHeader)
    } else if !has_on_upgrade {
        Err(WebSocketError::InvalidUpgradeHeader)
    } else {
        fastwebsockets::upgrade::upgrade(&mut req)
            .map(|(resp, fut)| (resp.map(|_| Full::default()), fut))
    };
    (req.into_parts().0, result)
}

/// A direct WebSocket session (no sid): the socket is the active transport
/// from the start and its first frame is the `open` packet.
pub(crate) fn start_direct(
    shared: &Arc<Shared>,
    handle: Arc<SessionHandle>,
    upgrade: Upgrade,
) -> Response<Full<Bytes>> {
    let (resp, fut) = upgrade;
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    handle.output(|inner, _| inner.active_ws = Some(id));
    spawn_socket(shared, handle, fut, id);
    resp
}

/// A WebSocket carrying an existing sid: an upgrade probe.
pub(crate) fn start_upgrade(
    shared: &Arc<Shared>,
    handle: Arc<SessionHandle>,
    parts: Parts,
) -> Response<Full<Bytes>> {
    let (_parts, prepared) = prepare(parts);
    let Ok((resp, fut)) = prepared else {
        return upgrade_error(ErrorCode::BadRequest.message());
    };
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let begun = handle.input(|inner, now| {
        let r = inner.core.begin_upgrade(now);
        if r.is_ok() {
            inner.probe_ws = Some(id);
        }
        r
    });
    match begun {
        Ok(()) => spawn_socket(shared, handle, fut, id),
        Err(RequestError::DuplicateUpgrade) => {
            // The reference completes the handshake and closes the new
            // socket; the session's own WebSocket is untouched.
            tracing::debug!(sid = %handle.sid, "second websocket for the session closed");
            tokio::spawn(close_at_once(fut));
        }
        Err(e) => {
            tracing::debug!(sid = %handle.sid, error = %e, "upgrade refused");
            return upgrade_error(ErrorCode::BadRequest.message());
        }
    }
    resp
}

/// Completes a WebSocket handshake only to close the socket: a close frame
/// without a status code (as `ws` sends for `close()`), then the end of the
/// stream, within the grace period.
async fn close_at_once(fut: UpgradeFut) {
    use tokio::io::AsyncWriteExt;
    let done = async {
        let mut io = fut.await.ok()?.into_inner();
        let mut frame = Vec::with_capacity(2);
        ws::encode_frame(&mut frame, OpCode::Close, &[]);
        io.write_all(&frame).await.ok()?;
        io.shutdown().await.ok()
    };
    let _ = tokio::time::timeout(CLOSE_GRACE, done).await;
}

/// Most pongs (answers to the client's WebSocket pings) that may wait
/// unwritten: a ping that finds this many, and a socket that will not take
/// them now, drops the connection at once. Without it a client that sends
/// pings and never reads grows the output without bound (about 148 MB
/// after 400,000 pings). 60 is `ws` 8.23's `maxPendingAutoPongs`, which
/// engine.io 6.6.13 inherits; like ws's `terminate()`, no close frame is
/// sent (it would wait behind the unread pongs). Unlike ws, whose pongs
/// stay pending until the tick after they are written (so that more than
/// 60 pings in one read drop even a client that reads), the 61st ping
/// first tries to write the 60 out.
const MAX_PENDING_PONGS: usize = 60;

enum Step {
    Continue,
    Reply(Packet),
    Stop,
}

/// What ends the reading half.
struct ReadEnd {
    reason: DisconnectReason,
    /// The close frame to send, if any.
    close: Option<u16>,
}

enum State {
    /// Reading frames into the core, writing the core's packets.
    Open,
    /// No more reading: write what is pending (and the close frame, if
    /// any), for at most `CLOSE_GRACE`.
    Closing {
        close: Option<u16>,
        /// Whether packets the core still queues go out first (the
        /// session ended while this socket was its transport).
        drain: bool,
        grace: Pin<Box<tokio::time::Sleep>>,
    },
}

/// One WebSocket: a single future that reads, feeds the core and writes,
/// with no buffer held while idle (input goes through a per-thread scratch
/// buffer and is kept only while a frame is incomplete; output is kept only
/// until written).
struct Socket<S> {
    io: S,
    handle: Arc<SessionHandle>,
    id: u64,
    backlog_limit: usize,
    decoder: MessageDecoder,
    /// Received bytes not yet decoded (no allocation when empty).
    input: BytesMut,
    /// Encoded frames not yet written, from `written` on.
    out: Vec<u8>,
    written: usize,
    /// Pongs put in `out` since it was last written out in full.
    pending_pongs: usize,
    /// Something was written since the last flush.
    unflushed: bool,
    state: State,
}

/// Runs the WebSocket of `handle` once the upgrade completes. The task keeps
/// no reference to the server (the session's weak one serves the handlers),
/// so an open WebSocket does not keep a dropped server alive.
fn spawn_socket(shared: &Shared, handle: Arc<SessionHandle>, fut: UpgradeFut, id: u64) {
    tokio::spawn(Socket {
        io: Io::Upgrading(fut),
        handle,
        id,
        backlog_limit: shared.options.max_queued_packets,
        decoder: MessageDecoder::new(shared.options.max_http_buffer_size)
            .with_max_chunks(shared.options.max_buffered_chunks),
        input: BytesMut::new(),
        out: Vec::new(),
        written: 0,
        pending_pongs: 0,
        unflushed: false,
        state: State::Open,
    });
}

/// A socket's connection: the hyper upgrade until it completes, then the
/// upgraded stream.
///
/// The upgrade is part of the socket's own future, so that the socket's
/// task is the socket alone: an `async` block that awaited the upgrade and
/// then built the socket stored its captures, the socket and the upgrade's
/// result side by side (a 496-byte future, a 640-byte task per idle
/// session; the socket alone makes it 384, see
/// `bench/results/server-recheck-2026-12-02b.md`).
enum Io {
    Upgrading(UpgradeFut),
    Open(TokioIo<Upgraded>),
    /// The upgrade failed: every read and write fails.
    Failed,
}

impl Io {
    /// The upgraded stream, once the upgrade has completed.
    fn poll_open(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<&mut TokioIo<Upgraded>>> {
        if let Io::Upgrading(fut) = self {
            match Pin::new(fut).poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(ws)) => *self = Io::Open(ws.into_inner()),
                Poll::Ready(Err(e)) => {
                    tracing::debug!(error = %e, "websocket upgrade failed");
                    *self = Io::Failed;
                }
            }
        }
        Poll::Ready(match self {
            Io::Open(io) => Ok(io),
            Io::Upgrading(_) | Io::Failed => Err(std::io::ErrorKind::NotConnected.into()),
        })
    }
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut().poll_open(cx) {
            Poll::Ready(Ok(io)) => Pin::new(io).poll_read(cx, buf),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut().poll_open(cx) {
            Poll::Ready(Ok(io)) => Pin::new(io).poll_write(cx, buf),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut().poll_open(cx) {
            Poll::Ready(Ok(io)) => Pin::new(io).poll_flush(cx),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut().poll_open(cx) {
            Poll::Ready(Ok(io)) => Pin::new(io).poll_shutdown(cx),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Forgets socket `id`: an active socket ends the session with `reason`
/// (a no-op if it already ended), a probe ends the upgrade attempt.
fn detach(inner: &mut Inner, id: u64, reason: DisconnectReason) {
    if inner.active_ws == Some(id) {
        inner.core.handle_transport_closed(reason);
    } else if inner.probe_ws == Some(id) {
        inner.probe_ws = None;
        inner.core.handle_probe_closed();
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Future for Socket<S> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let r = this.poll_socket(cx);
        if r.is_ready() {
            // Whatever ended the socket, the session must not keep counting
            // on it.
            let id = this.id;
            this.handle.input(|inner, _| {
                inner.ws_wakers.remove(id);
                detach(inner, id, DisconnectReason::TransportClose);
            });
        }
        r
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Socket<S> {
    /// Runs the read side, then the write side; ready once the socket is
    /// done.
    fn poll_socket(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if let State::Open = self.state {
            if let Some(end) = self.poll_read_side(cx) {
                let id = self.id;
                self.handle.input(|inner, _| {
                    inner.ws_wakers.remove(id);
                    detach(inner, id, end.reason);
                });
                self.start_closing(end.close, false);
            }
        }
        let r = self.poll_write_side(cx);
        if r.is_pending() {
            if let State::Closing { grace, .. } = &mut self.state {
                // A client that never reads cannot pin the socket: past the
                // grace period it is dropped.
                if grace.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(());
                }
            }
        }
        r
    }

    fn start_closing(&mut self, close: Option<u16>, drain: bool) {
        self.input = BytesMut::new();
        self.state = State::Closing {
            close,
            drain,
            grace: Box::pin(tokio::time::sleep(CLOSE_GRACE)),
        };
    }

    /// Reads and feeds frames until the socket would block (`None`) or the
    /// reading ends.
    fn poll_read_side(&mut self, cx: &mut Context<'_>) -> Option<ReadEnd> {
        let sid = self.handle.sid;
        loop {
            loop {
                if self
                    .handle
                    .ws_backlog_full(self.backlog_limit, self.id, cx.waker())
                {
                    // The handler is behind: stop reading from this client.
                    return None;
                }
                let msg = match self.decoder.decode(&mut self.input) {
                    Ok(Some(m)) => m,
                    Ok(None) => break,
                    Err(e) => {
                        tracing::debug!(%sid, error = %e, "websocket protocol error");
                        return Some(ReadEnd {
                            reason: DisconnectReason::TransportError,
                            close: Some(e.close_code()),
                        });
                    }
                };
                let packet = match msg {
                    WsMessage::Text(bytes) => match Packet::decode_text(bytes) {
                        Ok(p) => p,
                        Err(e) => {
                            tracing::debug!(%sid, error = %e, "invalid packet on websocket");
                            return Some(ReadEnd {
                                reason: DisconnectReason::TransportError,
                                close: Some(e.ws_close_code()),
                            });
                        }
                    },
                    WsMessage::Binary(bytes) => Packet::decode_binary_frame(bytes),
                    WsMessage::Ping(payload) => {
                        if self.pending_pongs >= MAX_PENDING_PONGS && !self.write_out_now(cx) {
                            tracing::debug!(%sid, "websocket pongs left unread; dropping the client");
                            // As ws's terminate(): nothing more is written.
                            self.out = Vec::new();
                            self.written = 0;
                            return Some(ReadEnd {
                                reason: DisconnectReason::TransportError,
                                close: None,
                            });
                        }
                        ws::encode_frame(&mut self.out, OpCode::Pong, &payload);
                        self.pending_pongs += 1;
                        continue;
                    }
                    WsMessage::Pong(_) => continue,
                    WsMessage::Close(code) => {
                        return Some(ReadEnd {
                            reason: DisconnectReason::TransportClose,
                            close: Some(code.unwrap_or(1000)),
                        })
                    }
                };
                let id = self.id;
                let step = self.handle.input(|inner, now| {
                    // This task runs: the input must not wake it again, and
                    // it runs the handlers for what the input queues.
                    inner.ws_wakers.remove(id);
                    inner.defer_handlers = true;
                    feed(inner, id, now, packet)
                });
                self.handle.run_handlers_here(cx);
                match step {
                    Step::Continue => {}
                    Step::Reply(p) => ws::encode_packet(&mut self.out, &p),
                    Step::Stop => {
                        return Some(ReadEnd {
                            reason: DisconnectReason::TransportClose,
                            close: Some(1000),
                        })
                    }
                }
            }
            release_if_drained(&mut self.input);
            match poll_read_into(&mut self.io, cx, &mut self.input) {
                Poll::Pending => return None,
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => {
                    return Some(ReadEnd {
                        reason: DisconnectReason::TransportClose,
                        close: None,
                    })
                }
                Poll::Ready(Ok(_)) => {}
            }
        }
    }

    /// Writes `out` as far as the socket takes it now; true once all of it
    /// is written (then no pong is pending). Only called when pongs pile
    /// up: the read loop runs before the write side, so a burst of pings
    /// in one read must not count as a client that does not read.
    fn write_out_now(&mut self, cx: &mut Context<'_>) -> bool {
        while self.written < self.out.len() {
            match Pin::new(&mut self.io).poll_write(cx, &self.out[self.written..]) {
                Poll::Ready(Ok(n)) if n > 0 => {
                    self.written += n;
                    self.unflushed = true;
                }
                // Blocked (a client that does not read) or broken: the
                // pongs will not go now.
                _ => return false,
            }
        }
        self.out.clear();
        self.written = 0;
        self.pending_pongs = 0;
        true
    }

    /// Writes pending frames, refilling from the core, until the socket
    /// would block or nothing is left; ready once the socket is done.
    fn poll_write_side(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            while self.written < self.out.len() {
                match Pin::new(&mut self.io).poll_write(cx, &self.out[self.written..]) {
                    Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => return Poll::Ready(()),
                    Poll::Ready(Ok(n)) => {
                        self.written += n;
                        self.unflushed = true;
                    }
                    Poll::Pending => {
                        if let State::Open = self.state {
                            // Blocked on a client that does not read: the
                            // session may still end meanwhile.
                            if self.session_over(cx) {
                                self.start_closing(Some(1000), true);
                            }
                        }
                        return Poll::Pending;
                    }
                }
            }
            self.out.clear();
            self.written = 0;
            self.pending_pongs = 0;
            if let State::Closing { close, drain, .. } = &mut self.state {
                if *drain {
                    take_spare(&mut self.out);
                    let (id, out) = (self.id, &mut self.out);
                    let more = self.handle.output(|inner, _| {
                        inner.active_ws == Some(id) && !take_packets(inner, out)
                    });
                    *drain = more || !self.out.is_empty();
                    if !self.out.is_empty() {
                        continue;
                    }
                }
                // Pending bytes are out: the close frame, then the end.
                if let Some(code) = close.take() {
                    ws::encode_close(&mut self.out, code);
                    continue;
                }
                return match Pin::new(&mut self.io).poll_flush(cx) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(_) => Poll::Ready(()),
                };
            }
            take_spare(&mut self.out);
            let (id, out) = (self.id, &mut self.out);
            let finished = self.handle.output(|inner, _| {
                let finished = if inner.active_ws == Some(id) {
                    // A closed session still gets everything it queued.
                    take_packets(inner, out) && inner.core.is_closed()
                } else {
                    inner.probe_ws != Some(id)
                };
                if out.is_empty() && !finished {
                    inner.ws_wakers.register(id, cx.waker());
                }
                finished
            });
            if finished {
                // The session is over, or this socket has no further use:
                // what was queued, then a normal close.
                self.start_closing(Some(1000), false);
                continue;
            }
            if self.out.is_empty() {
                put_spare(&mut self.out);
                if self.unflushed {
                    match Pin::new(&mut self.io).poll_flush(cx) {
                        Poll::Ready(Ok(())) => self.unflushed = false,
                        Poll::Ready(Err(_)) => return Poll::Ready(()),
                        Poll::Pending => return Poll::Pending,
                    }
                }
                return Poll::Pending;
            }
        }
    }
}

impl<S> Socket<S> {
    /// Whether this socket has no further use (the session is closed, or
    /// the socket is neither the active transport nor the probe); if not,
    /// the next change of the session wakes it.
    fn session_over(&self, cx: &mut Context<'_>) -> bool {
        let id = self.id;
        self.handle.output(|inner, _| {
            let over = inner.core.is_closed()
                || (inner.active_ws != Some(id) && inner.probe_ws != Some(id));
            if !over {
                inner.ws_wakers.register(id, cx.waker());
            }
            over
        })
    }
}

/// Encodes the packets the core has ready into `out`, up to `OUT_BATCH`
/// bytes; true once the queue is empty.
fn take_packets(inner: &mut Inner, out: &mut Vec<u8>) -> bool {
    while out.len() < OUT_BATCH {
        let Some(p) = inner.core.poll_transmit() else {
            return true;
        };
        ws::encode_packet(out, &p);
    }
    false
}

fn feed(inner: &mut Inner, id: u64, now: Instant, packet: Packet) -> Step {
    if inner.active_ws == Some(id) {
        inner.core.handle_packet(now, packet);
        Step::Continue
    } else if inner.probe_ws == Some(id) {
        match inner.core.handle_probe_packet(now, packet) {
            ProbeOutcome::Reply(p) => Step::Reply(p),
            ProbeOutcome::Upgraded => {
                inner.probe_ws = None;
                inner.active_ws = Some(id);
                Step::Continue
            }
            ProbeOutcome::Aborted => {
                inner.probe_ws = None;
                Step::Stop
            }
        }
    } else {
        Step::Stop
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An idle WebSocket session's largest allocation is its socket's task:
    /// tokio puts the future in a 128-byte-aligned cell with about 100
    /// bytes of header and trailer, so a socket over 280 bytes moves the
    /// task from 384 to 512 bytes (see `spawn_socket`).
    #[test]
    fn an_idle_socket_task_stays_small() {
        let size = std::mem::size_of::<Socket<Io>>();
        eprintln!("socket: {size} bytes");
        assert!(size <= 280, "Socket<Io> is {size} bytes");
    }
}
