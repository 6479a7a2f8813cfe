//! `otelctl ports`: the hash rule, the root rules, overrides and bad input, on the real binary.

mod common;

use std::os::unix::ffi::OsStrExt;

use common::*;
use serde_json::Value;

fn ports_json<I, S>(cmd: std::process::Command, args: I) -> Value
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = run(cmd, args);
    assert!(out.status.success(), "ports failed: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("ports --json prints JSON")
}

#[test]
fn known_root_gives_the_documented_base() {
    let home = tempfile::tempdir().unwrap();
    let out = run(
        otelctl(home.path()),
        ["ports", "--root", "/work/project", "--json"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["base"], 29271);
    assert_eq!(v["collector_otlp_http"], 29271);
    let text = stdout(&out);
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_by_key(|k| text.find(&format!("\"{k}\"")).unwrap());
    assert_eq!(
        keys,
        [
            "root",
            "base",
            "collector_otlp_http",
            "tempo_otlp_grpc",
            "tempo_http",
            "grafana_http",
            "collector_metrics",
            "tempo_grpc",
            "metrics_store_http",
            "logs_store_http"
        ]
    );
    assert_eq!(v["logs_store_http"], 29278);
    assert_eq!(v["tempo_grpc"], 29276);
}

#[test]
fn hashed_base_matches_an_independent_sha256_for_awkward_roots() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "plain",
        "with space",
        "ünïcödé-日本",
        "quote'd \"x\"",
        "$dollar\\back",
    ] {
        let root = dir.path().join(name);
        std::fs::create_dir(&root).unwrap();
        let v = ports_json(
            otelctl(home.path()),
            [
                std::ffi::OsStr::new("ports"),
                "--json".as_ref(),
                "--root".as_ref(),
                root.as_os_str(),
            ],
        );
        let expected = reference_base(root.as_os_str().as_bytes(), 10000, 32767);
        assert_eq!(v["base"], expected, "root {root:?}");
        assert_eq!(v["root"], root.to_str().unwrap());
        assert_eq!(v["grafana_http"], expected + 3);
    }
}

#[test]
fn root_is_spelled_like_devenv_trailing_slash_and_dots_removed_symlinks_kept() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    std::fs::create_dir(&real).unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let spelled = format!("{}/./", link.display());
    let v = ports_json(
        otelctl(home.path()),
        ["ports", "--json", "--root", spelled.as_str()],
    );
    assert_eq!(
        v["root"],
        link.to_str().unwrap(),
        "symlink kept, slash and dot dropped"
    );
    assert_eq!(
        v["base"],
        reference_base(link.as_os_str().as_bytes(), 10000, 32767)
    );
}

#[test]
fn root_comes_from_devenv_root_then_git_work_tree_then_cwd() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let sub = repo.join("a/b");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::create_dir(repo.join(".git")).unwrap();

    let mut cmd = otelctl(home.path());
    cmd.current_dir(&sub).env("PWD", &sub);
    assert_eq!(
        ports_json(cmd, ["ports", "--json"])["root"],
        repo.to_str().unwrap()
    );

    let mut cmd = otelctl(home.path());
    cmd.current_dir(&sub)
        .env("PWD", &sub)
        .env("DEVENV_ROOT", dir.path());
    assert_eq!(
        ports_json(cmd, ["ports", "--json"])["root"],
        dir.path().to_str().unwrap()
    );

    let plain = dir.path().join("plain");
    std::fs::create_dir(&plain).unwrap();
    let mut cmd = otelctl(home.path());
    cmd.current_dir(&plain).env("PWD", &plain);
    // The temp dir may itself sit inside a git work tree; only assert when it does not.
    let inside_git = plain.ancestors().any(|a| a.join(".git").exists());
    if !inside_git {
        assert_eq!(
            ports_json(cmd, ["ports", "--json"])["root"],
            plain.to_str().unwrap()
        );
    }
}

#[test]
fn base_port_and_range_overrides_flag_beats_environment() {
    let home = tempfile::tempdir().unwrap();
    let root = ["--root", "/work/project", "--json"];

    let v = ports_json(
        otelctl(home.path()),
        [&["ports", "--base-port", "20000"][..], &root].concat(),
    );
    assert_eq!(
        (v["base"].as_u64(), v["tempo_grpc"].as_u64()),
        (Some(20000), Some(20005))
    );

    let mut cmd = otelctl(home.path());
    cmd.env("OTELCTL_BASE_PORT", "30000");
    let v = ports_json(cmd, [&["ports"][..], &root].concat());
    assert_eq!(v["base"], 30000);

    let mut cmd = otelctl(home.path());
    cmd.env("OTELCTL_BASE_PORT", "30000");
    let v = ports_json(
        cmd,
        [&["ports", "--base-port", "31000"][..], &root].concat(),
    );
    assert_eq!(v["base"], 31000, "the flag wins over the variable");

    let v = ports_json(
        otelctl(home.path()),
        [&["ports", "--port-range", "20000-21000"][..], &root].concat(),
    );
    assert_eq!(v["base"], reference_base(b"/work/project", 20000, 21000));

    let mut cmd = otelctl(home.path());
    cmd.env("OTELCTL_PORT_RANGE", "40000-40100");
    let v = ports_json(cmd, [&["ports"][..], &root].concat());
    let base = v["base"].as_u64().unwrap();
    assert_eq!(base as u32, reference_base(b"/work/project", 40000, 40100));
    assert!((40000..40094).contains(&base));

    // The range before the ports moved gives the base it gave then.
    let v = ports_json(
        otelctl(home.path()),
        [&["ports", "--port-range", "10000-60000"][..], &root].concat(),
    );
    assert_eq!(v["base"], 13938);
}

#[test]
fn table_names_each_service_and_whether_its_port_is_taken() {
    let home = tempfile::tempdir().unwrap();
    // Hold the Grafana port (+3) so the table must report it in use.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = listener.local_addr().unwrap().port();
    if !(1027..=65531).contains(&taken) {
        return skip("the kernel gave an ephemeral port too close to the range edges");
    }
    let base = (taken - 3).to_string();
    let out = run(
        otelctl(home.path()),
        ["ports", "--root", "/work/project", "--base-port", &base],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let line = text
        .lines()
        .find(|l| l.contains("Grafana HTTP"))
        .expect("a Grafana row");
    assert!(
        line.contains(&taken.to_string()) && line.ends_with("in use"),
        "{line}"
    );
    let collector = text
        .lines()
        .find(|l| l.contains("Collector OTLP/HTTP"))
        .unwrap();
    assert!(collector.contains(&base), "{collector}");
}

#[test]
fn bad_input_is_one_line_exit_2_and_writes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"").unwrap();
    let root = dir.path().to_str().unwrap();
    // (arguments, environment, what the message must name, what it must say is accepted)
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec!["ports", "--base-port", "abc"],
            vec![],
            "\"abc\"",
            "1024 to 65528",
        ),
        (
            vec!["ports", "--base-port", "80"],
            vec![],
            "\"80\"",
            "1024 to 65528",
        ),
        (
            vec!["ports", "--base-port", "65529"],
            vec![],
            "\"65529\"",
            "1024 to 65528",
        ),
        (
            vec!["ports"],
            vec![("OTELCTL_BASE_PORT", "x1")],
            "$OTELCTL_BASE_PORT",
            "1024 to 65528",
        ),
        (
            vec!["ports", "--port-range", "10000"],
            vec![],
            "\"10000\"",
            "START-END",
        ),
        (
            vec!["ports", "--port-range", "50000-40000"],
            vec![],
            "\"50000-40000\"",
            "START-END",
        ),
        (
            vec!["ports"],
            vec![("OTELCTL_PORT_RANGE", "a-b")],
            "$OTELCTL_PORT_RANGE",
            "START-END",
        ),
        (
            vec!["ports", "--root", file.to_str().unwrap()],
            vec![],
            "is not a directory",
            "--root DIR",
        ),
        (vec!["env", "--shell", "tcsh"], vec![], "\"tcsh\"", "fish"),
        (
            vec!["detect"],
            vec![("OTELCTL_MODE", "maybe")],
            "\"maybe\"",
            "auto, system or local",
        ),
    ];
    for (args, env, names, accepted) in cases {
        let mut cmd = otelctl(home.path());
        cmd.current_dir(dir.path()).env("PWD", dir.path());
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let out = run(cmd, &args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?} {env:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
        assert!(
            err.contains(names) && err.contains(accepted),
            "{args:?}: {err}"
        );
    }
    assert!(
        !std::path::Path::new(root).join(".devenv").exists(),
        "nothing written under the root"
    );
    assert_eq!(
        std::fs::read_dir(home.path()).unwrap().count(),
        0,
        "nothing written under HOME"
    );
}

#[test]
fn per_service_variables_fix_single_ports_for_the_system_stack() {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = otelctl(home.path());
    cmd.env("OTELCTL_COLLECTOR_PORT", "4318")
        .env("OTELCTL_TEMPO_OTLP_GRPC_PORT", "4317")
        .env("OTELCTL_TEMPO_HTTP_PORT", "3200")
        .env("OTELCTL_GRAFANA_PORT", "3700");
    let v = ports_json(cmd, ["ports", "--json", "--root", "/work/project"]);
    assert_eq!(v["collector_otlp_http"], 4318);
    assert_eq!(v["tempo_otlp_grpc"], 4317);
    assert_eq!(v["tempo_http"], 3200);
    assert_eq!(v["grafana_http"], 3700);
    assert_eq!(
        v["collector_metrics"], 29275,
        "ports without a variable keep the derived value"
    );
    assert_eq!(v["base"], 29271);

    let mut cmd = otelctl(home.path());
    cmd.env("OTELCTL_TEMPO_GRPC_PORT", "99999");
    let out = run(cmd, ["ports", "--root", "/work/project"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("$OTELCTL_TEMPO_GRPC_PORT") && stderr(&out).contains("1 to 65535")
    );
}
