//! The blocking client (`socketio::blocking::Client`) against the real
//! peers: the scenarios of `client_peers.rs` (the async client's), against
//! Node socket.io 4.8 and python-socketio 5 with both parsers, over each
//! transport setting. Plain `#[test]`s: the client runs its own runtime.
//!
//! Every case checks both ends: what the client's handlers saw (a [`Rec`])
//! and what the server logged (`interop/README.md`).

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{binary_json, SioPeerKind, SioServer, SioServerOpts};
use serde_json::{json, Value as Json};
use socketio::blocking::{Client, ClientBuilder};
use socketio::{Args, ConnectOptions, DisconnectReason, Error, Serializer, TransportKind, Value};

const T: Duration = Duration::from_secs(10);

const TRANSPORTS: [&[TransportKind]; 3] = [
    &[TransportKind::Polling],
    &[TransportKind::WebSocket],
    &[TransportKind::Polling, TransportKind::WebSocket],
];

/// Every server: (kind, msgpack).
fn servers() -> Vec<(SioPeerKind, bool)> {
    SioPeerKind::ALL
        .iter()
        .flat_map(|k| [(*k, false), (*k, true)])
        .collect()
}

fn start(kind: SioPeerKind, msgpack: bool) -> SioServer {
    SioServer::start(
        kind,
        SioServerOpts {
            parser_msgpack: msgpack,
            ..Default::default()
        },
    )
}

fn serializer(msgpack: bool) -> Serializer {
    if msgpack {
        Serializer::MsgPack
    } else {
        Serializer::Default
    }
}

/// Runs `case` once per server (kind × parser, one process each) and
/// transport setting, with a label for messages.
fn every_server_and_transport(
    mut case: impl FnMut(&mut SioServer, Serializer, &[TransportKind], &str),
) {
    for (kind, msgpack) in servers() {
        let mut server = start(kind, msgpack);
        for transports in TRANSPORTS {
            let what = format!("{kind} msgpack={msgpack} {transports:?}");
            case(&mut server, serializer(msgpack), transports, &what);
        }
    }
}

fn on(server: &SioServer, transports: &[TransportKind]) -> ConnectOptions {
    ConnectOptions::new(server.url()).transports(transports.iter().copied())
}

/// A client without handlers.
fn plain(serializer: Serializer) -> ClientBuilder {
    Client::builder()
        .serializer(serializer)
        .handle_sigint(false)
}

/// What the client's handlers saw, as JSON lines like `eio sio` prints;
/// filled on the handler thread, waited for with a condition variable.
#[derive(Clone, Default)]
struct Rec(Arc<(Mutex<Vec<Json>>, Condvar)>);

impl Rec {
    fn push(&self, v: Json) {
        self.0 .0.lock().unwrap().push(v);
        self.0 .1.notify_all();
    }

    fn lines(&self) -> Vec<Json> {
        self.0 .0.lock().unwrap().clone()
    }

    /// Waits for the `n`-th (from 0) line matching `pred`.
    fn nth(&self, n: usize, timeout: Duration, pred: impl Fn(&Json) -> bool) -> Json {
        let deadline = Instant::now() + timeout;
        let mut lines = self.0 .0.lock().unwrap();
        loop {
            if let Some(v) = lines.iter().filter(|v| pred(v)).nth(n) {
                return v.clone();
            }
            let now = Instant::now();
            if now >= deadline {
                let seen: Vec<String> = lines.iter().map(Json::to_string).collect();
                drop(lines);
                panic!(
                    "no matching client event within {timeout:?}; seen:\n  {}",
                    seen.join("\n  ")
                );
            }
            lines = self.0 .1.wait_timeout(lines, deadline - now).unwrap().0;
        }
    }

    fn wait(&self, timeout: Duration, pred: impl Fn(&Json) -> bool) -> Json {
        self.nth(0, timeout, pred)
    }

    fn count(&self, pred: impl Fn(&Json) -> bool) -> usize {
        self.lines().iter().filter(|v| pred(v)).count()
    }
}

fn ev(kind: &str) -> impl Fn(&Json) -> bool + '_ {
    move |v| v["event"] == kind
}

fn json_args(args: &[Value]) -> Json {
    Json::Array(args.iter().map(Value::to_json).collect())
}

/// A builder whose catch-all handlers record everything (events are acked
/// with their own arguments).
fn recording(serializer: Serializer) -> (ClientBuilder, Rec) {
    let rec = Rec::default();
    let r = || rec.clone();
    let (a, b, c, d, e, f) = (r(), r(), r(), r(), r(), r());
    let builder = plain(serializer)
        .on_connect("*", move |c, ns| {
            a.push(json!({"event": "connect", "namespace": ns, "sid": c.get_sid(ns)}))
        })
        .on_connect_error("*", move |_c, ns, data| {
            b.push(json!({"event": "connect_error", "namespace": ns, "data": data.to_json()}))
        })
        .on_disconnect("*", move |_c, ns, r| {
            c.push(json!({"event": "disconnect", "namespace": ns, "reason": r.as_str()}))
        })
        .on_ns("*", "*", move |_c, e| {
            d.push(json!({"event": "event", "namespace": e.namespace, "name": e.name, "args": json_args(&e.args)}));
            Args(e.args)
        })
        .on_reconnect_attempt(move |_c, n| e.push(json!({"event": "reconnect_attempt", "attempt": n})))
        .on_reconnect_failed(move |_c| f.push(json!({"event": "reconnect_failed"})));
    (builder, rec)
}

#[test]
fn namespaces_auth_sids_and_every_transport() {
    every_server_and_transport(|server, ser, transports, what| {
        let (builder, rec) = recording(ser);
        let client = builder.build();
        client
            .connect_with(
                on(server, transports)
                    .auth(json!({"token": "secret"}))
                    .namespaces(["/", "/admin", "/dyn-a"])
                    .wait_timeout(T),
            )
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(client.namespaces(), vec!["/", "/admin", "/dyn-a"], "{what}");
        let mut sids = Vec::new();
        for ns in ["/", "/admin", "/dyn-a"] {
            let sid = client
                .get_sid(ns)
                .unwrap_or_else(|| panic!("{what}: no sid for {ns}"));
            let seen = server.wait_log(T, |v| v["ev"] == "connection" && v["sid"] == sid.as_str());
            assert_eq!(seen["nsp"], ns, "{what}");
            assert_eq!(seen["auth"], json!({"token": "secret"}), "{what}");
            let welcome = rec.wait(T, |v| v["name"] == "welcome" && v["namespace"] == ns);
            assert_eq!(welcome["args"][0]["sid"], sid.as_str(), "{what}");
            let connect = rec.wait(T, |v| v["event"] == "connect" && v["namespace"] == ns);
            assert_eq!(connect["sid"], sid.as_str(), "{what}");
            sids.push(sid);
        }
        sids.sort();
        sids.dedup();
        assert_eq!(sids.len(), 3, "{what}: sids differ per namespace");
        // An emit on each transport reaches the server and comes back.
        client.of("/dyn-a").emit("echo", "hi").unwrap();
        let back = rec.wait(T, |v| v["name"] == "echo" && v["namespace"] == "/dyn-a");
        assert_eq!(back["args"], json!(["hi"]), "{what}");
        if transports.len() == 1 {
            assert_eq!(client.transport(), Some(transports[0]), "{what}");
        }
        client.disconnect();
        assert!(!client.connected(), "{what}");
    });
}

#[test]
fn refused_namespaces_fail_connect_with_the_servers_data() {
    for (kind, msgpack) in servers() {
        let server = start(kind, msgpack);
        let what = format!("{kind} msgpack={msgpack}");
        // Auth refused, with data.
        let (builder, rec) = recording(serializer(msgpack));
        let client = builder.build();
        let err = client
            .connect_with(ConnectOptions::new(server.url()).namespaces(["/admin"]))
            .expect_err("refused namespace connected");
        let Error::ConnectRefused { namespace, data } = err else {
            panic!("{what}: {err:?}")
        };
        assert_eq!(namespace, "/admin", "{what}");
        assert_eq!(
            data.to_json(),
            json!({"message": "not authorized", "data": {"reason": "bad token"}}),
            "{what}"
        );
        let seen = rec.wait(T, |v| {
            v["event"] == "connect_error" && v["namespace"] == "/admin"
        });
        assert_eq!(seen["data"], data.to_json(), "{what}");
        assert!(!client.connected(), "{what}");
        // A wrong token is refused too; the right one is accepted.
        let client = plain(serializer(msgpack)).build();
        let err = client
            .connect_with(
                ConnectOptions::new(server.url())
                    .namespaces(["/admin"])
                    .auth(json!({"token": "wrong"})),
            )
            .expect_err("wrong token accepted");
        assert!(
            matches!(err, Error::ConnectRefused { .. }),
            "{what}: {err:?}"
        );
        client
            .connect_with(
                ConnectOptions::new(server.url())
                    .namespaces(["/admin"])
                    .auth(json!({"token": "secret"})),
            )
            .unwrap_or_else(|e| panic!("{what}: the same client cannot connect again: {e}"));
        client.disconnect();
        // An unknown namespace; the namespace that was accepted meanwhile is
        // disconnected again.
        let client = plain(serializer(msgpack)).build();
        let err = client
            .connect_with(ConnectOptions::new(server.url()).namespaces(["/", "/nope"]))
            .expect_err("unknown namespace connected");
        let Error::ConnectRefused { namespace, data } = err else {
            panic!("{what}: {err:?}")
        };
        assert_eq!(namespace, "/nope", "{what}");
        let expected = match kind {
            SioPeerKind::Node => json!({"message": "Invalid namespace"}),
            SioPeerKind::Python => json!("Unable to connect"),
        };
        assert_eq!(data.to_json(), expected, "{what}");
        assert!(!client.connected(), "{what}");
        assert!(client.wait_timeout(T), "{what}: still running");
    }
}

#[test]
fn acks_both_ways_with_nested_binary() {
    every_server_and_transport(|server, ser, transports, what| {
        let (builder, rec) = recording(ser);
        // The server's `ask` sends `q` with an ack request: this handler's
        // return value is the answer.
        let client = builder
            .on("q", |_c, e| {
                let mut reply = e.args;
                reply.push(Value::Binary(Bytes::from_static(b"\x00\x01reply")));
                Args(reply)
            })
            .build();
        client.connect_with(on(server, transports)).unwrap();
        let nested = json!({"a": [1, {"bin": {"$binary": "00ff10"}}], "s": "x"});
        // call(): the server acks with the same arguments.
        let reply = client
            .call_timeout(
                "echo",
                (
                    Value::from_json_with_binary(nested.clone()),
                    Bytes::from_static(b"\xde\xad"),
                ),
                T,
            )
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(
            json_args(&reply),
            json!([nested, {"$binary": "dead"}]),
            "{what}"
        );
        assert!(
            matches!(reply[1], Value::Binary(_)),
            "{what}: binary stays binary"
        );
        // The server saw real binary, not a JSON rendering of it.
        let seen = server.wait_log(T, |v| {
            v["ev"] == "event" && v["name"] == "echo" && v["args"][0]["s"] == "x"
        });
        assert_eq!(
            seen["args"][0]["a"][1]["bin"],
            binary_json(b"\x00\xff\x10"),
            "{what}"
        );
        assert_eq!(seen["args"][1], binary_json(b"\xde\xad"), "{what}");
        // emit_with_ack: the callback runs (on the handler thread) with the
        // server's answer.
        let (tx, rx) = std::sync::mpsc::channel();
        client
            .emit_with_ack("echo", ("cb", 7), move |args| {
                let _ = tx.send((args, std::thread::current().name().map(str::to_owned)));
            })
            .unwrap();
        let (args, thread) = rx.recv_timeout(T).expect("ack callback");
        assert_eq!(json_args(&args), json!(["cb", 7]), "{what}");
        assert_eq!(thread.as_deref(), Some("sio-handlers"), "{what}");
        // The server asks; our handler's return value is its answer.
        client
            .emit(
                "ask",
                (
                    "q",
                    Bytes::from_static(b"\xab\xcd"),
                    json!({"k": [true, null]}),
                ),
            )
            .unwrap();
        let asked = rec.wait(T, |v| v["name"] == "asked");
        let reply = &asked["args"][0];
        assert_eq!(reply["ok"], true, "{what}: {asked}");
        let want = json!([{"$binary": "abcd"}, {"k": [true, null]}, {"$binary": "00017265706c79"}]);
        assert_eq!(reply["reply"], want, "{what}");
        client.disconnect();
    });
}

#[test]
fn three_hundred_events_arrive_in_order_some_binary() {
    every_server_and_transport(|server, ser, transports, what| {
        let (builder, rec) = recording(ser);
        let client = builder.build();
        client.connect_with(on(server, transports)).unwrap();
        client.emit("burst", (300, 7)).unwrap();
        rec.nth(299, T, |v| v["name"] == "seq");
        let seq: Vec<Json> = rec
            .lines()
            .into_iter()
            .filter(|v| v["name"] == "seq")
            .collect();
        assert_eq!(seq.len(), 300, "{what}");
        for (i, v) in seq.iter().enumerate() {
            let arg = &v["args"][0];
            assert_eq!(arg["i"], i, "{what}: out of order at {i}");
            if i % 7 == 0 {
                let b = [(i & 255) as u8, ((i >> 8) & 255) as u8, 7];
                assert_eq!(arg["bin"], binary_json(&b), "{what}: binary of {i}");
            } else {
                assert!(arg.get("bin").is_none(), "{what}");
            }
        }
        assert!(client.connected(), "{what}: a burst dropped the connection");
        client.disconnect();
    });
}

#[test]
fn payloads_of_several_hundred_kilobytes() {
    const SIZE: usize = 400_000;
    let want: Vec<u8> = (0..SIZE).map(|k| (k & 255) as u8).collect();
    every_server_and_transport(|server, ser, transports, what| {
        let (builder, rec) = recording(ser);
        let client = builder.build();
        client.connect_with(on(server, transports)).unwrap();
        // Server → client: a big string and a big buffer.
        client.emit("big", SIZE).unwrap();
        let big = rec.wait(T, |v| v["name"] == "big");
        assert_eq!(big["args"][0].as_str().map(str::len), Some(SIZE), "{what}");
        assert_eq!(big["args"][1], binary_json(&want), "{what}");
        // Client → server → client: the same through an ack.
        let text = "y".repeat(SIZE);
        let reply = client
            .call_timeout("echo", (text.as_str(), Bytes::from(want.clone())), T)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(reply[0].as_str(), Some(text.as_str()), "{what}");
        assert_eq!(
            reply[1].as_bytes().map(|b| b.to_vec()).as_ref(),
            Some(&want),
            "{what}"
        );
        client.disconnect();
    });
}

#[test]
fn disconnects_reach_the_server_as_namespace_disconnects() {
    every_server_and_transport(|server, ser, transports, what| {
        let (builder, rec) = recording(ser);
        let client = builder.build();
        client
            .connect_with(on(server, transports).namespaces(["/", "/dyn-one", "/dyn-two"]))
            .unwrap();
        let sids: Vec<String> = ["/", "/dyn-one", "/dyn-two"]
            .iter()
            .map(|ns| client.get_sid(ns).unwrap())
            .collect();
        let client_ns = match server.kind() {
            SioPeerKind::Node => "client namespace disconnect",
            SioPeerKind::Python => "client disconnect",
        };
        // One namespace alone; the others stay.
        client.of("/dyn-one").disconnect();
        let seen = server.wait_log(T, |v| {
            v["ev"] == "disconnect" && v["sid"] == sids[1].as_str()
        });
        assert_eq!(seen["reason"], client_ns, "{what}");
        rec.wait(T, |v| {
            v["event"] == "disconnect"
                && v["namespace"] == "/dyn-one"
                && v["reason"] == "client disconnect"
        });
        assert_eq!(client.namespaces(), vec!["/", "/dyn-two"], "{what}");
        let r = client.of("/dyn-two").call_timeout("echo", "still here", T);
        assert_eq!(json_args(&r.unwrap()), json!(["still here"]), "{what}");
        assert!(
            matches!(
                client.of("/dyn-one").emit("echo", 1),
                Err(Error::BadNamespace(_))
            ),
            "{what}"
        );
        // Then everything: every namespace's DISCONNECT reaches the server
        // before the Engine.IO connection closes.
        client.disconnect();
        for sid in [&sids[0], &sids[2]] {
            let seen = server.wait_log(T, |v| v["ev"] == "disconnect" && v["sid"] == sid.as_str());
            assert_eq!(seen["reason"], client_ns, "{what}: {seen}");
        }
        // `disconnect` returned after the handlers ran: nothing to wait for.
        assert_eq!(
            rec.count(|v| v["event"] == "disconnect" && v["reason"] == "client disconnect"),
            3,
            "{what}"
        );
    });
}

#[test]
fn a_server_kick_does_not_reconnect() {
    for (kind, msgpack) in servers() {
        let server = start(kind, msgpack);
        let what = format!("{kind} msgpack={msgpack}");
        let (builder, rec) = recording(serializer(msgpack));
        let client = builder
            .reconnection_delay(Duration::from_millis(50))
            .build();
        client
            .connect_with(ConnectOptions::new(server.url()).namespaces(["/", "/dyn-k"]))
            .unwrap();
        // Kick one namespace: the other stays, nothing reconnects.
        client.of("/dyn-k").emit("kick", ()).unwrap();
        rec.wait(T, |v| {
            v["event"] == "disconnect"
                && v["namespace"] == "/dyn-k"
                && v["reason"] == "server disconnect"
        });
        assert_eq!(client.namespaces(), vec!["/"], "{what}");
        // Kick the last one: the client stops, with no reconnection.
        client.emit("kick", ()).unwrap();
        assert!(client.wait_timeout(T), "{what}: client still running");
        rec.wait(T, |v| {
            v["namespace"] == "/" && v["reason"] == "server disconnect"
        });
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(rec.count(ev("reconnect_attempt")), 0, "{what}");
        let connections = server
            .logs()
            .iter()
            .filter(|v| v["ev"] == "connection")
            .count();
        assert_eq!(connections, 2, "{what}: something reconnected");
    }
}

#[test]
fn reconnects_after_a_server_restart_with_every_namespace_and_fresh_auth() {
    for (kind, msgpack) in servers() {
        let mut server = start(kind, msgpack);
        let what = format!("{kind} msgpack={msgpack}");
        let (builder, rec) = recording(serializer(msgpack));
        let client = builder
            .reconnection_delay(Duration::from_millis(100))
            .reconnection_delay_max(Duration::from_millis(400))
            .randomization_factor(0.0)
            .build();
        let n = Arc::new(AtomicU32::new(0));
        let counter = n.clone();
        client
            .connect_with(
                ConnectOptions::new(server.url())
                    .namespaces(["/", "/admin", "/dyn-r"])
                    .auth_fn(move || {
                        let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                        Value::from_json_with_binary(json!({"token": "secret", "n": n}))
                    }),
            )
            .unwrap();
        let first: Vec<String> = ["/", "/admin", "/dyn-r"]
            .iter()
            .map(|ns| client.get_sid(ns).unwrap())
            .collect();
        server.kill();
        for ns in ["/", "/admin", "/dyn-r"] {
            let d = rec.wait(T, |v| v["event"] == "disconnect" && v["namespace"] == ns);
            let reason = d["reason"].as_str().unwrap();
            assert!(
                reason == "transport close" || reason == "transport error",
                "{what}: {d}"
            );
        }
        // A few attempts fail while the server is down.
        rec.nth(1, T, ev("reconnect_attempt"));
        server.restart();
        for (ns, old) in ["/", "/admin", "/dyn-r"].into_iter().zip(&first) {
            rec.nth(1, T, |v| v["event"] == "connect" && v["namespace"] == ns);
            let seen = server.wait_log(T, |v| {
                v["ev"] == "connection" && v["nsp"] == ns && v["auth"]["n"].as_u64() > Some(1)
            });
            assert_eq!(seen["auth"]["token"], "secret", "{what}");
            assert_ne!(seen["sid"], old.as_str(), "{what}: a new session");
        }
        // Connection errors of the failed attempts were reported.
        assert!(rec.count(ev("connect_error")) >= 3, "{what}");
        // The attempts counted up from 1.
        let attempts: Vec<u64> = rec
            .lines()
            .iter()
            .filter(|v| v["event"] == "reconnect_attempt")
            .map(|v| v["attempt"].as_u64().unwrap())
            .collect();
        assert_eq!(attempts[0], 1, "{what}");
        assert!(
            attempts.windows(2).all(|w| w[1] == w[0] + 1),
            "{what}: {attempts:?}"
        );
        assert_eq!(client.namespaces().len(), 3, "{what}");
        let r = client.of("/admin").call_timeout("echo", "back", T).unwrap();
        assert_eq!(json_args(&r), json!(["back"]), "{what}");
        client.disconnect();
    }
}

#[test]
fn no_reconnection_when_it_is_off_and_exhausted_attempts_stop() {
    for kind in SioPeerKind::ALL {
        let mut server = start(kind, false);
        let (builder, rec) = recording(Serializer::Default);
        let client = builder.reconnection(false).build();
        client.connect(server.url()).unwrap();
        server.kill();
        assert!(client.wait_timeout(T), "{kind}: still running");
        rec.wait(T, ev("disconnect"));
        assert_eq!(rec.count(ev("reconnect_attempt")), 0, "{kind}");
        // Attempts exhausted: reported, then the client stops.
        server.restart();
        let (builder, rec) = recording(Serializer::Default);
        let client = builder
            .reconnection_attempts(2)
            .reconnection_delay(Duration::from_millis(50))
            .randomization_factor(0.0)
            .build();
        client.connect(server.url()).unwrap();
        server.kill();
        assert!(client.wait_timeout(T), "{kind}: still running");
        // `wait` returned after the handlers ran.
        assert_eq!(rec.count(ev("reconnect_attempt")), 2, "{kind}");
        assert_eq!(rec.count(ev("reconnect_failed")), 1, "{kind}");
        assert!(!client.connected(), "{kind}");
    }
}

#[test]
fn a_silent_server_is_a_ping_timeout_then_the_client_reconnects() {
    for kind in SioPeerKind::ALL {
        // python-socketio advertises whole seconds only.
        let (interval, timeout) = match kind {
            SioPeerKind::Node => (300, 200),
            SioPeerKind::Python => (1000, 1000),
        };
        let server = SioServer::start(
            kind,
            SioServerOpts {
                ping_interval_ms: Some(interval),
                ping_timeout_ms: Some(timeout),
                ..Default::default()
            },
        );
        let (builder, rec) = recording(Serializer::Default);
        let client = builder
            .reconnection_delay(Duration::from_millis(100))
            .randomization_factor(0.0)
            .build();
        client.connect(server.url()).unwrap();
        server.pause();
        let d = rec.wait(T, ev("disconnect"));
        assert_eq!(
            d["reason"],
            DisconnectReason::PingTimeout.as_str(),
            "{kind}: {d}"
        );
        server.resume();
        rec.nth(1, T, ev("connect"));
        assert!(client.connected(), "{kind}");
        client.disconnect();
    }
}

#[test]
fn emitting_to_an_unconnected_namespace_is_an_error_and_nothing_is_buffered() {
    let server = start(SioPeerKind::Node, false);
    let client = plain(Serializer::Default).build();
    assert!(matches!(client.emit("echo", 1), Err(Error::BadNamespace(ns)) if ns == "/"));
    client.connect(server.url()).unwrap();
    assert!(matches!(
        client.of("/other").emit("echo", 1),
        Err(Error::BadNamespace(ns)) if ns == "/other"
    ));
    assert!(matches!(
        client.connect(server.url()),
        Err(Error::AlreadyConnected)
    ));
    client.disconnect();
    assert!(matches!(
        client.emit("echo", 1),
        Err(Error::BadNamespace(_))
    ));
}

#[test]
fn socketio_path_with_or_without_slashes_and_a_failed_first_connection() {
    let server = SioServer::start(
        SioPeerKind::Node,
        SioServerOpts {
            path: Some("/custom/".into()),
            ..Default::default()
        },
    );
    for path in ["custom", "/custom", "/custom/", "custom/"] {
        let client = plain(Serializer::Default).build();
        client
            .connect_with(ConnectOptions::new(server.url()).socketio_path(path))
            .unwrap_or_else(|e| panic!("path {path:?}: {e}"));
        client.disconnect();
    }
    // Nothing listens: the first connection fails at once, without retry.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = plain(Serializer::Default).build();
    let err = client
        .connect(format!("http://127.0.0.1:{port}"))
        .expect_err("connected to nothing");
    assert!(matches!(err, Error::Engine(_)), "{err:?}");
    // With retry it goes through the reconnection loop and gives up.
    let client = plain(Serializer::Default)
        .reconnection_attempts(2)
        .reconnection_delay(Duration::from_millis(20))
        .build();
    let err = client
        .connect_with(ConnectOptions::new(format!("http://127.0.0.1:{port}")).retry(true))
        .expect_err("connected to nothing");
    assert!(matches!(err, Error::AttemptsExhausted), "{err:?}");
}

/// From inside handlers: `call` while the server waits for this handler's
/// ack, and `disconnect`, which must return (it cannot wait for the handler
/// that calls it).
#[test]
fn call_and_disconnect_from_inside_handlers() {
    let server = start(SioPeerKind::Node, false);
    let (builder, rec) = recording(Serializer::Default);
    let (r1, r2) = (rec.clone(), rec.clone());
    let client = builder
        .on("question", move |c, _e| {
            let r = c.call_timeout("echo", "nested", T);
            let got = r
                .map(|a| json_args(&a))
                .unwrap_or_else(|e| json!(e.to_string()));
            r1.push(json!({"event": "called", "got": got}));
            "answer"
        })
        .on("bye", move |c, _e| {
            c.disconnect();
            r2.push(json!({"event": "disconnect returned", "connected": c.connected()}));
        })
        .build();
    client.connect(server.url()).unwrap();
    client.emit("ask", ("question",)).unwrap();
    assert_eq!(rec.wait(T, ev("called"))["got"], json!(["nested"]));
    let asked = rec.wait(T, |v| v["name"] == "asked");
    assert_eq!(asked["args"][0], json!({"ok": true, "reply": ["answer"]}));
    client.emit("echo", ()).unwrap();
    client.emit("ask", ("bye",)).unwrap();
    let back = rec.wait(T, ev("disconnect returned"));
    assert_eq!(back["connected"], false, "{back}");
    assert!(client.wait_timeout(T), "client still running");
    assert!(!client.connected());
    rec.wait(T, |v| {
        v["event"] == "disconnect" && v["reason"] == "client disconnect"
    });
}
