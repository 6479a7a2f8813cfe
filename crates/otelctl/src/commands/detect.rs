//! `otelctl detect`: system or local mode, with the reason and the endpoints in effect.

use serde::Serialize;

use otelctl_config::exit;
use otelctl_config::settings::Settings;
use otelctl_config::Result;

use crate::cli::DetectArgs;
use crate::output;

#[derive(Serialize)]
struct Report<'a> {
    mode: &'a str,
    reason: &'a str,
    collector: &'a str,
    tempo: &'a str,
    grafana: &'a str,
}

pub fn run(settings: &Settings, args: &DetectArgs) -> Result<u8> {
    let detection = settings.detect()?;
    let endpoints = settings.endpoints(detection.mode)?;
    let report = Report {
        mode: detection.mode.as_str(),
        reason: &detection.reason,
        collector: &endpoints.collector,
        tempo: &endpoints.tempo,
        grafana: &endpoints.grafana,
    };
    let bytes = if args.json {
        output::json(&report)
    } else {
        format!(
            "{} ({})\ncollector  {}\ntempo      {}\ngrafana    {}\n",
            report.mode, report.reason, report.collector, report.tempo, report.grafana
        )
        .into_bytes()
    };
    output::stdout(&bytes)?;
    Ok(exit::SUCCESS)
}
