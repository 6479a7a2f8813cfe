//! Between the store ([`otelctl_store`], SQLite) and the viewer's types (`otelctl-viewer`):
//! the explorer's [`Filter`] as a [`TraceQuery`], the store's rows as [`TraceSummary`],
//! [`explore::Run`] and [`NameStats`]. The store knows nothing of the viewer, the viewer nothing
//! of the store.

use otelctl_otlp::{ExportTraceServiceRequest, KeyValue, Span};
pub use otelctl_receiver::IngestOutcome;
pub use otelctl_store::{Counters, Store, TraceQuery, TraceRow};
use otelctl_viewer::explore::{self, Filter};
use otelctl_viewer::metrics::{nearest_rank, NameStats};
pub use otelctl_viewer::summary::{service_name, summarize, TraceSummary, UNKNOWN_SERVICE};

/// A trace id (16 bytes).
pub type TraceId = [u8; 16];

/// A stored trace's list row as the viewer shows it.
pub fn summary_of(row: &TraceRow) -> TraceSummary {
    TraceSummary {
        trace_id: row.trace_id.clone(),
        service: row.service.clone(),
        root_name: row.root_name.clone(),
        start_unix_nano: row.start_unix_nano,
        end_unix_nano: row.end_unix_nano,
        duration_ns: row.duration_ns,
        span_count: row.span_count,
        error_count: row.error_count,
        status: if row.error_count > 0 { "error" } else { "ok" },
    }
}

fn nanos(d: std::time::Duration) -> u64 {
    d.as_nanos().min(u128::from(u64::MAX)) as u64
}

/// The explorer's filter as a store query (`since` measured back from `now_unix_nano`), at most
/// `limit` rows.
pub fn query_of(filter: &Filter, now_unix_nano: u64, limit: usize) -> TraceQuery {
    let since = filter.since.map(|d| now_unix_nano.saturating_sub(nanos(d)));
    TraceQuery {
        service: filter.service.clone(),
        name: filter.name.clone(),
        span_error: filter.status.map(|s| s == explore::StatusFilter::Error),
        error: filter
            .trace_status
            .map(|s| s == explore::StatusFilter::Error),
        min_duration_ns: filter.min_duration.map(nanos),
        max_duration_ns: filter.max_duration.map(nanos),
        attrs: filter.attrs.clone(),
        from_unix_nano: match (since, filter.from_unix_nano) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        },
        to_unix_nano: filter.to_unix_nano,
        limit,
    }
}

/// A task run as the explorer reads it.
pub fn run_of(r: otelctl_store::TaskRun) -> explore::Run {
    explore::Run {
        trace_id: r.trace_id,
        span_id: r.span_id,
        start_unix_nano: r.start_unix_nano,
        duration_ns: r.duration_ns,
        cached: r.cached,
        error: r.error,
    }
}

/// Per-name statistics (nearest-rank percentiles) from the store's samples, sorted by name.
pub fn stats_of(samples: Vec<otelctl_store::NameSample>) -> Vec<NameStats> {
    let mut out: Vec<NameStats> = samples
        .into_iter()
        .filter(|s| !s.durations_ns.is_empty())
        .map(|mut s| {
            s.durations_ns.sort_unstable();
            let pct = |p| nearest_rank(&s.durations_ns, p).unwrap_or(0);
            NameStats {
                count: s.durations_ns.len() as u64,
                errors: s.errors,
                p50_ns: pct(50),
                p95_ns: pct(95),
                p99_ns: pct(99),
                name: s.name,
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Every span of a stored trace with its resource's attributes.
pub fn spans_of(req: &ExportTraceServiceRequest) -> Vec<(&[KeyValue], &Span)> {
    req.spans().collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use otelctl_otlp::{ExportTraceServiceRequest, InstrumentationScope, KeyValue, Span};

    pub(crate) fn span(trace: u8, id: u8, parent: u8, start: u64, end: u64) -> Span {
        Span {
            trace_id: vec![trace; 16],
            span_id: vec![id; 8],
            parent_span_id: if parent == 0 { vec![] } else { vec![parent; 8] },
            name: format!("s{id}"),
            start_time_unix_nano: start,
            end_time_unix_nano: end,
            ..Default::default()
        }
    }

    pub(crate) fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest::single(
            vec![KeyValue::string("service.name", "svc")],
            InstrumentationScope {
                name: "t".into(),
                ..Default::default()
            },
            spans,
        )
    }
}
