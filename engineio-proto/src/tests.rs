//! A deterministic client ↔ server pair on a simulated clock.
//!
//! The "network" is this file: packets are encoded to bytes and decoded
//! again with the real codecs (polling payloads for polling, WebSocket frame
//! encodings for WebSocket), and time only moves when a test says so.

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::client::{ClientProbe, ClientSession};
use crate::server::{GetOutcome, ProbeOutcome, RequestError, ServerSession};
use crate::{
    payload, ClientConfig, ClientSessionEvent, Data, DisconnectReason, Packet, ServerConfig,
    ServerEvent, Sid, TransportKind,
};

struct Pair {
    now: Instant,
    server: ServerSession,
    client: ClientSession,
    server_events: Vec<ServerEvent>,
    client_events: Vec<ClientSessionEvent>,
    /// When false, the client stops answering (its output is dropped).
    client_alive: bool,
}

fn ws_roundtrip(p: Packet) -> Packet {
    let (binary, bytes) = p.to_ws_frame();
    if binary {
        Packet::decode_binary_frame(bytes)
    } else {
        Packet::decode_text(bytes).expect("valid frame")
    }
}

impl Pair {
    fn new(transport: TransportKind, config: ServerConfig) -> Pair {
        let now = Instant::now();
        let server = ServerSession::new(now, Sid::from_random([42; 15]), transport, &config);
        let client = ClientSession::new(transport, ClientConfig::default());
        let mut pair = Pair {
            now,
            server,
            client,
            server_events: Vec::new(),
            client_events: Vec::new(),
            client_alive: true,
        };
        pair.exchange();
        pair
    }

    fn collect(&mut self) {
        while let Some(e) = self.server.poll_event() {
            self.server_events.push(e);
        }
        while let Some(e) = self.client.poll_event() {
            self.client_events.push(e);
        }
    }

    /// One polling round trip (POST what the client has, then one GET if
    /// the server has something), or WebSocket frames both ways, until
    /// quiet.
    fn exchange(&mut self) {
        for _ in 0..100 {
            let mut moved = false;
            // Client → server.
            match self.client.transport() {
                TransportKind::Polling => {
                    if let Some(packets) = self.client.poll_payload() {
                        if self.client_alive && !self.server.is_closed() {
                            let body = payload::encode(&packets);
                            self.server.begin_post().expect("post");
                            self.server.handle_post(self.now, body).expect("valid post");
                        }
                        moved = true;
                    }
                }
                TransportKind::WebSocket => {
                    while let Some(p) = self.client.poll_transmit() {
                        if self.client_alive {
                            self.server.handle_packet(self.now, ws_roundtrip(p));
                        }
                        moved = true;
                    }
                }
            }
            // Server → client.
            match self.server.transport() {
                TransportKind::Polling => {
                    if self.server.queued() > 0 && self.client.transport() == TransportKind::Polling
                    {
                        self.server.begin_get().expect("get");
                        if let GetOutcome::Payload(packets) = self.server.poll_get() {
                            self.server.end_get();
                            let body = payload::encode(&packets);
                            for p in payload::decode(body, usize::MAX).expect("valid payload") {
                                self.client.handle_packet(self.now, p);
                            }
                            moved = true;
                        } else {
                            self.server.end_get();
                        }
                    }
                }
                TransportKind::WebSocket => {
                    while let Some(p) = self.server.poll_transmit() {
                        self.client.handle_packet(self.now, ws_roundtrip(p));
                        moved = true;
                    }
                }
            }
            self.collect();
            if !moved {
                return;
            }
        }
        panic!("exchange did not settle");
    }

    /// Advances the simulated clock to `t`, firing every deadline on the way.
    fn advance_to(&mut self, t: Instant) {
        loop {
            let next = [self.server.poll_timeout(), self.client.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(d) if d <= t => {
                    self.now = self.now.max(d);
                    self.server.handle_timeout(self.now);
                    self.client.handle_timeout(self.now);
                    self.exchange();
                }
                _ => break,
            }
        }
        self.now = t;
    }

    fn advance(&mut self, d: Duration) {
        self.advance_to(self.now + d);
    }

    fn upgrade(&mut self) {
        assert!(self.client.wants_upgrade());
        let probe = self.client.begin_upgrade(self.now);
        self.server.begin_upgrade(self.now).expect("upgrade");
        let reply = match self
            .server
            .handle_probe_packet(self.now, ws_roundtrip(probe))
        {
            ProbeOutcome::Reply(p) => p,
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(
            self.client.handle_probe_packet(ws_roundtrip(reply)),
            ClientProbe::Pause
        );
        let five = self.client.complete_upgrade().expect("upgrade packet");
        assert_eq!(
            self.server
                .handle_probe_packet(self.now, ws_roundtrip(five)),
            ProbeOutcome::Upgraded
        );
        self.exchange();
    }

    fn server_messages(&self) -> Vec<Data> {
        self.server_events
            .iter()
            .filter_map(|e| match e {
                ServerEvent::Message(d) => Some(d.clone()),
                _ => None,
            })
            .collect()
    }

    fn client_messages(&self) -> Vec<Data> {
        self.client_events
            .iter()
            .filter_map(|e| match e {
                ClientSessionEvent::Message(d) => Some(d.clone()),
                _ => None,
            })
            .collect()
    }
}

/// A server session opened at `now` with a sid made from `seed`.
fn session(
    now: Instant,
    seed: u8,
    transport: TransportKind,
    config: &ServerConfig,
) -> ServerSession {
    ServerSession::new(now, Sid::from_random([seed; 15]), transport, config)
}

/// A polling session whose handshake GET has been answered.
fn handshaken(now: Instant, seed: u8, config: &ServerConfig) -> ServerSession {
    let mut s = session(now, seed, TransportKind::Polling, config);
    s.begin_get().unwrap();
    assert!(matches!(s.poll_get(), GetOutcome::Payload(ref p) if matches!(p[0], Packet::Open(_))));
    s.end_get();
    s
}

fn fast_config() -> ServerConfig {
    ServerConfig {
        ping_interval: Duration::from_millis(300),
        ping_timeout: Duration::from_millis(200),
        ..ServerConfig::default()
    }
}

#[test]
fn whole_session_polling_upgrade_messages_close() {
    let mut pair = Pair::new(TransportKind::Polling, ServerConfig::default());
    let Some(ClientSessionEvent::Connected(open)) = pair.client_events.first().cloned() else {
        panic!("not connected: {:?}", pair.client_events)
    };
    assert_eq!(open.upgrades, vec!["websocket".to_owned()]);
    assert_eq!(open.ping_interval_ms, 25_000);
    assert_eq!(open.ping_timeout_ms, 20_000);
    assert_eq!(open.max_payload, 1_000_000);
    assert_eq!(open.sid, pair.server.sid().as_str());
    assert_eq!(pair.client.sid().unwrap(), &pair.server.sid());

    // Messages both ways over polling.
    pair.client.send("hello".into()).unwrap();
    pair.client
        .send(Data::Binary(Bytes::from_static(&[1, 2, 3])))
        .unwrap();
    pair.server.send("welcome".into()).unwrap();
    pair.exchange();
    assert_eq!(
        pair.server_messages(),
        vec![
            Data::from("hello"),
            Data::Binary(Bytes::from_static(&[1, 2, 3]))
        ]
    );
    assert_eq!(pair.client_messages(), vec![Data::from("welcome")]);

    // Upgrade; messages queued on both sides during it arrive in order.
    for i in 0..3 {
        pair.client.send(format!("c{i}").into()).unwrap();
        pair.server.send(format!("s{i}").into()).unwrap();
    }
    // The probe: the queued client messages wait (polling is paused).
    pair.upgrade();
    assert_eq!(pair.server.transport(), TransportKind::WebSocket);
    assert_eq!(pair.client.transport(), TransportKind::WebSocket);
    assert!(pair.server_events.contains(&ServerEvent::Upgraded));
    assert!(pair.client_events.contains(&ClientSessionEvent::Upgraded));
    pair.client.send("after".into()).unwrap();
    pair.exchange();
    let msgs = pair.server_messages();
    assert_eq!(
        &msgs[2..],
        &[
            Data::from("c0"),
            Data::from("c1"),
            Data::from("c2"),
            Data::from("after")
        ]
    );
    assert_eq!(
        &pair.client_messages()[1..],
        &[Data::from("s0"), Data::from("s1"), Data::from("s2")]
    );

    // Heartbeats keep the session alive over the WebSocket for 3 intervals.
    pair.advance(Duration::from_secs(80));
    assert!(!pair.server.is_closed());
    assert!(!pair.client.is_closed());

    // The client closes.
    pair.client.close();
    pair.exchange();
    assert_eq!(
        pair.server_events.last(),
        Some(&ServerEvent::Closed(DisconnectReason::ClientDisconnect))
    );
    assert_eq!(
        pair.client_events.last(),
        Some(&ClientSessionEvent::Closed(
            DisconnectReason::ClientDisconnect
        ))
    );
}

#[test]
fn heartbeat_keeps_polling_session_alive_then_times_out() {
    let mut pair = Pair::new(TransportKind::Polling, fast_config());
    // Three ping/pong rounds.
    pair.advance(Duration::from_millis(1_000));
    assert!(!pair.server.is_closed(), "{:?}", pair.server_events);

    // The client goes silent: the server closes after ping_timeout.
    pair.client_alive = false;
    let start = pair.now;
    let mut closed_at = None;
    while closed_at.is_none() && pair.now < start + Duration::from_secs(2) {
        pair.advance(Duration::from_millis(10));
        if pair.server.is_closed() {
            closed_at = Some(pair.now);
        }
    }
    let closed_at = closed_at.expect("server detects the silent client");
    assert!(closed_at - start <= Duration::from_millis(510));
    assert_eq!(
        pair.server_events.last(),
        Some(&ServerEvent::Closed(DisconnectReason::PingTimeout))
    );
}

#[test]
fn server_ping_timeout_exact_deadline() {
    // The suite's case: no pong at all → closed by 500 ms after the handshake.
    let now = Instant::now();
    let mut s = session(now, 1, TransportKind::Polling, &fast_config());
    assert_eq!(s.poll_timeout(), Some(now + Duration::from_millis(300)));
    s.handle_timeout(now + Duration::from_millis(300));
    assert_eq!(s.poll_timeout(), Some(now + Duration::from_millis(500)));
    s.handle_timeout(now + Duration::from_millis(499));
    assert!(!s.is_closed());
    s.handle_timeout(now + Duration::from_millis(500));
    assert!(s.is_closed());
    assert_eq!(s.begin_get(), Err(RequestError::Closed));
}

#[test]
fn late_timer_handling_keeps_the_heartbeat_schedule() {
    // A driver that wakes late must not stretch the heartbeat: the pong is
    // due `ping_timeout` after the ping was *due*, and a single late call
    // applies both the ping and its timeout.
    let now = Instant::now();
    let sid = Sid::from_random([2; 15]);
    let mut s = ServerSession::new(now, sid, TransportKind::Polling, &fast_config());
    s.handle_timeout(now + Duration::from_millis(320));
    assert_eq!(s.poll_timeout(), Some(now + Duration::from_millis(500)));

    let mut s = ServerSession::new(now, sid, TransportKind::Polling, &fast_config());
    s.handle_timeout(now + Duration::from_millis(505));
    assert!(s.is_closed());
    let events: Vec<_> = std::iter::from_fn(|| s.poll_event()).collect();
    assert_eq!(
        events,
        vec![ServerEvent::Closed(DisconnectReason::PingTimeout)]
    );
}

#[test]
fn client_detects_silent_server() {
    let mut pair = Pair::new(TransportKind::WebSocket, fast_config());
    let connected_at = pair.now;
    // The server never pings (we simply never fire its timers): the client
    // times out after pingInterval + pingTimeout.
    pair.client
        .handle_timeout(connected_at + Duration::from_millis(499));
    assert!(!pair.client.is_closed());
    pair.client
        .handle_timeout(connected_at + Duration::from_millis(500));
    pair.collect();
    assert_eq!(
        pair.client_events.last(),
        Some(&ClientSessionEvent::Closed(DisconnectReason::PingTimeout))
    );
}

#[test]
fn ping_while_closing_does_not_rearm_the_heartbeat() {
    let mut pair = Pair::new(TransportKind::Polling, fast_config());
    let t0 = pair.now;
    pair.client.close();
    assert_eq!(
        pair.client.poll_timeout(),
        None,
        "close stops the heartbeat"
    );
    // A ping arrives (say, on the pending GET) before the close POST leaves.
    pair.client.handle_packet(t0, Packet::ping());
    assert_eq!(pair.client.poll_timeout(), None);
    pair.client.handle_timeout(t0 + Duration::from_secs(60));
    assert!(!pair.client.is_closed(), "no ping timeout while closing");
    assert_eq!(pair.client.poll_payload(), Some(vec![Packet::Close]));
    pair.collect();
    assert_eq!(
        pair.client_events.last(),
        Some(&ClientSessionEvent::Closed(
            DisconnectReason::ClientDisconnect
        ))
    );
}

#[test]
fn websocket_session_has_no_upgrades_and_server_close_flushes_first() {
    let mut pair = Pair::new(TransportKind::WebSocket, ServerConfig::default());
    let Some(ClientSessionEvent::Connected(open)) = pair.client_events.first().cloned() else {
        panic!("not connected")
    };
    assert!(open.upgrades.is_empty());
    assert!(!pair.client.wants_upgrade());
    for i in 0..5 {
        pair.server.send(format!("m{i}").into()).unwrap();
    }
    pair.server.close(pair.now);
    assert_eq!(pair.server.send("late".into()), Err(RequestError::Closed));
    pair.exchange();
    assert_eq!(pair.client_messages().len(), 5);
    assert_eq!(
        pair.client_events.last(),
        Some(&ClientSessionEvent::Closed(
            DisconnectReason::ServerDisconnect
        ))
    );
    assert_eq!(
        pair.server_events.last(),
        Some(&ServerEvent::Closed(DisconnectReason::ServerDisconnect))
    );
}

#[test]
fn polling_server_close_delivers_close_to_pending_get() {
    let now = Instant::now();
    let mut s = session(now, 2, TransportKind::Polling, &ServerConfig::default());
    s.begin_get().unwrap();
    assert!(matches!(s.poll_get(), GetOutcome::Payload(_)));
    s.end_get();
    s.begin_get().unwrap();
    assert_eq!(s.poll_get(), GetOutcome::Wait);
    s.send("bye".into()).unwrap();
    s.close(now);
    assert_eq!(
        s.poll_get(),
        GetOutcome::Payload(vec![Packet::text("bye"), Packet::Close])
    );
    assert!(s.is_closed());
    assert_eq!(
        s.poll_event(),
        Some(ServerEvent::Closed(DisconnectReason::ServerDisconnect))
    );
}

#[test]
fn polling_server_close_without_get_times_out() {
    let now = Instant::now();
    let config = ServerConfig::default();
    let mut s = session(now, 2, TransportKind::Polling, &config);
    s.close(now);
    assert_eq!(s.poll_timeout(), Some(now + config.close_timeout));
    s.handle_timeout(now + config.close_timeout);
    assert!(s.is_closed());
}

#[test]
fn overlapping_gets_close_the_session_and_first_get_gets_close() {
    let now = Instant::now();
    let mut s = handshaken(now, 3, &ServerConfig::default());
    s.begin_get().unwrap();
    assert_eq!(s.poll_get(), GetOutcome::Wait);
    assert_eq!(s.begin_get(), Err(RequestError::OverlappingGet));
    assert_eq!(s.poll_get(), GetOutcome::Payload(vec![Packet::Close]));
    assert!(s.is_closed());
}

#[test]
fn overlapping_posts_close_the_session() {
    let now = Instant::now();
    let mut s = session(now, 3, TransportKind::Polling, &ServerConfig::default());
    s.begin_post().unwrap();
    assert_eq!(s.begin_post(), Err(RequestError::OverlappingPost));
    assert!(s.is_closed());
}

#[test]
fn bad_and_oversize_posts_close_the_session() {
    let now = Instant::now();
    let config = ServerConfig {
        max_http_buffer_size: 10,
        ..ServerConfig::default()
    };
    let mut s = session(now, 4, TransportKind::Polling, &config);
    s.begin_post().unwrap();
    assert_eq!(
        s.handle_post(now, Bytes::from_static(b"4abcdefghi")),
        Ok(())
    );
    s.begin_post().unwrap();
    assert_eq!(
        s.handle_post(now, Bytes::from_static(b"4abcdefghij")),
        Err(RequestError::PayloadTooLarge)
    );
    assert!(s.is_closed());

    let mut s = session(now, 4, TransportKind::Polling, &config);
    s.begin_post().unwrap();
    assert!(matches!(
        s.handle_post(now, Bytes::from_static(b"abc")),
        Err(RequestError::BadPayload(_))
    ));
    assert!(s.is_closed());
}

#[test]
fn a_post_that_fails_mid_body_closes_the_session() {
    use crate::server::PostFailure;
    let now = Instant::now();
    for why in [
        PostFailure::TooLarge,
        PostFailure::TooManyChunks,
        PostFailure::TimedOut,
        PostFailure::ConnectionFailed,
        PostFailure::BinaryBody,
    ] {
        let mut s = session(now, 4, TransportKind::Polling, &ServerConfig::default());
        s.begin_post().unwrap();
        s.fail_post(why);
        assert!(s.is_closed(), "{why:?}");
        assert_eq!(s.begin_post(), Err(RequestError::Closed), "{why:?}");
        let closed = ServerEvent::Closed(DisconnectReason::TransportError);
        assert!(
            std::iter::from_fn(|| s.poll_event()).any(|e| e == closed),
            "{why:?}"
        );
    }
}

#[test]
fn client_close_packet_releases_pending_get_with_noop() {
    let now = Instant::now();
    let mut s = handshaken(now, 5, &ServerConfig::default());
    s.begin_get().unwrap();
    s.begin_post().unwrap();
    s.handle_post(now, Bytes::from_static(b"1")).unwrap();
    assert_eq!(s.poll_get(), GetOutcome::Payload(vec![Packet::Noop]));
    assert_eq!(
        s.poll_event(),
        Some(ServerEvent::Closed(DisconnectReason::ClientDisconnect))
    );
}

#[test]
fn client_close_before_the_get_still_gives_that_get_a_noop() {
    use crate::server::CLOSE_LINGER;
    let now = Instant::now();
    let mut s = handshaken(now, 5, &ServerConfig::default());
    // The client sent its GET and its closing POST together; the POST is
    // handled first.
    s.begin_post().unwrap();
    s.handle_post(now, Bytes::from_static(b"1")).unwrap();
    assert!(s.is_closed());
    assert!(s.is_lingering());
    assert_eq!(s.poll_timeout(), Some(now + CLOSE_LINGER));
    s.begin_get().unwrap();
    assert_eq!(s.poll_get(), GetOutcome::Payload(vec![Packet::Noop]));
    s.end_get();
    // Only that one GET: the next finds the session gone.
    assert!(!s.is_lingering());
    assert_eq!(s.poll_timeout(), None);
    assert_eq!(s.begin_get(), Err(RequestError::Closed));
    assert_eq!(
        s.poll_event(),
        Some(ServerEvent::Closed(DisconnectReason::ClientDisconnect))
    );
}

#[test]
fn the_linger_ends_with_its_window_or_a_server_close() {
    use crate::server::CLOSE_LINGER;
    let now = Instant::now();
    let mut s = handshaken(now, 5, &ServerConfig::default());
    s.begin_post().unwrap();
    s.handle_post(now, Bytes::from_static(b"1")).unwrap();
    s.handle_timeout(now + CLOSE_LINGER);
    assert!(!s.is_lingering());
    assert_eq!(s.begin_get(), Err(RequestError::Closed));

    let mut s = handshaken(now, 6, &ServerConfig::default());
    s.begin_post().unwrap();
    s.handle_post(now, Bytes::from_static(b"1")).unwrap();
    s.close(now);
    assert!(!s.is_lingering());
    assert_eq!(s.poll_timeout(), None);

    // No linger when the GET was pending (it got the noop), nor for a
    // session that ended any other way, nor on WebSocket.
    let mut s = handshaken(now, 7, &ServerConfig::default());
    s.begin_get().unwrap();
    s.begin_post().unwrap();
    s.handle_post(now, Bytes::from_static(b"1")).unwrap();
    assert!(!s.is_lingering());
    let mut s = handshaken(now, 8, &ServerConfig::default());
    s.handle_timeout(now + Duration::from_secs(3600));
    assert!(s.is_closed() && !s.is_lingering());
    let mut s = session(now, 9, TransportKind::WebSocket, &ServerConfig::default());
    s.handle_packet(now, Packet::Close);
    assert!(s.is_closed() && !s.is_lingering());
}

#[test]
fn client_ping_breaks_heartbeat_direction() {
    let now = Instant::now();
    let mut s = session(now, 6, TransportKind::WebSocket, &ServerConfig::default());
    s.handle_packet(now, Packet::ping());
    assert!(s.is_closed());
}

#[test]
fn upgrade_gives_pending_and_new_gets_noop_then_refuses_polling() {
    let now = Instant::now();
    let mut s = handshaken(now, 7, &ServerConfig::default());
    s.begin_get().unwrap();
    assert_eq!(s.poll_get(), GetOutcome::Wait);
    s.begin_upgrade(now).unwrap();
    // A second WebSocket while the first is upgrading is closed, not refused.
    assert_eq!(s.begin_upgrade(now), Err(RequestError::DuplicateUpgrade));
    // Before the probe the GET still waits.
    assert_eq!(s.poll_get(), GetOutcome::Wait);
    assert_eq!(
        s.handle_probe_packet(
            now,
            Packet::decode_text(Bytes::from_static(b"2probe")).unwrap()
        ),
        ProbeOutcome::Reply(Packet::decode_text(Bytes::from_static(b"3probe")).unwrap())
    );
    // The pending GET, and a GET sent after 3probe, both get noop.
    assert_eq!(s.poll_get(), GetOutcome::Payload(vec![Packet::Noop]));
    s.end_get();
    s.begin_get().unwrap();
    assert_eq!(s.poll_get(), GetOutcome::Payload(vec![Packet::Noop]));
    s.end_get();
    // Messages sent meanwhile wait for the WebSocket.
    s.send("queued".into()).unwrap();
    assert_eq!(s.poll_transmit(), None);
    assert_eq!(
        s.handle_probe_packet(now, Packet::Upgrade),
        ProbeOutcome::Upgraded
    );
    assert_eq!(s.poll_transmit(), Some(Packet::text("queued")));
    assert_eq!(s.begin_get(), Err(RequestError::TransportMismatch));
    assert_eq!(s.begin_upgrade(now), Err(RequestError::DuplicateUpgrade));
    assert!(!s.is_closed());
}

#[test]
fn upgrade_aborts_on_wrong_packet_and_on_timeout() {
    let now = Instant::now();
    let config = ServerConfig::default();
    let mut s = session(now, 8, TransportKind::Polling, &config);
    s.begin_upgrade(now).unwrap();
    assert_eq!(
        s.handle_probe_packet(now, Packet::text("x")),
        ProbeOutcome::Aborted
    );
    assert_eq!(s.transport(), TransportKind::Polling);
    assert_eq!(s.poll_event(), Some(ServerEvent::UpgradeAborted));
    // A later attempt may start again, and times out.
    s.begin_upgrade(now).unwrap();
    s.handle_timeout(now + config.upgrade_timeout);
    assert!(!s.is_upgrading());
    assert_eq!(s.poll_event(), Some(ServerEvent::UpgradeAborted));
    assert!(!s.is_closed());
    // Upgrades refused when disabled, and on a WebSocket session.
    let disabled = ServerConfig {
        allow_upgrades: false,
        ..config.clone()
    };
    let mut s = session(now, 9, TransportKind::Polling, &disabled);
    assert_eq!(s.begin_upgrade(now), Err(RequestError::UpgradeRefused));
    let mut s = session(now, 10, TransportKind::WebSocket, &config);
    assert_eq!(s.begin_upgrade(now), Err(RequestError::UpgradeRefused));
}

#[test]
fn upgrade_not_offered_when_disabled() {
    let config = ServerConfig {
        allow_upgrades: false,
        ..ServerConfig::default()
    };
    let pair = Pair::new(TransportKind::Polling, config);
    assert!(!pair.client.wants_upgrade());
}

#[test]
fn get_drain_is_capped_by_max_payload() {
    let now = Instant::now();
    let config = ServerConfig {
        max_http_buffer_size: 20,
        ..ServerConfig::default()
    };
    let mut s = handshaken(now, 9, &config);
    for _ in 0..4 {
        s.send("123456789".into()).unwrap(); // 10 bytes encoded
    }
    s.begin_get().unwrap();
    // "4123456789" + 0x1e + "4123456789" = 21 > 20: one packet per GET.
    assert_eq!(
        s.poll_get(),
        GetOutcome::Payload(vec![Packet::text("123456789")])
    );
    s.end_get();
    assert_eq!(s.queued(), 3);
}

#[test]
fn queue_bound_closes_a_client_that_never_reads() {
    let now = Instant::now();
    let config = ServerConfig {
        max_queued_packets: 3,
        ..ServerConfig::default()
    };
    let mut s = session(now, 10, TransportKind::Polling, &config);
    // The open packet occupies one slot.
    s.send("a".into()).unwrap();
    s.send("b".into()).unwrap();
    assert_eq!(s.send("c".into()), Err(RequestError::Closed));
    assert_eq!(
        s.poll_event(),
        Some(ServerEvent::Closed(DisconnectReason::TransportError))
    );
}

#[test]
fn fractional_ping_interval_is_advertised_exactly() {
    let config = ServerConfig {
        ping_interval: Duration::from_millis(300),
        ping_interval_grace: Duration::from_millis(1500),
        ..ServerConfig::default()
    };
    let mut pair = Pair::new(TransportKind::Polling, config);
    pair.collect();
    let Some(ClientSessionEvent::Connected(open)) = pair.client_events.first().cloned() else {
        panic!()
    };
    assert_eq!(open.ping_interval_ms, 1800);
}

#[test]
fn client_batches_within_max_payload_and_pauses_for_upgrade() {
    let now = Instant::now();
    let mut c = ClientSession::new(TransportKind::Polling, ClientConfig::default());
    c.handle_packet(
        now,
        Packet::Open(
            r#"{"sid":"aaaaaaaaaaaaaaaaaaaa","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":12}"#.into(),
        ),
    );
    c.send("12345".into()).unwrap(); // 6 bytes
    c.send("12345".into()).unwrap(); // 1 + 6 = 13 > 12 with the first
    c.send("this one is too long".into()).unwrap();
    assert_eq!(c.poll_payload(), Some(vec![Packet::text("12345")]));
    assert_eq!(c.poll_payload(), Some(vec![Packet::text("12345")]));
    assert_eq!(
        c.poll_payload(),
        Some(vec![Packet::text("this one is too long")])
    );
    assert_eq!(c.poll_payload(), None);
    let _probe = c.begin_upgrade(now);
    assert_eq!(
        c.handle_probe_packet(Packet::Pong("probe".into())),
        ClientProbe::Pause
    );
    c.send("held".into()).unwrap();
    assert_eq!(c.poll_payload(), None);
    assert!(c.is_polling_paused());
    assert_eq!(c.complete_upgrade(), Some(Packet::Upgrade));
    assert_eq!(c.poll_transmit(), Some(Packet::text("held")));
}

#[test]
fn client_upgrade_failure_stays_on_polling() {
    let now = Instant::now();
    let mut c = ClientSession::new(TransportKind::Polling, ClientConfig::default());
    c.handle_packet(
        now,
        Packet::Open(r#"{"sid":"aaaaaaaaaaaaaaaaaaaa","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":100}"#.into()),
    );
    let _ = c.begin_upgrade(now);
    assert_eq!(
        c.handle_probe_packet(Packet::text("nope")),
        ClientProbe::Aborted
    );
    assert_eq!(c.transport(), TransportKind::Polling);
    assert!(!c.wants_upgrade());
    c.send("still works".into()).unwrap();
    assert_eq!(c.poll_payload(), Some(vec![Packet::text("still works")]));
}

#[test]
fn client_bad_handshake_is_a_transport_error() {
    let now = Instant::now();
    let mut c = ClientSession::new(TransportKind::Polling, ClientConfig::default());
    c.handle_packet(now, Packet::Open("{not json".into()));
    let _ = c.poll_event();
    assert!(c.is_closed());
    let mut c = ClientSession::new(TransportKind::Polling, ClientConfig::default());
    c.handle_packet(now, Packet::text("hi"));
    assert_eq!(
        c.poll_event(),
        Some(ClientSessionEvent::Closed(DisconnectReason::TransportError))
    );
    assert_eq!(
        c.send("x".into()),
        Err(crate::client::ClientSessionError::NotConnected)
    );
}

#[test]
fn thousand_messages_cross_an_upgrade_in_order() {
    let mut pair = Pair::new(TransportKind::Polling, ServerConfig::default());
    for i in 0..500 {
        pair.client.send(format!("{i}").into()).unwrap();
    }
    // Some go out on polling before the probe.
    pair.exchange();
    for i in 500..700 {
        pair.client.send(format!("{i}").into()).unwrap();
    }
    pair.upgrade();
    for i in 700..1000 {
        pair.client.send(format!("{i}").into()).unwrap();
    }
    pair.exchange();
    let got: Vec<String> = pair
        .server_messages()
        .into_iter()
        .map(|d| match d {
            Data::Text(t) => t.to_string(),
            Data::Binary(_) => panic!("binary"),
        })
        .collect();
    let want: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
    assert_eq!(got, want);
}
