//! Test support: locating and launching the reference peers in `interop/`.
//!
//! The peers are installed by `interop/setup.sh` (which `.ci/run` calls);
//! a test that needs one fails with a clear message if they are missing.
//!
//! - Servers ([`node_server`], [`python_server`]) are echo servers that print
//!   `LISTENING <port>` once bound to `127.0.0.1:0`; each is a [`Peer`].
//! - Clients ([`node_client`], [`python_client`]) are command-line wrappers
//!   around the real client libraries; each is a [`ClientProc`] that prints
//!   one JSON event per line and takes `send`/`sendbin`/`close` commands.
//!
//! See `interop/README.md` for the contract of each program. Every process is
//! killed when its handle is dropped, and everything it prints besides its
//! protocol lines goes to the test's captured output.
#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The repository's `interop/` folder.
pub fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../interop")
}

/// Panics with set-up instructions unless the Node peers are installed.
pub fn require_node_peers() {
    let dir = interop_dir().join("node_modules/engine.io");
    let client = interop_dir().join("node_modules/engine.io-client");
    assert!(
        dir.exists() && client.exists(),
        "Node peers missing: run `bash interop/setup.sh` (the `.ci/run` script does)"
    );
}

/// The interpreter of the python peers' virtualenv, `interop/.venv/bin/python`.
pub fn python_bin() -> PathBuf {
    interop_dir().join(".venv/bin/python")
}

/// Panics with set-up instructions unless the python peers are installed.
pub fn require_python_peers() {
    assert!(
        python_bin().exists(),
        "python peers missing ({} not found): run `bash interop/setup.sh` \
         (the `.ci/run` script does)",
        python_bin().display()
    );
}

/// Copies a child's stderr into the test's captured output, line by line.
fn forward_stderr(child: &mut Child, name: &str) {
    if let Some(stderr) = child.stderr.take() {
        let name = name.to_owned();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                eprintln!("[{name} stderr] {line}");
            }
        });
    }
}

/// A peer process, killed when dropped.
pub struct Peer {
    child: Child,
    stdin: Option<ChildStdin>,
    /// The port it printed (`LISTENING <port>`), for servers.
    pub port: u16,
}

impl Peer {
    /// Spawns `cmd` and waits (up to 30 s) for a `LISTENING <port>` line.
    pub fn spawn_server(mut cmd: Command) -> Peer {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn peer");
        forward_stderr(&mut child, "peer");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            for line in lines.by_ref() {
                let Ok(line) = line else { break };
                if let Some(p) = line.strip_prefix("LISTENING ") {
                    let _ = tx.send(p.trim().parse::<u16>().expect("port"));
                } else {
                    eprintln!("[peer] {line}");
                }
            }
        });
        let port = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(port) => port,
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().ok();
                panic!(
                    "peer did not print LISTENING <port> within 30 s \
                     (exit status: {status:?}; its stderr is above)"
                );
            }
        };
        let stdin = child.stdin.take();
        Peer { child, stdin, port }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the reference Node engine.io echo server (`interop/node/server.js`)
/// with engine.io options given as JSON, e.g.
/// `serde_json::json!({"pingInterval":300,"pingTimeout":200})`.
pub fn node_server(opts: Value) -> Peer {
    require_node_peers();
    let mut cmd = Command::new("node");
    cmd.arg(interop_dir().join("node/server.js"))
        .arg(opts.to_string())
        .current_dir(interop_dir());
    Peer::spawn_server(cmd)
}

/// Starts the reference python-engineio echo server (`interop/python/server.py`:
/// `AsyncServer(async_mode='asgi')` under uvicorn) with `AsyncServer` options
/// given as JSON, e.g. `serde_json::json!({"ping_interval":1,"ping_timeout":1})`
/// (seconds; the Node spellings `pingInterval`/`pingTimeout` in ms are also
/// accepted). A query containing `reject` is refused with 401
/// `{"message":"rejected","code":42}`.
pub fn python_server(opts: Value) -> Peer {
    require_python_peers();
    let mut cmd = Command::new(python_bin());
    cmd.arg(interop_dir().join("python/server.py"))
        .arg(opts.to_string())
        .env("PYTHONUNBUFFERED", "1")
        .current_dir(interop_dir());
    Peer::spawn_server(cmd)
}

/// A reference client process (`node/client.js` or `python/client.py`),
/// killed when dropped.
///
/// It prints one JSON event per line (`open`, `upgrade`, `message`, `error`,
/// `close`), read here by a thread; commands go to its stdin. The blocking
/// methods ([`next_event`](Self::next_event), [`wait_for`](Self::wait_for))
/// block the calling thread, so inside a tokio runtime that also drives a
/// server under test use the `_async` variants.
pub struct ClientProc {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    events: tokio::sync::mpsc::UnboundedReceiver<Value>,
    /// Every event taken so far, for failure messages.
    history: Vec<Value>,
    /// Events read ahead by `wait_for` and not yet returned.
    pending: VecDeque<Value>,
}

impl ClientProc {
    /// Spawns `cmd` (a program following the client CLI contract); `name`
    /// labels its output and failure messages.
    pub fn spawn(name: &str, mut cmd: Command) -> ClientProc {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        forward_stderr(&mut child, name);
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let label = name.to_owned();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                let line = String::from_utf8_lossy(&buf);
                let line = line.trim_end();
                match serde_json::from_str::<Value>(line) {
                    Ok(v) if v.get("event").is_some() => {
                        if tx.send(v).is_err() {
                            break;
                        }
                    }
                    _ => eprintln!("[{label} stdout] {line}"),
                }
            }
        });
        let stdin = child.stdin.take();
        ClientProc {
            name: name.to_owned(),
            child,
            stdin,
            events: rx,
            history: Vec::new(),
            pending: VecDeque::new(),
        }
    }

    /// Writes one command line (`send <text>`, `sendbin <hex>`, `close`).
    pub fn send_line(&mut self, line: &str) {
        assert!(!line.contains('\n'), "one command per line: {line:?}");
        let stdin = self.stdin.as_mut().expect("stdin already closed");
        // A client that already exited has closed its stdin: not an error
        // here, the next event read reports it.
        let _ = writeln!(stdin, "{line}").and_then(|()| stdin.flush());
    }

    /// `send <text>`: the client sends a text message.
    pub fn send_text(&mut self, text: &str) {
        self.send_line(&format!("send {text}"));
    }

    /// `sendbin <hex>`: the client sends a binary message.
    pub fn send_binary(&mut self, data: &[u8]) {
        self.send_line(&format!("sendbin {}", hex(data)));
    }

    /// `close`: the client closes its socket (and then exits).
    pub fn close(&mut self) {
        self.send_line("close");
    }

    /// Closes the client's stdin, which makes it close and exit.
    pub fn close_stdin(&mut self) {
        drop(self.stdin.take());
    }

    fn take(&mut self, v: Value) -> Value {
        self.history.push(v.clone());
        v
    }

    fn failure(&mut self, what: &str) -> String {
        let status = self.child.try_wait().ok().flatten();
        let seen: Vec<String> = self.history.iter().map(Value::to_string).collect();
        format!(
            "{}: {what} (exit status: {status:?}); events so far:\n  {}",
            self.name,
            seen.join("\n  ")
        )
    }

    /// The next event, or `None` if none comes within `timeout` or the
    /// client exited.
    pub fn try_next_event(&mut self, timeout: Duration) -> Option<Value> {
        if let Some(v) = self.pending.pop_front() {
            return Some(self.take(v));
        }
        let deadline = Instant::now() + timeout;
        loop {
            match self.events.try_recv() {
                Ok(v) => return Some(self.take(v)),
                Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => return None,
                Err(tokio::sync::mpsc::error::TryRecvError::Empty) => {}
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// The next event; panics (with the events seen so far) if none comes
    /// within `timeout` or the client exits first.
    pub fn next_event(&mut self, timeout: Duration) -> Value {
        match self.try_next_event(timeout) {
            Some(v) => v,
            None => panic!("{}", self.failure(&format!("no event within {timeout:?}"))),
        }
    }

    /// Like [`next_event`](Self::next_event), without blocking the runtime.
    pub async fn next_event_async(&mut self, timeout: Duration) -> Value {
        if let Some(v) = self.pending.pop_front() {
            return self.take(v);
        }
        match tokio::time::timeout(timeout, self.events.recv()).await {
            Ok(Some(v)) => self.take(v),
            Ok(None) => panic!("{}", self.failure("exited before the next event")),
            Err(_) => panic!("{}", self.failure(&format!("no event within {timeout:?}"))),
        }
    }

    /// Skips events until one named `event` (e.g. `"close"`) and returns it;
    /// panics if none comes within `timeout`.
    pub fn wait_for(&mut self, event: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.try_next_event(left) {
                Some(v) if v["event"] == event => return v,
                Some(_) => {}
                None => panic!(
                    "{}",
                    self.failure(&format!("no {event:?} event within {timeout:?}"))
                ),
            }
        }
    }

    /// Like [`wait_for`](Self::wait_for), without blocking the runtime.
    pub async fn wait_for_async(&mut self, event: &str, timeout: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let v = self.next_event_async(left).await;
            if v["event"] == event {
                return v;
            }
        }
    }

    /// Waits up to `timeout` for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Every event taken so far.
    pub fn history(&self) -> &[Value] {
        &self.history
    }
}

impl Drop for ClientProc {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Lower-case hex, the encoding of binary data in the client CLIs.
pub fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs `interop/node/client.js` (the real engine.io-client) against `url`;
/// `opts` go to `new Socket(url, opts)`, e.g.
/// `json!({"transports":["websocket"]})` or `json!({"upgrade":false})`.
pub fn node_client(url: &str, opts: Value) -> ClientProc {
    require_node_peers();
    let mut cmd = Command::new("node");
    cmd.arg(interop_dir().join("node/client.js"))
        .arg(url)
        .arg(opts.to_string())
        .current_dir(interop_dir());
    ClientProc::spawn("node client", cmd)
}

/// Runs `interop/python/client.py` (the real python-engineio `Client`, or
/// `AsyncClient` if `use_async`) against `url`; `opts` may hold
/// `transports`, `headers`, `engineio_path` (for `connect()`) and
/// `request_timeout`, `timestamp_requests`, `ssl_verify`,
/// `websocket_extra_options`, `stock_json`.
pub fn python_client(url: &str, opts: Value, use_async: bool) -> ClientProc {
    require_python_peers();
    let mut cmd = Command::new(python_bin());
    cmd.arg(interop_dir().join("python/client.py"));
    if use_async {
        cmd.arg("--async");
    }
    cmd.arg(url)
        .arg(opts.to_string())
        .env("PYTHONUNBUFFERED", "1")
        .current_dir(interop_dir());
    let name = if use_async {
        "python async client"
    } else {
        "python client"
    };
    ClientProc::spawn(name, cmd)
}
