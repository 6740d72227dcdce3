//! python-engineio's `latency` example: every message is answered with
//! `pong`; the page at `/` charts the round-trip time.
//!
//! ```text
//! cargo run -p engineio --example server_latency -- 127.0.0.1:5000
//! ```
//!
//! Needs the page's JavaScript client: `npm ci --prefix eio/demo`.

use engineio::server::{NotFound, Server, StaticFiles, StaticFilesLayer};

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../eio/demo");

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let eio = Server::new();
    eio.on_message(|eio, sid, _| {
        let _ = eio.send(sid, "pong");
    });

    // static_files={'/': 'latency.html', '/static': 'static'}
    let files = StaticFiles::new()
        .file("/", format!("{DEMO}/latency.html"))
        .file(
            "/engine.io.js",
            format!("{DEMO}/node_modules/engine.io-client/dist/engine.io.js"),
        )
        .dir(
            "/static",
            format!("{DEMO}/node_modules/engine.io-client/dist"),
        );
    let app = tower::ServiceBuilder::new()
        .layer(StaticFilesLayer::new(files))
        .service(NotFound);

    let addr = std::env::args().nth(1).unwrap_or("127.0.0.1:5000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("open http://{} in a browser", listener.local_addr()?);
    // Ctrl-C: close every session, then stop.
    let stopper = eio.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = stopper.shutdown(std::time::Duration::from_secs(5)).await;
    });
    eio.serve_with(listener, app).await?;
    Ok(())
}
