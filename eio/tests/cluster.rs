//! Three `eio serve` nodes behind the real HAProxy and nginx, started by
//! `scripts/cluster.sh` with the configurations of `deploy/`.
//!
//! Through each balancer: our client (`eio connect`), python-engineio's
//! client and Node `engine.io-client`, polling only and with the upgrade,
//! send numbered messages and check every echo; sessions spread over the
//! three nodes; idle sessions outlive the balancer's timeouts (the
//! heartbeat keeps them busy); a node killed with SIGKILL ends only its own
//! sessions, and new sessions land on the others. The negative control:
//! the same polling clients through plain round-robin lose their sessions
//! (`Session ID unknown`), and a balancer timeout shorter than the
//! heartbeat cuts idle sessions.
//!
//! The heartbeat is shortened (1.5 s + 1.5 s) so that the balancers'
//! timeouts, sized by cluster.sh as (ping_interval + ping_timeout) x 4/3, are
//! 4 s, and an idle period longer than them takes seconds.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const EIO: &str = env!("CARGO_BIN_EXE_eio");
const PING_INTERVAL_MS: u64 = 1500;
const PING_TIMEOUT_MS: u64 = 1500;
/// What cluster.sh gives the balancers: (1.5 s + 1.5 s) x 4/3.
const BALANCER_TIMEOUT: Duration = Duration::from_millis(4000);

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

struct Node {
    pid: u32,
    prefix: String,
}

/// A running `cluster.sh up`; `cluster.sh down` on drop.
struct Cluster {
    dir: PathBuf,
    url: String,
    nodes: Vec<Node>,
}

impl Cluster {
    fn up(balancer: &str, sticky: bool) -> Cluster {
        Cluster::up_with(balancer, sticky, None)
    }

    /// `balancer_timeout`: override the balancer's timeouts (ms).
    fn up_with(balancer: &str, sticky: bool, balancer_timeout: Option<u64>) -> Cluster {
        let dir = std::env::temp_dir().join(format!(
            "eio-cluster-{}-{balancer}-{}{}",
            std::process::id(),
            if sticky { "sticky" } else { "rr" },
            balancer_timeout.map_or(String::new(), |t| format!("-t{t}"))
        ));
        let mut cmd = Command::new("bash");
        cmd.arg(root().join("scripts/cluster.sh"))
            .args(["up", "--nodes", "3", "--balancer", balancer, "--eio", EIO])
            .arg("--dir")
            .arg(&dir)
            .args(["--ping-interval", &PING_INTERVAL_MS.to_string()])
            .args(["--ping-timeout", &PING_TIMEOUT_MS.to_string()])
            .stderr(Stdio::inherit());
        if !sticky {
            cmd.arg("--no-sticky");
        }
        if let Some(t) = balancer_timeout {
            cmd.args(["--balancer-timeout", &t.to_string()]);
        }
        let out = cmd.output().expect("run scripts/cluster.sh");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "cluster.sh up failed: {stdout}");
        let line = stdout.lines().last().expect("the JSON line");
        let v: Value = serde_json::from_str(line).expect("cluster.sh prints JSON");
        let nodes = v["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| Node {
                pid: n["pid"].as_u64().expect("pid") as u32,
                prefix: n["sid_prefix"].as_str().expect("sid_prefix").to_owned(),
            })
            .collect::<Vec<_>>();
        assert_eq!(nodes.len(), 3);
        assert!(v["balancer_pid"].as_u64().is_some(), "{line}");
        Cluster {
            dir,
            url: v["url"].as_str().expect("url").to_owned(),
            nodes,
        }
    }

    fn kill_node(&self, i: usize) {
        let status = Command::new("kill")
            .args(["-KILL", &self.nodes[i].pid.to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(root().join("scripts/cluster.sh"))
            .arg("down")
            .arg("--dir")
            .arg(&self.dir)
            .status();
        if !std::thread::panicking() {
            // Kept after a failure: the nodes' and the balancer's logs.
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Ours,
    Python,
    Node,
}

/// A client process printing one JSON event per line; killed on drop.
struct Client {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    rx: mpsc::Receiver<Value>,
    kind: Kind,
    sid: String,
    upgraded: bool,
    closed: Option<Value>,
}

impl Client {
    fn spawn(kind: Kind, url: &str, upgrade: bool) -> Client {
        let transports = if upgrade {
            json!(["polling", "websocket"])
        } else {
            json!(["polling"])
        };
        let interop = root().join("interop");
        let mut cmd = match kind {
            Kind::Ours => {
                let mut c = Command::new(EIO);
                c.args(["connect", url, "--transports"]).arg(if upgrade {
                    "polling,websocket"
                } else {
                    "polling"
                });
                c
            }
            Kind::Python => {
                let mut c = Command::new(interop.join(".venv/bin/python"));
                c.arg(interop.join("python/client.py"))
                    .arg(url)
                    .arg(json!({ "transports": transports }).to_string());
                c
            }
            Kind::Node => {
                let mut c = Command::new("node");
                c.arg(interop.join("node/client.js")).arg(url).arg(
                    // withCredentials: engine.io-client keeps cookies in Node
                    // (HAProxy's SERVERID) only with it.
                    json!({ "transports": transports, "withCredentials": true }).to_string(),
                );
                c
            }
        };
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {kind:?} client: {e}"));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let Ok(mut v) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                // One vocabulary: eio connect says connect/disconnect.
                let event = match v["event"].as_str() {
                    Some("connect") => "open",
                    Some("disconnect") => "close",
                    Some(e) => e,
                    None => continue,
                }
                .to_owned();
                v["event"] = json!(event);
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        Client {
            name: format!("{kind:?}{}", if upgrade { "+upgrade" } else { "" }),
            stdin: child.stdin.take(),
            child,
            rx,
            kind,
            sid: String::new(),
            upgraded: false,
            closed: None,
        }
    }

    fn send(&mut self, text: &str) {
        let line = match self.kind {
            Kind::Ours => format!("{text}\n"),
            Kind::Python | Kind::Node => format!("send {text}\n"),
        };
        if let Some(stdin) = self.stdin.as_mut() {
            let _ = stdin.write_all(line.as_bytes());
            let _ = stdin.flush();
        }
    }

    /// The next event that is not a message, an upgrade or an open (which
    /// are recorded), or `None` at the deadline.
    fn next(&mut self, deadline: Instant) -> Option<Value> {
        let left = deadline.saturating_duration_since(Instant::now());
        let v = self.rx.recv_timeout(left).ok()?;
        match v["event"].as_str() {
            Some("open") => self.sid = v["sid"].as_str().unwrap_or_default().to_owned(),
            Some("upgrade") => self.upgraded = true,
            Some("close") | Some("error") => self.closed = Some(v.clone()),
            _ => {}
        }
        Some(v)
    }

    fn wait_open(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.sid.is_empty() {
            match self.next(deadline) {
                Some(v) if self.closed.is_some() => panic!("{}: {v}", self.name),
                Some(_) => {}
                None => panic!("{}: no open event", self.name),
            }
        }
    }

    /// Collects the echoes of `sent` (in any order: python-engineio runs
    /// each message handler on its own thread). `Err` with what ended the
    /// session if it ended first.
    fn collect_echoes(&mut self, sent: &[String], timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let mut missing: BTreeSet<&str> = sent.iter().map(String::as_str).collect();
        while !missing.is_empty() {
            let Some(v) = self.next(deadline) else {
                return Err(format!("{}: timed out, missing {missing:?}", self.name));
            };
            if let Some(closed) = &self.closed {
                return Err(format!("{} ({}): ended: {closed}", self.name, self.sid));
            }
            if v["event"] == "message" {
                missing.remove(v["data"].as_str().unwrap_or_default());
            }
        }
        Ok(())
    }

    /// Nothing but heartbeats (which the clients do not print) until the
    /// deadline: no close, no error.
    fn quiet_until(&mut self, deadline: Instant) {
        while let Some(v) = self.next(deadline) {
            assert!(self.closed.is_none(), "{} ended while idle: {v}", self.name);
        }
    }

    fn wait_closed(&mut self, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        while self.closed.is_none() {
            if self.next(deadline).is_none() {
                panic!("{} ({}): still open", self.name, self.sid);
            }
        }
        self.closed.clone().unwrap_or_default()
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `n` numbered messages from every client at once, then checks
/// every echo. `n` stays at 10: python-engineio's polling client drops the
/// connection when a payload holds more than 16 packets (a limit of its
/// own, whoever the server is).
fn echo_round(clients: &mut [&mut Client], round: &str, n: usize) {
    let mut sent = Vec::new();
    for c in clients.iter_mut() {
        let msgs: Vec<String> = (0..n).map(|i| format!("{round}-{}-{i}", c.name)).collect();
        for m in &msgs {
            c.send(m);
        }
        sent.push(msgs);
    }
    for (c, msgs) in clients.iter_mut().zip(&sent) {
        if let Err(e) = c.collect_echoes(msgs, Duration::from_secs(10)) {
            panic!("round {round}: {e}");
        }
    }
}

/// One raw HTTP/1.1 request (`Connection: close`): the status and body.
fn http(url: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let addr = url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).expect("connect to the balancer");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain;charset=UTF-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, body.to_owned())
}

/// A polling handshake, then six POSTs of the session: their statuses and
/// bodies.
fn raw_session_posts(url: &str) -> (String, Vec<(u16, String)>) {
    let (status, body) = http(url, "GET", "/engine.io/?EIO=4&transport=polling", "");
    assert_eq!(status, 200, "handshake: {body}");
    let start = body.find("\"sid\":\"").expect("sid in the handshake") + 7;
    let sid = body[start..start + 20].to_owned();
    let posts = (0..6)
        .map(|_| {
            http(
                url,
                "POST",
                &format!("/engine.io/?EIO=4&transport=polling&sid={sid}"),
                "4hi",
            )
        })
        .collect();
    (sid, posts)
}

fn sticky(balancer: &str) {
    let cluster = Cluster::up(balancer, true);
    let url = cluster.url.clone();

    if balancer == "nginx" {
        // Routing on the sid needs no cookie: a bare HTTP client keeps its
        // session on its node.
        let (sid, posts) = raw_session_posts(&url);
        for (status, body) in posts {
            assert_eq!((status, body.as_str()), (200, "ok"), "session {sid}");
        }
    }

    let mut clients: Vec<Client> = [
        (Kind::Ours, false),
        (Kind::Ours, true),
        (Kind::Python, false),
        (Kind::Python, true),
        (Kind::Node, false),
        (Kind::Node, true),
        (Kind::Ours, false),
    ]
    .into_iter()
    .map(|(kind, upgrade)| Client::spawn(kind, &url, upgrade))
    .collect();
    for c in &mut clients {
        c.wait_open(Duration::from_secs(15));
    }
    let on_node = |c: &Client| {
        cluster
            .nodes
            .iter()
            .position(|n| c.sid.starts_with(&n.prefix))
            .unwrap_or_else(|| panic!("{}: sid {} names no node", c.name, c.sid))
    };
    let used: BTreeSet<usize> = clients.iter().map(on_node).collect();
    assert_eq!(used.len(), 3, "sessions spread over all nodes: {used:?}");

    echo_round(&mut clients.iter_mut().collect::<Vec<_>>(), "a", 10);

    // The upgrades went through the balancer.
    let deadline = Instant::now() + Duration::from_secs(5);
    for c in clients.iter_mut().filter(|c| c.name.ends_with("+upgrade")) {
        while !c.upgraded {
            c.next(deadline)
                .unwrap_or_else(|| panic!("{}: no upgrade through {balancer}", c.name));
            assert!(c.closed.is_none(), "{}: {:?}", c.name, c.closed);
        }
    }

    // Idle for longer than the balancer's timeouts: the heartbeat keeps
    // every connection busy, so no session is cut.
    let deadline = Instant::now() + BALANCER_TIMEOUT + Duration::from_secs(2);
    for c in &mut clients {
        c.quiet_until(deadline);
    }
    echo_round(&mut clients.iter_mut().collect::<Vec<_>>(), "b", 10);

    // SIGKILL one node: its sessions end with a transport error, the others
    // go on.
    let victim = on_node(&clients[0]);
    cluster.kill_node(victim);
    let (mut dead, mut alive): (Vec<&mut Client>, Vec<&mut Client>) =
        clients.iter_mut().partition(|c| on_node(c) == victim);
    assert!(!dead.is_empty() && !alive.is_empty());
    for c in &mut dead {
        let closed = c.wait_closed(Duration::from_millis(
            2 * (PING_INTERVAL_MS + PING_TIMEOUT_MS) + 2000,
        ));
        let reason = closed["reason"]
            .as_str()
            .or(closed["message"].as_str())
            .unwrap_or_default();
        eprintln!("{balancer}: {} on the killed node: {closed}", c.name);
        assert!(
            closed["event"] == "error" || reason.contains("transport") || reason == "ping timeout",
            "{}: {closed}",
            c.name
        );
    }
    echo_round(&mut alive, "c", 10);

    // New sessions land on the surviving nodes.
    let mut fresh: Vec<Client> = (0..4)
        .map(|i| Client::spawn(Kind::Ours, &url, i % 2 == 1))
        .collect();
    for c in &mut fresh {
        c.wait_open(Duration::from_secs(10));
        assert_ne!(on_node(c), victim, "{} landed on the killed node", c.name);
    }
    echo_round(&mut fresh.iter_mut().collect::<Vec<_>>(), "d", 5);
}

fn round_robin_loses_sessions(balancer: &str) {
    let cluster = Cluster::up(balancer, false);
    let url = cluster.url.clone();

    // A bare session's requests are spread over the nodes: the others do
    // not know the sid.
    let (sid, posts) = raw_session_posts(&url);
    assert!(
        posts
            .iter()
            .any(|(status, body)| *status == 400 && body.contains("Session ID unknown")),
        "round-robin kept session {sid}: {posts:?}"
    );

    // And every polling client loses its session.
    let mut clients: Vec<Client> = [Kind::Ours, Kind::Python, Kind::Node]
        .into_iter()
        .map(|kind| Client::spawn(kind, &url, false))
        .collect();
    let mut sent = Vec::new();
    for c in &mut clients {
        let msgs: Vec<String> = (0..20).map(|i| format!("rr-{i}")).collect();
        // The handshake may succeed; it is the requests after it that fail.
        let deadline = Instant::now() + Duration::from_secs(10);
        while c.sid.is_empty() && c.closed.is_none() {
            c.next(deadline).expect("an open or an error");
        }
        for m in &msgs {
            c.send(m);
        }
        sent.push(msgs);
    }
    for (c, msgs) in clients.iter_mut().zip(&sent) {
        assert!(
            c.closed.is_some() || c.collect_echoes(msgs, Duration::from_secs(10)).is_err(),
            "{}: kept its session through round-robin",
            c.name
        );
        c.wait_closed(Duration::from_secs(10));
    }
}

/// The control for the idle test: a balancer timeout shorter than the
/// heartbeat cuts idle polling sessions (the held GET times out), which is
/// why deploy/ sizes the timeouts from ping_interval + ping_timeout.
fn short_timeout_cuts_idle_sessions(balancer: &str) {
    let cluster = Cluster::up_with(balancer, true, Some(PING_INTERVAL_MS / 2));
    let mut client = Client::spawn(Kind::Ours, &cluster.url, false);
    client.wait_open(Duration::from_secs(10));
    let closed = client.wait_closed(Duration::from_millis(PING_INTERVAL_MS * 3));
    assert_eq!(closed["reason"], "transport error", "{closed}");
}

#[test]
fn haproxy_cookie_stickiness() {
    sticky("haproxy");
}

#[test]
fn nginx_sid_prefix_routing() {
    sticky("nginx");
}

#[test]
fn haproxy_round_robin_loses_sessions() {
    round_robin_loses_sessions("haproxy");
}

#[test]
fn nginx_round_robin_loses_sessions() {
    round_robin_loses_sessions("nginx");
}

#[test]
fn haproxy_short_timeout_cuts_idle_sessions() {
    short_timeout_cuts_idle_sessions("haproxy");
}

#[test]
fn nginx_short_timeout_cuts_idle_sessions() {
    short_timeout_cuts_idle_sessions("nginx");
}
