//! The Engine.IO clients (in progress).
