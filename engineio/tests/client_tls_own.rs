//! The clients against our own server over HTTPS / WSS, with a self-signed
//! certificate generated here (rcgen).
//!
//! The server is [`engineio::server::Server`] behind a tokio-rustls accept
//! loop built like [`Server::serve_with`]'s: hyper-util's auto builder with
//! upgrades (so WebSocket works over TLS), the [`RemoteAddr`] extension, and
//! the [`Scheme::HTTPS`](http::uri::Scheme::HTTPS) extension that tells the
//! server's same-origin check the connection is TLS. ALPN offers `h2` and
//! `http/1.1`.

mod client_util;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use client_util::*;
use engineio::client::{blocking, ClientError, ClientEvent};
use engineio::proto::TransportKind;
use engineio::server::{NotFound, RemoteAddr, Server};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::sync::mpsc;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

/// What the server's connect handler saw: the transport, whether the
/// request carried the TLS marker, and the peer address.
type Seen = (TransportKind, bool, Option<SocketAddr>);

/// An echo [`Server`] on `127.0.0.1:0` behind TLS.
struct TlsServer {
    port: u16,
    cert_pem: String,
    connects: mpsc::UnboundedReceiver<Seen>,
}

impl TlsServer {
    /// Starts the server on the current runtime.
    async fn start() -> TlsServer {
        let key = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
            .expect("certificate");
        let cert_pem = key.cert.pem();
        let certs = vec![CertificateDer::from(key.cert.der().to_vec())];
        let private =
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.signing_key.serialize_der()));
        let mut config = ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(certs, private)
            .expect("server config");
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(config));

        let eio = Server::new();
        let (tx, connects) = mpsc::unbounded_channel();
        eio.on_connect(move |_eio, _, req| {
            let tls =
                req.extensions().get::<http::uri::Scheme>() == Some(&http::uri::Scheme::HTTPS);
            let _ = tx.send((req.transport(), tls, req.remote_addr()));
            Ok(())
        });
        eio.on_message(move |echo, sid, data| {
            let _ = echo.send(sid, data);
        });
        let service = eio.service(NotFound);

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let builder = auto::Builder::new(TokioExecutor::new());
            loop {
                let Ok((stream, peer)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let acceptor = acceptor.clone();
                let builder = builder.clone();
                let svc = service.clone().map_request(
                    move |mut req: http::Request<hyper::body::Incoming>| {
                        req.extensions_mut().insert(RemoteAddr(peer));
                        req.extensions_mut().insert(http::uri::Scheme::HTTPS);
                        req
                    },
                );
                tokio::spawn(async move {
                    // A client refusing the certificate aborts the handshake:
                    // that connection just ends.
                    let Ok(tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let _ = builder
                        .serve_connection_with_upgrades(
                            TokioIo::new(tls),
                            TowerToHyperService::new(svc),
                        )
                        .await;
                });
            }
        });
        TlsServer {
            port,
            cert_pem,
            connects,
        }
    }

    fn url(&self, scheme: &str) -> String {
        format!("{scheme}://localhost:{}", self.port)
    }

    fn ca(&self) -> reqwest::Certificate {
        reqwest::Certificate::from_pem(self.cert_pem.as_bytes()).unwrap()
    }

    /// Asserts that the server's connect handler ran for `transport`, with
    /// the TLS marker and a loopback peer address.
    async fn assert_connected(&mut self, transport: TransportKind) {
        let (kind, tls, peer) = tokio::time::timeout(Duration::from_secs(10), self.connects.recv())
            .await
            .expect("server connect event")
            .unwrap();
        assert_eq!(kind, transport);
        assert!(tls, "no TLS marker");
        assert!(peer.expect("remote address").ip().is_loopback());
    }
}

/// The first transport of a mode.
fn first(transports: &[TransportKind]) -> TransportKind {
    transports[0]
}

/// Echoes text and binary (after the upgrade, if `upgrade`), then
/// disconnects.
async fn echo(client: &engineio::client::Client, upgrade: bool) {
    let mut events = client.events();
    if upgrade {
        next_upgrade(&mut events).await;
        assert_eq!(client.transport(), TransportKind::WebSocket);
    }
    client.send("secret").unwrap();
    assert_eq!(next_message(&mut events).await, text("secret"));
    client.send(vec![1u8, 2, 0xff]).unwrap();
    assert_eq!(next_message(&mut events).await, binary(&[1, 2, 0xff]));
    client.disconnect().await;
}

#[tokio::test]
async fn certificate_checked_by_default() {
    let server = TlsServer::start().await;
    for (mode, transports) in MODES {
        for scheme in ["https", "wss"] {
            let err = tokio::time::timeout(
                Duration::from_secs(10),
                builder(transports).connect(server.url(scheme)),
            )
            .await
            .unwrap_or_else(|_| panic!("{mode} {scheme}: connect hung"))
            .expect_err(mode);
            assert!(
                matches!(err, ClientError::Http(_)),
                "{mode} {scheme}: {err:?}"
            );
        }
    }
    // A client trusting some other CA refuses it too.
    let other = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let other = reqwest::Certificate::from_pem(other.cert.pem().as_bytes()).unwrap();
    let http = reqwest::Client::builder()
        .http1_only()
        .tls_certs_only([other])
        .build()
        .unwrap();
    let err = builder(&[TransportKind::WebSocket])
        .http_client(http)
        .connect(server.url("wss"))
        .await
        .expect_err("untrusted CA");
    assert!(matches!(err, ClientError::Http(_)), "{err:?}");
}

#[tokio::test]
async fn ssl_verify_false_accepts_it() {
    let mut server = TlsServer::start().await;
    for (mode, transports) in MODES {
        for scheme in ["https", "wss"] {
            // A same-origin `Origin` passes only because the accept loop
            // marks the requests as TLS.
            let client = builder(transports)
                .ssl_verify(false)
                .header("origin", server.url("https"))
                .connect(server.url(scheme))
                .await
                .unwrap_or_else(|e| panic!("{mode} {scheme}: {e}"));
            server.assert_connected(first(transports)).await;
            assert_eq!(client.transport(), first(transports));
            echo(&client, mode == "upgrade").await;
        }
    }
}

#[tokio::test]
async fn a_custom_client_trusting_the_ca_works_on_both_transports() {
    let mut server = TlsServer::start().await;
    let trusting = reqwest::Client::builder()
        .http1_only()
        .tls_certs_only([server.ca()])
        .build()
        .unwrap();
    for (mode, transports) in MODES {
        let client = builder(transports)
            .http_client(trusting.clone())
            .connect(server.url("https"))
            .await
            .unwrap_or_else(|e| panic!("{mode}: {e}"));
        server.assert_connected(first(transports)).await;
        echo(&client, mode == "upgrade").await;
    }

    // The CA merged into the built-in roots, through a factory.
    let pem = server.cert_pem.clone();
    let factory = move || {
        let ca = reqwest::Certificate::from_pem(pem.as_bytes()).unwrap();
        reqwest::Client::builder()
            .http1_only()
            .tls_certs_merge([ca])
            .build()
            .unwrap()
    };
    let client = builder(&[TransportKind::Polling, TransportKind::WebSocket])
        .http_client_factory(factory)
        .connect(server.url("wss"))
        .await
        .unwrap();
    server.assert_connected(TransportKind::Polling).await;
    echo(&client, true).await;

    // Without `http1_only`, ALPN picks HTTP/2: polling works over it, the
    // WebSocket handshake is refused with a typed error, not a hang.
    let h2 = reqwest::Client::builder()
        .tls_certs_only([server.ca()])
        .build()
        .unwrap();
    let client = builder(&[TransportKind::Polling])
        .http_client(h2.clone())
        .connect(server.url("https"))
        .await
        .unwrap();
    server.assert_connected(TransportKind::Polling).await;
    echo(&client, false).await;
    let err = builder(&[TransportKind::WebSocket])
        .http_client(h2)
        .connect(server.url("wss"))
        .await
        .expect_err("WebSocket over HTTP/2");
    assert!(
        matches!(err, ClientError::WebSocket(_)) && err.to_string().contains("HTTP/2"),
        "{err:?}"
    );
}

#[tokio::test]
async fn blocking_client_over_tls() {
    let mut server = TlsServer::start().await;
    let url = server.url("https");
    let checked = tokio::task::spawn_blocking(move || {
        let checked = blocking::Client::builder()
            .handle_sigint(false)
            .connect(&url)
            .map(|_| ())
            .expect_err("certificate checked by default");
        // Polling first, then the upgrade to WebSocket over TLS.
        let client = blocking::Client::builder()
            .handle_sigint(false)
            .ssl_verify(false)
            .connect(&url)
            .unwrap();
        let mut events = client.events();
        loop {
            match events.recv_timeout(Duration::from_secs(10)).unwrap() {
                ClientEvent::Upgrade => break,
                ClientEvent::Connect => {}
                other => panic!("expected the upgrade, got {other:?}"),
            }
        }
        assert_eq!(client.transport(), TransportKind::WebSocket);
        let mut next = || match events.recv_timeout(Duration::from_secs(10)).unwrap() {
            ClientEvent::Message(d) => d,
            other => panic!("expected a message, got {other:?}"),
        };
        client.send("b").unwrap();
        assert_eq!(next(), text("b"));
        client.send(vec![7u8]).unwrap();
        assert_eq!(next(), binary(&[7]));
        client.disconnect();
        checked
    })
    .await
    .unwrap();
    assert!(matches!(checked, ClientError::Http(_)), "{checked:?}");
    server.assert_connected(TransportKind::Polling).await;
}
