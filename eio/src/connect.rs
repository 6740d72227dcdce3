//! `eio connect`: a scriptable client that prints one JSON object per line
//! for every event.
//!
//! ```text
//! {"event":"connect","sid":"...","transport":"polling"}
//! {"event":"upgrade","transport":"websocket"}
//! {"event":"message","type":"text","data":"..."}
//! {"event":"message","type":"binary","data":"<hex>"}
//! {"event":"disconnect","reason":"..."}
//! {"event":"error","message":"..."}        (then a non-zero exit status)
//! ```
//!
//! Lines typed on stdin are sent as text messages. EOF on stdin disconnects
//! cleanly once everything queued has been delivered, unless
//! `--exit-after N` is given: then the session ends after N messages (or
//! when the server ends it), so a script whose stdin is closed from the
//! start (`< /dev/null`, cron, CI) still gets the replies it asked for.

use std::io::{BufRead, Write};
use std::time::Duration;

use bytes::Bytes;
use clap::Args;
use engineio::client::{Client, ClientError, ClientEvent, Data, TransportKind};
use serde_json::json;

/// Options of `eio connect`.
#[derive(Debug, Args)]
pub(crate) struct ConnectArgs {
    /// Server URL (`http`, `https`, `ws` or `wss`), query string allowed.
    url: String,
    /// Transports to use, comma-separated (default: polling, then upgrade
    /// to websocket).
    #[arg(long, value_delimiter = ',')]
    transports: Option<Vec<String>>,
    /// The Engine.IO path.
    #[arg(long, default_value = "/engine.io/")]
    path: String,
    /// Extra request header `Name:Value` (repeatable).
    #[arg(long = "header", value_name = "NAME:VALUE")]
    headers: Vec<String>,
    /// Accept invalid TLS certificates.
    #[arg(long)]
    insecure: bool,
    /// Text message to send after connecting (repeatable).
    #[arg(long = "send", value_name = "TEXT")]
    send: Vec<String>,
    /// Binary message to send after connecting, in hex (repeatable).
    #[arg(long = "send-binary", value_name = "HEX")]
    send_binary: Vec<String>,
    /// Disconnect after receiving this many messages.
    #[arg(long)]
    exit_after: Option<usize>,
    /// Seconds to wait for the handshake.
    #[arg(long, default_value_t = 5.0)]
    timeout: f64,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn emit(value: serde_json::Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{value}");
    let _ = out.flush();
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Result<Vec<u8>, BoxError> {
    let s = s.trim();
    if s.len() % 2 != 0 {
        return Err(format!("odd-length hex {s:?}").into());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(s.get(i..i + 2).ok_or("invalid hex")?, 16)
                .map_err(|e| format!("invalid hex {s:?}: {e}").into())
        })
        .collect()
}

fn transport_name(t: TransportKind) -> &'static str {
    t.as_str()
}

pub(crate) fn run(args: ConnectArgs) -> Result<(), BoxError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    match rt.block_on(connect(args)) {
        Ok(()) => Ok(()),
        Err(e) => {
            emit(json!({"event": "error", "message": e.to_string()}));
            Err(e)
        }
    }
}

fn error_message(e: &ClientError) -> String {
    // The error's text, then its causes (a rejection's text has the status
    // and the server's body).
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(&format!(": {s}"));
        src = s.source();
    }
    msg
}

async fn connect(args: ConnectArgs) -> Result<(), BoxError> {
    let mut builder = Client::builder()
        .engineio_path(args.path.clone())
        .ssl_verify(!args.insecure)
        .request_timeout(Duration::from_secs_f64(args.timeout.max(0.1)))
        .handle_sigint(false);
    if let Some(ts) = &args.transports {
        let kinds = ts
            .iter()
            .map(|t| {
                TransportKind::parse(t.trim()).ok_or_else(|| format!("unknown transport {t:?}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        builder = builder.transports(kinds);
    }
    for h in &args.headers {
        let (k, v) = h
            .split_once(':')
            .ok_or_else(|| format!("header {h:?} is not NAME:VALUE"))?;
        builder = builder.header(k.trim(), v.trim());
    }
    let binaries = args
        .send_binary
        .iter()
        .map(|h| unhex(h))
        .collect::<Result<Vec<_>, _>>()?;
    let client = builder
        .connect(&args.url)
        .await
        .map_err(|e| -> BoxError { error_message(&e).into() })?;
    let mut events = client.events();
    emit(json!({
        "event": "connect",
        "sid": client.sid(),
        "transport": transport_name(client.transport()),
    }));
    for text in &args.send {
        client.send(text.as_str())?;
    }
    for b in binaries {
        client.send(Bytes::from(b))?;
    }

    // Stdin: each line is a text message; EOF disconnects.
    let (line_tx, mut line_rx) = tokio::sync::mpsc::unbounded_channel::<Option<String>>();
    std::thread::Builder::new()
        .name("eio-stdin".into())
        .spawn(move || {
            let stdin = std::io::stdin();
            for line in stdin.lock().lines() {
                match line {
                    Ok(l) => {
                        if line_tx.send(Some(l)).is_err() {
                            return;
                        }
                    }
                    Err(_) => break,
                }
            }
            let _ = line_tx.send(None);
        })?;

    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut received = 0usize;
    let mut stdin_open = true;
    loop {
        tokio::select! {
            ev = events.recv() => match ev {
                Some(ClientEvent::Message(data)) => {
                    match data {
                        Data::Text(t) => emit(json!({"event": "message", "type": "text", "data": t.as_str()})),
                        Data::Binary(b) => emit(json!({"event": "message", "type": "binary", "data": hex(&b)})),
                    }
                    received += 1;
                    if args.exit_after.is_some_and(|n| received >= n) {
                        client.disconnect().await;
                    }
                }
                Some(ClientEvent::Upgrade) => {
                    emit(json!({"event": "upgrade", "transport": transport_name(client.transport())}));
                }
                Some(ClientEvent::Disconnect(reason)) => {
                    emit(json!({"event": "disconnect", "reason": reason.as_str()}));
                    return Ok(());
                }
                Some(_) => {}
                None => {
                    let reason = client.wait().await;
                    emit(json!({"event": "disconnect", "reason": reason.as_str()}));
                    return Ok(());
                }
            },
            line = line_rx.recv(), if stdin_open => match line {
                Some(Some(text)) => {
                    if let Err(e) = client.send(text) {
                        emit(json!({"event": "error", "message": e.to_string()}));
                    }
                }
                _ => {
                    stdin_open = false;
                    if args.exit_after.is_none() {
                        // `--send` messages (and stdin lines) leave first.
                        client.flush().await;
                        client.disconnect().await;
                    }
                }
            },
            _ = &mut ctrl_c => {
                client.disconnect().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_roundtrip() {
        assert_eq!(hex(&[0, 1, 0xab, 0xff]), "0001abff");
        assert_eq!(unhex("0001abff").unwrap(), vec![0, 1, 0xab, 0xff]);
        assert!(unhex("abc").is_err());
        assert!(unhex("zz").is_err());
    }

    #[test]
    fn a_rejected_handshake_names_the_status_and_the_body() {
        let e = ClientError::HandshakeRejected {
            status: http::StatusCode::UNAUTHORIZED,
            body: Some(json!({"message": "rejected"})),
        };
        assert_eq!(
            error_message(&e),
            r#"the server rejected the handshake: HTTP 401 Unauthorized: {"message":"rejected"}"#
        );
        let e = ClientError::HandshakeRejected {
            status: http::StatusCode::FORBIDDEN,
            body: None,
        };
        assert_eq!(
            error_message(&e),
            "the server rejected the handshake: HTTP 403 Forbidden"
        );
    }
}
