//! A small HTTP/1.1 server on std threads, for the receiver and the viewer (loopback only).
//!
//! Bounded everywhere: at most `max_connections` connections per listener (one more is
//! answered `503` with `Retry-After: 1` and closed), request heads up to 16 KiB (`431`), bodies
//! up to `max_body` bytes (`413`, decided from `Content-Length` before reading, or while
//! reading a chunked body), a read timeout per request and an idle timeout between keep-alive
//! requests. `Expect: 100-continue` is honoured. Nothing a client sends can panic a thread:
//! parsing returns errors, and the handler only ever sees a complete, size-checked request.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::StopSignal;

/// Largest request head (request line and headers).
pub const MAX_HEAD: usize = 16 * 1024;
/// How long a request may take to arrive once started.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an idle keep-alive connection is kept.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a write may block (a client that stops reading is dropped).
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// A complete request.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query string, without `?` (may be empty).
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A query parameter's raw value (`a=b&c=d`; `+` and `%xx` decoded).
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k == name).then(|| percent_decode(v))
        })
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A streamed body (server-sent events): written until the function returns, then closed.
pub type StreamFn = Box<dyn FnOnce(&mut dyn Write) -> io::Result<()> + Send>;

/// What a handler answers.
pub enum Reply {
    Full {
        status: u16,
        content_type: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    Stream {
        content_type: String,
        body: StreamFn,
    },
}

impl Reply {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Reply::Full {
            status,
            content_type: content_type.to_string(),
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

/// The server's hook for answers it produces itself (413, 400, ...), so the receiver can
/// answer in OTLP's error format.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, req: Request) -> Reply;
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

/// A running listener.
pub struct Listener {
    pub addr: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl Listener {
    /// Waits for the accept loop to end; call after triggering the stop signal (one wake-up
    /// connection makes the loop notice it).
    pub fn join(mut self) {
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(500));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Accepts connections on `listener` until `stop` is triggered, each on its own thread.
pub fn spawn(
    name: &str,
    listener: TcpListener,
    limits: Limits,
    stop: Arc<StopSignal>,
    handler: Arc<dyn Handler>,
) -> io::Result<Listener> {
    let addr = listener.local_addr()?;
    let active = Arc::new(AtomicUsize::new(0));
    let thread_name = format!("{name}-accept");
    let conn_name = name.to_string();
    let thread = std::thread::Builder::new()
        .name(thread_name)
        .spawn(move || {
            for conn in listener.incoming() {
                if stop.is_set() {
                    break;
                }
                let Ok(mut stream) = conn else { continue };
                if active.fetch_add(1, Ordering::SeqCst) >= limits.max_connections {
                    active.fetch_sub(1, Ordering::SeqCst);
                    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
                    let reply = handler
                        .reject(
                            None,
                            Rejection {
                                status: 503,
                                message: format!(
                                    "too many connections (at most {})",
                                    limits.max_connections
                                ),
                            },
                        )
                        .with_header("Retry-After", "1");
                    let _ = write_reply(&mut stream, reply, false);
                    continue;
                }
                let handler = handler.clone();
                let active = active.clone();
                let stop = stop.clone();
                let spawned =
                    std::thread::Builder::new()
                        .name(conn_name.clone())
                        .spawn(move || {
                            let _ = serve_connection(stream, limits, &stop, &*handler);
                            active.fetch_sub(1, Ordering::SeqCst);
                        });
                if spawned.is_err() {
                    // Out of threads: the connection was dropped with the closure.
                }
            }
        })?;
    Ok(Listener {
        addr,
        thread: Some(thread),
    })
}

enum Next {
    Request(Request, bool),
    Closed,
}

fn serve_connection(
    stream: TcpStream,
    limits: Limits,
    stop: &StopSignal,
    handler: &dyn Handler,
) -> io::Result<()> {
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let _ = stream.set_nodelay(true);
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::with_capacity(8192, stream);
    let mut first = true;
    loop {
        if stop.is_set() {
            return Ok(());
        }
        let wait = if first { READ_TIMEOUT } else { IDLE_TIMEOUT };
        first = false;
        reader.get_ref().set_read_timeout(Some(wait))?;
        match read_request(&mut reader, &mut writer, limits.max_body) {
            Ok(Next::Closed) => return Ok(()),
            Ok(Next::Request(req, keep_alive)) => {
                let reply = handler.handle(req);
                let streamed = matches!(reply, Reply::Stream { .. });
                write_reply(&mut writer, reply, keep_alive)?;
                if !keep_alive || streamed {
                    return Ok(());
                }
            }
            Err(rejected) => {
                let (head, rejection) = *rejected;
                // The body (if any) was not read: answer and close.
                let reply = handler.reject(head.as_ref(), rejection);
                write_reply(&mut writer, reply, false)?;
                return Ok(());
            }
        }
    }
}

type ReadResult = Result<Next, Box<(Option<Request>, Rejection)>>;

fn reject(head: Option<Request>, status: u16, message: impl Into<String>) -> ReadResult {
    Err(Box::new((
        head,
        Rejection {
            status,
            message: message.into(),
        },
    )))
}

fn read_request(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
    max_body: usize,
) -> ReadResult {
    // The head, line by line, bounded.
    let mut head = Vec::with_capacity(512);
    loop {
        let before = head.len();
        let mut limited = reader
            .by_ref()
            .take((MAX_HEAD + 1 - before.min(MAX_HEAD)) as u64);
        match limited.read_until(b'\n', &mut head) {
            Ok(0) if head.is_empty() => return Ok(Next::Closed),
            Ok(0) => return Ok(Next::Closed),
            Ok(_) => {}
            Err(e)
                if head.is_empty()
                    && matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
            {
                return Ok(Next::Closed)
            }
            Err(_) if head.is_empty() => return Ok(Next::Closed),
            Err(_) => return reject(None, 408, "request head did not arrive in time"),
        }
        if head.len() > MAX_HEAD {
            return reject(
                None,
                431,
                format!("request head larger than {MAX_HEAD} bytes"),
            );
        }
        // Leading empty lines before a request are allowed (RFC 9112 2.2).
        if head == b"\r\n" || head == b"\n" {
            head.clear();
            continue;
        }
        if head.ends_with(b"\r\n\r\n") || head.ends_with(b"\n\n") {
            break;
        }
        if !head.ends_with(b"\n") {
            return Ok(Next::Closed);
        }
    }
    let Ok(text) = std::str::from_utf8(&head) else {
        return reject(None, 400, "request head is not UTF-8");
    };
    let mut lines = text.lines();
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return reject(None, 400, "malformed request line");
    };
    if !version.starts_with("HTTP/1.") || method.is_empty() || !target.starts_with('/') {
        return reject(None, 400, "malformed request line");
    }
    let mut headers = Vec::new();
    for line in lines {
        if line.is_empty() {
            break;
        }
        let Some((k, v)) = line.split_once(':') else {
            return reject(None, 400, "malformed header line");
        };
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut req = Request {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers,
        body: Vec::new(),
    };
    let connection = req.header("connection").unwrap_or("").to_ascii_lowercase();
    let keep_alive = if version == "HTTP/1.0" {
        connection.contains("keep-alive")
    } else {
        !connection.contains("close")
    };
    let chunked = req
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let length = match req.header("content-length") {
        None => None,
        Some(v) => match v.parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => return reject(Some(req), 400, "Content-Length is not a number"),
        },
    };
    if let Some(n) = length {
        if n > max_body as u64 {
            return reject(
                Some(req),
                413,
                format!("request body of {n} bytes is larger than the limit of {max_body} bytes"),
            );
        }
    }
    if req
        .header("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
        && (chunked || length.unwrap_or(0) > 0)
    {
        let _ = writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
    }
    if chunked {
        match read_chunked(reader, max_body) {
            Ok(body) => req.body = body,
            Err(ChunkError::TooLarge) => {
                return reject(
                    Some(req),
                    413,
                    format!("request body larger than the limit of {max_body} bytes"),
                )
            }
            Err(ChunkError::Bad) => return reject(Some(req), 400, "malformed chunked body"),
        }
    } else if let Some(n) = length {
        let mut body = Vec::with_capacity(n as usize);
        if reader.by_ref().take(n).read_to_end(&mut body).is_err() || body.len() as u64 != n {
            return reject(Some(req), 400, "request body shorter than Content-Length");
        }
        req.body = body;
    }
    Ok(Next::Request(req, keep_alive))
}

enum ChunkError {
    TooLarge,
    Bad,
}

fn read_chunked(reader: &mut BufReader<TcpStream>, max_body: usize) -> Result<Vec<u8>, ChunkError> {
    let mut body = Vec::new();
    loop {
        let mut line = Vec::new();
        reader
            .by_ref()
            .take(1024)
            .read_until(b'\n', &mut line)
            .map_err(|_| ChunkError::Bad)?;
        let text = std::str::from_utf8(&line).map_err(|_| ChunkError::Bad)?;
        let size_text = text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| ChunkError::Bad)?;
        if size == 0 {
            // Trailers, up to the empty line.
            loop {
                let mut t = Vec::new();
                let n = reader
                    .by_ref()
                    .take(1024)
                    .read_until(b'\n', &mut t)
                    .map_err(|_| ChunkError::Bad)?;
                if n == 0 || t == b"\r\n" || t == b"\n" {
                    return Ok(body);
                }
            }
        }
        if body.len().saturating_add(size) > max_body {
            return Err(ChunkError::TooLarge);
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader
            .read_exact(&mut body[start..])
            .map_err(|_| ChunkError::Bad)?;
        let mut crlf = [0u8; 2];
        reader.read_exact(&mut crlf).map_err(|_| ChunkError::Bad)?;
        if &crlf != b"\r\n" {
            return Err(ChunkError::Bad);
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        303 => "See Other",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn write_reply(stream: &mut TcpStream, reply: Reply, keep_alive: bool) -> io::Result<()> {
    match reply {
        Reply::Full {
            status,
            content_type,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: {}\r\n",
                reason(status),
                body.len(),
                if keep_alive { "keep-alive" } else { "close" }
            );
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            let mut out = head.into_bytes();
            out.extend_from_slice(&body);
            stream.write_all(&out)?;
            stream.flush()
        }
        Reply::Stream { content_type, body } => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nCache-Control: no-store\r\nConnection: close\r\nX-Accel-Buffering: no\r\n\r\n"
            );
            stream.write_all(head.as_bytes())?;
            stream.flush()?;
            body(stream)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params_are_decoded() {
        let req = Request {
            method: "GET".into(),
            path: "/".into(),
            query: "a=1&span=ab%20c+d&bad=%zz&tail=%4".into(),
            headers: vec![],
            body: vec![],
        };
        assert_eq!(req.query_param("a").as_deref(), Some("1"));
        assert_eq!(req.query_param("span").as_deref(), Some("ab c d"));
        assert_eq!(req.query_param("bad").as_deref(), Some("%zz"));
        assert_eq!(req.query_param("tail").as_deref(), Some("%4"));
        assert_eq!(req.query_param("none"), None);
    }
}
