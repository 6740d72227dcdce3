// The Socket.IO server of the client benchmark (bench/harness.py, workload
// 7): Node socket.io 4.8 with default settings, whose `echo` event
// acknowledges with the arguments it got. Nothing is logged per event, so the
// server spends its CPU on Socket.IO only.
//
//   node bench/peers/sio-ack-server.js [PORT]
//
// Binds 127.0.0.1 (port 0, the default, picks a free one) and prints
// `LISTENING <port>`. Needs socket.io from interop/node_modules
// (`bash interop/setup.sh`). Exits on SIGTERM/SIGINT.
"use strict";
const path = require("path");
const http = require("http");
const { Server } = require(path.join(__dirname, "..", "..", "interop", "node_modules", "socket.io"));

const port = Number(process.argv[2] || 0);
const server = http.createServer();
const io = new Server(server);
io.on("connection", (socket) => {
  socket.on("echo", (...args) => {
    const cb = args.pop();
    if (typeof cb === "function") cb(...args);
  });
});
server.listen(port, "127.0.0.1", () => {
  console.log(`LISTENING ${server.address().port}`);
});
for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, () => process.exit(0));
}
