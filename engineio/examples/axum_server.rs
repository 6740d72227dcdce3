//! Engine.IO inside an axum application (python's `eio.attach(app)` for
//! aiohttp/sanic, or `WSGIApp(eio, flask_app)`): the Engine.IO path is
//! served by the layer, every other route by axum.
//!
//! ```text
//! cargo run -p engineio --example axum_server -- 127.0.0.1:5000
//! ```

use axum::routing::get;
use axum::Router;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The Engine.IO part: five lines.
    let eio = engineio::Server::new();
    let tx = eio.clone();
    eio.on_message(move |sid, data| drop(tx.send(sid, data)));
    let app = Router::new()
        .route("/", get(|| async { "Engine.IO is at /engine.io/" }))
        .layer(eio.layer());

    let addr = std::env::args().nth(1).unwrap_or("127.0.0.1:5000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
