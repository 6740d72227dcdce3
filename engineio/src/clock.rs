//! The one clock of the server and the clients: tokio's.
//!
//! Every protocol deadline (heartbeats, upgrade and close timeouts, the
//! linger of a closed session) is computed from [`now`], so a runtime with
//! paused time (`#[tokio::test(start_paused = true)]`, the fuzz targets)
//! runs them in virtual time; outside a paused runtime it is the system's
//! monotonic clock. The sans-IO cores take this instant as an input and
//! never read a clock themselves.
//!
//! The blocking wrappers' own waits (`recv_timeout`, `wait_timeout`) are
//! the calling thread's wall-clock time: that thread is outside any runtime.

use std::time::Instant;

/// Now, on tokio's clock.
pub(crate) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}
