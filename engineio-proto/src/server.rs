//! The server side of one Engine.IO session, as a state machine.
//!
//! [`ServerSession`] owns everything the protocol decides for one session:
//! the heartbeat, the outbound queue, what a polling GET drains, overlapping
//! request detection, the polling → WebSocket upgrade and closing in both
//! directions. It does no IO and reads no clock: the driver feeds it inputs
//! and acts on its outputs.
//!
//! # Driving a session
//!
//! Inputs, from the driver:
//! - [`ServerSession::handle_packet`] for each packet received on the active
//!   transport (a polling POST body, decoded by [`ServerSession::handle_post`],
//!   or a WebSocket frame);
//! - [`ServerSession::begin_get`] / [`ServerSession::poll_get`] for polling
//!   GETs; [`ServerSession::begin_post`] / [`ServerSession::handle_post`]
//!   for POSTs;
//! - [`ServerSession::begin_upgrade`] and
//!   [`ServerSession::handle_probe_packet`] for packets on a WebSocket that
//!   is probing an upgrade;
//! - [`ServerSession::handle_timeout`] when the deadline from
//!   [`ServerSession::poll_timeout`] passes;
//! - [`ServerSession::send`] and [`ServerSession::close`] from the
//!   application; [`ServerSession::handle_transport_closed`] when a
//!   WebSocket ends.
//!
//! Outputs, polled after every input, in this order:
//! 1. [`ServerSession::poll_transmit`]: packets to write on the WebSocket
//!    (only while the WebSocket is the active transport);
//! 2. [`ServerSession::poll_event`]: messages for the application, upgrade
//!    results, and finally [`ServerEvent::Closed`];
//! 3. [`ServerSession::poll_timeout`]: when to call `handle_timeout` next.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use engineio_proto::{Packet, ServerConfig, ServerEvent, ServerSession, Sid, TransportKind};
//! use engineio_proto::server::GetOutcome;
//!
//! let now = Instant::now();
//! let config = ServerConfig::default();
//! let sid = Sid::from_random([7; 15]);
//! let mut s = ServerSession::new(now, sid, TransportKind::Polling, &config);
//! // The handshake answer is the first GET's payload.
//! assert!(matches!(s.poll_get(), GetOutcome::Payload(ref p) if matches!(p[0], Packet::Open(_))));
//! s.end_get();
//! s.handle_packet(now, Packet::text("hi"));
//! assert_eq!(s.poll_event(), Some(ServerEvent::Message("hi".into())));
//! // The first ping is due one ping interval after the handshake.
//! assert_eq!(s.poll_timeout(), Some(now + Duration::from_secs(25)));
//! ```

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::config::ServerConfig;
use crate::handshake::{OpenData, Sid, TransportKind};
use crate::packet::{Data, Packet, Text, PROBE};
use crate::timer::{Timer, TimerTable};
use crate::{payload, DecodeError, DisconnectReason};

/// How long a session the client closed with a polling POST keeps the
/// `noop` for a GET that was not pending yet.
///
/// A client may send its GET and its closing POST at the same time (the
/// official test suite does); which of the two the server handles first is
/// then a matter of scheduling. Had the GET come first it would have been
/// ended with `noop`; for the answer not to depend on that order, the first
/// GET within this window gets the same `noop`, and later ones find the
/// session gone. The reference server never sees the other order in
/// practice (one thread, requests in arrival order).
pub const CLOSE_LINGER: Duration = Duration::from_secs(1);

/// How long a polling GET that arrives during an upgrade is held before it
/// is answered: Node's "fast upgrade" check interval, the moment at which
/// engine.io answers such a GET `noop`. The driver holds the GET until the
/// upgrade ends or this passes, then verifies it again. A client that sends
/// `5` on the WebSocket and then a GET (the official suite's "ignores HTTP
/// requests with same sid after upgrade") gets the reference's `400` even
/// when a worker thread takes the GET before another has read the `5`; the
/// reference sees them in arrival order.
pub const UPGRADE_CHECK: Duration = Duration::from_millis(100);

/// What the application learns from a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// A message from the client.
    Message(Data),
    /// The session now runs on WebSocket; the driver retires polling.
    Upgraded,
    /// An upgrade was abandoned (bad packet or timeout): the driver closes
    /// the probing WebSocket; the session stays on polling.
    UpgradeAborted,
    /// The session is over. Always the last event.
    Closed(DisconnectReason),
}

/// Why a request on an existing session was refused. The driver answers it
/// with `400 Bad Request`; whether the session survives is said per variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// A second GET while one is pending; the session is closed.
    #[error("overlapping GET requests")]
    OverlappingGet,
    /// A second POST while one is in progress; the session is closed.
    #[error("overlapping POST requests")]
    OverlappingPost,
    /// The request's transport is not the session's (e.g. a GET after the
    /// upgrade); the session survives.
    #[error("transport mismatch")]
    TransportMismatch,
    /// The POST body is not a valid payload; the session is closed.
    #[error("invalid payload: {0}")]
    BadPayload(DecodeError),
    /// The POST body is over `max_http_buffer_size` (answered 413); the
    /// session is closed, as in engine.io 6.6.13.
    #[error("payload too large")]
    PayloadTooLarge,
    /// An upgrade was requested but is not possible (upgrades disabled,
    /// a session opened on WebSocket, or the session is closing).
    #[error("upgrade not possible")]
    UpgradeRefused,
    /// A WebSocket for a session that is already upgrading or upgraded.
    /// Unlike the other refusals it is not answered with `400`: the driver
    /// completes the WebSocket handshake and closes that new socket at once,
    /// as the reference server does. The session and its first WebSocket
    /// are unaffected.
    #[error("an upgrade is already in progress or done")]
    DuplicateUpgrade,
    /// The session is closed.
    #[error("session closed")]
    Closed,
}

/// Why a POST body could not be read whole ([`ServerSession::fail_post`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PostFailure {
    /// The body grew over `max_http_buffer_size` raw bytes (`413`).
    TooLarge,
    /// The body arrived in more than `max_buffered_chunks` pieces (`413`).
    TooManyChunks,
    /// The body did not arrive within the request timeout (`408`).
    TimedOut,
    /// The connection failed or went away mid-body.
    ConnectionFailed,
    /// The body is `application/octet-stream`, which v4 never sends
    /// (binary travels as `b<base64>`): answered `400`.
    BinaryBody,
}

/// What a polling GET should do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GetOutcome {
    /// Nothing to send yet: keep the request open and ask again after the
    /// next input (the driver waits on a notification).
    Wait,
    /// Answer `200` with these packets as a payload.
    Payload(Vec<Packet>),
}

/// The result of a packet received on a probing WebSocket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// Write this packet (`3probe`) on the probing WebSocket.
    Reply(Packet),
    /// The upgrade completed: the probing WebSocket is now the transport;
    /// drain [`ServerSession::poll_transmit`] onto it.
    Upgraded,
    /// The upgrade failed: close the probing WebSocket.
    Aborted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Upgrade {
    None,
    /// A WebSocket with this sid is open; no probe yet.
    Opened,
    /// `2probe` answered; polling GETs get `noop` until `5` arrives.
    Probed,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    /// Flushing the queue, then the `close` packet, before ending.
    Closing(DisconnectReason),
    Closed(DisconnectReason),
}

/// The server side of one session. See the [module docs](self).
#[derive(Debug)]
pub struct ServerSession {
    sid: Sid,
    transport: TransportKind,
    state: State,
    upgrade: Upgrade,
    /// Packets waiting for the client, in order.
    queue: VecDeque<Packet>,
    events: VecDeque<ServerEvent>,
    timers: TimerTable,
    get_pending: bool,
    post_pending: bool,
    /// What a GET pending when the session ended receives (`close`, or
    /// `noop` when the client itself closed).
    release: Packet,
    /// The client closed with a polling POST while no GET was pending: one
    /// GET may still collect `release`, until [`CLOSE_LINGER`] has passed.
    lingering: bool,
    /// Whether the handshake offered the WebSocket upgrade.
    can_upgrade: bool,
    ping_interval: Duration,
    ping_timeout: Duration,
    upgrade_timeout: Duration,
    close_timeout: Duration,
    max_payload: usize,
    max_queued: usize,
}

impl ServerSession {
    /// Opens a session whose handshake arrived on `transport` at `now`.
    ///
    /// The `open` packet is queued first; for polling it is the answer to the
    /// handshake GET, for WebSocket the first frame. The first ping is due
    /// one `ping_interval` from now.
    pub fn new(now: Instant, sid: Sid, transport: TransportKind, config: &ServerConfig) -> Self {
        let can_upgrade = transport == TransportKind::Polling
            && config.allow_upgrades
            && config.allows(TransportKind::WebSocket);
        let upgrades = if can_upgrade {
            vec![TransportKind::WebSocket.as_str().to_owned()]
        } else {
            Vec::new()
        };
        let open = OpenData {
            sid: sid.as_str().to_owned(),
            upgrades,
            ping_interval_ms: config.advertised_ping_interval_ms(),
            ping_timeout_ms: config.advertised_ping_timeout_ms(),
            max_payload: config.max_http_buffer_size as u64,
        };
        let mut timers = TimerTable::default();
        timers.set(Timer::Ping, now + config.ping_interval);
        let mut queue = VecDeque::with_capacity(4);
        queue.push_back(Packet::Open(open.to_text()));
        ServerSession {
            sid,
            transport,
            state: State::Open,
            upgrade: Upgrade::None,
            queue,
            events: VecDeque::new(),
            timers,
            get_pending: false,
            post_pending: false,
            release: Packet::Close,
            lingering: false,
            can_upgrade,
            ping_interval: config.ping_interval,
            ping_timeout: config.ping_timeout,
            upgrade_timeout: config.upgrade_timeout,
            close_timeout: config.close_timeout,
            max_payload: config.max_http_buffer_size,
            max_queued: config.max_queued_packets,
        }
    }

    /// The session id.
    pub fn sid(&self) -> Sid {
        self.sid
    }

    /// The active transport.
    pub fn transport(&self) -> TransportKind {
        self.transport
    }

    /// Whether the session has ended (after [`ServerEvent::Closed`] is queued).
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed(_))
    }

    /// Whether the session has ended but one polling GET may still collect
    /// its `noop` (see [`CLOSE_LINGER`]). The driver keeps such a session
    /// reachable by its sid for GETs until this turns false, which
    /// [`ServerSession::poll_timeout`] says when.
    pub fn is_lingering(&self) -> bool {
        self.lingering
    }

    /// Whether an upgrade is in progress.
    pub fn is_upgrading(&self) -> bool {
        matches!(self.upgrade, Upgrade::Opened | Upgrade::Probed)
    }

    /// Number of packets waiting to be sent to the client.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Queues a message for the client.
    ///
    /// Fails with [`RequestError::Closed`] once the session is closing or
    /// closed. If the queue exceeds `max_queued_packets` the client is not
    /// reading: the session is closed with
    /// [`DisconnectReason::TransportError`] and the message is refused.
    pub fn send(&mut self, data: Data) -> Result<(), RequestError> {
        self.send_packet(Packet::Message(data))
    }

    /// Queues any packet for the client (see [`ServerSession::send`]).
    pub fn send_packet(&mut self, packet: Packet) -> Result<(), RequestError> {
        if self.state != State::Open {
            return Err(RequestError::Closed);
        }
        if self.queue.len() >= self.max_queued {
            self.finish(DisconnectReason::TransportError, Packet::Close);
            return Err(RequestError::Closed);
        }
        self.queue.push_back(packet);
        Ok(())
    }

    /// Closes the session from the server side (`disconnect()`).
    ///
    /// Everything queued is still delivered, followed by a `close` packet;
    /// then [`ServerEvent::Closed`] with
    /// [`DisconnectReason::ServerDisconnect`]. On polling, if no GET comes to
    /// collect it within `close_timeout`, the session ends anyway.
    ///
    /// On a session that has already ended it only stops the linger (see
    /// [`CLOSE_LINGER`]): the server wants it gone.
    pub fn close(&mut self, now: Instant) {
        if self.is_closed() {
            self.end_linger();
        }
        if self.state != State::Open {
            return;
        }
        self.state = State::Closing(DisconnectReason::ServerDisconnect);
        self.queue.push_back(Packet::Close);
        self.timers.stop_all();
        self.timers.set(Timer::Close, now + self.close_timeout);
        if self.is_upgrading() {
            self.abort_upgrade();
        }
    }

    /// A packet from the client on the active transport.
    pub fn handle_packet(&mut self, now: Instant, packet: Packet) {
        if self.state != State::Open {
            return;
        }
        match packet {
            Packet::Message(data) => self.events.push_back(ServerEvent::Message(data)),
            Packet::Pong(_) => {
                if self.timers.get(Timer::Heartbeat).is_some() {
                    self.timers.stop(Timer::Heartbeat);
                    self.timers.set(Timer::Ping, now + self.ping_interval);
                }
            }
            Packet::Close => {
                // A pending GET is released with a noop (reference behaviour).
                self.finish(DisconnectReason::ClientDisconnect, Packet::Noop);
                if self.transport == TransportKind::Polling && !self.get_pending {
                    // So is a GET sent together with this close but handled
                    // after it.
                    self.lingering = true;
                    self.timers.set(Timer::Close, now + CLOSE_LINGER);
                }
            }
            // v4 clients never ping: the reference server closes the session
            // ("invalid heartbeat direction").
            Packet::Ping(_) => self.finish(DisconnectReason::TransportError, Packet::Close),
            // Harmless on the active transport.
            Packet::Noop | Packet::Upgrade => {}
            Packet::Open(_) => self.finish(DisconnectReason::TransportError, Packet::Close),
        }
    }

    /// A polling GET arrives. Fails if the session is not on polling (the
    /// session survives) or another GET is pending (the session is closed,
    /// and the pending GET receives a `close` packet). On a session that has
    /// ended it fails, except for the one GET a lingering session still
    /// answers (see [`CLOSE_LINGER`]).
    pub fn begin_get(&mut self) -> Result<(), RequestError> {
        if self.lingering && !self.get_pending {
            self.get_pending = true;
            return Ok(());
        }
        self.check_polling()?;
        if self.get_pending {
            self.finish(DisconnectReason::TransportError, Packet::Close);
            return Err(RequestError::OverlappingGet);
        }
        self.get_pending = true;
        Ok(())
    }

    /// What the pending GET should answer now. Call after `begin_get` and
    /// again after every input until it returns a payload, then call
    /// [`ServerSession::end_get`].
    ///
    /// The payload holds the queued packets, up to `max_http_buffer_size`
    /// bytes (at least one packet). During an upgrade, once the probe has
    /// been answered, a GET receives `noop` and queued packets wait for the
    /// WebSocket.
    pub fn poll_get(&mut self) -> GetOutcome {
        if self.is_closed() {
            self.end_linger();
            return GetOutcome::Payload(vec![self.release.clone()]);
        }
        if self.transport != TransportKind::Polling || self.upgrade == Upgrade::Probed {
            return GetOutcome::Payload(vec![Packet::Noop]);
        }
        if self.queue.is_empty() {
            return GetOutcome::Wait;
        }
        let mut budget = self.max_payload;
        let mut out = Vec::new();
        while let Some(p) = self.queue.front() {
            let len = payload::encoded_len(p) + usize::from(!out.is_empty());
            if !out.is_empty() && len > budget {
                break;
            }
            budget = budget.saturating_sub(len);
            out.extend(self.queue.pop_front());
        }
        if let State::Closing(reason) = self.state {
            if self.queue.is_empty() {
                self.finish(reason, Packet::Close);
            }
        }
        GetOutcome::Payload(out)
    }

    /// The pending GET has been answered (or its connection dropped).
    pub fn end_get(&mut self) {
        self.get_pending = false;
    }

    /// A polling POST arrives (before its body is read). Fails if the
    /// session is not on polling, or another POST is in progress (then the
    /// session is closed).
    pub fn begin_post(&mut self) -> Result<(), RequestError> {
        self.check_polling()?;
        if self.post_pending {
            self.finish(DisconnectReason::TransportError, Packet::Close);
            return Err(RequestError::OverlappingPost);
        }
        self.post_pending = true;
        Ok(())
    }

    /// The POST body has been read: decodes it and handles every packet.
    ///
    /// A body over `max_http_buffer_size` raw bytes, or a malformed one, is
    /// refused whole and closes the session (engine.io 6.6.13: a `413` ends
    /// the session too).
    pub fn handle_post(&mut self, now: Instant, body: Bytes) -> Result<(), RequestError> {
        self.post_pending = false;
        if self.state != State::Open {
            return Err(RequestError::Closed);
        }
        match payload::decode(body, self.max_payload) {
            Ok(packets) => {
                for p in packets {
                    self.handle_packet(now, p);
                }
                Ok(())
            }
            Err(DecodeError::TooLong { .. }) => {
                self.finish(DisconnectReason::TransportError, Packet::Close);
                Err(RequestError::PayloadTooLarge)
            }
            Err(e) => {
                self.finish(DisconnectReason::TransportError, Packet::Close);
                Err(RequestError::BadPayload(e))
            }
        }
    }

    /// The POST body could not be read whole: the session ends, as in
    /// engine.io 6.6.13 (`onError` on every one of these). The driver
    /// answers `413` for [`PostFailure::TooLarge`] and
    /// [`PostFailure::TooManyChunks`], `408` for [`PostFailure::TimedOut`]
    /// (and closes the connection), `400` for [`PostFailure::BinaryBody`].
    pub fn fail_post(&mut self, why: PostFailure) {
        self.post_pending = false;
        match why {
            // Every one of them ends the session; none is worth a retry.
            PostFailure::TooLarge
            | PostFailure::TooManyChunks
            | PostFailure::TimedOut
            | PostFailure::ConnectionFailed
            | PostFailure::BinaryBody => {
                self.finish(DisconnectReason::TransportError, Packet::Close)
            }
        }
    }

    /// A POST that carried no payload and is ignored: a JSONP form without
    /// its `d` field, which Node answers `ok` and otherwise ignores. The
    /// session goes on.
    pub fn ignore_post(&mut self) {
        self.post_pending = false;
    }

    fn check_polling(&self) -> Result<(), RequestError> {
        if matches!(self.state, State::Closed(_)) {
            return Err(RequestError::Closed);
        }
        if self.transport != TransportKind::Polling {
            return Err(RequestError::TransportMismatch);
        }
        Ok(())
    }

    /// A WebSocket with this session's sid has opened (an upgrade attempt).
    /// Fails if upgrades are not possible now; the driver then refuses that
    /// WebSocket and the session is unaffected. A session that is already
    /// upgrading or upgraded fails with [`RequestError::DuplicateUpgrade`]
    /// (the driver accepts that socket and closes it at once).
    pub fn begin_upgrade(&mut self, now: Instant) -> Result<(), RequestError> {
        if self.state != State::Open {
            return Err(RequestError::UpgradeRefused);
        }
        if self.upgrade != Upgrade::None {
            return Err(RequestError::DuplicateUpgrade);
        }
        if !self.can_upgrade {
            return Err(RequestError::UpgradeRefused);
        }
        self.upgrade = Upgrade::Opened;
        self.timers.set(Timer::Upgrade, now + self.upgrade_timeout);
        Ok(())
    }

    /// A packet on the probing WebSocket.
    ///
    /// `2probe` is answered with `3probe` (and from then on polling GETs get
    /// `noop`); `5` completes the upgrade; anything else aborts it.
    pub fn handle_probe_packet(&mut self, now: Instant, packet: Packet) -> ProbeOutcome {
        let _ = now;
        match (self.upgrade, &packet) {
            (Upgrade::Opened, p) if p.is_ping_probe() => {
                self.upgrade = Upgrade::Probed;
                ProbeOutcome::Reply(Packet::Pong(Text::from_static(PROBE)))
            }
            (Upgrade::Probed, Packet::Upgrade) if self.state == State::Open => {
                self.upgrade = Upgrade::Done;
                self.transport = TransportKind::WebSocket;
                self.timers.stop(Timer::Upgrade);
                self.events.push_back(ServerEvent::Upgraded);
                ProbeOutcome::Upgraded
            }
            _ => {
                self.abort_upgrade();
                ProbeOutcome::Aborted
            }
        }
    }

    /// The probing WebSocket closed before the upgrade completed.
    pub fn handle_probe_closed(&mut self) {
        if self.is_upgrading() {
            self.upgrade = Upgrade::None;
            self.timers.stop(Timer::Upgrade);
        }
    }

    fn end_linger(&mut self) {
        if self.lingering {
            self.lingering = false;
            self.timers.stop(Timer::Close);
        }
    }

    fn abort_upgrade(&mut self) {
        self.upgrade = Upgrade::None;
        self.timers.stop(Timer::Upgrade);
        self.events.push_back(ServerEvent::UpgradeAborted);
    }

    /// The active WebSocket ended (closed by the peer or failed).
    pub fn handle_transport_closed(&mut self, reason: DisconnectReason) {
        if !matches!(self.state, State::Closed(_)) {
            let reason = match self.state {
                State::Closing(r) => r,
                _ => reason,
            };
            self.finish(reason, Packet::Close);
        }
    }

    /// Call when the deadline from [`ServerSession::poll_timeout`] has
    /// passed.
    ///
    /// Deadlines chain from when they were *due*, not from `now`: a driver
    /// that runs late (a busy runtime) does not stretch the heartbeat, and
    /// one call at any later time applies everything that became due,
    /// e.g. the ping and then its timeout.
    pub fn handle_timeout(&mut self, now: Instant) {
        loop {
            let ping_due = self.timers.get(Timer::Ping);
            let expired: Vec<Timer> = self.timers.expired(now).collect();
            if expired.is_empty() {
                break;
            }
            for t in expired {
                self.handle_expired(t, ping_due.unwrap_or(now));
            }
        }
    }

    fn handle_expired(&mut self, t: Timer, ping_due: Instant) {
        match t {
            Timer::Ping => {
                if self.state == State::Open {
                    self.queue.push_back(Packet::ping());
                    self.timers
                        .set(Timer::Heartbeat, ping_due + self.ping_timeout);
                }
            }
            Timer::Heartbeat => self.finish(DisconnectReason::PingTimeout, Packet::Close),
            Timer::Upgrade => {
                if self.is_upgrading() {
                    self.abort_upgrade();
                }
            }
            Timer::Close => match self.state {
                State::Closing(reason) => self.finish(reason, Packet::Close),
                State::Closed(_) => self.lingering = false,
                State::Open => {}
            },
        }
    }

    /// The next packet to write on the active WebSocket. Returns nothing
    /// while the session is on polling (GETs drain the queue instead).
    pub fn poll_transmit(&mut self) -> Option<Packet> {
        if self.transport != TransportKind::WebSocket {
            return None;
        }
        let p = self.queue.pop_front()?;
        if let State::Closing(reason) = self.state {
            if self.queue.is_empty() {
                self.finish(reason, Packet::Close);
            }
        }
        Some(p)
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    /// When [`ServerSession::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// Ends the session: every later input is ignored. `release` is what a
    /// GET pending at this moment receives.
    fn finish(&mut self, reason: DisconnectReason, release: Packet) {
        if matches!(self.state, State::Closed(_)) {
            return;
        }
        if self.is_upgrading() {
            self.abort_upgrade();
        }
        self.state = State::Closed(reason);
        self.timers.stop_all();
        self.release = release;
        self.queue.clear();
        self.events.push_back(ServerEvent::Closed(reason));
    }
}
