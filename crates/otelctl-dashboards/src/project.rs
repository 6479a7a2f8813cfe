//! A project's own dashboards: `.otel/dashboards.json` and `.otel/dashboards/*.json`.
//!
//! Each file holds one dashboard object, an array of them, or `{"dashboards": [...]}`.
//! Everything is validated before anything is written; every problem is reported, each naming
//! the file (with line and column for JSON syntax errors), the dashboard (index, title, uid)
//! and what is wrong.

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
                "{}: uid {:?} is already used by {with}; give each dashboard its own uid",
                describe(d),
                d.uid
            ));
        } else {
            by_uid.insert(&d.uid, d);
        }
        let key = d.title.to_lowercase();
        if let Some(first) = by_title.get(&key) {
            problems.push(format!(
                "{}: title {:?} is already used by {} (uid {:?}); Grafana refuses two dashboards with one title in a folder",
                describe(d),
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
    let entries: Vec<Value> = match value {
        Value::Array(items) => items,
        Value::Object(mut map) => match map.remove("dashboards") {
            Some(Value::Array(items)) => items,
            Some(_) => {
                return Err(vec![format!(
                    "{shown}: \"dashboards\" must be an array of dashboard objects"
                )])
            }
            None => vec![Value::Object(map)],
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
        let origin = Origin::File {
            path: path.to_path_buf(),
            index,
        };
        match validate(entry) {
            Ok((uid, title, json)) => out.push(Dashboard {
                uid,
                title,
                origin,
                json,
            }),
            Err((label, why)) => {
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

/// Checks one dashboard; on success returns (uid, title, normalised JSON).
/// On failure returns a label (` (title "x", uid "y")`) and the problems.
fn validate(entry: Value) -> std::result::Result<(String, String, Value), (String, Vec<String>)> {
    let Value::Object(mut map) = entry else {
        return Err((String::new(), vec!["not a JSON object".to_string()]));
    };
    // A dashboard exported with "Export for sharing externally" wraps nothing; one copied
    // from the API answer is {"dashboard": {...}, "meta": ...}: accept that form too.
    if let Some(Value::Object(inner)) = map.get("dashboard") {
        if !map.contains_key("title") {
            map = inner.clone();
        }
    }
    let mut problems = Vec::new();
    let title = match map.get("title") {
        Some(Value::String(t)) if !t.trim().is_empty() => t.trim().to_string(),
        Some(Value::String(_)) => {
            problems.push("title is empty".to_string());
            String::new()
        }
        Some(_) => {
            problems.push("title must be a string".to_string());
            String::new()
        }
        None => {
            problems.push("has no title".to_string());
            String::new()
        }
    };
    let uid = match map.get("uid") {
        Some(Value::String(u)) => u.clone(),
        None | Some(Value::Null) => uid_from_title(&title),
        Some(_) => {
            problems.push("uid must be a string".to_string());
            String::new()
        }
    };
    if !title.is_empty() || map.get("uid").is_some() {
        if let Some(p) = uid_problem(&uid) {
            problems.push(p);
        }
    }
    if let Some(panels) = map.get("panels") {
        match panels.as_array() {
            None => problems.push("\"panels\" must be an array".to_string()),
            Some(items) => {
                for (i, p) in items.iter().enumerate() {
                    if !p.is_object() {
                        problems.push(format!("panel #{} is not an object", i + 1));
                    }
                }
            }
        }
    }
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
    Ok((uid, title, Value::Object(map)))
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
        assert_eq!(e[0], r#"d.json #1 (uid "x"): has no title"#);
        assert!(
            e[1].starts_with(r#"d.json #2 (title "T", uid "01234"#),
            "{e:?}"
        );
        assert!(e[1].contains("41 characters long"), "{e:?}");
    }

    #[test]
    fn uids_from_titles() {
        assert_eq!(uid_from_title("  Hello,  World!! "), "hello-world");
        assert_eq!(uid_from_title(&"ab ".repeat(30)).len(), 40);
        assert_eq!(uid_from_title(&"abc ".repeat(30)).len(), 39);
    }
}
