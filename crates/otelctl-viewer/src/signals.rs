//! Logs and metrics in the viewer: the logs page (filters, live tail), the metrics page (names by
//! service, a chart per metric) and a span's logs on its trace page.
//!
//! The rows are the store's, as its JSON API serialises them (`/api/logs`, `/api/metrics`,
//! `/api/metrics/series`): [`LogRow`] has the fields of `otelctl_store::LogEntry`,
//! [`MetricName`] those of `otelctl_store::MetricName`, so a row read back from the API is a row
//! here, and this crate does not depend on the store. What is computed from a series (rates,
//! percentiles from buckets, the time axis) is the browser's: `assets/js/chart.js`, unit-tested
//! with `node --test`; the server renders everything else (rows, forms, the names), escaped by
//! askama. Log bodies and attributes are whatever a program sent: they are text everywhere.

use std::time::Duration;

use askama::Template;
use serde::{Deserialize, Serialize};

use otelctl_config::error::{Error, Result, Source};
use otelctl_config::formats::{
    duration_text, format_time, parse_duration, parse_time, percent_encode,
};
use otelctl_otlp::logs::SeverityNumber;
use otelctl_otlp::{self as otlp};

use crate::explore::parse_limit;
use crate::waterfall;

/// One stored log record (the fields of the store's `LogEntry`, as `/api/logs` sends them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogRow {
    /// Grows with every record stored: the live tail asks for those after the last it showed.
    pub id: i64,
    pub time_unix_nano: u64,
    pub observed_time_unix_nano: u64,
    pub service: String,
    pub severity_number: i32,
    pub severity_text: String,
    pub body: String,
    pub event_name: String,
    /// 32 hex digits, or empty.
    pub trace_id: String,
    /// 16 hex digits, or empty.
    pub span_id: String,
    pub scope: String,
    /// The record's attributes as a JSON object of text values (`{}` when none).
    pub attributes: String,
    /// The resource's attributes, likewise.
    pub resource: String,
}

/// A metric (by service and name) with its latest point (the fields of the store's
/// `MetricName`, as `/api/metrics` sends them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MetricName {
    pub service: String,
    pub name: String,
    /// `gauge`, `sum`, `histogram`, `exponentialHistogram` or `summary`.
    pub kind: String,
    pub unit: String,
    pub description: String,
    /// `delta` / `cumulative` (sums and histograms).
    pub temporality: Option<String>,
    pub monotonic: Option<bool>,
    /// Attribute sets seen.
    pub series: u64,
    pub points: u64,
    pub latest_time_unix_nano: u64,
    pub latest_value: Option<f64>,
}

/// Most log rows a page shows (and the tail keeps).
pub const MAX_LOG_ROWS: usize = 1000;
/// Log rows shown without `limit`.
pub const DEFAULT_LOG_ROWS: usize = 200;
/// Characters of a body shown in a row; the rest is cut (`otelctl logs --json` has it all).
pub const MAX_BODY_CHARS: usize = 4000;
/// Points per series the metrics page asks for.
pub const SERIES_POINTS: usize = 2000;

fn render(t: &impl Template) -> String {
    t.render().expect("a viewer template renders")
}

fn nanos(d: Duration) -> u64 {
    d.as_nanos().min(u128::from(u64::MAX)) as u64
}

// ---------------------------------------------------------------------------------------------
// Filters

/// Which log records the logs page (and `/api/logs`) shows. Every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogFilter {
    pub service: Option<String>,
    /// At least this severity number (1-24).
    pub min_severity: Option<i32>,
    /// Words that must all appear in the body (whole words, any case: the store's FTS5 index).
    pub text: Option<String>,
    pub trace_id: Option<[u8; 16]>,
    pub span_id: Option<[u8; 8]>,
    pub since: Option<Duration>,
    pub from_unix_nano: Option<u64>,
    pub to_unix_nano: Option<u64>,
    pub limit: Option<usize>,
    /// Only records stored after this id, oldest first (the live tail).
    pub after_id: Option<i64>,
}

fn url_param(name: &str) -> Source {
    Source::Flag(match name {
        "service" => "the URL parameter service",
        "severity" => "the URL parameter severity",
        "grep" | "q" => "the URL parameter grep",
        "trace" => "the URL parameter trace",
        "span" => "the URL parameter span",
        "since" => "the URL parameter since",
        "from" => "the URL parameter from",
        "to" => "the URL parameter to",
        "limit" => "the URL parameter limit",
        "after" => "the URL parameter after",
        "name" => "the URL parameter name",
        _ => "a URL parameter",
    })
}

/// A severity a user names (`warn`, `ERROR`, `warning`, `17`), as its number.
pub fn parse_severity(text: &str, origin: Source) -> Result<i32> {
    SeverityNumber::parse(text).ok_or_else(|| Error::InvalidValue {
        what: "severity",
        value: text.to_string(),
        origin,
        expected: "trace, debug, info, warn, error or fatal (or a number 1-24)".to_string(),
    })
}

/// 32 hex digits, not all zero.
pub fn parse_trace(text: &str, origin: Source) -> Result<[u8; 16]> {
    otlp::parse_trace_id(text).ok_or_else(|| Error::InvalidValue {
        what: "trace id",
        value: text.to_string(),
        origin,
        expected: "32 hex digits".to_string(),
    })
}

/// 16 hex digits, not all zero.
pub fn parse_span(text: &str, origin: Source) -> Result<[u8; 8]> {
    let t = text.trim();
    let mut out = [0u8; 8];
    let ok = t.len() == 16
        && t.is_ascii()
        && (0..8).all(|i| match u8::from_str_radix(&t[2 * i..2 * i + 2], 16) {
            Ok(b) => {
                out[i] = b;
                true
            }
            Err(_) => false,
        })
        && out.iter().any(|b| *b != 0);
    if ok {
        Ok(out)
    } else {
        Err(Error::InvalidValue {
            what: "span id",
            value: text.to_string(),
            origin,
            expected: "16 hex digits".to_string(),
        })
    }
}

impl LogFilter {
    /// Reads the URL form: `service`, `severity` (the least severity shown), `grep` (words of
    /// the body; `q` is the same), `trace`, `span`, `since` (a duration), `from`, `to` (UTC times or Unix
    /// nanoseconds), `limit`, `after` (a record id). Empty values are ignored (an HTML form
    /// sends every field); unknown parameters too.
    pub fn from_query(pairs: &[(String, String)]) -> Result<LogFilter> {
        let mut f = LogFilter::default();
        for (k, v) in pairs {
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            let source = url_param(k);
            match k.as_str() {
                "service" => f.service = Some(v.to_string()),
                "severity" => f.min_severity = Some(parse_severity(v, source)?),
                // `q`: what `otelctl logs` sent first; the same filter.
                "grep" | "q" => f.text = Some(v.to_string()),
                "trace" => f.trace_id = Some(parse_trace(v, source)?),
                "span" => f.span_id = Some(parse_span(v, source)?),
                "since" => f.since = Some(parse_duration(v, "duration", source)?),
                "from" => f.from_unix_nano = Some(parse_time(v, source)?),
                "to" => f.to_unix_nano = Some(parse_time(v, source)?),
                "limit" => f.limit = Some(parse_limit(v, source)?),
                "after" => {
                    f.after_id = Some(v.parse::<i64>().map_err(|_| Error::InvalidValue {
                        what: "record id",
                        value: v.to_string(),
                        origin: source,
                        expected: "a whole number".to_string(),
                    })?)
                }
                _ => {}
            }
        }
        Ok(f)
    }

    /// The URL form of this filter (what [`LogFilter::from_query`] reads), without `?` and
    /// without `after`.
    pub fn to_query(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut add = |k: &str, v: String| parts.push(format!("{k}={}", percent_encode(&v)));
        if let Some(s) = &self.service {
            add("service", s.clone());
        }
        if let Some(n) = self.min_severity {
            add("severity", severity_param(n));
        }
        if let Some(t) = &self.text {
            add("grep", t.clone());
        }
        if let Some(t) = &self.trace_id {
            add("trace", otlp::to_hex(t));
        }
        if let Some(s) = &self.span_id {
            add("span", otlp::to_hex(s));
        }
        if let Some(d) = self.since {
            add("since", duration_text(d));
        }
        if let Some(t) = self.from_unix_nano {
            add("from", t.to_string());
        }
        if let Some(t) = self.to_unix_nano {
            add("to", t.to_string());
        }
        if let Some(l) = self.limit {
            add("limit", l.to_string());
        }
        parts.join("&")
    }

    /// The earliest time shown: the later of `from` and `now - since`.
    pub fn since_unix_nano(&self, now_unix_nano: u64) -> Option<u64> {
        let since = self.since.map(|d| now_unix_nano.saturating_sub(nanos(d)));
        match (since, self.from_unix_nano) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// How many rows a page shows (at most [`MAX_LOG_ROWS`]).
    pub fn row_limit(&self) -> usize {
        self.api_limit().min(MAX_LOG_ROWS)
    }

    /// How many records `/api/logs` answers with (at most `explore::MAX_LIMIT`).
    pub fn api_limit(&self) -> usize {
        self.limit.unwrap_or(DEFAULT_LOG_ROWS)
    }

    /// Whether no condition is set (the limit aside).
    pub fn is_empty(&self) -> bool {
        LogFilter {
            limit: None,
            after_id: None,
            ..self.clone()
        } == LogFilter::default()
    }

    /// Whether `row` meets every condition but the text (the store's FTS5 index decides that)
    /// and the relative time. For callers that hold rows already (a trace's logs).
    pub fn matches_row(&self, row: &LogRow) -> bool {
        self.service.as_ref().is_none_or(|s| *s == row.service)
            && self.min_severity.is_none_or(|n| row.severity_number >= n)
            && self
                .trace_id
                .is_none_or(|t| otlp::to_hex(&t) == row.trace_id)
            && self.span_id.is_none_or(|s| otlp::to_hex(&s) == row.span_id)
            && self.from_unix_nano.is_none_or(|t| row.time_unix_nano >= t)
            && self.to_unix_nano.is_none_or(|t| row.time_unix_nano <= t)
            && self.after_id.is_none_or(|id| row.id > id)
    }
}

/// The name a severity filter is written with in URLs: its range's short name for the first
/// number of a range (`error` for 17), else the number.
fn severity_param(n: i32) -> String {
    match n {
        1 | 5 | 9 | 13 | 17 | 21 => SeverityNumber::short_name(n).to_ascii_lowercase(),
        _ => n.to_string(),
    }
}

/// Which metrics the metrics page shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricFilter {
    pub service: Option<String>,
    /// Only this metric's chart.
    pub name: Option<String>,
    pub since: Option<Duration>,
    pub from_unix_nano: Option<u64>,
}

impl MetricFilter {
    /// Reads `service`, `name`, `since` (a duration) and `from` (a UTC time or Unix
    /// nanoseconds); empty and unknown parameters are ignored.
    pub fn from_query(pairs: &[(String, String)]) -> Result<MetricFilter> {
        let mut f = MetricFilter::default();
        for (k, v) in pairs {
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            match k.as_str() {
                "service" => f.service = Some(v.to_string()),
                "name" => f.name = Some(v.to_string()),
                "since" => f.since = Some(parse_duration(v, "duration", url_param(k))?),
                "from" => f.from_unix_nano = Some(parse_time(v, url_param(k))?),
                _ => {}
            }
        }
        Ok(f)
    }

    /// The earliest point shown: the later of `from` and `now - since`.
    pub fn since_unix_nano(&self, now_unix_nano: u64) -> Option<u64> {
        let since = self.since.map(|d| now_unix_nano.saturating_sub(nanos(d)));
        match (since, self.from_unix_nano) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Rows

/// A UTC time with milliseconds: `2026-12-08 02:10:33.123`.
pub fn format_time_ms(unix_nano: u64) -> String {
    format!(
        "{}.{:03}",
        format_time(unix_nano),
        unix_nano / 1_000_000 % 1000
    )
}

/// The severity's class (`trace` … `fatal`, `unspecified`), for its colour.
pub fn severity_class(n: i32) -> &'static str {
    match n {
        1..=4 => "trace",
        5..=8 => "debug",
        9..=12 => "info",
        13..=16 => "warn",
        17..=20 => "error",
        21..=24 => "fatal",
        _ => "unspecified",
    }
}

/// A JSON object of attributes (as the store keeps them) as `(key, text)` pairs, in order.
/// Anything else (not JSON, not an object) is shown as one unnamed value.
pub fn attribute_pairs(json: &str) -> Vec<(String, String)> {
    let t = json.trim();
    if t.is_empty() || t == "{}" {
        return Vec::new();
    }
    match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(t) {
        Ok(map) => map
            .into_iter()
            .map(|(k, v)| {
                let text = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, text)
            })
            .collect(),
        Err(_) => vec![(String::new(), t.to_string())],
    }
}

struct LogRowView<'a> {
    id: i64,
    time: String,
    time_ns: u64,
    service: &'a str,
    colour: String,
    sev_class: &'static str,
    severity: String,
    body: String,
    cut: usize,
    event_name: &'a str,
    trace: &'a str,
    span: &'a str,
    scope: &'a str,
    attrs: Vec<(String, String)>,
}

fn row_view(r: &LogRow) -> LogRowView<'_> {
    let (body, cut) = match r.body.char_indices().nth(MAX_BODY_CHARS) {
        Some((at, _)) => (r.body[..at].to_string(), r.body[at..].chars().count()),
        None => (r.body.clone(), 0),
    };
    LogRowView {
        id: r.id,
        time: format_time_ms(r.time_unix_nano),
        time_ns: r.time_unix_nano,
        service: &r.service,
        colour: waterfall::service_colour(&r.service),
        sev_class: severity_class(r.severity_number),
        severity: if r.severity_text.is_empty() {
            SeverityNumber::short_name(r.severity_number).to_string()
        } else {
            r.severity_text.clone()
        },
        body,
        cut,
        event_name: &r.event_name,
        trace: &r.trace_id,
        span: &r.span_id,
        scope: &r.scope,
        attrs: attribute_pairs(&r.attributes),
    }
}

#[derive(Template)]
#[template(path = "log_rows.html")]
struct LogRows<'a> {
    rows: Vec<LogRowView<'a>>,
}

/// Table rows (`<tr class="log">`) for `rows`, in the order given: what the live tail adds.
pub fn log_rows(rows: &[LogRow]) -> String {
    render(&LogRows {
        rows: rows.iter().map(row_view).collect(),
    })
}

// ---------------------------------------------------------------------------------------------
// The logs page

/// What the logs page shows, gathered by the viewer.
pub struct LogsData<'a> {
    pub filter: &'a LogFilter,
    /// Why the filter in the URL was not understood (the page answers 400).
    pub problem: Option<String>,
    /// Services that sent logs, for the form.
    pub services: &'a [String],
    /// Records stored in all.
    pub stored: u64,
    /// The matching records, newest first (at most the filter's limit).
    pub rows: &'a [LogRow],
}

#[derive(Template)]
#[template(path = "logs.html")]
struct LogsPage<'a> {
    service: &'a str,
    grep: &'a str,
    trace: String,
    span: String,
    since: String,
    from: String,
    to: String,
    limit: Option<usize>,
    severities: Vec<(&'static str, bool)>,
    services: &'a [String],
    problem: Option<&'a str>,
    stored: u64,
    shown: usize,
    full: bool,
    filtered: bool,
    last_id: i64,
    limit_rows: usize,
    rows: String,
}

/// The logs page's fragment: the filter form, how many records show, and their rows, newest
/// first. `<tbody id="log-rows" data-last-id>` is where the live tail adds newer rows.
pub fn logs_fragment(d: &LogsData) -> String {
    let f = d.filter;
    let time = |t: Option<u64>| t.map(format_time).unwrap_or_default();
    render(&LogsPage {
        service: f.service.as_deref().unwrap_or(""),
        grep: f.text.as_deref().unwrap_or(""),
        trace: f.trace_id.map(|t| otlp::to_hex(&t)).unwrap_or_default(),
        span: f.span_id.map(|s| otlp::to_hex(&s)).unwrap_or_default(),
        since: f.since.map(duration_text).unwrap_or_default(),
        from: time(f.from_unix_nano),
        to: time(f.to_unix_nano),
        limit: f.limit,
        severities: [
            ("trace", 1),
            ("debug", 5),
            ("info", 9),
            ("warn", 13),
            ("error", 17),
            ("fatal", 21),
        ]
        .into_iter()
        .map(|(name, n)| (name, f.min_severity == Some(n)))
        .collect(),
        services: d.services,
        problem: d.problem.as_deref(),
        stored: d.stored,
        shown: d.rows.len(),
        full: d.rows.len() >= f.row_limit(),
        filtered: !f.is_empty(),
        last_id: d.rows.iter().map(|r| r.id).max().unwrap_or(0),
        limit_rows: f.row_limit(),
        rows: log_rows(d.rows),
    })
}

/// The link to the logs of a trace, or of one span of it.
pub fn logs_href(trace_hex: &str, span_hex: Option<&str>) -> String {
    match span_hex {
        Some(s) => format!(
            "/logs?trace={}&span={}",
            percent_encode(trace_hex),
            percent_encode(s)
        ),
        None => format!("/logs?trace={}", percent_encode(trace_hex)),
    }
}

// ---------------------------------------------------------------------------------------------
// A span's logs on its trace page

#[derive(Template)]
#[template(path = "span_logs.html")]
struct SpanLogs {
    count: usize,
    href: String,
    rows: Vec<(String, &'static str, String, String)>,
    more: usize,
}

/// Most of a span's logs listed in its details; the link shows them all.
pub const MAX_SPAN_LOGS: usize = 50;

/// A span's logs for its details panel: time from the trace's start, severity, body (cut at 300
/// characters), and a link to the logs page filtered to the span. Empty when it has none.
pub fn span_logs(trace_hex: &str, span_hex: &str, trace_start: u64, logs: &[&LogRow]) -> String {
    if logs.is_empty() {
        return String::new();
    }
    let mut sorted: Vec<&LogRow> = logs.to_vec();
    sorted.sort_by_key(|r| (r.time_unix_nano, r.id));
    render(&SpanLogs {
        count: sorted.len(),
        href: logs_href(trace_hex, Some(span_hex)),
        more: sorted.len().saturating_sub(MAX_SPAN_LOGS),
        rows: sorted
            .iter()
            .take(MAX_SPAN_LOGS)
            .map(|r| {
                let body: String = r.body.chars().take(300).collect();
                (
                    format!(
                        "+{}",
                        otelctl_config::formats::format_duration(
                            r.time_unix_nano.saturating_sub(trace_start)
                        )
                    ),
                    severity_class(r.severity_number),
                    if r.severity_text.is_empty() {
                        SeverityNumber::short_name(r.severity_number).to_string()
                    } else {
                        r.severity_text.clone()
                    },
                    body,
                )
            })
            .collect(),
    })
}

/// Where a span's logs sit on its bar: for each log (in time order), its offset along the bar
/// from 0 (the span's start) to 1 (its end), clamped, with its severity's class. Logs outside
/// the span (clock skew, a log after `end`) sit at the nearer end.
pub fn log_marks(span_start: u64, span_end: u64, logs: &[&LogRow]) -> Vec<(f64, &'static str)> {
    let len = span_end.saturating_sub(span_start);
    let mut out: Vec<(f64, &'static str)> = logs
        .iter()
        .map(|r| {
            let at = if len == 0 {
                0.0
            } else {
                (r.time_unix_nano.saturating_sub(span_start) as f64 / len as f64).clamp(0.0, 1.0)
            };
            (at, severity_class(r.severity_number))
        })
        .collect();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// The marks of a trace's logs on its waterfall's rows: `(row, offset from `start` in ns,
/// severity class)` for each record whose span is a row (`row_sids`: each row's span id, hex),
/// by row then time. Records of spans the trace does not hold, or without a span id, have no
/// bar to sit on.
pub fn log_marks_by_row<'a>(
    row_sids: impl Iterator<Item = &'a str>,
    start: u64,
    logs: &[LogRow],
) -> Vec<(usize, u64, &'static str)> {
    let by = by_span(logs);
    let mut out = Vec::new();
    for (row, sid) in row_sids.enumerate() {
        if let Some(list) = by.get(sid) {
            let mut marks: Vec<(usize, u64, &'static str)> = list
                .iter()
                .map(|r| {
                    (
                        row,
                        r.time_unix_nano.saturating_sub(start),
                        severity_class(r.severity_number),
                    )
                })
                .collect();
            marks.sort_by_key(|m| m.1);
            out.extend(marks);
        }
    }
    out
}

/// A trace's logs grouped by span id (hex); logs without a span id are under `""`.
pub fn by_span(logs: &[LogRow]) -> std::collections::HashMap<&str, Vec<&LogRow>> {
    let mut map: std::collections::HashMap<&str, Vec<&LogRow>> = Default::default();
    for r in logs {
        map.entry(r.span_id.as_str()).or_default().push(r);
    }
    map
}

// ---------------------------------------------------------------------------------------------
// The metrics page

/// What the metrics page shows, gathered by the viewer.
pub struct MetricsData<'a> {
    pub filter: &'a MetricFilter,
    pub problem: Option<String>,
    /// Services that sent metrics, for the form.
    pub services: &'a [String],
    /// The metrics shown, sorted by service and name.
    pub names: &'a [MetricName],
}

struct MetricView<'a> {
    service: &'a str,
    name: &'a str,
    kind: &'a str,
    what: &'static str,
    unit: &'a str,
    description: &'a str,
    temporality: &'a str,
    monotonic: &'static str,
    series: u64,
    points: u64,
    latest_what: &'static str,
    latest: String,
    latest_time: String,
    src: String,
    href: String,
}

#[derive(Template)]
#[template(path = "metrics.html")]
struct MetricsPage<'a> {
    service: &'a str,
    name: &'a str,
    since: String,
    services: &'a [String],
    problem: Option<&'a str>,
    groups: Vec<(&'a str, String, Vec<MetricView<'a>>)>,
    count: usize,
}

/// What a chart of this kind of metric shows.
pub fn chart_of(kind: &str, monotonic: Option<bool>) -> &'static str {
    match (kind, monotonic) {
        ("sum", Some(true)) => "rate per second",
        ("sum", _) => "value",
        ("gauge", _) => "value",
        ("histogram" | "exponentialHistogram", _) => "p50 / p95 / p99",
        ("summary", _) => "quantiles",
        _ => "value",
    }
}

/// A number for people: up to 4 significant digits, `k`/`M`/`G` above 10,000.
pub fn format_value(v: f64) -> String {
    let a = v.abs();
    let (n, suffix) = if a >= 1e10 {
        (v / 1e9, "G")
    } else if a >= 1e7 {
        (v / 1e6, "M")
    } else if a >= 1e4 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let text = if n == n.trunc() && n.abs() < 1e4 {
        format!("{n:.0}")
    } else if n.abs() >= 100.0 {
        format!("{n:.1}")
    } else if n.abs() >= 1.0 {
        format!("{n:.2}")
    } else {
        format!("{n:.4}")
    };
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    format!("{text}{suffix}")
}

/// The metrics page's fragment: the form, then per service its metrics, each with what its
/// chart shows and a `<figure class="chart" data-src>` that `metrics.js` draws from the series.
pub fn metrics_fragment(d: &MetricsData) -> String {
    let f = d.filter;
    let since = f.since.map(duration_text).unwrap_or_default();
    let mut groups: Vec<(&str, String, Vec<MetricView>)> = Vec::new();
    for m in d.names {
        let mut src = format!(
            "/api/metrics/series?name={}&service={}&limit={SERIES_POINTS}",
            percent_encode(&m.name),
            percent_encode(&m.service)
        );
        if !since.is_empty() {
            src.push_str(&format!("&since={since}"));
        }
        if let Some(t) = f.from_unix_nano {
            src.push_str(&format!("&from={t}"));
        }
        let view = MetricView {
            service: &m.service,
            name: &m.name,
            kind: &m.kind,
            what: chart_of(&m.kind, m.monotonic),
            unit: &m.unit,
            description: &m.description,
            temporality: m.temporality.as_deref().unwrap_or(""),
            monotonic: match m.monotonic {
                Some(true) => "true",
                Some(false) => "false",
                None => "",
            },
            series: m.series,
            points: m.points,
            latest_what: match m.kind.as_str() {
                "histogram" | "exponentialHistogram" | "summary" => "latest sum",
                _ => "latest",
            },
            latest: m
                .latest_value
                .map(|v| format!("{}{}", format_value(v), unit_suffix(&m.unit)))
                .unwrap_or_else(|| "–".into()),
            latest_time: format_time(m.latest_time_unix_nano),
            src,
            href: format!(
                "/metrics?service={}&name={}",
                percent_encode(&m.service),
                percent_encode(&m.name)
            ),
        };
        match groups.last_mut() {
            Some((svc, _, list)) if *svc == m.service => list.push(view),
            _ => groups.push((
                &m.service,
                waterfall::service_colour(&m.service),
                vec![view],
            )),
        }
    }
    render(&MetricsPage {
        service: f.service.as_deref().unwrap_or(""),
        name: f.name.as_deref().unwrap_or(""),
        since,
        services: d.services,
        problem: d.problem.as_deref(),
        count: d.names.len(),
        groups,
    })
}

/// ` ms` for unit `ms`; nothing for `1` or an annotation such as `{request}`.
fn unit_suffix(unit: &str) -> String {
    if unit.is_empty() || unit == "1" || unit.starts_with('{') {
        String::new()
    } else {
        format!(" {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
        q.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn row(id: i64, body: &str) -> LogRow {
        LogRow {
            id,
            time_unix_nano: 1_765_000_000_123_000_000 + id as u64,
            service: "web".into(),
            severity_number: 17,
            body: body.into(),
            trace_id: "0102030405060708090a0b0c0d0e0f10".into(),
            span_id: "0102030405060708".into(),
            attributes: r#"{"http.method":"GET","n":"3"}"#.into(),
            resource: "{}".into(),
            ..LogRow::default()
        }
    }

    #[test]
    fn the_log_filter_reads_its_url_and_writes_it_back() {
        let f = LogFilter::from_query(&pairs(&[
            ("service", "web"),
            ("severity", "WARNING"),
            ("grep", "connection refused"),
            ("trace", "0102030405060708090A0B0C0D0E0F10"),
            ("span", "0102030405060708"),
            ("since", "15m"),
            ("from", "2026-12-08 01:00"),
            ("limit", "50"),
            ("after", "7"),
            ("name", ""),
            ("other", "x"),
        ]))
        .unwrap();
        assert_eq!(f.min_severity, Some(13));
        assert_eq!(f.text.as_deref(), Some("connection refused"));
        assert_eq!(f.span_id, Some([1, 2, 3, 4, 5, 6, 7, 8]));
        assert_eq!(f.after_id, Some(7));
        let q = f.to_query();
        assert_eq!(
            q,
            "service=web&severity=warn&grep=connection%20refused&trace=0102030405060708090a0b0c0d0e0f10&span=0102030405060708&since=15m&from=1796691600000000000&limit=50"
        );
        let mut back = LogFilter::from_query(
            &q.split('&')
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap();
                    (
                        k.to_string(),
                        otelctl_config::formats::percent_decode(v).unwrap(),
                    )
                })
                .collect::<Vec<_>>(),
        )
        .unwrap();
        back.after_id = Some(7);
        assert_eq!(back, f);
        // The later of from and now - since.
        let now = 1_796_691_600_000_000_000 + 3600 * 1_000_000_000;
        assert_eq!(f.since_unix_nano(now), Some(now - 15 * 60 * 1_000_000_000));
    }

    #[test]
    fn a_bad_log_filter_names_the_parameter() {
        for (k, v) in [
            ("severity", "loud"),
            ("trace", "xyz"),
            ("span", "0000000000000000"),
            ("since", "soon"),
            ("limit", "0"),
            ("after", "x"),
        ] {
            let e = LogFilter::from_query(&pairs(&[(k, v)])).unwrap_err();
            assert!(e.to_string().contains(k), "{k}: {e}");
        }
        let big = LogFilter::from_query(&pairs(&[("limit", "5000")])).unwrap();
        assert_eq!((big.row_limit(), big.api_limit()), (MAX_LOG_ROWS, 5000));
        let m = MetricFilter::from_query(&pairs(&[("from", "100"), ("since", "1s")])).unwrap();
        assert_eq!(m.since_unix_nano(50), Some(100));
        assert_eq!(m.since_unix_nano(2_000_000_000), Some(1_000_000_000));
    }

    #[test]
    fn a_log_body_is_text_wherever_it_shows() {
        let mut r = row(1, "<script>alert(1)</script>");
        r.attributes = r#"{"<k>":"\"><img src=x onerror=alert(2)>"}"#.into();
        r.service = "<svc>".into();
        r.severity_text = "<b>".into();
        r.scope = "\"scope".into();
        r.event_name = "<ev>".into();
        let f = LogFilter {
            text: Some("\"><script>".into()),
            ..Default::default()
        };
        let html = logs_fragment(&LogsData {
            filter: &f,
            problem: Some("<bad>".into()),
            services: &["<s>".to_string()],
            stored: 1,
            rows: std::slice::from_ref(&r),
        });
        for raw in [
            "<script>", "<img", "<svc>", "<b>", "<bad>", "<k>", "<s>", "<ev>",
        ] {
            assert!(!html.contains(raw), "{raw} in {html}");
        }
        assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
        assert!(html.contains(r#"data-last-id="1""#));
        let refs = vec![&r];
        let block = span_logs("01", "02", 0, &refs);
        assert!(
            !block.contains("<script>") && !block.contains("<b>"),
            "{block}"
        );
    }

    #[test]
    fn rows_link_to_their_span_and_say_their_severity() {
        let mut plain = row(2, "no trace");
        plain.trace_id.clear();
        plain.span_id.clear();
        plain.severity_number = 9;
        let html = log_rows(&[row(3, "with trace"), plain]);
        assert_eq!(html.matches("<tr class=\"log").count(), 2);
        assert!(html
            .contains(r#"href="/trace/0102030405060708090a0b0c0d0e0f10?span=0102030405060708""#));
        assert!(html.contains("sev-error") && html.contains("sev-info"));
        assert!(html.contains(">ERROR<") && html.contains(">INFO<"));
        assert!(html.contains("2025-12-06 05:46:40.123"), "{html}");
        assert_eq!(html.matches("/trace/").count(), 1);
        assert!(html.contains("http.method") && html.contains("GET"));
    }

    #[test]
    fn a_long_body_is_cut_and_says_how_much() {
        let long = "é".repeat(MAX_BODY_CHARS + 10);
        let html = log_rows(&[row(1, &long)]);
        assert!(
            html.contains("10 more characters"),
            "{}",
            &html[html.len() - 300..]
        );
    }

    #[test]
    fn log_marks_follow_the_rows() {
        let mut a = row(1, "a");
        a.time_unix_nano = 150;
        let mut b = row(2, "b");
        b.time_unix_nano = 120;
        b.severity_number = 13;
        let mut c = row(3, "c");
        c.span_id = "0909090909090909".into();
        let marks = log_marks_by_row(
            ["ffffffffffffffff", "0102030405060708"].into_iter(),
            100,
            &[a, b, c],
        );
        assert_eq!(marks, vec![(1, 20, "warn"), (1, 50, "error")]);
    }

    #[test]
    fn span_logs_sit_on_their_bar_and_link_to_the_logs_page() {
        let mut a = row(1, "first");
        a.time_unix_nano = 150;
        let mut b = row(2, "second");
        b.time_unix_nano = 500;
        b.severity_number = 9;
        let logs = vec![&b, &a];
        let marks = log_marks(100, 300, &logs);
        assert_eq!(marks, vec![(0.25, "error"), (1.0, "info")]);
        assert_eq!(log_marks(100, 100, &logs)[0].0, 0.0);
        let html = span_logs("ab", "cd", 100, &logs);
        assert!(
            html.contains(r#"href="/logs?trace=ab&#38;span=cd""#),
            "{html}"
        );
        assert!(html.find("first").unwrap() < html.find("second").unwrap());
        let all = [a.clone(), b.clone()];
        assert_eq!(by_span(&all)["0102030405060708"].len(), 2);
        let f = LogFilter {
            min_severity: Some(17),
            ..Default::default()
        };
        assert!(f.matches_row(&a) && !f.matches_row(&b));
    }

    #[test]
    fn the_metrics_page_groups_by_service_and_escapes() {
        let names = vec![
            MetricName {
                service: "api".into(),
                name: "http.server.request.duration".into(),
                kind: "histogram".into(),
                unit: "s".into(),
                temporality: Some("cumulative".into()),
                series: 2,
                points: 10,
                latest_value: Some(12.5),
                ..Default::default()
            },
            MetricName {
                service: "api".into(),
                name: "<requests>".into(),
                kind: "sum".into(),
                unit: "{request}".into(),
                monotonic: Some(true),
                latest_value: Some(12345.0),
                ..Default::default()
            },
            MetricName {
                service: "\"worker".into(),
                name: "queue".into(),
                kind: "gauge".into(),
                ..Default::default()
            },
        ];
        let f = MetricFilter {
            since: Some(Duration::from_secs(3600)),
            ..Default::default()
        };
        let html = metrics_fragment(&MetricsData {
            filter: &f,
            problem: None,
            services: &[],
            names: &names,
        });
        assert_eq!(html.matches("<section class=\"metric\"").count(), 3);
        assert_eq!(html.matches("<h2 class=\"service\"").count(), 2);
        assert!(!html.contains("<requests>") && !html.contains("\"worker"));
        assert!(html.contains("rate per second") && html.contains("p50 / p95 / p99"));
        assert!(html.contains(
            "data-src=\"/api/metrics/series?name=%3Crequests%3E&#38;service=api&#38;limit=2000&#38;since=1h\""
        ), "{html}");
        assert!(html.contains("12.35k"), "{html}");
        assert!(html.contains("12.5 s"));
    }

    #[test]
    fn values_read_well() {
        assert_eq!(format_value(0.0), "0");
        assert_eq!(format_value(3.0), "3");
        assert_eq!(format_value(0.12345), "0.1235");
        assert_eq!(format_value(12.5), "12.5");
        assert_eq!(format_value(250.26), "250.3");
        assert_eq!(format_value(12345.0), "12.35k");
        assert_eq!(format_value(-2.5e7), "-25M");
        assert_eq!(format_value(3e10), "30G");
    }
}
