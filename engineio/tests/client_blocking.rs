//! The blocking client against the reference Node engine.io server, and
//! Ctrl-C handling (in a child process).

mod client_util;
mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use engineio::client::blocking::{Client, ClientBuilder, Events};
use engineio::client::{ClientError, ClientEvent, Data};
use engineio::proto::{DisconnectReason, TransportKind};
use serde_json::json;

const MODES: [(&str, &[TransportKind]); 3] = [
    ("polling", &[TransportKind::Polling]),
    ("websocket", &[TransportKind::WebSocket]),
    (
        "upgrade",
        &[TransportKind::Polling, TransportKind::WebSocket],
    ),
];

/// Tests that count the client threads take this for writing; the others
/// for reading, so that they still run in parallel with each other.
static THREADS: RwLock<()> = RwLock::new(());

fn builder(transports: &[TransportKind]) -> ClientBuilder {
    Client::builder()
        .transports(transports.iter().copied())
        .handle_sigint(false)
}

fn next_event(events: &mut Events) -> ClientEvent {
    events
        .recv_timeout(Duration::from_secs(10))
        .expect("an event within 10 s")
}

fn next_message(events: &mut Events) -> Data {
    loop {
        match next_event(events) {
            ClientEvent::Message(d) => return d,
            ClientEvent::Connect | ClientEvent::Upgrade => {}
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

fn next_upgrade(events: &mut Events) {
    loop {
        match next_event(events) {
            ClientEvent::Upgrade => return,
            ClientEvent::Connect => {}
            other => panic!("expected the upgrade, got {other:?}"),
        }
    }
}

fn next_disconnect(events: &mut Events) -> DisconnectReason {
    loop {
        if let ClientEvent::Disconnect(r) = next_event(events) {
            return r;
        }
    }
}

#[test]
fn echo_text_and_binary_on_every_transport() {
    let _g = THREADS.read();
    let server = common::node_server(json!({}));
    for (mode, transports) in MODES {
        let client = builder(transports)
            .connect(server.base_url())
            .unwrap_or_else(|e| panic!("{mode}: {e}"));
        let mut events = client.events();
        if mode == "upgrade" {
            next_upgrade(&mut events);
            assert_eq!(client.transport(), TransportKind::WebSocket);
        } else {
            assert_eq!(client.transport(), transports[0]);
        }
        client.send("hello").unwrap();
        assert_eq!(next_message(&mut events), Data::from("hello"), "{mode}");
        client.send(vec![0u8, 255, 7]).unwrap();
        assert_eq!(next_message(&mut events), Data::from(vec![0u8, 255, 7]));
        client.send_json(&json!([1, 2])).unwrap();
        assert_eq!(next_message(&mut events), Data::from("[1,2]"));
        client.disconnect();
        assert_eq!(
            next_disconnect(&mut events),
            DisconnectReason::ClientDisconnect
        );
        assert!(events.next().is_none());
        assert!(matches!(client.send("late"), Err(ClientError::Closed)));
        assert_eq!(client.wait(), DisconnectReason::ClientDisconnect);
    }
}

#[test]
fn sessions_outlive_three_ping_intervals() {
    let _g = THREADS.read();
    let server = common::node_server(json!({"pingInterval": 300, "pingTimeout": 200}));
    let url = server.base_url();
    let runs: Vec<_> = MODES
        .iter()
        .map(|&(mode, transports)| {
            let url = url.clone();
            std::thread::spawn(move || {
                let client = builder(transports).connect(&url).unwrap();
                let mut events = client.events();
                assert_eq!(client.wait_timeout(Duration::from_millis(1200)), None);
                assert!(client.is_connected(), "{mode}");
                client.send("ok").unwrap();
                assert_eq!(next_message(&mut events), Data::from("ok"), "{mode}");
                client.disconnect();
            })
        })
        .collect();
    for r in runs {
        r.join().unwrap();
    }
}

#[test]
fn server_disconnect_and_errors() {
    let _g = THREADS.read();
    let server = common::node_server(json!({}));
    for (mode, transports) in MODES {
        let reasons = Arc::new(Mutex::new(Vec::new()));
        let log = reasons.clone();
        let client = builder(transports)
            .on_disconnect(move |r| log.lock().unwrap().push(r))
            .connect(server.base_url())
            .unwrap();
        if mode == "upgrade" {
            let start = Instant::now();
            while client.transport() != TransportKind::WebSocket {
                assert!(start.elapsed() < Duration::from_secs(10), "no upgrade");
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        client.send("disconnect").unwrap();
        assert_eq!(client.wait(), DisconnectReason::ServerDisconnect, "{mode}");
        assert_eq!(
            *reasons.lock().unwrap(),
            vec![DisconnectReason::ServerDisconnect],
            "{mode}: the handler ran before wait returned"
        );
    }
    let denied = format!("{}/?deny", server.base_url());
    match builder(&[TransportKind::Polling]).connect(&denied) {
        Err(ClientError::HandshakeRejected { status, body }) => {
            assert_eq!(status, 403);
            assert_eq!(body, Some(json!({"code": 4, "message": "Forbidden"})));
        }
        other => panic!("{other:?}"),
    }
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    for (mode, transports) in MODES {
        let err = builder(transports)
            .connect(format!("http://127.0.0.1:{port}"))
            .expect_err(mode);
        assert!(err.is_connect(), "{mode}: {err:?}");
    }
}

#[test]
fn handlers_may_block_answer_and_disconnect() {
    let _g = THREADS.read();
    let server = common::node_server(json!({"pingInterval": 300, "pingTimeout": 200}));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let client = builder(&[TransportKind::Polling, TransportKind::WebSocket])
        .on_connect(|c: &Client| c.send("hello from client"))
        .on_message(move |c, data| {
            let Data::Text(t) = data else { return };
            log.lock().unwrap().push(t.to_string());
            match t.as_str() {
                "hello from client" => {
                    // A handler that blocks for longer than the heartbeat
                    // allows: the session must survive it.
                    std::thread::sleep(Duration::from_millis(700));
                    for i in 0..20 {
                        c.send(format!("n{i}")).unwrap();
                    }
                }
                // Disconnecting (and waiting) from a handler must not wait
                // for the handler itself.
                "n19" => {
                    c.disconnect();
                    assert_eq!(c.wait(), DisconnectReason::ClientDisconnect);
                }
                _ => {}
            }
        })
        .connect(server.base_url())
        .unwrap();
    assert_eq!(
        client.wait_timeout(Duration::from_secs(10)),
        Some(DisconnectReason::ClientDisconnect)
    );
    let mut want = vec!["hello from client".to_owned()];
    want.extend((0..20).map(|i| format!("n{i}")));
    assert_eq!(*seen.lock().unwrap(), want);

    let err = builder(&[TransportKind::WebSocket])
        .on_connect(|_: &Client| Err::<(), _>("no"))
        .connect(server.base_url())
        .unwrap_err();
    assert!(matches!(err, ClientError::ConnectHandler(_)), "{err:?}");
}

#[test]
fn ping_timeout_is_detected_when_the_server_goes_silent() {
    let _g = THREADS.read();
    // The fake server runs on a runtime of its own.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            tx.send(client_util::silent_server().await).unwrap();
            std::future::pending::<()>().await;
        });
    });
    let addr = rx.recv().unwrap();
    for (mode, transports) in &MODES[..2] {
        let start = Instant::now();
        let client = builder(transports)
            .connect(format!("http://{addr}"))
            .unwrap_or_else(|e| panic!("{mode}: {e}"));
        assert_eq!(
            client.wait_timeout(Duration::from_secs(10)),
            Some(DisconnectReason::PingTimeout),
            "{mode}"
        );
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(290), "{mode}: {took:?}");
    }
}

#[test]
fn message_order_is_kept_across_the_upgrade() {
    let _g = THREADS.read();
    let server = common::node_server(json!({"maxHttpBufferSize": 2000}));
    let client = builder(&[TransportKind::Polling, TransportKind::WebSocket])
        .connect(server.base_url())
        .unwrap();
    let mut events = client.events();
    // Nothing would cross the upgrade if it were done before the first send,
    // or came after the last.
    assert_eq!(
        client.transport(),
        TransportKind::Polling,
        "the upgrade was done before the first send"
    );
    let sender = client.clone();
    // One message a millisecond until the switch is seen, then the rest;
    // returns how many went out before it.
    let send = std::thread::spawn(move || {
        let mut before = None;
        for i in 0..1000 {
            sender.send(format!("m{i}")).unwrap();
            if before.is_none() {
                if sender.transport() == TransportKind::WebSocket {
                    before = Some(i + 1);
                } else {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
        before
    });
    let mut got = Vec::new();
    while got.len() < 1000 {
        match next_event(&mut events) {
            ClientEvent::Message(Data::Text(t)) => got.push(t.to_string()),
            ClientEvent::Connect | ClientEvent::Upgrade => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    let before = send
        .join()
        .unwrap()
        .expect("the upgrade came after the 1,000 paced sends");
    assert!(before > 1, "sends straddle the upgrade ({before})");
    let want: Vec<String> = (0..1000).map(|i| format!("m{i}")).collect();
    assert!(got == want, "out of order or duplicated: {got:?}");
    assert_eq!(client.transport(), TransportKind::WebSocket);
    client.disconnect();
}

/// How many of this process's threads have the name `name` (Linux).
fn threads_named(name: &str) -> usize {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    dir.flatten()
        .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|n| n.trim() == name))
        .count()
}

fn client_threads() -> usize {
    threads_named("eio-client") + threads_named("eio-handlers")
}

/// Waits up to 5 s for the blocking clients' threads to be gone.
fn wait_for_no_client_threads(what: &str) {
    let start = Instant::now();
    while client_threads() > 0 {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{what}: threads leaked ({} eio-client, {} eio-handlers)",
            threads_named("eio-client"),
            threads_named("eio-handlers")
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// For a test that counts the client threads: no other test's clients
/// running, and none of an earlier runtime left; `None` without /proc.
fn counting_threads() -> Option<(std::sync::RwLockWriteGuard<'static, ()>, common::Peer)> {
    let g = THREADS.write().unwrap_or_else(|e| e.into_inner());
    if !std::path::Path::new("/proc/self/task").exists() {
        return None;
    }
    let server = common::node_server(json!({}));
    // A runtime of earlier tests may still be ending.
    wait_for_no_client_threads("before");
    Some((g, server))
}

#[test]
fn dropping_the_last_client_joins_the_shared_threads() {
    let Some((_g, server)) = counting_threads() else {
        return;
    };
    for (mode, transports) in MODES {
        let (tx, rx) = mpsc::channel();
        let client = builder(transports)
            .on_message(move |_, d| {
                let _ = tx.send(d);
            })
            .connect(server.base_url())
            .unwrap();
        client.send("x").unwrap();
        assert!(rx.recv_timeout(Duration::from_secs(10)).is_ok(), "{mode}");
        assert_eq!(threads_named("eio-client"), 1, "{mode}");
        // The message handler ran on a pool thread, which outlives it.
        assert!(threads_named("eio-handlers") >= 1, "{mode}");
        let clone = client.clone();
        drop(client);
        assert_eq!(threads_named("eio-client"), 1, "{mode}: a clone keeps it");
        assert!(clone.is_connected(), "{mode}");
        drop(clone);
        // The runtime thread is joined by the drop; idle pool threads end
        // right after, a busy one when its handler returns.
        wait_for_no_client_threads(mode);
    }
}

#[test]
fn clients_share_one_runtime_and_a_blocked_handler_holds_only_its_own() {
    let Some((_g, server)) = counting_threads() else {
        return;
    };
    // Client A's handler blocks until the test lets it go.
    let (release, released) = mpsc::channel::<()>();
    let released = Mutex::new(released);
    let (a_tx, a_seen) = mpsc::channel();
    let a = builder(&[TransportKind::WebSocket])
        .on_message(move |_, d| {
            let _ = a_tx.send(d);
            let _ = released.lock().unwrap().recv();
        })
        .connect(server.base_url())
        .unwrap();
    let (b_tx, b_seen) = mpsc::channel();
    let b = builder(&[TransportKind::Polling])
        .on_message(move |_, d| {
            let _ = b_tx.send(d);
        })
        .connect(server.base_url())
        .unwrap();
    assert_eq!(
        threads_named("eio-client"),
        1,
        "one runtime thread for both"
    );
    a.send("a1").unwrap();
    a.send("a2").unwrap();
    assert_eq!(
        a_seen.recv_timeout(Duration::from_secs(10)).unwrap(),
        Data::from("a1")
    );
    // A is stuck in its handler; B's handlers still run, in order.
    for i in 0..5 {
        b.send(format!("b{i}")).unwrap();
    }
    for i in 0..5 {
        assert_eq!(
            b_seen.recv_timeout(Duration::from_secs(10)).unwrap(),
            Data::from(format!("b{i}"))
        );
    }
    assert!(
        a_seen.recv_timeout(Duration::from_millis(200)).is_err(),
        "A's second message waits for its first handler"
    );
    release.send(()).unwrap();
    assert_eq!(
        a_seen.recv_timeout(Duration::from_secs(10)).unwrap(),
        Data::from("a2")
    );
    release.send(()).unwrap();
    drop(a);
    assert!(b.is_connected(), "dropping A leaves B connected");
    b.send("b5").unwrap();
    assert_eq!(
        b_seen.recv_timeout(Duration::from_secs(10)).unwrap(),
        Data::from("b5")
    );
    drop(b);
    wait_for_no_client_threads("after both");
    // A new client starts a new runtime.
    let c = builder(&[TransportKind::WebSocket])
        .connect(server.base_url())
        .unwrap();
    assert_eq!(threads_named("eio-client"), 1);
    c.disconnect();
}

#[test]
fn the_last_client_may_be_dropped_inside_its_own_handler() {
    let Some((_g, server)) = counting_threads() else {
        return;
    };
    let slot: Arc<Mutex<Option<Client>>> = Arc::default();
    let (tx, rx) = mpsc::channel();
    let taken = slot.clone();
    let client = builder(&[TransportKind::WebSocket])
        .on_message(move |_, _| {
            // The handler's own handle goes when it returns: the last one.
            drop(taken.lock().unwrap().take());
            let _ = tx.send(());
        })
        .connect(server.base_url())
        .unwrap();
    let mut held = slot.lock().unwrap();
    // The handler waits for the lock, so it finds the handle in the slot.
    held.insert(client).send("x").unwrap();
    drop(held);
    rx.recv_timeout(Duration::from_secs(10)).unwrap();
    // Dropping the runtime from one of its own pool threads must not wait
    // for that thread.
    wait_for_no_client_threads("after the handler dropped the last handle");
}

/// Run as a child process by `ctrl_c_disconnects_cleanly_and_never_hangs`.
#[test]
#[ignore = "a child process of ctrl_c_disconnects_cleanly_and_never_hangs"]
fn ctrl_c_child() {
    let Ok(url) = std::env::var("EIO_CTRL_C_URL") else {
        return;
    };
    // `handle_sigint` is on by default.
    let client = Client::builder()
        .transports([TransportKind::WebSocket])
        .connect(url)
        .unwrap();
    println!("CONNECTED");
    let reason = client.wait();
    // May or may not be printed: SIGINT ends the process right after the
    // disconnect, as python-engineio's KeyboardInterrupt follows its own.
    println!("REASON {reason}");
    std::thread::sleep(Duration::from_secs(30));
    println!("STILL ALIVE");
}

/// One Ctrl-C disconnects the client, then ends the process as SIGINT does
/// (python-engineio: disconnect, then the previous handler). The library
/// calls no `exit`: the status is "killed by SIGINT", not an exit code.
#[cfg(unix)]
#[test]
fn ctrl_c_disconnects_cleanly_and_never_hangs() {
    use std::os::unix::process::ExitStatusExt as _;

    let _g = THREADS.read();
    let server = common::node_server(json!({}));
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "ctrl_c_child", "--ignored", "--nocapture"])
        .env("EIO_CTRL_C_URL", server.base_url())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    loop {
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(l) if l.starts_with("CONNECTED") => break,
            Ok(_) => {}
            Err(e) => panic!("no CONNECTED line from the child: {e}"),
        }
    }
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -INT");
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("Ctrl-C did not end the child");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.signal(), Some(2), "{status:?}");
    // The rest of its output, up to EOF.
    let lines: Vec<String> = rx.iter().collect();
    assert!(!lines.iter().any(|l| l == "STILL ALIVE"), "{lines:?}");
    for l in &lines {
        if let Some(reason) = l.strip_prefix("REASON ") {
            assert_eq!(reason, "client disconnect");
        }
    }
}
