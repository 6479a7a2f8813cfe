//! `otelctl env`: the exports survive a real `sh` and `fish` exactly, for awkward project paths.

mod common;

use std::process::Command;

use common::*;
use serde_json::Value;

const VARS: [&str; 5] = [
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_GRAFANA_URL",
    "OTEL_TEMPO_URL",
    "OTELCTL_MODE",
    "OTELCTL_DATA_DIR",
];

/// A project directory whose name has spaces, both quotes, `$`, a backslash and non-ASCII.
fn awkward_root(parent: &std::path::Path) -> std::path::PathBuf {
    let root = parent.join("it's a \"dir\" $HOME \\back ünï");
    std::fs::create_dir(&root).unwrap();
    root
}

/// What the variables must be: from the JSON form, checked against the ports independently.
fn expected(home: &std::path::Path, root: &std::path::Path) -> Vec<String> {
    let out = run(
        otelctl(home),
        [
            "env".as_ref(),
            "--shell".as_ref(),
            "json".as_ref(),
            "--quiet".as_ref(),
            "--root".as_ref(),
            root.as_os_str(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let base = reference_base(root.to_str().unwrap().as_bytes(), 10000, 32767);
    assert_eq!(
        v["OTEL_EXPORTER_OTLP_ENDPOINT"],
        format!("http://127.0.0.1:{base}")
    );
    assert_eq!(
        v["OTEL_TEMPO_URL"],
        format!("http://127.0.0.1:{}", base + 2)
    );
    assert_eq!(
        v["OTEL_GRAFANA_URL"],
        format!("http://127.0.0.1:{}", base + 3)
    );
    assert_eq!(v["OTELCTL_MODE"], "local");
    assert_eq!(
        v["OTELCTL_DATA_DIR"],
        root.join(".devenv/otel").to_str().unwrap()
    );
    VARS.iter()
        .map(|k| v[k].as_str().unwrap().to_string())
        .collect()
}

fn nul_separated(bytes: &[u8]) -> Vec<String> {
    bytes
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8(s.to_vec()).unwrap())
        .collect()
}

#[test]
fn sh_eval_sets_every_variable_exactly() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = awkward_root(dir.path());
    let want = expected(home.path(), &root);

    let script = format!(
        r#"eval "$("$OTELCTL_UNDER_TEST" env --root "$ROOT_UNDER_TEST")" || exit 9; printf '%s\0' {}"#,
        VARS.iter()
            .map(|v| format!("\"${v}\""))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut sh = sh_command(&otelctl(home.path()), "sh", &["-c", &script]);
    let out = sh
        .env("OTELCTL_UNDER_TEST", bin())
        .env("ROOT_UNDER_TEST", &root)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(nul_separated(&out.stdout), want);
    let banner = stderr(&out);
    assert!(
        banner.contains(&format!("[otel] Collector: {}", want[0])),
        "{banner}"
    );
    assert!(
        banner.contains(&format!(
            "[otel] Viewer:    {} (Grafana, or the embedded viewer",
            want[1]
        )),
        "{banner}"
    );
    assert!(!root.join(".devenv").exists(), "env creates nothing");
}

#[test]
fn fish_source_sets_every_variable_exactly() {
    if Command::new("fish").arg("--version").output().is_err() {
        return skip("fish is not installed (scripts/test installs it from Debian)");
    }
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = awkward_root(dir.path());
    let want = expected(home.path(), &root);

    let script = format!(
        r#"$OTELCTL_UNDER_TEST env --shell fish --quiet --root $ROOT_UNDER_TEST | source; or exit 9; printf '%s\0' {}"#,
        VARS.iter()
            .map(|v| format!("${v}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut fish = sh_command(
        &otelctl(home.path()),
        "fish",
        &["--no-config", "-c", &script],
    );
    // fish decodes text by its locale: a user's shell has a UTF-8 one, CI may have none (in
    // the C locale fish re-encodes the non-ASCII bytes of the path before otelctl sees them).
    let out = fish
        .env("LC_ALL", "C.UTF-8")
        .env("OTELCTL_UNDER_TEST", bin())
        .env("ROOT_UNDER_TEST", &root)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(nul_separated(&out.stdout), want);
    assert!(
        out.stderr.is_empty(),
        "--quiet prints no banner: {}",
        stderr(&out)
    );
}

/// Reuses the cleaned environment of an `otelctl` command for a shell.
fn sh_command(template: &Command, program: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear();
    for (k, v) in template.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    for (k, v) in std::env::vars_os() {
        let name = k.to_string_lossy();
        if !(name.starts_with("OTEL") || name.starts_with("DEVENV") || name == "HOME") {
            cmd.env(&k, v);
        }
    }
    cmd.args(args);
    cmd
}

#[test]
fn data_dir_override_and_devenv_tracing() {
    let home = tempfile::tempdir().unwrap();
    let env_json = |vars: &[(&str, &str)]| -> Value {
        let mut cmd = otelctl(home.path());
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let out = run(
            cmd,
            ["env", "--shell", "json", "-q", "--root", "/work/project"],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let v = env_json(&[]);
    assert!(
        v.get("DEVENV_TRACE_DEFAULT_TO").is_none(),
        "devenv tracing is off by default"
    );

    let v = env_json(&[("OTELCTL_DATA_DIR", "/var/lib/otel-stack")]);
    assert_eq!(v["OTELCTL_DATA_DIR"], "/var/lib/otel-stack");

    // devenv's default build only speaks gRPC: that goes to Tempo's OTLP gRPC ingest (+1).
    let v = env_json(&[("OTELCTL_DEVENV_TRACE", "otlp-grpc")]);
    assert_eq!(
        v["DEVENV_TRACE_DEFAULT_TO"],
        "otlp-grpc:http://127.0.0.1:29272"
    );
    // Inside dt's run (devenv 2.x re-runs enterShell before tasks) the relay stays the endpoint.
    let v = env_json(&[
        ("OTELCTL_DEVENV_TRACE", "otlp-grpc"),
        ("OTELCTL_RELAY_ENDPOINT", "http://127.0.0.1:41234"),
    ]);
    assert_eq!(v["OTEL_EXPORTER_OTLP_ENDPOINT"], "http://127.0.0.1:41234");
    assert_eq!(v["OTELCTL_RELAY_ENDPOINT"], "http://127.0.0.1:41234");
    assert_eq!(
        v["DEVENV_TRACE_DEFAULT_TO"],
        "otlp-grpc:http://127.0.0.1:41234"
    );

    // A default devenv build exports only OTLP/gRPC: anything else is refused, naming the variable.
    for bad in ["otlp-http-protobuf", "otlp-http-json"] {
        let mut cmd = otelctl(home.path());
        cmd.env("OTELCTL_DEVENV_TRACE", bad);
        let out = run(cmd, ["env", "--root", "/work/project"]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = stderr(&out);
        assert!(
            err.contains("OTELCTL_DEVENV_TRACE")
                && err.contains(bad)
                && err.contains("otlp-grpc or off"),
            "{err}"
        );
    }

    let mut cmd = otelctl(home.path());
    cmd.env("OTELCTL_DEVENV_TRACE", "zipkin");
    let out = run(cmd, ["env", "--root", "/work/project"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("\"zipkin\"") && stderr(&out).contains("otlp-grpc"));
}

/// Inside a `dt` run a project's own `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (devenv.nix `env`,
/// exported before the shell hook runs `otelctl env`) would win over the relay in every SDK:
/// the hook unsets it, sh and fish alike, and only then.
#[test]
fn inside_dt_the_projects_own_traces_endpoint_gives_way_to_the_relay() {
    let home = tempfile::tempdir().unwrap();
    let relay = "http://127.0.0.1:41234";
    let mine = "http://team.example:4318/v1/traces";
    let show = r#"printf '%s|%s' "${OTEL_EXPORTER_OTLP_TRACES_ENDPOINT-unset}" "$OTEL_EXPORTER_OTLP_ENDPOINT""#;
    let sh = |relayed: bool| {
        let mut template = otelctl(home.path());
        if relayed {
            template.env("OTELCTL_RELAY_ENDPOINT", relay);
        }
        let script = format!(
            r#"export OTEL_EXPORTER_OTLP_TRACES_ENDPOINT={mine}; eval "$("$OTELCTL_UNDER_TEST" env -q --root /work/project)" || exit 9; {show}"#
        );
        let out = sh_command(&template, "sh", &["-c", &script])
            .env("OTELCTL_UNDER_TEST", bin())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    assert_eq!(sh(true), format!("unset|{relay}"));
    assert_eq!(
        sh(false),
        format!("{mine}|http://127.0.0.1:29271"),
        "outside dt the project's own endpoint stays"
    );

    // JSON says null for a variable to unset.
    let mut cmd = otelctl(home.path());
    cmd.env("OTELCTL_RELAY_ENDPOINT", relay);
    let out = run(
        cmd,
        ["env", "--shell", "json", "-q", "--root", "/work/project"],
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"].is_null(), "{v}");
    assert!(v
        .as_object()
        .unwrap()
        .contains_key("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"));

    if Command::new("fish").arg("--version").output().is_err() {
        return skip("fish is not installed (scripts/test installs it from Debian)");
    }
    let mut template = otelctl(home.path());
    template.env("OTELCTL_RELAY_ENDPOINT", relay);
    // With the project's endpoint set, and (the usual case) without it: `source` succeeds both
    // times, and the variable is unset after.
    for before in [
        format!("set -gx OTEL_EXPORTER_OTLP_TRACES_ENDPOINT {mine}; "),
        String::new(),
    ] {
        let script = format!(
            r#"{before}$OTELCTL_UNDER_TEST env --shell fish -q --root /work/project | source; or exit 9; set -q OTEL_EXPORTER_OTLP_TRACES_ENDPOINT; and echo -n set; or echo -n unset"#
        );
        let out = sh_command(&template, "fish", &["--no-config", "-c", &script])
            .env("OTELCTL_UNDER_TEST", bin())
            .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .output()
            .unwrap();
        assert!(out.status.success(), "{before:?}: {}", stderr(&out));
        assert_eq!(stdout(&out), "unset", "{before:?}");
    }
}
