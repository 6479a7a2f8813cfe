//! `otelctl span`: run a command inside a span; `span begin` / `span end` for a span that
//! spans several commands.
//!
//! Nothing about telemetry changes the wrapped command's exit status, stdio or environment
//! (beyond `TRACEPARENT`/`TRACESTATE`). The order is: read the environment (no probing), run
//! the child, then export within the deadline or spool.

use std::path::PathBuf;

use otelctl_config::env::EnvVars;
use otelctl_config::error::{Error, Source};
use otelctl_config::exit;
use otelctl_config::Result;
use otelctl_otlp::{from_hex, to_hex, KeyValue, Span, Status, StatusCode};
use otelctl_span::carrier::{self, Carrier};
use otelctl_span::emit::{self, Context};
use otelctl_span::runner::{self, ChildEnv};

use crate::cli::{EndStatus, GlobalArgs, SpanAction, SpanArgs, SpanBeginArgs, SpanEndArgs};
use crate::commands::telemetry;
use crate::output;

pub fn run(globals: &GlobalArgs, args: &SpanArgs) -> Result<u8> {
    match &args.action {
        Some(SpanAction::Begin(b)) => return begin(b),
        Some(SpanAction::End(e)) => return end(globals, e),
        None => {}
    }
    let env = telemetry::load_env();
    let (Some(service), Some(name), Some((program, program_args))) = (
        args.service.as_ref(),
        args.name.as_ref(),
        args.command.split_first(),
    ) else {
        unreachable!("clap requires SERVICE, NAME and CMD");
    };
    let service = telemetry::text_arg("SERVICE", service);
    let name = telemetry::text_arg("NAME", name);
    let user_attrs = telemetry::attributes(&args.attrs);

    if env.sdk_disabled {
        let run = runner::run(program, program_args, &ChildEnv::default());
        return Ok(finish_child(program, &run));
    }

    let ctx = Context::start(&env, None);
    let mut child_env = ChildEnv::default();
    child_env
        .set
        .push((EnvVars::TRACEPARENT, ctx.traceparent().format().into()));
    match &ctx.tracestate {
        Some(ts) => child_env.set.push((EnvVars::TRACESTATE, ts.into())),
        None => child_env.remove.push(EnvVars::TRACESTATE),
    }

    let start = emit::now_nanos();
    let run = runner::run(program, program_args, &child_env);
    let end = emit::now_nanos();
    let code = finish_child(program, &run);

    let mut attrs = user_attrs;
    otelctl_span::attrs::upsert(
        &mut attrs,
        KeyValue::string("process.command", program.to_string_lossy()),
    );
    if let Some(pid) = run.pid {
        otelctl_span::attrs::upsert(&mut attrs, KeyValue::int("process.pid", i64::from(pid)));
    }
    if let runner::ChildEnd::Signaled(sig) = run.end {
        otelctl_span::attrs::upsert(
            &mut attrs,
            KeyValue::string("process.exit.signal", runner::signal_name(sig)),
        );
    }
    if let Some(sig) = run.forwarded {
        otelctl_span::attrs::upsert(
            &mut attrs,
            KeyValue::string("otelctl.signal.forwarded", runner::signal_name(sig)),
        );
    }
    otelctl_span::attrs::upsert(&mut attrs, KeyValue::int("exit.code", i64::from(code)));
    otelctl_span::attrs::upsert(
        &mut attrs,
        KeyValue::int("process.exit.code", i64::from(code)),
    );
    let status = match run.end.error_type() {
        None => Status::default(),
        Some(error_type) => {
            otelctl_span::attrs::upsert(&mut attrs, KeyValue::string("error.type", error_type));
            Status {
                message: run.end.describe(),
                code: StatusCode::Error as i32,
            }
        }
    };
    let mut span = Span {
        name,
        kind: telemetry::kind(args.kind),
        start_time_unix_nano: start,
        end_time_unix_nano: end,
        attributes: attrs,
        status: Some(status),
        ..Default::default()
    };
    ctx.apply(&mut span);
    if ctx.sampled() {
        let settings = telemetry::lenient_settings(globals);
        telemetry::send(&env, settings.as_ref(), &service, span);
    }
    Ok(code)
}

/// Reports a child that could not start (like a shell would) and returns the exit status.
pub(crate) fn finish_child(program: &std::ffi::OsStr, run: &runner::Run) -> u8 {
    if let runner::ChildEnd::NotStarted { code, err } = &run.end {
        let what = if *code == exit::COMMAND_NOT_FOUND {
            "command not found".to_string()
        } else {
            err.to_string()
        };
        output::stderr(&format!("otelctl: {}: {what}\n", program.to_string_lossy()));
    }
    run.end.exit_code()
}

fn begin(args: &SpanBeginArgs) -> Result<u8> {
    let env = telemetry::load_env();
    let service = telemetry::text_arg("SERVICE", &args.service);
    let name = telemetry::text_arg("NAME", &args.name);
    let attributes = telemetry::attributes(&args.attrs);
    let ctx = Context::start(&env, None);
    let tp = ctx.traceparent();
    let path = match &args.carrier {
        Some(p) => PathBuf::from(p),
        None => {
            carrier::ensure_dir(&env.carrier_dir)?;
            carrier::path_in(&env.carrier_dir, &tp)
        }
    };
    let c = Carrier {
        service,
        name,
        kind: telemetry::kind(args.kind),
        trace_id: to_hex(&ctx.trace_id),
        span_id: to_hex(&ctx.span_id),
        parent_span_id: ctx.parent_span_id.map(|p| to_hex(&p)).unwrap_or_default(),
        flags: ctx.flags,
        tracestate: ctx.tracestate.clone().unwrap_or_default(),
        remote_parent: ctx.parent_span_id.is_some(),
        sampled: ctx.sampled() && !env.sdk_disabled,
        start_time_unix_nano: emit::now_nanos(),
        attributes,
    };
    carrier::write(&path, &c)?;
    output::stdout(format!("{tp}\n").as_bytes())?;
    Ok(exit::SUCCESS)
}

fn end(globals: &GlobalArgs, args: &SpanEndArgs) -> Result<u8> {
    let env = telemetry::load_env();
    let (path, origin) = match (&args.carrier, &env.parent) {
        (Some(p), _) => (PathBuf::from(p), Source::Flag("--carrier")),
        (None, Some(tp)) => (
            carrier::path_in(&env.carrier_dir, tp),
            Source::Env(EnvVars::TRACEPARENT),
        ),
        (None, None) => {
            return Err(Error::InvalidValue {
                what: "span to end",
                value: String::new(),
                origin: Source::Flag("--carrier"),
                expected: "--carrier FILE, or $TRACEPARENT as printed by `otelctl span begin`"
                    .to_string(),
            })
        }
    };
    // No separate exists() check: the read itself tells a missing carrier apart.
    let c = match carrier::read(&path) {
        Err(Error::Io { err, .. }) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::InvalidValue {
                what: "carrier file",
                value: path.display().to_string(),
                origin,
                expected:
                    "a file written by `otelctl span begin` that `span end` has not consumed yet"
                        .to_string(),
            })
        }
        read => read?,
    };
    let extra = telemetry::attributes(&args.attrs);
    let mut attrs = c.attributes.clone();
    for kv in extra {
        otelctl_span::attrs::upsert(&mut attrs, kv);
    }
    if let Some(code) = args.exit_code {
        otelctl_span::attrs::upsert(&mut attrs, KeyValue::int("exit.code", code));
        otelctl_span::attrs::upsert(&mut attrs, KeyValue::int("process.exit.code", code));
    }
    let status = match (args.status, args.exit_code) {
        (Some(EndStatus::Ok), _) => StatusCode::Ok,
        (Some(EndStatus::Error), _) => StatusCode::Error,
        (Some(EndStatus::Unset), _) => StatusCode::Unset,
        (None, Some(c)) if c != 0 => StatusCode::Error,
        (None, _) => StatusCode::Unset,
    };
    let message = match (status, &args.message, args.exit_code) {
        (StatusCode::Error, Some(m), _) => m.clone(),
        (StatusCode::Error, None, Some(c)) => format!("exited with code {c}"),
        _ => String::new(),
    };
    let bad_id = || {
        Error::bad_input(
            format!("carrier file {}", path.display()),
            "its trace or span id is invalid",
            "pass the file `otelctl span begin` wrote (--carrier), or remove it",
        )
    };
    let mut span = Span {
        trace_id: from_hex(&c.trace_id)
            .filter(|v| v.len() == 16)
            .ok_or_else(bad_id)?,
        span_id: from_hex(&c.span_id)
            .filter(|v| v.len() == 8)
            .ok_or_else(bad_id)?,
        parent_span_id: from_hex(&c.parent_span_id).ok_or_else(bad_id)?,
        trace_state: c.tracestate.clone(),
        flags: u32::from(c.flags) | 0x100 | if c.remote_parent { 0x200 } else { 0 },
        name: c.name.clone(),
        kind: c.kind,
        start_time_unix_nano: c.start_time_unix_nano,
        end_time_unix_nano: emit::now_nanos(),
        attributes: attrs,
        status: Some(Status {
            message,
            code: status as i32,
        }),
        ..Default::default()
    };
    if span.end_time_unix_nano < span.start_time_unix_nano {
        span.end_time_unix_nano = span.start_time_unix_nano;
    }
    // The carrier is consumed first: a second `span end` must not emit the span twice.
    if let Err(e) = std::fs::remove_file(&path) {
        return Err(Error::io("cannot remove carrier file", path, e));
    }
    if c.sampled && !env.sdk_disabled {
        let settings = telemetry::lenient_settings(globals);
        telemetry::send(&env, settings.as_ref(), &c.service, span);
    }
    Ok(exit::SUCCESS)
}
