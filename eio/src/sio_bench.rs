//! `eio sio-bench URL` (hidden): Socket.IO emit-with-ack round trips with our
//! [`socketio::AsyncClient`], the "ours" client of the peer benchmark's
//! client workload (bench/harness.py, workload 7).
//!
//! One client connects to `/` and keeps `--in-flight` emits of event `echo`
//! with a 16-byte string outstanding; the server acknowledges each with the
//! arguments it got, and each acknowledgement sends the next emit. After
//! `--warmup` seconds it prints `{"started":true}`, counts the
//! acknowledgements of the next `--seconds` seconds, and prints
//! `{"round_trips":R,"seconds":S,"errors":E}`. It then waits 0.3 s (so the
//! harness can read this process's CPU time at the mark before the
//! disconnect costs any) and disconnects.
//!
//! Every client of the benchmark (bench/peers/) follows this contract.

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use socketio::{AsyncClient, ConnectOptions, TransportKind};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The payload of every emit: 16 bytes of text.
const PAYLOAD: &str = "0123456789abcdef";

/// Options of `eio sio-bench`.
#[derive(Debug, Args)]
pub(crate) struct SioBenchArgs {
    /// Server URL, e.g. `http://127.0.0.1:3000` (path `/socket.io/`).
    url: String,
    /// Emits with an acknowledgement kept outstanding.
    #[arg(long, default_value_t = 1)]
    in_flight: usize,
    /// Measured duration in seconds (after the warm-up).
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Seconds of round trips before the measured window.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// The Engine.IO transport (no upgrade).
    #[arg(long, value_enum, default_value_t = Transport::Websocket)]
    transport: Transport,
    /// Use `call` (one task per in-flight slot awaiting its answer) instead
    /// of `emit_with_ack` callbacks.
    #[arg(long)]
    call: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Transport {
    Websocket,
    Polling,
}

#[derive(Default)]
struct Tally {
    round_trips: AtomicU64,
    errors: AtomicU64,
    stop: AtomicBool,
}

/// Emits once; the acknowledgement counts a round trip and emits again.
fn fire(client: &AsyncClient, tally: &Arc<Tally>) {
    let (c, t) = (client.clone(), tally.clone());
    let sent = client.emit_with_ack("echo", PAYLOAD, move |_args| {
        t.round_trips.fetch_add(1, Ordering::Relaxed);
        if !t.stop.load(Ordering::Relaxed) {
            fire(&c, &t);
        }
    });
    if sent.is_err() {
        tally.errors.fetch_add(1, Ordering::Relaxed);
    }
}

fn line(v: serde_json::Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{v}");
    let _ = out.flush();
}

pub(crate) fn run(args: SioBenchArgs) -> Result<(), BoxError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(session(args))
}

async fn session(args: SioBenchArgs) -> Result<(), BoxError> {
    let client = AsyncClient::builder()
        .handle_sigint(false)
        .reconnection(false)
        .build();
    let kind = match args.transport {
        Transport::Websocket => TransportKind::WebSocket,
        Transport::Polling => TransportKind::Polling,
    };
    client
        .connect_with(ConnectOptions::new(args.url.clone()).transports([kind]))
        .await?;
    let tally = Arc::new(Tally::default());
    let mut tasks = Vec::new();
    for _ in 0..args.in_flight.max(1) {
        if args.call {
            let (c, t) = (client.clone(), tally.clone());
            tasks.push(tokio::spawn(async move {
                while !t.stop.load(Ordering::Relaxed) {
                    match c.call("echo", PAYLOAD).await {
                        Ok(_) => t.round_trips.fetch_add(1, Ordering::Relaxed),
                        Err(_) => {
                            t.errors.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                    };
                }
            }));
        } else {
            fire(&client, &tally);
        }
    }
    tokio::time::sleep(Duration::from_secs_f64(args.warmup.max(0.0))).await;
    let n0 = tally.round_trips.load(Ordering::Relaxed);
    let t0 = Instant::now();
    line(serde_json::json!({"started": true}));
    tokio::time::sleep(Duration::from_secs_f64(args.seconds)).await;
    let n = tally.round_trips.load(Ordering::Relaxed) - n0;
    let secs = t0.elapsed().as_secs_f64();
    line(serde_json::json!({
        "round_trips": n,
        "seconds": (secs * 1000.0).round() / 1000.0,
        "round_trips_per_sec": (n as f64 / secs).round(),
        "errors": tally.errors.load(Ordering::Relaxed),
    }));
    tally.stop.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), client.disconnect()).await;
    for t in tasks {
        t.abort();
    }
    Ok(())
}
