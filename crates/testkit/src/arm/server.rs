//! The HTTP side: a hyper HTTP/1.1 server on its own thread and single-threaded tokio runtime,
//! so it serves sync tests, async tests and child processes alike. Handlers run synchronously on
//! the fully read request; a handler that panics answers 500 and the server carries on.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request as HttpRequest, Response};
use hyper_util::rt::TokioIo;
use tokio::sync::oneshot;

use super::errors::{ArmError, Reply};
use super::handlers::{self, Request};
use super::routes;
use super::state::State;
use super::validation::Catalog;

/// What every connection shares.
pub(super) struct Shared {
    pub endpoint: String,
    pub token: String,
    pub catalog: Arc<Catalog>,
    state: Mutex<State>,
}

impl Shared {
    pub fn new(endpoint: String, token: String, catalog: Arc<Catalog>) -> Shared {
        Shared { endpoint, token, catalog, state: Mutex::new(State::default()) }
    }

    /// The state, even after a handler panicked while holding it: a test fake must keep serving.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The running server; dropping it stops the accept loop and every connection.
pub(super) struct Server {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds 127.0.0.1 on a free port and starts serving; `make_shared` learns the endpoint.
    pub fn start(make_shared: impl FnOnce(String) -> Shared) -> std::io::Result<(Server, Arc<Shared>)> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(make_shared(format!("http://{addr}")));
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let (shutdown, stopped) = oneshot::channel();
        let serving = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("fake-arm-{}", addr.port()))
            .spawn(move || runtime.block_on(accept(listener, serving, stopped)))?;
        Ok((Server { addr, shutdown: Some(shutdown), thread: Some(thread) }, shared))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept(listener: std::net::TcpListener, shared: Arc<Shared>, mut stopped: oneshot::Receiver<()>) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
    loop {
        let stream = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(serve(&shared, request).await) }
            });
            // A client hanging up mid-request is its business, not the server's.
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

async fn serve(shared: &Shared, request: HttpRequest<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let reply = match body.collect().await {
        Ok(body) => {
            let body = body.to_bytes();
            let authorization = parts.headers.get(hyper::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
            let request = Request {
                method: parts.method.as_str(),
                path: parts.uri.path(),
                query: routes::parse_query(parts.uri.query()),
                authorization,
                body: &body,
            };
            catch_unwind(AssertUnwindSafe(|| handlers::handle(shared, &request))).unwrap_or_else(|_| {
                ArmError::new(500, "InternalServerError", "The fake ARM server failed on this request.").into_reply()
            })
        }
        Err(error) => ArmError::bad_request("InvalidRequestContent", format!("Cannot read the request body: {error}"))
            .into_reply(),
    };
    respond(reply)
}

fn respond(reply: Reply) -> Response<Full<Bytes>> {
    let body = reply.body.as_ref().map(|b| serde_json::to_vec(b).unwrap_or_default()).unwrap_or_default();
    let mut response = Response::builder()
        .status(reply.status)
        .header("x-ms-request-id", uuid::Uuid::new_v4().to_string())
        .header("x-ms-correlation-request-id", uuid::Uuid::new_v4().to_string());
    if reply.body.is_some() {
        response = response.header("Content-Type", "application/json; charset=utf-8");
    }
    for (name, value) in reply.headers {
        response = response.header(name, value);
    }
    response.body(Full::new(Bytes::from(body))).unwrap_or_else(|_| {
        let mut fallback = Response::new(Full::new(Bytes::new()));
        *fallback.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
        fallback
    })
}
