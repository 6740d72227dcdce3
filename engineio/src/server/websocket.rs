//! The WebSocket transport: the hyper upgrade, then one task per socket
//! that reads frames into the core and writes the core's packets out.
//!
//! A socket is either the session's active transport (`active_ws`) or a
//! probe for a polling → WebSocket upgrade (`probe_ws`), identified by a
//! per-socket id in the session state. The reader and the writer run as
//! two futures of the same task: the reader feeds packets to the core and
//! hands control frames (pong, probe answer, close) to the writer over a
//! channel; the writer drains the core's queue while the socket is active
//! and closes the socket once the session is closed or the socket retired.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use engineio_proto::server::ProbeOutcome;
use engineio_proto::{DecodeError, DisconnectReason, Packet};
use fastwebsockets::upgrade::UpgradeFut;
use fastwebsockets::{
    Frame, OpCode, Payload, WebSocket, WebSocketError, WebSocketRead, WebSocketWrite,
};
use http::request::Parts;
use http::{HeaderMap, Request, Response};
use http_body_util::Full;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;

use super::request::{upgrade_error, EioError};
use super::session::{Inner, SessionHandle};
use super::Shared;

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
    spawn_socket(shared.clone(), handle, fut, id);
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
        return upgrade_error(EioError::BadRequest.message());
    };
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let allowed = shared.options.allow_upgrades;
    let begun = handle.input(|inner, now| {
        let r = inner.core.begin_upgrade(now, allowed);
        if r.is_ok() {
            inner.probe_ws = Some(id);
        }
        r
    });
    if let Err(e) = begun {
        tracing::debug!(sid = %handle.sid, error = %e, "upgrade refused");
        return upgrade_error(EioError::BadRequest.message());
    }
    spawn_socket(shared.clone(), handle, fut, id);
    resp
}

fn spawn_socket(shared: Arc<Shared>, handle: Arc<SessionHandle>, fut: UpgradeFut, id: u64) {
    tokio::spawn(async move {
        match fut.await {
            Ok(ws) => run(shared, handle.clone(), ws, id).await,
            Err(e) => tracing::debug!(sid = %handle.sid, error = %e, "websocket upgrade failed"),
        }
        // Whatever ended the socket, the session must not keep counting on it.
        handle.input(|inner, _| detach(inner, id, DisconnectReason::TransportClose));
    });
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

/// Frames the reader hands to the writer.
enum Ctrl {
    /// A packet outside the session queue (the `3probe` answer).
    Packet(Packet),
    /// Answer to a WebSocket ping.
    Pong(Vec<u8>),
    /// Close the socket, sending a close frame with this code if any.
    Close(Option<u16>),
}

enum Step {
    Continue,
    Reply(Packet),
    Stop,
}

enum WriterState {
    Open,
    /// The session is over, or this socket is no longer used.
    Finished,
}

async fn run<S>(shared: Arc<Shared>, handle: Arc<SessionHandle>, ws: WebSocket<S>, id: u64)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let max = shared.options.max_http_buffer_size;
    let (mut rd, mut wr) = ws.split(tokio::io::split);
    rd.set_auto_close(false);
    rd.set_auto_pong(false);
    // fastwebsockets refuses frames of `max_message_size` bytes or more.
    rd.set_max_message_size(max.saturating_add(1));
    let (ctrl_tx, ctrl_rx) = mpsc::unbounded_channel();
    let limits = (max, shared.options.max_queued_packets);
    let reader = read_loop(&handle, &mut rd, id, limits, ctrl_tx);
    let writer = write_loop(&handle, &mut wr, id, ctrl_rx);
    tokio::pin!(reader, writer);
    tokio::select! {
        () = &mut writer => {}
        () = &mut reader => {
            let _ = tokio::time::timeout(CLOSE_GRACE, &mut writer).await;
        }
        // A client that never reads leaves the writer blocked on a full
        // socket: once the session is over (e.g. closed for exceeding
        // `max_queued_packets`), the writer gets the grace period and the
        // socket is dropped, so such a client cannot pin the task forever.
        () = retired(&handle, id) => {
            let _ = tokio::time::timeout(CLOSE_GRACE, &mut writer).await;
        }
    }
}

/// Resolves once socket `id` has no further use: the session is closed, or
/// the socket is neither the active transport nor the probe.
async fn retired(handle: &SessionHandle, id: u64) {
    loop {
        let notified = handle.changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let done = handle.output(|inner, _| {
            inner.core.is_closed() || (inner.active_ws != Some(id) && inner.probe_ws != Some(id))
        });
        if done {
            return;
        }
        notified.await;
    }
}

async fn read_loop<R>(
    handle: &SessionHandle,
    rd: &mut WebSocketRead<R>,
    id: u64,
    (max, backlog_limit): (usize, usize),
    ctrl: mpsc::UnboundedSender<Ctrl>,
) where
    R: AsyncRead + Unpin,
{
    let sid = handle.sid;
    let mut partial: Option<(OpCode, Vec<u8>)> = None;
    let (reason, close) = loop {
        let frame = match rd
            .read_frame(&mut |_| std::future::ready(Ok::<(), Infallible>(())))
            .await
        {
            Ok(f) => f,
            Err(WebSocketError::FrameTooLarge) => {
                tracing::debug!(%sid, max, "websocket message over max_http_buffer_size");
                break (DisconnectReason::TransportError, Some(1009));
            }
            Err(
                WebSocketError::UnexpectedEOF
                | WebSocketError::IoError(_)
                | WebSocketError::ConnectionClosed,
            ) => {
                break (DisconnectReason::TransportClose, None);
            }
            Err(WebSocketError::InvalidUTF8) => {
                tracing::debug!(%sid, "websocket text frame is not UTF-8");
                break (DisconnectReason::TransportError, Some(1007));
            }
            Err(e) => {
                tracing::debug!(%sid, error = %e, "websocket protocol error");
                break (DisconnectReason::TransportError, Some(1002));
            }
        };
        let (opcode, bytes) = match frame.opcode {
            OpCode::Close => {
                let code = match &*frame.payload {
                    [a, b, ..] => u16::from_be_bytes([*a, *b]),
                    _ => 1000,
                };
                let code = if fastwebsockets::CloseCode::from(code).is_allowed() {
                    code
                } else {
                    1002
                };
                break (DisconnectReason::TransportClose, Some(code));
            }
            OpCode::Ping => {
                let _ = ctrl.send(Ctrl::Pong(frame.payload.to_vec()));
                continue;
            }
            OpCode::Pong => continue,
            OpCode::Text | OpCode::Binary => {
                if partial.is_some() {
                    break (DisconnectReason::TransportError, Some(1002));
                }
                if !frame.fin {
                    partial = Some((frame.opcode, frame.payload.to_vec()));
                    continue;
                }
                (frame.opcode, payload_bytes(frame.payload))
            }
            OpCode::Continuation => {
                let Some((op, mut buf)) = partial.take() else {
                    break (DisconnectReason::TransportError, Some(1002));
                };
                buf.extend_from_slice(&frame.payload);
                if buf.len() > max {
                    break (DisconnectReason::TransportError, Some(1009));
                }
                if !frame.fin {
                    partial = Some((op, buf));
                    continue;
                }
                (op, Bytes::from(buf))
            }
        };
        let packet = if opcode == OpCode::Text {
            match Packet::decode_text(bytes) {
                Ok(p) => p,
                // RFC 6455 §8.1: a text message that is not UTF-8 fails
                // the connection with 1007.
                Err(DecodeError::InvalidUtf8) => {
                    tracing::debug!(%sid, "websocket text message is not UTF-8");
                    break (DisconnectReason::TransportError, Some(1007));
                }
                Err(e) => {
                    tracing::debug!(%sid, error = %e, "invalid packet on websocket");
                    break (DisconnectReason::TransportError, Some(1002));
                }
            }
        } else {
            Packet::decode_binary_frame(bytes)
        };
        match handle.input(|inner, now| feed(inner, id, now, packet)) {
            Step::Continue => handle.wait_backlog(backlog_limit).await,
            Step::Reply(p) => {
                let _ = ctrl.send(Ctrl::Packet(p));
            }
            Step::Stop => break (DisconnectReason::TransportClose, Some(1000)),
        }
    };
    handle.input(|inner, _| detach(inner, id, reason));
    let _ = ctrl.send(Ctrl::Close(close));
}

fn payload_bytes(p: Payload<'_>) -> Bytes {
    match p {
        Payload::Bytes(b) => b.freeze(),
        other => Bytes::from(Vec::from(other)),
    }
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

async fn write_loop<W>(
    handle: &SessionHandle,
    wr: &mut WebSocketWrite<W>,
    id: u64,
    mut ctrl: mpsc::UnboundedReceiver<Ctrl>,
) where
    W: AsyncWrite + Unpin,
{
    loop {
        let notified = handle.changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        while let Ok(c) = ctrl.try_recv() {
            if !apply(wr, c).await {
                return;
            }
        }
        let (packets, state) = handle.output(|inner, _| {
            if inner.active_ws == Some(id) {
                let mut out = Vec::new();
                while let Some(p) = inner.core.poll_transmit() {
                    out.push(p);
                }
                let state = if inner.core.is_closed() {
                    WriterState::Finished
                } else {
                    WriterState::Open
                };
                (out, state)
            } else if inner.probe_ws == Some(id) {
                (Vec::new(), WriterState::Open)
            } else {
                (Vec::new(), WriterState::Finished)
            }
        });
        for p in &packets {
            if write_packet(wr, p).await.is_err() {
                return;
            }
        }
        if let WriterState::Finished = state {
            let _ = wr.write_frame(Frame::close(1000, b"")).await;
            let _ = wr.flush().await;
            return;
        }
        if !packets.is_empty() && wr.flush().await.is_err() {
            return;
        }
        tokio::select! {
            () = &mut notified => {}
            c = ctrl.recv() => match c {
                Some(c) => {
                    if !apply(wr, c).await {
                        return;
                    }
                }
                None => return,
            },
        }
    }
}

/// Writes a control frame; false once the socket is to be closed.
async fn apply<W: AsyncWrite + Unpin>(wr: &mut WebSocketWrite<W>, c: Ctrl) -> bool {
    let r = match c {
        Ctrl::Packet(p) => write_packet(wr, &p).await,
        Ctrl::Pong(v) => wr.write_frame(Frame::pong(Payload::Owned(v))).await,
        Ctrl::Close(code) => {
            if let Some(code) = code {
                let _ = wr.write_frame(Frame::close(code, b"")).await;
            }
            let _ = wr.flush().await;
            return false;
        }
    };
    r.is_ok() && wr.flush().await.is_ok()
}

async fn write_packet<W: AsyncWrite + Unpin>(
    wr: &mut WebSocketWrite<W>,
    p: &Packet,
) -> Result<(), WebSocketError> {
    let (binary, bytes) = p.to_ws_frame();
    let payload = Payload::Borrowed(&bytes);
    let frame = if binary {
        Frame::binary(payload)
    } else {
        Frame::text(payload)
    };
    wr.write_frame(frame).await
}
