//! Logs and metrics: rows prepared on the caller's thread, inserted by the writer in the same
//! group commits as spans, and queried by service, severity, text (FTS5 over bodies), trace id
//! and time (logs), by name and series over time (metrics).
//!
//! A log record or metric point sent twice (a retry, a replayed spool file) is stored once:
//! records by a hash of their resource, scope and encoded record (`logs.hash`, unique), points
//! by their series and time (`metric_points` primary key).

use prost::Message;
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use otelctl_config::error::Result;
use otelctl_otlp::logs::ExportLogsServiceRequest;
use otelctl_otlp::metrics::{
    AggregationTemporality, Data, Exemplar, ExemplarValue, ExportMetricsServiceRequest, NumberValue,
};
use otelctl_otlp::{self as otlp, KeyValue};

use crate::prepare::{attributes_json, service_name};
use crate::{Pending, Store, UNKNOWN_SERVICE};

// ---------------------------------------------------------------------------------------------
// Logs

#[derive(Debug)]
pub(crate) struct LogRow {
    time_ns: i64,
    observed_ns: i64,
    service: String,
    severity_number: i32,
    severity_text: String,
    body: String,
    event_name: String,
    trace_id: Option<Vec<u8>>,
    span_id: Option<Vec<u8>>,
    scope: String,
    attributes: Option<String>,
    resource: Option<String>,
    hash: Vec<u8>,
}

/// An export of log records prepared for the writer.
#[derive(Debug, Default)]
pub(crate) struct PreparedLogs {
    rows: Vec<LogRow>,
}

impl PreparedLogs {
    pub fn len(&self) -> u64 {
        self.rows.len() as u64
    }

    /// What storing these records changes, for live updates: the logs of each trace they
    /// name, and logs without a trace.
    pub fn changes(&self) -> Vec<crate::Change> {
        let mut out: Vec<crate::Change> = Vec::new();
        for r in &self.rows {
            let trace = r
                .trace_id
                .as_deref()
                .and_then(|t| <[u8; 16]>::try_from(t).ok());
            let c = crate::Change::Logs(trace);
            if !out.contains(&c) {
                out.push(c);
            }
        }
        out
    }
}

/// The outcome of one log export.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogOutcome {
    pub accepted: u64,
    /// Records already stored (a retry or a replay).
    pub duplicates: u64,
}

fn id_or_none(bytes: &[u8], len: usize) -> Option<Vec<u8>> {
    (bytes.len() == len && bytes.iter().any(|b| *b != 0)).then(|| bytes.to_vec())
}

pub(crate) fn prepare_logs(req: &ExportLogsServiceRequest) -> PreparedLogs {
    let mut rows = Vec::with_capacity(req.record_count());
    for rl in &req.resource_logs {
        let attrs: &[KeyValue] = rl.resource.as_ref().map_or(&[], |r| &r.attributes);
        let service = service_name(attrs).unwrap_or_else(|| UNKNOWN_SERVICE.to_string());
        let resource = attributes_json(attrs);
        let resource_bytes = rl
            .resource
            .as_ref()
            .map(Message::encode_to_vec)
            .unwrap_or_default();
        for sl in &rl.scope_logs {
            let scope = sl
                .scope
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_default();
            let scope_bytes = sl
                .scope
                .as_ref()
                .map(Message::encode_to_vec)
                .unwrap_or_default();
            for r in &sl.log_records {
                let mut h = Sha256::new();
                for part in [&resource_bytes, &scope_bytes, &r.encode_to_vec()] {
                    h.update((part.len() as u64).to_le_bytes());
                    h.update(part);
                }
                rows.push(LogRow {
                    time_ns: r.effective_time_unix_nano().min(i64::MAX as u64) as i64,
                    observed_ns: r.observed_time_unix_nano.min(i64::MAX as u64) as i64,
                    service: service.clone(),
                    severity_number: r.severity_number,
                    severity_text: r.severity_text.clone(),
                    body: r
                        .body
                        .as_ref()
                        .and_then(|b| b.value.as_ref())
                        .map(otlp::Value::to_text)
                        .unwrap_or_default(),
                    event_name: r.event_name.clone(),
                    trace_id: id_or_none(&r.trace_id, 16),
                    span_id: id_or_none(&r.span_id, 8),
                    scope: scope.clone(),
                    attributes: attributes_json(&r.attributes),
                    resource: resource.clone(),
                    hash: h.finalize()[..16].to_vec(),
                });
            }
        }
    }
    PreparedLogs { rows }
}

pub(crate) fn apply_logs(tx: &Transaction, p: &PreparedLogs) -> rusqlite::Result<LogOutcome> {
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO logs(time_ns, observed_ns, service, severity_number, severity_text, body, event_name, trace_id, span_id, scope, attributes, resource, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?;
    let mut out = LogOutcome::default();
    for r in &p.rows {
        let added = insert.execute(params![
            r.time_ns,
            r.observed_ns,
            r.service,
            r.severity_number,
            r.severity_text,
            r.body,
            r.event_name,
            r.trace_id,
            r.span_id,
            r.scope,
            r.attributes,
            r.resource,
            r.hash,
        ])?;
        if added == 1 {
            out.accepted += 1;
        } else {
            out.duplicates += 1;
        }
    }
    Ok(out)
}

/// One stored log record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Grows with every record stored (`--follow` asks for those after the last it saw).
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

/// Which log records to read. Every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogQuery {
    pub service: Option<String>,
    /// At least this severity number (1-24; e.g. 17 for ERROR and above).
    pub min_severity: Option<i32>,
    /// Every word of it appears in the body (FTS5, words matched whole, any case).
    pub text: Option<String>,
    pub trace_id: Option<[u8; 16]>,
    /// Only the records of this span (its trace's index finds them; give the trace id too).
    pub span_id: Option<[u8; 8]>,
    pub since_unix_nano: Option<u64>,
    pub until_unix_nano: Option<u64>,
    /// Only records stored after this id, oldest first (follow mode); otherwise newest first.
    pub after_id: Option<i64>,
    pub limit: usize,
}

/// `text` as an FTS5 query: each word quoted (so nothing in it is FTS syntax), all required.
fn fts_query(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

pub fn logs(conn: &Connection, q: &LogQuery) -> rusqlite::Result<Vec<LogEntry>> {
    let mut sql = String::from(
        "SELECT l.id, l.time_ns, l.observed_ns, l.service, l.severity_number, l.severity_text, l.body, l.event_name, l.trace_id, l.span_id, l.scope, l.attributes, l.resource FROM logs l WHERE 1",
    );
    let mut args: Vec<SqlValue> = Vec::new();
    let int = |v: u64| SqlValue::Integer(v.min(i64::MAX as u64) as i64);
    if let Some(s) = &q.service {
        sql.push_str(" AND l.service = ?");
        args.push(SqlValue::Text(s.clone()));
    }
    if let Some(n) = q.min_severity {
        sql.push_str(" AND l.severity_number >= ?");
        args.push(SqlValue::Integer(n.into()));
    }
    if let Some(t) = q.text.as_deref().and_then(fts_query) {
        sql.push_str(" AND l.id IN (SELECT rowid FROM logs_fts WHERE logs_fts MATCH ?)");
        args.push(SqlValue::Text(t));
    }
    if let Some(id) = q.trace_id {
        sql.push_str(" AND l.trace_id = ?");
        args.push(SqlValue::Blob(id.to_vec()));
    }
    if let Some(id) = q.span_id {
        sql.push_str(" AND l.span_id = ?");
        args.push(SqlValue::Blob(id.to_vec()));
    }
    if let Some(t) = q.since_unix_nano {
        sql.push_str(" AND l.time_ns >= ?");
        args.push(int(t));
    }
    if let Some(t) = q.until_unix_nano {
        sql.push_str(" AND l.time_ns <= ?");
        args.push(int(t));
    }
    match q.after_id {
        Some(id) => {
            sql.push_str(" AND l.id > ? ORDER BY l.id LIMIT ?");
            args.push(SqlValue::Integer(id));
        }
        None => sql.push_str(" ORDER BY l.time_ns DESC, l.id DESC LIMIT ?"),
    }
    args.push(SqlValue::Integer(q.limit.min(i64::MAX as usize) as i64));
    let hex = |v: Option<Vec<u8>>| v.map(|b| otlp::to_hex(&b)).unwrap_or_default();
    let json = |v: Option<String>| v.unwrap_or_else(|| "{}".to_string());
    conn.prepare_cached(&sql)?
        .query_map(params_from_iter(args), |r| {
            Ok(LogEntry {
                id: r.get(0)?,
                time_unix_nano: r.get::<_, i64>(1)?.max(0) as u64,
                observed_time_unix_nano: r.get::<_, i64>(2)?.max(0) as u64,
                service: r.get(3)?,
                severity_number: r.get(4)?,
                severity_text: r.get(5)?,
                body: r.get(6)?,
                event_name: r.get(7)?,
                trace_id: hex(r.get(8)?),
                span_id: hex(r.get(9)?),
                scope: r.get(10)?,
                attributes: json(r.get(11)?),
                resource: json(r.get(12)?),
            })
        })?
        .collect()
}

/// Services that sent log records, sorted, at most `limit`.
pub fn log_services(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<String>> {
    // One index seek per service (logs_by_service), not a scan of every record's entry.
    conn.prepare_cached(
        "WITH RECURSIVE s(service) AS (
             SELECT min(service) FROM logs
             UNION ALL
             SELECT (SELECT min(service) FROM logs WHERE service > s.service) FROM s
             WHERE s.service IS NOT NULL
         )
         SELECT service FROM s WHERE service IS NOT NULL LIMIT ?1",
    )?
    .query_map([limit.min(i64::MAX as usize) as i64], |r| r.get(0))?
    .collect()
}

/// Log records stored.
pub fn log_count(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row("SELECT count(*) FROM logs", [], |r| r.get::<_, i64>(0))
        .map(|n| n.max(0) as u64)
}

// ---------------------------------------------------------------------------------------------
// Metrics

#[derive(Debug)]
struct SeriesRow {
    service: String,
    name: String,
    kind: &'static str,
    unit: String,
    description: String,
    temporality: Option<&'static str>,
    monotonic: Option<bool>,
    attributes: String,
    resource: Option<String>,
    scope: String,
    key: Vec<u8>,
}

#[derive(Debug, Default)]
struct PointRow {
    time_ns: i64,
    start_ns: i64,
    value: Option<f64>,
    count: Option<i64>,
    sum: Option<f64>,
    min: Option<f64>,
    max: Option<f64>,
    data: Option<String>,
    exemplars: Option<String>,
}

/// An export of metrics prepared for the writer: each series with its points.
#[derive(Debug, Default)]
pub(crate) struct PreparedMetrics {
    series: Vec<(SeriesRow, Vec<PointRow>)>,
    points: u64,
}

impl PreparedMetrics {
    pub fn len(&self) -> u64 {
        self.points
    }
}

/// The outcome of one metrics export.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricOutcome {
    pub accepted: u64,
    /// Points already stored for their series and time (a retry or a replay).
    pub duplicates: u64,
}

fn exemplars_json(ex: &[Exemplar]) -> Option<String> {
    if ex.is_empty() {
        return None;
    }
    let list: Vec<serde_json::Value> = ex
        .iter()
        .map(|e| {
            serde_json::json!({
                "time_unix_nano": e.time_unix_nano,
                "value": match e.value {
                    Some(ExemplarValue::AsDouble(d)) => serde_json::json!(d),
                    Some(ExemplarValue::AsInt(i)) => serde_json::json!(i),
                    None => serde_json::Value::Null,
                },
                "trace_id": otlp::to_hex(&e.trace_id),
                "span_id": otlp::to_hex(&e.span_id),
                "attributes": attributes_json(&e.filtered_attributes)
                    .and_then(|a| serde_json::from_str::<serde_json::Value>(&a).ok())
                    .unwrap_or(serde_json::json!({})),
            })
        })
        .collect();
    Some(serde_json::Value::Array(list).to_string())
}

fn ns(v: u64) -> i64 {
    v.min(i64::MAX as u64) as i64
}

/// A finite double, or `None` (SQLite stores NaN as NULL anyway).
fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

pub(crate) fn prepare_metrics(req: &ExportMetricsServiceRequest) -> PreparedMetrics {
    let mut out = PreparedMetrics::default();
    for (rm, sm, m) in req.metrics() {
        let Some(data) = &m.data else { continue };
        let res: &[KeyValue] = rm.resource.as_ref().map_or(&[], |r| &r.attributes);
        let service = service_name(res).unwrap_or_else(|| UNKNOWN_SERVICE.to_string());
        let resource = attributes_json(res);
        let scope = sm
            .scope
            .as_ref()
            .map(|s| s.name.clone())
            .unwrap_or_default();
        let temporality = match data {
            Data::Sum(_) | Data::Histogram(_) | Data::ExponentialHistogram(_) => {
                Some(AggregationTemporality::name_of(data.temporality()))
            }
            _ => None,
        };
        let monotonic = match data {
            Data::Sum(s) => Some(s.is_monotonic),
            _ => None,
        };
        // Each point with its attributes; one series per distinct attribute set.
        let mut points: Vec<(&[KeyValue], PointRow)> = Vec::new();
        match data {
            Data::Gauge(g) => {
                for p in &g.data_points {
                    points.push((&p.attributes, number_point(p)));
                }
            }
            Data::Sum(s) => {
                for p in &s.data_points {
                    points.push((&p.attributes, number_point(p)));
                }
            }
            Data::Histogram(h) => {
                for p in &h.data_points {
                    points.push((
                        &p.attributes,
                        PointRow {
                            time_ns: ns(p.time_unix_nano),
                            start_ns: ns(p.start_time_unix_nano),
                            value: None,
                            count: Some(p.count.min(i64::MAX as u64) as i64),
                            sum: p.sum.and_then(finite),
                            min: p.min.and_then(finite),
                            max: p.max.and_then(finite),
                            data: Some(
                                serde_json::json!({
                                    "bucket_counts": p.bucket_counts,
                                    "explicit_bounds": p.explicit_bounds.iter().map(|b| finite(*b)).collect::<Vec<_>>(),
                                })
                                .to_string(),
                            ),
                            exemplars: exemplars_json(&p.exemplars),
                        },
                    ));
                }
            }
            Data::ExponentialHistogram(h) => {
                for p in &h.data_points {
                    let buckets = |b: &Option<otelctl_otlp::metrics::Buckets>| {
                        b.as_ref().map(|b| {
                            serde_json::json!({"offset": b.offset, "bucket_counts": b.bucket_counts})
                        })
                    };
                    points.push((
                        &p.attributes,
                        PointRow {
                            time_ns: ns(p.time_unix_nano),
                            start_ns: ns(p.start_time_unix_nano),
                            value: None,
                            count: Some(p.count.min(i64::MAX as u64) as i64),
                            sum: p.sum.and_then(finite),
                            min: p.min.and_then(finite),
                            max: p.max.and_then(finite),
                            data: Some(
                                serde_json::json!({
                                    "scale": p.scale,
                                    "zero_count": p.zero_count,
                                    "zero_threshold": finite(p.zero_threshold),
                                    "positive": buckets(&p.positive),
                                    "negative": buckets(&p.negative),
                                })
                                .to_string(),
                            ),
                            exemplars: exemplars_json(&p.exemplars),
                        },
                    ));
                }
            }
            Data::Summary(s) => {
                for p in &s.data_points {
                    points.push((
                        &p.attributes,
                        PointRow {
                            time_ns: ns(p.time_unix_nano),
                            start_ns: ns(p.start_time_unix_nano),
                            value: None,
                            count: Some(p.count.min(i64::MAX as u64) as i64),
                            sum: finite(p.sum),
                            data: Some(
                                serde_json::json!({
                                    "quantile_values": p.quantile_values.iter().map(|q| serde_json::json!({"quantile": finite(q.quantile), "value": finite(q.value)})).collect::<Vec<_>>(),
                                })
                                .to_string(),
                            ),
                            ..PointRow::default()
                        },
                    ));
                }
            }
        }
        for (attrs, point) in points {
            let attributes = attributes_json(attrs).unwrap_or_else(|| "{}".to_string());
            let mut h = Sha256::new();
            for part in [
                service.as_str(),
                m.name.as_str(),
                data.kind(),
                m.unit.as_str(),
                temporality.unwrap_or(""),
                match monotonic {
                    Some(true) => "1",
                    Some(false) => "0",
                    None => "",
                },
                attributes.as_str(),
                resource.as_deref().unwrap_or(""),
                scope.as_str(),
            ] {
                h.update((part.len() as u64).to_le_bytes());
                h.update(part.as_bytes());
            }
            let key = h.finalize()[..16].to_vec();
            out.points += 1;
            match out.series.iter_mut().find(|(s, _)| s.key == key) {
                Some((_, pts)) => pts.push(point),
                None => out.series.push((
                    SeriesRow {
                        service: service.clone(),
                        name: m.name.clone(),
                        kind: data.kind(),
                        unit: m.unit.clone(),
                        description: m.description.clone(),
                        temporality,
                        monotonic,
                        attributes,
                        resource: resource.clone(),
                        scope: scope.clone(),
                        key,
                    },
                    vec![point],
                )),
            }
        }
    }
    out
}

fn number_point(p: &otelctl_otlp::metrics::NumberDataPoint) -> PointRow {
    PointRow {
        time_ns: ns(p.time_unix_nano),
        start_ns: ns(p.start_time_unix_nano),
        value: p.value.map(NumberValue::as_f64).and_then(finite),
        exemplars: exemplars_json(&p.exemplars),
        ..PointRow::default()
    }
}

pub(crate) fn apply_metrics(
    tx: &Transaction,
    p: &PreparedMetrics,
) -> rusqlite::Result<MetricOutcome> {
    let mut find = tx.prepare_cached("SELECT id FROM metric_series WHERE key = ?1")?;
    let mut insert_series = tx.prepare_cached(
        "INSERT INTO metric_series(service, name, type, unit, description, temporality, monotonic, attributes, resource, scope, key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    let mut insert_point = tx.prepare_cached(
        "INSERT OR IGNORE INTO metric_points(series_id, time_ns, start_ns, value, count, sum, min, max, data, exemplars)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    let mut out = MetricOutcome::default();
    for (s, points) in &p.series {
        let id = match find
            .query_row([&s.key], |r| r.get::<_, i64>(0))
            .optional()?
        {
            Some(id) => id,
            None => {
                insert_series.execute(params![
                    s.service,
                    s.name,
                    s.kind,
                    s.unit,
                    s.description,
                    s.temporality,
                    s.monotonic,
                    s.attributes,
                    s.resource,
                    s.scope,
                    s.key,
                ])?;
                tx.last_insert_rowid()
            }
        };
        for pt in points {
            let added = insert_point.execute(params![
                id,
                pt.time_ns,
                pt.start_ns,
                pt.value,
                pt.count,
                pt.sum,
                pt.min,
                pt.max,
                pt.data,
                pt.exemplars,
            ])?;
            if added == 1 {
                out.accepted += 1;
            } else {
                out.duplicates += 1;
            }
        }
    }
    Ok(out)
}

/// A metric (by service and name) with its latest point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Points stored (since `since`, when given).
    pub points: u64,
    pub latest_time_unix_nano: u64,
    /// The latest point's value: its number (gauges, sums), else its sum (histograms,
    /// summaries); of whichever series reported last.
    pub latest_value: Option<f64>,
}

/// One point of a series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub time_unix_nano: u64,
    pub start_time_unix_nano: u64,
    pub value: Option<f64>,
    pub count: Option<u64>,
    pub sum: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Buckets or quantiles, as JSON (histograms, summaries).
    pub data: Option<String>,
    pub exemplars: Option<String>,
}

/// One series (a metric's attribute set) and its points, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub service: String,
    pub name: String,
    pub kind: String,
    pub unit: String,
    pub temporality: Option<String>,
    pub monotonic: Option<bool>,
    /// JSON object of text values.
    pub attributes: String,
    pub points: Vec<Point>,
}

/// Metric names (of `service`, when given) with their latest value, sorted by service and name.
pub fn metric_names(
    conn: &Connection,
    service: Option<&str>,
    since_unix_nano: Option<u64>,
) -> rusqlite::Result<Vec<MetricName>> {
    let since = since_unix_nano.map_or(0, ns);
    let mut stmt = conn.prepare_cached(
        "SELECT s.service, s.name, s.type, s.unit, s.description, s.temporality, s.monotonic,
                (SELECT count(*) FROM metric_points p WHERE p.series_id = s.id AND p.time_ns >= ?2),
                p.time_ns, coalesce(p.value, p.sum)
         FROM metric_series s
         LEFT JOIN metric_points p ON p.series_id = s.id
              AND p.time_ns = (SELECT max(time_ns) FROM metric_points WHERE series_id = s.id)
         WHERE (?1 IS NULL OR s.service = ?1)
         ORDER BY s.service, s.name",
    )?;
    let mut rows = stmt.query(params![service, since])?;
    let mut out: Vec<MetricName> = Vec::new();
    while let Some(r) = rows.next()? {
        let (svc, name): (String, String) = (r.get(0)?, r.get(1)?);
        let points = r.get::<_, i64>(7)?.max(0) as u64;
        let time = r.get::<_, Option<i64>>(8)?.unwrap_or(0).max(0) as u64;
        let value: Option<f64> = r.get(9)?;
        match out.last_mut() {
            Some(m) if m.service == svc && m.name == name => {
                m.series += 1;
                m.points += points;
                if time > m.latest_time_unix_nano {
                    m.latest_time_unix_nano = time;
                    m.latest_value = value;
                }
            }
            _ => out.push(MetricName {
                service: svc,
                name,
                kind: r.get(2)?,
                unit: r.get(3)?,
                description: r.get(4)?,
                temporality: r.get(5)?,
                monotonic: r.get(6)?,
                series: 1,
                points,
                latest_time_unix_nano: time,
                latest_value: value,
            }),
        }
    }
    if since_unix_nano.is_some() {
        out.retain(|m| m.points > 0);
    }
    Ok(out)
}

/// The series of metric `name` (of `service`, when given) with their points since `since`,
/// at most `limit` points each (the newest), oldest first.
pub fn metric_series(
    conn: &Connection,
    name: &str,
    service: Option<&str>,
    since_unix_nano: Option<u64>,
    limit: usize,
) -> rusqlite::Result<Vec<Series>> {
    let mut series: Vec<(i64, Series)> = conn
        .prepare_cached(
            "SELECT id, service, name, type, unit, temporality, monotonic, attributes FROM metric_series
             WHERE name = ?1 AND (?2 IS NULL OR service = ?2) ORDER BY service, attributes",
        )?
        .query_map(params![name, service], |r| {
            Ok((
                r.get(0)?,
                Series {
                    service: r.get(1)?,
                    name: r.get(2)?,
                    kind: r.get(3)?,
                    unit: r.get(4)?,
                    temporality: r.get(5)?,
                    monotonic: r.get(6)?,
                    attributes: r.get(7)?,
                    points: Vec::new(),
                },
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut stmt = conn.prepare_cached(
        "SELECT time_ns, start_ns, value, count, sum, min, max, data, exemplars FROM metric_points
         WHERE series_id = ?1 AND time_ns >= ?2 ORDER BY time_ns DESC LIMIT ?3",
    )?;
    for (id, s) in &mut series {
        s.points = stmt
            .query_map(
                params![
                    *id,
                    since_unix_nano.map_or(0, ns),
                    limit.min(i64::MAX as usize) as i64
                ],
                |r| {
                    Ok(Point {
                        time_unix_nano: r.get::<_, i64>(0)?.max(0) as u64,
                        start_time_unix_nano: r.get::<_, i64>(1)?.max(0) as u64,
                        value: r.get(2)?,
                        count: r.get::<_, Option<i64>>(3)?.map(|c| c.max(0) as u64),
                        sum: r.get(4)?,
                        min: r.get(5)?,
                        max: r.get(6)?,
                        data: r.get(7)?,
                        exemplars: r.get(8)?,
                    })
                },
            )?
            .collect::<rusqlite::Result<_>>()?;
        s.points.reverse();
    }
    Ok(series.into_iter().map(|(_, s)| s).collect())
}

// ---------------------------------------------------------------------------------------------
// The store's entry points

impl Store {
    /// Prepares a log export on this thread and hands it to the writer.
    pub fn submit_logs(&self, req: &ExportLogsServiceRequest) -> Pending<LogOutcome> {
        let prepared = prepare_logs(req);
        self.submit(|tx| crate::writer::Job::Logs(prepared, tx))
    }

    /// Stores the records of one log export; resolves once committed.
    pub async fn append_logs(
        &self,
        req: &ExportLogsServiceRequest,
    ) -> std::result::Result<LogOutcome, crate::NotStored> {
        self.submit_logs(req).wait().await
    }

    /// [`Store::append_logs`], blocking.
    pub fn append_logs_blocking(
        &self,
        req: &ExportLogsServiceRequest,
    ) -> std::result::Result<LogOutcome, crate::NotStored> {
        self.submit_logs(req).wait_blocking()
    }

    /// Prepares a metrics export on this thread and hands it to the writer.
    pub fn submit_metrics(&self, req: &ExportMetricsServiceRequest) -> Pending<MetricOutcome> {
        let prepared = prepare_metrics(req);
        self.submit(|tx| crate::writer::Job::Metrics(prepared, tx))
    }

    /// Stores the points of one metrics export; resolves once committed.
    pub async fn append_metrics(
        &self,
        req: &ExportMetricsServiceRequest,
    ) -> std::result::Result<MetricOutcome, crate::NotStored> {
        self.submit_metrics(req).wait().await
    }

    /// [`Store::append_metrics`], blocking.
    pub fn append_metrics_blocking(
        &self,
        req: &ExportMetricsServiceRequest,
    ) -> std::result::Result<MetricOutcome, crate::NotStored> {
        self.submit_metrics(req).wait_blocking()
    }

    /// See [`logs`].
    pub fn logs(&self, q: &LogQuery) -> Result<Vec<LogEntry>> {
        self.read(|c| logs(c, q))
    }

    /// See [`log_services`].
    pub fn log_services(&self, limit: usize) -> Result<Vec<String>> {
        self.read(|c| log_services(c, limit))
    }

    /// See [`log_count`].
    pub fn log_count(&self) -> Result<u64> {
        self.read(log_count)
    }

    /// See [`metric_names`].
    pub fn metric_names(
        &self,
        service: Option<&str>,
        since_unix_nano: Option<u64>,
    ) -> Result<Vec<MetricName>> {
        self.read(|c| metric_names(c, service, since_unix_nano))
    }

    /// See [`metric_series`].
    pub fn metric_series(
        &self,
        name: &str,
        service: Option<&str>,
        since_unix_nano: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Series>> {
        self.read(|c| metric_series(c, name, service, since_unix_nano, limit))
    }
}

impl crate::query::Reader {
    /// See [`logs`].
    pub fn logs(&self, q: &LogQuery) -> Result<Vec<LogEntry>> {
        logs(&self.conn, q).map_err(|e| crate::sql_error("cannot read", &self.path, e))
    }

    /// See [`log_services`].
    pub fn log_services(&self, limit: usize) -> Result<Vec<String>> {
        log_services(&self.conn, limit).map_err(|e| crate::sql_error("cannot read", &self.path, e))
    }

    /// See [`log_count`].
    pub fn log_count(&self) -> Result<u64> {
        log_count(&self.conn).map_err(|e| crate::sql_error("cannot read", &self.path, e))
    }

    /// See [`metric_names`].
    pub fn metric_names(
        &self,
        service: Option<&str>,
        since_unix_nano: Option<u64>,
    ) -> Result<Vec<MetricName>> {
        metric_names(&self.conn, service, since_unix_nano)
            .map_err(|e| crate::sql_error("cannot read", &self.path, e))
    }

    /// See [`metric_series`].
    pub fn metric_series(
        &self,
        name: &str,
        service: Option<&str>,
        since_unix_nano: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Series>> {
        metric_series(&self.conn, name, service, since_unix_nano, limit)
            .map_err(|e| crate::sql_error("cannot read", &self.path, e))
    }
}
