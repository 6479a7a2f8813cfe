//! `otelctl up`: the local stack in the foreground. Starts `otelctl run <service>` for the
//! metrics store (Prometheus) and the logs store (VictoriaLogs) when their programs are found,
//! Tempo (which remote-writes its span metrics to Prometheus), the collector (which exports to
//! all three) and (when its program is found) Grafana, in that order, each once the one before
//! is ready; prefixes their output, prints the URLs, and stops everything on Ctrl-C or when one
//! of them dies, saying which and why. A store whose program is missing is turned off for every
//! service (`OTELCTL_METRICS_STORE=off` / `OTELCTL_LOGS_STORE=off`): the collector then accepts
//! and drops that signal instead of retrying an export nobody takes.

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use otelctl_config::detect::Mode;
use otelctl_config::settings::Settings;
use otelctl_config::{exit, Error, Result};
use otelctl_stack::programs;
use otelctl_stack::readiness;
use otelctl_stack::render::Service;
use otelctl_stack::stack;
use otelctl_stack::supervise::{self, Sink, Supervised};

use crate::cli::{GlobalArgs, UpArgs};
use crate::commands::up_embedded;
use crate::commands::wait::timeout;
use otelctl_config::env::EnvVars;

/// How long each service gets to stop after SIGTERM before SIGKILL. Tempo (2.10, 3.0) hangs in
/// shutdown after it has served a query (its query-frontend queue waits for a cleanup that
/// has already stopped), so the grace is short; its WAL is replayed on the next start.
const STOP_GRACE: Duration = Duration::from_secs(8);

fn say(sink: &Sink, text: &str) {
    if let Ok(mut s) = sink.lock() {
        let _ = writeln!(s, "otelctl: {text}");
        let _ = s.flush();
    }
}

/// What `up` says when the real stack's programs are missing: every one of them, with the
/// flags, variables and program names that would find it.
fn missing_programs(missing: &[Service]) -> String {
    let each = |f: &dyn Fn(Service) -> String| {
        missing.iter().map(|s| f(*s)).collect::<Vec<_>>().join(", ")
    };
    format!(
        "no {} program found (looked on PATH for {}): pass {}, set {}, or put them on PATH",
        missing
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(" and no "),
        each(&|s| programs::path_names(s).join(" or ")),
        each(&|s| format!("--{}-bin PATH", s.name())),
        each(&|s| programs::env_name(s).to_string()),
    )
}

pub fn run(settings: &Settings, _globals: &GlobalArgs, args: &UpArgs) -> Result<u8> {
    let sink: Sink = Arc::new(Mutex::new(std::io::stdout()));
    let detection = settings.detect()?;
    if detection.mode == Mode::System {
        say(
            &sink,
            &format!(
                "system mode ({}): the system stack serves this project; nothing to start",
                detection.reason
            ),
        );
        return Ok(exit::SUCCESS);
    }
    settings.root.require_existing()?;
    if args.embedded {
        return up_embedded::run(settings, args);
    }
    let limit = timeout(args.timeout, "--timeout")?;
    let stack_settings = settings.stack()?;
    let ports = settings.ports();

    // Find every program and check every port before starting anything. Without a Collector
    // or a Tempo there is no real stack: otelctl's own receiver and viewer take its place.
    let mut plan: Vec<(Service, PathBuf)> = Vec::new();
    let mut missing: Vec<Service> = Vec::new();
    for (service, bin) in [
        (Service::Tempo, args.tempo_bin.as_deref()),
        (Service::Collector, args.collector_bin.as_deref()),
    ] {
        match programs::find(service, bin, &stack_settings) {
            Ok(program) => plan.push((service, program)),
            Err(Error::NotFound { .. }) if bin.is_none() => missing.push(service),
            Err(e) => return Err(e),
        }
    }
    if !missing.is_empty() {
        say(&sink, &missing_programs(&missing));
        say(
            &sink,
            "running the embedded receiver and viewer instead (--embedded)",
        );
        return up_embedded::run(settings, args);
    }
    // The stores first: Tempo's generator writes to Prometheus, the collector to both.
    let mut turned_off: Vec<(&'static str, &'static str)> = Vec::new();
    let mut stores: Vec<(Service, PathBuf)> = Vec::new();
    for (service, bin, var) in [
        (
            Service::Prometheus,
            args.prometheus_bin.as_deref(),
            EnvVars::OTELCTL_METRICS_STORE,
        ),
        (
            Service::VictoriaLogs,
            args.victorialogs_bin.as_deref(),
            EnvVars::OTELCTL_LOGS_STORE,
        ),
    ] {
        if !service.wanted(&stack_settings) {
            say(
                &sink,
                &format!("{}: not started (${var}=off)", service.name()),
            );
            continue;
        }
        match programs::find(service, bin, &stack_settings) {
            Ok(program) => stores.push((service, program)),
            Err(e @ Error::NotFound { .. }) if bin.is_none() => {
                say(
                    &sink,
                    &format!(
                        "{}: not started, so {} are accepted and not stored: {e}",
                        service.name(),
                        if service == Service::Prometheus {
                            "metrics"
                        } else {
                            "logs"
                        }
                    ),
                );
                turned_off.push((var, "off"));
            }
            Err(e) => return Err(e),
        }
    }
    plan.splice(0..0, stores);
    if args.no_grafana {
        say(&sink, "grafana: not started (--no-grafana)");
    } else {
        match programs::find(
            Service::Grafana,
            args.grafana_bin.as_deref(),
            &stack_settings,
        ) {
            Ok(p) => plan.push((Service::Grafana, p)),
            Err(e) => say(&sink, &format!("grafana: not started: {e}")),
        }
    }
    for (service, _) in &plan {
        stack::check_ports(*service, &ports)?;
    }

    supervise::catch_stop_signals();
    let started = Instant::now();
    let exe = std::env::current_exe()
        .map_err(|e| Error::failed("cannot find the otelctl program itself", e))?;
    // One after another, each once the previous is ready: the collector's first exports find
    // Tempo listening (its gRPC connection would otherwise back off for seconds), and Grafana
    // finds its datasource. Deaths and Ctrl-C are watched while waiting.
    let mut children: Vec<Supervised> = Vec::new();
    for (service, program) in &plan {
        let mut cmd = Command::new(&exe);
        // The children must compute exactly our ports and paths: pass the resolved values.
        cmd.arg("--root")
            .arg(settings.root.path())
            .arg("--base-port")
            .arg(ports.base.to_string())
            .arg("run")
            .arg(service.name())
            .arg("--bin")
            .arg(program)
            .env(EnvVars::OTELCTL_MODE, "local")
            .envs(turned_off.iter().copied());
        if let (Service::Tempo, Some(v)) = (service, &args.tempo_version) {
            cmd.arg("--tempo-version").arg(v);
        }
        match Supervised::spawn(service.name(), cmd, Arc::clone(&sink)) {
            Ok(child) => children.push(child),
            Err(e) => {
                stop_all(&mut children, &sink);
                return Err(e);
            }
        }
        let target = stack::target(*service, &ports);
        match readiness::wait(*service, target, limit, || check(&mut children)) {
            Ok(_) => say(
                &sink,
                &format!(
                    "{} ready ({:.1} s after start)",
                    service.name(),
                    started.elapsed().as_secs_f64()
                ),
            ),
            Err(e) => return Ok(report_and_stop(&mut children, &sink, &e)),
        }
    }
    let mut urls = format!(
        "stack ready in {:.1} s\n  collector  http://127.0.0.1:{}  (OTLP/HTTP; metrics on :{})\n  tempo      http://127.0.0.1:{}",
        started.elapsed().as_secs_f64(),
        ports.collector_otlp_http,
        ports.collector_metrics,
        ports.tempo_http
    );
    if plan.iter().any(|(s, _)| *s == Service::Prometheus) {
        urls.push_str(&format!(
            "\n  prometheus http://127.0.0.1:{}  (metrics: PromQL API, OTLP at /api/v1/otlp)",
            ports.metrics_store_http
        ));
    }
    if plan.iter().any(|(s, _)| *s == Service::VictoriaLogs) {
        urls.push_str(&format!(
            "\n  logs       http://127.0.0.1:{}/select/vmui/  (VictoriaLogs: LogsQL API and UI)",
            ports.logs_store_http
        ));
    }
    if plan.iter().any(|(s, _)| *s == Service::Grafana) {
        urls.push_str(&format!(
            "\n  grafana    http://127.0.0.1:{}",
            ports.grafana_http
        ));
    }
    urls.push_str("\nCtrl-C stops the stack");
    say(&sink, &urls);

    loop {
        if let Err(e) = check(&mut children) {
            return Ok(report_and_stop(&mut children, &sink, &e));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Fails when a stop was requested or a child has died (naming it, its status, its last lines).
fn check(children: &mut [Supervised]) -> Result<()> {
    if let Some(sig) = supervise::stop_requested() {
        return Err(Error::failed(
            "stopped",
            format!("signal {sig} asked to stop"),
        ));
    }
    for child in children.iter_mut() {
        if let Some(status) = child.exited() {
            let lines = child.last_lines();
            let why = if lines.is_empty() {
                "it printed nothing".to_string()
            } else {
                format!("its last lines:\n    {}", lines.join("\n    "))
            };
            return Err(Error::failed(
                format!(
                    "{} exited unexpectedly ({})",
                    child.name,
                    supervise::describe(status)
                ),
                why,
            ));
        }
    }
    Ok(())
}

/// Reports why the stack stops, stops it, and returns the exit code.
fn report_and_stop(children: &mut Vec<Supervised>, sink: &Sink, why: &Error) -> u8 {
    let requested = supervise::stop_requested().is_some();
    if requested {
        say(sink, "stopping the stack");
    } else {
        say(sink, &why.to_string());
        say(sink, "stopping the stack");
    }
    stop_all(children, sink);
    if requested {
        exit::SUCCESS
    } else {
        why.exit_code()
    }
}

fn stop_all(children: &mut Vec<Supervised>, sink: &Sink) {
    // Reverse start order: Grafana, collector (flushes to the stores), Tempo, the stores.
    while let Some(mut child) = children.pop() {
        match child.stop(STOP_GRACE) {
            Some(status) => say(
                sink,
                &format!("{} stopped ({})", child.name, supervise::describe(status)),
            ),
            None => say(sink, &format!("{} could not be waited for", child.name)),
        }
    }
}
