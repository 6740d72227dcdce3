//! The clients over HTTPS / WSS with a self-signed certificate generated
//! here (rcgen).
//!
//! The server is the reference Node engine.io echo server attached to a Node
//! `https` server (a tokio-rustls server would need a dependency this crate
//! does not have).

mod client_util;
mod common;

use std::process::Command;

use client_util::*;
use engineio::client::{blocking, ClientError, ClientEvent};
use engineio::proto::TransportKind;

const SERVER_JS: &str = r#"
const https = require("https");
const { Server } = require("engine.io");
const srv = https.createServer({ key: process.env.EIO_TLS_KEY, cert: process.env.EIO_TLS_CERT });
const engine = new Server({});
engine.attach(srv);
engine.on("connection", (socket) => socket.on("message", (data) => socket.send(data)));
srv.listen(0, "127.0.0.1", () => console.log(`LISTENING ${srv.address().port}`));
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
"#;

struct TlsServer {
    peer: common::Peer,
    cert_pem: String,
}

impl TlsServer {
    fn start() -> TlsServer {
        common::require_node_peers();
        let key = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
            .expect("certificate");
        let cert_pem = key.cert.pem();
        let mut cmd = Command::new("node");
        cmd.arg("-e")
            .arg(SERVER_JS)
            .env("EIO_TLS_KEY", key.signing_key.serialize_pem())
            .env("EIO_TLS_CERT", &cert_pem)
            .current_dir(common::interop_dir());
        TlsServer {
            peer: common::Peer::spawn_server(cmd),
            cert_pem,
        }
    }

    fn url(&self, scheme: &str) -> String {
        format!("{scheme}://127.0.0.1:{}", self.peer.port)
    }

    fn trusting_client(&self) -> reqwest::Client {
        let ca = reqwest::Certificate::from_pem(self.cert_pem.as_bytes()).unwrap();
        reqwest::Client::builder()
            .http1_only()
            .tls_certs_only([ca])
            .build()
            .unwrap()
    }
}

async fn echo(client: &engineio::client::Client, upgrade: bool) {
    let mut events = client.events();
    if upgrade {
        next_upgrade(&mut events).await;
        assert_eq!(client.transport(), TransportKind::WebSocket);
    }
    client.send("secret").unwrap();
    assert_eq!(next_message(&mut events).await, text("secret"));
    client.send(vec![1u8, 2]).unwrap();
    assert_eq!(next_message(&mut events).await, binary(&[1, 2]));
    client.disconnect().await;
}

#[tokio::test]
async fn certificate_checked_by_default() {
    let server = TlsServer::start();
    for (mode, transports) in MODES {
        for scheme in ["https", "wss"] {
            let err = builder(transports)
                .connect(server.url(scheme))
                .await
                .expect_err(mode);
            assert!(
                matches!(err, ClientError::Http(_)),
                "{mode} {scheme}: {err:?}"
            );
        }
    }
    let err = blocking::Client::builder()
        .handle_sigint(false)
        .connect(server.url("https"))
        .expect_err("blocking");
    assert!(matches!(err, ClientError::Http(_)), "{err:?}");
}

#[tokio::test]
async fn ssl_verify_false_accepts_it() {
    let server = TlsServer::start();
    for (mode, transports) in MODES {
        let client = builder(transports)
            .ssl_verify(false)
            .connect(server.url("wss"))
            .await
            .unwrap_or_else(|e| panic!("{mode}: {e}"));
        echo(&client, mode == "upgrade").await;
    }
}

#[tokio::test]
async fn a_custom_client_trusting_the_ca_works_on_both_transports() {
    let server = TlsServer::start();
    for (mode, transports) in MODES {
        let client = builder(transports)
            .http_client(server.trusting_client())
            .connect(server.url("https"))
            .await
            .unwrap_or_else(|e| panic!("{mode}: {e}"));
        echo(&client, mode == "upgrade").await;
    }
    // The same through a factory, and with the blocking client.
    let pem = server.cert_pem.clone();
    let factory = move || {
        let ca = reqwest::Certificate::from_pem(pem.as_bytes()).unwrap();
        reqwest::Client::builder()
            .http1_only()
            .tls_certs_only([ca])
            .build()
            .unwrap()
    };
    let client = builder(&[TransportKind::Polling, TransportKind::WebSocket])
        .http_client_factory(factory.clone())
        .connect(server.url("https"))
        .await
        .unwrap();
    echo(&client, true).await;
    let url = server.url("wss");
    tokio::task::spawn_blocking(move || {
        let client = blocking::Client::builder()
            .handle_sigint(false)
            .http_client_factory(factory)
            .transports([TransportKind::WebSocket])
            .connect(url)
            .unwrap();
        let mut events = client.events();
        client.send("b").unwrap();
        loop {
            match events
                .recv_timeout(std::time::Duration::from_secs(10))
                .unwrap()
            {
                ClientEvent::Message(d) => break assert_eq!(d, text("b")),
                ClientEvent::Connect => {}
                other => panic!("{other:?}"),
            }
        }
        client.disconnect();
    })
    .await
    .unwrap();
}
