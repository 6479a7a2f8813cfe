//! `otelctl spool status|flush`: what waits in the spool, and sending it to the endpoint.

use std::time::Instant;

use otelctl_config::exit;
use otelctl_config::settings::Settings;
use otelctl_config::{Error, Result};
use otelctl_otlp::Signal;
use otelctl_span::emit;
use otelctl_span::spool::Spool;

use crate::cli::{SpoolAction, SpoolArgs};
use crate::commands::telemetry;
use crate::output;

pub fn run(settings: &Settings, args: &SpoolArgs) -> Result<u8> {
    let env = telemetry::load_env();
    let dir = emit::spool_dir(Some(settings), &env).ok_or_else(|| {
        Error::failed(
            "cannot find the spool",
            "neither $OTEL_SPOOL_DIR nor $HOME is set",
        )
        .fix("set OTEL_SPOOL_DIR")
    })?;
    let spool = Spool::new(dir, env.spool_max_bytes);
    match args.action {
        SpoolAction::Status { json } => {
            let s = spool.status()?;
            let bytes = if json {
                output::json(&s)
            } else {
                let oldest = s
                    .oldest_age_seconds
                    .map(|a| format!("{a} s ago"))
                    .unwrap_or_else(|| "-".to_string());
                format!(
                    "spool     {}\nfiles     {}\nbytes     {} (cap {})\noldest    {oldest}\nflushing  {}\nunconfirmed {} (sent, answer late: awaited, not flushed)\nstranded  {} (held by a dt relay that died: `otelctl spool flush` sends them)\ndropped   {} span(s) over the cap\n",
                    s.dir.display(),
                    s.files,
                    s.bytes,
                    s.max_bytes,
                    s.flushing,
                    s.unconfirmed,
                    s.stranded,
                    s.dropped_spans
                )
                .into_bytes()
            };
            output::stdout(&bytes)?;
            Ok(exit::SUCCESS)
        }
        SpoolAction::Flush { json } => {
            let url = emit::traces_url(&env, Some(settings));
            let report = spool.flush(&mut |req| {
                let url = emit::signal_url(&env, Some(settings), req.signal());
                req.export_patiently(&env.exporter, &url, Instant::now() + env.exporter.timeout)
            })?;
            let bytes = if json {
                output::json(&report)
            } else {
                let mut text = format!(
                    "delivered {} span(s) in {} file(s) to {}\n",
                    report.delivered_spans,
                    report.delivered_files,
                    otelctl_config::secrets::mask_url(&url)
                );
                // Metrics and logs (spooled by dt's relay) went to their own paths.
                for (n, what, signal) in [
                    (
                        report.delivered_data_points,
                        "metric data point(s)",
                        Signal::Metrics,
                    ),
                    (report.delivered_log_records, "log record(s)", Signal::Logs),
                ] {
                    if n > 0 {
                        let url = emit::signal_url(&env, Some(settings), signal);
                        text.push_str(&format!("delivered {n} {what} to {url}\n"));
                    }
                }
                if report.failed_files + report.skipped_files > 0 {
                    text.push_str(&format!(
                        "left {} file(s) in {} ({} failed, {} not tried)\n",
                        report.failed_files + report.skipped_files,
                        spool.dir().display(),
                        report.failed_files,
                        report.skipped_files
                    ));
                }
                text.into_bytes()
            };
            output::stdout(&bytes)?;
            for e in &report.errors {
                telemetry::warn(e);
            }
            Ok(if report.failed_files + report.corrupt_files > 0 {
                exit::FAILURE
            } else {
                exit::SUCCESS
            })
        }
    }
}
