//! The client side of one Engine.IO session, as a state machine.
//!
//! [`ClientSession`] parses the handshake, answers pings, detects a silent
//! server (no ping within `pingInterval + pingTimeout`), runs the upgrade
//! probe, batches polling payloads within the server's `maxPayload`, and
//! closes. Like the server side it does no IO and reads no clock.
//!
//! # Driving a session
//!
//! Inputs: [`ClientSession::handle_packet`] for every packet received (the
//! packets of a polling GET payload, or WebSocket frames);
//! [`ClientSession::handle_timeout`]; [`ClientSession::send`] and
//! [`ClientSession::close`] from the application;
//! [`ClientSession::handle_transport_error`] when a request or socket fails;
//! the upgrade calls [`ClientSession::begin_upgrade`],
//! [`ClientSession::handle_probe_packet`] and
//! [`ClientSession::complete_upgrade`].
//!
//! Outputs, polled after every input: [`ClientSession::poll_transmit`]
//! (WebSocket) or [`ClientSession::poll_payload`] (polling POST bodies);
//! [`ClientSession::poll_event`] ([`ClientSessionEvent`]s, for the driver);
//! [`ClientSession::poll_timeout`].
//!
//! The session's events are the driver's input, not the application's: the
//! `engineio` crate turns them into its own `engineio::ClientEvent`, the one
//! event type its users see (`UpgradeFailed`, for one, only tells the
//! driver to drop the probing WebSocket).
//!
//! # The upgrade, step by step
//! 1. connected on polling, [`ClientSession::wants_upgrade`] is true: the
//!    driver opens a WebSocket with the sid and sends
//!    [`ClientSession::begin_upgrade`]'s packet (`2probe`);
//! 2. the WebSocket's first packet goes to
//!    [`ClientSession::handle_probe_packet`]: `3probe` pauses polling
//!    (`poll_payload` returns nothing), anything else aborts;
//! 3. once its in-flight GET and POST have finished, the driver calls
//!    [`ClientSession::complete_upgrade`] and sends the returned `5`; from
//!    then on everything queued goes out by `poll_transmit`.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use engineio_proto::{ClientConfig, ClientSession, ClientSessionEvent, Packet, TransportKind};
//!
//! let now = Instant::now();
//! let mut c = ClientSession::new(TransportKind::Polling, ClientConfig::default());
//! let open = r#"{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
//! c.handle_packet(now, Packet::Open(open.into()));
//! assert!(matches!(c.poll_event(), Some(ClientSessionEvent::Connected(_))));
//! assert_eq!(c.sid().unwrap(), "lv_VI97HAXpY6yYWAAAC");
//! c.handle_packet(now, Packet::ping());
//! assert_eq!(c.poll_payload(), Some(vec![Packet::pong()]));
//! assert_eq!(c.poll_timeout(), Some(now + Duration::from_secs(45)));
//! ```

use std::time::{Duration, Instant};

use crate::config::ClientConfig;
use crate::fifo::Fifo;
use crate::handshake::{ClientSid, OpenData, TransportKind};
use crate::packet::{Data, Packet, PacketType, Text, PROBE};
use crate::timer::{Timer, TimerTable};
use crate::{payload, DisconnectReason};

/// The output of a [`ClientSession`] for its driver, from
/// [`ClientSession::poll_event`].
///
/// A driver acts on some (closing a failed probe) and passes the others on
/// to the application in its own event type; the `engineio` crate's is
/// `engineio::ClientEvent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientSessionEvent {
    /// The handshake completed; [`ClientSession::sid`] and
    /// [`ClientSession::open_data`] are set from now on.
    Connected(OpenData),
    /// A message from the server.
    Message(Data),
    /// The session now runs on WebSocket.
    Upgraded,
    /// The upgrade failed; the session stays on polling. The driver closes
    /// the probing WebSocket.
    UpgradeFailed,
    /// The session is over. Always the last event.
    Closed(DisconnectReason),
}

/// Why a client operation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientSessionError {
    /// The session is not connected (handshake not done, or closed).
    #[error("not connected")]
    NotConnected,
}

/// Largest `pingInterval` and `pingTimeout`, in milliseconds, a client
/// accepts in the `open` packet: 2³¹ − 1, the longest delay a JavaScript
/// timer can wait (longer ones fire at once), so no engine.io server can use
/// more. A larger value is a broken or hostile server: the handshake fails.
pub const MAX_HEARTBEAT_MS: u64 = i32::MAX as u64;

/// The ping interval assumed when the server advertises `pingInterval: 0`.
/// python-engineio rounds the interval down to whole seconds, so it sends
/// `0` for any interval under a second while its pings keep coming; taken
/// literally, `0` would make the client time out before the first ping.
pub const ZERO_PING_INTERVAL: Duration = Duration::from_secs(1);

/// The result of a packet received on the probing WebSocket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientProbe {
    /// `3probe` arrived: polling is paused; call
    /// [`ClientSession::complete_upgrade`] once no polling request is in
    /// flight.
    Pause,
    /// The probe failed; close the probing WebSocket.
    Aborted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Handshaking,
    Open,
    /// `close` is queued; the session ends once it is sent.
    Closing,
    Closed(DisconnectReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Upgrade {
    NotTried,
    Probing,
    Paused,
    Finished,
}

/// The client side of one session. See the [module docs](self).
#[derive(Debug)]
pub struct ClientSession {
    config: ClientConfig,
    state: State,
    transport: TransportKind,
    upgrade: Upgrade,
    open: Option<OpenData>,
    sid: Option<ClientSid>,
    /// Packets to send (a [`Fifo`]: no buffer while it holds one at most).
    queue: Fifo<Packet>,
    /// Whether a pong waits in `queue`: one pong answers every ping that
    /// arrived before it leaves, so a ping flood cannot grow the queue.
    pong_queued: bool,
    events: Fifo<ClientSessionEvent>,
    timers: TimerTable,
}

impl ClientSession {
    /// A session whose handshake request goes out on `transport`.
    pub fn new(transport: TransportKind, config: ClientConfig) -> Self {
        ClientSession {
            config,
            state: State::Handshaking,
            transport,
            upgrade: Upgrade::NotTried,
            open: None,
            sid: None,
            queue: Fifo::new(),
            pong_queued: false,
            events: Fifo::new(),
            timers: TimerTable::default(),
        }
    }

    /// The active transport.
    pub fn transport(&self) -> TransportKind {
        self.transport
    }

    /// The handshake data, once connected.
    pub fn open_data(&self) -> Option<&OpenData> {
        self.open.as_ref()
    }

    /// The session id, once connected: whatever text the server chose (see
    /// [`ClientSid`]).
    pub fn sid(&self) -> Option<&ClientSid> {
        self.sid.as_ref()
    }

    /// Parses and checks the `open` packet's JSON the way
    /// [`handle_packet`](Self::handle_packet) does; the error says what is
    /// wrong with it (for the driver's error message). Refused: text that is
    /// not the JSON object of the protocol (a missing field, a negative or
    /// fractional number, …), and a `pingInterval` or `pingTimeout` above
    /// [`MAX_HEARTBEAT_MS`].
    ///
    /// ```
    /// use engineio_proto::ClientSession;
    /// let ok = r#"{"sid":"a","upgrades":[],"pingInterval":0,"pingTimeout":20000,"maxPayload":1000000}"#;
    /// assert!(ClientSession::parse_open(ok).is_ok());
    /// let huge = r#"{"sid":"a","upgrades":[],"pingInterval":9007199254740992,"pingTimeout":1,"maxPayload":1}"#;
    /// assert!(ClientSession::parse_open(huge).is_err());
    /// assert!(ClientSession::parse_open(r#"{"sid":"a","pingInterval":-1}"#).is_err());
    /// ```
    pub fn parse_open(text: &str) -> Result<OpenData, String> {
        let open: OpenData = serde_json::from_str(text).map_err(|e| e.to_string())?;
        for (name, v) in [
            ("pingInterval", open.ping_interval_ms),
            ("pingTimeout", open.ping_timeout_ms),
        ] {
            if v > MAX_HEARTBEAT_MS {
                return Err(format!("{name} {v} ms is above {MAX_HEARTBEAT_MS} ms"));
            }
        }
        Ok(open)
    }

    /// How long the session waits for the server's next ping before it ends
    /// with [`DisconnectReason::PingTimeout`]: `pingInterval + pingTimeout`,
    /// with a `pingInterval` of 0 read as [`ZERO_PING_INTERVAL`]. `None`
    /// before the handshake. A driver bounds a long-polling GET with it.
    pub fn heartbeat_timeout(&self) -> Option<Duration> {
        self.open.as_ref().map(heartbeat_window)
    }

    /// Whether the handshake is done and the session not closing or closed.
    pub fn is_connected(&self) -> bool {
        self.state == State::Open
    }

    /// Whether packets wait to be handed to a transport (by
    /// [`poll_transmit`](Self::poll_transmit) or
    /// [`poll_payload`](Self::poll_payload)).
    pub fn has_queued(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed(_))
    }

    /// Whether the driver should start the upgrade now: connected on
    /// polling, the server offers `websocket`, upgrades are enabled and not
    /// yet tried.
    pub fn wants_upgrade(&self) -> bool {
        self.state == State::Open
            && self.config.upgrade
            && self.transport == TransportKind::Polling
            && self.upgrade == Upgrade::NotTried
            && self
                .open
                .as_ref()
                .is_some_and(|o| o.upgrades.iter().any(|u| u == "websocket"))
    }

    /// Whether polling is paused for an upgrade (no payload will be
    /// produced; the driver should let in-flight requests finish).
    pub fn is_polling_paused(&self) -> bool {
        self.upgrade == Upgrade::Paused
    }

    /// Queues a message for the server.
    pub fn send(&mut self, data: Data) -> Result<(), ClientSessionError> {
        if self.state != State::Open {
            return Err(ClientSessionError::NotConnected);
        }
        self.queue.push_back(Packet::Message(data));
        Ok(())
    }

    /// Closes the session: queued packets are sent, then `close`; the
    /// session ends with [`DisconnectReason::ClientDisconnect`] once `close`
    /// has been handed to the driver. Before the handshake completes it ends
    /// at once.
    pub fn close(&mut self) {
        match self.state {
            State::Open => {
                if matches!(self.upgrade, Upgrade::Probing | Upgrade::Paused) {
                    self.fail_upgrade();
                }
                self.queue.push_back(Packet::Close);
                self.state = State::Closing;
                self.timers.stop_all();
            }
            State::Handshaking => self.finish(DisconnectReason::ClientDisconnect),
            State::Closing | State::Closed(_) => {}
        }
    }

    /// A packet from the server on the active transport.
    pub fn handle_packet(&mut self, now: Instant, packet: Packet) {
        match self.state {
            State::Handshaking => match packet {
                Packet::Open(text) => match Self::parse_open(&text) {
                    Ok(open) => {
                        self.state = State::Open;
                        self.arm_heartbeat(now, &open);
                        self.events
                            .push_back(ClientSessionEvent::Connected(open.clone()));
                        self.sid = Some(ClientSid::from(open.sid.as_str()));
                        self.open = Some(open);
                    }
                    Err(_) => self.finish(DisconnectReason::TransportError),
                },
                _ => self.finish(DisconnectReason::TransportError),
            },
            State::Open | State::Closing => match packet {
                // While closing, the heartbeat is off (`close` stopped the
                // timers): a ping must not re-arm it, or a slow close would
                // end as a ping timeout instead of a client disconnect.
                Packet::Ping(_) => {
                    if self.state == State::Open {
                        if let Some(open) = self.open.clone() {
                            self.arm_heartbeat(now, &open);
                        }
                        if !self.pong_queued {
                            self.pong_queued = true;
                            self.queue.push_back(Packet::pong());
                        }
                    }
                }
                Packet::Message(data) => self.events.push_back(ClientSessionEvent::Message(data)),
                Packet::Close => self.finish(DisconnectReason::ServerDisconnect),
                Packet::Noop | Packet::Pong(_) | Packet::Upgrade | Packet::Open(_) => {}
            },
            State::Closed(_) => {}
        }
    }

    fn arm_heartbeat(&mut self, now: Instant, open: &OpenData) {
        self.timers
            .set(Timer::Heartbeat, now + heartbeat_window(open));
    }

    /// Call while the driver does not read from the transport because the
    /// application has not taken the events already received
    /// (backpressure), and once more when reading resumes. A ping may then
    /// wait unread, so a missing ping proves nothing: the heartbeat deadline
    /// moves to at least `now` + [`heartbeat_timeout`](Self::heartbeat_timeout).
    /// While paused, call it before every [`handle_timeout`](Self::handle_timeout).
    /// (The server, which gets no pong meanwhile, may end the session; the
    /// client learns it once it reads again.)
    pub fn handle_reading_paused(&mut self, now: Instant) {
        if self.state != State::Open {
            return;
        }
        if let (Some(open), Some(at)) = (&self.open, self.timers.get(Timer::Heartbeat)) {
            let later = now + heartbeat_window(open);
            if later > at {
                self.timers.set(Timer::Heartbeat, later);
            }
        }
    }

    /// Starts the upgrade: returns `2probe`, to send on the new WebSocket.
    pub fn begin_upgrade(&mut self, now: Instant) -> Packet {
        self.upgrade = Upgrade::Probing;
        self.timers
            .set(Timer::Upgrade, now + self.config.upgrade_timeout);
        Packet::Ping(Text::from_static(PROBE))
    }

    /// A packet received on the probing WebSocket.
    pub fn handle_probe_packet(&mut self, packet: Packet) -> ClientProbe {
        if self.upgrade == Upgrade::Probing && self.state == State::Open && packet.is_pong_probe() {
            self.upgrade = Upgrade::Paused;
            ClientProbe::Pause
        } else {
            self.fail_upgrade();
            ClientProbe::Aborted
        }
    }

    /// Completes the upgrade once polling is idle: returns `5`, to send on
    /// the WebSocket, which is now the transport. Returns `None` if the
    /// upgrade was abandoned meanwhile.
    pub fn complete_upgrade(&mut self) -> Option<Packet> {
        if self.upgrade != Upgrade::Paused || self.state != State::Open {
            return None;
        }
        self.upgrade = Upgrade::Finished;
        self.transport = TransportKind::WebSocket;
        self.timers.stop(Timer::Upgrade);
        self.events.push_back(ClientSessionEvent::Upgraded);
        Some(Packet::Upgrade)
    }

    /// The probing WebSocket failed or closed before the upgrade completed.
    pub fn abort_upgrade(&mut self) {
        if matches!(self.upgrade, Upgrade::Probing | Upgrade::Paused) {
            self.fail_upgrade();
        }
    }

    fn fail_upgrade(&mut self) {
        self.upgrade = Upgrade::Finished;
        self.timers.stop(Timer::Upgrade);
        self.events.push_back(ClientSessionEvent::UpgradeFailed);
    }

    /// The active transport failed (a request error, a non-200 answer, a
    /// closed WebSocket).
    pub fn handle_transport_error(&mut self, reason: DisconnectReason) {
        match self.state {
            // The close packet was queued but the transport died first:
            // the user asked to leave, so that is the reason.
            State::Closing => self.finish(DisconnectReason::ClientDisconnect),
            State::Closed(_) => {}
            _ => self.finish(reason),
        }
    }

    /// Call when the deadline from [`ClientSession::poll_timeout`] passes.
    pub fn handle_timeout(&mut self, now: Instant) {
        let expired: Vec<Timer> = self.timers.expired(now).collect();
        for t in expired {
            match t {
                Timer::Heartbeat => self.finish(DisconnectReason::PingTimeout),
                Timer::Upgrade => self.abort_upgrade(),
                Timer::Ping | Timer::Close => {}
            }
        }
    }

    /// The next packet to write on the WebSocket (only while the WebSocket
    /// is the transport).
    pub fn poll_transmit(&mut self) -> Option<Packet> {
        if self.transport != TransportKind::WebSocket {
            return None;
        }
        let p = self.queue.pop_front()?;
        if p.packet_type() == PacketType::Pong {
            self.pong_queued = false;
        }
        self.after_transmit(&p);
        Some(p)
    }

    /// The next polling POST body's packets: as many queued packets as fit
    /// the server's `maxPayload` (a single larger packet is still sent
    /// alone). Nothing while on WebSocket or paused for an upgrade.
    pub fn poll_payload(&mut self) -> Option<Vec<Packet>> {
        if self.transport != TransportKind::Polling || self.upgrade == Upgrade::Paused {
            return None;
        }
        let max = self
            .open
            .as_ref()
            .map_or(usize::MAX, |o| o.max_payload as usize);
        let mut used = 0usize;
        let mut out = Vec::new();
        while let Some(p) = self.queue.front() {
            let len = payload::encoded_len(p) + usize::from(!out.is_empty());
            if !out.is_empty() && used + len > max {
                break;
            }
            used += len;
            out.extend(self.queue.pop_front());
        }
        if out.iter().any(|p| p.packet_type() == PacketType::Pong) {
            self.pong_queued = false;
        }
        if out.is_empty() {
            return None;
        }
        if out.last() == Some(&Packet::Close) {
            self.finish(DisconnectReason::ClientDisconnect);
        }
        Some(out)
    }

    fn after_transmit(&mut self, p: &Packet) {
        if *p == Packet::Close {
            self.finish(DisconnectReason::ClientDisconnect);
        }
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<ClientSessionEvent> {
        self.events.pop_front()
    }

    /// When [`ClientSession::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    fn finish(&mut self, reason: DisconnectReason) {
        if matches!(self.state, State::Closed(_)) {
            return;
        }
        if matches!(self.upgrade, Upgrade::Probing | Upgrade::Paused) {
            self.fail_upgrade();
        }
        self.state = State::Closed(reason);
        self.timers.stop_all();
        self.queue.clear();
        self.pong_queued = false;
        self.events.push_back(ClientSessionEvent::Closed(reason));
    }
}

/// `pingInterval + pingTimeout`, a `pingInterval` of 0 read as
/// [`ZERO_PING_INTERVAL`].
fn heartbeat_window(open: &OpenData) -> Duration {
    let interval = match open.ping_interval_ms {
        0 => ZERO_PING_INTERVAL,
        _ => open.ping_interval(),
    };
    interval + open.ping_timeout()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_text(interval: u64, timeout: u64) -> String {
        format!(
            r#"{{"sid":"s","upgrades":[],"pingInterval":{interval},"pingTimeout":{timeout},"maxPayload":1000000}}"#
        )
    }

    fn connected(now: Instant, interval: u64, timeout: u64) -> ClientSession {
        let mut c = ClientSession::new(TransportKind::WebSocket, ClientConfig::default());
        c.handle_packet(now, Packet::Open(open_text(interval, timeout).into()));
        assert!(c.is_connected());
        c
    }

    #[test]
    fn a_ping_flood_queues_one_pong() {
        let now = Instant::now();
        let mut c = connected(now, 25_000, 20_000);
        for _ in 0..1000 {
            c.handle_packet(now, Packet::ping());
        }
        assert_eq!(c.queue.len(), 1);
        assert_eq!(c.poll_transmit(), Some(Packet::pong()));
        // Once it left, the next ping is answered again.
        c.handle_packet(now, Packet::ping());
        assert_eq!(c.poll_transmit(), Some(Packet::pong()));
        assert_eq!(c.poll_transmit(), None);

        let mut c = ClientSession::new(TransportKind::Polling, ClientConfig::default());
        c.handle_packet(now, Packet::Open(open_text(25_000, 20_000).into()));
        c.send(Data::Text("a".into())).unwrap();
        c.handle_packet(now, Packet::ping());
        c.handle_packet(now, Packet::ping());
        assert_eq!(
            c.poll_payload(),
            Some(vec![Packet::text("a"), Packet::pong()])
        );
        c.handle_packet(now, Packet::ping());
        assert_eq!(c.poll_payload(), Some(vec![Packet::pong()]));
    }

    #[test]
    fn open_packets_out_of_range_are_refused() {
        let now = Instant::now();
        for (i, t) in [
            (MAX_HEARTBEAT_MS + 1, 1),
            (1, MAX_HEARTBEAT_MS + 1),
            (1 << 53, 0),
        ] {
            assert!(ClientSession::parse_open(&open_text(i, t)).is_err());
            let mut c = ClientSession::new(TransportKind::Polling, ClientConfig::default());
            c.handle_packet(now, Packet::Open(open_text(i, t).into()));
            assert_eq!(
                c.poll_event(),
                Some(ClientSessionEvent::Closed(DisconnectReason::TransportError))
            );
        }
        for bad in [
            "",
            "{}",
            "not json",
            r#"{"sid":"s","upgrades":[],"pingInterval":-1,"pingTimeout":1,"maxPayload":1}"#,
            r#"{"sid":"s","upgrades":[],"pingInterval":1.5,"pingTimeout":1,"maxPayload":1}"#,
            r#"{"sid":"s","upgrades":[],"pingTimeout":1,"maxPayload":1}"#,
        ] {
            assert!(ClientSession::parse_open(bad).is_err(), "{bad}");
        }
        let c = connected(now, MAX_HEARTBEAT_MS, MAX_HEARTBEAT_MS);
        assert_eq!(
            c.poll_timeout(),
            Some(now + Duration::from_millis(2 * MAX_HEARTBEAT_MS))
        );
    }

    #[test]
    fn a_zero_ping_interval_means_under_a_second() {
        let now = Instant::now();
        let mut c = connected(now, 0, 0);
        assert_eq!(c.heartbeat_timeout(), Some(ZERO_PING_INTERVAL));
        assert_eq!(c.poll_timeout(), Some(now + ZERO_PING_INTERVAL));
        // Pings every 300 ms keep it alive.
        for i in 1..=10 {
            let t = now + Duration::from_millis(300 * i);
            c.handle_timeout(t);
            c.handle_packet(t, Packet::ping());
        }
        assert!(c.is_connected());
        let last = now + Duration::from_millis(3000);
        c.handle_timeout(last + ZERO_PING_INTERVAL);
        assert!(c.is_closed());
        let c = connected(now, 0, 200);
        assert_eq!(c.heartbeat_timeout(), Some(Duration::from_millis(1200)));
    }

    #[test]
    fn reading_paused_postpones_the_heartbeat() {
        let now = Instant::now();
        let mut c = connected(now, 300, 200);
        let window = Duration::from_millis(500);
        // Paused from 400 ms to 2 s: the driver calls it before each
        // timeout while paused, and once on resuming.
        for ms in [400, 1000, 1600, 2000] {
            let t = now + Duration::from_millis(ms);
            c.handle_reading_paused(t);
            c.handle_timeout(t);
            assert!(c.is_connected(), "{ms}");
        }
        let resumed = now + Duration::from_millis(2000);
        assert_eq!(c.poll_timeout(), Some(resumed + window));
        c.handle_timeout(resumed + window);
        assert!(matches!(
            c.poll_event(),
            Some(ClientSessionEvent::Connected(_))
        ));
        assert_eq!(
            c.poll_event(),
            Some(ClientSessionEvent::Closed(DisconnectReason::PingTimeout))
        );
        // Never earlier than a deadline already later.
        let mut c = connected(now, 300, 200);
        c.handle_packet(now + Duration::from_millis(400), Packet::ping());
        c.handle_reading_paused(now);
        assert_eq!(
            c.poll_timeout(),
            Some(now + Duration::from_millis(400) + window)
        );
    }
}
