//! `otelctl dash`: built dashboards up to date, project validation, file-mode sync (atomic,
//! idempotent, concurrent, dry run), and API-mode sync against a stand-in Grafana.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::grafana::StandIn;
use common::{otelctl, run, stderr, stdout};
use serde_json::{json, Value};

/// The built-in dashboards: the six of the seed, test results and devenv.
const BUILTINS: usize = 8;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Project {
    _tmp: tempfile::TempDir,
    home: PathBuf,
    root: PathBuf,
}

impl Project {
    /// A project named `web` with no dashboards yet, and an empty HOME.
    fn new() -> Project {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        let root = tmp.path().join("web");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(root.join(".otel/dashboards")).unwrap();
        Project {
            _tmp: tmp,
            home,
            root,
        }
    }
    fn write(&self, rel: &str, value: &Value) {
        self.write_text(rel, &serde_json::to_string_pretty(value).unwrap());
    }
    fn write_text(&self, rel: &str, text: &str) {
        let p = self.root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    fn dash(&self, args: &[&str]) -> Output {
        self.dash_env(args, &[])
    }
    fn dash_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = otelctl(&self.home);
        cmd.arg("--root").arg(&self.root).arg("dash");
        for (k, v) in env {
            cmd.env(k, v);
        }
        run(cmd, args)
    }
    fn data(&self) -> PathBuf {
        self.root.join(".devenv/otel/dashboards")
    }
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn report(o: &Output) -> Value {
    assert!(o.status.success(), "{}\n{}", stdout(o), stderr(o));
    serde_json::from_str(&stdout(o)).unwrap()
}

fn actions(r: &Value) -> Vec<(String, String)> {
    r["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["action"].as_str().unwrap().to_string(),
                c["uid"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn count(r: &Value, action: &str) -> usize {
    actions(r).iter().filter(|(a, _)| a == action).count()
}

/// Two project dashboards (one with a Tempo table, one empty), schema-complete: the schema check
/// (tests/dash_schema.rs) decodes this file with Grafana's published schema.
fn sample() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dashboards/web.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn built_dashboards_are_up_to_date() {
    let tmp = tempfile::tempdir().unwrap();
    let o = run(
        otelctl(tmp.path()),
        ["dash", "build", "--out"]
            .iter()
            .map(|s| s.to_string())
            .chain([tmp.path().join("out").display().to_string()]),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let built = tmp.path().join("out");
    let committed = repo_root().join("dashboards");
    assert_eq!(
        files_in(&built),
        files_in(&committed),
        "dashboards/ is stale: run `cargo run -p otelctl -- dash build --out dashboards/`"
    );
    for name in files_in(&built) {
        assert_eq!(
            std::fs::read_to_string(built.join(&name)).unwrap(),
            std::fs::read_to_string(committed.join(&name)).unwrap(),
            "dashboards/{name} is stale: run `cargo run -p otelctl -- dash build --out dashboards/`"
        );
    }
}

#[test]
fn built_dashboards_are_valid_grafana_json() {
    let committed = repo_root().join("dashboards");
    let jsons: Vec<_> = files_in(&committed)
        .into_iter()
        .filter(|n| n.ends_with(".json"))
        .collect();
    assert_eq!(jsons.len(), BUILTINS);
    for name in jsons {
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(committed.join(&name)).unwrap()).unwrap();
        let uid = v["uid"].as_str().unwrap();
        assert!(uid.len() <= 40 && uid.starts_with("otelctl-"), "{uid}");
        assert_eq!(name, format!("{uid}.json"));
        assert!(!v["title"].as_str().unwrap().is_empty());
        for p in v["panels"].as_array().unwrap() {
            let g = &p["gridPos"];
            assert!(
                g["x"].as_u64().unwrap() + g["w"].as_u64().unwrap() <= 24,
                "{name}"
            );
            if p["type"] != "row" && p["type"] != "text" {
                // RED panels read Tempo's span metrics from the provisioned Prometheus.
                if p["datasource"]["uid"] == "prometheus" {
                    assert_eq!(p["datasource"]["type"], "prometheus");
                    for t in p["targets"].as_array().unwrap() {
                        assert_eq!(t["datasource"], p["datasource"], "{name}");
                        assert!(
                            t["expr"].as_str().unwrap().contains("traces_spanmetrics_"),
                            "{name}"
                        );
                    }
                    continue;
                }
                assert_eq!(p["datasource"], json!({"type": "tempo", "uid": "tempo"}));
                for t in p["targets"].as_array().unwrap() {
                    // A TraceQL query on the provisioned Tempo, or a server-side expression
                    // over the panel's other queries, naming only ref ids the panel has.
                    if t["datasource"]["uid"] == "__expr__" {
                        let expr = t["expression"].as_str().unwrap();
                        let refs: Vec<&str> = p["targets"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .filter_map(|o| o["refId"].as_str())
                            .collect();
                        for word in expr.split('$').skip(1) {
                            let r: String = word
                                .chars()
                                .take_while(|c| c.is_ascii_alphanumeric())
                                .collect();
                            assert!(refs.contains(&r.as_str()), "{name}: ${r} in {expr}");
                        }
                        if t["type"] == "reduce" {
                            assert!(refs.contains(&expr), "{name}: reduce of {expr}");
                        }
                        continue;
                    }
                    assert_eq!(t["datasource"]["uid"], "tempo");
                    assert_eq!(t["queryType"], "traceql");
                }
            }
        }
    }
}

#[test]
fn list_json_gives_every_tempo_query_of_the_tests_and_devenv_dashboards() {
    let p = Project::new();
    let listed = report(&p.dash(&["list", "--json"]));
    let uids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["uid"].as_str().unwrap())
        .collect();
    assert_eq!(uids.len(), BUILTINS, "{uids:?}");
    // (uid, number of TraceQL queries, panels that must each have one)
    let wanted = [
        (
            "otelctl-tests",
            8,
            vec![
                "Pass rate by suite",
                "Runs by result",
                "Test duration p50 / p95 / p99 by test",
                "Slowest tests (longest run in the range)",
                "Flaky tests: share of failed runs",
                "Recent failed tests",
            ],
        ),
        (
            "otelctl-devenv",
            7,
            vec![
                "Activities by kind",
                "Duration p50 / p95 / p99 by kind",
                "Slowest activities (longest in the range)",
                "Failures by kind",
                "Failed activities",
            ],
        ),
    ];
    for (uid, n, panels) in wanted {
        let d = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["uid"] == uid)
            .unwrap_or_else(|| panic!("{uid} not listed: {uids:?}"));
        let queries = d["queries"].as_array().unwrap();
        assert_eq!(queries.len(), n, "{uid}: {queries:#?}");
        for panel in panels {
            assert!(
                queries.iter().any(|q| q["panel"] == panel),
                "{uid}: no query for {panel:?}"
            );
        }
        for q in queries {
            let resolved = q["resolved"].as_str().unwrap();
            assert!(!resolved.contains('$'), "{uid}: unresolved {resolved}");
        }
    }
    // The pass rate's two inputs and the flaky panel's: passed, and passed-or-failed / failed.
    let tests = &listed[BUILTINS - 2]["queries"];
    let of = |panel: &str| -> Vec<String> {
        tests
            .as_array()
            .unwrap()
            .iter()
            .filter(|q| q["panel"] == panel)
            .map(|q| q["resolved"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        of("Pass rate by suite"),
        vec![
            r#"{ name =~ "test[.].+" && (.test.result = "passed" || .test.case.result.status = "pass") } | count_over_time() by (.test.suite)"#,
            r#"{ name =~ "test[.].+" && ((.test.result = "passed" || .test.case.result.status = "pass") || (.test.result = "failed" || .test.case.result.status = "fail")) } | count_over_time() by (.test.suite)"#,
        ]
    );
    assert_eq!(
        of("Flaky tests: share of failed runs"),
        vec![
            r#"{ name =~ "test[.].+" && (.test.result = "passed" || .test.case.result.status = "pass") } | count_over_time() by (name)"#,
            r#"{ name =~ "test[.].+" && (.test.result = "failed" || .test.case.result.status = "fail") } | count_over_time() by (name)"#,
        ]
    );
}

#[test]
fn bad_project_dashboards_are_reported_and_nothing_is_written() {
    let cases: Vec<(&str, &str, Vec<&str>)> = vec![
        (
            ".otel/dashboards.json",
            "[{\"title\": \"A\", \"uid\": \"a\",}\n]",
            vec![".otel/dashboards.json:1:28: invalid JSON: trailing comma"],
        ),
        (
            ".otel/dashboards/x.json",
            r#"{"uid": "no-title", "panels": []}"#,
            vec![".otel/dashboards/x.json #1 (uid \"no-title\"): $.title: missing; Grafana expects the dashboard's title, a non-empty string"],
        ),
        (
            ".otel/dashboards.json",
            r#"[{"title": "Long", "uid": "a-uid-that-is-much-longer-than-forty-characters"}]"#,
            vec!["#1 (title \"Long\", uid \"a-uid-that-is-much-longer-than-forty-characters\"): $[0].uid: uid", "47 characters long; Grafana allows at most 40"],
        ),
        (
            ".otel/dashboards.json",
            r#"[{"title": "Mine", "uid": "otelctl-overview"}]"#,
            vec!["$[0].uid: uid \"otelctl-overview\" is already used by the built-in dashboard \"otelctl / Overview\""],
        ),
        (
            ".otel/dashboards.json",
            r#"[{"title": "Bad", "uid": "has space"}]"#,
            vec!["uid \"has space\" has characters Grafana rejects"],
        ),
        (
            ".otel/dashboards/panels.json",
            r#"{"title": "Grid", "schemaVersion": 39, "panels": [{"type": "table", "gridPos": {"x": 12, "y": 0, "w": 16, "h": 8}}]}"#,
            vec![".otel/dashboards/panels.json #1 (title \"Grid\", uid \"grid\"): $.panels[0].gridPos: x 12 + w 16 = 28; Grafana expects x + w at most 24 (the grid is 24 columns wide)"],
        ),
        (
            ".otel/dashboards/old.json",
            r#"{"title": "Old", "panels": [{"type": "table"}]}"#,
            vec![".otel/dashboards/old.json #1 (title \"Old\", uid \"old\"): $.schemaVersion: missing; Grafana expects the schema version the JSON was written for, a whole number"],
        ),
        (
            ".otel/dashboards.json",
            r#""just a string""#,
            vec!["expected a dashboard object, an array of them"],
        ),
    ];
    for (file, text, wanted) in cases {
        let p = Project::new();
        p.write_text(file, text);
        let o = p.dash(&["sync"]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{file}: {err}");
        for w in wanted {
            assert!(err.contains(w), "{file}: wanted {w:?} in:\n{err}");
        }
        assert!(!p.data().exists(), "nothing may be written: {err}");
        let o = p.dash(&["list"]);
        assert_eq!(o.status.code(), Some(2));
    }
}

#[test]
fn duplicate_uids_across_files_name_both_places() {
    let p = Project::new();
    p.write(
        ".otel/dashboards.json",
        &json!([{"title": "One", "uid": "same"}]),
    );
    p.write(
        ".otel/dashboards/b.json",
        &json!({"title": "Two", "uid": "same"}),
    );
    let o = p.dash(&["sync"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            ".otel/dashboards/b.json #1 (title \"Two\"): $.uid: uid \"same\" is already used by"
        ) && err.contains(".otel/dashboards.json #1 (\"One\")"),
        "{err}"
    );
}

#[test]
fn file_sync_writes_then_changes_nothing_then_updates_and_prunes() {
    let p = Project::new();
    p.write(".otel/dashboards.json", &sample());
    p.write(
        ".otel/dashboards/extra.json",
        &json!({"title": "Extra", "uid": "web-extra"}),
    );

    // Dry run: says what it would add, writes nothing.
    let o = p.dash(&["sync", "--dry-run"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("would add") && out.contains("nothing written"),
        "{out}"
    );
    assert!(!p.data().exists());

    let r = report(&p.dash(&["sync", "--json"]));
    assert_eq!(
        (count(&r, "added"), r["changed"].as_bool()),
        (BUILTINS + 3, Some(true)),
        "{r}"
    );
    assert_eq!(files_in(&p.data().join("builtin")).len(), BUILTINS);
    assert_eq!(
        files_in(&p.data().join("web")),
        vec!["web-errors.json", "web-extra.json", "web-latency.json"]
    );
    let stored: Value = serde_json::from_str(
        &std::fs::read_to_string(p.data().join("web/web-errors.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(stored["title"], "Web errors");

    // Second run: nothing to change, and it says so.
    let o = p.dash(&["sync"]);
    let out = stdout(&o);
    assert!(
        out.contains(&format!("nothing to change: {} dashboards", BUILTINS + 3)),
        "{out}"
    );
    let r = report(&p.dash(&["sync", "--json"]));
    assert_eq!(
        (count(&r, "unchanged"), r["changed"].as_bool()),
        (BUILTINS + 3, Some(false))
    );

    // Change one, drop one: dry run shows it, the sync does it.
    let mut changed = sample();
    changed["dashboards"][0]["title"] = json!("Web latency (v2)");
    p.write(".otel/dashboards.json", &changed);
    std::fs::remove_file(p.root.join(".otel/dashboards/extra.json")).unwrap();
    let r = report(&p.dash(&["sync", "--dry-run", "--json"]));
    assert!(
        actions(&r).contains(&("updated".into(), "web-latency".into())),
        "{r}"
    );
    assert!(
        actions(&r).contains(&("removed".into(), "web-extra".into())),
        "{r}"
    );
    assert_eq!(files_in(&p.data().join("web")).len(), 3, "dry run wrote");
    let r = report(&p.dash(&["sync", "--json"]));
    assert_eq!(
        (
            count(&r, "updated"),
            count(&r, "removed"),
            count(&r, "unchanged")
        ),
        (1, 1, BUILTINS + 1)
    );
    assert_eq!(
        files_in(&p.data().join("web")),
        vec!["web-errors.json", "web-latency.json"]
    );
    // No staging directories left behind.
    assert_eq!(files_in(&p.data()), vec![".lock", "builtin", "web"]);
}

#[test]
fn system_mode_writes_under_home_and_project_flag_names_the_folder() {
    let p = Project::new();
    p.write(".otel/dashboards.json", &sample());
    let o = p.dash_env(
        &["sync", "--project", "shop"],
        &[("OTELCTL_MODE", "system")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let dir = p.home.join(".otel/dashboards");
    assert_eq!(
        files_in(&dir.join("shop")),
        vec!["web-errors.json", "web-latency.json"]
    );
    assert_eq!(files_in(&dir.join("builtin")).len(), BUILTINS);
    assert!(!p.data().exists());
    for bad in ["builtin", "../x", ".hidden", ""] {
        let o = p.dash(&["sync", "--project", bad]);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", stderr(&o));
    }
}

#[test]
fn a_failed_sync_leaves_the_previous_set_intact() {
    let p = Project::new();
    p.write(".otel/dashboards.json", &sample());
    assert!(p.dash(&["sync"]).status.success());
    let before = std::fs::read_to_string(p.data().join("web/web-latency.json")).unwrap();

    let mut changed = sample();
    changed["dashboards"][0]["title"] = json!("Changed");
    changed["dashboards"][1] = json!({"title": "New one"});
    p.write(".otel/dashboards.json", &changed);
    let o = p.dash_env(&["sync"], &[("OTELCTL_TEST_FAULT", "before-swap")]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("injected fault"), "{}", stderr(&o));
    assert_eq!(
        files_in(&p.data().join("web")),
        vec!["web-errors.json", "web-latency.json"]
    );
    assert_eq!(
        std::fs::read_to_string(p.data().join("web/web-latency.json")).unwrap(),
        before
    );
    assert_eq!(
        files_in(&p.data()),
        vec![".lock", "builtin", "web"],
        "staging left behind"
    );
    // And the next sync completes the change.
    let r = report(&p.dash(&["sync", "--json"]));
    assert_eq!(
        (
            count(&r, "added"),
            count(&r, "updated"),
            count(&r, "removed")
        ),
        (1, 1, 1)
    );
}

#[test]
fn concurrent_syncs_run_one_after_the_other() {
    let p = Project::new();
    p.write(".otel/dashboards.json", &sample());
    let children: Vec<_> = (0..4)
        .map(|_| {
            let mut cmd = otelctl(&p.home);
            cmd.arg("--root")
                .arg(&p.root)
                .args(["dash", "sync", "--json"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            cmd.spawn().unwrap()
        })
        .collect();
    let reports: Vec<Value> = children
        .into_iter()
        .map(|c| report(&c.wait_with_output().unwrap()))
        .collect();
    let changed = reports
        .iter()
        .filter(|r| r["changed"].as_bool() == Some(true))
        .count();
    assert_eq!(changed, 1, "exactly one sync writes: {reports:?}");
    assert_eq!(files_in(&p.data().join("web")).len(), 2);
    assert_eq!(files_in(&p.data()), vec![".lock", "builtin", "web"]);
}

// ---- API mode, against the stand-in (see tests/common/grafana.rs for why a stand-in) ----

const TOKEN: &str = "glsa_test-token-0123456789";

fn api(p: &Project, g: &StandIn, args: &[&str]) -> Output {
    let mut all = vec!["sync", "--grafana-url", &g.url];
    all.extend_from_slice(args);
    p.dash_env(&all, &[("OTELCTL_GRAFANA_TOKEN", TOKEN)])
}

#[test]
fn api_sync_creates_updates_and_prunes_only_its_own() {
    let g = StandIn::start(TOKEN);
    // Someone else's dashboards: one by hand (tagged with our project, but not managed), one
    // managed for another project.
    g.insert("by-hand", "By hand", "general", &["otelctl-project-web"]);
    g.insert(
        "other-proj",
        "Other",
        "otelctl-other",
        &["otelctl-managed", "otelctl-project-other"],
    );
    let p = Project::new();
    p.write(".otel/dashboards.json", &sample());

    let r = report(&api(&p, &g, &["--dry-run", "--json"]));
    assert_eq!(count(&r, "added"), 2);
    assert!(g.writes().is_empty(), "dry run wrote: {:?}", g.writes());

    let r = report(&api(&p, &g, &["--json"]));
    assert_eq!(count(&r, "added"), 2, "{r}");
    assert_eq!(
        g.writes(),
        vec![
            "POST /api/folders",
            "POST /api/dashboards/db",
            "POST /api/dashboards/db"
        ]
    );
    let stored = g.dashboard("web-latency").unwrap();
    assert_eq!(stored.folder_uid, "otelctl-web");
    assert_eq!(
        stored.dashboard["tags"],
        json!(["otelctl-managed", "otelctl-project-web"])
    );
    assert!(g
        .state
        .lock()
        .unwrap()
        .auth_seen
        .iter()
        .all(|a| a == &format!("Bearer {TOKEN}")));

    // Second run: reads only, and says nothing changed.
    g.clear_log();
    let o = api(&p, &g, &[]);
    assert!(
        stdout(&o).contains("nothing to change: 2 dashboards"),
        "{}",
        stdout(&o)
    );
    assert!(g.writes().is_empty(), "{:?}", g.writes());

    // Update one, remove the other: one POST, one DELETE, nobody else's touched.
    let mut changed = sample();
    changed["dashboards"][0]["title"] = json!("Web latency v2");
    changed["dashboards"].as_array_mut().unwrap().remove(1);
    p.write(".otel/dashboards.json", &changed);
    g.clear_log();
    let r = report(&api(&p, &g, &["--json"]));
    assert_eq!((count(&r, "updated"), count(&r, "removed")), (1, 1), "{r}");
    assert_eq!(
        g.writes(),
        vec![
            "POST /api/dashboards/db",
            "DELETE /api/dashboards/uid/web-errors"
        ]
    );
    assert_eq!(g.uids(), vec!["by-hand", "other-proj", "web-latency"]);
    assert_eq!(g.dashboard("web-latency").unwrap().version, 2);
}

#[test]
fn api_sync_wrong_token_is_a_clear_error_that_never_shows_the_token() {
    let g = StandIn::start("the-right-one");
    let p = Project::new();
    p.write(".otel/dashboards.json", &sample());
    let o = api(&p, &g, &[]);
    let (out, err) = (stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("answered HTTP 401") && err.contains("OTELCTL_GRAFANA_TOKEN"),
        "{err}"
    );
    assert!(!out.contains(TOKEN) && !err.contains(TOKEN));
    assert!(g.writes().is_empty());

    // From a file, forbidden (403): the role advice; still no token in the output.
    let token_file = p.home.join("token");
    std::fs::write(&token_file, "the-right-one\n").unwrap();
    g.state.lock().unwrap().forbid = true;
    let o = p.dash(&[
        "sync",
        "--grafana-url",
        &g.url,
        "--token-file",
        token_file.to_str().unwrap(),
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("HTTP 403") && err.contains("Editor role"),
        "{err}"
    );
    assert!(!err.contains("the-right-one") && !stdout(&o).contains("the-right-one"));
}

#[test]
fn api_sync_never_prints_the_token_or_a_url_password_even_when_echoed() {
    // A server that answers 500 with every request header quoted in its `message`.
    let echo = common::Collector::start(vec![common::Answer::Echo(500)]);
    let p = Project::new();
    p.write(".otel/dashboards.json", &sample());
    let url = echo.base();
    let o = p.dash_env(
        &["sync", "--grafana-url", &url],
        &[("OTELCTL_GRAFANA_TOKEN", TOKEN)],
    );
    let (out, err) = (stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(
        echo.next().header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str()),
        "the token was sent"
    );
    assert!(
        err.contains("HTTP 500") && err.contains("[redacted]"),
        "{err}"
    );
    assert!(!out.contains(TOKEN) && !err.contains(TOKEN), "{err}");

    // A password in --grafana-url: refused, and not echoed in the error.
    let with_password = url.replace("http://", "http://admin:hunter2-pw@");
    let o = p.dash_env(&["sync", "--grafana-url", &with_password], &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("***@127.0.0.1"), "{err}");
    assert!(
        !err.contains("hunter2-pw") && !stdout(&o).contains("hunter2-pw"),
        "{err}"
    );
    assert!(
        echo.drain().is_empty(),
        "nothing was sent with the password"
    );
}

#[test]
fn api_sync_unreachable_grafana_is_a_clear_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let p = Project::new();
    p.write(".otel/dashboards.json", &sample());
    let url = format!("http://127.0.0.1:{port}");
    let o = p.dash_env(
        &["sync", "--grafana-url", &url],
        &[("OTELCTL_GRAFANA_TOKEN", TOKEN)],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "cannot reach Grafana at {url}: connection refused"
        )),
        "{err}"
    );
    assert!(!err.contains(TOKEN));
}

#[test]
fn api_sync_with_bad_dashboards_sends_nothing() {
    let g = StandIn::start(TOKEN);
    let p = Project::new();
    p.write(
        ".otel/dashboards.json",
        &json!([{"title": "A", "uid": "x"}, {"title": "B", "uid": "x"}]),
    );
    let o = api(&p, &g, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(g.log().is_empty(), "{:?}", g.log());
}

#[test]
fn extra_dashboards_from_the_module_option_are_synced_with_the_projects() {
    let p = Project::new();
    // extraDashboards = [ ./ops ./single.json ] in the devenv module becomes this variable.
    let ops = p.root.join("ops");
    std::fs::create_dir_all(&ops).unwrap();
    let a = json!({"uid": "ops-latency", "title": "Ops latency", "panels": []});
    std::fs::write(ops.join("latency.json"), a.to_string()).unwrap();
    std::fs::write(ops.join("notes.txt"), "not a dashboard").unwrap();
    let b = json!({"uid": "single-one", "title": "Single one", "panels": []});
    let single = p.root.join("single.json");
    std::fs::write(&single, b.to_string()).unwrap();
    let extra = format!("{}:{}", ops.display(), single.display());

    let out = p.dash_env(&["sync", "--json"], &[("OTELCTL_EXTRA_DASHBOARDS", &extra)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let files = files_in(&p.data().join("web"));
    assert!(files.contains(&"ops-latency.json".to_string()), "{files:?}");
    assert!(files.contains(&"single-one.json".to_string()), "{files:?}");

    // A path that does not exist: a usage error naming it and the variable; nothing written.
    let before = files_in(&p.data().join("web"));
    let missing = p.root.join("no-such-dir");
    let out = p.dash_env(
        &["sync"],
        &[("OTELCTL_EXTRA_DASHBOARDS", missing.to_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("no-such-dir") && err.contains("$OTELCTL_EXTRA_DASHBOARDS"),
        "{err}"
    );
    assert_eq!(files_in(&p.data().join("web")), before);
}
