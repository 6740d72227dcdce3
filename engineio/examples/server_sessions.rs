//! The server guide's other examples: authentication in the connect
//! handler (python's `return False`), user sessions (`save_session`,
//! `get_session`, `with eio.session(sid)`), a background task, logging.
//!
//! ```text
//! RUST_LOG=engineio=debug cargo run -p engineio --example server_sessions -- 127.0.0.1:5000
//! ```
//! Connect with `?username=ann`; a missing username is refused (401).

use std::time::Duration;

use engineio::server::{Data, Reject, Server};
use serde_json::json;

#[derive(Clone, Default, Debug)]
struct User {
    username: String,
    messages: u64,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // logger=True: the server logs through `tracing`.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();

    let eio = Server::new();
    eio.on_connect(|eio, sid, req| {
        let Some(username) = req.query_param("username") else {
            return Err(Reject::with_body(json!({"message": "username required"})));
        };
        // save_session(sid, {'username': username})
        let _ = eio.save_session(
            sid,
            User {
                username,
                messages: 0,
            },
        );
        Ok(())
    });
    eio.on_message(|eio, sid, data| {
        // with eio.session(sid) as session: ...
        let count = eio
            .with_session(sid, |u: &mut User| {
                u.messages += 1;
                u.messages
            })
            .unwrap_or(0);
        // session = eio.get_session(sid)
        let user: Option<User> = eio.get_session(sid).ok().flatten();
        let name = user.map(|u| u.username).unwrap_or_default();
        if let Data::Text(text) = data {
            let _ = eio.send_json(sid, &json!({"from": name, "text": &*text, "count": count}));
        }
    });
    eio.on_disconnect(|_eio, sid, reason| println!("{sid} disconnected: {reason}"));

    // start_background_task: a tokio task.
    let ticker = eio.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            ticker.send_all("tick");
        }
    });

    let addr = std::env::args().nth(1).unwrap_or("127.0.0.1:5000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    eio.serve(listener).await?;
    Ok(())
}
