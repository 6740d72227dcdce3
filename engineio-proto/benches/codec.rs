//! Criterion micro-benchmarks for the codec hot paths of `engineio-proto`.
//!
//! What a driver does for every message, measured without IO:
//! - `packet`: WebSocket frame encode/decode of one packet
//!   ([`Packet::to_ws_frame`], [`Packet::decode_text`],
//!   [`Packet::decode_binary_frame`]);
//! - `payload_v4`: polling bodies of 1, 10 and 100 packets, text and binary
//!   (`b` + base64) ([`payload::encode`], [`payload::decode`]);
//! - `handshake`: the `open` JSON, session ids, query strings and a new
//!   session;
//! - `server_session`: a message through [`ServerSession`] (`handle_*` in,
//!   `poll_*` out), alone and as a whole echo or heartbeat round.
//!
//! The inputs are a 16-byte text message, a 1 KiB binary message and a ping.
//! Run with `cargo bench -p engineio-proto --bench codec`; `-- --test` runs
//! every benchmark once, as a smoke test.

use std::hint::black_box;
use std::time::Instant;

use bytes::Bytes;
use criterion::{criterion_main, BenchmarkId, Criterion, Throughput};
use engineio_proto::handshake::EngineQuery;
use engineio_proto::server::GetOutcome;
use engineio_proto::{
    payload, Data, OpenData, Packet, ServerConfig, ServerEvent, ServerSession, Sid, Text,
    TransportKind,
};

/// A short chat-sized text message: exactly 16 bytes.
const TEXT_16: &str = "hello, engine.io";
/// The size of the binary message.
const BIN_LEN: usize = 1024;
/// `max_http_buffer_size`'s default: the limit a server decodes bodies with.
const MAX_BODY: usize = 1_000_000;

fn binary_1k() -> Bytes {
    // Not all zeros, so base64 sees a realistic mix of characters.
    (0..BIN_LEN)
        .map(|i| (i * 31 % 251) as u8)
        .collect::<Vec<u8>>()
        .into()
}

fn sid() -> Sid {
    Sid::from_random([0x5a; Sid::RANDOM_BYTES])
}

fn ws_frame(p: &Packet) -> Bytes {
    p.to_ws_frame().1
}

fn packet(c: &mut Criterion) {
    let mut g = c.benchmark_group("packet");
    let text = Packet::text(TEXT_16);
    let binary = Packet::binary(binary_1k());
    let ping = Packet::ping();
    let text_frame = ws_frame(&text);
    let binary_frame = ws_frame(&binary);
    let ping_frame = ws_frame(&ping);

    g.throughput(Throughput::Bytes(TEXT_16.len() as u64));
    g.bench_function("encode_ws/text_16B", |b| {
        b.iter(|| black_box(&text).to_ws_frame())
    });
    g.bench_function("decode_ws/text_16B", |b| {
        b.iter(|| Packet::decode_text(black_box(text_frame.clone())))
    });

    g.throughput(Throughput::Bytes(BIN_LEN as u64));
    g.bench_function("encode_ws/binary_1KiB", |b| {
        b.iter(|| black_box(&binary).to_ws_frame())
    });
    g.bench_function("decode_ws/binary_1KiB", |b| {
        b.iter(|| Packet::decode_binary_frame(black_box(binary_frame.clone())))
    });

    g.throughput(Throughput::Elements(1));
    g.bench_function("encode_ws/ping", |b| {
        b.iter(|| black_box(&ping).to_ws_frame())
    });
    g.bench_function("decode_ws/ping", |b| {
        b.iter(|| Packet::decode_text(black_box(ping_frame.clone())))
    });
    g.finish();
}

fn payload_v4(c: &mut Criterion) {
    let mut g = c.benchmark_group("payload_v4");
    let kinds = [
        ("text_16B", Packet::text(TEXT_16)),
        ("binary_1KiB", Packet::binary(binary_1k())),
    ];
    for (name, one) in &kinds {
        for n in [1usize, 10, 100] {
            let packets = vec![one.clone(); n];
            let body = payload::encode(&packets);
            // Throughput is the body's size on the wire, base64 included.
            g.throughput(Throughput::Bytes(body.len() as u64));
            g.bench_with_input(
                BenchmarkId::new(format!("encode/{name}"), n),
                &packets,
                |b, packets| b.iter(|| payload::encode(black_box(packets))),
            );
            g.bench_with_input(
                BenchmarkId::new(format!("decode/{name}"), n),
                &body,
                |b, body| b.iter(|| payload::decode(black_box(body.clone()), MAX_BODY)),
            );
        }
    }
    g.finish();
}

fn handshake(c: &mut Criterion) {
    let mut g = c.benchmark_group("handshake");
    let config = ServerConfig::default();
    let sid = sid();
    // What `ServerSession::new` builds for a polling handshake.
    let open = OpenData {
        sid: sid.as_str().to_owned(),
        upgrades: vec!["websocket".to_owned()],
        ping_interval_ms: config.advertised_ping_interval_ms(),
        ping_timeout_ms: config.advertised_ping_timeout_ms(),
        max_payload: config.max_http_buffer_size as u64,
    };
    let open_json: Text = open.to_text();
    let now = Instant::now();
    let first_query = "EIO=4&transport=polling&t=PqR1s2x";
    let upgrade_query = format!("EIO=4&transport=websocket&sid={sid}");

    g.bench_function("open_data/to_text", |b| {
        b.iter(|| black_box(&open).to_text())
    });
    g.bench_function("open_data/parse", |b| {
        b.iter(|| OpenData::parse(black_box(open_json.as_str())))
    });
    g.bench_function("sid/from_random", |b| {
        b.iter(|| Sid::from_random(black_box([0x5a; Sid::RANDOM_BYTES])))
    });
    g.bench_function("sid/parse", |b| {
        b.iter(|| Sid::parse(black_box(sid.as_str())))
    });
    g.bench_function("query/handshake", |b| {
        b.iter(|| EngineQuery::parse(black_box(first_query)))
    });
    g.bench_function("query/upgrade_with_sid", |b| {
        b.iter(|| EngineQuery::parse(black_box(&upgrade_query)))
    });
    g.bench_function("session_new/polling", |b| {
        b.iter(|| ServerSession::new(now, sid, TransportKind::Polling, &config))
    });
    g.finish();
}

/// A WebSocket session whose `open` packet has been written.
fn ws_session(now: Instant, config: &ServerConfig) -> ServerSession {
    let mut s = ServerSession::new(now, sid(), TransportKind::WebSocket, config);
    while s.poll_transmit().is_some() {}
    s
}

/// A polling session whose handshake GET has been answered.
fn polling_session(now: Instant, config: &ServerConfig) -> ServerSession {
    let mut s = ServerSession::new(now, sid(), TransportKind::Polling, config);
    s.begin_get().expect("first GET");
    assert!(matches!(s.poll_get(), GetOutcome::Payload(_)));
    s.end_get();
    s
}

/// One frame in: decoded, handed to the session, taken out as an event,
/// sent back, and encoded as the answering frame.
fn ws_echo(s: &mut ServerSession, now: Instant, binary: bool, frame: Bytes) -> Bytes {
    let packet = if binary {
        Packet::decode_binary_frame(frame)
    } else {
        Packet::decode_text(frame).expect("valid frame")
    };
    s.handle_packet(now, packet);
    let Some(ServerEvent::Message(data)) = s.poll_event() else {
        unreachable!("a message event")
    };
    s.send(data).expect("open session");
    let out = s.poll_transmit().expect("queued packet");
    out.to_ws_frame().1
}

fn server_session(c: &mut Criterion) {
    let mut g = c.benchmark_group("server_session");
    let config = ServerConfig::default();
    let now = Instant::now();
    let text = Text::from(TEXT_16);
    let text_frame = ws_frame(&Packet::text(TEXT_16));
    let binary_frame = ws_frame(&Packet::binary(binary_1k()));

    g.throughput(Throughput::Elements(1));
    let mut s = ws_session(now, &config);
    g.bench_function("ws_in/text_16B", |b| {
        b.iter(|| {
            s.handle_packet(now, Packet::Message(Data::Text(text.clone())));
            s.poll_event()
        })
    });
    let mut s = ws_session(now, &config);
    g.bench_function("ws_out/text_16B", |b| {
        b.iter(|| {
            s.send(Data::Text(text.clone())).expect("open session");
            s.poll_transmit()
        })
    });
    let mut s = ws_session(now, &config);
    g.bench_function("ws_echo/text_16B", |b| {
        b.iter(|| ws_echo(&mut s, now, false, black_box(text_frame.clone())))
    });
    let mut s = ws_session(now, &config);
    g.bench_function("ws_echo/binary_1KiB", |b| {
        b.iter(|| ws_echo(&mut s, now, true, black_box(binary_frame.clone())))
    });

    // A full heartbeat: the ping timer fires, the ping goes out as a frame,
    // the pong frame comes back and re-arms the timer. Each round moves the
    // simulated clock on by one ping interval.
    let mut s = ws_session(now, &config);
    let pong_frame = ws_frame(&Packet::pong());
    g.bench_function("ws_heartbeat", |b| {
        b.iter(|| {
            let due = s.poll_timeout().expect("ping timer");
            s.handle_timeout(due);
            let ping = s.poll_transmit().expect("ping");
            black_box(ping.to_ws_frame());
            let pong = Packet::decode_text(black_box(pong_frame.clone())).expect("pong");
            s.handle_packet(due, pong);
        })
    });

    // Polling: a POST of 10 text messages, each echoed, collected by one GET.
    const N: usize = 10;
    let body = payload::encode(&vec![Packet::text(TEXT_16); N]);
    let mut s = polling_session(now, &config);
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("polling_echo/text_16B_x10", |b| {
        b.iter(|| {
            s.begin_post().expect("POST");
            s.handle_post(now, black_box(body.clone())).expect("body");
            while let Some(ServerEvent::Message(data)) = s.poll_event() {
                s.send(data).expect("open session");
            }
            s.begin_get().expect("GET");
            let GetOutcome::Payload(packets) = s.poll_get() else {
                unreachable!("queued packets")
            };
            s.end_get();
            payload::encode(&packets)
        })
    });
    g.finish();
}

/// Every group, configured from the command line. Written out rather than
/// with `criterion_group!`, whose generated function has no doc comment for
/// the workspace's `missing_docs` lint.
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    packet(&mut c);
    payload_v4(&mut c);
    handshake(&mut c);
    server_session(&mut c);
}

criterion_main!(benches);
