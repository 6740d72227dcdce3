//! The client against a hostile server of our own: a plain TCP listener on
//! 127.0.0.1:0 that speaks just enough HTTP/1.1 and WebSocket by hand to
//! send what no honest server sends (endless bodies, huge or never-ending
//! messages, floods, absurd handshakes, trickled answers, broken upgrades).
//!
//! For each case the client must end with a typed error or a transport-error
//! disconnect within a bounded time, and its memory must stay bounded: the
//! process RSS is sampled during the case (`VmRSS`, every 10 ms) and its
//! peak compared with the value before. The machine is shared, so the bounds
//! are generous. Cases run one at a time (a lock), so that the RSS of one is
//! not the RSS of another; each prints its measurement
//! (`cargo test -p engineio --test client_hostile -- --nocapture`).
//!
//! The limits themselves are listed in SECURITY.md ("The client").

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod client_util;

use engineio::client::{
    blocking, Client, ClientBuilder, ClientError, ClientEvent, Data, DisconnectReason, Events,
};
use engineio::proto::TransportKind;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// --- measuring --------------------------------------------------------

/// One case at a time: RSS and CPU time are the process's.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Allowed RSS growth during a case.
const RSS_BOUND: u64 = 150 << 20;
/// Allowed time for a case to end once the server turned hostile.
const END_WITHIN: Duration = Duration::from_secs(30);

fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// CPU time (user + system) of the process so far.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime and stime
    // are the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

/// Samples the RSS on a thread until finished; reports baseline and peak.
struct RssProbe {
    name: String,
    base: u64,
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssProbe {
    fn start(name: &str) -> RssProbe {
        let base = rss();
        let peak = Arc::new(AtomicU64::new(base));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let (peak, stop) = (peak.clone(), stop.clone());
            move || {
                while !stop.load(Ordering::Relaxed) {
                    peak.fetch_max(rss(), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        });
        RssProbe {
            name: name.to_owned(),
            base,
            peak,
            stop,
            thread: Some(thread),
        }
    }

    /// Stops sampling, prints and checks the growth.
    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let peak = self.peak.load(Ordering::Relaxed).max(rss());
        let after = rss();
        let grew = peak.saturating_sub(self.base);
        println!(
            "[rss] {}: before {} MiB, peak {} MiB (+{} MiB), after {} MiB",
            self.name,
            self.base >> 20,
            peak >> 20,
            grew >> 20,
            after >> 20
        );
        assert!(
            grew < RSS_BOUND,
            "{}: RSS grew by {} MiB (bound {} MiB)",
            self.name,
            grew >> 20,
            RSS_BOUND >> 20
        );
        grew
    }
}

// --- a hostile server -------------------------------------------------

const SID: &str = "AAAAAAAAAAAAAAAAAAAA";

fn open_json(interval: &str, timeout: &str, upgrades: &str) -> String {
    format!(
        r#"{{"sid":"{SID}","upgrades":{upgrades},"pingInterval":{interval},"pingTimeout":{timeout},"maxPayload":1000000}}"#
    )
}

/// The `open` packet of a fast heartbeat (300 ms + 200 ms), no upgrades.
fn open_fast() -> String {
    format!("0{}", open_json("300", "200", "[]"))
}

/// A request head, as far as the cases need it.
#[derive(Debug, Clone)]
struct Req {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
}

impl Req {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn has_sid(&self) -> bool {
        self.target.contains("sid=")
    }

    fn is_websocket(&self) -> bool {
        self.target.contains("transport=websocket")
    }

    fn is_post(&self) -> bool {
        self.method == "POST"
    }
}

type BoxFut = Pin<Box<dyn Future<Output = ()> + Send>>;
type Behaviour = Arc<dyn Fn(Req, TcpStream, Arc<AtomicU64>) -> BoxFut + Send + Sync>;

/// A running hostile server: its address, and how many bytes the cases
/// wrote (each case adds what it writes).
struct Hostile {
    addr: SocketAddr,
    written: Arc<AtomicU64>,
}

impl Hostile {
    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
}

/// Reads a request head (and a POST's body), at most 1 MiB.
async fn read_request(s: &mut TcpStream) -> Option<Req> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 1 << 20 {
            return None;
        }
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let target = first.next()?.to_owned();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let req = Req {
        method,
        target,
        headers,
    };
    let len: usize = req
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut have = buf.len() - (end + 4);
    while have < len {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        have += n;
    }
    Some(req)
}

async fn hostile<F, Fut>(behaviour: F) -> Hostile
where
    F: Fn(Req, TcpStream, Arc<AtomicU64>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let behaviour: Behaviour = Arc::new(move |r, s, w| Box::pin(behaviour(r, s, w)));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let written = Arc::new(AtomicU64::new(0));
    let w = written.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let (b, w) = (behaviour.clone(), w.clone());
            tokio::spawn(async move {
                if let Some(req) = read_request(&mut s).await {
                    b(req, s, w).await;
                }
            });
        }
    });
    Hostile { addr, written }
}

/// The same server on a runtime thread of its own, for the blocking client.
fn hostile_thread<F, Fut>(behaviour: F) -> Hostile
where
    F: Fn(Req, TcpStream, Arc<AtomicU64>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let h = hostile(behaviour).await;
            tx.send((h.addr, h.written)).unwrap();
            std::future::pending::<()>().await;
        });
    });
    let (addr, written) = rx.recv().unwrap();
    Hostile { addr, written }
}

async fn write(s: &mut TcpStream, w: &AtomicU64, bytes: &[u8]) -> bool {
    let ok = s.write_all(bytes).await.is_ok();
    if ok {
        w.fetch_add(bytes.len() as u64, Ordering::Relaxed);
    }
    ok
}

/// A complete `200` answer.
async fn respond(s: &mut TcpStream, w: &AtomicU64, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    write(s, w, &out).await;
    let _ = s.shutdown().await;
}

/// The head of a `200` answer with a chunked body.
const CHUNKED: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=UTF-8\r\nTransfer-Encoding: chunked\r\n\r\n";

fn chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

/// Answers a WebSocket handshake with a valid `101`.
async fn accept_ws(req: &Req, s: &mut TcpStream, w: &AtomicU64) -> bool {
    let key = req.header("sec-websocket-key").unwrap_or_default();
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    let head = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    write(s, w, head.as_bytes()).await
}

/// Answers a WebSocket handshake, then sends `open` as the first frame.
async fn open_ws(req: &Req, s: &mut TcpStream, w: &AtomicU64, open: &str) -> bool {
    accept_ws(req, s, w).await && write(s, w, &frame(true, TEXT, open.as_bytes())).await
}

const TEXT: u8 = 0x1;
const CONT: u8 = 0x0;
const PING: u8 = 0x9;

/// The header of an unmasked (server) frame.
fn frame_header(fin: bool, opcode: u8, len: u64) -> Vec<u8> {
    let mut out = vec![(u8::from(fin) << 7) | opcode];
    if len < 126 {
        out.push(len as u8);
    } else if len <= 0xffff {
        out.push(126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(127);
        out.extend_from_slice(&len.to_be_bytes());
    }
    out
}

fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = frame_header(fin, opcode, payload.len() as u64);
    out.extend_from_slice(payload);
    out
}

/// Reads and ignores what the client writes, so that its pongs never
/// block; returns when the client hangs up.
fn drain(r: tokio::net::tcp::OwnedReadHalf) {
    tokio::spawn(async move {
        let mut r = r;
        let mut buf = vec![0u8; 64 << 10];
        while matches!(r.read(&mut buf).await, Ok(n) if n > 0) {}
    });
}

/// The handshake, then `long_poll` for every GET with a sid; POSTs get `ok`;
/// WebSocket requests `ws`.
async fn polling_server<L, LF>(open: String, long_poll: L) -> Hostile
where
    L: Fn(TcpStream, Arc<AtomicU64>) -> LF + Send + Sync + 'static,
    LF: Future<Output = ()> + Send + 'static,
{
    let long_poll = Arc::new(long_poll);
    hostile(move |req, mut s, w| {
        let (open, long_poll) = (open.clone(), long_poll.clone());
        async move {
            if req.is_post() {
                respond(&mut s, &w, b"ok").await;
            } else if req.has_sid() {
                long_poll(s, w).await;
            } else {
                respond(&mut s, &w, open.as_bytes()).await;
            }
        }
    })
    .await
}

// --- the client side --------------------------------------------------

fn builder(transports: &[TransportKind]) -> ClientBuilder {
    Client::builder()
        .transports(transports.iter().copied())
        .handle_sigint(false)
        .request_timeout(Duration::from_secs(2))
}

fn blocking_builder(transports: &[TransportKind]) -> blocking::ClientBuilder {
    blocking::Client::builder()
        .transports(transports.iter().copied())
        .handle_sigint(false)
        .request_timeout(Duration::from_secs(2))
}

const POLLING: &[TransportKind] = &[TransportKind::Polling];
const WEBSOCKET: &[TransportKind] = &[TransportKind::WebSocket];

/// The disconnect reason, within [`END_WITHIN`]; messages before it are
/// skipped.
async fn ends(events: &mut Events) -> DisconnectReason {
    let wait = async {
        loop {
            match events.recv().await {
                Some(ClientEvent::Disconnect(r)) => return r,
                Some(_) => {}
                None => panic!("the stream ended without a disconnect"),
            }
        }
    };
    tokio::time::timeout(END_WITHIN, wait)
        .await
        .expect("the client did not end in time")
}

async fn connect_err(b: ClientBuilder, url: &str) -> ClientError {
    match tokio::time::timeout(END_WITHIN, b.connect(url)).await {
        Ok(Ok(c)) => panic!("connected to a hostile server: {c:?}"),
        Ok(Err(e)) => e,
        Err(_) => panic!("connect did not end in time"),
    }
}

// --- polling bodies ---------------------------------------------------

/// 64 KiB of small text packets, separated, ending with a separator.
fn packets_chunk() -> Vec<u8> {
    let mut body = Vec::with_capacity(64 << 10);
    while body.len() < (64 << 10) - 16 {
        body.extend_from_slice(b"4xxxxxxxxxxxxx\x1e");
    }
    body
}

/// Writes a chunked body forever (until the client hangs up).
async fn endless_body(mut s: TcpStream, w: Arc<AtomicU64>) {
    let c = chunk(&packets_chunk());
    if !write(&mut s, &w, CHUNKED).await {
        return;
    }
    while write(&mut s, &w, &c).await {}
}

#[tokio::test]
async fn an_endless_long_poll_body_ends_the_connection_at_the_payload_limit() {
    let _g = SERIAL.lock().await;
    // A heartbeat long enough for the body to reach the limit first.
    let server = polling_server(
        format!("0{}", open_json("25000", "20000", "[]")),
        endless_body,
    )
    .await;
    let probe = RssProbe::start("async: endless long-poll body");
    let start = Instant::now();
    let client = builder(POLLING).connect(server.url()).await.unwrap();
    let mut events = client.events();
    assert_eq!(ends(&mut events).await, DisconnectReason::TransportError);
    let took = start.elapsed();
    probe.finish();
    // The client hung up after about the limit (64 MiB), plus what was in
    // flight in the socket buffers.
    let written = server.written();
    println!(
        "[bytes] endless long poll: the server wrote {} MiB before the client hung up, in {took:?}",
        written >> 20
    );
    assert!(written < 160 << 20, "{written}");
}

#[tokio::test]
async fn an_endless_handshake_body_is_too_large() {
    let _g = SERIAL.lock().await;
    let server = hostile(|_req, s, w| endless_body(s, w)).await;
    let probe = RssProbe::start("async: endless handshake body");
    let err = connect_err(builder(POLLING), &server.url()).await;
    probe.finish();
    assert!(
        matches!(
            err,
            ClientError::TooLarge {
                what: "polling body",
                limit
            } if limit == 64 << 20
        ),
        "{err:?}"
    );

    // A declared length over the limit is refused before any body is read.
    let server = hostile(|_req, mut s, w| async move {
        write(
            &mut s,
            &w,
            b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n0{",
        )
        .await;
        std::future::pending::<()>().await;
    })
    .await;
    let start = Instant::now();
    let err = connect_err(builder(POLLING), &server.url()).await;
    assert!(matches!(err, ClientError::TooLarge { .. }), "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(2));

    // A smaller limit is honoured.
    let server = hostile(|_req, s, w| endless_body(s, w)).await;
    let err = connect_err(builder(POLLING).max_payload_size(100_000), &server.url()).await;
    assert!(
        matches!(err, ClientError::TooLarge { limit: 100_000, .. }),
        "{err:?}"
    );
}

/// A long poll that answers with a body trickling in one byte every 100 ms.
async fn trickled_body(mut s: TcpStream, w: Arc<AtomicU64>) {
    if !write(&mut s, &w, CHUNKED).await {
        return;
    }
    while write(&mut s, &w, &chunk(b"x")).await {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn slowloris_long_polls_and_handshakes_are_cut_off() {
    let _g = SERIAL.lock().await;
    // A long poll whose body never ends: the heartbeat (500 ms) ends it,
    // and the GET's own deadline would (2.5 s).
    let server = polling_server(open_fast(), trickled_body).await;
    let start = Instant::now();
    let client = builder(POLLING).connect(server.url()).await.unwrap();
    let mut events = client.events();
    let reason = ends(&mut events).await;
    assert!(
        matches!(
            reason,
            DisconnectReason::PingTimeout | DisconnectReason::TransportError
        ),
        "{reason:?}"
    );
    assert!(start.elapsed() < Duration::from_secs(10));

    // A handshake that trickles its headers, then one that trickles its
    // body: `request_timeout` (2 s) bounds both.
    let headers = hostile(|_req, mut s, w| async move {
        write(&mut s, &w, b"HTTP/1.1 200 OK\r\nX-Slow: ").await;
        while write(&mut s, &w, b"a").await {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    let body = hostile(|_req, mut s, w| async move {
        write(
            &mut s,
            &w,
            b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n0",
        )
        .await;
        while write(&mut s, &w, b" ").await {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    for server in [&headers, &body] {
        let start = Instant::now();
        let err = connect_err(builder(POLLING), &server.url()).await;
        let took = start.elapsed();
        assert!(matches!(err, ClientError::Timeout), "{err:?}");
        assert!(
            took >= Duration::from_millis(1900) && took < Duration::from_secs(10),
            "{took:?}"
        );
    }
}

// --- WebSocket messages -----------------------------------------------

/// A WebSocket server: the `101`, the `open` packet, then `then`.
async fn ws_server<T, TF>(open: String, then: T) -> Hostile
where
    T: Fn(tokio::net::tcp::OwnedWriteHalf, Arc<AtomicU64>) -> TF + Send + Sync + 'static,
    TF: Future<Output = ()> + Send + 'static,
{
    let then = Arc::new(then);
    hostile(move |req, mut s, w| {
        let (open, then) = (open.clone(), then.clone());
        async move {
            if !req.is_websocket() {
                respond(&mut s, &w, open.as_bytes()).await;
                return;
            }
            if !open_ws(&req, &mut s, &w, &open).await {
                return;
            }
            let (r, wr) = s.into_split();
            drain(r);
            then(wr, w).await;
        }
    })
    .await
}

async fn write_half(s: &mut tokio::net::tcp::OwnedWriteHalf, w: &AtomicU64, bytes: &[u8]) -> bool {
    let ok = s.write_all(bytes).await.is_ok();
    if ok {
        w.fetch_add(bytes.len() as u64, Ordering::Relaxed);
    }
    ok
}

/// A 300 MB message: one frame, or 1 MiB fragments.
async fn huge_message(mut s: tokio::net::tcp::OwnedWriteHalf, w: Arc<AtomicU64>, fragmented: bool) {
    const TOTAL: u64 = 300_000_000;
    let block = vec![b'x'; 1 << 20];
    if fragmented {
        let mut first = frame(false, TEXT, b"4");
        first.extend_from_slice(&frame(false, CONT, &block));
        if !write_half(&mut s, &w, &first).await {
            return;
        }
        let mut sent = 1 + block.len() as u64;
        while sent < TOTAL {
            if !write_half(&mut s, &w, &frame(false, CONT, &block)).await {
                return;
            }
            sent += block.len() as u64;
        }
        write_half(&mut s, &w, &frame(true, CONT, b"")).await;
    } else {
        let mut head = frame_header(true, TEXT, TOTAL);
        head.push(b'4');
        if !write_half(&mut s, &w, &head).await {
            return;
        }
        let mut sent = 1;
        while sent < TOTAL {
            if !write_half(&mut s, &w, &block).await {
                return;
            }
            sent += block.len() as u64;
        }
    }
}

#[tokio::test]
async fn a_300_mb_websocket_message_ends_the_connection() {
    let _g = SERIAL.lock().await;
    for fragmented in [false, true] {
        let name = if fragmented {
            "async: 300 MB WebSocket message in 1 MiB fragments"
        } else {
            "async: 300 MB WebSocket message in one frame"
        };
        let open = format!("0{}", open_json("25000", "20000", "[]"));
        let server = ws_server(open, move |s, w| huge_message(s, w, fragmented)).await;
        let probe = RssProbe::start(name);
        let client = builder(WEBSOCKET).connect(server.url()).await.unwrap();
        let mut events = client.events();
        assert_eq!(
            ends(&mut events).await,
            DisconnectReason::TransportError,
            "{name}"
        );
        probe.finish();
        let written = server.written();
        println!("[bytes] {name}: the server wrote {} MiB", written >> 20);
        assert!(written < 200 << 20, "{name}: {written}");
    }

    // As the first message, before `open`: a typed error.
    let server = hostile(|req, mut s, w| async move {
        if accept_ws(&req, &mut s, &w).await {
            let (r, wr) = s.into_split();
            drain(r);
            huge_message(wr, w, false).await;
        }
    })
    .await;
    let err = connect_err(builder(WEBSOCKET), &server.url()).await;
    assert!(
        matches!(
            err,
            ClientError::TooLarge {
                what: "WebSocket message",
                ..
            }
        ),
        "{err:?}"
    );
}

/// A text message that never ends: a first fragment, then continuation
/// frames of `size` bytes forever.
async fn never_ending(mut s: tokio::net::tcp::OwnedWriteHalf, w: Arc<AtomicU64>, size: usize) {
    let cont = frame(false, CONT, &vec![b'x'; size]);
    // Many frames per write, with a ping now and then (control frames may
    // come between fragments).
    let mut batch = Vec::new();
    for i in 0..((256 << 10) / cont.len()).max(1) {
        batch.extend_from_slice(&cont);
        if i % 64 == 0 {
            batch.extend_from_slice(&frame(true, PING, b"p"));
        }
    }
    if !write_half(&mut s, &w, &frame(false, TEXT, b"4")).await {
        return;
    }
    while write_half(&mut s, &w, &batch).await {}
}

#[tokio::test]
async fn a_never_ending_fragmented_message_ends_the_connection() {
    let _g = SERIAL.lock().await;
    // Tiny fragments hit the fragment bound (10,000), large ones the size
    // bound (64 MiB).
    for size in [1usize, 32 << 10] {
        let name = format!("async: never-ending message in {size}-byte fragments");
        let open = format!("0{}", open_json("25000", "20000", "[]"));
        let server = ws_server(open, move |s, w| never_ending(s, w, size)).await;
        let probe = RssProbe::start(&name);
        let start = Instant::now();
        let client = builder(WEBSOCKET).connect(server.url()).await.unwrap();
        let mut events = client.events();
        assert_eq!(
            ends(&mut events).await,
            DisconnectReason::TransportError,
            "{name}"
        );
        println!("[time] {name}: ended after {:?}", start.elapsed());
        probe.finish();
    }
}

// --- floods -----------------------------------------------------------

/// Numbered messages (`4<n>`) as fast as the socket takes them, with a ping
/// every 300 ms.
async fn ws_flood(mut s: tokio::net::tcp::OwnedWriteHalf, w: Arc<AtomicU64>) {
    let mut n: u64 = 0;
    let mut last_ping = Instant::now();
    loop {
        let mut batch = Vec::with_capacity(64 << 10);
        while batch.len() < (64 << 10) - 32 {
            batch.extend_from_slice(&frame(true, TEXT, format!("4{n}").as_bytes()));
            n += 1;
        }
        if last_ping.elapsed() > Duration::from_millis(300) {
            batch.extend_from_slice(&frame(true, TEXT, b"2"));
            last_ping = Instant::now();
        }
        if !write_half(&mut s, &w, &batch).await {
            return;
        }
    }
}

/// Long polls answered at once with 10,000 numbered messages each, the
/// numbering going on across polls; a ping at the end of each.
fn polling_flood() -> impl Fn(TcpStream, Arc<AtomicU64>) -> BoxFut + Send + Sync + 'static {
    let next = Arc::new(AtomicU64::new(0));
    move |mut s, w| {
        let next = next.clone();
        Box::pin(async move {
            let first = next.fetch_add(10_000, Ordering::Relaxed);
            let mut body = Vec::new();
            for n in first..first + 10_000 {
                body.extend_from_slice(format!("4{n}\x1e").as_bytes());
            }
            body.extend_from_slice(b"2");
            respond(&mut s, &w, &body).await;
        })
    }
}

/// Checks that the next `count` events are the numbered messages from 0, in
/// order, and that the connection is still up.
async fn read_in_order(events: &mut Events, count: u64) {
    let mut expected = 0;
    while expected < count {
        let ev = tokio::time::timeout(END_WITHIN, events.recv())
            .await
            .expect("the flood stopped")
            .expect("the stream ended");
        match ev {
            ClientEvent::Message(Data::Text(t)) => {
                assert_eq!(t.as_str(), expected.to_string(), "out of order");
                expected += 1;
            }
            ClientEvent::Connect | ClientEvent::Upgrade => {}
            other => panic!("after {expected} messages: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_flood_the_application_does_not_read_is_held_back() {
    let _g = SERIAL.lock().await;
    for transport in [WEBSOCKET, POLLING] {
        let name = format!("async: flood, events not read, {:?}", transport[0]);
        let server = if transport == WEBSOCKET {
            ws_server(open_fast(), ws_flood).await
        } else {
            polling_server(open_fast(), polling_flood()).await
        };
        let probe = RssProbe::start(&name);
        let client = builder(transport).connect(server.url()).await.unwrap();
        let mut events = client.events();
        // Not read for 3 s: six heartbeat windows (500 ms).
        tokio::time::sleep(Duration::from_secs(2)).await;
        let at_2s = server.written();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let at_3s = server.written();
        println!(
            "[bytes] {name}: the server wrote {} MiB in 2 s, then {} KiB in the third second",
            at_2s >> 20,
            (at_3s - at_2s) >> 10
        );
        // Backpressure: the server could not write on (socket buffers
        // aside).
        assert!(at_3s - at_2s < 8 << 20, "{name}: {}", at_3s - at_2s);
        assert!(
            client.is_connected(),
            "{name}: a slow application must not lose a healthy connection"
        );
        // Everything arrives, in order, and the flood goes on.
        read_in_order(&mut events, 500_000).await;
        assert!(client.is_connected(), "{name}");
        probe.finish();
        client.abort();
        assert_eq!(ends(&mut events).await, DisconnectReason::ClientDisconnect);
    }
}

#[tokio::test]
async fn a_flood_with_a_blocked_handler_or_no_stream_is_held_back() {
    let _g = SERIAL.lock().await;
    // A handler that does not return for 3 s.
    let server = ws_server(open_fast(), ws_flood).await;
    let probe = RssProbe::start("async: flood, handler blocked for 3 s");
    let release = Arc::new(tokio::sync::Notify::new());
    let got = Arc::new(AtomicU64::new(0));
    let client = builder(WEBSOCKET)
        .on_message_async({
            let (release, got) = (release.clone(), got.clone());
            move |_c, _d| {
                let (release, got) = (release.clone(), got.clone());
                async move {
                    if got.fetch_add(1, Ordering::Relaxed) == 0 {
                        release.notified().await;
                    }
                }
            }
        })
        .connect(server.url())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(client.is_connected());
    release.notify_one();
    tokio::time::timeout(END_WITHIN, async {
        while got.load(Ordering::Relaxed) < 500_000 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the handler got too few messages");
    assert!(client.is_connected());
    probe.finish();
    client.disconnect().await;

    // No handler and no stream taken: events are kept for the first stream,
    // within the same bound.
    let server = ws_server(open_fast(), ws_flood).await;
    let probe = RssProbe::start("async: flood, no stream taken for 3 s");
    let client = builder(WEBSOCKET).connect(server.url()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(client.is_connected());
    let mut events = client.events();
    read_in_order(&mut events, 500_000).await;
    probe.finish();
    client.abort();
    assert_eq!(ends(&mut events).await, DisconnectReason::ClientDisconnect);
}

#[tokio::test]
async fn a_ping_flood_from_a_server_that_does_not_read_queues_one_pong() {
    let _g = SERIAL.lock().await;
    // Engine.IO pings (`2`) and WebSocket pings, as fast as the client reads
    // them; the server never reads, so the client's pongs cannot leave once
    // the socket buffers are full.
    let open = open_fast();
    let server = hostile(move |req, mut s, w| {
        let open = open.clone();
        async move {
            if !open_ws(&req, &mut s, &w, &open).await {
                return;
            }
            let mut batch = Vec::new();
            while batch.len() < 64 << 10 {
                batch.extend_from_slice(&frame(true, TEXT, b"2"));
                batch.extend_from_slice(&frame(true, PING, b"ping"));
            }
            while write(&mut s, &w, &batch).await {}
        }
    })
    .await;
    let probe = RssProbe::start("async: ping flood, the server never reads");
    let client = builder(WEBSOCKET).connect(server.url()).await.unwrap();
    let mut events = client.events();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let at_1s = rss();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let grew = rss().saturating_sub(at_1s);
    println!("[rss] ping flood: +{} KiB from 1 s to 3 s", grew >> 10);
    // One pong per ping would grow by about 15 MiB/s here.
    assert!(grew < 8 << 20, "+{} KiB from 1 s to 3 s", grew >> 10);
    let pings = server.written() / 9;
    println!("[pings] the server sent about {pings} pings of both kinds in 3 s");
    assert!(pings > 100_000, "{pings}");
    assert!(client.is_connected());
    probe.finish();
    client.abort();
    assert_eq!(ends(&mut events).await, DisconnectReason::ClientDisconnect);
}

// --- framing ----------------------------------------------------------

/// A frame the client wrote: (fin, opcode, masking key, unmasked payload).
async fn read_client_frame(s: &mut TcpStream) -> Option<(bool, u8, Option<[u8; 4]>, Vec<u8>)> {
    let mut head = [0u8; 2];
    s.read_exact(&mut head).await.ok()?;
    let len = match head[1] & 0x7f {
        126 => {
            let mut b = [0u8; 2];
            s.read_exact(&mut b).await.ok()?;
            u64::from(u16::from_be_bytes(b))
        }
        127 => {
            let mut b = [0u8; 8];
            s.read_exact(&mut b).await.ok()?;
            u64::from_be_bytes(b)
        }
        n => u64::from(n),
    };
    let key = if head[1] & 0x80 != 0 {
        let mut k = [0u8; 4];
        s.read_exact(&mut k).await.ok()?;
        Some(k)
    } else {
        None
    };
    let mut payload = vec![0u8; usize::try_from(len).ok()?];
    s.read_exact(&mut payload).await.ok()?;
    if let Some(k) = key {
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= k[i % 4];
        }
    }
    Some((head[0] & 0x80 != 0, head[0] & 0x0f, key, payload))
}

#[tokio::test]
async fn client_frames_are_masked_and_a_close_is_answered_with_its_code() {
    let _g = SERIAL.lock().await;
    let (seen_tx, seen_rx) = tokio::sync::oneshot::channel();
    let seen_tx = Arc::new(std::sync::Mutex::new(Some(seen_tx)));
    let open = format!("0{}", open_json("25000", "20000", "[]"));
    let server = hostile(move |req, mut s, w| {
        let (open, seen_tx) = (open.clone(), seen_tx.clone());
        async move {
            if !open_ws(&req, &mut s, &w, &open).await {
                return;
            }
            // Two messages from the client, then a ping and its pong, then
            // the server's close (4000) and the client's answer.
            let mut frames = Vec::new();
            for _ in 0..2 {
                frames.push(read_client_frame(&mut s).await);
            }
            write(&mut s, &w, &frame(true, PING, b"are you there")).await;
            frames.push(read_client_frame(&mut s).await);
            write(&mut s, &w, &frame(true, 0x8, &4000u16.to_be_bytes())).await;
            frames.push(read_client_frame(&mut s).await);
            let _ = seen_tx.lock().unwrap().take().unwrap().send(frames);
        }
    })
    .await;
    let client = builder(WEBSOCKET).connect(server.url()).await.unwrap();
    let mut events = client.events();
    client.send("hello").unwrap();
    client.send(vec![1u8, 2, 3]).unwrap();
    assert_eq!(ends(&mut events).await, DisconnectReason::ServerDisconnect);
    let frames: Vec<_> = tokio::time::timeout(END_WITHIN, seen_rx)
        .await
        .unwrap()
        .unwrap()
        .into_iter()
        .map(|f| f.expect("a whole frame from the client"))
        .collect();
    let keys: Vec<[u8; 4]> = frames
        .iter()
        .map(|(fin, _, key, _)| {
            assert!(*fin);
            key.expect("every client frame is masked (RFC 6455 §5.3)")
        })
        .collect();
    let got: Vec<(u8, &[u8])> = frames.iter().map(|(_, op, _, p)| (*op, &p[..])).collect();
    assert_eq!(
        got,
        [
            (0x1, &b"4hello"[..]),
            (0x2, &[1, 2, 3][..]),
            (0xA, &b"are you there"[..]),
            (0x8, &4000u16.to_be_bytes()[..]),
        ]
    );
    // A fresh key per frame (four equal keys by chance: 2^-96).
    assert!(keys.windows(2).any(|k| k[0] != k[1]), "{keys:?}");
}

#[tokio::test]
async fn a_masked_frame_from_the_server_fails_the_connection() {
    let _g = SERIAL.lock().await;
    let open = format!("0{}", open_json("25000", "20000", "[]"));
    let server = ws_server(open, |mut s, w| async move {
        // "4hi", masked with key 0: what only a client may send.
        let masked = [0x81, 0x83, 0, 0, 0, 0, b'4', b'h', b'i'];
        write_half(&mut s, &w, &masked).await;
        std::future::pending::<()>().await;
    })
    .await;
    let client = builder(WEBSOCKET).connect(server.url()).await.unwrap();
    let mut events = client.events();
    let mut messages = 0;
    let reason = tokio::time::timeout(END_WITHIN, async {
        loop {
            match events.recv().await {
                Some(ClientEvent::Message(_)) => messages += 1,
                Some(ClientEvent::Disconnect(r)) => return r,
                Some(_) => {}
                None => panic!("no disconnect"),
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(reason, DisconnectReason::TransportError);
    assert_eq!(messages, 0, "the masked message was delivered");
}

/// The `101`, the `open` frame and a message in one write: what the
/// handshake read past the `101` is the socket's first input. The server
/// also sees the request head a browser would send: `Host`, the user's
/// headers, the WebSocket ones.
#[tokio::test]
async fn frames_in_the_same_segment_as_the_101_are_not_lost() {
    let _g = SERIAL.lock().await;
    let seen = Arc::new(std::sync::Mutex::new(None));
    let server = hostile({
        let seen = seen.clone();
        move |req: Req, mut s: TcpStream, w: Arc<AtomicU64>| {
            let seen = seen.clone();
            async move {
                let key = req.header("sec-websocket-key").unwrap_or_default();
                let accept =
                    tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
                let mut out = format!(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
                )
                .into_bytes();
                out.extend(frame(true, TEXT, open_fast().as_bytes()));
                out.extend(frame(true, TEXT, b"4first"));
                *seen.lock().unwrap() = Some(req);
                write(&mut s, &w, &out).await;
                let (r, mut wr) = s.into_split();
                drain(r);
                loop {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    if !write_half(&mut wr, &w, &frame(true, TEXT, b"2")).await {
                        return;
                    }
                }
            }
        }
    })
    .await;
    let client = builder(WEBSOCKET)
        .header("x-custom", "yes")
        .connect(server.url())
        .await
        .unwrap();
    let mut events = client.events();
    let first = client_util::next_message(&mut events).await;
    assert_eq!(first, Data::Text("first".into()));
    let req = seen.lock().unwrap().clone().unwrap();
    assert_eq!(req.method, "GET");
    assert!(
        req.target
            .starts_with("/engine.io/?EIO=4&transport=websocket"),
        "{req:?}"
    );
    assert_eq!(
        req.header("host"),
        Some(server.addr.to_string().as_str()),
        "{req:?}"
    );
    assert_eq!(req.header("x-custom"), Some("yes"), "{req:?}");
    assert_eq!(req.header("sec-websocket-version"), Some("13"), "{req:?}");
    assert!(req
        .header("upgrade")
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket")));
    client.disconnect().await;
}

#[tokio::test]
async fn a_large_message_that_trickles_in_over_many_reads_arrives_whole() {
    let _g = SERIAL.lock().await;
    // A 120 KB message in 12,000 pieces of 10 bytes, a pause after each, so
    // that the client reads it in about as many reads: no honest limit on
    // reads per frame applies to a client (a slow network delivers a large
    // message a segment at a time), only the size limit.
    const PIECES: usize = 12_000;
    let open = format!("0{}", open_json("25000", "20000", "[]"));
    let server = hostile_thread(move |req, mut s, w| {
        let open = open.clone();
        async move {
            if !open_ws(&req, &mut s, &w, &open).await {
                return;
            }
            s.set_nodelay(true).unwrap();
            let mut body = b"4".to_vec();
            body.resize(PIECES * 10, b'x');
            let wire = frame(true, TEXT, &body);
            for piece in wire.chunks(10) {
                if !write(&mut s, &w, piece).await {
                    return;
                }
                // This server's runtime is its own thread: blocking it
                // paces the pieces without a timer's millisecond.
                std::thread::sleep(Duration::from_micros(50));
            }
            std::future::pending::<()>().await;
        }
    });
    let client = builder(WEBSOCKET).connect(server.url()).await.unwrap();
    let mut events = client.events();
    let got = tokio::time::timeout(END_WITHIN, async {
        loop {
            match events.recv().await {
                Some(ClientEvent::Message(Data::Text(t))) => return Ok(t.len()),
                Some(ClientEvent::Disconnect(r)) => return Err(r),
                Some(_) => {}
                None => panic!("no event"),
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(got, Ok(PIECES * 10 - 1));
    assert!(client.is_connected());
    client.abort();
}

// --- handshakes -------------------------------------------------------

/// `open` packets no server should send; each must fail `connect` with
/// `Protocol`, on polling and on WebSocket.
const BAD_OPENS: [&str; 11] = [
    r#"0{"sid":"s","upgrades":[],"pingInterval":9007199254740992,"pingTimeout":20000,"maxPayload":1000000}"#,
    r#"0{"sid":"s","upgrades":[],"pingInterval":25000,"pingTimeout":9007199254740992,"maxPayload":1000000}"#,
    r#"0{"sid":"s","upgrades":[],"pingInterval":-1,"pingTimeout":20000,"maxPayload":1000000}"#,
    r#"0{"sid":"s","upgrades":[],"pingInterval":25000,"pingTimeout":-1,"maxPayload":1000000}"#,
    r#"0{"sid":"s","upgrades":[],"pingInterval":1e400,"pingTimeout":1,"maxPayload":1}"#,
    r#"0{"sid":"s","upgrades":[],"pingTimeout":20000,"maxPayload":1000000}"#,
    r#"0{"sid":"s"}"#,
    "0not json",
    "0",
    "4hello",
    "6",
];

#[tokio::test]
async fn malformed_and_absurd_open_packets_fail_with_a_protocol_error() {
    let _g = SERIAL.lock().await;
    let probe = RssProbe::start("async: malformed open packets");
    for open in BAD_OPENS {
        for transport in [POLLING, WEBSOCKET] {
            let server = ws_server(open.to_owned(), |_s, _w| std::future::pending()).await;
            let start = Instant::now();
            let err = connect_err(builder(transport), &server.url()).await;
            assert!(
                matches!(err, ClientError::Protocol(_)),
                "{open} on {:?}: {err:?}",
                transport[0]
            );
            assert!(start.elapsed() < Duration::from_secs(5), "{open}");
        }
    }
    // Bodies that are not even packets.
    for body in [&b""[..], b"\xff\xfe", b"\x1e\x1e", b"b!!!"] {
        let body = body.to_vec();
        let server = hostile(move |_req, mut s, w| {
            let body = body.clone();
            async move { respond(&mut s, &w, &body).await }
        })
        .await;
        let err = connect_err(builder(POLLING), &server.url()).await;
        assert!(matches!(err, ClientError::Protocol(_)), "{err:?}");
    }
    probe.finish();
}

/// Not hostile, only unusual: a sid in any form other servers may choose
/// (older python-engineio versions sent 32 hex digits, engine.io's `generateId`
/// may return anything) is kept as sent and sent back as sent, percent-
/// encoded in the query, on every request of the session.
#[tokio::test]
async fn a_sid_of_any_form_is_kept_and_sent_back() {
    let _g = SERIAL.lock().await;
    for sid in [
        "0123456789abcdef0123456789abcdef",
        "user:42/a+b=&xé",
        "Xq3yZk9_Rt2-WbA1",
    ] {
        let open = format!(
            r#"0{{"sid":{},"upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}}"#,
            serde_json::to_string(sid).unwrap()
        );
        let sent_back = Arc::new(std::sync::Mutex::new(Vec::<Option<String>>::new()));
        let gets = Arc::new(AtomicU64::new(0));
        let (log, gets2) = (sent_back.clone(), gets.clone());
        let server = hostile(move |req, mut s, w| {
            let (open, log, gets) = (open.clone(), log.clone(), gets2.clone());
            async move {
                let query = req.target.split_once('?').map_or("", |(_, q)| q);
                let q = engineio::proto::handshake::EngineQuery::parse(query);
                if req.is_post() {
                    log.lock().unwrap().push(q.sid.map(|s| s.into_owned()));
                    respond(&mut s, &w, b"ok").await;
                } else if req.has_sid() {
                    log.lock().unwrap().push(q.sid.map(|s| s.into_owned()));
                    // A message, then pings.
                    let body: &[u8] = if gets.fetch_add(1, Ordering::Relaxed) == 0 {
                        b"4hello"
                    } else {
                        tokio::time::sleep(Duration::from_millis(250)).await;
                        b"2"
                    };
                    respond(&mut s, &w, body).await;
                } else {
                    respond(&mut s, &w, open.as_bytes()).await;
                }
            }
        })
        .await;
        let client = builder(POLLING).connect(server.url()).await.unwrap();
        assert_eq!(client.sid(), sid);
        assert_eq!(client.sid().to_string(), sid);
        assert_eq!(client.sid().to_sid(), None, "not one of our sids");
        let mut events = client.events();
        loop {
            match tokio::time::timeout(END_WITHIN, events.recv())
                .await
                .unwrap()
            {
                Some(ClientEvent::Message(d)) => break assert_eq!(d, Data::from("hello")),
                Some(ClientEvent::Connect) => {}
                other => panic!("{sid}: {other:?}"),
            }
        }
        client.send("x").unwrap();
        client.flush().await;
        // Past a heartbeat: pings on the same sid kept it alive.
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert!(client.is_connected(), "{sid}");
        client.disconnect().await;
        let sent_back = sent_back.lock().unwrap().clone();
        assert!(sent_back.len() >= 3, "{sid}: {sent_back:?}");
        assert!(
            sent_back.iter().all(|s| s.as_deref() == Some(sid)),
            "{sid}: {sent_back:?}"
        );
    }
}

/// Pings `2` over the WebSocket every 300 ms.
async fn ws_pinger(mut s: tokio::net::tcp::OwnedWriteHalf, w: Arc<AtomicU64>) {
    while write_half(&mut s, &w, &frame(true, TEXT, b"2")).await {
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn a_zero_or_huge_ping_interval_neither_spins_nor_drops() {
    let _g = SERIAL.lock().await;
    // python-engineio advertises 0 for an interval under a second; with
    // pings every 300 ms the connection must live, idle, without spinning.
    for (interval, timeout) in [("0", "0"), ("0", "200"), ("2147483647", "2147483647")] {
        let open = format!("0{}", open_json(interval, timeout, "[]"));
        let server = ws_server(open, ws_pinger).await;
        let client = builder(WEBSOCKET).connect(server.url()).await.unwrap();
        let mut events = client.events();
        let cpu = cpu_time();
        tokio::time::sleep(Duration::from_secs(3)).await;
        let used = cpu_time().saturating_sub(cpu);
        println!("[cpu] pingInterval {interval}, pingTimeout {timeout}: {used:?} of CPU in 3 s");
        assert!(
            used < Duration::from_millis(1500),
            "{interval}/{timeout}: {used:?}"
        );
        assert!(client.is_connected(), "{interval}/{timeout}");
        client.disconnect().await;
        assert_eq!(ends(&mut events).await, DisconnectReason::ClientDisconnect);
    }
    // pingInterval 0 on polling: the long poll is bounded by 1 s + timeout +
    // request_timeout, and the heartbeat by 1 s + timeout.
    let open = format!("0{}", open_json("0", "0", "[]"));
    let server = polling_server(open, |mut s, w| async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        respond(&mut s, &w, b"2").await;
    })
    .await;
    let client = builder(POLLING).connect(server.url()).await.unwrap();
    let cpu = cpu_time();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let used = cpu_time().saturating_sub(cpu);
    println!("[cpu] polling, pingInterval 0: {used:?} of CPU in 3 s");
    assert!(used < Duration::from_millis(1500), "{used:?}");
    assert!(client.is_connected());
    client.disconnect().await;
}

#[tokio::test]
async fn broken_101_upgrades_fail_with_typed_errors() {
    let _g = SERIAL.lock().await;
    type Case = fn(Req, TcpStream, Arc<AtomicU64>) -> BoxFut;
    let cases: [(&str, Case); 5] = [
        ("a wrong Sec-WebSocket-Accept", |_req, mut s, w| {
            Box::pin(async move {
                write(&mut s, &w, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: bm90IHRoZSByaWdodCBrZXk=\r\n\r\n").await;
                std::future::pending::<()>().await;
            })
        }),
        ("a 101 without Upgrade", |_req, mut s, w| {
            Box::pin(async move {
                write(&mut s, &w, b"HTTP/1.1 101 Switching Protocols\r\n\r\n").await;
                std::future::pending::<()>().await;
            })
        }),
        ("a 101, then the connection closed", |req, mut s, w| {
            Box::pin(async move {
                accept_ws(&req, &mut s, &w).await;
            })
        }),
        ("a 101, then bytes that are not frames", |req, mut s, w| {
            Box::pin(async move {
                accept_ws(&req, &mut s, &w).await;
                write(&mut s, &w, b"\xff\xff\xff\xff garbage").await;
                std::future::pending::<()>().await;
            })
        }),
        ("a 101, then silence", |req, mut s, w| {
            Box::pin(async move {
                accept_ws(&req, &mut s, &w).await;
                std::future::pending::<()>().await;
            })
        }),
    ];
    for (name, case) in cases {
        let server = hostile(case).await;
        let start = Instant::now();
        let err = connect_err(builder(WEBSOCKET), &server.url()).await;
        let took = start.elapsed();
        println!("[101] {name}: {err} after {took:?}");
        assert!(
            matches!(
                err,
                ClientError::WebSocket(_) | ClientError::Protocol(_) | ClientError::Timeout
            ),
            "{name}: {err:?}"
        );
        assert!(took < Duration::from_secs(10), "{name}: {took:?}");
    }

    // The same on the upgrade probe: the client stays on polling and keeps
    // working (long polls answered with a ping after 200 ms). The cases run
    // side by side.
    let probes = cases.map(|(name, case)| async move {
        let open = format!("0{}", open_json("300", "200", r#"["websocket"]"#));
        let server = hostile(move |req, mut s, w| {
            let open = open.clone();
            async move {
                if req.is_websocket() {
                    case(req, s, w).await;
                } else if req.is_post() {
                    respond(&mut s, &w, b"ok").await;
                } else if req.has_sid() {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    respond(&mut s, &w, b"2").await;
                } else {
                    respond(&mut s, &w, open.as_bytes()).await;
                }
            }
        })
        .await;
        let client = builder(&[TransportKind::Polling, TransportKind::WebSocket])
            .upgrade_timeout(Duration::from_secs(1))
            .connect(server.url())
            .await
            .unwrap();
        let mut events = client.events();
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(client.is_connected(), "{name}");
        assert_eq!(client.transport(), TransportKind::Polling, "{name}");
        client.send("still here").unwrap();
        client.disconnect().await;
        assert_eq!(
            ends(&mut events).await,
            DisconnectReason::ClientDisconnect,
            "{name}"
        );
    });
    futures_util::future::join_all(probes).await;
}

// --- the blocking client ----------------------------------------------

fn blocking_ends(client: &blocking::Client) -> DisconnectReason {
    client
        .wait_timeout(END_WITHIN)
        .expect("the blocking client did not end in time")
}

#[test]
fn blocking_an_endless_long_poll_body_ends_the_connection() {
    let _g = SERIAL.blocking_lock();
    let open = format!("0{}", open_json("25000", "20000", "[]"));
    let server = hostile_thread(move |req, mut s, w| {
        let open = open.clone();
        async move {
            if req.is_post() {
                respond(&mut s, &w, b"ok").await;
            } else if req.has_sid() {
                endless_body(s, w).await;
            } else {
                respond(&mut s, &w, open.as_bytes()).await;
            }
        }
    });
    let probe = RssProbe::start("blocking: endless long-poll body");
    let client = blocking_builder(POLLING).connect(server.url()).unwrap();
    assert_eq!(blocking_ends(&client), DisconnectReason::TransportError);
    probe.finish();

    // And the handshake: a typed error.
    let server = hostile_thread(|_req, s, w| endless_body(s, w));
    let err = blocking_builder(POLLING).connect(server.url()).unwrap_err();
    assert!(matches!(err, ClientError::TooLarge { .. }), "{err:?}");
}

#[test]
fn blocking_huge_and_never_ending_websocket_messages_end_the_connection() {
    let _g = SERIAL.blocking_lock();
    let open = format!("0{}", open_json("25000", "20000", "[]"));
    for (name, fragmented, endless) in [
        ("blocking: 300 MB WebSocket message", false, false),
        (
            "blocking: never-ending message in 1-byte fragments",
            true,
            true,
        ),
        (
            "blocking: never-ending message in 32 KiB fragments",
            true,
            false,
        ),
    ] {
        let open = open.clone();
        let server = hostile_thread(move |req, mut s, w| {
            let open = open.clone();
            async move {
                if open_ws(&req, &mut s, &w, &open).await {
                    let (r, wr) = s.into_split();
                    drain(r);
                    match (fragmented, endless) {
                        (false, _) => huge_message(wr, w, false).await,
                        (true, true) => never_ending(wr, w, 1).await,
                        (true, false) => never_ending(wr, w, 32 << 10).await,
                    }
                }
            }
        });
        let probe = RssProbe::start(name);
        let client = blocking_builder(WEBSOCKET).connect(server.url()).unwrap();
        assert_eq!(
            blocking_ends(&client),
            DisconnectReason::TransportError,
            "{name}"
        );
        probe.finish();
    }
}

#[test]
fn blocking_a_flood_with_a_slow_handler_is_held_back() {
    let _g = SERIAL.blocking_lock();
    let open = open_fast();
    let server = hostile_thread(move |req, mut s, w| {
        let open = open.clone();
        async move {
            if open_ws(&req, &mut s, &w, &open).await {
                let (r, wr) = s.into_split();
                drain(r);
                ws_flood(wr, w).await;
            }
        }
    });
    let probe = RssProbe::start("blocking: flood, handler blocked for 3 s");
    let got = Arc::new(AtomicU64::new(0));
    let expected = Arc::new(AtomicU64::new(0));
    let in_order = Arc::new(AtomicBool::new(true));
    let client = blocking_builder(WEBSOCKET)
        .on_message({
            let (got, expected, in_order) = (got.clone(), expected.clone(), in_order.clone());
            move |_c, d| {
                if got.fetch_add(1, Ordering::Relaxed) == 0 {
                    std::thread::sleep(Duration::from_secs(3));
                }
                let n = expected.fetch_add(1, Ordering::Relaxed);
                if d != Data::from(n.to_string()) {
                    in_order.store(false, Ordering::Relaxed);
                }
            }
        })
        .connect(server.url())
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let at_2s = server.written();
    std::thread::sleep(Duration::from_millis(900));
    assert!(server.written() - at_2s < 8 << 20);
    let start = Instant::now();
    while got.load(Ordering::Relaxed) < 500_000 {
        assert!(
            start.elapsed() < END_WITHIN,
            "the handler got too few messages"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(in_order.load(Ordering::Relaxed), "out of order");
    assert!(client.is_connected());
    probe.finish();
    client.abort();
    assert_eq!(blocking_ends(&client), DisconnectReason::ClientDisconnect);
}

#[test]
fn blocking_absurd_open_packets_and_slowloris_handshakes_fail_typed() {
    let _g = SERIAL.blocking_lock();
    for open in BAD_OPENS {
        let server = hostile_thread(move |_req, mut s, w| async move {
            respond(&mut s, &w, open.as_bytes()).await;
        });
        let err = blocking_builder(POLLING).connect(server.url()).unwrap_err();
        assert!(matches!(err, ClientError::Protocol(_)), "{open}: {err:?}");
    }
    let server = hostile_thread(|_req, mut s, w| async move {
        write(&mut s, &w, b"HTTP/1.1 200 OK\r\nX-Slow: ").await;
        while write(&mut s, &w, b"a").await {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let start = Instant::now();
    let err = blocking_builder(POLLING).connect(server.url()).unwrap_err();
    assert!(matches!(err, ClientError::Timeout), "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(10));
    // A broken 101.
    let server = hostile_thread(|req, mut s, w| async move {
        accept_ws(&req, &mut s, &w).await;
        write(&mut s, &w, b"\xff\xff\xff\xff garbage").await;
        std::future::pending::<()>().await;
    });
    let err = blocking_builder(WEBSOCKET)
        .connect(server.url())
        .unwrap_err();
    assert!(matches!(err, ClientError::WebSocket(_)), "{err:?}");
}
