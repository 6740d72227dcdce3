//! The server inside other services: forwarding to an inner service, axum,
//! static files; and the HTTP extras: CORS, the session cookie, compression.

mod server_util;

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;

use bytes::Bytes;
use engineio::server::{
    CookieConfig, CorsOrigins, NotFound, Server, StaticFiles, StaticFilesLayer,
};
use http_body_util::Full;
use server_util::*;

async fn bind() -> (tokio::net::TcpListener, String) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    (l, base)
}

#[tokio::test]
async fn requests_outside_the_engineio_path_go_to_the_inner_service() {
    let eio = Server::new();
    let app = tower::service_fn(|req: http::Request<hyper::body::Incoming>| async move {
        let body = format!("app saw {}", req.uri().path());
        Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::from(body))))
    });
    let (listener, base) = bind().await;
    let s = eio.clone();
    tokio::spawn(async move { s.serve_with(listener, app).await });

    let resp = read(http().get(format!("{base}/hello")).send().await.unwrap()).await;
    assert_eq!((resp.status, resp.body.as_str()), (200, "app saw /hello"));
    // Only the path prefix `/engine.io/` is Engine.IO's.
    let resp = read(
        http()
            .get(format!("{base}/engine.io"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(resp.body, "app saw /engine.io");
    let sid = open_polling(&base).await;
    assert_eq!(sid.len(), 20);
}

#[tokio::test]
async fn mounts_in_axum_with_the_real_remote_address() {
    let eio = Server::builder()
        .remote_addr(|parts| {
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<SocketAddr>>()
                .map(|c| c.0)
        })
        .build()
        .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    eio.on_connect(move |_eio, _, req| {
        let _ = tx.send(req.remote_addr());
        Ok(())
    });
    eio.on_message(move |echo, sid, data| {
        let _ = echo.send(sid, data);
    });
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "home" }))
        .layer(eio.layer());
    let (listener, base) = bind().await;
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });

    let resp = read(http().get(format!("{base}/")).send().await.unwrap()).await;
    assert_eq!(resp.body, "home");
    let _sid = open_polling(&base).await;
    let addr = recv(&mut rx).await.expect("remote address through axum");
    assert!(addr.ip().is_loopback());
    // WebSocket upgrades pass through axum too.
    let (mut ws, _) = open_ws(&base).await;
    recv(&mut rx).await;
    ws_send(&mut ws, "4through axum").await;
    assert_eq!(
        ws_next_data(&mut ws).await,
        WsEvent::Text("4through axum".into())
    );
}

/// A fresh directory with `index.html`, `public/{index.html,app.js,data.bin,
/// css/site.css}` and `secret.txt` next to `public`.
fn site() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "engineio-static-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("public/css")).unwrap();
    for (path, body) in [
        ("index.html", "<h1>root</h1>"),
        ("public/index.html", "public index"),
        ("public/app.js", "console.log(1)"),
        ("public/data.bin", "\u{1}\u{2}"),
        ("public/css/site.css", "body{}"),
        ("secret.txt", "secret"),
        ("latency.html", "latency"),
    ] {
        std::fs::write(dir.join(path), body).unwrap();
    }
    dir
}

#[tokio::test]
async fn static_file_rules() {
    let dir = site();
    let files = StaticFiles::new()
        .file("/", dir.join("index.html"))
        .file_with_type(
            "/plain",
            dir.join("latency.html"),
            http::HeaderValue::from_static("text/plain"),
        )
        .dir("/static", dir.join("public"));
    let eio = Server::new();
    let (listener, base) = bind().await;
    let s = eio.clone();
    let app = tower::ServiceBuilder::new()
        .layer(StaticFilesLayer::new(files))
        .service(NotFound);
    tokio::spawn(async move { s.serve_with(listener, app).await });

    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let fetch = |path: &str| {
        let req = client.get(format!("{base}{path}"));
        async move { read(req.send().await.unwrap()).await }
    };
    let ct = |r: &Resp| r.headers["content-type"].to_str().unwrap().to_owned();

    // An exact URL, content type from the extension.
    let r = fetch("/").await;
    assert_eq!((r.status, r.body.as_str()), (200, "<h1>root</h1>"));
    assert_eq!(ct(&r), "text/html");
    // An explicit content type.
    let r = fetch("/plain").await;
    assert_eq!(
        (r.body.as_str(), ct(&r).as_str()),
        ("latency", "text/plain")
    );
    // A directory rule, nested paths included.
    let r = fetch("/static/app.js").await;
    assert_eq!(
        (r.body.as_str(), ct(&r).as_str()),
        ("console.log(1)", "application/javascript")
    );
    let r = fetch("/static/css/site.css").await;
    assert_eq!((r.body.as_str(), ct(&r).as_str()), ("body{}", "text/css"));
    let r = fetch("/static/data.bin").await;
    assert_eq!(ct(&r), "application/octet-stream");
    // A URL ending in `/` gets index.html.
    let r = fetch("/static/").await;
    assert_eq!(r.body, "public index");
    // The directory URL without its slash does not crash: a redirect.
    let r = fetch("/static").await;
    assert_eq!(r.status, 307);
    // `..` never leaves the directory; the request falls through (404).
    let r = fetch("/static/../secret.txt").await;
    assert_eq!(r.status, 404);
    let r = fetch("/static/%2e%2e/secret.txt").await;
    assert_eq!(r.status, 404);
    // A missing file falls through to the inner service.
    assert_eq!(fetch("/static/missing.js").await.status, 404);
    // Engine.IO comes first.
    let _ = open_polling(&base).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn cors_same_origin_by_default() {
    let eio = Server::new();
    let base = start(&eio).await;
    let q = url(&base, "EIO=4&transport=polling");
    // No Origin: accepted, no Allow-Origin.
    let r = http().get(&q).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("access-control-allow-origin").is_none());
    assert_eq!(r.headers()["access-control-allow-credentials"], "true");
    // The server's own origin: accepted and echoed.
    let r = http().get(&q).header("origin", &base).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], base.as_str());
    // Another origin: 400, for polling and for WebSocket upgrades.
    let r = read(
        http()
            .get(&q)
            .header("origin", "http://evil.example")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body, r#"{"code":3,"message":"Bad request"}"#);
    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        ws_url(&base, "EIO=4&transport=websocket"),
    )
    .unwrap();
    req.headers_mut()
        .insert("origin", "http://evil.example".parse().unwrap());
    let err = tokio_tungstenite::connect_async(req)
        .await
        .expect_err("refused");
    assert!(matches!(err, tokio_tungstenite::tungstenite::Error::Http(r) if r.status() == 400));
}

#[tokio::test]
async fn cors_list_any_credentials_preflight_and_disabled() {
    // A list.
    let eio = Server::builder()
        .cors_allowed_origins(CorsOrigins::list(["https://a.example"]))
        .cors_credentials(false)
        .build()
        .unwrap();
    let base = start(&eio).await;
    let q = url(&base, "EIO=4&transport=polling");
    let r = http()
        .get(&q)
        .header("origin", "https://a.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://a.example"
    );
    assert!(r
        .headers()
        .get("access-control-allow-credentials")
        .is_none());
    let r = http()
        .get(&q)
        .header("origin", "https://b.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // The preflight.
    let r = http()
        .request(reqwest::Method::OPTIONS, &q)
        .header("origin", "https://a.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type, x-custom")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["access-control-allow-methods"], "GET,POST");
    assert_eq!(
        r.headers()["access-control-allow-headers"],
        "content-type, x-custom"
    );
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://a.example"
    );

    // Any origin: `*` and no credentials (Node's answer; python would
    // echo the origin with credentials).
    let eio = Server::builder().cors_allowed_origins("*").build().unwrap();
    let base = start(&eio).await;
    let r = http()
        .get(url(&base, "EIO=4&transport=polling"))
        .header("origin", "https://anywhere.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert!(r
        .headers()
        .get("access-control-allow-credentials")
        .is_none());

    // Disabled: no check, no headers, OPTIONS is an ordinary request.
    let eio = Server::builder()
        .cors_allowed_origins(CorsOrigins::Disabled)
        .build()
        .unwrap();
    let base = start(&eio).await;
    let q = url(&base, "EIO=4&transport=polling");
    let r = http()
        .get(&q)
        .header("origin", "https://x.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("access-control-allow-origin").is_none());
    assert!(r
        .headers()
        .get("access-control-allow-credentials")
        .is_none());
    let r = read(
        http()
            .request(reqwest::Method::OPTIONS, &q)
            .header("origin", "https://x.example")
            .header("access-control-request-method", "POST")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body, r#"{"code":2,"message":"Bad handshake method"}"#);
}

#[tokio::test]
async fn session_cookie_on_the_polling_handshake() {
    let eio = Server::builder()
        .cookie(CookieConfig::default())
        .build()
        .unwrap();
    let base = start(&eio).await;
    let r = get(&base, "EIO=4&transport=polling").await;
    let sid = open_json(&r.body)["sid"].as_str().unwrap().to_owned();
    assert_eq!(
        r.headers["set-cookie"],
        format!("io={sid}; path=/; SameSite=Lax").as_str()
    );
    // Only the handshake sets it.
    eio.send(sid.parse().unwrap(), "x").unwrap();
    let r = get(&base, &sid_query(&sid)).await;
    assert_eq!(r.body, "4x");
    assert!(r.headers.get("set-cookie").is_none());

    let cookie = CookieConfig::builder("sid")
        .attr("path", "/")
        .flag("HttpOnly")
        .attr("SameSite", "Strict")
        .attr_fn("Max-Age", || "60".to_owned())
        .build()
        .unwrap();
    let eio = Server::builder().cookie(cookie).build().unwrap();
    let base = start(&eio).await;
    let r = get(&base, "EIO=4&transport=polling").await;
    let sid = open_json(&r.body)["sid"].as_str().unwrap().to_owned();
    assert_eq!(
        r.headers["set-cookie"],
        format!("sid={sid}; path=/; HttpOnly; SameSite=Strict; Max-Age=60").as_str()
    );
    // No cookie by default.
    let eio = Server::new();
    let base = start(&eio).await;
    assert!(get(&base, "EIO=4&transport=polling")
        .await
        .headers
        .get("set-cookie")
        .is_none());
}

#[tokio::test]
async fn polling_responses_are_compressed_from_the_threshold() {
    let eio = Server::builder()
        .compression_threshold(1024)
        .build()
        .unwrap();
    let base = start(&eio).await;
    let sid = open_polling(&base).await;
    let s = sid.parse().unwrap();
    let poll = |enc: &'static str| {
        let req = http()
            .get(url(&base, &sid_query(&sid)))
            .header("accept-encoding", enc);
        async move { req.send().await.unwrap() }
    };

    // Below the threshold: sent as is.
    eio.send(s, "a".repeat(100)).unwrap();
    let r = poll("gzip").await;
    assert!(r.headers().get("content-encoding").is_none());
    assert_eq!(r.text().await.unwrap(), format!("4{}", "a".repeat(100)));

    // At and above it: gzip, or deflate (zlib), as the client prefers.
    let big = "b".repeat(2000);
    eio.send(s, big.clone()).unwrap();
    let r = poll("gzip, deflate").await;
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let bytes = r.bytes().await.unwrap();
    let mut out = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(out, format!("4{big}"));

    eio.send(s, big.clone()).unwrap();
    let r = poll("deflate").await;
    assert_eq!(r.headers()["content-encoding"], "deflate");
    let bytes = r.bytes().await.unwrap();
    let mut out = String::new();
    flate2::read::ZlibDecoder::new(&bytes[..])
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(out, format!("4{big}"));

    // A client that accepts neither gets plain text.
    eio.send(s, big.clone()).unwrap();
    let r = poll("br").await;
    assert!(r.headers().get("content-encoding").is_none());

    // Compression off.
    let eio = Server::builder().http_compression(false).build().unwrap();
    let base = start(&eio).await;
    let sid = open_polling(&base).await;
    eio.send(sid.parse().unwrap(), big).unwrap();
    let r = http()
        .get(url(&base, &sid_query(&sid)))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("content-encoding").is_none());
}

/// A compressed polling answer says what it varies on (tower-http's
/// compression), keeps its other headers, and loses the plain length.
#[tokio::test]
async fn a_compressed_polling_answer_varies_on_accept_encoding() {
    let eio = Server::new();
    let base = start(&eio).await;
    let sid = open_polling(&base).await;
    let s = sid.parse().unwrap();
    let big = "c".repeat(4000);
    for enc in ["gzip", "deflate"] {
        eio.send(s, big.clone()).unwrap();
        let r = http()
            .get(url(&base, &sid_query(&sid)))
            .header("accept-encoding", enc)
            .send()
            .await
            .unwrap();
        let h = r.headers();
        assert_eq!(h["content-encoding"], enc);
        let vary: Vec<&str> = h
            .get_all("vary")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert!(
            vary.iter()
                .any(|v| v.eq_ignore_ascii_case("accept-encoding")),
            "{vary:?}"
        );
        assert_eq!(h["content-type"], "text/plain; charset=UTF-8");
        assert_eq!(h["cache-control"], "no-store");
        assert_ne!(
            h.get("content-length").map(|v| v.to_str().unwrap()),
            Some("4001"),
            "no length of the uncompressed body"
        );
        assert!(r.bytes().await.unwrap().len() < 4001);
    }
    // The small answers of the same session: no Vary, exact length.
    eio.send(s, "small").unwrap();
    let r = http()
        .get(url(&base, &sid_query(&sid)))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("content-encoding").is_none());
    assert!(r.headers().get("vary").is_none());
    assert_eq!(r.headers()["content-length"], "6");
    let r = http()
        .post(url(&base, &sid_query(&sid)))
        .header("accept-encoding", "gzip")
        .body("4x")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("vary").is_none());
    assert_eq!(r.text().await.unwrap(), "ok");
}

/// An accept loop that terminates TLS marks requests with
/// `Scheme::HTTPS`; the same-origin check then expects `https://`.
#[tokio::test]
async fn cors_same_origin_honours_a_tls_marker() {
    use tower::ServiceExt as _;
    let eio = Server::new();
    let app = eio
        .service(NotFound)
        .map_request(|mut req: http::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(http::uri::Scheme::HTTPS);
            req
        });
    let (listener, base) = bind().await;
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let svc = hyper_util::service::TowerToHyperService::new(app.clone());
            tokio::spawn(
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .serve_connection_with_upgrades(hyper_util::rt::TokioIo::new(stream), svc)
                    .into_owned(),
            );
        }
    });
    let host = base.strip_prefix("http://").unwrap();
    let q = url(&base, "EIO=4&transport=polling");
    let r = http()
        .get(&q)
        .header("origin", format!("https://{host}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http().get(&q).header("origin", &base).send().await.unwrap();
    assert_eq!(r.status(), 400);
}
