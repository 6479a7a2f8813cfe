//! HTTPS requests (rustls through ureq) for `https://` OTLP endpoints, e.g. a team backend.
//!
//! Only the `https://` branch of an export comes here; `http://` endpoints (every local and
//! system collector) keep the std-only client of `http.rs`, so the hot path sets up no TLS.
//! `OTEL_EXPORTER_OTLP_CERTIFICATE` names a PEM file of trusted CA certificates; without it
//! the bundled web PKI roots are used.

use std::path::Path;
use std::time::Instant;

use otelctl_http::{HttpError, Response};

/// Sends one POST to an `https://` URL and reads the whole response, all before `deadline`.
pub fn post(
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
    deadline: Instant,
    ca_file: Option<&Path>,
) -> Result<Response, HttpError> {
    let budget = deadline.saturating_duration_since(Instant::now());
    if budget.is_zero() {
        return Err(HttpError::Timeout {
            url: url.to_string(),
            ms: 0,
        });
    }
    let mut config = ureq::Agent::config_builder()
        .timeout_global(Some(budget))
        .http_status_as_error(false)
        .max_redirects(0);
    if let Some(file) = ca_file {
        let pem = std::fs::read(file).map_err(|err| HttpError::Io {
            url: url.to_string(),
            err: std::io::Error::new(
                err.kind(),
                format!("cannot read CA file {}: {err}", file.display()),
            ),
        })?;
        let certs: Vec<_> = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                _ => None,
            })
            .collect();
        if certs.is_empty() {
            return Err(HttpError::Io {
                url: url.to_string(),
                err: std::io::Error::other(format!(
                    "CA file {} holds no PEM certificate",
                    file.display()
                )),
            });
        }
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
            .build();
        config = config.tls_config(tls);
    }
    let agent: ureq::Agent = config.build().into();
    let mut request = agent.post(url);
    for (k, v) in headers {
        request = request.header(k.as_str(), v.as_str());
    }
    let mut response = request.send(body).map_err(|e| match e {
        ureq::Error::Timeout(_) => HttpError::Timeout {
            url: url.to_string(),
            ms: budget.as_millis(),
        },
        ureq::Error::Io(err) if err.kind() == std::io::ErrorKind::ConnectionRefused => {
            HttpError::Refused {
                url: url.to_string(),
            }
        }
        other => HttpError::Io {
            url: url.to_string(),
            err: std::io::Error::other(match ca_file {
                Some(f) => format!("{other} (trusting the CA certificates in {})", f.display()),
                None => format!("{other} (trusting the web PKI roots; set OTEL_EXPORTER_OTLP_CERTIFICATE for a private CA)"),
            }),
        },
    })?;
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
    let body = response
        .body_mut()
        .with_config()
        .limit(16 * 1024 * 1024)
        .read_to_vec()
        .unwrap_or_default();
    Ok(Response {
        status,
        headers,
        body,
    })
}
