//! The spool read by a real Collector (contrib `otlpjsonfile`, built by the e2e lane as
//! `collector-spool`) from the config `otelctl run collector` renders: each spool file is
//! ingested once and deleted, and a span whose file is gone survives a Collector restart in
//! the on-disk exporter queue while Tempo is down. Tempo is deliberately absent here.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::stack::*;
use common::{bin, free_base, TempDir};

/// Stops the collector however the test ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

fn start(collector: &Path, env: &[(&str, String)]) -> Running {
    let mut cmd = Command::new(bin());
    cmd.env_clear().envs(env.iter().map(|(k, v)| (k, v)));
    cmd.args(["run", "collector", "--bin"]).arg(collector);
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let running = Running(child);
    let mut wait = Command::new(bin());
    wait.env_clear().envs(env.iter().map(|(k, v)| (k, v)));
    let out = wait
        .args(["wait", "collector", "--timeout", "30"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "collector not ready: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    running
}

/// The value of the first metric line starting with `name` and containing `label`.
fn metric(port: u16, name: &str, label: &str) -> Option<f64> {
    let out = Command::new("curl")
        .args(["-s", "-m", "2", &format!("http://127.0.0.1:{port}/metrics")])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.starts_with(name) && l.contains(label))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

fn poll<T>(what: &str, within: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "gave up waiting for {what} after {within:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_collector_ingests_each_spool_file_once_and_keeps_the_span_queued_across_a_restart() {
    let Some(collector) = lane_program("OTELCTL_COLLECTOR_SPOOL_BIN", "otelcol-spool-probe-")
    else {
        return;
    };
    let home = TempDir::new("collector-spool");
    let root = home.path().join("project");
    std::fs::create_dir_all(&root).unwrap();
    let base = free_base();
    let env = vec![
        ("HOME", home.path().display().to_string()),
        ("PATH", std::env::var("PATH").unwrap_or_default()),
        ("OTELCTL_MODE", "local".to_string()),
        ("DEVENV_ROOT", root.display().to_string()),
        ("OTELCTL_BASE_PORT", base.to_string()),
    ];
    let spool = root.join(".devenv/otel/spool");
    let waiting = || {
        std::fs::read_dir(&spool)
            .map(|d| {
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
                    .count()
            })
            .unwrap_or(0)
    };

    // Nothing listens: the span goes to the spool.
    let out = Command::new(bin())
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(["span", "spool-e2e", "while-down", "--", "true"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(waiting(), 1);

    // The collector reads it once and deletes the file; Tempo is down, so it stays queued.
    let metrics = base + 4;
    let first = start(&collector, &env);
    poll(
        "the spool file to be consumed",
        Duration::from_secs(60),
        || (waiting() == 0).then_some(()),
    );
    let accepted = poll(
        "the spool receiver's accepted spans",
        Duration::from_secs(60),
        || {
            metric(
                metrics,
                "otelcol_receiver_accepted_spans",
                "otlpjsonfile/spool",
            )
            .filter(|v| *v >= 1.0)
        },
    );
    assert_eq!(accepted, 1.0);
    drop(first);
    let status = Command::new(bin())
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(["spool", "status", "--json"])
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(
        status["files"], 0,
        "nothing is left for `spool flush` to send again: {status}"
    );

    // After a restart the span is still in the exporter's disk queue, and nothing was re-read.
    let _second = start(&collector, &env);
    let queued = poll(
        "the queued span after the restart",
        Duration::from_secs(60),
        || metric(metrics, "otelcol_exporter_queue_size", "tempo").filter(|v| *v >= 1.0),
    );
    assert_eq!(queued, 1.0);
    let reread = metric(
        metrics,
        "otelcol_receiver_accepted_spans",
        "otlpjsonfile/spool",
    )
    .unwrap_or(0.0);
    assert_eq!(reread, 0.0, "the deleted file is not read again");
}
