//! A stand-in for `devenv tasks run` (devenv >= 2.1 with its default `otlp-grpc` feature), for
//! tests that run the generated `dt` script. Real devenv needs Nix builds this machine cannot do;
//! this models, with the same exporter crates devenv uses, the behaviour `dt` depends on:
//!
//! - **CLI** (cachix/devenv `devenv/src/cli.rs`): `tasks run NAME... [--mode M]`; a repeated
//!   `--mode` is refused with exit 2, as clap does.
//! - **Where spans go** (`TracingCliArgs::resolve` in `devenv/src/cli.rs`): the comma-separated
//!   `DEVENV_TRACE_TO`; `DEVENV_TRACE_DEFAULT_TO` only when that is empty; an empty default
//!   switches tracing off. Only `otlp-grpc[:URL]` exports (`devenv/src/tracing/otel.rs`,
//!   `create_exporter`: the default build has no `otlp-http-*` feature and exits 1 when asked for
//!   one); `json`/`pretty`/`full` destinations are accepted and ignored here.
//! - **Exporter** (`devenv/src/tracing/otel.rs`, `init_tracing_unified`): a one-worker
//!   multi-thread tokio runtime entered for the exporter; `opentelemetry-otlp` 0.32
//!   `SpanExporter::builder().with_tonic().with_endpoint(url)`, `SdkTracerProvider` with a batch
//!   exporter, resource `service.name=devenv`, tracer `devenv`; `provider.shutdown()` flushes at
//!   exit. Versions are those of devenv's Cargo.lock (opentelemetry 0.32, opentelemetry-otlp 0.32).
//! - **Spans** (`devenv-activity/src/builders.rs`, `devenv/src/devenv/mod.rs`,
//!   `devenv-tasks/src/tasks.rs`): each phase is a root activity (`.parent(None)`), so each starts
//!   its own trace: `configuring shell` (kind `operation`) with an `evaluate` child and the
//!   `capture_env_subprocess` span; then `running tasks` (kind `operation`) with one span per task
//!   (kind `task`, named after the task, `devenv.outcome` recorded). Attributes as devenv sets
//!   them: `devenv.activity.kind`, `devenv.ui.message`, `devenv.outcome`.
//! - **Environment capture** (`capture_shell_environment` in `devenv/src/devenv/mod.rs`): the
//!   shell hook runs in bash (here the file named by `STANDIN_SHELL_HOOK`), with
//!   `DEVENV_SKIP_TASKS=1` and the capture span's `TRACEPARENT`, and `env -0` becomes the tasks'
//!   environment.
//! - **Tasks** (`devenv-tasks/src/executor.rs`, `build_command`): the task's status command (if
//!   any) runs first and a zero exit skips exec; exec runs in bash; each gets the captured
//!   environment plus `TRACEPARENT`/`TRACESTATE` of the task's span (`trace_propagation_env`,
//!   registered only when OTLP export is on: with tracing off the inherited variables pass through).
//!   Task files come from `STANDIN_TASKS`: `<name>.exec` and optional `<name>.status`.
//! - **Exit**: 1 when a task failed, else 0.
//!
//! Not modelled: Nix evaluation itself, processes, the TUI, caching of task outputs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{Status, TraceContextExt as _, Tracer as _, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;

/// Runs as `devenv ARGS...`; returns the exit code.
pub fn main(args: &[String]) -> i32 {
    let (tasks, _mode) = match parse(args) {
        Ok(p) => p,
        Err((code, message)) => {
            eprintln!("{message}");
            return code;
        }
    };
    let specs = match trace_specs() {
        Ok(s) => s,
        Err(message) => {
            eprintln!("{message}");
            return 1;
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .thread_name("otel")
        .build()
        .expect("tokio runtime");
    let _rt = runtime.enter();

    let provider = if specs.is_empty() {
        None
    } else {
        let mut builder = SdkTracerProvider::builder()
            .with_resource(Resource::builder().with_service_name("devenv").build());
        for url in &specs {
            let exporter = match SpanExporter::builder()
                .with_tonic()
                .with_endpoint(url.as_str())
                .build()
            {
                Ok(e) => e,
                Err(e) => {
                    eprintln!("error: failed to create OTLP exporter: {e}");
                    return 1;
                }
            };
            builder = builder.with_batch_exporter(exporter);
        }
        Some(builder.build())
    };
    let tracer = provider.as_ref().map(|p| p.tracer("devenv"));

    let code = run(tracer.as_ref(), &tasks);

    if let Some(p) = provider {
        if let Err(e) = p.shutdown() {
            eprintln!("warning: failed to shut down OpenTelemetry tracer provider: {e}");
        }
    }
    drop(_rt);
    drop(runtime);
    code
}

fn parse(args: &[String]) -> Result<(Vec<String>, Option<String>), (i32, String)> {
    if args.len() < 2 || args[0] != "tasks" || args[1] != "run" {
        return Err((
            2,
            format!("devenv stand-in: only `tasks run` is modelled, got {args:?}"),
        ));
    }
    let mut tasks = Vec::new();
    let mut mode = None;
    let mut it = args[2..].iter();
    while let Some(a) = it.next() {
        if a == "--mode" {
            if mode.is_some() {
                return Err((
                    2,
                    "error: the argument '--mode <MODE>' cannot be used multiple times".to_string(),
                ));
            }
            mode = Some(
                it.next()
                    .cloned()
                    .ok_or((2, "--mode needs a value".to_string()))?,
            );
        } else if a.starts_with('-') {
            return Err((2, format!("error: unexpected argument '{a}'")));
        } else {
            tasks.push(a.clone());
        }
    }
    Ok((tasks, mode))
}

/// The OTLP/gRPC endpoints devenv would export to.
fn trace_specs() -> Result<Vec<String>, String> {
    let from = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (var, text) = match from("DEVENV_TRACE_TO") {
        Some(t) => ("DEVENV_TRACE_TO", t),
        None => match from("DEVENV_TRACE_DEFAULT_TO") {
            Some(t) => ("DEVENV_TRACE_DEFAULT_TO", t),
            None => return Ok(Vec::new()),
        },
    };
    let mut urls = Vec::new();
    for spec in text.split(',').map(str::trim) {
        if spec == "otlp-grpc" {
            urls.push("http://localhost:4317/".to_string());
        } else if let Some(url) = spec.strip_prefix("otlp-grpc:") {
            // devenv parses the destination with the `url` crate, which gives an empty path as
            // `/` (`http://127.0.0.1:4317` becomes `http://127.0.0.1:4317/`), then hands
            // `url.as_str()` to the exporter.
            let after_scheme = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
            if after_scheme.contains('/') {
                urls.push(url.to_string());
            } else {
                urls.push(format!("{url}/"));
            }
        } else if let Some(format) = ["otlp-http-protobuf", "otlp-http-json"]
            .into_iter()
            .find(|f| spec.starts_with(f))
        {
            return Err(format!(
                "error: {format} requires the '{format}' cargo feature"
            ));
        } else if ["json", "pretty", "full", "stdout", "stderr", "file:"]
            .iter()
            .any(|p| spec.starts_with(p))
        {
            continue;
        } else {
            return Err(format!("{var}: invalid trace output spec {spec:?}"));
        }
    }
    Ok(urls)
}

fn activity(tracer: &SdkTracer, name: &str, kind: &'static str, parent: &Context) -> Context {
    let span = tracer
        .span_builder(name.to_ascii_lowercase())
        .with_attributes([
            KeyValue::new("devenv.activity.kind", kind),
            KeyValue::new("devenv.ui.message", name.to_string()),
        ])
        .start_with_context(tracer, parent);
    parent.with_span(span)
}

/// `TRACEPARENT`/`TRACESTATE` of `cx`, as devenv's propagator hands them to children.
fn propagation_env(cx: &Context) -> Vec<(String, String)> {
    let mut headers: HashMap<String, String> = HashMap::new();
    TraceContextPropagator::new().inject_context(cx, &mut headers);
    headers
        .into_iter()
        .map(|(k, v)| (k.to_ascii_uppercase(), v))
        .collect()
}

fn run(tracer: Option<&SdkTracer>, tasks: &[String]) -> i32 {
    let root = Context::new();
    // Phase 1: configuring shell (evaluation, then the environment capture).
    let env = match tracer {
        Some(t) => {
            let phase = activity(t, "Configuring shell", "operation", &root);
            let eval = activity(t, "Evaluating devenv.nix", "evaluate", &phase);
            eval.span().end();
            let capture = phase.with_span(
                t.span_builder("capture_env_subprocess")
                    .start_with_context(t, &phase),
            );
            let env = capture_env(&propagation_env(&capture));
            capture.span().end();
            phase
                .span()
                .set_attribute(KeyValue::new("devenv.outcome", "success"));
            phase.span().end();
            env
        }
        None => capture_env(&[]),
    };

    // Phase 2: running tasks.
    let phase = tracer.map(|t| activity(t, "Running tasks", "operation", &root));
    let mut failed = false;
    for name in tasks {
        let cx = match (tracer, &phase) {
            (Some(t), Some(p)) => Some(activity(t, name, "task", p)),
            _ => None,
        };
        let inject = cx.as_ref().map(propagation_env).unwrap_or_default();
        let dir = PathBuf::from(std::env::var_os("STANDIN_TASKS").expect("STANDIN_TASKS"));
        let status = dir.join(format!("{name}.status"));
        let outcome = if status.exists() && task(&status, &env, &inject, false) {
            "cached"
        } else if task(&dir.join(format!("{name}.exec")), &env, &inject, true) {
            "success"
        } else {
            failed = true;
            "failed"
        };
        if let Some(cx) = cx {
            cx.span()
                .set_attribute(KeyValue::new("devenv.outcome", outcome));
            if outcome == "failed" {
                cx.span().set_status(Status::error("task failed"));
            }
            cx.span().end();
        }
        if failed {
            break;
        }
    }
    if let Some(p) = phase {
        p.span().set_attribute(KeyValue::new(
            "devenv.outcome",
            if failed { "failed" } else { "success" },
        ));
        p.span().end();
    }
    i32::from(failed)
}

/// Sources the shell hook (if any) the way devenv captures the shell environment.
fn capture_env(inject: &[(String, String)]) -> Vec<(String, String)> {
    let Some(hook) = std::env::var_os("STANDIN_SHELL_HOOK") else {
        return std::env::vars().collect();
    };
    let out = Command::new("bash")
        .arg("-c")
        .arg(". \"$0\" >&2 && env -0")
        .arg(&hook)
        .env("DEVENV_SKIP_TASKS", "1")
        .envs(inject.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "devenv stand-in: shell environment capture failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
        .split(|b| *b == 0)
        .filter_map(|kv| {
            let kv = String::from_utf8_lossy(kv);
            let (k, v) = kv.split_once('=')?;
            Some((k.to_string(), v.to_string()))
        })
        .filter(|(k, _)| k != "DEVENV_SKIP_TASKS")
        .collect()
}

fn task(script: &Path, env: &[(String, String)], inject: &[(String, String)], exec: bool) -> bool {
    let mut cmd = Command::new("bash");
    if exec {
        cmd.arg("-e");
    }
    cmd.arg(script)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .envs(inject.iter().map(|(k, v)| (k, v)));
    cmd.status().map(|s| s.success()).unwrap_or(false)
}
