//! The conformance cases (`tests/conformance/`) against the reference Node
//! engine.io server (`interop/node/server.js`), which proves the cases right:
//! every one of them must pass here.
//!
//! Each test starts its own Node server on 127.0.0.1:0 with the options the
//! case asks for; the server is killed when the test ends.

mod common;
mod conformance;

use conformance::ServerOptions;

/// Starts the Node echo server configured as `opts` says.
fn node(opts: ServerOptions) -> (common::Peer, String) {
    let mut config = serde_json::json!({
        "pingInterval": opts.ping_interval_ms,
        "pingTimeout": opts.ping_timeout_ms,
        "maxHttpBufferSize": opts.max_http_buffer_size,
        "maxBufferedChunks": opts.max_buffered_chunks,
        "httpRequestBodyTimeout": opts.body_timeout_ms,
    });
    if opts.cors_any {
        config["cors"] = serde_json::json!({"origin": "*"});
    }
    let peer = common::node_server(config);
    let base = peer.base_url();
    (peer, base)
}

conformance::conformance_tests!(|opts| async move { node(opts) });

/// Code 4 needs an allowRequest hook; the Node peer refuses `?deny`.
#[tokio::test]
async fn error_forbidden() {
    let (_server, base) = node(ServerOptions::SUITE);
    conformance::run_case("error_forbidden", conformance::error_forbidden(&base)).await;
}
