//! Tower integration, in tower-http's shape: [`EngineIoLayer`] wraps a
//! service into [`EngineIoService`], which answers requests under the
//! Engine.IO path and forwards every other request to the inner service;
//! [`StaticFilesLayer`] serves python-engineio's static file rules in front
//! of a service. Stacked as `EngineIoLayer` then `StaticFilesLayer`, the
//! routing is python's `ASGIApp`: Engine.IO path, then static files, then
//! the application.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use pin_project_lite::pin_project;
use tower_http::compression::CompressionBody;
use tower_layer::Layer;
use tower_service::Service;

use super::handlers::BoxFuture;
use super::request;
use super::response::BoxError;
use super::Server;
use crate::http::compression::{Compressing, Negotiation};
use crate::http::static_files::StaticBody;
use crate::http::StaticFiles;

/// A [`Layer`] that mounts an Engine.IO [`Server`] in front of a service
/// (the Rust counterpart of python's `ASGIApp(eio, other_app)`).
///
/// ```
/// use engineio::server::{EngineIoLayer, NotFound, Server};
/// let app = tower::ServiceBuilder::new()
///     .layer(EngineIoLayer::new(Server::new()))
///     .service(NotFound);
/// # drop(app);
/// ```
#[derive(Debug, Clone)]
pub struct EngineIoLayer {
    server: Server,
}

impl EngineIoLayer {
    /// A layer serving `server` on its [`path`](super::ServerOptions::path).
    pub fn new(server: Server) -> Self {
        EngineIoLayer { server }
    }
}

impl<S> Layer<S> for EngineIoLayer {
    type Service = EngineIoService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        EngineIoService::new(self.server.clone(), inner)
    }
}

/// Answers Engine.IO requests and forwards the others to `S`.
///
/// ```
/// use engineio::server::{EngineIoService, NotFound, Server};
/// let svc = EngineIoService::new(Server::new(), NotFound);
/// # drop(svc);
/// ```
#[derive(Debug, Clone)]
pub struct EngineIoService<S> {
    server: Server,
    inner: S,
}

impl<S> EngineIoService<S> {
    /// Wraps `inner`.
    pub fn new(server: Server, inner: S) -> Self {
        EngineIoService { server, inner }
    }

    /// The Engine.IO server.
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Returns the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for EngineIoService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ReqBody: Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<BoxError>,
    ResBody: Body<Data = Bytes>,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        if req.uri().path().starts_with(&self.server.options().path) {
            let shared = self.server.shared().clone();
            let compression = Negotiation::new(&shared.options, req.method(), req.headers());
            let compression = Some(compression);
            ResponseFuture {
                kind: Kind::Engine {
                    fut: Box::pin(request::handle(shared, req)),
                    compression,
                },
            }
        } else {
            ResponseFuture {
                kind: Kind::Inner {
                    fut: self.inner.call(req),
                },
            }
        }
    }
}

pin_project! {
    /// The response future of [`EngineIoService`].
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        Engine {
            fut: BoxFuture<Response<Full<Bytes>>>,
            // Taken when the answer is ready.
            compression: Option<Negotiation>,
        },
        // A large polling payload on its way through tower-http (ready when
        // first polled). Boxed, as its body is: the future is several times
        // the size of the others, and every request's future (a held
        // long-poll GET included) would carry it.
        Compressing { fut: Pin<Box<Compressing>> },
        Inner { #[pin] fut: F },
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut kind = self.project().kind;
        loop {
            return match kind.as_mut().project() {
                KindProj::Engine { fut, compression } => {
                    let Poll::Ready(r) = fut.as_mut().poll(cx) else {
                        return Poll::Pending;
                    };
                    match compression.take() {
                        Some(c) if c.admits(&r) => {
                            kind.set(Kind::Compressing {
                                fut: Box::pin(c.compress(r)),
                            });
                            continue;
                        }
                        _ => Poll::Ready(Ok(r.map(ResponseBody::engine))),
                    }
                }
                KindProj::Compressing { fut } => fut.as_mut().poll(cx).map(|r| match r {
                    Ok(r) => Ok(r.map(ResponseBody::compressed)),
                    Err(never) => match never {},
                }),
                KindProj::Inner { fut } => fut.poll(cx).map_ok(|r| r.map(ResponseBody::inner)),
            };
        }
    }
}

pin_project! {
    /// The response body of [`EngineIoService`] and [`StaticFilesService`]:
    /// an Engine.IO answer (a large polling payload compressed by
    /// tower-http), a static file, or the inner service's body.
    pub struct ResponseBody<B> {
        #[pin]
        kind: BodyKind<B>,
    }
}

pin_project! {
    #[project = BodyKindProj]
    enum BodyKind<B> {
        Engine { #[pin] body: Full<Bytes> },
        // Boxed: tower-http's body is ten times the size of `Full`, and
        // only large answers take this path.
        Compressed { body: Pin<Box<CompressionBody<Full<Bytes>>>> },
        Static { #[pin] body: StaticBody },
        Inner { #[pin] body: B },
    }
}

impl<B> ResponseBody<B> {
    fn engine(body: Full<Bytes>) -> Self {
        ResponseBody {
            kind: BodyKind::Engine { body },
        }
    }

    fn compressed(body: CompressionBody<Full<Bytes>>) -> Self {
        ResponseBody {
            kind: BodyKind::Compressed {
                body: Box::pin(body),
            },
        }
    }

    fn inner(body: B) -> Self {
        ResponseBody {
            kind: BodyKind::Inner { body },
        }
    }

    fn static_file(body: StaticBody) -> Self {
        ResponseBody {
            kind: BodyKind::Static { body },
        }
    }
}

impl<B> std::fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody").finish_non_exhaustive()
    }
}

impl<B> Body for ResponseBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.project().kind.project() {
            BodyKindProj::Engine { body } => body.poll_frame(cx).map_err(|e| match e {}),
            BodyKindProj::Compressed { body } => body.as_mut().poll_frame(cx),
            BodyKindProj::Static { body } => body.poll_frame(cx).map_err(Into::into),
            BodyKindProj::Inner { body } => body.poll_frame(cx).map_err(Into::into),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            BodyKind::Engine { body } => body.is_end_stream(),
            BodyKind::Compressed { body } => body.is_end_stream(),
            BodyKind::Static { body } => body.is_end_stream(),
            BodyKind::Inner { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            BodyKind::Engine { body } => body.size_hint(),
            BodyKind::Compressed { body } => body.size_hint(),
            BodyKind::Static { body } => body.size_hint(),
            BodyKind::Inner { body } => body.size_hint(),
        }
    }
}

/// A service answering every request `404 Not Found`: the inner service
/// when Engine.IO is served alone.
#[derive(Debug, Clone, Copy, Default)]
pub struct NotFound;

impl<B> Service<Request<B>> for NotFound {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _req: Request<B>) -> Self::Future {
        let mut resp = Response::new(Full::new(Bytes::from_static(b"Not Found")));
        *resp.status_mut() = StatusCode::NOT_FOUND;
        std::future::ready(Ok(resp))
    }
}

/// A [`Layer`] serving [`StaticFiles`] rules in front of a service
/// (python's `static_files=`): a request a rule matches gets the file; a
/// request no rule matches, for a missing file, or with a method other than
/// `GET`/`HEAD`, goes on to the inner service.
///
/// ```
/// use engineio::server::{NotFound, Server, StaticFiles, StaticFilesLayer};
/// let eio = Server::new();
/// let files = StaticFiles::new().file("/", "latency.html").dir("/static", "public");
/// let app = tower::ServiceBuilder::new()
///     .layer(eio.layer()) // Engine.IO path first,
///     .layer(StaticFilesLayer::new(files)) // then the static files,
///     .service(NotFound); // then the application.
/// # drop(app);
/// ```
#[derive(Debug, Clone)]
pub struct StaticFilesLayer {
    files: Arc<StaticFiles>,
}

impl StaticFilesLayer {
    /// A layer serving `files`.
    pub fn new(files: StaticFiles) -> Self {
        StaticFilesLayer {
            files: Arc::new(files),
        }
    }
}

impl<S> Layer<S> for StaticFilesLayer {
    type Service = StaticFilesService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        StaticFilesService {
            files: self.files.clone(),
            inner,
        }
    }
}

/// Serves static files, forwarding everything else to `S`; see
/// [`StaticFilesLayer`].
#[derive(Debug, Clone)]
pub struct StaticFilesService<S> {
    files: Arc<StaticFiles>,
    inner: S,
}

impl<S> StaticFilesService<S> {
    /// Serves `files` in front of `inner`.
    pub fn new(files: StaticFiles, inner: S) -> Self {
        StaticFilesService {
            files: Arc::new(files),
            inner,
        }
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for StaticFilesService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        if !self.files.matches(req.uri().path()) {
            let fut = self.inner.call(req);
            return Box::pin(async move { Ok(fut.await?.map(ResponseBody::inner)) });
        }
        let file = self.files.serve(&req);
        // The ready service goes into the future; a fresh clone stays.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            match file.await {
                Some(resp) => Ok(resp.map(ResponseBody::static_file)),
                None => Ok(inner.call(req).await?.map(ResponseBody::inner)),
            }
        })
    }
}
