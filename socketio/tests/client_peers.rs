//! The async client against the real peers: Node socket.io 4.8 (default
//! parser and socket.io-msgpack-parser) and python-socketio 5 (default and
//! msgpack serializers), over each transport setting.
//!
//! Every case runs against every server; the servers log what they see
//! (`interop/README.md`), so each case checks both ends.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{binary_json, SioPeerKind, SioServer, SioServerOpts};
use serde_json::{json, Value as Json};
use socketio::{
    Args, AsyncClient, ClientBuilder, ConnectOptions, DisconnectReason, Error, Serializer,
    TransportKind, Value,
};

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

/// What the client's handlers saw, as JSON lines like `eio sio` prints.
#[derive(Clone, Default)]
struct Rec(Arc<Mutex<Vec<Json>>>);

impl Rec {
    fn push(&self, v: Json) {
        self.0.lock().unwrap().push(v);
    }

    fn lines(&self) -> Vec<Json> {
        self.0.lock().unwrap().clone()
    }

    /// Waits for the `n`-th (from 0) line matching `pred`.
    async fn nth(&self, n: usize, timeout: Duration, pred: impl Fn(&Json) -> bool) -> Json {
        let start = Instant::now();
        loop {
            if let Some(v) = self.lines().into_iter().filter(|v| pred(v)).nth(n) {
                return v;
            }
            assert!(
                start.elapsed() < timeout,
                "no matching client event within {timeout:?}; seen:\n  {}",
                self.lines()
                    .iter()
                    .map(Json::to_string)
                    .collect::<Vec<_>>()
                    .join("\n  ")
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn wait(&self, timeout: Duration, pred: impl Fn(&Json) -> bool) -> Json {
        self.nth(0, timeout, pred).await
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

/// A builder whose catch-all handlers record everything.
fn recording(serializer: Serializer) -> (ClientBuilder, Rec) {
    let rec = Rec::default();
    let (a, b, c, d, e, f) = (
        rec.clone(),
        rec.clone(),
        rec.clone(),
        rec.clone(),
        rec.clone(),
        rec.clone(),
    );
    let builder = AsyncClient::builder()
        .serializer(serializer)
        .handle_sigint(false)
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

fn serializer(msgpack: bool) -> Serializer {
    if msgpack {
        Serializer::MsgPack
    } else {
        Serializer::Default
    }
}

/// Blocks on the server's log without stalling the client's tasks.
fn block<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_auth_sids_and_every_transport() {
    for (kind, msgpack) in servers() {
        let mut server = start(kind, msgpack);
        for transports in TRANSPORTS {
            let what = format!("{kind} msgpack={msgpack} {transports:?}");
            let (builder, rec) = recording(serializer(msgpack));
            let client = builder.build();
            client
                .connect_with(
                    ConnectOptions::new(server.url())
                        .transports(transports.iter().copied())
                        .auth(json!({"token": "secret"}))
                        .namespaces(["/", "/admin", "/dyn-a"])
                        .wait_timeout(T),
                )
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(client.namespaces().len(), 3, "{what}");
            let engine_sid = client.engine().unwrap().sid().to_string();
            let mut sids = Vec::new();
            for ns in ["/", "/admin", "/dyn-a"] {
                let sid = client
                    .get_sid(ns)
                    .unwrap_or_else(|| panic!("{what}: no sid for {ns}"));
                assert_ne!(
                    sid, engine_sid,
                    "{what}: the namespace sid is not the engine's"
                );
                let seen = block(|| {
                    server.wait_log(T, |v| v["ev"] == "connection" && v["sid"] == sid.as_str())
                });
                assert_eq!(seen["nsp"], ns, "{what}");
                assert_eq!(seen["auth"], json!({"token": "secret"}), "{what}");
                let welcome = rec
                    .wait(T, |v| v["name"] == "welcome" && v["namespace"] == ns)
                    .await;
                assert_eq!(welcome["args"][0]["sid"], sid.as_str(), "{what}");
                sids.push(sid);
            }
            sids.sort();
            sids.dedup();
            assert_eq!(sids.len(), 3, "{what}: sids differ per namespace");
            // An emit on each transport reaches the server and comes back.
            client.of("/dyn-a").emit("echo", "hi").unwrap();
            let back = rec
                .wait(T, |v| v["name"] == "echo" && v["namespace"] == "/dyn-a")
                .await;
            assert_eq!(back["args"], json!(["hi"]), "{what}");
            if transports.len() == 1 {
                assert_eq!(client.transport(), Some(transports[0]), "{what}");
            }
            client.disconnect().await;
            assert!(!client.connected());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_namespaces_fail_connect_with_the_servers_data() {
    for (kind, msgpack) in servers() {
        let server = start(kind, msgpack);
        let what = format!("{kind} msgpack={msgpack}");
        // Auth refused, with data.
        let (builder, rec) = recording(serializer(msgpack));
        let client = builder.build();
        let err = client
            .connect_with(ConnectOptions::new(server.url()).namespaces(["/admin"]))
            .await
            .expect_err("refused namespace connected");
        match err {
            Error::ConnectRefused { namespace, data } => {
                assert_eq!(namespace, "/admin", "{what}");
                assert_eq!(
                    data.to_json(),
                    json!({"message": "not authorized", "data": {"reason": "bad token"}}),
                    "{what}"
                );
            }
            other => panic!("{what}: {other:?}"),
        }
        rec.wait(T, |v| {
            v["event"] == "connect_error" && v["namespace"] == "/admin"
        })
        .await;
        assert!(!client.connected());
        // A wrong token is refused too; the right one is accepted.
        let client = AsyncClient::builder()
            .serializer(serializer(msgpack))
            .handle_sigint(false)
            .build();
        let err = client
            .connect_with(
                ConnectOptions::new(server.url())
                    .namespaces(["/admin"])
                    .auth(json!({"token": "wrong"})),
            )
            .await
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
            .await
            .unwrap_or_else(|e| panic!("{what}: the same client cannot connect again: {e}"));
        client.disconnect().await;
        // An unknown namespace; the namespace that was accepted meanwhile is
        // disconnected again.
        let client = AsyncClient::builder()
            .serializer(serializer(msgpack))
            .handle_sigint(false)
            .build();
        let err = client
            .connect_with(ConnectOptions::new(server.url()).namespaces(["/", "/nope"]))
            .await
            .expect_err("unknown namespace connected");
        let Error::ConnectRefused { namespace, data } = err else {
            panic!("{what}: {err:?}")
        };
        assert_eq!(namespace, "/nope");
        let expected = match kind {
            SioPeerKind::Node => json!({"message": "Invalid namespace"}),
            SioPeerKind::Python => json!("Unable to connect"),
        };
        assert_eq!(data.to_json(), expected, "{what}");
        assert!(!client.connected(), "{what}");
        client.wait().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_both_ways_with_nested_binary() {
    for (kind, msgpack) in servers() {
        let mut server = start(kind, msgpack);
        for transports in TRANSPORTS {
            let what = format!("{kind} msgpack={msgpack} {transports:?}");
            let (builder, rec) = recording(serializer(msgpack));
            // The server's `ask` sends `q` with an ack request: this
            // handler's return value is the answer.
            let client = builder
                .on("q", |_c, e| {
                    let mut reply = e.args;
                    reply.push(Value::Binary(Bytes::from_static(b"\x00\x01reply")));
                    Args(reply)
                })
                .build();
            client
                .connect_with(
                    ConnectOptions::new(server.url()).transports(transports.iter().copied()),
                )
                .await
                .unwrap();
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
                .await
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
            let seen = block(|| {
                server.wait_log(T, |v| {
                    v["ev"] == "event" && v["name"] == "echo" && v["args"][0]["s"] == "x"
                })
            });
            assert_eq!(seen["args"][1], binary_json(b"\xde\xad"), "{what}");
            // emit_with_ack: the callback runs with the server's answer.
            let (tx, rx) = tokio::sync::oneshot::channel();
            client
                .emit_with_ack("echo", ("cb", 7), move |args| {
                    let _ = tx.send(args);
                })
                .unwrap();
            let args = tokio::time::timeout(T, rx).await.unwrap().unwrap();
            assert_eq!(json_args(&args), json!(["cb", 7]), "{what}");
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
            let asked = rec.wait(T, |v| v["name"] == "asked").await;
            let reply = &asked["args"][0];
            assert_eq!(reply["ok"], true, "{what}: {asked}");
            let want =
                json!([{"$binary": "abcd"}, {"k": [true, null]}, {"$binary": "00017265706c79"}]);
            assert_eq!(reply["reply"], want, "{what}");
            client.disconnect().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_events_arrive_in_order_some_binary() {
    for (kind, msgpack) in servers() {
        let server = start(kind, msgpack);
        for transports in TRANSPORTS {
            let what = format!("{kind} msgpack={msgpack} {transports:?}");
            let (builder, rec) = recording(serializer(msgpack));
            let client = builder.build();
            client
                .connect_with(
                    ConnectOptions::new(server.url()).transports(transports.iter().copied()),
                )
                .await
                .unwrap();
            client.emit("burst", (300, 7)).unwrap();
            rec.nth(299, T, |v| v["name"] == "seq").await;
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
            client.disconnect().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payloads_of_several_hundred_kilobytes() {
    const SIZE: usize = 400_000;
    for (kind, msgpack) in servers() {
        let server = start(kind, msgpack);
        for transports in TRANSPORTS {
            let what = format!("{kind} msgpack={msgpack} {transports:?}");
            let (builder, rec) = recording(serializer(msgpack));
            let client = builder.build();
            client
                .connect_with(
                    ConnectOptions::new(server.url()).transports(transports.iter().copied()),
                )
                .await
                .unwrap();
            // Server → client: a big string and a big buffer.
            client.emit("big", SIZE).unwrap();
            let big = rec.wait(T, |v| v["name"] == "big").await;
            assert_eq!(big["args"][0].as_str().map(str::len), Some(SIZE), "{what}");
            let want: Vec<u8> = (0..SIZE).map(|k| (k & 255) as u8).collect();
            assert_eq!(big["args"][1], binary_json(&want), "{what}");
            // Client → server → client: the same through an ack.
            let text = "y".repeat(SIZE);
            let reply = client
                .call_timeout("echo", (text.as_str(), Bytes::from(want.clone())), T)
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(reply[0].as_str(), Some(text.as_str()), "{what}");
            assert_eq!(
                reply[1].as_bytes().map(|b| b.to_vec()),
                Some(want),
                "{what}"
            );
            client.disconnect().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnects_reach_the_server_as_namespace_disconnects() {
    for (kind, msgpack) in servers() {
        let mut server = start(kind, msgpack);
        for transports in TRANSPORTS {
            let what = format!("{kind} msgpack={msgpack} {transports:?}");
            let (builder, rec) = recording(serializer(msgpack));
            let client = builder.build();
            client
                .connect_with(
                    ConnectOptions::new(server.url())
                        .transports(transports.iter().copied())
                        .namespaces(["/", "/dyn-one", "/dyn-two"]),
                )
                .await
                .unwrap();
            let sids: Vec<String> = ["/", "/dyn-one", "/dyn-two"]
                .iter()
                .map(|ns| client.get_sid(ns).unwrap())
                .collect();
            // One namespace alone; the others stay.
            client.of("/dyn-one").disconnect().await;
            let seen = block(|| {
                server.wait_log(T, |v| {
                    v["ev"] == "disconnect" && v["sid"] == sids[1].as_str()
                })
            });
            let client_ns = match kind {
                SioPeerKind::Node => "client namespace disconnect",
                SioPeerKind::Python => "client disconnect",
            };
            assert_eq!(seen["reason"], client_ns, "{what}");
            rec.wait(T, |v| {
                v["event"] == "disconnect"
                    && v["namespace"] == "/dyn-one"
                    && v["reason"] == "client disconnect"
            })
            .await;
            assert_eq!(client.namespaces(), vec!["/", "/dyn-two"], "{what}");
            let r = client
                .of("/dyn-two")
                .call_timeout("echo", "still here", T)
                .await;
            assert_eq!(json_args(&r.unwrap()), json!(["still here"]), "{what}");
            assert!(matches!(
                client.of("/dyn-one").emit("echo", 1),
                Err(Error::BadNamespace(_))
            ));
            // Then everything: every namespace's DISCONNECT reaches the
            // server before the Engine.IO connection closes.
            client.disconnect().await;
            for sid in [&sids[0], &sids[2]] {
                let seen = block(|| {
                    server.wait_log(T, |v| v["ev"] == "disconnect" && v["sid"] == sid.as_str())
                });
                assert_eq!(seen["reason"], client_ns, "{what}: {seen}");
            }
            assert_eq!(
                rec.count(|v| v["event"] == "disconnect" && v["reason"] == "client disconnect"),
                3,
                "{what}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_kick_does_not_reconnect() {
    for (kind, msgpack) in servers() {
        let server = start(kind, msgpack);
        let what = format!("{kind} msgpack={msgpack}");
        let (builder, rec) = recording(serializer(msgpack));
        let client = builder
            .reconnection_delay(Duration::from_millis(50))
            .build();
        client
            .connect_with(ConnectOptions::new(server.url()).namespaces(["/", "/dyn-k"]))
            .await
            .unwrap();
        // Kick one namespace: the other stays, nothing reconnects.
        client.of("/dyn-k").emit("kick", ()).unwrap();
        rec.wait(T, |v| {
            v["event"] == "disconnect"
                && v["namespace"] == "/dyn-k"
                && v["reason"] == "server disconnect"
        })
        .await;
        assert_eq!(client.namespaces(), vec!["/"], "{what}");
        // Kick the last one: the client stops, with no reconnection.
        client.emit("kick", ()).unwrap();
        tokio::time::timeout(T, client.wait())
            .await
            .expect("client still running");
        rec.wait(T, |v| {
            v["namespace"] == "/" && v["reason"] == "server disconnect"
        })
        .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(rec.count(ev("reconnect_attempt")), 0, "{what}");
        let connections = block(|| server.logs())
            .iter()
            .filter(|v| v["ev"] == "connection")
            .count();
        assert_eq!(connections, 2, "{what}: something reconnected");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_after_a_server_restart_with_every_namespace_and_fresh_auth() {
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
            .await
            .unwrap();
        block(|| server.kill());
        for ns in ["/", "/admin", "/dyn-r"] {
            let d = rec
                .wait(T, |v| v["event"] == "disconnect" && v["namespace"] == ns)
                .await;
            let reason = d["reason"].as_str().unwrap();
            assert!(
                reason == "transport close" || reason == "transport error",
                "{what}: {d}"
            );
        }
        // A few attempts fail while the server is down.
        rec.nth(1, T, ev("reconnect_attempt")).await;
        block(|| server.restart());
        for ns in ["/", "/admin", "/dyn-r"] {
            rec.nth(1, T, |v| v["event"] == "connect" && v["namespace"] == ns)
                .await;
            let seen = block(|| {
                server.wait_log(T, |v| {
                    v["ev"] == "connection" && v["nsp"] == ns && v["auth"]["n"].as_u64() > Some(1)
                })
            });
            assert_eq!(seen["auth"]["token"], "secret", "{what}");
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
        let r = client
            .of("/admin")
            .call_timeout("echo", "back", T)
            .await
            .unwrap();
        assert_eq!(json_args(&r), json!(["back"]));
        client.disconnect().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_reconnection_when_it_is_off_and_exhausted_attempts_stop() {
    for kind in SioPeerKind::ALL {
        let mut server = start(kind, false);
        let (builder, rec) = recording(Serializer::Default);
        let client = builder.reconnection(false).build();
        client.connect(server.url()).await.unwrap();
        block(|| server.kill());
        tokio::time::timeout(T, client.wait())
            .await
            .expect("still running");
        rec.wait(T, ev("disconnect")).await;
        assert_eq!(rec.count(ev("reconnect_attempt")), 0, "{kind}");
        // Attempts exhausted: reported, then the client stops.
        block(|| server.restart());
        let (builder, rec) = recording(Serializer::Default);
        let client = builder
            .reconnection_attempts(2)
            .reconnection_delay(Duration::from_millis(50))
            .randomization_factor(0.0)
            .build();
        client.connect(server.url()).await.unwrap();
        block(|| server.kill());
        tokio::time::timeout(T, client.wait())
            .await
            .expect("still running");
        assert_eq!(rec.count(ev("reconnect_attempt")), 2, "{kind}");
        assert_eq!(rec.count(ev("reconnect_failed")), 1, "{kind}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_server_is_a_ping_timeout_then_the_client_reconnects() {
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
        client.connect(server.url()).await.unwrap();
        server.pause();
        let d = rec.wait(T, ev("disconnect")).await;
        assert_eq!(
            d["reason"],
            DisconnectReason::PingTimeout.as_str(),
            "{kind}: {d}"
        );
        server.resume();
        rec.nth(1, T, ev("connect")).await;
        assert!(client.connected());
        client.disconnect().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emitting_to_an_unconnected_namespace_is_an_error_and_nothing_is_buffered() {
    let server = start(SioPeerKind::Node, false);
    let client = AsyncClient::builder().handle_sigint(false).build();
    assert!(matches!(client.emit("echo", 1), Err(Error::BadNamespace(ns)) if ns == "/"));
    client.connect(server.url()).await.unwrap();
    assert!(matches!(
        client.of("/other").emit("echo", 1),
        Err(Error::BadNamespace(_))
    ));
    assert!(matches!(
        client.connect(server.url()).await,
        Err(Error::AlreadyConnected)
    ));
    client.disconnect().await;
    assert!(matches!(
        client.emit("echo", 1),
        Err(Error::BadNamespace(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socketio_path_with_or_without_slashes_and_a_failed_first_connection() {
    let server = SioServer::start(
        SioPeerKind::Node,
        SioServerOpts {
            path: Some("/custom/".into()),
            ..Default::default()
        },
    );
    for path in ["custom", "/custom", "/custom/", "custom/"] {
        let client = AsyncClient::builder().handle_sigint(false).build();
        client
            .connect_with(ConnectOptions::new(server.url()).socketio_path(path))
            .await
            .unwrap_or_else(|e| panic!("path {path:?}: {e}"));
        client.disconnect().await;
    }
    // Nothing listens: the first connection fails at once, without retry.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = AsyncClient::builder().handle_sigint(false).build();
    let err = client
        .connect(format!("http://127.0.0.1:{port}"))
        .await
        .expect_err("connected to nothing");
    assert!(matches!(err, Error::Engine(_)), "{err:?}");
    // With retry it goes through the reconnection loop and gives up.
    let client = AsyncClient::builder()
        .handle_sigint(false)
        .reconnection_attempts(2)
        .reconnection_delay(Duration::from_millis(20))
        .build();
    let err = client
        .connect_with(ConnectOptions::new(format!("http://127.0.0.1:{port}")).retry(true))
        .await
        .expect_err("connected to nothing");
    assert!(matches!(err, Error::AttemptsExhausted), "{err:?}");
}

/// From inside handlers: `call` while the server waits for this handler's
/// ack, and `disconnect`, which must return (it cannot wait for the handler
/// that calls it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_and_disconnect_from_inside_handlers() {
    let server = start(SioPeerKind::Node, false);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Json>();
    let tx2 = tx.clone();
    let client = AsyncClient::builder()
        .handle_sigint(false)
        .on_async("question", move |c, _e| {
            let tx = tx.clone();
            async move {
                let r = c.call_timeout("echo", "nested", T).await;
                let _ = tx.send(
                    r.map(|a| json_args(&a))
                        .unwrap_or_else(|e| json!(e.to_string())),
                );
                "answer"
            }
        })
        .on_async("bye", move |c, _e| {
            let tx = tx2.clone();
            async move {
                c.disconnect().await;
                let _ = tx.send(json!("disconnect returned"));
            }
        })
        .build();
    client.connect(server.url()).await.unwrap();
    client.emit("ask", ("question",)).unwrap();
    let got = tokio::time::timeout(T, rx.recv()).await.unwrap().unwrap();
    assert_eq!(got, json!(["nested"]));
    client.emit("echo", ()).unwrap();
    client.emit("ask", ("bye",)).unwrap();
    let got = tokio::time::timeout(T, rx.recv())
        .await
        .expect("disconnect from a handler hangs");
    assert_eq!(got, Some(json!("disconnect returned")));
    tokio::time::timeout(T, client.wait())
        .await
        .expect("client still running");
    assert!(!client.connected());
}
