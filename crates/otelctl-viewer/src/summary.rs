//! What a list row shows about a trace ([`TraceSummary`]) and how it is made from the trace's
//! spans, whichever store they came from (the embedded store, its files, Tempo).

use std::collections::HashSet;

use serde::Serialize;

use otelctl_otlp::{self as otlp, KeyValue, Span};

use crate::metrics;

/// What a list row shows about a trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceSummary {
    pub trace_id: String,
    pub service: String,
    pub root_name: String,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    pub duration_ns: u64,
    pub span_count: usize,
    pub error_count: usize,
    /// `error` when any span has status ERROR, else `ok`.
    pub status: &'static str,
}

/// The list row of a trace made of `spans` (from the store, a file or Tempo). The root is the
/// span without a parent in the trace (the earliest such when there are several); duration is
/// from the first start to the last end; `error` when any span has status ERROR.
pub fn summarize(id: &[u8], spans: &[(&[KeyValue], &Span)]) -> TraceSummary {
    let ids: HashSet<&[u8]> = spans.iter().map(|(_, s)| s.span_id.as_slice()).collect();
    summarize_with(id, spans, |parent| ids.contains(parent), ids.len())
}

/// [`summarize`] with the trace's span-id test and span count given.
pub fn summarize_with(
    id: &[u8],
    spans: &[(&[KeyValue], &Span)],
    holds: impl Fn(&[u8]) -> bool,
    span_count: usize,
) -> TraceSummary {
    summarize_dyn(id, spans, &holds, span_count)
}

// Not generic, so compiled (and optimised) here rather than in each caller.
fn summarize_dyn(
    id: &[u8],
    spans: &[(&[KeyValue], &Span)],
    holds: &dyn Fn(&[u8]) -> bool,
    span_count: usize,
) -> TraceSummary {
    let is_root = |s: &Span| s.parent_span_id.is_empty() || !holds(&s.parent_span_id);
    let mut root: Option<(&[KeyValue], &Span)> = None;
    let (mut start, mut end, mut errors) = (u64::MAX, 0u64, 0usize);
    for &(res, s) in spans {
        start = start.min(s.start_time_unix_nano);
        end = end.max(s.end_time_unix_nano.max(s.start_time_unix_nano));
        errors += usize::from(metrics::is_error(s));
        let better = match root {
            None => true,
            Some((_, r)) => {
                (is_root(s), std::cmp::Reverse(s.start_time_unix_nano))
                    > (is_root(r), std::cmp::Reverse(r.start_time_unix_nano))
            }
        };
        if better {
            root = Some((res, s));
        }
    }
    let service = root
        .and_then(|(res, _)| service_name(res))
        .or_else(|| spans.iter().find_map(|(res, _)| service_name(res)))
        .unwrap_or_else(|| UNKNOWN_SERVICE.to_string());
    let start = if start == u64::MAX { 0 } else { start };
    TraceSummary {
        trace_id: otlp::to_hex(id),
        service,
        root_name: root.map(|(_, s)| s.name.clone()).unwrap_or_default(),
        start_unix_nano: start,
        end_unix_nano: end,
        duration_ns: end.saturating_sub(start),
        span_count,
        error_count: errors,
        status: if errors > 0 { "error" } else { "ok" },
    }
}

/// The service a span is shown under when its resource names none (the OpenTelemetry default).
pub const UNKNOWN_SERVICE: &str = "unknown_service";

/// `service.name` of a resource, when set.
pub fn service_name(resource: &[KeyValue]) -> Option<String> {
    otlp::attribute(resource, "service.name").map(otlp::Value::to_text)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A span of trace `[trace; 16]` with id `[id; 8]` under `[parent; 8]` (none when 0), named
    /// `s<id>`.
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

    #[test]
    fn the_root_is_the_earliest_span_without_a_parent_in_the_trace() {
        let res = vec![KeyValue::string("service.name", "svc")];
        // 3's parent 9 never arrived; 1 is the real root, started later than 3.
        let spans = [
            span(1, 3, 9, 5, 50),
            span(1, 1, 0, 10, 100),
            span(1, 2, 1, 20, 30),
        ];
        let refs: Vec<(&[KeyValue], &Span)> = spans.iter().map(|s| (res.as_slice(), s)).collect();
        let s = summarize(&[1; 16], &refs);
        assert_eq!(
            s.root_name, "s3",
            "the earliest of the spans without a parent held"
        );
        assert_eq!(
            (s.start_unix_nano, s.end_unix_nano, s.duration_ns),
            (5, 100, 95)
        );
        assert_eq!(
            (s.service.as_str(), s.span_count, s.status),
            ("svc", 3, "ok")
        );
    }
}
