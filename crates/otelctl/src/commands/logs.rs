//! `otelctl logs`: the log records the embedded store keeps, filtered, oldest first; `--follow`
//! keeps printing the new ones.
//!
//! Where they come from, first that answers: the running embedded viewer (port +3,
//! `/api/logs`, recognised by its `X-Otelctl-Embedded` header), else the store's database under
//! `<root>/.devenv/otel/embedded/`, read only (no server needs to run).

use std::time::{Duration, Instant};

use otelctl_config::detect::Mode;
use otelctl_config::error::{Error, Source};
use otelctl_config::exit;
use otelctl_config::formats::{format_time, parse_duration};
use otelctl_config::settings::Settings;
use otelctl_config::Result;
use otelctl_embedded::probe as embedded_probe;
use otelctl_otlp::logs::SeverityNumber;
use otelctl_span::emit::now_nanos;
use otelctl_store::signals::{LogEntry, LogQuery};
use otelctl_viewer::explore;

use crate::cli::LogsArgs;
use crate::output;

/// Default number of records listed.
pub const DEFAULT_LIMIT: usize = 100;
/// How often `--follow` asks for new records.
const FOLLOW_EVERY: Duration = Duration::from_millis(500);
const TIMEOUT: Duration = Duration::from_secs(10);

pub fn run(settings: &Settings, args: &LogsArgs) -> Result<u8> {
    let query = query_of(args)?;
    let source = Origin::locate(settings)?;
    let mut entries = source.logs(&query)?;
    // Newest first from the store; printed oldest first, as a log reads.
    entries.reverse();
    if args.json && !args.follow {
        output::stdout(&output::json(&entries))?;
        return Ok(exit::SUCCESS);
    }
    print(&entries, args.json)?;
    if !args.follow {
        return Ok(exit::SUCCESS);
    }
    let mut last = entries.iter().map(|e| e.id).max().unwrap_or(0);
    loop {
        std::thread::sleep(FOLLOW_EVERY);
        let mut q = query.clone();
        q.after_id = Some(last);
        q.since_unix_nano = None;
        q.limit = explore::MAX_LIMIT;
        // The server may have stopped or started meanwhile: ask whichever answers now.
        let new = Origin::locate(settings)?.logs(&q)?;
        if let Some(max) = new.iter().map(|e| e.id).max() {
            last = last.max(max);
        }
        print(&new, args.json)?;
    }
}

fn query_of(a: &LogsArgs) -> Result<LogQuery> {
    let min_severity = a
        .severity
        .as_deref()
        .map(|s| {
            SeverityNumber::parse(s).ok_or_else(|| Error::InvalidValue {
                what: "severity",
                value: s.to_string(),
                origin: Source::Flag("--severity"),
                expected: "trace, debug, info, warn, error, fatal (or warn2 ...), or a number from 0 to 24"
                    .to_string(),
            })
        })
        .transpose()?;
    let trace_id = a
        .trace
        .as_deref()
        .map(|t| {
            otelctl_otlp::parse_trace_id(t).ok_or_else(|| Error::InvalidValue {
                what: "trace id",
                value: t.to_string(),
                origin: Source::Flag("--trace"),
                expected: "32 hex digits, not all zero".to_string(),
            })
        })
        .transpose()?;
    let since = a
        .since
        .as_deref()
        .map(|d| parse_duration(d, "duration", Source::Flag("--since")))
        .transpose()?;
    Ok(LogQuery {
        service: a.service.clone(),
        min_severity,
        text: a.grep.clone().filter(|t| !t.trim().is_empty()),
        trace_id,
        span_id: None,
        since_unix_nano: since.map(|d| now_nanos().saturating_sub(d.as_nanos() as u64)),
        until_unix_nano: None,
        after_id: None,
        limit: a
            .limit
            .as_deref()
            .map(|l| explore::parse_limit(l, Source::Flag("--limit")))
            .transpose()?
            .unwrap_or(DEFAULT_LIMIT),
    })
}

/// One line a record: time, severity, service, body, and the trace and span it was written in.
fn print(entries: &[LogEntry], json_lines: bool) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut text = String::new();
    for e in entries {
        if json_lines {
            text.push_str(&serde_json::to_string(e).expect("a log entry always serialises"));
            text.push('\n');
            continue;
        }
        let time = e.time_unix_nano.max(e.observed_time_unix_nano);
        let severity = if e.severity_text.is_empty() {
            SeverityNumber::short_name(e.severity_number)
        } else {
            e.severity_text.as_str()
        };
        text.push_str(&format!(
            "{} {:<5} {}  {}",
            format_time(time),
            severity,
            e.service,
            e.body.replace('\n', "\n    ")
        ));
        if !e.trace_id.is_empty() {
            text.push_str(&format!("  trace={}", e.trace_id));
            if !e.span_id.is_empty() {
                text.push_str(&format!(" span={}", e.span_id));
            }
        }
        text.push('\n');
    }
    output::stdout(text.as_bytes())
}

/// Where the records are read.
enum Origin {
    Viewer { port: u16, dir: std::path::PathBuf },
    Database(std::path::PathBuf),
}

impl Origin {
    fn locate(settings: &Settings) -> Result<Self> {
        let viewer = settings.ports().grafana_http;
        match embedded_probe::viewer(viewer, Instant::now() + TIMEOUT) {
            Ok(embedded_probe::Viewer::Embedded(_)) => Ok(Origin::Viewer {
                port: viewer,
                dir: settings.data_dir(Mode::Local).embedded(),
            }),
            Ok(_) => Ok(Origin::Database(settings.data_dir(Mode::Local).embedded())),
            Err(e) => Err(
                Error::failed(format!("cannot ask the viewer port {viewer}"), e)
                    .fix("stop the program on it, or retry"),
            ),
        }
    }

    fn logs(&self, q: &LogQuery) -> Result<Vec<LogEntry>> {
        match self {
            Origin::Viewer { port, dir } => {
                #[derive(serde::Deserialize)]
                struct Answer {
                    logs: Vec<LogEntry>,
                }
                let url = format!("http://127.0.0.1:{port}/api/logs?{}", to_query(q));
                match super::metrics::viewer_json::<Answer>(*port, &url, TIMEOUT)? {
                    Some(a) => Ok(a.logs),
                    // A viewer without the logs API (an older otelctl): its database.
                    None => Origin::Database(dir.clone()).logs(q),
                }
            }
            Origin::Database(dir) => match otelctl_store::open_read_only(dir)? {
                Some(reader) => reader.logs(q),
                None => Ok(Vec::new()),
            },
        }
    }
}

/// The query as the viewer's `/api/logs` parameters.
fn to_query(q: &LogQuery) -> String {
    let mut pairs: Vec<(&str, String)> = vec![("limit", q.limit.to_string())];
    if let Some(s) = &q.service {
        pairs.push(("service", s.clone()));
    }
    if let Some(n) = q.min_severity {
        pairs.push(("severity", n.to_string()));
    }
    if let Some(t) = &q.text {
        pairs.push(("grep", t.clone()));
    }
    if let Some(t) = &q.trace_id {
        pairs.push(("trace", otelctl_otlp::to_hex(t)));
    }
    if let Some(from) = q.since_unix_nano {
        pairs.push(("from", from.to_string()));
    }
    if let Some(after) = q.after_id {
        pairs.push(("after", after.to_string()));
    }
    super::metrics::encode_query(&pairs)
}
