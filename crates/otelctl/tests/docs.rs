//! The command reference (`docs/commands/<cmd>.md`) against clap's own help.
//!
//! For every command and subcommand `otelctl --help` lists, the usage block of its page (the
//! first fenced block) must show every long flag `otelctl <cmd> --help` lists, and every
//! `--flag` the usage lines name must exist. Global flags (`--root`, `--base-port`,
//! `--port-range`) and `--help` are documented once in the README, not on every page.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

const GLOBAL: [&str; 4] = ["--root", "--base-port", "--port-range", "--help"];

fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_otelctl"))
        .args(args)
        .arg("--help")
        .output()
        .expect("otelctl runs");
    assert!(out.status.success(), "otelctl {args:?} --help failed");
    String::from_utf8(out.stdout).expect("help is UTF-8")
}

/// The names under `Commands:` in a help text (without `help`).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// Long flags in a text: `--name` followed by a non-name character.
fn flags(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("--") {
        let start = i + at;
        let mut end = start + 2;
        while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'-') {
            end += 1;
        }
        let before_ok = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
        if before_ok && end > start + 2 && bytes[start + 2].is_ascii_alphabetic() {
            out.insert(text[start..end].to_string());
        }
        i = end;
    }
    out
}

/// The long flags of a command's `Options:` section.
fn help_flags(help: &str) -> BTreeSet<String> {
    let options: String = help
        .lines()
        .skip_while(|l| !l.starts_with("Options:"))
        .filter(|l| l.starts_with("  "))
        .map(|l| {
            // Only the flag column, not the description (which may mention other flags).
            let l = l.trim_start();
            let cut = l.find("  ").unwrap_or(l.len());
            format!("{}\n", &l[..cut])
        })
        .collect();
    flags(&options)
        .into_iter()
        .filter(|f| !GLOBAL.contains(&f.as_str()))
        .collect()
}

fn docs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/commands")
}

/// The usage lines of `path` (e.g. `["dash", "sync"]`) on its page: the lines of the first
/// fenced block that start with `otelctl <path>` and the indented lines continuing them.
fn usage_lines(page: &str, path: &[&str], siblings: &[String]) -> String {
    let block: Vec<&str> = page
        .split("```")
        .nth(1)
        .unwrap_or("")
        .lines()
        .skip(1)
        .collect();
    let prefix = format!("otelctl {}", path.join(" "));
    let mut out = String::new();
    let mut taking = false;
    for line in block {
        if line.starts_with("otelctl ") {
            let rest = line.strip_prefix(prefix.as_str());
            // `otelctl span` must not take `otelctl span begin …` (a sibling subcommand).
            taking = rest.is_some_and(|r| {
                r.is_empty()
                    || r.starts_with(' ')
                        && !siblings
                            .iter()
                            .any(|s| r.trim_start().starts_with(&format!("{s} ")))
            });
        } else if !line.starts_with(' ') {
            taking = false;
        }
        if taking {
            // Comments after `#` are prose, not usage.
            out.push_str(line.split(" #").next().unwrap_or(line));
            out.push('\n');
        }
    }
    out
}

#[test]
fn every_command_page_shows_exactly_the_flags_clap_knows() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for cmd in subcommands(&help(&[])) {
        let file = docs_dir().join(format!("{cmd}.md"));
        let page = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("{} cannot be read: {e}", file.display()));
        let top_help = help(&[&cmd]);
        let subs = subcommands(&top_help);
        let mut paths: Vec<Vec<String>> = vec![vec![cmd.clone()]];
        paths.extend(subs.iter().map(|s| vec![cmd.clone(), s.clone()]));
        for path in paths {
            let path_ref: Vec<&str> = path.iter().map(String::as_str).collect();
            let known = help_flags(&help(&path_ref));
            let siblings = if path.len() == 1 {
                subs.clone()
            } else {
                Vec::new()
            };
            let usage = usage_lines(&page, &path_ref, &siblings);
            let where_ = format!(
                "docs/commands/{cmd}.md, usage of `otelctl {}`",
                path.join(" ")
            );
            if usage.is_empty() {
                // A group whose own invocation only dispatches (e.g. `dash`) needs no line.
                let dispatch_only = path.len() == 1 && !subs.is_empty();
                if !known.is_empty() && !dispatch_only {
                    problems.push(format!("{where_}: no usage line"));
                }
                continue;
            }
            let shown: BTreeSet<String> = flags(&usage)
                .into_iter()
                .filter(|f| !GLOBAL.contains(&f.as_str()))
                .collect();
            for f in known.difference(&shown) {
                problems.push(format!("{where_}: {f} is missing (clap has it)"));
            }
            for f in shown.difference(&known) {
                problems.push(format!(
                    "{where_}: {f} does not exist (clap does not know it)"
                ));
            }
            checked += 1;
        }
    }
    assert!(checked >= 15, "only {checked} usage blocks were checked");
    assert!(
        problems.is_empty(),
        "the command reference disagrees with `--help`:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn the_flag_scanner_reads_usage_and_help_alike() {
    assert_eq!(
        flags("otelctl x [--a-b N] [--c|-d] --e=1 a--b"),
        ["--a-b", "--c", "--e"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
    let help = "Options:\n      --dry-run       Show (see --json)\n  -h, --help  Print help\n";
    assert_eq!(
        help_flags(help),
        ["--dry-run"].iter().map(|s| s.to_string()).collect()
    );
}

/// Every variable of the registry (`otelctl_config::env::EnvVars`) that a user sets or reads is
/// documented in the README or a command page (`…_TRACES_X` stands for
/// `OTEL_EXPORTER_OTLP_TRACES_X` there).
#[test]
fn every_registered_environment_variable_is_documented() {
    const INTERNAL: [&str; 7] = [
        "PWD",
        "HOME",
        "PATH",
        "TMPDIR",
        "XDG_RUNTIME_DIR",
        "OTELCTL_TEST_FAULT",
        "OTELCTL_UPSTREAM_HEADER_",
    ];
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let registry = std::fs::read_to_string(root.join("crates/otelctl-config/src/env.rs")).unwrap();
    let names: Vec<&str> = registry
        .split("&'static str =")
        .skip(1)
        .filter_map(|rest| rest.split('"').nth(1))
        .collect();
    assert!(
        names.len() >= 50,
        "only {} names read from env.rs",
        names.len()
    );
    let mut docs = std::fs::read_to_string(root.join("README.md")).unwrap();
    for page in std::fs::read_dir(docs_dir()).unwrap() {
        docs.push_str(&std::fs::read_to_string(page.unwrap().path()).unwrap());
    }
    let undocumented: Vec<&&str> = names
        .iter()
        .filter(|n| !INTERNAL.contains(n))
        .filter(|n| {
            let short = n
                .strip_prefix("OTEL_EXPORTER_OTLP_TRACES_")
                .map(|rest| format!("…_TRACES_{rest}"));
            !docs.contains(*n) && !short.is_some_and(|s| docs.contains(&s))
        })
        .collect();
    assert!(
        undocumented.is_empty(),
        "variables without documentation: {undocumented:?}"
    );
}

/// Variable names are written once, in the registry: code outside `env.rs` says
/// `EnvVars::NAME`, never `"NAME"` (tests may spell them out).
#[test]
fn variable_names_are_string_literals_only_in_the_registry() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut found = Vec::new();
    let mut files = 0;
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path().join("src"))
        .filter(|p| p.is_dir())
        .collect();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension() != Some(std::ffi::OsStr::new("rs"))
                || path.ends_with("otelctl-config/src/env.rs")
            {
                continue;
            }
            files += 1;
            let text = std::fs::read_to_string(&path).unwrap();
            // Unit tests (at the end of a module) may spell names out.
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            for (n, line) in code.lines().enumerate() {
                if line.trim_start().starts_with("//") {
                    continue;
                }
                for literal in line.split('"').skip(1).step_by(2) {
                    let is_name = [
                        "OTEL_",
                        "OTELCTL_",
                        "DEVENV_",
                        "TEST_TRACE",
                        "TRACEPARENT",
                        "TRACESTATE",
                    ]
                    .iter()
                    .any(|p| literal.starts_with(p))
                        && literal
                            .bytes()
                            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
                    if is_name {
                        found.push(format!("{}:{}: \"{literal}\"", path.display(), n + 1));
                    }
                }
            }
        }
    }
    assert!(files > 50, "only {files} source files read");
    assert!(
        found.is_empty(),
        "variable names outside the registry (add them to otelctl_config::env::EnvVars):\n  {}",
        found.join("\n  ")
    );
}
