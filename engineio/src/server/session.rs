//! One session: the core state machine behind a mutex, its timer driver and
//! its handler task.
//!
//! Every input to the core goes through [`SessionHandle::input`], which
//! feeds the core, then drains its events (messages and the disconnect go to
//! the handler task, in order), tells the driver when the deadline moved and
//! wakes every waiter (pending GETs, the WebSocket writer). Outputs (a GET
//! draining the queue, the WebSocket writer taking packets) go through
//! [`SessionHandle::output`], which wakes others only if the core produced
//! events, so two waiters never wake each other in a loop.
//!
//! The driver task owns the session's only timer (quinn's
//! `ConnectionDriver` shape): it sleeps until the core's `poll_timeout()`,
//! re-arming only when that deadline changes. User handlers run on a
//! separate task, so a slow handler never delays a heartbeat.

use std::any::Any;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use engineio_proto::{
    Data, DisconnectReason, ServerConfig, ServerEvent, ServerSession, Sid, TransportKind,
};
use tokio::sync::{mpsc, Notify};

use super::handlers::guarded;
use super::Shared;

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
    /// The WebSocket (by id) that is the active transport.
    pub(crate) active_ws: Option<u64>,
    /// The WebSocket (by id) probing an upgrade.
    pub(crate) probe_ws: Option<u64>,
}

pub(crate) struct SessionHandle {
    pub(crate) sid: Sid,
    inner: Mutex<Inner>,
    /// Wakes pending GETs and WebSocket writers after an input.
    pub(crate) changed: Notify,
    /// Wakes the driver when the deadline changed.
    driver: Notify,
    events: mpsc::UnboundedSender<HandlerEvent>,
    events_rx: Mutex<Option<mpsc::UnboundedReceiver<HandlerEvent>>>,
    /// The application's per-session data (`save_session`).
    pub(crate) user: Mutex<Option<Box<dyn Any + Send>>>,
    /// Set once the connect handler accepted the session; requests for a
    /// session that is not accepted yet are refused as unknown.
    accepted: AtomicBool,
    /// Messages handed to the handler task and not handled yet.
    backlog: AtomicUsize,
    /// Signalled each time a message has been handled.
    backlog_drained: Notify,
}

/// The sessions' clock: tokio's, so that a runtime with paused time (tests,
/// the fuzz target) drives heartbeats and timeouts in virtual time; outside
/// a paused runtime it is the system's monotonic clock.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The protected state stays consistent even if a holder panicked (the
    // core never panics; user code never runs under these locks).
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SessionHandle {
    pub(crate) fn new(sid: Sid, transport: TransportKind, config: &ServerConfig) -> Arc<Self> {
        let core = ServerSession::new(now(), sid, transport, config);
        let deadline = core.poll_timeout();
        let (tx, rx) = mpsc::unbounded_channel();
        Arc::new(SessionHandle {
            sid,
            inner: Mutex::new(Inner {
                core,
                deadline,
                active_ws: None,
                probe_ws: None,
            }),
            changed: Notify::new(),
            driver: Notify::new(),
            events: tx,
            events_rx: Mutex::new(Some(rx)),
            user: Mutex::new(None),
            accepted: AtomicBool::new(false),
            backlog: AtomicUsize::new(0),
            backlog_drained: Notify::new(),
        })
    }

    pub(crate) fn is_accepted(&self) -> bool {
        self.accepted.load(Ordering::Acquire)
    }

    /// Feeds the core and acts on its outputs; wakes every waiter.
    pub(crate) fn input<R>(&self, f: impl FnOnce(&mut Inner, Instant) -> R) -> R {
        let mut inner = lock(&self.inner);
        let now = now();
        Self::catch_up(&mut inner, now);
        let r = f(&mut inner, now);
        self.process(&mut inner, true);
        r
    }

    /// Takes outputs from the core; wakes waiters only if events came out.
    pub(crate) fn output<R>(&self, f: impl FnOnce(&mut Inner, Instant) -> R) -> R {
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

    fn process(&self, inner: &mut Inner, mut wake: bool) {
        while let Some(ev) = inner.core.poll_event() {
            wake = true;
            match ev {
                ServerEvent::Message(data) => {
                    self.backlog.fetch_add(1, Ordering::AcqRel);
                    let _ = self.events.send(HandlerEvent::Message(data));
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
                    let _ = self.events.send(HandlerEvent::Disconnect(reason));
                }
            }
        }
        let deadline = inner.core.poll_timeout();
        if deadline != inner.deadline {
            inner.deadline = deadline;
            self.driver.notify_one();
        }
        if wake {
            self.changed.notify_waiters();
        }
    }

    /// Marks the session accepted and starts its driver and handler tasks.
    pub(crate) fn start(self: &Arc<Self>, shared: &Arc<Shared>) {
        self.accepted.store(true, Ordering::Release);
        let rx = lock(&self.events_rx).take();
        tokio::spawn(self.clone().drive());
        if let Some(rx) = rx {
            tokio::spawn(self.clone().run_handlers(shared.clone(), rx));
        }
    }

    /// The timer driver: sleeps until the core's deadline, re-arming only
    /// when it changes; ends with the session.
    async fn drive(self: Arc<Self>) {
        let sleep = tokio::time::sleep_until(tokio::time::Instant::now());
        tokio::pin!(sleep);
        let mut armed: Option<Instant> = None;
        loop {
            let (deadline, closed) = {
                let inner = lock(&self.inner);
                (inner.deadline, inner.core.is_closed())
            };
            if closed {
                break;
            }
            if deadline != armed {
                if let Some(d) = deadline {
                    sleep.as_mut().reset(d.into());
                }
                armed = deadline;
            }
            tokio::select! {
                () = &mut sleep, if armed.is_some() => {
                    armed = None;
                    self.input(|inner, now| inner.core.handle_timeout(now));
                }
                () = self.driver.notified() => {}
            }
        }
    }

    /// Runs the user's handlers for this session's events, in order.
    async fn run_handlers(
        self: Arc<Self>,
        shared: Arc<Shared>,
        mut rx: mpsc::UnboundedReceiver<HandlerEvent>,
    ) {
        let sid = self.sid;
        while let Some(ev) = rx.recv().await {
            match ev {
                HandlerEvent::Message(data) => match shared.handlers().message {
                    None => self.message_done(),
                    Some(h) => {
                        let fut = h(sid, data);
                        if shared.options.async_handlers {
                            let this = self.clone();
                            tokio::spawn(async move {
                                guarded("message", sid, fut).await;
                                this.message_done();
                            });
                        } else {
                            guarded("message", sid, fut).await;
                            self.message_done();
                        }
                    }
                },
                HandlerEvent::Disconnect(reason) => {
                    if let Some(h) = shared.handlers().disconnect {
                        guarded("disconnect", sid, h(sid, reason)).await;
                    }
                    break;
                }
            }
        }
        shared.remove_session(&self);
    }

    fn message_done(&self) {
        self.backlog.fetch_sub(1, Ordering::AcqRel);
        self.backlog_drained.notify_waiters();
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
}
