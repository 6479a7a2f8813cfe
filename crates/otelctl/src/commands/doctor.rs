//! `otelctl doctor`: checks the whole span pipeline of this project, in the order a span travels
//! (mode, endpoint, ports, collector, trace store, Grafana, spool, devenv, clocks), and says what
//! to do, one line per finding. Exit 0 only when a span sent now would arrive.

use std::time::{Duration, Instant};

use serde::Serialize;

use otelctl_config::detect::{Mode, ModeSetting};
use otelctl_config::env::EnvVars;
use otelctl_config::ports::{self, Holder, PortUse};
use otelctl_config::secrets::{mask_url, Secrets};
use otelctl_config::settings::Settings;
use otelctl_config::{exit, Result};
use otelctl_embedded::probe as embedded_probe;
use otelctl_otlp::ExportTraceServiceRequest;
use otelctl_span::otelenv::OtelEnv;
use otelctl_span::spool::Spool;
use otelctl_span::{emit, exporter};
use otelctl_stack::render::Service;
use otelctl_stack::{readiness, stack};

use crate::cli::DoctorArgs;
use crate::output;

/// Each network check's budget: a healthy local service answers in milliseconds.
const PROBE: Duration = Duration::from_secs(2);
/// Span times this far from now (in either direction) point at a wrong clock.
const SKEW: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Level {
    Ok,
    Info,
    Warn,
    Fail,
}

impl Level {
    fn tag(self) -> &'static str {
        match self {
            Level::Ok => "ok  ",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Fail => "FAIL",
        }
    }
}

#[derive(Debug, Serialize)]
struct Finding {
    check: &'static str,
    level: Level,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<String>,
}

#[derive(Serialize)]
struct Report {
    /// Whether a span sent now would arrive (no `fail` finding).
    ok: bool,
    findings: Vec<Finding>,
}

#[derive(Default)]
struct Findings(Vec<Finding>);

impl Findings {
    fn add(&mut self, check: &'static str, level: Level, message: String, fix: Option<String>) {
        self.0.push(Finding {
            check,
            level,
            message,
            fix,
        });
    }
    fn ok(&mut self, check: &'static str, message: String) {
        self.add(check, Level::Ok, message, None);
    }
    fn info(&mut self, check: &'static str, message: String, fix: impl Into<String>) {
        self.add(check, Level::Info, message, Some(fix.into()));
    }
    fn warn(&mut self, check: &'static str, message: String, fix: impl Into<String>) {
        self.add(check, Level::Warn, message, Some(fix.into()));
    }
    fn fail(&mut self, check: &'static str, message: String, fix: impl Into<String>) {
        self.add(check, Level::Fail, message, Some(fix.into()));
    }
    /// An error of the configuration as a failed check: its message, and its own advice.
    fn error(&mut self, check: &'static str, error: otelctl_config::Error) {
        let (message, fix) = error.split_fix();
        self.fail(
            check,
            message,
            fix.unwrap_or_else(|| {
                "correct the file, variable or flag the message names, then run `otelctl doctor` \
                 again"
                    .to_string()
            }),
        );
    }
}

/// What the project's services are expected to be, by mode.
struct Expected {
    collector: u16,
    tempo: u16,
    grafana: u16,
    metrics_store: u16,
    logs_store: u16,
    /// Every port of the stack with its name.
    named: Vec<(&'static str, u16)>,
}

pub fn run(settings: &Settings, args: &DoctorArgs) -> Result<u8> {
    let mut f = Findings::default();
    check(settings, &mut f);
    // Whatever a check quoted (an endpoint, a collector's echo of our request, an older
    // `.last-failure`), no credential of this shell's configuration is shown.
    let secrets = secrets_of(settings);
    for x in &mut f.0 {
        x.message = secrets.mask(&x.message);
        x.fix = x.fix.as_deref().map(|fix| secrets.mask(fix));
    }
    let ok = f.0.iter().all(|x| x.level != Level::Fail);
    let report = Report { ok, findings: f.0 };
    if args.json {
        output::stdout(&output::json(&report))?;
    } else {
        let mut text = String::new();
        for x in &report.findings {
            text.push_str(&format!("{} {:<12} {}", x.level.tag(), x.check, x.message));
            if let Some(fix) = &x.fix {
                text.push_str(&format!(" → {fix}"));
            }
            text.push('\n');
        }
        text.push_str(if ok {
            "spans would arrive\n"
        } else {
            "spans would NOT arrive: fix the FAIL lines above\n"
        });
        output::stdout(text.as_bytes())?;
    }
    Ok(if ok { exit::SUCCESS } else { exit::FAILURE })
}

/// The credentials this shell configures: the exporter's headers and endpoint, and the local
/// stack's upstream.
fn secrets_of(settings: &Settings) -> Secrets {
    let env = OtelEnv::load();
    let mut secrets = env
        .exporter
        .secrets(&emit::traces_url(&env, Some(settings)));
    if let Ok(Some(up)) = settings.stack().map(|s| s.upstream) {
        secrets.extend(&Secrets::from_headers(&up.headers));
        secrets.add_url(&up.endpoint);
    }
    for name in [
        EnvVars::OTEL_EXPORTER_OTLP_ENDPOINT,
        EnvVars::OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
        EnvVars::OTELCTL_UPSTREAM_ENDPOINT,
    ] {
        if let Some(v) = var(name) {
            secrets.add_url(&v);
        }
    }
    secrets
}

/// Every check, in the order a span travels; stops where nothing after could be checked.
fn check(settings: &Settings, f: &mut Findings) {
    let env = OtelEnv::load();

    // 1. Mode.
    let detection = match settings.detect() {
        Ok(d) => d,
        Err(e) => return f.error("mode", e),
    };
    let root = settings.ports().root;
    let mode_fix = if settings.mode_setting == ModeSetting::Auto {
        "OTELCTL_MODE=local or OTELCTL_MODE=system chooses the mode yourself"
    } else {
        "unset OTELCTL_MODE to let otelctl detect the mode"
    };
    f.info(
        "mode",
        format!(
            "{} mode ({}); project root {root}",
            detection.mode.as_str(),
            detection.reason
        ),
        format!("{mode_fix}; --root DIR checks another project"),
    );
    let expected = match detection.mode {
        Mode::Local => {
            let p = settings.ports();
            Expected {
                collector: p.collector_otlp_http,
                tempo: p.tempo_http,
                grafana: p.grafana_http,
                metrics_store: p.metrics_store_http,
                logs_store: p.logs_store_http,
                named: p.named().to_vec(),
            }
        }
        Mode::System => match settings.system_ports() {
            Ok(p) => Expected {
                collector: p.collector,
                tempo: p.tempo_http,
                grafana: p.grafana,
                metrics_store: p.metrics_store,
                logs_store: p.logs_store,
                named: p.named().to_vec(),
            },
            Err(e) => return f.error("ports", e),
        },
    };

    // 2. Endpoint.
    for w in &env.warnings {
        f.warn(
            "environment",
            w.clone(),
            "fix the variable (see docs/commands/span.md)",
        );
    }
    let url = emit::traces_url(&env, Some(settings));
    let ours = is_loopback_port(&url, expected.collector);
    // Which variable sent spans elsewhere (None: no endpoint variable is set at all).
    let endpoint_var = [
        EnvVars::OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
        EnvVars::OTEL_EXPORTER_OTLP_ENDPOINT,
    ]
    .into_iter()
    .find(|v| var(v).is_some());
    let no_shell_env = endpoint_var.is_none() && detection.mode == Mode::Local && !ours;
    let endpoint_ok = check_endpoint(f, &url, expected.collector, no_shell_env);
    // Whether something (this project's stack, presumably) listens on the project's port.
    let project_listens = ports::holder(expected.collector).ok().flatten().is_some();

    // 3. Ports. otelctl's embedded server (local mode) is recognised by its answer, not by a
    // process name: the same probe `status` and `wait` use.
    let data = settings.data_dir(Mode::Local);
    let embedded = detection.mode == Mode::Local
        && embedded_probe::probe(expected.collector, expected.grafana, Instant::now() + PROBE)
            .is_ok();
    let embedded_pid = embedded
        .then(|| ports::holder(expected.collector).ok().flatten())
        .flatten()
        .map(|h| h.pid);
    for (name, port) in &expected.named {
        match ports::holder(*port) {
            Ok(None) if ports::in_use_on_loopback(*port) => {
                // No listener, yet no bind: connections hold it (an outgoing one, or its
                // TIME_WAIT).
                let u = PortUse::of(*port);
                f.fail(
                    "ports",
                    format!("{port} ({name}) cannot be listened on: {}", u.describe()),
                    u.fix(),
                );
            }
            Ok(None) => {}
            Ok(Some(h)) => {
                let service = service_of(name);
                let recorded = detection.mode == Mode::Local
                    && service.is_some_and(|s| stack::running_pid(&data, s) == Some(h.pid));
                if embedded_pid == Some(h.pid) {
                    f.ok(
                        "ports",
                        format!(
                            "{port} ({name}): {} (pid {}), the embedded stack",
                            h.name, h.pid
                        ),
                    );
                } else if recorded || expected_program(name, &h) {
                    f.ok(
                        "ports",
                        format!("{port} ({name}): {} (pid {})", h.name, h.pid),
                    );
                } else {
                    f.fail(
                        "ports",
                        format!(
                            "{port} ({name}) is held by another program: {} (pid {}: {})",
                            h.name,
                            h.pid,
                            shorten(&h.cmdline)
                        ),
                        format!(
                            "stop pid {} or move this project's ports (OTELCTL_BASE_PORT, or \
                             OTELCTL_PORT_RANGE; `otelctl ports` shows them)",
                            h.pid
                        ),
                    );
                }
            }
            Err(_) => f.warn(
                "ports",
                format!("{port} ({name}) is in use by a process otelctl cannot see"),
                "check with `ss -ltnp` (as root) who listens there",
            ),
        }
    }

    // Ports the kernel may give any outgoing connection (a fixed base, or the range before the
    // ports moved below 32768): the stack fails to start now and then.
    if detection.mode == Mode::Local {
        if let Some((lo, hi)) = ports::outgoing_range() {
            let inside: Vec<String> = expected
                .named
                .iter()
                .filter(|(_, p)| (lo..=hi).contains(p))
                .map(|(_, p)| p.to_string())
                .collect();
            if !inside.is_empty() {
                f.warn(
                    "ports",
                    format!(
                        "{} of this project's ports ({}) lie in the kernel's range for outgoing \
                         connections ({lo}-{hi}): any client connection, or its TIME_WAIT for 60 s, \
                         may hold one when the stack starts",
                        inside.len(),
                        inside.join(", ")
                    ),
                    format!(
                        "use the default range 10000-32767 (unset OTELCTL_PORT_RANGE / \
                         otel.portRangeEnd), or a base port below {}",
                        lo.saturating_sub(ports::PORT_COUNT)
                    ),
                );
            }
        }
    }

    // 4. The collector (or whatever the endpoint is) accepts an empty export.
    let collector_up = endpoint_ok
        && check_export(
            f,
            &env,
            &url,
            detection.mode,
            (no_shell_env && project_listens).then_some(LOAD_ENV),
        );

    // 5-6. The trace store answers a search; Grafana's datasource is healthy.
    if !endpoint_ok {
        // Nothing to check behind an endpoint spans cannot reach.
    } else if !ours {
        let fix = match endpoint_var {
            Some(v) => format!(
                "look for them where that endpoint stores them; unset {v} (and re-enter the \
                 shell) to use this project's stack"
            ),
            None => format!("load this project's environment: {LOAD_ENV}"),
        };
        f.info(
            "trace store",
            format!(
                "spans go to {}, not to this project's stack: its store is not checked",
                mask_url(&url)
            ),
            fix,
        );
    } else if embedded {
        check_embedded_store(f, expected.grafana);
    } else if collector_up {
        check_tempo(f, expected.tempo);
        check_stores(f, settings, expected.metrics_store, expected.logs_store);
        check_grafana(f, expected.grafana);
    }

    // 7. Spool backlog and the last export failure.
    let spool_dir = emit::spool_dir(Some(settings), &env);
    if let Some(dir) = &spool_dir {
        check_spool(f, &Spool::new(dir, env.spool_max_bytes));
    }

    // 8. devenv's own spans.
    check_devenv(f, expected.collector);

    // 9. Clocks: spans waiting in the spool against the time they were written.
    if let Some(dir) = &spool_dir {
        check_clock(f, dir);
    }
}

fn service_of(port_name: &str) -> Option<Service> {
    if port_name.starts_with("Collector") {
        Some(Service::Collector)
    } else if port_name.starts_with("Tempo") {
        Some(Service::Tempo)
    } else if port_name.starts_with("Grafana") {
        Some(Service::Grafana)
    } else if port_name.starts_with("Metrics store") {
        Some(Service::Prometheus)
    } else if port_name.starts_with("Logs store") {
        Some(Service::VictoriaLogs)
    } else {
        None
    }
}

/// A system stack (or a stack started by hand) runs the usual programs.
fn expected_program(port_name: &str, h: &Holder) -> bool {
    let n = h.name.to_ascii_lowercase();
    match service_of(port_name) {
        Some(Service::Collector) => n.starts_with("otelcol"),
        Some(Service::Tempo) => n.starts_with("tempo"),
        Some(Service::Grafana) => n.starts_with("grafana"),
        Some(Service::Prometheus) => n.starts_with("prometheus"),
        // nixpkgs: victoria-logs; scripts/e2e-build: victorialogs-<version>.
        Some(Service::VictoriaLogs) => n.starts_with("victoria"),
        None => false,
    }
}

fn shorten(text: &str) -> String {
    let s: String = text.chars().take(80).collect();
    if s.len() < text.len() {
        format!("{s}…")
    } else {
        s
    }
}

/// How a shell loads a project's environment (what devenv's shell and direnv do on entry).
const LOAD_ENV: &str =
    "eval \"$(otelctl env)\" in this shell (fish: `otelctl env --shell fish | source`), \
     or enter the project's devenv shell";

/// Syntax of the traces URL and the common mistakes; `false` when nothing can be sent to it.
/// `no_shell_env`: no endpoint variable is set in local mode, so spans go to the system default
/// rather than this project's collector (the shell never ran `otelctl env`).
fn check_endpoint(f: &mut Findings, url: &str, collector: u16, no_shell_env: bool) -> bool {
    let base_var = var(EnvVars::OTEL_EXPORTER_OTLP_ENDPOINT);
    let traces_var = var(EnvVars::OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
    let origin = if traces_var.is_some() {
        "$OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    } else if base_var.is_some() {
        "$OTEL_EXPORTER_OTLP_ENDPOINT"
    } else {
        "the mode's collector"
    };
    let shown = mask_url(url);
    if traces_var.is_none() {
        if let Some(base) = &base_var {
            let trimmed = base.trim().trim_end_matches('/');
            if trimmed.ends_with("/v1/traces") {
                f.fail(
                    "endpoint",
                    format!(
                        "$OTEL_EXPORTER_OTLP_ENDPOINT ends in /v1/traces, so spans go to {shown}"
                    ),
                    format!(
                        "set OTEL_EXPORTER_OTLP_ENDPOINT={} (the base: /v1/traces is appended), \
                         or put the full URL in OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                        mask_url(trimmed.trim_end_matches("/v1/traces"))
                    ),
                );
                return false;
            }
        }
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        f.fail(
            "endpoint",
            format!("{origin} {shown:?} has no scheme"),
            "write it as http://HOST:PORT (or https://)",
        );
        return false;
    };
    let mut ok = true;
    if scheme != "http" && scheme != "https" {
        f.fail(
            "endpoint",
            format!("{origin} {shown:?}: scheme {scheme:?} is not http or https"),
            format!("write it as http://{}", mask_url(rest)),
        );
        ok = false;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let port_text = if host_port.starts_with('[') {
        host_port.rsplit_once("]:").map(|(_, p)| p)
    } else {
        host_port.rsplit_once(':').map(|(_, p)| p)
    };
    let host = match port_text {
        Some(p) => &host_port[..host_port.len() - p.len() - 1],
        None => host_port,
    };
    if host.is_empty() {
        f.fail(
            "endpoint",
            format!("{origin} {shown:?} has no host"),
            "write it as http://127.0.0.1:PORT",
        );
        return false;
    }
    if let Some(p) = port_text {
        if p.parse::<u16>().map_or(true, |n| n == 0) {
            f.fail(
                "endpoint",
                format!("{origin} {shown:?}: port {p:?} is not a TCP port (1-65535)"),
                format!("use this project's collector port, e.g. http://127.0.0.1:{collector}"),
            );
            ok = false;
        }
    }
    if !ok {
        return false;
    }
    if authority.contains('@') {
        f.warn(
            "endpoint",
            format!("{origin} {shown:?} carries a user and password in the URL"),
            "put credentials in OTEL_EXPORTER_OTLP_HEADERS instead",
        );
    }
    if no_shell_env {
        f.warn(
            "endpoint",
            format!(
                "OTEL_EXPORTER_OTLP_ENDPOINT is not set in this shell: spans go to {shown} (the \
                 system stack's default), not to this project's collector on port {collector}"
            ),
            LOAD_ENV,
        );
        return true;
    }
    f.ok("endpoint", format!("spans go to {shown} ({origin})"));
    true
}

/// Whether `url` is loopback on `port` (then "the trace store" is this project's).
fn is_loopback_port(url: &str, port: u16) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or("");
    ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .any(|h| authority == format!("{h}:{port}"))
}

/// An empty export (no spans) through the same exporter `span` uses, headers included.
/// `unreachable_fix`: the advice when nothing answers, if not "start the stack" (it runs).
fn check_export(
    f: &mut Findings,
    env: &OtelEnv,
    url: &str,
    mode: Mode,
    unreachable_fix: Option<&str>,
) -> bool {
    let started = Instant::now();
    let req = ExportTraceServiceRequest::default();
    match exporter::export(&env.exporter, url, &req, started + PROBE) {
        Ok(_) => {
            f.ok(
                "collector",
                format!(
                    "accepted an empty export in {} ms",
                    started.elapsed().as_millis()
                ),
            );
            true
        }
        Err(e) => {
            let start = match mode {
                Mode::Local => "start the project's stack: `otelctl up` (or `otelctl up --embedded`)",
                Mode::System => "start the system stack (services.otel-stack on NixOS), or set OTELCTL_MODE=local and run `otelctl up`",
            };
            let fix = match &e {
                exporter::ExportError::Http(h) if h.is_unreachable() => {
                    unreachable_fix.unwrap_or(start).to_string()
                }
                exporter::ExportError::Status { status: 404, .. } => {
                    "the URL's path is wrong: OTLP/HTTP traces go to <base>/v1/traces".to_string()
                }
                exporter::ExportError::Status {
                    status: 401 | 403, ..
                } => "the endpoint wants credentials: set OTEL_EXPORTER_OTLP_HEADERS".to_string(),
                _ => "see the message; `otelctl status` shows what runs".to_string(),
            };
            f.fail("collector", format!("an empty export failed: {e}"), fix);
            false
        }
    }
}

fn get(url: &str) -> std::result::Result<otelctl_http::Response, String> {
    otelctl_net::Client::shared()
        .and_then(|c| c.get(url, Some("application/json"), Instant::now() + PROBE))
        .map_err(|e| e.to_string())
}

fn check_embedded_store(f: &mut Findings, viewer: u16) {
    let url = format!("http://127.0.0.1:{viewer}/api/traces");
    match get(&url) {
        Ok(r) if r.status == 200 => {
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
            let traces = body["traces"].as_array().map_or(0, Vec::len);
            f.ok(
                "trace store",
                format!("the embedded viewer answers a search ({traces} trace(s) stored) at http://127.0.0.1:{viewer}/"),
            );
            let now = emit::now_nanos();
            let newest = body["traces"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t["start_unix_nano"].as_u64())
                .max();
            if let Some(n) = newest {
                check_future(f, n, now, "the newest stored trace");
            }
        }
        Ok(r) => f.fail(
            "trace store",
            format!("the embedded viewer answered HTTP {} to {url}", r.status),
            "restart it: stop `otelctl up --embedded` and start it again",
        ),
        Err(e) => f.fail(
            "trace store",
            format!("the embedded viewer does not answer: {e}"),
            "restart `otelctl up --embedded`",
        ),
    }
}

/// Tempo through the same probe `otelctl wait tempo` and `up` use (`/ready`, then a search).
fn check_tempo(f: &mut Findings, port: u16) {
    let target = readiness::Target {
        port,
        metrics_port: None,
    };
    match readiness::probe(Service::Tempo, target, Instant::now() + PROBE) {
        Ok(()) => f.ok(
            "trace store",
            format!("Tempo answers a search at http://127.0.0.1:{port}"),
        ),
        Err(why) => f.fail(
            "trace store",
            format!("Tempo at http://127.0.0.1:{port} does not answer a search: {why}"),
            "if it is starting, `otelctl wait tempo`; else start it (`otelctl up` starts the \
             whole stack) and see its log; `otelctl status` shows what runs",
        ),
    }
}

/// The metrics and logs stores (their readiness probe: a real query each), unless they are off.
fn check_stores(f: &mut Findings, settings: &Settings, metrics: u16, logs: u16) {
    let stack = match settings.stack() {
        Ok(s) => s,
        Err(e) => return f.error("stores", e),
    };
    for (service, port, on, what, var) in [
        (
            Service::Prometheus,
            metrics,
            stack.metrics_store.is_on(),
            "metrics store",
            EnvVars::OTELCTL_METRICS_STORE,
        ),
        (
            Service::VictoriaLogs,
            logs,
            stack.logs_store.is_on(),
            "logs store",
            EnvVars::OTELCTL_LOGS_STORE,
        ),
    ] {
        if !on {
            f.info(
                "stores",
                format!(
                    "the {what} is off (${var}=off): the Collector accepts and drops that signal"
                ),
                format!("unset {var} to store it"),
            );
            continue;
        }
        let target = readiness::Target {
            port,
            metrics_port: None,
        };
        match readiness::probe(service, target, Instant::now() + PROBE) {
            Ok(()) => f.ok(
                "stores",
                format!(
                    "the {what} ({}) answers a query at http://127.0.0.1:{port}",
                    service.name()
                ),
            ),
            Err(why) => f.warn(
                "stores",
                format!(
                    "the {what} ({}) at http://127.0.0.1:{port} does not answer a query: {why} \
                     (spans still arrive; that signal is retried, then dropped)",
                    service.name()
                ),
                format!(
                    "`otelctl up` starts it when its program is found (--{}-bin, or \
                     ${}); `otelctl wait {}` if it is starting",
                    service.name(),
                    otelctl_stack::programs::env_name(service),
                    service.name()
                ),
            ),
        }
    }
}

fn check_grafana(f: &mut Findings, port: u16) {
    let url = format!("http://127.0.0.1:{port}/api/datasources/uid/tempo/health");
    match get(&url) {
        Ok(r) if r.status == 200 => {
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
            match body["status"].as_str() {
                Some("OK") => f.ok(
                    "grafana",
                    format!("the Tempo datasource is healthy (http://127.0.0.1:{port})"),
                ),
                _ => f.warn(
                    "grafana",
                    format!(
                        "the Tempo datasource is not healthy: {}",
                        shorten(body["message"].as_str().unwrap_or("no message"))
                    ),
                    "check Grafana's datasource page; dashboards show nothing until it is",
                ),
            }
        }
        Ok(r) if r.status == 401 || r.status == 403 => f.info(
            "grafana",
            format!("Grafana at http://127.0.0.1:{port} wants a login: datasource not checked"),
            format!("open http://127.0.0.1:{port}/connections/datasources and test the `tempo` datasource there"),
        ),
        Ok(r) => f.warn(
            "grafana",
            format!(
                "Grafana answered HTTP {} to the datasource health check",
                r.status
            ),
            "provision the `tempo` datasource (`otelctl run grafana` does)",
        ),
        Err(_) => f.info(
            "grafana",
            format!("Grafana is not running on {port} (spans still arrive; dashboards need it)"),
            "`otelctl up` starts the whole stack, `otelctl run grafana` Grafana alone",
        ),
    }
}

fn check_spool(f: &mut Findings, spool: &Spool) {
    let dir = spool.dir().display().to_string();
    match spool.status() {
        Ok(s) if s.files > 0 => f.fail(
            "spool",
            format!(
                "{} request(s) wait in {dir} (oldest {} s): they did not arrive",
                s.files,
                s.oldest_age_seconds.unwrap_or(0)
            ),
            "once the collector accepts exports, run `otelctl spool flush`",
        ),
        Ok(s) if s.stranded > 0 => f.fail(
            "spool",
            format!(
                "{} request(s) held back by a `dt` relay that died wait in {dir}/.held-*: \
                 nothing sends them from there",
                s.stranded
            ),
            "run `otelctl spool flush` (or any `dt`): it publishes and sends them",
        ),
        Ok(s) => {
            f.ok("spool", format!("empty ({dir})"));
            if s.unconfirmed > 0 {
                f.info(
                    "spool",
                    format!(
                        "{} request(s) sent whose answer was late are awaited (not flushed)",
                        s.unconfirmed
                    ),
                    "nothing to do: each is settled when its answer comes (within 30 s), or \
                     published by `otelctl spool flush` after 2 minutes",
                );
            }
            if s.dropped_spans > 0 {
                f.warn(
                    "spool",
                    format!(
                        "{} span(s) were dropped over the spool's size cap",
                        s.dropped_spans
                    ),
                    "keep the collector running, or raise OTELCTL_SPOOL_MAX_BYTES",
                );
            }
        }
        Err(e) => f.warn(
            "spool",
            format!("cannot read the spool: {e}"),
            format!("make {dir} readable by you (`ls -ld {dir}`; otelctl creates it 0700)"),
        ),
    }
    if let Some((secs, url, why)) = spool.last_failure() {
        let ago = (emit::now_nanos() / 1_000_000_000).saturating_sub(secs);
        f.info(
            "last failure",
            format!("{} ago, to {}: {why}", human_age(ago), mask_url(&url)),
            "if it recurs, `OTEL_DEBUG=1 otelctl span test check -- true` shows each export",
        );
    }
}

fn check_devenv(f: &mut Findings, collector: u16) {
    let to = var(EnvVars::DEVENV_TRACE_TO);
    let default_to = var(EnvVars::DEVENV_TRACE_DEFAULT_TO);
    match (to, default_to) {
        (None, None) => f.info(
            "devenv",
            "devenv's own spans are off".to_string(),
            "set OTELCTL_DEVENV_TRACE=otlp-grpc (the devenv module's devenvTrace) and re-enter the shell",
        ),
        (Some(dest), _) | (None, Some(dest)) => {
            let which = if var(EnvVars::DEVENV_TRACE_TO).is_some() {
                EnvVars::DEVENV_TRACE_TO
            } else {
                EnvVars::DEVENV_TRACE_DEFAULT_TO
            };
            let local = format!("127.0.0.1:{collector}");
            if dest.contains(&local) || dest.starts_with("file:") || dest == "stdout" {
                f.ok("devenv", format!("devenv's spans go to {dest} ({which})"));
            } else {
                f.warn(
                    "devenv",
                    format!("devenv's spans go to {dest} ({which}), not this project's collector ({local})"),
                    "re-enter the shell so `otelctl env` sets DEVENV_TRACE_DEFAULT_TO, or unset DEVENV_TRACE_TO",
                );
            }
        }
    }
}

/// Spans in the spool whose end time is far from when they were written: a clock was wrong.
fn check_clock(f: &mut Findings, dir: &std::path::Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut names: Vec<String> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json") && !n.starts_with('.'))
        .collect();
    names.sort();
    for name in names.iter().rev().take(20) {
        let Some(written) = name.split('-').next().and_then(|n| n.parse::<u64>().ok()) else {
            continue;
        };
        let Ok(req) = std::fs::read(dir.join(name))
            .map_err(|_| ())
            .and_then(|b| ExportTraceServiceRequest::from_json(&b).map_err(|_| ()))
        else {
            continue;
        };
        if let Some(end) = req.spans().map(|(_, s)| s.end_time_unix_nano).max() {
            // A span is spooled as it ends: its end time is the file's time, give or take.
            let what = format!("a span spooled in {name}");
            if check_future(f, end, written, &what) || check_future(f, written, end, &what) {
                return;
            }
        }
    }
}

/// A finding when `t` is more than [`SKEW`] after `now` (a span from the future); `true` then.
fn check_future(f: &mut Findings, t: u64, now: u64, what: &str) -> bool {
    let skew = Duration::from_nanos(t.saturating_sub(now));
    if skew > SKEW {
        f.warn(
            "clock",
            format!(
                "{what}: its time and the time it was recorded differ by {}",
                human_age(skew.as_secs())
            ),
            "a clock is wrong (the machine's, or a VM's or container's): check `timedatectl`; \
             Tempo searches by time and will not find these spans where you look",
        );
        return true;
    }
    false
}

/// A variable's text; a non-UTF-8 value counts as unset here (the owning command reports it).
fn var(name: &'static str) -> Option<String> {
    otelctl_config::env::text(name).ok().flatten()
}

fn human_age(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}
