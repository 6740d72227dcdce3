//! No lost, duplicated or reordered messages: numbered messages both ways
//! across a polling → WebSocket upgrade, everything queued before a
//! server-initiated `disconnect()` delivered before the close, and
//! concurrent senders on several OS threads (each thread's sequence arrives
//! in order), with our own client against our own server.

mod client_util;
mod server_util;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use client_util::{builder, next_event, MODES};
use engineio::client::{Client, ClientEvent};
use engineio::proto::{DisconnectReason, TransportKind};
use engineio::server::{Data, Server, Sid};

/// Texts the server received, per session, in arrival order.
type Inbox = Arc<Mutex<HashMap<Sid, Vec<String>>>>;

/// A server recording every text message it receives.
async fn recording_server(builder: engineio::server::ServerBuilder) -> (Server, String, Inbox) {
    let (eio, inbox) = recording(builder);
    let base = server_util::start(&eio).await;
    (eio, base, inbox)
}

/// A server recording every text message it receives, not serving yet.
fn recording(builder: engineio::server::ServerBuilder) -> (Server, Inbox) {
    let eio = builder.build().unwrap();
    let inbox: Inbox = Arc::default();
    let log = inbox.clone();
    eio.on_message(move |_eio, sid, data| {
        if let Data::Text(t) = data {
            log.lock()
                .unwrap()
                .entry(sid)
                .or_default()
                .push(t.to_string());
        }
    });
    (eio, inbox)
}

fn received(inbox: &Inbox, sid: Sid) -> Vec<String> {
    inbox.lock().unwrap().get(&sid).cloned().unwrap_or_default()
}

async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Collects `n` text messages from the client's events (failing on a
/// disconnect); returns them and whether an `Upgrade` event was seen.
async fn collect(client: &Client, n: usize) -> (Vec<String>, bool) {
    let mut events = client.events();
    let mut got = Vec::with_capacity(n);
    let mut upgraded = false;
    while got.len() < n {
        match next_event(&mut events, 10).await {
            ClientEvent::Message(engineio::client::Data::Text(t)) => got.push(t.to_string()),
            ClientEvent::Upgrade => upgraded = true,
            ClientEvent::Connect => {}
            other => panic!("unexpected {other:?} after {} messages", got.len()),
        }
    }
    (got, upgraded)
}

fn numbered(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

/// Collects text messages from the client's events until `end` (failing
/// on a disconnect); returns those before it.
async fn collect_until(client: &Client, end: &str) -> Vec<String> {
    let mut events = client.events();
    let mut got = Vec::new();
    loop {
        match next_event(&mut events, 10).await {
            ClientEvent::Message(engineio::client::Data::Text(t)) if t == end => return got,
            ClientEvent::Message(engineio::client::Data::Text(t)) => got.push(t.to_string()),
            ClientEvent::Upgrade | ClientEvent::Connect => {}
            other => panic!("unexpected {other:?} after {} messages", got.len()),
        }
    }
}

/// Messages sent once the sender has seen the WebSocket.
const AFTER_UPGRADE: usize = 300;

/// Messages each side sends on polling before the upgrade may proceed.
const BEFORE_UPGRADE: usize = 50;

/// Sends `{prefix}0`, `{prefix}1`, … with `send`: for as long as
/// `transport()` says polling (16 a millisecond, so that many are in flight
/// while the upgrade happens, and the queues stay far below their limits if
/// it is slow), telling `warm` once [`BEFORE_UPGRADE`] have gone; then
/// [`AFTER_UPGRADE`] more once it says WebSocket (4 a millisecond), then
/// `{prefix}end`. Returns how many were sent in all and how many before the
/// switch.
///
/// The claim under test needs messages on both sides of the upgrade, so
/// this fails if the first message already finds the WebSocket, or if the
/// switch is not seen within 10 s.
async fn send_across_the_upgrade(
    prefix: &str,
    transport: impl Fn() -> TransportKind,
    send: impl Fn(String),
    warm: tokio::sync::mpsc::UnboundedSender<()>,
) -> (usize, usize) {
    let started = Instant::now();
    let mut before = 0;
    let mut i = 0;
    while transport() == TransportKind::Polling {
        if i == BEFORE_UPGRADE {
            let _ = warm.send(());
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{prefix}: no upgrade within 10 s ({i} messages sent)"
        );
        send(format!("{prefix}{i}"));
        i += 1;
        before = i;
        if i % 16 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        } else {
            tokio::task::yield_now().await;
        }
    }
    assert!(
        before > 0,
        "{prefix}: the upgrade was done before the first send: nothing crosses it"
    );
    for k in 0..AFTER_UPGRADE {
        send(format!("{prefix}{i}"));
        i += 1;
        if k % 4 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    send(format!("{prefix}end"));
    (i, before)
}

/// Numbered messages both ways, sent from before the upgrade until after it,
/// arrive in order and once each. On 127.0.0.1 the upgrade can be done
/// before the first send, so the server holds the WebSocket request back
/// until each side has sent [`BEFORE_UPGRADE`] messages on polling; each side
/// then keeps sending, at the same pace, while the upgrade happens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbered_messages_both_ways_across_an_upgrade() {
    let (eio, inbox) = recording(Server::builder());
    let (open_gate, gate) = tokio::sync::watch::channel(false);
    let base = server_util::start_around(&eio, move |req, svc| {
        let mut gate = gate.clone();
        async move {
            if req
                .uri()
                .query()
                .is_some_and(|q| q.contains("transport=websocket"))
            {
                let _ = gate.wait_for(|open| *open).await;
            }
            tower::ServiceExt::oneshot(svc, req).await
        }
    })
    .await;
    let (warm, mut warmed) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        for _ in 0..2 {
            warmed.recv().await;
        }
        open_gate.send_replace(true);
    });
    let client = builder(&[TransportKind::Polling, TransportKind::WebSocket])
        .connect(&base)
        .await
        .unwrap();
    let sid: Sid = client.sid().to_sid().unwrap();
    let collector = {
        let client = client.clone();
        tokio::spawn(async move { collect_until(&client, "send").await })
    };

    // Both ends send from before the upgrade until after it.
    let server_side = {
        let (eio, warm) = (eio.clone(), warm.clone());
        tokio::spawn(async move {
            send_across_the_upgrade(
                "s",
                || eio.transport(sid).unwrap(),
                |m| eio.send(sid, m).unwrap(),
                warm,
            )
            .await
        })
    };
    let (client_sent, client_before) = send_across_the_upgrade(
        "c",
        || client.transport(),
        |m| client.send(m).unwrap(),
        warm,
    )
    .await;
    let (server_sent, server_before) = server_side.await.unwrap();
    let got = collector.await.unwrap();
    wait_for("the server got every message", || {
        received(&inbox, sid).last().map(String::as_str) == Some("cend")
    })
    .await;

    assert_eq!(got, numbered("s", server_sent), "server → client");
    let mut want = numbered("c", client_sent);
    want.push("cend".into());
    assert_eq!(received(&inbox, sid), want, "client → server");
    eprintln!(
        "sent before the switch: server {server_before} of {server_sent}, \
         client {client_before} of {client_sent}"
    );
    client.disconnect().await;
}

/// `send` × N then `disconnect()`: the client receives all N, in order,
/// then the close — on polling (over several GETs, the payload being
/// capped by `max_http_buffer_size`), on WebSocket and after an upgrade.
#[tokio::test]
async fn everything_queued_before_a_server_disconnect_arrives_first() {
    const N: usize = 2_000;
    let (eio, base, _inbox) = recording_server(Server::builder().max_http_buffer_size(4096)).await;
    for (mode, transports) in MODES {
        let client = builder(transports).connect(&base).await.unwrap();
        let sid: Sid = client.sid().to_sid().unwrap();
        let mut events = client.events();
        if transports.len() == 2 {
            wait_for("the upgrade", || {
                eio.transport(sid).ok() == Some(TransportKind::WebSocket)
            })
            .await;
        }
        // 2,000 messages of about 110 bytes: more than one write batch of
        // the WebSocket transport (64 KiB).
        let sent: Vec<String> = numbered("q", N)
            .into_iter()
            .map(|m| format!("{m}:{}", "x".repeat(100)))
            .collect();
        for m in &sent {
            eio.send(sid, m.as_str()).unwrap();
        }
        eio.disconnect(sid).unwrap();
        // Nothing can be queued after the close.
        assert!(eio.send(sid, "late").is_err(), "{mode}");

        let mut got = Vec::new();
        let reason = loop {
            match next_event(&mut events, 10).await {
                ClientEvent::Message(engineio::client::Data::Text(t)) => got.push(t.to_string()),
                ClientEvent::Disconnect(reason) => break reason,
                ClientEvent::Connect | ClientEvent::Upgrade => {}
                other => panic!("{mode}: unexpected {other:?}"),
            }
        };
        assert!(got == sent, "{mode}: got {} messages", got.len());
        assert_eq!(reason, DisconnectReason::ServerDisconnect, "{mode}");
    }
}

/// Several OS threads send at once, both ways; each thread's numbered
/// sequence arrives complete and in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_senders_on_several_threads_keep_each_threads_order() {
    const THREADS: usize = 4;
    const PER: usize = 500;
    let (eio, base, inbox) = recording_server(Server::builder()).await;
    for (mode, transports) in MODES {
        let client = builder(transports).connect(&base).await.unwrap();
        let sid: Sid = client.sid().to_sid().unwrap();
        let collector = {
            let client = client.clone();
            tokio::spawn(async move { collect(&client, THREADS * PER).await })
        };
        let threads: Vec<_> = (0..THREADS)
            .flat_map(|t| {
                let (eio, client) = (eio.clone(), client.clone());
                [
                    std::thread::spawn(move || {
                        for i in 0..PER {
                            eio.send(sid, format!("{t}:{i}")).unwrap();
                        }
                    }),
                    std::thread::spawn(move || {
                        for i in 0..PER {
                            client.send(format!("{t}:{i}")).unwrap();
                        }
                    }),
                ]
            })
            .collect();
        for th in threads {
            th.join().unwrap();
        }
        let (got, _) = collector.await.unwrap();
        wait_for("the server got every message", || {
            received(&inbox, sid).len() >= THREADS * PER
        })
        .await;
        for (side, msgs) in [
            ("server → client", got),
            ("client → server", received(&inbox, sid)),
        ] {
            assert_eq!(msgs.len(), THREADS * PER, "{mode} {side}");
            let mut per: HashMap<&str, Vec<usize>> = HashMap::new();
            for m in &msgs {
                let (t, i) = m.split_once(':').unwrap();
                per.entry(t).or_default().push(i.parse().unwrap());
            }
            assert_eq!(per.len(), THREADS, "{mode} {side}");
            for (t, seq) in per {
                assert!(
                    seq == (0..PER).collect::<Vec<_>>(),
                    "{mode} {side}: thread {t} lost, duplicated or reordered messages"
                );
            }
        }
        client.disconnect().await;
    }
}
