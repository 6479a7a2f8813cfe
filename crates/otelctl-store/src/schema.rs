//! The database's schema, by version (`PRAGMA user_version`), and the migrations between them.
//!
//! docs/store.md documents every table for people querying the file with `sqlite3`; a test
//! checks that the tables named there exist. A database from a later otelctl (a higher version)
//! is refused rather than changed.

use rusqlite::Connection;

/// The schema version this build writes.
pub const VERSION: i64 = 2;

/// Version 1: traces (summaries, spans, encoded batches, task runs), logs (with FTS5 over
/// bodies), metrics (series and points), names for the viewer's suggestions, counters.
const V1: &str = r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE traces (
    id            INTEGER PRIMARY KEY,
    trace_id      BLOB NOT NULL UNIQUE,
    start_ns      INTEGER NOT NULL,
    end_ns        INTEGER NOT NULL,
    duration_ns   INTEGER NOT NULL,
    service       TEXT NOT NULL,
    root_name     TEXT NOT NULL,
    root_span_id  BLOB,
    root_rank     INTEGER NOT NULL,
    root_start_ns INTEGER NOT NULL,
    span_count    INTEGER NOT NULL,
    error_count   INTEGER NOT NULL,
    bytes         INTEGER NOT NULL,
    updated_ns    INTEGER NOT NULL
);
CREATE INDEX traces_by_start ON traces(start_ns);

CREATE TABLE trace_services (
    service TEXT NOT NULL,
    trace   INTEGER NOT NULL,
    PRIMARY KEY (service, trace)
) WITHOUT ROWID;
CREATE INDEX trace_services_by_trace ON trace_services(trace);

CREATE TABLE batches (
    id          INTEGER PRIMARY KEY,
    trace       INTEGER NOT NULL,
    received_ns INTEGER NOT NULL,
    span_count  INTEGER NOT NULL,
    resource    TEXT,
    data        BLOB NOT NULL
);
CREATE INDEX batches_by_trace ON batches(trace);

CREATE TABLE spans (
    trace          INTEGER NOT NULL,
    span_id        BLOB NOT NULL,
    parent_span_id BLOB,
    batch          INTEGER NOT NULL,
    service        TEXT NOT NULL,
    name           TEXT NOT NULL,
    kind           INTEGER NOT NULL,
    start_ns       INTEGER NOT NULL,
    duration_ns    INTEGER NOT NULL,
    status         INTEGER NOT NULL,
    attributes     TEXT,
    PRIMARY KEY (trace, span_id)
) WITHOUT ROWID;
CREATE INDEX spans_by_name ON spans(name, trace);

CREATE TABLE runs (
    service     TEXT NOT NULL,
    name        TEXT NOT NULL,
    start_ns    INTEGER NOT NULL,
    duration_ns INTEGER NOT NULL,
    cached      INTEGER,
    error       INTEGER NOT NULL,
    trace       INTEGER NOT NULL,
    span_id     BLOB NOT NULL
);
CREATE INDEX runs_by_task ON runs(service, name, start_ns);
CREATE INDEX runs_by_trace ON runs(trace);

CREATE TABLE names (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (kind, name)
) WITHOUT ROWID;

CREATE TABLE logs (
    id              INTEGER PRIMARY KEY,
    time_ns         INTEGER NOT NULL,
    observed_ns     INTEGER NOT NULL,
    service         TEXT NOT NULL,
    severity_number INTEGER NOT NULL,
    severity_text   TEXT NOT NULL,
    body            TEXT NOT NULL,
    event_name      TEXT NOT NULL,
    trace_id        BLOB,
    span_id         BLOB,
    scope           TEXT NOT NULL,
    attributes      TEXT,
    resource        TEXT,
    hash            BLOB NOT NULL
);
CREATE INDEX logs_by_time ON logs(time_ns);
CREATE INDEX logs_by_service ON logs(service, time_ns);
CREATE INDEX logs_by_trace ON logs(trace_id) WHERE trace_id IS NOT NULL;
CREATE UNIQUE INDEX logs_by_hash ON logs(hash);
CREATE VIRTUAL TABLE logs_fts USING fts5(body, content='logs', content_rowid='id');
CREATE TRIGGER logs_fts_insert AFTER INSERT ON logs BEGIN
    INSERT INTO logs_fts(rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER logs_fts_delete AFTER DELETE ON logs BEGIN
    INSERT INTO logs_fts(logs_fts, rowid, body) VALUES ('delete', old.id, old.body);
END;

CREATE TABLE metric_series (
    id          INTEGER PRIMARY KEY,
    service     TEXT NOT NULL,
    name        TEXT NOT NULL,
    type        TEXT NOT NULL,
    unit        TEXT NOT NULL,
    description TEXT NOT NULL,
    temporality TEXT,
    monotonic   INTEGER,
    attributes  TEXT NOT NULL,
    resource    TEXT,
    scope       TEXT NOT NULL,
    key         BLOB NOT NULL UNIQUE
);
CREATE INDEX metric_series_by_name ON metric_series(service, name);

CREATE TABLE metric_points (
    series_id     INTEGER NOT NULL,
    time_ns       INTEGER NOT NULL,
    start_ns      INTEGER NOT NULL,
    value         REAL,
    count         INTEGER,
    sum           REAL,
    min           REAL,
    max           REAL,
    data          TEXT,
    exemplars     TEXT,
    PRIMARY KEY (series_id, time_ns)
) WITHOUT ROWID;
CREATE INDEX metric_points_by_time ON metric_points(time_ns);
"#;

/// Version 2: the span-name index covers the duration and status, so per-name statistics (a
/// trace page's table) read the index alone instead of one row per span.
const V2: &str = r#"
DROP INDEX spans_by_name;
CREATE INDEX spans_by_name ON spans(name, trace, duration_ns, status);
"#;

/// Creates the schema in an empty database, or migrates an older one up to [`VERSION`].
/// Returns the version found.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<std::result::Result<i64, String>> {
    migrate_to(conn, VERSION)
}

/// [`migrate`], stopping at version `to` (tests build older databases with it).
pub fn migrate_to(
    conn: &mut Connection,
    to: i64,
) -> rusqlite::Result<std::result::Result<i64, String>> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > VERSION {
        return Ok(Err(format!(
            "the database has schema version {found}, written by a later otelctl; this one reads up to {VERSION}"
        )));
    }
    if found >= to {
        return Ok(Ok(found));
    }
    let tx = conn.transaction()?;
    // Each step takes the schema from version n-1 to n.
    if found < 1 {
        tx.execute_batch(V1)?;
    }
    if found < 2 && to >= 2 {
        tx.execute_batch(V2)?;
    }
    tx.pragma_update(None, "user_version", to)?;
    tx.commit()?;
    Ok(Ok(found))
}

/// The tables docs/store.md documents (the sqlite3 test checks each).
pub const TABLES: &[&str] = &[
    "meta",
    "traces",
    "trace_services",
    "batches",
    "spans",
    "runs",
    "names",
    "logs",
    "logs_fts",
    "metric_series",
    "metric_points",
];
