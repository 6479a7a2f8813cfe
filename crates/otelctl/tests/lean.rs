//! The split into two executables (ARCHITECTURE.md, "The lean binary"): `otelctl`, which
//! runs the hot commands and links none of the server, store, viewer, TLS or async code, and
//! `otelctl-full`, which it becomes (execve) for everything else. Users see one program: every
//! message and exit code is the whole program's. The span, env and signal tests run against
//! the lean `otelctl` (CARGO_BIN_EXE_otelctl) unchanged; crates/otelctl-span/tests/hot_path_deps.rs
//! keeps its dependency tree lean.

mod common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{refused_port, text, Env};

const LEAN: &str = env!("CARGO_BIN_EXE_otelctl");
const FULL: &str = env!("CARGO_BIN_EXE_otelctl-full");

/// Crates whose code must not be in the lean executable.
const HEAVY: [&str; 13] = [
    "tokio",
    "hyper",
    "tonic",
    "reqwest",
    "rustls",
    "otelctl-receiver",
    "otelctl-store",
    "otelctl-viewer",
    "otelctl-embedded",
    "otelctl-net",
    "otelctl-stack",
    "otelctl-relay",
    "otelctl-dashboards",
];

/// Whether the file holds `needle` (grep: the debug builds are 25-120 MB).
fn contains(file: &str, needle: &str) -> bool {
    let status = Command::new("grep")
        .args(["-q", "-a", "-F", "-e", needle, file])
        .status()
        .expect("grep runs");
    assert!(
        status.code().is_some_and(|c| c <= 1),
        "grep failed on {file}"
    );
    status.success()
}

/// Whether `krate`'s code is linked into the executable: its mangled symbol names
/// (`5tokio…`) or the source paths of its panic locations (`…/tokio-1.x/src`,
/// `crates/otelctl-net/src`), not a word that merely contains the name (`is_monotonic`).
fn links(file: &str, krate: &str) -> bool {
    let under = krate.replace('-', "_");
    [
        format!("{}{under}", under.len()),
        format!("/{krate}-"),
        format!("/{krate}/src"),
    ]
    .iter()
    .any(|needle| contains(file, needle))
}

#[test]
fn the_lean_executable_holds_no_server_tls_or_async_code() {
    // The probe finds these crates where they are linked.
    for krate in ["tokio", "hyper", "rustls", "otelctl-embedded"] {
        assert!(links(FULL, krate), "otelctl-full has no trace of {krate}");
    }
    let found: Vec<&str> = HEAVY
        .into_iter()
        .filter(|krate| links(LEAN, krate))
        .collect();
    assert!(found.is_empty(), "the lean otelctl links {found:?}");
    assert!(links(LEAN, "otelctl-span"));
}

/// `bin ARGS` as a user's shell starts it (`argv[0]` = "otelctl").
fn as_otelctl(bin: &str, env: &Env, args: &[&str]) -> Output {
    let mut cmd = env.cmd_with(bin, args);
    cmd.arg0("otelctl");
    cmd.output().unwrap()
}

#[test]
fn help_versions_usage_errors_and_other_commands_read_as_the_full_program_s() {
    let env = Env::new().with("OTELCTL_BASE_PORT", "23456");
    let lines: &[&[&str]] = &[
        &["--help"],
        &["--version"],
        &["help", "span"],
        &["bogus"],
        &["span", "--help"],
        &["span", "s"],
        &["span", "begin", "--help"],
        &["span", "s", "n", "--kind", "sideways", "--", "true"],
        &["env", "--bogus"],
        &["env", "-h"],
        &["env", "--shell", "tcsh"],
        &["test-span", "t"],
        &["test-span", "t", "maybe"],
        &["traceparent", "--bogus"],
        &["ports", "--json"],
        &["detect", "--bogus"],
        &["spool", "status", "--json"],
    ];
    for line in lines {
        let lean = as_otelctl(LEAN, &env, line);
        let full = as_otelctl(FULL, &env, line);
        assert_eq!(lean.status.code(), full.status.code(), "otelctl {line:?}");
        assert_eq!(text(&lean.stdout), text(&full.stdout), "otelctl {line:?}");
        assert_eq!(text(&lean.stderr), text(&full.stderr), "otelctl {line:?}");
    }
}

/// A directory holding the lean executable alone (plus what `layout` adds). A hard link, in
/// cargo's temporary directory beside the binaries: a copy would be open for writing while
/// other tests' threads fork, and executing it could then fail with ETXTBSY.
fn lean_alone(layout: impl FnOnce(&Path)) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix("lean-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let lean = bin.join("otelctl");
    std::fs::hard_link(LEAN, &lean).unwrap();
    layout(dir.path());
    (dir, lean)
}

#[test]
fn the_full_program_is_found_in_libexec_as_the_nix_package_installs_it() {
    let (_dir, lean) = lean_alone(|prefix| {
        let libexec = prefix.join("libexec/otelctl");
        std::fs::create_dir_all(&libexec).unwrap();
        std::os::unix::fs::symlink(FULL, libexec.join("otelctl-full")).unwrap();
    });
    let env = Env::new().with("OTELCTL_BASE_PORT", "23456");
    let out = env.cmd_with(&lean, ["ports", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("\"base\": 23456"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn without_the_full_program_hot_commands_run_and_others_say_what_is_missing() {
    let (_dir, lean) = lean_alone(|_| {});
    let env = Env::new().endpoint(&format!("http://127.0.0.1:{}", refused_port()));
    let out = env
        .cmd_with(&lean, ["span", "s", "n", "--", "sh", "-c", "exit 7"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    assert_eq!(
        env.spooled().len(),
        1,
        "the span was spooled by the lean binary"
    );
    for line in [&["env", "-q"][..], &["traceparent", "--new"]] {
        let out = env.cmd_with(&lean, line).output().unwrap();
        assert!(out.status.success(), "{line:?}: {}", text(&out.stderr));
    }
    let out = env.cmd_with(&lean, ["ports"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("otelctl: the full otelctl program (otelctl-full): ")
            && err.contains("install both executables"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    // A span for an https:// endpoint needs TLS, which only the full program has: it is
    // handed over before the command runs.
    let env = env.endpoint(&format!("https://127.0.0.1:{}", refused_port()));
    let out = env
        .cmd_with(&lean, ["span", "s", "n", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("otelctl-full"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_full_program_replaces_the_lean_one_in_the_same_process() {
    // `otelctl relay -- CMD` runs in otelctl-full; CMD's parent is the process the shell
    // started as `otelctl`, not a child of it.
    let env = Env::new().endpoint(&format!("http://127.0.0.1:{}", refused_port()));
    let mut cmd = env.cmd(["relay", "--", "sh", "-c", "echo $PPID"]);
    let child = cmd.stdout(std::process::Stdio::piped()).spawn().unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), pid.to_string());
}
