//! The web viewer: recent traces, a trace's waterfall, per-name metrics, live updates.
//!
//! Routes (all on 127.0.0.1, the Grafana port +3):
//!
//! | route | answer |
//! |---|---|
//! | `GET /` | the list of recent traces and the metrics strip |
//! | `GET /trace/<id>[?span=<span id>]` | a trace: waterfall, span table and flame graph (drawn from the embedded data), the selected span's details, metrics of its span names |
//! | `GET /fragment/traces`, `GET /fragment/trace/<id>` | the same content without the page shell (live updates) |
//! | `GET /fragment/span/<trace id>/<span id>` | one span's details (the trace page's side panel) |
//! | `GET /api/trace/<id>/find?q=<text>` | the waterfall rows whose span matches the text (find-in-trace) |
//! | `GET /events` | server-sent events: `change` with `{"generation","traces","logs","log_traces","metrics","cleared","reset"}` |
//! | `GET /api/traces` | the newest trace summaries (at most 1,000), counts and counters as JSON |
//! | `GET /api/export[?trace=<id>][&since_unix_nano=<n>]` | stored traces as one OTLP/JSON request |
//! | `POST /api/clear` | removes every stored trace, log record and metric, then `303` to `/` |
//! | `GET /logs`, `/metrics`, `/fragment/logs[/rows]`, `/fragment/metrics`, `/api/logs`, `/api/metrics[/series]` | the logs and metrics pages and their JSON: [`super::signals_view`] |
//!
//! Every page is a handful of indexed queries on the store (`otelctl_store`): nothing reads
//! every stored trace.
//!
//! Every request must name this viewer exactly in `Host` (`127.0.0.1`, `localhost` or `[::1]`
//! with the viewer's port; anything else, such as a rebound DNS name, is refused with `403`),
//! and a request that carries `Origin` must come from this viewer's own pages (`null`, what a
//! sandboxed frame sends, is refused too): a web page elsewhere cannot read or clear the traces.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;

use serde::Serialize;

use otelctl_config::error::Source;
use otelctl_otlp::{self as otlp, ExportTraceServiceRequest, Span};
use otelctl_store::{Change, Counters, Retention};
use otelctl_viewer::explore::{self, Filter, Row, SpanRef, TaskKey};
use otelctl_viewer::{assets, pages, signals};

use super::server::{Handler, Reply, ReplyFuture, Request};
use super::store::{query_of, run_of, spans_of, stats_of, summary_of, TraceSummary};
use super::{signals_view, Shared};

/// Most live-update (SSE) clients at once.
pub const MAX_SSE_CLIENTS: usize = 32;
/// Most rows in the list and in the metrics strip.
pub const MAX_LIST_ROWS: usize = 200;
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

pub(crate) fn html_reply(status: u16, body: String) -> Reply {
    Reply::new(status, "text/html; charset=utf-8", body.into_bytes())
        .with_header("Cache-Control", "no-store")
}

pub(crate) fn json_reply<T: Serialize>(value: &T) -> Reply {
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
        if let Some(reply) = signals_view::route(&self.shared.store, req) {
            return reply;
        }
        let method = req.method.as_str();
        let path = req.path.as_str();
        match (method, path) {
            ("GET", "/") => {
                let (status, fragment) = self.list_fragment(&req.query_pairs());
                html_reply(
                    status,
                    pages::page("otelctl · traces", "list", None, "traces", &fragment),
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
                    pages::page("otelctl · compare", "compare", None, "compare", &fragment),
                )
            }
            ("GET", "/history") => {
                let (status, fragment, heading) = self.history_page(req);
                html_reply(
                    status,
                    pages::page("otelctl · history", "history", None, &heading, &fragment),
                )
            }
            ("GET", "/api/search") => self.api_search(req),
            ("GET", "/api/traces") => self.api_traces(),
            ("GET", "/api/export") => self.api_export(req),
            ("GET", "/favicon.ico") => Reply::new(204, "image/x-icon", Vec::new()),
            ("GET", p) if p.starts_with("/assets/") => asset(req, &p["/assets/".len()..]),
            ("GET", p) if p.starts_with("/trace/") => {
                let id = &p["/trace/".len()..];
                let selected = req.query_param("span");
                let (status, fragment, title) = self.trace_fragment(id, selected.as_deref());
                let heading = format!("trace {id}");
                html_reply(
                    status,
                    pages::page(&title, "trace", Some(id), &heading, &fragment),
                )
            }
            ("GET", p) if p.starts_with("/fragment/span/") => {
                match p["/fragment/span/".len()..].split_once('/') {
                    Some((trace, span)) => self.span_fragment(trace, span),
                    None => Reply::text(404, "/fragment/span/<trace id>/<span id>\n"),
                }
            }
            ("GET", p) if p.starts_with("/api/trace/") && p.ends_with("/find") => {
                let trace = &p["/api/trace/".len()..p.len() - "/find".len()];
                self.api_find(trace, &req.query_param("q").unwrap_or_default())
            }
            ("GET", p) if p.starts_with("/fragment/trace/") => {
                let id = &p["/fragment/trace/".len()..];
                let selected = req.query_param("span");
                let (status, fragment, _) = self.trace_fragment(id, selected.as_deref());
                html_reply(status, fragment)
            }
            ("GET", _) => html_reply(
                404,
                pages::page(
                    "otelctl · not found",
                    "list",
                    None,
                    "not found",
                    &pages::message(None, &format!("No page at {path}."), true),
                ),
            ),
            _ => Reply::text(405, "method not allowed\n"),
        }
    }
}

/// Now, in Unix nanoseconds.
pub(crate) fn now_unix_nano() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos().min(u128::from(u64::MAX)) as u64)
        .unwrap_or(0)
}

/// Most runs of a task read for its history (the newest).
const MAX_RUNS: usize = 10_000;
/// Runs read to judge one run of a trace page against its earlier comparable runs.
const TRACE_PAGE_RUNS: usize = 1_000;
/// Spans of each name read for a trace page's statistics (those of the traces that came last).
const STATS_SPANS_PER_NAME: usize = 1_000;

/// What the store keeps, in words: `90 days, at most 2048 MiB`.
pub fn retention_text(r: &Retention) -> String {
    let mut parts = Vec::new();
    if let Some(a) = r.max_age {
        let days = a.as_secs() / 86_400;
        parts.push(if days > 0 {
            format!("{days} days")
        } else {
            otelctl_config::formats::format_duration(a.as_nanos().min(u128::from(u64::MAX)) as u64)
        });
    }
    if let Some(b) = r.max_bytes {
        parts.push(format!("at most {} MiB", b / (1024 * 1024)));
    }
    if let Some(n) = r.max_traces {
        parts.push(format!("at most {n} traces"));
    }
    if parts.is_empty() {
        "everything".to_string()
    } else {
        parts.join(", ")
    }
}

fn unavailable(e: impl std::fmt::Display) -> Reply {
    Reply::text(503, format!("the store could not be read: {e}\n"))
}

impl Viewer {
    fn list_fragment(&self, pairs: &[(String, String)]) -> (u16, String) {
        let (filter, problem) = match Filter::from_query(pairs) {
            Ok(f) => (f, None),
            Err(e) => (Filter::default(), Some(e.to_string())),
        };
        let status = if problem.is_some() { 400 } else { 200 };
        let store = &self.shared.store;
        let c = store.counters();
        let facts = pages::StoreFacts {
            traces: store.trace_count() as usize,
            spans: store.span_count() as usize,
            retention: retention_text(&store.retention()),
            dropped_traces: c.dropped_traces,
            dropped_spans: c.dropped_spans,
        };
        let shown = filter.limit.unwrap_or(MAX_LIST_ROWS).min(MAX_LIST_ROWS);
        let gathered = (|| -> otelctl_config::Result<_> {
            let services = store.names("service", 200)?;
            let names = store.names("span", 500)?;
            let (rows, matched, more) = store.list(&query_of(&filter, now_unix_nano(), shown))?;
            let ids: Vec<[u8; 16]> = rows
                .iter()
                .filter_map(|r| otlp::parse_trace_id(&r.trace_id))
                .collect();
            let stats = stats_of(store.name_samples_in(&ids)?);
            Ok((services, names, rows, matched, more, stats))
        })();
        let (services, names, rows, matched, more, stats) = match gathered {
            Ok(g) => g,
            Err(e) => {
                return (
                    503,
                    pages::message(None, &format!("The store could not be read: {e}"), true),
                )
            }
        };
        let rows: Vec<TraceSummary> = rows.iter().map(summary_of).collect();
        let html = pages::list_fragment(&pages::ListData {
            facts,
            filter: &filter,
            problem,
            services: &services,
            names: &names,
            rows: &rows,
            shown,
            matched: matched as usize,
            matched_more: more,
            stats: &stats,
        });
        (status, html)
    }

    fn api_search(&self, req: &Request) -> Reply {
        let filter = match Filter::from_query(&req.query_pairs()) {
            Ok(f) => f,
            Err(e) => return Reply::text(400, format!("{e}\n")),
        };
        #[derive(Serialize)]
        struct Out {
            traces: Vec<Row>,
            /// Counted up to 200 or `limit`, whichever is higher (`matched_more` is then true).
            matched: u64,
            matched_more: bool,
            stored_traces: u64,
            span_count: u64,
            counters: Counters,
        }
        let store = &self.shared.store;
        let limit = filter.limit.unwrap_or(explore::MAX_LIMIT);
        let (rows, matched, more) = match store.list(&query_of(&filter, now_unix_nano(), limit)) {
            Ok(r) => r,
            Err(e) => return unavailable(e),
        };
        json_reply(&Out {
            traces: rows.iter().map(|r| Row::from(&summary_of(r))).collect(),
            matched,
            matched_more: more,
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
        let store = &self.shared.store;
        let load = |id: &[u8; 16]| -> Option<(TraceSummary, ExportTraceServiceRequest)> {
            let row = store.trace_row(id).ok()??;
            let req = store.trace(id).ok()??;
            Some((summary_of(&row), req))
        };
        let (Some((sum_a, ta)), Some((sum_b, tb))) = (load(&ia), load(&ib)) else {
            return (
                404,
                pages::compare_form(&a, &b, "One of these traces is not stored (never received, dropped as the oldest, or cleared)."),
            );
        };
        let sa: Vec<&Span> = ta.spans().map(|(_, s)| s).collect();
        let sb: Vec<&Span> = tb.spans().map(|(_, s)| s).collect();
        let c = explore::compare(&sa, &sb);
        (200, pages::comparison(&sum_a, &sum_b, &c))
    }

    /// (status, fragment, heading) of `/history?service=S&name=N[&cached=true|false]`.
    fn history_page(&self, req: &Request) -> (u16, String, String) {
        let (Some(service), Some(name)) = (req.query_param("service"), req.query_param("name"))
        else {
            return (
                400,
                pages::message(
                    None,
                    "A task is named by service and name (links from a trace page lead here).",
                    false,
                ),
                "history".to_string(),
            );
        };
        let cached = match req.query_param("cached").as_deref() {
            Some("true") => Some(true),
            Some("false") => Some(false),
            _ => None,
        };
        let key = TaskKey { service, name };
        let runs: Vec<explore::Run> =
            match self
                .shared
                .store
                .task_runs(&key.service, &key.name, cached, MAX_RUNS)
            {
                Ok(runs) => runs.into_iter().map(run_of).collect(),
                Err(e) => {
                    return (
                        503,
                        pages::message(None, &format!("The store could not be read: {e}"), true),
                        "history".to_string(),
                    )
                }
            };
        let heading = format!("history of {} ({})", key.name, key.service);
        (200, pages::history_fragment(&key, cached, &runs), heading)
    }

    /// (status, fragment, title) for a trace page.
    fn trace_fragment(&self, id_text: &str, selected: Option<&str>) -> (u16, String, String) {
        let not_found = |why: &str| {
            (
                404,
                pages::message(Some("not-found"), &format!("{why}."), true),
                "otelctl · trace not found".to_string(),
            )
        };
        let Some(id) = otlp::parse_trace_id(id_text) else {
            return not_found("Not a trace id (32 hex digits)");
        };
        let store = &self.shared.store;
        let found = store
            .trace_row(&id)
            .and_then(|row| Ok(row.zip(store.trace(&id)?)));
        let (row, trace) = match found {
            Ok(Some(t)) => t,
            Ok(None) => return not_found("This trace is not stored (never received, dropped as the oldest, or cleared); it appears here as soon as a span of it arrives"),
            Err(e) => return not_found(&format!("The store could not be read: {e}")),
        };
        let spans: Vec<SpanRef> = spans_of(&trace);
        let summary = summary_of(&row);
        let mut names: Vec<&str> = spans.iter().map(|(_, s)| s.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        let stats = stats_of(
            store
                .name_samples(&names, STATS_SPANS_PER_NAME)
                .unwrap_or_default(),
        );
        let hex = otlp::to_hex(&id);
        let runs = |key: &TaskKey| -> Vec<explore::Run> {
            store
                .task_runs(&key.service, &key.name, None, TRACE_PAGE_RUNS)
                .map(|r| r.into_iter().map(run_of).collect())
                .unwrap_or_default()
        };
        let html = pages::trace_fragment(&pages::TraceData {
            trace_hex: &hex,
            summary: &summary,
            spans: &spans,
            selected,
            task_runs: &runs,
            stats: &stats,
            logs: &signals_view::trace_logs(store, &id, None),
        });
        let title = format!("otelctl · {} · {}", summary.service, summary.root_name);
        (200, html, title)
    }

    /// `/fragment/span/<trace>/<span>`: one span's details, for the trace page's side panel.
    fn span_fragment(&self, trace: &str, span: &str) -> Reply {
        let Some(id) = otlp::parse_trace_id(trace) else {
            return html_reply(
                404,
                pages::message(Some("not-found"), "Not a trace id.", true),
            );
        };
        let trace = match self.shared.store.trace(&id) {
            Ok(t) => t,
            Err(e) => return Reply::text(503, format!("the store could not be read: {e}\n")),
        };
        let span = span.to_ascii_lowercase();
        let details = trace.as_ref().and_then(|t| {
            let spans: Vec<SpanRef> = spans_of(t);
            let sid = signals::parse_span(&span, Source::Flag("the span id")).ok();
            let logs = match sid {
                Some(sid) => signals_view::trace_logs(&self.shared.store, &id, Some(sid)),
                None => Vec::new(),
            };
            pages::span_details(&spans, &span, &logs)
        });
        match details {
            Some(html) => html_reply(200, html),
            None => html_reply(
                404,
                pages::message(
                    Some("not-found"),
                    "This span is not stored (never received, dropped, or cleared).",
                    false,
                ),
            ),
        }
    }

    /// `/api/trace/<trace>/find?q=TEXT`: the waterfall rows whose span matches (name, service,
    /// span id, attribute key or value; ignoring case), as `{"rows": [...]}`.
    fn api_find(&self, trace: &str, query: &str) -> Reply {
        let Some(id) = otlp::parse_trace_id(trace) else {
            return Reply::text(400, "trace must be 32 hex digits\n");
        };
        let trace = match self.shared.store.trace(&id) {
            Ok(Some(t)) => t,
            Ok(None) => return Reply::text(404, "this trace is not stored\n"),
            Err(e) => return Reply::text(503, format!("the store could not be read: {e}\n")),
        };
        let spans: Vec<SpanRef> = spans_of(&trace);
        let refs: Vec<&Span> = spans.iter().map(|(_, s)| *s).collect();
        let tree = explore::Tree::build(&refs);
        let rows = otelctl_viewer::waterfall::find(&spans, &tree, query);
        json_reply(&serde_json::json!({ "rows": rows }))
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
        struct Out {
            /// The newest traces (at most 1,000), newest first.
            traces: Vec<TraceSummary>,
            trace_count: u64,
            span_count: u64,
            /// Bytes of the database in use (what `--max-mb` bounds).
            stored_bytes: u64,
            max_age_s: Option<u64>,
            max_bytes: Option<u64>,
            max_traces: Option<u64>,
            counters: Counters,
            bad_requests: u64,
            sse_clients: usize,
            generation: u64,
        }
        let store = &self.shared.store;
        let rows = match store.list(&otelctl_store::TraceQuery {
            limit: 1000,
            ..Default::default()
        }) {
            Ok((rows, _, _)) => rows,
            Err(e) => return unavailable(e),
        };
        let r = store.retention();
        json_reply(&Out {
            traces: rows.iter().map(summary_of).collect(),
            trace_count: store.trace_count(),
            span_count: store.span_count(),
            stored_bytes: store.used_bytes().unwrap_or(0),
            max_age_s: r.max_age.map(|a| a.as_secs()),
            max_bytes: r.max_bytes,
            max_traces: r.max_traces,
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
        let mut request = ExportTraceServiceRequest::default();
        if let Err(e) = self
            .shared
            .store
            .for_each_trace(trace.as_ref(), since, |t| {
                request.resource_spans.extend(t.resource_spans);
                true
            })
        {
            return unavailable(e);
        }
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

/// `GET /assets/<path>`: the viewer's CSS and JS, revalidated by `ETag`.
fn asset(req: &Request, path: &str) -> Reply {
    let Some(a) = assets::get(path) else {
        return Reply::text(404, "no such asset\n");
    };
    if req.header("if-none-match") == Some(a.etag) {
        return Reply::new(304, a.content_type, Vec::new())
            .with_header("ETag", a.etag)
            .with_header("Cache-Control", "no-cache");
    }
    Reply::new(200, a.content_type, a.body.as_bytes().to_vec())
        .with_header("ETag", a.etag)
        .with_header("Cache-Control", "no-cache")
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
    let store = &shared.store;
    let mut generations = store.subscribe();
    let mut seen = resume
        .filter(|g| *g <= store.generation())
        .unwrap_or(store.generation());
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
            let generation = store.generation();
            if generation == seen {
                (None, seen)
            } else {
                (Some(store.changes_since(seen)), generation)
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
                        _ => None,
                    })
                    .take(100)
                    .collect();
                let log_traces: Vec<String> = changes
                    .iter()
                    .filter_map(|c| match c {
                        Change::Logs(Some(id)) => Some(otlp::to_hex(id)),
                        _ => None,
                    })
                    .take(100)
                    .collect();
                let logs = changes.iter().any(|c| matches!(c, Change::Logs(_)));
                let metrics = changes.contains(&Change::Metrics);
                let data = serde_json::json!({
                    "generation": generation,
                    "traces": traces,
                    "logs": logs,
                    "log_traces": log_traces,
                    "metrics": metrics,
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
