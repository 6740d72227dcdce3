//! Ctrl-C handling (`handle_sigint`): one process-wide watcher.
//!
//! Once any client with `handle_sigint` connects, a thread named
//! `eio-sigint` (with its own small runtime, so it works whatever runtime
//! the clients use, and even after theirs has stopped) listens for Ctrl-C.
//! On Ctrl-C it starts the graceful disconnect of every registered client
//! and waits until each is done (its `close` delivered, its disconnect
//! handler returned), at most the longest grace period among them or until
//! a second Ctrl-C. Then, on Unix, it restores SIGINT's default action and
//! raises SIGINT again, so the process ends as an unhandled Ctrl-C ends it
//! (killed by SIGINT; a shell reports status 130) — what python-engineio
//! does by calling the previous SIGINT handler after its disconnects. The
//! library never calls `exit`: the signal does what the signal does. On
//! other platforms, where there is nothing to re-raise, the watcher stops
//! listening instead, so the next Ctrl-C has the system's default effect.
//!
//! This module knows nothing of clients: each registers a [`Target`], a
//! callback that starts its disconnect and returns a future that completes
//! once it is over. Registering is the only way in, so the dependency
//! points one way (the client's code calls this module, never the reverse).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once, PoisonError};
use std::time::Duration;

/// Completes once a client's disconnect is over.
pub(crate) type Done = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Starts a client's graceful disconnect (called at most once, from the
/// watcher thread); the returned future completes once it is over.
pub(crate) type Target = Box<dyn FnOnce() -> Done + Send + 'static>;

struct Entry {
    id: u64,
    /// How long the watcher waits for this client's disconnect.
    grace: Duration,
    target: Target,
}

static CLIENTS: Mutex<Vec<Entry>> = Mutex::new(Vec::new());
static START: Once = Once::new();
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// Unregisters its client when dropped (the client's connection ended).
#[derive(Debug)]
pub(crate) struct Registration(u64);

impl Drop for Registration {
    fn drop(&mut self) {
        lock().retain(|e| e.id != self.0);
    }
}

fn lock() -> std::sync::MutexGuard<'static, Vec<Entry>> {
    CLIENTS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Registers a client: on Ctrl-C, `target` is called and its future awaited
/// for at most `grace`. Starts the watcher on first use.
pub(crate) fn register(grace: Duration, target: Target) -> Registration {
    START.call_once(start_watcher);
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    lock().push(Entry { id, grace, target });
    Registration(id)
}

/// Starts the watcher thread and waits (briefly) until its handler is
/// installed, so that a Ctrl-C right after `connect` returns is handled.
fn start_watcher() {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    let spawned = std::thread::Builder::new()
        .name("eio-sigint".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::warn!("engine.io client: cannot watch Ctrl-C: {e}");
                    return;
                }
            };
            rt.block_on(async move {
                let mut interrupts = match Interrupts::install() {
                    Ok(i) => i,
                    Err(e) => {
                        tracing::warn!("engine.io client: cannot watch Ctrl-C: {e}");
                        return;
                    }
                };
                let _ = ready_tx.send(());
                watch(&mut interrupts).await;
            });
        });
    match spawned {
        Ok(_) => {
            let _ = ready_rx.recv_timeout(Duration::from_secs(2));
        }
        Err(e) => tracing::warn!("engine.io client: cannot watch Ctrl-C: {e}"),
    }
}

/// The watcher's loop: each Ctrl-C disconnects the registered clients, then
/// takes SIGINT's default action.
async fn watch(interrupts: &mut Interrupts) {
    while interrupts.next().await {
        let clients = std::mem::take(&mut *lock());
        if !clients.is_empty() {
            tracing::info!(
                "engine.io client: Ctrl-C, disconnecting {} client(s)",
                clients.len()
            );
            let grace = clients.iter().map(|e| e.grace).max().unwrap_or_default();
            let all = futures_util::future::join_all(clients.into_iter().map(|e| (e.target)()));
            tokio::select! {
                _ = tokio::time::timeout(grace, all) => {}
                // A second Ctrl-C does not wait any longer.
                _ = interrupts.next() => {}
            }
        }
        if !interrupts.default_action() {
            return;
        }
    }
}

/// Ctrl-C notifications. On Unix the SIGINT handler is installed when this
/// is created (tokio's `ctrl_c()` would install it on first poll).
struct Interrupts {
    #[cfg(unix)]
    signal: tokio::signal::unix::Signal,
}

impl Interrupts {
    fn install() -> std::io::Result<Self> {
        Ok(Interrupts {
            #[cfg(unix)]
            signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?,
        })
    }

    /// Waits for the next Ctrl-C; `false` if no more can come.
    async fn next(&mut self) -> bool {
        #[cfg(unix)]
        {
            self.signal.recv().await.is_some()
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await.is_ok()
        }
    }

    /// What an unhandled Ctrl-C does. On Unix: SIGINT's default action is
    /// restored and the signal raised, which ends the process (signal-hook
    /// falls back to `abort` should the signal not end it); this returns
    /// only if that failed. Elsewhere: `false`, the watcher stops, and with
    /// no listener left the next Ctrl-C gets the system's default.
    fn default_action(&self) -> bool {
        #[cfg(unix)]
        {
            let sigint = signal_hook::consts::SIGINT;
            if let Err(e) = signal_hook::low_level::emulate_default_handler(sigint) {
                tracing::warn!("engine.io client: cannot re-raise SIGINT: {e}");
            }
            true
        }
        #[cfg(not(unix))]
        {
            false
        }
    }
}
