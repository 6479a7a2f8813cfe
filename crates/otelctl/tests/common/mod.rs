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
use std::sync::atomic::{AtomicU32, Ordering};

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

/// [`otelctl`] whose `PATH` is only `home/bin` (created here): the stack commands then find no
/// Collector, Tempo or Grafana of the machine, only the programs a test puts there.
pub fn otelctl_without_programs(home: &Path) -> Command {
    let bin = home.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let mut cmd = otelctl(home);
    cmd.env("PATH", &bin);
    cmd
}

/// A fresh directory under the system temp dir (`otelctl-test-<tag>-…`), removed on drop (kept
/// with `$OTELCTL_TEST_KEEP`, to look at what a failed test left).
pub struct TempDir(Option<tempfile::TempDir>);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(&format!("otelctl-test-{tag}-"))
            .tempdir()
            .unwrap();
        TempDir(Some(dir))
    }
    pub fn path(&self) -> &Path {
        self.0.as_ref().expect("live until dropped").path()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("OTELCTL_TEST_KEEP").is_some() {
            if let Some(dir) = self.0.take() {
                let _ = dir.keep();
            }
        }
    }
}

/// A base port whose eight ports are all free on 127.0.0.1 now, in 10000-32699: away from the
/// system stack's 4318/3200/3700/4317, and below the kernel's ports for outgoing connections
/// (32768-60999), which any connection (or its TIME_WAIT) may take between this check and the
/// test's bind. Each call in this process gets another block (tests run on parallel threads);
/// each process starts at a random block, so parallel test binaries rarely meet.
pub fn free_base() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    static START: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let start = *START.get_or_init(|| {
        let mut r = [0u8; 4];
        otelctl_otlp::random_bytes(&mut r);
        u32::from_le_bytes(r) % 2270
    });
    for _ in 0..2270 {
        let block = (start + NEXT.fetch_add(1, Ordering::SeqCst)) % 2270;
        let base = 10000 + (block * 10) as u16;
        if (base..base + 8).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            return base;
        }
    }
    panic!("no block of eight free ports in 10000-32699");
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

/// How many `*.json` files `dir` holds (0 when it does not exist).
pub fn json_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
                .count()
        })
        .unwrap_or(0)
}
