//! The viewer's logs and metrics routes: the logs page (and the rows its live tail adds), the
//! metrics page, and their JSON API (what `otelctl logs` and `otelctl metrics` read). Each answer
//! is one or two indexed queries on the store ([`otelctl_store`]); the pages are
//! `otelctl_viewer::signals`'.
//!
//! | route | answer |
//! |---|---|
//! | `GET /logs?service=&severity=&grep=&trace=&span=&since=&from=&to=&limit=` | the logs page: matching records, newest first |
//! | `GET /fragment/logs?…` | the same without the page shell (live updates) |
//! | `GET /fragment/logs/rows?…&after=<id>` | rows of the records stored after `<id>`, newest first (the live tail) |
//! | `GET /api/logs?…[&after=<id>]` | `{"logs":[LogEntry]}`: newest first, or with `after` oldest first |
//! | `GET /metrics?service=&name=&since=` | the metrics page: names by service, a chart per metric |
//! | `GET /fragment/metrics?…` | the same without the page shell |
//! | `GET /api/metrics?service=&since=` | `{"metrics":[MetricName]}` |
//! | `GET /api/metrics/series?name=&service=&since=&limit=` | `{"series":[Series]}`, at most `limit` points each (default 2,000, the newest) |
//!
//! A parameter that is not understood is a `400` naming it (the pages show the problem above
//! an unfiltered page).

use serde::Serialize;

use otelctl_config::error::Source;
use otelctl_store::{LogEntry, LogQuery, Store};
use otelctl_viewer::explore::parse_limit;
use otelctl_viewer::pages;
use otelctl_viewer::signals::{
    self, LogFilter, LogRow, LogsData, MetricFilter, MetricName, MetricsData, SERIES_POINTS,
};

use super::server::{Reply, Request};
use super::viewer::{html_reply, json_reply, now_unix_nano};

/// Most services offered in a form.
const MAX_SERVICES: usize = 200;
/// Most log records of one trace read for its trace page.
pub const MAX_TRACE_LOGS: usize = 5_000;

/// The answer to a logs or metrics route, or `None` when `req` is for another route.
pub(crate) fn route(store: &Store, req: &Request) -> Option<Reply> {
    if req.method != "GET" {
        return None;
    }
    Some(match req.path.as_str() {
        "/logs" => {
            let (status, fragment) = logs_fragment(store, &req.query_pairs());
            html_reply(
                status,
                pages::page("otelctl · logs", "logs", None, "logs", &fragment),
            )
        }
        "/fragment/logs" => {
            let (status, fragment) = logs_fragment(store, &req.query_pairs());
            html_reply(status, fragment)
        }
        "/fragment/logs/rows" => tail_rows(store, &req.query_pairs()),
        "/api/logs" => api_logs(store, &req.query_pairs()),
        "/metrics" => {
            let (status, fragment) = metrics_fragment(store, &req.query_pairs());
            html_reply(
                status,
                pages::page("otelctl · metrics", "metrics", None, "metrics", &fragment),
            )
        }
        "/fragment/metrics" => {
            let (status, fragment) = metrics_fragment(store, &req.query_pairs());
            html_reply(status, fragment)
        }
        "/api/metrics" => api_metrics(store, &req.query_pairs()),
        "/api/metrics/series" => api_series(store, &req.query_pairs()),
        _ => return None,
    })
}

fn unreadable(e: impl std::fmt::Display) -> String {
    format!("The store could not be read: {e}")
}

/// A stored record as the pages take it (the same fields).
pub fn log_row(e: LogEntry) -> LogRow {
    LogRow {
        id: e.id,
        time_unix_nano: e.time_unix_nano,
        observed_time_unix_nano: e.observed_time_unix_nano,
        service: e.service,
        severity_number: e.severity_number,
        severity_text: e.severity_text,
        body: e.body,
        event_name: e.event_name,
        trace_id: e.trace_id,
        span_id: e.span_id,
        scope: e.scope,
        attributes: e.attributes,
        resource: e.resource,
    }
}

fn metric_name(m: otelctl_store::MetricName) -> MetricName {
    MetricName {
        service: m.service,
        name: m.name,
        kind: m.kind,
        unit: m.unit,
        description: m.description,
        temporality: m.temporality,
        monotonic: m.monotonic,
        series: m.series,
        points: m.points,
        latest_time_unix_nano: m.latest_time_unix_nano,
        latest_value: m.latest_value,
    }
}

/// The store's query for a filter.
pub fn log_query(f: &LogFilter, now_unix_nano: u64) -> LogQuery {
    LogQuery {
        service: f.service.clone(),
        min_severity: f.min_severity,
        text: f.text.clone(),
        trace_id: f.trace_id,
        span_id: f.span_id,
        since_unix_nano: f.since_unix_nano(now_unix_nano),
        until_unix_nano: f.to_unix_nano,
        after_id: f.after_id,
        limit: f.row_limit(),
    }
}

/// A trace's log records, or one span's (at most [`MAX_TRACE_LOGS`], the newest), for its
/// trace page. A store that cannot be read gives none (the page shows the spans anyway).
pub fn trace_logs(store: &Store, trace_id: &[u8; 16], span_id: Option<[u8; 8]>) -> Vec<LogRow> {
    let q = LogQuery {
        trace_id: Some(*trace_id),
        span_id,
        limit: MAX_TRACE_LOGS,
        ..LogQuery::default()
    };
    store
        .logs(&q)
        .map(|rows| rows.into_iter().map(log_row).collect())
        .unwrap_or_default()
}

fn logs_fragment(store: &Store, pairs: &[(String, String)]) -> (u16, String) {
    let (filter, problem) = match LogFilter::from_query(pairs) {
        Ok(f) => (
            LogFilter {
                // A page shows the newest; `after` is the tail's.
                after_id: None,
                ..f
            },
            None,
        ),
        Err(e) => (LogFilter::default(), Some(e.to_string())),
    };
    let gathered = (|| -> otelctl_config::Result<_> {
        let rows = store.logs(&log_query(&filter, now_unix_nano()))?;
        Ok((store.log_services(MAX_SERVICES)?, store.log_count()?, rows))
    })();
    let (services, stored, rows) = match gathered {
        Ok(g) => g,
        Err(e) => return (503, pages::message(None, &unreadable(e), true)),
    };
    let rows: Vec<LogRow> = rows.into_iter().map(log_row).collect();
    let html = signals::logs_fragment(&LogsData {
        filter: &filter,
        problem: problem.clone(),
        services: &services,
        stored,
        rows: &rows,
    });
    (if problem.is_some() { 400 } else { 200 }, html)
}

fn tail_rows(store: &Store, pairs: &[(String, String)]) -> Reply {
    let filter = match LogFilter::from_query(pairs) {
        Ok(f) => f,
        Err(e) => return Reply::text(400, format!("{e}\n")),
    };
    let filter = LogFilter {
        after_id: Some(filter.after_id.unwrap_or(0)),
        ..filter
    };
    match store.logs(&log_query(&filter, now_unix_nano())) {
        Ok(rows) => {
            // Oldest first from the store; the page shows newest first.
            let rows: Vec<LogRow> = rows.into_iter().rev().map(log_row).collect();
            html_reply(200, signals::log_rows(&rows))
        }
        Err(e) => Reply::text(503, format!("{}\n", unreadable(e))),
    }
}

fn api_logs(store: &Store, pairs: &[(String, String)]) -> Reply {
    let filter = match LogFilter::from_query(pairs) {
        Ok(f) => f,
        Err(e) => return Reply::text(400, format!("{e}\n")),
    };
    #[derive(Serialize)]
    struct Out {
        logs: Vec<LogEntry>,
    }
    let q = LogQuery {
        limit: filter.api_limit(),
        ..log_query(&filter, now_unix_nano())
    };
    match store.logs(&q) {
        Ok(logs) => json_reply(&Out { logs }),
        Err(e) => Reply::text(503, format!("{}\n", unreadable(e))),
    }
}

fn metric_filter(pairs: &[(String, String)]) -> (MetricFilter, Option<String>) {
    match MetricFilter::from_query(pairs) {
        Ok(f) => (f, None),
        Err(e) => (MetricFilter::default(), Some(e.to_string())),
    }
}

fn metrics_fragment(store: &Store, pairs: &[(String, String)]) -> (u16, String) {
    let (filter, problem) = metric_filter(pairs);
    let now = now_unix_nano();
    let gathered = (|| -> otelctl_config::Result<_> {
        let all = store.metric_names(None, None)?;
        let shown = store.metric_names(filter.service.as_deref(), filter.since_unix_nano(now))?;
        Ok((all, shown))
    })();
    let (all, shown) = match gathered {
        Ok(g) => g,
        Err(e) => return (503, pages::message(None, &unreadable(e), true)),
    };
    let mut services: Vec<String> = all.into_iter().map(|m| m.service).collect();
    services.dedup();
    services.truncate(MAX_SERVICES);
    let names: Vec<MetricName> = shown
        .into_iter()
        .filter(|m| filter.name.as_ref().is_none_or(|n| *n == m.name))
        .map(metric_name)
        .collect();
    let html = signals::metrics_fragment(&MetricsData {
        filter: &filter,
        problem: problem.clone(),
        services: &services,
        names: &names,
    });
    (if problem.is_some() { 400 } else { 200 }, html)
}

fn api_metrics(store: &Store, pairs: &[(String, String)]) -> Reply {
    let (filter, problem) = metric_filter(pairs);
    if let Some(p) = problem {
        return Reply::text(400, format!("{p}\n"));
    }
    #[derive(Serialize)]
    struct Out {
        metrics: Vec<otelctl_store::MetricName>,
    }
    match store.metric_names(
        filter.service.as_deref(),
        filter.since_unix_nano(now_unix_nano()),
    ) {
        Ok(metrics) => json_reply(&Out {
            metrics: metrics
                .into_iter()
                .filter(|m| filter.name.as_ref().is_none_or(|n| *n == m.name))
                .collect(),
        }),
        Err(e) => Reply::text(503, format!("{}\n", unreadable(e))),
    }
}

fn api_series(store: &Store, pairs: &[(String, String)]) -> Reply {
    let (filter, problem) = metric_filter(pairs);
    if let Some(p) = problem {
        return Reply::text(400, format!("{p}\n"));
    }
    let Some(name) = filter.name.as_deref() else {
        return Reply::text(
            400,
            "the URL parameter name (a metric's name) is required\n",
        );
    };
    let limit = match pairs
        .iter()
        .rev()
        .find(|(k, v)| k == "limit" && !v.trim().is_empty())
    {
        None => SERIES_POINTS,
        Some((_, v)) => match parse_limit(v, Source::Flag("the URL parameter limit")) {
            Ok(n) => n,
            Err(e) => return Reply::text(400, format!("{e}\n")),
        },
    };
    #[derive(Serialize)]
    struct Out {
        series: Vec<otelctl_store::Series>,
    }
    match store.metric_series(
        name,
        filter.service.as_deref(),
        filter.since_unix_nano(now_unix_nano()),
        limit,
    ) {
        Ok(series) => json_reply(&Out { series }),
        Err(e) => Reply::text(503, format!("{}\n", unreadable(e))),
    }
}
