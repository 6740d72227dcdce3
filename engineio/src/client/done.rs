//! "This task has ended, and why": set once by the driver task or the
//! handler task, awaited by any number of waiters ([`Client::wait`],
//! `disconnect`, the Ctrl-C watcher).
//!
//! Both live inside the connection's [`Shared`] state, a few words each,
//! where two `tokio::sync::watch` channels took an allocation of 344 bytes
//! apiece. A task holds a [`DoneGuard`]: it sets the reason when the task
//! finishes, and [`DisconnectReason::TransportError`] when the task ends
//! without saying why (it panicked, or it was aborted).
//!
//! [`Client::wait`]: super::Client::wait

use std::future::poll_fn;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use super::Shared;
use crate::proto::DisconnectReason;

/// One task's end: its reason once set, and who waits for it.
#[derive(Debug, Default)]
pub(crate) struct Done {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    reason: Option<DisconnectReason>,
    waiting: Vec<Waker>,
}

impl Done {
    /// Sets the reason, unless one is set already, and wakes the waiters.
    fn set(&self, reason: DisconnectReason) {
        let waiting = {
            let mut state = crate::lock(&self.state);
            if state.reason.is_some() {
                return;
            }
            state.reason = Some(reason);
            std::mem::take(&mut state.waiting)
        };
        for w in waiting {
            w.wake();
        }
    }

    fn poll_wait(&self, cx: &mut Context<'_>) -> Poll<DisconnectReason> {
        let mut state = crate::lock(&self.state);
        if let Some(reason) = state.reason {
            return Poll::Ready(reason);
        }
        if !state.waiting.iter().any(|w| w.will_wake(cx.waker())) {
            state.waiting.push(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Completes with the reason once it is set.
    pub(crate) async fn wait(&self) -> DisconnectReason {
        poll_fn(|cx| self.poll_wait(cx)).await
    }
}

/// Which task's [`Done`] a guard sets.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Task {
    Driver,
    Handlers,
}

/// Held by a task: [`set`](Self::set) when it finishes; dropped unset, it
/// reports [`DisconnectReason::TransportError`].
#[derive(Debug)]
pub(crate) struct DoneGuard {
    shared: Arc<Shared>,
    task: Task,
}

impl DoneGuard {
    pub(crate) fn new(shared: Arc<Shared>, task: Task) -> Self {
        DoneGuard { shared, task }
    }

    fn done(&self) -> &Done {
        self.shared.done(self.task)
    }

    /// Reports that the task finished, for `reason`.
    pub(crate) fn set(&self, reason: DisconnectReason) {
        self.done().set(reason);
    }
}

impl Drop for DoneGuard {
    fn drop(&mut self) {
        // A no-op after `set`.
        self.done().set(DisconnectReason::TransportError);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::TransportKind;

    #[tokio::test]
    async fn waiters_get_the_reason_set_and_a_dropped_guard_reports_an_error() {
        let shared = Arc::new(Shared::new(TransportKind::WebSocket));
        let driver = DoneGuard::new(shared.clone(), Task::Driver);
        let handlers = DoneGuard::new(shared.clone(), Task::Handlers);
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let shared = shared.clone();
                tokio::spawn(async move { shared.done(Task::Driver).wait().await })
            })
            .collect();
        tokio::task::yield_now().await;
        assert!(waiters.iter().all(|w| !w.is_finished()));
        driver.set(DisconnectReason::ServerDisconnect);
        // Later reasons, and the drop, do not change it.
        driver.set(DisconnectReason::PingTimeout);
        drop(driver);
        for w in waiters {
            assert_eq!(w.await.unwrap(), DisconnectReason::ServerDisconnect);
        }
        // A waiter that comes after it is set returns at once.
        assert_eq!(
            shared.done(Task::Driver).wait().await,
            DisconnectReason::ServerDisconnect
        );

        let waiter = tokio::spawn({
            let shared = shared.clone();
            async move { shared.done(Task::Handlers).wait().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(handlers);
        assert_eq!(waiter.await.unwrap(), DisconnectReason::TransportError);
    }
}
