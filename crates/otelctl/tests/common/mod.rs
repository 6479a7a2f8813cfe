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
/// `home`, and `OTELCTL_MODE=local` (tests that exercise detection remove it).
pub fn otelctl(home: &Path) -> Command {
    let mut cmd = Command::new(bin());
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
    cmd.env("HOME", home).env("OTELCTL_MODE", "local");
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

/// Prints why a test is skipped. Written to the stderr handle directly (libtest captures the
/// print macros), so the reason shows in every `cargo test` run and `scripts/test` counts it.
pub fn skip(reason: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED: {reason}");
}

/// A request as a test server saw it.
#[derive(Debug, Clone)]
pub struct SeenRequest {
    pub head: String,
    pub body: Vec<u8>,
}

/// A real HTTP server on `listener` answering every request with the status held in the
/// returned atomic (change it between requests) and `{}`; each request it saw arrives on the
/// channel. Runs until the process ends.
pub fn serve(
    listener: std::net::TcpListener,
    status: u16,
) -> (
    std::sync::Arc<std::sync::atomic::AtomicU16>,
    std::sync::mpsc::Receiver<SeenRequest>,
) {
    use std::io::{Read, Write};
    let (tx, rx) = std::sync::mpsc::channel();
    let status = std::sync::Arc::new(std::sync::atomic::AtomicU16::new(status));
    let shared = status.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let (head, body) = loop {
                let n = match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => break (String::new(), Vec::new()),
                    Ok(n) => n,
                };
                buf.extend_from_slice(&chunk[..n]);
                if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    while buf.len() < end + 4 + len {
                        match stream.read(&mut chunk) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let body = buf[end + 4..].to_vec();
                    break (head, body);
                }
            };
            let status = shared.load(std::sync::atomic::Ordering::SeqCst);
            let reply = format!("HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}");
            let _ = stream.write_all(reply.as_bytes());
            let _ = tx.send(SeenRequest { head, body });
        }
    });
    (status, rx)
}
