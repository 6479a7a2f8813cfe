//! The hot path's dependency rule, kept by a test: `otelctl-span` (and with it `otelctl env`'s
//! crates) pulls in no async runtime, no HTTP library and no TLS stack.

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

#[test]
fn the_span_crate_has_no_runtime_http_library_or_tls() {
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
        .args(["-p", "otelctl-span"])
        .output();
    let out = match out {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            return println!(
                "SKIPPED: `cargo tree` did not run here: {}",
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .next()
                    .unwrap_or("")
            )
        }
        Err(e) => return println!("SKIPPED: cannot run cargo: {e}"),
    };
    let tree = String::from_utf8_lossy(&out.stdout);
    let names: Vec<&str> = tree.lines().filter_map(|l| l.split(' ').next()).collect();
    assert!(names.contains(&"otelctl-span"), "{tree}");
    let found: Vec<&str> = names
        .iter()
        .copied()
        .filter(|name| {
            FORBIDDEN
                .iter()
                .any(|f| name == f || name.starts_with(&format!("{f}-")))
        })
        .collect();
    assert!(
        found.is_empty(),
        "otelctl-span depends on {found:?}; the hot path must stay std-only (see ARCHITECTURE.md)"
    );
}
