// Node socket.io-client 4.8 as a client of the benchmark's client workload
// (bench/harness.py, workload 7):
//
//   node bench/peers/sio-client-bench.js URL [--in-flight N] [--seconds D] [--warmup W]
//
// Connects over WebSocket only and keeps N emits of event `echo` with a
// 16-byte string outstanding; each acknowledgement sends the next emit.
// After W seconds (default 1) prints {"started":true}, counts the
// acknowledgements of the next D seconds (default 10) and prints
// {"round_trips":R,"seconds":S,"errors":E}; then waits 0.3 s and
// disconnects. The same contract as `eio sio-bench` (eio/src/sio_bench.rs).
// Needs socket.io-client from interop/node_modules (`bash interop/setup.sh`).
"use strict";
const path = require("path");
const { io } = require(path.join(__dirname, "..", "..", "interop", "node_modules", "socket.io-client"));

const PAYLOAD = "0123456789abcdef";

function parseArgs(argv) {
  const o = { url: null, inFlight: 1, seconds: 10, warmup: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) { o.url = a; continue; }
    const v = argv[++i];
    if (v === undefined) throw new Error(`${a} needs a value`);
    if (a === "--in-flight") o.inFlight = Number(v);
    else if (a === "--seconds") o.seconds = Number(v);
    else if (a === "--warmup") o.warmup = Number(v);
    else throw new Error(`unknown option ${a}`);
  }
  if (!o.url) throw new Error("usage: sio-client-bench.js URL [--in-flight N] [--seconds D] [--warmup W]");
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const socket = io(opts.url, { transports: ["websocket"], reconnection: false });
let roundTrips = 0;
let stop = false;

function fire() {
  socket.emit("echo", PAYLOAD, () => {
    roundTrips++;
    if (!stop) fire();
  });
}

socket.on("connect_error", (e) => {
  console.error(`connect_error: ${e.message}`);
  process.exit(1);
});

socket.once("connect", () => {
  for (let i = 0; i < Math.max(1, opts.inFlight); i++) fire();
  setTimeout(() => {
    const n0 = roundTrips;
    const t0 = process.hrtime.bigint();
    console.log(JSON.stringify({ started: true }));
    setTimeout(() => {
      const n = roundTrips - n0;
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      console.log(JSON.stringify({
        round_trips: n,
        seconds: Math.round(secs * 1000) / 1000,
        round_trips_per_sec: Math.round(n / secs),
        errors: 0,
      }));
      stop = true;
      setTimeout(() => {
        socket.disconnect();
        process.exit(0);
      }, 300);
    }, opts.seconds * 1000);
  }, opts.warmup * 1000);
});
