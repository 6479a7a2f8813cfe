//! What the span-producing commands share at the edge: warnings, lenient settings, attribute
//! flags, and reporting what happened to a span (quietly, unless `OTEL_DEBUG` is set).

use std::ffi::OsStr;

use otelctl_config::settings::Settings;
use otelctl_otlp::{ExportTraceServiceRequest, KeyValue, Span, SpanKind};
use otelctl_span::attrs::{parse_attrs, AttrType};
use otelctl_span::emit::{self, Outcome};
use otelctl_span::otelenv::OtelEnv;

use crate::cli::{AttrArgs, GlobalArgs, Kind};
use crate::output;

/// One warning line on stderr.
pub fn warn(msg: &str) {
    output::stderr(&format!("otelctl: warning: {msg}\n"));
}

/// Loads the environment and prints its warnings.
pub fn load_env() -> OtelEnv {
    let env = OtelEnv::load();
    for w in &env.warnings {
        warn(w);
    }
    env
}

/// Settings, or a warning and `None`: a bad OTELCTL_* value must not stop the command.
pub fn lenient_settings(globals: &GlobalArgs) -> Option<Settings> {
    match Settings::load(globals.raw()) {
        Ok(s) => Some(s),
        Err(e) => {
            warn(&format!("{e} (span recorded without devenv.root)"));
            None
        }
    }
}

/// Text from an argument that should be UTF-8 (lossy, with a warning).
pub fn text_arg(what: &str, raw: &OsStr) -> String {
    match raw.to_str() {
        Some(s) => s.to_string(),
        None => {
            let lossy = raw.to_string_lossy().into_owned();
            warn(&format!(
                "{what} {lossy:?} is not UTF-8; invalid bytes replaced with U+FFFD"
            ));
            lossy
        }
    }
}

/// The attribute flags, parsed; malformed ones are reported and dropped.
pub fn attributes(args: &AttrArgs) -> Vec<KeyValue> {
    let mut flags = Vec::new();
    for (ty, values) in [
        (AttrType::String, &args.string),
        (AttrType::Int, &args.int),
        (AttrType::Bool, &args.bool),
        (AttrType::Double, &args.double),
    ] {
        flags.extend(values.iter().map(|v| (ty, v.clone())));
    }
    let (kv, warnings) = parse_attrs(&flags);
    for w in warnings {
        warn(&w);
    }
    kv
}

pub fn kind(k: Kind) -> i32 {
    (match k {
        Kind::Internal => SpanKind::Internal,
        Kind::Server => SpanKind::Server,
        Kind::Client => SpanKind::Client,
        Kind::Producer => SpanKind::Producer,
        Kind::Consumer => SpanKind::Consumer,
    }) as i32
}

/// Builds the request, prints it under OTEL_DEBUG, exports or spools, reports.
pub fn send(env: &OtelEnv, settings: Option<&Settings>, service: &str, span: Span) {
    let root = settings.map(|s| s.root.path().to_path_buf());
    let req = emit::request(emit::resource(service, root.as_deref(), env), span);
    debug_span(env, &req);
    // The process ends right after: an answer later than a few ms is left to a waiter.
    let outcome = emit::deliver_briefly(env, settings, &req);
    report(env, &outcome);
}

/// Prints the span (OTEL_DEBUG) before it is sent.
pub fn debug_span(env: &OtelEnv, req: &ExportTraceServiceRequest) {
    if env.debug {
        let mut line = req.to_json();
        line.push(b'\n');
        output::stderr(&format!(
            "otelctl: debug: span {}",
            String::from_utf8_lossy(&line)
        ));
    }
}

/// Reports an outcome: silent on success and when spooled (the spool is the plan for a
/// collector that is down), a warning when spans were rejected or lost.
pub fn report(env: &OtelEnv, outcome: &Outcome) {
    match outcome {
        Outcome::Exported { url, accepted } => {
            if accepted.rejected_spans > 0 {
                warn(&format!(
                    "{url} rejected {} span(s): {}",
                    accepted.rejected_spans, accepted.error_message
                ));
            } else if env.debug {
                output::stderr(&format!("otelctl: debug: exported to {url}\n"));
            }
        }
        Outcome::Spooled { why, path, .. } => {
            if env.debug {
                output::stderr(&format!(
                    "otelctl: debug: export failed ({why}); spooled to {}\n",
                    path.display()
                ));
            }
        }
        Outcome::Lost { why } => warn(&format!("span lost: {why}")),
    }
}
