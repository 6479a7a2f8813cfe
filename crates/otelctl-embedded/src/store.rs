//! The embedded server's trace store: a bounded ring of recent traces, oldest dropped first.
//!
//! Spans are grouped by trace id. Each trace keeps the OTLP `ResourceSpans` batches it arrived
//! in (so export gives back what was received, resource and scope included). Two limits hold
//! at all times after an ingest ([`Limits`]): the number of traces, and the stored size in
//! bytes, counted as the memory the stored spans occupy ([`span_memory`]: the structs and every
//! string, id and attribute they own; the load test in `benchmarks/embedded.md` compares it with
//! the process's resident memory). When either is exceeded the trace updated longest ago
//! is dropped whole; a single trace larger than the byte limit loses its oldest batches.
//! Every drop is counted ([`Counters`]). A span id already stored in its trace is ignored, so a
//! sender's retry (or a spool flush after a lost answer) never doubles a span.
//!
//! The store also keeps a short feed of changes for server-sent events, and the bookkeeping the
//! persister needs (which traces to write, which to delete, whether everything was cleared).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use serde::Serialize;

use otelctl_otlp::{
    self as otlp, ExportTraceServiceRequest, KeyValue, Resource, ResourceSpans, ScopeSpans, Span,
};

use otelctl_viewer::summary::summarize_with;
pub use otelctl_viewer::summary::{service_name, summarize, TraceSummary, UNKNOWN_SERVICE};

/// A trace id (16 bytes).
pub type TraceId = [u8; 16];

/// The store's bounds. Defaults: 1000 traces, 64 MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_traces: usize,
    pub max_bytes: usize,
}

/// Default cap on stored traces.
pub const DEFAULT_MAX_TRACES: usize = 1000;
/// Default cap on stored bytes (memory held by the stored spans, see [`span_memory`]).
pub const DEFAULT_MAX_BYTES: usize = 64 * 1024 * 1024;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_traces: DEFAULT_MAX_TRACES,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

/// Running totals since the server started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Spans stored.
    pub accepted_spans: u64,
    /// Spans refused (ids of the wrong length or all zero).
    pub rejected_spans: u64,
    /// Spans ignored because their trace already held their span id.
    pub duplicate_spans: u64,
    /// Spans dropped to stay within the limits (oldest first).
    pub dropped_spans: u64,
    /// Traces dropped whole to stay within the limits.
    pub dropped_traces: u64,
    /// Traces removed by a clear.
    pub cleared_traces: u64,
}

/// One stored trace.
#[derive(Debug, Clone)]
pub struct StoredTrace {
    pub id: TraceId,
    /// The batches as received (only this trace's spans in each).
    batches: Vec<Arc<ResourceSpans>>,
    span_ids: HashSet<[u8; 8]>,
    bytes: usize,
    seq: u64,
    /// A file for this trace id may be on disk (it was handed to the persister, or restored):
    /// only then does dropping the trace give the persister a file to remove.
    on_disk: bool,
}

impl StoredTrace {
    fn new(id: TraceId, seq: u64) -> Self {
        StoredTrace {
            id,
            batches: Vec::new(),
            span_ids: HashSet::new(),
            bytes: 0,
            seq,
            on_disk: false,
        }
    }

    /// Every span with its resource attributes, in arrival order.
    pub fn spans(&self) -> impl Iterator<Item = (&[KeyValue], &Span)> {
        self.batches.iter().flat_map(|rs| rs.spans())
    }

    pub fn span_count(&self) -> usize {
        self.span_ids.len()
    }

    /// The batches, cheaply shared (for persisting outside the store's lock).
    pub fn batches(&self) -> Vec<Arc<ResourceSpans>> {
        self.batches.clone()
    }

    /// The trace as one export request.
    pub fn to_request(&self) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: self.batches.iter().map(|b| (**b).clone()).collect(),
        }
    }

    /// The latest end time of any span (0 when empty).
    pub fn end_unix_nano(&self) -> u64 {
        self.spans()
            .map(|(_, s)| s.end_time_unix_nano.max(s.start_time_unix_nano))
            .max()
            .unwrap_or(0)
    }

    pub fn summary(&self) -> TraceSummary {
        let spans: Vec<(&[KeyValue], &Span)> = self.spans().collect();
        self.summary_of(&spans)
    }

    /// The summary from this trace's spans (as [`StoredTrace::spans`] gives them), using the
    /// trace's own id set to find the root instead of building one.
    pub fn summary_of(&self, spans: &[(&[KeyValue], &Span)]) -> TraceSummary {
        summarize_with(
            &self.id,
            spans,
            |parent| {
                <[u8; 8]>::try_from(parent)
                    .map(|p| self.span_ids.contains(&p))
                    .unwrap_or(false)
            },
            self.span_count(),
        )
    }
}

/// What happened to the store, for live updates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A trace gained spans, or was dropped.
    Trace(TraceId),
    /// Everything was cleared.
    Cleared,
}

/// What became of an export's spans (`otelctl_receiver`'s type).
pub use otelctl_receiver::IngestOutcome;

/// What the persister must do, taken from the store under its lock.
#[derive(Debug, Default)]
pub struct PersistWork {
    /// Remove every stored file first (a clear happened).
    pub wipe: bool,
    pub write: Vec<(TraceId, Vec<Arc<ResourceSpans>>)>,
    pub remove: Vec<TraceId>,
}

impl PersistWork {
    pub fn is_empty(&self) -> bool {
        !self.wipe && self.write.is_empty() && self.remove.is_empty()
    }
}

/// Most spans appended to one batch; then a new batch starts, so sharing a batch with the
/// persister never forces a copy of more than this many spans.
const MAX_BATCH_SPANS: usize = 1000;

/// The memory a span occupies: its struct, plus every heap allocation it owns, plus its entry
/// in its trace's id set. An estimate from capacities (allocator overhead not counted).
pub fn span_memory(span: &Span) -> usize {
    use std::mem::size_of;
    fn any(v: &otlp::AnyValue) -> usize {
        match &v.value {
            Some(otlp::Value::StringValue(s)) => s.capacity(),
            Some(otlp::Value::BytesValue(b)) => b.capacity(),
            Some(otlp::Value::ArrayValue(a)) => {
                a.values.capacity() * size_of::<otlp::AnyValue>()
                    + a.values.iter().map(any).sum::<usize>()
            }
            Some(otlp::Value::KvlistValue(l)) => kvs(&l.values),
            _ => 0,
        }
    }
    fn kvs(list: &[KeyValue]) -> usize {
        std::mem::size_of_val(list)
            + list
                .iter()
                .map(|kv| kv.key.capacity() + kv.value.as_ref().map_or(0, any))
                .sum::<usize>()
    }
    size_of::<Span>()
        + 8 + 16 // the id set's entry and its share of the table
        + span.trace_id.capacity()
        + span.span_id.capacity()
        + span.parent_span_id.capacity()
        + span.trace_state.capacity()
        + span.name.capacity()
        + kvs(&span.attributes)
        + span
            .events
            .iter()
            .map(|e| size_of::<otlp::Event>() + e.name.capacity() + kvs(&e.attributes))
            .sum::<usize>()
        + span
            .links
            .iter()
            .map(|l| {
                size_of::<otlp::Link>()
                    + l.trace_id.capacity()
                    + l.span_id.capacity()
                    + l.trace_state.capacity()
                    + kvs(&l.attributes)
            })
            .sum::<usize>()
        + span.status.as_ref().map_or(0, |s| s.message.capacity())
}

/// How many changes the feed remembers; a client further behind refreshes everything.
const FEED_LEN: usize = 256;

/// The ring of recent traces.
#[derive(Debug)]
pub struct Store {
    limits: Limits,
    traces: HashMap<TraceId, StoredTrace>,
    /// Update order: seq -> trace; the first entry is the trace updated longest ago.
    order: BTreeMap<u64, TraceId>,
    next_seq: u64,
    bytes: usize,
    counters: Counters,
    generation: u64,
    feed: VecDeque<(u64, Change)>,
    /// The newest generation that fell off the front of the feed.
    feed_lost_upto: u64,
    dirty: HashSet<TraceId>,
    removed: HashSet<TraceId>,
    wipe: bool,
}

fn valid_id<const N: usize>(bytes: &[u8]) -> Option<[u8; N]> {
    let id: [u8; N] = bytes.try_into().ok()?;
    (id != [0u8; N]).then_some(id)
}

impl Store {
    pub fn new(limits: Limits) -> Self {
        Store {
            limits: Limits {
                max_traces: limits.max_traces.max(1),
                max_bytes: limits.max_bytes.max(1),
            },
            traces: HashMap::new(),
            order: BTreeMap::new(),
            next_seq: 1,
            bytes: 0,
            counters: Counters::default(),
            generation: 0,
            feed: VecDeque::new(),
            feed_lost_upto: 0,
            dirty: HashSet::new(),
            removed: HashSet::new(),
            wipe: false,
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
    pub fn trace_count(&self) -> usize {
        self.traces.len()
    }
    pub fn span_count(&self) -> usize {
        self.traces.values().map(StoredTrace::span_count).sum()
    }
    /// Stored size in bytes (memory held by the stored spans, see [`span_memory`]).
    pub fn bytes(&self) -> usize {
        self.bytes
    }
    /// The change counter: grows by one with every change.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn get(&self, id: &TraceId) -> Option<&StoredTrace> {
        self.traces.get(id)
    }

    /// Traces in update order, oldest update first.
    pub fn traces(&self) -> impl Iterator<Item = &StoredTrace> {
        self.order.values().filter_map(|id| self.traces.get(id))
    }

    /// Every stored span.
    pub fn all_spans(&self) -> impl Iterator<Item = &Span> {
        self.traces().flat_map(|t| t.spans().map(|(_, s)| s))
    }

    /// Summaries of every trace, newest start first.
    pub fn summaries(&self) -> Vec<TraceSummary> {
        let mut rows: Vec<TraceSummary> = self.traces().map(StoredTrace::summary).collect();
        rows.sort_by(|a, b| {
            b.start_unix_nano
                .cmp(&a.start_unix_nano)
                .then_with(|| a.trace_id.cmp(&b.trace_id))
        });
        rows
    }

    /// Stores the spans of one export request, then enforces the limits.
    pub fn ingest(&mut self, req: ExportTraceServiceRequest) -> IngestOutcome {
        self.ingest_from(req, false)
    }

    /// [`Store::ingest`]; `from_disk`: the spans come from the trace files ([`Store::restore`]),
    /// so every trace they touch has a file.
    fn ingest_from(&mut self, req: ExportTraceServiceRequest, from_disk: bool) -> IngestOutcome {
        let mut outcome = IngestOutcome::default();
        for rs in req.resource_spans {
            let resource = rs.resource;
            for ss in rs.scope_spans {
                let mut groups: BTreeMap<TraceId, Vec<Span>> = BTreeMap::new();
                for span in ss.spans {
                    let problem =
                        match (valid_id::<16>(&span.trace_id), valid_id::<8>(&span.span_id)) {
                            (None, _) => Some("traceId must be 16 non-zero bytes (32 hex digits)"),
                            (_, None) => Some("spanId must be 8 non-zero bytes (16 hex digits)"),
                            _ if !(span.parent_span_id.is_empty()
                                || span.parent_span_id.len() == 8) =>
                            {
                                Some("parentSpanId must be empty or 8 bytes (16 hex digits)")
                            }
                            (Some(tid), Some(_)) => {
                                groups.entry(tid).or_default().push(span);
                                None
                            }
                        };
                    if let Some(why) = problem {
                        outcome.rejected += 1;
                        outcome.reason.get_or_insert_with(|| why.to_string());
                    }
                }
                for (tid, spans) in groups {
                    outcome.accepted += self.add_spans(
                        tid,
                        resource.as_ref(),
                        &rs.schema_url,
                        ss.scope.as_ref(),
                        &ss.schema_url,
                        spans,
                    );
                    if from_disk {
                        if let Some(trace) = self.traces.get_mut(&tid) {
                            trace.on_disk = true;
                        }
                    }
                }
            }
        }
        self.counters.rejected_spans += outcome.rejected;
        self.enforce_limits();
        outcome
    }

    fn add_spans(
        &mut self,
        tid: TraceId,
        resource: Option<&Resource>,
        resource_schema: &str,
        scope: Option<&otlp::InstrumentationScope>,
        scope_schema: &str,
        spans: Vec<Span>,
    ) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        let trace = self
            .traces
            .entry(tid)
            .or_insert_with(|| StoredTrace::new(tid, seq));
        let mut fresh = Vec::with_capacity(spans.len());
        for span in spans {
            let sid: [u8; 8] = span.span_id.as_slice().try_into().unwrap_or([0; 8]);
            if trace.span_ids.insert(sid) {
                fresh.push(span);
            } else {
                self.counters.duplicate_spans += 1;
            }
        }
        if fresh.is_empty() {
            return 0;
        }
        let added = fresh.len() as u64;
        let added_bytes: usize = fresh.iter().map(span_memory).sum();
        // Same resource and scope as the last batch (the common case: one process sending
        // span after span): append to it rather than repeating the resource.
        let same = trace.batches.last().is_some_and(|b| {
            b.resource.as_ref() == resource
                && b.schema_url == resource_schema
                && b.scope_spans.len() == 1
                && b.scope_spans[0].spans.len() + fresh.len() <= MAX_BATCH_SPANS
                && b.scope_spans[0].scope.as_ref() == scope
                && b.scope_spans[0].schema_url == scope_schema
        });
        if same {
            let last = trace.batches.last_mut().expect("checked above");
            Arc::make_mut(last).scope_spans[0].spans.extend(fresh);
        } else {
            trace.batches.push(Arc::new(ResourceSpans {
                resource: resource.cloned(),
                scope_spans: vec![ScopeSpans {
                    scope: scope.cloned(),
                    spans: fresh,
                    schema_url: scope_schema.to_string(),
                }],
                schema_url: resource_schema.to_string(),
            }));
        }
        trace.bytes += added_bytes;
        self.bytes += added_bytes;
        self.counters.accepted_spans += added;
        // Move the trace to the young end of the ring.
        self.order.remove(&trace.seq);
        trace.seq = seq;
        self.order.insert(seq, tid);
        self.dirty.insert(tid);
        // Dropped and back before the persister removed its file: the file is still there.
        trace.on_disk |= self.removed.remove(&tid);
        self.note(Change::Trace(tid));
        added
    }

    fn enforce_limits(&mut self) {
        while self.traces.len() > self.limits.max_traces
            || (self.bytes > self.limits.max_bytes && self.traces.len() > 1)
        {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            if let Some(t) = self.traces.remove(&oldest) {
                self.bytes -= t.bytes;
                self.counters.dropped_traces += 1;
                self.counters.dropped_spans += t.span_count() as u64;
                self.dirty.remove(&oldest);
                if t.on_disk {
                    self.removed.insert(oldest);
                }
                self.note(Change::Trace(oldest));
            }
        }
        // One trace alone above the byte limit: drop its oldest spans (whole runs at a time).
        if self.bytes > self.limits.max_bytes {
            if let Some((&seq, &only)) = self.order.first_key_value() {
                let trace = self.traces.get_mut(&only).expect("order and traces agree");
                let mut excess = trace.bytes - self.limits.max_bytes.min(trace.bytes);
                while excess > 0 && !trace.batches.is_empty() {
                    let batch = Arc::make_mut(&mut trace.batches[0]);
                    if let Some(ss) = batch.scope_spans.first_mut() {
                        let (mut k, mut freed) = (0, 0);
                        while k < ss.spans.len() && freed < excess {
                            freed += span_memory(&ss.spans[k]);
                            k += 1;
                        }
                        for s in ss.spans.drain(..k) {
                            let sid: [u8; 8] = s.span_id.as_slice().try_into().unwrap_or([0; 8]);
                            trace.span_ids.remove(&sid);
                        }
                        trace.bytes -= freed;
                        self.bytes -= freed;
                        self.counters.dropped_spans += k as u64;
                        excess = excess.saturating_sub(freed);
                        if ss.spans.is_empty() {
                            batch.scope_spans.remove(0);
                        }
                    }
                    if trace.batches[0].scope_spans.is_empty() {
                        trace.batches.remove(0);
                    }
                }
                if trace.batches.is_empty() {
                    if trace.on_disk {
                        self.removed.insert(only);
                    }
                    self.traces.remove(&only);
                    self.order.remove(&seq);
                    self.counters.dropped_traces += 1;
                    self.dirty.remove(&only);
                }
                self.note(Change::Trace(only));
            }
        }
    }

    /// Removes every trace (memory now, files at the persister's next turn).
    pub fn clear(&mut self) {
        self.counters.cleared_traces += self.traces.len() as u64;
        self.traces.clear();
        self.order.clear();
        self.bytes = 0;
        self.dirty.clear();
        self.removed.clear();
        self.wipe = true;
        self.note(Change::Cleared);
    }

    fn note(&mut self, change: Change) {
        self.generation += 1;
        if self.feed.back().is_some_and(|(_, c)| *c == change) {
            // Coalesce repeats (a flood into one trace): keep the latest generation only.
            self.feed.pop_back();
        }
        self.feed.push_back((self.generation, change));
        while self.feed.len() > FEED_LEN {
            if let Some((g, _)) = self.feed.pop_front() {
                self.feed_lost_upto = g;
            }
        }
    }

    /// Changes after generation `since`; `None` when the feed no longer reaches back that far.
    pub fn changes_since(&self, since: u64) -> Option<Vec<Change>> {
        if since < self.feed_lost_upto {
            return None;
        }
        let mut out: Vec<Change> = Vec::new();
        for (g, c) in &self.feed {
            if *g > since && !out.contains(c) {
                out.push(c.clone());
            }
        }
        Some(out)
    }

    /// Takes what the persister has to do since its last turn.
    pub fn take_persist_work(&mut self) -> PersistWork {
        let write = self
            .dirty
            .drain()
            .filter_map(|id| {
                let t = self.traces.get_mut(&id)?;
                t.on_disk = true;
                Some((id, t.batches()))
            })
            .collect();
        PersistWork {
            wipe: std::mem::take(&mut self.wipe),
            write,
            remove: self.removed.drain().collect(),
        }
    }

    /// Whether the persister has anything to do.
    pub fn has_persist_work(&self) -> bool {
        self.wipe || !self.dirty.is_empty() || !self.removed.is_empty()
    }

    /// Gives back work the persister could not carry out, for its next turn.
    pub fn requeue(&mut self, work: PersistWork) {
        self.wipe |= work.wipe;
        for (id, _) in work.write {
            if self.traces.contains_key(&id) {
                self.dirty.insert(id);
            }
        }
        for id in work.remove {
            match self.traces.get_mut(&id) {
                None => {
                    self.removed.insert(id);
                }
                // Back since: its file is still there.
                Some(t) => t.on_disk = true,
            }
        }
    }

    /// Loads persisted traces (oldest first) without marking them for writing again.
    pub fn restore(&mut self, traces: Vec<ExportTraceServiceRequest>) {
        for req in traces {
            self.ingest_from(req, true);
        }
        self.dirty.clear();
        // Traces dropped while restoring (the limits shrank) must go from disk too: keep `removed`.
        self.counters = Counters {
            dropped_spans: self.counters.dropped_spans,
            dropped_traces: self.counters.dropped_traces,
            ..Counters::default()
        };
    }

    /// Traces for export: one trace by id, or those with a span ending at or after `since`.
    pub fn select(
        &self,
        trace: Option<&TraceId>,
        since_unix_nano: Option<u64>,
    ) -> Vec<&StoredTrace> {
        self.traces()
            .filter(|t| trace.is_none_or(|id| *id == t.id))
            .filter(|t| since_unix_nano.is_none_or(|s| t.end_unix_nano() >= s))
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use otelctl_otlp::{InstrumentationScope, Status, StatusCode};

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

    #[test]
    fn groups_by_trace_and_merges_batches_from_one_sender() {
        let mut store = Store::new(Limits::default());
        store.ingest(request(vec![span(1, 1, 0, 10, 100), span(2, 1, 0, 5, 6)]));
        store.ingest(request(vec![span(1, 2, 1, 20, 50)]));
        assert_eq!((store.trace_count(), store.span_count()), (2, 3));
        let t = store.get(&[1; 16]).unwrap();
        assert_eq!(t.batches.len(), 1, "same resource and scope append");
        let s = t.summary();
        assert_eq!(
            (
                s.service.as_str(),
                s.root_name.as_str(),
                s.duration_ns,
                s.status
            ),
            ("svc", "s1", 90, "ok")
        );
    }

    #[test]
    fn ring_keeps_at_most_max_traces_dropping_the_oldest_and_counting() {
        let mut store = Store::new(Limits {
            max_traces: 3,
            max_bytes: usize::MAX,
        });
        for t in 1..=5u8 {
            store.ingest(request(vec![span(t, 1, 0, 0, 1), span(t, 2, 1, 0, 1)]));
            assert!(store.trace_count() <= 3);
        }
        let kept: Vec<u8> = store.traces().map(|t| t.id[0]).collect();
        assert_eq!(kept, vec![3, 4, 5]);
        assert_eq!(store.counters().dropped_traces, 2);
        assert_eq!(store.counters().dropped_spans, 4);
        let ids = |v: &[TraceId]| {
            let mut v: Vec<u8> = v.iter().map(|id| id[0]).collect();
            v.sort();
            v
        };
        // 1 and 2 went before any file was written for them: nothing to remove.
        let work = store.take_persist_work();
        let written: Vec<TraceId> = work.write.iter().map(|(id, _)| *id).collect();
        assert_eq!((ids(&written), ids(&work.remove)), (vec![3, 4, 5], vec![]));
        // Updating trace 3 makes it the youngest: trace 4 goes next, and its file with it.
        store.ingest(request(vec![span(3, 9, 1, 0, 1)]));
        store.ingest(request(vec![span(6, 1, 0, 0, 1)]));
        let kept: Vec<u8> = store.traces().map(|t| t.id[0]).collect();
        assert_eq!(kept, vec![5, 3, 6]);
        // 7 comes and goes between two turns: no file; 5 goes too, and its file.
        store.ingest(request(vec![span(7, 1, 0, 0, 1)]));
        store.ingest(request(vec![span(3, 10, 1, 0, 1)]));
        store.ingest(request(vec![span(6, 2, 1, 0, 1)]));
        store.ingest(request(vec![span(8, 1, 0, 0, 1)]));
        let work = store.take_persist_work();
        assert_eq!(ids(&work.remove), vec![4, 5]);
        // 4 dropped and back before its file was removed: dropping it again removes the file.
        store.ingest(request(vec![span(4, 1, 0, 0, 1)]));
        store.requeue(work);
        for t in 20..23u8 {
            store.ingest(request(vec![span(t, 1, 0, 0, 1)]));
        }
        assert!(store.get(&[4; 16]).is_none());
        assert!(ids(&store.take_persist_work().remove).contains(&4));
    }

    #[test]
    fn restored_traces_dropped_by_smaller_limits_have_their_files_removed() {
        let mut store = Store::new(Limits {
            max_traces: 2,
            max_bytes: usize::MAX,
        });
        store.restore(
            (1..=3u8)
                .map(|t| request(vec![span(t, 1, 0, 0, 1)]))
                .collect(),
        );
        let work = store.take_persist_work();
        assert!(work.write.is_empty(), "restoring writes nothing");
        assert_eq!(
            work.remove.len(),
            1,
            "trace 1 no longer fits: its file goes"
        );
    }

    #[test]
    fn byte_limit_holds_after_every_ingest_even_for_one_huge_trace() {
        let one = span_memory(&span(1, 1, 0, 0, 1));
        let mut store = Store::new(Limits {
            max_traces: 1000,
            max_bytes: one * 10,
        });
        for i in 1..=50u8 {
            store.ingest(request(vec![span(i, 1, 0, 0, 1)]));
            assert!(store.bytes() <= one * 10);
        }
        assert_eq!(store.trace_count(), 10);
        // One trace only: its oldest spans go (names s10..s59 keep every span the same size).
        let one = span_memory(&span(7, 10, 0, 0, 1));
        let mut store = Store::new(Limits {
            max_traces: 1000,
            max_bytes: one * 10,
        });
        for i in 10..=59u8 {
            store.ingest(request(vec![span(7, i, 0, 0, 1)]));
            assert!(store.bytes() <= one * 10, "{}", store.bytes());
        }
        assert_eq!(store.span_count(), 10);
        assert_eq!(store.counters().dropped_spans, 40);
        let kept: Vec<u8> = store
            .get(&[7; 16])
            .unwrap()
            .spans()
            .map(|(_, s)| s.span_id[0])
            .collect();
        assert_eq!(
            kept,
            (50..=59).collect::<Vec<u8>>(),
            "the newest spans stay"
        );
    }

    #[test]
    fn rejects_bad_ids_and_ignores_duplicates() {
        let mut store = Store::new(Limits::default());
        let mut bad = span(1, 1, 0, 0, 1);
        bad.trace_id = vec![0; 16];
        let mut short = span(1, 2, 0, 0, 1);
        short.span_id = vec![1, 2];
        let out = store.ingest(request(vec![bad, short, span(1, 3, 0, 0, 1)]));
        assert_eq!((out.accepted, out.rejected), (1, 2));
        assert!(out.reason.unwrap().contains("traceId"));
        let out = store.ingest(request(vec![span(1, 3, 0, 0, 1)]));
        assert_eq!((out.accepted, out.rejected), (0, 0));
        assert_eq!(store.counters().duplicate_spans, 1);
    }

    #[test]
    fn feed_reports_changes_and_clear() {
        let mut store = Store::new(Limits::default());
        let g0 = store.generation();
        store.ingest(request(vec![span(1, 1, 0, 0, 1)]));
        store.ingest(request(vec![span(1, 2, 0, 0, 1)]));
        assert_eq!(
            store.changes_since(g0).unwrap(),
            vec![Change::Trace([1; 16])]
        );
        let g1 = store.generation();
        store.clear();
        assert_eq!(store.changes_since(g1).unwrap(), vec![Change::Cleared]);
        assert_eq!(store.trace_count(), 0);
        assert!(store.take_persist_work().wipe);
    }

    #[test]
    fn error_status_marks_the_summary() {
        let mut store = Store::new(Limits::default());
        let mut s = span(1, 2, 1, 1, 2);
        s.status = Some(Status {
            code: StatusCode::Error as i32,
            message: "boom".into(),
        });
        store.ingest(request(vec![span(1, 1, 0, 0, 5), s]));
        let sum = store.get(&[1; 16]).unwrap().summary();
        assert_eq!((sum.status, sum.error_count), ("error", 1));
    }

    #[test]
    fn select_filters_by_id_and_since() {
        let mut store = Store::new(Limits::default());
        store.ingest(request(vec![span(1, 1, 0, 0, 100)]));
        store.ingest(request(vec![span(2, 1, 0, 0, 300)]));
        assert_eq!(store.select(None, Some(200)).len(), 1);
        assert_eq!(store.select(Some(&[1; 16]), None).len(), 1);
        assert_eq!(store.select(None, None).len(), 2);
    }
}
