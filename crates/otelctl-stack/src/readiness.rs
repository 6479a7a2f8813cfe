//! Readiness that does not lie: each service is asked to do real work, not only to say "ready".
//!
//! - Collector: the OTLP/HTTP receiver accepts an empty export (`POST /v1/traces {}`) and the
//!   internal metrics endpoint answers (`GET /metrics`).
//! - Tempo: `/ready` answers 200 *and* a TraceQL search answers 200 (`/ready` alone can be
//!   healthy while queries fail).
//! - Grafana: `/api/health` answers 200 with `"database": "ok"`.
//! - Prometheus: `/-/ready` answers 200 *and* a PromQL query (`vector(1)`) answers `success`.
//! - VictoriaLogs: `/health` answers 200 *and* a LogsQL query answers 200.
//!
//! [`wait`] polls a probe every 100 ms until it passes or the deadline comes; every request
//! has its own short deadline, so a silent server cannot hold the wait past its timeout.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::render::Service;
use otelctl_config::detect;
use otelctl_config::error::{Error, Result};
use otelctl_net::{Client, Response};

/// The longest a single probe request may take.
pub const REQUEST_BUDGET: Duration = Duration::from_secs(2);
/// The pause between two probes.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Where a service answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// The port of the service's main endpoint (collector OTLP/HTTP, Tempo HTTP, Grafana HTTP).
    pub port: u16,
    /// The collector's internal metrics port, when known (not for the system stack).
    pub metrics_port: Option<u16>,
}

fn get(port: u16, path: &str, deadline: Instant) -> std::result::Result<Response, String> {
    let url = format!("http://127.0.0.1:{port}{path}");
    Client::shared()
        .and_then(|c| c.get(&url, None, deadline.min(Instant::now() + REQUEST_BUDGET)))
        .map_err(|e| e.to_string())
}

fn expect_ok(
    what: &str,
    r: std::result::Result<Response, String>,
) -> std::result::Result<Response, String> {
    let r = r?;
    if r.status == 200 {
        Ok(r)
    } else {
        let body = String::from_utf8_lossy(&r.body);
        let snippet: String = body.trim().chars().take(120).collect();
        Err(format!("{what} answered HTTP {}: {snippet}", r.status))
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// One probe of `service`; `Err` says why it is not ready.
pub fn probe(
    service: Service,
    target: Target,
    deadline: Instant,
) -> std::result::Result<(), String> {
    match service {
        Service::Collector => {
            detect::probe_collector(target.port, deadline.min(Instant::now() + REQUEST_BUDGET))?;
            if let Some(m) = target.metrics_port {
                expect_ok(
                    "the collector's metrics endpoint",
                    get(m, "/metrics", deadline),
                )?;
            }
            Ok(())
        }
        Service::Tempo => {
            expect_ok("Tempo /ready", get(target.port, "/ready", deadline))?;
            let now = unix_now();
            let path = format!(
                "/api/search?q=%7B%7D&limit=1&start={}&end={}",
                now.saturating_sub(3600),
                now + 60
            );
            expect_ok("a Tempo search", get(target.port, &path, deadline))?;
            Ok(())
        }
        Service::Grafana => {
            let r = expect_ok(
                "Grafana /api/health",
                get(target.port, "/api/health", deadline),
            )?;
            let body: serde_json::Value = serde_json::from_slice(&r.body)
                .map_err(|_| "Grafana /api/health did not answer JSON".to_string())?;
            match body.get("database").and_then(|d| d.as_str()) {
                Some("ok") => Ok(()),
                other => Err(format!("Grafana's database is not ok ({other:?})")),
            }
        }
        Service::Prometheus => {
            expect_ok(
                "Prometheus /-/ready",
                get(target.port, "/-/ready", deadline),
            )?;
            let r = expect_ok(
                "a Prometheus query",
                get(target.port, "/api/v1/query?query=vector(1)", deadline),
            )?;
            let body: serde_json::Value = serde_json::from_slice(&r.body)
                .map_err(|_| "a Prometheus query did not answer JSON".to_string())?;
            match body.get("status").and_then(|s| s.as_str()) {
                Some("success") => Ok(()),
                other => Err(format!("a Prometheus query answered status {other:?}")),
            }
        }
        Service::VictoriaLogs => {
            expect_ok(
                "VictoriaLogs /health",
                get(target.port, "/health", deadline),
            )?;
            expect_ok(
                "a VictoriaLogs query",
                get(
                    target.port,
                    "/select/logsql/query?query=_time:1m&limit=1",
                    deadline,
                ),
            )?;
            Ok(())
        }
    }
}

/// Polls `service` until it is ready or `timeout` passes (then [`Error::NotReady`] with the
/// last reason). `alive` is asked between probes; when it returns an error the wait stops
/// with that error (used by `up` when a program dies while starting).
pub fn wait(
    service: Service,
    target: Target,
    timeout: Duration,
    mut alive: impl FnMut() -> Result<()>,
) -> Result<Duration> {
    let start = Instant::now();
    let deadline = start + timeout;
    let mut last_why: Option<String> = None;
    loop {
        let why = match probe(service, target, deadline) {
            Ok(()) => return Ok(start.elapsed()),
            // A probe cut short by the deadline says less than the one before it.
            Err(why) if Instant::now() >= deadline && last_why.is_some() => {
                last_why.take().unwrap_or(why)
            }
            Err(why) => why,
        };
        alive()?;
        let now = Instant::now();
        if now < deadline {
            last_why = Some(why);
            std::thread::sleep(POLL_INTERVAL.min(deadline - now));
            continue;
        }
        return Err(Error::NotReady {
            service: service.name().to_string(),
            address: format!("127.0.0.1:{}", target.port),
            waited: timeout,
            why,
            fix: "is it running? `otelctl status` shows what runs; start it with `otelctl up` or `devenv up`".to_string(),
        });
    }
}
