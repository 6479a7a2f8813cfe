//! The one writer: a thread that owns the database's write connection and commits everything
//! pending in one transaction (group commit). Callers prepare their rows on their own threads
//! ([`crate::prepare`]) and wait for the answer; an answer is sent only once the transaction
//! holding the request is committed (with `synchronous=FULL`, synced), or failed (nothing of it
//! stored). Between batches the writer applies retention in small steps, so eviction and
//! vacuuming never hold up ingest for long.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::prepare::{encode_batch, PreparedTraces};
use crate::{now_ns, Change, Inner, NotStored, TraceOutcome};

/// What the writer is asked to do.
pub(crate) enum Job {
    Traces(PreparedTraces, Reply<TraceOutcome>),
    Logs(
        crate::signals::PreparedLogs,
        Reply<crate::signals::LogOutcome>,
    ),
    Metrics(
        crate::signals::PreparedMetrics,
        Reply<crate::signals::MetricOutcome>,
    ),
    Clear(Reply<u64>),
    /// Runs retention now (tests, and after a start), answering when done.
    Maintain(Reply<u64>),
    Stop,
}

pub(crate) type Reply<T> = tokio::sync::oneshot::Sender<Result<T, NotStored>>;

/// Most spans (or log records, or points) committed in one transaction; more waits for the next.
const MAX_BATCH_ITEMS: u64 = 50_000;
/// How often retention is checked while requests keep coming.
const MAINTAIN_EVERY: Duration = Duration::from_secs(1);
/// Traces evicted per retention step (one short transaction).
const EVICT_CHUNK: usize = 200;
/// Longest a retention turn runs before ingest gets the writer back.
const MAINTAIN_BUDGET: Duration = Duration::from_millis(50);
/// Pages returned to the file system per vacuum step.
const VACUUM_PAGES: i64 = 1024;

pub(crate) struct Writer {
    pub conn: Connection,
    pub inner: Arc<Inner>,
    pub next_batch: i64,
    /// Names already in the `names` table (saves a write per span name).
    pub names: HashSet<(u8, String)>,
}

/// One request's effect, applied to the totals once committed.
#[derive(Default)]
struct Delta {
    traces: i64,
    spans: i64,
    changed: Vec<[u8; 16]>,
}

impl Writer {
    pub fn run(mut self, jobs: Receiver<Job>) {
        let mut last_maintain = Instant::now();
        let mut backlog = true;
        loop {
            let wait = if backlog {
                Duration::ZERO
            } else {
                MAINTAIN_EVERY
            };
            let first = match jobs.recv_timeout(wait) {
                Ok(j) => Some(j),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return self.close(),
            };
            let mut batch = Vec::new();
            let mut items = 0;
            let mut stop = false;
            let mut next = first;
            while let Some(job) = next {
                match job {
                    Job::Stop => {
                        stop = true;
                        break;
                    }
                    Job::Maintain(reply) => {
                        let _ = reply.send(Ok(self.maintain(Duration::MAX).0));
                    }
                    Job::Clear(reply) => {
                        self.commit(std::mem::take(&mut batch));
                        let _ = reply.send(self.clear());
                    }
                    other => {
                        items += match &other {
                            Job::Traces(p, _) => p.spans.max(1),
                            Job::Logs(p, _) => p.len().max(1),
                            Job::Metrics(p, _) => p.len().max(1),
                            _ => 1,
                        };
                        batch.push(other);
                    }
                }
                if items >= MAX_BATCH_ITEMS {
                    break;
                }
                next = jobs.try_recv().ok();
            }
            self.commit(batch);
            if stop {
                return self.close();
            }
            if backlog || last_maintain.elapsed() >= MAINTAIN_EVERY {
                let (_, more) = self.maintain(MAINTAIN_BUDGET);
                backlog = more;
                last_maintain = Instant::now();
            }
        }
    }

    fn close(self) {
        let _ = self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
    }

    /// Commits every job of `batch` in one transaction, then answers each.
    fn commit(&mut self, batch: Vec<Job>) {
        if batch.is_empty() {
            return;
        }
        let next_batch = self.next_batch;
        let names = self.names.len();
        let result = (|| -> rusqlite::Result<(Vec<Answer>, Delta)> {
            let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
            let mut delta = Delta::default();
            let mut answers = Vec::with_capacity(batch.len());
            let now = now_ns() as i64;
            for job in &batch {
                answers.push(match job {
                    Job::Traces(p, _) => Answer::Traces(apply_traces(
                        &tx,
                        &mut self.next_batch,
                        &mut self.names,
                        p,
                        now,
                        &mut delta,
                    )?),
                    Job::Logs(p, _) => Answer::Logs(crate::signals::apply_logs(&tx, p)?),
                    Job::Metrics(p, _) => Answer::Metrics(crate::signals::apply_metrics(&tx, p)?),
                    _ => Answer::None,
                });
            }
            tx.commit()?;
            Ok((answers, delta))
        })();
        match result {
            Ok((answers, delta)) => {
                let inner = &self.inner;
                inner.traces.fetch_add(delta.traces, Ordering::SeqCst);
                inner.spans.fetch_add(delta.spans, Ordering::SeqCst);
                {
                    let mut c = inner.counters.lock().unwrap_or_else(|e| e.into_inner());
                    for a in &answers {
                        match a {
                            Answer::Traces(o) => {
                                c.accepted_spans += o.accepted;
                                c.rejected_spans += o.rejected;
                                c.duplicate_spans += o.duplicates;
                            }
                            Answer::Logs(o) => {
                                c.accepted_logs += o.accepted;
                                c.duplicate_logs += o.duplicates;
                            }
                            Answer::Metrics(o) => {
                                c.accepted_points += o.accepted;
                                c.duplicate_points += o.duplicates;
                            }
                            Answer::None => {}
                        }
                    }
                }
                let mut changes: Vec<Change> =
                    delta.changed.into_iter().map(Change::Trace).collect();
                for (job, answer) in batch.iter().zip(&answers) {
                    match (job, answer) {
                        (Job::Logs(p, _), Answer::Logs(o)) if o.accepted > 0 => {
                            changes.extend(p.changes())
                        }
                        (Job::Metrics(..), Answer::Metrics(o)) if o.accepted > 0 => {
                            changes.push(Change::Metrics)
                        }
                        _ => {}
                    }
                }
                if !changes.is_empty() {
                    inner.note(changes);
                }
                for (job, answer) in batch.into_iter().zip(answers) {
                    match (job, answer) {
                        (Job::Traces(_, r), Answer::Traces(o)) => {
                            let _ = r.send(Ok(o));
                        }
                        (Job::Logs(_, r), Answer::Logs(o)) => {
                            let _ = r.send(Ok(o));
                        }
                        (Job::Metrics(_, r), Answer::Metrics(o)) => {
                            let _ = r.send(Ok(o));
                        }
                        _ => {}
                    }
                }
            }
            Err(e) => {
                // Rolled back (the transaction dropped): nothing of the batch is stored.
                self.next_batch = next_batch;
                if self.names.len() != names {
                    self.names = load_names(&self.conn).unwrap_or_default();
                }
                let why = NotStored(e.to_string());
                for job in batch {
                    match job {
                        Job::Traces(_, r) => {
                            let _ = r.send(Err(why.clone()));
                        }
                        Job::Logs(_, r) => {
                            let _ = r.send(Err(why.clone()));
                        }
                        Job::Metrics(_, r) => {
                            let _ = r.send(Err(why.clone()));
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    fn clear(&mut self) -> Result<u64, NotStored> {
        let run = || -> rusqlite::Result<u64> {
            let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
            let n: i64 = tx.query_row("SELECT count(*) FROM traces", [], |r| r.get(0))?;
            tx.execute_batch(
                "DELETE FROM traces; DELETE FROM trace_services; DELETE FROM batches;
                 DELETE FROM spans; DELETE FROM runs; DELETE FROM names; DELETE FROM logs;
                 DELETE FROM metric_points; DELETE FROM metric_series;",
            )?;
            add_meta(&tx, "cleared_traces", n)?;
            tx.commit()?;
            Ok(n as u64)
        };
        let n = run().map_err(|e| NotStored(e.to_string()))?;
        self.names.clear();
        self.inner.traces.store(0, Ordering::SeqCst);
        self.inner.spans.store(0, Ordering::SeqCst);
        self.inner
            .counters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .cleared_traces += n;
        self.inner.note(vec![Change::Cleared]);
        Ok(n)
    }

    /// One retention turn within `budget`: evicts by age, then by size, oldest first, then
    /// returns free pages to the file system. Returns (traces evicted, whether more is due).
    fn maintain(&mut self, budget: Duration) -> (u64, bool) {
        let started = Instant::now();
        let retention = self.inner.retention;
        let mut evicted = 0u64;
        let mut more = false;
        loop {
            let over_age = retention
                .max_age
                .map(|a| now_ns().saturating_sub(a.as_nanos().min(u128::from(u64::MAX)) as u64));
            let over_size = retention
                .max_bytes
                .map(|cap| used_bytes(&self.conn).unwrap_or(0).saturating_sub(cap))
                .filter(|excess| *excess > 0);
            let over_count = retention.max_traces.and_then(|max| {
                let n = self.inner.traces.load(Ordering::SeqCst).max(0) as u64;
                (n > max).then(|| n - max)
            });
            let step = match evict_step(self, over_age, over_size, over_count) {
                Ok(n) => n,
                Err(e) => {
                    eprintln!("otelctl: warning: retention step failed: {e}");
                    break;
                }
            };
            evicted += step;
            if step == 0 {
                break;
            }
            if started.elapsed() >= budget {
                more = true;
                break;
            }
        }
        // Return free pages in steps (auto_vacuum=INCREMENTAL), while many are free.
        let free: i64 = self
            .conn
            .query_row("PRAGMA freelist_count", [], |r| r.get(0))
            .unwrap_or(0);
        let pages: i64 = self
            .conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .unwrap_or(1);
        if free > VACUUM_PAGES && free * 8 > pages {
            let _ = self
                .conn
                .execute_batch(&format!("PRAGMA incremental_vacuum({VACUUM_PAGES});"));
            more = true;
        }
        (evicted, more)
    }
}

enum Answer {
    Traces(TraceOutcome),
    Logs(crate::signals::LogOutcome),
    Metrics(crate::signals::MetricOutcome),
    None,
}

/// Bytes the database uses (pages in use; free pages are reused before the file grows).
pub(crate) fn used_bytes(conn: &Connection) -> rusqlite::Result<u64> {
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let free: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
    let size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    Ok(((pages - free).max(0) * size) as u64)
}

pub(crate) fn add_meta(tx: &Connection, key: &str, n: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO meta(key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = value + excluded.value",
    )?
    .execute(params![key, n])?;
    Ok(())
}

pub(crate) fn load_names(conn: &Connection) -> rusqlite::Result<HashSet<(u8, String)>> {
    let mut stmt = conn.prepare("SELECT kind, name FROM names LIMIT 100000")?;
    let rows = stmt.query_map([], |r| {
        let kind: String = r.get(0)?;
        Ok((u8::from(kind == "span"), r.get::<_, String>(1)?))
    })?;
    rows.collect()
}

/// Evicts one chunk: traces older than `before_ns`, else (when `over_size`) the oldest traces,
/// log records and metric points, whichever is oldest. Returns how many rows went.
fn evict_step(
    w: &mut Writer,
    before_ns: Option<u64>,
    over_size: Option<u64>,
    over_count: Option<u64>,
) -> rusqlite::Result<u64> {
    let tx = Transaction::new_unchecked(&w.conn, TransactionBehavior::Immediate)?;
    let oldest_trace: Option<i64> = tx
        .query_row("SELECT min(start_ns) FROM traces", [], |r| r.get(0))
        .optional()?
        .flatten();
    let oldest_log: Option<i64> = tx
        .query_row("SELECT min(time_ns) FROM logs", [], |r| r.get(0))
        .optional()?
        .flatten();
    let oldest_point: Option<i64> = tx
        .query_row("SELECT min(time_ns) FROM metric_points", [], |r| r.get(0))
        .optional()?
        .flatten();
    let cutoff = before_ns.map(|b| b as i64);
    // Which signal to cut: by age, each older than the cutoff; by size, the oldest of the three.
    let (mut traces, mut logs, mut points) = (false, false, false);
    if let Some(c) = cutoff {
        traces = oldest_trace.is_some_and(|t| t < c);
        logs = oldest_log.is_some_and(|t| t < c);
        points = oldest_point.is_some_and(|t| t < c);
    }
    let by_age = traces || logs || points;
    if !by_age && over_count.is_some() {
        traces = true;
    } else if !by_age && over_size.is_some() {
        let oldest = [oldest_trace, oldest_log, oldest_point]
            .into_iter()
            .flatten()
            .min();
        traces = oldest.is_some() && oldest == oldest_trace;
        logs = !traces && oldest.is_some() && oldest == oldest_log;
        points = !traces && !logs && oldest.is_some() && oldest == oldest_point;
    }
    let limit = |age: bool| {
        if age {
            cutoff.unwrap_or(i64::MAX)
        } else {
            i64::MAX
        }
    };
    let mut removed = 0u64;
    let mut changed = Vec::new();
    let (mut dropped_traces, mut dropped_spans) = (0i64, 0i64);
    let (mut dropped_logs, mut dropped_points) = (0u64, 0u64);
    if traces {
        let mut ids: Vec<(i64, Vec<u8>, i64)> = Vec::new();
        {
            let mut stmt = tx.prepare_cached(
                "SELECT id, trace_id, span_count, bytes FROM traces WHERE start_ns < ?1 ORDER BY start_ns LIMIT ?2",
            )?;
            let chunk = match (by_age, over_count) {
                (false, Some(n)) => n.min(EVICT_CHUNK as u64) as i64,
                _ => EVICT_CHUNK as i64,
            };
            let mut rows = stmt.query(params![limit(by_age), chunk])?;
            // By size: about as many as free the excess (a trace's pages: its batches, about
            // as much again for its span rows and index entries).
            let mut freed = 0u64;
            while let Some(r) = rows.next()? {
                ids.push((r.get(0)?, r.get(1)?, r.get(2)?));
                let bytes: i64 = r.get(3)?;
                let spans: i64 = r.get(2)?;
                freed += (bytes.max(0) as u64) * 2 + (spans.max(0) as u64) * 100;
                if let (false, None, Some(excess)) = (by_age, over_count, over_size) {
                    if freed >= excess {
                        break;
                    }
                }
            }
        }
        for (key, id, spans) in &ids {
            for sql in [
                "DELETE FROM spans WHERE trace = ?1",
                "DELETE FROM batches WHERE trace = ?1",
                "DELETE FROM runs WHERE trace = ?1",
                "DELETE FROM trace_services WHERE trace = ?1",
                "DELETE FROM traces WHERE id = ?1",
            ] {
                tx.prepare_cached(sql)?.execute([key])?;
            }
            dropped_traces += 1;
            dropped_spans += spans;
            if let Ok(id) = <[u8; 16]>::try_from(id.as_slice()) {
                changed.push(id);
            }
        }
        removed += ids.len() as u64;
        add_meta(&tx, "dropped_traces", dropped_traces)?;
        add_meta(&tx, "dropped_spans", dropped_spans)?;
    }
    if logs {
        let n = tx
            .prepare_cached(
                "DELETE FROM logs WHERE id IN (SELECT id FROM logs WHERE time_ns < ?1 ORDER BY time_ns LIMIT ?2)",
            )?
            .execute(params![limit(by_age), (EVICT_CHUNK * 10) as i64])?;
        add_meta(&tx, "dropped_logs", n as i64)?;
        dropped_logs = n as u64;
        removed += n as u64;
    }
    if points {
        let n = tx
            .prepare_cached(
                "DELETE FROM metric_points WHERE (series_id, time_ns) IN (SELECT series_id, time_ns FROM metric_points WHERE time_ns < ?1 ORDER BY time_ns LIMIT ?2)",
            )?
            .execute(params![limit(by_age), (EVICT_CHUNK * 10) as i64])?;
        add_meta(&tx, "dropped_points", n as i64)?;
        dropped_points = n as u64;
        removed += n as u64;
    }
    tx.commit()?;
    {
        let mut c = w.inner.counters.lock().unwrap_or_else(|e| e.into_inner());
        c.dropped_logs += dropped_logs;
        c.dropped_points += dropped_points;
    }
    if dropped_traces > 0 {
        let inner = &w.inner;
        inner.traces.fetch_sub(dropped_traces, Ordering::SeqCst);
        inner.spans.fetch_sub(dropped_spans, Ordering::SeqCst);
        let mut c = inner.counters.lock().unwrap_or_else(|e| e.into_inner());
        c.dropped_traces += dropped_traces as u64;
        c.dropped_spans += dropped_spans as u64;
        drop(c);
        inner.note(changed.into_iter().map(Change::Trace).collect());
    }
    Ok(removed)
}

/// Inserts one prepared export: spans new to their trace (a span id already stored is skipped),
/// a batch per trace holding them, the trace's summary, its services, task runs and names.
///
/// Rows are keyed by the trace's row number (`traces.id`, given in arrival order), not by its
/// random 16-byte id: a new trace's rows then go at the end of every index, and only the
/// `trace_id` index takes a random insertion (each random insertion dirties a page that the
/// transaction writes whole).
fn apply_traces(
    tx: &Transaction,
    next_batch: &mut i64,
    names: &mut HashSet<(u8, String)>,
    p: &PreparedTraces,
    now: i64,
    delta: &mut Delta,
) -> rusqlite::Result<TraceOutcome> {
    let mut outcome = TraceOutcome {
        rejected: p.rejected,
        reason: p.reason.clone(),
        ..Default::default()
    };
    let mut insert_span = tx.prepare_cached(
        "INSERT OR IGNORE INTO spans(trace, span_id, parent_span_id, batch, service, name, kind, start_ns, duration_ns, status, attributes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    let mut insert_run = tx.prepare_cached(
        "INSERT INTO runs(service, name, start_ns, duration_ns, cached, error, trace, span_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    let mut insert_batch = tx.prepare_cached(
        "INSERT INTO batches(id, trace, received_ns, span_count, resource, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut find = tx.prepare_cached(
        "SELECT id, start_ns, end_ns, root_rank, root_start_ns FROM traces WHERE trace_id = ?1",
    )?;
    let mut insert_trace = tx.prepare_cached(
        "INSERT INTO traces(trace_id, start_ns, end_ns, duration_ns, service, root_name, root_span_id, root_rank, root_start_ns, span_count, error_count, bytes, updated_ns)
         VALUES (?1, 0, 0, 0, '', '', NULL, -2, 0, 0, 0, 0, ?2)",
    )?;
    let mut update_trace = tx.prepare_cached(
        "UPDATE traces SET start_ns = ?2, end_ns = ?3, duration_ns = ?3 - ?2,
           span_count = span_count + ?4, error_count = error_count + ?5, bytes = bytes + ?6, updated_ns = ?7
         WHERE id = ?1",
    )?;
    let mut update_root = tx.prepare_cached(
        "UPDATE traces SET service = ?2, root_name = ?3, root_span_id = ?4, root_rank = ?5, root_start_ns = ?6 WHERE id = ?1",
    )?;
    let mut insert_service =
        tx.prepare_cached("INSERT OR IGNORE INTO trace_services(service, trace) VALUES (?1, ?2)")?;
    let mut insert_name =
        tx.prepare_cached("INSERT OR IGNORE INTO names(kind, name) VALUES (?1, ?2)")?;
    for g in &p.groups {
        let batch_id = *next_batch;
        let tid = &g.trace_id[..];
        let existing = find
            .query_row([tid], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })
            .optional()?;
        let (key, mut start, mut end, old_rank, old_root_start) = match existing {
            Some(e) => e,
            None => {
                insert_trace.execute(params![tid, now])?;
                (tx.last_insert_rowid(), i64::MAX, 0, -2, i64::MAX)
            }
        };
        let mut keep: Vec<Vec<bool>> = Vec::with_capacity(g.scopes.len());
        let (mut fresh, mut errors) = (0i64, 0i64);
        // The root candidate: a span without a parent, else one whose parent is not in this
        // group; the earliest of the best kind.
        let ids: HashSet<[u8; 8]> = g
            .scopes
            .iter()
            .flat_map(|s| s.spans.iter().map(|s| s.span_id))
            .collect();
        let mut root: Option<(i64, i64, &crate::prepare::PreparedSpan)> = None;
        for scope in &g.scopes {
            let mut k = Vec::with_capacity(scope.spans.len());
            for s in &scope.spans {
                let duration = s.duration_ns() as i64;
                let added = insert_span.execute(params![
                    key,
                    &s.span_id[..],
                    s.parent.as_ref().map(|p| &p[..]),
                    batch_id,
                    g.service,
                    s.name,
                    s.kind,
                    s.start_ns as i64,
                    duration,
                    s.status,
                    s.attributes,
                ])? == 1;
                k.push(added);
                if !added {
                    outcome.duplicates += 1;
                    continue;
                }
                fresh += 1;
                errors += i64::from(s.is_error());
                start = start.min(s.start_ns as i64);
                end = end.max(s.end_ns as i64);
                let rank = match s.parent {
                    None => 1,
                    Some(p) if !ids.contains(&p) => 0,
                    Some(_) => -1,
                };
                if rank >= 0 {
                    let better = match root {
                        None => true,
                        Some((r, st, _)) => (rank, -(s.start_ns as i64)) > (r, -st),
                    };
                    if better {
                        root = Some((rank, s.start_ns as i64, s));
                    }
                }
                if s.parent.is_none() || s.cached.is_some() {
                    insert_run.execute(params![
                        g.service,
                        s.name,
                        s.start_ns as i64,
                        duration,
                        s.cached,
                        s.is_error(),
                        key,
                        &s.span_id[..],
                    ])?;
                }
                if names.len() < 100_000 && !names.contains(&(1, s.name.clone())) {
                    insert_name.execute(params!["span", s.name])?;
                    names.insert((1, s.name.clone()));
                }
            }
            keep.push(k);
        }
        if fresh == 0 {
            continue;
        }
        *next_batch += 1;
        let blob = encode_batch(g, &keep);
        insert_batch.execute(params![batch_id, key, now, fresh, g.resource_json, blob])?;
        update_trace.execute(params![
            key,
            start,
            end,
            fresh,
            errors,
            blob.len() as i64,
            now
        ])?;
        // A new trace takes its first root candidate (or, when every span's parent is among
        // its spans, a cycle, none: an empty root name); a better one replaces the old.
        let candidate = match root {
            Some((r, st, s)) => Some((r, st, s.name.as_str(), Some(&s.span_id[..]))),
            None if old_rank == -2 => Some((-1, start, "", None)),
            None => None,
        };
        if let Some((rank, root_start, name, span_id)) = candidate {
            if (rank, -root_start) > (old_rank, -old_root_start) {
                update_root.execute(params![key, g.service, name, span_id, rank, root_start])?;
            }
        }
        insert_service.execute(params![g.service, key])?;
        if names.len() < 100_000 && !names.contains(&(0, g.service.clone())) {
            insert_name.execute(params!["service", g.service])?;
            names.insert((0, g.service.clone()));
        }
        outcome.accepted += fresh as u64;
        delta.spans += fresh;
        delta.traces += i64::from(existing.is_none());
        delta.changed.push(g.trace_id);
    }
    Ok(outcome)
}
