//! The web viewer: recent traces, a trace's waterfall, per-name metrics, live updates.
//!
//! Routes (all on 127.0.0.1, the Grafana port +3):
//!
//! | route | answer |
//! |---|---|
//! | `GET /` | the list of recent traces and the metrics strip |
//! | `GET /trace/<id>[?span=<span id>]` | a trace: SVG waterfall, the selected span's attributes, metrics of its span names |
//! | `GET /fragment/traces`, `GET /fragment/trace/<id>` | the same content without the page shell (live updates) |
//! | `GET /events` | server-sent events: `change` with `{"generation","traces","cleared","reset"}` |
//! | `GET /api/traces` | trace summaries and counters as JSON |
//! | `GET /api/export[?trace=<id>][&since_unix_nano=<n>]` | stored traces as one OTLP/JSON request |
//! | `POST /api/clear` | removes every stored trace (memory and disk), then `303` to `/` |
//!
//! Every request must name this viewer exactly in `Host` (`127.0.0.1`, `localhost` or `[::1]`
//! with the viewer's port; anything else, such as a rebound DNS name, is refused with `403`),
//! and a request that carries `Origin` must come from this viewer's own pages (`null`, what a
//! sandboxed frame sends, is refused too): a web page elsewhere cannot read or clear the traces.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;

use serde::Serialize;

use otelctl_config::formats::format_time;
use otelctl_otlp::{self as otlp, ExportTraceServiceRequest, Span};

use super::explore::{self, Filter, Row, SpanRef, TaskKey, Tree};
use super::html::{self, escape};
use super::metrics::{self, NameStats};
use super::pages;
use super::server::{Handler, Reply, ReplyFuture, Request};
use super::store::{Change, Counters, Store, TraceSummary, UNKNOWN_SERVICE};
use super::waterfall;
use super::Shared;
use otelctl_config::formats::format_duration;

/// Most live-update (SSE) clients at once.
pub const MAX_SSE_CLIENTS: usize = 32;
/// Most rows in the list and in the metrics strip.
pub const MAX_LIST_ROWS: usize = 200;
const MAX_STRIP_ROWS: usize = 30;
/// An SSE comment is sent this often, so a dead client is noticed.
const KEEPALIVE: Duration = Duration::from_secs(15);
/// At most one `change` event per client this often (a flood becomes a few refreshes).
const EVENT_SPACING: Duration = Duration::from_millis(150);

/// The header that tells `otelctl export` it reached this viewer (and not, say, Grafana).
pub const EMBEDDED_HEADER: &str = "X-Otelctl-Embedded";

pub struct Viewer {
    pub(crate) shared: Arc<Shared>,
    /// The port the viewer listens on: the only one `Host` and `Origin` may name.
    pub(crate) port: u16,
}

fn html_reply(status: u16, body: String) -> Reply {
    Reply::new(status, "text/html; charset=utf-8", body.into_bytes())
        .with_header("Cache-Control", "no-store")
}

fn json_reply<T: Serialize>(value: &T) -> Reply {
    Reply::new(
        200,
        "application/json",
        serde_json::to_vec(value).expect("viewer JSON serialises"),
    )
    .with_header("Cache-Control", "no-store")
    .with_header(EMBEDDED_HEADER, "1")
}

/// The names this viewer answers to: loopback, exactly, with its port.
fn own_authority(authority: &str, port: u16) -> bool {
    let Some((name, p)) = authority.rsplit_once(':') else {
        return false;
    };
    !p.starts_with('+')
        && p.parse::<u16>().ok() == Some(port)
        && (name == "127.0.0.1" || name.eq_ignore_ascii_case("localhost") || name == "[::1]")
}

const NOT_OWN_HOST: &str =
    "the viewer answers requests addressed to 127.0.0.1, localhost or [::1] with its own port only\n";
const NOT_OWN_ORIGIN: &str = "requests from other web pages are refused\n";

/// Why a request does not come from this viewer's own pages, if it does not.
fn foreign(req: &Request, port: u16) -> Option<&'static str> {
    if req.header_count("host") != 1 || !req.header("host").is_some_and(|h| own_authority(h, port))
    {
        return Some(NOT_OWN_HOST);
    }
    match req.header_count("origin") {
        0 => None,
        1 => {
            let own = req
                .header("origin")
                .and_then(|o| o.strip_prefix("http://"))
                .is_some_and(|a| own_authority(a, port));
            (!own).then_some(NOT_OWN_ORIGIN)
        }
        _ => Some(NOT_OWN_ORIGIN),
    }
}

impl Handler for Viewer {
    fn handle(self: Arc<Self>, req: Request) -> ReplyFuture {
        Box::pin(async move {
            if let Some(why) = foreign(&req, self.port) {
                return Reply::text(403, why);
            }
            match (req.method.as_str(), req.path.as_str()) {
                ("POST", "/api/clear") => self.clear().await,
                ("GET", "/events") => self.events(&req),
                // Pages are rendered on the blocking pool: a large store takes a while, and the
                // event loop serves the receiver too.
                _ => tokio::task::spawn_blocking(move || self.route(&req))
                    .await
                    .unwrap_or_else(|e| {
                        Reply::text(503, format!("the page was not rendered: {e}\n"))
                    }),
            }
        })
    }
}

impl Viewer {
    fn route(&self, req: &Request) -> Reply {
        let method = req.method.as_str();
        let path = req.path.as_str();
        match (method, path) {
            ("GET", "/") => {
                let (status, fragment) = self.list_fragment(&req.query_pairs());
                html_reply(
                    status,
                    html::page("otelctl · traces", "list", None, "traces", &fragment),
                )
            }
            ("GET", "/fragment/traces") => {
                let (status, fragment) = self.list_fragment(&req.query_pairs());
                html_reply(status, fragment)
            }
            ("GET", "/compare") => {
                let (status, fragment) = self.compare_page(req);
                html_reply(
                    status,
                    html::page("otelctl · compare", "compare", None, "compare", &fragment),
                )
            }
            ("GET", "/history") => {
                let (status, fragment, heading) = self.history_page(req);
                html_reply(
                    status,
                    html::page("otelctl · history", "history", None, &heading, &fragment),
                )
            }
            ("GET", "/api/search") => self.api_search(req),
            ("GET", "/api/traces") => self.api_traces(),
            ("GET", "/api/export") => self.api_export(req),
            ("GET", "/favicon.ico") => Reply::new(204, "image/x-icon", Vec::new()),
            ("GET", p) if p.starts_with("/trace/") => {
                let id = &p["/trace/".len()..];
                let selected = req.query_param("span");
                let (status, fragment, title) = self.trace_fragment(id, selected.as_deref());
                let heading = format!("trace {}", escape(id));
                html_reply(
                    status,
                    html::page(&title, "trace", Some(id), &heading, &fragment),
                )
            }
            ("GET", p) if p.starts_with("/fragment/trace/") => {
                let id = &p["/fragment/trace/".len()..];
                let selected = req.query_param("span");
                let (status, fragment, _) = self.trace_fragment(id, selected.as_deref());
                html_reply(status, fragment)
            }
            ("GET", _) => html_reply(
                404,
                html::page(
                    "otelctl · not found",
                    "list",
                    None,
                    "not found",
                    &format!(
                        r#"<p class="empty">No page at {}. <a href="/">All traces</a></p>"#,
                        escape(path)
                    ),
                ),
            ),
            _ => Reply::text(405, "method not allowed\n"),
        }
    }
}

fn strip(stats: &[NameStats], title: &str) -> String {
    let mut rows: Vec<&NameStats> = stats.iter().collect();
    rows.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    let mut out = format!(
        r#"<h2>{}</h2><table class="metrics"><thead><tr><th>span name</th><th class="num">count</th><th class="num">error rate</th><th class="num">p50</th><th class="num">p95</th><th class="num">p99</th></tr></thead><tbody>"#,
        escape(title)
    );
    for s in rows.iter().take(MAX_STRIP_ROWS) {
        let _ = write!(
            out,
            r#"<tr data-name="{n}"><td class="name">{n}</td><td class="num">{}</td><td class="num">{:.1}%</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td></tr>"#,
            s.count,
            s.error_rate() * 100.0,
            format_duration(s.p50_ns),
            format_duration(s.p95_ns),
            format_duration(s.p99_ns),
            n = escape(&s.name),
        );
    }
    if rows.len() > MAX_STRIP_ROWS {
        let _ = write!(
            out,
            r#"<tr><td colspan="6" class="hint">{} more span names</td></tr>"#,
            rows.len() - MAX_STRIP_ROWS
        );
    }
    out.push_str("</tbody></table>");
    out
}

fn facts(store: &Store) -> String {
    let c = store.counters();
    let limits = store.limits();
    format!(
        r#"<p class="facts"><b>{}</b> traces, <b>{}</b> spans stored (at most {} traces and {:.0} MiB; oldest dropped first) · dropped so far: {} traces, {} spans · percentiles are nearest-rank</p>"#,
        store.trace_count(),
        store.span_count(),
        limits.max_traces,
        limits.max_bytes as f64 / (1024.0 * 1024.0),
        c.dropped_traces,
        c.dropped_spans,
    )
}

/// Now, in Unix nanoseconds.
fn now_unix_nano() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos().min(u128::from(u64::MAX)) as u64)
        .unwrap_or(0)
}

/// Every stored trace with its summary and spans.
fn all_traces(store: &Store) -> Vec<(TraceSummary, Vec<SpanRef<'_>>)> {
    store
        .traces()
        .map(|t| {
            let spans: Vec<SpanRef> = t.spans().collect();
            (t.summary_of(&spans), spans)
        })
        .collect()
}

/// The traces matching `filter` (all of them, newest first; the caller applies the limit).
fn matching(store: &Store, filter: &Filter) -> Vec<TraceSummary> {
    let unlimited = Filter {
        limit: None,
        ..filter.clone()
    };
    explore::search(all_traces(store), &unlimited, now_unix_nano())
}

/// Every run of a task among the stored traces, oldest first.
fn task_runs(store: &Store, key: &TaskKey) -> Vec<explore::Run> {
    explore::runs_of(store.traces().map(|t| t.spans().collect()), key)
}

impl Viewer {
    fn list_fragment(&self, pairs: &[(String, String)]) -> (u16, String) {
        let (filter, problem) = match Filter::from_query(pairs) {
            Ok(f) => (f, None),
            Err(e) => (Filter::default(), Some(e.to_string())),
        };
        let store = self.shared.lock();
        let mut out = facts(&store);
        // The form's suggestions: every service and span name stored (one pass, no copies
        // until the end).
        let mut service_set: std::collections::HashSet<&str> = Default::default();
        let mut name_set: std::collections::HashSet<&str> = Default::default();
        for t in store.traces() {
            for (res, s) in t.spans() {
                if let Some(otlp::Value::StringValue(v)) = otlp::attribute(res, "service.name") {
                    service_set.insert(v);
                }
                name_set.insert(&s.name);
            }
        }
        let sorted = |set: std::collections::HashSet<&str>, most: usize| {
            let mut v: Vec<&str> = set.into_iter().collect();
            v.sort_unstable();
            v.into_iter()
                .take(most)
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        let services = sorted(service_set, 200);
        let names = sorted(name_set, 500);
        out.push_str(&pages::filter_form(&filter, &services, &names));
        let status = if let Some(p) = &problem {
            let _ = write!(
                out,
                r#"<p class="problem" id="filter-problem">{}</p>"#,
                escape(p)
            );
            400
        } else {
            200
        };
        if store.trace_count() == 0 {
            out.push_str(r#"<p class="empty" id="no-traces">No traces yet. Send OTLP/HTTP to this project's collector port (run <code>otelctl env</code> to see it), e.g. with <code>otelctl test-span</code>; they appear here as they arrive.</p>"#);
            return (status, out);
        }
        let rows = matching(&store, &filter);
        let shown = rows
            .len()
            .min(filter.limit.unwrap_or(MAX_LIST_ROWS).min(MAX_LIST_ROWS));
        let _ = write!(
            out,
            r#"<h2 id="matches" data-matches="{n}">{n} of {total} traces {what}</h2>"#,
            n = rows.len(),
            total = store.trace_count(),
            what = if filter.is_empty() {
                "(no filter)"
            } else {
                "match"
            },
        );
        if rows.is_empty() {
            out.push_str(r#"<p class="empty" id="no-matches">No stored trace matches these filters. <a href="/">Show all traces</a></p>"#);
            return (status, out);
        }
        out.push_str(&pages::scatter(&rows[..shown]));
        out.push_str(&pages::trace_table(&rows[..shown]));
        if rows.len() > shown {
            let _ = write!(
                out,
                r#"<p class="hint">Showing the newest {shown} of {} matching traces; narrow the filters, or <code>otelctl traces --limit N</code> lists more.</p>"#,
                rows.len()
            );
        }
        let spans = rows
            .iter()
            .filter_map(|r| otlp::parse_trace_id(&r.trace_id))
            .filter_map(|id| store.get(&id))
            .flat_map(|t| t.spans().map(|(_, s)| s));
        let stats = metrics::by_name(spans);
        drop(store);
        out.push_str(&strip(&stats, "span names in the matching traces"));
        (status, out)
    }

    fn api_search(&self, req: &Request) -> Reply {
        let filter = match Filter::from_query(&req.query_pairs()) {
            Ok(f) => f,
            Err(e) => return Reply::text(400, format!("{e}\n")),
        };
        #[derive(Serialize)]
        struct Out<'a> {
            traces: Vec<Row>,
            matched: usize,
            stored_traces: usize,
            span_count: usize,
            counters: &'a Counters,
        }
        let store = self.shared.lock();
        let rows = matching(&store, &filter);
        let limit = filter.limit.unwrap_or(explore::MAX_LIMIT);
        json_reply(&Out {
            traces: rows.iter().take(limit).map(Row::from).collect(),
            matched: rows.len(),
            stored_traces: store.trace_count(),
            span_count: store.span_count(),
            counters: store.counters(),
        })
    }

    /// (status, fragment) of `/compare?a=ID&b=ID`.
    fn compare_page(&self, req: &Request) -> (u16, String) {
        let a = req.query_param("a").unwrap_or_default();
        let b = req.query_param("b").unwrap_or_default();
        let (Some(ia), Some(ib)) = (otlp::parse_trace_id(&a), otlp::parse_trace_id(&b)) else {
            return (
                if a.is_empty() && b.is_empty() { 200 } else { 400 },
                pages::compare_form(&a, &b, "Pick two traces to compare: A and B in the trace list, or two trace ids (32 hex digits)."),
            );
        };
        let store = self.shared.lock();
        let (Some(ta), Some(tb)) = (store.get(&ia), store.get(&ib)) else {
            return (
                404,
                pages::compare_form(&a, &b, "One of these traces is not stored (never received, dropped as the oldest, or cleared)."),
            );
        };
        let sa: Vec<&Span> = ta.spans().map(|(_, s)| s).collect();
        let sb: Vec<&Span> = tb.spans().map(|(_, s)| s).collect();
        let c = explore::compare(&sa, &sb);
        (200, pages::comparison(&ta.summary(), &tb.summary(), &c))
    }

    /// (status, fragment, heading) of `/history?service=S&name=N[&cached=true|false]`.
    fn history_page(&self, req: &Request) -> (u16, String, String) {
        let (Some(service), Some(name)) = (req.query_param("service"), req.query_param("name"))
        else {
            return (
                400,
                r#"<p class="empty">A task is named by <code>service</code> and <code>name</code> (links from a trace page lead here).</p>"#.to_string(),
                "history".to_string(),
            );
        };
        let cached = match req.query_param("cached").as_deref() {
            Some("true") => Some(true),
            Some("false") => Some(false),
            _ => None,
        };
        let key = TaskKey { service, name };
        let store = self.shared.lock();
        let runs: Vec<explore::Run> = task_runs(&store, &key)
            .into_iter()
            .filter(|r| cached.is_none() || r.cached == cached)
            .collect();
        drop(store);
        let h = explore::history(&runs, None, pages::CHART_RUNS);
        let heading = format!(
            "history of {} ({})",
            escape(&key.name),
            escape(&key.service)
        );
        let mut out = format!(
            r#"<p class="facts" id="history-facts"><b>{}</b> runs stored{} · last {}: p50 <b>{}</b>, p95 <b>{}</b> (nearest rank) · <a href="{}">all</a> · <a href="{}">cached only</a> · <a href="{}">not cached only</a></p>"#,
            runs.len(),
            match cached {
                Some(true) => " (cached only)",
                Some(false) => " (not cached only)",
                None => "",
            },
            h.runs.len(),
            h.p50_ns.map(format_duration).unwrap_or_else(|| "–".into()),
            h.p95_ns.map(format_duration).unwrap_or_else(|| "–".into()),
            escape(&pages::history_href(&key, None)),
            escape(&pages::history_href(&key, Some(true))),
            escape(&pages::history_href(&key, Some(false))),
        );
        if let Some(last) = runs.last() {
            let before = explore::history(&runs, Some(last), explore::HISTORY_RUNS);
            let _ = write!(
                out,
                r#"<p class="verdict" id="history-verdict">Latest run ({} at {} UTC): {}</p>"#,
                format_duration(last.duration_ns),
                format_time(last.start_unix_nano),
                escape(&explore::out_of_line(last, &before).unwrap_or_else(|| {
                    if before.runs.len() < explore::MIN_HISTORY {
                        format!(
                            "too few comparable earlier runs ({}) to judge",
                            before.runs.len()
                        )
                    } else {
                        format!("in line with the last {} runs", before.runs.len())
                    }
                })),
            );
        }
        out.push_str(&pages::history_chart(&key, &runs, &h));
        (200, out, heading)
    }

    /// (status, fragment, title) for a trace page.
    fn trace_fragment(&self, id_text: &str, selected: Option<&str>) -> (u16, String, String) {
        let not_found = |why: &str| {
            (
                404,
                format!(
                    r#"<p class="empty" id="not-found">{}. <a href="/">All traces</a></p>"#,
                    escape(why)
                ),
                "otelctl · trace not found".to_string(),
            )
        };
        let Some(id) = otlp::parse_trace_id(id_text) else {
            return not_found("Not a trace id (32 hex digits)");
        };
        let store = self.shared.lock();
        let Some(trace) = store.get(&id) else {
            return not_found("This trace is not stored (never received, dropped as the oldest, or cleared); it appears here as soon as a span of it arrives");
        };
        let spans: Vec<(&[otlp::KeyValue], &Span)> = trace.spans().collect();
        let summary = trace.summary_of(&spans);
        let refs: Vec<&Span> = spans.iter().map(|(_, s)| *s).collect();
        let layout = waterfall::layout(&refs);
        let tree = Tree::build(&refs);
        let path = explore::critical_path(&refs, &tree);
        let services: Vec<String> = spans
            .iter()
            .map(|(res, _)| {
                super::store::service_name(res).unwrap_or_else(|| UNKNOWN_SERVICE.to_string())
            })
            .collect();
        let has_children: Vec<bool> = tree.children.iter().map(|c| !c.is_empty()).collect();
        let decor = waterfall::Decor {
            services: &services,
            on_path: &path.on_path,
            has_children: &has_children,
        };
        let hex = otlp::to_hex(&id);
        let mut out = trace_facts(&summary);
        // Each task of this trace against its earlier comparable runs.
        for (key, i) in explore::tasks(&spans, &tree).into_iter().take(10) {
            let this = explore::run_of(spans[i].1);
            let runs = task_runs(&store, &key);
            let h = explore::history(&runs, Some(&this), explore::HISTORY_RUNS);
            let verdict = explore::out_of_line(&this, &h);
            let previous = h.runs.last();
            let _ = write!(
                out,
                r#"<p class="task{cls}" data-task="{name}"><b>{name}</b> {dur}: {text} · <a href="{href}">history</a>{prev}</p>"#,
                cls = if verdict.is_some() { " out-of-line" } else { "" },
                name = escape(&key.name),
                dur = format_duration(this.duration_ns),
                text = escape(&verdict.unwrap_or_else(|| match (h.p50_ns, h.p95_ns) {
                    (Some(p50), Some(p95)) => format!(
                        "{} earlier comparable runs, p50 {}, p95 {}",
                        h.runs.len(),
                        format_duration(p50),
                        format_duration(p95)
                    ),
                    _ => "first run of this task".to_string(),
                })),
                href = escape(&pages::history_href(&key, this.cached)),
                prev = previous
                    .filter(|p| p.trace_id != hex)
                    .map(|p| format!(
                        r#" · <a href="/compare?a={}&amp;b={hex}" class="compare-previous">compare with the previous run</a>"#,
                        p.trace_id
                    ))
                    .unwrap_or_default(),
            );
        }
        // The services' colours.
        let mut legend: Vec<&str> = services.iter().map(String::as_str).collect();
        legend.sort_unstable();
        legend.dedup();
        out.push_str(r#"<p class="legend" id="legend">"#);
        for svc in legend {
            let _ = write!(
                out,
                r#"<span class="svc"><span class="swatch" style="background:{}"></span>{}</span> "#,
                waterfall::service_colour(svc),
                escape(svc)
            );
        }
        out.push_str(r#"<span class="svc"><span class="swatch critical-swatch"></span>critical path</span></p>"#);
        out.push_str(&waterfall::render_svg(
            &hex, &refs, &layout, &decor, selected,
        ));
        if layout.hidden > 0 {
            let _ = write!(
                out,
                r#"<p class="hint">{} more spans not drawn (at most {} bars); <code>otelctl export --trace {hex}</code> has them all.</p>"#,
                layout.hidden,
                waterfall::MAX_BARS
            );
        }
        let _ = write!(
            out,
            r#"<p class="hint" id="select-hint"{}>Select a bar to see its span's attributes; ▾ collapses a subtree.</p>"#,
            if selected.is_some() { " hidden" } else { "" }
        );
        for bar in &layout.bars {
            let (res, s) = spans[bar.span];
            out.push_str(&attrs_section(
                res,
                s,
                layout.start_unix_nano,
                path.on_path[bar.span],
                selected,
            ));
        }
        let names: std::collections::HashSet<&str> = refs.iter().map(|s| s.name.as_str()).collect();
        let stats: Vec<NameStats> = metrics::by_name(
            store
                .all_spans()
                .filter(|s| names.contains(s.name.as_str())),
        );
        out.push_str(&strip(
            &stats,
            "span names in this trace, over all stored traces",
        ));
        let title = format!("otelctl · {} · {}", summary.service, summary.root_name);
        (200, out, title)
    }

    fn events(&self, req: &Request) -> Reply {
        let shared = self.shared.clone();
        if shared.sse_clients.fetch_add(1, Ordering::SeqCst) >= MAX_SSE_CLIENTS {
            shared.sse_clients.fetch_sub(1, Ordering::SeqCst);
            return Reply::text(503, "too many live-update clients\n")
                .with_header("Retry-After", "5");
        }
        let resume: Option<u64> = req.header("last-event-id").and_then(|v| v.parse().ok());
        let (tx, rx) = mpsc::channel(8);
        tokio::spawn(async move {
            stream_events(&shared, resume, tx).await;
            shared.sse_clients.fetch_sub(1, Ordering::SeqCst);
        });
        Reply::Stream {
            content_type: "text/event-stream",
            body: rx,
        }
    }

    fn api_traces(&self) -> Reply {
        #[derive(Serialize)]
        struct Out<'a> {
            traces: Vec<TraceSummary>,
            span_count: usize,
            stored_bytes: usize,
            max_traces: usize,
            max_bytes: usize,
            counters: &'a Counters,
            bad_requests: u64,
            sse_clients: usize,
            generation: u64,
        }
        let store = self.shared.lock();
        json_reply(&Out {
            traces: store.summaries(),
            span_count: store.span_count(),
            stored_bytes: store.bytes(),
            max_traces: store.limits().max_traces,
            max_bytes: store.limits().max_bytes,
            counters: store.counters(),
            bad_requests: self.shared.bad_requests.load(Ordering::Relaxed),
            sse_clients: self.shared.sse_clients.load(Ordering::SeqCst),
            generation: store.generation(),
        })
    }

    fn api_export(&self, req: &Request) -> Reply {
        let trace = match req.query_param("trace") {
            None => None,
            Some(t) => match otlp::parse_trace_id(&t) {
                Some(id) => Some(id),
                None => return Reply::text(400, "trace must be 32 hex digits\n"),
            },
        };
        let since = match req.query_param("since_unix_nano") {
            None => None,
            Some(s) => match s.parse::<u64>() {
                Ok(n) => Some(n),
                Err(_) => return Reply::text(400, "since_unix_nano must be an integer\n"),
            },
        };
        let store = self.shared.lock();
        let request = ExportTraceServiceRequest {
            resource_spans: store
                .select(trace.as_ref(), since)
                .into_iter()
                .flat_map(|t| t.to_request().resource_spans)
                .collect(),
        };
        drop(store);
        Reply::new(200, "application/json", request.to_json())
            .with_header("Cache-Control", "no-store")
            .with_header(EMBEDDED_HEADER, "1")
    }

    async fn clear(&self) -> Reply {
        match self.shared.clear().await {
            Ok(cleared) => Reply::new(
                303,
                "application/json",
                format!("{{\"cleared\":{cleared}}}").into_bytes(),
            )
            .with_header("Location", "/"),
            Err(e) => Reply::text(503, format!("{e}\n")),
        }
    }
}

fn trace_facts(s: &TraceSummary) -> String {
    format!(
        r#"<p class="facts" id="trace-facts">service <b>{}</b> · root <b>{}</b> · started {} UTC · <b>{}</b> · <b>{}</b> spans · status <b class="status-{}">{}</b></p>"#,
        escape(&s.service),
        escape(&s.root_name),
        format_time(s.start_unix_nano),
        format_duration(s.duration_ns),
        s.span_count,
        s.status,
        s.status,
    )
}

fn attrs_section(
    resource: &[otlp::KeyValue],
    s: &Span,
    trace_start: u64,
    critical: bool,
    selected: Option<&str>,
) -> String {
    let sid = otlp::to_hex(&s.span_id);
    let mut out = format!(
        r#"<section class="attrs" data-span="{sid}"{}><h3>{}{}</h3><table><tbody>"#,
        if selected == Some(sid.as_str()) {
            ""
        } else {
            " hidden"
        },
        escape(&s.name),
        if critical {
            r#" <span class="badge critical-badge">critical path</span>"#
        } else {
            ""
        },
    );
    // Keys are shown exactly as sent (attribute keys are case-sensitive).
    let row = |out: &mut String, k: &str, v: &str| {
        let _ = write!(
            out,
            r#"<tr><th class="key">{}</th><td>{}</td></tr>"#,
            escape(k),
            escape(v)
        );
    };
    let text = |kv: &otlp::KeyValue| kv.get().map(otlp::Value::to_text).unwrap_or_default();
    // An event's or a link's attributes on one line: `k=v, k=v`.
    let inline = |attrs: &[otlp::KeyValue]| {
        attrs
            .iter()
            .map(|kv| format!("{}={}", kv.key, text(kv)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    row(&mut out, "span id", &sid);
    row(&mut out, "parent span id", &otlp::to_hex(&s.parent_span_id));
    row(&mut out, "kind", otelctl_otlp::SpanKind::name_of(s.kind));
    row(
        &mut out,
        "service",
        &super::store::service_name(resource).unwrap_or_else(|| UNKNOWN_SERVICE.into()),
    );
    row(
        &mut out,
        "duration",
        &format_duration(metrics::duration_ns(s)),
    );
    row(
        &mut out,
        "start offset",
        &format!(
            "+{}",
            format_duration(s.start_time_unix_nano.saturating_sub(trace_start))
        ),
    );
    row(
        &mut out,
        "start (UTC)",
        &format_time(s.start_time_unix_nano),
    );
    if let Some(st) = &s.status {
        let code = otelctl_otlp::StatusCode::name_of(st.code).to_ascii_uppercase();
        let text = if st.message.is_empty() {
            code.to_string()
        } else {
            format!("{code}: {}", st.message)
        };
        row(&mut out, "status", &text);
    }
    for kv in &s.attributes {
        row(&mut out, &kv.key, &text(kv));
    }
    out.push_str("</tbody></table>");
    if !s.events.is_empty() {
        out.push_str(r#"<h4>events</h4><table class="events"><tbody>"#);
        for ev in &s.events {
            let _ = write!(
                out,
                r#"<tr><th class="key">+{}</th><td><b>{}</b> {}</td></tr>"#,
                format_duration(ev.time_unix_nano.saturating_sub(trace_start)),
                escape(&ev.name),
                escape(&inline(&ev.attributes))
            );
        }
        out.push_str("</tbody></table>");
    }
    if !s.links.is_empty() {
        out.push_str(r#"<h4>links</h4><table class="links"><tbody>"#);
        for l in &s.links {
            let (t, sp) = (otlp::to_hex(&l.trace_id), otlp::to_hex(&l.span_id));
            let _ = write!(
                out,
                r#"<tr><th class="key"><a href="/trace/{t}?span={sp}">{t}</a></th><td>span {sp} {}</td></tr>"#,
                escape(&inline(&l.attributes))
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str(r#"<h4>resource</h4><table class="resource"><tbody>"#);
    for kv in resource {
        row(&mut out, &kv.key, &text(kv));
    }
    out.push_str("</tbody></table></section>");
    out
}

/// Sends `change` events until the client leaves or the server stops.
async fn stream_events(shared: &Shared, resume: Option<u64>, out: mpsc::Sender<Bytes>) {
    if out
        .send(Bytes::from_static(b"retry: 1000\n: connected\n\n"))
        .await
        .is_err()
    {
        return;
    }
    let mut generations = shared.generation.subscribe();
    let mut seen = {
        let store = shared.lock();
        resume
            .filter(|g| *g <= store.generation())
            .unwrap_or(store.generation())
    };
    loop {
        let current = *generations.borrow_and_update();
        if current == seen {
            tokio::select! {
                changed = tokio::time::timeout(KEEPALIVE, generations.changed()) => {
                    if let Ok(Err(_)) = changed {
                        return;
                    }
                }
                _ = shared.stop_signal().stopped() => return,
                _ = out.closed() => return,
            }
        }
        if shared.stopping() {
            return;
        }
        let (changes, generation) = {
            let store = shared.lock();
            if store.generation() == seen {
                (None, seen)
            } else {
                (Some(store.changes_since(seen)), store.generation())
            }
        };
        let message = match changes {
            None => ": keepalive\n\n".to_string(),
            Some(changes) => {
                let reset = changes.is_none();
                let changes = changes.unwrap_or_default();
                let cleared = changes.contains(&Change::Cleared);
                let traces: Vec<String> = changes
                    .iter()
                    .filter_map(|c| match c {
                        Change::Trace(id) => Some(otlp::to_hex(id)),
                        Change::Cleared => None,
                    })
                    .take(100)
                    .collect();
                let data = serde_json::json!({
                    "generation": generation,
                    "traces": traces,
                    "cleared": cleared,
                    "reset": reset,
                });
                seen = generation;
                format!("id: {generation}\nevent: change\ndata: {data}\n\n")
            }
        };
        if out.send(Bytes::from(message)).await.is_err() {
            return;
        }
        tokio::time::sleep(EVENT_SPACING).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)]) -> Request {
        let mut map = http::HeaderMap::new();
        for (k, v) in headers {
            map.append(
                http::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        Request {
            method: "POST".into(),
            path: "/api/clear".into(),
            query: String::new(),
            headers: map,
            body: Bytes::new(),
        }
    }

    #[test]
    fn only_this_viewer_by_host_and_origin() {
        for ok in [
            "127.0.0.1:4000",
            "localhost:4000",
            "LOCALHOST:4000",
            "[::1]:4000",
        ] {
            assert_eq!(foreign(&request(&[("host", ok)]), 4000), None, "{ok}");
            let origin = format!("http://{ok}");
            assert_eq!(
                foreign(&request(&[("host", ok), ("origin", &origin)]), 4000),
                None,
                "{ok}"
            );
        }
        for bad_host in [
            "127.evil.example:4000",
            "127.0.0.1.evil.example:4000",
            "evil.example:4000",
            "127.0.0.1:4001",
            "127.0.0.1",
            "localhost",
            "127.1.2.3:4000",
            "[fe80::1]:4000",
            "127.0.0.1:+4000",
            "",
        ] {
            assert!(
                foreign(&request(&[("host", bad_host)]), 4000).is_some(),
                "{bad_host}"
            );
        }
        assert!(foreign(&request(&[]), 4000).is_some(), "no Host");
        for bad_origin in [
            "null",
            "http://evil.example",
            "http://127.0.0.1:4001",
            "https://127.0.0.1:4000",
            "http://127.evil.example:4000",
            "http://localhost:4000/x",
            "",
        ] {
            let r = request(&[("host", "127.0.0.1:4000"), ("origin", bad_origin)]);
            assert!(foreign(&r, 4000).is_some(), "{bad_origin:?}");
        }
        let two = request(&[("host", "127.0.0.1:4000"), ("host", "evil.example:4000")]);
        assert!(foreign(&two, 4000).is_some());
    }

    #[test]
    fn trace_ids_parse() {
        assert_eq!(otlp::parse_trace_id(&"0A".repeat(16)), Some([10; 16]));
        assert_eq!(otlp::parse_trace_id(&"00".repeat(16)), None);
        assert_eq!(otlp::parse_trace_id("abc"), None);
    }
}
