//! `nix/lib/ports.nix` agrees with `otelctl ports` (Nix 2.8+ evaluates it; skipped without Nix).

mod common;

use std::process::Command;

use common::*;
use serde_json::Value;

fn nix_ports(root: &str, extra: &[&str]) -> Value {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../../nix/lib/ports.nix");
    let expr = format!("{{ ... }}@args: import {file} args");
    let out = Command::new("nix-instantiate")
        .args(["--eval", "--strict", "--json", "--argstr", "root", root])
        .args(extra)
        .args(["-E", &expr])
        .output()
        .expect("nix-instantiate runs");
    assert!(
        out.status.success(),
        "nix-instantiate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn nix_port_function_agrees_with_otelctl() {
    if Command::new("nix-instantiate")
        .arg("--version")
        .output()
        .is_err()
    {
        return skip(
            "nix-instantiate is not installed (scripts/test installs nix-bin from Debian)",
        );
    }
    let home = tempfile::tempdir().unwrap();
    let roots = [
        "/work/project",
        "/home/user/src/my app",
        "/srv/ünïcödé/日本語",
        "/tmp/quote'd \"root\"",
        "/a",
        "/very/deep/path/to/a/worktree/feature-branch-123",
    ];
    let cases: [(&[&str], &[&str]); 4] = [
        (&[], &[]),
        (
            &["--arg", "portRangeEnd", "60000"],
            &["--port-range", "10000-60000"],
        ),
        (
            &[
                "--arg",
                "portRangeStart",
                "20000",
                "--arg",
                "portRangeEnd",
                "21000",
            ],
            &["--port-range", "20000-21000"],
        ),
        (&["--arg", "basePort", "30000"], &["--base-port", "30000"]),
    ];
    for root in roots {
        for (nix_args, otelctl_args) in cases {
            let from_nix = nix_ports(root, nix_args);
            let mut args = vec!["ports", "--json", "--root", root];
            args.extend_from_slice(otelctl_args);
            let out = run(otelctl(home.path()), &args);
            assert!(out.status.success(), "{}", stderr(&out));
            let from_otelctl: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(
                from_nix, from_otelctl,
                "root {root:?} with {otelctl_args:?}"
            );
        }
    }
    assert_eq!(nix_ports("/work/project", &[])["base"], 29271);
}
