//! One trace per `dt` run: the generated `dt` script (nix/devenv-modules/otel/scripts.nix) and
//! `trace.exec`/`trace.status` tasks (nix/devenv-modules/tasks/lib/trace.nix) run against a
//! devenv stand-in that exports its own spans with devenv's exporter (opentelemetry-otlp, tonic)
//! to `DEVENV_TRACE_TO`; `otelctl up --embedded` stores what arrives, `otelctl export` reads it
//! back, and the tree is checked: dt's root, devenv's spans under it, task spans under devenv's
//! span of their task.
//!
//! Custom harness (`harness = false`): this binary is also the `devenv` stand-in, run through a
//! symlink named `devenv` (see `devenv_standin`). Output follows libtest's lines, so
//! `scripts/test` counts it like the others; `SKIPPED: [name] reason` when Nix is missing.

mod common;
mod devenv_standin;
mod embedded_support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use embedded_support::{free_base, RealCollector, Up};
use otelctl_otlp::{attribute, to_hex, ExportTraceServiceRequest, KeyValue, Span};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let invoked_as = Path::new(&args[0])
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if invoked_as == "devenv" {
        std::process::exit(devenv_standin::main(&args[1..]));
    }
    let filter = args[1..].iter().find(|a| !a.starts_with('-')).cloned();
    let tests: [(&str, fn()); 6] = [
        (
            "dt_run_is_one_trace_with_devenvs_spans",
            dt_run_is_one_trace_with_devenvs_spans,
        ),
        (
            "dt_with_devenv_trace_off_keeps_task_spans_under_dt",
            dt_with_devenv_trace_off_keeps_task_spans_under_dt,
        ),
        (
            "dt_run_while_the_store_is_down_is_spooled_then_one_trace",
            dt_run_while_the_store_is_down_is_spooled_then_one_trace,
        ),
        (
            "devenv_outside_dt_reaches_the_embedded_store",
            devenv_outside_dt_reaches_the_embedded_store,
        ),
        (
            "dt_run_through_the_real_collector_is_one_trace",
            dt_run_through_the_real_collector_is_one_trace,
        ),
        (
            "dt_run_with_the_projects_own_traces_endpoint_is_one_trace_there",
            dt_run_with_the_projects_own_traces_endpoint_is_one_trace_there,
        ),
    ];
    let (mut passed, mut failed, mut filtered) = (0, 0, 0);
    println!("\nrunning {} tests", tests.len());
    for (name, f) in tests {
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            filtered += 1;
            continue;
        }
        let ok = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(f)
            .unwrap()
            .join()
            .is_ok();
        println!("test {name} ... {}", if ok { "ok" } else { "FAILED" });
        if ok {
            passed += 1;
        } else {
            failed += 1;
        }
    }
    println!(
        "\ntest result: {}. {passed} passed; {failed} failed; 0 ignored; 0 measured; {filtered} filtered out\n",
        if failed == 0 { "ok" } else { "FAILED" }
    );
    std::process::exit(if failed == 0 { 0 } else { 101 });
}

/// The scripts the Nix helpers generate, rendered by Nix for this otelctl.
struct Scripts {
    dt: String,
    hook: String,
    tasks: HashMap<String, (String, Option<String>)>,
}

fn render_scripts() -> Option<Scripts> {
    if Command::new("nix-instantiate")
        .arg("--version")
        .output()
        .is_err()
    {
        skip("nix-instantiate is not installed (scripts/test installs nix-bin from Debian)");
        return None;
    }
    let nix = concat!(env!("CARGO_MANIFEST_DIR"), "/../../nix");
    let expr = format!(
        r#"{{ otelctl }}:
        let
          s = import {nix}/devenv-modules/otel/scripts.nix {{ inherit otelctl; }};
          t = import {nix}/devenv-modules/tasks/lib/trace.nix {{ inherit otelctl; }};
        in {{
          dt = s.dt;
          hook = s.enterShell true;
          tasks = {{
            "app:lint" = {{ exec = t.exec "app:lint" "echo linting"; }};
            "app:build" = {{ exec = t.exec "app:build" "echo built >> \"$DEVENV_ROOT/build.log\""; }};
            "app:cached" = {{ exec = t.exec "app:cached" "echo never"; status = t.status "app:cached" "true"; }};
            "app:fail" = {{ exec = t.exec "app:fail" "echo failing >&2; exit 3"; }};
          }};
        }}"#
    );
    let out = Command::new("nix-instantiate")
        .args([
            "--eval",
            "--strict",
            "--json",
            "--argstr",
            "otelctl",
            bin(),
            "-E",
            &expr,
        ])
        .output()
        .expect("nix-instantiate runs");
    assert!(
        out.status.success(),
        "nix-instantiate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = |v: &serde_json::Value| v.as_str().unwrap().to_string();
    Some(Scripts {
        dt: text(&v["dt"]),
        hook: text(&v["hook"]),
        tasks: v["tasks"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, t)| (k.clone(), (text(&t["exec"]), t.get("status").map(text))))
            .collect(),
    })
}

/// A project directory with `dt`, the `devenv` stand-in and the task scripts.
/// A project with the rendered scripts and its embedded store running on a free base port;
/// `None` (with the skip reason printed) when the scripts cannot be rendered here.
fn project_with_store() -> Option<(Project, u16, Up)> {
    let scripts = render_scripts()?;
    let project = Project::new(&scripts);
    let base = free_base();
    let up = Up::start(&project.root, &project.home, base, &[]);
    Some((project, base, up))
}

struct Project {
    _dir: tempfile::TempDir,
    root: PathBuf,
    home: PathBuf,
    bin: PathBuf,
    tasks: PathBuf,
    hook: PathBuf,
}

impl Project {
    fn new(scripts: &Scripts) -> Project {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("project");
        let home = dir.path().join("home");
        let bin = dir.path().join("bin");
        let tasks = dir.path().join("tasks");
        for d in [&root, &home, &bin, &tasks] {
            std::fs::create_dir_all(d).unwrap();
        }
        let dt = bin.join("dt");
        std::fs::write(&dt, format!("#!/usr/bin/env bash\n{}", scripts.dt)).unwrap();
        std::fs::set_permissions(&dt, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink(std::env::current_exe().unwrap(), bin.join("devenv")).unwrap();
        for (name, (exec, status)) in &scripts.tasks {
            std::fs::write(tasks.join(format!("{name}.exec")), exec).unwrap();
            if let Some(s) = status {
                std::fs::write(tasks.join(format!("{name}.status")), s).unwrap();
            }
        }
        let hook = dir.path().join("enterShell.sh");
        std::fs::write(&hook, &scripts.hook).unwrap();
        Project {
            _dir: dir,
            root,
            home,
            bin,
            tasks,
            hook,
        }
    }

    /// `dt ARGS` as a user's devenv shell runs it: the exports of `otelctl env` in effect, the
    /// devenv module's variables set.
    fn dt(&self, base: u16, devenv_trace: &str, args: &[&str]) -> Output {
        self.dt_to(
            base,
            &format!("http://127.0.0.1:{base}"),
            devenv_trace,
            args,
        )
    }

    /// `dt ARGS` with `OTEL_EXPORTER_OTLP_ENDPOINT=endpoint` (e.g. a Collector's).
    fn dt_to(&self, base: u16, endpoint: &str, devenv_trace: &str, args: &[&str]) -> Output {
        self.dt_with(base, endpoint, devenv_trace, args, &[], &self.hook)
    }

    /// The shell hook after the project's own variables (devenv.nix `env`), which the dev
    /// environment exports before `enterShell` runs.
    fn hook_after(&self, project_env: &[(&str, &str)]) -> PathBuf {
        let exports: String = project_env
            .iter()
            .map(|(k, v)| format!("export {k}='{v}'\n"))
            .collect();
        let hook = self.hook.with_file_name("enterShell-with-env.sh");
        let body = std::fs::read_to_string(&self.hook).unwrap();
        std::fs::write(&hook, exports + &body).unwrap();
        hook
    }

    /// `dt ARGS` with more variables in the user's shell and another shell hook.
    fn dt_with(
        &self,
        base: u16,
        endpoint: &str,
        devenv_trace: &str,
        args: &[&str],
        vars: &[(&str, &str)],
        hook: &Path,
    ) -> Output {
        let mut cmd = without_telemetry_env(self.bin.join("dt"));
        let path = format!(
            "{}:{}",
            self.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        cmd.args(args)
            .current_dir(&self.root)
            .env("PATH", path)
            .env("HOME", &self.home)
            .env("DEVENV_ROOT", &self.root)
            .env("OTELCTL_MODE", "local")
            .env("OTELCTL_BASE_PORT", base.to_string())
            .env("OTELCTL_DEVENV_TRACE", devenv_trace)
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
            // A shared CI machine can take longer than the 200 ms default to make spans durable;
            // a span that misses its deadline is spooled, not lost, but would arrive only later.
            .env("OTEL_EXPORTER_OTLP_TIMEOUT", "3000")
            .env("STANDIN_TASKS", &self.tasks)
            .env("STANDIN_SHELL_HOOK", hook)
            .envs(vars.iter().copied());
        cmd.output().expect("dt runs")
    }

    fn export(&self, base: u16) -> Vec<(String, Span)> {
        let out = run(
            otelctl(&self.home),
            [
                "export".as_ref(),
                "--root".as_ref(),
                self.root.as_os_str(),
                "--base-port".as_ref(),
                base.to_string().as_ref(),
            ],
        );
        assert!(out.status.success(), "export: {}", stderr(&out));
        let req = ExportTraceServiceRequest::from_json(&out.stdout).expect("export is OTLP/JSON");
        req.spans()
            .map(|(res, s)| (service(res), s.clone()))
            .collect()
    }
}

fn service(resource: &[KeyValue]) -> String {
    attribute(resource, "service.name")
        .map(|v| v.to_text())
        .unwrap_or_default()
}

fn attr(span: &Span, key: &str) -> Option<String> {
    attribute(&span.attributes, key).map(|v| v.to_text())
}

fn show(spans: &[(String, Span)]) -> String {
    spans
        .iter()
        .map(|(svc, s)| {
            format!(
                "  {svc}/{} trace={} id={} parent={}\n",
                s.name,
                to_hex(&s.trace_id),
                to_hex(&s.span_id),
                to_hex(&s.parent_span_id)
            )
        })
        .collect()
}

fn one<'a>(spans: &'a [(String, Span)], svc: &str, name: &str) -> &'a Span {
    let found: Vec<&Span> = spans
        .iter()
        .filter(|(s, sp)| s == svc && sp.name == name)
        .map(|(_, sp)| sp)
        .collect();
    assert_eq!(found.len(), 1, "one {svc}/{name} span in:\n{}", show(spans));
    found[0]
}

fn dt_run_is_one_trace_with_devenvs_spans() {
    let Some((project, base, up)) = project_with_store() else {
        return;
    };

    let out = project.dt(base, "otlp-grpc", &["app:lint", "app:build", "app:cached"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "dt: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(project.root.join("build.log")).unwrap(),
        "built\n",
        "the task really ran"
    );

    // Read back at once: dt exits only after its relay has handed everything on.
    check_one_dt_trace(&project.export(base));
    up.stop();
}

fn dt_with_devenv_trace_off_keeps_task_spans_under_dt() {
    let Some((project, base, up)) = project_with_store() else {
        return;
    };

    let out = project.dt(base, "off", &["app:lint", "app:fail"]);
    assert_eq!(out.status.code(), Some(1), "devenv's exit code is dt's");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("failing"),
        "the task's stderr is the user's"
    );

    let spans = project.export(base);
    assert!(
        spans.iter().all(|(svc, _)| svc != "devenv"),
        "devenv's tracing stays off:\n{}",
        show(&spans)
    );
    let dt = one(&spans, "dt", "app:lint");
    for name in ["app:lint", "app:fail"] {
        let task = one(&spans, "dt-task", name);
        assert_eq!(task.trace_id, dt.trace_id);
        assert_eq!(task.parent_span_id, dt.span_id, "{name} is under dt's span");
    }
    assert_eq!(
        attr(one(&spans, "dt-task", "app:fail"), "exit.code").as_deref(),
        Some("3")
    );
    up.stop();
}

fn dt_run_while_the_store_is_down_is_spooled_then_one_trace() {
    let Some(scripts) = render_scripts() else {
        return;
    };
    let project = Project::new(&scripts);
    let base = free_base();

    // Nothing listens on the project's ports: the relay spools what devenv and the tasks send.
    let out = project.dt(base, "otlp-grpc", &["app:lint"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "dt: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("lost"),
        "nothing lost: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The embedded server ingests the spool when it starts (on a thread of its own: poll).
    let up = Up::start(&project.root, &project.home, base, &[]);
    let spans = embedded_support::poll(
        "the spooled dt run to be ingested",
        std::time::Duration::from_secs(20),
        || {
            let spans = project.export(base);
            let has =
                |svc: &str, name: &str| spans.iter().any(|(s, sp)| s == svc && sp.name == name);
            (has("dt", "app:lint") && has("dt-task", "app:lint") && has("devenv", "app:lint"))
                .then_some(spans)
        },
    );
    let dt = one(&spans, "dt", "app:lint");
    let devenv_task = one(&spans, "devenv", "app:lint");
    let task = one(&spans, "dt-task", "app:lint");
    assert_eq!(
        devenv_task.trace_id, dt.trace_id,
        "devenv's spans were adopted before spooling"
    );
    assert_eq!(task.trace_id, dt.trace_id);
    assert_eq!(task.parent_span_id, devenv_task.span_id);
    assert_eq!(
        one(&spans, "devenv", "running tasks").parent_span_id,
        dt.span_id
    );
    up.stop();
}

fn devenv_outside_dt_reaches_the_embedded_store() {
    let Some((project, base, up)) = project_with_store() else {
        return;
    };

    // What a devenv shell has after `otelctl env` (devenvTrace = "otlp-grpc").
    let mut env = otelctl(&project.home);
    env.env("OTELCTL_DEVENV_TRACE", "otlp-grpc")
        .env("OTELCTL_BASE_PORT", base.to_string());
    let out = run(
        env,
        [
            "env".as_ref(),
            "--shell".as_ref(),
            "json".as_ref(),
            "-q".as_ref(),
            "--root".as_ref(),
            project.root.as_os_str(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let exports: HashMap<String, String> = serde_json::from_slice(&out.stdout).unwrap();
    let default_to = exports["DEVENV_TRACE_DEFAULT_TO"].clone();
    assert!(
        default_to.starts_with("otlp-grpc:http://127.0.0.1:"),
        "{default_to}"
    );

    // devenv run directly (no dt, no relay): its own spans, in traces of its own.
    let mut cmd = without_telemetry_env(project.bin.join("devenv"));
    let out = cmd
        .args(["tasks", "run", "app:lint", "--mode", "single"])
        .current_dir(&project.root)
        .envs(&exports)
        .env("HOME", &project.home)
        .env("OTEL_EXPORTER_OTLP_TIMEOUT", "3000")
        .env("STANDIN_TASKS", &project.tasks)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "devenv: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let spans = project.export(base);
    let devenv_task = one(&spans, "devenv", "app:lint");
    let tasks = one(&spans, "devenv", "running tasks");
    assert!(
        tasks.parent_span_id.is_empty(),
        "outside dt devenv's phases stay roots"
    );
    assert_eq!(devenv_task.parent_span_id, tasks.span_id);
    let task = one(&spans, "dt-task", "app:lint");
    assert_eq!(
        task.trace_id, devenv_task.trace_id,
        "the task joined devenv's trace"
    );
    assert_eq!(task.parent_span_id, devenv_task.span_id);
    up.stop();
}

/// A project whose devenv.nix sets `env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (its own backend,
/// here the store's receiver) while the base endpoint points nowhere: that variable is in the
/// user's shell, so in `dt`'s, and comes back in the environment devenv captures for its tasks.
/// The tasks' spans still go through the relay (one trace), and the relay forwards everything
/// where the project's endpoint points, as `dt`'s own span goes.
fn dt_run_with_the_projects_own_traces_endpoint_is_one_trace_there() {
    let Some((project, base, up)) = project_with_store() else {
        return;
    };
    let traces = format!("http://127.0.0.1:{base}/v1/traces");
    let own = [("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", traces.as_str())];
    let hook = project.hook_after(&own);
    let nowhere = format!("http://127.0.0.1:{}", refused_port());
    let out = project.dt_with(
        base,
        &nowhere,
        "otlp-grpc",
        &["app:lint", "app:build", "app:cached"],
        &own,
        &hook,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "dt: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    check_one_dt_trace(&project.export(base));
    let spool = project.root.join(".devenv/otel/spool");
    let spooled = std::fs::read_dir(&spool)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
                .count()
        })
        .unwrap_or(0);
    assert_eq!(
        spooled, 0,
        "everything went to the project's endpoint, nothing was spooled"
    );
    up.stop();
}

/// The tree of `dt app:lint app:build app:cached` with devenv's tracing on.
fn check_one_dt_trace(spans: &[(String, Span)]) {
    let spans = spans.to_vec();
    let dt = one(&spans, "dt", "app:lint");
    assert!(dt.parent_span_id.is_empty(), "dt's span is the root");
    let trace = dt.trace_id.clone();
    for (svc, s) in &spans {
        if svc == "devenv" || svc == "dt-task" {
            assert_eq!(
                s.trace_id,
                trace,
                "{svc}/{} is in the dt trace:\n{}",
                s.name,
                show(&spans)
            );
        }
    }

    // devenv's phases are root activities, each its own trace in devenv: both under dt now.
    let shell = one(&spans, "devenv", "configuring shell");
    let tasks = one(&spans, "devenv", "running tasks");
    for phase in [shell, tasks] {
        assert_eq!(
            phase.parent_span_id, dt.span_id,
            "{} is under dt's span",
            phase.name
        );
        assert_eq!(
            attr(phase, "devenv.activity.kind").as_deref(),
            Some("operation")
        );
    }
    assert_ne!(
        attr(shell, "otelctl.relay.original_trace_id"),
        attr(tasks, "otelctl.relay.original_trace_id"),
        "devenv started two traces; both were adopted"
    );
    let eval = one(&spans, "devenv", "evaluating devenv.nix");
    assert_eq!(eval.parent_span_id, shell.span_id);
    assert_eq!(
        attr(eval, "devenv.activity.kind").as_deref(),
        Some("evaluate")
    );

    // Each trace.exec/trace.status span is under devenv's span of its own task.
    for (name, cached) in [
        ("app:lint", "false"),
        ("app:build", "false"),
        ("app:cached", "true"),
    ] {
        let devenv_task = one(&spans, "devenv", name);
        assert_eq!(
            devenv_task.parent_span_id, tasks.span_id,
            "devenv's {name} under running tasks"
        );
        assert_eq!(
            attr(devenv_task, "devenv.activity.kind").as_deref(),
            Some("task")
        );
        let task = one(&spans, "dt-task", name);
        assert_eq!(
            task.parent_span_id,
            devenv_task.span_id,
            "dt-task {name} is under devenv's {name}:\n{}",
            show(&spans)
        );
        assert_eq!(attr(task, "task.cached").as_deref(), Some(cached), "{name}");
    }

    // Every span of the trace hangs off the tree (no orphan parents).
    let ids: Vec<&Vec<u8>> = spans
        .iter()
        .filter(|(_, s)| s.trace_id == trace)
        .map(|(_, s)| &s.span_id)
        .collect();
    for (svc, s) in spans.iter().filter(|(_, s)| s.trace_id == trace) {
        assert!(
            s.parent_span_id.is_empty() || ids.contains(&&s.parent_span_id),
            "{svc}/{} has a parent in the trace:\n{}",
            s.name,
            show(&spans)
        );
    }
}

fn dt_run_through_the_real_collector_is_one_trace() {
    // collector_program() prints the skip reason when there is none.
    let Some(collector) = common::stack::collector_program() else {
        return;
    };
    let Some((project, base, up)) = project_with_store() else {
        return;
    };

    // The real Collector as the project's endpoint: OTLP/HTTP in, otlphttp out to the store.
    let port = free_base();
    let dir = tempfile::tempdir().unwrap();
    let collector_process = RealCollector::start(
        &collector,
        dir.path(),
        port,
        &format!(
            r#"receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:{port}
processors:
  batch:
    timeout: 100ms
exporters:
  otlphttp:
    endpoint: http://127.0.0.1:{base}
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [otlphttp]
"#
        ),
    );

    let out = project.dt_to(
        base,
        &format!("http://127.0.0.1:{port}"),
        "otlp-grpc",
        &["app:lint", "app:build", "app:cached"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "dt: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The Collector batches: wait until everything it was given has reached the store.
    let spans = embedded_support::poll(
        "the dt run to arrive through the Collector",
        std::time::Duration::from_secs(30),
        || {
            let spans = project.export(base);
            let n = |svc: &str| spans.iter().filter(|(s, _)| s == svc).count();
            (n("dt") == 1 && n("dt-task") == 3 && n("devenv") >= 7).then_some(spans)
        },
    );
    check_one_dt_trace(&spans);
    let log_lines = collector_process.log().lines().count();
    drop(collector_process);
    up.stop();
    println!("collector {}: log {log_lines} lines", collector.display());
}
