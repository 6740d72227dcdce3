//! Test support: launching the reference Socket.IO servers in `interop/`.
//!
//! - [`SioPeerKind::Node`] runs `interop/node/sio_server.js` (socket.io 4.8
//!   on Node's `http`).
//! - [`SioPeerKind::Python`] runs `interop/python/sio_server.py`
//!   (python-socketio 5 `AsyncServer`, ASGI, under uvicorn).
//!
//! Both follow one contract (see `interop/README.md`): they bind
//! `127.0.0.1`, print `{"listening":PORT}` and then one JSON line per thing
//! they see (`{"ev":"connection",..}`, `{"ev":"disconnect",..}`,
//! `{"ev":"event",..}`, `{"ev":"refused",..}`), which [`SioServer`] collects
//! for [`wait_log`](SioServer::wait_log) and [`logs`](SioServer::logs).
//!
//! The peers are installed by `bash interop/setup.sh`; [`SioServer::start`]
//! panics with that instruction when they are missing. Every server is
//! killed when its handle is dropped; its stderr (and any stdout line that
//! is not JSON) goes to the test's captured output.
#![allow(dead_code, unreachable_pub)] // each test file uses a different subset

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The repository's `interop/` folder.
pub fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../interop")
}

/// The interpreter of the python peers' virtualenv, `interop/.venv/bin/python`.
pub fn python_bin() -> PathBuf {
    interop_dir().join(".venv/bin/python")
}

/// Which reference server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SioPeerKind {
    /// socket.io 4.8 (`interop/node/sio_server.js`).
    Node,
    /// python-socketio 5 (`interop/python/sio_server.py`).
    Python,
}

impl SioPeerKind {
    /// Both kinds, for tests that run against each.
    pub const ALL: [SioPeerKind; 2] = [SioPeerKind::Node, SioPeerKind::Python];

    /// `"node"` or `"python"`, for messages.
    pub fn name(self) -> &'static str {
        match self {
            SioPeerKind::Node => "node",
            SioPeerKind::Python => "python",
        }
    }

    /// Panics with set-up instructions unless this peer is installed.
    pub fn require(self) {
        match self {
            SioPeerKind::Node => {
                let nm = interop_dir().join("node_modules");
                for m in ["socket.io", "socket.io-msgpack-parser"] {
                    assert!(
                        nm.join(m).join("package.json").exists(),
                        "Node Socket.IO peer missing ({m} not in {}): \
                         run bash interop/setup.sh",
                        nm.display()
                    );
                }
            }
            SioPeerKind::Python => {
                let has_socketio = std::fs::read_dir(interop_dir().join(".venv/lib"))
                    .into_iter()
                    .flatten()
                    .flatten()
                    .any(|d| d.path().join("site-packages/socketio").is_dir());
                assert!(
                    python_bin().exists() && has_socketio,
                    "python Socket.IO peer missing (no python-socketio in {}): \
                     run bash interop/setup.sh",
                    interop_dir().join(".venv").display()
                );
            }
        }
    }
}

impl std::fmt::Display for SioPeerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Command-line options of the servers; `None` keeps the server's default
/// (pingInterval 25000 ms, pingTimeout 20000 ms, path `/socket.io/`, port 0
/// = any free port).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SioServerOpts {
    /// `--parser msgpack` (socket.io-msgpack-parser / python-socketio's
    /// `serializer="msgpack"`) instead of the default JSON parser.
    pub parser_msgpack: bool,
    /// `--ping-interval MS`.
    pub ping_interval_ms: Option<u64>,
    /// `--ping-timeout MS`.
    pub ping_timeout_ms: Option<u64>,
    /// `--port P`; `None` lets the system choose.
    pub port: Option<u16>,
    /// `--path`, e.g. `"/custom/"`.
    pub path: Option<String>,
}

/// What the stdout reader threads collect, shared with the [`SioServer`].
#[derive(Default)]
struct LogState {
    /// Every JSON line, tagged with the generation (process) that printed it.
    lines: Vec<(u64, Value)>,
    /// Generations whose stdout has ended (the process exited).
    ended: HashSet<u64>,
}

#[derive(Default)]
struct Logs {
    state: Mutex<LogState>,
    cond: Condvar,
}

/// A running reference Socket.IO server, killed when dropped.
pub struct SioServer {
    kind: SioPeerKind,
    opts: SioServerOpts,
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    /// Counts processes started by this handle (restarts).
    generation: u64,
    logs: Arc<Logs>,
    /// Indices (in `logs.lines`) already returned by `wait_log`.
    taken: HashSet<usize>,
    /// The port it listens on (the same across restarts).
    pub port: u16,
}

impl SioServer {
    /// Starts a server and waits (up to 30 s) for its `{"listening":PORT}`
    /// line. Panics with "run bash interop/setup.sh" if the peer is not
    /// installed, or if the server does not start.
    pub fn start(kind: SioPeerKind, opts: SioServerOpts) -> SioServer {
        kind.require();
        let mut server = SioServer {
            kind,
            opts,
            child: None,
            stdin: None,
            generation: 0,
            logs: Arc::new(Logs::default()),
            taken: HashSet::new(),
            port: 0,
        };
        let port = server.opts.port.unwrap_or(0);
        match server.spawn(port, Duration::from_secs(30)) {
            Ok(p) => server.port = p,
            Err(e) => panic!("{kind} Socket.IO server did not start: {e} (its stderr is above)"),
        }
        server
    }

    /// Which server this is.
    pub fn kind(&self) -> SioPeerKind {
        self.kind
    }

    /// The options it was started with.
    pub fn opts(&self) -> &SioServerOpts {
        &self.opts
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The process id of the running server, if any.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn command(&self, port: u16) -> Command {
        let mut cmd = match self.kind {
            SioPeerKind::Node => {
                let mut c = Command::new("node");
                c.arg(interop_dir().join("node/sio_server.js"));
                c
            }
            SioPeerKind::Python => {
                let mut c = Command::new(python_bin());
                c.arg(interop_dir().join("python/sio_server.py"))
                    .env("PYTHONUNBUFFERED", "1");
                c
            }
        };
        cmd.arg("--port").arg(port.to_string());
        if self.opts.parser_msgpack {
            cmd.args(["--parser", "msgpack"]);
        }
        if let Some(ms) = self.opts.ping_interval_ms {
            cmd.arg("--ping-interval").arg(ms.to_string());
        }
        if let Some(ms) = self.opts.ping_timeout_ms {
            cmd.arg("--ping-timeout").arg(ms.to_string());
        }
        if let Some(path) = &self.opts.path {
            cmd.arg("--path").arg(path);
        }
        cmd.current_dir(interop_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Spawns one process on `port` and waits up to `timeout` for its
    /// `listening` line; on failure the process is gone.
    fn spawn(&mut self, port: u16, timeout: Duration) -> Result<u16, String> {
        self.generation += 1;
        let gen = self.generation;
        let label = format!("{} sio server", self.kind);
        let mut child = self
            .command(port)
            .spawn()
            .map_err(|e| format!("spawn: {e} (run bash interop/setup.sh)"))?;
        if let Some(stderr) = child.stderr.take() {
            let label = label.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    eprintln!("[{label} stderr] {line}");
                }
            });
        }
        let stdout = child.stdout.take().expect("stdout");
        let logs = Arc::clone(&self.logs);
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                let text = String::from_utf8_lossy(&buf);
                let text = text.trim_end();
                match serde_json::from_str::<Value>(text) {
                    Ok(v) if v.is_object() => {
                        logs.state.lock().unwrap().lines.push((gen, v));
                        logs.cond.notify_all();
                    }
                    _ => eprintln!("[{label} stdout] {text}"),
                }
            }
            logs.state.lock().unwrap().ended.insert(gen);
            logs.cond.notify_all();
        });
        self.stdin = child.stdin.take();
        self.child = Some(child);

        let deadline = Instant::now() + timeout;
        let mut state = self.logs.state.lock().unwrap();
        loop {
            let listening = state
                .lines
                .iter()
                .filter(|(g, _)| *g == gen)
                .find_map(|(_, v)| v.get("listening").and_then(Value::as_u64));
            if let Some(p) = listening {
                return Ok(u16::try_from(p).expect("port"));
            }
            let now = Instant::now();
            let ended = state.ended.contains(&gen);
            if ended || now >= deadline {
                drop(state);
                let status = self.reap();
                return Err(if ended {
                    format!("exited before listening (status {status:?})")
                } else {
                    format!("no {{\"listening\":PORT}} line within {timeout:?}")
                });
            }
            state = self
                .logs
                .cond
                .wait_timeout(state, deadline - now)
                .unwrap()
                .0;
        }
    }

    /// Kills the process (if any) and waits for it.
    fn reap(&mut self) -> Option<std::process::ExitStatus> {
        drop(self.stdin.take());
        let mut child = self.child.take()?;
        let _ = child.kill();
        child.wait().ok()
    }

    /// Kills the server (SIGKILL) and waits for it to exit. Its sockets die
    /// without a goodbye, like a crashed server.
    pub fn kill(&mut self) {
        self.reap();
    }

    /// Starts the server again (killing it first if it still runs) with the
    /// same kind and options on the same port, retrying for up to 10 s
    /// while the port cannot be bound yet. Log lines of earlier processes
    /// stay in [`logs`](Self::logs); the new process adds its own
    /// `{"listening":PORT}` line.
    pub fn restart(&mut self) {
        self.reap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.spawn(self.port, Duration::from_secs(30)) {
                Ok(p) => {
                    assert_eq!(p, self.port, "restarted on another port");
                    return;
                }
                Err(e) if Instant::now() < deadline => {
                    eprintln!(
                        "[{} sio server] restart on port {}: {e}; retrying",
                        self.kind, self.port
                    );
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => panic!(
                    "{} Socket.IO server did not restart on port {} within 10 s: {e}",
                    self.kind, self.port
                ),
            }
        }
    }

    fn signal(&self, sig: &str) {
        let pid = self.pid().expect("server not running");
        let status = Command::new("kill")
            .arg(sig)
            .arg(pid.to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {sig} {pid} failed: {status}");
    }

    /// Freezes the server (SIGSTOP): it stops answering, its sockets stay
    /// open (a network stall, a missed heartbeat).
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a [`pause`](Self::pause)d server run again (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    /// Every JSON line printed so far (all processes, in order), the
    /// `{"listening":PORT}` lines included.
    pub fn logs(&self) -> Vec<Value> {
        let state = self.logs.state.lock().unwrap();
        state.lines.iter().map(|(_, v)| v.clone()).collect()
    }

    /// The first line matching `pred` that no earlier `wait_log` call
    /// returned, waiting up to `timeout` for it; `None` if none comes.
    ///
    /// Lines are searched from the start of the log, so the order of the
    /// calls need not follow the order of the lines, and waiting twice for
    /// the same kind of line returns two different lines.
    pub fn try_wait_log(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        let mut state = self.logs.state.lock().unwrap();
        loop {
            let found = state
                .lines
                .iter()
                .enumerate()
                .find(|(i, (_, v))| !self.taken.contains(i) && pred(v))
                .map(|(i, (_, v))| (i, v.clone()));
            if let Some((i, v)) = found {
                self.taken.insert(i);
                return Some(v);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            state = self
                .logs
                .cond
                .wait_timeout(state, deadline - now)
                .unwrap()
                .0;
        }
    }

    /// Like [`try_wait_log`](Self::try_wait_log), but panics (printing the
    /// lines seen so far) when no matching line comes within `timeout`.
    ///
    /// This blocks the calling thread: inside a tokio test use a
    /// multi-threaded runtime (`#[tokio::test(flavor = "multi_thread")]`)
    /// or `tokio::task::block_in_place`, so the client under test keeps
    /// running meanwhile.
    pub fn wait_log(&mut self, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        match self.try_wait_log(timeout, pred) {
            Some(v) => v,
            None => {
                let seen: Vec<String> = self.logs().iter().map(Value::to_string).collect();
                panic!(
                    "{} Socket.IO server: no matching log line within {timeout:?}; lines so far:\n  {}",
                    self.kind,
                    seen.join("\n  ")
                )
            }
        }
    }

    /// [`wait_log`](Self::wait_log) for a line with `"ev": ev` (and, if
    /// given, `"nsp": nsp`).
    pub fn wait_ev(&mut self, timeout: Duration, ev: &str, nsp: Option<&str>) -> Value {
        self.wait_log(timeout, |v| {
            v["ev"] == ev && nsp.is_none_or(|n| v["nsp"] == n)
        })
    }
}

impl Drop for SioServer {
    fn drop(&mut self) {
        self.reap();
    }
}

/// Lower-case hex, as the servers print binary (`{"$binary":"<hex>"}`).
pub fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

/// `{"$binary":"<hex>"}`, the servers' printed form of a binary value.
pub fn binary_json(data: &[u8]) -> Value {
    serde_json::json!({ "$binary": hex(data) })
}
