//! Socket.IO parsers and client state: any sequence of text and binary
//! Engine.IO messages never panics either decoder or `ClientState`; decoded
//! packets respect the limits; a packet the msgpack decoder accepts
//! re-encodes to one that decodes to the same packet, and one the default
//! decoder accepts re-encodes to messages it accepts again.
#![no_main]
use bytes::Bytes;
use engineio_proto::Data;
use libfuzzer_sys::fuzz_target;
use socketio_proto::{
    encode, ClientState, DecodeError, Decoder, DecoderLimits, DisconnectReason, Packet, Serializer,
    Value,
};

/// Splits the input into messages: each starts with a byte whose low bit
/// says text (1) or binary (0) and whose other bits give the length.
fn messages(mut data: &[u8]) -> Vec<Data> {
    let mut out = Vec::new();
    while let Some((&h, rest)) = data.split_first() {
        let len = usize::from(h >> 1).min(rest.len());
        let (body, rest) = rest.split_at(len);
        data = rest;
        out.push(if h & 1 == 1 {
            Data::from(String::from_utf8_lossy(body).into_owned())
        } else {
            Data::Binary(Bytes::copy_from_slice(body))
        });
    }
    out
}

fn binary_stats(v: &Value, count: &mut usize, bytes: &mut usize) {
    match v {
        Value::Binary(b) => {
            *count += 1;
            *bytes += b.len();
        }
        Value::Array(a) => a.iter().for_each(|v| binary_stats(v, count, bytes)),
        Value::Object(m) => m.values().for_each(|v| binary_stats(v, count, bytes)),
        _ => {}
    }
}

fn packet_binary(p: &Packet) -> (usize, usize) {
    let (mut count, mut bytes) = (0, 0);
    match p {
        Packet::Event { args, .. } | Packet::Ack { args, .. } => args
            .iter()
            .for_each(|v| binary_stats(v, &mut count, &mut bytes)),
        Packet::Connect { data: Some(d), .. } | Packet::ConnectError { data: d, .. } => {
            binary_stats(d, &mut count, &mut bytes)
        }
        _ => {}
    }
    (count, bytes)
}

fn redecode(s: Serializer, p: &Packet) -> Result<Option<Packet>, DecodeError> {
    let mut d = Decoder::new(s, DecoderLimits::default());
    let mut last = Ok(None);
    for m in encode(s, p) {
        last = d.decode(m);
    }
    last
}

fn run_decoder(s: Serializer, limits: DecoderLimits, msgs: &[Data]) {
    let mut d = Decoder::new(s, limits);
    for m in msgs {
        match d.decode(m.clone()) {
            Ok(Some(p)) => {
                assert!(!d.is_mid_packet());
                let (count, bytes) = packet_binary(&p);
                assert!(bytes <= limits.max_binary_bytes);
                match s {
                    Serializer::Default => {
                        assert!(count <= limits.max_attachments);
                        let again = redecode(s, &p).expect("re-encoded packet decodes");
                        let again = again.expect("re-encoded packet is complete");
                        assert_eq!(again.nsp(), p.nsp());
                        assert_eq!(again.packet_type(), p.packet_type());
                    }
                    Serializer::MsgPack => {
                        assert_eq!(redecode(s, &p), Ok(Some(p)));
                    }
                }
            }
            Ok(None) => assert!(d.is_mid_packet()),
            Err(_) => assert!(!d.is_mid_packet()),
        }
    }
}

fn run_client(s: Serializer, limits: DecoderLimits, msgs: &[Data]) {
    let mut c = ClientState::new(s, limits);
    c.handle_engine_open();
    c.connect("/", None);
    c.connect("/admin", None);
    for (i, m) in msgs.iter().enumerate() {
        let _ = c.handle_message(m.clone());
        while let Some(e) = c.poll_event() {
            if let socketio_proto::Event::Event {
                nsp,
                ack_id: Some(id),
                args,
                ..
            } = e
            {
                c.ack(&nsp, id, args)
                    .expect("namespace of an event is connected");
            }
        }
        for (nsp, _) in c.namespaces() {
            c.emit(&nsp, "x", vec![Value::from(i as u64)], i % 2 == 0)
                .expect("listed namespace is connected");
        }
        while c.poll_transmit().is_some() {}
    }
    c.handle_engine_close(DisconnectReason::TransportClose);
    while c.poll_event().is_some() {}
    assert!(c.is_idle());
    assert_eq!(c.poll_transmit(), None);
}

fuzz_target!(|data: &[u8]| {
    let Some((&head, body)) = data.split_first() else {
        return;
    };
    let limits = DecoderLimits::default()
        .with_max_attachments(usize::from(head & 7))
        .with_max_binary_bytes(usize::from(head >> 3) * 16);
    let msgs = messages(body);
    for s in [Serializer::Default, Serializer::MsgPack] {
        run_decoder(s, limits, &msgs);
        run_client(s, limits, &msgs);
    }
});
