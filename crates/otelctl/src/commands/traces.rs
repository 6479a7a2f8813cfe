//! `otelctl traces`: list stored traces matching filters, draw one as a text waterfall, or
//! compare two, against whichever store the project runs.
//!
//! Where the traces come from, first that answers: the running embedded viewer (port +3,
//! `/api/search` and `/api/export`, recognised by its `X-Otelctl-Embedded` header); Tempo (port
//! +2, `/api/search` with the filter as TraceQL, then each trace by id); else the embedded
//! server's files under `<root>/.devenv/otel/embedded/` (read only).

use std::time::{Duration, Instant};

use otelctl_config::detect::Mode;
use otelctl_config::error::{Error, Source};
use otelctl_config::exit;
use otelctl_config::formats::format_duration;
use otelctl_config::formats::{format_time, parse_ago, parse_duration};
use otelctl_config::settings::Settings;
use otelctl_config::Result;
use otelctl_embedded::export::{self, Selection};
use otelctl_embedded::probe as embedded_probe;
use otelctl_embedded::store::{query_of, summary_of, TraceId};
use otelctl_net::Client;
use otelctl_otlp::{ExportTraceServiceRequest, Span};
use otelctl_span::emit::now_nanos;
use otelctl_stack::tempo_api;
use otelctl_viewer::explore::{self, Filter, Row, SpanRef};
use otelctl_viewer::summary::summarize;

use crate::cli::{TraceCompareArgs, TraceFilterArgs, TraceShowArgs, TracesArgs, TracesCommand};
use crate::output;

/// Default number of traces listed.
pub const DEFAULT_LIMIT: usize = 20;
/// How far back Tempo is searched without `--since`.
pub const TEMPO_DEFAULT_WINDOW: Duration = Duration::from_secs(7 * 86_400);
const TIMEOUT: Duration = Duration::from_secs(10);
/// What to do when Tempo does not answer a search or a read.
const TEMPO_FIX: &str =
    "`otelctl wait tempo` waits until it answers; `otelctl status` shows what runs";

pub fn run(settings: &Settings, args: &TracesArgs) -> Result<u8> {
    match &args.command {
        None => list(settings, &args.filter),
        Some(TracesCommand::Show(a)) => show(settings, a),
        Some(TracesCommand::Compare(a)) => compare(settings, a),
    }
}

/// The store that answers.
enum Backend {
    Viewer(u16),
    Tempo(u16),
    Files,
}

fn locate(settings: &Settings) -> Result<Backend> {
    let ports = settings.ports();
    let viewer = ports.grafana_http;
    match embedded_probe::viewer(viewer, Instant::now() + TIMEOUT) {
        Ok(embedded_probe::Viewer::Embedded(_)) => return Ok(Backend::Viewer(viewer)),
        Ok(_) => {}
        Err(e) => {
            return Err(
                Error::failed(format!("cannot ask the viewer port {viewer}"), e)
                    .fix("stop the program on it, or retry"),
            )
        }
    }
    let tempo = ports.tempo_http;
    let url = format!("http://127.0.0.1:{tempo}/api/echo");
    match Client::shared()?.get(&url, None, Instant::now() + TIMEOUT) {
        Ok(r) if r.status == 200 => Ok(Backend::Tempo(tempo)),
        _ => Ok(Backend::Files),
    }
}

fn filter_of(a: &TraceFilterArgs) -> Result<Filter> {
    Ok(Filter {
        service: a.service.clone(),
        name: a.name.clone(),
        status: a
            .status
            .as_deref()
            .map(|s| explore::parse_status(s, Source::Flag("--status")))
            .transpose()?,
        trace_status: a
            .trace_status
            .as_deref()
            .map(|s| explore::parse_status(s, Source::Flag("--trace-status")))
            .transpose()?,
        min_duration: a
            .min_duration
            .as_deref()
            .map(|d| parse_duration(d, "duration", Source::Flag("--min-duration")))
            .transpose()?,
        max_duration: a
            .max_duration
            .as_deref()
            .map(|d| parse_duration(d, "duration", Source::Flag("--max-duration")))
            .transpose()?,
        attrs: a
            .attr
            .iter()
            .map(|kv| explore::parse_attr(kv, Source::Flag("--attr")))
            .collect::<Result<_>>()?,
        since: a
            .since
            .as_deref()
            .map(|d| parse_ago(d, "duration", Source::Flag("--since")))
            .transpose()?,
        from_unix_nano: None,
        to_unix_nano: None,
        limit: Some(
            a.limit
                .as_deref()
                .map(|l| explore::parse_limit(l, Source::Flag("--limit")))
                .transpose()?
                .unwrap_or(DEFAULT_LIMIT),
        ),
    })
}

fn list(settings: &Settings, args: &TraceFilterArgs) -> Result<u8> {
    let filter = filter_of(args)?;
    let backend = locate(settings)?;
    let dir = settings.data_dir(Mode::Local).embedded();
    let origin = match &backend {
        Backend::Viewer(port) => format!("the running viewer on port {port}"),
        Backend::Tempo(port) => format!("Tempo on port {port}"),
        Backend::Files => format!("the store {}", otelctl_store::db_path(&dir).display()),
    };
    // The rows, and how many matched when the store says (Tempo does not).
    let (rows, matched) = match backend {
        Backend::Viewer(port) => from_viewer(port, &filter)?,
        Backend::Tempo(port) => (from_tempo(port, &filter)?, None),
        Backend::Files => {
            let limit = filter.limit.unwrap_or(explore::MAX_LIMIT);
            match otelctl_store::open_read_only(&dir)? {
                Some(reader) => {
                    let (rows, matched, more) =
                        reader.list(&query_of(&filter, now_nanos(), limit))?;
                    (
                        rows.iter().map(|r| Row::from(&summary_of(r))).collect(),
                        Some((matched, more)),
                    )
                }
                None => (Vec::new(), None),
            }
        }
    };
    if args.json {
        let mut json = serde_json::to_vec_pretty(&rows).expect("rows serialise");
        json.push(b'\n');
        output::stdout(&json)?;
        return Ok(exit::SUCCESS);
    }
    let mut out = String::new();
    if rows.is_empty() {
        output::stderr(&format!(
            "otelctl: no stored trace matches (searched {origin})\n"
        ));
        return Ok(exit::SUCCESS);
    }
    out.push_str(&format!(
        "{:<19}  {:>10}  {:>5}  {:<6}  {:<16}  {:<32}  {}\n",
        "START (UTC)", "DURATION", "SPANS", "STATUS", "SERVICE", "TRACE ID", "NAME"
    ));
    for r in &rows {
        out.push_str(&format!(
            "{:<19}  {:>10}  {:>5}  {:<6}  {:<16}  {:<32}  {}\n",
            format_time(r.start_unix_nano),
            format_duration((r.duration_ms * 1e6).round() as u64),
            r.spans,
            r.status,
            r.service,
            r.trace_id,
            r.name
        ));
    }
    if let Some(note) = more_than_shown(rows.len(), matched) {
        output::stderr(&note);
    }
    output::stdout(out.as_bytes())?;
    Ok(exit::SUCCESS)
}

/// `showing 20 of 295 (--limit)` when more traces matched than are listed (`of at least 1000`
/// when the store stopped counting).
fn more_than_shown(shown: usize, matched: Option<Matched>) -> Option<String> {
    let (matched, more) = matched?;
    (matched > shown as u64 || more).then(|| {
        format!(
            "showing {shown} of {}{matched} (--limit)\n",
            if more { "at least " } else { "" }
        )
    })
}

/// How many traces matched, and whether the store stopped counting there.
type Matched = (u64, bool);

fn from_viewer(port: u16, filter: &Filter) -> Result<(Vec<Row>, Option<Matched>)> {
    #[derive(serde::Deserialize)]
    struct Answer {
        traces: Vec<Row>,
        matched: Option<u64>,
        #[serde(default)]
        matched_more: bool,
    }
    let url = format!("http://127.0.0.1:{port}/api/search?{}", filter.to_query());
    let r = Client::shared()?.get(&url, Some("application/json"), Instant::now() + TIMEOUT)?;
    if r.status != 200 {
        return Err(Error::failed(
            format!("cannot search the viewer on port {port}"),
            format!(
                "it answered HTTP {}: {}",
                r.status,
                String::from_utf8_lossy(&r.body).trim()
            ),
        )
        .fix("restart `otelctl up --embedded`, or check the filter flags"));
    }
    let a: Answer = serde_json::from_slice(&r.body).map_err(|e| {
        Error::failed(
            format!("cannot read the list the viewer on port {port} sent"),
            e,
        )
        .fix("the viewer may be another otelctl version: restart `otelctl up --embedded`")
    })?;
    let matched = a.matched.map(|m| (m, a.matched_more));
    Ok((a.traces, matched))
}

/// Tempo: the filter as TraceQL narrows the search; each trace found is then read whole and the
/// filter applied exactly (what TraceQL cannot say: `--status ok`, trace-level semantics).
fn from_tempo(port: u16, filter: &Filter) -> Result<Vec<Row>> {
    let now = now_nanos();
    let window = filter.since.unwrap_or(TEMPO_DEFAULT_WINDOW);
    let start = now.saturating_sub(window.as_nanos() as u64) / 1_000_000_000;
    let end = now / 1_000_000_000 + 1;
    let limit = filter.limit.unwrap_or(DEFAULT_LIMIT);
    // Over-ask when the exact filter may drop some of what TraceQL found.
    let ask = if filter.status == Some(explore::StatusFilter::Ok) {
        (limit * 4).min(explore::MAX_LIMIT)
    } else {
        limit
    };
    let q = explore::traceql(filter);
    let deadline = Instant::now() + TIMEOUT;
    let ids = tempo_api::search(port, &q, start, end, ask as u32, deadline)
        .map_err(|e| Error::failed(format!("cannot search Tempo for {q:?}"), e).fix(TEMPO_FIX))?;
    let mut found = Vec::new();
    for id in ids {
        let Some(req) =
            tempo_api::trace_by_id(port, &id, Instant::now() + TIMEOUT).map_err(|e| {
                Error::failed(format!("cannot read trace {id} from Tempo"), e).fix(TEMPO_FIX)
            })?
        else {
            continue;
        };
        let spans: Vec<SpanRef> = req.spans().collect();
        if spans.is_empty() {
            continue;
        }
        let summary = summarize(&spans[0].1.trace_id, &spans);
        if filter.matches(&summary, &spans, now) {
            found.push(summary);
        }
    }
    explore::newest_first(&mut found);
    found.truncate(limit);
    Ok(found.iter().map(Row::from).collect())
}

/// One trace, whole, from the store that answers.
fn fetch(
    settings: &Settings,
    backend: &Backend,
    id: &TraceId,
) -> Result<ExportTraceServiceRequest> {
    let hex = otelctl_otlp::to_hex(id);
    let req = match backend {
        Backend::Tempo(port) => tempo_api::trace_by_id(*port, &hex, Instant::now() + TIMEOUT)
            .map_err(|e| {
                Error::failed(format!("cannot read trace {hex} from Tempo"), e).fix(TEMPO_FIX)
            })?
            .unwrap_or_default(),
        Backend::Viewer(_) | Backend::Files => {
            let selection = Selection {
                trace: Some(*id),
                since: None,
            };
            let (req, _, warnings) = export::collect(
                settings.ports().grafana_http,
                &settings.data_dir(Mode::Local).embedded(),
                &selection,
            )?;
            for w in warnings {
                output::stderr(&format!("otelctl: warning: {w}\n"));
            }
            req
        }
    };
    if req.span_count() == 0 {
        return Err(Error::failed(
            format!("cannot show trace {hex}"),
            "it is not stored (never received, dropped as the oldest, or cleared)",
        )
        .fix("`otelctl traces` lists the stored traces and their ids"));
    }
    Ok(req)
}

fn show(settings: &Settings, args: &TraceShowArgs) -> Result<u8> {
    let id = export::parse_trace_id(&args.id, Source::Flag("ID"))?;
    if !(10..=200).contains(&args.width) {
        return Err(Error::InvalidValue {
            what: "width",
            value: args.width.to_string(),
            origin: Source::Flag("--width"),
            expected: "10 to 200".to_string(),
        });
    }
    let backend = locate(settings)?;
    let req = fetch(settings, &backend, &id)?;
    let spans: Vec<SpanRef> = req.spans().collect();
    let s = summarize(&id, &spans);
    let refs: Vec<&Span> = spans.iter().map(|(_, s)| *s).collect();
    let mut out = format!(
        "trace {} · {} · {} · started {} UTC · {} · {} spans · {}\n",
        s.trace_id,
        s.service,
        s.root_name,
        format_time(s.start_unix_nano),
        format_duration(s.duration_ns),
        s.span_count,
        s.status
    );
    out.push_str(&explore::text_waterfall(&refs, args.width));
    out.push_str("(* critical path: the spans that decided when the trace ended)\n");
    output::stdout(out.as_bytes())?;
    Ok(exit::SUCCESS)
}

fn compare(settings: &Settings, args: &TraceCompareArgs) -> Result<u8> {
    let a = export::parse_trace_id(&args.a, Source::Flag("A"))?;
    let b = export::parse_trace_id(&args.b, Source::Flag("B"))?;
    let backend = locate(settings)?;
    let ra = fetch(settings, &backend, &a)?;
    let rb = fetch(settings, &backend, &b)?;
    let sa: Vec<&Span> = ra.spans().map(|(_, s)| s).collect();
    let sb: Vec<&Span> = rb.spans().map(|(_, s)| s).collect();
    let c = explore::compare(&sa, &sb);
    let mut out = format!(
        "A {}  B {}\n",
        otelctl_otlp::to_hex(&a),
        otelctl_otlp::to_hex(&b)
    );
    out.push_str(&explore::text_comparison(&c));
    output::stdout(out.as_bytes())?;
    Ok(exit::SUCCESS)
}
