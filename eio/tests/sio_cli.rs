//! `eio sio` driven as a process against the reference Node Socket.IO
//! server (`interop/node/sio_server.js`, socket.io 4.8): the JSON-lines
//! contract of `eio/src/sio.rs` on stdout and stdin, exit statuses,
//! reconnection.
//!
//! Needs the Node peers: `bash interop/setup.sh`.

#[path = "../../socketio/tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{SioPeerKind, SioServer, SioServerOpts};
use serde_json::{json, Value};

const EIO: &str = env!("CARGO_BIN_EXE_eio");

/// Generous bound for things that normally take milliseconds.
const T: Duration = Duration::from_secs(10);

/// The top-level keys of each stdout line, in the contract's order.
fn expected_keys(event: &str) -> Option<&'static [&'static str]> {
    Some(match event {
        "connect" => &["event", "namespace", "sid"],
        "connect_error" => &["event", "namespace", "data"],
        "event" => &["event", "namespace", "name", "args"],
        "ack" => &["event", "id", "args"],
        "ack_timeout" => &["event", "id"],
        "disconnect" => &["event", "namespace", "reason"],
        "reconnect_attempt" => &["event", "attempt"],
        "error" => &["event", "message"],
        _ => return None,
    })
}

/// Checks one raw stdout line: JSON, starts with `{"event":`, has exactly
/// the contract's keys in the contract's order. Only the last field of a
/// line can hold nested objects, so the first occurrence of each `"key":`
/// in the text is the top-level one.
fn check_line(raw: &str) -> Result<Value, String> {
    let v: Value = serde_json::from_str(raw).map_err(|e| format!("not JSON ({e}): {raw}"))?;
    if !raw.starts_with("{\"event\":") {
        return Err(format!("does not start with {{\"event\":  {raw}"));
    }
    let event = v["event"].as_str().unwrap_or_default();
    let keys = expected_keys(event).ok_or_else(|| format!("unknown event {event:?}: {raw}"))?;
    let obj = v
        .as_object()
        .ok_or_else(|| format!("not an object: {raw}"))?;
    let mut have: Vec<&str> = obj.keys().map(String::as_str).collect();
    have.sort_unstable();
    let mut want = keys.to_vec();
    want.sort_unstable();
    if have != want {
        return Err(format!("keys {have:?}, expected {keys:?}: {raw}"));
    }
    let mut last = 0;
    for k in keys {
        let pos = raw
            .find(&format!("\"{k}\":"))
            .ok_or_else(|| format!("no {k:?}: {raw}"))?;
        if pos < last {
            return Err(format!("key order is not {keys:?}: {raw}"));
        }
        last = pos;
    }
    Ok(v)
}

/// One stdout line of `eio sio` and when the reader thread got it.
struct Line {
    at: Instant,
    raw: String,
    v: Value,
}

/// A running `eio sio`, stdin piped, stdout lines read on a thread; killed
/// on drop.
struct Sio {
    child: Child,
    stdin: Option<ChildStdin>,
    rx: mpsc::Receiver<(Instant, String)>,
    /// Every line received so far.
    lines: Vec<Line>,
    /// Indices in `lines` already returned by `next_line` / `wait_line`.
    taken: Vec<bool>,
    /// Lines are returned by `next_line` from here on.
    cursor: usize,
    stdout_closed: bool,
    status: Option<ExitStatus>,
    started: Instant,
}

impl Sio {
    fn start(url: &str, args: &[&str]) -> Sio {
        let mut all = vec![url];
        all.extend_from_slice(args);
        Sio::spawn(&all)
    }

    /// `eio sio ARGS...`.
    fn spawn(args: &[&str]) -> Sio {
        let mut child = Command::new(EIO)
            .arg("sio")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn eio sio");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send((Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
        Sio {
            stdin: child.stdin.take(),
            child,
            rx,
            lines: Vec::new(),
            taken: Vec::new(),
            cursor: 0,
            stdout_closed: false,
            status: None,
            started: Instant::now(),
        }
    }

    fn seen(&self) -> String {
        let mut s = String::new();
        for l in &self.lines {
            s.push_str(&format!(
                "\n  +{:>6.3}s {}",
                l.at.duration_since(self.started).as_secs_f64(),
                l.raw
            ));
        }
        if self.stdout_closed {
            s.push_str("\n  <stdout closed>");
        }
        s
    }

    /// Receives one more line, waiting until `deadline`; false on timeout
    /// or when stdout has ended.
    fn pump(&mut self, deadline: Instant) -> bool {
        if self.stdout_closed {
            return false;
        }
        let wait = deadline.saturating_duration_since(Instant::now());
        match self.rx.recv_timeout(wait) {
            Ok((at, raw)) => {
                let v = check_line(&raw).unwrap_or_else(|e| {
                    panic!("bad stdout line: {e}; lines so far:{}", self.seen())
                });
                self.lines.push(Line { at, raw, v });
                self.taken.push(false);
                true
            }
            Err(mpsc::RecvTimeoutError::Timeout) => false,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                self.stdout_closed = true;
                false
            }
        }
    }

    /// The next line not yet returned, in order.
    fn next_line(&mut self, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            while self.cursor < self.lines.len() {
                let i = self.cursor;
                self.cursor += 1;
                if !self.taken[i] {
                    self.taken[i] = true;
                    return self.lines[i].v.clone();
                }
            }
            if !self.pump(deadline) {
                panic!(
                    "no stdout line within {timeout:?}; lines so far:{}",
                    self.seen()
                );
            }
        }
    }

    /// The first line matching `pred` not yet returned (searched from the
    /// start, so the order of calls need not follow the order of lines),
    /// with its arrival time; `None` on timeout or end of stdout.
    fn try_wait_line(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Option<(Instant, Value)> {
        let deadline = Instant::now() + timeout;
        let mut from = 0;
        loop {
            for i in from..self.lines.len() {
                if !self.taken[i] && pred(&self.lines[i].v) {
                    self.taken[i] = true;
                    return Some((self.lines[i].at, self.lines[i].v.clone()));
                }
            }
            from = self.lines.len();
            if !self.pump(deadline) {
                return None;
            }
        }
    }

    fn wait_line_at(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> (Instant, Value) {
        match self.try_wait_line(timeout, pred) {
            Some(x) => x,
            None => panic!(
                "no matching stdout line within {timeout:?}; lines so far:{}",
                self.seen()
            ),
        }
    }

    fn wait_line(&mut self, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        self.wait_line_at(timeout, pred).1
    }

    /// Waits for the line `{"event":event,...}` that has `fields` (a JSON
    /// object whose members must all be equal).
    fn wait_event(&mut self, timeout: Duration, event: &str, fields: Value) -> Value {
        self.wait_line(timeout, |v| matches(v, event, &fields))
    }

    /// Panics if a line matching `pred` arrives within `within` (or is
    /// already there, not yet returned).
    fn assert_no_line(&mut self, within: Duration, what: &str, pred: impl Fn(&Value) -> bool) {
        if let Some((_, v)) = self.try_wait_line(within, pred) {
            panic!("unexpected {what} line {v}; lines so far:{}", self.seen());
        }
    }

    /// Marks every line received so far as returned: later waits see only
    /// new lines.
    fn take_all(&mut self) {
        self.taken.iter_mut().for_each(|t| *t = true);
        self.cursor = self.lines.len();
    }

    fn send(&mut self, cmd: Value) {
        let stdin = self.stdin.as_mut().expect("stdin already closed");
        writeln!(stdin, "{cmd}").expect("write to eio sio's stdin");
        stdin.flush().unwrap();
    }

    fn close_stdin(&mut self) {
        drop(self.stdin.take());
    }

    /// Waits for the process to exit (reading its remaining stdout).
    fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        if let Some(s) = self.status {
            return s;
        }
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                // Collect what it printed before exiting.
                while self.pump(Instant::now() + Duration::from_secs(2)) {}
                self.status = Some(s);
                return s;
            }
            if Instant::now() >= deadline {
                panic!(
                    "eio sio still running after {timeout:?}; lines so far:{}",
                    self.seen()
                );
            }
            // Read lines meanwhile (and sleep a little).
            self.pump(Instant::now() + Duration::from_millis(20));
        }
    }

    /// All lines received so far with `"event":event`.
    fn all(&self, event: &str) -> Vec<Value> {
        self.lines
            .iter()
            .filter(|l| l.v["event"] == event)
            .map(|l| l.v.clone())
            .collect()
    }
}

impl Drop for Sio {
    fn drop(&mut self) {
        if std::env::var_os("SIO_CLI_TRACE").is_some() {
            eprintln!("eio sio {:?} printed:{}", self.child.id(), self.seen());
        }
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `v` is `{"event":event, ..fields}` (every member of `fields` equal).
fn matches(v: &Value, event: &str, fields: &Value) -> bool {
    v["event"] == event
        && fields
            .as_object()
            .expect("fields: an object")
            .iter()
            .all(|(k, x)| &v[k] == x)
}

fn node(opts: SioServerOpts) -> SioServer {
    SioServer::start(SioPeerKind::Node, opts)
}

/// Waits for the connect line of `ns`; returns its sid.
fn connected(sio: &mut Sio, ns: &str) -> String {
    let v = sio.wait_event(T, "connect", json!({ "namespace": ns }));
    let sid = v["sid"]
        .as_str()
        .unwrap_or_else(|| panic!("sid not a string: {v}"));
    assert!(!sid.is_empty(), "empty sid: {v}");
    sid.to_owned()
}

/// A port nothing listens on.
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Asserts that `eio sio` failed fatally: its last line is an error line
/// with a message, and it exited non-zero.
fn assert_fatal(sio: &mut Sio, what: &str) -> ExitStatus {
    let status = sio.wait_exit(T);
    let last = sio.lines.last().map(|l| l.v.clone());
    assert!(
        last.as_ref().is_some_and(
            |v| v["event"] == "error" && v["message"].as_str().is_some_and(|m| !m.is_empty())
        ),
        "{what}: the last line is not an error line; lines:{}",
        sio.seen()
    );
    assert_eq!(
        sio.all("error").len(),
        1,
        "{what}: not exactly one error line; lines:{}",
        sio.seen()
    );
    assert!(
        !status.success(),
        "{what}: exit status {status}, expected non-zero; lines:{}",
        sio.seen()
    );
    status
}

// ---------------------------------------------------------------------------
// 1. The whole session, per transport setting and serializer.

fn full_session(transports: &str, msgpack: bool) {
    let mut server = node(SioServerOpts {
        parser_msgpack: msgpack,
        ..SioServerOpts::default()
    });
    let serializer = if msgpack { "msgpack" } else { "default" };
    let mut sio = Sio::start(
        &server.url(),
        &[
            "--namespace",
            "/",
            "--namespace",
            "/admin",
            "--namespace",
            "/dyn-x",
            "--auth",
            r#"{"token":"secret"}"#,
            "--transports",
            transports,
            "--serializer",
            serializer,
        ],
    );
    let auth = json!({ "token": "secret" });
    let namespaces = ["/", "/admin", "/dyn-x"];
    let mut sids = Vec::new();
    for ns in namespaces {
        let sid = connected(&mut sio, ns);
        // The welcome event carries the same sid and the auth.
        sio.wait_event(
            T,
            "event",
            json!({
                "namespace": ns,
                "name": "welcome",
                "args": [{ "nsp": ns, "sid": sid, "auth": auth }],
            }),
        );
        let conn = server.wait_log(T, |v| {
            v["ev"] == "connection" && v["nsp"] == ns && v["sid"] == sid.as_str()
        });
        assert_eq!(conn["auth"], auth, "{ns}: {conn}");
        match transports {
            "polling" | "websocket" => assert_eq!(conn["transport"], transports, "{conn}"),
            _ => {}
        }
        sids.push(sid);
    }
    let mut unique = sids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 3, "sids not distinct: {sids:?}");

    // emit with nested binary: echoed back identically, and the server
    // received it identically.
    let args = json!(["a", { "b": { "$binary": "00ff10" } }]);
    sio.send(json!({ "emit": "echo", "args": args }));
    sio.wait_event(
        T,
        "event",
        json!({ "namespace": "/", "name": "echo", "args": args }),
    );
    let got = server.wait_log(T, |v| v["ev"] == "event" && v["name"] == "echo");
    assert_eq!(got["args"], args, "{got}");
    assert_eq!(got["nsp"], "/", "{got}");

    // call: an ack line with the id.
    let call_args = json!([1, "two", { "$binary": "0102" }, { "n": [null, true] }]);
    sio.send(json!({ "call": "echo", "args": call_args, "namespace": "/", "id": 7, "timeout": 5 }));
    let ack = sio.wait_event(T, "ack", json!({ "id": 7 }));
    assert_eq!(ack, json!({ "event": "ack", "id": 7, "args": call_args }));

    // A call on another namespace, with a non-numeric id.
    sio.send(json!({ "call": "whoami", "namespace": "/admin", "id": "w" }));
    let ack = sio.wait_event(T, "ack", json!({ "id": "w" }));
    assert_eq!(ack["args"][0]["nsp"], "/admin", "{ack}");
    assert_eq!(ack["args"][0]["sid"], sids[1].as_str(), "{ack}");

    // A server-initiated ack: `ask` makes the server emit `q` asking for an
    // ack; eio acks with the arguments, and the server reports the reply.
    sio.send(json!({ "emit": "ask", "args": ["q", { "$binary": "abcd" }] }));
    sio.wait_event(
        T,
        "event",
        json!({ "namespace": "/", "name": "q", "args": [{ "$binary": "abcd" }] }),
    );
    sio.wait_event(
        T,
        "event",
        json!({
            "namespace": "/",
            "name": "asked",
            "args": [{ "ok": true, "reply": [{ "$binary": "abcd" }] }],
        }),
    );

    // The same on another namespace, with binary nested in arrays.
    let deep =
        json!([[{ "$binary": "01" }, [{ "$binary": "" }]], { "k": [1, { "$binary": "ff" }] }]);
    let mut ask_args = vec![json!("q2")];
    ask_args.extend(deep.as_array().unwrap().iter().cloned());
    sio.send(json!({ "emit": "ask", "args": ask_args, "namespace": "/admin" }));
    sio.wait_event(
        T,
        "event",
        json!({ "namespace": "/admin", "name": "q2", "args": deep }),
    );
    sio.wait_event(
        T,
        "event",
        json!({
            "namespace": "/admin",
            "name": "asked",
            "args": [{ "ok": true, "reply": deep }],
        }),
    );

    // A larger binary from the server: `big` sends "x" * n and n bytes
    // k & 255.
    sio.send(json!({ "emit": "big", "args": [300], "namespace": "/dyn-x" }));
    let bytes: Vec<u8> = (0..300u32).map(|k| (k & 255) as u8).collect();
    sio.wait_event(
        T,
        "event",
        json!({
            "namespace": "/dyn-x",
            "name": "big",
            "args": ["x".repeat(300), common::binary_json(&bytes)],
        }),
    );

    // Disconnect one namespace; the others stay.
    sio.send(json!({ "disconnect": "/dyn-x" }));
    sio.wait_event(
        T,
        "disconnect",
        json!({ "namespace": "/dyn-x", "reason": "client disconnect" }),
    );
    let d = server.wait_ev(T, "disconnect", Some("/dyn-x"));
    assert_eq!(d["reason"], "client namespace disconnect", "{d}");
    sio.send(json!({ "call": "echo", "args": ["still"], "id": 10 }));
    assert_eq!(
        sio.wait_event(T, "ack", json!({ "id": 10 })),
        json!({ "event": "ack", "id": 10, "args": ["still"] })
    );

    // EOF: a DISCONNECT for each remaining namespace, exit 0.
    sio.close_stdin();
    for ns in ["/", "/admin"] {
        sio.wait_event(
            T,
            "disconnect",
            json!({ "namespace": ns, "reason": "client disconnect" }),
        );
    }
    let status = sio.wait_exit(T);
    assert!(
        status.success(),
        "exit status {status}; lines:{}",
        sio.seen()
    );
    for ns in ["/", "/admin"] {
        let d = server.wait_ev(T, "disconnect", Some(ns));
        assert_eq!(
            d["reason"], "client namespace disconnect",
            "{ns}: the DISCONNECT packet was lost: {d}"
        );
    }
    // Exactly one disconnect line per namespace, no error, no reconnection.
    assert_eq!(sio.all("disconnect").len(), 3, "lines:{}", sio.seen());
    assert!(sio.all("error").is_empty(), "lines:{}", sio.seen());
    assert!(
        sio.all("reconnect_attempt").is_empty(),
        "lines:{}",
        sio.seen()
    );
    assert!(sio.all("connect_error").is_empty(), "lines:{}", sio.seen());
}

#[test]
fn session_polling_default() {
    full_session("polling", false);
}

#[test]
fn session_websocket_default() {
    full_session("websocket", false);
}

#[test]
fn session_polling_websocket_default() {
    full_session("polling,websocket", false);
}

#[test]
fn session_polling_msgpack() {
    full_session("polling", true);
}

#[test]
fn session_websocket_msgpack() {
    full_session("websocket", true);
}

#[test]
fn session_polling_websocket_msgpack() {
    full_session("polling,websocket", true);
}

/// Without `--transports` (polling then an upgrade) and without
/// `--namespace` (`/`).
#[test]
fn session_defaults() {
    let mut server = node(SioServerOpts::default());
    let mut sio = Sio::start(&server.url(), &[]);
    let sid = connected(&mut sio, "/");
    let conn = server.wait_ev(T, "connection", Some("/"));
    assert_eq!(conn["sid"], sid.as_str());
    assert_eq!(
        conn["auth"],
        json!({}),
        "no --auth: no CONNECT payload: {conn}"
    );
    sio.wait_event(T, "event", json!({ "name": "welcome" }));
    sio.send(json!({ "call": "echo", "args": [], "id": 1 }));
    sio.wait_event(T, "ack", json!({ "id": 1, "args": [] }));
    sio.close_stdin();
    sio.wait_event(
        T,
        "disconnect",
        json!({ "namespace": "/", "reason": "client disconnect" }),
    );
    let status = sio.wait_exit(T);
    assert!(status.success(), "{status}; lines:{}", sio.seen());
    let d = server.wait_ev(T, "disconnect", Some("/"));
    assert_eq!(d["reason"], "client namespace disconnect", "{d}");
}

// ---------------------------------------------------------------------------
// 2. Key order: checked on every line by `check_line`; here a line of
// each kind that a plain session can produce is asserted to have come.

#[test]
fn key_order_every_kind() {
    let mut server = node(SioServerOpts::default());
    let mut sio = Sio::start(
        &server.url(),
        &["--namespace", "/", "--reconnection-delay", "0.1"],
    );
    connected(&mut sio, "/");
    sio.send(json!({ "call": "echo", "args": [{ "z": 1, "a": 2 }], "id": 1 }));
    sio.send(json!({ "call": "nosuchevent", "args": [], "id": 2, "timeout": 0.2 }));
    sio.wait_event(T, "ack", json!({ "id": 1 }));
    sio.wait_event(T, "ack_timeout", json!({ "id": 2 }));
    server.kill();
    sio.wait_event(T, "disconnect", json!({ "namespace": "/" }));
    sio.wait_event(T, "reconnect_attempt", json!({ "attempt": 1 }));
    sio.close_stdin();
    sio.wait_exit(T);
    for l in &sio.lines {
        assert!(l.raw.starts_with("{\"event\":"), "{}", l.raw);
    }
    for kind in [
        "connect",
        "event",
        "ack",
        "ack_timeout",
        "disconnect",
        "reconnect_attempt",
    ] {
        assert!(
            !sio.all(kind).is_empty(),
            "no {kind} line; lines:{}",
            sio.seen()
        );
    }
    // The args of an event keep their own members (not reordered into the
    // line's fields).
    let ack = &sio.all("ack")[0];
    assert_eq!(ack["args"], json!([{ "z": 1, "a": 2 }]));
}

// ---------------------------------------------------------------------------
// 3. Refused namespaces.

fn refused(msgpack: bool, namespaces: &[&str], bad: &str, data: Value) {
    let server = node(SioServerOpts {
        parser_msgpack: msgpack,
        ..SioServerOpts::default()
    });
    let mut args: Vec<&str> = Vec::new();
    for ns in namespaces {
        args.extend(["--namespace", ns]);
    }
    if msgpack {
        args.extend(["--serializer", "msgpack"]);
    }
    let mut sio = Sio::start(&server.url(), &args);
    let err = sio.wait_event(T, "connect_error", json!({ "namespace": bad }));
    assert_eq!(
        err,
        json!({ "event": "connect_error", "namespace": bad, "data": data })
    );
    // Then the error line (the next one, when it is the only namespace).
    let next = sio.next_line(T);
    if namespaces.len() == 1 {
        assert_eq!(next["event"], "error", "lines:{}", sio.seen());
    }
    assert_fatal(&mut sio, &format!("refused {bad}"));
    if namespaces.len() == 1 {
        assert_eq!(sio.lines.len(), 2, "lines:{}", sio.seen());
    }
    assert!(
        sio.all("reconnect_attempt").is_empty(),
        "lines:{}",
        sio.seen()
    );
    drop(server);
}

#[test]
fn refused_admin_without_auth() {
    refused(
        false,
        &["/admin"],
        "/admin",
        json!({ "message": "not authorized", "data": { "reason": "bad token" } }),
    );
}

#[test]
fn refused_admin_with_wrong_auth_msgpack() {
    let server = node(SioServerOpts {
        parser_msgpack: true,
        ..SioServerOpts::default()
    });
    let mut sio = Sio::start(
        &server.url(),
        &[
            "--namespace",
            "/admin",
            "--auth",
            r#"{"token":"wrong"}"#,
            "--serializer",
            "msgpack",
        ],
    );
    let err = sio.wait_event(T, "connect_error", json!({ "namespace": "/admin" }));
    assert_eq!(
        err["data"],
        json!({ "message": "not authorized", "data": { "reason": "bad token" } })
    );
    assert_fatal(&mut sio, "refused /admin (msgpack)");
}

#[test]
fn refused_unknown_namespace() {
    refused(
        false,
        &["/nope"],
        "/nope",
        json!({ "message": "Invalid namespace" }),
    );
}

#[test]
fn refused_unknown_namespace_msgpack() {
    refused(
        true,
        &["/nope"],
        "/nope",
        json!({ "message": "Invalid namespace" }),
    );
}

/// One refused namespace among accepted ones is still fatal.
#[test]
fn refused_among_accepted() {
    refused(
        false,
        &["/", "/nope"],
        "/nope",
        json!({ "message": "Invalid namespace" }),
    );
}

// ---------------------------------------------------------------------------
// 4. Failed first connection, invalid arguments.

#[test]
fn failed_first_connection() {
    let port = free_port();
    let mut sio = Sio::start(&format!("http://127.0.0.1:{port}"), &[]);
    assert_fatal(&mut sio, "nothing listening");
    assert!(sio.all("connect").is_empty(), "lines:{}", sio.seen());
    // The first connection is not retried.
    assert!(
        sio.all("reconnect_attempt").is_empty(),
        "lines:{}",
        sio.seen()
    );
}

#[test]
fn failed_first_connection_websocket() {
    let port = free_port();
    let mut sio = Sio::start(
        &format!("http://127.0.0.1:{port}"),
        &["--transports", "websocket"],
    );
    assert_fatal(&mut sio, "nothing listening (websocket)");
}

#[test]
fn invalid_arguments() {
    // A URL nothing listens on: an argument that slipped through would be
    // reported as a connection failure, so the message is checked too.
    let url = format!("http://127.0.0.1:{}", free_port());
    let cases: &[(&[&str], &str)] = &[
        (&["--serializer", "bogus"], "serializer"),
        (&["--transports", "carrier-pigeon"], "transport"),
        (&["--transports", "polling,carrier-pigeon"], "transport"),
        (&["--auth", "notjson"], "auth"),
        (&["--auth", "[1,2]"], "auth"),
        (&["--header", "no-colon-here"], "header"),
        (&["--reconnection-delay=-1"], "reconnection-delay"),
        (&["--wait-timeout", "soon"], "wait-timeout"),
        (
            &["--reconnection-attempts", "many"],
            "reconnection-attempts",
        ),
        (&["--bogus-flag"], "bogus-flag"),
    ];
    // All at once: each fails within milliseconds.
    let mut running: Vec<(String, &str, Sio)> = cases
        .iter()
        .map(|(args, word)| (args.join(" "), *word, Sio::start(&url, args)))
        .collect();
    for (what, word, sio) in &mut running {
        assert_fatal(sio, what);
        let msg = sio.all("error")[0]["message"].as_str().unwrap().to_owned();
        assert!(
            msg.contains(*word),
            "{what}: error message {msg:?} does not mention {word:?}"
        );
        assert_eq!(sio.lines.len(), 1, "{what}: lines:{}", sio.seen());
    }
    // A missing URL.
    for args in [&[][..], &["--serializer", "default"][..]] {
        let mut sio = Sio::spawn(args);
        assert_fatal(&mut sio, &format!("no URL: {args:?}"));
        assert_eq!(sio.lines.len(), 1, "lines:{}", sio.seen());
    }
}

// ---------------------------------------------------------------------------
// 5. ack_timeout.

#[test]
fn ack_timeout() {
    let server = node(SioServerOpts::default());
    let mut sio = Sio::start(&server.url(), &[]);
    connected(&mut sio, "/");
    let sent = Instant::now();
    sio.send(json!({ "call": "nosuchevent", "args": [], "id": 9, "timeout": 0.5 }));
    let (at, v) = sio.wait_line_at(Duration::from_secs(2), |v| v["event"] == "ack_timeout");
    assert_eq!(v, json!({ "event": "ack_timeout", "id": 9 }));
    let took = at.duration_since(sent);
    assert!(
        took >= Duration::from_millis(400),
        "ack_timeout after {took:?}, before the 0.5 s timeout"
    );
    // The connection is fine afterwards.
    sio.send(json!({ "call": "echo", "args": [9], "id": 10 }));
    sio.wait_event(T, "ack", json!({ "id": 10, "args": [9] }));
    assert!(sio.all("ack").len() == 1, "lines:{}", sio.seen());
    sio.close_stdin();
    assert!(sio.wait_exit(T).success(), "lines:{}", sio.seen());
}

// ---------------------------------------------------------------------------
// 6. Kicked by the server.

#[test]
fn kick_only_namespace_stops() {
    let mut server = node(SioServerOpts::default());
    let mut sio = Sio::start(&server.url(), &["--reconnection-delay", "0.1"]);
    connected(&mut sio, "/");
    sio.send(json!({ "emit": "kick" }));
    sio.wait_event(
        T,
        "disconnect",
        json!({ "namespace": "/", "reason": "server disconnect" }),
    );
    let d = server.wait_ev(T, "disconnect", Some("/"));
    assert_eq!(d["reason"], "server namespace disconnect", "{d}");
    // Not reconnected (socket.io-client: a kick is final)...
    sio.assert_no_line(Duration::from_secs(2), "reconnect_attempt", |v| {
        v["event"] == "reconnect_attempt"
    });
    // ...and with nothing left the client stops: exit 0 by itself, stdin
    // still open.
    let status = sio.wait_exit(Duration::from_secs(3));
    assert!(status.success(), "{status}; lines:{}", sio.seen());
    assert!(sio.all("error").is_empty(), "lines:{}", sio.seen());
    assert_eq!(sio.all("connect").len(), 1, "lines:{}", sio.seen());
}

/// A kick of one namespace among several: the others keep working.
#[test]
fn kick_one_of_two_namespaces() {
    let mut server = node(SioServerOpts::default());
    let mut sio = Sio::start(
        &server.url(),
        &["--namespace", "/", "--namespace", "/dyn-k"],
    );
    connected(&mut sio, "/");
    connected(&mut sio, "/dyn-k");
    sio.send(json!({ "emit": "kick", "namespace": "/dyn-k" }));
    sio.wait_event(
        T,
        "disconnect",
        json!({ "namespace": "/dyn-k", "reason": "server disconnect" }),
    );
    server.wait_ev(T, "disconnect", Some("/dyn-k"));
    sio.send(json!({ "call": "echo", "args": ["ok"], "id": 1 }));
    sio.wait_event(T, "ack", json!({ "id": 1, "args": ["ok"] }));
    sio.close_stdin();
    sio.wait_event(
        T,
        "disconnect",
        json!({ "namespace": "/", "reason": "client disconnect" }),
    );
    assert!(sio.wait_exit(T).success(), "lines:{}", sio.seen());
    assert_eq!(sio.all("disconnect").len(), 2, "lines:{}", sio.seen());
    let d = server.wait_ev(T, "disconnect", Some("/"));
    assert_eq!(d["reason"], "client namespace disconnect", "{d}");
}

// ---------------------------------------------------------------------------
// 7. Reconnection with backoff.

#[test]
fn reconnection_backoff_and_restart() {
    let mut server = node(SioServerOpts::default());
    let mut sio = Sio::start(
        &server.url(),
        &[
            "--namespace",
            "/",
            "--namespace",
            "/dyn-r",
            "--auth",
            r#"{"token":"secret"}"#,
            "--reconnection-delay",
            "0.2",
            "--reconnection-delay-max",
            "0.4",
            "--randomization-factor",
            "0",
        ],
    );
    let auth = json!({ "token": "secret" });
    let mut old = Vec::new();
    for ns in ["/", "/dyn-r"] {
        old.push(connected(&mut sio, ns));
        let c = server.wait_ev(T, "connection", Some(ns));
        assert_eq!(c["auth"], auth, "{c}");
    }

    server.kill();
    let mut down = None;
    for ns in ["/", "/dyn-r"] {
        let (at, d) = sio.wait_line_at(T, |v| v["event"] == "disconnect" && v["namespace"] == ns);
        let reason = d["reason"].as_str().unwrap_or_default();
        assert!(
            reason == "transport close" || reason == "transport error",
            "{ns}: reason {reason:?}; lines:{}",
            sio.seen()
        );
        down.get_or_insert(at);
    }
    let mut prev = down.unwrap();
    for n in 1..=3u64 {
        let (at, _) = sio.wait_line_at(T, |v| {
            v["event"] == "reconnect_attempt" && v["attempt"] == n
        });
        let gap = at.duration_since(prev);
        assert!(
            gap >= Duration::from_millis(150) && gap <= Duration::from_secs(2),
            "attempt {n}: {gap:?} after the previous step (expected ~0.2/0.4/0.4 s); lines:{}",
            sio.seen()
        );
        prev = at;
    }
    // No reconnect_attempt line numbered out of order.
    let attempts: Vec<u64> = sio
        .all("reconnect_attempt")
        .iter()
        .map(|v| v["attempt"].as_u64().unwrap())
        .collect();
    assert_eq!(attempts, (1..=attempts.len() as u64).collect::<Vec<_>>());

    server.restart();
    let mut new = Vec::new();
    for ns in ["/", "/dyn-r"] {
        new.push(connected(&mut sio, ns));
        let c = server.wait_ev(T, "connection", Some(ns));
        assert_eq!(c["auth"], auth, "auth sent again on reconnection: {c}");
        assert_eq!(c["sid"], new.last().unwrap().as_str(), "{c}");
    }
    assert_ne!(old, new, "same sids after a server restart");
    // Both namespaces work again.
    sio.send(json!({ "call": "echo", "args": ["back"], "namespace": "/dyn-r", "id": 1 }));
    sio.wait_event(T, "ack", json!({ "id": 1, "args": ["back"] }));

    // A second loss starts counting from 1 again.
    let before = sio.all("reconnect_attempt").len();
    sio.take_all();
    server.kill();
    for ns in ["/", "/dyn-r"] {
        sio.wait_event(T, "disconnect", json!({ "namespace": ns }));
    }
    let (_, v) = sio.wait_line_at(T, |v| v["event"] == "reconnect_attempt");
    assert_eq!(
        v["attempt"],
        1,
        "the attempt count was not reset by the reconnection; lines:{}",
        sio.seen()
    );
    assert_eq!(sio.all("reconnect_attempt").len(), before + 1);
    server.restart();
    for ns in ["/", "/dyn-r"] {
        connected(&mut sio, ns);
        server.wait_ev(T, "connection", Some(ns));
    }
    sio.close_stdin();
    assert!(sio.wait_exit(T).success(), "lines:{}", sio.seen());
    assert!(sio.all("error").is_empty(), "lines:{}", sio.seen());
    for ns in ["/", "/dyn-r"] {
        let d = server.wait_ev(T, "disconnect", Some(ns));
        assert_eq!(d["reason"], "client namespace disconnect", "{d}");
    }
}

// ---------------------------------------------------------------------------
// 8. Exhausted reconnection attempts.

#[test]
fn reconnection_attempts_exhausted() {
    let mut server = node(SioServerOpts::default());
    let mut sio = Sio::start(
        &server.url(),
        &[
            "--reconnection-attempts",
            "2",
            "--reconnection-delay",
            "0.1",
            "--randomization-factor",
            "0",
        ],
    );
    connected(&mut sio, "/");
    server.kill();
    sio.wait_event(T, "disconnect", json!({ "namespace": "/" }));
    sio.wait_event(T, "reconnect_attempt", json!({ "attempt": 1 }));
    sio.wait_event(T, "reconnect_attempt", json!({ "attempt": 2 }));
    assert_fatal(&mut sio, "attempts exhausted");
    assert_eq!(
        sio.all("reconnect_attempt").len(),
        2,
        "lines:{}",
        sio.seen()
    );
}

// ---------------------------------------------------------------------------
// 9. --no-reconnection.

#[test]
fn no_reconnection() {
    let mut server = node(SioServerOpts::default());
    let mut sio = Sio::start(&server.url(), &["--no-reconnection"]);
    connected(&mut sio, "/");
    server.kill();
    let d = sio.wait_event(T, "disconnect", json!({ "namespace": "/" }));
    let reason = d["reason"].as_str().unwrap_or_default();
    assert!(
        reason == "transport close" || reason == "transport error",
        "{d}"
    );
    // The client stops by itself; the connection loss is not a fatal error
    // in the contract, so the exit is 0 and there is no error line.
    let status = sio.wait_exit(Duration::from_secs(5));
    assert!(
        sio.all("reconnect_attempt").is_empty(),
        "lines:{}",
        sio.seen()
    );
    assert!(status.success(), "{status}; lines:{}", sio.seen());
    assert!(sio.all("error").is_empty(), "lines:{}", sio.seen());
}

// ---------------------------------------------------------------------------
// 10. Ping timeout.

#[test]
fn ping_timeout_then_reconnect() {
    let mut server = node(SioServerOpts {
        ping_interval_ms: Some(300),
        ping_timeout_ms: Some(200),
        ..SioServerOpts::default()
    });
    let mut sio = Sio::start(&server.url(), &["--reconnection-delay", "0.1"]);
    let first = connected(&mut sio, "/");
    server.wait_ev(T, "connection", Some("/"));
    // Let a few heartbeats go by: the connection is healthy.
    sio.assert_no_line(Duration::from_millis(800), "disconnect", |v| {
        v["event"] == "disconnect"
    });
    server.pause();
    let paused = Instant::now();
    let got = sio.try_wait_line(Duration::from_secs(3), |v| v["event"] == "disconnect");
    server.resume();
    let Some((at, d)) = got else {
        panic!(
            "no disconnect within 3 s of the pause; lines:{}",
            sio.seen()
        );
    };
    assert_eq!(
        d,
        json!({ "event": "disconnect", "namespace": "/", "reason": "ping timeout" }),
        "after {:?}",
        at.duration_since(paused)
    );
    let second = connected(&mut sio, "/");
    assert_ne!(first, second);
    server.wait_log(T, |v| {
        v["ev"] == "connection" && v["sid"] == second.as_str()
    });
    sio.send(json!({ "call": "echo", "args": [1], "id": 1 }));
    sio.wait_event(T, "ack", json!({ "id": 1, "args": [1] }));
    sio.close_stdin();
    assert!(sio.wait_exit(T).success(), "lines:{}", sio.seen());
}

// ---------------------------------------------------------------------------
// 11. EOF during a reconnection loop.

#[test]
fn eof_stops_reconnection_loop() {
    let mut server = node(SioServerOpts::default());
    let mut sio = Sio::start(
        &server.url(),
        &["--reconnection-delay", "0.2", "--randomization-factor", "0"],
    );
    connected(&mut sio, "/");
    server.kill();
    sio.wait_event(T, "disconnect", json!({ "namespace": "/" }));
    sio.wait_event(T, "reconnect_attempt", json!({ "attempt": 1 }));
    let eof = Instant::now();
    sio.close_stdin();
    let status = sio.wait_exit(Duration::from_secs(5));
    assert!(
        status.success(),
        "{status} after {:?}; lines:{}",
        eof.elapsed(),
        sio.seen()
    );
    assert!(sio.all("error").is_empty(), "lines:{}", sio.seen());
}

// ---------------------------------------------------------------------------
// 12. --header: the Node server does not log request headers, so only that
// a session with headers works.

#[test]
fn header_accepted() {
    let server = node(SioServerOpts::default());
    let mut sio = Sio::start(
        &server.url(),
        &["--header", "X-Test: 1", "--header", "X-Other:a:b"],
    );
    connected(&mut sio, "/");
    sio.close_stdin();
    assert!(sio.wait_exit(T).success(), "lines:{}", sio.seen());
}

// ---------------------------------------------------------------------------
// 13. --path.

#[test]
fn custom_path() {
    let mut server = node(SioServerOpts {
        path: Some("/custom/".to_owned()),
        ..SioServerOpts::default()
    });
    let mut a = Sio::start(&server.url(), &["--path", "/custom"]);
    let mut b = Sio::start(
        &server.url(),
        &["--path", "/custom/", "--transports", "websocket"],
    );
    for (what, sio) in [("/custom", &mut a), ("/custom/", &mut b)] {
        let sid = connected(sio, "/");
        server.wait_log(T, |v| v["ev"] == "connection" && v["sid"] == sid.as_str());
        sio.send(json!({ "call": "echo", "args": [what], "id": 1 }));
        sio.wait_event(T, "ack", json!({ "id": 1, "args": [what] }));
        sio.close_stdin();
        assert!(sio.wait_exit(T).success(), "{what}: lines:{}", sio.seen());
    }
}

// ---------------------------------------------------------------------------
// --wait-timeout: a namespace that never connects. No reference server
// does that, so a minimal Engine.IO polling server that completes the
// handshake and never answers the Socket.IO CONNECT.

/// Serves one HTTP/1.1 connection of the silent server: the handshake GET
/// (no `sid=`) is answered, POSTs get `ok`, any other GET (a long poll)
/// is held open until the client goes away.
fn silent_connection(stream: std::net::TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut request = String::new();
        if reader.read_line(&mut request).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let answer = if request.starts_with("GET") && !request.contains("sid=") {
            r#"0{"sid":"silent","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
        } else if request.starts_with("POST") {
            "ok"
        } else {
            // A long poll: never answered.
            let mut sink = Vec::new();
            let _ = reader.read_to_end(&mut sink);
            return;
        };
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Length: {}\r\n\r\n{answer}",
            answer.len()
        );
        if out.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

#[test]
fn namespace_not_connected_within_wait_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { break };
            std::thread::spawn(move || silent_connection(stream));
        }
    });
    let started = Instant::now();
    let mut sio = Sio::start(
        &format!("http://127.0.0.1:{port}"),
        &["--transports", "polling", "--wait-timeout", "0.5"],
    );
    assert_fatal(&mut sio, "namespace timeout");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(400),
        "gave up after {took:?}, before --wait-timeout 0.5; lines:{}",
        sio.seen()
    );
    assert!(sio.all("connect").is_empty(), "lines:{}", sio.seen());
}

// ---------------------------------------------------------------------------
// More of the contract.

/// `{"disconnect":"/"}` on the only namespace: its disconnect line; the
/// client then has nothing left and stops (exit 0, stdin still open).
#[test]
fn disconnect_last_namespace() {
    let mut server = node(SioServerOpts::default());
    let mut sio = Sio::start(&server.url(), &["--reconnection-delay", "0.1"]);
    connected(&mut sio, "/");
    sio.send(json!({ "disconnect": "/" }));
    sio.wait_event(
        T,
        "disconnect",
        json!({ "namespace": "/", "reason": "client disconnect" }),
    );
    let d = server.wait_ev(T, "disconnect", Some("/"));
    assert_eq!(d["reason"], "client namespace disconnect", "{d}");
    let status = sio.wait_exit(Duration::from_secs(5));
    assert!(status.success(), "{status}; lines:{}", sio.seen());
    assert!(
        sio.all("reconnect_attempt").is_empty(),
        "lines:{}",
        sio.seen()
    );
    assert_eq!(sio.all("disconnect").len(), 1, "lines:{}", sio.seen());
}

/// A `call` always ends in an `ack` or `ack_timeout` line with its id,
/// even on a namespace that is not connected (or no longer).
#[test]
fn call_on_unconnected_namespace() {
    let server = node(SioServerOpts::default());
    let mut sio = Sio::start(
        &server.url(),
        &["--namespace", "/", "--namespace", "/dyn-c"],
    );
    connected(&mut sio, "/");
    connected(&mut sio, "/dyn-c");
    sio.send(json!({ "disconnect": "/dyn-c" }));
    sio.wait_event(T, "disconnect", json!({ "namespace": "/dyn-c" }));
    sio.send(
        json!({ "call": "echo", "args": [1], "namespace": "/dyn-c", "id": 21, "timeout": 0.5 }),
    );
    sio.send(
        json!({ "call": "echo", "args": [1], "namespace": "/never", "id": 22, "timeout": 0.5 }),
    );
    // The stdin commands run in order: this ack comes after the two above
    // were handled.
    sio.send(json!({ "call": "echo", "args": [2], "id": 23 }));
    sio.wait_event(T, "ack", json!({ "id": 23 }));
    for id in [21, 22] {
        let got = sio.try_wait_line(Duration::from_secs(3), |v| {
            (v["event"] == "ack_timeout" || v["event"] == "ack") && v["id"] == id
        });
        assert!(
            got.is_some(),
            "call id {id} on a namespace that is not connected: no ack/ack_timeout line \
             within 3 s (timeout 0.5); lines:{}",
            sio.seen()
        );
    }
}

/// A call pending when the connection drops: no answer can come, so its
/// `ack_timeout` line comes at once (sio.rs: a dropped callback), long
/// before its 30 s timeout.
#[test]
fn pending_call_when_connection_drops() {
    let mut server = node(SioServerOpts::default());
    let mut sio = Sio::start(&server.url(), &["--reconnection-delay", "5"]);
    connected(&mut sio, "/");
    sio.send(json!({ "call": "nosuchevent", "args": [], "id": 31, "timeout": 30 }));
    server.wait_log(T, |v| v["ev"] == "event" && v["name"] == "nosuchevent");
    server.kill();
    sio.wait_event(T, "disconnect", json!({ "namespace": "/" }));
    sio.wait_event(Duration::from_secs(3), "ack_timeout", json!({ "id": 31 }));
    sio.close_stdin();
    assert!(sio.wait_exit(T).success(), "lines:{}", sio.seen());
}

/// A call made while reconnecting (nothing connected): an ack_timeout line.
#[test]
fn call_while_reconnecting() {
    let mut server = node(SioServerOpts::default());
    let mut sio = Sio::start(&server.url(), &["--reconnection-delay", "0.2"]);
    connected(&mut sio, "/");
    server.kill();
    sio.wait_event(T, "disconnect", json!({ "namespace": "/" }));
    sio.send(json!({ "call": "echo", "args": [], "id": 41, "timeout": 0.5 }));
    let got = sio.try_wait_line(Duration::from_secs(3), |v| {
        (v["event"] == "ack_timeout" || v["event"] == "ack") && v["id"] == 41
    });
    assert!(
        got.is_some(),
        "call while disconnected: no ack/ack_timeout line within 3 s; lines:{}",
        sio.seen()
    );
    sio.close_stdin();
    assert!(sio.wait_exit(T).success(), "lines:{}", sio.seen());
}

/// The server closes the whole Engine.IO connection (`close_engine`).
/// The client library follows python-socketio here: reason "server
/// disconnect" and no reconnection (socket.io-client would say "transport
/// close" and reconnect); with nothing left, eio exits 0 by itself.
fn engine_closed_by_server(transports: &str) {
    let mut server = node(SioServerOpts::default());
    let mut sio = Sio::start(
        &server.url(),
        &["--transports", transports, "--reconnection-delay", "0.1"],
    );
    connected(&mut sio, "/");
    server.wait_ev(T, "connection", Some("/"));
    sio.send(json!({ "emit": "close_engine" }));
    sio.wait_event(
        T,
        "disconnect",
        json!({ "namespace": "/", "reason": "server disconnect" }),
    );
    let d = server.wait_ev(T, "disconnect", Some("/"));
    assert_eq!(d["reason"], "forced close", "{d}");
    sio.assert_no_line(Duration::from_secs(1), "reconnect_attempt", |v| {
        v["event"] == "reconnect_attempt"
    });
    let status = sio.wait_exit(Duration::from_secs(3));
    assert!(status.success(), "{status}; lines:{}", sio.seen());
    assert!(sio.all("error").is_empty(), "lines:{}", sio.seen());
}

#[test]
fn engine_closed_by_server_polling() {
    engine_closed_by_server("polling");
}

#[test]
fn engine_closed_by_server_websocket() {
    engine_closed_by_server("websocket");
}
