//! The per-run relay of `dt`: adopts devenv's own spans into the `dt` trace and forwards them.
//!
//! devenv (>= 2.1) exports its spans to `DEVENV_TRACE_TO` but never reads an incoming
//! `TRACEPARENT`: every run starts traces of its own (one per root `tracing` span), and the
//! `TRACEPARENT` it injects into tasks carries those trace ids. `otelctl relay -- devenv ...`
//! (what `dt` runs under its root span) listens on 127.0.0.1, points devenv and the tasks' spans
//! at itself, and passes every export through [`adopt`] before the ordinary export-else-spool
//! path ([`otelctl_span::emit::deliver`]) takes it to the project's real endpoint.
//!
//! The rules of [`adopt`], span by span:
//! - a span already in the `dt` trace is left exactly as it is;
//! - any other span is moved into the `dt` trace (its original trace id is kept as the attribute
//!   [`ORIGINAL_TRACE_ID`]);
//! - of those, a root (no parent) is parented under `dt`'s root span; a span with a parent keeps
//!   it, so a `trace.exec` task span stays under devenv's span of its task.
//!
//! A span whose parent has not come through the relay yet (children end, and are exported,
//! before their parents) is held back ([`split_waiting`]) in the spool's [`Hold`] (on disk,
//! never sent by anyone else while the relay lives) and forwarded in the same delivery as the
//! export that brings its parent. At the end of the run ([`Relay::finish`]) what is still waiting has a parent that
//! never came (devenv dropped or filtered it): [`reparent_orphans`] puts those spans under
//! `dt`'s span, keeping the parent they named in [`ORIGINAL_PARENT_SPAN_ID`], and they are
//! forwarded. Whatever the relay cannot forward that way (it is killed) the spool publishes
//! as it was: a dangling parent at worst, never a lost span.
//!
//! Metrics and logs the tasks export come through the relay too and go where `dt`'s own
//! environment sends them (`/v1/metrics`, `/v1/logs` of the same endpoint, or their own
//! variables), else to the spool, with the same answer rules ([`Relay::take_other`]). Nothing
//! in them is held; what names a trace follows the spans: a log record's trace id, and a metric
//! exemplar's, outside `dt`'s trace is moved into it ([`adopt_logs`], [`adopt_exemplars`]), so a
//! log still points at the span it was written in after that span was adopted.

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use otelctl_config::env::EnvVars;
use otelctl_config::settings::{DevenvTrace, Settings};
use otelctl_otlp::logs::ExportLogsServiceRequest;
use otelctl_otlp::metrics::{Data, ExportMetricsServiceRequest};
use otelctl_otlp::{
    self as otlp, ExportRequest, ExportTraceServiceRequest, KeyValue, ResourceSpans,
};
use otelctl_span::emit::{self, Outcome};
use otelctl_span::otelenv::OtelEnv;
use otelctl_span::runner::ChildEnv;
use otelctl_span::spool::{Hold, Spool};
use otelctl_span::traceparent::TraceParent;

/// The attribute an adopted span carries: the trace id it was exported with (hex).
pub const ORIGINAL_TRACE_ID: &str = "otelctl.relay.original_trace_id";

/// The attribute a span re-parented under `dt`'s span at the end of the run carries: the parent
/// span id it was exported with (hex), which never came through the relay.
pub const ORIGINAL_PARENT_SPAN_ID: &str = "otelctl.relay.original_parent_span_id";

pub mod server;

/// OTLP span flags: bit 8 "has is-remote", bit 9 "parent is remote".
const SPAN_FLAGS_HAS_IS_REMOTE: u32 = 0x100;
const SPAN_FLAGS_IS_REMOTE: u32 = 0x200;

/// What [`adopt`] did to one request.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Adoption {
    /// Spans moved into the `dt` trace.
    pub moved: usize,
    /// Of those, roots now parented under `dt`'s root span.
    pub reparented: usize,
}

/// Moves every span of `req` that is not in `dt`'s trace into it; roots go under `dt`'s span.
pub fn adopt(req: &mut ExportTraceServiceRequest, dt: &TraceParent) -> Adoption {
    let mut done = Adoption::default();
    for rs in &mut req.resource_spans {
        for ss in &mut rs.scope_spans {
            for span in &mut ss.spans {
                if span.trace_id.as_slice() == dt.trace_id.as_slice() {
                    continue;
                }
                let original = otlp::to_hex(&span.trace_id);
                span.trace_id = dt.trace_id.to_vec();
                if span.attributes.iter().all(|a| a.key != ORIGINAL_TRACE_ID) {
                    span.attributes
                        .push(KeyValue::string(ORIGINAL_TRACE_ID, original));
                }
                done.moved += 1;
                if span.parent_span_id.is_empty() {
                    under_dt(span, dt);
                    done.reparented += 1;
                }
            }
        }
    }
    done
}

/// Moves every log record that names a trace other than `dt`'s into `dt`'s trace, as [`adopt`]
/// moves the spans (the old id kept in [`ORIGINAL_TRACE_ID`]); returns how many. The span id
/// is kept: adoption keeps span ids, so the record still names its span.
pub fn adopt_logs(req: &mut ExportLogsServiceRequest, dt: &TraceParent) -> usize {
    let mut n = 0;
    for record in req
        .resource_logs
        .iter_mut()
        .flat_map(|rl| rl.scope_logs.iter_mut())
        .flat_map(|sl| sl.log_records.iter_mut())
    {
        if record.trace_id.is_empty()
            || record.trace_id.iter().all(|b| *b == 0)
            || record.trace_id.as_slice() == dt.trace_id.as_slice()
        {
            continue;
        }
        let original = otlp::to_hex(&record.trace_id);
        record.trace_id = dt.trace_id.to_vec();
        if record.attributes.iter().all(|a| a.key != ORIGINAL_TRACE_ID) {
            record
                .attributes
                .push(KeyValue::string(ORIGINAL_TRACE_ID, original));
        }
        n += 1;
    }
    n
}

/// Moves every metric exemplar that names a trace other than `dt`'s into `dt`'s trace (the
/// spans it names were moved there); returns how many.
pub fn adopt_exemplars(req: &mut ExportMetricsServiceRequest, dt: &TraceParent) -> usize {
    let mut n = 0;
    for metric in req
        .resource_metrics
        .iter_mut()
        .flat_map(|rm| rm.scope_metrics.iter_mut())
        .flat_map(|sm| sm.metrics.iter_mut())
    {
        let exemplars: Vec<&mut otlp::metrics::Exemplar> = match metric.data.as_mut() {
            Some(Data::Gauge(g)) => g
                .data_points
                .iter_mut()
                .flat_map(|p| &mut p.exemplars)
                .collect(),
            Some(Data::Sum(s)) => s
                .data_points
                .iter_mut()
                .flat_map(|p| &mut p.exemplars)
                .collect(),
            Some(Data::Histogram(h)) => h
                .data_points
                .iter_mut()
                .flat_map(|p| &mut p.exemplars)
                .collect(),
            Some(Data::ExponentialHistogram(h)) => h
                .data_points
                .iter_mut()
                .flat_map(|p| &mut p.exemplars)
                .collect(),
            Some(Data::Summary(_)) | None => Vec::new(),
        };
        for e in exemplars {
            if !e.trace_id.is_empty() && e.trace_id.as_slice() != dt.trace_id.as_slice() {
                e.trace_id = dt.trace_id.to_vec();
                n += 1;
            }
        }
    }
    n
}

/// Splits `req` into the spans that can go now (no parent, or one `known`) and those waiting for
/// their parent; each part keeps its resources and scopes, and empty groups are dropped.
pub(crate) fn split_waiting(
    req: ExportTraceServiceRequest,
    known: impl Fn(&[u8]) -> bool,
) -> (ExportTraceServiceRequest, ExportTraceServiceRequest) {
    let can_go = |s: &otlp::Span| s.parent_span_id.is_empty() || known(&s.parent_span_id);
    if req.spans().all(|(_, s)| can_go(s)) {
        return (req, ExportTraceServiceRequest::default());
    }
    let (mut ready, mut waiting) = (
        ExportTraceServiceRequest::default(),
        ExportTraceServiceRequest::default(),
    );
    for rs in req.resource_spans {
        let ResourceSpans {
            resource,
            scope_spans,
            schema_url,
        } = rs;
        let (mut now, mut later) = (Vec::new(), Vec::new());
        for ss in scope_spans {
            let otlp::ScopeSpans {
                scope,
                spans,
                schema_url,
            } = ss;
            let (go, wait): (Vec<_>, Vec<_>) = spans.into_iter().partition(|s| can_go(s));
            for (part, spans) in [(&mut now, go), (&mut later, wait)] {
                if !spans.is_empty() {
                    part.push(otlp::ScopeSpans {
                        scope: scope.clone(),
                        spans,
                        schema_url: schema_url.clone(),
                    });
                }
            }
        }
        for (scope_spans, into) in [(now, &mut ready), (later, &mut waiting)] {
            if !scope_spans.is_empty() {
                into.resource_spans.push(ResourceSpans {
                    resource: resource.clone(),
                    scope_spans,
                    schema_url: schema_url.clone(),
                });
            }
        }
    }
    (ready, waiting)
}

/// Puts `span` under `dt`'s span (which lives in another process: its parent is remote).
fn under_dt(span: &mut otlp::Span, dt: &TraceParent) {
    span.parent_span_id = dt.span_id.to_vec();
    span.flags |= SPAN_FLAGS_HAS_IS_REMOTE | SPAN_FLAGS_IS_REMOTE;
}

/// Parents every span of `req` whose parent is not `known` under `dt`'s span, keeping the
/// parent it named in [`ORIGINAL_PARENT_SPAN_ID`]; returns how many.
pub(crate) fn reparent_orphans(
    req: &mut ExportTraceServiceRequest,
    dt: &TraceParent,
    known: impl Fn(&[u8]) -> bool,
) -> usize {
    let mut n = 0;
    for span in req
        .resource_spans
        .iter_mut()
        .flat_map(|rs| rs.scope_spans.iter_mut())
        .flat_map(|ss| ss.spans.iter_mut())
    {
        if span.parent_span_id.is_empty() || known(&span.parent_span_id) {
            continue;
        }
        let original = otlp::to_hex(&span.parent_span_id);
        span.attributes
            .push(KeyValue::string(ORIGINAL_PARENT_SPAN_ID, original));
        under_dt(span, dt);
        n += 1;
    }
    n
}

/// How the child is pointed at the relay listening at `relay_url` (`http://127.0.0.1:PORT`).
///
/// - devenv: `DEVENV_TRACE_TO` gains `otlp-grpc:<relay_url>` after whatever the user set there
///   (devenv takes a comma-separated list; an explicit `DEVENV_TRACE_TO` or `--trace-to` makes it
///   ignore `DEVENV_TRACE_DEFAULT_TO`, which is emptied as well). With `devenv_trace` off,
///   devenv's tracing is left alone except for the emptied default.
/// - the tasks' `otelctl span`: `OTEL_EXPORTER_OTLP_ENDPOINT` and `OTELCTL_RELAY_ENDPOINT` name the
///   relay; `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (which would win) is removed.
pub fn child_vars(
    relay_url: &str,
    user_trace_to: Option<&OsStr>,
    devenv_trace: DevenvTrace,
) -> ChildEnv {
    let mut vars = ChildEnv::default();
    vars.set
        .push((EnvVars::DEVENV_TRACE_DEFAULT_TO, OsString::new()));
    if devenv_trace == DevenvTrace::OtlpGrpc {
        let ours = format!("otlp-grpc:{relay_url}");
        let mut to = user_trace_to
            .filter(|v| !v.as_encoded_bytes().iter().all(u8::is_ascii_whitespace))
            .map(OsStr::to_owned)
            .unwrap_or_default();
        if !to.is_empty() {
            to.push(",");
        }
        to.push(ours);
        vars.set.push((EnvVars::DEVENV_TRACE_TO, to));
    }
    vars.set
        .push((EnvVars::OTEL_EXPORTER_OTLP_ENDPOINT, relay_url.into()));
    vars.set
        .push((EnvVars::OTELCTL_RELAY_ENDPOINT, relay_url.into()));
    vars.remove
        .push(EnvVars::OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
    vars.remove
        .push(EnvVars::OTEL_EXPORTER_OTLP_METRICS_ENDPOINT);
    vars.remove.push(EnvVars::OTEL_EXPORTER_OTLP_LOGS_ENDPOINT);
    vars
}

/// Metrics and logs as the relay takes them ([`Relay::take_other`]).
pub trait Adoptable: ExportRequest {
    /// Moves what names another trace into `dt`'s; returns how many items changed.
    fn adopt(&mut self, dt: &TraceParent) -> usize;
    /// This signal's counts.
    fn tally(t: &mut Tally) -> &mut Forwarded;
}

impl Adoptable for ExportMetricsServiceRequest {
    fn adopt(&mut self, dt: &TraceParent) -> usize {
        adopt_exemplars(self, dt)
    }
    fn tally(t: &mut Tally) -> &mut Forwarded {
        &mut t.metrics
    }
}

impl Adoptable for ExportLogsServiceRequest {
    fn adopt(&mut self, dt: &TraceParent) -> usize {
        adopt_logs(self, dt)
    }
    fn tally(t: &mut Tally) -> &mut Forwarded {
        &mut t.logs
    }
}

/// Why an export could not be taken: neither forwarded nor spooled. The client should retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotTaken(pub String);

impl std::fmt::Display for NotTaken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the export could be neither forwarded nor spooled: {}",
            self.0
        )
    }
}

/// What a relay did, for `OTEL_DEBUG` and warnings at the end of the run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    /// Exports received (including empty probes).
    pub requests: usize,
    /// Spans moved into the `dt` trace, and roots of them parented under `dt`'s span.
    pub adopted: Adoption,
    pub exported_spans: usize,
    pub spooled_spans: usize,
    /// Spans the endpoint refused (partial success), with its last message.
    pub rejected_spans: usize,
    pub rejected_message: Option<String>,
    /// Exports answered with an error (neither forwarded nor spooled; the client may retry).
    pub not_taken: usize,
    pub last_error: Option<String>,
    /// Spans held back until their parent came (or the run ended).
    pub held_spans: usize,
    /// Of those, spans whose parent never came, re-parented under `dt`'s span at the end.
    pub orphans: usize,
    /// Held spans that could be neither forwarded nor spooled at the end of the run: published
    /// to the spool as they were when the hold was let go.
    pub left_held: usize,
    /// Spans that waited for their parent but could not be held (sent at once, ahead of their
    /// parent), with the last reason.
    pub unheld_spans: usize,
    pub hold_error: Option<String>,
    /// What came of the tasks' metric data points and log records.
    pub metrics: Forwarded,
    pub logs: Forwarded,
}

/// Items of one signal (data points, log records) the relay forwarded or spooled.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Forwarded {
    pub exported: usize,
    pub spooled: usize,
    /// Refused by the endpoint (partial success).
    pub rejected: usize,
    /// Log records or exemplars moved into the `dt` trace.
    pub adopted: usize,
}

/// What the relay knows of the run so far.
#[derive(Debug, Default)]
struct Run {
    /// Every span id that came through the relay.
    seen: HashSet<Vec<u8>>,
    /// Requests waiting for a parent, with the file that keeps each.
    held: Vec<(ExportTraceServiceRequest, PathBuf)>,
    /// Where they are kept (made when the first one is held).
    hold: Option<Hold>,
    /// [`Relay::finish`] has run: nothing is held any more (an export still being answered
    /// then goes as it is, orphans under `dt`).
    finished: bool,
}

impl Run {
    /// Whether `parent` is `dt`'s span or came through the relay.
    fn knows(&self, parent: &[u8], dt: &TraceParent) -> bool {
        parent == dt.span_id.as_slice() || self.seen.contains(parent)
    }

    /// Takes the held requests whose every parent has come by now.
    fn take_released(&mut self, dt: &TraceParent) -> Vec<(ExportTraceServiceRequest, PathBuf)> {
        let held = std::mem::take(&mut self.held);
        let (released, still): (Vec<_>, Vec<_>) = held
            .into_iter()
            .partition(|(req, _)| req.spans().all(|(_, s)| self.knows(&s.parent_span_id, dt)));
        self.held = still;
        released
    }
}

/// The relay's sink: adopt, then export to the real endpoint, else spool.
#[derive(Debug)]
pub struct Relay {
    dt: TraceParent,
    /// The relay's own environment (dt's): where spans really go, with headers and timeout.
    env: OtelEnv,
    settings: Option<Settings>,
    tally: Mutex<Tally>,
    run: Mutex<Run>,
}

impl Relay {
    /// A relay for the run whose root span is `dt`. Forwarding gets half of the configured
    /// export timeout, so a client with the same timeout (the tasks' `otelctl span`) hears back
    /// before giving up and spooling the span a second time.
    pub fn new(dt: TraceParent, mut env: OtelEnv, settings: Option<Settings>) -> Self {
        env.exporter.timeout = forward_timeout(env.exporter.timeout);
        Relay {
            dt,
            env,
            settings,
            tally: Mutex::new(Tally::default()),
            run: Mutex::new(Run::default()),
        }
    }

    /// What the relay has done so far.
    pub fn tally(&self) -> Tally {
        self.counts().clone()
    }

    fn counts(&self) -> MutexGuard<'_, Tally> {
        self.tally.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn run(&self) -> MutexGuard<'_, Run> {
        self.run.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The `dt` span everything is adopted under.
    pub fn dt(&self) -> &TraceParent {
        &self.dt
    }

    /// Adopts and delivers one export (`None`: nothing was delivered now: it held no span, as a
    /// client's probe does, or every span waits for its parent). Spans whose parent has not come
    /// yet are held, on disk, until it does or the run ends ([`Relay::finish`]); held spans whose
    /// parents have now come go in the same delivery as this export's, so the answer waits for
    /// one forward (bounded by the forward timeout) plus spool writes. When nothing could be
    /// forwarded or spooled, nothing of this export is kept (the client sends it again) and the
    /// held spans stay held. Blocking: call it off async workers.
    pub fn take(&self, mut req: ExportTraceServiceRequest) -> Result<Option<Outcome>, NotTaken> {
        let adopted = adopt(&mut req, &self.dt);
        let (mut ready, waiting, released) = {
            let mut run = self.run();
            for (_, s) in req.spans() {
                run.seen.insert(s.span_id.clone());
            }
            let (mut ready, mut waiting) = split_waiting(req, |parent| run.knows(parent, &self.dt));
            if run.finished && waiting.span_count() > 0 {
                // Late, after the end of the run: no parent comes any more.
                let orphans = reparent_orphans(&mut waiting, &self.dt, |p| run.knows(p, &self.dt));
                self.counts().orphans += orphans;
                ready
                    .resource_spans
                    .append(&mut std::mem::take(&mut waiting).resource_spans);
            }
            let released = run.take_released(&self.dt);
            (ready, waiting, released)
        };
        {
            let mut t = self.counts();
            t.requests += 1;
            t.adopted.moved += adopted.moved;
            t.adopted.reparented += adopted.reparented;
        }
        let waiting_spans = waiting.span_count();
        let held_now = match waiting_spans {
            0 => None,
            _ => match self.hold(waiting) {
                Ok(path) => Some(path),
                // Not kept: it goes now, its parent dangling rather than the span lost.
                Err((waiting, why)) => {
                    let mut t = self.counts();
                    t.unheld_spans += waiting_spans;
                    t.hold_error = Some(why);
                    ready.resource_spans.extend(waiting.resource_spans);
                    None
                }
            },
        };
        for (req, _) in &released {
            ready
                .resource_spans
                .extend(req.resource_spans.iter().cloned());
        }
        let answer = self.deliver(&ready);
        let mut run = self.run();
        if answer.is_ok() {
            if let Some(hold) = &run.hold {
                for (_, path) in &released {
                    let _ = hold.release(path);
                }
            }
            if held_now.is_some() {
                self.counts().held_spans += waiting_spans;
            }
        } else {
            // Not taken: the client sends this export again, and it is held again then.
            if let Some(path) = held_now {
                run.held.retain(|(_, p)| *p != path);
                if let Some(hold) = &run.hold {
                    let _ = hold.release(&path);
                }
            }
            run.held.extend(released);
        }
        answer
    }

    /// Forwards or spools an export of metrics or logs (`None` when it holds no data point or
    /// log record), after moving what names another trace into `dt`'s. Nothing is held: an
    /// answer waits for one forward (bounded by the forward timeout) or a spool write. When
    /// neither worked the export is not taken (the client retries). Blocking.
    pub fn take_other<R: Adoptable>(&self, mut req: R) -> Result<Option<Outcome>, NotTaken> {
        let adopted = req.adopt(&self.dt);
        let items = req.item_count();
        {
            let mut t = self.counts();
            t.requests += 1;
            R::tally(&mut t).adopted += adopted;
        }
        if items == 0 {
            return Ok(None);
        }
        let outcome = emit::deliver(&self.env, self.settings.as_ref(), &req);
        let mut t = self.counts();
        match outcome {
            Outcome::Lost { why } => {
                t.not_taken += 1;
                t.last_error = Some(why.clone());
                Err(NotTaken(why))
            }
            o => {
                let counts = R::tally(&mut t);
                match &o {
                    Outcome::Exported { accepted, .. } => {
                        counts.exported += items;
                        counts.rejected += accepted.rejected_spans.max(0) as usize;
                    }
                    Outcome::Spooled { .. } => counts.spooled += items,
                    Outcome::Lost { .. } => {}
                }
                Ok(Some(o))
            }
        }
    }

    /// Forwards or spools `req` (`None` when it holds no span), counting what happened.
    fn deliver(&self, req: &ExportTraceServiceRequest) -> Result<Option<Outcome>, NotTaken> {
        let spans = req.span_count();
        if spans == 0 {
            return Ok(None);
        }
        let outcome = emit::deliver(&self.env, self.settings.as_ref(), req);
        let mut t = self.counts();
        match outcome {
            Outcome::Lost { why } => {
                t.not_taken += 1;
                t.last_error = Some(why.clone());
                Err(NotTaken(why))
            }
            o => {
                match &o {
                    Outcome::Exported { accepted, .. } => {
                        t.exported_spans += spans;
                        if accepted.rejected_spans > 0 {
                            t.rejected_spans += accepted.rejected_spans as usize;
                            t.rejected_message = Some(accepted.error_message.clone());
                        }
                    }
                    Outcome::Spooled { .. } => t.spooled_spans += spans,
                    // Answered above; named so a new outcome must be counted here.
                    Outcome::Lost { .. } => {}
                }
                Ok(Some(o))
            }
        }
    }

    /// Keeps `req` in the spool's hold (made on first use); returns the file that keeps it, or
    /// gives it back with the reason it cannot be held.
    fn hold(
        &self,
        req: ExportTraceServiceRequest,
    ) -> Result<PathBuf, (ExportTraceServiceRequest, String)> {
        let mut run = self.run();
        if run.finished {
            return Err((req, "the run has ended".into()));
        }
        if run.hold.is_none() {
            let Some(dir) = emit::spool_dir(self.settings.as_ref(), &self.env) else {
                return Err((
                    req,
                    "no spool directory (set OTEL_SPOOL_DIR or HOME)".into(),
                ));
            };
            match Spool::new(dir, self.env.spool_max_bytes).hold() {
                Ok(hold) => run.hold = Some(hold),
                Err(e) => return Err((req, e.to_string())),
            }
        }
        let written = run.hold.as_ref().map(|hold| hold.write(&req));
        match written {
            Some(Ok(path)) => {
                run.held.push((req, path.clone()));
                Ok(path)
            }
            Some(Err(e)) => Err((req, e.to_string())),
            None => unreachable!("the hold was made above"),
        }
    }

    /// The end of the run (call it once no export can come any more): what still waits has a
    /// parent that never came; those spans go under `dt`'s span ([`reparent_orphans`]) and are
    /// forwarded, in one delivery. Then the hold is let go: what could be neither forwarded nor
    /// spooled is published to the spool as it was.
    pub fn finish(&self) {
        let (held, hold) = {
            let mut run = self.run();
            run.finished = true;
            let mut held = std::mem::take(&mut run.held);
            let mut orphans = 0;
            for (req, _) in &mut held {
                orphans += reparent_orphans(req, &self.dt, |p| run.knows(p, &self.dt));
            }
            self.counts().orphans += orphans;
            (held, run.hold.take())
        };
        let mut all = ExportTraceServiceRequest::default();
        for (req, _) in &held {
            all.resource_spans
                .extend(req.resource_spans.iter().cloned());
        }
        match self.deliver(&all) {
            Ok(_) => {
                if let Some(hold) = &hold {
                    for (_, path) in &held {
                        let _ = hold.release(path);
                    }
                }
            }
            Err(_) => self.counts().left_held += all.span_count(),
        }
        drop(hold);
    }
}

/// Half the client's export timeout, at least 50 ms.
pub fn forward_timeout(client: Duration) -> Duration {
    (client / 2).max(Duration::from_millis(50))
}

#[cfg(test)]
mod tests {
    use super::*;
    use otelctl_otlp::{InstrumentationScope, ResourceSpans, ScopeSpans, Span};

    const DT_TRACE: [u8; 16] = [0xd7; 16];
    const DT_SPAN: [u8; 8] = [0xd5; 8];
    const DEVENV_TRACE: [u8; 16] = [0xde; 16];
    const OTHER_DEVENV_TRACE: [u8; 16] = [0xdf; 16];

    fn dt() -> TraceParent {
        TraceParent {
            trace_id: DT_TRACE,
            span_id: DT_SPAN,
            flags: 1,
        }
    }

    fn span(trace: [u8; 16], id: u8, parent: Option<u8>, name: &str) -> Span {
        Span {
            trace_id: trace.to_vec(),
            span_id: vec![id; 8],
            parent_span_id: parent.map(|p| vec![p; 8]).unwrap_or_default(),
            name: name.to_string(),
            flags: 0x101,
            ..Default::default()
        }
    }

    fn request(groups: Vec<(&str, Vec<Span>)>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: groups
                .into_iter()
                .map(|(service, spans)| ResourceSpans {
                    resource: Some(otelctl_otlp::Resource {
                        attributes: vec![KeyValue::string("service.name", service)],
                        ..Default::default()
                    }),
                    scope_spans: vec![ScopeSpans {
                        scope: Some(InstrumentationScope::default()),
                        spans,
                        ..Default::default()
                    }],
                    ..Default::default()
                })
                .collect(),
        }
    }

    fn find<'a>(req: &'a ExportTraceServiceRequest, name: &str) -> &'a Span {
        req.spans()
            .map(|(_, s)| s)
            .find(|s| s.name == name)
            .expect("span present")
    }

    fn original(span: &Span) -> Option<String> {
        otlp::attribute(&span.attributes, ORIGINAL_TRACE_ID).map(|v| v.to_text())
    }

    #[test]
    fn devenv_root_goes_under_dt_and_children_keep_their_parents() {
        let mut req = request(vec![(
            "devenv",
            vec![
                span(DEVENV_TRACE, 1, None, "devenv tasks run"),
                span(DEVENV_TRACE, 2, Some(1), "task app:build"),
                span(DEVENV_TRACE, 3, Some(2), "evaluate"),
            ],
        )]);
        let done = adopt(&mut req, &dt());
        assert_eq!(
            done,
            Adoption {
                moved: 3,
                reparented: 1
            }
        );
        for (_, s) in req.spans() {
            assert_eq!(
                s.trace_id,
                DT_TRACE.to_vec(),
                "{} is in the dt trace",
                s.name
            );
            assert_eq!(
                original(s).as_deref(),
                Some(otlp::to_hex(&DEVENV_TRACE).as_str())
            );
        }
        let root = find(&req, "devenv tasks run");
        assert_eq!(root.parent_span_id, DT_SPAN.to_vec());
        assert_eq!(
            root.flags,
            0x101 | 0x200,
            "parent marked remote, trace flags kept"
        );
        assert_eq!(find(&req, "task app:build").parent_span_id, vec![1; 8]);
        assert_eq!(find(&req, "evaluate").parent_span_id, vec![2; 8]);
        assert_eq!(
            find(&req, "evaluate").flags,
            0x101,
            "non-roots keep their flags"
        );
    }

    #[test]
    fn task_spans_stay_under_devenvs_task_span() {
        // trace.exec's `otelctl span` read the TRACEPARENT devenv injected: devenv's trace id,
        // devenv's task span as parent. It arrives first (devenv exports in batches at exit).
        let mut req = request(vec![(
            "dt-task",
            vec![span(DEVENV_TRACE, 9, Some(2), "app:build")],
        )]);
        assert_eq!(
            adopt(&mut req, &dt()),
            Adoption {
                moved: 1,
                reparented: 0
            }
        );
        let task = find(&req, "app:build");
        assert_eq!(task.trace_id, DT_TRACE.to_vec());
        assert_eq!(
            task.parent_span_id,
            vec![2; 8],
            "still under devenv's task span"
        );
    }

    #[test]
    fn spans_already_in_the_dt_trace_are_untouched() {
        // devenv without native tracing passes dt's TRACEPARENT through to its tasks.
        let before = request(vec![(
            "dt-task",
            vec![span(DT_TRACE, 9, Some(0xd5), "app:build")],
        )]);
        let mut req = before.clone();
        assert_eq!(adopt(&mut req, &dt()), Adoption::default());
        assert_eq!(req, before, "byte for byte the same request");
    }

    #[test]
    fn every_devenv_trace_of_the_run_joins_the_one_dt_trace() {
        // tracing-opentelemetry starts a new trace for each root `tracing` span.
        let mut req = request(vec![
            ("devenv", vec![span(DEVENV_TRACE, 1, None, "first root")]),
            (
                "devenv",
                vec![span(OTHER_DEVENV_TRACE, 4, None, "second root")],
            ),
        ]);
        assert_eq!(
            adopt(&mut req, &dt()),
            Adoption {
                moved: 2,
                reparented: 2
            }
        );
        assert_eq!(find(&req, "second root").parent_span_id, DT_SPAN.to_vec());
        assert_eq!(
            original(find(&req, "second root")).as_deref(),
            Some(otlp::to_hex(&OTHER_DEVENV_TRACE).as_str())
        );
    }

    #[test]
    fn adopting_twice_changes_nothing_more() {
        // A retried export, or a nested dt's relay forwarding to this one.
        let mut req = request(vec![("devenv", vec![span(DEVENV_TRACE, 1, None, "root")])]);
        adopt(&mut req, &dt());
        let once = req.clone();
        assert_eq!(adopt(&mut req, &dt()), Adoption::default());
        assert_eq!(req, once);
        assert_eq!(
            find(&req, "root")
                .attributes
                .iter()
                .filter(|a| a.key == ORIGINAL_TRACE_ID)
                .count(),
            1
        );
    }

    #[test]
    fn the_rewrite_survives_both_encodings() {
        let mut req = request(vec![("devenv", vec![span(DEVENV_TRACE, 1, None, "root")])]);
        adopt(&mut req, &dt());
        let back = ExportTraceServiceRequest::from_protobuf(&req.to_protobuf()).unwrap();
        assert_eq!(back, req);
        let back = ExportTraceServiceRequest::from_json(&req.to_json()).unwrap();
        assert_eq!(find(&back, "root").parent_span_id, DT_SPAN.to_vec());
    }

    #[test]
    fn spans_whose_parent_has_not_come_wait_with_their_resource() {
        let req = request(vec![
            (
                "dt-task",
                vec![
                    span(DT_TRACE, 9, Some(2), "app:build"),
                    span(DT_TRACE, 8, Some(0xd5), "under dt"),
                ],
            ),
            ("devenv", vec![span(DT_TRACE, 2, Some(1), "task app:build")]),
        ]);
        let seen = [vec![1u8; 8]];
        let (ready, waiting) =
            split_waiting(req.clone(), |p| p == DT_SPAN || seen.iter().any(|s| s == p));
        let names = |r: &ExportTraceServiceRequest| -> Vec<String> {
            r.spans().map(|(_, s)| s.name.clone()).collect()
        };
        assert_eq!(names(&ready), ["under dt", "task app:build"]);
        assert_eq!(names(&waiting), ["app:build"]);
        let service = |r: &ExportTraceServiceRequest| {
            r.spans()
                .map(|(res, _)| otlp::attribute(res, "service.name").unwrap().to_text())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            service(&waiting),
            ["dt-task"],
            "the resource goes with the span"
        );
        assert_eq!(waiting.resource_spans.len(), 1, "no empty groups");
        // Nothing is lost or doubled by a split.
        assert_eq!(ready.span_count() + waiting.span_count(), req.span_count());
    }

    #[test]
    fn orphans_go_under_dt_and_keep_the_parent_they_named() {
        let mut req = request(vec![(
            "dt-task",
            vec![
                span(DT_TRACE, 9, Some(0x77), "orphan"),
                span(DT_TRACE, 8, Some(9), "child of the orphan"),
                span(DT_TRACE, 7, None, "root"),
            ],
        )]);
        let known = |p: &[u8]| p == DT_SPAN || p == [9; 8];
        assert_eq!(reparent_orphans(&mut req, &dt(), known), 1);
        let orphan = find(&req, "orphan");
        assert_eq!(orphan.parent_span_id, DT_SPAN.to_vec());
        assert_eq!(
            otlp::attribute(&orphan.attributes, ORIGINAL_PARENT_SPAN_ID)
                .map(|v| v.to_text())
                .as_deref(),
            Some("7777777777777777")
        );
        assert_eq!(orphan.flags, 0x101 | 0x200, "dt's span is remote");
        assert_eq!(find(&req, "child of the orphan").parent_span_id, vec![9; 8]);
        assert!(find(&req, "root").parent_span_id.is_empty());
        // Once re-parented it is no orphan any more.
        assert_eq!(reparent_orphans(&mut req, &dt(), known), 0);
    }

    fn get<'a>(vars: &'a ChildEnv, key: &str) -> Option<&'a OsStr> {
        vars.set
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_os_str())
    }

    #[test]
    fn child_points_devenv_and_tasks_at_the_relay() {
        let v = child_vars("http://127.0.0.1:4000", None, DevenvTrace::OtlpGrpc);
        assert_eq!(
            get(&v, "DEVENV_TRACE_TO"),
            Some(OsStr::new("otlp-grpc:http://127.0.0.1:4000"))
        );
        assert_eq!(get(&v, "DEVENV_TRACE_DEFAULT_TO"), Some(OsStr::new("")));
        assert_eq!(
            get(&v, "OTEL_EXPORTER_OTLP_ENDPOINT"),
            Some(OsStr::new("http://127.0.0.1:4000"))
        );
        assert_eq!(
            get(&v, EnvVars::OTELCTL_RELAY_ENDPOINT),
            Some(OsStr::new("http://127.0.0.1:4000"))
        );
        assert_eq!(
            v.remove,
            vec![
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
                "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"
            ]
        );
    }

    #[test]
    fn users_own_trace_destinations_are_kept() {
        let v = child_vars(
            "http://127.0.0.1:4000",
            Some(OsStr::new("json:file:/tmp/t.json")),
            DevenvTrace::OtlpGrpc,
        );
        assert_eq!(
            get(&v, "DEVENV_TRACE_TO"),
            Some(OsStr::new(
                "json:file:/tmp/t.json,otlp-grpc:http://127.0.0.1:4000"
            ))
        );
        let v = child_vars(
            "http://127.0.0.1:4000",
            Some(OsStr::new(" ")),
            DevenvTrace::OtlpGrpc,
        );
        assert_eq!(
            get(&v, "DEVENV_TRACE_TO"),
            Some(OsStr::new("otlp-grpc:http://127.0.0.1:4000"))
        );
    }

    #[test]
    fn devenv_trace_off_leaves_devenv_untraced() {
        let v = child_vars("http://127.0.0.1:4000", None, DevenvTrace::Off);
        assert_eq!(get(&v, "DEVENV_TRACE_TO"), None);
        assert_eq!(get(&v, "DEVENV_TRACE_DEFAULT_TO"), Some(OsStr::new("")));
    }

    /// A relay whose endpoint refuses connections, so everything it delivers is spooled in
    /// `spool` (one file per delivery).
    fn spooling_relay(spool: &std::path::Path) -> Relay {
        let spool = spool.to_path_buf();
        let env = OtelEnv::from_lookup(&move |name| match name {
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://127.0.0.1:1".into()),
            "OTEL_SPOOL_DIR" => Some(spool.clone().into_os_string()),
            _ => None,
        });
        Relay::new(dt(), env, None)
    }

    /// The spool's waiting files, oldest first, and whether any hold directory is left.
    fn spooled(spool: &std::path::Path) -> (Vec<ExportTraceServiceRequest>, bool) {
        let mut names: Vec<_> = std::fs::read_dir(spool)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let holds = names.iter().any(|n| n.starts_with(".held-"));
        let files = names
            .iter()
            .filter(|n| n.ends_with(".json") && !n.starts_with('.'))
            .map(|n| {
                ExportTraceServiceRequest::from_json(&std::fs::read(spool.join(n)).unwrap())
                    .unwrap()
            })
            .collect();
        (files, holds)
    }

    #[test]
    fn held_children_go_in_their_parents_delivery_and_late_orphans_go_at_once() {
        let tmp = tempfile::tempdir().unwrap();
        let relay = spooling_relay(tmp.path());
        // A child ends (and is exported) before its parent: held, nothing delivered.
        let child = request(vec![(
            "devenv",
            vec![span(DEVENV_TRACE, 2, Some(1), "child")],
        )]);
        assert!(relay.take(child).unwrap().is_none());
        let (files, holds) = spooled(tmp.path());
        assert!(files.is_empty() && holds);
        // Its parent comes: both leave in the one delivery this export's answer waits for.
        let parent = request(vec![(
            "devenv",
            vec![span(DEVENV_TRACE, 1, None, "parent")],
        )]);
        assert!(relay.take(parent).unwrap().is_some());
        let (files, _) = spooled(tmp.path());
        assert_eq!(files.len(), 1, "{files:?}");
        assert_eq!(find(&files[0], "child").parent_span_id, vec![1u8; 8]);
        assert_eq!(find(&files[0], "parent").parent_span_id, DT_SPAN.to_vec());

        // After the end of the run (an export still being answered as dt stops): nothing is
        // held any more; a span whose parent never came goes at once, under dt.
        relay.finish();
        let late = request(vec![(
            "devenv",
            vec![span(DEVENV_TRACE, 4, Some(3), "late")],
        )]);
        assert!(relay.take(late).unwrap().is_some());
        let (files, holds) = spooled(tmp.path());
        assert!(!holds, "no hold is made after the end of the run");
        assert_eq!(files.len(), 2);
        let late = files
            .iter()
            .find_map(|f| f.spans().find(|(_, s)| s.name == "late"));
        let (_, late) = late.expect("the late span was delivered");
        assert_eq!(late.parent_span_id, DT_SPAN.to_vec());
        let t = relay.tally();
        assert_eq!((t.held_spans, t.orphans, t.unheld_spans), (1, 1, 0));
    }

    #[test]
    fn forwarding_answers_before_the_client_gives_up() {
        assert_eq!(
            forward_timeout(Duration::from_millis(200)),
            Duration::from_millis(100)
        );
        assert_eq!(
            forward_timeout(Duration::from_millis(10)),
            Duration::from_millis(50)
        );
        assert_eq!(
            forward_timeout(Duration::from_secs(10)),
            Duration::from_secs(5)
        );
    }
}
