//! The buffers both ends' WebSocket sockets share per thread, so that an
//! idle socket holds none: every read lands in the thread's scratch buffer
//! first (only an incomplete frame is copied out and kept), and frames to
//! write are encoded into the thread's spare output buffer, which goes back
//! once they are written.

use std::cell::RefCell;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use tokio::io::{AsyncRead, ReadBuf};

/// Output bytes encoded per refill: the rest stays queued (on the server
/// in the session's core, where `max_queued_packets` bounds it).
pub(crate) const OUT_BATCH: usize = 64 * 1024;

/// Read scratch size: every read lands here first, so an idle socket holds
/// no read buffer of its own.
const SCRATCH: usize = 16 * 1024;

/// The largest output buffer a thread keeps spare (see [`SPARE_OUT`]).
const MAX_SPARE: usize = 2 * OUT_BATCH;

thread_local! {
    static SCRATCH_BUF: RefCell<Box<[u8]>> = RefCell::new(vec![0; SCRATCH].into_boxed_slice());
    /// An output buffer that no socket on this thread is using. A socket
    /// with packets to encode takes it, and puts it back once everything is
    /// written, so an idle socket holds no output buffer (its last frames
    /// kept 128 bytes per idle session) and a busy one allocates none.
    static SPARE_OUT: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Gives an empty `out` with no allocation the thread's spare buffer.
pub(crate) fn take_spare(out: &mut Vec<u8>) {
    if out.capacity() == 0 {
        *out = SPARE_OUT.with(std::cell::Cell::take);
    }
}

/// Hands `out`, now written out, to the thread as its spare buffer (the
/// larger one is kept; one over [`MAX_SPARE`] is freed).
pub(crate) fn put_spare(out: &mut Vec<u8>) {
    if out.capacity() == 0 {
        return;
    }
    let mut buf = std::mem::take(out);
    if buf.capacity() > MAX_SPARE {
        return;
    }
    buf.clear();
    SPARE_OUT.with(|spare| {
        let other = spare.take();
        spare.set(if other.capacity() > buf.capacity() {
            other
        } else {
            buf
        });
    });
}

/// Lets go of `input`'s buffer once every byte of it is decoded. The
/// decoder splits frames off the front, so a drained `input` still shares
/// the buffer of the last read (with no capacity left of its own) and
/// would keep it, and the bytes of the last frame, for as long as the
/// socket is idle: 150 bytes per idle client connection after its `open`
/// packet (heap profile, 2026-12-04).
pub(crate) fn release_if_drained(input: &mut BytesMut) {
    if input.is_empty() {
        *input = BytesMut::new();
    }
}

/// Reads what the socket has into `input`, through the thread's scratch
/// buffer.
pub(crate) fn poll_read_into<S: AsyncRead + Unpin>(
    io: &mut S,
    cx: &mut Context<'_>,
    input: &mut BytesMut,
) -> Poll<std::io::Result<usize>> {
    SCRATCH_BUF.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        let mut buf = ReadBuf::new(&mut scratch[..]);
        match Pin::new(io).poll_read(cx, &mut buf) {
            Poll::Ready(Ok(())) => {
                let filled = buf.filled();
                input.extend_from_slice(filled);
                Poll::Ready(Ok(filled.len()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::release_if_drained;
    use bytes::BytesMut;

    #[test]
    fn a_drained_input_no_longer_holds_the_last_frame() {
        let mut input = BytesMut::new();
        input.extend_from_slice(b"a frame of 20 bytes.");
        let frame = input.split_to(20).freeze();
        assert!(input.is_empty());
        assert!(!frame.is_unique(), "the drained input still shares it");
        release_if_drained(&mut input);
        assert!(frame.is_unique(), "released");

        let mut partial = BytesMut::new();
        partial.extend_from_slice(b"half a frame");
        let first = partial.split_to(4).freeze();
        release_if_drained(&mut partial);
        assert_eq!(&partial[..], b" a frame", "undecoded bytes stay");
        assert!(!first.is_unique());
    }
}
