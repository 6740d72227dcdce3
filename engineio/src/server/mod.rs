//! The Engine.IO server (in progress).
