//! `otelctl import`: OTLP/JSON files into the running store, through the project's OTLP/HTTP
//! receiver (port +0: the embedded receiver, or the Collector of the full stack).
//!
//! A file holds one `ExportTraceServiceRequest` (what `otelctl export` writes, on one line or
//! pretty-printed) or one per line (a Collector's `file` exporter). Every file is read and
//! checked before anything is sent, so a bad line costs nothing. The embedded store ignores a
//! span id it already holds in that trace, so importing the same file twice adds nothing.

use std::path::Path;
use std::time::{Duration, Instant};

use otelctl_config::detect::probe_collector;
use otelctl_config::error::Error;
use otelctl_config::exit;
use otelctl_config::settings::Settings;
use otelctl_config::Result;
use otelctl_embedded::export;
use otelctl_embedded::probe::{self as embedded_probe, Viewer};
use otelctl_otlp::ExportTraceServiceRequest;

use crate::cli::ImportArgs;
use crate::output;

/// The requests in one file (`path` only names it in errors).
pub fn parse_file(path: &Path, bytes: &[u8]) -> Result<Vec<ExportTraceServiceRequest>> {
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
    if let Ok(req) = ExportTraceServiceRequest::from_json(text.trim().as_bytes()) {
        return Ok(vec![req]);
    }
    // Else one request per line.
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let req = ExportTraceServiceRequest::from_json(line.trim().as_bytes()).map_err(|e| {
            Error::bad_input(
                format!("{}:{}", path.display(), n + 1),
                e.to_string(),
                "expected an OTLP/JSON ExportTraceServiceRequest (as `otelctl export` or a Collector's file exporter writes); nothing was imported",
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
    for path in &args.files {
        let bytes = std::fs::read(path).map_err(|e| Error::io("cannot read", path, e))?;
        for req in parse_file(path, &bytes)? {
            all.resource_spans.extend(req.resource_spans);
        }
    }
    let spans = all.span_count();
    if spans == 0 {
        output::stderr("otelctl: the files hold no spans; nothing imported\n");
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
    let done = export::forward(all, &endpoint)?;
    let mut text = format!(
        "otelctl: sent {} spans from {} file(s) to {} in {} request(s)",
        done.spans,
        args.files.len(),
        export::traces_url(&endpoint),
        done.requests
    );
    if let (Some((a0, d0)), Some((a1, d1))) = (before, counters(ports.grafana_http)) {
        text.push_str(&format!(
            "; the embedded store added {} and already held {}",
            a1.saturating_sub(a0),
            d1.saturating_sub(d0)
        ));
    }
    if done.rejected > 0 {
        text.push_str(&format!("; the receiver refused {}", done.rejected));
    }
    output::stderr(&(text + "\n"));
    Ok(if done.rejected > 0 {
        exit::FAILURE
    } else {
        exit::SUCCESS
    })
}
