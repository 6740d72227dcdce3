//! The standalone server: a hyper-util accept loop (HTTP/1.1 and HTTP/2,
//! with upgrades) that stops on [`Server::shutdown`] and drains its
//! connections gracefully.
//!
//! The connections are tasks of a [`JoinSet`] owned by the `serve` future:
//! dropping that future (aborting its task, or losing a `select!`) aborts
//! them, so nothing it started keeps the server alive. WebSocket sockets
//! are tasks of their own, holding only their session (see
//! [`super::Server`]'s model).

use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::task::JoinSet;
use tower::ServiceExt as _;
use tower_service::Service;

use super::error::Result;
use super::response::BoxError;
use super::{NotFound, RemoteAddr, Server};

impl Server {
    /// Serves Engine.IO alone on `listener` (other paths get `404`) until
    /// [`Server::shutdown`] has closed the sessions; then stops accepting
    /// and waits, up to the shutdown's deadline, for open HTTP connections
    /// to finish. Dropping the returned future stops the server at once: it
    /// closes the listener and every connection it accepted.
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> std::io::Result<()> {
    /// let eio = engineio::server::Server::new();
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// println!("listening on {}", listener.local_addr()?);
    /// eio.serve(listener).await.unwrap();
    /// # Ok(()) }
    /// ```
    pub async fn serve(&self, listener: TcpListener) -> Result<()> {
        self.serve_with(listener, NotFound).await
    }

    /// Binds `addr` and [`serve`](Server::serve)s on it.
    pub async fn serve_addr(&self, addr: impl ToSocketAddrs) -> Result<()> {
        let listener = TcpListener::bind(addr).await?;
        self.serve(listener).await
    }

    /// Like [`Server::serve`], forwarding requests outside the Engine.IO
    /// path to `inner` (python's `ASGIApp(eio, other_app)`).
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> std::io::Result<()> {
    /// let eio = engineio::server::Server::new();
    /// let app = tower::service_fn(|_req: http::Request<hyper::body::Incoming>| async {
    ///     Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Full::new(
    ///         bytes::Bytes::from_static(b"hello"),
    ///     )))
    /// });
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// eio.serve_with(listener, app).await.unwrap();
    /// # Ok(()) }
    /// ```
    pub async fn serve_with<S, B>(&self, listener: TcpListener, inner: S) -> Result<()>
    where
        S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let service = self.service(inner);
        let mut builder = auto::Builder::new(TokioExecutor::new());
        // Slow clients: request headers must arrive within the request
        // timeout (hyper closes the connection otherwise).
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.options().http_request_timeout);
        let graceful = GracefulShutdown::new();
        let mut connections = JoinSet::new();
        let mut stop = self.shared().stop_accepting.subscribe();
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, path = %self.options().path, "engine.io server listening");
        }
        loop {
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        // Typically EMFILE: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = async {
                    // The returned `Ref` is not `Send`: drop it right here.
                    let _ = stop.wait_for(|stop| *stop).await;
                } => break,
                // Reap finished connections, so the set holds only live ones.
                Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            };
            let _ = stream.set_nodelay(true);
            let svc = service
                .clone()
                .map_request(move |mut req: Request<Incoming>| {
                    req.extensions_mut().insert(RemoteAddr(peer));
                    req
                });
            let conn = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(svc))
                .into_owned();
            let conn = graceful.watch(conn);
            connections.spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
            });
        }
        drop(listener);
        let deadline = *self.shared().shutdown.borrow();
        match deadline {
            Some(d) => {
                let _ = tokio::time::timeout_at(d.into(), graceful.shutdown()).await;
            }
            None => graceful.shutdown().await,
        }
        // Past the deadline: `connections` aborts what is left as it drops.
        Ok(())
    }
}
