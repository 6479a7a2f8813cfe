//! A project's own dashboards: `.otel/dashboards.json` and `.otel/dashboards/*.json`.
//!
//! Each file holds one dashboard object, an array of them, or `{"dashboards": [...]}`.
//! Everything is validated before anything is written; every problem is reported, each naming
//! the file (with line and column for JSON syntax errors), the dashboard (index, title, uid),
//! the JSON path in the file (`$.dashboards[0].panels[2].gridPos.w`), what is there and what
//! Grafana expects. The shape checks follow Grafana's published dashboard schema (the one
//! `e2e/dashcheck` checks the built-ins against) where a wrong value breaks Grafana; fields
//! Grafana fills in itself may be left out.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Dashboard, Origin, MAX_UID_LEN};
use otelctl_config::error::{Error, Result};

/// The files a project's dashboards are read from, in order: `.otel/dashboards.json`, then
/// `.otel/dashboards/*.json` sorted by name. Missing ones are skipped.
pub fn source_files(root: &Path, extra: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let otel = root.join(".otel");
    let mut files = Vec::new();
    let single = otel.join("dashboards.json");
    if single.is_file() {
        files.push(single);
    }
    let dir = otel.join("dashboards");
    match std::fs::read_dir(&dir) {
        Ok(entries) => {
            let mut found = Vec::new();
            for e in entries {
                let e = e.map_err(|e| Error::io("cannot list", &dir, e))?;
                let path = e.path();
                if path.extension().is_some_and(|x| x == "json") && path.is_file() {
                    found.push(path);
                }
            }
            found.sort();
            files.extend(found);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        // ENOTDIR: `.otel/dashboards` is a file; nothing to read there.
        Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => {}
        Err(e) => return Err(Error::io("cannot list", &dir, e)),
    }
    for path in extra {
        files.extend(extra_files(path)?);
    }
    Ok(files)
}

/// One entry of `$OTELCTL_EXTRA_DASHBOARDS` (the devenv module's `extraDashboards`): a
/// dashboard file, or a directory whose `*.json` files are dashboards.
fn extra_files(path: &Path) -> Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    match std::fs::read_dir(path) {
        Ok(entries) => {
            let mut found: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json") && p.is_file())
                .collect();
            found.sort();
            Ok(found)
        }
        Err(e) => Err(Error::bad_input(
            format!(
                "extra dashboards {:?} (from $OTELCTL_EXTRA_DASHBOARDS)",
                path.display().to_string()
            ),
            format!("cannot be read: {e}"),
            "list dashboard files or directories, separated by ':'",
        )),
    }
}

/// Whether `uid` is a usable Grafana uid: 1..=40 of `A-Za-z0-9-_`.
pub fn uid_problem(uid: &str) -> Option<String> {
    if uid.is_empty() {
        Some("uid is empty".to_string())
    } else if uid.len() > MAX_UID_LEN {
        Some(format!(
            "uid {uid:?} is {} characters long; Grafana allows at most {MAX_UID_LEN}",
            uid.len()
        ))
    } else if !uid
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        Some(format!(
            "uid {uid:?} has characters Grafana rejects; use letters, digits, '-' and '_'"
        ))
    } else {
        None
    }
}

/// A uid derived from a title: lowercase letters and digits, other runs become `-`, at most 40.
pub fn uid_from_title(title: &str) -> String {
    let mut uid = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            uid.push(c.to_ascii_lowercase());
        } else if !uid.ends_with('-') && !uid.is_empty() {
            uid.push('-');
        }
    }
    let mut uid: String = uid
        .trim_end_matches('-')
        .chars()
        .take(MAX_UID_LEN)
        .collect();
    while uid.ends_with('-') {
        uid.pop();
    }
    uid
}

/// Reads, validates and returns the project's dashboards; `reserved` are the built-ins (their
/// uids may not be reused). All problems are reported in one [`Error::BadInput`].
pub fn load(root: &Path, extra: &[PathBuf], reserved: &[Dashboard]) -> Result<Vec<Dashboard>> {
    let files = source_files(root, extra)?;
    let mut problems = Vec::new();
    let mut out: Vec<Dashboard> = Vec::new();
    for file in &files {
        let text = match std::fs::read(file) {
            Ok(t) => t,
            Err(e) => return Err(Error::io("cannot read", file, e)),
        };
        match parse_file(file, &text) {
            Ok(ds) => out.extend(ds),
            Err(mut p) => problems.append(&mut p),
        }
    }
    // Duplicates: uids across files and with the built-ins; titles (Grafana refuses two
    // dashboards with one title in one folder).
    let mut by_uid: HashMap<&str, &Dashboard> =
        reserved.iter().map(|d| (d.uid.as_str(), d)).collect();
    let mut by_title: HashMap<String, &Dashboard> = HashMap::new();
    for d in &out {
        if let Some(first) = by_uid.get(d.uid.as_str()) {
            let with = match &first.origin {
                Origin::Builtin => format!("the built-in dashboard {:?}", first.title),
                other => format!("{other} ({:?})", first.title),
            };
            problems.push(format!(
                "{}: {}: uid {:?} is already used by {with}; Grafana expects each dashboard to have its own uid",
                describe(d),
                field_path(d, "uid"),
                d.uid
            ));
        } else {
            by_uid.insert(&d.uid, d);
        }
        let key = d.title.to_lowercase();
        if let Some(first) = by_title.get(&key) {
            problems.push(format!(
                "{}: {}: title {:?} is already used by {} (uid {:?}); Grafana refuses two dashboards with one title in a folder",
                describe(d),
                field_path(d, "title"),
                d.title,
                first.origin,
                first.uid
            ));
        } else {
            by_title.insert(key, d);
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(Error::BadInput {
            input: "invalid project dashboards".to_string(),
            problems,
            fix: "fix them; nothing was synced".to_string(),
        })
    }
}

fn describe(d: &Dashboard) -> String {
    format!("{} (title {:?})", d.origin, d.title)
}

/// The JSON path of `field` of a project dashboard (`$.dashboards[1].uid`).
fn field_path(d: &Dashboard, field: &str) -> String {
    match &d.origin {
        Origin::File { at, .. } => format!("{at}.{field}"),
        Origin::Builtin => field.to_string(),
    }
}

/// Parses one file into dashboards, or the list of its problems.
pub fn parse_file(path: &Path, text: &[u8]) -> std::result::Result<Vec<Dashboard>, Vec<String>> {
    let shown = path.display();
    let value: Value = match serde_json::from_slice(text) {
        Ok(v) => v,
        Err(e) => {
            return Err(vec![format!(
                "{shown}:{}:{}: invalid JSON: {}",
                e.line(),
                e.column(),
                strip_position(&e.to_string())
            )])
        }
    };
    // Each entry with the JSON path of its dashboard in the file.
    let (entries, base): (Vec<Value>, fn(usize) -> String) = match value {
        Value::Array(items) => (items, |i| format!("$[{i}]")),
        Value::Object(mut map) => match map.remove("dashboards") {
            Some(Value::Array(items)) => (items, |i| format!("$.dashboards[{i}]")),
            Some(_) => {
                return Err(vec![format!(
                    "{shown}: \"dashboards\" must be an array of dashboard objects"
                )])
            }
            None => (vec![Value::Object(map)], |_| "$".to_string()),
        },
        _ => {
            return Err(vec![format!(
            "{shown}: expected a dashboard object, an array of them, or {{\"dashboards\": [...]}}"
        )])
        }
    };
    let mut problems = Vec::new();
    let mut out = Vec::new();
    for (index, entry) in entries.into_iter().enumerate() {
        let at = base(index);
        match validate(entry, &at) {
            Ok((uid, title, json, at)) => out.push(Dashboard {
                uid,
                title,
                origin: Origin::File {
                    path: path.to_path_buf(),
                    index,
                    at,
                },
                json,
            }),
            Err((label, why)) => {
                let origin = Origin::File {
                    path: path.to_path_buf(),
                    index,
                    at,
                };
                problems.extend(why.into_iter().map(|w| format!("{origin}{label}: {w}")))
            }
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// What [`validate`] returns for a good dashboard: uid, title, normalised JSON and its JSON path
/// in the file.
type Valid = (String, String, Value, String);

/// Checks one dashboard (at JSON path `at` in its file); on success returns (uid, title,
/// normalised JSON, JSON path of the dashboard object). On failure returns a label
/// (` (title "x", uid "y")`) and the problems.
fn validate(entry: Value, at: &str) -> std::result::Result<Valid, (String, Vec<String>)> {
    let mut at = at.to_string();
    let Value::Object(mut map) = entry else {
        let found = found(Some(&entry));
        return Err((
            String::new(),
            vec![format!("{at}: {found}; Grafana expects a dashboard object")],
        ));
    };
    // A dashboard exported with "Export for sharing externally" wraps nothing; one copied
    // from the API answer is {"dashboard": {...}, "meta": ...}: accept that form too.
    if let Some(Value::Object(inner)) = map.get("dashboard") {
        if !map.contains_key("title") {
            map = inner.clone();
            at.push_str(".dashboard");
        }
    }
    let mut problems = Shape::new(&at);
    let title = match map.get("title") {
        Some(Value::String(t)) if !t.trim().is_empty() => t.trim().to_string(),
        other => {
            problems.expect(".title", other, "the dashboard's title, a non-empty string");
            String::new()
        }
    };
    let uid = match map.get("uid") {
        Some(Value::String(u)) => u.clone(),
        None | Some(Value::Null) => uid_from_title(&title),
        other => {
            problems.expect(
                ".uid",
                other,
                "a string of 1 to 40 letters, digits, '-' and '_' (or no uid: one is made from the title)",
            );
            String::new()
        }
    };
    if !title.is_empty() || map.get("uid").is_some() {
        if let Some(p) = uid_problem(&uid) {
            problems.push(".uid", p);
        }
    }
    problems.dashboard(&map);
    let problems = problems.list;
    let mut label_parts = Vec::new();
    if !title.is_empty() {
        label_parts.push(format!("title {title:?}"));
    }
    if !uid.is_empty() {
        label_parts.push(format!("uid {uid:?}"));
    }
    let label = if label_parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", label_parts.join(", "))
    };
    if !problems.is_empty() {
        return Err((label, problems));
    }
    map.insert("uid".to_string(), Value::String(uid.clone()));
    map.insert("title".to_string(), Value::String(title.clone()));
    map.insert("id".to_string(), Value::Null);
    Ok((uid, title, Value::Object(map), at))
}

/// What a JSON value is, for messages: `missing`, `null`, `a string ("x")`, `a number (3)`, ...
fn found(value: Option<&Value>) -> String {
    match value {
        None => "missing".to_string(),
        Some(Value::Null) => "null".to_string(),
        Some(Value::Bool(b)) => format!("a boolean ({b})"),
        Some(Value::Number(n)) => format!("a number ({n})"),
        Some(Value::String(t)) if t.trim().is_empty() => "an empty string".to_string(),
        Some(Value::String(t)) => {
            let short: String = t.chars().take(40).collect();
            let more = if short.len() < t.len() { "..." } else { "" };
            format!("a string ({short:?}{more})")
        }
        Some(Value::Array(_)) => "an array".to_string(),
        Some(Value::Object(_)) => "an object".to_string(),
    }
}

/// Grafana's grid is 24 columns wide.
const GRID_COLUMNS: u64 = 24;

/// The shape checks of one dashboard: each problem is `<JSON path>: <what is there>; Grafana
/// expects <what>`.
struct Shape {
    at: String,
    list: Vec<String>,
}

impl Shape {
    fn new(at: &str) -> Self {
        Shape {
            at: at.to_string(),
            list: Vec::new(),
        }
    }

    fn push(&mut self, path: &str, message: String) {
        self.list.push(format!("{}{path}: {message}", self.at));
    }

    fn expect(&mut self, path: &str, value: Option<&Value>, expects: &str) {
        let found = found(value);
        self.push(path, format!("{found}; Grafana expects {expects}"));
    }

    /// `value` must be an array (when present): its items, else a problem.
    fn array<'v>(&mut self, path: &str, value: Option<&'v Value>, of: &str) -> &'v [Value] {
        match value {
            None => &[],
            Some(Value::Array(items)) => items,
            other => {
                self.expect(path, other, &format!("an array of {of}"));
                &[]
            }
        }
    }

    fn whole_number(&mut self, path: &str, value: Option<&Value>) -> Option<u64> {
        match value.and_then(Value::as_u64) {
            Some(n) => Some(n),
            None => {
                self.expect(path, value, "a whole number");
                None
            }
        }
    }

    fn dashboard(&mut self, map: &serde_json::Map<String, Value>) {
        let panels = self.array(".panels", map.get("panels"), "panel objects");
        match map.get("schemaVersion") {
            Some(v) if v.as_u64().is_some() => {}
            None if panels.is_empty() => {}
            other => self.expect(
                ".schemaVersion",
                other,
                "the schema version the JSON was written for, a whole number (Grafana 11 exports 39 to 41); without it Grafana migrates every panel as if from version 0",
            ),
        }
        for (i, p) in panels.iter().enumerate() {
            self.panel(&format!(".panels[{i}]"), p);
        }
        for (key, what) in [
            ("templating", "{\"list\": [variables]}"),
            ("annotations", "{\"list\": [annotation queries]}"),
        ] {
            match map.get(key) {
                None => {}
                Some(Value::Object(o)) => {
                    let path = format!(".{key}.list");
                    let items = self.array(&path, o.get("list"), "objects");
                    for (i, item) in items.iter().enumerate() {
                        let item_path = format!("{path}[{i}]");
                        let Some(item) = item.as_object() else {
                            self.expect(&item_path, Some(item), "an object");
                            continue;
                        };
                        for field in ["name", "type"] {
                            match item.get(field) {
                                Some(Value::String(_)) => {}
                                None if key == "annotations" && field == "type" => {}
                                other => {
                                    self.expect(&format!("{item_path}.{field}"), other, "a string")
                                }
                            }
                        }
                    }
                }
                other => self.expect(&format!(".{key}"), other, &format!("an object {what}")),
            }
        }
        match map.get("time") {
            None => {}
            Some(Value::Object(t)) => {
                for end in ["from", "to"] {
                    if !t.get(end).is_some_and(Value::is_string) {
                        self.expect(
                            &format!(".time.{end}"),
                            t.get(end),
                            "a time string such as \"now-6h\" or \"now\"",
                        );
                    }
                }
            }
            other => self.expect(
                ".time",
                other,
                "an object {\"from\": \"now-6h\", \"to\": \"now\"}",
            ),
        }
        let tags = self.array(".tags", map.get("tags"), "strings");
        for (i, t) in tags.iter().enumerate() {
            if !t.is_string() {
                self.expect(&format!(".tags[{i}]"), Some(t), "a string");
            }
        }
        match map.get("refresh") {
            None | Some(Value::String(_)) | Some(Value::Bool(false)) => {}
            other => self.expect(".refresh", other, "an interval such as \"1m\", or false"),
        }
        let links = self.array(".links", map.get("links"), "link objects");
        for (i, l) in links.iter().enumerate() {
            if !l.is_object() {
                self.expect(&format!(".links[{i}]"), Some(l), "a link object");
            }
        }
    }

    fn panel(&mut self, path: &str, panel: &Value) {
        let Some(p) = panel.as_object() else {
            self.expect(path, Some(panel), "a panel object");
            return;
        };
        let kind = match p.get("type") {
            Some(Value::String(k)) if !k.is_empty() => k.as_str(),
            other => {
                self.expect(
                    &format!("{path}.type"),
                    other,
                    "the panel plugin id, a string (\"timeseries\", \"table\", \"row\", ...)",
                );
                ""
            }
        };
        match p.get("gridPos") {
            None => {}
            Some(Value::Object(g)) => {
                let mut pos = [0u64; 4];
                for (slot, key) in pos.iter_mut().zip(["x", "y", "w", "h"]) {
                    *slot = self
                        .whole_number(&format!("{path}.gridPos.{key}"), g.get(key))
                        .unwrap_or(0);
                }
                let [x, _, w, _] = pos;
                if w > GRID_COLUMNS || x + w > GRID_COLUMNS {
                    self.push(
                        &format!("{path}.gridPos"),
                        format!("x {x} + w {w} = {}; Grafana expects x + w at most {GRID_COLUMNS} (the grid is {GRID_COLUMNS} columns wide)", x + w),
                    );
                }
            }
            other => self.expect(
                &format!("{path}.gridPos"),
                other,
                "an object {\"x\", \"y\", \"w\", \"h\"} of whole numbers",
            ),
        }
        match p.get("datasource") {
            None | Some(Value::Null) | Some(Value::Object(_)) | Some(Value::String(_)) => {}
            other => self.expect(
                &format!("{path}.datasource"),
                other,
                "an object {\"type\": \"tempo\", \"uid\": \"tempo\"}",
            ),
        }
        let targets = self.array(
            &format!("{path}.targets"),
            p.get("targets"),
            "query objects",
        );
        for (i, t) in targets.iter().enumerate() {
            let t_path = format!("{path}.targets[{i}]");
            let Some(t) = t.as_object() else {
                self.expect(&t_path, Some(t), "a query object");
                continue;
            };
            match t.get("refId") {
                None | Some(Value::String(_)) => {}
                other => self.expect(
                    &format!("{t_path}.refId"),
                    other,
                    "a string naming the query (\"A\", \"B\", ...)",
                ),
            }
        }
        if kind == "row" {
            let nested = self.array(&format!("{path}.panels"), p.get("panels"), "panel objects");
            for (i, n) in nested.iter().enumerate() {
                self.panel(&format!("{path}.panels[{i}]"), n);
            }
        }
    }
}

/// serde_json appends " at line L column C"; we print the position in front instead.
fn strip_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(i) => &message[..i],
        None => message,
    }
}

/// The project name used when none is given: the root directory's name.
pub fn default_project_name(root: &Path) -> Option<String> {
    root.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
}

/// Checks a project name: it names a directory (`dashboards/<project>/`) and a Grafana folder.
pub fn check_project_name(name: &str, origin: &'static str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name != "."
        && name != ".."
        && name != "builtin"
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidValue {
            what: "project name",
            value: name.to_string(),
            origin: otelctl_config::error::Source::Flag(origin),
            expected: "1 to 64 of A-Z a-z 0-9 - _ . (not starting with '.', not \"builtin\")"
                .to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> std::result::Result<Vec<Dashboard>, Vec<String>> {
        parse_file(Path::new("d.json"), text.as_bytes())
    }

    #[test]
    fn accepts_the_three_shapes() {
        assert_eq!(parse(r#"{"title":"A","uid":"a"}"#).unwrap().len(), 1);
        assert_eq!(parse(r#"[{"title":"A"},{"title":"B"}]"#).unwrap().len(), 2);
        let ds = parse(r#"{"dashboards":[{"title":"My Board!"}]}"#).unwrap();
        assert_eq!(ds[0].uid, "my-board");
        assert_eq!(ds[0].json["id"], Value::Null);
    }

    #[test]
    fn names_file_position_dashboard_and_problem() {
        let e = parse("[{\"title\": \"A\",}]").unwrap_err();
        assert!(e[0].starts_with("d.json:1:16: invalid JSON"), "{e:?}");
        let e = parse(
            r#"[{"uid":"x"}, {"title":"T","uid":"0123456789012345678901234567890123456789X"}]"#,
        )
        .unwrap_err();
        assert_eq!(
            e[0],
            r#"d.json #1 (uid "x"): $[0].title: missing; Grafana expects the dashboard's title, a non-empty string"#
        );
        assert!(
            e[1].starts_with(r#"d.json #2 (title "T", uid "01234"#),
            "{e:?}"
        );
        assert!(e[1].contains("$[1].uid: uid"), "{e:?}");
        assert!(e[1].contains("41 characters long"), "{e:?}");
    }

    #[test]
    fn names_the_json_path_and_what_grafana_expects() {
        let e = parse(
            r#"{"dashboards": [{"title": "A", "panels": [
                {"type": "row", "panels": [{"type": "table", "gridPos": {"x": 20, "y": 0, "w": 8, "h": "9"}}]},
                {"title": "no type", "targets": [{"refId": 1}]}],
              "templating": {"list": [{"name": "v"}]}, "time": {"from": "now-1h"}, "tags": ["a", 2]}]}"#,
        )
        .unwrap_err();
        let want = [
            r#"d.json #1 (title "A", uid "a"): $.dashboards[0].schemaVersion: missing; Grafana expects the schema version"#,
            r#"$.dashboards[0].panels[0].panels[0].gridPos.h: a string ("9"); Grafana expects a whole number"#,
            "$.dashboards[0].panels[0].panels[0].gridPos: x 20 + w 8 = 28; Grafana expects x + w at most 24",
            "$.dashboards[0].panels[1].type: missing; Grafana expects the panel plugin id",
            "$.dashboards[0].panels[1].targets[0].refId: a number (1); Grafana expects a string",
            "$.dashboards[0].templating.list[0].type: missing; Grafana expects a string",
            r#"$.dashboards[0].time.to: missing; Grafana expects a time string such as "now-6h""#,
            "$.dashboards[0].tags[1]: a number (2); Grafana expects a string",
        ];
        for w in want {
            assert!(e.iter().any(|p| p.contains(w)), "wanted {w:?} in {e:#?}");
        }
        assert_eq!(e.len(), want.len(), "{e:#?}");
        // A dashboard without panels needs no schema version; an API answer's path says so.
        assert!(parse(r#"{"title": "Empty"}"#).is_ok());
        let e = parse(r#"{"dashboard": {"title": "T", "panels": [3]}, "meta": {}}"#).unwrap_err();
        assert!(
            e.iter().any(|p| p
                .contains("$.dashboard.panels[0]: a number (3); Grafana expects a panel object")),
            "{e:#?}"
        );
    }

    #[test]
    fn uids_from_titles() {
        assert_eq!(uid_from_title("  Hello,  World!! "), "hello-world");
        assert_eq!(uid_from_title(&"ab ".repeat(30)).len(), 40);
        assert_eq!(uid_from_title(&"abc ".repeat(30)).len(), 39);
    }
}
