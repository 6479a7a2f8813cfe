//! `otelctl relay -- CMD...`: what `dt` runs devenv under, inside dt's span.
//!
//! devenv never reads an incoming `TRACEPARENT`, so its own spans would start traces of their
//! own. The relay listens on 127.0.0.1 (an ephemeral port), points the command's devenv tracing
//! (`DEVENV_TRACE_TO`) and span exports (`OTEL_EXPORTER_OTLP_ENDPOINT`,
//! `OTELCTL_RELAY_ENDPOINT`) at itself, adopts every span into the trace of `$TRACEPARENT`
//! (`otelctl_relay::adopt`), and exports it where `dt`'s own span goes, else spools it; a span
//! whose parent has not come yet waits for it, and at the end goes under dt's span if it never
//! came. It stops once the command has exited (devenv flushes its exporter before it exits),
//! after the exports in progress are answered. The command's exit status, stdio and
//! signals are the user's, as with `otelctl span`.

use std::net::TcpListener;
use std::sync::Arc;

use otelctl_config::env::EnvVars;
use otelctl_config::settings::DevenvTrace;
use otelctl_config::Result;
use otelctl_relay::server::Server;
use otelctl_relay::{child_vars, Relay};
use otelctl_span::runner::{self, ChildEnv};

use crate::cli::{GlobalArgs, RelayArgs};
use crate::commands::{span, telemetry};
use crate::output;

pub fn run(globals: &GlobalArgs, args: &RelayArgs) -> Result<u8> {
    let Some((program, program_args)) = args.command.split_first() else {
        unreachable!("clap requires CMD");
    };
    let env = telemetry::load_env();
    let settings = telemetry::lenient_settings(globals);
    let devenv_trace = settings
        .as_ref()
        .map(|s| s.devenv_trace)
        .unwrap_or_default();

    // Without a sampled dt span there is no trace to join: devenv's default destination is
    // switched off for this command, which runs as is.
    let unrelayed = || ChildEnv {
        set: vec![(EnvVars::DEVENV_TRACE_DEFAULT_TO, Default::default())],
        remove: Vec::new(),
    };
    let dt = env.parent.filter(|p| p.sampled() && !env.sdk_disabled);
    let listening = dt.and_then(|dt| {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .map_err(|e| telemetry::warn(&format!("relay: cannot listen on 127.0.0.1: {e}")))
            .ok()?;
        let port = listener.local_addr().ok()?.port();
        let relay = Arc::new(Relay::new(dt, env.clone(), settings.clone()));
        match Server::start(listener, relay.clone()) {
            Ok(server) => Some((server, relay, port)),
            Err(e) => {
                if devenv_trace == DevenvTrace::OtlpGrpc {
                    telemetry::warn(&format!("relay: {e}; devenv's own spans are not recorded"));
                }
                None
            }
        }
    });

    let Some((server, relay, port)) = listening else {
        let run = runner::run(program, program_args, &unrelayed());
        return Ok(span::finish_child(program, &run));
    };
    let url = format!("http://127.0.0.1:{port}");
    let user_trace_to = otelctl_config::env::os(EnvVars::DEVENV_TRACE_TO);
    let child = child_vars(&url, user_trace_to.as_deref(), devenv_trace);
    let run = runner::run(program, program_args, &child);
    server.stop();
    // No export can come any more: spans still waiting for a parent never get one.
    relay.finish();

    let t = relay.tally();
    if t.rejected_spans > 0 {
        telemetry::warn(&format!(
            "relay: the endpoint rejected {} span(s): {}",
            t.rejected_spans,
            t.rejected_message.as_deref().unwrap_or("")
        ));
    }
    if t.not_taken > 0 {
        telemetry::warn(&format!(
            "relay: {} export(s) could be neither forwarded nor spooled (last: {})",
            t.not_taken,
            t.last_error.as_deref().unwrap_or("")
        ));
    }
    if t.left_held > 0 {
        telemetry::warn(&format!(
            "relay: {} span(s) that waited for their parent could not be forwarded (last: {}); \
             they are in the spool now: `otelctl spool flush` sends them once the collector is up",
            t.left_held,
            t.last_error.as_deref().unwrap_or("")
        ));
    }
    if t.unheld_spans > 0 {
        telemetry::warn(&format!(
            "relay: {} span(s) could not wait for their parent in the spool ({}); they were \
             sent at once, so their parent may show as missing until it arrives",
            t.unheld_spans,
            t.hold_error.as_deref().unwrap_or("")
        ));
    }
    if env.debug {
        output::stderr(&format!(
            "otelctl: debug: relay {url}: {} export(s), {} span(s) adopted ({} roots under dt), \
             {} held for their parent ({} never came: under dt), {} exported, {} spooled; \
             metric data points {} exported, {} spooled; log records {} exported, {} spooled \
             ({} moved into the dt trace)\n",
            t.requests,
            t.adopted.moved,
            t.adopted.reparented,
            t.held_spans,
            t.orphans,
            t.exported_spans,
            t.spooled_spans,
            t.metrics.exported,
            t.metrics.spooled,
            t.logs.exported,
            t.logs.spooled,
            t.logs.adopted
        ));
    }
    Ok(span::finish_child(program, &run))
}
