//! `otelctl doctor` against the states a user meets: nothing running, a misconfigured endpoint,
//! a port taken by another program, a spool backlog, and healthy pipelines (the embedded stack;
//! the real Collector of the e2e lane in front of an embedded store).

mod common;
mod embedded_support;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use embedded_support::*;

/// `otelctl doctor ARGS` for a project at `root` on `base`, with extra variables.
fn doctor(root: &Path, home: &Path, base: u16, vars: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = common::otelctl(home);
    cmd.arg("--root")
        .arg(root)
        .args(["--base-port", &base.to_string(), "doctor"])
        .args(args)
        .env("OTEL_SPOOL_DIR", home.join("spool"));
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().expect("otelctl doctor runs")
}

/// The line of the first finding of `check` at `level` (`ok  `, `info`, `warn`, `FAIL`).
fn line<'a>(out: &'a str, level: &str, check: &str) -> Option<&'a str> {
    out.lines()
        .find(|l| l.starts_with(level) && l[5..].starts_with(check))
}

/// [`line`], which must be there (else the whole output is the failure).
fn finding<'a>(out: &'a str, level: &str, check: &str) -> &'a str {
    line(out, level, check).unwrap_or_else(|| panic!("no {level} {check} finding in:\n{out}"))
}

fn project() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("project");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    (dir, root, home)
}

#[test]
fn nothing_running_fails_and_says_how_to_start_it() {
    let (_d, root, home) = project();
    let o = doctor(&root, &home, free_base(), &[], &[]);
    let out = common::stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    let l = finding(&out, "FAIL", "collector");
    assert!(
        l.contains("connection refused") && l.contains("otelctl up"),
        "{l}"
    );
    assert!(
        out.ends_with("spans would NOT arrive: fix the FAIL lines above\n"),
        "{out}"
    );

    // The same as JSON, for scripts.
    let o = doctor(&root, &home, free_base(), &[], &["--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], false);
    let findings = v["findings"].as_array().unwrap();
    assert!(findings
        .iter()
        .any(|f| f["check"] == "collector" && f["level"] == "fail" && f["fix"].is_string()));
    // Every finding but an ok one says what to do, info included.
    assert!(findings.iter().any(|f| f["level"] == "info"), "{v}");
    for f in findings.iter().filter(|f| f["level"] != "ok") {
        assert!(f["fix"].as_str().is_some_and(|t| !t.is_empty()), "{f}");
    }
}

#[test]
fn endpoint_mistakes_are_named_with_the_fix() {
    let (_d, root, home) = project();
    let base = free_base();
    for (value, expect, fix) in [
        (
            "http://127.0.0.1:4318/v1/traces",
            "ends in /v1/traces",
            "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 ",
        ),
        (
            "htp://127.0.0.1:4318",
            "scheme \"htp\"",
            "http://127.0.0.1:4318",
        ),
        ("http://127.0.0.1:99999", "port \"99999\"", "TCP port"),
    ] {
        let o = doctor(
            &root,
            &home,
            base,
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", value)],
            &[],
        );
        let out = common::stdout(&o);
        assert_eq!(o.status.code(), Some(1), "{value}: {out}");
        let l = line(&out, "FAIL", "endpoint").unwrap_or_else(|| panic!("{value}: {out}"));
        assert!(l.contains(expect) && l.contains(fix), "{value}: {l}");
    }
}

#[test]
fn a_port_held_by_another_program_is_named() {
    let (_d, root, home) = project();
    let base = free_base();
    // This test process takes the project's collector port (and never answers HTTP on it).
    let _taken = std::net::TcpListener::bind(("127.0.0.1", base)).unwrap();
    let o = doctor(&root, &home, base, &[], &[]);
    let out = common::stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    let l = finding(&out, "FAIL", "ports");
    assert!(
        l.contains(&format!(
            "{base} (Collector OTLP/HTTP) is held by another program"
        )) && l.contains(&format!("pid {}", std::process::id()))
            && l.contains("OTELCTL_BASE_PORT"),
        "{l}"
    );
}

#[test]
fn a_spool_backlog_fails_and_says_flush() {
    let (_d, root, home) = project();
    let base = free_base();
    // A span while nothing listens: spooled, and the failure recorded.
    let o = common::otelctl(&home)
        .arg("--root")
        .arg(&root)
        .args([
            "--base-port",
            &base.to_string(),
            "span",
            "s",
            "n",
            "--",
            "true",
        ])
        .env("OTEL_SPOOL_DIR", home.join("spool"))
        .output()
        .unwrap();
    assert!(o.status.success());
    let up = Up::start(&root, &home, base, &[]);
    let o = doctor(&root, &home, base, &[], &[]);
    let out = common::stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    let l = finding(&out, "FAIL", "spool");
    assert!(
        l.contains("1 request(s) wait") && l.contains("otelctl spool flush"),
        "{l}"
    );
    let l = finding(&out, "info", "last failure");
    assert!(l.contains("connection refused"), "{l}");
    assert!(line(&out, "ok  ", "collector").is_some(), "{out}");
    drop(up);
}

#[test]
fn spans_a_killed_relay_held_are_reported_with_the_command_that_sends_them() {
    let (_d, root, home) = project();
    let base = free_base();
    let spool = home.join("spool");
    // A spooled span, moved into a hold whose relay is gone (no lock held).
    let o = common::otelctl(&home)
        .args(["span", "s", "n", "--", "true"])
        .env("OTEL_SPOOL_DIR", &spool)
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{}", common::refused_port()),
        )
        .output()
        .unwrap();
    assert!(o.status.success());
    let file = std::fs::read_dir(&spool)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .expect("a spooled span");
    let held = spool.join(".held-1-dead");
    std::fs::create_dir(&held).unwrap();
    std::fs::rename(&file, held.join(file.file_name().unwrap())).unwrap();
    std::fs::write(held.join(".lock"), "").unwrap();

    let o = doctor(&root, &home, base, &[], &[]);
    let out = common::stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    let l = finding(&out, "FAIL", "spool");
    assert!(
        l.contains("1 request(s) held back by a `dt` relay that died")
            && l.contains("otelctl spool flush"),
        "{l}"
    );
}

#[test]
fn a_healthy_embedded_stack_passes() {
    let (_d, root, home) = project();
    let base = free_base();
    let up = Up::start(&root, &home, base, &[]);
    let o = doctor(&root, &home, base, &[], &[]);
    let out = common::stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(line(&out, "ok  ", "collector").is_some(), "{out}");
    let l = finding(&out, "ok  ", "trace store");
    assert!(l.contains("embedded viewer"), "{l}");
    let l = finding(&out, "ok  ", "ports");
    assert!(l.contains("the embedded stack"), "{l}");
    assert!(out.ends_with("spans would arrive\n"), "{out}");
    let (status, _, _) = up.stop();
    assert!(status.success());
}

#[test]
fn a_healthy_real_collector_passes() {
    // collector_program() prints the skip reason when there is none.
    let Some(bin) = common::stack::collector_program() else {
        return;
    };
    let (dir, root, home) = project();
    // The real Collector (OTLP/HTTP in, otlphttp out) in front of an embedded store.
    let store_root = dir.path().join("store");
    std::fs::create_dir_all(&store_root).unwrap();
    let store = Up::start(&store_root, &home, free_base(), &[]);
    let port = free_base();
    let _collector = RealCollector::start(
        &bin,
        dir.path(),
        port,
        &format!(
            "receivers:\n  otlp:\n    protocols:\n      http:\n        endpoint: 127.0.0.1:{port}\n\
             exporters:\n  otlphttp:\n    endpoint: http://127.0.0.1:{}\n\
             service:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [otlphttp]\n  \
             telemetry:\n    metrics:\n      level: none\n",
            store.receiver()
        ),
    );
    let endpoint = format!("http://127.0.0.1:{port}");
    let o = doctor(
        &root,
        &home,
        free_base(),
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)],
        &[],
    );
    let out = common::stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(line(&out, "ok  ", "collector").is_some(), "{out}");
    assert!(out.ends_with("spans would arrive\n"), "{out}");
    // And a span does arrive, through the Collector, in the store.
    let o = common::otelctl(&home)
        .arg("--root")
        .arg(&root)
        .args(["span", "doctor", "after-doctor", "--", "true"])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        .env("OTEL_SPOOL_DIR", home.join("spool"))
        .output()
        .unwrap();
    assert!(o.status.success());
    poll("the span in the store", Duration::from_secs(30), || {
        traces_json(store.viewer())["traces"]
            .as_array()
            .filter(|t| t.iter().any(|t| t["root_name"] == "after-doctor"))
            .map(|_| ())
    });
}

#[test]
fn a_broken_system_ports_file_is_a_failed_check_that_names_it() {
    let (_d, root, home) = project();
    let file = home.join("ports.json");
    std::fs::write(&file, "[4318]").unwrap();
    let file_var = ("OTELCTL_SYSTEM_PORTS_FILE", file.to_str().unwrap());
    for (mode, check) in [("system", "ports"), ("auto", "mode")] {
        let o = doctor(
            &root,
            &home,
            free_base(),
            &[("OTELCTL_MODE", mode), file_var],
            &[],
        );
        let out = common::stdout(&o);
        assert_eq!(o.status.code(), Some(1), "{mode}: {out}");
        let l = line(&out, "FAIL", check).unwrap_or_else(|| panic!("{mode}: {out}"));
        assert!(
            l.contains(file.to_str().unwrap())
                && l.contains("not a JSON object")
                && l.contains("→ the NixOS module"),
            "{mode}: {l}"
        );
    }
}

/// The system stack publishes four ports; each is checked, Tempo's OTLP/gRPC ingest included.
#[test]
fn system_mode_checks_every_published_port() {
    let (_d, root, home) = project();
    // This test process takes what the file publishes as Tempo's OTLP/gRPC port.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let grpc = taken.local_addr().unwrap().port();
    let file = home.join("ports.json");
    std::fs::write(
        &file,
        format!(
            r#"{{"collector_otlp_http": {}, "tempo_http": {}, "grafana_http": {}, "tempo_otlp_grpc": {grpc}}}"#,
            common::refused_port(),
            common::refused_port(),
            common::refused_port()
        ),
    )
    .unwrap();
    let o = doctor(
        &root,
        &home,
        free_base(),
        &[
            ("OTELCTL_MODE", "system"),
            ("OTELCTL_SYSTEM_PORTS_FILE", file.to_str().unwrap()),
        ],
        &[],
    );
    let out = common::stdout(&o);
    let l = finding(&out, "FAIL", "ports");
    assert!(
        l.contains(&format!(
            "{grpc} (Tempo OTLP gRPC ingest) is held by another program"
        )),
        "{l}"
    );
}

/// A program named `otelctl` on the project's ports is not taken for the embedded stack unless
/// it answers as one (the probe `status` and `wait` use).
#[test]
fn an_otelctl_process_is_the_embedded_stack_only_when_it_answers_as_one() {
    let (_d, root, home) = project();
    let base = free_base();
    // This test binary, run through a symlink named otelctl, holds the collector port.
    let named = home.join("otelctl");
    std::os::unix::fs::symlink(std::env::current_exe().unwrap(), &named).unwrap();
    let mut holder = std::process::Command::new(&named)
        .args([
            "--exact",
            "hold_a_port_for_other_tests",
            "--ignored",
            "--nocapture",
        ])
        .env("DOCTOR_TEST_HOLD_PORT", base.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    use std::io::BufRead;
    let mut lines = std::io::BufReader::new(holder.stdout.take().unwrap());
    while !ready.contains("holding") {
        ready.clear();
        assert!(
            lines.read_line(&mut ready).unwrap() > 0,
            "the holder exited"
        );
    }
    let o = doctor(&root, &home, base, &[], &[]);
    drop(holder.stdin.take()); // the holder exits at the end of its input
    holder.wait().unwrap();
    let out = common::stdout(&o);
    let l = finding(&out, "FAIL", "ports");
    assert!(
        l.contains(&format!(
            "{base} (Collector OTLP/HTTP) is held by another program: otelctl"
        )),
        "{l}"
    );
    assert!(!out.contains("the embedded stack"), "{out}");
}

/// Not a test: the port holder of the test above (runs only when asked for by name).
#[test]
#[ignore]
fn hold_a_port_for_other_tests() {
    let Some(port) = std::env::var("DOCTOR_TEST_HOLD_PORT").ok() else {
        return;
    };
    let _l = std::net::TcpListener::bind(("127.0.0.1", port.parse::<u16>().unwrap())).unwrap();
    println!("holding {port}");
    let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
}
