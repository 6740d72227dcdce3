//! Ctrl-C handling (`handle_sigint`): one process-wide watcher.
//!
//! Once any client with `handle_sigint` connects, a thread named
//! `eio-sigint` (with its own small runtime, so it works whatever
//! runtime the clients use, and even after theirs has stopped) listens for
//! Ctrl-C. On Ctrl-C it asks every registered client to disconnect
//! gracefully; their `wait()` then returns, which ends the typical
//! `connect … wait` program. Installing the listener replaces the default
//! Ctrl-C action (terminating the process) for good, so a Ctrl-C that finds
//! no client to disconnect terminates the process with status 130 itself:
//! Ctrl-C never hangs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once, PoisonError};

use tokio::sync::mpsc;

use super::driver::Command;

static CLIENTS: Mutex<Vec<(u64, mpsc::UnboundedSender<Command>)>> = Mutex::new(Vec::new());
static START: Once = Once::new();
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// Unregisters its client when dropped (the driver ended).
#[derive(Debug)]
pub(crate) struct Registration(u64);

impl Drop for Registration {
    fn drop(&mut self) {
        CLIENTS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(id, _)| *id != self.0);
    }
}

/// Registers a client's command channel; starts the watcher on first use.
pub(crate) fn register(commands: mpsc::UnboundedSender<Command>) -> Registration {
    START.call_once(start_watcher);
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    CLIENTS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push((id, commands));
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
                while interrupts.next().await {
                    let clients = std::mem::take(
                        &mut *CLIENTS.lock().unwrap_or_else(PoisonError::into_inner),
                    );
                    let mut any = false;
                    for (_, tx) in clients {
                        any |= tx.send(Command::Disconnect).is_ok();
                    }
                    if any {
                        tracing::info!("engine.io client: Ctrl-C, disconnecting");
                    } else {
                        std::process::exit(130);
                    }
                }
            });
        });
    match spawned {
        Ok(_) => {
            let _ = ready_rx.recv_timeout(std::time::Duration::from_secs(2));
        }
        Err(e) => tracing::warn!("engine.io client: cannot watch Ctrl-C: {e}"),
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
}
