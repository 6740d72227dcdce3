// The reference Node Socket.IO server (socket.io 4.8) for our client's tests.
//
//   node sio_server.js [--port P] [--parser default|msgpack]
//                      [--ping-interval MS] [--ping-timeout MS]
//                      [--path /socket.io/] [--max-http-buffer-size BYTES]
//
// Binds 127.0.0.1 (port 0 = any free port). stdout carries one JSON object
// per line: first {"listening":PORT}, then one line per thing the server
// sees (see interop/README.md for the whole contract):
//   {"ev":"connection","nsp":..,"sid":..,"auth":..,"transport":"polling|websocket"}
//   {"ev":"disconnect","nsp":..,"sid":..,"reason":..}
//   {"ev":"event","nsp":..,"sid":..,"name":..,"args":[..]}
//   {"ev":"refused","nsp":"/admin","auth":..}
// Buffers are printed as {"$binary":"<hex>"}; ack callbacks are left out.
//
// Namespaces: "/" (open), "/admin" (needs auth.token === "secret"), any
// /^\/dyn-[\w-]+$/ (open, dynamic); others get socket.io's own refusal.
// Events (every namespace): echo, burst, big, ask, kick, close_engine,
// whoami. Exits on SIGTERM/SIGINT or when stdin closes.
"use strict";
const http = require("http");
const { Server } = require("socket.io");

function parseArgs(argv) {
  const opts = {
    port: 0,
    parser: "default",
    pingInterval: 25000,
    pingTimeout: 20000,
    path: "/socket.io/",
    maxHttpBufferSize: 1e8,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    i++;
    switch (flag) {
      case "--port": opts.port = Number(value); break;
      case "--parser":
        if (value !== "default" && value !== "msgpack") throw new Error(`bad --parser ${value}`);
        opts.parser = value;
        break;
      case "--ping-interval": opts.pingInterval = Number(value); break;
      case "--ping-timeout": opts.pingTimeout = Number(value); break;
      case "--path": opts.path = value; break;
      case "--max-http-buffer-size": opts.maxHttpBufferSize = Number(value); break;
      default: throw new Error(`unknown option ${flag}`);
    }
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));

// JSON-printable copy of a value: binary as {"$binary":hex}, functions left out.
function printable(v) {
  if (Buffer.isBuffer(v)) return { $binary: v.toString("hex") };
  if (v instanceof ArrayBuffer) return { $binary: Buffer.from(v).toString("hex") };
  if (ArrayBuffer.isView(v)) {
    return { $binary: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex") };
  }
  if (Array.isArray(v)) return v.filter((x) => typeof x !== "function").map(printable);
  if (v && typeof v === "object") {
    const out = {};
    for (const [k, x] of Object.entries(v)) {
      if (typeof x !== "function") out[k] = printable(x);
    }
    return out;
  }
  return v;
}

function log(obj) {
  process.stdout.write(JSON.stringify(printable(obj)) + "\n");
}

const httpServer = http.createServer();
const io = new Server(httpServer, {
  path: opts.path,
  pingInterval: opts.pingInterval,
  pingTimeout: opts.pingTimeout,
  maxHttpBufferSize: opts.maxHttpBufferSize,
  parser: opts.parser === "msgpack" ? require("socket.io-msgpack-parser") : undefined,
  cors: { origin: "*" },
});

// A buffer of `size` bytes, byte k = k & 255.
function pattern(size) {
  const unit = Buffer.alloc(256);
  for (let k = 0; k < 256; k++) unit[k] = k;
  return size > 0 ? Buffer.alloc(size, unit) : Buffer.alloc(0);
}

function onConnection(socket) {
  const nsp = socket.nsp.name;
  const auth = socket.handshake.auth;
  log({ ev: "connection", nsp, sid: socket.id, auth, transport: socket.conn.transport.name });
  socket.emit("welcome", { nsp, sid: socket.id, auth });

  socket.on("disconnect", (reason) => {
    log({ ev: "disconnect", nsp, sid: socket.id, reason });
  });

  socket.onAny((name, ...args) => {
    log({ ev: "event", nsp, sid: socket.id, name, args });
  });

  // Splits off the ack callback, if the client asked for one.
  const withAck = (handler) => (...args) => {
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
    handler(args, ack);
  };

  socket.on("echo", withAck((args, ack) => {
    socket.emit("echo", ...args);
    if (ack) ack(...args);
  }));

  socket.on("burst", withAck(([n, binaryEvery]) => {
    n = Number(n) || 0;
    binaryEvery = Number(binaryEvery) || 0;
    for (let i = 0; i < n; i++) {
      if (binaryEvery > 0 && i % binaryEvery === 0) {
        socket.emit("seq", { i, bin: Buffer.from([i & 255, (i >> 8) & 255, 7]) });
      } else {
        socket.emit("seq", { i });
      }
    }
  }));

  socket.on("big", withAck(([size], ack) => {
    size = Number(size) || 0;
    socket.emit("big", "x".repeat(size), pattern(size));
    if (ack) ack(size);
  }));

  socket.on("ask", withAck(([name, ...args]) => {
    socket.timeout(5000).emit(String(name), ...args, (err, ...reply) => {
      socket.emit("asked", { ok: !err, reply });
    });
  }));

  socket.on("kick", () => socket.disconnect());

  socket.on("close_engine", () => socket.conn.close());

  socket.on("whoami", withAck((_args, ack) => {
    if (ack) ack({ nsp, sid: socket.id, transport: socket.conn.transport.name });
  }));
}

io.of("/").on("connection", onConnection);

const admin = io.of("/admin");
admin.use((socket, next) => {
  const auth = socket.handshake.auth;
  if (auth && auth.token === "secret") return next();
  log({ ev: "refused", nsp: "/admin", auth });
  const err = new Error("not authorized");
  err.data = { reason: "bad token" };
  next(err);
});
admin.on("connection", onConnection);

io.of(/^\/dyn-[\w-]+$/).on("connection", onConnection);

httpServer.on("error", (err) => {
  process.stderr.write(`sio_server.js: ${err.message}\n`);
  process.exit(1);
});
httpServer.listen(opts.port, "127.0.0.1", () => {
  log({ listening: httpServer.address().port });
});

const quit = () => process.exit(0);
process.on("SIGTERM", quit);
process.on("SIGINT", quit);
process.stdin.on("end", quit);
process.stdin.on("error", quit);
process.stdin.resume();
