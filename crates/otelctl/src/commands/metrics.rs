//! `otelctl metrics`: the metrics the embedded store keeps, each name with its latest value;
//! with a NAME, that metric's series (one per attribute set) and their points.
//!
//! Where they come from, first that answers: the running embedded viewer (port +3,
//! `/api/metrics` and `/api/metrics/series`, recognised by its `X-Otelctl-Embedded` header),
//! else the store's database under `<root>/.devenv/otel/embedded/`, read only.

use std::time::{Duration, Instant};

use otelctl_config::detect::Mode;
use otelctl_config::error::{Error, Source};
use otelctl_config::exit;
use otelctl_config::formats::{format_time, parse_duration, percent_encode};
use otelctl_config::settings::Settings;
use otelctl_config::Result;
use otelctl_embedded::probe as embedded_probe;
use otelctl_net::Client;
use otelctl_span::emit::now_nanos;
use otelctl_store::signals::{MetricName, Series};

use crate::cli::MetricsArgs;
use crate::output;

const TIMEOUT: Duration = Duration::from_secs(10);
/// Most points read per series.
pub const POINTS_LIMIT: usize = 1000;

pub fn run(settings: &Settings, args: &MetricsArgs) -> Result<u8> {
    let since = args
        .since
        .as_deref()
        .map(|d| parse_duration(d, "duration", Source::Flag("--since")))
        .transpose()?
        .map(|d| now_nanos().saturating_sub(d.as_nanos() as u64));
    let service = args.service.as_deref();
    let viewer = settings.ports().grafana_http;
    let running = match embedded_probe::viewer(viewer, Instant::now() + TIMEOUT) {
        Ok(embedded_probe::Viewer::Embedded(_)) => true,
        Ok(_) => false,
        Err(e) => {
            return Err(
                Error::failed(format!("cannot ask the viewer port {viewer}"), e)
                    .fix("stop the program on it, or retry"),
            )
        }
    };
    let dir = settings.data_dir(Mode::Local).embedded();
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if let Some(s) = service {
        pairs.push(("service", s.to_string()));
    }
    if let Some(from) = since {
        pairs.push(("from", from.to_string()));
    }
    let bytes = match &args.name {
        None => {
            let names: Vec<MetricName> = if running {
                #[derive(serde::Deserialize)]
                struct Answer {
                    metrics: Vec<MetricName>,
                }
                let url = format!(
                    "http://127.0.0.1:{viewer}/api/metrics?{}",
                    encode_query(&pairs)
                );
                match viewer_json::<Answer>(viewer, &url, TIMEOUT)? {
                    Some(a) => a.metrics,
                    None => names_from(&dir, service, since)?,
                }
            } else {
                names_from(&dir, service, since)?
            };
            if args.json {
                output::json(&names)
            } else {
                names_table(&names).into_bytes()
            }
        }
        Some(name) => {
            let series: Vec<Series> = if running {
                #[derive(serde::Deserialize)]
                struct Answer {
                    series: Vec<Series>,
                }
                pairs.push(("name", name.clone()));
                pairs.push(("limit", POINTS_LIMIT.to_string()));
                let url = format!(
                    "http://127.0.0.1:{viewer}/api/metrics/series?{}",
                    encode_query(&pairs)
                );
                match viewer_json::<Answer>(viewer, &url, TIMEOUT)? {
                    Some(a) => a.series,
                    None => series_from(&dir, name, service, since)?,
                }
            } else {
                series_from(&dir, name, service, since)?
            };
            if series.is_empty() && !args.json {
                return Err(Error::failed(
                    format!("no metric named {name:?} is stored"),
                    "the store has no point of it (of that service, in that time)",
                )
                .fix("`otelctl metrics` lists the names stored"));
            }
            if args.json {
                output::json(&series)
            } else {
                series_text(&series).into_bytes()
            }
        }
    };
    output::stdout(&bytes)?;
    Ok(exit::SUCCESS)
}

/// Metric names read from the database (no server, or a viewer without the metrics API).
fn names_from(
    dir: &std::path::Path,
    service: Option<&str>,
    since: Option<u64>,
) -> Result<Vec<MetricName>> {
    match otelctl_store::open_read_only(dir)? {
        Some(reader) => reader.metric_names(service, since),
        None => Ok(Vec::new()),
    }
}

/// A metric's series read from the database.
fn series_from(
    dir: &std::path::Path,
    name: &str,
    service: Option<&str>,
    since: Option<u64>,
) -> Result<Vec<Series>> {
    match otelctl_store::open_read_only(dir)? {
        Some(reader) => reader.metric_series(name, service, since, POINTS_LIMIT),
        None => Ok(Vec::new()),
    }
}

/// A value as text: integers without a fraction, others to 6 significant digits.
fn number(v: Option<f64>) -> String {
    match v {
        None => "-".to_string(),
        Some(v) if v.fract() == 0.0 && v.abs() < 1e15 => format!("{v:.0}"),
        Some(v) => format!("{v:.6}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string(),
    }
}

/// `SERVICE NAME KIND UNIT LATEST AT SERIES POINTS`, one line a metric.
fn names_table(names: &[MetricName]) -> String {
    let mut rows = vec![[
        "SERVICE".to_string(),
        "NAME".to_string(),
        "KIND".to_string(),
        "UNIT".to_string(),
        "LATEST".to_string(),
        "AT".to_string(),
        "SERIES".to_string(),
        "POINTS".to_string(),
    ]];
    for m in names {
        let kind = match (&m.temporality, m.monotonic) {
            (Some(t), Some(true)) => format!("{} ({t}, monotonic)", m.kind),
            (Some(t), _) => format!("{} ({t})", m.kind),
            _ => m.kind.clone(),
        };
        rows.push([
            m.service.clone(),
            m.name.clone(),
            kind,
            m.unit.clone(),
            number(m.latest_value),
            format_time(m.latest_time_unix_nano),
            m.series.to_string(),
            m.points.to_string(),
        ]);
    }
    let widths: Vec<usize> = (0..8)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// Each series: its attributes, then a line a point (time, value; count, sum, min and max for
/// histograms and summaries).
fn series_text(series: &[Series]) -> String {
    let mut out = String::new();
    for s in series {
        out.push_str(&format!(
            "{} {} ({}{}{}) {}\n",
            s.service,
            s.name,
            s.kind,
            s.temporality
                .as_deref()
                .map(|t| format!(", {t}"))
                .unwrap_or_default(),
            if s.unit.is_empty() {
                String::new()
            } else {
                format!(", {}", s.unit)
            },
            s.attributes
        ));
        for p in &s.points {
            let mut line = format!("  {}  {}", format_time(p.time_unix_nano), number(p.value));
            if let Some(count) = p.count {
                line = format!(
                    "  {}  count={count} sum={} min={} max={}",
                    format_time(p.time_unix_nano),
                    number(p.sum),
                    number(p.min),
                    number(p.max)
                );
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    out
}

/// `k=v&...`, values percent-encoded.
pub(crate) fn encode_query(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// GETs `url` from the embedded viewer on `port` and reads its JSON answer; `None` when it
/// answers 404 (a viewer from before the logs and metrics API: the caller reads the database).
pub(crate) fn viewer_json<T: serde::de::DeserializeOwned>(
    port: u16,
    url: &str,
    timeout: Duration,
) -> Result<Option<T>> {
    let r = Client::shared()?.get(url, Some("application/json"), Instant::now() + timeout)?;
    if r.status == 404 {
        return Ok(None);
    }
    if r.status != 200 {
        return Err(Error::failed(
            format!("cannot ask the viewer on port {port}"),
            format!(
                "it answered HTTP {}: {}",
                r.status,
                String::from_utf8_lossy(&r.body).trim()
            ),
        )
        .fix("restart `otelctl up --embedded` (an older one has no logs or metrics API), or check the flags"));
    }
    serde_json::from_slice(&r.body).map(Some).map_err(|e| {
        Error::failed(
            format!("cannot read what the viewer on port {port} sent"),
            e,
        )
        .fix("the viewer may be another otelctl version: restart `otelctl up --embedded`")
    })
}
