//! One session: the core state machine behind a mutex, its timer driver and
//! its handler task.
//!
//! Every input to the core goes through [`SessionHandle::input`], which
//! feeds the core, then queues its events (messages and the disconnect, in
//! order) for the handlers, tells the driver when the deadline moved and
//! wakes every waiter (pending GETs by `Notify`, WebSocket tasks by the
//! wakers they left in the session state). Outputs (a GET draining the
//! queue, a WebSocket task taking packets) go through
//! [`SessionHandle::output`], which wakes others only if the core produced
//! events, so two waiters never wake each other in a loop.
//!
//! The driver task owns the session's only timer (quinn's
//! `ConnectionDriver` shape): it sleeps until the core's `poll_timeout()`,
//! re-arming only when that deadline changes. User handlers run on a
//! separate task, so a handler that waits never delays a heartbeat; that
//! task exists only while events wait (it ends once the queue is empty), so
//! an idle session costs its driver and its socket task, and no queue. A
//! WebSocket task that read a message, and a polling POST that carried
//! some, run the handlers themselves as long as they complete without
//! waiting ([`SessionHandle::run_handlers_here`]).
//!
//! # Invariants
//!
//! What the code below relies on; a change that breaks one breaks ordering,
//! wake-ups or memory.
//!
//! 1. **No user code under a lock.** `inner` is held only to feed the core,
//!    take outputs and move events; handlers run after it is released (a
//!    handler may call `send`, which takes it again). `user` (the
//!    application's data) is a separate mutex, never taken while `inner` is
//!    held. The session table's lock is released before either is taken.
//! 2. **One runner of `events` at a time.** `handler_running` is set, under
//!    `inner`, by whoever takes charge of the queue: a handler task, or the
//!    WebSocket task or polling POST whose input queued them
//!    (`handlers_deferred`). Only
//!    that runner pops events, and it clears the flag, under the same lock,
//!    when it finds the queue empty. So one session's handlers run one at a
//!    time, in order (unless `async_handlers`), and a runner that has to
//!    wait hands the rest of the queue to a handler task, never back.
//! 3. **The disconnect is the last event,** and always runs on a handler
//!    task. After it, `disconnected` is set; the session leaves the table
//!    when it is set and the core no longer lingers, by whichever of the
//!    handler task and the driver sees the second condition.
//! 4. **Every input wakes every waiter; a waiter never wakes itself.** A
//!    WebSocket task removes its own waker before feeding an input, and
//!    registers it again when it waits; outputs wake others only when the
//!    core produced events (so two waiters cannot wake each other forever).
//! 5. **The backlog bounds a reader.** `backlog` counts messages given to the
//!    handlers and not yet handled; past `max_queued_packets` a WebSocket
//!    stops reading and sets `ws_throttled`, and the next handled message
//!    (`message_done`) clears it and wakes the socket. Polling POSTs wait on
//!    `backlog_drained` instead.
//! 6. **Nothing here keeps the server alive.** A session reaches the server
//!    through a `Weak` only (for its handlers); when the server is dropped,
//!    `Shared`'s `Drop` closes every session, and a failed upgrade of that
//!    reference means no handler runs any more.

use std::any::Any;
use std::collections::VecDeque;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use engineio_proto::{
    Data, DisconnectReason, ServerConfig, ServerEvent, ServerSession, Sid, TransportKind,
};
use pin_project_lite::pin_project;
use tokio::sync::Notify;

use super::handlers::{as_handler_of, guarded, log_panic, BoxFuture};
use super::{Server, Shared};
use crate::clock::now;

/// What the handler task receives, in order.
#[derive(Debug)]
pub(crate) enum HandlerEvent {
    Message(Data),
    Disconnect(DisconnectReason),
}

pub(crate) struct Inner {
    pub(crate) core: ServerSession,
    /// The deadline the driver was last told about.
    deadline: Option<Instant>,
    /// The driver, waiting for `deadline` to change or for the session to
    /// end; woken (and forgotten) when either happens.
    driver: Option<Waker>,
    /// The WebSocket (by id) that is the active transport.
    pub(crate) active_ws: Option<u64>,
    /// The WebSocket (by id) probing an upgrade.
    pub(crate) probe_ws: Option<u64>,
    /// The WebSocket tasks waiting for output or for a change of the
    /// session; woken (and forgotten) on every input.
    pub(crate) ws_wakers: SocketWakers,
    /// Events for the handlers, in order (allocated only once used).
    events: VecDeque<HandlerEvent>,
    /// Whether a handler task is draining `events`. The task exists only
    /// while there are events: an idle session has none.
    handler_running: bool,
    /// Set by a WebSocket task around its input: events that input queues
    /// are left for that task to run (see [`SessionHandle::run_handlers_here`])
    /// instead of starting a handler task.
    pub(crate) defer_handlers: bool,
    /// The deferred events are claimed (`handler_running` is set for them)
    /// and wait for the WebSocket task.
    handlers_deferred: bool,
    /// The disconnect handler has run. The session leaves the table once
    /// this is set and the core no longer lingers (whichever comes last).
    disconnected: bool,
}

/// Wakers of the (at most two: active and probe) WebSocket tasks of a
/// session, keyed by socket id, kept inline.
#[derive(Default)]
pub(crate) struct SocketWakers {
    slots: [Option<(u64, Waker)>; 2],
    more: Vec<(u64, Waker)>,
}

impl SocketWakers {
    /// Socket `id` waits: wake it on the next input.
    pub(crate) fn register(&mut self, id: u64, waker: &Waker) {
        let all = self.slots.iter_mut().flatten().chain(self.more.iter_mut());
        for (i, w) in all {
            if *i == id {
                if !w.will_wake(waker) {
                    w.clone_from(waker);
                }
                return;
            }
        }
        match self.slots.iter_mut().find(|s| s.is_none()) {
            Some(slot) => *slot = Some((id, waker.clone())),
            None => self.more.push((id, waker.clone())),
        }
    }

    /// Socket `id` no longer waits (it is running, or gone).
    pub(crate) fn remove(&mut self, id: u64) {
        for slot in &mut self.slots {
            if slot.as_ref().is_some_and(|(i, _)| *i == id) {
                *slot = None;
            }
        }
        self.more.retain(|(i, _)| *i != id);
    }

    fn wake_all(&mut self) {
        for slot in &mut self.slots {
            if let Some((_, w)) = slot.take() {
                w.wake();
            }
        }
        for (_, w) in self.more.drain(..) {
            w.wake();
        }
    }
}

pub(crate) struct SessionHandle {
    pub(crate) sid: Sid,
    inner: Mutex<Inner>,
    /// Wakes pending GETs and WebSocket writers after an input.
    pub(crate) changed: Notify,
    /// The server, for the handler tasks.
    shared: Weak<Shared>,
    /// The application's per-session data (`save_session`).
    pub(crate) user: Mutex<Option<Box<dyn Any + Send>>>,
    /// Set once the connect handler accepted the session; requests for a
    /// session that is not accepted yet are refused as unknown.
    accepted: AtomicBool,
    /// Messages handed to the handler task and not handled yet.
    backlog: AtomicUsize,
    /// Signalled each time a message has been handled.
    backlog_drained: Notify,
    /// Set by a WebSocket task that stopped reading because of the backlog:
    /// the next handled message wakes it.
    ws_throttled: AtomicBool,
    /// The JSONP callback index (digits only) of a session opened with
    /// `j=`: its polling answers and POST bodies use JSONP framing.
    pub(crate) jsonp: Option<Box<str>>,
}

pin_project! {
    /// The session's timer driver: sleeps until the core's deadline,
    /// re-arming only when it changes; ends with the session (once it no
    /// longer lingers, see [`engineio_proto::server::CLOSE_LINGER`]).
    ///
    /// A hand-written future, so that its task holds only these fields: the
    /// `async` loop it replaces also held a `Notify`'s `Notified` across
    /// its `select!`, a 384-byte task per session instead of 256.
    struct Driver {
        handle: Arc<SessionHandle>,
        #[pin]
        sleep: tokio::time::Sleep,
        // The deadline `sleep` is set to.
        armed: Option<Instant>,
    }
}

impl Future for Driver {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        loop {
            let (deadline, over, disconnected) = {
                let mut inner = lock(&this.handle.inner);
                let over = inner.core.is_closed() && !inner.core.is_lingering();
                if !over
                    && !inner
                        .driver
                        .as_ref()
                        .is_some_and(|w| w.will_wake(cx.waker()))
                {
                    inner.driver = Some(cx.waker().clone());
                }
                (inner.deadline, over, inner.disconnected)
            };
            if over {
                // A linger that ended after the disconnect handler ran:
                // the handler task left the removal to this task.
                if disconnected {
                    if let Some(shared) = this.handle.shared.upgrade() {
                        shared.remove_session(this.handle);
                    }
                }
                return Poll::Ready(());
            }
            if deadline != *this.armed {
                if let Some(d) = deadline {
                    this.sleep.as_mut().reset(d.into());
                }
                *this.armed = deadline;
            }
            if this.armed.is_none() || this.sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            *this.armed = None;
            this.handle.input(|inner, now| {
                // This input must not wake the driver that feeds it.
                inner.driver = None;
                inner.core.handle_timeout(now);
            });
        }
    }
}

pub(crate) use crate::lock;

impl SessionHandle {
    pub(crate) fn new(
        sid: Sid,
        transport: TransportKind,
        jsonp: Option<Box<str>>,
        config: &ServerConfig,
        shared: Weak<Shared>,
    ) -> Arc<Self> {
        let core = ServerSession::new(now(), sid, transport, config);
        let deadline = core.poll_timeout();
        Arc::new(SessionHandle {
            sid,
            inner: Mutex::new(Inner {
                core,
                deadline,
                driver: None,
                active_ws: None,
                probe_ws: None,
                ws_wakers: SocketWakers::default(),
                events: VecDeque::new(),
                handler_running: false,
                defer_handlers: false,
                handlers_deferred: false,
                disconnected: false,
            }),
            changed: Notify::new(),
            shared,
            user: Mutex::new(None),
            accepted: AtomicBool::new(false),
            backlog: AtomicUsize::new(0),
            backlog_drained: Notify::new(),
            ws_throttled: AtomicBool::new(false),
            jsonp,
        })
    }

    pub(crate) fn is_accepted(&self) -> bool {
        self.accepted.load(Ordering::Acquire)
    }

    /// Feeds the core and acts on its outputs; wakes every waiter.
    pub(crate) fn input<R>(self: &Arc<Self>, f: impl FnOnce(&mut Inner, Instant) -> R) -> R {
        let mut inner = lock(&self.inner);
        let now = now();
        Self::catch_up(&mut inner, now);
        let r = f(&mut inner, now);
        self.process(&mut inner, true);
        r
    }

    /// Takes outputs from the core; wakes waiters only if events came out.
    pub(crate) fn output<R>(self: &Arc<Self>, f: impl FnOnce(&mut Inner, Instant) -> R) -> R {
        let mut inner = lock(&self.inner);
        let now = now();
        Self::catch_up(&mut inner, now);
        let r = f(&mut inner, now);
        self.process(&mut inner, false);
        r
    }

    /// Applies a deadline that passed before the driver task got to run, so
    /// every request sees the session as the clock says it is (a GET that
    /// arrives just after the ping timeout must find the session closed,
    /// however busy the runtime).
    fn catch_up(inner: &mut Inner, now: Instant) {
        if inner.core.poll_timeout().is_some_and(|d| d <= now) {
            inner.core.handle_timeout(now);
        }
    }

    fn process(self: &Arc<Self>, inner: &mut Inner, mut wake: bool) {
        while let Some(ev) = inner.core.poll_event() {
            wake = true;
            match ev {
                ServerEvent::Message(data) => {
                    self.backlog.fetch_add(1, Ordering::SeqCst);
                    inner.events.push_back(HandlerEvent::Message(data));
                }
                ServerEvent::Upgraded => {
                    tracing::debug!(sid = %self.sid, "upgraded to websocket");
                }
                ServerEvent::UpgradeAborted => {
                    tracing::debug!(sid = %self.sid, "upgrade aborted");
                    inner.probe_ws = None;
                }
                ServerEvent::Closed(reason) => {
                    tracing::debug!(sid = %self.sid, %reason, "session closed");
                    inner.events.push_back(HandlerEvent::Disconnect(reason));
                }
            }
        }
        let defer = std::mem::take(&mut inner.defer_handlers);
        self.dispatch_events(inner, defer);
        let deadline = inner.core.poll_timeout();
        if deadline != inner.deadline {
            inner.deadline = deadline;
            if let Some(driver) = inner.driver.take() {
                driver.wake();
            }
        }
        if wake {
            self.changed.notify_waiters();
            inner.ws_wakers.wake_all();
        }
    }

    /// Marks the session accepted and starts its driver and handler tasks.
    pub(crate) fn start(self: &Arc<Self>) {
        self.accepted.store(true, Ordering::Release);
        tokio::spawn(Driver {
            handle: self.clone(),
            sleep: tokio::time::sleep_until(tokio::time::Instant::now()),
            armed: None,
        });
        self.dispatch_events(&mut lock(&self.inner), false);
    }

    /// Sees that queued events get handled once the session is accepted and
    /// no one handles them yet: claims them for the calling WebSocket task
    /// (`defer`, see [`SessionHandle::run_handlers_here`]) or starts a
    /// handler task.
    fn dispatch_events(self: &Arc<Self>, inner: &mut Inner, defer: bool) {
        if inner.events.is_empty() || inner.handler_running || !self.is_accepted() {
            return;
        }
        if defer {
            inner.handler_running = true;
            inner.handlers_deferred = true;
        } else if let Some(shared) = self.shared.upgrade() {
            inner.handler_running = true;
            tokio::spawn(self.clone().run_handlers(shared));
        }
    }

    /// The next event for the handlers; `None` (and the task must end) once
    /// there is none.
    fn next_event(&self) -> Option<HandlerEvent> {
        let mut inner = lock(&self.inner);
        let ev = inner.events.pop_front();
        if ev.is_none() {
            inner.handler_running = false;
            if inner.events.capacity() > 16 {
                inner.events = VecDeque::new();
            }
        }
        ev
    }

    /// Runs the events deferred by the caller's last input (a WebSocket
    /// task's, or a polling POST's) right there, as long as each handler
    /// completes when first polled
    /// (every sync handler does): a message echoed from its handler then
    /// costs no task switch. A handler that has to wait moves, with the rest
    /// of the queue, to a handler task, so the socket never waits for it;
    /// the disconnect handler always runs on a handler task.
    pub(crate) fn run_handlers_here(self: &Arc<Self>, cx: &mut Context<'_>) {
        if !std::mem::take(&mut lock(&self.inner).handlers_deferred) {
            return;
        }
        // The server is gone: its sessions are being closed (see `Shared`'s
        // `Drop`), and no handler runs any more.
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        let shared = &shared;
        let sid = self.sid;
        let handlers = shared.handlers();
        while let Some(ev) = self.next_event() {
            let data = match ev {
                HandlerEvent::Message(data) => data,
                HandlerEvent::Disconnect(reason) => {
                    lock(&self.inner)
                        .events
                        .push_front(HandlerEvent::Disconnect(reason));
                    tokio::spawn(self.clone().run_handlers(shared.clone()));
                    return;
                }
            };
            let Some(h) = &handlers.message else {
                self.message_done();
                continue;
            };
            let mut fut = h(Server::from_shared(shared.clone()), sid, data);
            if shared.options.async_handlers {
                self.spawn_message(fut);
                continue;
            }
            let poll = || as_handler_of(sid, || fut.as_mut().poll(cx));
            match std::panic::catch_unwind(AssertUnwindSafe(poll)) {
                Ok(Poll::Ready(())) => self.message_done(),
                Ok(Poll::Pending) => {
                    let (this, shared) = (self.clone(), shared.clone());
                    tokio::spawn(async move {
                        this.handle_message(fut).await;
                        this.run_handlers(shared).await;
                    });
                    return;
                }
                Err(panic) => {
                    log_panic("message", sid, &*panic);
                    self.message_done();
                }
            }
        }
    }

    /// Runs the user's handlers for this session's events, in order.
    async fn run_handlers(self: Arc<Self>, shared: Arc<Shared>) {
        let sid = self.sid;
        while let Some(ev) = self.next_event() {
            match ev {
                HandlerEvent::Message(data) => match shared.handlers().message {
                    None => self.message_done(),
                    Some(h) => {
                        let fut = h(Server::from_shared(shared.clone()), sid, data);
                        if shared.options.async_handlers {
                            self.spawn_message(fut);
                        } else {
                            self.handle_message(fut).await;
                        }
                    }
                },
                HandlerEvent::Disconnect(reason) => {
                    if let Some(h) = shared.handlers().disconnect {
                        guarded(
                            "disconnect",
                            sid,
                            h(Server::from_shared(shared.clone()), sid, reason),
                        )
                        .await;
                    }
                    // The last event: this task stays the session's last
                    // handler task (`handler_running` stays set). A session
                    // that lingers is removed by its driver, later.
                    let lingering = {
                        let mut inner = lock(&self.inner);
                        inner.disconnected = true;
                        inner.core.is_lingering()
                    };
                    if !lingering {
                        shared.remove_session(&self);
                    }
                    return;
                }
            }
        }
    }

    /// Runs one message handler to completion.
    async fn handle_message(&self, fut: BoxFuture<()>) {
        guarded("message", self.sid, fut).await;
        self.message_done();
    }

    /// Runs one message handler on its own task (`async_handlers`).
    fn spawn_message(self: &Arc<Self>, fut: BoxFuture<()>) {
        let this = self.clone();
        tokio::spawn(async move { this.handle_message(fut).await });
    }

    fn message_done(&self) {
        self.backlog.fetch_sub(1, Ordering::SeqCst);
        self.backlog_drained.notify_waiters();
        if self.ws_throttled.swap(false, Ordering::SeqCst) {
            lock(&self.inner).ws_wakers.wake_all();
        }
    }

    /// For a WebSocket task: whether more than `limit` messages wait for
    /// the message handler (the session being open). If so, socket `id` is
    /// woken once one of them has been handled, and must not read meanwhile.
    pub(crate) fn ws_backlog_full(&self, limit: usize, id: u64, waker: &Waker) -> bool {
        if self.backlog.load(Ordering::SeqCst) <= limit {
            return false;
        }
        {
            let mut inner = lock(&self.inner);
            if inner.core.is_closed() {
                return false;
            }
            inner.ws_wakers.register(id, waker);
        }
        // Registered before the flag is raised: a message handled after
        // this wakes the socket; one handled before shows in the re-check.
        self.ws_throttled.store(true, Ordering::SeqCst);
        self.backlog.load(Ordering::SeqCst) > limit
    }

    /// Waits while more than `limit` messages wait for the message handler:
    /// the transport stops reading from a client that sends faster than
    /// the application handles, instead of buffering without bound.
    pub(crate) async fn wait_backlog(&self, limit: usize) {
        loop {
            let drained = self.backlog_drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            if self.backlog.load(Ordering::Acquire) <= limit || self.is_closed() {
                return;
            }
            drained.await;
        }
    }

    /// The active transport.
    pub(crate) fn transport(&self) -> TransportKind {
        lock(&self.inner).core.transport()
    }

    pub(crate) fn is_closed(&self) -> bool {
        lock(&self.inner).core.is_closed()
    }

    pub(crate) fn is_upgrading(&self) -> bool {
        lock(&self.inner).core.is_upgrading()
    }

    /// Waits until the session's upgrade has ended or `limit` has passed.
    pub(crate) async fn wait_upgrade(&self, limit: std::time::Duration) {
        let deadline = tokio::time::sleep(limit);
        tokio::pin!(deadline);
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if !self.is_upgrading() {
                return;
            }
            tokio::select! {
                () = &mut notified => {}
                () = &mut deadline => return,
            }
        }
    }

    /// Whether the session has ended but one GET may still collect its
    /// `noop` (see [`engineio_proto::server::CLOSE_LINGER`]).
    pub(crate) fn is_lingering(&self) -> bool {
        lock(&self.inner).core.is_lingering()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The session's other long-lived allocation, next to its socket's
    /// task (see `websocket::tests`): tokio's 128-byte-aligned task cell
    /// adds about 100 bytes, so a driver over 150 bytes moves the task from
    /// 256 to 384 bytes.
    #[test]
    fn an_idle_driver_task_stays_small() {
        let size = std::mem::size_of::<Driver>();
        assert!(size <= 150, "Driver is {size} bytes");
    }
}
