// The reference Node engine.io client (engine.io-client), as a command-line
// peer for our tests.
//
//   node client.js URL '{"transports":["polling","websocket"],"upgrade":true,
//                        "path":"/engine.io","query":{...}, ...}'
//
// The JSON options (all optional) go to `new Socket(URL, options)` unchanged.
//
// Prints one JSON object per line on stdout:
//   {"event":"open","sid":"..","transport":"polling","handshake":{...}}
//   {"event":"upgrade","transport":"websocket"}
//   {"event":"message","type":"text","data":".."}
//   {"event":"message","type":"binary","data":"<hex>"}
//   {"event":"error","message":"..","description":..}
//   {"event":"close","reason":"..","description":..}
// Reads commands from stdin, one per line:
//   send <text>      send a text message (the rest of the line, may be empty)
//   sendbin <hex>    send a binary message
//   close            close the socket
// Exits after the close event, or when stdin ends.
const readline = require("readline");
const { Socket } = require("engine.io-client");

const url = process.argv[2];
if (!url) {
  process.stderr.write("usage: node client.js URL [JSON-OPTIONS]\n");
  process.exit(2);
}
const opts = JSON.parse(process.argv[3] || "{}");

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

// Errors and close descriptions may be Error objects (TransportError carries
// the HTTP status or the ws close event in `description`), strings, or
// objects holding sockets/requests; keep what is printable.
function plain(value, depth = 0) {
  if (value === undefined || value === null) return null;
  if (["string", "number", "boolean"].includes(typeof value)) return value;
  if (depth > 2) return String(value);
  if (value instanceof Error) {
    const out = { message: value.message };
    if (value.type) out.type = value.type;
    if (value.description !== undefined) out.description = plain(value.description, depth + 1);
    return out;
  }
  if (typeof value === "object") {
    const out = {};
    for (const key of ["code", "reason", "message", "description", "type", "wasClean", "context"]) {
      if (value[key] !== undefined) out[key] = plain(value[key], depth + 1);
    }
    return Object.keys(out).length ? out : String(value);
  }
  return String(value);
}

let handshake = null;
const socket = new Socket(url, opts);

socket.on("handshake", (data) => {
  handshake = data;
});
socket.on("open", () => {
  emit({ event: "open", sid: socket.id, transport: socket.transport.name, handshake });
});
socket.on("upgrade", (transport) => {
  emit({ event: "upgrade", transport: transport.name });
});
socket.on("message", (data) => {
  if (typeof data === "string") {
    emit({ event: "message", type: "text", data });
  } else {
    const buf = Buffer.isBuffer(data)
      ? data
      : ArrayBuffer.isView(data)
        ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
        : Buffer.from(data);
    emit({ event: "message", type: "binary", data: buf.toString("hex") });
  }
});
socket.on("error", (err) => {
  const out = { event: "error", message: err && err.message !== undefined ? err.message : String(err) };
  if (err && err.description !== undefined) out.description = plain(err.description);
  emit(out);
});
socket.on("close", (reason, description) => {
  emit({ event: "close", reason, description: plain(description) });
  // Let stdout drain before leaving.
  process.stdout.write("", () => process.exit(0));
});

const rl = readline.createInterface({ input: process.stdin });
rl.on("line", (line) => {
  const space = line.indexOf(" ");
  const cmd = space === -1 ? line : line.slice(0, space);
  const arg = space === -1 ? "" : line.slice(space + 1);
  switch (cmd) {
    case "send":
      socket.send(arg);
      break;
    case "sendbin":
      socket.send(Buffer.from(arg, "hex"));
      break;
    case "close":
      socket.close();
      break;
    case "":
      break;
    default:
      process.stderr.write(`client.js: unknown command ${JSON.stringify(line)}\n`);
  }
});
rl.on("close", () => {
  socket.close();
  process.stdout.write("", () => process.exit(0));
});
