//! HTTP helpers for the server driver: origin checks and CORS headers, the
//! session cookie, polling-response compression and static file rules.
//!
//! Each submodule is small and decides without doing network IO; the server
//! (`crate::server`) calls them and writes the responses. Generic HTTP is
//! left to well-kept crates: tower-http compresses polling answers and
//! serves files, `cookie` splits `Cookie` headers, `percent-encoding`
//! decodes URL paths; what stays here is python-engineio's semantics.
//!
//! Only the settings users give the server are public, re-exported as
//! `engineio::server::…`:
//! [`CorsPolicy`], [`CorsOrigins`], [`CookieConfig`] (with
//! [`CookieConfigBuilder`] and [`CookieError`]) and [`StaticFiles`].
//! Everything else is crate-private.

pub(crate) mod compression;
pub(crate) mod cookie;
pub(crate) mod cors;
pub(crate) mod static_files;

pub use cookie::{CookieConfig, CookieConfigBuilder, CookieError, CookieValueFn};
pub(crate) use cors::CorsPolicy;
pub use cors::{CorsOrigins, OriginPredicate};
pub use static_files::StaticFiles;
