//! `eio sio`: a scriptable Socket.IO client. One JSON object per line on
//! stdout for everything that happens, one JSON command per line on stdin.
//!
//! ```text
//! stdout
//! {"event":"connect","namespace":"/","sid":"..."}
//! {"event":"connect_error","namespace":"/admin","data":<the server's CONNECT_ERROR payload>}
//! {"event":"event","namespace":"/","name":"news","args":[...]}     binary as {"$binary":"<hex>"}
//! {"event":"ack","id":7,"args":[...]}  /  {"event":"ack_timeout","id":7}
//! {"event":"disconnect","namespace":"/","reason":"client disconnect|server disconnect|transport error|transport close|ping timeout"}
//! {"event":"reconnect_attempt","attempt":N}
//! {"event":"error","message":"..."}                                 fatal: a non-zero exit follows
//!
//! stdin
//! {"emit":"name","args":[...],"namespace":"/"}                      {"$binary":"hex"} values are binary
//! {"call":"name","args":[...],"namespace":"/","id":7,"timeout":5}
//! {"disconnect":"/ns"}
//! EOF: a DISCONNECT for every namespace, no more reconnection, exit 0
//! ```
//!
//! Server events that ask for an acknowledgement are acknowledged with the
//! arguments they carried. A failed reconnection attempt prints a
//! `connect_error` per namespace with the error's text as `data`; a `call`
//! on a namespace that is not connected prints its `ack_timeout` at once. Fatal: a failed first connection, a refused
//! namespace, a namespace not connected within `--wait-timeout`,
//! exhausted reconnection attempts, invalid arguments.

use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Args as ClapArgs;
use serde_json::{json, Value as Json};
use socketio::{Args, AsyncClient, ConnectOptions, Serializer, TransportKind, Value};

/// Options of `eio sio`.
#[derive(Debug, ClapArgs)]
pub(crate) struct SioArgs {
    /// Server URL (`http` or `https`), query string allowed.
    url: String,
    /// A namespace to connect (repeatable; default `/`).
    #[arg(long = "namespace", value_name = "NS")]
    namespaces: Vec<String>,
    /// Authentication data (a JSON object) sent in every CONNECT.
    #[arg(long, value_name = "JSON")]
    auth: Option<String>,
    /// Extra request header `Name:Value` (repeatable).
    #[arg(long = "header", value_name = "NAME:VALUE")]
    headers: Vec<String>,
    /// `polling`, `websocket` or `polling,websocket` (the default: polling,
    /// then an upgrade).
    #[arg(long, value_delimiter = ',')]
    transports: Option<Vec<String>>,
    /// The Socket.IO path.
    #[arg(long, default_value = "/socket.io/")]
    path: String,
    /// `default` or `msgpack`; must match the server's parser.
    #[arg(long, default_value = "default")]
    serializer: String,
    /// Do not reconnect when the connection drops.
    #[arg(long)]
    no_reconnection: bool,
    /// Reconnection attempts before giving up (0: infinite).
    #[arg(long, default_value_t = 0)]
    reconnection_attempts: u32,
    /// First reconnection delay, seconds (doubles at each attempt).
    #[arg(long, default_value_t = 1.0)]
    reconnection_delay: f64,
    /// Largest reconnection delay, seconds.
    #[arg(long, default_value_t = 5.0)]
    reconnection_delay_max: f64,
    /// Jitter of each delay, ± this many seconds.
    #[arg(long, default_value_t = 0.5)]
    randomization_factor: f64,
    /// Seconds to wait for each namespace to connect.
    #[arg(long, default_value_t = 1.0)]
    wait_timeout: f64,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A field of an output line.
enum Field {
    Json(Json),
    Raw(Raw),
}

impl From<Json> for Field {
    fn from(v: Json) -> Self {
        Field::Json(v)
    }
}

impl From<Raw> for Field {
    fn from(v: Raw) -> Self {
        Field::Raw(v)
    }
}

/// Prints one line: a JSON object with `fields` in the contract's order
/// (`serde_json`'s maps sort their keys).
fn print(fields: Vec<(&str, Field)>) {
    let mut line = String::from("{");
    for (i, (k, v)) in fields.into_iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        line.push_str(&Json::from(k).to_string());
        line.push(':');
        match v {
            Field::Json(j) => line.push_str(&j.to_string()),
            Field::Raw(r) => line.push_str(&r.0),
        }
    }
    line.push('}');
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Prints the fatal-error line; `main` then exits non-zero.
pub(crate) fn fatal(message: impl std::fmt::Display) -> BoxError {
    print(vec![
        ("event", json!("error").into()),
        ("message", json!(message.to_string()).into()),
    ]);
    message.to_string().into()
}

/// A value as JSON text, binary as `{"$binary":"<hex>"}`, object keys in
/// the order they arrived (`serde_json`'s own maps would sort them).
fn write_value(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => out.push_str(&Json::from(s.as_str()).to_string()),
        Value::Binary(b) => {
            out.push_str("{\"$binary\":\"");
            for byte in b.iter() {
                out.push_str(&format!("{byte:02x}"));
            }
            out.push_str("\"}");
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Json::from(k.as_str()).to_string());
                out.push(':');
                write_value(item, out);
            }
            out.push('}');
        }
    }
}

/// A value already rendered as JSON text, for [`print()`].
struct Raw(String);

fn raw(v: &Value) -> Raw {
    let mut s = String::new();
    write_value(v, &mut s);
    Raw(s)
}

fn raw_args(args: &[Value]) -> Raw {
    raw(&Value::Array(args.to_vec()))
}

fn seconds(what: &str, s: f64) -> Result<Duration, BoxError> {
    Duration::try_from_secs_f64(s).map_err(|_| format!("--{what}: {s} is not a duration").into())
}

fn options(args: &SioArgs) -> Result<(socketio::ClientBuilder, ConnectOptions), BoxError> {
    let serializer = match args.serializer.as_str() {
        "default" => Serializer::Default,
        "msgpack" => Serializer::MsgPack,
        other => return Err(format!("--serializer: unknown serializer {other:?}").into()),
    };
    let builder = AsyncClient::builder()
        .serializer(serializer)
        .reconnection(!args.no_reconnection)
        .reconnection_attempts(args.reconnection_attempts)
        .reconnection_delay(seconds("reconnection-delay", args.reconnection_delay)?)
        .reconnection_delay_max(seconds(
            "reconnection-delay-max",
            args.reconnection_delay_max,
        )?)
        .randomization_factor(args.randomization_factor)
        .handle_sigint(false);
    let mut connect = ConnectOptions::new(args.url.clone())
        .socketio_path(args.path.clone())
        .wait_timeout(seconds("wait-timeout", args.wait_timeout)?)
        .namespaces(if args.namespaces.is_empty() {
            vec!["/".to_owned()]
        } else {
            args.namespaces.clone()
        });
    if let Some(auth) = &args.auth {
        let v: Json = serde_json::from_str(auth).map_err(|e| format!("--auth: {e}"))?;
        if !v.is_object() {
            return Err("--auth: not a JSON object".into());
        }
        connect = connect.auth(Value::from_json_with_binary(v));
    }
    if let Some(ts) = &args.transports {
        let kinds = ts
            .iter()
            .map(|t| {
                TransportKind::parse(t.trim())
                    .ok_or_else(|| format!("--transports: unknown transport {t:?}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        connect = connect.transports(kinds);
    }
    for h in &args.headers {
        let (k, v) = h
            .split_once(':')
            .ok_or_else(|| format!("--header: {h:?} is not NAME:VALUE"))?;
        connect = connect.header(k.trim(), v.trim());
    }
    Ok((builder, connect))
}

pub(crate) fn run(args: SioArgs) -> Result<(), BoxError> {
    let (builder, connect) = options(&args).map_err(fatal)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(session(builder, connect))
}

/// One stdin command.
fn command(client: &AsyncClient, line: &str) -> Result<Option<(String, bool)>, String> {
    let cmd: Json = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let ns = cmd
        .get("namespace")
        .and_then(Json::as_str)
        .unwrap_or("/")
        .to_owned();
    let args = || -> Result<Args, String> {
        match cmd.get("args") {
            None | Some(Json::Null) => Ok(Args(Vec::new())),
            Some(Json::Array(a)) => Ok(Args(
                a.iter()
                    .cloned()
                    .map(Value::from_json_with_binary)
                    .collect(),
            )),
            Some(_) => Err("\"args\" must be an array".to_owned()),
        }
    };
    if let Some(name) = cmd.get("emit").and_then(Json::as_str) {
        client
            .of(&ns)
            .emit(name, args()?)
            .map_err(|e| e.to_string())?;
        Ok(None)
    } else if let Some(name) = cmd.get("call").and_then(Json::as_str) {
        let id = cmd.get("id").cloned().unwrap_or(Json::Null);
        let timeout = cmd.get("timeout").and_then(Json::as_f64).unwrap_or(60.0);
        let timeout = Duration::try_from_secs_f64(timeout).map_err(|e| format!("timeout: {e}"))?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        // Emitted now, so that commands leave in stdin order.
        let args = args()?;
        if let Err(e) = client.of(&ns).emit_with_ack(name, args, move |reply| {
            let _ = tx.send(reply);
        }) {
            // Not sent (the namespace is not connected): no answer can
            // come, and the script still gets its line for this id.
            print(vec![
                ("event", json!("ack_timeout").into()),
                ("id", json!(id).into()),
            ]);
            return Err(e.to_string());
        }
        tokio::spawn(async move {
            match tokio::time::timeout(timeout, rx).await {
                Ok(Ok(reply)) => print(vec![
                    ("event", json!("ack").into()),
                    ("id", json!(id).into()),
                    ("args", raw_args(&reply).into()),
                ]),
                // A dropped callback means the connection ended, so no
                // answer can come: say so at once.
                _ => {
                    print(vec![
                        ("event", json!("ack_timeout").into()),
                        ("id", json!(id).into()),
                    ]);
                }
            }
        });
        Ok(None)
    } else if let Some(target) = cmd.get("disconnect").and_then(Json::as_str) {
        Ok(Some((target.to_owned(), true)))
    } else {
        Err("unknown command (expected \"emit\", \"call\" or \"disconnect\")".to_owned())
    }
}

async fn session(
    builder: socketio::ClientBuilder,
    connect: ConnectOptions,
) -> Result<(), BoxError> {
    let gave_up = Arc::new(AtomicBool::new(false));
    let flag = gave_up.clone();
    let client = builder
        .on_connect("*", |client, ns| {
            print(vec![
                ("event", json!("connect").into()),
                ("namespace", json!(ns).into()),
                ("sid", json!(client.get_sid(ns)).into()),
            ]);
        })
        .on_connect_error("*", |_client, ns, data| {
            print(vec![
                ("event", json!("connect_error").into()),
                ("namespace", json!(ns).into()),
                ("data", raw(data).into()),
            ]);
        })
        .on_disconnect("*", |_client, ns, reason| {
            print(vec![
                ("event", json!("disconnect").into()),
                ("namespace", json!(ns).into()),
                ("reason", json!(reason.as_str()).into()),
            ]);
        })
        .on_ns("*", "*", |_client, event| {
            print(vec![
                ("event", json!("event").into()),
                ("namespace", json!(event.namespace).into()),
                ("name", json!(event.name).into()),
                ("args", raw_args(&event.args).into()),
            ]);
            // The acknowledgement, when asked for: the same arguments.
            Args(event.args)
        })
        .on_reconnect_attempt(|_client, attempt| {
            print(vec![
                ("event", json!("reconnect_attempt").into()),
                ("attempt", json!(attempt).into()),
            ]);
        })
        .on_reconnect_failed(move |_client| flag.store(true, Ordering::SeqCst))
        .build();
    client.connect_with(connect).await.map_err(fatal)?;

    let (line_tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::Builder::new()
        .name("eio-stdin".into())
        .spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if line_tx.send(line).is_err() {
                    return;
                }
            }
        })?;
    loop {
        tokio::select! {
            line = lines.recv() => match line {
                Some(line) if line.trim().is_empty() => {}
                Some(line) => match command(&client, &line) {
                    Ok(Some((ns, _))) => client.of(&ns).disconnect().await,
                    Ok(None) => {}
                    Err(e) => eprintln!("eio sio: stdin command {line:?}: {e}"),
                },
                None => {
                    client.disconnect().await;
                    return Ok(());
                }
            },
            () = client.wait() => {
                if gave_up.load(Ordering::SeqCst) {
                    return Err(fatal("reconnection attempts exhausted"));
                }
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_print_in_arrival_order_with_binary_as_hex() {
        let mut map = socketio::Map::new();
        map.insert("zeta".into(), Value::from(1u64));
        map.insert(
            "alpha".into(),
            Value::Binary(bytes::Bytes::from_static(b"\x00\xff")),
        );
        map.insert("s".into(), Value::from("q\"uote"));
        let v = Value::Array(vec![Value::Object(map), Value::Null, Value::from(1.5)]);
        assert_eq!(
            raw(&v).0,
            r#"[{"zeta":1,"alpha":{"$binary":"00ff"},"s":"q\"uote"},null,1.5]"#
        );
    }
}
