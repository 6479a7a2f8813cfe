//! Grafana's own dashboard schema, without a Grafana: every dashboard otelctl builds or ships
//! (the built-ins as `otelctl dash build` writes them now, the committed `dashboards/`, the
//! example project's and the test fixtures) is decoded strictly and validated by `dashcheck`
//! (e2e/dashcheck: grafana-foundation-sdk's `Dashboard.UnmarshalJSONStrict` after
//! `RegisterDefaultPlugins()`, then `Validate()`), built by `scripts/e2e-build --only dashcheck`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::json_files;
use common::stack::lane_program;
use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn dashcheck() -> Option<PathBuf> {
    lane_program("OTELCTL_DASHCHECK_BIN", "dashcheck-")
}

/// Runs dashcheck on `paths`: (exit code, stdout).
fn check(bin: &Path, paths: &[PathBuf]) -> (Option<i32>, String) {
    let o = Command::new(bin).args(paths).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    (o.status.code(), out)
}

fn built_now(dir: &Path) -> PathBuf {
    let out = dir.join("built");
    let o = common::run(
        common::otelctl(dir),
        [
            "dash".into(),
            "build".into(),
            "--out".into(),
            out.display().to_string(),
        ],
    );
    assert!(o.status.success(), "{}", common::stderr(&o));
    out
}

#[test]
fn every_builtin_example_and_fixture_dashboard_passes_grafanas_schema() {
    let Some(bin) = dashcheck() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let built = built_now(tmp.path());
    let root = repo_root();
    let paths = vec![
        built.clone(),
        root.join("dashboards"),
        root.join("examples"),
        root.join("crates/otelctl/tests/fixtures/dashboards"),
    ];
    let (code, out) = check(&bin, &paths);
    assert_eq!(code, Some(0), "dashcheck found problems:\n{out}");
    // Every dashboard was looked at: the built and committed built-ins, the example project's
    // two and the two of the fixture.
    let builtins = json_files(&built);
    assert_eq!(builtins, json_files(&root.join("dashboards")));
    let expected = 2 * builtins + 2 + 2;
    assert!(
        out.contains(&format!("dashcheck: {expected} passed, 0 failed")),
        "{out}"
    );
}

#[test]
fn the_schema_check_fails_on_a_dashboard_missing_a_required_field() {
    let Some(bin) = dashcheck() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let built = built_now(tmp.path());
    let text = std::fs::read_to_string(built.join("otelctl-dt-tasks.json")).unwrap();
    let good: Value = serde_json::from_str(&text).unwrap();
    let bar = good["panels"]
        .as_array()
        .unwrap()
        .iter()
        .position(|p| p["type"] == "bargauge")
        .expect("dt-tasks has a bar gauge");
    let table = good["panels"]
        .as_array()
        .unwrap()
        .iter()
        .position(|p| p["type"] == "table")
        .expect("dt-tasks has a table");
    // One required field removed at each level: dashboard, dashboard link, Tempo target,
    // panel options of a plugin (bar gauge, table). (JSON pointer of the object, field, path in
    // dashcheck's message.)
    let cases: Vec<(String, &str, String)> = vec![
        (String::new(), "schemaVersion", "schemaVersion".into()),
        ("/links/0".into(), "icon", "links[0].icon".into()),
        (
            format!("/panels/{bar}/targets/0"),
            "filters",
            format!("panels[{bar}].targets[0].filters"),
        ),
        (
            format!("/panels/{bar}/options"),
            "minVizWidth",
            format!("panels[{bar}].options.minVizWidth"),
        ),
        (
            format!("/panels/{table}/options"),
            "frameIndex",
            format!("panels[{table}].options.frameIndex"),
        ),
    ];
    for (pointer, field, path) in cases {
        let what = format!("{pointer}/{field}");
        let wanted = format!("{path}: required field is missing from input");
        let mut bad = good.clone();
        let removed = bad
            .pointer_mut(&pointer)
            .and_then(Value::as_object_mut)
            .and_then(|o| o.remove(field));
        assert!(removed.is_some(), "{what} is not in the built dashboard");
        let file = tmp.path().join("bad.json");
        std::fs::write(&file, serde_json::to_vec(&bad).unwrap()).unwrap();
        let (code, out) = check(&bin, std::slice::from_ref(&file));
        assert_eq!(
            code,
            Some(1),
            "{what}: dashcheck passed a broken dashboard:\n{out}"
        );
        assert!(
            out.contains(&wanted),
            "{what}: wanted {wanted:?} in:\n{out}"
        );
        assert!(
            out.contains("dashcheck: 0 passed, 1 failed"),
            "{what}: {out}"
        );
    }
    // A target naming no datasource runs on the panel's: it is checked as that type too.
    let mut bad = good.clone();
    let t = bad["panels"][bar]["targets"][0].as_object_mut().unwrap();
    t.remove("datasource");
    t.remove("filters");
    let file = tmp.path().join("bad.json");
    std::fs::write(&file, serde_json::to_vec(&bad).unwrap()).unwrap();
    let (code, out) = check(&bin, &[file]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "panels[{bar}].targets[0].filters: required field is missing from input (as a tempo query"
        )),
        "{out}"
    );
    // The unbroken one passes, so the failures above are the removed fields'.
    let file = tmp.path().join("good.json");
    std::fs::write(&file, &text).unwrap();
    let (code, out) = check(&bin, &[file]);
    assert_eq!(code, Some(0), "{out}");
}
