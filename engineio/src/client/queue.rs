//! An unbounded many-producer, single-consumer queue that holds no buffer
//! until its first message: the client's internal channels.
//!
//! tokio's `mpsc` allocates a block of 32 slots with each channel, about
//! 2 KB for the client's message types, and a connection has four such
//! channels: a quarter of an idle connection's memory. This queue is a
//! mutex over a [`Fifo`]: one inline slot and a `VecDeque` behind it. The
//! oldest message sits in the slot, so a queue that never holds more than
//! one message at a time (a connection with one message in flight, the
//! common case) never allocates, and the deque's buffer, allocated by a
//! burst, is freed once the burst is drained: an idle connection keeps no
//! buffer at all (it kept four slots, 224 to 288 bytes per queue, when the
//! queue was a plain `VecDeque`). The senders and the receiver of one
//! connection run on the same runtime, so the lock is uncontended: a send
//! or a receive is one lock and one unlock.
//!
//! What the client relies on is tokio's `mpsc` semantics, the runtime's
//! cooperative budget included: `send` fails
//! once the receiver is gone, `recv` yields `None` once every sender is
//! gone and the queue is empty, and dropping the receiver drops the queued
//! messages (so a queued reply channel tells its waiter).

use std::future::poll_fn;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use crate::lock;
use crate::proto::fifo::Fifo;

struct State<T> {
    items: Fifo<T>,
    /// The receiver's waker while it waits.
    waker: Option<Waker>,
    senders: usize,
    receiver: bool,
}

type Shared<T> = Arc<Mutex<State<T>>>;

/// A new queue.
pub(crate) fn queue<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Mutex::new(State {
        items: Fifo::new(),
        waker: None,
        senders: 1,
        receiver: true,
    }));
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

/// The sending side; cheap to clone.
pub(crate) struct Sender<T> {
    shared: Shared<T>,
}

impl<T> Sender<T> {
    /// Queues `item`; gives it back if the receiver is gone.
    pub(crate) fn send(&self, item: T) -> Result<(), T> {
        let waker = {
            let mut s = lock(&self.shared);
            if !s.receiver {
                return Err(item);
            }
            s.items.push_back(item);
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        lock(&self.shared).senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let waker = {
            let mut s = lock(&self.shared);
            s.senders -= 1;
            if s.senders > 0 {
                return;
            }
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// The receiving side.
pub(crate) struct Receiver<T> {
    shared: Shared<T>,
}

impl<T> Receiver<T> {
    /// The next message, or `None` once every sender is gone and nothing
    /// is queued. Cancel-safe: a message is taken only when returned.
    pub(crate) async fn recv(&mut self) -> Option<T> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// [`recv`](Self::recv) as a poll function.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        // As tokio's own channels: a receive spends the task's budget, so a
        // task that always finds a message still yields to the runtime (to
        // its timers and sockets) now and then.
        let coop = std::task::ready!(tokio::task::coop::poll_proceed(cx));
        let mut s = lock(&self.shared);
        if let Some(item) = s.items.pop_front() {
            coop.made_progress();
            return Poll::Ready(Some(item));
        }
        if s.senders == 0 {
            coop.made_progress();
            return Poll::Ready(None);
        }
        match &mut s.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let items = {
            let mut s = lock(&self.shared);
            s.receiver = false;
            s.waker = None;
            std::mem::take(&mut s.items)
        };
        // Dropped outside the lock: a message's drop may send again.
        drop(items);
    }
}

impl<T> std::fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("queue::Sender").finish_non_exhaustive()
    }
}

impl<T> std::fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("queue::Receiver").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::task::Wake;

    struct Flag(AtomicBool);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    fn cx_flag() -> (Arc<Flag>, Waker) {
        let f = Arc::new(Flag(AtomicBool::new(false)));
        (f.clone(), Waker::from(f))
    }

    #[test]
    fn no_buffer_until_the_first_message_and_order_is_kept() {
        let (tx, mut rx) = queue::<u32>();
        assert_eq!(lock(&tx.shared).items.spilled_capacity(), 0);
        let (flag, waker) = cx_flag();
        let mut cx = Context::from_waker(&waker);
        assert!(rx.poll_recv(&mut cx).is_pending());
        let tx2 = tx.clone();
        tx.send(1).unwrap();
        assert!(flag.0.load(Ordering::SeqCst), "a send wakes the receiver");
        tx2.send(2).unwrap();
        assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(1)));
        assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(2)));
        assert!(rx.poll_recv(&mut cx).is_pending());
    }

    #[test]
    fn the_last_sender_gone_ends_the_queue_after_what_is_queued() {
        let (tx, mut rx) = queue::<u32>();
        let (flag, waker) = cx_flag();
        let mut cx = Context::from_waker(&waker);
        let tx2 = tx.clone();
        tx.send(7).unwrap();
        drop(tx);
        assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(7)));
        assert!(rx.poll_recv(&mut cx).is_pending(), "a sender remains");
        drop(tx2);
        assert!(flag.0.load(Ordering::SeqCst), "the last drop wakes it");
        assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(None));
    }

    #[test]
    fn a_dropped_receiver_refuses_sends_and_drops_what_was_queued() {
        let (tx, rx) = queue::<tokio::sync::oneshot::Sender<()>>();
        let (reply, mut waiter) = tokio::sync::oneshot::channel();
        tx.send(reply).unwrap();
        assert!(waiter.try_recv().is_err());
        drop(rx);
        assert!(
            matches!(
                waiter.try_recv(),
                Err(tokio::sync::oneshot::error::TryRecvError::Closed)
            ),
            "the queued reply channel was dropped"
        );
        let (reply, _waiter) = tokio::sync::oneshot::channel();
        assert!(tx.send(reply).is_err());
    }

    #[tokio::test]
    async fn a_receiver_that_always_finds_a_message_still_yields() {
        let (tx, mut rx) = queue::<u32>();
        for i in 0..10_000 {
            tx.send(i).unwrap();
        }
        // Once drained, `recv` ends instead of waiting.
        drop(tx);
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        tokio::spawn(async move { r.store(true, Ordering::SeqCst) });
        let mut received = 0;
        while !ran.load(Ordering::SeqCst) {
            assert!(rx.recv().await.is_some(), "drained without yielding");
            received += 1;
        }
        assert!(received < 10_000, "{received}");
    }

    #[test]
    fn one_at_a_time_never_allocates_and_a_drained_burst_frees_its_buffer() {
        let (tx, mut rx) = queue::<u32>();
        let (_flag, waker) = cx_flag();
        let mut cx = Context::from_waker(&waker);
        for i in 0..100 {
            tx.send(i).unwrap();
            assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(i)));
        }
        assert_eq!(
            lock(&tx.shared).items.spilled_capacity(),
            0,
            "one in flight"
        );
        for i in 0..10 {
            tx.send(i).unwrap();
        }
        assert!(
            lock(&tx.shared).items.spilled_capacity() >= 9,
            "the burst is queued"
        );
        for i in 0..9 {
            assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(i)));
            tx.send(100 + i).unwrap();
        }
        let mut order = Vec::new();
        while let Poll::Ready(Some(i)) = rx.poll_recv(&mut cx) {
            order.push(i);
        }
        let want: Vec<u32> = std::iter::once(9).chain(100..109).collect();
        assert_eq!(order, want, "first in, first out across the slot");
        assert_eq!(
            lock(&tx.shared).items.spilled_capacity(),
            0,
            "drained: no buffer"
        );
    }

    #[tokio::test]
    async fn recv_waits_for_a_send_from_another_task() {
        let (tx, mut rx) = queue::<&'static str>();
        let t = tokio::spawn(async move {
            tokio::task::yield_now().await;
            tx.send("hi").unwrap();
        });
        assert_eq!(rx.recv().await, Some("hi"));
        assert_eq!(rx.recv().await, None);
        t.await.unwrap();
    }
}
