//! The blocking Socket.IO client (work in progress).
