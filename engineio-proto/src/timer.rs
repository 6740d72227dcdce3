//! Timers as an enum plus a fixed table; the earliest deadline drives the
//! driver's single timer.

use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// Server: send the next ping. Client: unused.
    Ping = 0,
    /// Server: the pong is late. Client: no ping arrived in time.
    Heartbeat = 1,
    /// The upgrade took too long.
    Upgrade = 2,
    /// A closing session waited too long to flush. Server, once closed: the
    /// end of the linger (`server::CLOSE_LINGER`).
    Close = 3,
}

const COUNT: usize = 4;
const ALL: [Timer; COUNT] = [Timer::Ping, Timer::Heartbeat, Timer::Upgrade, Timer::Close];

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TimerTable([Option<Instant>; COUNT]);

impl TimerTable {
    pub(crate) fn set(&mut self, t: Timer, at: Instant) {
        self.0[t as usize] = Some(at);
    }

    pub(crate) fn stop(&mut self, t: Timer) {
        self.0[t as usize] = None;
    }

    pub(crate) fn get(&self, t: Timer) -> Option<Instant> {
        self.0[t as usize]
    }

    pub(crate) fn stop_all(&mut self) {
        self.0 = [None; COUNT];
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.0.iter().flatten().min().copied()
    }

    /// Timers expired at `now`, cleared as they are returned, in table order.
    pub(crate) fn expired(&mut self, now: Instant) -> impl Iterator<Item = Timer> + '_ {
        ALL.into_iter().filter(move |t| {
            let slot = &mut self.0[*t as usize];
            if slot.is_some_and(|at| at <= now) {
                *slot = None;
                true
            } else {
                false
            }
        })
    }
}
