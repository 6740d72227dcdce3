//! rust_socketio's async client as a client of the benchmark's client
//! workload (bench/harness.py, workload 7):
//!
//! ```text
//! rust-socketio-bench URL [--in-flight N] [--seconds D] [--warmup W]
//! ```
//!
//! Connects over WebSocket only and keeps N emits of event `echo` with a
//! 16-byte string outstanding. After W seconds (default 1) prints
//! `{"started":true}`, counts the acknowledgements of the next D seconds
//! (default 10) and prints `{"round_trips":R,"seconds":S,"errors":E,...}`;
//! then waits 0.3 s and disconnects. The same contract as `eio sio-bench`
//! (eio/src/sio_bench.rs).
//!
//! Three things of rust_socketio 0.6 shape this program:
//!
//! - `connect()` returns before the server has accepted the namespace; an
//!   emit sent at once reaches Node socket.io first, which closes the
//!   connection ("invalid state"). So it waits for the `connect` event.
//! - An ack callback runs while the client holds the write lock of its
//!   outstanding acks, and `emit_with_ack` takes that lock: a callback that
//!   emits deadlocks. So callbacks only send the acked payload to a channel,
//!   and the main task emits the next one.
//! - Ack ids are random in 0..999, not a counter. With several emits in
//!   flight two can share an id; the first answer then runs both callbacks
//!   and the removal that follows (by stale index) drops another pending
//!   ack, whose callback never runs; when the stale index is past the end,
//!   `Vec::remove` panics in the task that reads the connection, which
//!   stops: nothing more is received. With 16 in flight that happens
//!   within a few hundred emits, and this program then exits with an error
//!   (no acknowledgement for 2 s). So every emit carries its own 16-byte
//!   payload (`s` + 15 digits), echoed back by the server: a round trip is
//!   counted when the payload of a pending emit comes back (a duplicate
//!   callback is ignored), and an emit unanswered for 1 s is written off
//!   (`lost`) and replaced, so N stay in flight.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::FutureExt as _;
use rust_socketio::asynchronous::{Client, ClientBuilder};
use rust_socketio::{Event, Payload, TransportType};
use serde_json::Value;
use tokio::sync::mpsc;

struct Args {
    url: String,
    in_flight: usize,
    seconds: f64,
    warmup: f64,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        url: String::new(),
        in_flight: 1,
        seconds: 10.0,
        warmup: 1.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        if !arg.starts_with("--") {
            a.url = arg;
            continue;
        }
        let v = it.next().ok_or_else(|| format!("{arg} needs a value"))?;
        let bad = |_| format!("bad value for {arg}: {v}");
        match arg.as_str() {
            "--in-flight" => a.in_flight = v.parse().map_err(|_| format!("bad {arg}"))?,
            "--seconds" => a.seconds = v.parse().map_err(bad)?,
            "--warmup" => a.warmup = v.parse().map_err(|_| format!("bad {arg}"))?,
            _ => return Err(format!("unknown option {arg}")),
        }
    }
    if a.url.is_empty() {
        return Err(
            "usage: rust-socketio-bench URL [--in-flight N] [--seconds D] [--warmup W]".into(),
        );
    }
    Ok(a)
}

fn line(v: Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{v}");
    let _ = out.flush();
}

/// The first string anywhere in an ack's payload.
fn first_string(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Array(a) => a.iter().find_map(first_string),
        _ => None,
    }
}

#[derive(Default)]
struct Tally {
    round_trips: u64,
    duplicates: u64,
    lost: u64,
    errors: u64,
}

async fn emit(
    client: &Client,
    seq: &mut u64,
    pending: &mut HashMap<String, Instant>,
    acks: &mpsc::UnboundedSender<String>,
    tally: &mut Tally,
) {
    *seq += 1;
    let payload = format!("s{:015}", *seq);
    pending.insert(payload.clone(), Instant::now());
    let tx = acks.clone();
    let sent = client
        .emit_with_ack(
            "echo",
            Value::String(payload),
            Duration::from_secs(60),
            move |p: Payload, _c: Client| {
                let got = match &p {
                    Payload::Text(values) => {
                        values.iter().find_map(first_string).map(str::to_owned)
                    }
                    // rust_socketio 0.6 deprecates `Payload::String` but still
                    // delivers some acks in it: the match must cover it.
                    #[allow(deprecated)]
                    Payload::String(s) => serde_json::from_str::<Value>(s)
                        .ok()
                        .as_ref()
                        .and_then(first_string)
                        .map(str::to_owned),
                    Payload::Binary(_) => None,
                };
                let tx = tx.clone();
                async move {
                    if let Some(s) = got {
                        let _ = tx.send(s);
                    }
                }
                .boxed()
            },
        )
        .await;
    if let Err(e) = sent {
        if tally.errors == 0 {
            eprintln!("rust-socketio-bench: emit_with_ack: {e:?}");
        }
        tally.errors += 1;
    }
}

/// The last panic of any task (rust_socketio's reader task runs apart from
/// ours, so its panic would otherwise show only on stderr).
static PANIC: Mutex<Option<String>> = Mutex::new(None);

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info
            .location()
            .map(|l| {
                format!(
                    " at {}:{}",
                    l.file().rsplit("/src/").next().unwrap_or(""),
                    l.line()
                )
            })
            .unwrap_or_default();
        if let Ok(mut p) = PANIC.lock() {
            *p = Some(format!("{msg}{at}"));
        }
        default_hook(info);
    }));
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("rust-socketio-bench: {e}");
            std::process::exit(2);
        }
    };
    // `connect` returns before the server has accepted the namespace, and
    // Node socket.io closes the connection on an event that comes before
    // that: wait for the `connect` event first.
    let (up_tx, mut up_rx) = mpsc::unbounded_channel::<()>();
    let client = match ClientBuilder::new(args.url.clone())
        .transport_type(TransportType::Websocket)
        .reconnect(false)
        .on(Event::Connect, move |_p: Payload, _c: Client| {
            let _ = up_tx.send(());
            async {}.boxed()
        })
        .connect()
        .await
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("rust-socketio-bench: connect: {e}");
            std::process::exit(1);
        }
    };
    if tokio::time::timeout(Duration::from_secs(10), up_rx.recv())
        .await
        .is_err()
    {
        eprintln!("rust-socketio-bench: the namespace did not connect");
        std::process::exit(1);
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let mut pending: HashMap<String, Instant> = HashMap::new();
    let mut seq = 0u64;
    let mut tally = Tally::default();
    for _ in 0..args.in_flight.max(1) {
        emit(&client, &mut seq, &mut pending, &tx, &mut tally).await;
    }
    let start = Instant::now();
    let warm_end = start + Duration::from_secs_f64(args.warmup);
    let end = warm_end + Duration::from_secs_f64(args.seconds);
    let mut sweep = tokio::time::interval(Duration::from_millis(200));
    let mut started: Option<(Instant, u64)> = None;
    let mut deadline = Box::pin(tokio::time::sleep_until(warm_end.into()));
    let mut last_ack = Instant::now();
    loop {
        tokio::select! {
            got = rx.recv() => {
                let Some(s) = got else { break };
                last_ack = Instant::now();
                if pending.remove(&s).is_some() {
                    tally.round_trips += 1;
                    emit(&client, &mut seq, &mut pending, &tx, &mut tally).await;
                } else {
                    tally.duplicates += 1;
                }
            }
            _ = sweep.tick() => {
                let now = Instant::now();
                if now.duration_since(last_ack) > Duration::from_secs(2) {
                    let why = PANIC
                        .lock()
                        .ok()
                        .and_then(|p| p.clone())
                        .map_or_else(String::new, |p| format!("; a task panicked: {p}"));
                    eprintln!(
                        "rust-socketio-bench: no acknowledgement for 2 s after {} round trips{why}",
                        tally.round_trips
                    );
                    std::process::exit(1);
                }
                let old: Vec<String> = pending
                    .iter()
                    .filter(|(_, t)| now.duration_since(**t) > Duration::from_secs(1))
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in old {
                    pending.remove(&k);
                    tally.lost += 1;
                    emit(&client, &mut seq, &mut pending, &tx, &mut tally).await;
                }
            }
            _ = &mut deadline => {
                match started {
                    None => {
                        started = Some((Instant::now(), tally.round_trips));
                        line(serde_json::json!({"started": true}));
                        deadline.as_mut().reset(end.into());
                    }
                    Some((t0, n0)) => {
                        let n = tally.round_trips - n0;
                        let secs = t0.elapsed().as_secs_f64();
                        line(serde_json::json!({
                            "round_trips": n,
                            "seconds": (secs * 1000.0).round() / 1000.0,
                            "round_trips_per_sec": (n as f64 / secs).round(),
                            "errors": tally.errors,
                            "lost": tally.lost,
                            "duplicate_callbacks": tally.duplicates,
                        }));
                        break;
                    }
                }
            }
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), client.disconnect()).await;
}
