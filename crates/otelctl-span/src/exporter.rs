//! OTLP/HTTP export (traces, and the metrics and logs `dt`'s relay forwards): endpoint rules,
//! both encodings, the deadline, spec-allowed retries and partial success.
//!
//! One export is one `POST` (plus retries) that never outlives its deadline. Only 429, 502,
//! 503 and 504 are retried, at most [`MAX_ATTEMPTS`] tries in all, after an exponential
//! backoff with jitter that `Retry-After` (seconds or an HTTP date) can lengthen but never
//! shorten, and only when the wait fits before the deadline; refused connections and timeouts
//! are not retried (the caller spools instead). A request sent in full whose answer does not
//! come before the deadline may have been stored: the error carries the open connection
//! ([`LateAnswer`]) so the caller can learn the outcome later instead of sending it again. `http://` endpoints use the std-only client of `otelctl-http`; `https://`
//! ones go through the transport the binary installs with [`install_https`] (rustls, in
//! `otelctl-net`), so this crate carries no TLS stack and TLS is set up only when asked for.

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use otelctl_config::secrets::{mask_url, Secrets};
use otelctl_http::{self as http, HttpError, HttpUrl};
use otelctl_otlp::{ExportRequest, Signal};

/// The default export deadline. A collector on loopback answers in about a millisecond (see
/// benchmarks/span.md); 200 ms bounds what a hung collector can add to every wrapped command,
/// still leaves room for a remote endpoint, and nothing is lost when it passes: the span is
/// spooled. `OTEL_EXPORTER_OTLP_TIMEOUT` (milliseconds) overrides it.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(200);

/// Tries per export, the first included: 10 + 20 + 40 + 80 ms of backoff fit in the default
/// deadline, and a longer deadline does not turn a collector that keeps refusing into a flood.
pub const MAX_ATTEMPTS: u32 = 5;

/// The first backoff; it doubles after each try (plus up to 50% jitter), capped at 1 s.
const FIRST_BACKOFF: Duration = Duration::from_millis(10);

/// How long a late answer is awaited after the deadline (by a detached waiter for `span`, in
/// place for `spool flush`) before the request counts as not delivered.
pub const LATE_ANSWER_WAIT: Duration = Duration::from_secs(30);

/// How long a command that ends right after its export (`span`, `span end`, `test-span`)
/// waits for the answer once the request is sent in full ([`export_briefly`]). A collector on
/// loopback answers in well under a millisecond; one that accepts and never answers (a
/// suspended `devenv up`, a stopped process, a wedged proxy) would otherwise cost every wrapped
/// task the whole deadline. A later answer is not lost: the request is spooled as unconfirmed
/// and a detached waiter reads the answer (`emit::deliver_briefly`), so each span is stored
/// once. Together with start-up, the spool write and the waiter's fork this keeps a silent
/// collector's cost under 10 ms (benchmarks/span.md).
pub const ANSWER_WAIT: Duration = Duration::from_millis(5);

/// The OTLP/HTTP encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    HttpProtobuf,
    HttpJson,
}

impl Protocol {
    pub fn content_type(self) -> &'static str {
        match self {
            Protocol::HttpProtobuf => "application/x-protobuf",
            Protocol::HttpJson => "application/json",
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::HttpProtobuf => "http/protobuf",
            Protocol::HttpJson => "http/json",
        }
    }
}

/// Where and how to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExporterConfig {
    /// The full traces URL; `None` when no endpoint variable was set (the caller picks a default).
    pub endpoint: Option<String>,
    pub protocol: Protocol,
    pub headers: Vec<(String, String)>,
    pub timeout: Duration,
    /// `OTEL_EXPORTER_OTLP_CERTIFICATE`: trusted CA certificates (PEM) for `https://`.
    pub certificate: Option<std::path::PathBuf>,
}

/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is used as is (an empty path becomes `/`).
pub fn traces_url_as_is(url: &str) -> String {
    url.trim().to_string()
}

/// `OTEL_EXPORTER_OTLP_ENDPOINT` is a base: `v1/traces` is appended with exactly one slash.
pub fn traces_url_from_base(base: &str) -> String {
    signal_url_from_base(base, Signal::Traces)
}

/// A signal's URL from the base: `v1/traces`, `v1/metrics` or `v1/logs` appended with exactly
/// one slash.
pub fn signal_url_from_base(base: &str, signal: Signal) -> String {
    let base = base.trim();
    let path = &signal.http_path()[1..];
    if base.ends_with('/') {
        format!("{base}{path}")
    } else {
        format!("{base}/{path}")
    }
}

/// The endpoint accepted the request (possibly rejecting some items: partial success; for
/// metrics and logs `rejected_spans` counts data points or log records).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub rejected_spans: i64,
    pub error_message: String,
}

/// Why an export did not deliver.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}")]
    Http(#[from] HttpError),
    /// The URL (user-info masked) is not one this exporter can send to.
    #[error("{url}: {err}")]
    BadUrl { url: String, err: HttpError },
    #[error("{url} answered HTTP {status}{detail}")]
    Status {
        url: String,
        status: u16,
        detail: String,
    },
    /// Sent in full, no answer before the deadline: the endpoint may have stored it.
    #[error("{url}: no answer within {ms} ms after the request was sent")]
    Unconfirmed {
        url: String,
        ms: u128,
        late: Box<LateAnswer>,
    },
}

/// The open connection of a request whose answer did not come before the deadline.
#[derive(Debug)]
pub struct LateAnswer {
    sent: http::Sent,
    url: String,
    secrets: Secrets,
    /// Reads a 2xx answer of the request's signal.
    accepted: fn(&http::Response) -> Accepted,
}

impl LateAnswer {
    /// Waits for the answer until `deadline` and reads it like [`export`] would (no retry).
    pub fn wait(mut self, deadline: Instant) -> Result<Accepted, ExportError> {
        let resp = self.sent.answer(deadline)?;
        if (200..300).contains(&resp.status) {
            Ok((self.accepted)(&resp))
        } else {
            Err(ExportError::Status {
                url: self.url,
                status: resp.status,
                detail: body_detail(&resp.body, &self.secrets),
            })
        }
    }
}

/// [`export`], then, when the answer is late, waiting for it up to [`LATE_ANSWER_WAIT`] more:
/// for `spool flush`, where a few seconds matter less than sending a span twice.
pub fn export_patiently<R: ExportRequest>(
    cfg: &ExporterConfig,
    url: &str,
    req: &R,
    deadline: Instant,
) -> Result<Accepted, ExportError> {
    match export(cfg, url, req, deadline) {
        Err(ExportError::Unconfirmed { late, .. }) => late.wait(Instant::now() + LATE_ANSWER_WAIT),
        other => other,
    }
}

/// One `POST` to an `https://` URL, whole response read before the deadline; the last argument
/// is `OTEL_EXPORTER_OTLP_CERTIFICATE` (trusted CA certificates, PEM).
pub type HttpsPost = fn(
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
    deadline: Instant,
    ca_file: Option<&Path>,
) -> Result<http::Response, HttpError>;

static HTTPS: OnceLock<HttpsPost> = OnceLock::new();

/// Installs the `https://` transport (once per process; later calls are ignored).
pub fn install_https(post: HttpsPost) {
    let _ = HTTPS.set(post);
}

fn post_https(
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
    deadline: Instant,
    ca_file: Option<&Path>,
) -> Result<http::Response, HttpError> {
    match HTTPS.get() {
        Some(post) => post(url, headers, body, deadline, ca_file),
        None => Err(HttpError::BadUrl(mask_url(url))),
    }
}

/// Sends `req` to the configured endpoint before `deadline`.
pub fn export<R: ExportRequest>(
    cfg: &ExporterConfig,
    url: &str,
    req: &R,
    deadline: Instant,
) -> Result<Accepted, ExportError> {
    export_with(cfg, url, req, deadline, None)
}

/// [`export`], but once a request is sent in full its answer is awaited at most
/// [`ANSWER_WAIT`] (never past `deadline`); later, the error is [`ExportError::Unconfirmed`]
/// with the open connection. Connecting, sending and retries keep the whole deadline.
/// `https://` exports (the installed transport) wait as [`export`] does.
pub fn export_briefly<R: ExportRequest>(
    cfg: &ExporterConfig,
    url: &str,
    req: &R,
    deadline: Instant,
) -> Result<Accepted, ExportError> {
    export_with(cfg, url, req, deadline, Some(ANSWER_WAIT))
}

fn export_with<R: ExportRequest>(
    cfg: &ExporterConfig,
    url: &str,
    req: &R,
    deadline: Instant,
    answer_wait: Option<Duration>,
) -> Result<Accepted, ExportError> {
    let shown = mask_url(url);
    let parsed = if url.starts_with("https://") {
        None
    } else {
        Some(HttpUrl::parse(url).map_err(|err| ExportError::BadUrl {
            url: shown.clone(),
            err,
        })?)
    };
    let body = match cfg.protocol {
        Protocol::HttpProtobuf => prost::Message::encode_to_vec(req),
        Protocol::HttpJson => serde_json::to_vec(req).expect("the OTLP model always serialises"),
    };
    let mut headers = vec![(
        "Content-Type".to_string(),
        cfg.protocol.content_type().to_string(),
    )];
    headers.push((
        "User-Agent".to_string(),
        concat!("otelctl/", env!("CARGO_PKG_VERSION")).to_string(),
    ));
    for (k, v) in &cfg.headers {
        if k.eq_ignore_ascii_case("content-type")
            || k.eq_ignore_ascii_case("content-length")
            || k.eq_ignore_ascii_case("host")
            || k.eq_ignore_ascii_case("connection")
        {
            continue;
        }
        headers.retain(|(h, _)| !h.eq_ignore_ascii_case(k));
        headers.push((k.clone(), v.clone()));
    }
    let secrets = cfg.secrets(url);
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 1;
    loop {
        let resp = match &parsed {
            Some(plain) => {
                let mut sent = http::start(
                    &http::Request {
                        method: "POST",
                        url: plain,
                        headers: &headers,
                        body: &body,
                    },
                    deadline,
                )?;
                let answer_by = answer_wait.map_or(deadline, |w| deadline.min(Instant::now() + w));
                match sent.answer(answer_by) {
                    Ok(resp) => resp,
                    Err(HttpError::Unanswered { ms, .. }) => {
                        return Err(ExportError::Unconfirmed {
                            url: shown.clone(),
                            ms,
                            late: Box::new(LateAnswer {
                                sent,
                                url: shown,
                                secrets,
                                accepted: partial_success::<R>,
                            }),
                        })
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            None => post_https(url, &headers, &body, deadline, cfg.certificate.as_deref())?,
        };
        if (200..300).contains(&resp.status) {
            return Ok(partial_success::<R>(&resp));
        }
        let failed = || ExportError::Status {
            url: shown.clone(),
            status: resp.status,
            detail: body_detail(&resp.body, &secrets),
        };
        if !matches!(resp.status, 429 | 502 | 503 | 504) || attempt >= MAX_ATTEMPTS {
            return Err(failed());
        }
        // Retry-After may ask for longer than our backoff, never for less: `0` would
        // otherwise turn a busy collector's answer into a tight loop.
        let asked = resp
            .header("retry-after")
            .and_then(|v| retry_after(v, SystemTime::now()))
            .unwrap_or(Duration::ZERO);
        let wait = asked.max(with_jitter(backoff));
        backoff = (backoff * 2).min(Duration::from_secs(1));
        if Instant::now() + wait >= deadline {
            return Err(failed());
        }
        std::thread::sleep(wait);
        attempt += 1;
    }
}

/// `d` plus up to half of it, so clients refused together do not retry together.
fn with_jitter(d: Duration) -> Duration {
    let mut b = [0u8; 1];
    otelctl_otlp::random_bytes(&mut b);
    d + d.mul_f64(f64::from(b[0]) / 510.0)
}

fn partial_success<R: ExportRequest>(resp: &http::Response) -> Accepted {
    let decoded = if resp.body.is_empty() {
        None
    } else if resp
        .header("content-type")
        .is_some_and(|c| c.contains("json"))
    {
        serde_json::from_slice::<R::Response>(&resp.body).ok()
    } else {
        <R::Response as prost::Message>::decode(resp.body.as_slice()).ok()
    };
    let (rejected_spans, error_message) = decoded.map(|r| R::rejected(&r)).unwrap_or_default();
    Accepted {
        rejected_spans,
        error_message,
    }
}

impl ExporterConfig {
    /// What to mask in anything shown about an export to `url`: the configured headers (names
    /// and values) and the URL's user-info.
    pub fn secrets(&self, url: &str) -> Secrets {
        let mut s = Secrets::from_headers(&self.headers);
        s.add_url(url);
        if let Some(e) = &self.endpoint {
            s.add_url(e);
        }
        s
    }
}

/// A short, printable excerpt of an error body (collectors explain 4xx there), with every
/// configured credential masked, in any letter case, before it is cut: a server may echo the
/// request.
fn body_detail(body: &[u8], secrets: &Secrets) -> String {
    let text = secrets.mask(&String::from_utf8_lossy(body));
    let text: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
    let text = text.trim();
    if text.is_empty() {
        String::new()
    } else {
        format!(": {text}")
    }
}

/// `Retry-After`: delay-seconds, or an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = parse_http_date(v)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

fn parse_http_date(v: &str) -> Option<SystemTime> {
    // "Sun, 06 Nov 1994 08:49:37 GMT"
    let rest = v.split_once(", ")?.1;
    let parts: Vec<&str> = rest.split(' ').collect();
    if parts.len() != 5 || parts[4] != "GMT" {
        return None;
    }
    let day: u64 = parts[0].parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == parts[1])? as u64
        + 1;
    let year: i64 = parts[2].parse().ok()?;
    let hms: Vec<u64> = parts[3]
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    if hms.len() != 3 || !(1..=31).contains(&day) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days.checked_mul(86_400)? + (hms[0] * 3600 + hms[1] * 60 + hms[2]) as i64;
    let secs = u64::try_from(secs).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(secs))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u64, d: u64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_path_rules() {
        assert_eq!(
            traces_url_from_base("http://c:4318"),
            "http://c:4318/v1/traces"
        );
        assert_eq!(
            traces_url_from_base("http://c:4318/my/"),
            "http://c:4318/my/v1/traces"
        );
        assert_eq!(
            traces_url_from_base("http://c:4318/my"),
            "http://c:4318/my/v1/traces"
        );
        assert_eq!(traces_url_as_is("http://c:4318/x"), "http://c:4318/x");
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_770);
        assert_eq!(retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after(
                "Sun, 06 Nov 1994 08:49:37 GMT",
                now + Duration::from_secs(60)
            ),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
    }
}
