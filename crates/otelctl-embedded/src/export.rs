//! `otelctl export`: the stored traces as OTLP/JSON, written out or forwarded to any OTLP
//! endpoint, so nothing captured by the embedded server is trapped there.
//!
//! Where the traces come from: the running embedded viewer (`GET /api/export` on the Grafana
//! port +3, answered with the `X-Otelctl-Embedded` header), which has everything received so
//! far; when none answers, the store's database under `DataDir::embedded()` (read only).
//! Selection: `--trace ID` (one trace), `--since DURATION` (traces with a span that ended at or
//! after now minus DURATION). Forwarding sends OTLP/JSON requests of at most
//! [`FORWARD_BATCH_SPANS`] spans each and stops at the first refusal.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use otelctl_config::error::{Error, Result, Source};
use otelctl_net::{Client, HttpError};
use otelctl_otlp::{ExportTraceServiceRequest, ExportTraceServiceResponse, ResourceSpans};

use super::store::TraceId;
use super::viewer::EMBEDDED_HEADER;

/// Most spans in one forwarded request.
pub const FORWARD_BATCH_SPANS: usize = 1000;
/// About the most OTLP/JSON in one forwarded request: well under the receiver's 8 MiB body
/// limit (and the 4 MiB a Collector's gRPC receiver takes), so what a receiver accepted can
/// always be sent back.
pub const FORWARD_BATCH_BYTES: usize = 3 * 1024 * 1024;
/// Time allowed for each forwarded request.
pub const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed to ask the running viewer.
const VIEWER_TIMEOUT: Duration = Duration::from_secs(5);

/// Parses a trace id given on the command line.
pub fn parse_trace_id(text: &str, origin: Source) -> Result<TraceId> {
    otelctl_otlp::parse_trace_id(text).ok_or_else(|| Error::InvalidValue {
        what: "trace id",
        value: text.to_string(),
        origin,
        expected: "32 hex digits, not all zero".to_string(),
    })
}

/// What to export.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub trace: Option<TraceId>,
    pub since: Option<Duration>,
}

impl Selection {
    fn since_unix_nano(&self) -> Option<u64> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        self.since
            .map(|d| now.saturating_sub(d).as_nanos().min(u128::from(u64::MAX)) as u64)
    }
}

/// Where the exported traces came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The running embedded server, at this URL.
    Running(String),
    /// The store's database, at this path.
    Files(String),
}

/// Collects the selected traces: from the running viewer on `viewer_port` when it answers,
/// else from the store's database under `embedded_dir` (opened read-only).
pub fn collect(
    viewer_port: u16,
    embedded_dir: &Path,
    selection: &Selection,
) -> Result<(ExportTraceServiceRequest, Origin, Vec<String>)> {
    let since = selection.since_unix_nano();
    let mut query = Vec::new();
    if let Some(t) = &selection.trace {
        query.push(format!("trace={}", otelctl_otlp::to_hex(t)));
    }
    if let Some(s) = since {
        query.push(format!("since_unix_nano={s}"));
    }
    let url = format!(
        "http://127.0.0.1:{viewer_port}/api/export?{}",
        query.join("&")
    );
    match Client::shared()?.get(&url, None, Instant::now() + VIEWER_TIMEOUT) {
        Ok(r) if r.status == 200 && r.header(EMBEDDED_HEADER).is_some() => {
            let req = ExportTraceServiceRequest::from_json(&r.body).map_err(|e| {
                Error::failed(
                    format!("the running viewer on port {viewer_port}"),
                    format!("sent {e}"),
                )
            })?;
            let origin = Origin::Running(format!("http://127.0.0.1:{viewer_port}"));
            return Ok((req, origin, Vec::new()));
        }
        // Something else on the port (Grafana of the real stack), or nothing: use the files.
        Ok(_) | Err(HttpError::Refused { .. }) => {}
        Err(e) => {
            return Err(Error::failed(
                format!("the viewer port {viewer_port}"),
                format!("did not answer properly ({e})"),
            )
            .fix("stop the program on it or retry"))
        }
    }
    let path = otelctl_store::db_path(embedded_dir);
    let mut req = ExportTraceServiceRequest::default();
    if let Some(reader) = otelctl_store::open_read_only(embedded_dir)? {
        reader.for_each_trace(selection.trace.as_ref(), since, |t| {
            req.resource_spans.extend(t.resource_spans);
            true
        })?;
    }
    Ok((req, Origin::Files(path.display().to_string()), Vec::new()))
}

/// The traces URL for an endpoint: used as is when its path ends in `/v1/traces`, else a base
/// as `OTEL_EXPORTER_OTLP_ENDPOINT` is (the exporter's rule: `v1/traces` after one slash).
pub fn traces_url(endpoint: &str) -> String {
    let e = endpoint.trim();
    if e.trim_end_matches('/').ends_with("/v1/traces") {
        otelctl_span::exporter::traces_url_as_is(e)
    } else {
        otelctl_span::exporter::traces_url_from_base(e)
    }
}

/// `req` cut into requests of at most `max_spans` spans and about `max_bytes` of OTLP/JSON each,
/// so every one fits under a receiver's body limit (`otelctl-receiver`: 8 MiB) however the
/// store grouped them: a resource's spans stay in one request when they fit, and a resource
/// (or scope) too large for one is cut between spans, each piece keeping its resource and scope.
/// A single span larger than `max_bytes` travels alone.
pub fn split(
    req: ExportTraceServiceRequest,
    max_spans: usize,
    max_bytes: usize,
) -> Vec<ExportTraceServiceRequest> {
    let json_len = |v: &dyn erased::Len| v.json_len();
    let mut out = Vec::new();
    let mut current = Batch::default();
    for rs in req.resource_spans {
        let n = rs.scope_spans.iter().map(|s| s.spans.len()).sum::<usize>();
        let bytes = json_len(&rs);
        if n <= max_spans && bytes <= max_bytes {
            if !current.fits(n, bytes, max_spans, max_bytes) {
                current.flush(&mut out);
            }
            current.add(rs, n, bytes);
            continue;
        }
        // Too large on its own: cut between spans.
        current.flush(&mut out);
        for mut ss in rs.scope_spans {
            for span in std::mem::take(&mut ss.spans) {
                let bytes = json_len(&span);
                if !current.fits(1, bytes, max_spans, max_bytes) {
                    current.flush(&mut out);
                }
                current.add_span(&rs.resource, &rs.schema_url, &ss, span, bytes);
            }
        }
    }
    current.flush(&mut out);
    out
}

/// The request being filled by [`split`].
#[derive(Default)]
struct Batch {
    req: ExportTraceServiceRequest,
    spans: usize,
    bytes: usize,
}

impl Batch {
    fn fits(&self, spans: usize, bytes: usize, max_spans: usize, max_bytes: usize) -> bool {
        self.spans == 0 || (self.spans + spans <= max_spans && self.bytes + bytes <= max_bytes)
    }
    fn add(&mut self, rs: ResourceSpans, spans: usize, bytes: usize) {
        self.req.resource_spans.push(rs);
        self.spans += spans;
        self.bytes += bytes;
    }
    /// `span` under a copy of its resource and scope (the last ones reused while they match).
    fn add_span(
        &mut self,
        resource: &Option<otelctl_otlp::Resource>,
        schema_url: &str,
        scope: &otelctl_otlp::ScopeSpans,
        span: otelctl_otlp::Span,
        bytes: usize,
    ) {
        let same_resource = self
            .req
            .resource_spans
            .last()
            .is_some_and(|r| &r.resource == resource && r.schema_url == schema_url);
        if !same_resource {
            self.req.resource_spans.push(ResourceSpans {
                resource: resource.clone(),
                scope_spans: Vec::new(),
                schema_url: schema_url.to_string(),
            });
        }
        let rs = self.req.resource_spans.last_mut().expect("pushed above");
        let same_scope = rs
            .scope_spans
            .last()
            .is_some_and(|s| s.scope == scope.scope && s.schema_url == scope.schema_url);
        if !same_scope {
            rs.scope_spans.push(otelctl_otlp::ScopeSpans {
                scope: scope.scope.clone(),
                spans: Vec::new(),
                schema_url: scope.schema_url.clone(),
            });
        }
        rs.scope_spans
            .last_mut()
            .expect("pushed above")
            .spans
            .push(span);
        self.spans += 1;
        self.bytes += bytes;
    }
    fn flush(&mut self, out: &mut Vec<ExportTraceServiceRequest>) {
        if self.spans > 0 || !self.req.resource_spans.is_empty() {
            out.push(std::mem::take(&mut self.req));
        }
        self.spans = 0;
        self.bytes = 0;
    }
}

/// The OTLP/JSON size of a part of a request.
mod erased {
    pub trait Len {
        fn json_len(&self) -> usize;
    }
    impl<T: serde::Serialize> Len for T {
        fn json_len(&self) -> usize {
            serde_json::to_vec(self).map_or(0, |v| v.len())
        }
    }
}

/// What forwarding did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Forwarded {
    pub requests: usize,
    pub spans: usize,
    /// Spans the endpoint refused in a partial success.
    pub rejected: i64,
}

/// Sends the traces to an OTLP/HTTP endpoint as OTLP/JSON.
pub fn forward(req: ExportTraceServiceRequest, endpoint: &str) -> Result<Forwarded> {
    let target = traces_url(endpoint);
    let shown = otelctl_config::secrets::mask_url(&target);
    let mut secrets = otelctl_config::secrets::Secrets::new();
    secrets.add_url(endpoint);
    if !(target.starts_with("http://") || target.starts_with("https://")) {
        return Err(Error::InvalidValue {
            what: "endpoint",
            value: shown,
            origin: Source::Flag("--to"),
            expected: "an OTLP/HTTP URL: http(s)://HOST[:PORT][/PATH]".to_string(),
        });
    }
    let client = Client::shared()?;
    let headers = [("Content-Type".to_string(), "application/json".to_string())];
    let mut done = Forwarded::default();
    for part in split(req, FORWARD_BATCH_SPANS, FORWARD_BATCH_BYTES) {
        let body = part.to_json();
        let r = client.send(
            "POST",
            &target,
            &headers,
            Some(&body),
            Instant::now() + FORWARD_TIMEOUT,
        )?;
        if !(200..300).contains(&r.status) {
            let text = String::from_utf8_lossy(&r.body);
            let excerpt: String = text.chars().take(300).collect();
            return Err(Error::failed(
                shown,
                format!(
                    "answered HTTP {} after {} of the requests were accepted ({} spans): {}",
                    r.status,
                    done.requests,
                    done.spans,
                    secrets.mask(excerpt.trim())
                ),
            ));
        }
        if let Ok(resp) = serde_json::from_slice::<ExportTraceServiceResponse>(&r.body) {
            if let Some(p) = resp.partial_success {
                done.rejected += p.rejected_spans;
            }
        }
        done.requests += 1;
        done.spans += part.span_count();
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::{request, span};

    #[test]
    fn traces_urls() {
        assert_eq!(traces_url("http://c:4318"), "http://c:4318/v1/traces");
        assert_eq!(
            traces_url("http://c:4318/my/"),
            "http://c:4318/my/v1/traces"
        );
        assert_eq!(
            traces_url("http://c:4318/v1/traces"),
            "http://c:4318/v1/traces"
        );
    }

    #[test]
    fn split_keeps_batches_whole_and_bounds_requests() {
        let mut req = ExportTraceServiceRequest::default();
        for t in 1..=5u8 {
            req.resource_spans
                .extend(request((1..=3u8).map(|i| span(t, i, 0, 0, 1)).collect()).resource_spans);
        }
        let parts = split(req, 7, usize::MAX);
        let sizes: Vec<usize> = parts.iter().map(|p| p.span_count()).collect();
        assert_eq!(sizes, vec![6, 6, 3]);
    }
}
