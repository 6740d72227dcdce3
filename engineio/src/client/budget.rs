//! The byte budget of received data that waits for the application.
//!
//! Every received packet and every event is *charged* its size plus
//! [`EVENT_OVERHEAD`] from the moment it is read until the application has
//! it (its handler returned, or an [`Events`](super::Events) stream yielded
//! it). Producers check [`Budget::has_room`] before reading more: the
//! WebSocket reader before each frame, the driver before each polling GET and
//! before decoding the next packet of a GET body. A producer may overshoot
//! by one message, so what waits is bounded by the limit plus one message.
//!
//! Channels behind the budget stay unbounded on purpose: sending never
//! waits, so the driver keeps answering commands, timers and the
//! `Disconnect` event always gets through; the budget is what stops the
//! reading.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// What one event costs besides its data: the event, its channel slot and
/// allocations (issue #13 measured about 100 bytes per queued event), rounded
/// up.
pub(crate) const EVENT_OVERHEAD: usize = 128;

#[derive(Debug)]
pub(crate) struct Budget {
    used: AtomicUsize,
    limit: usize,
    /// The producers waiting for room (the driver and the WebSocket),
    /// woken when a release brings the charge under the limit.
    waiting: Mutex<Vec<Waker>>,
}

impl Budget {
    pub(crate) fn new(limit: usize) -> Arc<Budget> {
        Arc::new(Budget {
            used: AtomicUsize::new(0),
            limit: limit.max(1),
            waiting: Mutex::new(Vec::new()),
        })
    }

    /// Whether a producer may read more.
    pub(crate) fn has_room(&self) -> bool {
        self.used.load(Ordering::Acquire) < self.limit
    }

    /// Bytes charged now.
    #[cfg(test)]
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }

    /// Charges `bytes` (plus [`EVENT_OVERHEAD`]) until the returned charge is
    /// dropped.
    pub(crate) fn charge(self: &Arc<Self>, bytes: usize) -> Charge {
        let n = bytes.saturating_add(EVENT_OVERHEAD);
        self.used.fetch_add(n, Ordering::AcqRel);
        Charge {
            budget: self.clone(),
            n,
        }
    }

    /// Ready once [`has_room`](Self::has_room) is true; until then the
    /// task is woken when a release makes room.
    pub(crate) fn poll_room(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.has_room() {
            return Poll::Ready(());
        }
        {
            let mut waiting = crate::lock(&self.waiting);
            if !waiting.iter().any(|w| w.will_wake(cx.waker())) {
                waiting.push(cx.waker().clone());
            }
        }
        // Registered before the check, so a release in between wakes us.
        if self.has_room() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Completes once [`has_room`](Self::has_room) is true.
    pub(crate) async fn room(&self) {
        std::future::poll_fn(|cx| self.poll_room(cx)).await;
    }
}

/// Bytes charged to a [`Budget`], released on drop.
#[derive(Debug)]
pub(crate) struct Charge {
    budget: Arc<Budget>,
    n: usize,
}

impl Drop for Charge {
    fn drop(&mut self) {
        let before = self.budget.used.fetch_sub(self.n, Ordering::AcqRel);
        if before >= self.budget.limit && before - self.n < self.budget.limit {
            let waiting = std::mem::take(&mut *crate::lock(&self.budget.waiting));
            for w in waiting {
                w.wake();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn room_wakes_when_a_charge_is_released() {
        let b = Budget::new(1000);
        let c = b.charge(2000);
        assert!(!b.has_room());
        let waiter = tokio::spawn({
            let b = b.clone();
            async move { b.room().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(c);
        waiter.await.unwrap();
        assert!(b.has_room());
        assert_eq!(b.used(), 0);
    }
}
