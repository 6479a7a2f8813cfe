//! Golden snapshots of every rendered file (`otelctl render … --out DIR`), with the project
//! root replaced by `[ROOT]` and the ports by `[PORT+N]`, and the real collector's `validate`
//! on every collector variant. Regenerate the snapshots with `UPDATE_GOLDEN=1 cargo test
//! --test render` and review the diff: a config change is always a reviewed change.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::stack::*;
use common::{otelctl_without_programs, TempDir};

const BASE: u16 = 47100;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/render")
}

/// Replaces the root and the eight ports with placeholders.
fn filter(text: &str, root: &Path) -> String {
    let mut t = text.replace(&root.display().to_string(), "[ROOT]");
    for off in (0..8).rev() {
        t = t.replace(&(BASE + off).to_string(), &format!("[PORT+{off}]"));
    }
    t
}

fn check_golden(name: &str, actual: &str) {
    let path = golden_dir().join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(golden_dir()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!("missing golden {path:?}: run UPDATE_GOLDEN=1 cargo test --test render")
    });
    if expected != actual {
        panic!(
            "{name} differs from the golden snapshot (UPDATE_GOLDEN=1 cargo test --test render to accept):\n--- expected\n{expected}\n--- actual\n{actual}"
        );
    }
}

struct Project {
    home: TempDir,
    root: PathBuf,
}

impl Project {
    fn new(tag: &str) -> Self {
        let home = TempDir::new(tag);
        let root = home.path().join("project");
        std::fs::create_dir_all(&root).unwrap();
        Project { home, root }
    }

    fn cmd(&self) -> Command {
        let mut c = otelctl_without_programs(self.home.path());
        c.arg("--root")
            .arg(&self.root)
            .arg("--base-port")
            .arg(BASE.to_string());
        c
    }

    /// Renders into a fresh `--out` dir; returns (relative name, filtered contents) pairs.
    fn render(&self, args: &[&str], env: &[(&str, &str)]) -> Vec<(String, String)> {
        let out = self
            .home
            .path()
            .join(format!("out-{}", args.join("-").replace('/', "_")));
        let mut c = self.cmd();
        c.arg("render").args(args).arg("--out").arg(&out);
        for (k, v) in env {
            c.env(k, v);
        }
        let printed = String::from_utf8(run_ok(&mut c).stdout).unwrap();
        printed
            .lines()
            .map(|line| {
                let path = Path::new(line);
                let name = path.strip_prefix(&out).unwrap().display().to_string();
                (
                    name,
                    filter(&std::fs::read_to_string(path).unwrap(), &self.root),
                )
            })
            .collect()
    }
}

fn single(files: Vec<(String, String)>) -> String {
    assert_eq!(files.len(), 1, "{files:?}");
    files.into_iter().next().unwrap().1
}

/// A stand-in collector whose `components` lists what the core distribution (plus
/// file_storage, minus otlpjsonfile) has, as the e2e lane's collector does.
fn fake_core_collector(p: &Project) -> PathBuf {
    let bin = p.home.path().join("bin/otelcol");
    script(
        &bin,
        // Shell built-ins only: PATH holds nothing else in these tests.
        "[ \"$1\" = components ] || exit 1\nprintf 'receivers:\\n    - name: otlp\\nexporters:\\n    - name: debug\\n    - name: otlp_grpc\\n    - name: otlp_http\\nextensions:\\n    - name: file_storage\\n'\n",
    );
    bin
}

#[test]
fn collector_for_otelcol_contrib() {
    let p = Project::new("golden-col");
    check_golden(
        "collector-contrib.yaml",
        &single(p.render(&["collector"], &[])),
    );
}

#[test]
fn collector_without_spool_receiver_with_debug_and_upstream() {
    let p = Project::new("golden-col2");
    let bin = fake_core_collector(&p);
    let env = [
        ("OTEL_DEBUG", "1"),
        ("OTELCTL_UPSTREAM_ENDPOINT", "https://otlp.example.com/"),
        (
            "OTELCTL_UPSTREAM_HEADERS",
            "authorization=Bearer%20s3cret,x-team=core",
        ),
    ];
    let text = single(p.render(&["collector", "--bin", bin.to_str().unwrap()], &env));
    assert!(!text.contains("s3cret"), "a header value reached the file");
    check_golden("collector-core-debug-upstream.yaml", &text);
}

#[test]
fn tempo_2_and_3() {
    let p = Project::new("golden-tempo");
    let v2 = single(p.render(&["tempo", "--tempo-version", "2"], &[]));
    let v3 = single(p.render(&["tempo", "--tempo-version", "3.0.3"], &[]));
    check_golden("tempo-2.yaml", &v2);
    check_golden("tempo-3.yaml", &v3);
    // The version of the program on PATH decides when no flag does.
    script(
        &p.home.path().join("bin/tempo"),
        "echo 'tempo, version 3.0.3 (branch: HEAD, revision: 1900ed7)'\n",
    );
    assert_eq!(single(p.render(&["tempo"], &[])), v3);
    let retention = single(p.render(
        &["tempo", "--tempo-version", "2"],
        &[("OTELCTL_TEMPO_RETENTION", "168h")],
    ));
    assert!(retention.contains("block_retention: 168h"), "{retention}");
}

#[test]
fn grafana_env_and_provisioning() {
    let p = Project::new("golden-grafana");
    let files = p.render(&["grafana"], &[]);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "config/grafana.env",
            "grafana-provisioning/datasources/otelctl.yaml",
            "grafana-provisioning/dashboards/otelctl.yaml"
        ]
    );
    for (name, text) in &files {
        check_golden(&format!("grafana-{}", name.replace('/', "_")), text);
    }
}

#[test]
fn metrics_and_logs_stores() {
    let p = Project::new("golden-stores");
    let files = p.render(&["prometheus"], &[]);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["config/prometheus.yml", "config/prometheus.args"]);
    for (name, text) in &files {
        check_golden(&format!("prometheus-{}", name.replace('/', "_")), text);
    }
    let files = p.render(&["victorialogs"], &[("OTELCTL_LOGS_RETENTION", "7d")]);
    let text = single(files);
    assert!(text.contains("-retentionPeriod=168h"), "{text}");
    check_golden("victorialogs-config_victorialogs.args", &text);
}

/// With both stores off, the collector still accepts metrics and logs (no 404 for an SDK), Tempo
/// writes no span metrics, Grafana gets no datasource for them.
#[test]
fn stores_off() {
    let p = Project::new("golden-off");
    let off = [
        ("OTELCTL_METRICS_STORE", "off"),
        ("OTELCTL_LOGS_STORE", "off"),
    ];
    let col = single(p.render(&["collector"], &off));
    assert!(
        !col.contains("otlphttp/prometheus") && !col.contains("victorialogs"),
        "{col}"
    );
    assert!(col.contains("nop: {}"), "{col}");
    // Spooled metrics and logs are not read (and deleted) by a pipeline that drops them.
    assert!(
        !col.contains("spool-metrics") && !col.contains("spool-logs"),
        "{col}"
    );
    check_golden("collector-contrib-stores-off.yaml", &col);
    let tempo = single(p.render(&["tempo", "--tempo-version", "2"], &off));
    assert!(
        !tempo.contains("remote_write") && !tempo.contains("span-metrics"),
        "{tempo}"
    );
    let grafana = p.render(&["grafana"], &off);
    let ds = &grafana[1].1;
    assert!(
        !ds.contains("prometheus") && !ds.contains("victorialogs"),
        "{ds}"
    );
    let bad = p
        .cmd()
        .args(["render", "collector"])
        .env("OTELCTL_LOGS_STORE", "loki")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("victorialogs or off"));
}

#[test]
fn rendering_is_deterministic_and_printing_matches_writing() {
    let p = Project::new("determinism");
    let a = p.render(&["tempo", "--tempo-version", "3"], &[]);
    let b = p.render(&["tempo", "--tempo-version", "3"], &[]);
    assert_eq!(a, b);
    let printed = run_ok(p.cmd().args(["render", "tempo", "--tempo-version", "3"])).stdout;
    assert_eq!(
        filter(&String::from_utf8(printed).unwrap(), &p.root),
        a[0].1
    );
}

#[test]
fn bad_settings_name_the_variable() {
    let p = Project::new("bad");
    let out = p
        .cmd()
        .args(["render", "tempo"])
        .env("OTELCTL_TEMPO_RETENTION", "30s")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("OTELCTL_TEMPO_RETENTION") && err.contains("at least 1m"),
        "{err}"
    );
    // Days are a duration too; Tempo (Go) is given hours.
    let out = run_ok(
        p.cmd()
            .args(["render", "tempo"])
            .env("OTELCTL_TEMPO_RETENTION", "7d"),
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("168h"));
}

/// Every collector config `run` would render for the real collector passes its `validate`.
#[test]
fn real_collector_validates_every_variant() {
    let Some(collector) = collector_program() else {
        return;
    };
    let variants: [&[(&str, &str)]; 5] = [
        &[],
        &[
            ("OTELCTL_METRICS_STORE", "off"),
            ("OTELCTL_LOGS_STORE", "off"),
        ],
        &[("OTEL_DEBUG", "1")],
        &[
            ("OTELCTL_UPSTREAM_ENDPOINT", "http://127.0.0.1:9"),
            ("OTELCTL_UPSTREAM_HEADERS", "authorization=x,x-b=y"),
        ],
        &[
            ("OTEL_DEBUG", "1"),
            ("OTELCTL_UPSTREAM_ENDPOINT", "https://otlp.example.com"),
        ],
    ];
    for env in variants {
        let p = Project::new("validate");
        let out = p.home.path().join("out");
        let mut c = p.cmd();
        c.args(["render", "collector", "--bin"])
            .arg(&collector)
            .arg("--out")
            .arg(&out);
        for (k, v) in env {
            c.env(k, v);
        }
        let components = Command::new(&collector).arg("components").output().unwrap();
        let components = String::from_utf8_lossy(&components.stdout);
        let has_http =
            components.contains("name: otlp_http") || components.contains("name: otlphttp");
        if !has_http && env.iter().any(|(k, _)| *k == "OTELCTL_UPSTREAM_ENDPOINT") {
            // Forwarding needs an OTLP/HTTP exporter: otelctl refuses rather than drop it.
            let o = c.output().unwrap();
            assert_eq!(o.status.code(), Some(1));
            assert!(String::from_utf8_lossy(&o.stderr).contains("no OTLP/HTTP exporter"));
            continue;
        }
        run_ok(&mut c);
        let file = out.join("config/collector.yaml");
        let v = Command::new(&collector)
            .arg("validate")
            .arg(format!("--config={}", file.display()))
            .output()
            .unwrap();
        assert!(
            v.status.success(),
            "{env:?}: validate failed:\n{}\n{}",
            String::from_utf8_lossy(&v.stderr),
            std::fs::read_to_string(&file).unwrap()
        );
    }
}

#[test]
fn extra_config_files_are_merged_over_the_rendered_ones() {
    let p = Project::new("extra");
    let tempo_extra = p.home.path().join("tempo-extra.yaml");
    std::fs::write(
        &tempo_extra,
        "overrides:\n  defaults:\n    compaction:\n      block_retention: 24h\nquery_frontend:\n  search:\n    default_result_limit: 50\n",
    )
    .unwrap();
    let tempo_extra_s = tempo_extra.display().to_string();
    let text = single(p.render(
        &["tempo", "--tempo-version", "3"],
        &[("OTELCTL_TEMPO_EXTRA_CONFIG", &tempo_extra_s)],
    ));
    // The snapshot filter's placeholders are not YAML: put numbers and a path back to parse.
    let mut parsable = text.replace("[ROOT]", "/root");
    for off in 0..6 {
        parsable = parsable.replace(&format!("[PORT+{off}]"), &(BASE + off).to_string());
    }
    let v: serde_yaml::Value = serde_yaml::from_str(&parsable).unwrap();
    assert_eq!(
        v["overrides"]["defaults"]["compaction"]["block_retention"], "24h",
        "{text}"
    );
    assert_eq!(
        v["query_frontend"]["search"]["default_result_limit"], 50,
        "{text}"
    );
    assert!(
        !v["server"]["http_listen_port"].is_null(),
        "rendered keys stay: {text}"
    );
    assert!(text.contains("# Merged with"), "{text}");

    // A broken extra file: a usage error naming the file and the variable.
    let bad = p.home.path().join("bad.yaml");
    std::fs::write(&bad, "processors: [\n").unwrap();
    let mut c = p.cmd();
    c.args(["render", "collector"])
        .env("OTELCTL_COLLECTOR_EXTRA_CONFIG", &bad);
    let out = c.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("bad.yaml") && err.contains("$OTELCTL_COLLECTOR_EXTRA_CONFIG"),
        "{err}"
    );

    // The merged collector config still passes the real collector's validate.
    let Some(collector) = collector_program() else {
        return;
    };
    let col_extra = p.home.path().join("collector-extra.yaml");
    std::fs::write(&col_extra, "processors:\n  batch:\n    timeout: 1s\n").unwrap();
    let out_dir = p.home.path().join("merged");
    let mut c = p.cmd();
    c.args(["render", "collector", "--bin"])
        .arg(&collector)
        .arg("--out")
        .arg(&out_dir)
        .env("OTELCTL_COLLECTOR_EXTRA_CONFIG", &col_extra);
    run_ok(&mut c);
    let file = out_dir.join("config/collector.yaml");
    let merged = std::fs::read_to_string(&file).unwrap();
    assert!(merged.contains("timeout: 1s"), "{merged}");
    let validate = Command::new(&collector)
        .arg("validate")
        .arg(format!("--config={}", file.display()))
        .output()
        .unwrap();
    assert!(
        validate.status.success(),
        "{}",
        String::from_utf8_lossy(&validate.stderr)
    );
}
