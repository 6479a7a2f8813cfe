//! A small blocking HTTP/1.1 client with a hard deadline, for the hot paths.
//!
//! `otelctl env` and `otelctl span` run on every shell entry and every task: they must not
//! start an async runtime or set up TLS. This client speaks plain `http://` only, one request
//! per connection, and never takes longer than the deadline it is given, however the server
//! behaves (accepting and never answering included).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// What can go wrong talking to a server. Messages read after "failed to reach …". A URL's
/// user-info (`user:password@`) never shows in them: this client's URLs are the parsed ones
/// (which have none), [`HttpError::BadUrl`] does not print what it was given, and other
/// clients answering in these types (`otelctl-net`) mask URLs with
/// `otelctl_config::secrets::mask_url` before they build one.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The URL as given, for the caller: not printed (it may hold a password).
    #[error(
        "unsupported URL: only http://HOST[:PORT][/PATH] (no user:password@) is supported here"
    )]
    BadUrl(String),
    #[error("{url}: connection refused")]
    Refused { url: String },
    #[error("{url}: no answer within {ms} ms")]
    Timeout { url: String, ms: u128 },
    /// The whole request was written, then the deadline passed without an answer: the server
    /// may have acted on it. [`Sent::answer`] can keep waiting on the same connection.
    #[error("{url}: no answer within {ms} ms after the request was sent")]
    Unanswered { url: String, ms: u128 },
    #[error("{url}: {err}")]
    Io { url: String, err: std::io::Error },
    #[error("{url}: malformed HTTP response: {why}")]
    Malformed { url: String, why: &'static str },
}

impl HttpError {
    /// Whether the failure is the server's absence or silence (as opposed to a bad reply).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            HttpError::Refused { .. } | HttpError::Timeout { .. } | HttpError::Unanswered { .. }
        )
    }
}

/// A parsed `http://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    pub host: String,
    pub port: u16,
    /// Path and query, always starting with `/`.
    pub path: String,
}

impl HttpUrl {
    pub fn parse(url: &str) -> Result<Self, HttpError> {
        let bad = || HttpError::BadUrl(url.to_string());
        let rest = url.strip_prefix("http://").ok_or_else(bad)?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(bad());
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(bad)?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| bad())?,
                None if after.is_empty() => 80,
                None => return Err(bad()),
            };
            (h.to_string(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), p.parse().map_err(|_| bad())?),
                None => (authority.to_string(), 80),
            }
        };
        if host.is_empty() {
            return Err(bad());
        }
        Ok(HttpUrl {
            host,
            port,
            path: path.to_string(),
        })
    }

    fn host_header(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    fn display(&self) -> String {
        format!("http://{}{}", self.host_header(), self.path)
    }
}

/// A request to send.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub method: &'a str,
    pub url: &'a HttpUrl,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// A complete response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Responses larger than this are cut off: we only ever read small API answers.
const MAX_RESPONSE: usize = 16 * 1024 * 1024;

/// Sends one request and reads the whole response, all before `deadline`.
pub fn send(req: &Request<'_>, deadline: Instant) -> Result<Response, HttpError> {
    start(req, deadline)?.answer(deadline)
}

/// A request written in full, its answer not read yet.
#[derive(Debug)]
pub struct Sent {
    stream: TcpStream,
    shown: String,
    /// What has arrived of the answer so far.
    buf: Vec<u8>,
}

/// Connects and writes the whole request before `deadline`. A failure here means the server
/// cannot have received a complete request.
pub fn start(req: &Request<'_>, deadline: Instant) -> Result<Sent, HttpError> {
    let shown = req.url.display();
    let budget = deadline.saturating_duration_since(Instant::now());
    let timeout = || HttpError::Timeout {
        url: shown.clone(),
        ms: budget.as_millis(),
    };
    let io = |err: std::io::Error| io_error(&shown, err, timeout());

    let addrs: Vec<SocketAddr> = (req.url.host.as_str(), req.url.port)
        .to_socket_addrs()
        .map_err(io)?
        .collect();
    let mut stream = None;
    let mut last_err = None;
    for addr in addrs {
        let left = remaining(deadline).ok_or_else(timeout)?;
        match TcpStream::connect_timeout(&addr, left) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last_err = Some(e),
        }
    }
    let mut stream = match (stream, last_err) {
        (Some(s), _) => s,
        (None, Some(e)) => return Err(io(e)),
        (None, None) => {
            return Err(HttpError::Io {
                url: shown.clone(),
                err: std::io::Error::other("host has no address"),
            })
        }
    };
    let _ = stream.set_nodelay(true);

    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
        req.method,
        req.url.path,
        req.url.host_header(),
        req.body.len()
    );
    for (k, v) in req.headers {
        head.push_str(k);
        head.push_str(": ");
        head.push_str(v);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(req.body);
    stream
        .set_write_timeout(Some(remaining(deadline).ok_or_else(timeout)?))
        .map_err(io)?;
    stream.write_all(&out).map_err(io)?;
    Ok(Sent {
        stream,
        shown,
        buf: Vec::with_capacity(1024),
    })
}

impl Sent {
    /// Reads the whole response before `deadline`. On [`HttpError::Unanswered`] the connection
    /// stays usable: call again with a later deadline to keep waiting.
    pub fn answer(&mut self, deadline: Instant) -> Result<Response, HttpError> {
        let budget = deadline.saturating_duration_since(Instant::now());
        let unanswered = || HttpError::Unanswered {
            url: self.shown.clone(),
            ms: budget.as_millis(),
        };
        let mut chunk = [0u8; 8192];
        loop {
            let left = remaining(deadline).ok_or_else(unanswered)?;
            // Timed out or interrupted: the deadline decides.
            if !readable(&self.stream, left).map_err(|e| io_error(&self.shown, e, unanswered()))? {
                continue;
            }
            self.stream
                .set_read_timeout(Some(left))
                .map_err(|e| io_error(&self.shown, e, unanswered()))?;
            match self.stream.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    if self.buf.len() > MAX_RESPONSE || response_complete(&self.buf) {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // A server that resets after answering still answered.
                Err(e)
                    if e.kind() == std::io::ErrorKind::ConnectionReset && !self.buf.is_empty() =>
                {
                    break
                }
                Err(e) => return Err(io_error(&self.shown, e, unanswered())),
            }
        }
        parse_response(&self.buf).map_err(|why| HttpError::Malformed {
            url: self.shown.clone(),
            why,
        })
    }
}

/// Waits until `stream` has something to read (data, the end, an error) or `left` has passed
/// (`false`; also when a signal interrupted the wait). poll(2), not a read with `SO_RCVTIMEO`:
/// the kernel rounds a socket timeout up to whole scheduler ticks (4 ms at HZ=250), which made
/// a 5 ms wait for an answer (`span`'s) last 8-11 ms; poll's timeout is a high-resolution timer.
fn readable(stream: &TcpStream, left: Duration) -> std::io::Result<bool> {
    let mut fd = libc::pollfd {
        fd: stream.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // Whole milliseconds, rounded up: never shorter than asked.
    let ms = i32::try_from(left.as_micros().div_ceil(1000)).unwrap_or(i32::MAX);
    // SAFETY: one valid pollfd for the duration of the call.
    match unsafe { libc::poll(&mut fd, 1, ms) } {
        -1 => {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                Ok(false)
            } else {
                Err(e)
            }
        }
        0 => Ok(false),
        _ => Ok(true),
    }
}

/// Maps an I/O error: a timeout becomes `on_timeout`, a refusal `Refused`.
fn io_error(shown: &str, err: std::io::Error, on_timeout: HttpError) -> HttpError {
    match err.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => on_timeout,
        std::io::ErrorKind::ConnectionRefused => HttpError::Refused {
            url: shown.to_string(),
        },
        _ => HttpError::Io {
            url: shown.to_string(),
            err,
        },
    }
}

fn remaining(deadline: Instant) -> Option<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    (!left.is_zero()).then_some(left)
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Whether `buf` holds a whole response (so we need not wait for the server to close).
fn response_complete(buf: &[u8]) -> bool {
    let Some(end) = find_head_end(buf) else {
        return false;
    };
    let Ok((status, headers)) = parse_head(&buf[..end]) else {
        return true;
    };
    if status == 204 || status == 304 || (100..200).contains(&status) {
        return true;
    }
    let body = &buf[end..];
    if let Some(len) = content_length(&headers) {
        return body.len() >= len;
    }
    if is_chunked(&headers) {
        return decode_chunked(body).is_some();
    }
    false
}

type Head = (u16, Vec<(String, String)>);

fn parse_head(head: &[u8]) -> Result<Head, &'static str> {
    let text = std::str::from_utf8(head).map_err(|_| "header is not UTF-8")?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().ok_or("no status line")?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        return Err("not an HTTP/1.x status line");
    }
    let status = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or("bad status code")?;
    let headers = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Ok((status, headers))
}

fn content_length(headers: &[(String, String)]) -> Option<usize> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
}

fn is_chunked(headers: &[(String, String)]) -> bool {
    headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked")
    })
}

/// Decodes a complete chunked body; `None` while incomplete.
fn decode_chunked(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&body[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        if body.len() < size + 2 {
            return None;
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

fn parse_response(buf: &[u8]) -> Result<Response, &'static str> {
    let end = find_head_end(buf).ok_or("no complete header")?;
    let (status, headers) = parse_head(&buf[..end])?;
    let raw = &buf[end..];
    let body = if is_chunked(&headers) {
        decode_chunked(raw).ok_or("truncated chunked body")?
    } else if let Some(len) = content_length(&headers) {
        if raw.len() < len {
            return Err("body shorter than Content-Length");
        }
        raw[..len].to_vec()
    } else {
        raw.to_vec()
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_is_never_printed() {
        let e = HttpUrl::parse("http://u:hunter2@127.0.0.1:9/").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn parses_urls() {
        let u = HttpUrl::parse("http://127.0.0.1:4318/v1/traces").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("127.0.0.1", 4318, "/v1/traces")
        );
        let u = HttpUrl::parse("http://localhost").unwrap();
        assert_eq!((u.port, u.path.as_str()), (80, "/"));
        let u = HttpUrl::parse("http://[::1]:9/x").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 9));
        for bad in ["https://x", "http://", "http://h:notaport/", "ftp://x"] {
            assert!(HttpUrl::parse(bad).is_err(), "{bad}");
        }
    }

    /// A short wait for an answer lasts about as long as asked: a socket read timeout would be
    /// rounded up to scheduler ticks (8-11 ms for 5 ms at HZ=250). The best of several tries
    /// is compared, so a busy machine's scheduling delays do not count.
    #[test]
    fn a_short_wait_for_an_answer_is_not_rounded_up_to_scheduler_ticks() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = HttpUrl::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let wait = Duration::from_millis(5);
        let mut best = Duration::MAX;
        for _ in 0..20 {
            let mut sent = start(
                &Request {
                    method: "POST",
                    url: &url,
                    headers: &[],
                    body: b"{}",
                },
                Instant::now() + Duration::from_secs(5),
            )
            .unwrap();
            let began = Instant::now();
            let r = sent.answer(began + wait);
            best = best.min(began.elapsed());
            assert!(matches!(r, Err(HttpError::Unanswered { .. })), "{r:?}");
            if best < Duration::from_micros(7500) {
                break;
            }
        }
        assert!(best >= wait, "{best:?}");
        assert!(
            best < Duration::from_micros(7500),
            "waited {best:?} for {wait:?}"
        );
    }

    #[test]
    fn decodes_chunked_and_sized_bodies() {
        let r = parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").unwrap();
        assert_eq!(r.body, b"abcde");
        let r =
            parse_response(b"HTTP/1.1 503 Nope\r\nContent-Length: 2\r\nRetry-After: 3\r\n\r\nhi")
                .unwrap();
        assert_eq!(
            (r.status, r.body.as_slice(), r.header("retry-after")),
            (503, &b"hi"[..], Some("3"))
        );
    }
}
