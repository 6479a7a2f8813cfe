//! Helpers of the stack tests: running a command that must succeed, fake programs, and the real
//! programs of the end-to-end lane.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("otelctl runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Writes an executable shell script.
pub fn script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A real program of the end-to-end lane: `$VAR` (set by `scripts/test` from
/// `scripts/e2e-build --print-env`), else the newest `<prefix>*` in the lane's cache. `None`
/// prints why, so the calling test can skip.
pub fn lane_program(var: &str, cache_prefix: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(var).filter(|v| !v.is_empty()) {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Some(p);
        }
        super::skip(&format!("${var}={} is not a file", p.display()));
        return None;
    }
    // No cache (no $HOME, or the lane never built here) is a skip with its reason like a cache
    // without the program, not a silent pass.
    let newest = std::env::var_os("OTELCTL_E2E_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/otelctl-e2e")))
        .and_then(|cache| std::fs::read_dir(cache.join("bin")).ok())
        .and_then(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with(cache_prefix))
                .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
        });
    match newest {
        Some(e) => Some(e.path()),
        None => {
            super::skip(&format!(
                "no {cache_prefix}* program: set ${var} (scripts/e2e-build --print-env builds it; the Go module proxy here refuses Tempo)"
            ));
            None
        }
    }
}

pub fn collector_program() -> Option<PathBuf> {
    lane_program("OTELCTL_COLLECTOR_BIN", "otelcol-otelctl-")
}
pub fn tempo2_program() -> Option<PathBuf> {
    user_tempo(2)
}
pub fn tempo3_program() -> Option<PathBuf> {
    user_tempo(3)
}

/// A Tempo the user provides: `$OTELCTL_TEMPO_V<major>_BIN`, else `$OTELCTL_TEMPO_BIN` (e.g.
/// nixpkgs' `tempo`) when its `-version` is of that major. Tempo is not built by the end-to-end
/// lane (AGPL; the registries here refuse it), so without one this prints why and the test skips.
pub fn user_tempo(major: u32) -> Option<PathBuf> {
    let var = format!("OTELCTL_TEMPO_V{major}_BIN");
    for name in [var.as_str(), "OTELCTL_TEMPO_BIN"] {
        let Some(p) = std::env::var_os(name).filter(|v| !v.is_empty()) else {
            continue;
        };
        let p = PathBuf::from(p);
        if !p.is_file() {
            super::skip(&format!("${name}={} is not a file", p.display()));
            return None;
        }
        if name == var || tempo_major(&p) == Some(major) {
            return Some(p);
        }
    }
    super::skip(&format!(
        "no Tempo {major}.x: set $OTELCTL_TEMPO_BIN or ${var} to a Tempo you provide (e.g. nixpkgs' tempo); \
         the test lane does not build Tempo (AGPL, refused by the registries here)"
    ));
    None
}

/// The major version `tempo -version` reports ("tempo, version 2.10.0 (...)").
pub fn tempo_major(program: &Path) -> Option<u32> {
    let out = Command::new(program).arg("-version").output().ok()?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let version = text.split("version ").nth(1)?;
    version
        .trim_start_matches('v')
        .split('.')
        .next()?
        .trim()
        .parse()
        .ok()
}
