//! python-socketio's reconnection schedule, as a pure function of the
//! attempt number and a random number the driver supplies.
//!
//! The delay before attempt *n* (1-based) is
//! `min(delay · 2^(n-1), delay_max) + randomization_factor · (2r − 1)`
//! seconds, clamped at zero, with `r` uniform in `[0, 1)`. The jitter is
//! ± `randomization_factor` *seconds*, added after the cap (so a delay can
//! exceed `delay_max`); this is what python-socketio's client does, unlike
//! socket.io-client's multiplicative jitter.
//!
//! ```
//! use std::time::Duration;
//! use socketio_proto::{Backoff, ReconnectConfig};
//!
//! let mut b = Backoff::new(ReconnectConfig::default());
//! let delays: Vec<_> = (0..5).map(|_| b.next_delay(0.5).unwrap().as_secs()).collect();
//! assert_eq!(delays, [1, 2, 4, 5, 5]);
//! assert_eq!(b.attempt(), 5);
//! b.reset(); // connected again
//! assert_eq!(b.next_delay(0.0), Some(Duration::from_millis(500)));
//! ```

use std::time::Duration;

/// Reconnection options, with python-socketio's defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct ReconnectConfig {
    /// The first delay (`reconnection_delay`). Default 1 s.
    pub delay: Duration,
    /// The cap on the doubling delay, before jitter
    /// (`reconnection_delay_max`). Default 5 s.
    pub delay_max: Duration,
    /// The jitter, in seconds either way (`randomization_factor`). Default
    /// 0.5.
    pub randomization_factor: f64,
    /// How many attempts before giving up; 0 means never give up
    /// (`reconnection_attempts`). Default 0.
    pub attempts: u32,
}

impl Default for ReconnectConfig {
    fn default() -> Self {
        ReconnectConfig {
            delay: Duration::from_secs(1),
            delay_max: Duration::from_secs(5),
            randomization_factor: 0.5,
            attempts: 0,
        }
    }
}

impl ReconnectConfig {
    /// Sets [`ReconnectConfig::delay`].
    #[must_use]
    pub fn with_delay(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }

    /// Sets [`ReconnectConfig::delay_max`].
    #[must_use]
    pub fn with_delay_max(mut self, d: Duration) -> Self {
        self.delay_max = d;
        self
    }

    /// Sets [`ReconnectConfig::randomization_factor`].
    #[must_use]
    pub fn with_randomization_factor(mut self, f: f64) -> Self {
        self.randomization_factor = f;
        self
    }

    /// Sets [`ReconnectConfig::attempts`] (0 = infinite).
    #[must_use]
    pub fn with_attempts(mut self, n: u32) -> Self {
        self.attempts = n;
        self
    }
}

/// The state of one reconnection loop: how many attempts were made and the
/// current (uncapped) delay.
#[derive(Clone, Debug)]
pub struct Backoff {
    cfg: ReconnectConfig,
    attempt: u32,
    current: Duration,
}

impl Backoff {
    /// A fresh schedule.
    pub fn new(cfg: ReconnectConfig) -> Self {
        Backoff {
            cfg,
            attempt: 0,
            current: cfg.delay,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ReconnectConfig {
        &self.cfg
    }

    /// The delay to wait before the next attempt, or `None` once
    /// [`ReconnectConfig::attempts`] attempts have been made. `random` must
    /// be uniform in `[0, 1)` (values outside are clamped); the driver
    /// supplies it so the schedule stays deterministic under test.
    pub fn next_delay(&mut self, random: f64) -> Option<Duration> {
        if self.cfg.attempts != 0 && self.attempt >= self.cfg.attempts {
            return None;
        }
        self.attempt = self.attempt.saturating_add(1);
        let base = self.current.min(self.cfg.delay_max).as_secs_f64();
        let r = if random.is_nan() {
            0.5
        } else {
            random.clamp(0.0, 1.0)
        };
        let secs = base + self.cfg.randomization_factor * (2.0 * r - 1.0);
        self.current = self.current.saturating_mul(2);
        Some(Duration::try_from_secs_f64(secs.max(0.0)).unwrap_or(Duration::MAX))
    }

    /// Attempts made so far: 0 before the first [`Backoff::next_delay`],
    /// then 1, 2, ...
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Starts over (after a successful reconnection).
    pub fn reset(&mut self) {
        self.attempt = 0;
        self.current = self.cfg.delay;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64*, for reproducible randomness.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> f64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    fn secs(d: Duration) -> f64 {
        d.as_secs_f64()
    }

    #[test]
    fn schedule_with_middle_random() {
        let mut b = Backoff::new(ReconnectConfig::default());
        assert_eq!(b.attempt(), 0);
        let mut clock = Duration::ZERO;
        let mut at = Vec::new();
        for n in 1..=7 {
            let d = b.next_delay(0.5).unwrap();
            assert_eq!(b.attempt(), n);
            clock += d;
            at.push(d.as_secs());
        }
        assert_eq!(at, [1, 2, 4, 5, 5, 5, 5]);
        // Simulated clock: the 5th attempt starts 17 s after the drop.
        assert_eq!(clock, Duration::from_secs(1 + 2 + 4 + 5 + 5 + 5 + 5));
    }

    #[test]
    fn no_jitter_ignores_random() {
        let cfg = ReconnectConfig::default().with_randomization_factor(0.0);
        let mut rng = Rng(0x1234_5678);
        let mut b = Backoff::new(cfg);
        let d: Vec<u64> = (0..6)
            .map(|_| b.next_delay(rng.next()).unwrap().as_secs())
            .collect();
        assert_eq!(d, [1, 2, 4, 5, 5, 5]);
    }

    #[test]
    fn attempts_limit_and_reset() {
        let mut b = Backoff::new(ReconnectConfig::default().with_attempts(3));
        assert!(b.next_delay(0.5).is_some());
        assert!(b.next_delay(0.5).is_some());
        assert!(b.next_delay(0.5).is_some());
        assert_eq!(b.next_delay(0.5), None);
        assert_eq!(b.next_delay(0.5), None);
        assert_eq!(b.attempt(), 3);
        b.reset();
        assert_eq!(b.attempt(), 0);
        assert_eq!(b.next_delay(0.5), Some(Duration::from_secs(1)));
    }

    #[test]
    fn infinite_attempts() {
        let mut b = Backoff::new(ReconnectConfig::default());
        for _ in 0..10_000 {
            assert!(b.next_delay(0.5).is_some());
        }
        assert_eq!(b.attempt(), 10_000);
        // The doubling saturates instead of overflowing.
        assert_eq!(b.next_delay(0.5), Some(Duration::from_secs(5)));
    }

    #[test]
    fn jitter_bounds() {
        let mut rng = Rng(42);
        for seed in 0..50u64 {
            let mut b = Backoff::new(ReconnectConfig::default());
            rng.0 ^= seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
            for n in 1..=8u32 {
                let base = f64::from(1u32 << (n - 1).min(3)).min(5.0);
                let d = secs(b.next_delay(rng.next()).unwrap());
                assert!(d >= base - 0.5 - 1e-9 && d < base + 0.5 + 1e-9, "{n}: {d}");
            }
        }
        // Extremes, and clamping at zero with a large factor.
        let mut b = Backoff::new(ReconnectConfig::default());
        assert_eq!(b.next_delay(0.0), Some(Duration::from_millis(500)));
        let mut b = Backoff::new(ReconnectConfig::default().with_randomization_factor(3.0));
        assert_eq!(b.next_delay(0.0), Some(Duration::ZERO));
        assert_eq!(b.next_delay(1.0), Some(Duration::from_secs(5)));
        assert_eq!(b.next_delay(f64::NAN), Some(Duration::from_secs(4)));
    }
}
