//! [`Fifo`]: a first-in, first-out queue that holds no buffer while it holds
//! at most one item.
//!
//! A client session's queues (packets to send, events for the application)
//! and the client's internal channels hold one item at a time almost
//! always: a ping's pong, a received message, a message to send. A
//! `VecDeque` allocates four slots on its first push and keeps them for
//! life, 224 to 288 bytes per queue for this crate's item types, which is
//! most of what an idle client connection holds beyond its tasks. A `Fifo`
//! keeps its oldest item inline and the rest in a `VecDeque` that is
//! allocated by a burst and freed once the burst is drained, so an idle
//! queue, and one that never holds two items, never allocates.
//!
//! ```
//! use engineio_proto::fifo::Fifo;
//!
//! let mut q = Fifo::new();
//! q.push_back(1);
//! q.push_back(2);
//! assert_eq!(q.front(), Some(&1));
//! assert_eq!(q.pop_front(), Some(1));
//! assert_eq!(q.pop_front(), Some(2));
//! assert!(q.is_empty());
//! assert_eq!(q.pop_front(), None);
//! ```

use std::collections::VecDeque;

/// A FIFO queue: the oldest item inline, the others in a `VecDeque` that
/// has a buffer only while it holds items. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Fifo<T> {
    /// The oldest item; `None` only when `rest` is empty too.
    head: Option<T>,
    /// The items after `head`.
    rest: VecDeque<T>,
}

impl<T> Default for Fifo<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Fifo<T> {
    /// An empty queue; it allocates nothing.
    pub const fn new() -> Self {
        Fifo {
            head: None,
            rest: VecDeque::new(),
        }
    }

    /// Appends `item`.
    pub fn push_back(&mut self, item: T) {
        if self.head.is_none() {
            self.head = Some(item);
        } else {
            self.rest.push_back(item);
        }
    }

    /// Takes the oldest item. Taking the last item of a burst frees the
    /// burst's buffer: one allocation per burst, none while the queue never
    /// holds two items.
    pub fn pop_front(&mut self) -> Option<T> {
        let item = self.head.take()?;
        self.head = self.rest.pop_front();
        if self.rest.is_empty() && self.rest.capacity() > 0 {
            self.rest = VecDeque::new();
        }
        Some(item)
    }

    /// The oldest item.
    pub fn front(&self) -> Option<&T> {
        self.head.as_ref()
    }

    /// Whether the queue is empty.
    pub fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    /// How many items are queued.
    pub fn len(&self) -> usize {
        usize::from(self.head.is_some()) + self.rest.len()
    }

    /// Drops every item and the buffer.
    pub fn clear(&mut self) {
        self.head = None;
        self.rest = VecDeque::new();
    }

    /// The slots allocated beside the inline one (0 while the queue has
    /// held at most one item since its last burst).
    pub fn spilled_capacity(&self) -> usize {
        self.rest.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::Fifo;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    #[test]
    fn one_at_a_time_never_allocates_and_a_drained_burst_frees_its_buffer() {
        let mut q = Fifo::new();
        for i in 0..100 {
            q.push_back(i);
            assert_eq!(q.pop_front(), Some(i));
        }
        assert_eq!(q.spilled_capacity(), 0, "one at a time");
        for i in 0..10 {
            q.push_back(i);
        }
        assert!(q.spilled_capacity() >= 9, "the burst is held");
        assert_eq!(q.len(), 10);
        while q.pop_front().is_some() {}
        assert_eq!(q.spilled_capacity(), 0, "drained: no buffer");
    }

    proptest! {
        /// Any interleaving of pushes and pops behaves as a `VecDeque`.
        #[test]
        fn behaves_as_a_vecdeque(ops in prop::collection::vec(any::<Option<u8>>(), 0..200)) {
            let mut q = Fifo::new();
            let mut model = VecDeque::new();
            for op in ops {
                match op {
                    Some(x) => {
                        q.push_back(x);
                        model.push_back(x);
                    }
                    None => prop_assert_eq!(q.pop_front(), model.pop_front()),
                }
                prop_assert_eq!(q.front(), model.front());
                prop_assert_eq!(q.len(), model.len());
                prop_assert_eq!(q.is_empty(), model.is_empty());
                if model.len() <= 1 {
                    prop_assert_eq!(q.spilled_capacity(), 0);
                }
            }
        }
    }
}
