//! HTTP helpers for the server: CORS, cookies, compression, static files (in progress).
#![allow(dead_code)]
