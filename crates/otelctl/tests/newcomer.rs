//! The newcomer's first hour (issue 23, item 10): each stumble of a first run on a fresh
//! machine, pinned by a test on the real binary.

mod common;
mod embedded_support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

use common::{otelctl, otelctl_without_programs, text, TempDir};
use embedded_support::{free_base, Up};

/// A project (a git work tree) under a fresh home, with its base port.
fn project(tag: &str) -> (TempDir, std::path::PathBuf, u16) {
    let home = TempDir::new(tag);
    let root = home.path().join("project");
    std::fs::create_dir_all(&root).unwrap();
    (home, root, free_base())
}

/// `otelctl` as a newcomer's shell runs it: auto mode (the system stack on a port where
/// nothing listens, so detection says local), no `otelctl env` loaded.
fn newcomer(home: &TempDir, root: &std::path::Path, base: u16) -> Command {
    let system = home.path().join("system-ports.json");
    let free = free_base();
    std::fs::write(
        &system,
        format!(
            r#"{{"collector_otlp_http": {free}, "tempo_http": {}, "grafana_http": {}}}"#,
            free + 1,
            free + 2
        ),
    )
    .unwrap();
    let mut c = otelctl(home.path());
    c.env_remove("OTELCTL_MODE")
        .env("OTELCTL_SYSTEM_PORTS_FILE", &system)
        .env("OTELCTL_BASE_PORT", base.to_string())
        .current_dir(root)
        .arg("--root")
        .arg(root);
    c
}

fn run(mut c: Command, args: &[&str]) -> Output {
    c.args(args).output().unwrap()
}

#[test]
fn a_misspelt_flag_before_the_command_is_a_usage_error() {
    let (home, root, base) = project("atr");
    let marker = root.join("ran");
    let mut c = newcomer(&home, &root, base);
    c.env("OTEL_SPOOL_DIR", home.path().join("spool"));
    let out = run(
        c,
        &[
            "span",
            "demo",
            "build",
            "--atr",
            "k=v",
            "--",
            "touch",
            marker.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "docs/commands/span.md: exit 2");
    assert!(
        text(&out.stderr).contains("'--atr'"),
        "{}",
        text(&out.stderr)
    );
    assert!(!marker.exists(), "nothing ran");
    assert!(!home.path().join("spool").exists(), "no span was made");
    // A command after `--` may start with '-'; one without `--` keeps its own flags.
    let mut c = newcomer(&home, &root, base);
    c.env("OTEL_SPOOL_DIR", home.path().join("spool"));
    let out = run(
        c,
        &[
            "span",
            "demo",
            "ls",
            "ls",
            "-d",
            "-a",
            root.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn up_without_the_programs_names_every_missing_one_and_real_flags() {
    let (home, root, base) = project("up-missing");
    let mut c = otelctl_without_programs(home.path());
    c.args(["up", "--root"])
        .arg(&root)
        .args(["--base-port", &base.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let second = lines.next().unwrap().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    for want in [
        "tempo",
        "collector",
        "--tempo-bin PATH",
        "--collector-bin PATH",
    ] {
        assert!(first.contains(want), "{want} missing: {first}");
    }
    assert!(!first.contains("pass --bin"), "`up` has no --bin: {first}");
    assert!(second.contains("embedded"), "{second}");
}

#[test]
fn env_does_not_call_the_viewer_grafana_in_local_mode() {
    let (home, root, base) = project("env-label");
    let out = run(newcomer(&home, &root, base), &["env"]);
    assert!(out.status.success());
    let banner = text(&out.stderr);
    assert!(!banner.contains("Grafana:"), "{banner}");
    assert!(
        banner.contains(&format!("[otel] Viewer:    http://127.0.0.1:{}", base + 3)),
        "{banner}"
    );
    assert!(banner.contains("embedded viewer"), "{banner}");
}

#[test]
fn doctor_without_the_shells_env_says_to_load_it_and_status_shows_the_pid() {
    let (home, root, base) = project("doctor-env");
    let up = Up::start(&root, home.path(), base, &[]);

    let out = run(newcomer(&home, &root, base), &["doctor"]);
    let report = text(&out.stdout);
    let first = report.lines().next().unwrap_or("");
    // The first line: the mode and why, once, and the project's root.
    assert!(first.starts_with("info mode"), "{report}");
    assert_eq!(first.matches("OTELCTL_MODE=local").count(), 1, "{first}");
    assert!(first.contains(root.to_str().unwrap()), "{first}");
    let endpoint = report
        .lines()
        .find(|l| l.contains(" endpoint "))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(
        !endpoint.starts_with("ok"),
        "no endpoint in the shell is not ok: {endpoint}"
    );
    assert!(endpoint.contains("eval \"$(otelctl env)\""), "{endpoint}");
    assert!(
        !report.contains("`otelctl up`"),
        "the stack runs: no advice to start it: {report}"
    );
    assert!(
        !report.contains("unset OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
        "nothing to unset: {report}"
    );

    // An explicit mode: its line does not advise setting what is set.
    let mut c = newcomer(&home, &root, base);
    c.env("OTELCTL_MODE", "local");
    let out = run(c, &["doctor"]);
    let first = text(&out.stdout).lines().next().unwrap_or("").to_string();
    assert_eq!(first.matches("OTELCTL_MODE=local").count(), 1, "{first}");

    // `status` shows the pid `doctor` knows.
    let out = run(newcomer(&home, &root, base), &["status"]);
    let status = text(&out.stdout);
    let pid = up.child.id().to_string();
    let collector = status
        .lines()
        .find(|l| l.starts_with("collector"))
        .unwrap_or_else(|| panic!("{status}"));
    assert!(collector.contains(&pid), "pid {pid} missing: {status}");
    let out = run(newcomer(&home, &root, base), &["status", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["services"][0]["pid"].as_u64(),
        Some(up.child.id() as u64),
        "{json}"
    );
    drop(up);
}

#[test]
fn verbose_is_not_answered_with_version() {
    let (home, root, base) = project("verbose");
    let out = run(newcomer(&home, &root, base), &["--verbose", "traces"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(!err.contains("--version"), "{err}");
    assert!(err.contains("'--verbose'"), "{err}");
    assert!(err.contains("Usage: otelctl [OPTIONS] <COMMAND>"), "{err}");
}

#[test]
fn traces_since_takes_a_minus_sign() {
    let (home, root, base) = project("since");
    for since in ["-1h", "1h"] {
        let out = run(newcomer(&home, &root, base), &["traces", "--since", since]);
        let err = text(&out.stderr);
        assert!(!err.contains("unexpected argument"), "{since}: {err}");
        assert_ne!(out.status.code(), Some(2), "{since}: {err}");
    }
    let out = run(newcomer(&home, &root, base), &["traces", "--since", "-x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--since"),
        "{}",
        text(&out.stderr)
    );
}
