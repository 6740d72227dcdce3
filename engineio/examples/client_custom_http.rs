//! python-engineio's "custom HTTP session" client example: a
//! `reqwest::Client` that trusts a private CA bundle, used for polling and
//! for the WebSocket handshake alike, with a 10 s request timeout.
//!
//! ```sh
//! cargo run -p engineio --example client_custom_http -- https://secure-server.com /path/to/ca-bundle.crt
//! ```
//!
//! ```python
//! session = requests.Session()
//! session.verify = '/path/to/ca-bundle.crt'
//! client = engineio.Client(http_session=session, ssl_verify=True, request_timeout=10)
//! client.connect('https://secure-server.com')
//! ```
//!
//! Proxies (`reqwest::Proxy`), client certificates (`reqwest::Identity`) and
//! cookie stores are set the same way, on the `reqwest::ClientBuilder`.

use std::time::Duration;

use engineio::client::blocking::Client;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "https://localhost:5000".into());
    let mut http = reqwest::Client::builder()
        // The WebSocket transport is an HTTP/1.1 upgrade.
        .http1_only();
    if let Some(bundle) = args.next() {
        // Like `session.verify = path`: trust this bundle only.
        let pem = std::fs::read(bundle)?;
        http = http.tls_certs_only(reqwest::Certificate::from_pem_bundle(&pem)?);
    }
    let client = Client::builder()
        .http_client(http.build()?)
        .ssl_verify(true)
        .request_timeout(Duration::from_secs(10))
        .connect(&url)?;
    println!("connected as {} over {}", client.sid(), client.transport());
    client.disconnect();
    Ok(())
}
