//! Codec tests: the spec README's byte literals, notepack-shaped msgpack
//! vectors, limits, malformed input, and round trips.

use bytes::Bytes;
use engineio_proto::Data;
use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::{Map, Packet, Value};

fn v(j: serde_json::Value) -> Value {
    Value::from(j)
}

fn t(s: &str) -> Data {
    Data::from(s)
}

fn b(bytes: &[u8]) -> Data {
    Data::from(bytes.to_vec())
}

fn decoder(s: Serializer) -> Decoder {
    Decoder::new(s, DecoderLimits::default())
}

/// Decodes a whole sequence of messages, expecting one packet at the end.
fn decode_all(s: Serializer, msgs: &[Data]) -> Result<Packet, DecodeError> {
    let mut d = decoder(s);
    let (last, init) = msgs.split_last().expect("messages");
    for m in init {
        assert_eq!(d.decode(m.clone())?, None);
        assert!(d.is_mid_packet());
    }
    let p = d.decode(last.clone())?.expect("a packet");
    assert!(!d.is_mid_packet());
    Ok(p)
}

fn ev(nsp: &str, id: Option<u64>, name: &str, args: Vec<Value>) -> Packet {
    Packet::Event {
        nsp: nsp.into(),
        id,
        name: name.into(),
        args,
    }
}

fn ack(nsp: &str, id: u64, args: Vec<Value>) -> Packet {
    Packet::Ack {
        nsp: nsp.into(),
        id,
        args,
    }
}

fn bin(bytes: &[u8]) -> Value {
    Value::from(bytes.to_vec())
}

/// Every example of the spec README's "Packet encoding" section: the
/// packet, then the exact messages.
fn spec_examples() -> Vec<(Packet, Vec<Data>)> {
    let connect = |nsp: &str, data: Option<serde_json::Value>| Packet::Connect {
        nsp: nsp.into(),
        data: data.map(v),
    };
    let placeholder = |n: u32| format!(r#"{{"_placeholder":true,"num":{n}}}"#);
    vec![
        (connect("/", None), vec![t("0")]),
        (
            connect("/", Some(json!({"sid": "wZX3oN0bSVIhsaknAAAI"}))),
            vec![t(r#"0{"sid":"wZX3oN0bSVIhsaknAAAI"}"#)],
        ),
        (connect("/admin", None), vec![t("0/admin,")]),
        (
            connect("/admin", Some(json!({"sid": "oSO0OpakMV_3jnilAAAA"}))),
            vec![t(r#"0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#)],
        ),
        (
            connect("/admin", Some(json!({"token": "123"}))),
            vec![t(r#"0/admin,{"token":"123"}"#)],
        ),
        (
            Packet::ConnectError {
                nsp: "/".into(),
                data: v(json!({"message": "Not authorized"})),
            },
            vec![t(r#"4{"message":"Not authorized"}"#)],
        ),
        (ev("/", None, "foo", vec![]), vec![t(r#"2["foo"]"#)]),
        (
            ev("/admin", None, "bar", vec![]),
            vec![t(r#"2/admin,["bar"]"#)],
        ),
        (
            ev("/", None, "baz", vec![bin(&[1, 2, 3, 4])]),
            vec![
                t(&format!(r#"51-["baz",{}]"#, placeholder(0))),
                b(&[1, 2, 3, 4]),
            ],
        ),
        (
            ev("/admin", None, "baz", vec![bin(&[1, 2]), bin(&[3, 4])]),
            vec![
                t(&format!(
                    r#"52-/admin,["baz",{},{}]"#,
                    placeholder(0),
                    placeholder(1)
                )),
                b(&[1, 2]),
                b(&[3, 4]),
            ],
        ),
        (ev("/", Some(12), "foo", vec![]), vec![t(r#"212["foo"]"#)]),
        (ack("/", 12, vec![]), vec![t("312[]")]),
        (
            ev("/admin", Some(13), "foo", vec![]),
            vec![t(r#"2/admin,13["foo"]"#)],
        ),
        (
            ack("/admin", 13, vec![Value::from("bar")]),
            vec![t(r#"3/admin,13["bar"]"#)],
        ),
        (
            ev("/", Some(14), "foo", vec![bin(&[1, 2, 3, 4])]),
            vec![
                t(&format!(r#"51-14["foo",{}]"#, placeholder(0))),
                b(&[1, 2, 3, 4]),
            ],
        ),
        (
            ack("/", 14, vec![Value::from("bar")]),
            vec![t(r#"314["bar"]"#)],
        ),
        (ev("/", Some(15), "foo", vec![]), vec![t(r#"215["foo"]"#)]),
        (
            ack("/", 15, vec![Value::from("bar"), bin(&[1, 2, 3, 4])]),
            vec![
                t(&format!(r#"61-15["bar",{}]"#, placeholder(0))),
                b(&[1, 2, 3, 4]),
            ],
        ),
        (Packet::Disconnect { nsp: "/".into() }, vec![t("1")]),
        (
            Packet::Disconnect {
                nsp: "/admin".into(),
            },
            vec![t("1/admin,")],
        ),
        // The sample session.
        (
            ev("/", None, "hey", vec![Value::from("Jude")]),
            vec![t(r#"2["hey","Jude"]"#)],
        ),
    ]
}

#[test]
fn spec_examples_encode() {
    for (packet, wire) in spec_examples() {
        assert_eq!(encode(Serializer::Default, &packet), wire, "{packet:?}");
    }
}

#[test]
fn spec_examples_decode() {
    for (packet, wire) in spec_examples() {
        assert_eq!(decode_all(Serializer::Default, &wire), Ok(packet));
    }
}

#[test]
fn nested_binary_in_depth_first_order() {
    let args = vec![
        v(json!({"a": 1})),
        Value::Object(Map::from_iter([
            ("x".into(), bin(b"x")),
            (
                "list".into(),
                Value::Array(vec![bin(b"y"), Value::Null, bin(b"z")]),
            ),
        ])),
        bin(b"w"),
    ];
    let p = ev("/", None, "e", args);
    let wire = encode(Serializer::Default, &p);
    assert_eq!(
        wire[0],
        t(concat!(
            r#"54-["e",{"a":1},{"x":{"_placeholder":true,"num":0},"#,
            r#""list":[{"_placeholder":true,"num":1},null,{"_placeholder":true,"num":2}]},"#,
            r#"{"_placeholder":true,"num":3}]"#
        ))
    );
    assert_eq!(&wire[1..], &[b(b"x"), b(b"y"), b(b"z"), b(b"w")]);
    assert_eq!(decode_all(Serializer::Default, &wire), Ok(p));
    // Placeholders may come in any order on the wire.
    let wire = [
        t(r#"52-["e",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]"#),
        b(b"first"),
        b(b"second"),
    ];
    assert_eq!(
        decode_all(Serializer::Default, &wire),
        Ok(ev("/", None, "e", vec![bin(b"second"), bin(b"first")]))
    );
}

#[test]
fn decode_leniencies_of_socket_io_parser() {
    let d = |s: &str| decode_all(Serializer::Default, &[t(s)]);
    // A number as event name.
    assert_eq!(
        d("2[42,1]"),
        Ok(ev("/", None, "42", vec![Value::from(1u64)]))
    );
    // Namespace without a trailing comma.
    assert_eq!(
        d("1/admin"),
        Ok(Packet::Disconnect {
            nsp: "/admin".into()
        })
    );
    // CONNECT_ERROR as a plain string (v4 servers), or empty.
    assert_eq!(
        d(r#"4/a,"nope""#),
        Ok(Packet::ConnectError {
            nsp: "/a".into(),
            data: Value::from("nope")
        })
    );
    assert_eq!(
        d("4"),
        Ok(Packet::ConnectError {
            nsp: "/".into(),
            data: Value::Null
        })
    );
    // A binary packet announcing no attachment is complete at once.
    assert_eq!(d(r#"50-["a"]"#), Ok(ev("/", None, "a", vec![])));
    // A placeholder-looking object in a plain EVENT stays an object.
    assert_eq!(
        d(r#"2["a",{"_placeholder":true,"num":0}]"#),
        Ok(ev(
            "/",
            None,
            "a",
            vec![v(json!({"_placeholder": true, "num": 0}))]
        ))
    );
    // Object keys keep their order.
    let Ok(Packet::Event { args, .. }) = d(r#"2["a",{"z":1,"a":2}]"#) else {
        panic!()
    };
    let keys: Vec<&String> = args[0].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["z", "a"]);
}

#[test]
fn malformed_default() {
    let d = |s: &str| decode_all(Serializer::Default, &[t(s)]);
    let inv = |kind| Err(DecodeError::InvalidPayload { kind });
    assert_eq!(d(""), Err(DecodeError::Empty));
    assert_eq!(d("7"), Err(DecodeError::UnknownType(b'7')));
    assert_eq!(d("x"), Err(DecodeError::UnknownType(b'x')));
    assert_eq!(d(r#"5["a"]"#), Err(DecodeError::BadAttachmentCount));
    assert_eq!(d(r#"5-["a"]"#), Err(DecodeError::BadAttachmentCount));
    assert_eq!(d("51"), Err(DecodeError::BadAttachmentCount));
    assert_eq!(d(r#"5x-["a"]"#), Err(DecodeError::BadAttachmentCount));
    assert_eq!(
        d(r#"299999999999999999999["a"]"#),
        Err(DecodeError::BadAckId)
    );
    assert!(matches!(d("2[\"a\""), Err(DecodeError::InvalidJson(_))));
    assert!(matches!(d("2[\"a\"]x"), Err(DecodeError::InvalidJson(_))));
    assert_eq!(d("0[]"), inv("CONNECT"));
    assert_eq!(d(r#"0"s""#), inv("CONNECT"));
    assert_eq!(d("1{}"), inv("DISCONNECT"));
    assert_eq!(d("4[]"), inv("CONNECT_ERROR"));
    assert_eq!(d("4 1"), inv("CONNECT_ERROR"));
    assert_eq!(d("2"), inv("EVENT"));
    assert_eq!(d("2[]"), inv("EVENT"));
    assert_eq!(d("2{}"), inv("EVENT"));
    assert_eq!(d("2[null]"), inv("EVENT"));
    assert_eq!(d(r#"2["connect"]"#), inv("EVENT"));
    assert_eq!(d(r#"2["disconnect",1]"#), inv("EVENT"));
    assert_eq!(d(r#"51-[]"#), inv("BINARY_EVENT"));
    assert_eq!(d("3[]"), Err(DecodeError::BadAckId));
    assert_eq!(d("31"), inv("ACK"));
    assert_eq!(d("31{}"), inv("ACK"));
    assert_eq!(
        d(r#"51-["a",{"_placeholder":true,"num":1}]"#),
        Err(DecodeError::BadPlaceholder)
    );
    assert_eq!(
        d(r#"51-["a",{"_placeholder":true,"num":-1}]"#),
        Err(DecodeError::BadPlaceholder)
    );
    assert_eq!(
        d(r#"51-["a",{"_placeholder":true}]"#),
        Err(DecodeError::BadPlaceholder)
    );
    assert_eq!(
        d(r#"50-["a",{"_placeholder":true,"num":0}]"#),
        Err(DecodeError::BadPlaceholder)
    );
}

#[test]
fn message_order_errors_reset_the_decoder() {
    let mut d = decoder(Serializer::Default);
    assert_eq!(d.decode(b(b"x")), Err(DecodeError::UnexpectedBinary));
    assert_eq!(
        d.decode(t(r#"52-["a",{"_placeholder":true,"num":0}]"#)),
        Ok(None)
    );
    assert_eq!(d.decode(b(b"1")), Ok(None));
    assert_eq!(d.decode(t(r#"2["b"]"#)), Err(DecodeError::UnexpectedText));
    assert!(!d.is_mid_packet());
    // Reset: the next text message is decoded normally.
    assert_eq!(
        d.decode(t(r#"2["b"]"#)),
        Ok(Some(ev("/", None, "b", vec![])))
    );
    assert_eq!(
        d.decode(t(r#"51-["a",{"_placeholder":true,"num":0}]"#)),
        Ok(None)
    );
    d.reset();
    assert!(!d.is_mid_packet());
    assert_eq!(d.decode(b(b"1")), Err(DecodeError::UnexpectedBinary));
}

#[test]
fn limits() {
    let limits = DecoderLimits::default()
        .with_max_attachments(2)
        .with_max_binary_bytes(10);
    assert_eq!(DecoderLimits::default().max_attachments, 1000);
    assert_eq!(DecoderLimits::default().max_binary_bytes, 64 * 1024 * 1024);
    let mut d = Decoder::new(Serializer::Default, limits);
    assert_eq!(
        d.decode(t(r#"53-["a"]"#)),
        Err(DecodeError::TooManyAttachments { count: 3, max: 2 })
    );
    assert_eq!(
        d.decode(t("5999999999999999999999999-[\"a\"]")),
        Err(DecodeError::TooManyAttachments {
            count: usize::MAX,
            max: 2
        })
    );
    assert!(!d.is_mid_packet());
    assert_eq!(d.decode(t(r#"52-["a"]"#)), Ok(None));
    assert_eq!(d.decode(b(&[0; 6])), Ok(None));
    assert_eq!(
        d.decode(b(&[0; 5])),
        Err(DecodeError::BinaryTooLarge { max: 10 })
    );
    assert!(!d.is_mid_packet());
    // Exactly at the limit is fine.
    assert_eq!(d.decode(t(r#"52-["a"]"#)), Ok(None));
    assert_eq!(d.decode(b(&[0; 5])), Ok(None));
    assert!(d.decode(b(&[0; 5])).unwrap().is_some());

    let mut m = Decoder::new(Serializer::MsgPack, limits);
    let p = ev("/", None, "a", vec![bin(&[0; 6]), bin(&[0; 5])]);
    let wire = encode(Serializer::MsgPack, &p);
    assert_eq!(
        m.decode(wire[0].clone()),
        Err(DecodeError::BinaryTooLarge { max: 10 })
    );
}

fn nested_json(depth: usize) -> String {
    format!(r#"2["a",{}{}]"#, "[".repeat(depth), "]".repeat(depth))
}

#[test]
fn nesting_is_bounded() {
    let mut d = decoder(Serializer::Default);
    assert!(d.decode(t(&nested_json(100))).unwrap().is_some());
    assert!(matches!(
        d.decode(t(&nested_json(200))),
        Err(DecodeError::InvalidJson(_))
    ));
    assert!(matches!(
        d.decode(t(&nested_json(100_000))),
        Err(DecodeError::InvalidJson(_))
    ));

    let msgpack_nested = |depth: usize| {
        let mut m = b"\x83\xa4type\x02\xa3nsp\xa1/\xa4data\x92\xa1a".to_vec();
        m.extend(std::iter::repeat_n(0x91u8, depth));
        m.push(0xc0);
        Data::from(m)
    };
    let mut d = decoder(Serializer::MsgPack);
    assert!(d.decode(msgpack_nested(100)).unwrap().is_some());
    assert_eq!(
        d.decode(msgpack_nested(200)),
        Err(DecodeError::TooDeep { max: MAX_DEPTH })
    );
    assert_eq!(
        d.decode(msgpack_nested(1_000_000)),
        Err(DecodeError::TooDeep { max: MAX_DEPTH })
    );
}

// ---- msgpack ----

/// Byte vectors shaped as notepack.io writes them (keys in insertion
/// order, smallest encodings), with the packet they stand for.
fn notepack_vectors() -> Vec<(&'static [u8], Packet)> {
    vec![
        // {type:2,data:["hello",1],nsp:"/"}
        (
            b"\x83\xa4type\x02\xa4data\x92\xa5hello\x01\xa3nsp\xa1/",
            ev("/", None, "hello", vec![Value::from(1u64)]),
        ),
        // {type:0,data:{sid:"abc"},nsp:"/admin"}
        (
            b"\x83\xa4type\x00\xa4data\x81\xa3sid\xa3abc\xa3nsp\xa6/admin",
            Packet::Connect {
                nsp: "/admin".into(),
                data: Some(v(json!({"sid": "abc"}))),
            },
        ),
        // {type:2,data:["file",Buffer<01 02 03>],nsp:"/"}
        (
            b"\x83\xa4type\x02\xa4data\x92\xa4file\xc4\x03\x01\x02\x03\xa3nsp\xa1/",
            ev("/", None, "file", vec![bin(&[1, 2, 3])]),
        ),
        // {type:3,data:["ok",-1,1.5],nsp:"/",id:7}
        (
            b"\x84\xa4type\x03\xa4data\x93\xa2ok\xff\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00\xa3nsp\xa1/\xa2id\x07",
            ack("/", 7, vec![Value::from("ok"), Value::from(-1i64), Value::from(1.5)]),
        ),
        // {type:2,data:["big",300,-200,70000],nsp:"/",id:300}
        (
            b"\x84\xa4type\x02\xa4data\x94\xa3big\xcd\x01\x2c\xd1\xff\x38\xce\x00\x01\x11\x70\xa3nsp\xa1/\xa2id\xcd\x01\x2c",
            ev(
                "/",
                Some(300),
                "big",
                vec![Value::from(300u64), Value::from(-200i64), Value::from(70000u64)],
            ),
        ),
        // {type:1,nsp:"/admin"}
        (
            b"\x82\xa4type\x01\xa3nsp\xa6/admin",
            Packet::Disconnect {
                nsp: "/admin".into(),
            },
        ),
        // {type:4,data:{message:"Not authorized"},nsp:"/"}
        (
            b"\x83\xa4type\x04\xa4data\x81\xa7message\xaeNot authorized\xa3nsp\xa1/",
            Packet::ConnectError {
                nsp: "/".into(),
                data: v(json!({"message": "Not authorized"})),
            },
        ),
    ]
}

#[test]
fn msgpack_vectors_both_ways() {
    for (bytes, packet) in notepack_vectors() {
        assert_eq!(
            encode(Serializer::MsgPack, &packet),
            vec![b(bytes)],
            "{packet:?}"
        );
        assert_eq!(decode_all(Serializer::MsgPack, &[b(bytes)]), Ok(packet));
    }
}

#[test]
fn msgpack_decode_accepts_every_width_and_order() {
    let d = |bytes: &[u8]| decode_all(Serializer::MsgPack, &[b(bytes)]);
    // socket.io-client: {type, data, options, nsp, id}.
    assert_eq!(
        d(b"\x85\xa4type\x02\xa4data\x91\xa1a\xa7options\x81\xa8compress\xc3\xa3nsp\xa1/\xa2id\x01"),
        Ok(ev("/", Some(1), "a", vec![]))
    );
    // Keys in another order; wide forms of everything; map16, arr16,
    // str8/16/32, bin16/32, float32, int8/16/32/64, uint8/64.
    let mut m = vec![0xde, 0x00, 0x04];
    m.extend(b"\xa2id\xcf\x00\x00\x00\x00\x00\x00\x00\x09");
    m.extend(b"\xd9\x03nsp\xda\x00\x02/x");
    m.extend(b"\xdb\x00\x00\x00\x04data\xdc\x00\x09");
    m.extend(b"\xd9\x01e"); // name
    m.extend(b"\xc5\x00\x01\xaa"); // bin16
    m.extend(b"\xc6\x00\x00\x00\x01\xbb"); // bin32
    m.extend(b"\xca\x3f\xc0\x00\x00"); // float32 1.5
    m.extend(b"\xd0\x80\xd1\x80\x00\xd2\x80\x00\x00\x00"); // int8/16/32 minimums
    m.extend(b"\xd3\x80\x00\x00\x00\x00\x00\x00\x00"); // int64 min
    m.extend(b"\xdd\x00\x00\x00\x01\xdf\x00\x00\x00\x01\xa1k\xcc\xff"); // [ {k:255} ]
    m.extend(b"\xa4type\xcc\x02");
    assert_eq!(
        d(&m),
        Ok(ev(
            "/x",
            Some(9),
            "e",
            vec![
                bin(&[0xaa]),
                bin(&[0xbb]),
                Value::from(1.5),
                Value::from(-128i64),
                Value::from(-32768i64),
                Value::from(i64::from(i32::MIN)),
                Value::from(i64::MIN),
                v(json!([{"k": 255}])),
            ]
        ))
    );
    // notepack's `undefined` (d4 00 00) is null; a float type; nil id; a
    // numeric event name; empty nsp means "/".
    assert_eq!(
        d(b"\x83\xa4type\xcb\x40\x00\x00\x00\x00\x00\x00\x00\xa4data\x92\x07\xd4\x00\x00\xa3nsp\xa0"),
        Ok(ev("/", None, "7", vec![Value::Null]))
    );
    assert_eq!(
        d(b"\x83\xa4type\x00\xa4data\xd4\x00\x00\xa3nsp\xa1/"),
        Ok(Packet::Connect {
            nsp: "/".into(),
            data: None
        })
    );
    // python-socketio writes data: nil for DISCONNECT.
    assert_eq!(
        d(b"\x83\xa4type\x01\xa4data\xc0\xa3nsp\xa1/"),
        Ok(Packet::Disconnect { nsp: "/".into() })
    );
    assert_eq!(
        d(b"\x84\xa4type\x02\xa4data\x91\xa1a\xa3nsp\xa1/\xa2id\xc0"),
        Ok(ev("/", None, "a", vec![]))
    );
    // Reserved names are not checked by the msgpack parser.
    assert_eq!(
        d(b"\x83\xa4type\x02\xa4data\x91\xa7connect\xa3nsp\xa1/"),
        Ok(ev("/", None, "connect", vec![]))
    );
}

#[test]
fn msgpack_encode_widths() {
    let p = ev(
        "/",
        None,
        "e",
        vec![
            Value::from(127u64),
            Value::from(128u64),
            Value::from(65536u64),
            Value::from(u64::MAX),
            Value::from(-32i64),
            Value::from(-33i64),
            Value::from(-129i64),
            Value::from(-40000i64),
            Value::from(i64::MIN),
            Value::from("x".repeat(32)),
            bin(&[0; 256]),
            Value::Array(vec![Value::Null; 16]),
        ],
    );
    let Data::Binary(out) = &encode(Serializer::MsgPack, &p)[0] else {
        panic!()
    };
    let mut want = b"\x83\xa4type\x02\xa4data\x9d\xa1e\x7f\xcc\x80\xce\x00\x01\x00\x00".to_vec();
    want.extend(b"\xcf\xff\xff\xff\xff\xff\xff\xff\xff\xe0\xd0\xdf\xd1\xff\x7f");
    want.extend(b"\xd2\xff\xff\x63\xc0\xd3\x80\x00\x00\x00\x00\x00\x00\x00");
    want.extend(b"\xd9\x20");
    want.extend(std::iter::repeat_n(b'x', 32));
    want.extend(b"\xc5\x01\x00");
    want.extend([0u8; 256]);
    want.extend(b"\xdc\x00\x10");
    want.extend([0xc0u8; 16]);
    want.extend(b"\xa3nsp\xa1/");
    assert_eq!(&out[..], &want[..]);
    assert_eq!(
        decode_all(Serializer::MsgPack, &[Data::Binary(out.clone())]),
        Ok(p)
    );
}

#[test]
fn malformed_msgpack() {
    let d = |bytes: &[u8]| decode_all(Serializer::MsgPack, &[b(bytes)]);
    let is_msgpack = |r: Result<Packet, DecodeError>| matches!(r, Err(DecodeError::MsgPack(_)));
    assert_eq!(
        d(b"\x82\xa4type\x05\xa3nsp\xa1/"),
        Err(DecodeError::BadType)
    );
    assert_eq!(
        d(b"\x82\xa4type\xff\xa3nsp\xa1/"),
        Err(DecodeError::BadType)
    );
    assert_eq!(
        d(b"\x82\xa4type\xa1a\xa3nsp\xa1/"),
        Err(DecodeError::BadType)
    );
    assert_eq!(d(b"\x81\xa3nsp\xa1/"), Err(DecodeError::BadType));
    assert_eq!(d(b"\x81\xa4type\x00"), Err(DecodeError::BadNamespace));
    assert_eq!(
        d(b"\x82\xa4type\x00\xa3nsp\x01"),
        Err(DecodeError::BadNamespace)
    );
    assert_eq!(
        d(b"\x84\xa4type\x02\xa4data\x91\xa1a\xa3nsp\xa1/\xa2id\xff"),
        Err(DecodeError::BadAckId)
    );
    assert_eq!(
        d(b"\x84\xa4type\x02\xa4data\x91\xa1a\xa3nsp\xa1/\xa2id\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00"),
        Err(DecodeError::BadAckId)
    );
    assert_eq!(
        d(b"\x83\xa4type\x03\xa4data\x90\xa3nsp\xa1/"),
        Err(DecodeError::BadAckId)
    );
    let inv = |kind| Err(DecodeError::InvalidPayload { kind });
    assert_eq!(
        d(b"\x83\xa4type\x00\xa4data\x90\xa3nsp\xa1/"),
        inv("CONNECT")
    );
    assert_eq!(
        d(b"\x83\xa4type\x01\xa4data\x80\xa3nsp\xa1/"),
        inv("DISCONNECT")
    );
    assert_eq!(
        d(b"\x83\xa4type\x04\xa4data\x01\xa3nsp\xa1/"),
        inv("CONNECT_ERROR")
    );
    assert_eq!(d(b"\x83\xa4type\x02\xa4data\x90\xa3nsp\xa1/"), inv("EVENT"));
    assert_eq!(
        d(b"\x83\xa4type\x02\xa4data\x91\xc3\xa3nsp\xa1/"),
        inv("EVENT")
    );
    assert_eq!(d(b"\x82\xa4type\x02\xa3nsp\xa1/"), inv("EVENT"));
    assert_eq!(
        d(b"\x84\xa4type\x03\xa4data\x80\xa3nsp\xa1/\xa2id\x01"),
        inv("ACK")
    );
    assert!(is_msgpack(d(b"")));
    assert!(is_msgpack(d(b"\x92\x01\x02")));
    assert!(is_msgpack(d(b"\x82\xa4type\x00\xa3nsp\xa1/\x00")));
    assert!(is_msgpack(d(b"\x82\xa4type\x00\xa3nsp\xa1")));
    assert!(is_msgpack(d(b"\x82\x01\x00\xa3nsp\xa1/")));
    assert!(is_msgpack(d(b"\xc1")));
    assert!(is_msgpack(d(b"\x82\xa4type\x00\xa3nsp\xa1\xff")));
    assert!(is_msgpack(d(
        b"\x82\xa4type\xd7\xff\x00\x00\x00\x00\x00\x00\x00\x00\xa3nsp\xa1/"
    )));
    // Huge declared lengths with no bytes behind them.
    assert!(is_msgpack(d(b"\xdd\xff\xff\xff\xff")));
    assert!(is_msgpack(d(b"\xdf\xff\xff\xff\xff")));
    assert!(is_msgpack(d(b"\xdb\xff\xff\xff\xff")));
    assert!(is_msgpack(d(b"\x81\xa1x\xc6\x00\xff\xff\xff")));
    assert_eq!(
        decoder(Serializer::MsgPack).decode(t("2[\"a\"]")),
        Err(DecodeError::UnexpectedText)
    );
}

// ---- round trips ----

fn arb_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<u64>().prop_map(Value::from),
        (i64::MIN..0).prop_map(Value::from),
        // Floats with a short exact decimal form, so JSON text round-trips.
        (-1_000_000i32..1_000_000, 0u32..4)
            .prop_map(|(m, e)| { Value::from(f64::from(m) / f64::from(2u32.pow(e)) + 0.5) }),
    ]
}

fn arb_value(binary: bool) -> impl Strategy<Value = Value> {
    let scalar = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        arb_number(),
        any::<String>().prop_map(Value::String),
    ];
    let leaf = if binary {
        prop_oneof![
            3 => scalar,
            1 => proptest::collection::vec(any::<u8>(), 0..20).prop_map(Value::from),
        ]
        .boxed()
    } else {
        scalar.boxed()
    };
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::vec(("[a-z$_]{0,6}", inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn arb_object(binary: bool) -> impl Strategy<Value = Value> {
    proptest::collection::vec(("[a-z]{0,6}", arb_value(binary)), 0..4)
        .prop_map(|kv| Value::Object(kv.into_iter().collect()))
}

fn arb_nsp() -> impl Strategy<Value = String> {
    prop_oneof![Just("/".to_owned()), "/[a-z0-9_/-]{1,10}"]
}

fn arb_name() -> impl Strategy<Value = String> {
    any::<String>().prop_filter("not reserved", |n| !RESERVED_EVENTS.contains(&n.as_str()))
}

/// Packets that decode back to themselves. CONNECT and CONNECT_ERROR
/// payloads hold binary only under msgpack (the default parser has no
/// attachments for them).
fn arb_packet(msgpack: bool) -> impl Strategy<Value = Packet> {
    let args = proptest::collection::vec(arb_value(true).boxed(), 0..5);
    prop_oneof![
        (arb_nsp(), proptest::option::of(arb_object(msgpack)))
            .prop_map(|(nsp, data)| Packet::Connect { nsp, data }),
        arb_nsp().prop_map(|nsp| Packet::Disconnect { nsp }),
        (
            arb_nsp(),
            proptest::option::of(any::<u64>()),
            arb_name(),
            args.clone()
        )
            .prop_map(|(nsp, id, name, args)| Packet::Event {
                nsp,
                id,
                name,
                args
            }),
        (arb_nsp(), any::<u64>(), args).prop_map(|(nsp, id, args)| Packet::Ack { nsp, id, args }),
        (
            arb_nsp(),
            prop_oneof![
                Just(Value::Null),
                any::<String>().prop_map(Value::String),
                arb_object(msgpack)
            ]
        )
            .prop_map(|(nsp, data)| Packet::ConnectError { nsp, data }),
    ]
}

proptest! {
    #[test]
    fn default_round_trip(p in arb_packet(false)) {
        let wire = encode(Serializer::Default, &p);
        prop_assert!(matches!(wire[0], Data::Text(_)));
        prop_assert!(wire[1..].iter().all(Data::is_binary));
        prop_assert_eq!(decode_all(Serializer::Default, &wire), Ok(p));
    }

    #[test]
    fn msgpack_round_trip(p in arb_packet(true)) {
        let wire = encode(Serializer::MsgPack, &p);
        prop_assert_eq!(wire.len(), 1);
        prop_assert_eq!(decode_all(Serializer::MsgPack, &wire), Ok(p));
    }

    #[test]
    fn value_serde_round_trip(v in arb_value(true)) {
        prop_assert_eq!(crate::to_value(&v).unwrap(), v.clone());
        prop_assert_eq!(crate::from_value::<Value>(v.clone()).unwrap(), v.clone());
        prop_assert_eq!(Value::from_json_with_binary(v.to_json()), v);
    }

    #[test]
    fn arbitrary_messages_never_panic(
        msgs in proptest::collection::vec(
            (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..40)), 0..6)
    ) {
        for s in [Serializer::Default, Serializer::MsgPack] {
            let mut d = decoder(s);
            for (text, bytes) in &msgs {
                let data = if *text {
                    Data::from(String::from_utf8_lossy(bytes).into_owned())
                } else {
                    Data::Binary(Bytes::from(bytes.clone()))
                };
                let _ = d.decode(data);
            }
        }
    }
}
