//! `eio eio-client-bench URL` (hidden): Engine.IO echo round trips and idle
//! connections with our clients, the "ours" clients of the peer benchmark's
//! Engine.IO client workload (bench/harness.py, workload 8).
//!
//! The client is [`engineio::client::Client`] on a current-thread tokio
//! runtime, or with `--blocking` [`engineio::client::blocking::Client`]
//! (called from the main thread; the library runs its own runtime and
//! handler threads). Both use the library's default options apart from the
//! transport and `handle_sigint(false)`.
//!
//! **Round trips** (the default): one connection over `--transport`
//! (`websocket`: WebSocket only; `polling`: polling only, no upgrade) sends
//! a 16-byte text message to an echo server; the message handler counts
//! each echo and sends the next message, so one message is in flight. After
//! `--warmup` seconds it prints `{"started":true}`, counts the echoes of the
//! next `--seconds` seconds and prints
//! `{"round_trips":R,"seconds":S,"errors":E}`; then waits 0.3 s (so the
//! harness reads this process's CPU time before the disconnect costs any)
//! and disconnects. The same contract as `eio sio-bench`.
//!
//! **Idle** (`--idle N`): opens one WebSocket connection (with a message
//! handler, as an application would have), prints `{"idle":1}` and waits for
//! a line on stdin (the harness reads this process's RSS meanwhile); opens
//! the other N − 1 one after the other, holds all of them idle for `--hold`
//! seconds, prints `{"idle":N,"errors":E,"open_seconds":T}` (N counts the
//! connections open) and waits for another stdin line; then exits without
//! closing them.
//!
//! Every Engine.IO client of the benchmark (bench/peers/eio-client-bench.js,
//! bench/peers/eio_client_bench.py) follows this contract.

use std::io::{BufRead as _, Write as _};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use engineio::client::{blocking, Client, Data, TransportKind};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The payload of every message: 16 bytes of text.
const PAYLOAD: &str = "0123456789abcdef";

/// Options of `eio eio-client-bench`.
#[derive(Debug, Args)]
pub(crate) struct ClientBenchArgs {
    /// Server URL, e.g. `http://127.0.0.1:3000` (path `/engine.io/`).
    url: String,
    /// The transport of the round trips (no upgrade). Idle connections are
    /// always WebSocket.
    #[arg(long, value_enum, default_value_t = Transport::Websocket)]
    transport: Transport,
    /// Measured duration in seconds (after the warm-up).
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Seconds of round trips before the measured window.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Use the blocking client (`engineio::client::blocking::Client`).
    #[arg(long)]
    blocking: bool,
    /// Idle mode: open this many WebSocket connections and hold them.
    #[arg(long, value_name = "N")]
    idle: Option<usize>,
    /// Idle mode: seconds to hold the connections once all are open.
    #[arg(long, default_value_t = 2.0)]
    hold: f64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Transport {
    Websocket,
    Polling,
}

impl Transport {
    fn kind(self) -> TransportKind {
        match self {
            Transport::Websocket => TransportKind::WebSocket,
            Transport::Polling => TransportKind::Polling,
        }
    }
}

#[derive(Default)]
struct Tally {
    round_trips: AtomicU64,
    errors: AtomicU64,
    stop: AtomicBool,
}

impl Tally {
    /// An echo arrived: count it and, unless stopping, send the next message
    /// with `send`.
    fn echo(&self, send: impl FnOnce() -> engineio::client::Result<()>) {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        if !self.stop.load(Ordering::Relaxed) && send().is_err() {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn count(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }
}

fn line(v: serde_json::Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{v}");
    let _ = out.flush();
}

fn result_line(n: u64, secs: f64, errors: u64) {
    line(serde_json::json!({
        "round_trips": n,
        "seconds": (secs * 1000.0).round() / 1000.0,
        "round_trips_per_sec": (n as f64 / secs).round(),
        "errors": errors,
    }));
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

/// Blocks until the harness writes a line (or closes stdin).
fn wait_for_go() {
    let mut buf = String::new();
    let _ = std::io::stdin().lock().read_line(&mut buf);
}

pub(crate) fn run(args: ClientBenchArgs) -> Result<(), BoxError> {
    match (args.blocking, args.idle) {
        (true, None) => blocking_round_trips(&args),
        (true, Some(n)) => blocking_idle(&args, n),
        (false, idle) => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            match idle {
                None => rt.block_on(async_round_trips(&args)),
                Some(n) => rt.block_on(async_idle(&args, n)),
            }
        }
    }
}

async fn async_round_trips(args: &ClientBenchArgs) -> Result<(), BoxError> {
    let tally = Arc::new(Tally::default());
    let t = tally.clone();
    let client = Client::builder()
        .handle_sigint(false)
        .transports([args.transport.kind()])
        .on_message(move |c: &Client, _data: Data| t.echo(|| c.send(PAYLOAD)))
        .connect(&args.url)
        .await?;
    client.send(PAYLOAD)?;
    tokio::time::sleep(secs(args.warmup)).await;
    let n0 = tally.count();
    let t0 = Instant::now();
    line(serde_json::json!({"started": true}));
    tokio::time::sleep(secs(args.seconds)).await;
    let n = tally.count() - n0;
    result_line(
        n,
        t0.elapsed().as_secs_f64(),
        tally.errors.load(Ordering::Relaxed),
    );
    tally.stop.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), client.disconnect()).await;
    Ok(())
}

fn blocking_round_trips(args: &ClientBenchArgs) -> Result<(), BoxError> {
    let tally = Arc::new(Tally::default());
    let t = tally.clone();
    let client = blocking::Client::builder()
        .handle_sigint(false)
        .transports([args.transport.kind()])
        .on_message(move |c: &blocking::Client, _data: Data| t.echo(|| c.send(PAYLOAD)))
        .connect(&args.url)?;
    client.send(PAYLOAD)?;
    std::thread::sleep(secs(args.warmup));
    let n0 = tally.count();
    let t0 = Instant::now();
    line(serde_json::json!({"started": true}));
    std::thread::sleep(secs(args.seconds));
    let n = tally.count() - n0;
    result_line(
        n,
        t0.elapsed().as_secs_f64(),
        tally.errors.load(Ordering::Relaxed),
    );
    tally.stop.store(true, Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(300));
    client.disconnect();
    Ok(())
}

/// Stdin lines, read by a thread started before the first connection (so
/// its memory is in the baseline).
fn go_signals() -> tokio::sync::mpsc::UnboundedReceiver<()> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || loop {
        wait_for_go();
        if tx.send(()).is_err() {
            break;
        }
    });
    rx
}

async fn async_idle(args: &ClientBenchArgs, n: usize) -> Result<(), BoxError> {
    let mut go = go_signals();
    let received = Arc::new(AtomicU64::new(0));
    let builder = {
        let r = received.clone();
        Client::builder()
            .handle_sigint(false)
            .transports([TransportKind::WebSocket])
            .on_message(move |_c: &Client, _data: Data| {
                r.fetch_add(1, Ordering::Relaxed);
            })
    };
    let mut clients = vec![builder.clone().connect(&args.url).await?];
    line(serde_json::json!({"idle": 1}));
    go.recv().await;
    let (mut errors, mut last_error) = (0u64, None);
    let t0 = Instant::now();
    for _ in 1..n {
        match builder.clone().connect(&args.url).await {
            Ok(c) => clients.push(c),
            Err(e) => {
                errors += 1;
                last_error = Some(e.to_string());
            }
        }
    }
    let open = t0.elapsed().as_secs_f64();
    tokio::time::sleep(secs(args.hold)).await;
    let up = clients.iter().filter(|c| c.is_connected()).count();
    idle_line(up, errors, open, last_error);
    go.recv().await;
    // Exit without closing: the harness has what it measures.
    std::process::exit(0)
}

fn blocking_idle(args: &ClientBenchArgs, n: usize) -> Result<(), BoxError> {
    let received = Arc::new(AtomicU64::new(0));
    let builder = {
        let r = received.clone();
        blocking::Client::builder()
            .handle_sigint(false)
            .transports([TransportKind::WebSocket])
            .on_message(move |_c: &blocking::Client, _data: Data| {
                r.fetch_add(1, Ordering::Relaxed);
            })
    };
    let mut clients = vec![builder.clone().connect(&args.url)?];
    line(serde_json::json!({"idle": 1}));
    wait_for_go();
    let (mut errors, mut last_error) = (0u64, None);
    let t0 = Instant::now();
    for _ in 1..n {
        match builder.clone().connect(&args.url) {
            Ok(c) => clients.push(c),
            Err(e) => {
                errors += 1;
                last_error = Some(e.to_string());
            }
        }
    }
    let open = t0.elapsed().as_secs_f64();
    std::thread::sleep(secs(args.hold));
    let up = clients.iter().filter(|c| c.is_connected()).count();
    idle_line(up, errors, open, last_error);
    wait_for_go();
    std::process::exit(0)
}

fn idle_line(up: usize, errors: u64, open: f64, last_error: Option<String>) {
    let mut v = serde_json::json!({
        "idle": up,
        "errors": errors,
        "open_seconds": (open * 1000.0).round() / 1000.0,
    });
    if let Some(e) = last_error {
        v["error"] = serde_json::Value::String(e);
    }
    line(v);
}
