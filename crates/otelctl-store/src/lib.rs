//! The embedded store of otelctl (`otelctl up --embedded`): traces, logs and metrics in one
//! SQLite database, `<data>/embedded/store.db`, whose schema docs/store.md documents for anyone
//! opening it with `sqlite3`.
//!
//! - **Writes** go through one writer thread ([`writer`]) that commits everything pending in one
//!   transaction (group commit). [`Store::append_traces`] resolves only once its transaction is
//!   committed: with [`Durability::Fsync`] (the default, `synchronous=FULL`) that means synced
//!   to disk; with [`Durability::Write`] (`synchronous=NORMAL` in WAL mode) written to the
//!   database's log, which survives the process being killed but not the machine crashing.
//!   A failed commit (disk full, I/O error) stores nothing of any request in it, and each is
//!   answered with [`NotStored`].
//! - **Spans** are prepared on the caller's thread ([`prepare`]): each trace's new spans are kept
//!   as one encoded batch (protobuf, what OTLP sent) plus one narrow row per span (ids, name,
//!   service, times, status, attributes as JSON) and a summary row per trace. A span id already
//!   stored in its trace is skipped, so retries and replays never double a span.
//! - **Reads** use their own connections (WAL mode: readers never wait for the writer) and
//!   indexed queries ([`query`]).
//! - **Retention** ([`Retention`]) evicts whole traces by start time (and log records and metric
//!   points by time), by age and by size, in short steps between the writer's batches; drops are
//!   counted ([`Counters`]) and kept in the database.
//! - **Damage**: a database that fails `PRAGMA quick_check` (or does not open) at start is renamed
//!   aside, never deleted, a new one is started and what can still be read from the old one is
//!   imported ([`OpenReport`]).
//! - **The store before this one** (trace files and a write-ahead log, [`legacy`]) is imported at
//!   the first start, and its files removed only once that import is committed.

pub mod legacy;
mod prepare;
pub mod query;
pub mod schema;
pub mod signals;
mod writer;

use std::collections::{HashSet, VecDeque};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use serde::Serialize;
use tokio::sync::{oneshot, watch};

use otelctl_config::error::{Error, Result};
use otelctl_config::paths::ensure_private_dir;
use otelctl_otlp::ExportTraceServiceRequest;

pub use prepare::{cached, service_name};
pub use query::{NameSample, Reader, TaskRun, TraceQuery, TraceRow};
pub use signals::{LogEntry, LogOutcome, LogQuery, MetricName, MetricOutcome, Point, Series};

/// The service a span is shown under when its resource names none (the OpenTelemetry default).
pub const UNKNOWN_SERVICE: &str = "unknown_service";

/// The database's file name, in the embedded data directory.
pub const FILE_NAME: &str = "store.db";

/// The database file of an embedded data directory.
pub fn db_path(embedded: &Path) -> PathBuf {
    embedded.join(FILE_NAME)
}

/// When an append is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Once the transaction is synced (`synchronous=FULL`): survives a machine crash.
    #[default]
    Fsync,
    /// Once the transaction is in the database's write-ahead log (`synchronous=NORMAL`, WAL mode;
    /// the log is synced at checkpoints): survives otelctl being killed, not the machine
    /// crashing, which may lose the transactions since the last checkpoint.
    Write,
}

impl Durability {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "fsync" => Some(Durability::Fsync),
            "write" => Some(Durability::Write),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Durability::Fsync => "fsync",
            Durability::Write => "write",
        }
    }
}

/// How much history is kept. Whole traces go, oldest start first (log records and metric points
/// by their time); `None` keeps everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Data older than this goes.
    pub max_age: Option<Duration>,
    /// The database's pages in use (traces, logs and metrics together) stay under this: the
    /// oldest data of any signal goes first.
    pub max_bytes: Option<u64>,
    /// At most this many traces (the oldest go first).
    pub max_traces: Option<u64>,
}

/// Default age limit: 90 days, a quarter of history for run-over-run comparisons.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(90 * 24 * 3600);
/// Default size limit: 2 GiB (see docs/store.md for what that holds).
pub const DEFAULT_MAX_BYTES: u64 = 2 * 1024 * 1024 * 1024;

impl Retention {
    /// Keeps everything.
    pub const NONE: Retention = Retention {
        max_age: None,
        max_bytes: None,
        max_traces: None,
    };
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            max_age: Some(DEFAULT_MAX_AGE),
            max_bytes: Some(DEFAULT_MAX_BYTES),
            max_traces: None,
        }
    }
}

/// How to open the store.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub durability: Durability,
    pub retention: Retention,
}

/// Running totals: since the server started for what arrived, over the database's life for
/// what retention dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Spans stored.
    pub accepted_spans: u64,
    /// Spans refused (ids of the wrong length or all zero).
    pub rejected_spans: u64,
    /// Spans ignored because their trace already held their span id.
    pub duplicate_spans: u64,
    /// Spans of traces dropped by retention.
    pub dropped_spans: u64,
    /// Traces dropped whole by retention.
    pub dropped_traces: u64,
    /// Traces removed by a clear.
    pub cleared_traces: u64,
    /// Log records stored.
    pub accepted_logs: u64,
    /// Log records ignored because they were stored already.
    pub duplicate_logs: u64,
    /// Log records dropped by retention.
    pub dropped_logs: u64,
    /// Metric points stored.
    pub accepted_points: u64,
    /// Metric points ignored because their series already had a point at that time.
    pub duplicate_points: u64,
    /// Metric points dropped by retention.
    pub dropped_points: u64,
}

/// The outcome of one trace export.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceOutcome {
    pub accepted: u64,
    pub rejected: u64,
    /// Spans already stored (a retry or a replay).
    pub duplicates: u64,
    /// Why spans were rejected (the first reason), for the partial-success message.
    pub reason: Option<String>,
}

/// An append that was not committed: nothing of it is stored. Answer "unavailable" (retryable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotStored(pub String);

impl std::fmt::Display for NotStored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the data could not be saved: {}", self.0)
    }
}

impl std::error::Error for NotStored {}

/// What happened to the store, for live updates.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Change {
    /// A trace gained spans, or was dropped.
    Trace([u8; 16]),
    /// Log records were stored: of this trace, or (`None`) without a trace id.
    Logs(Option<[u8; 16]>),
    /// Metric points were stored.
    Metrics,
    /// Everything was cleared.
    Cleared,
}

/// What [`Store::open`] found and did.
#[derive(Debug, Default)]
pub struct OpenReport {
    /// Traces imported from the store before this one.
    pub migrated_traces: u64,
    /// Spans recovered from a damaged database (set aside).
    pub salvaged_spans: u64,
    /// Messages for the user (a damaged database set aside, unreadable old files).
    pub warnings: Vec<String>,
}

/// How many changes the feed remembers; a client further behind refreshes everything.
const FEED_LEN: usize = 256;

#[derive(Debug, Default)]
struct Feed {
    generation: u64,
    changes: VecDeque<(u64, Change)>,
    lost_upto: u64,
}

/// State shared by the store handle and its writer thread.
pub(crate) struct Inner {
    pub retention: Retention,
    pub durability: Durability,
    pub traces: AtomicI64,
    pub spans: AtomicI64,
    pub counters: Mutex<Counters>,
    feed: Mutex<Feed>,
    generation: watch::Sender<u64>,
}

impl Inner {
    /// Records committed changes and publishes the new generation.
    pub(crate) fn note(&self, changes: Vec<Change>) {
        let mut feed = self.feed.lock().unwrap_or_else(|e| e.into_inner());
        let mut seen = HashSet::new();
        for change in changes {
            if !seen.insert(change.clone()) {
                continue;
            }
            feed.generation += 1;
            let g = feed.generation;
            if feed.changes.back().is_some_and(|(_, c)| *c == change) {
                feed.changes.pop_back();
            }
            feed.changes.push_back((g, change));
            while feed.changes.len() > FEED_LEN {
                if let Some((g, _)) = feed.changes.pop_front() {
                    feed.lost_upto = g;
                }
            }
        }
        let g = feed.generation;
        drop(feed);
        self.generation.send_replace(g);
    }
}

/// Tells the checkpoint thread to stop.
type StopFlag = (Mutex<bool>, std::sync::Condvar);

/// The open store. Appends go to the writer thread; queries run on the caller's thread.
pub struct Store {
    inner: Arc<Inner>,
    path: PathBuf,
    jobs: Mutex<Option<Sender<writer::Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    checkpointer: Mutex<Option<(Arc<StopFlag>, JoinHandle<()>)>>,
    readers: Mutex<Vec<Connection>>,
}

/// An append on its way: wait for it with [`Pending::wait`] (async) or
/// [`Pending::wait_blocking`].
pub struct Pending<T>(
    std::result::Result<oneshot::Receiver<std::result::Result<T, NotStored>>, NotStored>,
);

impl<T> Pending<T> {
    pub async fn wait(self) -> std::result::Result<T, NotStored> {
        match self.0 {
            Ok(rx) => rx
                .await
                .unwrap_or_else(|_| Err(NotStored("the store has stopped".into()))),
            Err(e) => Err(e),
        }
    }
    pub fn wait_blocking(self) -> std::result::Result<T, NotStored> {
        match self.0 {
            Ok(rx) => rx
                .blocking_recv()
                .unwrap_or_else(|_| Err(NotStored("the store has stopped".into()))),
            Err(e) => Err(e),
        }
    }
}

pub(crate) fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos().min(u128::from(u64::MAX)) as u64)
        .unwrap_or(0)
}

fn sql_error(what: &str, path: &Path, e: impl std::fmt::Display) -> Error {
    Error::failed(format!("{what} {}", path.display()), e)
}

/// Connection settings every connection gets.
fn configure(conn: &Connection, durability: Durability) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(
        None,
        "synchronous",
        match durability {
            Durability::Fsync => "FULL",
            Durability::Write => "NORMAL",
        },
    )?;
    // 8 MiB of page cache for readers (the writer takes more, `WRITER_CACHE_KIB`).
    conn.pragma_update(None, "cache_size", -8192)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(())
}

/// The writer's page cache: the hot pages of every index it inserts into stay in memory.
const WRITER_CACHE_KIB: i64 = 32 * 1024;

/// Why a database cannot be used as it is: `None` when it opens and passes `quick_check`.
fn damage(path: &Path) -> Option<String> {
    let conn = match Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE) {
        Ok(c) => c,
        Err(e) => return Some(e.to_string()),
    };
    let check = conn.query_row("PRAGMA quick_check", [], |r| r.get::<_, String>(0));
    match check {
        Ok(s) if s == "ok" => None,
        Ok(s) => Some(s),
        Err(e) => Some(e.to_string()),
    }
}

/// Creates the database file, private (0600; SQLite gives its log files the same mode).
fn create_private(path: &Path) -> std::io::Result<()> {
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Renames a database and its log files to `<name>.damaged-<unix seconds>`; returns the new
/// path of the database.
fn set_aside(path: &Path) -> std::io::Result<PathBuf> {
    let secs = now_ns() / 1_000_000_000;
    let mut aside = path.with_file_name(format!("{FILE_NAME}.damaged-{secs}"));
    let mut n = 1;
    while aside.exists() {
        aside = path.with_file_name(format!("{FILE_NAME}.damaged-{secs}-{n}"));
        n += 1;
    }
    for suffix in ["-wal", "-shm"] {
        let from = PathBuf::from(format!("{}{suffix}", path.display()));
        if from.exists() {
            std::fs::rename(&from, format!("{}{suffix}", aside.display()))?;
        }
    }
    std::fs::rename(path, &aside)?;
    Ok(aside)
}

impl Store {
    /// Opens (or creates) the store in `embedded` (the embedded data directory): checks the
    /// database, sets a damaged one aside, migrates the schema, imports the store before this
    /// one, and starts the writer.
    pub fn open(embedded: &Path, options: Options) -> Result<(Store, OpenReport)> {
        ensure_private_dir(embedded)?;
        let path = db_path(embedded);
        let mut report = OpenReport::default();
        let mut salvage_from = None;
        if path.exists() {
            if let Some(why) = damage(&path) {
                let aside = set_aside(&path)
                    .map_err(|e| Error::io("cannot set aside the damaged database", &path, e))?;
                report.warnings.push(format!(
                    "the store {} failed its integrity check ({why}); it was renamed {} (kept, not deleted) and a new one started; what could be read from it is imported",
                    path.display(),
                    aside.display()
                ));
                salvage_from = Some(aside);
            }
        }
        create_private(&path).map_err(|e| Error::io("cannot create", &path, e))?;
        let mut conn = Connection::open(&path).map_err(|e| sql_error("cannot open", &path, e))?;
        // Must precede the first table: free pages can then be returned in steps.
        conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")
            .map_err(|e| sql_error("cannot set up", &path, e))?;
        configure(&conn, options.durability)
            .and_then(|()| conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB))
            .map_err(|e| sql_error("cannot set up", &path, e))?;
        match schema::migrate(&mut conn).map_err(|e| sql_error("cannot migrate", &path, e))? {
            Ok(_) => {}
            Err(why) => {
                return Err(
                    Error::failed(format!("cannot open {}", path.display()), why).fix(
                        "use the otelctl that wrote it, or move the file away to start afresh",
                    ),
                )
            }
        }
        let counters = {
            let meta = |key: &str| -> u64 {
                conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| {
                    r.get::<_, i64>(0)
                })
                .map(|v| v.max(0) as u64)
                .unwrap_or(0)
            };
            Counters {
                dropped_spans: meta("dropped_spans"),
                dropped_traces: meta("dropped_traces"),
                cleared_traces: meta("cleared_traces"),
                dropped_logs: meta("dropped_logs"),
                dropped_points: meta("dropped_points"),
                ..Counters::default()
            }
        };
        let (traces, spans): (i64, i64) = conn
            .query_row(
                "SELECT count(*), coalesce(sum(span_count), 0) FROM traces",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(|e| sql_error("cannot read", &path, e))?;
        let next_batch: i64 = conn
            .query_row("SELECT coalesce(max(id), 0) + 1 FROM batches", [], |r| {
                r.get(0)
            })
            .map_err(|e| sql_error("cannot read", &path, e))?;
        let names = writer::load_names(&conn).map_err(|e| sql_error("cannot read", &path, e))?;
        // Checkpoints run on their own thread (below), so the writer never copies pages into
        // the database or waits for its sync in the middle of a commit.
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(|e| sql_error("cannot set up", &path, e))?;
        let checkpointer = {
            let conn = Connection::open(&path).map_err(|e| sql_error("cannot open", &path, e))?;
            configure(&conn, options.durability)
                .map_err(|e| sql_error("cannot set up", &path, e))?;
            let stop = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
            let flag = stop.clone();
            let handle = std::thread::Builder::new()
                .name("store-checkpoint".into())
                .spawn({
                    let wal = wal_path(&path);
                    move || run_checkpointer(&conn, &wal, &flag)
                })
                .map_err(|e| Error::failed("cannot start the store's checkpoint thread", e))?;
            (stop, handle)
        };
        let inner = Arc::new(Inner {
            retention: options.retention,
            durability: options.durability,
            traces: AtomicI64::new(traces),
            spans: AtomicI64::new(spans),
            counters: Mutex::new(counters),
            feed: Mutex::new(Feed::default()),
            generation: watch::Sender::new(0),
        });
        let (tx, rx) = mpsc::channel();
        let w = writer::Writer {
            conn,
            inner: inner.clone(),
            next_batch,
            names,
        };
        let handle = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || w.run(rx))
            .map_err(|e| Error::failed("cannot start the store's writer thread", e))?;
        let store = Store {
            inner,
            path: path.clone(),
            jobs: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(handle)),
            checkpointer: Mutex::new(Some(checkpointer)),
            readers: Mutex::new(Vec::new()),
        };
        if let Some(aside) = salvage_from {
            let (spans, warnings) = store.salvage(&aside);
            report.salvaged_spans = spans;
            report.warnings.extend(warnings);
        }
        if legacy::present(embedded) {
            store.migrate_legacy(embedded, &mut report)?;
        }
        Ok((store, report))
    }

    /// Imports the store before this one; its files go once the import is committed.
    fn migrate_legacy(&self, embedded: &Path, report: &mut OpenReport) -> Result<()> {
        let old = legacy::read(embedded);
        let mut traces: HashSet<Vec<u8>> = HashSet::new();
        let mut pending = Vec::with_capacity(old.exports.len());
        for req in old.exports {
            for (_, s) in req.spans() {
                traces.insert(s.trace_id.clone());
            }
            pending.push(self.submit_traces(req));
        }
        for p in pending {
            p.wait_blocking().map_err(|e| {
                Error::failed(
                    format!(
                        "cannot import the traces of the earlier store in {}",
                        embedded.display()
                    ),
                    e,
                )
                .fix("its files are kept; free some disk space and start again")
            })?;
        }
        report.migrated_traces = traces.len() as u64;
        report.warnings.extend(old.warnings);
        for p in &old.paths {
            std::fs::remove_dir_all(p).map_err(|e| Error::io("cannot remove", p, e))?;
        }
        Ok(())
    }

    /// Imports what can still be read from a damaged database: every batch that decodes.
    fn salvage(&self, aside: &Path) -> (u64, Vec<String>) {
        let mut warnings = Vec::new();
        let conn = match Connection::open_with_flags(aside, OpenFlags::SQLITE_OPEN_READ_ONLY) {
            Ok(c) => c,
            Err(e) => {
                warnings.push(format!(
                    "nothing could be read from {}: {e}",
                    aside.display()
                ));
                return (0, warnings);
            }
        };
        let mut spans = 0u64;
        let mut unreadable = 0u64;
        // Batch by batch, by id ranges, so one damaged page costs only the rows on it.
        let max: i64 = conn
            .query_row("SELECT coalesce(max(id), 0) FROM batches", [], |r| r.get(0))
            .unwrap_or(0);
        let mut pending = Vec::new();
        let mut id = 0i64;
        while id < max {
            let hi = id + 256;
            let rows: rusqlite::Result<Vec<Vec<u8>>> = conn
                .prepare("SELECT data FROM batches WHERE id > ?1 AND id <= ?2")
                .and_then(|mut s| {
                    s.query_map([id, hi], |r| r.get::<_, Vec<u8>>(0))
                        .and_then(|rows| rows.collect())
                });
            match rows {
                Ok(rows) => {
                    for data in rows {
                        match ExportTraceServiceRequest::from_protobuf(&data) {
                            Ok(req) => {
                                spans += req.span_count() as u64;
                                pending.push(self.submit_traces(req));
                            }
                            Err(_) => unreadable += 1,
                        }
                    }
                }
                Err(_) => unreadable += 1,
            }
            id = hi;
        }
        let mut failed = None;
        for p in pending {
            if let Err(e) = p.wait_blocking() {
                failed = Some(e);
            }
        }
        if let Some(e) = failed {
            warnings.push(format!("importing from {} failed: {e}", aside.display()));
        }
        warnings.push(format!(
            "imported {spans} spans from {}{}",
            aside.display(),
            if unreadable > 0 {
                format!("; {unreadable} unreadable parts skipped")
            } else {
                String::new()
            }
        ));
        (spans, warnings)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn durability(&self) -> Durability {
        self.inner.durability
    }

    pub fn retention(&self) -> Retention {
        self.inner.retention
    }

    pub(crate) fn send(&self, job: writer::Job) -> std::result::Result<(), NotStored> {
        let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        match jobs.as_ref() {
            Some(tx) => tx
                .send(job)
                .map_err(|_| NotStored("the store has stopped".into())),
            None => Err(NotStored("the store has stopped".into())),
        }
    }

    /// Hands the writer the job `job` makes around its reply channel; the answer comes once
    /// the transaction holding it is committed.
    pub(crate) fn submit<T>(
        &self,
        job: impl FnOnce(writer::Reply<T>) -> writer::Job,
    ) -> Pending<T> {
        let (tx, rx) = oneshot::channel();
        Pending(self.send(job(tx)).map(|()| rx))
    }

    /// Prepares `req` on this thread and hands it to the writer ([`Store::submit`]).
    pub fn submit_traces(&self, req: ExportTraceServiceRequest) -> Pending<TraceOutcome> {
        let prepared = prepare::prepare(req);
        self.submit(|tx| writer::Job::Traces(prepared, tx))
    }

    /// Stores the spans of one export; resolves once committed.
    pub async fn append_traces(
        &self,
        req: ExportTraceServiceRequest,
    ) -> std::result::Result<TraceOutcome, NotStored> {
        self.submit_traces(req).wait().await
    }

    /// [`Store::append_traces`], blocking.
    pub fn append_traces_blocking(
        &self,
        req: ExportTraceServiceRequest,
    ) -> std::result::Result<TraceOutcome, NotStored> {
        self.submit_traces(req).wait_blocking()
    }

    /// Removes every trace, log record and metric; resolves once committed, with how many
    /// traces went.
    pub async fn clear(&self) -> std::result::Result<u64, NotStored> {
        self.submit(writer::Job::Clear).wait().await
    }

    /// Runs retention until nothing more is due; returns how many rows went.
    pub fn apply_retention(&self) -> std::result::Result<u64, NotStored> {
        self.submit(writer::Job::Maintain).wait_blocking()
    }

    /// Stops the writer once everything already handed to it is committed, and checkpoints.
    pub fn close(&self) {
        if let Some((stop, h)) = self
            .checkpointer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            *stop.0.lock().unwrap_or_else(|e| e.into_inner()) = true;
            stop.1.notify_all();
            let _ = h.join();
        }
        if let Some(tx) = self.jobs.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = tx.send(writer::Job::Stop);
        }
        if let Some(h) = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = h.join();
        }
    }

    pub fn counters(&self) -> Counters {
        self.inner
            .counters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Traces stored now.
    pub fn trace_count(&self) -> u64 {
        self.inner.traces.load(Ordering::SeqCst).max(0) as u64
    }

    /// Spans stored now.
    pub fn span_count(&self) -> u64 {
        self.inner.spans.load(Ordering::SeqCst).max(0) as u64
    }

    /// The change counter: grows with every committed change.
    pub fn generation(&self) -> u64 {
        *self.inner.generation.borrow()
    }

    /// Follows the generation (live updates).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.generation.subscribe()
    }

    /// Changes after generation `since`; `None` when the feed no longer reaches back that far.
    pub fn changes_since(&self, since: u64) -> Option<Vec<Change>> {
        let feed = self.inner.feed.lock().unwrap_or_else(|e| e.into_inner());
        if since < feed.lost_upto {
            return None;
        }
        let mut out: Vec<Change> = Vec::new();
        for (g, c) in &feed.changes {
            if *g > since && !out.contains(c) {
                out.push(c.clone());
            }
        }
        Some(out)
    }

    /// Runs `f` on a read connection (from a small pool).
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let conn = self.readers.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match conn {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(|e| sql_error("cannot open", &self.path, e))?;
                configure(&c, self.inner.durability)
                    .and_then(|()| c.pragma_update(None, "query_only", true))
                    .map_err(|e| sql_error("cannot open", &self.path, e))?;
                c
            }
        };
        let out = f(&conn).map_err(|e| sql_error("cannot read", &self.path, e));
        let mut pool = self.readers.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < 4 {
            pool.push(conn);
        }
        out
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.close();
    }
}

/// How often the log (`store.db-wal`) is copied into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// The size past which the log file is emptied by a checkpoint that waits for the writer.
/// Passive checkpoints never wait, so under continuous commits they never catch up with the
/// writer, the log never restarts from its beginning, and its file grows without bound
/// (0.9 GB beside a 78 MB database after 60 s of logs and metrics at 512 per request,
/// benchmarks/signals.md). Emptying 64 MiB holds the writer for a fraction of a second.
const WAL_LIMIT_BYTES: u64 = 64 << 20;

/// The database's write-ahead log file (SQLite's `-wal` beside it).
fn wal_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_os_string();
    name.push("-wal");
    PathBuf::from(name)
}

/// One checkpoint: passive (never waits for readers or the writer), then, when the log file
/// has grown past `limit` bytes, a truncating one that waits for the writer (up to the
/// connection's busy timeout) and leaves the file empty.
fn checkpoint(conn: &Connection, wal: &Path, limit: u64) {
    let _ = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE);");
    if std::fs::metadata(wal).is_ok_and(|m| m.len() > limit) {
        let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
    }
}

/// Copies the log into the database every [`CHECKPOINT_EVERY`] until told to stop, keeping
/// its file under about [`WAL_LIMIT_BYTES`] ([`checkpoint`]).
fn run_checkpointer(conn: &Connection, wal: &Path, stop: &StopFlag) {
    let mut stopped = stop.0.lock().unwrap_or_else(|e| e.into_inner());
    while !*stopped {
        stopped = stop
            .1
            .wait_timeout(stopped, CHECKPOINT_EVERY)
            .unwrap_or_else(|e| e.into_inner())
            .0;
        if *stopped {
            break;
        }
        drop(stopped);
        checkpoint(conn, wal, WAL_LIMIT_BYTES);
        stopped = stop.0.lock().unwrap_or_else(|e| e.into_inner());
    }
}

/// A read-only view of a store's database, for a process that does not own it (`otelctl
/// traces`, `export` while no server runs). `None` when there is no database yet.
pub fn open_read_only(embedded: &Path) -> Result<Option<query::Reader>> {
    let path = db_path(embedded);
    if !path.exists() {
        return Ok(None);
    }
    let conn = Connection::open_with_flags(
        &path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| sql_error("cannot open", &path, e))?;
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(|e| sql_error("cannot open", &path, e))?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| sql_error("cannot read", &path, e))?;
    if version != schema::VERSION {
        return Err(Error::failed(
            format!("cannot read {}", path.display()),
            format!(
                "its schema version is {version}; this otelctl reads version {}",
                schema::VERSION
            ),
        )
        .fix("start `otelctl up --embedded` once, which migrates it"));
    }
    Ok(Some(query::Reader { conn, path }))
}

#[cfg(test)]
mod tests;
