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
use otelctl_config::system::SystemPorts;
use otelctl_otlp::{ExportTraceServiceRequest, InstrumentationScope, KeyValue, Span};

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
/// system collector's (and the spec's default) port on loopback.
pub fn default_url(settings: Option<&Settings>) -> String {
    // No probe here (this runs on every span): only an explicit local mode picks the project's.
    let base = match settings {
        Some(s) if s.mode_setting == ModeSetting::Local => s.endpoints(Mode::Local).collector,
        Some(s) => Endpoints::system(&s.system_ports).collector,
        None => Endpoints::system(&SystemPorts::default()).collector,
    };
    exporter::traces_url_from_base(&base)
}

/// The traces URL in effect.
pub fn traces_url(env: &OtelEnv, settings: Option<&Settings>) -> String {
    env.exporter
        .endpoint
        .clone()
        .unwrap_or_else(|| default_url(settings))
}

/// The spool directory: `$OTEL_SPOOL_DIR`, else the mode's (detected only now, and only in
/// auto mode), else `$HOME/.otel/spool` when the settings could not be loaded.
pub fn spool_dir(settings: Option<&Settings>, env: &OtelEnv) -> Option<PathBuf> {
    match settings {
        // detect() probes only in auto mode; an explicit OTELCTL_MODE answers at once.
        Some(s) => Some(s.spool_dir(s.detect().mode)),
        // The settings did not load (a bad OTELCTL_* value): still keep the span, in
        // $OTEL_SPOOL_DIR or the system layout's spool.
        None => {
            let (explicit, home) = &env.spool_fallback;
            match (explicit.clone(), home) {
                (Some(dir), _) => Some(dir),
                (None, Some(home)) => Some(paths::spool_dir(None, &DataDir::system(home))),
                (None, None) => None,
            }
        }
    }
}

/// Exports `req` within the configured deadline; spools it when that fails.
pub fn deliver(
    env: &OtelEnv,
    settings: Option<&Settings>,
    req: &ExportTraceServiceRequest,
) -> Outcome {
    let url = traces_url(env, settings);
    let deadline = Instant::now() + env.exporter.timeout;
    let why = match exporter::export(&env.exporter, &url, req, deadline) {
        Ok(accepted) => return Outcome::Exported { url, accepted },
        Err(e) => e.to_string(),
    };
    let Some(dir) = spool_dir(settings, env) else {
        return Outcome::Lost {
            why: format!("{why}; and no spool directory (set OTEL_SPOOL_DIR or HOME)"),
        };
    };
    match Spool::new(&dir, env.spool_max_bytes).write(req) {
        Ok(path) => Outcome::Spooled { url, why, path },
        Err(e) => Outcome::Lost {
            why: format!("{why}; and {e}"),
        },
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
