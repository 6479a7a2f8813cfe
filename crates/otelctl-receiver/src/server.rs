//! The HTTP layer of the OTLP receiver and the embedded viewer: hyper on tokio, HTTP/1.1 and cleartext HTTP/2 (h2c,
//! which OTLP/gRPC uses) on one port through hyper-util's auto builder. Loopback only.
//!
//! Every protocol rule is hyper's (framing, Content-Length and Transfer-Encoding, chunked
//! bodies, `Expect: 100-continue`, keep-alive); this module only sets the limits and answers
//! what falls outside them:
//!
//! | limit | value | answer |
//! |---|---|---|
//! | connections per port | `max_connections` | one more is answered `503` + `Retry-After: 1` and closed |
//! | request head (HTTP/1.1) | [`MAX_HEAD`] bytes, [`HEAD_TIMEOUT`] to arrive (also the idle time between keep-alive requests) | hyper's `431` / closed |
//! | header list (HTTP/2) | [`MAX_HEAD`] bytes, [`MAX_STREAMS`] streams per connection | refused by h2 |
//! | body | `max_body` bytes: decided from `Content-Length` before reading, else while reading | `413`, closed |
//! | whole request | [`REQUEST_DEADLINE`] from the head to the last body byte | `408`, closed |
//! | `Content-Length` and `Transfer-Encoding` together (request smuggling) | refused | `400`, closed |
//!
//! Handlers see a complete, size-checked [`Request`] and answer a [`Reply`]; requests whose
//! content type is `application/grpc` go to the listener's gRPC service instead.

use std::convert::Infallible;
use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use http::HeaderMap;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::sync::mpsc;

use crate::StopSignal;

/// Largest request head (request line and headers; the HTTP/2 header list).
pub const MAX_HEAD: usize = 16 * 1024;
/// How long a request head may take to arrive, and how long an idle keep-alive connection is
/// kept (HTTP/1.1).
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a whole request may take, from its head to its last body byte.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(10);
/// Most concurrent HTTP/2 streams on one connection.
pub const MAX_STREAMS: u32 = 64;
/// How long open connections get to finish when the server stops.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(3);

/// A complete request.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query string, without `?` (may be empty).
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Request {
    fn from_parts(parts: http::request::Parts) -> Self {
        Request {
            method: parts.method.as_str().to_string(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().unwrap_or("").to_string(),
            headers: parts.headers,
            body: Bytes::new(),
        }
    }

    /// The first header with this name (case-insensitive), when it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// How many times a header appears.
    pub fn header_count(&self, name: &str) -> usize {
        self.headers.get_all(name).iter().count()
    }

    /// A query parameter's raw value (`a=b&c=d`; `+` and `%xx` decoded).
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k == name).then(|| percent_decode(v))
        })
    }

    /// Every query parameter in order, decoded (a name may repeat: `attr=a&attr=b`).
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect()
    }
}

/// A query component decoded: `+` is a space (the form encoding), `%xx` through the config
/// crate's decoder; text that does not decode (a bad escape, not UTF-8) is kept as written, so a
/// filter reports the value the user sent.
fn percent_decode(text: &str) -> String {
    otelctl_config::formats::percent_decode(&text.replace('+', "%20"))
        .unwrap_or_else(|| text.to_string())
}

/// What a handler answers.
pub enum Reply {
    Full {
        status: u16,
        content_type: &'static str,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// A streamed body (server-sent events): sent as the channel yields, ended when the sender
    /// is dropped; the sender sees an error once the client has gone.
    Stream {
        content_type: &'static str,
        body: mpsc::Receiver<Bytes>,
    },
}

impl Reply {
    pub fn new(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        Reply::Full {
            status,
            content_type,
            headers: Vec::new(),
            body: body.into(),
        }
    }
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Reply::new(
            status,
            "text/plain; charset=utf-8",
            body.into().into_bytes(),
        )
    }
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        if let Reply::Full { headers, .. } = &mut self {
            headers.push((name.to_string(), value.to_string()));
        }
        self
    }
}

/// Errors that end a request before the handler sees it (answered by the server itself).
#[derive(Debug)]
pub struct Rejection {
    pub status: u16,
    pub message: String,
}

/// A handler's answer, later.
pub type ReplyFuture = Pin<Box<dyn Future<Output = Reply> + Send>>;

/// The response body every route answers with.
pub type Body = UnsyncBoxBody<Bytes, BoxError>;
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// An HTTP/2 gRPC service (the OTLP/gRPC receiver): the whole request, hyper's body.
pub type GrpcFn = Arc<
    dyn Fn(http::Request<Incoming>) -> Pin<Box<dyn Future<Output = http::Response<Body>> + Send>>
        + Send
        + Sync,
>;

/// A listener's routes, plus its own answers for requests refused before they reach them
/// (413, 400, ...), so the receiver can answer in OTLP's error format.
pub trait Handler: Send + Sync + 'static {
    fn handle(self: Arc<Self>, req: Request) -> ReplyFuture;
    /// An answer for a request the server refused before reading it whole.
    fn reject(&self, head: Option<&Request>, rejection: Rejection) -> Reply {
        let _ = head;
        Reply::text(rejection.status, rejection.message + "\n")
    }
}

/// Limits of one listener.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub max_body: usize,
}

struct Listener {
    limits: Limits,
    handler: Arc<dyn Handler>,
    grpc: Option<GrpcFn>,
}

/// Serves `listener` until `stop` fires, then lets open connections finish for up to
/// [`DRAIN_TIMEOUT`]. Returns when every connection served here has ended; connections handed
/// to `lanes` end with the lanes ([`Lanes::finish`]).
///
/// Connections are accepted on the current tokio runtime and served there too, or, with
/// `lanes`, handed to the lanes in turn.
pub async fn serve(
    listener: TcpListener,
    limits: Limits,
    stop: Arc<StopSignal>,
    handler: Arc<dyn Handler>,
    grpc: Option<GrpcFn>,
    lanes: Option<Arc<Lanes>>,
) {
    listener
        .set_nonblocking(true)
        .expect("a bound listener can be made non-blocking");
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("otelctl: warning: cannot serve: {e}");
            return;
        }
    };
    let shared = Arc::new(Listener {
        limits,
        handler,
        grpc,
    });
    let active = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.stopped() => break,
        };
        let Ok((stream, _)) = accepted else {
            // Out of file descriptors and the like: wait a moment rather than spin.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let over = active.fetch_add(1, Ordering::SeqCst) >= limits.max_connections;
        let guard = ActiveGuard(active.clone());
        let (stream, guard) = match &lanes {
            Some(lanes) => match lanes.hand(stream, over, guard, &shared) {
                Ok(()) => continue,
                // No lane (stopping): served here.
                Err(back) => back,
            },
            None => (stream, guard),
        };
        let shared = shared.clone();
        let stop = stop.clone();
        tasks.spawn(async move {
            let _guard = guard;
            connection(stream, over, shared, stop).await;
        });
        // Reap finished connection tasks so the set does not grow.
        while tasks.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    tasks.abort_all();
}

/// Threads that serve connections, each on a single-threaded tokio runtime of its own with one
/// blocking thread (a lane): the connections of a lane never wait for another thread, and two
/// lanes keep two cores busy. One multi-threaded runtime with two workers served one-span
/// exports 10-15% slower than one worker (every readiness event woke the idle worker to look for
/// work it rarely found); see `benchmarks/embedded.md`.
pub struct Lanes {
    lanes: std::sync::Mutex<Vec<Lane>>,
    turn: AtomicUsize,
}

/// A connection handed to a lane: the stream, whether it is over the cap, its slot, its listener.
type Handover = (std::net::TcpStream, bool, ActiveGuard, Arc<Listener>);

struct Lane {
    tx: mpsc::UnboundedSender<Handover>,
    /// Fires when the lane has drained its connections after its channel closed.
    done: tokio::sync::oneshot::Receiver<()>,
}

impl Lanes {
    /// Starts `count` lanes; connections go to them until [`Lanes::finish`].
    pub fn start(count: usize, stop: Arc<StopSignal>) -> std::io::Result<Arc<Lanes>> {
        let lanes = (0..count)
            .map(|i| Lane::start(i, stop.clone()))
            .collect::<std::io::Result<Vec<Lane>>>()?;
        Ok(Arc::new(Lanes {
            lanes: std::sync::Mutex::new(lanes),
            turn: AtomicUsize::new(0),
        }))
    }

    /// Hands a connection to the next lane; gives it back when there is none.
    fn hand(
        &self,
        stream: tokio::net::TcpStream,
        over: bool,
        guard: ActiveGuard,
        listener: &Arc<Listener>,
    ) -> Result<(), (tokio::net::TcpStream, ActiveGuard)> {
        let lanes = self.lanes.lock().unwrap_or_else(|e| e.into_inner());
        if lanes.is_empty() {
            return Err((stream, guard));
        }
        let lane = &lanes[self.turn.fetch_add(1, Ordering::Relaxed) % lanes.len()];
        let std = match stream.into_std() {
            Ok(s) => s,
            // The socket is unusable either way: drop it (and its slot).
            Err(_) => return Ok(()),
        };
        if let Err(mpsc::error::SendError((std, _, guard, _))) =
            lane.tx.send((std, over, guard, listener.clone()))
        {
            return match tokio::net::TcpStream::from_std(std) {
                Ok(stream) => Err((stream, guard)),
                Err(_) => Ok(()),
            };
        }
        Ok(())
    }

    /// Stops handing out connections and waits (up to [`DRAIN_TIMEOUT`] and a second) until
    /// every lane has drained its connections.
    pub async fn finish(&self) {
        let lanes = std::mem::take(&mut *self.lanes.lock().unwrap_or_else(|e| e.into_inner()));
        for lane in lanes {
            drop(lane.tx);
            let _ = tokio::time::timeout(DRAIN_TIMEOUT + Duration::from_secs(1), lane.done).await;
        }
    }
}

impl Lane {
    fn start(index: usize, stop: Arc<StopSignal>) -> std::io::Result<Lane> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .max_blocking_threads(1)
            .thread_name(format!("otelctl-lane-{index}"))
            .build()?;
        let (tx, mut rx) = mpsc::unbounded_channel::<Handover>();
        let (done_tx, done) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name(format!("otelctl-lane-{index}"))
            .spawn(move || {
                runtime.block_on(async move {
                    let mut tasks = tokio::task::JoinSet::new();
                    while let Some((stream, over, guard, listener)) = rx.recv().await {
                        let Ok(stream) = tokio::net::TcpStream::from_std(stream) else {
                            continue;
                        };
                        let stop = stop.clone();
                        tasks.spawn(async move {
                            let _guard = guard;
                            connection(stream, over, listener, stop).await;
                        });
                        while tasks.try_join_next().is_some() {}
                    }
                    let _ = tokio::time::timeout(DRAIN_TIMEOUT, async {
                        while tasks.join_next().await.is_some() {}
                    })
                    .await;
                    tasks.abort_all();
                });
                let _ = done_tx.send(());
            })?;
        Ok(Lane { tx, done })
    }
}

struct ActiveGuard(Arc<AtomicUsize>);
impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn connection(
    stream: tokio::net::TcpStream,
    over: bool,
    listener: Arc<Listener>,
    stop: Arc<StopSignal>,
) {
    // hyper's head deadline starts with the first byte of a request: a connection that never
    // sends one would hold its slot forever, so the first byte has the same deadline.
    let mut first = [0u8; 1];
    match tokio::time::timeout(HEAD_TIMEOUT, stream.peek(&mut first)).await {
        Ok(Ok(n)) if n > 0 => {}
        _ => return,
    }
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT)
        .max_buf_size(MAX_HEAD.max(8192))
        .keep_alive(!over);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(MAX_HEAD as u32)
        .max_concurrent_streams(MAX_STREAMS)
        .keep_alive_interval(Some(Duration::from_secs(20)))
        .keep_alive_timeout(Duration::from_secs(10));
    let stream = crate::framing::Sniff::new(stream);
    let both_framings = stream.both_framings.clone();
    let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
        let listener = listener.clone();
        let both_framings = both_framings.clone();
        async move {
            // A request framed two ways on this connection (see `framing`): hyper has dropped
            // its Content-Length, so the head's own check below cannot see it.
            if both_framings.load(Ordering::SeqCst) {
                let head = Request::from_parts(req.into_parts().0);
                return Ok::<_, Infallible>(refuse(
                    &listener,
                    Some(&head),
                    400,
                    "Content-Length and Transfer-Encoding together are refused".to_string(),
                ));
            }
            Ok::<_, Infallible>(dispatch(&listener, req, over).await)
        }
    });
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stop.stopped() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(DRAIN_TIMEOUT, conn).await;
        }
    }
}

fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"))
}

/// Refuses the request before its body is read, and closes the connection after answering
/// (the unread body must not be taken for the next request).
fn refuse(
    listener: &Listener,
    head: Option<&Request>,
    status: u16,
    message: String,
) -> http::Response<Body> {
    let reply = listener.handler.reject(head, Rejection { status, message });
    let mut response = to_response(reply);
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

async fn dispatch(
    listener: &Listener,
    req: http::Request<Incoming>,
    over: bool,
) -> http::Response<Body> {
    let limits = listener.limits;
    if over {
        let mut response = refuse(
            listener,
            None,
            503,
            format!("too many connections (at most {})", limits.max_connections),
        );
        response
            .headers_mut()
            .insert("retry-after", HeaderValue::from_static("1"));
        return response;
    }
    if let Some(grpc) = &listener.grpc {
        if req.version() == http::Version::HTTP_2 && is_grpc(req.headers()) {
            return grpc(req).await;
        }
    }
    let (parts, body) = req.into_parts();
    let mut head = Request::from_parts(parts);
    // A request framed two ways is how requests are smuggled past a proxy: refuse it outright.
    if head.headers.contains_key(TRANSFER_ENCODING) && head.headers.contains_key(CONTENT_LENGTH) {
        return refuse(
            listener,
            Some(&head),
            400,
            "Content-Length and Transfer-Encoding together are refused".to_string(),
        );
    }
    let length = head
        .header("content-length")
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = length {
        if n > limits.max_body as u64 {
            return refuse(
                listener,
                Some(&head),
                413,
                format!(
                    "request body of {n} bytes is larger than the limit of {} bytes",
                    limits.max_body
                ),
            );
        }
    }
    let collected = tokio::time::timeout(
        REQUEST_DEADLINE,
        read_body(Limited::new(body, limits.max_body), length),
    )
    .await;
    match collected {
        Ok(Ok(body)) => head.body = body,
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            return refuse(
                listener,
                Some(&head),
                413,
                format!(
                    "request body larger than the limit of {} bytes",
                    limits.max_body
                ),
            )
        }
        Ok(Err(e)) => {
            return refuse(
                listener,
                Some(&head),
                400,
                format!("request body did not arrive whole: {e}"),
            )
        }
        Err(_) => {
            return refuse(
                listener,
                Some(&head),
                408,
                format!(
                    "request did not arrive within {} s",
                    REQUEST_DEADLINE.as_secs()
                ),
            )
        }
    }
    to_response(listener.handler.clone().handle(head).await)
}

/// A request body in one buffer: a body that arrives in one piece is kept as it came; one that
/// arrives in pieces is copied into a buffer of its announced length as they come, so the
/// pieces are freed on the way instead of all being held until a final copy.
async fn read_body<B>(mut body: Limited<B>, length: Option<u64>) -> Result<Bytes, BoxError>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    let mut first: Option<Bytes> = None;
    let mut joined: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue; // trailers
        };
        match first.take() {
            None if joined.is_empty() => first = Some(data),
            earlier => {
                if let Some(earlier) = earlier {
                    // `length` was checked against the limit; without one, grow as needed.
                    let expected = length.unwrap_or(0) as usize;
                    joined.reserve(expected.max(earlier.len() + data.len()));
                    joined.extend_from_slice(&earlier);
                }
                joined.extend_from_slice(&data);
            }
        }
    }
    Ok(first.unwrap_or_else(|| Bytes::from(joined)))
}

/// A boxed full body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

fn to_response(reply: Reply) -> http::Response<Body> {
    match reply {
        Reply::Full {
            status,
            content_type,
            headers,
            body,
        } => {
            let mut builder = http::Response::builder()
                .status(status)
                .header(CONTENT_TYPE, HeaderValue::from_static(content_type));
            for (k, v) in headers {
                builder = builder.header(k, v);
            }
            builder.body(full(body)).unwrap_or_else(|e| {
                let mut r = http::Response::new(full(format!("bad response: {e}\n")));
                *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                r
            })
        }
        Reply::Stream { content_type, body } => {
            let stream = futures_stream(body);
            http::Response::builder()
                .status(200)
                .header(CONTENT_TYPE, HeaderValue::from_static(content_type))
                .header("cache-control", "no-store")
                .header("x-accel-buffering", "no")
                .body(StreamBody::new(stream).boxed_unsync())
                .expect("a streamed response is well-formed")
        }
    }
}

/// The channel as a body stream (one data frame per message).
fn futures_stream(
    rx: mpsc::Receiver<Bytes>,
) -> impl futures_core::Stream<Item = Result<Frame<Bytes>, BoxError>> + Send {
    struct S(mpsc::Receiver<Bytes>);
    impl futures_core::Stream for S {
        type Item = Result<Frame<Bytes>, BoxError>;
        fn poll_next(
            mut self: Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            self.0.poll_recv(cx).map(|m| m.map(|b| Ok(Frame::data(b))))
        }
    }
    S(rx)
}

/// Binds a loopback listener (std, so a busy port is an error before any runtime starts).
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body of fixed pieces; a piece `TRAILERS` is sent as a trailers frame.
    struct Pieces(Vec<&'static [u8]>);
    impl futures_core::Stream for Pieces {
        type Item = Result<Frame<Bytes>, Infallible>;
        fn poll_next(
            mut self: Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            if self.0.is_empty() {
                return std::task::Poll::Ready(None);
            }
            let piece = self.0.remove(0);
            let frame = if piece == b"TRAILERS" {
                Frame::trailers(HeaderMap::new())
            } else {
                Frame::data(Bytes::from_static(piece))
            };
            std::task::Poll::Ready(Some(Ok(frame)))
        }
    }

    fn pieces(parts: &[&'static [u8]]) -> Limited<StreamBody<Pieces>> {
        Limited::new(StreamBody::new(Pieces(parts.to_vec())), 100)
    }

    #[test]
    fn bodies_arrive_whole_in_one_buffer_and_the_limit_holds() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let one = rt
            .block_on(read_body(pieces(&[b"whole"]), Some(5)))
            .unwrap();
        assert_eq!(&one[..], b"whole");
        let joined = rt
            .block_on(read_body(
                pieces(&[b"ab", b"", b"cd", b"e", b"TRAILERS"]),
                Some(5),
            ))
            .unwrap();
        assert_eq!(&joined[..], b"abcde");
        let unknown = rt
            .block_on(read_body(pieces(&[b"ab", b"cd"]), None))
            .unwrap();
        assert_eq!(&unknown[..], b"abcd");
        let empty = rt.block_on(read_body(pieces(&[]), None)).unwrap();
        assert!(empty.is_empty());
        let big: &'static [u8] = &[b'x'; 60];
        let err = rt
            .block_on(read_body(pieces(&[big, big]), None))
            .unwrap_err();
        assert!(err.is::<http_body_util::LengthLimitError>(), "{err}");
    }

    #[test]
    fn query_params_are_decoded() {
        let req = Request {
            method: "GET".into(),
            path: "/".into(),
            query: "a=1&span=ab%20c+d&bad=%zz&tail=%4".into(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
        };
        assert_eq!(req.query_param("a").as_deref(), Some("1"));
        assert_eq!(req.query_param("span").as_deref(), Some("ab c d"));
        assert_eq!(req.query_param("bad").as_deref(), Some("%zz"));
        assert_eq!(req.query_param("tail").as_deref(), Some("%4"));
        assert_eq!(req.query_param("none"), None);
    }
}
