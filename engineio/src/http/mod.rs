//! HTTP helpers for the server driver: origin checks and CORS headers, the
//! session cookie, polling-response compression and static file rules.
//!
//! Each submodule is small and decides without doing network IO; the server
//! (`crate::server`) calls them and writes the responses. Only the settings
//! users give the server are public, re-exported as `engineio::server::…`:
//! [`CorsPolicy`], [`CorsOrigins`], [`CookieConfig`] (with
//! [`CookieConfigBuilder`] and [`CookieError`]) and [`StaticFiles`].
//! Everything else is crate-private.

// Until the server driver calls these helpers and re-exports the config
// types, they look unused and unreachable; remove the allows once it does.
#![allow(dead_code, unreachable_pub, unused_imports)]

pub(crate) mod compression;
pub(crate) mod cookie;
pub(crate) mod cors;
pub(crate) mod static_files;

pub use cookie::{CookieConfig, CookieConfigBuilder, CookieError, CookieValueFn};
pub use cors::{CorsOrigins, CorsPolicy, OriginPredicate};
pub use static_files::StaticFiles;
