//! `otelctl detect` and `env` mode selection against real sockets on 127.0.0.1:4318.
//!
//! One test function, because the system port is a single shared resource.

mod common;

use std::net::TcpListener;

use common::*;
use serde_json::Value;

fn detect(home: &std::path::Path) -> Value {
    let mut cmd = otelctl(home);
    cmd.env_remove("OTELCTL_MODE");
    let out = run(cmd, ["detect", "--json", "--root", "/work/project"]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn auto_mode_follows_the_system_collector_and_the_spool() {
    let home = tempfile::tempdir().unwrap();
    let Ok(probe) = TcpListener::bind("127.0.0.1:4318") else {
        return skip(
            "127.0.0.1:4318 is taken by another program; cannot test system detection here",
        );
    };
    drop(probe);

    // Nothing listening: local, with the project's own endpoints.
    let v = detect(home.path());
    assert_eq!(v["mode"], "local", "{v}");
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("nothing listens on 127.0.0.1:4318"),
        "{v}"
    );
    assert_eq!(v["collector"], "http://127.0.0.1:29271");
    assert_eq!(v["grafana"], "http://127.0.0.1:29274");
    assert_eq!(v["tempo"], "http://127.0.0.1:29273");

    // A listener that accepts and never answers: still local (the probe gives up).
    let silent = TcpListener::bind("127.0.0.1:4318").unwrap();
    let v = detect(home.path());
    assert_eq!(v["mode"], "local", "{v}");
    assert!(
        v["reason"].as_str().unwrap().contains("did not answer"),
        "{v}"
    );
    drop(silent);

    // An HTTP server that is not a collector (404 to an export): local. The same server then
    // accepts exports like a collector (its script answers 404 once, then 200).
    let server = Collector::start_on(
        TcpListener::bind("127.0.0.1:4318").unwrap(),
        vec![Answer::Status(404, vec![], b"{}".to_vec()), Answer::Ok],
    );
    let v = detect(home.path());
    assert_eq!(v["mode"], "local", "{v}");
    assert!(v["reason"].as_str().unwrap().contains("HTTP 404"), "{v}");
    server.next();

    // Now it accepts: system, and the probe was an empty OTLP/JSON export.
    let v = detect(home.path());
    assert_eq!(v["mode"], "system", "{v}");
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("accepted an empty export"),
        "{v}"
    );
    let req = server.next();
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("POST", "/v1/traces")
    );
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(req.body, b"{}");

    // The system spool directory exists: system, without asking the network.
    std::fs::create_dir_all(home.path().join(".otel/spool")).unwrap();
    let v = detect(home.path());
    assert_eq!(v["mode"], "system", "{v}");
    assert!(v["reason"].as_str().unwrap().contains(".otel/spool"), "{v}");
    assert_eq!(v["collector"], "http://127.0.0.1:4318");
    assert_eq!(v["tempo"], "http://127.0.0.1:3200");
    assert_eq!(v["grafana"], "http://127.0.0.1:3700");

    // env in system mode exports the system endpoints and $HOME/.otel.
    let mut cmd = otelctl(home.path());
    cmd.env_remove("OTELCTL_MODE");
    let out = run(
        cmd,
        [
            "env",
            "--shell",
            "json",
            "--quiet",
            "--root",
            "/work/project",
        ],
    );
    let env: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(env["OTELCTL_MODE"], "system");
    assert_eq!(env["OTEL_EXPORTER_OTLP_ENDPOINT"], "http://127.0.0.1:4318");
    assert_eq!(
        env["OTELCTL_DATA_DIR"],
        home.path().join(".otel").to_str().unwrap()
    );
}

/// The NixOS module publishes the system stack's ports (services.otel-stack.ports) in
/// /etc/otel-stack/ports.json; detection, `env`, `wait` and the exporter's default follow them.
#[test]
fn published_system_ports_move_detection_and_env() {
    let home = tempfile::tempdir().unwrap();
    let server = Collector::start(vec![Answer::Ok, Answer::Ok]);
    let file = home.path().join("ports.json");
    std::fs::write(
        &file,
        format!(
            r#"{{"collector_otlp_http": {}, "tempo_http": 13200, "grafana_http": 13700, "tempo_otlp_grpc": 14317, "collector_metrics": 18888, "tempo_grpc": 19095}}"#,
            server.port
        ),
    )
    .unwrap();
    let published = |args: &[&str]| {
        let mut cmd = otelctl(home.path());
        cmd.env_remove("OTELCTL_MODE")
            .env("OTELCTL_SYSTEM_PORTS_FILE", &file);
        run(cmd, args)
    };

    // Auto mode probes the published collector port, not 4318.
    let out = published(&["detect", "--json", "--root", "/work/project"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["mode"], "system", "{v}");
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains(&format!("127.0.0.1:{}", server.port)),
        "{v}"
    );
    assert_eq!(v["collector"], format!("http://127.0.0.1:{}", server.port));
    assert_eq!(v["tempo"], "http://127.0.0.1:13200");
    assert_eq!(v["grafana"], "http://127.0.0.1:13700");
    let req = server.next();
    assert_eq!(req.path, "/v1/traces");

    // env exports the published endpoints (and devenv's gRPC destination on the published port).
    let mut cmd = otelctl(home.path());
    cmd.env("OTELCTL_MODE", "system")
        .env("OTELCTL_DEVENV_TRACE", "otlp-grpc")
        .env("OTELCTL_SYSTEM_PORTS_FILE", &file);
    let out = run(
        cmd,
        [
            "env",
            "--shell",
            "json",
            "--quiet",
            "--root",
            "/work/project",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let env: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        env["OTEL_EXPORTER_OTLP_ENDPOINT"],
        format!("http://127.0.0.1:{}", server.port)
    );
    assert_eq!(env["OTEL_GRAFANA_URL"], "http://127.0.0.1:13700");
    assert_eq!(env["OTEL_TEMPO_URL"], "http://127.0.0.1:13200");
    assert!(
        env["DEVENV_TRACE_DEFAULT_TO"]
            .as_str()
            .unwrap()
            .ends_with(":14317"),
        "{env}"
    );

    // A broken file is an error naming it, never a silent fallback to 4318.
    std::fs::write(&file, r#"{"collector_otlp_http": "x"}"#).unwrap();
    let out = published(&["detect", "--json", "--root", "/work/project"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("ports.json") && err.contains("$.collector_otlp_http"),
        "{err}"
    );
}

/// A broken ports file fails only the commands that need the system stack's ports, with an
/// error naming the file, what is wrong and what to do; local mode never reads it.
#[test]
fn a_broken_system_ports_file_breaks_only_what_needs_it() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("ports.json");
    std::fs::write(&file, "{\"collector_otlp_http\": \"x\"").unwrap();
    let with = |mode: Option<&str>, args: &[&str]| {
        let mut cmd = otelctl(home.path());
        cmd.env("OTELCTL_SYSTEM_PORTS_FILE", &file);
        match mode {
            Some(m) => cmd.env("OTELCTL_MODE", m),
            None => cmd.env_remove("OTELCTL_MODE"),
        };
        run(cmd, args)
    };

    // Local mode: env, detect and ports work as if the file were not there.
    for args in [
        &["env", "--quiet", "--root", "/work/project"][..],
        &["detect", "--root", "/work/project"],
        &["ports", "--root", "/work/project"],
    ] {
        let out = with(Some("local"), args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    }
    // `ports` needs no mode at all: auto mode does not read it either.
    let out = with(None, &["ports", "--root", "/work/project"]);
    assert!(out.status.success(), "{}", stderr(&out));

    // System mode and auto detection need it: exit 2, the file, the problem, the fix.
    for (mode, args) in [
        (
            Some("system"),
            &["env", "--quiet", "--root", "/work/project"][..],
        ),
        (None, &["env", "--quiet", "--root", "/work/project"]),
        (None, &["detect", "--root", "/work/project"]),
        (Some("system"), &["status", "--root", "/work/project"]),
    ] {
        let out = with(mode, args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{mode:?} {args:?}: {err}");
        assert!(
            err.contains(file.to_str().unwrap())
                && err.contains("OTELCTL_SYSTEM_PORTS_FILE")
                && err.contains("not JSON")
                && err.contains("OTELCTL_MODE=local"),
            "{mode:?} {args:?}: {err}"
        );
    }

    // A span still goes out (or is spooled): a configuration file never loses it.
    let spool = home.path().join("spool");
    let mut cmd = otelctl(home.path());
    cmd.env("OTELCTL_SYSTEM_PORTS_FILE", &file)
        .env("OTELCTL_MODE", "system")
        .env("OTEL_SPOOL_DIR", &spool)
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{}", refused_port()),
        );
    let out = run(cmd, ["span", "s", "n", "--", "true"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json_files(&spool), 1);

    // In auto mode, detection fails on the file: the span goes to the project's own spool,
    // never to a system spool whose existence would make every project "system" from then on.
    let project = home.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    let mut cmd = otelctl(home.path());
    cmd.env("OTELCTL_SYSTEM_PORTS_FILE", &file)
        .env_remove("OTELCTL_MODE")
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{}", refused_port()),
        );
    let root = project.to_str().unwrap();
    let out = run(cmd, ["--root", root, "span", "s", "n", "--", "true"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json_files(&project.join(".devenv/otel/spool")), 1);
    assert!(
        !home.path().join(".otel").exists(),
        "no system spool was created"
    );
}
