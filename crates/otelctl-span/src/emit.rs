//! The one path every span takes out of otelctl: resource, request, export, else spool.
//!
//! Used by `span`, `span end` and `test-span`. Export failures are not errors: the span is
//! spooled and the outcome returned for `OTEL_DEBUG` to show. Only a span that could neither
//! be exported nor spooled is [`Outcome::Lost`].

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::exporter::{self, Accepted};
use crate::otelenv::OtelEnv;
use crate::spool::Spool;
use crate::traceparent::{TraceParent, FLAG_SAMPLED};
use otelctl_config::detect::{Endpoints, Mode, ModeSetting};
use otelctl_config::paths::{self, DataDir};
use otelctl_config::settings::Settings;
use otelctl_otlp::{
    ExportRequest, ExportTraceServiceRequest, InstrumentationScope, KeyValue, Signal, Span,
};

/// The instrumentation scope of every otelctl span.
pub fn scope() -> InstrumentationScope {
    InstrumentationScope {
        name: "otelctl".to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        ..Default::default()
    }
}

/// Now, in Unix nanoseconds.
pub fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// The resource: `OTEL_RESOURCE_ATTRIBUTES`, then `devenv.root`, then `service.name` (which
/// wins over both).
pub fn resource(service: &str, root: Option<&Path>, env: &OtelEnv) -> Vec<KeyValue> {
    let mut attrs: Vec<KeyValue> = vec![KeyValue::string("service.name", service)];
    if let Some(root) = root {
        attrs.push(KeyValue::string(
            "devenv.root",
            root.to_string_lossy().into_owned(),
        ));
    }
    for (k, v) in &env.resource {
        if attrs.iter().all(|a| &a.key != k) {
            attrs.push(KeyValue::string(k.clone(), v.clone()));
        }
    }
    attrs
}

/// One request holding one span.
pub fn request(resource: Vec<KeyValue>, span: Span) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest::single(resource, scope(), vec![span])
}

/// What happened to a span.
#[derive(Debug)]
pub enum Outcome {
    Exported {
        url: String,
        accepted: Accepted,
    },
    Spooled {
        url: String,
        why: String,
        path: PathBuf,
    },
    Lost {
        why: String,
    },
}

/// Where spans go when nothing else says: the project's collector in local mode, else the
/// system collector's (and the spec's default) port on loopback. A system ports file that
/// cannot be used counts as absent here, as settings that cannot be loaded do: the span is
/// sent to the default port, else spooled, never lost over a configuration file.
pub fn default_url(settings: Option<&Settings>) -> String {
    default_signal_url(settings, Signal::Traces)
}

/// [`default_url`] for any signal: the same base, the signal's path.
pub fn default_signal_url(settings: Option<&Settings>, signal: Signal) -> String {
    // No probe here (this runs on every span): only an explicit local mode picks the project's.
    let system = |s: Option<&Settings>| {
        let ports = s.and_then(|s| s.system_ports().ok()).unwrap_or_default();
        Endpoints::system(&ports).collector
    };
    let base = match settings {
        Some(s) if s.mode_setting == ModeSetting::Local => Endpoints::local(&s.ports()).collector,
        other => system(other),
    };
    exporter::signal_url_from_base(&base, signal)
}

/// The traces URL in effect.
pub fn traces_url(env: &OtelEnv, settings: Option<&Settings>) -> String {
    env.exporter
        .endpoint
        .clone()
        .unwrap_or_else(|| default_url(settings))
}

/// The URL in effect for `signal`: the signal's own variable, else the base's, else the default.
pub fn signal_url(env: &OtelEnv, settings: Option<&Settings>, signal: Signal) -> String {
    let configured = match signal {
        Signal::Traces => &env.exporter.endpoint,
        Signal::Metrics => &env.metrics_endpoint,
        Signal::Logs => &env.logs_endpoint,
    };
    configured
        .clone()
        .unwrap_or_else(|| default_signal_url(settings, signal))
}

/// The spool directory: `$OTEL_SPOOL_DIR`, else the mode's (detected only now, and only in
/// auto mode), else `$HOME/.otel/spool` when the settings could not be loaded.
pub fn spool_dir(settings: Option<&Settings>, env: &OtelEnv) -> Option<PathBuf> {
    let (explicit, home) = &env.spool_fallback;
    // $OTEL_SPOOL_DIR wins in every mode: nothing to detect.
    if let Some(dir) = explicit {
        return Some(dir.clone());
    }
    match settings {
        // detect() probes only in auto mode; an explicit OTELCTL_MODE answers at once. When it
        // fails (auto detection could not read the system ports file) the span still belongs
        // to this project: its local spool, never the system one (whose mere existence would
        // then make detection say "system" for every project).
        Some(s) => Some(s.spool_dir(s.detect().map_or(Mode::Local, |d| d.mode))),
        // The settings did not load (a bad OTELCTL_* value): still keep the span, in the
        // system layout's spool, the one place known without them.
        None => home
            .as_ref()
            .map(|home| paths::spool_dir(None, &DataDir::system(home))),
    }
}

/// Exports `req` within the configured deadline; spools it when that fails. A request sent in
/// full whose answer is late is spooled as unconfirmed and a detached waiter learns the
/// outcome (see [`await_late_answer`]), so a later flush never sends a stored span again.
pub fn deliver<R: ExportRequest>(env: &OtelEnv, settings: Option<&Settings>, req: &R) -> Outcome {
    deliver_with(env, settings, req, exporter::export)
}

/// [`deliver`] for a command that ends right after it (`span`, `span end`, `test-span`): the
/// answer is awaited at most [`exporter::ANSWER_WAIT`] once the request is sent in full
/// ([`exporter::export_briefly`]), so a collector that accepts and never answers costs a few
/// milliseconds, not the deadline. A later answer takes the unconfirmed path of [`deliver`]:
/// the request is spooled as `.json.unconfirmed` and the detached waiter decides (2xx: the
/// file goes; anything else or nothing within [`exporter::LATE_ANSWER_WAIT`]: published for
/// flush). A timeout the user gave (`OTEL_EXPORTER_OTLP_TIMEOUT`: how long to wait for each
/// export) is a wait for the answer too: then this is [`deliver`]. Not for long-lived,
/// multi-threaded callers (the relay): the waiter is forked.
pub fn deliver_briefly(
    env: &OtelEnv,
    settings: Option<&Settings>,
    req: &ExportTraceServiceRequest,
) -> Outcome {
    if env.timeout_set {
        return deliver(env, settings, req);
    }
    deliver_with(env, settings, req, exporter::export_briefly)
}

type Export<R> = fn(
    &exporter::ExporterConfig,
    &str,
    &R,
    Instant,
) -> Result<exporter::Accepted, exporter::ExportError>;

fn deliver_with<R: ExportRequest>(
    env: &OtelEnv,
    settings: Option<&Settings>,
    req: &R,
    export: Export<R>,
) -> Outcome {
    let url = signal_url(env, settings, R::SIGNAL);
    let deadline = Instant::now() + env.exporter.timeout;
    let (why, late) = match export(&env.exporter, &url, req, deadline) {
        Ok(accepted) => return Outcome::Exported { url, accepted },
        Err(e) => {
            let why = e.to_string();
            match e {
                exporter::ExportError::Unconfirmed { late, .. } => (why, Some(late)),
                _ => (why, None),
            }
        }
    };
    let Some(dir) = spool_dir(settings, env) else {
        return Outcome::Lost {
            why: format!("{why}; and no spool directory (set OTEL_SPOOL_DIR or HOME)"),
        };
    };
    let spool = Spool::new(&dir, env.spool_max_bytes);
    spool.record_failure(&url, &why);
    let written = match &late {
        Some(_) => spool.write_unconfirmed(req),
        None => spool.write(req),
    };
    match written {
        Ok(path) => {
            if let Some(late) = late {
                await_late_answer(*late, &spool, &path);
            }
            Outcome::Spooled { url, why, path }
        }
        Err(e) => Outcome::Lost {
            why: format!("{why}; and {e}"),
        },
    }
}

/// Hands the open connection of a late answer to a detached process (double fork, new
/// session, stdio on /dev/null, so it holds no terminal or pipe of the caller's) that waits
/// up to [`exporter::LATE_ANSWER_WAIT`]: a 2xx deletes the unconfirmed spool file, anything
/// else publishes it for flush. Only this slow path forks; when it cannot, the file is
/// published at once (a duplicate at worst, never a loss).
fn await_late_answer(late: exporter::LateAnswer, spool: &Spool, path: &Path) {
    // SAFETY: otelctl is single-threaded here (the span path starts no thread), so the child
    // may run ordinary code; it leaves only through _exit.
    let first = unsafe { libc::fork() };
    match first {
        -1 => {
            let _ = spool.settle(path, false);
        }
        0 => {
            // SAFETY: as above; the intermediate child exits at once so the waiter is
            // re-parented and never a zombie of a long-lived caller.
            unsafe {
                libc::setsid();
                if libc::fork() != 0 {
                    libc::_exit(0);
                }
                let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
                if null >= 0 {
                    libc::dup2(null, 0);
                    libc::dup2(null, 1);
                    libc::dup2(null, 2);
                }
            }
            let delivered = late
                .wait(Instant::now() + exporter::LATE_ANSWER_WAIT)
                .is_ok();
            let _ = spool.settle(path, delivered);
            // SAFETY: leaving the waiter without running the parent's exit handlers.
            unsafe { libc::_exit(0) };
        }
        pid => {
            let mut status = 0;
            // SAFETY: reaping the intermediate child we just forked.
            unsafe { libc::waitpid(pid, &mut status, 0) };
        }
    }
}

/// The identity of a new span: its ids, its parent and the sampling decision.
#[derive(Debug, Clone)]
pub struct Context {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    /// The parent's span id (from `TRACEPARENT`), if any.
    pub parent_span_id: Option<[u8; 8]>,
    /// W3C trace flags for this span and its children (sampled bit = the decision).
    pub flags: u8,
    pub tracestate: Option<String>,
}

/// OTLP span flags: bit 8 "has is-remote", bit 9 "parent is remote".
const SPAN_FLAGS_HAS_IS_REMOTE: u32 = 0x100;
const SPAN_FLAGS_IS_REMOTE: u32 = 0x200;

impl Context {
    /// A new span under `$TRACEPARENT` when valid, else in `trace_id` (e.g. `$TEST_TRACE_ID`)
    /// as a root, else in a new trace; sampled per `OTEL_TRACES_SAMPLER`.
    pub fn start(env: &OtelEnv, trace_id: Option<[u8; 16]>) -> Self {
        let span_id = otelctl_otlp::new_span_id();
        match env.parent {
            Some(p) => {
                let sampled = env.sampler.should_sample(&p.trace_id, Some(p.sampled()));
                Context {
                    trace_id: p.trace_id,
                    span_id,
                    parent_span_id: Some(p.span_id),
                    flags: (p.flags & !FLAG_SAMPLED) | u8::from(sampled),
                    tracestate: env.tracestate.clone(),
                }
            }
            None => {
                let trace_id = trace_id.unwrap_or_else(otelctl_otlp::new_trace_id);
                let sampled = env.sampler.should_sample(&trace_id, None);
                Context {
                    trace_id,
                    span_id,
                    parent_span_id: None,
                    flags: u8::from(sampled),
                    tracestate: None,
                }
            }
        }
    }

    pub fn sampled(&self) -> bool {
        self.flags & FLAG_SAMPLED != 0
    }

    /// The traceparent children of this span see.
    pub fn traceparent(&self) -> TraceParent {
        TraceParent {
            trace_id: self.trace_id,
            span_id: self.span_id,
            flags: self.flags,
        }
    }

    /// Fills ids, trace state and flags into `span`.
    pub fn apply(&self, span: &mut Span) {
        span.trace_id = self.trace_id.to_vec();
        span.span_id = self.span_id.to_vec();
        span.parent_span_id = self.parent_span_id.map(|p| p.to_vec()).unwrap_or_default();
        span.trace_state = self.tracestate.clone().unwrap_or_default();
        span.flags = u32::from(self.flags)
            | SPAN_FLAGS_HAS_IS_REMOTE
            | if self.parent_span_id.is_some() {
                SPAN_FLAGS_IS_REMOTE
            } else {
                0
            };
    }
}
