//! The blocking client (`socketio::blocking`) against the reference Node
//! Socket.IO server (`interop/node/sio_server.js`), plus what can be checked
//! with no server at all.
//!
//! The launcher is this file's own (a few lines): it starts the server with
//! its stdin piped (the server exits when stdin closes), reads the
//! `{"listening":PORT}` line, then collects the JSON log lines. Install the
//! peer with `bash interop/setup.sh`; without it the peer tests panic with
//! that instruction.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};
use socketio::blocking::{Client, ClientBuilder, NamespaceHandler};
use socketio::{ConnectOptions, DisconnectReason, Error, Event, Value};

const T: Duration = Duration::from_secs(10);

// --- the launcher ------------------------------------------------------------

struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    port: u16,
    log: Arc<(Mutex<Vec<Json>>, Condvar)>,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let interop = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../interop");
        assert!(
            interop.join("node_modules/socket.io").is_dir(),
            "the Node peer is missing: run `bash interop/setup.sh`"
        );
        let mut child = Command::new("node")
            .arg(interop.join("node/sio_server.js"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot run node");
        let stdin = child.stdin.take();
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = lines.next().expect("no output").expect("read");
        let port = serde_json::from_str::<Json>(&first).expect("JSON")["listening"]
            .as_u64()
            .expect("listening line") as u16;
        let log = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let theirs = log.clone();
        thread::spawn(move || {
            for line in lines.map_while(std::result::Result::ok) {
                match serde_json::from_str::<Json>(&line) {
                    Ok(v) => {
                        theirs.0.lock().unwrap().push(v);
                        theirs.1.notify_all();
                    }
                    Err(_) => eprintln!("server: {line}"),
                }
            }
        });
        Server {
            child,
            stdin,
            port,
            log,
        }
    }

    fn node() -> Server {
        Server::start(&[])
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The first log line matching `pred`, waiting up to `timeout`.
    fn wait_log(&self, timeout: Duration, pred: impl Fn(&Json) -> bool) -> Option<Json> {
        let deadline = Instant::now() + timeout;
        let mut lines = self.log.0.lock().unwrap();
        loop {
            if let Some(v) = lines.iter().find(|v| pred(v)) {
                return Some(v.clone());
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            lines = self.log.1.wait_timeout(lines, deadline - now).unwrap().0;
        }
    }

    fn disconnect_of(&self, sid: &str, timeout: Duration) -> Option<Json> {
        self.wait_log(timeout, |v| v["ev"] == "disconnect" && v["sid"] == sid)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.stdin.take()); // the server exits when its stdin closes
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// --- helpers -----------------------------------------------------------------

fn builder() -> ClientBuilder {
    Client::builder().handle_sigint(false)
}

fn json_args(args: &[Value]) -> Json {
    Json::Array(args.iter().map(Value::to_json).collect())
}

/// A channel whose sender handlers can own.
fn channel<T>() -> (Arc<Mutex<Sender<T>>>, Receiver<T>) {
    let (tx, rx) = mpsc::channel();
    (Arc::new(Mutex::new(tx)), rx)
}

fn put<T>(tx: &Mutex<Sender<T>>, v: T) {
    let _ = tx.lock().unwrap().send(v);
}

// --- no server -----------------------------------------------------------------

#[test]
fn without_a_server() {
    let client = Client::new();
    assert!(!client.connected());
    assert!(client.namespaces().is_empty());
    assert_eq!(client.transport(), None);
    assert_eq!(client.get_sid("/"), None);
    assert!(matches!(client.emit("x", 1), Err(Error::BadNamespace(ns)) if ns == "/"));
    assert!(matches!(
        client.call_timeout("x", (), Duration::from_millis(10)),
        Err(Error::BadNamespace(_))
    ));
    assert!(matches!(
        client.of("/admin").emit("x", ()),
        Err(Error::BadNamespace(ns)) if ns == "/admin"
    ));
    // Never connected: nothing to wait for, nothing to disconnect.
    client.wait();
    assert!(client.wait_timeout(Duration::from_millis(10)));
    client.disconnect();

    // Nothing listens on port 1.
    let started = Instant::now();
    let err = client
        .connect("http://127.0.0.1:1")
        .expect_err("nothing listens there");
    assert!(matches!(err, Error::Engine(_)), "{err:?}");
    assert!(client.wait_timeout(T));
    drop(client);
    assert!(started.elapsed() < T);
}

// --- against the Node server ------------------------------------------------------

#[test]
fn connect_welcome_and_echo() {
    let server = Server::node();
    let (tx, rx) = channel::<(String, Json, String)>();
    let (tx2, tx3) = (tx.clone(), tx.clone());
    let client = builder()
        .on_connect("/", move |_c, ns| {
            put(&tx3, ("connect".into(), json!(ns), thread_name()));
        })
        .on("welcome", move |_c, ev| {
            put(&tx, ("welcome".into(), json_args(&ev.args), thread_name()));
        })
        .on("echo", move |_c, ev| {
            put(&tx2, ("echo".into(), json_args(&ev.args), thread_name()));
        })
        .build();
    client.connect(server.url()).expect("connect");
    assert!(client.connected());
    assert_eq!(client.namespaces(), ["/"]);
    assert!(client.transport().is_some());
    let sid = client.get_sid("/").expect("sid");
    assert_eq!(client.of("/").sid().as_deref(), Some(sid.as_str()));

    let mut got = Vec::new();
    while got.len() < 2 {
        got.push(rx.recv_timeout(T).expect("connect and welcome"));
    }
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got[0].0, "connect");
    assert_eq!(got[0].1, json!("/"));
    assert_eq!(got[1].0, "welcome");
    assert_eq!(got[1].1[0]["nsp"], "/");
    assert_eq!(got[1].1[0]["sid"], json!(sid));
    assert!(got.iter().all(|g| g.2 == "sio-handlers"), "{got:?}");

    client.emit("echo", ("a", 1, json!({"k": [true]}))).unwrap();
    let (name, args, _) = rx.recv_timeout(T).expect("echo");
    assert_eq!(name, "echo");
    assert_eq!(args, json!(["a", 1, {"k": [true]}]));

    client.send("hello").unwrap();
    server
        .wait_log(T, |v| v["ev"] == "event" && v["name"] == "message")
        .expect("the server got the message");

    client.disconnect();
    assert!(!client.connected());
    server
        .disconnect_of(&sid, T)
        .expect("server saw the disconnect");
}

fn thread_name() -> String {
    thread::current().name().unwrap_or("?").to_owned()
}

#[test]
fn call_returns_the_ack() {
    let server = Server::node();
    let client = builder().build();
    client.connect(server.url()).expect("connect");

    let reply = client.call("echo", ("x", 2)).expect("call");
    assert_eq!(json_args(&reply), json!(["x", 2]));

    let who = client
        .of("/")
        .call_timeout("whoami", (), Duration::from_secs(5))
        .expect("whoami");
    assert_eq!(who[0].to_json()["sid"], json!(client.get_sid("/").unwrap()));

    // No ack for `kick`... but `burst` never acks: the call times out.
    let started = Instant::now();
    let err = client
        .call_timeout("burst", 0, Duration::from_millis(300))
        .unwrap_err();
    assert!(matches!(err, Error::Timeout), "{err:?}");
    assert!(started.elapsed() >= Duration::from_millis(300));

    // emit_with_ack: the callback runs on the handler thread.
    let (tx, rx) = mpsc::channel();
    client
        .emit_with_ack("echo", "cb", move |args| {
            let _ = tx.send((json_args(&args), thread_name()));
        })
        .unwrap();
    let (args, name) = rx.recv_timeout(T).expect("ack callback");
    assert_eq!(args, json!(["cb"]));
    assert_eq!(name, "sio-handlers");
}

#[test]
fn call_from_a_handler() {
    let server = Server::node();
    let (tx, rx) = channel::<Json>();
    let client = builder()
        .on("welcome", move |c, _ev| {
            let r = c
                .call_timeout("echo", "inside", Duration::from_secs(5))
                .map(|a| json_args(&a))
                .unwrap_or_else(|e| json!(e.to_string()));
            put(&tx, r);
        })
        .build();
    client.connect(server.url()).expect("connect");
    assert_eq!(rx.recv_timeout(T).expect("call result"), json!(["inside"]));
}

#[test]
fn a_blocking_handler_does_not_stop_the_heartbeat() {
    // A 300 ms handler against 300 ms pings that must be answered in 200 ms.
    let server = Server::start(&["--ping-interval", "300", "--ping-timeout", "200"]);
    let (tx, rx) = channel::<(i64, Instant)>();
    let client = builder()
        .on("seq", move |_c, ev| {
            let i = ev.args[0].get("i").and_then(Value::as_i64).unwrap_or(-1);
            put(&tx, (i, Instant::now()));
            thread::sleep(Duration::from_millis(300));
        })
        .build();
    client.connect(server.url()).expect("connect");
    let sid = client.get_sid("/").unwrap();
    client.emit("burst", (5, 0)).unwrap();

    // While the handler thread sleeps, the client still answers: a call
    // comes back long before the handlers are through.
    let (first, _) = rx.recv_timeout(T).expect("first seq");
    assert_eq!(first, 0);
    let started = Instant::now();
    let who = client.call_timeout("whoami", (), Duration::from_secs(5));
    assert!(who.is_ok(), "{who:?}");
    assert!(
        started.elapsed() < Duration::from_millis(800),
        "call took {:?}",
        started.elapsed()
    );

    let mut seen = vec![(0, Instant::now())];
    while seen.len() < 5 {
        seen.push(rx.recv_timeout(T).expect("seq"));
    }
    let order: Vec<i64> = seen.iter().map(|s| s.0).collect();
    assert_eq!(order, [0, 1, 2, 3, 4], "handlers run in order");
    for w in seen.windows(2).skip(1) {
        assert!(
            w[1].1 - w[0].1 >= Duration::from_millis(280),
            "one handler at a time"
        );
    }
    thread::sleep(Duration::from_millis(700));
    assert!(client.connected(), "the heartbeat went on");
    assert_eq!(client.get_sid("/").as_deref(), Some(sid.as_str()));
    assert!(server.disconnect_of(&sid, Duration::ZERO).is_none());
    client.disconnect();
}

struct Room {
    tx: Arc<Mutex<Sender<String>>>,
}

impl NamespaceHandler for Room {
    fn on_connect(&self, client: &Client, namespace: &str) {
        put(&self.tx, format!("connect {namespace}"));
        // The namespace handle works from inside a handler.
        let _ = client.of(namespace).emit("echo", "from on_connect");
    }

    fn on_event(&self, _client: &Client, event: Event) -> Vec<Value> {
        put(
            &self.tx,
            format!("{} {}", event.name, json_args(&event.args)),
        );
        if event.name == "q" {
            vec![Value::from("ns-answer"), Value::from(7u64)]
        } else {
            Vec::new()
        }
    }
}

#[test]
fn handler_return_values_ack_the_server() {
    let server = Server::node();
    let (tx, rx) = channel::<Json>();
    let (room_tx, room_rx) = channel::<String>();
    let client = builder()
        .on("question", |_c, ev| ("answer", ev.args[0].clone()))
        .on("asked", move |_c, ev| put(&tx, json_args(&ev.args)))
        .register_namespace("/dyn-room", Room { tx: room_tx })
        .build();
    // The namespaces with handlers: `/` and `/dyn-room`.
    client.connect(server.url()).expect("connect");
    let mut ns = client.namespaces();
    ns.sort();
    assert_eq!(ns, ["/", "/dyn-room"]);

    client.emit("ask", ("question", 42)).unwrap();
    assert_eq!(
        rx.recv_timeout(T).expect("asked"),
        json!([{"ok": true, "reply": ["answer", 42]}])
    );

    let room = client.of("dyn-room");
    assert_eq!(room.namespace(), "/dyn-room");
    assert!(room.connected());
    room.emit("ask", ("q",)).unwrap();
    let mut lines = Vec::new();
    let deadline = Instant::now() + T;
    while !lines.iter().any(|l: &String| l.starts_with("asked")) && Instant::now() < deadline {
        if let Ok(l) = room_rx.recv_timeout(Duration::from_millis(100)) {
            lines.push(l);
        }
    }
    assert_eq!(lines[0], "connect /dyn-room");
    assert!(
        lines.contains(&r#"echo ["from on_connect"]"#.to_owned()),
        "{lines:?}"
    );
    assert!(lines.contains(&r#"q []"#.to_owned()), "{lines:?}");
    assert!(
        lines.contains(&r#"asked [{"ok":true,"reply":["ns-answer",7]}]"#.to_owned()),
        "{lines:?}"
    );
}

#[test]
fn refused_auth_is_connect_refused() {
    let server = Server::node();
    let (tx, rx) = channel::<(String, Json)>();
    let client = builder()
        .on_connect_error("/admin", move |_c, ns, data| {
            put(&tx, (ns.to_owned(), data.to_json()));
        })
        .build();
    let err = client
        .connect_with(
            ConnectOptions::new(server.url())
                .namespaces(["/admin"])
                .auth(json!({"token": "nope"})),
        )
        .expect_err("refused");
    let expected = json!({"message": "not authorized", "data": {"reason": "bad token"}});
    match &err {
        Error::ConnectRefused { namespace, data } => {
            assert_eq!(namespace, "/admin");
            assert_eq!(data.to_json(), expected);
        }
        other => panic!("expected ConnectRefused, got {other:?}"),
    }
    assert_eq!(
        rx.recv_timeout(T).expect("connect_error handler"),
        ("/admin".to_owned(), expected)
    );
    assert!(!client.connected());

    // The right token.
    client
        .connect_with(
            ConnectOptions::new(server.url())
                .namespaces(["/admin"])
                .auth(json!({"token": "secret"})),
        )
        .expect("connect with the token");
    assert_eq!(client.namespaces(), ["/admin"]);
    let who = client.of("/admin").call("whoami", ()).expect("whoami");
    assert_eq!(who[0].to_json()["nsp"], "/admin");
}

#[test]
fn disconnect_and_wait_from_handlers_return() {
    let server = Server::node();
    let (tx, rx) = channel::<String>();
    let tx2 = tx.clone();
    let client = builder()
        .on("welcome", move |c, ev| {
            put(
                &tx,
                ev.args[0].to_json()["sid"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            );
            c.disconnect();
            put(
                &tx,
                format!("disconnect returned, connected={}", c.connected()),
            );
        })
        .on_disconnect("/", move |c, ns, reason| {
            c.wait();
            put(
                &tx2,
                format!("wait returned in on_disconnect {ns} {reason:?}"),
            );
        })
        .build();
    client.connect(server.url()).expect("connect");
    let sid = rx.recv_timeout(T).expect("welcome");
    assert_eq!(
        rx.recv_timeout(T).expect("the welcome handler returned"),
        "disconnect returned, connected=false"
    );
    assert!(client.wait_timeout(T), "the client stopped");
    assert_eq!(
        rx.recv_timeout(T).expect("the disconnect handler returned"),
        format!(
            "wait returned in on_disconnect / {:?}",
            DisconnectReason::ClientDisconnect
        )
    );
    let line = server.disconnect_of(&sid, T).expect("server saw it");
    assert_eq!(line["reason"], "client namespace disconnect");
}

/// The server's `ask` wants an ack: the async side waits for this handler,
/// which makes a `call` of its own meanwhile. Its answer must not queue
/// behind the handler.
#[test]
fn call_from_an_acknowledging_handler() {
    let server = Server::node();
    let (tx, rx) = channel::<Json>();
    let client = builder()
        .on("question", move |c, _ev| {
            let r = c
                .call_timeout("echo", "nested", Duration::from_secs(5))
                .map(|a| json_args(&a))
                .unwrap_or_else(|e| json!(e.to_string()));
            put(&tx, r);
            "answer"
        })
        .build();
    client.connect(server.url()).expect("connect");
    client.emit("ask", ("question",)).unwrap();
    assert_eq!(rx.recv_timeout(T).expect("call result"), json!(["nested"]));
}

#[test]
fn disconnect_from_an_acknowledging_handler_returns() {
    // The server wants an ack: the async side waits for this handler, which
    // disconnects meanwhile.
    let server = Server::node();
    let (tx, rx) = channel::<&'static str>();
    let client = builder()
        .on("question", move |c, _ev| {
            c.disconnect();
            put(&tx, "returned");
            "late answer"
        })
        .build();
    client.connect(server.url()).expect("connect");
    let sid = client.get_sid("/").unwrap();
    client.emit("ask", ("question",)).unwrap();
    assert_eq!(
        rx.recv_timeout(T).expect("the handler returned"),
        "returned"
    );
    assert!(client.wait_timeout(T));
    server.disconnect_of(&sid, T).expect("server saw it");
}

#[test]
fn dropping_the_client_disconnects() {
    let server = Server::node();
    let client = builder().build();
    client.connect(server.url()).expect("connect");
    let sid = client.get_sid("/").unwrap();
    let clone = client.clone();
    drop(client);
    assert!(clone.connected(), "a clone keeps it alive");
    let started = Instant::now();
    drop(clone);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "drop took {:?}",
        started.elapsed()
    );
    let line = server
        .disconnect_of(&sid, T)
        .expect("server saw the disconnect");
    assert_eq!(line["reason"], "client namespace disconnect");
}

#[test]
fn dropping_the_last_handle_in_a_handler() {
    // The user drops the client while a handler runs: the handler thread's
    // handle is the last, and dropping it there shuts the client down.
    let server = Server::node();
    let (tx, rx) = channel::<&'static str>();
    let client = builder()
        .on("welcome", move |_c, _ev| {
            put(&tx, "started");
            thread::sleep(Duration::from_millis(300));
        })
        .build();
    client.connect(server.url()).expect("connect");
    let sid = client.get_sid("/").unwrap();
    assert_eq!(rx.recv_timeout(T).unwrap(), "started");
    drop(client);
    server
        .disconnect_of(&sid, T)
        .expect("the server saw the disconnect");
}

#[test]
fn reconnects_after_the_server_goes_away() {
    // (`close_engine` would not do: after the server's own `close` packet
    // the client does not reconnect, as python-socketio.) The server dies
    // and comes back on the same port.
    let server = Server::node();
    let port = server.port.to_string();
    let (tx, rx) = channel::<String>();
    let (tx2, tx3) = (tx.clone(), tx.clone());
    let client = builder()
        .reconnection_delay(Duration::from_millis(100))
        .reconnection_delay_max(Duration::from_millis(400))
        .randomization_factor(0.0)
        .on_connect("/", move |_c, _ns| put(&tx, "connect".into()))
        .on_disconnect("/", move |_c, _ns, r| {
            put(&tx2, format!("disconnect {r:?}"))
        })
        .on_reconnect_attempt(move |_c, n| put(&tx3, format!("attempt {n}")))
        .build();
    client.connect(server.url()).expect("connect");
    assert_eq!(rx.recv_timeout(T).unwrap(), "connect");
    let first = client.get_sid("/").unwrap();
    drop(server);
    let again = Server::start(&["--port", &port]);
    let mut got = Vec::new();
    while got.last().map(String::as_str) != Some("connect") {
        match rx.recv_timeout(T) {
            Ok(g) => got.push(g),
            Err(_) => panic!("reconnection events: got only {got:?}"),
        }
    }
    let unexpected = [
        format!("disconnect {:?}", DisconnectReason::TransportClose),
        format!("disconnect {:?}", DisconnectReason::TransportError),
    ];
    assert!(unexpected.contains(&got[0]), "{got:?}");
    assert_eq!(got[1], "attempt 1", "{got:?}");
    let second = client.get_sid("/").expect("connected again");
    assert_ne!(first, second);
    again
        .wait_log(T, |v| v["ev"] == "connection" && v["sid"] == second)
        .expect("the new server saw us");
    client.shutdown();
    assert!(client.wait_timeout(Duration::ZERO));
}
