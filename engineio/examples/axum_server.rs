//! Engine.IO inside an axum application (python's `eio.attach(app)` for
//! aiohttp/sanic, or `WSGIApp(eio, flask_app)`): the Engine.IO path is
//! served by the layer, every other route by axum.
//!
//! ```text
//! cargo run -p engineio --example axum_server -- 127.0.0.1:5000
//! ```

use axum::routing::get;
use axum::Router;
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The Engine.IO part: two lines.
    let eio = engineio::Server::new();
    eio.on_message(|eio, sid, data| drop(eio.send(sid, data)));
    let app = Router::new()
        .route("/", get(|| async { "Engine.IO is at /engine.io/" }))
        .layer(eio.layer());

    let addr = std::env::args().nth(1).unwrap_or("127.0.0.1:5000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    // Ctrl-C: close the Engine.IO sessions first (clients get a `close`
    // packet, not a dropped transport), then let axum drain its connections.
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = tokio::signal::ctrl_c().await;
            let _ = eio.shutdown(Duration::from_secs(5)).await;
        })
        .await?;
    Ok(())
}
