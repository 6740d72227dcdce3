//! python-engineio's basic server example (`WSGIApp`/`ASGIApp` with
//! `static_files`): logs connections and messages, answers every message
//! with `reply`, and serves the client page at `/`.
//!
//! ```text
//! cargo run -p engineio --example server_basic -- 127.0.0.1:5000
//! ```
//!
//! The page is `eio/demo/latency.html` with the official engine.io-client
//! from `eio/demo/node_modules` (`npm ci --prefix eio/demo`).

use engineio::server::{NotFound, Server, StaticFiles, StaticFilesLayer};

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../eio/demo");

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let eio = Server::new();
    eio.on_connect(|_eio, sid, _req| {
        println!("connect {sid}");
        Ok(())
    })
    .on_message(|eio, sid, data| {
        println!("message {data:?}");
        let _ = eio.send(sid, "reply");
    })
    .on_disconnect(|_eio, sid, _reason| println!("disconnect {sid}"));

    // static_files={'/': 'index.html', '/index.html': 'index.html'}
    let page = format!("{DEMO}/latency.html");
    let files = StaticFiles::new()
        .file_with_type("/", &page, http::HeaderValue::from_static("text/html"))
        .file_with_type(
            "/index.html",
            &page,
            http::HeaderValue::from_static("text/html"),
        )
        .file(
            "/engine.io.js",
            format!("{DEMO}/node_modules/engine.io-client/dist/engine.io.js"),
        );
    let app = tower::ServiceBuilder::new()
        .layer(StaticFilesLayer::new(files))
        .service(NotFound);

    let addr = std::env::args().nth(1).unwrap_or("127.0.0.1:5000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    eio.serve_with(listener, app).await?;
    Ok(())
}
