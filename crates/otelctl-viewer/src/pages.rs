//! The viewer's pages, rendered from the templates in `assets/templates/` (askama: compiled
//! into the binary, checked against the structs below, every value HTML-escaped unless a
//! template says `|safe`, which only ever marks HTML another template rendered).
//!
//! Each page is a fragment (what live updates replace) inside [`page`], the shell; the shell
//! loads `/assets/js/<page>.js`. Adding a page: a template, a module in `assets/js/`, its name
//! in [`PAGES`] (and in [`NAV`] when it needs no parameters), and its route in the viewer.
//! Inputs are plain data (trace summaries, OTLP-model spans, explorer results), whatever store
//! they came from.

use askama::Template;

use otelctl_config::formats::{duration_text, format_duration, format_time, percent_encode};
use otelctl_otlp::{self as otlp, KeyValue, Span};

use crate::explore::{
    self, CompareRow, Comparison, Filter, History, Run, SpanRef, StatusFilter, TaskKey, Tree,
};
use crate::metrics::{self, NameStats};
use crate::signals::{self, LogRow};
use crate::summary::{service_name, TraceSummary, UNKNOWN_SERVICE};
use crate::waterfall;

/// Every page's name: its `data-page` and its module, `/assets/js/<name>.js`.
pub const PAGES: &[&str] = &["list", "trace", "compare", "history", "logs", "metrics"];
/// The header's links: pages reached without parameters.
pub const NAV: &[(&str, &str)] = &[("traces", "/"), ("logs", "/logs"), ("metrics", "/metrics")];
/// Most rows in a span-name table.
pub const MAX_STRIP_ROWS: usize = 30;

fn render(t: &impl Template) -> String {
    // Writing into a String fails only if a Display impl fails; ours do not.
    t.render().expect("a viewer template renders")
}

#[derive(Template)]
#[template(path = "base.html")]
struct Shell<'a> {
    title: &'a str,
    page: &'a str,
    trace: Option<&'a str>,
    heading: &'a str,
    fragment: &'a str,
    nav: Vec<(&'static str, &'static str, bool)>,
}

/// A whole page around a fragment. `page` is one of [`PAGES`]; `heading` is text.
pub fn page(title: &str, page: &str, trace: Option<&str>, heading: &str, fragment: &str) -> String {
    debug_assert!(PAGES.contains(&page), "{page} has no module");
    render(&Shell {
        title,
        page,
        trace,
        heading,
        fragment,
        nav: NAV
            .iter()
            .map(|&(label, href)| (label, href, nav_here(page, href)))
            .collect(),
    })
}

/// Whether the header link `href` is the page being shown.
fn nav_here(page: &str, href: &str) -> bool {
    match page {
        "list" => href == "/",
        "logs" | "metrics" => href.strip_prefix('/') == Some(page),
        _ => false,
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct Message<'a> {
    id: Option<&'a str>,
    text: &'a str,
    home: bool,
}

/// A notice in place of a page's content (`<p class="empty">`), with a link to all traces when
/// `home`.
pub fn message(id: Option<&str>, text: &str, home: bool) -> String {
    render(&Message { id, text, home })
}

// ---------------------------------------------------------------------------------------------
// The list

/// The store's size and retention, for the list's first line.
#[derive(Debug, Clone, Default)]
pub struct StoreFacts {
    pub traces: usize,
    pub spans: usize,
    /// What is kept, e.g. `90 days, at most 2048 MiB`.
    pub retention: String,
    pub dropped_traces: u64,
    pub dropped_spans: u64,
}

struct FactsView {
    traces: usize,
    spans: usize,
    retention: String,
    dropped_traces: u64,
    dropped_spans: u64,
}

#[derive(Template)]
#[template(path = "facts.html")]
struct Facts {
    f: FactsView,
}

#[derive(Template)]
#[template(path = "filter_form.html")]
struct FilterForm<'a> {
    service: &'a str,
    name: &'a str,
    status: &'a str,
    trace_status: &'a str,
    min: String,
    max: String,
    since: String,
    attrs: Vec<String>,
    from: String,
    to: String,
    limit: Option<usize>,
    services: &'a [String],
    names: &'a [String],
}

/// The filter form. `GET /` with the fields as query parameters, so the URL is the filter:
/// a reload, a bookmark or a shared link shows the same list.
pub fn filter_form(f: &Filter, services: &[String], names: &[String]) -> String {
    let dur = |d: Option<std::time::Duration>| d.map(duration_text).unwrap_or_default();
    let time = |t: Option<u64>| t.map(format_time).unwrap_or_default();
    render(&FilterForm {
        service: f.service.as_deref().unwrap_or(""),
        name: f.name.as_deref().unwrap_or(""),
        status: f.status.map(StatusFilter::as_str).unwrap_or(""),
        trace_status: f.trace_status.map(StatusFilter::as_str).unwrap_or(""),
        min: dur(f.min_duration),
        max: dur(f.max_duration),
        since: dur(f.since),
        attrs: f.attrs.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        from: time(f.from_unix_nano),
        to: time(f.to_unix_nano),
        limit: f.limit,
        services,
        names: &names[..names.len().min(500)],
    })
}

const PLOT_W: f64 = 1000.0;
const PLOT_H: f64 = 170.0;
const PAD_L: f64 = 70.0;
const PAD_B: f64 = 22.0;
const PAD_T: f64 = 8.0;

fn f1(v: f64) -> String {
    format!("{v:.1}")
}

struct Dot<'a> {
    id: &'a str,
    status: &'a str,
    name: &'a str,
    dur: String,
    time: String,
    x: String,
    y: String,
}

#[derive(Template)]
#[template(path = "scatter.html")]
struct Scatter<'a> {
    w: f64,
    h: f64,
    pad_l: f64,
    pad_t: f64,
    yb: f64,
    xr: f64,
    tx: f64,
    ty: f64,
    tb: f64,
    dmax: String,
    first: String,
    last: String,
    dots: Vec<Dot<'a>>,
}

/// Duration over start time of the matching traces: one dot per trace (red when in error), each a
/// link to its trace. Linear axes from 0 to the longest duration and from the first to the last
/// start.
pub fn scatter(rows: &[TraceSummary]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let t0 = rows.iter().map(|r| r.start_unix_nano).min().unwrap_or(0);
    let t1 = rows.iter().map(|r| r.start_unix_nano).max().unwrap_or(0);
    let dmax = rows.iter().map(|r| r.duration_ns).max().unwrap_or(0).max(1);
    let span = (t1 - t0).max(1) as f64;
    let (w, h) = (PLOT_W - PAD_L - 10.0, PLOT_H - PAD_B - PAD_T);
    let dots = rows
        .iter()
        .map(|r| {
            let x = if t1 == t0 {
                PAD_L + w / 2.0
            } else {
                PAD_L + (r.start_unix_nano - t0) as f64 / span * w
            };
            let y = PAD_T + h - r.duration_ns as f64 / dmax as f64 * h;
            Dot {
                id: &r.trace_id,
                status: r.status,
                name: &r.root_name,
                dur: format_duration(r.duration_ns),
                time: format_time(r.start_unix_nano),
                x: f1(x),
                y: f1(y),
            }
        })
        .collect();
    render(&Scatter {
        w: PLOT_W,
        h: PLOT_H,
        pad_l: PAD_L,
        pad_t: PAD_T,
        yb: PAD_T + h,
        xr: PAD_L + w,
        tx: PAD_L - 6.0,
        ty: PAD_T + 10.0,
        tb: PLOT_H - 4.0,
        dmax: format_duration(dmax),
        first: format_time(t0),
        last: format_time(t1),
        dots,
    })
}

struct TableRow<'a> {
    id: &'a str,
    status: &'a str,
    time: String,
    colour: &'static str,
    service: &'a str,
    root: &'a str,
    dur: String,
    spans: usize,
}

#[derive(Template)]
#[template(path = "trace_table.html")]
struct TraceTable<'a> {
    rows: Vec<TableRow<'a>>,
}

/// The trace table, with a pair of radio buttons per row to pick two traces to compare.
pub fn trace_table(rows: &[TraceSummary]) -> String {
    // Services are coloured in name order, like a trace's (distinct for up to twenty).
    let mut services: Vec<&str> = rows.iter().map(|r| r.service.as_str()).collect();
    services.sort_unstable();
    services.dedup();
    let colour = |svc: &str| waterfall::colour(services.binary_search(&svc).unwrap_or(0));
    render(&TraceTable {
        rows: rows
            .iter()
            .map(|r| TableRow {
                id: &r.trace_id,
                status: r.status,
                time: format_time(r.start_unix_nano),
                colour: colour(&r.service),
                service: &r.service,
                root: if r.root_name.is_empty() {
                    "(unnamed)"
                } else {
                    &r.root_name
                },
                dur: format_duration(r.duration_ns),
                spans: r.span_count,
            })
            .collect(),
    })
}

struct StripRow<'a> {
    name: &'a str,
    count: u64,
    error_rate: String,
    p50: String,
    p95: String,
    p99: String,
}

#[derive(Template)]
#[template(path = "strip.html")]
struct Strip<'a> {
    title: &'a str,
    rows: Vec<StripRow<'a>>,
    more: usize,
}

/// A span-name table (count, error rate, p50/p95/p99), most frequent first.
pub fn strip(stats: &[NameStats], title: &str) -> String {
    let mut rows: Vec<&NameStats> = stats.iter().collect();
    rows.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    render(&Strip {
        title,
        more: rows.len().saturating_sub(MAX_STRIP_ROWS),
        rows: rows
            .iter()
            .take(MAX_STRIP_ROWS)
            .map(|s| StripRow {
                name: &s.name,
                count: s.count,
                error_rate: format!("{:.1}", s.error_rate() * 100.0),
                p50: format_duration(s.p50_ns),
                p95: format_duration(s.p95_ns),
                p99: format_duration(s.p99_ns),
            })
            .collect(),
    })
}

/// What the list shows, gathered by the viewer.
pub struct ListData<'a> {
    pub facts: StoreFacts,
    pub filter: &'a Filter,
    /// Why the filter in the URL was not understood (the page answers 400).
    pub problem: Option<String>,
    /// Suggestions for the form: every stored service and span name.
    pub services: &'a [String],
    pub names: &'a [String],
    /// The newest matching traces, newest first.
    pub rows: &'a [TraceSummary],
    /// How many of them to show.
    pub shown: usize,
    /// How many traces match (counted up to a limit: `matched_more` says there are more).
    pub matched: usize,
    pub matched_more: bool,
    /// Span-name statistics over the matching traces.
    pub stats: &'a [NameStats],
}

#[derive(Template)]
#[template(path = "list.html")]
struct List<'a> {
    facts: String,
    form: String,
    problem: Option<&'a str>,
    stored: usize,
    matched: usize,
    matched_more: bool,
    shown: usize,
    filtered: bool,
    scatter: String,
    table: String,
    strip: String,
}

/// The list's fragment: the store's facts, the filter form, the scatter, the table and the
/// span-name table of the matching traces.
pub fn list_fragment(d: &ListData) -> String {
    let f = &d.facts;
    let shown = &d.rows[..d.shown.min(d.rows.len())];
    render(&List {
        facts: render(&Facts {
            f: FactsView {
                traces: f.traces,
                spans: f.spans,
                retention: f.retention.clone(),
                dropped_traces: f.dropped_traces,
                dropped_spans: f.dropped_spans,
            },
        }),
        form: filter_form(d.filter, d.services, d.names),
        problem: d.problem.as_deref(),
        stored: f.traces,
        matched: d.matched,
        matched_more: d.matched_more,
        shown: shown.len(),
        filtered: !d.filter.is_empty(),
        scatter: if d.rows.is_empty() {
            String::new()
        } else {
            scatter(shown)
        },
        table: if d.rows.is_empty() {
            String::new()
        } else {
            trace_table(shown)
        },
        strip: if d.rows.is_empty() {
            String::new()
        } else {
            strip(d.stats, "span names in the matching traces")
        },
    })
}

// ---------------------------------------------------------------------------------------------
// A trace

#[derive(Template)]
#[template(path = "attrs.html")]
struct Attrs<'a> {
    sid: String,
    selected: bool,
    name: &'a str,
    critical: bool,
    rows: Vec<(String, String)>,
    events: Vec<(String, &'a str, String)>,
    links: Vec<(String, String, String)>,
    resource: Vec<(&'a str, String)>,
    logs: String,
}

/// A span's details: ids, kind, service, timing, status, attributes, events, its log records
/// (`logs`, with a link to the logs page filtered to the span), links and its resource. Keys
/// are shown exactly as sent (attribute keys are case-sensitive).
pub fn attrs_section(
    resource: &[KeyValue],
    s: &Span,
    trace_start: u64,
    critical: bool,
    selected: Option<&str>,
    logs: &[&LogRow],
) -> String {
    let sid = otlp::to_hex(&s.span_id);
    let logs = signals::span_logs(&otlp::to_hex(&s.trace_id), &sid, trace_start, logs);
    let text = |kv: &KeyValue| kv.get().map(otlp::Value::to_text).unwrap_or_default();
    // An event's or a link's attributes on one line: `k=v, k=v`.
    let inline = |attrs: &[KeyValue]| {
        attrs
            .iter()
            .map(|kv| format!("{}={}", kv.key, text(kv)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut rows: Vec<(String, String)> = vec![
        ("span id".into(), sid.clone()),
        ("parent span id".into(), otlp::to_hex(&s.parent_span_id)),
        ("kind".into(), otlp::SpanKind::name_of(s.kind).into()),
        (
            "service".into(),
            service_name(resource).unwrap_or_else(|| UNKNOWN_SERVICE.into()),
        ),
        ("duration".into(), format_duration(metrics::duration_ns(s))),
        (
            "start offset".into(),
            format!(
                "+{}",
                format_duration(s.start_time_unix_nano.saturating_sub(trace_start))
            ),
        ),
        ("start (UTC)".into(), format_time(s.start_time_unix_nano)),
    ];
    if let Some(st) = &s.status {
        let code = otlp::StatusCode::name_of(st.code).to_ascii_uppercase();
        let text = if st.message.is_empty() {
            code.to_string()
        } else {
            format!("{code}: {}", st.message)
        };
        rows.push(("status".into(), text));
    }
    rows.extend(s.attributes.iter().map(|kv| (kv.key.clone(), text(kv))));
    render(&Attrs {
        selected: selected == Some(sid.as_str()),
        sid,
        name: &s.name,
        critical,
        rows,
        events: s
            .events
            .iter()
            .map(|ev| {
                (
                    format_duration(ev.time_unix_nano.saturating_sub(trace_start)),
                    ev.name.as_str(),
                    inline(&ev.attributes),
                )
            })
            .collect(),
        links: s
            .links
            .iter()
            .map(|l| {
                (
                    otlp::to_hex(&l.trace_id),
                    otlp::to_hex(&l.span_id),
                    inline(&l.attributes),
                )
            })
            .collect(),
        resource: resource
            .iter()
            .map(|kv| (kv.key.as_str(), text(kv)))
            .collect(),
        logs,
    })
}

/// One task of a trace against its earlier comparable runs.
pub struct TaskLine {
    pub key: TaskKey,
    pub this: Run,
    /// Its comparable earlier runs ([`explore::history`] with `Some(&this)`).
    pub history: History,
}

struct TaskView {
    name: String,
    duration: String,
    /// `slower` or `faster` when out of line.
    direction: Option<&'static str>,
    text: String,
    history_href: String,
    /// The median comparable earlier run, and how many there were.
    baseline: Option<(String, usize)>,
}

/// What a trace page shows, gathered by the viewer.
pub struct TraceData<'a> {
    pub trace_hex: &'a str,
    pub summary: &'a TraceSummary,
    pub spans: &'a [SpanRef<'a>],
    pub selected: Option<&'a str>,
    /// Every run of a task among the stored traces, oldest first.
    pub task_runs: &'a dyn Fn(&TaskKey) -> Vec<Run>,
    /// Span-name statistics over every stored trace, for this trace's names.
    pub stats: &'a [NameStats],
    /// The trace's log records (marked on their spans' bars, listed in their details).
    pub logs: &'a [LogRow],
}

#[derive(Template)]
#[template(path = "trace.html")]
struct TracePage<'a> {
    s: &'a TraceSummary,
    started: String,
    duration: String,
    trace: &'a str,
    errors: usize,
    tasks: Vec<TaskView>,
    legend: Vec<(&'a str, &'static str)>,
    rows: usize,
    details: Option<String>,
    data: String,
    strip: String,
}

/// Most tasks of one trace measured against their history.
pub const MAX_TASK_LINES: usize = 10;

/// JSON for a `<script type="application/json">` element: `<` is written `\u003c`, so no
/// text in the data can close the element.
pub fn script_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value)
        .expect("viewer JSON serialises")
        .replace('<', "\\u003c")
}

/// A trace's fragment: facts, its tasks against their history, the toolbar (views, find, next
/// error, zoom), the waterfall's data (drawn by `assets/js/waterfall.js`, only the rows in
/// view), the selected span's details beside it, and the span-name table.
pub fn trace_fragment(d: &TraceData) -> String {
    let refs: Vec<&Span> = d.spans.iter().map(|(_, s)| *s).collect();
    let tree = Tree::build(&refs);
    let path = explore::critical_path(&refs, &tree);
    let mut data = waterfall::data(d.trace_hex, d.spans, &tree, &path, d.selected);
    let start = d.summary.start_unix_nano;
    data.logs = signals::log_marks_by_row(data.rows.iter().map(|r| r.0.as_str()), start, d.logs);
    let logs_by_span = signals::by_span(d.logs);
    let tasks = explore::tasks(d.spans, &tree)
        .into_iter()
        .take(MAX_TASK_LINES)
        .map(|(key, i)| {
            let this = explore::run_of(d.spans[i].1);
            let runs = (d.task_runs)(&key);
            let h = explore::history(&runs, Some(&this), explore::HISTORY_RUNS);
            let direction = explore::direction(&this, &h);
            let verdict = explore::out_of_line(&this, &h)
                .map(|v| format!("{}: {v}", direction.unwrap_or("out of line")));
            TaskView {
                name: key.name.clone(),
                duration: format_duration(this.duration_ns),
                direction,
                text: verdict.unwrap_or_else(|| match (h.p50_ns, h.p95_ns) {
                    (Some(p50), Some(p95)) => format!(
                        "{} earlier comparable runs, p50 {}, p95 {}",
                        h.runs.len(),
                        format_duration(p50),
                        format_duration(p95)
                    ),
                    _ => "first run of this task".to_string(),
                }),
                history_href: history_href(&key, this.cached),
                baseline: explore::baseline(&h)
                    .filter(|b| b.trace_id != d.trace_hex)
                    .map(|b| (b.trace_id.clone(), h.runs.len())),
            }
        })
        .collect();
    let details = data.selected.map(|row| {
        let i = data.span_of_row[row];
        let (res, s) = d.spans[i];
        let logs = logs_by_span
            .get(data.rows[row].0.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        attrs_section(res, s, start, path.on_path[i], d.selected, logs)
    });
    render(&TracePage {
        s: d.summary,
        started: format_time(d.summary.start_unix_nano),
        duration: format_duration(d.summary.duration_ns),
        trace: d.trace_hex,
        errors: d.summary.error_count,
        tasks,
        legend: data
            .services
            .iter()
            .copied()
            .zip(data.colours.iter().copied())
            .collect(),
        rows: data.rows.len(),
        details,
        data: script_json(&data),
        strip: strip(d.stats, "span names in this trace, over all stored traces"),
    })
}

/// One span's details (for the side panel), with its log records (`logs`: the span's, or the
/// trace's: only the span's are listed), or `None` when the trace does not hold it.
pub fn span_details(spans: &[SpanRef], span_hex: &str, logs: &[LogRow]) -> Option<String> {
    let refs: Vec<&Span> = spans.iter().map(|(_, s)| *s).collect();
    let i = refs
        .iter()
        .position(|s| otlp::to_hex(&s.span_id) == span_hex)?;
    let tree = Tree::build(&refs);
    let path = explore::critical_path(&refs, &tree);
    let (start, _) = metrics::extent(&refs);
    let (res, s) = spans[i];
    let logs: Vec<&LogRow> = logs.iter().filter(|r| r.span_id == span_hex).collect();
    Some(attrs_section(
        res,
        s,
        start,
        path.on_path[i],
        Some(span_hex),
        &logs,
    ))
}

// ---------------------------------------------------------------------------------------------
// Compare

fn signed(d: i64) -> String {
    let sign = if d < 0 { "−" } else { "+" };
    format!("{sign}{}", format_duration(d.unsigned_abs()))
}

struct CompareRowView<'a> {
    class: &'static str,
    key: &'a str,
    pad: usize,
    name: &'a str,
    a: String,
    b: String,
    delta: String,
    ratio: String,
}

#[derive(Template)]
#[template(path = "compare.html")]
struct ComparePage<'a> {
    a: &'a TraceSummary,
    b: &'a TraceSummary,
    a_time: String,
    b_time: String,
    a_dur: String,
    b_dur: String,
    delta_class: &'static str,
    delta: String,
    rows: Vec<CompareRowView<'a>>,
    only_a: Vec<&'a str>,
    only_b: Vec<&'a str>,
}

/// The comparison of two traces: one row per span position, deltas `B − A`, and the positions
/// found in only one of them listed after the table.
pub fn comparison(a: &TraceSummary, b: &TraceSummary, c: &Comparison) -> String {
    let rows = c
        .rows
        .iter()
        .map(|r| {
            let (class, delta, ratio) = match (r.a_ns, r.b_ns, r.delta_ns()) {
                (Some(a), Some(b), Some(d)) => (
                    if d > 0 {
                        "slower"
                    } else if d < 0 {
                        "faster"
                    } else {
                        "same"
                    },
                    signed(d),
                    if a > 0 {
                        format!("{:.2}x", b as f64 / a as f64)
                    } else {
                        String::new()
                    },
                ),
                (Some(_), None, _) => ("only-a", "only in A".to_string(), String::new()),
                _ => ("only-b", "only in B".to_string(), String::new()),
            };
            CompareRowView {
                class,
                key: &r.key,
                pad: 10 + 14 * r.depth.min(16),
                name: &r.name,
                a: r.a_ns.map(format_duration).unwrap_or_else(|| "–".into()),
                b: r.b_ns.map(format_duration).unwrap_or_else(|| "–".into()),
                delta,
                ratio,
            }
        })
        .collect();
    let keys = |rows: &mut dyn Iterator<Item = &'_ CompareRow>| -> Vec<String> {
        rows.map(|r| r.key.clone()).collect()
    };
    let only_a = keys(&mut c.only_in_a());
    let only_b = keys(&mut c.only_in_b());
    render(&ComparePage {
        a,
        b,
        a_time: format_time(a.start_unix_nano),
        b_time: format_time(b.start_unix_nano),
        a_dur: format_duration(c.a_duration_ns),
        b_dur: format_duration(c.b_duration_ns),
        delta_class: if c.b_duration_ns >= c.a_duration_ns {
            "slower"
        } else {
            "faster"
        },
        delta: signed(c.b_duration_ns as i64 - c.a_duration_ns as i64),
        rows,
        only_a: only_a.iter().map(String::as_str).collect(),
        only_b: only_b.iter().map(String::as_str).collect(),
    })
}

#[derive(Template)]
#[template(path = "compare_form.html")]
struct CompareForm<'a> {
    a: &'a str,
    b: &'a str,
    problem: &'a str,
}

/// The compare page without two traces: a form asking for them.
pub fn compare_form(a: &str, b: &str, problem: &str) -> String {
    render(&CompareForm { a, b, problem })
}

// ---------------------------------------------------------------------------------------------
// History

/// Most runs drawn in a history chart.
pub const CHART_RUNS: usize = 50;

struct RunBar<'a> {
    trace: &'a str,
    span: &'a str,
    class: String,
    title: String,
    x: String,
    y: String,
    w: String,
    h: String,
}

struct PctLine {
    label: &'static str,
    y: String,
    ly: String,
    value: String,
}

#[derive(Template)]
#[template(path = "history_chart.html")]
struct HistoryChart<'a> {
    name: &'a str,
    w: f64,
    h: f64,
    pad_l: f64,
    yb: f64,
    xr: f64,
    tx: f64,
    ty: f64,
    dmax: String,
    bars: Vec<RunBar<'a>>,
    lines: Vec<PctLine>,
}

/// A task's runs as bars (oldest left), with p50 and p95 lines, each bar a link to its trace.
pub fn history_chart(key: &TaskKey, runs: &[Run], h: &History) -> String {
    let runs = &runs[runs.len().saturating_sub(CHART_RUNS)..];
    if runs.is_empty() {
        return message(None, "No runs of this task are stored.", false);
    }
    let dmax = runs
        .iter()
        .map(|r| r.duration_ns)
        .chain(h.p95_ns)
        .max()
        .unwrap_or(1)
        .max(1);
    let (w, hgt) = (PLOT_W - PAD_L - 10.0, PLOT_H - PAD_B - PAD_T);
    let slot = w / runs.len() as f64;
    let bars = runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let bh = (r.duration_ns as f64 / dmax as f64 * hgt).max(1.0);
            let mut class = String::from("run");
            if r.error {
                class.push_str(" error");
            }
            if r.cached == Some(true) {
                class.push_str(" cached");
            }
            RunBar {
                trace: &r.trace_id,
                span: &r.span_id,
                class,
                title: format!(
                    "{} · {} UTC{}",
                    format_duration(r.duration_ns),
                    format_time(r.start_unix_nano),
                    match r.cached {
                        Some(true) => " · cached",
                        Some(false) => " · not cached",
                        None => "",
                    }
                ),
                x: f1(PAD_L + i as f64 * slot + slot * 0.15),
                y: f1(PAD_T + hgt - bh),
                w: f1((slot * 0.7).max(1.0)),
                h: f1(bh),
            }
        })
        .collect();
    let lines = [("p50", h.p50_ns), ("p95", h.p95_ns)]
        .into_iter()
        .filter_map(|(label, v)| {
            let v = v?;
            let y = PAD_T + hgt - v as f64 / dmax as f64 * hgt;
            Some(PctLine {
                label,
                y: f1(y),
                ly: f1(if y < PAD_T + 14.0 { y + 12.0 } else { y - 3.0 }),
                value: format_duration(v),
            })
        })
        .collect();
    render(&HistoryChart {
        name: &key.name,
        w: PLOT_W,
        h: PLOT_H,
        pad_l: PAD_L,
        yb: PAD_T + hgt,
        xr: PAD_L + w,
        tx: PAD_L - 6.0,
        ty: PAD_T + 10.0,
        dmax: format_duration(dmax),
        bars,
        lines,
    })
}

#[derive(Template)]
#[template(path = "history.html")]
struct HistoryPage<'a> {
    /// `slower` or `faster` when the latest run is out of line.
    direction: &'static str,
    runs: usize,
    which: &'static str,
    last_n: usize,
    p50: String,
    p95: String,
    all_href: String,
    cached_href: String,
    uncached_href: String,
    verdict: Option<&'a str>,
    chart: String,
}

/// A task's history page: its runs (filtered by `cached` when given, oldest first), the p50 and
/// p95 of the last [`CHART_RUNS`], the verdict on the latest run and the chart.
pub fn history_fragment(key: &TaskKey, cached: Option<bool>, runs: &[Run]) -> String {
    let h = explore::history(runs, None, CHART_RUNS);
    let mut direction = "";
    let verdict = runs.last().map(|last| {
        let before = explore::history(runs, Some(last), explore::HISTORY_RUNS);
        direction = explore::direction(last, &before).unwrap_or("");
        format!(
            "Latest run ({} at {} UTC): {}",
            format_duration(last.duration_ns),
            format_time(last.start_unix_nano),
            explore::out_of_line(last, &before)
                .map(|v| format!("{direction}: {v}"))
                .unwrap_or_else(|| {
                    if before.runs.len() < explore::MIN_HISTORY {
                        format!(
                            "too few comparable earlier runs ({}) to judge",
                            before.runs.len()
                        )
                    } else {
                        format!("in line with the last {} runs", before.runs.len())
                    }
                })
        )
    });
    render(&HistoryPage {
        direction,
        runs: runs.len(),
        which: match cached {
            Some(true) => " (cached only)",
            Some(false) => " (not cached only)",
            None => "",
        },
        last_n: h.runs.len(),
        p50: h.p50_ns.map(format_duration).unwrap_or_else(|| "–".into()),
        p95: h.p95_ns.map(format_duration).unwrap_or_else(|| "–".into()),
        all_href: history_href(key, None),
        cached_href: history_href(key, Some(true)),
        uncached_href: history_href(key, Some(false)),
        verdict: verdict.as_deref(),
        chart: history_chart(key, runs, &h),
    })
}

/// The link to a task's history page.
pub fn history_href(key: &TaskKey, cached: Option<bool>) -> String {
    let mut q = format!(
        "/history?service={}&name={}",
        percent_encode(&key.service),
        percent_encode(&key.name)
    );
    if let Some(c) = cached {
        q.push_str(if c { "&cached=true" } else { "&cached=false" });
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::tests::span;
    use otelctl_otlp::{Status, StatusCode};

    /// root(0..1000) > a(100..600) > a1(200..300), a2(350..550); root > b(650..950) > b1(700..900)
    fn nested() -> Vec<Span> {
        vec![
            span(1, 5, 2, 350, 550),
            span(1, 1, 0, 0, 1000),
            span(1, 6, 3, 700, 900),
            span(1, 2, 1, 100, 600),
            span(1, 4, 2, 200, 300),
            span(1, 3, 1, 650, 950),
        ]
    }

    #[test]
    fn the_trace_page_carries_every_span_and_the_selected_ones_details() {
        let mut spans = nested();
        spans[0].name = "</script><script>alert(1)</script>".into();
        spans[0].status = Some(Status {
            code: StatusCode::Error as i32,
            message: "x".into(),
        });
        let res = vec![KeyValue::string("service.name", "svc")];
        let with: Vec<SpanRef> = spans.iter().map(|s| (res.as_slice(), s)).collect();
        let summary = crate::summary::summarize(&[1; 16], &with);
        let no_runs = |_: &TaskKey| Vec::new();
        let page = |selected| {
            trace_fragment(&TraceData {
                trace_hex: &summary.trace_id,
                summary: &summary,
                spans: &with,
                selected,
                task_runs: &no_runs,
                stats: &[],
                logs: &[],
            })
        };
        let html = page(Some("0505050505050505"));
        assert!(!html.contains("<script>alert"), "{html}");
        let data = html
            .split(r#"<script type="application/json" id="trace-data">"#)
            .nth(1)
            .unwrap()
            .split("</script>")
            .next()
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(data).unwrap();
        assert_eq!(v["rows"].as_array().unwrap().len(), spans.len());
        assert_eq!(v["selected"], 3);
        assert!(v["names"]
            .as_array()
            .unwrap()
            .contains(&"</script><script>alert(1)</script>".into()));
        assert_eq!(
            html.matches(r#"<section class="attrs" data-span="0505050505050505">"#)
                .count(),
            1,
            "the selected span's details, shown"
        );
        assert!(html.contains(r#"title="next failed span (e)">next error"#));
        assert!(html.contains("1 failed span"));
        let html = page(None);
        assert!(!html.contains("<section class=\"attrs\"") && html.contains("select-hint"));
        assert_eq!(
            span_details(&with, "0303030303030303", &[]).map(|h| h.contains("s3")),
            Some(true)
        );
        assert_eq!(span_details(&with, "0909090909090909", &[]), None);
    }

    #[test]
    fn every_text_is_escaped_in_the_shell_and_the_forms() {
        let html = page("<t>", "trace", Some("\"x"), "a & b", "<p>kept</p>");
        assert!(html.contains("<title>&#60;t&#62;</title>"), "{html}");
        assert!(html.contains(r#"data-trace="&#34;x""#));
        assert!(html.contains("· a &#38; b</h1>"));
        assert!(html.contains(r#"data-page="trace" data-trace="#));
        assert!(html.contains("<main id=\"live\"><p>kept</p></main>"));
        assert!(html.contains(r#"src="/assets/js/trace.js""#));
        let form = compare_form("\"><script>", "b", "why <b>");
        assert!(!form.contains("<script>") && !form.contains("why <b>"));
        let f = Filter {
            service: Some("a\"b".into()),
            attrs: vec![("k".into(), "<v>".into())],
            ..Default::default()
        };
        let form = filter_form(&f, &["<s>".into()], &[]);
        assert!(form.contains(r#"value="a&#34;b""#), "{form}");
        assert!(form.contains(r#"value="k=&#60;v&#62;""#));
        assert!(form.contains(r#"<option value="&#60;s&#62;">"#));
    }

    #[test]
    fn a_span_name_is_text_wherever_it_shows() {
        let mut s = span(1, 1, 0, 0, 10);
        s.name = "<img src=x onerror=alert(1)>".into();
        let res = vec![KeyValue::string("service.name", "<svc>")];
        let spans: Vec<SpanRef> = vec![(&res, &s)];
        let summary = crate::summary::summarize(&[1; 16], &spans);
        let no_runs = |_: &TaskKey| Vec::new();
        let html = trace_fragment(&TraceData {
            trace_hex: &summary.trace_id,
            summary: &summary,
            spans: &spans,
            selected: None,
            task_runs: &no_runs,
            stats: &metrics::by_name([&s]),
            logs: &[],
        });
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<svc>"));
        assert!(html.contains("&#60;img src=x onerror=alert(1)&#62;"));
        let list = list_fragment(&ListData {
            facts: StoreFacts {
                traces: 1,
                spans: 1,
                ..Default::default()
            },
            filter: &Filter::default(),
            problem: Some("<bad>".into()),
            services: &[],
            names: &[],
            rows: std::slice::from_ref(&summary),
            shown: 1,
            matched: 1,
            matched_more: false,
            stats: &[],
        });
        assert!(!list.contains("<img") && !list.contains("<bad>"));
        assert_eq!(list.matches("class=\"trace ok\"").count(), 1);
    }

    #[test]
    fn a_spans_logs_are_in_its_details_and_on_its_bar() {
        let spans = nested();
        let res = vec![KeyValue::string("service.name", "svc")];
        let with: Vec<SpanRef> = spans.iter().map(|s| (res.as_slice(), s)).collect();
        let summary = crate::summary::summarize(&[1; 16], &with);
        let no_runs = |_: &TaskKey| Vec::new();
        let log = |id: i64, span: u8, at: u64, body: &str| LogRow {
            id,
            time_unix_nano: at,
            severity_number: 17,
            body: body.into(),
            trace_id: otlp::to_hex(&[1; 16]),
            span_id: otlp::to_hex(&[span; 8]),
            ..LogRow::default()
        };
        let logs = vec![
            log(1, 5, 400, "<img src=x onerror=alert(1)>"),
            log(2, 5, 380, "second"),
            log(3, 2, 150, "of a"),
        ];
        let html = trace_fragment(&TraceData {
            trace_hex: &summary.trace_id,
            summary: &summary,
            spans: &with,
            selected: Some("0505050505050505"),
            task_runs: &no_runs,
            stats: &[],
            logs: &logs,
        });
        assert!(!html.contains("<img"), "{html}");
        assert_eq!(
            html.matches("<tr class=\"log sev-error\">").count(),
            2,
            "{html}"
        );
        assert!(
            html.contains("/logs?trace=01010101010101010101010101010101&#38;span=0505050505050505")
        );
        // Marks: the rows of a (1) and a2 (3), in time order within a row.
        assert!(
            html.contains(r#""logs":[[1,150,"error"],[3,380,"error"],[3,400,"error"]]"#),
            "{html}"
        );
        let side = span_details(&with, "0505050505050505", &logs).unwrap();
        assert_eq!(side.matches("sev-error").count(), 2);
        assert!(span_details(&with, "0606060606060606", &logs)
            .unwrap()
            .contains("attrs"));
        assert!(!span_details(&with, "0606060606060606", &logs)
            .unwrap()
            .contains("span-logs"));
    }
}
