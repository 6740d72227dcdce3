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
    let eio = builder.build().unwrap();
    let inbox: Inbox = Arc::default();
    let log = inbox.clone();
    eio.on_message(move |sid, data| {
        if let Data::Text(t) = data {
            log.lock()
                .unwrap()
                .entry(sid)
                .or_default()
                .push(t.to_string());
        }
    });
    let base = server_util::start(&eio).await;
    (eio, base, inbox)
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbered_messages_both_ways_across_an_upgrade() {
    const N: usize = 600;
    let (eio, base, inbox) = recording_server(Server::builder()).await;
    let client = builder(&[TransportKind::Polling, TransportKind::WebSocket])
        .connect(&base)
        .await
        .unwrap();
    let sid: Sid = client.sid().parse().unwrap();
    let collector = {
        let client = client.clone();
        tokio::spawn(async move { collect(&client, N).await })
    };

    // Both ends send at a pace that straddles the upgrade, noting which
    // transport each message left on.
    let server_side = {
        let eio = eio.clone();
        tokio::spawn(async move {
            let mut on = HashMap::<TransportKind, usize>::new();
            for (i, m) in numbered("s", N).into_iter().enumerate() {
                *on.entry(eio.transport(sid).unwrap()).or_default() += 1;
                eio.send(sid, m).unwrap();
                if i % 4 == 0 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            on
        })
    };
    let mut client_on = HashMap::<TransportKind, usize>::new();
    for (i, m) in numbered("c", N).into_iter().enumerate() {
        *client_on.entry(client.transport()).or_default() += 1;
        client.send(m).unwrap();
        if i % 4 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let server_on = server_side.await.unwrap();
    let (got, upgraded) = collector.await.unwrap();
    wait_for("the server got every message", || {
        received(&inbox, sid).len() >= N
    })
    .await;

    assert!(upgraded, "the client never upgraded");
    assert_eq!(got, numbered("s", N), "server → client");
    assert_eq!(received(&inbox, sid), numbered("c", N), "client → server");
    // The exchange really crossed the upgrade, in both directions.
    for (side, on) in [("server", &server_on), ("client", &client_on)] {
        assert!(
            on.get(&TransportKind::Polling).is_some_and(|&n| n > 0)
                && on.get(&TransportKind::WebSocket).is_some_and(|&n| n > 0),
            "{side} sent {on:?}"
        );
    }
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
        let sid: Sid = client.sid().parse().unwrap();
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
        let sid: Sid = client.sid().parse().unwrap();
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
