//! engine.io 6.6.13's WebSocket limits (ws 8.23): a frame that arrives in
//! more than `maxBufferedChunks` pieces is closed with 1008; a client that
//! floods pings without reading is dropped once about 60 pongs wait unsent.
//!
//! Both cases speak WebSocket by hand over a raw `TcpStream`: they need
//! control over how a frame is cut into writes, and a client that never
//! reads, which a WebSocket library does not give.

use std::collections::VecDeque;
use std::io::ErrorKind;
use std::net::SocketAddr;

use tokio::net::TcpSocket;

use super::*;

const OP_TEXT: u8 = 0x1;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;

/// The pause between two pieces of a frame: with `TCP_NODELAY`, long enough
/// for each piece to reach the server as a read of its own.
const PIECE_PAUSE: Duration = Duration::from_millis(3);

/// A final client frame: masked, with the shortest length form.
fn masked_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let key = [0x5a, 0x13, 0xc7, 0x2e];
    let mut out = vec![0x80 | opcode];
    let n = payload.len();
    if n < 126 {
        out.push(0x80 | n as u8);
    } else if let Ok(n) = u16::try_from(n) {
        out.push(0x80 | 126);
        out.extend_from_slice(&n.to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(n as u64).to_be_bytes());
    }
    out.extend_from_slice(&key);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    out
}

/// What the server sent, frame by frame.
#[derive(Debug, PartialEq)]
enum Frame {
    Text(String),
    /// A close frame, with its status code if it had one.
    Close(Option<u16>),
    /// Any other frame (binary, ping, pong), by opcode.
    Other(u8),
    /// The end of the stream, or a read error.
    End(String),
}

/// A WebSocket client written by hand: what it reads is split into server
/// frames (unmasked, unfragmented: an engine.io server sends no others).
struct RawWs {
    stream: TcpStream,
    buf: Vec<u8>,
    frames: VecDeque<Frame>,
    /// The `101` has been read: what follows is frames.
    upgraded: bool,
    ended: bool,
}

impl RawWs {
    /// A direct WebSocket session on `stream`: the upgrade, its `101`, and
    /// the open packet (checked).
    async fn open(base: &str, mut stream: TcpStream) -> RawWs {
        stream.set_nodelay(true).expect("TCP_NODELAY");
        let head = upgrade_head(base, "EIO=4&transport=websocket");
        stream
            .write_all(head.as_bytes())
            .await
            .expect("write upgrade");
        let mut ws = RawWs {
            stream,
            buf: Vec::new(),
            frames: VecDeque::new(),
            upgraded: false,
            ended: false,
        };
        let deadline = tokio::time::Instant::now() + WAIT_LIMIT;
        let end = loop {
            if let Some(end) = find(&ws.buf, b"\r\n\r\n") {
                break end;
            }
            assert!(!ws.ended, "no upgrade response: {:?}", ws.buf);
            ws.read_until(deadline).await;
            assert!(tokio::time::Instant::now() < deadline, "upgrade timed out");
        };
        let status = String::from_utf8_lossy(&ws.buf[..end]).into_owned();
        assert!(
            status.starts_with("HTTP/1.1 101"),
            "expected 101 Switching Protocols: {status}"
        );
        ws.buf.drain(..end + 4);
        ws.upgraded = true;
        ws.parse();
        match ws.next().await {
            Frame::Text(t) => {
                parse_open(&t);
            }
            other => panic!("expected the open packet, got {other:?}"),
        }
        ws
    }

    /// Reads once (at most until `deadline`) and splits what came into
    /// frames; returns at the deadline with nothing read.
    async fn read_until(&mut self, deadline: tokio::time::Instant) {
        if self.ended {
            return;
        }
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
            Err(_) => {}
            Ok(Ok(0)) => {
                self.ended = true;
                self.frames.push_back(Frame::End("end of stream".into()));
            }
            Ok(Ok(n)) => {
                self.buf.extend_from_slice(&chunk[..n]);
                self.parse();
            }
            Ok(Err(e)) => {
                self.ended = true;
                self.frames.push_back(Frame::End(e.to_string()));
            }
        }
    }

    /// Moves the whole frames at the front of `buf` to `frames`.
    fn parse(&mut self) {
        while self.upgraded {
            let [b0, b1, ..] = self.buf[..] else { return };
            assert_eq!(b1 & 0x80, 0, "a server frame must not be masked");
            let (ext, len) = match b1 & 0x7F {
                126 if self.buf.len() >= 4 => (
                    2,
                    usize::from(u16::from_be_bytes([self.buf[2], self.buf[3]])),
                ),
                127 if self.buf.len() >= 10 => {
                    let mut n = [0u8; 8];
                    n.copy_from_slice(&self.buf[2..10]);
                    (8, u64::from_be_bytes(n) as usize)
                }
                126 | 127 => return,
                n => (0, usize::from(n)),
            };
            if self.buf.len() < 2 + ext + len {
                return;
            }
            let payload: Vec<u8> = self.buf.drain(..2 + ext + len).skip(2 + ext).collect();
            self.frames.push_back(match b0 & 0x0F {
                OP_TEXT => Frame::Text(String::from_utf8(payload).expect("UTF-8 text frame")),
                OP_CLOSE => {
                    Frame::Close(payload.get(..2).map(|c| u16::from_be_bytes([c[0], c[1]])))
                }
                op => Frame::Other(op),
            });
        }
    }

    /// The next frame other than a ping, pong or Engine.IO ping (`2`, not
    /// answered: these cases last less than a heartbeat timeout), within
    /// [`WAIT_LIMIT`].
    async fn next(&mut self) -> Frame {
        let deadline = tokio::time::Instant::now() + WAIT_LIMIT;
        loop {
            while let Some(f) = self.frames.pop_front() {
                match f {
                    Frame::Other(_) => {}
                    Frame::Text(t) if t == "2" => {}
                    f => return f,
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no frame within {WAIT_LIMIT:?}"
            );
            self.read_until(deadline).await;
        }
    }

    /// Reads until the next pong (skipping Engine.IO pings); panics on
    /// anything else.
    async fn expect_pong(&mut self) {
        let deadline = tokio::time::Instant::now() + WAIT_LIMIT;
        loop {
            while let Some(f) = self.frames.pop_front() {
                match f {
                    Frame::Other(OP_PONG) => return,
                    Frame::Text(t) if t == "2" => {}
                    f => panic!("expected a pong, got {f:?}"),
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no pong within {WAIT_LIMIT:?}"
            );
            self.read_until(deadline).await;
        }
    }

    /// Whether the server has closed (a close frame or the end of stream).
    fn closed(&self) -> bool {
        self.ended || self.frames.iter().any(|f| matches!(f, Frame::Close(_)))
    }

    /// Writes `frame` in `n` pieces (the header and 4 bytes of payload,
    /// then the rest of the payload cut evenly), [`PIECE_PAUSE`] apart,
    /// reading meanwhile; stops early once the server has closed.
    async fn send_in_pieces(&mut self, frame: &[u8], header: usize, n: usize) -> Pieces {
        let first = header + 4;
        let rest = frame.len() - first;
        assert!(
            n >= 2 && rest >= n - 1,
            "cannot cut {} bytes in {n}",
            frame.len()
        );
        let mut bounds = vec![0];
        bounds.extend((0..n).map(|i| first + rest * i / (n - 1)));
        let mut sent = Pieces {
            written: 0,
            min_gap: Duration::MAX,
            write_error: None,
        };
        let mut last: Option<tokio::time::Instant> = None;
        for piece in bounds.windows(2).map(|w| &frame[w[0]..w[1]]) {
            if self.closed() {
                break;
            }
            let now = tokio::time::Instant::now();
            if let Some(last) = last {
                sent.min_gap = sent.min_gap.min(now - last);
            }
            last = Some(now);
            if let Err(e) = self.stream.write_all(piece).await {
                // Closed meanwhile; what the server sent is still to read.
                sent.write_error = Some(e.to_string());
                break;
            }
            sent.written += 1;
            let pause_end = now + PIECE_PAUSE;
            while tokio::time::Instant::now() < pause_end && !self.closed() {
                self.read_until(pause_end).await;
            }
        }
        sent
    }
}

/// How [`RawWs::send_in_pieces`] went.
#[derive(Debug)]
struct Pieces {
    /// Pieces written in full.
    written: usize,
    /// The shortest time between the starts of two writes.
    min_gap: Duration,
    /// The write that failed, if one did.
    write_error: Option<String>,
}

/// A frame sent in more than [`FEW_CHUNKS`] pieces: closed with 1008.
///
/// ws 8.23 (engine.io 6.6.13) fails the connection, close code 1008 "Too
/// many buffered chunks", when a read arrives while `maxBufferedChunks`
/// reads of an incomplete frame are buffered. Node sends the close frame
/// and waits for the client's; the case asserts the close frame and its
/// code, and that it came only after more than [`FEW_CHUNKS`] pieces. A
/// control run sends the same frame in fewer pieces and gets it echoed, so
/// neither the frame nor the cutting is what the server refuses.
pub async fn ws_frame_over_max_chunks_closes_1008(base: &str) {
    let limit = FEW_CHUNKS as usize;
    let message = format!("4{}", "x".repeat(399));
    let frame = masked_frame(OP_TEXT, message.as_bytes());
    // 400 bytes: a 16-bit length, so 2 + 2 + 4 header bytes.
    let header = 8;

    // Control: half the limit.
    let stream = TcpStream::connect(host_port(base)).await.expect("connect");
    let mut ws = RawWs::open(base, stream).await;
    let sent = ws.send_in_pieces(&frame, header, limit / 2).await;
    assert_eq!(sent.written, limit / 2, "control: {sent:?}");
    assert!(sent.min_gap >= PIECE_PAUSE, "control: {sent:?}");
    match ws.next().await {
        Frame::Text(t) => assert_eq!(t, message, "control: the echo"),
        other => panic!("control: {limit}/2 pieces must be echoed, got {other:?}"),
    }

    // Twice the limit: the server closes once the limit is passed.
    let stream = TcpStream::connect(host_port(base)).await.expect("connect");
    let mut ws = RawWs::open(base, stream).await;
    let sent = ws.send_in_pieces(&frame, header, 2 * limit).await;
    eprintln!("over the limit: {sent:?}");
    assert!(sent.min_gap >= PIECE_PAUSE, "pieces too close: {sent:?}");
    assert!(
        sent.written > limit,
        "the server closed after {} pieces, within the limit of {limit}: {sent:?}",
        sent.written
    );
    let close = ws.next().await;
    eprintln!("the server sent {close:?}");
    assert_eq!(
        close,
        Frame::Close(Some(1008)),
        "a frame in {} pieces (limit {limit}) must be closed with 1008",
        sent.written
    );
}

/// A client that sends WebSocket pings and never reads is dropped.
///
/// ws 8.23 terminates the connection (no close frame) when a ping arrives
/// while 60 automatic pongs wait unsent; that happens once the client's
/// receive buffer (4 KiB here) and the server's send buffer are full of
/// pongs. The client answers the Engine.IO heartbeat blindly (a `3` every
/// 25 ms: Node takes a pong at any time, ours once its ping is out), so a
/// heartbeat timeout cannot stand in for the drop under test. First, as a
/// control, twice 60 pings answered one at a time and read: the limit is on
/// pongs waiting, not on pings.
///
/// (ws also terminates a client that reads everything but sends more than
/// 60 pings in one TCP read: its pongs complete a tick later. The flood
/// below meets that rule too, so against Node the count mostly measures
/// the buffers in flight.)
pub async fn ws_ping_flood_without_reading_is_dropped(base: &str) {
    const MAX_PINGS: usize = 300_000;
    const HEARTBEAT_EVERY: Duration = Duration::from_millis(25);
    let addr: SocketAddr = host_port(base).parse().expect("socket address");
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let stream = socket.connect(addr).await.expect("connect");
    let mut ws = RawWs::open(base, stream).await;

    let ping = masked_frame(OP_PING, &[b'p'; 125]);
    let heartbeat = masked_frame(OP_TEXT, b"3");
    let mut last_heartbeat = Instant::now();

    for i in 0..120 {
        if last_heartbeat.elapsed() >= HEARTBEAT_EVERY {
            last_heartbeat = Instant::now();
            ws.stream.write_all(&heartbeat).await.expect("heartbeat");
        }
        ws.stream
            .write_all(&ping)
            .await
            .unwrap_or_else(|e| panic!("control: ping {i}: {e}"));
        ws.expect_pong().await;
    }

    let started = Instant::now();
    let mut pings = 0;
    let error = loop {
        assert!(
            pings < MAX_PINGS,
            "{MAX_PINGS} pings in {:?} and never dropped",
            started.elapsed()
        );
        let is_ping = last_heartbeat.elapsed() < HEARTBEAT_EVERY;
        if !is_ping {
            last_heartbeat = Instant::now();
        }
        let frame = if is_ping { &ping } else { &heartbeat };
        match tokio::time::timeout(WAIT_LIMIT, ws.stream.write_all(frame)).await {
            Err(_) => panic!("after {pings} pings the server neither reads nor drops the client"),
            Ok(Err(e)) => break e,
            Ok(Ok(())) => pings += usize::from(is_ping),
        }
    };
    eprintln!(
        "dropped after {pings} pings ({} KiB) in {:?}: {error}",
        pings * ping.len() / 1024,
        started.elapsed()
    );
    assert!(
        matches!(
            error.kind(),
            ErrorKind::ConnectionReset | ErrorKind::BrokenPipe | ErrorKind::ConnectionAborted
        ),
        "writes must fail because the server dropped the connection: {error}"
    );
    // The reading side ends too (after whatever pongs made it).
    let deadline = tokio::time::Instant::now() + WAIT_LIMIT;
    while !ws.ended {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the connection stays readable after the drop"
        );
        ws.read_until(deadline).await;
    }
    let close = ws.frames.iter().find(|f| matches!(f, Frame::Close(_)));
    eprintln!("then: {:?} (close frame: {close:?})", ws.frames.back());
}
