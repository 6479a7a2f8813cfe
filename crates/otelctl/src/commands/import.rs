//! `otelctl import`: OTLP/JSON files into the running store, through the project's OTLP/HTTP
//! receiver (port +0: the embedded receiver, or the Collector of the full stack).
//!
//! A file holds one export request (what `otelctl export` writes, on one line or
//! pretty-printed) or one per line (a Collector's `file` exporter, which writes all three
//! signals). Each request is a trace, metrics or logs request by its top-level key
//! (`resourceSpans`, `resourceMetrics`, `resourceLogs`) and goes to its signal's path. Every file
//! is read and checked before anything is sent, so a bad line costs nothing. The embedded store
//! ignores a span, log record or metric point it already holds, so importing the same file twice
//! adds nothing.

use std::path::Path;
use std::time::{Duration, Instant};

use otelctl_config::detect::probe_collector;
use otelctl_config::error::Error;
use otelctl_config::exit;
use otelctl_config::settings::Settings;
use otelctl_config::Result;
use otelctl_embedded::export;
use otelctl_embedded::probe::{self as embedded_probe, Viewer};
use otelctl_otlp::{DecodeError, ExportRequest, ExportTraceServiceRequest, Signal};
use otelctl_span::spool::Spooled;

use crate::cli::ImportArgs;
use crate::output;

/// The largest file `import` reads (documented in docs/commands/import.md): a store's export
/// is far smaller, and an endless file (`/dev/zero`, a FIFO) stops here instead of filling memory.
pub const MAX_IMPORT_FILE: u64 = 256 * 1024 * 1024;

/// A file's bytes, refused past [`MAX_IMPORT_FILE`] (read, not trusted from its size: `/dev/zero`
/// and pipes have none).
fn read_capped(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| Error::io("cannot read", path, e))?;
    let mut bytes = Vec::new();
    file.take(MAX_IMPORT_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("cannot read", path, e))?;
    if bytes.len() as u64 > MAX_IMPORT_FILE {
        return Err(Error::bad_input(
            path.display().to_string(),
            format!(
                "larger than {} MiB, the most `otelctl import` reads from one file",
                MAX_IMPORT_FILE >> 20
            ),
            "split it (one OTLP/JSON request per line can be split by lines); nothing was imported",
        ));
    }
    Ok(bytes)
}

/// Which signal an OTLP/JSON request is, by its top-level key (traces when it has none: `{}`).
fn signal_of(text: &str) -> std::result::Result<Signal, DecodeError> {
    #[derive(serde::Deserialize)]
    struct Keys {
        #[serde(rename = "resourceMetrics")]
        metrics: Option<serde::de::IgnoredAny>,
        #[serde(rename = "resourceLogs")]
        logs: Option<serde::de::IgnoredAny>,
    }
    let keys: Keys = serde_json::from_str(text)?;
    Ok(match (keys.metrics, keys.logs) {
        (Some(_), _) => Signal::Metrics,
        (None, Some(_)) => Signal::Logs,
        (None, None) => Signal::Traces,
    })
}

/// One OTLP/JSON request of any signal.
fn parse_request(text: &str) -> std::result::Result<Spooled, DecodeError> {
    Spooled::from_json(signal_of(text)?, text.as_bytes())
}

/// The requests in one file (`path` only names it in errors).
pub fn parse_file(path: &Path, bytes: &[u8]) -> Result<Vec<Spooled>> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        Error::bad_input(
            path.display().to_string(),
            format!("not UTF-8 text (byte {})", e.valid_up_to()),
            "give OTLP/JSON files (as `otelctl export` writes); nothing was imported",
        )
    })?;
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    // One request, however it is laid out.
    if let Ok(req) = parse_request(text.trim()) {
        return Ok(vec![req]);
    }
    // Else one request per line.
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let req = parse_request(line.trim()).map_err(|e| {
            Error::bad_input(
                format!("{}:{}", path.display(), n + 1),
                e.to_string(),
                "expected an OTLP/JSON export request of traces, metrics or logs (as `otelctl export` or a Collector's file exporter writes); nothing was imported",
            )
        })?;
        out.push(req);
    }
    Ok(out)
}

/// The embedded store's span counters, when its viewer answers: (accepted, duplicate).
fn counters(viewer: u16) -> Option<(u64, u64)> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let Ok(Viewer::Embedded(r)) = embedded_probe::viewer(viewer, deadline) else {
        return None;
    };
    let v: serde_json::Value = serde_json::from_slice(&r.body).ok()?;
    let c = v.get("counters")?;
    Some((
        c.get("accepted_spans")?.as_u64()?,
        c.get("duplicate_spans")?.as_u64()?,
    ))
}

pub fn run(settings: &Settings, args: &ImportArgs) -> Result<u8> {
    let mut all = ExportTraceServiceRequest::default();
    let (mut metrics, mut logs) = (Vec::new(), Vec::new());
    for path in &args.files {
        let bytes = read_capped(path)?;
        for req in parse_file(path, &bytes)? {
            match req {
                Spooled::Traces(r) => all.resource_spans.extend(r.resource_spans),
                Spooled::Metrics(r) if r.data_point_count() > 0 => metrics.push(r),
                Spooled::Logs(r) if r.record_count() > 0 => logs.push(r),
                Spooled::Metrics(_) | Spooled::Logs(_) => {}
            }
        }
    }
    let spans = all.span_count();
    if spans == 0 && metrics.is_empty() && logs.is_empty() {
        output::stderr("otelctl: the files hold no spans, metrics or logs; nothing imported\n");
        return Ok(exit::SUCCESS);
    }
    let ports = settings.ports();
    let receiver = ports.collector_otlp_http;
    let endpoint = format!("http://127.0.0.1:{receiver}");
    // The receiver (embedded, or the full stack's Collector) must accept an empty export: the
    // probe detection and readiness use.
    let probe = Duration::from_secs(2);
    if let Err(why) = probe_collector(receiver, Instant::now() + probe) {
        return Err(Error::NotReady {
            service: "the OTLP receiver".to_string(),
            address: format!("127.0.0.1:{receiver}"),
            waited: probe,
            why,
            fix: "start the store first: `otelctl up`, or `otelctl up --embedded`".to_string(),
        });
    }
    let before = counters(ports.grafana_http);
    let done = if spans > 0 {
        export::forward(all, &endpoint)?
    } else {
        export::Forwarded::default()
    };
    let mut text = format!(
        "otelctl: sent {} spans from {} file(s) to {} in {} request(s)",
        done.spans,
        args.files.len(),
        export::traces_url(&endpoint),
        done.requests
    );
    let mut rejected = done.rejected;
    for (what, sent) in [
        ("metric data points", send_all(&metrics, &endpoint)?),
        ("log records", send_all(&logs, &endpoint)?),
    ] {
        if let Some((items, url, refused)) = sent {
            text.push_str(&format!("; {items} {what} to {url}"));
            rejected += refused;
        }
    }
    if let (Some((a0, d0)), Some((a1, d1))) = (before, counters(ports.grafana_http)) {
        text.push_str(&format!(
            "; the embedded store added {} and already held {}",
            a1.saturating_sub(a0),
            d1.saturating_sub(d0)
        ));
    }
    if rejected > 0 {
        text.push_str(&format!("; the receiver refused {rejected}"));
    }
    output::stderr(&(text + "\n"));
    Ok(if rejected > 0 {
        exit::FAILURE
    } else {
        exit::SUCCESS
    })
}

/// Sends metrics or logs requests, one by one, to their signal's path under `endpoint`:
/// `(items sent, URL, items refused)`, `None` when there was nothing to send. A request the
/// receiver does not accept stops the import with its answer.
fn send_all<R: ExportRequest>(
    requests: &[R],
    endpoint: &str,
) -> Result<Option<(usize, String, i64)>> {
    if requests.is_empty() {
        return Ok(None);
    }
    let url = otelctl_span::exporter::signal_url_from_base(endpoint, R::SIGNAL);
    let config = otelctl_span::exporter::ExporterConfig {
        endpoint: Some(url.clone()),
        protocol: otelctl_span::exporter::Protocol::HttpJson,
        headers: Vec::new(),
        timeout: Duration::from_secs(30),
        certificate: None,
    };
    let (mut items, mut refused) = (0, 0);
    for req in requests {
        let accepted = otelctl_span::exporter::export_patiently(
            &config,
            &url,
            req,
            Instant::now() + config.timeout,
        )
        .map_err(|e| Error::failed(format!("cannot import {} into {url}", R::SIGNAL.items()), e))?;
        items += req.item_count();
        refused += accepted.rejected_spans;
    }
    Ok(Some((items, url, refused)))
}
