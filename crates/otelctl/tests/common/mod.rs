//! Shared helpers for the integration tests: run the real `otelctl` binary in a clean environment.
#![allow(dead_code)]

pub mod collector;
pub mod grafana;
pub mod stack;

#[allow(unused_imports)]
pub use collector::*;

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output};

/// The built binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_otelctl")
}

/// `otelctl` with every variable that could change its behaviour removed, `HOME` pointed at
/// `home`, `OTELCTL_MODE=local` (tests that exercise detection remove it) and no published
/// system ports.
pub fn otelctl(home: &Path) -> Command {
    let mut cmd = without_telemetry_env(bin());
    cmd.env("HOME", home).env("OTELCTL_MODE", "local");
    // The machine's own /etc/otel-stack/ports.json (a NixOS system stack) must not leak in.
    cmd.env(
        "OTELCTL_SYSTEM_PORTS_FILE",
        home.join("no-system-ports.json"),
    );
    cmd
}

/// `program` with every `OTEL*`/`DEVENV*` variable, `TRACEPARENT` and `TRACESTATE` of the test's
/// own environment removed, so the machine's telemetry settings cannot leak into a test.
pub fn without_telemetry_env(program: impl AsRef<OsStr>) -> Command {
    let mut cmd = Command::new(program);
    for (key, _) in std::env::vars_os() {
        let k = key.to_string_lossy();
        if k.starts_with("OTEL")
            || k.starts_with("DEVENV")
            || k == "TRACEPARENT"
            || k == "TRACESTATE"
        {
            cmd.env_remove(&key);
        }
    }
    cmd
}

/// Runs and returns the output (never panics on a non-zero exit).
pub fn run<I, S>(mut cmd: Command, args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    cmd.args(args).output().expect("otelctl runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The base port computed independently of otelctl, with coreutils' `sha256sum`.
pub fn reference_base(root: &[u8], start: u32, end: u32) -> u32 {
    use std::io::Write;
    let mut child = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sha256sum (coreutils) runs");
    child.stdin.take().unwrap().write_all(root).unwrap();
    let out = child.wait_with_output().unwrap();
    let hex = String::from_utf8(out.stdout).unwrap();
    let head = u32::from_str_radix(&hex[..7], 16).unwrap();
    start + head % (end - start - 6)
}

/// Prints why a test is skipped: `SKIPPED: [<test name>] <reason>`, to the stderr handle directly
/// (libtest captures the print macros) and in one write, so the reason shows in every
/// `cargo test` run without being torn by libtest's own lines. Under `scripts/test`
/// (`$OTELCTL_TEST_SKIP_LOG` set) the test is also recorded there, so the closing line counts it
/// as skipped, not passed, once however many reasons it printed. libtest names each test's
/// thread after the test.
pub fn skip(reason: &str) {
    use std::io::Write;
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("unnamed");
    let _ = std::io::stderr().write_all(format!("SKIPPED: [{name}] {reason}\n").as_bytes());
    if let Some(log) = std::env::var_os("OTELCTL_TEST_SKIP_LOG") {
        let exe = std::env::current_exe().ok();
        let exe = exe
            .as_deref()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let record = format!("{exe}\t{name}\n");
        let _ = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .and_then(|mut f| f.write_all(record.as_bytes()));
    }
}
