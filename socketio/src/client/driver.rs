//! The driver: one task per [`connect`](super::AsyncClient::connect) that
//! owns the [`ClientState`], the Engine.IO connection and the reconnection
//! loop.
//!
//! It feeds the state machine every input (Engine.IO messages and
//! disconnects, commands from the handles) and, after each, drains its
//! outputs ([`Driver::pump`]): Engine.IO messages to the connection, events
//! to the handler task and to the `connect` call that waits for its
//! namespaces. The protocol decisions are the core's; the driver decides
//! only when to reconnect (python-socketio's rule: after an unexpected drop
//! of the Engine.IO connection, never after a disconnect that either side
//! asked for) and how long to wait ([`Backoff`], fed with random numbers).

use std::collections::BTreeMap;
use std::future::Future;

use engineio::ClientEvent as EngineEvent;
use tokio::sync::{mpsc, oneshot, watch};

use super::builder::{Auth, ConnectOptions};
use super::handlers::{self, Ack, Dispatch};
use super::{AsyncClient, Event};
use crate::proto::{Backoff, ClientState, Event as CoreEvent};
use crate::{DisconnectReason, Error, Value};

/// The driver runs.
pub(crate) const RUNNING: u8 = 0;
/// The driver has stopped; the handler task may still be busy.
pub(crate) const DRIVER_DONE: u8 = 1;
/// Everything has stopped.
pub(crate) const ALL_DONE: u8 = 2;

/// What a handle asks of its driver.
pub(crate) enum Command {
    Emit {
        namespace: String,
        event: String,
        args: Vec<Value>,
        ack: Option<Ack>,
    },
    Ack {
        namespace: String,
        id: u64,
        args: Vec<Value>,
    },
    DisconnectNamespace(String, oneshot::Sender<()>),
    Disconnect(oneshot::Sender<()>),
}

/// What the first `connect` call hears about.
pub(crate) enum Progress {
    EngineUp,
    Namespace(String, Result<(), Value>),
    Failed(Error),
}

/// How a session on one Engine.IO connection ended.
enum Outcome {
    /// Stop for good.
    Stop,
    /// The connection dropped unexpectedly.
    Reconnect,
}

pub(crate) struct Driver {
    client: AsyncClient,
    options: ConnectOptions,
    namespaces: Vec<String>,
    core: ClientState,
    commands: mpsc::UnboundedReceiver<Command>,
    progress: mpsc::UnboundedSender<Progress>,
    running: watch::Sender<u8>,
    dispatch: Option<mpsc::UnboundedSender<Dispatch>>,
    /// Callbacks waiting for their acknowledgement, by namespace and id
    /// (ordered: no hashing per emit and per acknowledgement).
    acks: BTreeMap<(String, u64), Ack>,
    /// `disconnect()` was called: no more reconnection.
    stop: bool,
    /// Set when the last namespace went away on the server's word: the
    /// Engine.IO connection is closed and not reconnected.
    idle_close: bool,
    waiters: Vec<oneshot::Sender<()>>,
}

impl Driver {
    pub(crate) fn new(
        client: AsyncClient,
        options: ConnectOptions,
        namespaces: Vec<String>,
        commands: mpsc::UnboundedReceiver<Command>,
        progress: mpsc::UnboundedSender<Progress>,
        running: watch::Sender<u8>,
    ) -> Self {
        let o = &client.inner.options;
        let core = ClientState::new(o.serializer, o.limits);
        Driver {
            client,
            options,
            namespaces,
            core,
            commands,
            progress,
            running,
            dispatch: None,
            acks: BTreeMap::new(),
            stop: false,
            idle_close: false,
            waiters: Vec::new(),
        }
    }

    pub(crate) async fn run(mut self) {
        let (tx, rx) = mpsc::unbounded_channel();
        let handler_task = tokio::spawn(handlers::run(
            self.client.inner.handlers.clone(),
            self.client.downgrade(),
            rx,
        ));
        self.dispatch = Some(tx);
        self.run_loop().await;
        {
            let mut st = self.client.inner.lock();
            st.namespaces.clear();
            st.engine = None;
            st.commands = None;
        }
        // Commands that raced with the end.
        self.commands.close();
        while let Ok(cmd) = self.commands.try_recv() {
            self.on_idle_command(cmd);
        }
        self.running.send_replace(DRIVER_DONE);
        drop(self.dispatch.take());
        let _ = handler_task.await;
        for w in self.waiters.drain(..) {
            let _ = w.send(());
        }
        self.running.send_replace(ALL_DONE);
    }

    async fn run_loop(&mut self) {
        let options = self.client.inner.options.clone();
        let mut backoff = Backoff::new(options.reconnect_config());
        let mut first = true;
        loop {
            let open = self.engine_builder().connect(self.options.url.clone());
            let Some(attempt) = self.interruptible(open).await else {
                return;
            };
            match attempt {
                Ok(engine) => {
                    first = false;
                    let _ = self.progress.send(Progress::EngineUp);
                    match self.session(engine).await {
                        Outcome::Stop => return,
                        Outcome::Reconnect => backoff.reset(),
                    }
                    if !options.reconnection {
                        return;
                    }
                }
                Err(e) => {
                    tracing::warn!("socket.io client: connection attempt failed: {e}");
                    if first && !self.options.retry {
                        let _ = self.progress.send(Progress::Failed(Error::Engine(e)));
                        return;
                    }
                    first = false;
                    let text = Value::String(e.to_string());
                    for ns in self.namespaces.clone() {
                        self.dispatch(Dispatch::ConnectError(ns, text.clone()));
                    }
                    if !options.reconnection {
                        let _ = self.progress.send(Progress::Failed(Error::Engine(e)));
                        return;
                    }
                }
            }
            let Some(delay) = backoff.next_delay(rand::random::<f64>()) else {
                tracing::warn!("socket.io client: reconnection attempts exhausted");
                let _ = self
                    .progress
                    .send(Progress::Failed(Error::AttemptsExhausted));
                self.dispatch(Dispatch::ReconnectFailed);
                return;
            };
            if self
                .interruptible(tokio::time::sleep(delay))
                .await
                .is_none()
            {
                return;
            }
            self.dispatch(Dispatch::ReconnectAttempt(backoff.attempt()));
        }
    }

    /// Runs `fut` while answering commands as a disconnected client does;
    /// `None` if `disconnect()` was called meanwhile.
    async fn interruptible<T>(&mut self, fut: impl Future<Output = T>) -> Option<T> {
        let mut fut = std::pin::pin!(fut);
        loop {
            tokio::select! {
                v = &mut fut => return Some(v),
                cmd = self.commands.recv() => {
                    let cmd = cmd?;
                    self.on_idle_command(cmd);
                    if self.stop {
                        return None;
                    }
                }
            }
        }
    }

    /// A command while no Engine.IO connection is up.
    fn on_idle_command(&mut self, cmd: Command) {
        match cmd {
            // Nothing is buffered while disconnected (python); an ack
            // callback is dropped, so a `call` times out.
            Command::Emit { .. } | Command::Ack { .. } => {}
            Command::DisconnectNamespace(ns, tx) => {
                self.namespaces.retain(|n| *n != ns);
                if self.namespaces.is_empty() {
                    self.stop = true;
                }
                let _ = tx.send(());
            }
            Command::Disconnect(tx) => {
                self.stop = true;
                self.waiters.push(tx);
            }
        }
    }

    fn engine_builder(&self) -> engineio::ClientBuilder {
        let mut eio = self.client.inner.options.engineio.clone();
        eio.headers.extend(self.options.headers.clone());
        if let Some(t) = &self.options.transports {
            eio.transports.clone_from(t);
        }
        eio.engineio_path.clone_from(&self.options.socketio_path);
        engineio::Client::builder().options(eio)
    }

    fn dispatch(&self, d: Dispatch) {
        if let Some(tx) = &self.dispatch {
            let _ = tx.send(d);
        }
    }

    async fn session(&mut self, engine: engineio::Client) -> Outcome {
        let mut events = engine.events();
        self.core.handle_engine_open();
        self.idle_close = false;
        self.client.inner.lock().engine = Some(engine.clone());
        let auth = self.options.auth.as_ref().map(Auth::eval);
        for ns in &self.namespaces {
            self.core.connect(ns, auth.clone());
        }
        self.pump(&engine);
        let mut parse_error = false;
        loop {
            tokio::select! {
                ev = events.recv() => match ev {
                    Some(EngineEvent::Message(data)) => {
                        if let Err(e) = self.core.handle_message(data) {
                            tracing::warn!("socket.io client: bad packet from the server: {e}");
                            parse_error = true;
                            engine.abort();
                        }
                    }
                    Some(EngineEvent::Disconnect(r)) => {
                        return self.engine_closed(&engine, r.into(), parse_error);
                    }
                    None => {
                        return self.engine_closed(&engine, DisconnectReason::TransportError, parse_error);
                    }
                    Some(_) => {}
                },
                cmd = self.commands.recv() => match cmd {
                    Some(cmd) => self.on_command(cmd, &engine).await,
                    None => {
                        self.stop = true;
                        self.close_engine(&engine).await;
                    }
                },
            }
            self.pump(&engine);
            if self.idle_close {
                self.idle_close = false;
                self.close_engine(&engine).await;
            }
        }
    }

    fn engine_closed(
        &mut self,
        engine: &engineio::Client,
        reason: DisconnectReason,
        parse_error: bool,
    ) -> Outcome {
        let reason = if parse_error {
            DisconnectReason::TransportError
        } else {
            reason
        };
        self.core.handle_engine_close(reason);
        self.pump(engine);
        // No acknowledgement can come on a new connection.
        self.acks.clear();
        self.client.inner.lock().engine = None;
        let unexpected = matches!(
            reason,
            DisconnectReason::TransportError
                | DisconnectReason::TransportClose
                | DisconnectReason::PingTimeout
        );
        if self.stop || !unexpected || self.namespaces.is_empty() {
            Outcome::Stop
        } else {
            Outcome::Reconnect
        }
    }

    async fn on_command(&mut self, cmd: Command, engine: &engineio::Client) {
        match cmd {
            Command::Emit {
                namespace,
                event,
                args,
                ack,
            } => match self.core.emit(&namespace, &event, args, ack.is_some()) {
                Ok(Some(id)) => {
                    if let Some(cb) = ack {
                        self.acks.insert((namespace, id), cb);
                    }
                }
                Ok(None) => {}
                // It disconnected after the handle checked: dropped, as
                // python drops emits to unconnected namespaces.
                Err(_) => {}
            },
            Command::Ack {
                namespace,
                id,
                args,
            } => {
                let _ = self.core.ack(&namespace, id, args);
            }
            Command::DisconnectNamespace(ns, tx) => {
                self.namespaces.retain(|n| *n != ns);
                self.core.disconnect(&ns);
                self.pump(engine);
                if self.namespaces.is_empty() {
                    self.stop = true;
                    self.close_engine(engine).await;
                }
                let _ = tx.send(());
            }
            Command::Disconnect(tx) => {
                self.stop = true;
                self.waiters.push(tx);
                self.core.disconnect_all();
                self.pump(engine);
                self.close_engine(engine).await;
            }
        }
    }

    /// Closes the Engine.IO connection after what was queued (the
    /// DISCONNECT packets) has reached the server: a polling server may
    /// handle a `close` in the same payload before them.
    async fn close_engine(&mut self, engine: &engineio::Client) {
        let limit = self.client.inner.options.engineio.request_timeout * 2;
        let _ = tokio::time::timeout(limit, engine.flush()).await;
        engine.disconnect().await;
    }

    /// Drains the state machine's outputs.
    fn pump(&mut self, engine: &engineio::Client) {
        while let Some(data) = self.core.poll_transmit() {
            // Refused only once the connection is closing; its disconnect
            // event follows.
            let _ = engine.send(data);
        }
        while let Some(ev) = self.core.poll_event() {
            match ev {
                CoreEvent::Connect { nsp, sid } => {
                    self.client.inner.lock().namespaces.push((nsp.clone(), sid));
                    let _ = self.progress.send(Progress::Namespace(nsp.clone(), Ok(())));
                    self.dispatch(Dispatch::Connect(nsp));
                }
                CoreEvent::ConnectError { nsp, data } => {
                    let _ = self
                        .progress
                        .send(Progress::Namespace(nsp.clone(), Err(data.clone())));
                    self.dispatch(Dispatch::ConnectError(nsp, data));
                    if self.core.is_idle() {
                        self.idle_close = true;
                    }
                }
                CoreEvent::Disconnect { nsp, reason } => {
                    self.client
                        .inner
                        .lock()
                        .namespaces
                        .retain(|(n, _)| *n != nsp);
                    if reason == DisconnectReason::ServerDisconnect {
                        // The server kicked it: not connected again on a
                        // reconnection.
                        self.namespaces.retain(|n| *n != nsp);
                        if self.core.is_idle() {
                            self.idle_close = true;
                            self.stop = true;
                        }
                    }
                    self.dispatch(Dispatch::Disconnect(nsp, reason));
                }
                CoreEvent::Event {
                    nsp,
                    name,
                    args,
                    ack_id,
                } => self.dispatch(Dispatch::Event(Event {
                    namespace: nsp,
                    name,
                    args,
                    ack_id,
                })),
                CoreEvent::Ack { nsp, id, args } => match self.acks.remove(&(nsp, id)) {
                    Some(Ack::Callback(cb)) => self.dispatch(Dispatch::Ack(cb, args)),
                    Some(Ack::Reply(tx)) => {
                        let _ = tx.send(args);
                    }
                    None => {}
                },
                _ => {}
            }
        }
    }
}
