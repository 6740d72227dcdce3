//! python-engineio's `engineio.Server()` examples (eventlet, gevent,
//! threads): the blocking flavour, for programs without an async runtime.
//! Handlers are plain closures and may block; `send` works from any thread.
//!
//! ```text
//! cargo run -p engineio --example blocking_server -- 127.0.0.1:5000
//! ```

use std::time::Duration;

use engineio::server::blocking::Server;

fn main() -> Result<(), engineio::server::ServerError> {
    let eio = Server::new()?;
    eio.on_connect(|_eio, sid, req| {
        println!("connect {sid} from {:?}", req.remote_addr());
        Ok(())
    })
    .on_message(|eio, sid, data| {
        println!("message {data:?}");
        // Blocking here (a database call, a sleep) stalls nobody else.
        std::thread::sleep(Duration::from_millis(10));
        let _ = eio.send(sid, "reply");
    })
    .on_disconnect(|_eio, sid, reason| println!("disconnect {sid} ({reason})"));

    // A background thread (python's start_background_task) greeting everyone.
    let greeter = eio.clone();
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_secs(10));
        greeter.send_all("still there?");
    });

    let addr = std::env::args().nth(1).unwrap_or("127.0.0.1:5000".into());
    let listener = std::net::TcpListener::bind(addr)?;
    println!("listening on http://{}", listener.local_addr()?);
    eio.serve_listener(listener)
}
