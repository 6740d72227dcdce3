//! The reference Socket.IO servers work, checked WITHOUT our Socket.IO
//! client: the Socket.IO packets are written and read by hand over our
//! Engine.IO client (`engineio::Client`), in the default (text) encoding and
//! in socket.io-msgpack-parser's encoding (one msgpack map per packet).
//!
//! Run with `--nocapture` to see the CONNECT_ERROR payloads each server sends.

mod common;

use std::time::Duration;

use common::{SioPeerKind, SioServer, SioServerOpts};
use engineio::client::{Client, ClientEvent, Data, Events};
use serde_json::{json, Value};

const T: Duration = Duration::from_secs(10);

// --- packets by hand -------------------------------------------------------

/// A Socket.IO packet as `{"type":n,"nsp":..,"id":..?,"data":..?}`, the
/// shape of socket.io-msgpack-parser's maps; text packets are parsed into it.
fn packet(ty: u64, nsp: &str, data: Option<Value>) -> Value {
    let mut p = json!({ "type": ty, "nsp": nsp });
    if let Some(d) = data {
        p["data"] = d;
    }
    p
}

/// Text encoding: `<type>[<nsp>,][<json>]` (no attachments, no ack id here).
fn encode_text(p: &Value) -> String {
    let mut s = p["type"].to_string();
    let nsp = p["nsp"].as_str().unwrap();
    if nsp != "/" {
        s.push_str(nsp);
        s.push(',');
    }
    if let Some(d) = p.get("data") {
        s.push_str(&d.to_string());
    }
    s
}

/// Parses `<type>[<attachments>-][<nsp>,][<id>][<json>]`.
fn decode_text(s: &str) -> Value {
    let bytes = s.as_bytes();
    let ty = u64::from(bytes[0] - b'0');
    let mut i = 1;
    let mut p = json!({ "type": ty });
    if ty == 5 || ty == 6 {
        let dash = s[i..].find('-').expect("attachments") + i;
        p["attachments"] = json!(s[i..dash].parse::<u64>().unwrap());
        i = dash + 1;
    }
    if bytes.get(i) == Some(&b'/') {
        let comma = s[i..].find(',').map_or(s.len(), |c| c + i);
        p["nsp"] = json!(&s[i..comma]);
        i = (comma + 1).min(s.len());
    } else {
        p["nsp"] = json!("/");
    }
    let digits = s[i..].bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 {
        p["id"] = json!(s[i..i + digits].parse::<u64>().unwrap());
        i += digits;
    }
    if i < s.len() {
        p["data"] =
            serde_json::from_str(&s[i..]).unwrap_or_else(|e| panic!("bad JSON in {s:?}: {e}"));
    }
    p
}

/// A little msgpack encoder for JSON values (maps keep their key order).
fn mp_encode(v: &Value, out: &mut Vec<u8>) {
    fn len_header(out: &mut Vec<u8>, len: usize, fix: u8, fix_max: usize, b16: u8, b32: u8) {
        if len <= fix_max {
            out.push(fix | len as u8);
        } else if len <= 0xffff {
            out.push(b16);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            out.push(b32);
            out.extend_from_slice(&(len as u32).to_be_bytes());
        }
    }
    match v {
        Value::Null => out.push(0xc0),
        Value::Bool(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                if u < 128 {
                    out.push(u as u8);
                } else {
                    out.push(0xcf);
                    out.extend_from_slice(&u.to_be_bytes());
                }
            } else if let Some(i) = n.as_i64() {
                out.push(0xd3);
                out.extend_from_slice(&i.to_be_bytes());
            } else {
                out.push(0xcb);
                out.extend_from_slice(&n.as_f64().unwrap().to_be_bytes());
            }
        }
        Value::String(s) => {
            if s.len() < 32 {
                out.push(0xa0 | s.len() as u8);
            } else {
                len_header(out, s.len(), 0, 0, 0xda, 0xdb);
            }
            out.extend_from_slice(s.as_bytes());
        }
        Value::Array(a) => {
            len_header(out, a.len(), 0x90, 15, 0xdc, 0xdd);
            for x in a {
                mp_encode(x, out);
            }
        }
        Value::Object(m) => {
            len_header(out, m.len(), 0x80, 15, 0xde, 0xdf);
            for (k, x) in m {
                mp_encode(&Value::String(k.clone()), out);
                mp_encode(x, out);
            }
        }
    }
}

/// A little msgpack decoder; `bin` becomes `{"$binary":"<hex>"}`, `ext`
/// becomes `{"$ext":type,"hex":..}`.
fn mp_decode(buf: &[u8], pos: &mut usize) -> Value {
    fn take<'a>(buf: &'a [u8], pos: &mut usize, n: usize) -> &'a [u8] {
        let s = &buf[*pos..*pos + n];
        *pos += n;
        s
    }
    fn uint(buf: &[u8], pos: &mut usize, n: usize) -> u64 {
        take(buf, pos, n)
            .iter()
            .fold(0, |acc, b| acc << 8 | u64::from(*b))
    }
    fn int(buf: &[u8], pos: &mut usize, n: usize) -> i64 {
        let u = uint(buf, pos, n);
        let shift = 64 - 8 * n as u32;
        ((u << shift) as i64) >> shift
    }
    fn str_(buf: &[u8], pos: &mut usize, n: usize) -> Value {
        Value::String(String::from_utf8(take(buf, pos, n).to_vec()).expect("utf-8"))
    }
    fn arr(buf: &[u8], pos: &mut usize, n: usize) -> Value {
        Value::Array((0..n).map(|_| mp_decode(buf, pos)).collect())
    }
    fn map(buf: &[u8], pos: &mut usize, n: usize) -> Value {
        let mut m = serde_json::Map::new();
        for _ in 0..n {
            let k = match mp_decode(buf, pos) {
                Value::String(s) => s,
                other => other.to_string(),
            };
            m.insert(k, mp_decode(buf, pos));
        }
        Value::Object(m)
    }
    fn bin(buf: &[u8], pos: &mut usize, n: usize) -> Value {
        common::binary_json(take(buf, pos, n))
    }
    fn ext(buf: &[u8], pos: &mut usize, n: usize) -> Value {
        let ty = take(buf, pos, 1)[0] as i8;
        json!({ "$ext": ty, "hex": common::hex(take(buf, pos, n)) })
    }
    let b = take(buf, pos, 1)[0];
    match b {
        0x00..=0x7f => json!(b),
        0x80..=0x8f => map(buf, pos, usize::from(b & 0x0f)),
        0x90..=0x9f => arr(buf, pos, usize::from(b & 0x0f)),
        0xa0..=0xbf => str_(buf, pos, usize::from(b & 0x1f)),
        0xc0 => Value::Null,
        0xc2 => json!(false),
        0xc3 => json!(true),
        0xc4..=0xc6 => {
            let n = uint(buf, pos, 1 << (b - 0xc4)) as usize;
            bin(buf, pos, n)
        }
        0xc7..=0xc9 => {
            let n = uint(buf, pos, 1 << (b - 0xc7)) as usize;
            ext(buf, pos, n)
        }
        0xca => json!(f32::from_be_bytes(take(buf, pos, 4).try_into().unwrap())),
        0xcb => json!(f64::from_be_bytes(take(buf, pos, 8).try_into().unwrap())),
        0xcc..=0xcf => json!(uint(buf, pos, 1 << (b - 0xcc))),
        0xd0..=0xd3 => json!(int(buf, pos, 1 << (b - 0xd0))),
        0xd4..=0xd8 => ext(buf, pos, 1 << (b - 0xd4)),
        0xd9..=0xdb => {
            let n = uint(buf, pos, 1 << (b - 0xd9)) as usize;
            str_(buf, pos, n)
        }
        0xdc | 0xdd => {
            let n = uint(buf, pos, 2 << (b - 0xdc)) as usize;
            arr(buf, pos, n)
        }
        0xde | 0xdf => {
            let n = uint(buf, pos, 2 << (b - 0xde)) as usize;
            map(buf, pos, n)
        }
        0xe0..=0xff => json!(i64::from(b as i8)),
        0xc1 => panic!("msgpack: 0xc1 is never used"),
    }
}

/// One Socket.IO packet over our Engine.IO connection.
struct Conn {
    client: Client,
    events: Events,
    msgpack: bool,
}

impl Conn {
    async fn open(server: &SioServer, msgpack: bool) -> Conn {
        let client = Client::builder()
            .engineio_path("/socket.io/")
            .handle_sigint(false)
            .connect(server.url())
            .await
            .unwrap_or_else(|e| panic!("Engine.IO connect to {}: {e}", server.url()));
        let events = client.events();
        Conn {
            client,
            events,
            msgpack,
        }
    }

    fn send(&self, p: &Value) {
        if self.msgpack {
            let mut buf = Vec::new();
            mp_encode(p, &mut buf);
            self.client.send(buf).unwrap();
        } else {
            self.client.send(encode_text(p)).unwrap();
        }
    }

    /// The next Socket.IO packet, and its raw form (text, or hex of the
    /// msgpack bytes) for printing.
    async fn recv(&mut self) -> (Value, String) {
        loop {
            let ev = tokio::time::timeout(T, self.events.recv())
                .await
                .expect("no Engine.IO message within 10 s")
                .expect("Engine.IO connection ended");
            match ev {
                ClientEvent::Message(Data::Text(t)) => {
                    assert!(!self.msgpack, "text message with the msgpack parser: {t}");
                    return (decode_text(t.as_str()), t.as_str().to_owned());
                }
                ClientEvent::Message(Data::Binary(b)) => {
                    assert!(
                        self.msgpack,
                        "binary message with the default parser: {b:?}"
                    );
                    let mut pos = 0;
                    let p = mp_decode(&b, &mut pos);
                    assert_eq!(pos, b.len(), "trailing bytes after the msgpack packet");
                    return (p, common::hex(&b));
                }
                ClientEvent::Disconnect(r) => panic!("Engine.IO disconnected: {r}"),
                _ => {}
            }
        }
    }
}

// --- the smoke test ---------------------------------------------------------

async fn smoke(kind: SioPeerKind, msgpack: bool) {
    let label = format!("{kind}/{}", if msgpack { "msgpack" } else { "default" });
    let mut server = SioServer::start(
        kind,
        SioServerOpts {
            parser_msgpack: msgpack,
            ..Default::default()
        },
    );
    let mut conn = Conn::open(&server, msgpack).await;

    // CONNECT "/" → CONNECT {sid}, then the welcome EVENT.
    conn.send(&packet(0, "/", None));
    let (connect, raw) = conn.recv().await;
    println!("[{label}] CONNECT / answer: {raw}");
    println!("[{label}]   decoded: {connect}");
    assert_eq!(connect["type"], 0, "{connect}");
    assert_eq!(connect["nsp"], "/", "{connect}");
    let sid = connect["data"]["sid"]
        .as_str()
        .unwrap_or_else(|| panic!("no sid in {connect}"))
        .to_owned();
    let (welcome, _) = conn.recv().await;
    assert_eq!(welcome["type"], 2, "{welcome}");
    assert_eq!(
        welcome["data"],
        json!(["welcome", {"nsp": "/", "sid": sid, "auth": {}}]),
        "{welcome}"
    );

    // EVENT ["echo","hi"] → EVENT ["echo","hi"].
    conn.send(&packet(2, "/", Some(json!(["echo", "hi"]))));
    let (echo, raw) = conn.recv().await;
    assert_eq!(echo["type"], 2, "{echo}");
    assert_eq!(echo["nsp"], "/", "{echo}");
    assert_eq!(echo["data"], json!(["echo", "hi"]), "{raw}");

    let line = server.wait_ev(T, "connection", Some("/"));
    assert_eq!(line["sid"], sid.as_str(), "{line}");
    assert_eq!(line["auth"], json!({}), "{line}");
    assert!(
        line["transport"] == "polling" || line["transport"] == "websocket",
        "{line}"
    );
    let line = server.wait_log(T, |v| v["ev"] == "event" && v["name"] == "echo");
    assert_eq!(line["nsp"], "/", "{line}");
    assert_eq!(line["args"], json!(["hi"]), "{line}");

    // /admin without auth → CONNECT_ERROR (same payload from both servers).
    conn.send(&packet(0, "/admin", None));
    let (refused, raw) = conn.recv().await;
    println!("[{label}] CONNECT /admin (no auth) answer: {raw}");
    println!("[{label}]   decoded: {refused}");
    assert_eq!(refused["type"], 4, "{refused}");
    assert_eq!(refused["nsp"], "/admin", "{refused}");
    assert_eq!(
        refused["data"],
        json!({"message": "not authorized", "data": {"reason": "bad token"}}),
        "{refused}"
    );
    server.wait_ev(T, "refused", Some("/admin"));

    // /admin with the token → CONNECT, welcome with that auth.
    conn.send(&packet(0, "/admin", Some(json!({"token": "secret"}))));
    let (ok, raw) = conn.recv().await;
    assert_eq!(ok["type"], 0, "{raw}");
    assert_eq!(ok["nsp"], "/admin", "{raw}");
    let admin_sid = ok["data"]["sid"].as_str().expect("admin sid").to_owned();
    assert_ne!(admin_sid, sid);
    let (welcome, raw) = conn.recv().await;
    assert_eq!(welcome["nsp"], "/admin", "{raw}");
    assert_eq!(
        welcome["data"],
        json!(["welcome", {"nsp": "/admin", "sid": admin_sid, "auth": {"token": "secret"}}]),
        "{raw}"
    );

    // A dynamic namespace is accepted.
    conn.send(&packet(0, "/dyn-smoke_1", None));
    let (ok, raw) = conn.recv().await;
    assert_eq!(
        (ok["type"].as_u64(), ok["nsp"].as_str()),
        (Some(0), Some("/dyn-smoke_1")),
        "{raw}"
    );
    let (welcome, raw) = conn.recv().await;
    assert_eq!(welcome["data"][0], "welcome", "{raw}");
    server.wait_ev(T, "connection", Some("/dyn-smoke_1"));

    // An unknown namespace → the library's own CONNECT_ERROR.
    conn.send(&packet(0, "/nope", None));
    let (refused, raw) = conn.recv().await;
    println!("[{label}] CONNECT /nope answer: {raw}");
    println!("[{label}]   decoded: {refused}");
    assert_eq!(refused["type"], 4, "{refused}");
    assert_eq!(refused["nsp"], "/nope", "{refused}");
    let expected = match kind {
        SioPeerKind::Node => json!({"message": "Invalid namespace"}),
        SioPeerKind::Python => json!("Unable to connect"),
    };
    assert_eq!(refused["data"], expected, "{refused}");

    // DISCONNECT "/admin" from the client: the server logs it, "/" stays.
    conn.send(&packet(1, "/admin", None));
    let line = server.wait_ev(T, "disconnect", Some("/admin"));
    println!(
        "[{label}] client namespace disconnect reason: {}",
        line["reason"]
    );
    let expected = match kind {
        SioPeerKind::Node => "client namespace disconnect",
        SioPeerKind::Python => "client disconnect",
    };
    assert_eq!(line["reason"], expected, "{line}");
    conn.send(&packet(
        2,
        "/",
        Some(json!(["echo", 1, {"a": [true, null]}])),
    ));
    let (echo, raw) = conn.recv().await;
    assert_eq!(
        echo["data"],
        json!(["echo", 1, {"a": [true, null]}]),
        "{raw}"
    );

    conn.client.disconnect().await;
    let line = server.wait_ev(T, "disconnect", Some("/"));
    println!("[{label}] Engine.IO close reason: {}", line["reason"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_default_parser() {
    smoke(SioPeerKind::Node, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_msgpack_parser() {
    smoke(SioPeerKind::Node, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_default_parser() {
    smoke(SioPeerKind::Python, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_msgpack_parser() {
    smoke(SioPeerKind::Python, true).await;
}

/// The launcher itself: logs, kill and restart on the same port, pause.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launcher_restart_and_pause() {
    for kind in SioPeerKind::ALL {
        let mut server = SioServer::start(kind, SioServerOpts::default());
        let port = server.port;
        assert_eq!(server.url(), format!("http://127.0.0.1:{port}"));
        assert_eq!(server.logs()[0], json!({ "listening": port }));

        let mut conn = Conn::open(&server, false).await;
        conn.send(&packet(0, "/", None));
        assert_eq!(conn.recv().await.0["type"], 0);
        server.wait_ev(T, "connection", Some("/"));

        server.kill();
        server.restart();
        assert_eq!(server.port, port);
        let listening: Vec<_> = server
            .logs()
            .into_iter()
            .filter(|v| v.get("listening").is_some())
            .collect();
        assert_eq!(listening.len(), 2, "{listening:?}");

        // The new process answers; while paused it does not.
        let mut conn = Conn::open(&server, false).await;
        server.pause();
        conn.send(&packet(0, "/", None));
        let quiet = tokio::time::timeout(Duration::from_millis(500), async {
            loop {
                match conn.events.recv().await {
                    Some(ClientEvent::Message(m)) => break Some(m),
                    Some(_) => {}
                    None => break None,
                }
            }
        })
        .await;
        assert!(
            quiet.is_err(),
            "{kind}: a paused server answered: {quiet:?}"
        );
        server.resume();
        assert_eq!(conn.recv().await.0["type"], 0);
        let line = server.wait_ev(T, "connection", Some("/"));
        println!("[{kind}] after restart: {line}");
        conn.client.disconnect().await;
    }
}
