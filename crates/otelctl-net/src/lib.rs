//! The one HTTP client of otelctl off the hot path: reqwest (blocking, rustls), for Grafana's
//! and Tempo's APIs, readiness probes, `export --to`, and the `https://` branch of span export
//! (installed by the binary into `otelctl_span::exporter`, so the span crate has no TLS stack).
//!
//! Answers come back as [`otelctl_http::Response`] and failures as [`HttpError`], the types
//! the hot path's std client uses, so callers handle both clients' results alike. Redirects
//! are never followed (a token or a span must not go to a host nobody named); every request
//! carries its own deadline.

use std::path::Path;
use std::sync::OnceLock;
use std::time::Instant;

pub use otelctl_http::{HttpError, Response};

/// Answers larger than this are refused: the APIs we call answer far less.
pub const MAX_RESPONSE: usize = 64 * 1024 * 1024;

const USER_AGENT: &str = concat!("otelctl/", env!("CARGO_PKG_VERSION"));

/// A reusable client (one connection pool, one TLS configuration).
#[derive(Clone)]
pub struct Client {
    inner: reqwest::blocking::Client,
}

impl Client {
    /// A client trusting the bundled web PKI roots.
    pub fn new() -> Result<Self, HttpError> {
        Self::build(None, "")
    }

    /// One client for the whole process (built on first use), for loopback APIs and probes
    /// that would otherwise set up a connection pool and TLS roots for every request.
    pub fn shared() -> Result<&'static Client, HttpError> {
        static SHARED: OnceLock<Result<Client, String>> = OnceLock::new();
        SHARED
            .get_or_init(|| Client::new().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| HttpError::Io {
                url: "the HTTP client".to_string(),
                err: std::io::Error::other(e.clone()),
            })
    }

    /// A client trusting only the PEM CA certificates in `ca_file`.
    pub fn with_ca_file(ca_file: &Path) -> Result<Self, HttpError> {
        Self::build(Some(ca_file), "")
    }

    fn build(ca_file: Option<&Path>, url: &str) -> Result<Self, HttpError> {
        let mut builder = reqwest::blocking::Client::builder()
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            // Deadlines are per request (see `send`), not per client.
            .timeout(None);
        if let Some(file) = ca_file {
            let io = |err: std::io::Error| HttpError::Io {
                url: url.to_string(),
                err,
            };
            let pem = std::fs::read(file).map_err(|err| {
                io(std::io::Error::new(
                    err.kind(),
                    format!("cannot read CA file {}: {err}", file.display()),
                ))
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).unwrap_or_default();
            if certs.is_empty() {
                return Err(io(std::io::Error::other(format!(
                    "CA file {} holds no PEM certificate",
                    file.display()
                ))));
            }
            builder = builder.tls_built_in_root_certs(false);
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let inner = builder.build().map_err(|e| HttpError::Io {
            url: url.to_string(),
            err: std::io::Error::other(format!("cannot set up the HTTP client: {e}")),
        })?;
        Ok(Client { inner })
    }

    /// `GET url`, with an `Accept` header when given.
    pub fn get(
        &self,
        url: &str,
        accept: Option<&str>,
        deadline: Instant,
    ) -> Result<Response, HttpError> {
        let headers: Vec<(String, String)> = accept
            .map(|a| vec![("Accept".to_string(), a.to_string())])
            .unwrap_or_default();
        self.send("GET", url, &headers, None, deadline)
    }

    /// One request, the whole answer read, all before `deadline`.
    pub fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: Option<&[u8]>,
        deadline: Instant,
    ) -> Result<Response, HttpError> {
        let budget = deadline.saturating_duration_since(Instant::now());
        // Errors name the URL without its user-info (reqwest sends that as basic auth).
        let shown = otelctl_config::secrets::mask_url(url);
        let timeout = || HttpError::Timeout {
            url: shown.clone(),
            ms: budget.as_millis(),
        };
        if budget.is_zero() {
            return Err(timeout());
        }
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| HttpError::BadUrl(format!("{method} {url}")))?;
        let mut request = self.inner.request(method, url).timeout(budget);
        for (k, v) in headers {
            request = request.header(k.as_str(), v.as_str());
        }
        if let Some(body) = body {
            request = request.body(body.to_vec());
        }
        let failed = |e: reqwest::Error| classify(&shown, e, budget.as_millis());
        let mut response = request.send().map_err(failed)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        use std::io::Read;
        (&mut response)
            .take(MAX_RESPONSE as u64 + 1)
            .read_to_end(&mut body)
            .map_err(|err| match err.kind() {
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => timeout(),
                _ => HttpError::Io {
                    url: shown.clone(),
                    err,
                },
            })?;
        if body.len() > MAX_RESPONSE {
            return Err(HttpError::Malformed {
                url: shown.clone(),
                why: "the answer is larger than 64 MiB",
            });
        }
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

/// Sorts a reqwest failure into refused / timed out / other, without any header in the text.
fn classify(url: &str, e: reqwest::Error, budget_ms: u128) -> HttpError {
    if e.is_timeout() {
        return HttpError::Timeout {
            url: url.to_string(),
            ms: budget_ms,
        };
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    return HttpError::Refused {
                        url: url.to_string(),
                    }
                }
                std::io::ErrorKind::TimedOut => {
                    return HttpError::Timeout {
                        url: url.to_string(),
                        ms: budget_ms,
                    }
                }
                _ => {}
            }
        }
        source = s.source();
    }
    if e.is_builder() {
        return HttpError::BadUrl(url.to_string());
    }
    // The chain's messages (DNS, TLS, connection) say what went wrong; reqwest's own
    // top-level text repeats the URL, which the error already names.
    let mut why = Vec::new();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        why.push(s.to_string());
        source = s.source();
    }
    let text = if why.is_empty() {
        e.without_url().to_string()
    } else {
        why.join(": ")
    };
    HttpError::Io {
        url: url.to_string(),
        err: std::io::Error::other(otelctl_config::secrets::mask_urls_in(&text)),
    }
}

/// The `https://` transport of span export (the shape of `otelctl_span::exporter::HttpsPost`):
/// one `POST`, trusting `ca_file` (`OTEL_EXPORTER_OTLP_CERTIFICATE`) or the web PKI roots.
pub fn post_https(
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
    deadline: Instant,
    ca_file: Option<&Path>,
) -> Result<Response, HttpError> {
    let client = Client::build(ca_file, &otelctl_config::secrets::mask_url(url))?;
    client
        .send("POST", url, headers, Some(body), deadline)
        .map_err(|e| match e {
            HttpError::Io { url, err } => HttpError::Io {
                url,
                err: std::io::Error::other(match ca_file {
                    Some(f) => format!("{err} (trusting the CA certificates in {})", f.display()),
                    None => format!(
                        "{err} (trusting the web PKI roots; set OTEL_EXPORTER_OTLP_CERTIFICATE for a private CA)"
                    ),
                }),
            },
            other => other,
        })
}
