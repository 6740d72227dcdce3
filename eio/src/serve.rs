//! `eio serve`: an echo server with python-engineio's latency demo page.
//!
//! Every message is sent back to its sender (text as text, binary as
//! binary), except the text message `broadcast:<N>` (e.g. `broadcast:64`),
//! which instead sends N bytes of text (`x` repeated) to every open session,
//! the sender included: the trigger of `eio bench --mode broadcast`. By default `/` serves a page that connects with the official
//! `engine.io-client` (from npm, never copied into this repository) and
//! charts round-trip latency live.

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use clap::Args;
use engineio::server::{
    CookieConfig, CorsOrigins, Data, Server, ServerOptions, StaticFiles, StaticFilesLayer,
    TransportKind,
};
use http_body_util::Full;
use tower::Layer;

/// The demo page, built into the binary.
const LATENCY_HTML: &str = include_str!("../demo/latency.html");

/// Options of `eio serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Interface to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to bind (0 picks a free one; the URL is printed either way).
    #[arg(long, default_value_t = 5000)]
    port: u16,
    /// The Engine.IO path.
    #[arg(long, default_value = "/engine.io/")]
    path: String,
    /// Milliseconds between server pings.
    #[arg(long, default_value_t = 25_000)]
    ping_interval: u64,
    /// Milliseconds to wait for a pong.
    #[arg(long, default_value_t = 20_000)]
    ping_timeout: u64,
    /// Largest POST body or WebSocket message, in bytes.
    #[arg(long, default_value_t = 1_000_000)]
    max_payload: usize,
    /// Transports to accept, comma-separated.
    #[arg(long, default_value = "polling,websocket", value_delimiter = ',')]
    transports: Vec<String>,
    /// Allowed CORS origin (repeatable; `*` for any). Default: same origin.
    #[arg(long = "cors")]
    cors: Vec<String>,
    /// Static files: `URL=PATH` (a file, or a directory when PATH ends in
    /// `/` or is a directory). Repeatable.
    #[arg(long = "static", value_name = "URL=PATH")]
    statics: Vec<String>,
    /// Send a session cookie with this name on the handshake.
    #[arg(long)]
    cookie: Option<String>,
    /// Start every session id with this node name (at most 8 of
    /// `A-Z a-z 0-9 - _`), for a load balancer that routes on the sid.
    #[arg(long, default_value = "")]
    sid_prefix: String,
    /// Do not compress polling responses.
    #[arg(long)]
    no_compression: bool,
    /// Do not serve the latency demo page.
    #[arg(long)]
    no_demo: bool,
    /// Path of engine.io-client's `engine.io.min.js` for the demo page
    /// (default: `eio/demo/node_modules/...`, installed by `npm ci` there).
    #[arg(long)]
    client_js: Option<PathBuf>,
    /// Runtime worker threads (default: the CPUs this process may run on).
    /// With 0 or 1, the server runs on a single-threaded runtime.
    #[arg(long)]
    threads: Option<usize>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn find_client_js(explicit: Option<PathBuf>) -> Option<PathBuf> {
    const REL: &str = "node_modules/engine.io-client/dist/engine.io.min.js";
    let mut candidates = Vec::new();
    if let Some(p) = explicit {
        candidates.push(p);
    }
    if let Ok(p) = std::env::var("EIO_CLIENT_JS") {
        candidates.push(PathBuf::from(p));
    }
    candidates.push(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("demo")
            .join(REL),
    );
    candidates.push(PathBuf::from("eio/demo").join(REL));
    candidates.into_iter().find(|p| p.is_file())
}

fn options(args: &ServeArgs) -> Result<ServerOptions, BoxError> {
    let mut o = ServerOptions::default();
    o.path = args.path.clone();
    o.ping_interval = Duration::from_millis(args.ping_interval);
    o.ping_timeout = Duration::from_millis(args.ping_timeout);
    o.max_http_buffer_size = args.max_payload;
    o.http_compression = !args.no_compression;
    o.transports = args
        .transports
        .iter()
        .map(|t| TransportKind::parse(t.trim()).ok_or_else(|| format!("unknown transport {t:?}")))
        .collect::<Result<_, _>>()?;
    if !args.cors.is_empty() {
        o.cors_allowed_origins = CorsOrigins::list(args.cors.iter().cloned());
    }
    if let Some(name) = &args.cookie {
        o.cookie = Some(CookieConfig::new(name.clone())?);
    }
    o.sid_prefix = args.sid_prefix.clone();
    Ok(o)
}

/// The demo application: `/` is the page, `/engine.io.js` the npm client.
#[derive(Clone)]
struct Demo {
    html: Option<Bytes>,
    client_js: Option<Bytes>,
}

impl Demo {
    fn respond(&self, path: &str) -> http::Response<Full<Bytes>> {
        let (status, ctype, body) = match (path, &self.html, &self.client_js) {
            ("/" | "/index.html", Some(html), _) => {
                (200, "text/html; charset=utf-8", html.clone())
            }
            ("/engine.io.js", Some(_), Some(js)) => (200, "application/javascript", js.clone()),
            ("/engine.io.js", Some(_), None) => (
                200,
                "application/javascript",
                Bytes::from_static(
                    b"document.addEventListener('DOMContentLoaded',function(){document.body.insertAdjacentHTML('afterbegin','<p style=\"color:#c92a2a\"><b>engine.io-client is not installed.</b> Run <code>npm ci --prefix eio/demo</code> (or <code>bash scripts/demo.sh</code>) and reload.</p>')});",
                ),
            ),
            _ => (404, "text/plain; charset=utf-8", Bytes::from_static(b"Not Found")),
        };
        http::Response::builder()
            .status(status)
            .header(http::header::CONTENT_TYPE, ctype)
            .body(Full::new(body))
            .unwrap_or_default()
    }
}

pub(crate) fn run(args: ServeArgs) -> Result<(), BoxError> {
    let rt = crate::runtime(args.threads)?;
    rt.block_on(serve(args))
}

async fn serve(args: ServeArgs) -> Result<(), BoxError> {
    let server = Server::builder().options(options(&args)?).build()?;
    let max_payload = args.max_payload;
    server.on_message(move |eio, sid, data| match broadcast_size(&data) {
        Some(n) if n <= max_payload => {
            eio.send_all(Data::from("x".repeat(n)));
        }
        _ => {
            let _ = eio.send(sid, data);
        }
    });

    let demo = if args.no_demo {
        Demo {
            html: None,
            client_js: None,
        }
    } else {
        let js = find_client_js(args.client_js.clone());
        if js.is_none() {
            eprintln!(
                "eio serve: engine.io-client is not installed, so the demo page cannot connect.\n  \
                 Install it with: npm ci --prefix eio/demo   (or run: bash scripts/demo.sh)"
            );
        }
        Demo {
            html: Some(Bytes::from_static(LATENCY_HTML.as_bytes())),
            client_js: js.and_then(|p| std::fs::read(p).ok()).map(Bytes::from),
        }
    };
    let demo = Arc::new(demo);
    let app = tower::service_fn(move |req: http::Request<hyper::body::Incoming>| {
        let demo = demo.clone();
        async move { Ok::<_, Infallible>(demo.respond(req.uri().path())) }
    });

    let app = static_files(&args.statics)?.layer(app);

    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await?;
    let addr = listener.local_addr()?;
    println!(
        "eio serve: listening on http://{addr}/ (Engine.IO path {})",
        server.options().path
    );

    let serving = {
        let server = server.clone();
        tokio::spawn(async move { server.serve_with(listener, app).await })
    };
    shutdown_signal().await;
    eprintln!("eio serve: shutting down");
    server.shutdown(Duration::from_secs(5)).await?;
    serving.abort();
    Ok(())
}

/// N if `data` is the text `broadcast:<N>`.
fn broadcast_size(data: &Data) -> Option<usize> {
    match data {
        Data::Text(t) => t.as_str().strip_prefix("broadcast:")?.parse().ok(),
        Data::Binary(_) => None,
    }
}

/// `--static URL=PATH` rules, python-engineio's `static_files`: a file, or
/// a directory when PATH is one (or ends in `/`).
fn static_files(rules: &[String]) -> Result<StaticFilesLayer, BoxError> {
    let mut files = StaticFiles::new();
    for rule in rules {
        let (url, path) = rule
            .split_once('=')
            .ok_or_else(|| format!("--static {rule:?} is not URL=PATH"))?;
        let p = PathBuf::from(path);
        files = if path.ends_with('/') || p.is_dir() {
            files.dir(url, p)
        } else {
            files.file(url, p)
        };
    }
    Ok(StaticFilesLayer::new(files))
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
