// Node engine.io-client 6.6 as a client of the benchmark's Engine.IO client
// workload (bench/harness.py, workload 8):
//
//   node bench/peers/eio-client-bench.js URL [--transport websocket|polling]
//        [--seconds D] [--warmup W]
//   node bench/peers/eio-client-bench.js URL --idle N [--hold S]
//
// Round trips: one socket over the transport (`transports: [T]`, no
// upgrade) sends a 16-byte text message to an echo server; each echo counts
// a round trip and sends the next message. After W seconds (default 1)
// prints {"started":true}, counts the echoes of the next D seconds (default
// 10) and prints {"round_trips":R,"seconds":S,"errors":E}; then waits 0.3 s
// and closes.
//
// Idle: opens one WebSocket socket (with a message listener), prints
// {"idle":1} and waits for a line on stdin; opens the other N - 1 one after
// the other, holds them for S seconds (default 2), prints
// {"idle":N,"errors":E,"open_seconds":T} and waits for another line; then
// exits. The same contract as `eio eio-client-bench` (eio/src/client_bench.rs).
// Needs engine.io-client from interop/node_modules (`bash interop/setup.sh`).
"use strict";
const path = require("path");
const { Socket } = require(path.join(__dirname, "..", "..", "interop", "node_modules", "engine.io-client"));

const PAYLOAD = "0123456789abcdef";

function parseArgs(argv) {
  const o = { url: null, transport: "websocket", seconds: 10, warmup: 1, idle: null, hold: 2 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) { o.url = a; continue; }
    const v = argv[++i];
    if (v === undefined) throw new Error(`${a} needs a value`);
    if (a === "--transport") o.transport = v;
    else if (a === "--seconds") o.seconds = Number(v);
    else if (a === "--warmup") o.warmup = Number(v);
    else if (a === "--idle") o.idle = Number(v);
    else if (a === "--hold") o.hold = Number(v);
    else throw new Error(`unknown option ${a}`);
  }
  if (!o.url || !["websocket", "polling"].includes(o.transport)) {
    throw new Error("usage: eio-client-bench.js URL [--transport websocket|polling] [--seconds D] [--warmup W] "
      + "| URL --idle N [--hold S]");
  }
  return o;
}

const line = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function open(url, transport, onMessage) {
  return new Promise((resolve, reject) => {
    const socket = new Socket(url, { transports: [transport], upgrade: false });
    socket.on("message", onMessage);
    socket.once("open", () => resolve(socket));
    socket.once("error", (e) => reject(e instanceof Error ? e : new Error(String(e))));
  });
}

function roundTrips(opts) {
  let roundTrips = 0;
  let stop = false;
  let socket;
  open(opts.url, opts.transport, () => {
    roundTrips++;
    if (!stop) socket.send(PAYLOAD);
  }).then((s) => {
    socket = s;
    socket.on("close", (reason) => {
      if (!stop) {
        console.error(`closed: ${reason}`);
        process.exit(1);
      }
    });
    socket.send(PAYLOAD);
    setTimeout(() => {
      const n0 = roundTrips;
      const t0 = process.hrtime.bigint();
      line({ started: true });
      setTimeout(() => {
        const n = roundTrips - n0;
        const secs = Number(process.hrtime.bigint() - t0) / 1e9;
        line({
          round_trips: n,
          seconds: Math.round(secs * 1000) / 1000,
          round_trips_per_sec: Math.round(n / secs),
          errors: 0,
        });
        stop = true;
        setTimeout(() => {
          // Exit once closed, so that the server holds no session when it
          // is stopped (a polling session would delay its shutdown).
          socket.once("close", () => process.exit(0));
          socket.close();
          setTimeout(() => process.exit(0), 2000);
        }, 300);
      }, opts.seconds * 1000);
    }, opts.warmup * 1000);
  }, (e) => {
    console.error(`connect failed: ${e.message}`);
    process.exit(1);
  });
}

async function idle(opts) {
  const lines = [];
  let waiting = null;
  process.stdin.on("data", (chunk) => {
    for (let k = (String(chunk).match(/\n/g) || []).length; k > 0; k--) {
      if (waiting) { const w = waiting; waiting = null; w(); } else lines.push(1);
    }
  });
  process.stdin.on("end", () => { if (waiting) waiting(); });
  const go = () => (lines.length ? (lines.shift(), Promise.resolve()) : new Promise((r) => { waiting = r; }));
  let received = 0;
  const onMessage = () => { received++; };
  const sockets = [];
  try {
    sockets.push(await open(opts.url, "websocket", onMessage));
  } catch (e) {
    console.error(`connect failed: ${e.message}`);
    process.exit(1);
  }
  line({ idle: 1 });
  await go();
  let errors = 0;
  let lastError = null;
  const t0 = process.hrtime.bigint();
  for (let i = 1; i < opts.idle; i++) {
    try {
      sockets.push(await open(opts.url, "websocket", onMessage));
    } catch (e) {
      errors++;
      lastError = e.message;
    }
  }
  const openSecs = Number(process.hrtime.bigint() - t0) / 1e9;
  await sleep(opts.hold * 1000);
  const up = sockets.filter((s) => s.readyState === "open").length;
  const out = { idle: up, errors, open_seconds: Math.round(openSecs * 1000) / 1000 };
  if (lastError) out.error = lastError;
  line(out);
  await go();
  process.exit(0);
}

const opts = parseArgs(process.argv.slice(2));
if (opts.idle === null) roundTrips(opts);
else idle(opts);
