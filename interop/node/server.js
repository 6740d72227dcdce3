// The reference Node engine.io server, as an echo server for our tests.
//
// Options come as one JSON argument (all optional):
//   {"pingInterval":ms, "pingTimeout":ms, "maxHttpBufferSize":n,
//    "transports":[...], "allowUpgrades":bool, "cors":{...}, "cookie":...}
// Extra behaviour: a request whose query has `deny` is refused (allowRequest);
// a text message "disconnect" makes the server close that socket; a text
// message "broadcast:<N>" (e.g. "broadcast:64") sends N bytes of text ("x"
// repeated) to every connected socket, the sender included (the benchmark's
// broadcast workload); every other message is echoed back (text as text,
// binary as binary).
// Prints `LISTENING <port>` once bound to 127.0.0.1:0; exits when stdin closes.
const http = require("http");
const { Server } = require("engine.io");

const opts = JSON.parse(process.argv[2] || "{}");
const httpServer = http.createServer();
const engine = new Server({
  ...opts,
  allowRequest: (req, fn) => fn(null, !/[?&]deny(=|&|$)/.test(req.url)),
});
engine.attach(httpServer);
engine.on("connection", (socket) => {
  socket.on("message", (data) => {
    const broadcast = typeof data === "string" && /^broadcast:(\d+)$/.exec(data);
    if (data === "disconnect") {
      socket.close();
    } else if (broadcast) {
      const msg = "x".repeat(Number(broadcast[1]));
      for (const id in engine.clients) {
        engine.clients[id].send(msg);
      }
    } else {
      socket.send(data);
    }
  });
});
httpServer.listen(0, "127.0.0.1", () => {
  console.log(`LISTENING ${httpServer.address().port}`);
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
