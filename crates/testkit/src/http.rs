//! The tiny HTTP/1.1 server the fake services ([`arm`](crate::arm), [`kube`](crate::kube)) run
//! on: hyper on its own thread and single-threaded tokio runtime, so it serves sync tests, async
//! tests and child processes alike. Handlers run synchronously on the fully read request and
//! answer with a whole body or a stream of chunks (a Kubernetes watch); a handler that panics
//! gets the service's failure answer and the server carries on. Given a TLS configuration, the
//! one port speaks both plain HTTP and HTTPS, told apart by the connection's first byte.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread::JoinHandle;

use http_body_util::BodyExt;
use hyper::body::{Bytes, Frame, Incoming, SizeHint};
use hyper::header::HeaderMap;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;

/// A request as handlers see it: the body is read in full before handling starts.
pub(crate) struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// The decoded query parameters; `+` is a space, as form encoding has it.
    pub query: BTreeMap<String, String>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

impl Request<'_> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A response body: whole, or chunks sent as they come until the sender is dropped.
pub(crate) enum Body {
    Full(Vec<u8>),
    Stream(mpsc::Receiver<Vec<u8>>),
}

pub(crate) struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Body,
}

/// What a fake service does with each request.
pub(crate) trait Service: Send + Sync + 'static {
    fn handle(&self, request: &Request<'_>) -> Response;
    /// The answer when the handler panicked or the body could not be read.
    fn failure(&self, message: &str) -> Response;
}

/// The running server; dropping it stops the accept loop and every connection.
pub(crate) struct Server {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds 127.0.0.1 on `port` (0: a free one) and starts serving, also TLS when given a
    /// configuration; `make` learns the (plain HTTP) base URL.
    pub fn start<S: Service>(
        name: &str,
        port: u16,
        tls: Option<Arc<ServerConfig>>,
        make: impl FnOnce(String) -> S,
    ) -> std::io::Result<(Server, Arc<S>)> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let service = Arc::new(make(format!("http://{addr}")));
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let (shutdown, stopped) = oneshot::channel();
        let serving = service.clone();
        let thread = std::thread::Builder::new()
            .name(format!("{name}-{}", addr.port()))
            .spawn(move || runtime.block_on(accept(listener, serving, tls.map(TlsAcceptor::from), stopped)))?;
        Ok((Server { addr, shutdown: Some(shutdown), thread: Some(thread) }, service))
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

async fn accept<S: Service>(
    listener: std::net::TcpListener,
    service: Arc<S>,
    tls: Option<TlsAcceptor>,
    mut stopped: oneshot::Receiver<()>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
    loop {
        let stream = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
        };
        let (service, tls) = (service.clone(), tls.clone());
        tokio::spawn(async move {
            // A TLS connection opens with a handshake record, type 22.
            let mut first = [0u8; 1];
            match tls {
                Some(tls) if matches!(stream.peek(&mut first).await, Ok(1) if first[0] == 22) => {
                    if let Ok(stream) = tls.accept(stream).await {
                        connection(stream, service).await;
                    }
                }
                _ => connection(stream, service).await,
            }
        });
    }
}

async fn connection<S: Service>(io: impl AsyncRead + AsyncWrite + Unpin + Send + 'static, service: Arc<S>) {
    let handler = service_fn(move |request| {
        let service = service.clone();
        async move { Ok::<_, Infallible>(serve(&*service, request).await) }
    });
    // A client hanging up mid-request is its business, not the server's.
    let _ = http1::Builder::new().serve_connection(TokioIo::new(io), handler).await;
}

async fn serve<S: Service>(service: &S, request: hyper::Request<Incoming>) -> hyper::Response<Outgoing> {
    let (parts, body) = request.into_parts();
    let response = match body.collect().await {
        Ok(body) => {
            let body = body.to_bytes();
            let request = Request {
                method: parts.method.as_str(),
                path: parts.uri.path(),
                query: form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()).into_owned().collect(),
                headers: &parts.headers,
                body: &body,
            };
            catch_unwind(AssertUnwindSafe(|| service.handle(&request)))
                .unwrap_or_else(|_| service.failure("The fake server failed on this request."))
        }
        Err(error) => service.failure(&format!("Cannot read the request body: {error}")),
    };
    respond(response)
}

fn respond(response: Response) -> hyper::Response<Outgoing> {
    let body = match response.body {
        Body::Full(bytes) => Outgoing::Full(Some(Bytes::from(bytes))),
        Body::Stream(chunks) => Outgoing::Stream(chunks),
    };
    let mut builder = hyper::Response::builder().status(response.status);
    for (name, value) in response.headers {
        builder = builder.header(name, value);
    }
    builder.body(body).unwrap_or_else(|_| {
        let mut fallback = hyper::Response::new(Outgoing::Full(None));
        *fallback.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
        fallback
    })
}

/// The body hyper sends: a whole one carries its length, a stream goes out chunked.
enum Outgoing {
    Full(Option<Bytes>),
    Stream(mpsc::Receiver<Vec<u8>>),
}

impl hyper::body::Body for Outgoing {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match &mut *self {
            Outgoing::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Outgoing::Stream(chunks) => {
                chunks.poll_recv(cx).map(|chunk| chunk.map(|c| Ok(Frame::data(Bytes::from(c)))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Outgoing::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Outgoing::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Outgoing::Stream(_) => SizeHint::default(),
        }
    }
}

/// A deliberately dumb client for the fakes' tests: one request per connection, raw HTTP/1.1,
/// so the tests see exactly what goes over the wire.
#[cfg(test)]
pub(crate) mod client {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    pub(crate) struct Answer {
        pub status: u16,
        pub headers: Vec<(String, String)>,
        pub body: String,
    }

    /// Sends a request to `endpoint` (`http://127.0.0.1:PORT`) and returns the open connection.
    pub(crate) fn send(endpoint: &str, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> TcpStream {
        let mut stream = TcpStream::connect(endpoint.trim_start_matches("http://")).expect("connect");
        let mut head = format!("{method} {target} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
        for (name, value) in headers {
            head += &format!("{name}: {value}\r\n");
        }
        head += "\r\n";
        stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(body)).expect("send");
        stream
    }

    /// Sends a request and reads the whole answer (bodies are sent with a length, not chunked).
    pub(crate) fn request(endpoint: &str, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
        let mut bytes = Vec::new();
        send(endpoint, method, target, headers, body).read_to_end(&mut bytes).expect("receive");
        let text = String::from_utf8(bytes).expect("utf-8 response");
        let (head, body) = text.split_once("\r\n\r\n").expect("a header block");
        let mut lines = head.lines();
        let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).expect("status line");
        let headers =
            lines.filter_map(|l| l.split_once(':')).map(|(n, v)| (n.to_string(), v.trim().to_string())).collect();
        Answer { status, headers, body: body.to_string() }
    }
}
