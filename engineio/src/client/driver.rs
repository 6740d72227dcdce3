//! The connection driver: one task per connection that owns the
//! [`ClientSession`], the transports and one timer.
//!
//! It feeds the session every input (received packets, finished requests,
//! commands from the [`Client`](super::Client) handle, the timer) and, after
//! each, drains its outputs ([`Driver::pump`]): events go to the handler
//! task, packets to a polling POST or the WebSocket writer, the next
//! deadline to the timer (reset only when it changes). At most one polling
//! GET and one POST are in flight; they are futures owned by this task, so
//! dropping the driver cancels them. A WebSocket is one socket future
//! ([`WsConn::poll_socket`]), polled by this task too (the probe's as well
//! during an upgrade); it reports what it reads over a queue.
//!
//! Backpressure: every event the driver emits is charged to the
//! connection's [`Budget`] until the application has it. While the budget is
//! full the driver reads nothing more: no new long poll, no further packets
//! decoded from the body at hand (a body is decoded one packet at a time, so
//! a 64 MiB body of tiny packets never turns into millions of queued events
//! at once), and the WebSocket reader waits too. Commands, timers and
//! writes go on. Since a ping may wait unread meanwhile, the session is told
//! ([`ClientSession::handle_reading_paused`]) so that its heartbeat check
//! restarts once reading resumes instead of failing a connection whose only
//! fault is a slow application.
//!
//! The driver decides nothing about the protocol: when the session is over
//! (it says so with [`ClientSessionEvent::Closed`]),
//! the driver waits — for a graceful disconnect only, and at most
//! `request_timeout` — for the `close` packet to leave, then stops.

use std::future::{pending, poll_fn, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::time::Sleep;

use super::budget::{Budget, Charge};
use super::done::DoneGuard;
use super::handlers::{BoxFuture, Charged};
use super::queue;
use super::request::{HttpAnswer, RequestError, Requests};
use super::websocket::{self, OpenError, WsConn, WsEvent, WsIo, WsSocket};
use super::{sigint, ClientEvent, ClientSid, Shared, State};
use crate::clock::now;
use crate::proto::{
    payload, ClientSession, ClientSessionEvent, Data, DecodeError, DisconnectReason, Packet,
    TransportKind,
};

/// What a [`Client`](super::Client) handle asks of its driver.
#[derive(Debug)]
pub(crate) enum Command {
    /// Queue a message.
    Send(Data),
    /// Close gracefully: queued messages, then `close`.
    Disconnect,
    /// Stop now, sending nothing more.
    Abort,
    /// Answer once everything queued before it has left (see
    /// [`Client::flush`](super::Client::flush)).
    Flush(tokio::sync::oneshot::Sender<()>),
}

type HttpFuture = BoxFuture<Result<HttpAnswer, RequestError>>;

/// A long poll's body, decoded one packet at a time as the budget allows.
struct Body {
    data: bytes::Bytes,
    /// Start of the next segment; past the end once all are taken.
    pos: usize,
}

impl Body {
    fn next_packet(&mut self) -> Option<Result<Packet, DecodeError>> {
        if self.pos > self.data.len() {
            return None;
        }
        let end = self.data[self.pos..]
            .iter()
            .position(|&b| b == payload::SEPARATOR)
            .map_or(self.data.len(), |i| self.pos + i);
        let seg = self.data.slice(self.pos..end);
        self.pos = end + 1;
        // An empty body is one empty segment: an error, as in
        // `payload::decode`.
        Some(payload::decode_segment(seg))
    }
}

/// The upgrade probe in progress.
enum Probe {
    /// The WebSocket handshake is under way; `packet` (`2probe`) goes out
    /// once it is open.
    Opening {
        fut: BoxFuture<Result<WsSocket, OpenError>>,
        packet: Packet,
    },
    /// `2probe` is sent. `answered` once the first packet went to the
    /// session; packets after it (none expected before `5`) wait in
    /// `early`.
    Open {
        /// Boxed: the probe lasts an upgrade, and the driver's future, which
        /// an idle connection keeps for life, holds one socket inline only.
        conn: Box<WsConn>,
        answered: bool,
        early: Vec<(Packet, Charge)>,
    },
}

pub(crate) struct Driver {
    session: ClientSession,
    sid: ClientSid,
    /// The HTTP side (client, URL, headers, cookies) while the connection
    /// polls or may still upgrade. Dropped once the transport is WebSocket
    /// for good: nothing more goes over HTTP, and dropping the default
    /// client also closes its idle pooled connections (the long poll's and
    /// the POST's, after an upgrade).
    req: Option<Box<Requests>>,
    /// `request_timeout`, which outlives `req`.
    request_timeout: Duration,
    commands: queue::Receiver<Command>,
    /// The Ctrl-C registration (`handle_sigint`), dropped with the driver.
    _sigint: Option<sigint::Registration>,
    events: queue::Sender<Charged>,
    budget: Arc<Budget>,
    /// The last long poll's body, while packets of it are left.
    body: Option<Body>,
    /// Whether reading was paused for backpressure at the last pump.
    paused: bool,
    shared: Arc<Shared>,
    done: DoneGuard,
    get: Option<HttpFuture>,
    post: Option<HttpFuture>,
    ws: Option<WsConn>,
    probe: Option<Probe>,
    ws_io_tx: queue::Sender<WsIo>,
    ws_io: queue::Receiver<WsIo>,
    next_ws_id: u64,
    timer: Pin<Box<Sleep>>,
    timer_at: Option<Instant>,
    closed: Option<DisconnectReason>,
    /// Set on a graceful close: how long the `close` packet may take.
    linger_until: Option<Instant>,
    aborted: bool,
    /// `Command::Flush` callers waiting for the queue to drain.
    flush_waiters: Vec<tokio::sync::oneshot::Sender<()>>,
}

/// The parts [`Driver::new`] takes.
pub(crate) struct DriverParts {
    pub(crate) session: ClientSession,
    pub(crate) ws: Option<WsSocket>,
    pub(crate) req: Requests,
    pub(crate) commands: queue::Receiver<Command>,
    pub(crate) sigint: Option<sigint::Registration>,
    pub(crate) events: queue::Sender<Charged>,
    pub(crate) budget: Arc<Budget>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) done: DoneGuard,
}

impl Driver {
    pub(crate) fn new(parts: DriverParts) -> Self {
        let DriverParts {
            session,
            ws,
            req,
            commands,
            sigint,
            events,
            budget,
            shared,
            done,
        } = parts;
        let (ws_io_tx, ws_io) = queue::queue();
        let sid = session
            .sid()
            .cloned()
            .unwrap_or_else(|| ClientSid::from(""));
        let request_timeout = req.request_timeout;
        let mut d = Driver {
            session,
            sid,
            req: ws.is_none().then(|| Box::new(req)),
            request_timeout,
            commands,
            _sigint: sigint,
            events,
            budget,
            body: None,
            paused: false,
            shared,
            done,
            get: None,
            post: None,
            ws: None,
            probe: None,
            ws_io_tx,
            ws_io,
            next_ws_id: 0,
            timer: Box::pin(tokio::time::sleep(std::time::Duration::ZERO)),
            timer_at: None,
            closed: None,
            linger_until: None,
            aborted: false,
            flush_waiters: Vec::new(),
        };
        if let Some(socket) = ws {
            let id = d.new_ws_id();
            d.ws = Some(socket.start(id, d.ws_io_tx.clone(), d.budget.clone()));
        }
        d
    }

    fn new_ws_id(&mut self) -> u64 {
        self.next_ws_id += 1;
        self.next_ws_id
    }

    /// Runs the connection until it ends.
    ///
    /// Not an `async fn` that takes `self`: its future would hold the
    /// driver twice, as the argument and as the body's binding (2,120 bytes
    /// per connection instead of 1,200, see the test below). The block
    /// captures it once and [`drive`](Self::drive) borrows it.
    // Clippy's `manual_async_fn` asks for the `async fn` this must not be.
    #[allow(clippy::manual_async_fn)]
    pub(crate) fn run(mut self) -> impl Future<Output = ()> + Send + 'static {
        async move {
            self.drive().await;
            self.finish();
        }
    }

    async fn drive(&mut self) {
        loop {
            self.feed_body();
            self.pump();
            if self.should_stop() {
                break;
            }
            tokio::select! {
                cmd = self.commands.recv() => self.on_command(cmd.unwrap_or(Command::Abort)),
                r = poll_slot(&mut self.get) => {
                    self.get = None;
                    self.on_get(r);
                }
                r = poll_slot(&mut self.post) => {
                    self.post = None;
                    self.on_post(r);
                }
                r = poll_fn(|cx| poll_probe(&mut self.probe, cx)) => {
                    if let Some(r) = r {
                        self.on_probe_opened(r);
                    }
                }
                Some(io) = self.ws_io.recv() => self.on_ws(io),
                () = poll_fn(|cx| poll_ws(&mut self.ws, cx)) => {}
                () = &mut self.timer, if self.timer_at.is_some() => self.on_timer(),
                () = self.budget.room(), if self.paused => {}
            }
        }
    }

    fn finish(&mut self) {
        self.shared.set_state(State::Disconnected);
        let reason = self.closed.unwrap_or(DisconnectReason::TransportError);
        // Cancel whatever is left before reporting the end, so that a
        // `wait()` that returns sees no background work.
        self.get = None;
        self.post = None;
        self.probe = None;
        self.ws = None;
        self.body = None;
        self.done.set(reason);
    }

    fn should_stop(&self) -> bool {
        let Some(reason) = self.closed else {
            return false;
        };
        if self.aborted || reason != DisconnectReason::ClientDisconnect {
            return true;
        }
        let flushing = self.post.is_some() || self.ws.as_ref().is_some_and(WsConn::flushing);
        !flushing || self.linger_until.is_some_and(|t| now() >= t)
    }

    /// Drains the session's outputs after an input.
    fn pump(&mut self) {
        let now = now();
        // The upgrade's last step waits for polling to be idle.
        if self.session.is_polling_paused() && self.get.is_none() && self.post.is_none() {
            if let Some(Probe::Open { .. }) = &self.probe {
                if let Some(five) = self.session.complete_upgrade() {
                    let Some(Probe::Open { conn, early, .. }) = self.probe.take() else {
                        unreachable!("checked above")
                    };
                    conn.send(five);
                    self.ws = Some(*conn);
                    for (p, _charge) in early {
                        self.session.handle_packet(now, p);
                        self.drain_events(now);
                    }
                }
            }
        }
        match self.session.transport() {
            TransportKind::WebSocket => {
                if let Some(ws) = &self.ws {
                    while let Some(p) = self.session.poll_transmit() {
                        ws.send(p);
                    }
                }
            }
            TransportKind::Polling => {
                if self.post.is_none() {
                    if let Some(packets) = self.session.poll_payload() {
                        let body = payload::encode(&packets);
                        self.post = Some(Box::pin(self.http().post(self.sid.as_str(), body)));
                    }
                }
                if self.get.is_none()
                    && self.body.is_none()
                    && self.budget.has_room()
                    && self.session.is_connected()
                    && !self.session.is_polling_paused()
                {
                    // A long poll lasts up to a ping interval; the session's
                    // heartbeat timer catches a dead server before this
                    // timeout (which covers the whole body too) does.
                    let timeout =
                        self.session.heartbeat_timeout().unwrap_or_default() + self.request_timeout;
                    self.get = Some(Box::pin(self.http().get(Some(self.sid.as_str()), timeout)));
                }
            }
        }
        if self.session.wants_upgrade() && self.probe.is_none() {
            let packet = self.session.begin_upgrade(now);
            let req = self.http();
            let url = req.websocket_url(Some(self.sid.as_str()));
            let headers = req.websocket_headers(&url);
            let direct = req.websocket_direct(&url);
            let fut = websocket::open(
                req.http.clone(),
                url,
                headers,
                direct,
                req.ws_max_message_size,
                self.request_timeout,
            );
            self.probe = Some(Probe::Opening {
                fut: Box::pin(fut),
                packet,
            });
        }
        self.drain_events(now);
        if !self.flush_waiters.is_empty() && self.flushed() {
            for w in self.flush_waiters.drain(..) {
                let _ = w.send(());
            }
        }
        let paused = !self.budget.has_room();
        if paused || self.paused {
            // Also once on resuming: the heartbeat check restarts from now.
            self.session.handle_reading_paused(now);
        }
        self.paused = paused;
        let deadline = match (self.session.poll_timeout(), self.linger_until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if deadline != self.timer_at {
            self.timer_at = deadline;
            if let Some(at) = deadline {
                self.timer.as_mut().reset(at.into());
            }
        }
    }

    /// The HTTP side, kept while the connection polls or may upgrade (the
    /// only times it makes requests).
    fn http(&self) -> &Requests {
        self.req
            .as_deref()
            .expect("the HTTP side is kept while polling")
    }

    fn drain_events(&mut self, now: Instant) {
        while let Some(ev) = self.session.poll_event() {
            self.on_session_event(ev, now);
        }
    }

    /// Decodes packets of the last long poll's body while the budget has
    /// room.
    fn feed_body(&mut self) {
        let now = now();
        while self.budget.has_room() {
            let Some(body) = &mut self.body else { return };
            match body.next_packet() {
                Some(Ok(p)) => {
                    self.session.handle_packet(now, p);
                    self.drain_events(now);
                    if self.session.is_closed() {
                        self.body = None;
                    }
                }
                Some(Err(e)) => {
                    // Packets before the bad one were delivered: a client
                    // has nothing to undo.
                    self.body = None;
                    self.transport_error(format_args!("bad polling payload: {e}"));
                }
                None => self.body = None,
            }
        }
    }

    /// Whether everything queued has left: handed to the WebSocket writer
    /// (which keeps order), or carried by a polling POST that was answered.
    /// A closed session has nothing more to send.
    fn flushed(&self) -> bool {
        self.session.is_closed()
            || (!self.session.has_queued()
                && (self.session.transport() == TransportKind::WebSocket || self.post.is_none()))
    }

    fn on_session_event(&mut self, ev: ClientSessionEvent, now: Instant) {
        match ev {
            ClientSessionEvent::Connected(_) => self.emit(ClientEvent::Connect),
            ClientSessionEvent::Message(data) => self.emit(ClientEvent::Message(data)),
            ClientSessionEvent::Upgraded => {
                tracing::debug!(sid = %self.sid, "engine.io client upgraded to websocket");
                self.shared.set_transport(TransportKind::WebSocket);
                // A long poll or POST still under way owns what it needs.
                self.req = None;
                self.emit(ClientEvent::Upgrade);
            }
            ClientSessionEvent::UpgradeFailed => {
                // A disconnect during the upgrade abandons it too: no news.
                if self.shared.state() == State::Connected {
                    tracing::warn!(sid = %self.sid, "engine.io client upgrade failed; staying on polling");
                } else {
                    tracing::debug!(sid = %self.sid, "engine.io client upgrade abandoned: closing");
                }
                self.probe = None;
            }
            ClientSessionEvent::Closed(reason) => {
                tracing::debug!(sid = %self.sid, %reason, "engine.io client disconnected");
                self.closed = Some(reason);
                self.shared.set_state(State::Disconnected);
                if reason == DisconnectReason::ClientDisconnect && !self.aborted {
                    self.linger_until = Some(now + self.request_timeout);
                    if let Some(ws) = &mut self.ws {
                        ws.close();
                    }
                }
                self.emit(ClientEvent::Disconnect(reason));
            }
        }
    }

    fn emit(&self, ev: ClientEvent) {
        let charge = match &ev {
            ClientEvent::Message(data) => Some(self.budget.charge(data.len())),
            _ => None,
        };
        // The handler task outlives the driver unless the client was dropped,
        // and then nobody listens anyway.
        let _ = self.events.send((ev, charge));
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Send(data) => {
                // Refused only once closing; `Client::send` has already
                // told the caller.
                let _ = self.session.send(data);
            }
            Command::Disconnect => {
                if self.closed.is_none() {
                    self.shared.set_state(State::Disconnecting);
                }
                self.session.close();
            }
            Command::Flush(tx) => self.flush_waiters.push(tx),
            Command::Abort => {
                self.aborted = true;
                self.session.close();
                // With `close` queued, a transport failure ends the session
                // as a client disconnect.
                self.session
                    .handle_transport_error(DisconnectReason::TransportClose);
            }
        }
    }

    fn on_get(&mut self, r: Result<HttpAnswer, RequestError>) {
        if let Some(data) = self.check_answer(r, "GET") {
            // Decoded by `feed_body`, as the budget allows.
            self.body = Some(Body { data, pos: 0 });
        }
    }

    fn on_post(&mut self, r: Result<HttpAnswer, RequestError>) {
        let _ = self.check_answer(r, "POST");
    }

    /// The body of a 200 answer; anything else fails the transport.
    fn check_answer(
        &mut self,
        r: Result<HttpAnswer, RequestError>,
        what: &str,
    ) -> Option<bytes::Bytes> {
        match r {
            // Cookies the answer set are in the jar already (reqwest).
            Ok(a) if a.status == reqwest::StatusCode::OK => Some(a.body),
            Ok(a) => {
                self.transport_error(format_args!(
                    "polling {what} answered HTTP {}: {}",
                    a.status,
                    String::from_utf8_lossy(&a.body)
                ));
                None
            }
            Err(e) => {
                self.transport_error(format_args!("polling {what} failed: {e}"));
                None
            }
        }
    }

    fn transport_error(&mut self, why: std::fmt::Arguments<'_>) {
        if !self.session.is_closed() {
            tracing::warn!(sid = %self.sid, "engine.io client transport error: {why}");
        }
        self.session
            .handle_transport_error(DisconnectReason::TransportError);
    }

    fn on_probe_opened(&mut self, r: Result<WsSocket, OpenError>) {
        let Some(Probe::Opening { packet, .. }) = self.probe.take() else {
            return;
        };
        match r {
            Ok(socket) => {
                let id = self.new_ws_id();
                let conn = socket.start(id, self.ws_io_tx.clone(), self.budget.clone());
                conn.send(packet);
                self.probe = Some(Probe::Open {
                    conn: Box::new(conn),
                    answered: false,
                    early: Vec::new(),
                });
            }
            Err(e) => {
                tracing::warn!(sid = %self.sid, "engine.io client upgrade: WebSocket failed: {e}");
                self.session.abort_upgrade();
            }
        }
    }

    fn on_ws(&mut self, io: WsIo) {
        let now = now();
        if self.ws.as_ref().is_some_and(|w| w.id == io.id) {
            match io.event {
                WsEvent::Packet(p, _charge) => {
                    self.session.handle_packet(now, p);
                    // The events take over the packet's charge.
                    self.drain_events(now);
                }
                // engine.io servers close WebSockets without a `close`
                // packet: a close frame is the server disconnecting.
                WsEvent::Closed => self.session.handle_packet(now, Packet::Close),
                WsEvent::Eof => {
                    if !self.session.is_closed() {
                        tracing::warn!(sid = %self.sid, "engine.io client: the WebSocket connection was closed");
                    }
                    self.session
                        .handle_transport_error(DisconnectReason::TransportClose);
                }
                WsEvent::Failed(e) => {
                    self.transport_error(format_args!("WebSocket: {e}"));
                }
            }
            return;
        }
        let Some(Probe::Open {
            conn,
            answered,
            early,
        }) = &mut self.probe
        else {
            return;
        };
        if conn.id != io.id {
            return;
        }
        match io.event {
            WsEvent::Packet(p, _charge) if !*answered => {
                *answered = true;
                // `Aborted` surfaces as an `UpgradeFailed` event, which drops
                // the probe.
                let _ = self.session.handle_probe_packet(p);
            }
            WsEvent::Packet(p, charge) => early.push((p, charge)),
            WsEvent::Closed | WsEvent::Eof | WsEvent::Failed(_) => self.session.abort_upgrade(),
        }
    }

    fn on_timer(&mut self) {
        self.timer_at = None;
        let now = now();
        if self.paused {
            self.session.handle_reading_paused(now);
        }
        self.session.handle_timeout(now);
    }
}

/// Awaits the future in `slot`, or never if there is none.
async fn poll_slot<T>(slot: &mut Option<BoxFuture<T>>) -> T {
    match slot {
        Some(f) => f.as_mut().await,
        None => pending().await,
    }
}

/// The probe's step: `Some` once its WebSocket handshake is done, `None`
/// when its open socket (which this polls) has finished.
fn poll_probe(
    probe: &mut Option<Probe>,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<WsSocket, OpenError>>> {
    match probe {
        Some(Probe::Opening { fut, .. }) => fut.as_mut().poll(cx).map(Some),
        Some(Probe::Open { conn, .. }) => conn.poll_socket(cx).map(|()| None),
        None => Poll::Pending,
    }
}

/// Runs the WebSocket's socket; ready when it has finished (the loop then
/// checks whether the driver is done, as after flushing a close).
fn poll_ws(ws: &mut Option<WsConn>, cx: &mut Context<'_>) -> Poll<()> {
    match ws {
        Some(w) => w.poll_socket(cx),
        None => Poll::Pending,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size of what `f` returns, without calling it.
    fn returned_size<A, R>(_f: fn(A) -> R) -> usize {
        std::mem::size_of::<R>()
    }

    /// The driver's task is the largest allocation of an idle connection:
    /// its future must hold the driver once (an `async fn run(self)` held
    /// it twice, 2,120 bytes with a 936-byte driver).
    #[test]
    fn the_driver_future_holds_the_driver_once() {
        let driver = std::mem::size_of::<Driver>();
        let future = returned_size(Driver::run);
        eprintln!("driver: {driver} bytes, its future: {future}");
        assert!(
            future < driver + 512,
            "{future} bytes for a {driver}-byte driver"
        );
    }
}
