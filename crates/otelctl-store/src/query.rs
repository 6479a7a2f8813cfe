//! Reading the store: indexed queries for the viewer, the explorer, `otelctl traces` and
//! `otelctl export`. Each works on a [`crate::Store`] (a pooled read connection of the running
//! server) and on a [`Reader`] (the database opened read-only by another process).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use serde::Serialize;

use otelctl_config::error::Result;
use otelctl_otlp::{self as otlp, ExportTraceServiceRequest, StatusCode};

use crate::Store;

/// A trace's list row (the `traces` table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceRow {
    /// 32 hex digits.
    pub trace_id: String,
    /// The root span's service.
    pub service: String,
    pub root_name: String,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    pub duration_ns: u64,
    pub span_count: usize,
    pub error_count: usize,
}

/// Which traces to list; every condition given must hold (see docs/store.md for the SQL).
/// `service`, `name`, `span_error` and `attrs` are one span's: a trace matches when one of its
/// spans meets them all; the others are the trace's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceQuery {
    /// The span's resource has this `service.name`.
    pub service: Option<String>,
    /// The span has exactly this name.
    pub name: Option<String>,
    /// `Some(true)`: the span's status is ERROR; `Some(false)`: it is not.
    pub span_error: Option<bool>,
    /// The trace: `Some(true)`: some span has status ERROR; `Some(false)`: none has.
    pub error: Option<bool>,
    pub min_duration_ns: Option<u64>,
    pub max_duration_ns: Option<u64>,
    /// The span (or its resource) has attribute `key` whose text is `value`, for each pair.
    pub attrs: Vec<(String, String)>,
    /// The trace started at or after / at or before these times.
    pub from_unix_nano: Option<u64>,
    pub to_unix_nano: Option<u64>,
    /// Most rows returned (newest start first).
    pub limit: usize,
}

/// Matches are counted up to this many, or the query's limit when it is higher (a count beyond
/// says "at least"): counting every match of a broad filter would read every trace's row. 200
/// is what the viewer's list shows.
pub const MAX_COUNT: u64 = 200;

/// One run of a task (the `runs` table: root spans and spans with `task.cached`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskRun {
    pub trace_id: String,
    pub span_id: String,
    pub start_unix_nano: u64,
    pub duration_ns: u64,
    pub cached: Option<bool>,
    pub error: bool,
}

/// Durations and errors of the spans of one name (for per-name statistics).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameSample {
    pub name: String,
    pub durations_ns: Vec<u64>,
    pub errors: u64,
}

/// The database opened read-only ([`crate::open_read_only`]).
pub struct Reader {
    pub(crate) conn: Connection,
    pub(crate) path: PathBuf,
}

fn hex16(bytes: &[u8]) -> String {
    otlp::to_hex(bytes)
}

fn row(r: &rusqlite::Row) -> rusqlite::Result<TraceRow> {
    Ok(TraceRow {
        trace_id: hex16(&r.get::<_, Vec<u8>>(0)?),
        service: r.get(1)?,
        root_name: r.get(2)?,
        start_unix_nano: r.get::<_, i64>(3)? as u64,
        end_unix_nano: r.get::<_, i64>(4)? as u64,
        duration_ns: r.get::<_, i64>(5)?.max(0) as u64,
        span_count: r.get::<_, i64>(6)? as usize,
        error_count: r.get::<_, i64>(7)? as usize,
    })
}

const ROW_COLUMNS: &str =
    "t.trace_id, t.service, t.root_name, t.start_ns, t.end_ns, t.duration_ns, t.span_count, t.error_count";

fn conditions(q: &TraceQuery) -> (String, Vec<SqlValue>) {
    let mut sql = String::from(" WHERE 1");
    let mut args: Vec<SqlValue> = Vec::new();
    let int = |v: u64| SqlValue::Integer(v.min(i64::MAX as u64) as i64);
    if let Some(t) = q.from_unix_nano {
        sql.push_str(" AND t.start_ns >= ?");
        args.push(int(t));
    }
    if let Some(t) = q.to_unix_nano {
        sql.push_str(" AND t.start_ns <= ?");
        args.push(int(t));
    }
    if let Some(d) = q.min_duration_ns {
        sql.push_str(" AND t.duration_ns >= ?");
        args.push(int(d));
    }
    if let Some(d) = q.max_duration_ns {
        sql.push_str(" AND t.duration_ns <= ?");
        args.push(int(d));
    }
    match q.error {
        Some(true) => sql.push_str(" AND t.error_count > 0"),
        Some(false) => sql.push_str(" AND t.error_count = 0"),
        None => {}
    }
    // The span conditions: one EXISTS, so one span meets them all.
    let mut span = String::new();
    if let Some(v) = &q.service {
        span.push_str(" AND s.service = ?");
        args.push(SqlValue::Text(v.clone()));
    }
    if let Some(n) = &q.name {
        span.push_str(" AND s.name = ?");
        args.push(SqlValue::Text(n.clone()));
    }
    match q.span_error {
        Some(true) => span.push_str(&format!(" AND s.status = {}", StatusCode::Error as i32)),
        Some(false) => span.push_str(&format!(" AND s.status != {}", StatusCode::Error as i32)),
        None => {}
    }
    for (k, v) in &q.attrs {
        if k.contains('"') || k.contains('\\') {
            // A key a JSON path cannot name: every key compared.
            span.push_str(
                " AND (EXISTS (SELECT 1 FROM json_each(s.attributes) j WHERE j.key = ? AND j.value = ?)
                   OR EXISTS (SELECT 1 FROM json_each(b.resource) j WHERE j.key = ? AND j.value = ?))",
            );
            for _ in 0..2 {
                args.push(SqlValue::Text(k.clone()));
                args.push(SqlValue::Text(v.clone()));
            }
        } else {
            span.push_str(
                " AND (json_extract(s.attributes, ?) = ? OR json_extract(b.resource, ?) = ?)",
            );
            let path = format!("$.\"{k}\"");
            for _ in 0..2 {
                args.push(SqlValue::Text(path.clone()));
                args.push(SqlValue::Text(v.clone()));
            }
        }
    }
    if !span.is_empty() {
        // Service and name first when given: spans_by_name answers those.
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM spans s JOIN batches b ON b.id = s.batch WHERE s.trace = t.id{span})"
        ));
    }
    (sql, args)
}

/// The traces matching `q`, newest start first (trace id breaks ties), at most `q.limit`, and
/// how many match (counted up to [`MAX_COUNT`] or `q.limit`, whichever is higher; `true` when
/// the count stopped there).
pub fn list(conn: &Connection, q: &TraceQuery) -> rusqlite::Result<(Vec<TraceRow>, u64, bool)> {
    let (cond, mut args) = conditions(q);
    let sql = format!(
        "SELECT {ROW_COLUMNS} FROM traces t{cond} ORDER BY t.start_ns DESC, t.trace_id LIMIT ?"
    );
    let count_sql = format!("SELECT count(*) FROM (SELECT 1 FROM traces t{cond} LIMIT ?)");
    let cap = MAX_COUNT.max(q.limit as u64);
    let mut count_args = args.clone();
    count_args.push(SqlValue::Integer(cap.min(i64::MAX as u64 - 1) as i64 + 1));
    args.push(SqlValue::Integer(q.limit.min(i64::MAX as usize) as i64));
    let rows: Vec<TraceRow> = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(args), row)?
        .collect::<rusqlite::Result<_>>()?;
    let matched: i64 = if rows.len() < q.limit {
        rows.len() as i64
    } else {
        conn.prepare_cached(&count_sql)?
            .query_row(params_from_iter(count_args), |r| r.get(0))?
    };
    let capped = matched as u64 > cap;
    Ok((rows, (matched as u64).min(cap), capped))
}

pub fn trace_row(conn: &Connection, id: &[u8; 16]) -> rusqlite::Result<Option<TraceRow>> {
    conn.prepare_cached(&format!(
        "SELECT {ROW_COLUMNS} FROM traces t WHERE t.trace_id = ?1"
    ))?
    .query_row([&id[..]], row)
    .optional()
}

/// A trace's spans as received (resource and scope included), one `ResourceSpans` per batch.
pub fn trace(
    conn: &Connection,
    id: &[u8; 16],
) -> rusqlite::Result<Option<ExportTraceServiceRequest>> {
    let mut stmt = conn.prepare_cached(
        "SELECT data FROM batches WHERE trace = (SELECT id FROM traces WHERE trace_id = ?1) ORDER BY id",
    )?;
    let mut rows = stmt.query([&id[..]])?;
    let mut bytes = Vec::new();
    let mut any = false;
    while let Some(r) = rows.next()? {
        any = true;
        bytes.extend_from_slice(r.get_ref(0)?.as_blob()?);
    }
    if !any {
        return Ok(None);
    }
    ExportTraceServiceRequest::from_protobuf(&bytes)
        .map(Some)
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Blob, Box::new(e))
        })
}

/// The newest `limit` runs of a task (service and span name), oldest first; `cached` keeps
/// only runs with that `task.cached`.
pub fn task_runs(
    conn: &Connection,
    service: &str,
    name: &str,
    cached: Option<bool>,
    limit: usize,
) -> rusqlite::Result<Vec<TaskRun>> {
    let sql = match cached {
        None => "SELECT t.trace_id, r.span_id, r.start_ns, r.duration_ns, r.cached, r.error FROM runs r JOIN traces t ON t.id = r.trace WHERE r.service = ?1 AND r.name = ?2 ORDER BY r.start_ns DESC, t.trace_id DESC, r.span_id DESC LIMIT ?3",
        Some(_) => "SELECT t.trace_id, r.span_id, r.start_ns, r.duration_ns, r.cached, r.error FROM runs r JOIN traces t ON t.id = r.trace WHERE r.service = ?1 AND r.name = ?2 AND r.cached = ?4 ORDER BY r.start_ns DESC, t.trace_id DESC, r.span_id DESC LIMIT ?3",
    };
    let mut stmt = conn.prepare_cached(sql)?;
    let map = |r: &rusqlite::Row| {
        Ok(TaskRun {
            trace_id: hex16(&r.get::<_, Vec<u8>>(0)?),
            span_id: hex16(&r.get::<_, Vec<u8>>(1)?),
            start_unix_nano: r.get::<_, i64>(2)? as u64,
            duration_ns: r.get::<_, i64>(3)?.max(0) as u64,
            cached: r.get(4)?,
            error: r.get(5)?,
        })
    };
    let limit = limit.min(i64::MAX as usize) as i64;
    let mut runs: Vec<TaskRun> = match cached {
        None => stmt
            .query_map(params![service, name, limit], map)?
            .collect::<rusqlite::Result<_>>()?,
        Some(c) => stmt
            .query_map(params![service, name, limit, c], map)?
            .collect::<rusqlite::Result<_>>()?,
    };
    runs.reverse();
    Ok(runs)
}

/// How many runs of a task are stored (with `task.cached` = `cached`, when given).
pub fn task_run_count(
    conn: &Connection,
    service: &str,
    name: &str,
    cached: Option<bool>,
) -> rusqlite::Result<u64> {
    let n: i64 = match cached {
        None => conn
            .prepare_cached("SELECT count(*) FROM runs WHERE service = ?1 AND name = ?2")?
            .query_row(params![service, name], |r| r.get(0))?,
        Some(c) => conn
            .prepare_cached(
                "SELECT count(*) FROM runs WHERE service = ?1 AND name = ?2 AND cached = ?3",
            )?
            .query_row(params![service, name, c], |r| r.get(0))?,
    };
    Ok(n as u64)
}

fn is_error(status: i64) -> bool {
    status == StatusCode::Error as i64
}

/// Per name, the durations of its `per_name` spans of the traces that arrived last, over all
/// stored traces.
pub fn name_samples(
    conn: &Connection,
    names: &[&str],
    per_name: usize,
) -> rusqlite::Result<Vec<NameSample>> {
    let mut stmt = conn.prepare_cached(
        "SELECT duration_ns, status FROM spans WHERE name = ?1 ORDER BY trace DESC LIMIT ?2",
    )?;
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let mut sample = NameSample {
            name: name.to_string(),
            ..Default::default()
        };
        let mut rows = stmt.query(params![name, per_name.min(i64::MAX as usize) as i64])?;
        while let Some(r) = rows.next()? {
            sample.durations_ns.push(r.get::<_, i64>(0)?.max(0) as u64);
            sample.errors += u64::from(is_error(r.get(1)?));
        }
        out.push(sample);
    }
    Ok(out)
}

/// Per name, the durations of the spans of the given traces (sorted by name).
pub fn name_samples_in(conn: &Connection, ids: &[[u8; 16]]) -> rusqlite::Result<Vec<NameSample>> {
    let mut stmt =
        conn.prepare_cached("SELECT name, duration_ns, status FROM spans WHERE trace = (SELECT id FROM traces WHERE trace_id = ?1)")?;
    let mut acc: BTreeMap<String, NameSample> = BTreeMap::new();
    for id in ids {
        let mut rows = stmt.query([&id[..]])?;
        while let Some(r) = rows.next()? {
            let name: String = r.get(0)?;
            let e = acc.entry(name).or_default();
            e.durations_ns.push(r.get::<_, i64>(1)?.max(0) as u64);
            e.errors += u64::from(is_error(r.get(2)?));
        }
    }
    Ok(acc
        .into_iter()
        .map(|(name, s)| NameSample { name, ..s })
        .collect())
}

/// Stored services (`kind` "service") or span names ("span"), sorted, at most `limit`.
pub fn names(conn: &Connection, kind: &str, limit: usize) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached("SELECT name FROM names WHERE kind = ?1 ORDER BY name LIMIT ?2")?
        .query_map(params![kind, limit.min(i64::MAX as usize) as i64], |r| {
            r.get(0)
        })?
        .collect()
}

/// Calls `f` with each stored trace (as received), oldest start first: one trace by id, or
/// those with a span ending at or after `since`. Stops early when `f` returns false.
pub fn for_each_trace(
    conn: &Connection,
    trace_id: Option<&[u8; 16]>,
    since_unix_nano: Option<u64>,
    mut f: impl FnMut(ExportTraceServiceRequest) -> bool,
) -> rusqlite::Result<()> {
    let ids: Vec<Vec<u8>> = match trace_id {
        Some(id) => vec![id.to_vec()],
        None => conn
            .prepare_cached(
                "SELECT trace_id FROM traces WHERE end_ns >= ?1 ORDER BY start_ns, trace_id",
            )?
            .query_map(
                [since_unix_nano.unwrap_or(0).min(i64::MAX as u64) as i64],
                |r| r.get(0),
            )?
            .collect::<rusqlite::Result<_>>()?,
    };
    for id in ids {
        let Ok(id) = <[u8; 16]>::try_from(id.as_slice()) else {
            continue;
        };
        if let Some(req) = trace(conn, &id)? {
            if !f(req) {
                break;
            }
        }
    }
    Ok(())
}

macro_rules! queries {
    ($($(#[$doc:meta])* fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)*) => {
        impl Store {
            $($(#[$doc])* pub fn $name(&self $(, $arg: $ty)*) -> Result<$ret> {
                self.read(|c| $name(c $(, $arg)*))
            })*
        }
        impl Reader {
            $($(#[$doc])* pub fn $name(&self $(, $arg: $ty)*) -> Result<$ret> {
                $name(&self.conn $(, $arg)*)
                    .map_err(|e| crate::sql_error("cannot read", &self.path, e))
            })*
        }
    };
}

queries! {
    /// See [`list`].
    fn list(&self, q: &TraceQuery) -> (Vec<TraceRow>, u64, bool);
    /// See [`trace_row`].
    fn trace_row(&self, id: &[u8; 16]) -> Option<TraceRow>;
    /// See [`trace`].
    fn trace(&self, id: &[u8; 16]) -> Option<ExportTraceServiceRequest>;
    /// See [`task_runs`].
    fn task_runs(&self, service: &str, name: &str, cached: Option<bool>, limit: usize) -> Vec<TaskRun>;
    /// See [`task_run_count`].
    fn task_run_count(&self, service: &str, name: &str, cached: Option<bool>) -> u64;
    /// See [`name_samples`].
    fn name_samples(&self, names: &[&str], per_name: usize) -> Vec<NameSample>;
    /// See [`name_samples_in`].
    fn name_samples_in(&self, ids: &[[u8; 16]]) -> Vec<NameSample>;
    /// See [`names`].
    fn names(&self, kind: &str, limit: usize) -> Vec<String>;
}

impl Store {
    /// See [`for_each_trace`].
    pub fn for_each_trace(
        &self,
        trace_id: Option<&[u8; 16]>,
        since_unix_nano: Option<u64>,
        f: impl FnMut(ExportTraceServiceRequest) -> bool,
    ) -> Result<()> {
        self.read(|c| for_each_trace(c, trace_id, since_unix_nano, f))
    }

    /// Bytes of the database in use (what the size limit counts).
    pub fn used_bytes(&self) -> Result<u64> {
        self.read(crate::writer::used_bytes)
    }
}

impl Reader {
    /// See [`for_each_trace`].
    pub fn for_each_trace(
        &self,
        trace_id: Option<&[u8; 16]>,
        since_unix_nano: Option<u64>,
        f: impl FnMut(ExportTraceServiceRequest) -> bool,
    ) -> Result<()> {
        for_each_trace(&self.conn, trace_id, since_unix_nano, f)
            .map_err(|e| crate::sql_error("cannot read", &self.path, e))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}
