//! The lean binary's dependency rule, kept by Cargo: `otelctl-lean` (all the `otelctl`
//! executable links) depends on no async runtime, HTTP library, TLS stack, store or viewer,
//! and on no otelctl crate beyond the hot path's. crates/otelctl/tests/lean.rs checks the built
//! executable itself.

use std::process::Command;

/// Third-party crates the lean binary must not link (a name or a `name-…` crate of its family).
const FORBIDDEN: [&str; 14] = [
    "tokio",
    "hyper",
    "h2",
    "tonic",
    "tower",
    "reqwest",
    "rustls",
    "ring",
    "ureq",
    "openssl",
    "native-tls",
    "rusqlite",
    "askama",
    "axum",
];

/// The otelctl crates it may use: the hot path's. Not the server (`otelctl-embedded`,
/// `otelctl-receiver`, `otelctl-relay`), the store, the viewer, `otelctl-net` (reqwest + rustls),
/// the stack or the dashboards.
const OWN: [&str; 5] = [
    "otelctl-lean",
    "otelctl-config",
    "otelctl-otlp",
    "otelctl-http",
    "otelctl-span",
];

fn tree() -> Option<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let out = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "-e",
            "normal,build",
            "--prefix",
            "none",
            "--manifest-path",
        ])
        .arg(manifest)
        .args(["-p", "otelctl-lean"])
        .output();
    match out {
        Ok(o) if o.status.success() => Some(String::from_utf8_lossy(&o.stdout).into_owned()),
        Ok(o) => {
            println!(
                "SKIPPED: `cargo tree` did not run here: {}",
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .next()
                    .unwrap_or("")
            );
            None
        }
        Err(e) => {
            println!("SKIPPED: cannot run cargo: {e}");
            None
        }
    }
}

#[test]
fn the_lean_binary_links_no_runtime_http_tls_store_or_viewer() {
    let Some(tree) = tree() else { return };
    let names: Vec<&str> = tree.lines().filter_map(|l| l.split(' ').next()).collect();
    assert!(names.contains(&"otelctl-span"), "{tree}");
    let mut found: Vec<&str> = names
        .iter()
        .copied()
        .filter(|name| {
            FORBIDDEN
                .iter()
                .any(|f| name == f || name.starts_with(&format!("{f}-")))
                || (name.starts_with("otelctl") && !OWN.contains(name))
        })
        .collect();
    found.sort_unstable();
    found.dedup();
    assert!(
        found.is_empty(),
        "otelctl-lean depends on {found:?}: the lean `otelctl` must link only the hot path \
         (ARCHITECTURE.md, \"The lean binary\")"
    );
}
