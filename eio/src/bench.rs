//! `eio bench`: a load generator that speaks raw Engine.IO v4.
//!
//! It does not use the library's client on purpose: it must be cheaper than
//! any server it loads, and it must load any server (ours, Node engine.io,
//! python-engineio, engineioxide) the same way. Each connection is one task
//! that keeps `--in-flight` messages outstanding and answers pings; the
//! message bytes are built once and reused, so the steady state allocates
//! nothing per message.
//!
//! `messages_per_sec` counts echoes received per second (one round trip =
//! one message), the measure used by the peer comparison.
//!
//! For soak runs, echo mode also counts every message sent and every echo
//! received over the whole run; after the measured window it stops sending
//! and waits (up to `--drain` seconds) for the echoes still in flight, so
//! `messages_lost` = sent − received after that wait.
//!
//! Broadcast mode opens `--connections` WebSocket sessions that only answer
//! pings, then, `--rounds` times, has the first of them send the text
//! message `broadcast:<size>`: the server under test answers it by sending
//! `size` bytes of text (`x` repeated) to every session it has, the sender
//! included (`eio serve` and the benchmark's peer servers implement this).
//! A round's time runs from writing the trigger until the last session has
//! received the message; each session must get exactly one per round.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{Args, ValueEnum};
use fastwebsockets::{
    FragmentCollector, FragmentCollectorRead, Frame, OpCode, Payload, Role, WebSocket,
    WebSocketWrite,
};
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;

/// Options of `eio bench`.
#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// Server URL, e.g. `http://127.0.0.1:5000` (the Engine.IO path comes
    /// from `--path`).
    url: String,
    /// Concurrent connections (sessions).
    #[arg(long, default_value_t = 100)]
    connections: usize,
    /// Measured duration in seconds (after all connections are open).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Messages in flight per connection.
    #[arg(long, default_value_t = 1)]
    in_flight: usize,
    /// Message size in bytes.
    #[arg(long, default_value_t = 16)]
    size: usize,
    /// Send binary messages instead of text.
    #[arg(long)]
    binary: bool,
    /// Transport to load.
    #[arg(long, value_enum, default_value_t = Transport::Websocket)]
    transport: Transport,
    /// What to measure: echo round trips, polling handshakes, or idle
    /// connections that only answer pings.
    #[arg(long, value_enum, default_value_t = Mode::Echo)]
    mode: Mode,
    /// The Engine.IO path.
    #[arg(long, default_value = "/engine.io/")]
    path: String,
    /// Worker threads (default: the CPUs this process may run on). With 0
    /// or 1, the load generator runs on a single-threaded runtime.
    #[arg(long)]
    threads: Option<usize>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Echo mode: seconds to wait after the measured window for the echoes
    /// still in flight before counting the rest as lost.
    #[arg(long, default_value_t = 5.0)]
    drain: f64,
    /// Broadcast mode: rounds (one trigger, one message to every session).
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Broadcast mode: seconds a round may take; sessions still without
    /// the message then count as errors and no further round is run.
    #[arg(long, default_value_t = 60.0)]
    round_timeout: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Transport {
    Websocket,
    Polling,
    /// Plain TCP ping-pong of 8-byte messages against `eio tcp-echo`: the
    /// physical floor the Engine.IO servers are compared with.
    Tcp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// Echo round trips (the server must echo every message).
    Echo,
    /// New polling sessions per second (`GET ?EIO=4&transport=polling`).
    Handshake,
    /// Hold the connections open, answering pings, sending nothing.
    Idle,
    /// Time until every session has received one server broadcast
    /// (WebSocket only; the server must implement `broadcast:<size>`).
    Broadcast,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

struct Shared {
    messages: AtomicU64,
    /// Messages written, over the whole run (echo mode).
    sent_total: AtomicU64,
    /// Echoes received, over the whole run (echo mode).
    received_total: AtomicU64,
    errors: AtomicU64,
    connected: AtomicU64,
    measuring: AtomicBool,
    stop: AtomicBool,
    start: tokio::sync::watch::Sender<bool>,
    /// Broadcast mode's books (empty otherwise).
    broadcast: Broadcast,
}

impl Shared {
    /// Waits until the measured phase starts.
    async fn started(&self) {
        let mut rx = self.start.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }
}

struct Target {
    addr: SocketAddr,
    host: String,
    path: String,
}

/// What every connection task is given.
struct Conn {
    target: Arc<Target>,
    shared: Arc<Shared>,
    /// Told once the connection is open (or failed to open).
    ready: tokio::sync::mpsc::Sender<()>,
    /// Held while opening: bounds concurrent opens.
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
    mode: Mode,
    message: Bytes,
    in_flight: usize,
    binary: bool,
    /// This connection's number (0 sends the broadcast triggers).
    index: usize,
}

/// One connection's books: send times of the messages in flight (echoes
/// come back in order) and its latency histogram.
struct Tally<'a> {
    shared: &'a Shared,
    sent: VecDeque<Instant>,
    recorder: Recorder,
}

impl<'a> Tally<'a> {
    fn new(shared: &'a Shared, in_flight: usize) -> Self {
        shared.connected.fetch_add(1, Ordering::Relaxed);
        Tally {
            shared,
            sent: VecDeque::with_capacity(in_flight),
            recorder: Recorder::new(),
        }
    }

    /// A message went out now.
    fn sent(&mut self) {
        self.sent.push_back(Instant::now());
        self.shared.sent_total.fetch_add(1, Ordering::Relaxed);
    }

    /// An echo arrived: the oldest message in flight is answered.
    fn echoed(&mut self) {
        if let Some(t) = self.sent.pop_front() {
            self.shared.received_total.fetch_add(1, Ordering::Relaxed);
            self.done(t);
        }
    }

    /// One measured operation that started at `t` has completed.
    fn done(&mut self, t: Instant) {
        if self.shared.measuring.load(Ordering::Relaxed) {
            self.shared.messages.fetch_add(1, Ordering::Relaxed);
            self.recorder.record(t.elapsed());
        }
    }

    fn in_flight(&self) -> usize {
        self.sent.len()
    }
}

pub(crate) fn run(args: BenchArgs) -> Result<(), BoxError> {
    let rt = crate::runtime(args.threads)?;
    rt.block_on(run_async(args))
}

fn parse_target(url: &str, path: &str) -> Result<Target, BoxError> {
    let uri: http::Uri = url.parse()?;
    match uri.scheme_str() {
        Some("http" | "ws") | None => {}
        Some(other) => return Err(format!("unsupported scheme {other} (use http or ws)").into()),
    }
    let host = uri.host().ok_or("URL has no host")?.to_owned();
    let port = uri.port_u16().unwrap_or(80);
    let addr = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))?
        .next()
        .ok_or("host did not resolve")?;
    let mut path = path.to_owned();
    if !path.ends_with('/') {
        path.push('/');
    }
    Ok(Target {
        addr,
        host: format!("{host}:{port}"),
        path,
    })
}

async fn run_async(args: BenchArgs) -> Result<(), BoxError> {
    let target = Arc::new(parse_target(&args.url, &args.path)?);
    let shared = Arc::new(Shared {
        messages: AtomicU64::new(0),
        sent_total: AtomicU64::new(0),
        received_total: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        connected: AtomicU64::new(0),
        measuring: AtomicBool::new(false),
        stop: AtomicBool::new(false),
        start: tokio::sync::watch::channel(false).0,
        broadcast: Broadcast::new(if args.mode == Mode::Broadcast {
            args.connections
        } else {
            0
        }),
    });
    if args.mode == Mode::Broadcast && (args.transport != Transport::Websocket || args.binary) {
        return Err("broadcast mode needs --transport websocket and text messages".into());
    }
    let message = if args.mode == Mode::Broadcast {
        // What every session must receive: the message packet of `size`
        // bytes of `x`.
        let mut m = vec![b'x'; args.size + 1];
        m[0] = b'4';
        Bytes::from(m)
    } else {
        Bytes::from(build_message(args.size, args.binary))
    };
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(args.connections.max(1));
    let mut tasks = Vec::with_capacity(args.connections);
    // Open connections with bounded concurrency so a large run does not
    // flood the listen backlog.
    let opening = Arc::new(tokio::sync::Semaphore::new(200));
    for index in 0..args.connections {
        let opening = opening.clone();
        let mut conn = Conn {
            target: target.clone(),
            shared: shared.clone(),
            ready: ready_tx.clone(),
            permit: None,
            mode: args.mode,
            message: message.clone(),
            in_flight: args.in_flight.max(1),
            binary: args.binary,
            index,
        };
        let transport = args.transport;
        tasks.push(tokio::spawn(async move {
            conn.permit = opening.acquire_owned().await.ok();
            let shared = conn.shared.clone();
            let res = match (conn.mode, transport) {
                (Mode::Handshake, _) => handshake_loop(conn).await,
                (Mode::Broadcast, _) => ws_broadcast_conn(conn).await,
                (_, Transport::Tcp) => tcp_conn(conn).await,
                (_, Transport::Websocket) => ws_conn(conn).await,
                (_, Transport::Polling) => polling_conn(conn).await,
            };
            if let Err(e) = res {
                if !shared.stop.load(Ordering::Relaxed) {
                    shared.errors.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!("connection error: {e}");
                }
            }
        }));
    }
    drop(ready_tx);
    // Wait until every connection is open (or failed).
    let open_deadline = Instant::now() + Duration::from_secs(60);
    let mut ready = 0;
    while ready < args.connections {
        match tokio::time::timeout_at(open_deadline.into(), ready_rx.recv()).await {
            Ok(Some(())) => ready += 1,
            _ => break,
        }
    }
    if args.mode == Mode::Broadcast {
        return broadcast_run(&args, &shared, tasks).await;
    }
    let duration = Duration::from_secs_f64(args.duration.max(0.1));
    let cpu_start = process_cpu_ns();
    let start = Instant::now();
    shared.measuring.store(true, Ordering::Release);
    shared.start.send_replace(true);
    let interactive = std::io::IsTerminal::is_terminal(&std::io::stderr()) && !args.json;
    let mut last = (start, 0u64);
    while start.elapsed() < duration {
        let left = duration.saturating_sub(start.elapsed());
        tokio::time::sleep(left.min(Duration::from_secs(1))).await;
        if interactive {
            let now = Instant::now();
            let n = shared.messages.load(Ordering::Relaxed);
            let rate = (n - last.1) as f64 / (now - last.0).as_secs_f64();
            eprint!(
                "\r  {:>6.1}s  {:>10.0} msg/s  {} connected  {} errors   ",
                start.elapsed().as_secs_f64(),
                rate,
                shared.connected.load(Ordering::Relaxed),
                shared.errors.load(Ordering::Relaxed)
            );
            last = (now, n);
        }
    }
    shared.measuring.store(false, Ordering::Release);
    let elapsed = start.elapsed().as_secs_f64();
    let cpu_ns = process_cpu_ns().saturating_sub(cpu_start);
    let messages = shared.messages.load(Ordering::Relaxed);
    let connected = shared.connected.load(Ordering::Relaxed);
    shared.stop.store(true, Ordering::Release);
    if interactive {
        eprintln!();
    }
    let in_flight_at_stop = shared
        .sent_total
        .load(Ordering::Relaxed)
        .saturating_sub(shared.received_total.load(Ordering::Relaxed));
    // No new messages from here: wait for the echoes still on their way.
    let drain_start = Instant::now();
    if args.mode == Mode::Echo {
        let drain = Duration::from_secs_f64(args.drain.max(0.0));
        while shared.received_total.load(Ordering::Relaxed)
            < shared.sent_total.load(Ordering::Relaxed)
            && drain_start.elapsed() < drain
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let drained_s = drain_start.elapsed().as_secs_f64();
    let sent_total = shared.sent_total.load(Ordering::Relaxed);
    let received_total = shared.received_total.load(Ordering::Relaxed);
    let lost = sent_total.saturating_sub(received_total);
    let mut hist = new_histogram();
    for t in &tasks {
        t.abort();
    }
    for t in tasks {
        let _ = t.await;
    }
    for h in COLLECTED
        .lock()
        .map(|mut v| std::mem::take(&mut *v))
        .unwrap_or_default()
    {
        let _ = hist.add(&h);
    }
    let errors = shared.errors.load(Ordering::Relaxed);
    let ms = |v: u64| v as f64 / 1000.0;
    let rate = messages as f64 / elapsed;
    let cpu_us_per_msg = if messages > 0 {
        cpu_ns as f64 / 1000.0 / messages as f64
    } else {
        0.0
    };
    let (p50, p99, max) = if hist.is_empty() {
        (0.0, 0.0, 0.0)
    } else {
        (
            ms(hist.value_at_quantile(0.5)),
            ms(hist.value_at_quantile(0.99)),
            ms(hist.max()),
        )
    };
    if args.json {
        let out = serde_json::json!({
            "messages_per_sec": round1(rate),
            "p50_ms": round3(p50),
            "p99_ms": round3(p99),
            "max_ms": round3(max),
            "errors": errors,
            "connections": connected,
            "duration_s": round3(elapsed),
            "client_cpu_us_per_msg": round3(cpu_us_per_msg),
            // This process's CPU time over the measured seconds, in % of
            // one core: near 100 per thread, the load generator is the
            // bottleneck and the rate understates the server.
            "client_cpu_pct": round1(cpu_ns as f64 / 1e7 / elapsed),
            "mode": format!("{:?}", args.mode).to_lowercase(),
            "transport": format!("{:?}", args.transport).to_lowercase(),
            "size": args.size,
            "in_flight": args.in_flight,
            "messages_sent": sent_total,
            "messages_received": received_total,
            "messages_lost": lost,
            "in_flight_at_stop": in_flight_at_stop,
            "drain_s": round3(drained_s),
        });
        println!("{out}");
    } else {
        let what = match args.mode {
            Mode::Echo => "messages/s",
            Mode::Handshake => "handshakes/s",
            Mode::Idle => "pings/s",
            Mode::Broadcast => unreachable!("reported by broadcast_run"),
        };
        println!(
            "eio bench {}: {} connections ({:?}, {:?}), {} in flight, {}-byte {}, {:.1} s",
            args.url,
            connected,
            args.transport,
            args.mode,
            args.in_flight,
            args.size,
            if args.binary { "binary" } else { "text" },
            elapsed
        );
        println!("  {what:<13} {rate:.0}");
        println!("  latency       p50 {p50:.3} ms   p99 {p99:.3} ms   max {max:.3} ms");
        println!("  errors        {errors}");
        if args.mode == Mode::Echo {
            println!(
                "  sent {sent_total}   received {received_total}   lost {lost}   \
                 (in flight at stop {in_flight_at_stop}, drained {drained_s:.1} s)"
            );
        }
        println!("  client CPU    {cpu_us_per_msg:.3} µs per message");
    }
    if connected == 0 {
        return Err("no connection could be opened".into());
    }
    Ok(())
}

/// Broadcast mode's shared books.
struct Broadcast {
    /// Time origin of the nanosecond stamps below.
    base: Instant,
    /// Per connection: open, and broadcast messages received.
    open: Box<[AtomicBool]>,
    counts: Box<[AtomicU64]>,
    /// Broadcast messages received in the current round, and how many
    /// make it complete.
    received: AtomicU64,
    expected: AtomicU64,
    /// When the current round's trigger was written, and when the latest
    /// message arrived (ns since `base`).
    trigger_ns: AtomicU64,
    last_ns: AtomicU64,
    /// Messages that were not the expected broadcast.
    unexpected: AtomicU64,
    /// Told when `received` reaches `expected`.
    done: tokio::sync::Notify,
    /// Connection 0's write half, which sends the triggers.
    trigger: std::sync::Mutex<Option<Arc<tokio::sync::Mutex<WebSocketWrite<OwnedWriteHalf>>>>>,
}

impl Broadcast {
    fn new(connections: usize) -> Self {
        Broadcast {
            base: Instant::now(),
            open: (0..connections).map(|_| AtomicBool::new(false)).collect(),
            counts: (0..connections).map(|_| AtomicU64::new(0)).collect(),
            received: AtomicU64::new(0),
            expected: AtomicU64::new(u64::MAX),
            trigger_ns: AtomicU64::new(0),
            last_ns: AtomicU64::new(0),
            unexpected: AtomicU64::new(0),
            done: tokio::sync::Notify::new(),
            trigger: std::sync::Mutex::new(None),
        }
    }

    fn now_ns(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }

    /// Connection `index` received the broadcast message.
    fn received(&self, index: usize, recorder: &mut Recorder) {
        let now = self.now_ns();
        self.counts[index].fetch_add(1, Ordering::Relaxed);
        self.last_ns.fetch_max(now, Ordering::AcqRel);
        let since = now.saturating_sub(self.trigger_ns.load(Ordering::Acquire));
        recorder.record(Duration::from_nanos(since));
        if self.received.fetch_add(1, Ordering::AcqRel) + 1 == self.expected.load(Ordering::Acquire)
        {
            self.done.notify_one();
        }
    }
}

/// One broadcast-mode session: reads and counts broadcast messages and
/// answers pings; connection 0 also hands its write half to the rounds,
/// which write the triggers while this task keeps reading.
async fn ws_broadcast_conn(c: Conn) -> Result<(), BoxError> {
    let Conn {
        target,
        shared,
        ready,
        permit,
        message,
        index,
        ..
    } = c;
    let stream = ws_upgrade(&target, "EIO=4&transport=websocket").await;
    drop(permit);
    let stream = match stream {
        Ok(s) => s,
        Err(e) => {
            let _ = ready.send(()).await;
            return Err(e);
        }
    };
    // Split, so that the rounds can write the trigger while this task
    // keeps reading; pongs and closes are written here, by hand.
    let mut ws = WebSocket::after_handshake(stream, Role::Client);
    ws.set_auto_pong(false);
    ws.set_auto_close(false);
    let (read, write) = ws.split(TcpStream::into_split);
    let mut ws = FragmentCollectorRead::new(read);
    let writer = Arc::new(tokio::sync::Mutex::new(write));
    // With automatic pongs and closes off, reading never has to send.
    let mut no_send = |_| std::future::ready(Ok::<(), std::convert::Infallible>(()));
    let open = ws.read_frame(&mut no_send).await;
    let opened =
        matches!(&open, Ok(f) if f.opcode == OpCode::Text && f.payload.first() == Some(&b'0'));
    let bc = &shared.broadcast;
    if opened {
        bc.open[index].store(true, Ordering::Release);
        if index == 0 {
            if let Ok(mut t) = bc.trigger.lock() {
                *t = Some(writer.clone());
            }
        }
    }
    let _ = ready.send(()).await;
    match open {
        Ok(_) if opened => {}
        Ok(_) => return Err("first frame is not an open packet".into()),
        Err(e) => return Err(e.into()),
    }
    let mut tally = Tally::new(&shared, 0);
    let res = async {
        loop {
            let frame = ws.read_frame(&mut no_send).await?;
            match (frame.opcode, frame.payload.first()) {
                (OpCode::Text, Some(b'4')) if frame.payload[..] == message[..] => {
                    bc.received(index, &mut tally.recorder);
                }
                (OpCode::Binary, _) | (OpCode::Text, Some(b'4')) => {
                    bc.unexpected.fetch_add(1, Ordering::Relaxed);
                }
                (OpCode::Text, Some(b'2')) => {
                    let mut pong = *b"3";
                    writer
                        .lock()
                        .await
                        .write_frame(Frame::text(Payload::BorrowedMut(&mut pong)))
                        .await?;
                }
                (OpCode::Ping, _) => {
                    let payload = frame.payload.to_vec();
                    writer
                        .lock()
                        .await
                        .write_frame(Frame::pong(Payload::Owned(payload)))
                        .await?;
                }
                (OpCode::Text, Some(b'1')) | (OpCode::Close, _) => {
                    return Err::<(), BoxError>("server closed the session".into())
                }
                _ => {}
            }
        }
    }
    .await;
    bc.open[index].store(false, Ordering::Release);
    res
}

/// Broadcast mode once the connections are open: runs the rounds and
/// reports.
async fn broadcast_run(
    args: &BenchArgs,
    shared: &Arc<Shared>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
) -> Result<(), BoxError> {
    let bc = &shared.broadcast;
    let connected = bc.open.iter().filter(|o| o.load(Ordering::Acquire)).count() as u64;
    let writer = bc.trigger.lock().ok().and_then(|t| t.clone());
    let timeout = Duration::from_secs_f64(args.round_timeout.max(0.1));
    let mut rounds_ms: Vec<f64> = Vec::new();
    let mut first_error: Option<String> = None;
    let (mut missing, mut duplicates) = (0u64, 0u64);
    let cpu_start = process_cpu_ns();
    let start = Instant::now();
    if let Some(writer) = writer.filter(|_| connected > 0) {
        // Let the server settle after the connection storm.
        tokio::time::sleep(Duration::from_millis(500)).await;
        // Progress marks on stderr: the peer harness samples the server's
        // CPU time between them.
        eprintln!("eio bench: {connected} sessions open, broadcasting");
        for round in 1..=args.rounds as u64 {
            bc.received.store(0, Ordering::Release);
            bc.expected.store(connected, Ordering::Release);
            bc.last_ns.store(0, Ordering::Release);
            let mut trigger = format!("4broadcast:{}", args.size).into_bytes();
            let t0 = {
                let mut w = writer.lock().await;
                let t0 = bc.now_ns();
                bc.trigger_ns.store(t0, Ordering::Release);
                if let Err(e) = w
                    .write_frame(Frame::text(Payload::BorrowedMut(&mut trigger)))
                    .await
                {
                    first_error = Some(format!("could not send the trigger: {e}"));
                    break;
                }
                t0
            };
            let complete = tokio::time::timeout(timeout, bc.done.notified())
                .await
                .is_ok();
            // A session has it or not; a second copy is a duplicate.
            for (open, count) in bc.open.iter().zip(bc.counts.iter()) {
                let n = count.load(Ordering::Acquire);
                if n > round {
                    duplicates += n - round;
                    count.store(round, Ordering::Release);
                } else if n < round && (open.load(Ordering::Acquire) || n > 0) {
                    missing += round - n;
                    count.store(round, Ordering::Release);
                }
            }
            if !complete {
                first_error = Some(format!(
                    "round {round}: {} of {connected} sessions received the broadcast within {:.0} s",
                    bc.received.load(Ordering::Acquire),
                    timeout.as_secs_f64()
                ));
                break;
            }
            let last = bc.last_ns.load(Ordering::Acquire);
            rounds_ms.push(last.saturating_sub(t0) as f64 / 1e6);
            if (round as usize) < args.rounds {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    } else {
        first_error = Some("the trigger connection did not open".into());
    }
    eprintln!("eio bench: rounds done");
    let elapsed = start.elapsed().as_secs_f64();
    let cpu_ns = process_cpu_ns().saturating_sub(cpu_start);
    shared.stop.store(true, Ordering::Release);
    for t in &tasks {
        t.abort();
    }
    for t in tasks {
        let _ = t.await;
    }
    let mut hist = new_histogram();
    for h in COLLECTED
        .lock()
        .map(|mut v| std::mem::take(&mut *v))
        .unwrap_or_default()
    {
        let _ = hist.add(&h);
    }
    let delivered: u64 = hist.len();
    let unexpected = bc.unexpected.load(Ordering::Relaxed);
    let errors = shared.errors.load(Ordering::Relaxed) + missing + duplicates + unexpected;
    let ms = |v: u64| v as f64 / 1000.0;
    let (p50, p99, max) = if hist.is_empty() {
        (0.0, 0.0, 0.0)
    } else {
        (
            ms(hist.value_at_quantile(0.5)),
            ms(hist.value_at_quantile(0.99)),
            ms(hist.max()),
        )
    };
    let mut sorted = rounds_ms.clone();
    sorted.sort_by(f64::total_cmp);
    let median = match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    };
    let (min, max_round) = (
        sorted.first().copied().unwrap_or(0.0),
        sorted.last().copied().unwrap_or(0.0),
    );
    let busy_s = rounds_ms.iter().sum::<f64>() / 1000.0;
    let rate = if busy_s > 0.0 {
        delivered as f64 / busy_s
    } else {
        0.0
    };
    let cpu_us_per_msg = if delivered > 0 {
        cpu_ns as f64 / 1000.0 / delivered as f64
    } else {
        0.0
    };
    if args.json {
        let out = serde_json::json!({
            "mode": "broadcast",
            "transport": "websocket",
            "size": args.size,
            "connections": connected,
            "rounds": rounds_ms.iter().map(|v| round3(*v)).collect::<Vec<_>>(),
            "round_median_ms": round3(median),
            "round_min_ms": round3(min),
            "round_max_ms": round3(max_round),
            "messages_per_sec": round1(rate),
            "p50_ms": round3(p50),
            "p99_ms": round3(p99),
            "max_ms": round3(max),
            "messages_received": delivered,
            "missing": missing,
            "duplicates": duplicates,
            "unexpected": unexpected,
            "errors": errors,
            "error": first_error,
            "duration_s": round3(elapsed),
            "client_cpu_us_per_msg": round3(cpu_us_per_msg),
        });
        println!("{out}");
    } else {
        println!(
            "eio bench {}: broadcast of {} bytes to {} WebSocket sessions, {} of {} rounds",
            args.url,
            args.size,
            connected,
            rounds_ms.len(),
            args.rounds
        );
        let list: Vec<String> = rounds_ms.iter().map(|v| format!("{v:.1}")).collect();
        println!("  rounds (ms)   {}", list.join("  "));
        println!("  round         median {median:.3} ms   min {min:.3} ms   max {max_round:.3} ms");
        println!(
            "  per message   p50 {p50:.3} ms   p99 {p99:.3} ms   max {max:.3} ms after the trigger"
        );
        println!(
            "  errors        {errors} (missing {missing}, duplicates {duplicates}, \
             unexpected {unexpected})"
        );
        if let Some(e) = &first_error {
            println!("  stopped       {e}");
        }
        println!("  client CPU    {cpu_us_per_msg:.3} µs per message");
    }
    if connected == 0 {
        return Err("no connection could be opened".into());
    }
    if rounds_ms.is_empty() {
        return Err(first_error
            .unwrap_or_else(|| "no round completed".into())
            .into());
    }
    Ok(())
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn new_histogram() -> Histogram<u64> {
    // 1 µs .. 60 s, 3 significant digits.
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds")
}

/// Latency histograms handed in by connections as they finish.
static COLLECTED: std::sync::Mutex<Vec<Histogram<u64>>> = std::sync::Mutex::new(Vec::new());

/// Records latencies for one connection and hands its histogram over when
/// dropped (connections are aborted at the end of the run).
struct Recorder {
    hist: Option<Histogram<u64>>,
}

impl Recorder {
    fn new() -> Self {
        Recorder {
            hist: Some(new_histogram()),
        }
    }

    fn record(&mut self, d: Duration) {
        if let Some(h) = &mut self.hist {
            h.saturating_record((d.as_micros() as u64).max(1));
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let (Some(h), Ok(mut all)) = (self.hist.take(), COLLECTED.lock()) {
            if !h.is_empty() {
                all.push(h);
            }
        }
    }
}

fn build_message(size: usize, binary: bool) -> Vec<u8> {
    if binary {
        (0..size).map(|i| (i % 251) as u8).collect()
    } else {
        let mut m = Vec::with_capacity(size + 1);
        m.push(b'4');
        m.extend((0..size).map(|i| b'a' + (i % 26) as u8));
        m
    }
}

/// Total CPU time of this process (all threads), in nanoseconds.
fn process_cpu_ns() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    dir.flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// Opens a TCP connection and upgrades it to WebSocket; the stream is
/// positioned at the first frame.
async fn ws_upgrade(target: &Target, query: &str) -> Result<TcpStream, BoxError> {
    let mut stream = TcpStream::connect(target.addr).await?;
    stream.set_nodelay(true)?;
    let req = format!(
        "GET {}?{query} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        target.path, target.host
    );
    stream.write_all(req.as_bytes()).await?;
    // Read the response head byte by byte: whatever follows it already
    // belongs to the WebSocket stream.
    let mut head = Vec::with_capacity(256);
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 8192 {
            return Err("response head too large".into());
        }
        let b = stream.read_u8().await?;
        head.push(b);
    }
    if !head.starts_with(b"HTTP/1.1 101") {
        let line = String::from_utf8_lossy(&head);
        return Err(format!(
            "WebSocket upgrade refused: {}",
            line.lines().next().unwrap_or("")
        )
        .into());
    }
    Ok(stream)
}

async fn ws_handshake(target: &Target, query: &str) -> Result<WebSocket<TcpStream>, BoxError> {
    let stream = ws_upgrade(target, query).await?;
    let mut ws = WebSocket::after_handshake(stream, Role::Client);
    ws.set_auto_pong(true);
    ws.set_auto_close(true);
    Ok(ws)
}

async fn ws_conn(c: Conn) -> Result<(), BoxError> {
    let Conn {
        target,
        shared,
        ready,
        permit,
        mode,
        message,
        in_flight,
        binary,
        ..
    } = c;
    let ws = ws_handshake(&target, "EIO=4&transport=websocket").await;
    drop(permit);
    let mut ws = match ws {
        Ok(ws) => FragmentCollector::new(ws),
        Err(e) => {
            let _ = ready.send(()).await;
            return Err(e);
        }
    };
    let open = ws.read_frame().await;
    let _ = ready.send(()).await;
    match open {
        Ok(f) if f.opcode == OpCode::Text && f.payload.first() == Some(&b'0') => {}
        Ok(_) => return Err("first frame is not an open packet".into()),
        Err(e) => return Err(e.into()),
    }
    let mut tally = Tally::new(&shared, in_flight);
    // A reusable buffer: client frames are masked in place.
    let mut buf = message.to_vec();
    let echo = mode == Mode::Echo;
    if echo {
        // Until every connection is open nothing arrives but pings, and the
        // warm-up is far shorter than a ping interval: wait for the start.
        shared.started().await;
        for _ in 0..in_flight {
            buf.copy_from_slice(&message);
            ws.write_frame(data_frame(&mut buf, binary)).await?;
            tally.sent();
        }
    }
    loop {
        let frame = ws.read_frame().await?;
        let first = frame.payload.first().copied();
        let is_message = match (frame.opcode, first) {
            (OpCode::Binary, _) | (OpCode::Text, Some(b'4')) => true,
            (OpCode::Text, Some(b'2')) => {
                let mut pong = *b"3";
                ws.write_frame(Frame::text(Payload::BorrowedMut(&mut pong)))
                    .await?;
                false
            }
            (OpCode::Text, Some(b'1')) | (OpCode::Close, _) => {
                return Err("server closed the session".into())
            }
            _ => false,
        };
        if is_message {
            tally.echoed();
            if echo && !shared.stop.load(Ordering::Relaxed) {
                buf.copy_from_slice(&message);
                ws.write_frame(data_frame(&mut buf, binary)).await?;
                tally.sent();
            }
        }
    }
}

fn data_frame(buf: &mut [u8], binary: bool) -> Frame<'_> {
    if binary {
        Frame::binary(Payload::BorrowedMut(buf))
    } else {
        Frame::text(Payload::BorrowedMut(buf))
    }
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn http_conn(target: &Target) -> Result<Sender, BoxError> {
    let stream = TcpStream::connect(target.addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

async fn http_request(
    sender: &mut Sender,
    target: &Target,
    method: http::Method,
    query: &str,
    body: Bytes,
) -> Result<Bytes, BoxError> {
    Ok(http_exchange(sender, target, method, query, body, "")
        .await?
        .0)
}

/// [`http_request`] that also sends `cookie` (unless empty) and returns the
/// cookies the answer sets (`name=value; …`): a polling session replays its
/// handshake's cookies, so it stays on its node behind a balancer with
/// sticky cookies (HAProxy's `cookie … insert`).
async fn http_exchange(
    sender: &mut Sender,
    target: &Target,
    method: http::Method,
    query: &str,
    body: Bytes,
    cookie: &str,
) -> Result<(Bytes, String), BoxError> {
    sender.ready().await?;
    let mut req = http::Request::builder()
        .method(method)
        .uri(format!("{}?{query}", target.path))
        .header(http::header::HOST, &target.host)
        .header(http::header::CONTENT_TYPE, "text/plain;charset=UTF-8");
    if !cookie.is_empty() {
        req = req.header(http::header::COOKIE, cookie);
    }
    let resp = sender.send_request(req.body(Full::new(body))?).await?;
    let status = resp.status();
    let set_cookies = resp
        .headers()
        .get_all(http::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next())
        .collect::<Vec<_>>()
        .join("; ");
    let body = resp.into_body().collect().await?.to_bytes();
    if status != http::StatusCode::OK {
        return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&body)).into());
    }
    Ok((body, set_cookies))
}

async fn handshake_loop(c: Conn) -> Result<(), BoxError> {
    let Conn {
        target,
        shared,
        ready,
        permit,
        ..
    } = c;
    let target = &*target;
    let conn = http_conn(target).await;
    drop(permit);
    let _ = ready.send(()).await;
    let mut sender = conn?;
    let mut tally = Tally::new(&shared, 0);
    shared.started().await;
    loop {
        if shared.stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        let t = Instant::now();
        let body = http_request(
            &mut sender,
            target,
            http::Method::GET,
            "EIO=4&transport=polling",
            Bytes::new(),
        )
        .await?;
        if body.first() != Some(&b'0') {
            return Err("handshake answer is not an open packet".into());
        }
        tally.done(t);
    }
}

async fn polling_conn(c: Conn) -> Result<(), BoxError> {
    let Conn {
        target,
        shared,
        ready,
        permit,
        mode,
        message,
        in_flight,
        binary,
        ..
    } = c;
    let target = &*target;
    let setup = async {
        let mut get = http_conn(target).await?;
        let post = http_conn(target).await?;
        let (open, cookie) = http_exchange(
            &mut get,
            target,
            http::Method::GET,
            "EIO=4&transport=polling",
            Bytes::new(),
            "",
        )
        .await?;
        let packets = engineio_proto::payload::decode(open, usize::MAX)?;
        let Some(engineio_proto::Packet::Open(text)) = packets.first() else {
            return Err::<_, BoxError>("handshake answer is not an open packet".into());
        };
        let sid = engineio_proto::OpenData::parse(text)?.sid;
        Ok((get, post, sid, cookie))
    }
    .await;
    drop(permit);
    let _ = ready.send(()).await;
    let (mut get, mut post, sid, cookie) = setup?;
    let cookie = cookie.as_str();
    let mut tally = Tally::new(&shared, in_flight);
    let query = format!("EIO=4&transport=polling&sid={sid}");
    let packet = if binary {
        engineio_proto::Packet::binary(message.clone())
    } else {
        engineio_proto::Packet::decode_text(message.clone())?
    };
    let mut to_send: Vec<engineio_proto::Packet> = Vec::new();
    if mode == Mode::Echo {
        shared.started().await;
    }
    loop {
        // After the stop, keep polling only to collect echoes in flight.
        if shared.stop.load(Ordering::Relaxed) && tally.in_flight() == 0 {
            return Ok(());
        }
        let measuring = shared.measuring.load(Ordering::Acquire);
        if mode == Mode::Echo && measuring {
            while tally.in_flight() < in_flight {
                to_send.push(packet.clone());
                tally.sent();
            }
        }
        if !to_send.is_empty() {
            let body = engineio_proto::payload::encode(&to_send);
            to_send.clear();
            http_exchange(&mut post, target, http::Method::POST, &query, body, cookie).await?;
        }
        let (body, _) = http_exchange(
            &mut get,
            target,
            http::Method::GET,
            &query,
            Bytes::new(),
            cookie,
        )
        .await?;
        for p in engineio_proto::payload::decode(body, usize::MAX)? {
            match p {
                engineio_proto::Packet::Ping(_) => to_send.push(engineio_proto::Packet::pong()),
                engineio_proto::Packet::Message(_) => tally.echoed(),
                engineio_proto::Packet::Close => return Err("server closed the session".into()),
                _ => {}
            }
        }
    }
}

async fn tcp_conn(c: Conn) -> Result<(), BoxError> {
    let Conn {
        target,
        shared,
        ready,
        permit,
        in_flight,
        ..
    } = c;
    let stream = TcpStream::connect(target.addr).await;
    drop(permit);
    let _ = ready.send(()).await;
    let mut stream = stream?;
    stream.set_nodelay(true)?;
    let mut tally = Tally::new(&shared, in_flight);
    let msg = [b'x'; 8];
    let mut buf = [0u8; 8];
    shared.started().await;
    for _ in 0..in_flight {
        stream.write_all(&msg).await?;
        tally.sent();
    }
    loop {
        stream.read_exact(&mut buf).await?;
        tally.echoed();
        if !shared.stop.load(Ordering::Relaxed) {
            stream.write_all(&msg).await?;
            tally.sent();
        }
    }
}

/// `eio tcp-echo`: echoes every byte back; the TCP floor for `eio bench
/// --transport tcp`. Prints `LISTENING <port>`.
pub(crate) fn tcp_echo(host: &str, port: u16) -> Result<(), BoxError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind((host, port)).await?;
        println!("LISTENING {}", listener.local_addr()?.port());
        loop {
            let (mut s, _) = listener.accept().await?;
            s.set_nodelay(true)?;
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                loop {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if s.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    }
                }
            });
        }
    })
}
