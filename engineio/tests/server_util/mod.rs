//! Helpers for the server integration tests: start a server on
//! 127.0.0.1:0, talk to it with raw polling requests and WebSockets.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use engineio::server::Server;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any single wait may take.
pub const WAIT: Duration = Duration::from_secs(5);

/// Serves `server` on 127.0.0.1:0; returns `http://127.0.0.1:PORT`.
pub async fn start(server: &Server) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let s = server.clone();
    tokio::spawn(async move { s.serve(listener).await });
    base
}

/// The server's tower service (other paths get 404), as [`start_around`]
/// hands it to its wrapper.
pub type EioService = engineio::server::EngineIoService<engineio::server::NotFound>;

/// The answer of [`EioService`].
pub type EioResponse =
    http::Response<engineio::server::ResponseBody<http_body_util::Full<bytes::Bytes>>>;

/// As [`start`], with every request going through `around(request,
/// service)`, which must call the service (e.g. with
/// `tower::ServiceExt::oneshot`): a test can hold requests back or watch
/// their response futures.
pub async fn start_around<F, Fut>(server: &Server, around: F) -> String
where
    F: Fn(http::Request<hyper::body::Incoming>, EioService) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<EioResponse, std::convert::Infallible>>
        + Send
        + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let svc = server.service(engineio::server::NotFound);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (svc, around) = (svc.clone(), around.clone());
            let app = tower::service_fn(move |req| around(req, svc.clone()));
            let app = hyper_util::service::TowerToHyperService::new(app);
            tokio::spawn(
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .serve_connection_with_upgrades(hyper_util::rt::TokioIo::new(stream), app)
                    .into_owned(),
            );
        }
    });
    base
}

/// A client with no pooling, so concurrent requests use their own connections.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .timeout(WAIT)
        .build()
        .expect("client")
}

/// A response, read.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

pub async fn read(resp: reqwest::Response) -> Resp {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.text().await.expect("body");
    Resp {
        status,
        headers,
        body,
    }
}

pub fn url(base: &str, query: &str) -> String {
    format!("{base}/engine.io/?{query}")
}

pub async fn get(base: &str, query: &str) -> Resp {
    read(http().get(url(base, query)).send().await.expect("GET")).await
}

pub async fn post(base: &str, query: &str, body: impl Into<reqwest::Body>) -> Resp {
    read(
        http()
            .post(url(base, query))
            .body(body)
            .send()
            .await
            .expect("POST"),
    )
    .await
}

pub fn sid_query(sid: &str) -> String {
    format!("EIO=4&transport=polling&sid={sid}")
}

/// Parses `0{...}`.
pub fn open_json(body: &str) -> Value {
    serde_json::from_str(body.strip_prefix('0').expect("open packet")).expect("open JSON")
}

/// A polling handshake; returns the sid.
pub async fn open_polling(base: &str) -> String {
    let resp = get(base, "EIO=4&transport=polling").await;
    assert_eq!(resp.status, 200, "{resp:?}");
    open_json(&resp.body)["sid"]
        .as_str()
        .expect("sid")
        .to_owned()
}

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub fn ws_url(base: &str, query: &str) -> String {
    format!(
        "ws://{}/engine.io/?{query}",
        base.strip_prefix("http://").expect("http base")
    )
}

pub async fn ws_connect(base: &str, query: &str) -> Ws {
    let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(ws_url(base, query)))
        .await
        .expect("connect timed out")
        .expect("connect");
    ws
}

/// A direct WebSocket session; returns the socket and the sid.
pub async fn open_ws(base: &str) -> (Ws, String) {
    let mut ws = ws_connect(base, "EIO=4&transport=websocket").await;
    match ws_next(&mut ws).await {
        WsEvent::Text(t) => {
            let sid = open_json(&t)["sid"].as_str().expect("sid").to_owned();
            (ws, sid)
        }
        other => panic!("expected the open packet, got {other:?}"),
    }
}

/// What a WebSocket delivered.
#[derive(Debug, PartialEq)]
pub enum WsEvent {
    Text(String),
    Binary(Vec<u8>),
    /// A close frame (with its code), the end of the stream or an error.
    Closed(Option<u16>),
}

pub async fn ws_next(ws: &mut Ws) -> WsEvent {
    let next = async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => return WsEvent::Text(t.as_str().to_owned()),
                Some(Ok(Message::Binary(b))) => return WsEvent::Binary(b.to_vec()),
                Some(Ok(Message::Close(frame))) => {
                    return WsEvent::Closed(frame.map(|f| u16::from(f.code)))
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return WsEvent::Closed(None),
            }
        }
    };
    tokio::time::timeout(WAIT, next)
        .await
        .expect("no WebSocket frame in time")
}

/// The next frame that is not an Engine.IO ping; pings are answered.
pub async fn ws_next_data(ws: &mut Ws) -> WsEvent {
    loop {
        match ws_next(ws).await {
            WsEvent::Text(t) if t == "2" => ws_send(ws, "3").await,
            other => return other,
        }
    }
}

pub async fn ws_send(ws: &mut Ws, text: &str) {
    ws.send(Message::text(text)).await.expect("ws send");
}

/// Receives from a channel within [`WAIT`].
pub async fn recv<T>(rx: &mut tokio::sync::mpsc::UnboundedReceiver<T>) -> T {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("nothing received in time")
        .expect("channel closed")
}

/// Polls `cond` every 10 ms until it holds or [`WAIT`] passes.
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !cond() {
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
