//! The hot path's dependency rule, kept by a test: `otelctl-span` (and with it `otelctl env`'s
//! crates) pulls in no async runtime, no HTTP library and no TLS stack; and `otelctl-lean`, all
//! that the `otelctl` executable links, none of those nor the server, store or viewer.
//!
//! `cargo tree` (normal edges only) is the precise answer. Where it cannot run (no registry
//! index offline, e.g. inside a Nix build), the closure over `Cargo.lock` is checked instead: a
//! superset (every edge of every feature, build and dev edges too), so the rule is never
//! skipped, only checked more strictly.

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

const FORBIDDEN: [&str; 8] = [
    "tokio",
    "hyper",
    "reqwest",
    "rustls",
    "ring",
    "ureq",
    "openssl",
    "native-tls",
];

fn forbidden<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    names
        .into_iter()
        .filter(|name| {
            FORBIDDEN
                .iter()
                .any(|f| name == f || name.starts_with(&format!("{f}-")))
        })
        .collect()
}

/// `cargo tree -e normal -p PACKAGE`'s package names, or why it did not run.
fn cargo_tree(package: &str) -> Result<Vec<String>, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let out = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--manifest-path",
        ])
        .arg(manifest)
        .args(["-p", package])
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr)
            .lines()
            .next()
            .unwrap_or("")
            .to_string());
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split(' ').next())
        .map(str::to_string)
        .collect())
}

/// Every package reachable from `root` in a `Cargo.lock` (names only; each name's every
/// version is followed, so the answer can only be too large, never too small).
fn lock_closure(lock: &str, root: &str) -> BTreeSet<String> {
    let mut deps: HashMap<String, Vec<String>> = HashMap::new();
    let mut name = String::new();
    let mut in_deps = false;
    for line in lock.lines() {
        let line = line.trim();
        if line == "[[package]]" {
            in_deps = false;
        } else if let Some(n) = line.strip_prefix("name = ") {
            name = n.trim_matches('"').to_string();
            deps.entry(name.clone()).or_default();
        } else if line.starts_with("dependencies = [") {
            in_deps = !line.ends_with(']');
            let inline = line
                .trim_start_matches("dependencies = [")
                .trim_end_matches(']');
            for d in inline.split(',').filter(|d| !d.trim().is_empty()) {
                dep_of(&mut deps, &name, d);
            }
        } else if in_deps {
            if line == "]" {
                in_deps = false;
            } else {
                dep_of(&mut deps, &name, line);
            }
        }
    }
    let mut seen = BTreeSet::new();
    let mut todo = vec![root.to_string()];
    while let Some(n) = todo.pop() {
        if seen.insert(n.clone()) {
            todo.extend(deps.get(&n).into_iter().flatten().cloned());
        }
    }
    seen
}

/// `"serde 1.0.1",` -> `serde`, recorded as a dependency of `of`.
fn dep_of(deps: &mut HashMap<String, Vec<String>>, of: &str, entry: &str) {
    let dep = entry.trim().trim_end_matches(',').trim_matches('"');
    let dep = dep.split(' ').next().unwrap_or(dep);
    if !dep.is_empty() {
        deps.entry(of.to_string())
            .or_default()
            .push(dep.to_string());
    }
}

fn workspace_lock() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// `cargo tree`'s answer, else the `Cargo.lock` closure.
fn dependencies(package: &str) -> Vec<String> {
    match cargo_tree(package) {
        Ok(names) => names,
        Err(why) => {
            eprintln!("`cargo tree` did not run ({why}); checking the Cargo.lock closure instead");
            lock_closure(&workspace_lock(), package)
                .into_iter()
                .collect()
        }
    }
}

#[test]
fn the_span_crate_has_no_runtime_http_library_or_tls() {
    let names = dependencies("otelctl-span");
    assert!(names.iter().any(|n| n == "otelctl-span"), "{names:?}");
    let found = forbidden(names.iter().map(String::as_str));
    assert!(
        found.is_empty(),
        "otelctl-span depends on {found:?}; the hot path must stay std-only (see ARCHITECTURE.md)"
    );
}

/// The fallback itself, so it is known to work before the day `cargo tree` cannot run.
#[test]
fn the_cargo_lock_closure_is_checked_when_cargo_tree_cannot_run() {
    let closure = lock_closure(&workspace_lock(), "otelctl-span");
    for expected in [
        "otelctl-config",
        "otelctl-http",
        "otelctl-otlp",
        "prost",
        "libc",
    ] {
        assert!(
            closure.contains(expected),
            "{expected} missing: {closure:?}"
        );
    }
    let found = forbidden(closure.iter().map(String::as_str));
    assert!(
        found.is_empty(),
        "otelctl-span's Cargo.lock closure has {found:?}"
    );
    // A forbidden crate two edges down is found.
    let lock = r#"
[[package]]
name = "otelctl-span"
version = "0.1.0"
dependencies = [
 "mid 1.0.0",
]

[[package]]
name = "mid"
version = "1.0.0"
dependencies = ["tokio"]

[[package]]
name = "tokio"
version = "1.0.0"

[[package]]
name = "hyper"
version = "1.0.0"
"#;
    let closure = lock_closure(lock, "otelctl-span");
    assert_eq!(forbidden(closure.iter().map(String::as_str)), vec!["tokio"]);
}

/// What the lean `otelctl` must not link beyond [`FORBIDDEN`]: the rest of the server's stack
/// (HTTP/2, gRPC, tower), the store's SQLite and the viewer's templates.
const NOT_LEAN: [&str; 6] = ["h2", "tonic", "tower", "rusqlite", "askama", "axum"];

/// The otelctl crates the lean binary may link: the hot path's. Not the server
/// (`otelctl-embedded`, `otelctl-receiver`, `otelctl-relay`), the store, the viewer,
/// `otelctl-net` (reqwest + rustls), the stack or the dashboards.
const LEAN_OWN: [&str; 5] = [
    "otelctl-lean",
    "otelctl-config",
    "otelctl-otlp",
    "otelctl-http",
    "otelctl-span",
];

#[test]
fn the_lean_binary_links_no_runtime_http_tls_store_or_viewer() {
    let names = dependencies("otelctl-lean");
    assert!(names.iter().any(|n| n == "otelctl-span"), "{names:?}");
    let mut found = forbidden(names.iter().map(String::as_str));
    found.extend(names.iter().map(String::as_str).filter(|name| {
        NOT_LEAN
            .iter()
            .any(|f| name == f || name.starts_with(&format!("{f}-")))
            || (name.starts_with("otelctl") && !LEAN_OWN.contains(name))
    }));
    found.sort_unstable();
    found.dedup();
    assert!(
        found.is_empty(),
        "otelctl-lean depends on {found:?}: the lean `otelctl` must link only the hot path \
         (ARCHITECTURE.md, \"The lean binary\")"
    );
}
