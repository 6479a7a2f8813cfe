//! Settings a user merges over a rendered config: `OTELCTL_COLLECTOR_EXTRA_CONFIG` and
//! `OTELCTL_TEMPO_EXTRA_CONFIG` (the NixOS module's `collector.settings` / `tempo.settings`).
//!
//! A deep merge of YAML mappings, the extra file winning; any other value (a list included)
//! replaces what was rendered. The merged file is what `render` prints and `run` starts.

use std::path::Path;

use serde_yaml::Value;

use otelctl_config::error::{Error, Result};

/// `base` (rendered YAML, with its leading comment lines) merged with the YAML file `extra`.
pub fn merge_file(base: &str, extra: &Path, variable: &'static str) -> Result<String> {
    let input = format!("{} (from ${variable})", extra.display());
    let text = std::fs::read_to_string(extra).map_err(|e| {
        Error::bad_input(
            &input,
            format!("cannot be read: {e}"),
            "point it at a YAML file of settings to merge over the rendered config",
        )
    })?;
    let overlay: Value = serde_yaml::from_str(&text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!(":{}:{}", l.line(), l.column()))
            .unwrap_or_default();
        Error::bad_input(
            format!("{}{at} (from ${variable})", extra.display()),
            format!("not valid YAML ({e})"),
            "fix the YAML",
        )
    })?;
    if !matches!(overlay, Value::Mapping(_) | Value::Null) {
        return Err(Error::bad_input(
            &input,
            "not a YAML mapping",
            "write a mapping of settings, like the rendered config",
        ));
    }
    let mut merged: Value = serde_yaml::from_str(base)
        .map_err(|e| Error::failed("the rendered config does not parse", e))?;
    merge(&mut merged, overlay);
    let header: String = base
        .lines()
        .take_while(|l| l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let body = serde_yaml::to_string(&merged)
        .map_err(|e| Error::failed("cannot write the merged config", e))?;
    Ok(format!(
        "{header}# Merged with {} (${variable}).\n{body}",
        extra.display()
    ))
}

/// Deep merge: mappings merge key by key, anything else in `overlay` replaces `base`.
pub fn merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Mapping(b), Value::Mapping(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (_, Value::Null) => {}
        (slot, v) => *slot = v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mappings_merge_deeply_and_the_extra_file_wins() {
        let dir = tempfile::tempdir().unwrap();
        let extra = dir.path().join("extra.yaml");
        std::fs::write(&extra, "a:\n  b: 2\n  list: [9]\nnew: x\n").unwrap();
        let out = merge_file(
            "# header\na:\n  b: 1\n  c: 3\n  list: [1, 2]\n",
            &extra,
            "X",
        )
        .unwrap();
        assert!(out.starts_with("# header\n# Merged with "), "{out}");
        let v: Value = serde_yaml::from_str(&out).unwrap();
        assert_eq!(v["a"]["b"], Value::from(2));
        assert_eq!(
            v["a"]["c"],
            Value::from(3),
            "keys only in the rendered config stay"
        );
        assert_eq!(
            v["a"]["list"],
            serde_yaml::from_str::<Value>("[9]").unwrap(),
            "lists are replaced"
        );
        assert_eq!(v["new"], Value::from("x"));
    }

    #[test]
    fn bad_extra_files_name_the_file_line_and_variable() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.yaml");
        std::fs::write(&bad, "a:\n  b: [1,\n").unwrap();
        let msg = merge_file("a: 1\n", &bad, "OTELCTL_TEMPO_EXTRA_CONFIG")
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("bad.yaml:") && msg.contains("$OTELCTL_TEMPO_EXTRA_CONFIG"),
            "{msg}"
        );
        let list = dir.path().join("list.yaml");
        std::fs::write(&list, "- a\n").unwrap();
        assert!(merge_file("a: 1\n", &list, "X")
            .unwrap_err()
            .to_string()
            .contains("mapping"));
        let missing = merge_file("a: 1\n", &dir.path().join("nope.yaml"), "X").unwrap_err();
        assert_eq!(missing.exit_code(), otelctl_config::exit::USAGE);
    }
}
