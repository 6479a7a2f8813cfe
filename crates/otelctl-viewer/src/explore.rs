//! Questions asked of stored traces: which traces match a filter, which chain of spans decided a
//! trace's end (the critical path), how two traces differ, and how a task's run compares with
//! its earlier runs. Pure functions over the OTLP model, shared by the viewer and
//! `otelctl traces` (whether the spans come from the embedded store, its files or Tempo).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use otelctl_config::error::{Error, Result, Source};
use otelctl_config::formats::{
    duration_text, format_rfc3339_nanos, parse_duration, parse_time, percent_encode,
};
use otelctl_otlp::{self as otlp, KeyValue, Span};

use crate::metrics;
use crate::summary::{service_name, TraceSummary, UNKNOWN_SERVICE};

/// A span with its resource's attributes.
pub type SpanRef<'a> = (&'a [KeyValue], &'a Span);

// ---------------------------------------------------------------------------------------------
// Tree

/// The span tree of one trace: parents before children, children in start order.
///
/// A span whose parent is not in the trace (never received, or dropped) is a root; parent
/// cycles in hostile input are broken (each span appears exactly once in [`Tree::order`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree {
    /// `(span index, depth)` in depth-first order.
    pub order: Vec<(usize, usize)>,
    /// Children of each span, in start order.
    pub children: Vec<Vec<usize>>,
    /// Spans without a parent in the trace, in start order.
    pub roots: Vec<usize>,
    /// The span names a parent the trace does not hold.
    pub orphan: Vec<bool>,
}

impl Tree {
    pub fn build(spans: &[&Span]) -> Tree {
        let mut by_id: HashMap<&[u8], usize> = HashMap::with_capacity(spans.len());
        for (i, s) in spans.iter().enumerate() {
            by_id.entry(s.span_id.as_slice()).or_insert(i);
        }
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
        let mut roots = Vec::new();
        let mut orphan = vec![false; spans.len()];
        for (i, s) in spans.iter().enumerate() {
            match by_id.get(s.parent_span_id.as_slice()) {
                Some(&p) if !s.parent_span_id.is_empty() && p != i => children[p].push(i),
                _ => {
                    orphan[i] = !s.parent_span_id.is_empty();
                    roots.push(i);
                }
            }
        }
        let key = |&i: &usize| {
            (
                spans[i].start_time_unix_nano,
                spans[i].span_id.as_slice(),
                i,
            )
        };
        for c in &mut children {
            c.sort_by_key(key);
        }
        roots.sort_by_key(key);
        let mut visited = vec![false; spans.len()];
        // The parent each span was reached from: the tree's edges, without a cycle's closing one.
        let mut reached_from: Vec<Option<usize>> = vec![None; spans.len()];
        let mut order: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
        let mut walk = |root: usize, visited: &mut Vec<bool>, order: &mut Vec<(usize, usize)>| {
            let mut stack = vec![(root, 0usize, None)];
            while let Some((i, depth, from)) = stack.pop() {
                if visited[i] {
                    continue;
                }
                visited[i] = true;
                reached_from[i] = from;
                order.push((i, depth));
                for &c in children[i].iter().rev() {
                    if !visited[c] {
                        stack.push((c, depth + 1, Some(i)));
                    }
                }
            }
        };
        for &r in &roots {
            walk(r, &mut visited, &mut order);
        }
        // Spans caught in a parent cycle: each unvisited one, in start order, starts a tree.
        let mut rest: Vec<usize> = (0..spans.len()).filter(|&i| !visited[i]).collect();
        rest.sort_by_key(key);
        for r in rest {
            if !visited[r] {
                roots.push(r);
            }
            walk(r, &mut visited, &mut order);
        }
        // Children are the tree's edges only: a cycle's closing edge would send every walk
        // over `children` (the critical path's) round the cycle for ever.
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
        for &(i, _) in &order {
            if let Some(p) = reached_from[i] {
                children[p].push(i);
            }
        }
        Tree {
            order,
            children,
            roots,
            orphan,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Filter

/// `--status` / `status=`: a trace is `error` when any of its spans has status ERROR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusFilter {
    Ok,
    Error,
}

impl StatusFilter {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusFilter::Ok => "ok",
            StatusFilter::Error => "error",
        }
    }
}

/// Which traces to list. Every condition given must hold.
///
/// **Span conditions** must all hold for one and the same span (like TraceQL's
/// `{ name = "x" && status = error }` or Jaeger's operation plus tags):
///
/// - `service`: the span's resource has `service.name` equal to it;
/// - `name`: the span has exactly this name;
/// - `status`: `error`: the span's status is ERROR; `ok`: it is not;
/// - `attrs`: for each `key=value`, the span, or its resource, has attribute `key` (exact
///   case) whose text is `value`.
///
/// **Trace conditions** are about the whole trace:
///
/// - `trace_status`: `error` when some span (any) has status ERROR, `ok` when none has;
/// - `min_duration` / `max_duration`: the trace's duration (first start to last end) is at
///   least / at most this (both inclusive);
/// - `since`: the trace started at most this long before `now`; `from`/`to`: it started
///   within these Unix times (nanoseconds, inclusive).
///
/// Matches are listed newest start first, at most `limit` of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub service: Option<String>,
    pub name: Option<String>,
    pub status: Option<StatusFilter>,
    pub trace_status: Option<StatusFilter>,
    pub min_duration: Option<Duration>,
    pub max_duration: Option<Duration>,
    pub attrs: Vec<(String, String)>,
    pub since: Option<Duration>,
    pub from_unix_nano: Option<u64>,
    pub to_unix_nano: Option<u64>,
    pub limit: Option<usize>,
}

/// Most traces `limit` may ask for.
pub const MAX_LIMIT: usize = 10_000;

fn nanos(d: Duration) -> u64 {
    d.as_nanos().min(u128::from(u64::MAX)) as u64
}

/// Splits `key=value` (`=` inside the value allowed); the key must not be empty.
pub fn parse_attr(text: &str, origin: Source) -> Result<(String, String)> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(Error::InvalidValue {
            what: "attribute filter",
            value: text.to_string(),
            origin,
            expected: "KEY=VALUE, e.g. task.cached=false".to_string(),
        }),
    }
}

/// Parses `ok` or `error`.
pub fn parse_status(text: &str, origin: Source) -> Result<StatusFilter> {
    match text.trim().to_ascii_lowercase().as_str() {
        "ok" => Ok(StatusFilter::Ok),
        "error" => Ok(StatusFilter::Error),
        _ => Err(Error::InvalidValue {
            what: "status",
            value: text.to_string(),
            origin,
            expected: "ok or error".to_string(),
        }),
    }
}

/// Parses a result limit: 1 to [`MAX_LIMIT`].
pub fn parse_limit(text: &str, origin: Source) -> Result<usize> {
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(Error::InvalidValue {
            what: "limit",
            value: text.to_string(),
            origin,
            expected: format!("a whole number from 1 to {MAX_LIMIT}"),
        }),
    }
}

impl Filter {
    /// Reads the URL form: `service`, `name`, `status`, `attr` (repeated, `KEY=VALUE`): one
    /// span's; `trace_status`, `min`, `max`, `since`, `from`, `to` (Unix nanoseconds): the
    /// trace's; `limit`. Empty values are
    /// ignored (an HTML form sends every field). Unknown parameters are ignored.
    pub fn from_query(pairs: &[(String, String)]) -> Result<Filter> {
        let mut f = Filter::default();
        for (k, v) in pairs {
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            let source = match k.as_str() {
                "service" => Source::Flag("the URL parameter service"),
                "name" => Source::Flag("the URL parameter name"),
                "status" => Source::Flag("the URL parameter status"),
                "trace_status" => Source::Flag("the URL parameter trace_status"),
                "min" => Source::Flag("the URL parameter min"),
                "max" => Source::Flag("the URL parameter max"),
                "attr" => Source::Flag("the URL parameter attr"),
                "since" => Source::Flag("the URL parameter since"),
                "from" => Source::Flag("the URL parameter from"),
                "to" => Source::Flag("the URL parameter to"),
                "limit" => Source::Flag("the URL parameter limit"),
                _ => continue,
            };
            match k.as_str() {
                "service" => f.service = Some(v.to_string()),
                "name" => f.name = Some(v.to_string()),
                "status" => f.status = Some(parse_status(v, source)?),
                "trace_status" => f.trace_status = Some(parse_status(v, source)?),
                "min" => f.min_duration = Some(parse_duration(v, "duration", source)?),
                "max" => f.max_duration = Some(parse_duration(v, "duration", source)?),
                "attr" => f.attrs.push(parse_attr(v, source)?),
                "since" => f.since = Some(parse_duration(v, "duration", source)?),
                "from" => f.from_unix_nano = Some(parse_time(v, source)?),
                "to" => f.to_unix_nano = Some(parse_time(v, source)?),
                _ => f.limit = Some(parse_limit(v, source)?),
            }
        }
        Ok(f)
    }

    /// The URL form of this filter (what [`Filter::from_query`] reads), without `?`.
    pub fn to_query(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut add = |k: &str, v: String| parts.push(format!("{k}={}", percent_encode(&v)));
        if let Some(s) = &self.service {
            add("service", s.clone());
        }
        if let Some(n) = &self.name {
            add("name", n.clone());
        }
        if let Some(s) = self.status {
            add("status", s.as_str().to_string());
        }
        if let Some(s) = self.trace_status {
            add("trace_status", s.as_str().to_string());
        }
        if let Some(d) = self.min_duration {
            add("min", duration_text(d));
        }
        if let Some(d) = self.max_duration {
            add("max", duration_text(d));
        }
        for (k, v) in &self.attrs {
            add("attr", format!("{k}={v}"));
        }
        if let Some(d) = self.since {
            add("since", duration_text(d));
        }
        if let Some(t) = self.from_unix_nano {
            add("from", t.to_string());
        }
        if let Some(t) = self.to_unix_nano {
            add("to", t.to_string());
        }
        if let Some(l) = self.limit {
            add("limit", l.to_string());
        }
        parts.join("&")
    }

    /// Whether no condition is set (the limit aside).
    pub fn is_empty(&self) -> bool {
        Filter {
            limit: None,
            ..self.clone()
        } == Filter::default()
    }

    /// Whether the trace (its summary and spans) meets every condition.
    pub fn matches(&self, summary: &TraceSummary, spans: &[SpanRef], now_unix_nano: u64) -> bool {
        let start = summary.start_unix_nano;
        if let Some(d) = self.since {
            if start < now_unix_nano.saturating_sub(nanos(d)) {
                return false;
            }
        }
        if self.from_unix_nano.is_some_and(|t| start < t)
            || self.to_unix_nano.is_some_and(|t| start > t)
            || self
                .min_duration
                .is_some_and(|d| summary.duration_ns < nanos(d))
            || self
                .max_duration
                .is_some_and(|d| summary.duration_ns > nanos(d))
        {
            return false;
        }
        let error = summary.error_count > 0;
        match self.trace_status {
            Some(StatusFilter::Error) if !error => return false,
            Some(StatusFilter::Ok) if error => return false,
            _ => {}
        }
        !self.has_span_conditions() || spans.iter().any(|&(res, s)| self.matches_span(res, s))
    }

    /// Whether a span condition (service, name, status, attribute) is set.
    pub fn has_span_conditions(&self) -> bool {
        self.service.is_some()
            || self.name.is_some()
            || self.status.is_some()
            || !self.attrs.is_empty()
    }

    /// Whether this one span (with its resource) meets every span condition.
    pub fn matches_span(&self, resource: &[KeyValue], s: &Span) -> bool {
        if self.name.as_ref().is_some_and(|n| &s.name != n) {
            return false;
        }
        match self.status {
            Some(StatusFilter::Error) if !metrics::is_error(s) => return false,
            Some(StatusFilter::Ok) if metrics::is_error(s) => return false,
            _ => {}
        }
        if let Some(svc) = &self.service {
            if service_name(resource).as_deref() != Some(svc.as_str()) {
                return false;
            }
        }
        self.attrs.iter().all(|(k, v)| {
            let text = |attrs: &[KeyValue]| otlp::attribute(attrs, k).map(otlp::Value::to_text);
            text(&s.attributes).as_deref() == Some(v.as_str())
                || text(resource).as_deref() == Some(v.as_str())
        })
    }
}

/// The traces that match, newest start first, at most `filter.limit`.
pub fn search<'a>(
    traces: impl IntoIterator<Item = (TraceSummary, Vec<SpanRef<'a>>)>,
    filter: &Filter,
    now_unix_nano: u64,
) -> Vec<TraceSummary> {
    let mut rows: Vec<TraceSummary> = traces
        .into_iter()
        .filter(|(sum, spans)| filter.matches(sum, spans, now_unix_nano))
        .map(|(sum, _)| sum)
        .collect();
    newest_first(&mut rows);
    if let Some(l) = filter.limit {
        rows.truncate(l);
    }
    rows
}

/// Sorts rows newest start first (trace id breaks ties, so the order is stable).
pub fn newest_first(rows: &mut [TraceSummary]) {
    rows.sort_by(|a, b| {
        b.start_unix_nano
            .cmp(&a.start_unix_nano)
            .then_with(|| a.trace_id.cmp(&b.trace_id))
    });
}

/// One trace as `otelctl traces --json` and `/api/search` give it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub trace_id: String,
    pub service: String,
    /// The root span's name.
    pub name: String,
    /// Start, RFC 3339 UTC with nanoseconds.
    pub start: String,
    pub start_unix_nano: u64,
    pub duration_ms: f64,
    /// `ok` or `error`.
    pub status: String,
    pub spans: usize,
}

impl From<&TraceSummary> for Row {
    fn from(s: &TraceSummary) -> Row {
        Row {
            trace_id: s.trace_id.clone(),
            service: s.service.clone(),
            name: s.root_name.clone(),
            start: format_rfc3339_nanos(s.start_unix_nano),
            start_unix_nano: s.start_unix_nano,
            duration_ms: s.duration_ns as f64 / 1e6,
            status: s.status.to_string(),
            spans: s.span_count,
        }
    }
}

/// A TraceQL string literal.
fn ql_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An attribute name after `span.` / `resource.`: as is when made of letters, digits and
/// `_ . : / -`, else quoted.
fn ql_attribute(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '/' | '-'))
    {
        key.to_string()
    } else {
        ql_string(key)
    }
}

/// A TraceQL duration: whole milliseconds when exact, else nanoseconds.
fn ql_duration(d: Duration) -> String {
    if d.as_nanos().is_multiple_of(1_000_000) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}ns", d.as_nanos())
    }
}

/// The TraceQL query for Tempo's `/api/search` that selects what `filter` selects, as far as
/// TraceQL can say it: each condition is a spanset of its own, joined by `&&` (so, as in
/// [`Filter`], different conditions may be met by different spans). `status = ok` (no span in
/// error) has no TraceQL form; it and the time range are applied to the traces Tempo returns.
/// An attribute value that reads as a number or boolean is compared in both its typed and
/// its string form, since the local filter compares text.
pub fn traceql(filter: &Filter) -> String {
    let mut parts: Vec<String> = Vec::new();
    // The span conditions: one spanset, so one span must meet them all.
    let mut span: Vec<String> = Vec::new();
    if let Some(s) = &filter.service {
        span.push(format!("resource.service.name = {}", ql_string(s)));
    }
    if let Some(n) = &filter.name {
        span.push(format!("name = {}", ql_string(n)));
    }
    match filter.status {
        Some(StatusFilter::Error) => span.push("status = error".to_string()),
        Some(StatusFilter::Ok) => span.push("status != error".to_string()),
        None => {}
    }
    if let Some(d) = filter.min_duration {
        parts.push(format!("{{ traceDuration >= {} }}", ql_duration(d)));
    }
    if let Some(d) = filter.max_duration {
        parts.push(format!("{{ traceDuration <= {} }}", ql_duration(d)));
    }
    for (k, v) in &filter.attrs {
        let key = ql_attribute(k);
        let typed = v.parse::<i64>().is_ok()
            || (v.parse::<f64>().is_ok_and(f64::is_finite) && v.contains('.'))
            || v == "true"
            || v == "false";
        let mut alts = Vec::new();
        for scope in ["span", "resource"] {
            alts.push(format!("{scope}.{key} = {}", ql_string(v)));
            if typed {
                alts.push(format!("{scope}.{key} = {v}"));
            }
        }
        span.push(format!("({})", alts.join(" || ")));
    }
    if !span.is_empty() {
        parts.insert(0, format!("{{ {} }}", span.join(" && ")));
    }
    // A trace condition: some span, any, failed (its own spanset).
    if filter.trace_status == Some(StatusFilter::Error) {
        parts.push("{ status = error }".to_string());
    }
    if parts.is_empty() {
        "{ }".to_string()
    } else {
        parts.join(" && ")
    }
}

// ---------------------------------------------------------------------------------------------
// Critical path

/// A stretch of time on the critical path, spent in `span` itself (not in a child on the path).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Segment {
    pub span: usize,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
}

/// The critical path of a trace: the chain of spans that determined when it ended.
///
/// Definition. The path starts at the root that ends last (the earliest-starting one on a
/// tie). For a span `P` on the path, looked at over a window `[lo, hi]` (at first its own
/// start and end), walk back from a cursor at `hi`: among `P`'s children whose end, clamped to
/// the window, is at or before the cursor and after `lo`, take the one ending last; the time
/// between its end and the cursor is `P`'s own; the child is on the path over the window
/// `[max(its start, lo), its clamped end]`, and the cursor moves to the start of that window.
/// Repeat until no child is left before the cursor; the rest down to `lo` is `P`'s own.
///
/// Overlapping children: only the child that finished last is followed; a sibling that ends
/// after the cursor (it overlapped the followed child) did not delay anything on the path and
/// is skipped. Clock skew: a child's times are clamped into its parent's window first, so a
/// child reported as starting before or ending after its parent counts only for the part
/// inside (one ending after its parent is taken as ending with it); a child entirely outside
/// its parent, or of zero length, is never on the path. The segments cover the root's
/// window without gaps or overlaps, in time order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CriticalPath {
    pub segments: Vec<Segment>,
    /// `on_path[i]`: span `i` has at least one segment.
    pub on_path: Vec<bool>,
}

/// Computes the [`CriticalPath`] of one trace's spans.
pub fn critical_path(spans: &[&Span], tree: &Tree) -> CriticalPath {
    let mut out = CriticalPath {
        segments: Vec::new(),
        on_path: vec![false; spans.len()],
    };
    let end = |i: usize| {
        spans[i]
            .end_time_unix_nano
            .max(spans[i].start_time_unix_nano)
    };
    let Some(&root) = tree.roots.iter().max_by(|&&a, &&b| {
        end(a).cmp(&end(b)).then_with(|| {
            spans[b]
                .start_time_unix_nano
                .cmp(&spans[a].start_time_unix_nano)
        })
    }) else {
        return out;
    };
    // Children of each span by end, latest first (computed once per span on the path).
    struct Frame {
        span: usize,
        lo: u64,
        hi: u64,
        cursor: u64,
        /// Children sorted by end descending, and the next to look at.
        kids: Vec<usize>,
        next: usize,
    }
    let frame = |span: usize, lo: u64, hi: u64| {
        let mut kids = tree.children[span].clone();
        kids.sort_by(|&a, &b| end(b).cmp(&end(a)).then_with(|| a.cmp(&b)));
        Frame {
            span,
            lo,
            hi,
            cursor: hi,
            kids,
            next: 0,
        }
    };
    // Segments are found latest first; reversed at the end.
    let mut stack = vec![frame(root, spans[root].start_time_unix_nano, end(root))];
    while let Some(top) = stack.last_mut() {
        let mut chosen = None;
        while top.next < top.kids.len() {
            let c = top.kids[top.next];
            top.next += 1;
            let c_end = end(c).min(top.hi);
            let c_start = spans[c].start_time_unix_nano.max(top.lo);
            if c_end <= top.cursor && c_end > top.lo && c_start < c_end {
                chosen = Some((c, c_start, c_end));
                break;
            }
        }
        match chosen {
            Some((c, c_start, c_end)) => {
                if top.cursor > c_end {
                    out.segments.push(Segment {
                        span: top.span,
                        start_unix_nano: c_end,
                        end_unix_nano: top.cursor,
                    });
                }
                top.cursor = c_start;
                stack.push(frame(c, c_start, c_end));
            }
            None => {
                let done = stack.pop().expect("top exists");
                if done.cursor > done.lo {
                    out.segments.push(Segment {
                        span: done.span,
                        start_unix_nano: done.lo,
                        end_unix_nano: done.cursor,
                    });
                }
                out.on_path[done.span] = true;
            }
        }
    }
    out.segments.reverse();
    out
}

// ---------------------------------------------------------------------------------------------
// Compare

/// One span position in a comparison of two traces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CompareRow {
    /// The position: names and ordinals from the root, e.g. `build#0/test#1`.
    pub key: String,
    pub name: String,
    pub depth: usize,
    pub a_ns: Option<u64>,
    pub b_ns: Option<u64>,
}

impl CompareRow {
    /// `b - a` in nanoseconds, when the span is in both.
    pub fn delta_ns(&self) -> Option<i64> {
        Some(self.b_ns? as i64 - self.a_ns? as i64)
    }
}

/// Two traces side by side. Spans are matched by position: the same name, at the same place
/// among the siblings of that name (the 2nd `test` under the 1st `build` matches the 2nd `test`
/// under the 1st `build`). Rows follow trace A's depth-first order; positions only in B follow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comparison {
    pub a_duration_ns: u64,
    pub b_duration_ns: u64,
    pub rows: Vec<CompareRow>,
}

impl Comparison {
    pub fn only_in_a(&self) -> impl Iterator<Item = &CompareRow> {
        self.rows.iter().filter(|r| r.b_ns.is_none())
    }
    pub fn only_in_b(&self) -> impl Iterator<Item = &CompareRow> {
        self.rows.iter().filter(|r| r.a_ns.is_none())
    }
}

/// Position keys of every span, in the tree's depth-first order: `(span, depth, key)`.
fn positions(spans: &[&Span], tree: &Tree) -> Vec<(usize, usize, String)> {
    let mut key: Vec<String> = vec![String::new(); spans.len()];
    let mut out = Vec::with_capacity(spans.len());
    let ordinals = |list: &[usize], key: &mut Vec<String>, prefix: &str| {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for &c in list {
            let n = seen.entry(spans[c].name.as_str()).or_insert(0);
            key[c] = format!("{prefix}{}#{n}", spans[c].name.replace('/', "∕"));
            *n += 1;
        }
    };
    ordinals(&tree.roots, &mut key, "");
    for &(i, depth) in &tree.order {
        let prefix = format!("{}/", key[i]);
        ordinals(&tree.children[i], &mut key, &prefix);
        out.push((i, depth, key[i].clone()));
    }
    out
}

fn trace_duration(spans: &[&Span]) -> u64 {
    let (start, end) = metrics::extent(spans);
    end - start
}

/// Compares trace `a` with trace `b` (deltas are `b - a`).
pub fn compare(a: &[&Span], b: &[&Span]) -> Comparison {
    let pa = positions(a, &Tree::build(a));
    let pb = positions(b, &Tree::build(b));
    let in_b: HashMap<&str, usize> = pb.iter().map(|(i, _, k)| (k.as_str(), *i)).collect();
    let in_a: std::collections::HashSet<&str> = pa.iter().map(|(_, _, k)| k.as_str()).collect();
    let mut rows = Vec::with_capacity(pa.len().max(pb.len()));
    for (i, depth, k) in &pa {
        rows.push(CompareRow {
            key: k.clone(),
            name: a[*i].name.clone(),
            depth: *depth,
            a_ns: Some(metrics::duration_ns(a[*i])),
            b_ns: in_b.get(k.as_str()).map(|&j| metrics::duration_ns(b[j])),
        });
    }
    for (j, depth, k) in &pb {
        if !in_a.contains(k.as_str()) {
            rows.push(CompareRow {
                key: k.clone(),
                name: b[*j].name.clone(),
                depth: *depth,
                a_ns: None,
                b_ns: Some(metrics::duration_ns(b[*j])),
            });
        }
    }
    Comparison {
        a_duration_ns: trace_duration(a),
        b_duration_ns: trace_duration(b),
        rows,
    }
}

// ---------------------------------------------------------------------------------------------
// Per-task history

/// A task: a service and a span name. Tasks are the root span of every trace, and every span
/// that records `task.cached` (the spans of devenv tasks and `otelctl run`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TaskKey {
    pub service: String,
    pub name: String,
}

/// One run of a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Run {
    pub trace_id: String,
    pub span_id: String,
    pub start_unix_nano: u64,
    pub duration_ns: u64,
    /// `task.cached`, when the span sets it (`true`/`false`, as text or boolean).
    pub cached: Option<bool>,
    pub error: bool,
}

/// `task.cached` of a span, when set.
pub fn cached(span: &Span) -> Option<bool> {
    match otlp::attribute(&span.attributes, "task.cached")? {
        otlp::Value::BoolValue(b) => Some(*b),
        v => match v.to_text().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
    }
}

/// The task spans of one trace: `(key, span index)` for its roots and its `task.cached` spans.
pub fn tasks(spans: &[SpanRef], tree: &Tree) -> Vec<(TaskKey, usize)> {
    let mut out = Vec::new();
    for &(i, depth) in &tree.order {
        let (res, s) = spans[i];
        let is_root = depth == 0 && !tree.orphan[i];
        if is_root || cached(s).is_some() {
            out.push((
                TaskKey {
                    service: service_name(res).unwrap_or_else(|| UNKNOWN_SERVICE.to_string()),
                    name: s.name.clone(),
                },
                i,
            ));
        }
    }
    out
}

/// A run from a task span.
pub fn run_of(span: &Span) -> Run {
    Run {
        trace_id: otlp::to_hex(&span.trace_id),
        span_id: otlp::to_hex(&span.span_id),
        start_unix_nano: span.start_time_unix_nano,
        duration_ns: metrics::duration_ns(span),
        cached: cached(span),
        error: metrics::is_error(span),
    }
}

/// Every run of `key` among the given traces, oldest first.
pub fn runs_of<'a>(traces: impl IntoIterator<Item = Vec<SpanRef<'a>>>, key: &TaskKey) -> Vec<Run> {
    runs_of_dyn(&mut traces.into_iter(), key)
}

// Not generic, so compiled (and optimised) here rather than in each caller.
fn runs_of_dyn<'a>(traces: &mut dyn Iterator<Item = Vec<SpanRef<'a>>>, key: &TaskKey) -> Vec<Run> {
    let mut runs = Vec::new();
    for spans in traces {
        if !spans.iter().any(|(_, s)| s.name == key.name) {
            continue;
        }
        let refs: Vec<&Span> = spans.iter().map(|(_, s)| *s).collect();
        let tree = Tree::build(&refs);
        for (k, i) in tasks(&spans, &tree) {
            if &k == key {
                runs.push(run_of(spans[i].1));
            }
        }
    }
    runs.sort_by(|a, b| {
        (a.start_unix_nano, &a.trace_id, &a.span_id).cmp(&(
            b.start_unix_nano,
            &b.trace_id,
            &b.span_id,
        ))
    });
    runs
}

/// How many earlier runs a run is measured against.
pub const HISTORY_RUNS: usize = 20;
/// Fewest comparable earlier runs before a run is called out of line.
pub const MIN_HISTORY: usize = 5;
/// A run this many times the median or more (or the median divided by it or less) is out of line.
pub const OUT_OF_LINE: f64 = 1.5;

/// The earlier runs a run is measured against, and their percentiles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct History {
    /// The comparable runs, oldest first (at most `n`).
    pub runs: Vec<Run>,
    /// `Some(c)`: only runs with `task.cached = c` were counted.
    pub cached: Option<bool>,
    pub p50_ns: Option<u64>,
    pub p95_ns: Option<u64>,
}

/// The last `n` runs before `this` (or the last `n` of all when `this` is `None`) comparable
/// with it: the same `task.cached` value when `this` sets one. Percentiles are nearest-rank.
pub fn history(all: &[Run], this: Option<&Run>, n: usize) -> History {
    let cached = this.and_then(|r| r.cached);
    let comparable: Vec<&Run> = all
        .iter()
        .filter(|r| match this {
            // Span ids are unique within a trace only: a run is (trace, span).
            Some(t) => {
                (r.start_unix_nano, &r.trace_id, &r.span_id)
                    < (t.start_unix_nano, &t.trace_id, &t.span_id)
            }
            None => true,
        })
        .filter(|r| cached.is_none() || r.cached == cached)
        .collect();
    let runs: Vec<Run> = comparable[comparable.len().saturating_sub(n)..]
        .iter()
        .map(|r| (*r).clone())
        .collect();
    let mut sorted: Vec<u64> = runs.iter().map(|r| r.duration_ns).collect();
    sorted.sort_unstable();
    History {
        cached,
        p50_ns: metrics::nearest_rank(&sorted, 50),
        p95_ns: metrics::nearest_rank(&sorted, 95),
        runs,
    }
}

/// The run to compare a run with: among its comparable earlier runs, the one whose duration is
/// their median (nearest rank; the latest of equal ones), not the previous run, which may be an
/// outlier itself.
pub fn baseline(h: &History) -> Option<&Run> {
    let median = h.p50_ns?;
    h.runs.iter().rev().find(|r| r.duration_ns == median)
}

/// Whether a run out of line is `slower` or `faster` than its history's median.
pub fn direction(this: &Run, h: &History) -> Option<&'static str> {
    let median = h.p50_ns?;
    out_of_line(this, h)?;
    Some(if this.duration_ns >= median {
        "slower"
    } else {
        "faster"
    })
}

/// The plain sentence for a run out of line with its history (`None` when in line, or with fewer
/// than [`MIN_HISTORY`] comparable runs): `2.3x the median of the last 20 runs`.
pub fn out_of_line(this: &Run, h: &History) -> Option<String> {
    let median = h.p50_ns?;
    if h.runs.len() < MIN_HISTORY || median == 0 {
        return None;
    }
    let ratio = this.duration_ns as f64 / median as f64;
    if ratio < OUT_OF_LINE && ratio > 1.0 / OUT_OF_LINE {
        return None;
    }
    let mut text = format!("{ratio:.1}x the median of the last {} runs", h.runs.len());
    match h.cached {
        Some(true) => text.push_str(" (cached runs only)"),
        Some(false) => text.push_str(" (uncached runs only)"),
        None => {}
    }
    Some(text)
}

// ---------------------------------------------------------------------------------------------
// Text output

/// A text waterfall: one line per span in depth-first order, indented by depth, a bar of
/// `width` characters scaled to the trace, the duration, `✖` for an error, `*` on the
/// critical path.
pub fn text_waterfall(spans: &[&Span], width: usize) -> String {
    let tree = Tree::build(spans);
    let path = critical_path(spans, &tree);
    let (start, end) = metrics::extent(spans);
    let total = (end - start).max(1) as f64;
    let label_width = tree
        .order
        .iter()
        .map(|&(i, d)| 2 * d.min(16) + spans[i].name.chars().count())
        .max()
        .unwrap_or(0)
        .min(60);
    let mut out = String::new();
    for &(i, depth) in &tree.order {
        let s = spans[i];
        let mut label = format!("{}{}", "  ".repeat(depth.min(16)), s.name);
        if label.chars().count() > label_width {
            label = label.chars().take(label_width.saturating_sub(1)).collect();
            label.push('…');
        }
        let from = ((s.start_time_unix_nano.saturating_sub(start)) as f64 / total * width as f64)
            .floor() as usize;
        let len = ((metrics::duration_ns(s) as f64 / total * width as f64).round() as usize)
            .max(1)
            .min(width.saturating_sub(from.min(width - 1)));
        let from = from.min(width - 1);
        let bar: String = " ".repeat(from) + &"█".repeat(len) + &" ".repeat(width - from - len);
        let _ = writeln!(
            out,
            "{label:<lw$} {mark}|{bar}| {dur:>9}{err}",
            lw = label_width,
            mark = if path.on_path[i] { '*' } else { ' ' },
            dur = otelctl_config::formats::format_duration(metrics::duration_ns(s)),
            err = if metrics::is_error(s) {
                " ✖ error"
            } else {
                ""
            },
        );
    }
    out
}

/// Per-span deltas as text: one line per position, `b - a` and the ratio.
pub fn text_comparison(c: &Comparison) -> String {
    use otelctl_config::formats::format_duration as fd;
    let signed = |d: i64| {
        let sign = if d < 0 { "-" } else { "+" };
        format!("{sign}{}", fd(d.unsigned_abs()))
    };
    let label_width = c
        .rows
        .iter()
        .map(|r| 2 * r.depth.min(16) + r.name.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 60);
    let mut out = format!(
        "{:<lw$} {:>10} {:>10} {:>11}\n",
        "span",
        "A",
        "B",
        "B - A",
        lw = label_width
    );
    let _ = writeln!(
        out,
        "{:<lw$} {:>10} {:>10} {:>11}",
        "(trace)",
        fd(c.a_duration_ns),
        fd(c.b_duration_ns),
        signed(c.b_duration_ns as i64 - c.a_duration_ns as i64),
        lw = label_width
    );
    for r in &c.rows {
        let label: String = format!("{}{}", "  ".repeat(r.depth.min(16)), r.name)
            .chars()
            .take(label_width)
            .collect();
        let _ = writeln!(
            out,
            "{label:<lw$} {:>10} {:>10} {:>11}",
            r.a_ns.map(fd).unwrap_or_else(|| "-".into()),
            r.b_ns.map(fd).unwrap_or_else(|| "-".into()),
            match r.delta_ns() {
                Some(d) => signed(d),
                None if r.a_ns.is_some() => "only in A".to_string(),
                None => "only in B".to_string(),
            },
            lw = label_width
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::summarize;
    use crate::summary::tests::span;
    use otelctl_otlp::{Status, StatusCode};

    fn named(mut s: Span, name: &str) -> Span {
        s.name = name.to_string();
        s
    }

    fn refs(spans: &[Span]) -> Vec<&Span> {
        spans.iter().collect()
    }

    /// root(0..1000) > a(100..600) > a1(200..300), a2(350..550); root > b(650..950) > b1(700..900)
    fn nested() -> Vec<Span> {
        vec![
            named(span(1, 5, 2, 350, 550), "a2"),
            named(span(1, 1, 0, 0, 1000), "root"),
            named(span(1, 6, 3, 700, 900), "b1"),
            named(span(1, 2, 1, 100, 600), "a"),
            named(span(1, 4, 2, 200, 300), "a1"),
            named(span(1, 3, 1, 650, 950), "b"),
        ]
    }

    fn path_names(spans: &[Span]) -> Vec<(String, u64, u64)> {
        let r = refs(spans);
        let p = critical_path(&r, &Tree::build(&r));
        p.segments
            .iter()
            .map(|s| (r[s.span].name.clone(), s.start_unix_nano, s.end_unix_nano))
            .collect()
    }

    fn seg(n: &str, a: u64, b: u64) -> (String, u64, u64) {
        (n.to_string(), a, b)
    }

    #[test]
    fn critical_path_follows_the_last_finishing_child_back_to_the_start() {
        // a1 (200..300) ends before a2 (350..550) starts: both delayed a's end.
        assert_eq!(
            path_names(&nested()),
            vec![
                seg("root", 0, 100),
                seg("a", 100, 200),
                seg("a1", 200, 300),
                seg("a", 300, 350),
                seg("a2", 350, 550),
                seg("a", 550, 600),
                seg("root", 600, 650),
                seg("b", 650, 700),
                seg("b1", 700, 900),
                seg("b", 900, 950),
                seg("root", 950, 1000),
            ]
        );
    }

    #[test]
    fn critical_path_counts_sequential_children_and_gaps() {
        // The segments cover the root's window exactly, in time order.
        let spans = nested();
        let names = path_names(&spans);
        let mut t = 0;
        for (_, a, b) in &names {
            assert_eq!(*a, t, "no gap or overlap: {names:?}");
            t = *b;
        }
        assert_eq!(t, 1000);
    }

    #[test]
    fn critical_path_skips_overlapped_siblings_and_clamps_skewed_children() {
        // x (0..500) overlaps y (100..800): only y decided the end; x ends after y's start.
        let spans = vec![
            named(span(1, 1, 0, 0, 1000), "root"),
            named(span(1, 2, 1, 0, 500), "x"),
            named(span(1, 3, 1, 100, 800), "y"),
            // Skewed: reported to end after its parent (900..1200 in 0..1000).
            named(span(1, 4, 1, 900, 1200), "late"),
        ];
        // "late" is taken as ending with root (clamped to 900..1000); x ended after y began.
        assert_eq!(
            path_names(&spans),
            vec![
                seg("root", 0, 100),
                seg("y", 100, 800),
                seg("root", 800, 900),
                seg("late", 900, 1000)
            ]
        );
        // A child starting before its parent counts only inside the parent's window.
        let spans = vec![
            named(span(1, 1, 0, 100, 1000), "root"),
            named(span(1, 2, 1, 0, 600), "early"),
        ];
        assert_eq!(
            path_names(&spans),
            vec![seg("early", 100, 600), seg("root", 600, 1000)]
        );
    }

    #[test]
    fn a_parent_cycle_is_broken_for_the_critical_path_too() {
        // 1 -> 2 -> 1, nested in time: following children would go round for ever.
        let spans = [span(1, 1, 2, 0, 10), span(1, 2, 1, 1, 5)];
        let r = refs(&spans);
        let tree = Tree::build(&r);
        assert_eq!(tree.order.len(), 2);
        let edges: usize = tree.children.iter().map(Vec::len).sum();
        assert_eq!(edges, 1, "{tree:?}");
        let p = critical_path(&r, &tree);
        assert_eq!(p.on_path, vec![true, true]);
    }

    #[test]
    fn critical_path_of_empty_and_deep_traces() {
        assert_eq!(
            critical_path(&[], &Tree::build(&[])),
            CriticalPath::default()
        );
        let chain: Vec<Span> = (0..50_000u64)
            .map(|i| Span {
                trace_id: vec![1; 16],
                span_id: (i + 1).to_be_bytes().to_vec(),
                parent_span_id: if i == 0 {
                    vec![]
                } else {
                    i.to_be_bytes().to_vec()
                },
                start_time_unix_nano: i,
                end_time_unix_nano: 200_000 - i,
                ..Default::default()
            })
            .collect();
        let r = refs(&chain);
        let p = critical_path(&r, &Tree::build(&r));
        assert!(p.on_path.iter().all(|b| *b));
    }

    fn with_attrs(mut s: Span, attrs: &[(&str, &str)]) -> Span {
        s.attributes = attrs
            .iter()
            .map(|(k, v)| KeyValue::string(*k, *v))
            .collect();
        s
    }

    #[test]
    fn filter_conditions_each_narrow_the_list() {
        let svc = |n: &str| vec![KeyValue::string("service.name", n)];
        let (web, cli) = (svc("web"), svc("cli"));
        let mut err = named(span(2, 1, 0, 2_000, 5_000_000_000), "build");
        err.status = Some(Status {
            code: StatusCode::Error as i32,
            message: String::new(),
        });
        let traces: Vec<(Vec<KeyValue>, Vec<Span>)> = vec![
            (
                web.clone(),
                vec![
                    named(span(1, 1, 0, 1_000, 1_000_001_000), "GET /"),
                    with_attrs(
                        named(span(1, 2, 1, 2_000, 3_000), "db"),
                        &[("Db.System", "pg")],
                    ),
                ],
            ),
            (cli.clone(), vec![err]),
            (
                cli.clone(),
                vec![with_attrs(
                    named(span(3, 1, 0, 3_000, 3_000 + 20_000_000), "build"),
                    &[("task.cached", "true")],
                )],
            ),
        ];
        let run = |f: &Filter| -> Vec<u8> {
            let items: Vec<(TraceSummary, Vec<SpanRef>)> = traces
                .iter()
                .map(|(res, spans)| {
                    let r: Vec<SpanRef> = spans.iter().map(|s| (res.as_slice(), s)).collect();
                    (summarize(&spans[0].trace_id, &r), r)
                })
                .collect();
            search(items, f, 10_000_000_000)
                .iter()
                .map(|s| otlp::from_hex(&s.trace_id).unwrap()[0])
                .collect()
        };
        let f = |q: &str| {
            let pairs: Vec<(String, String)> = q
                .split('&')
                .filter_map(|p| p.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Filter::from_query(&pairs).unwrap()
        };
        assert_eq!(run(&Filter::default()), vec![3, 2, 1], "newest first");
        assert_eq!(run(&f("service=cli")), vec![3, 2]);
        assert_eq!(run(&f("name=db")), vec![1]);
        assert_eq!(run(&f("status=error")), vec![2]);
        assert_eq!(run(&f("status=ok")), vec![3, 1]);
        assert_eq!(run(&f("min=1s")), vec![2, 1]);
        assert_eq!(run(&f("max=1s")), vec![3, 1], "inclusive: exactly 1 s");
        assert_eq!(run(&f("min=10ms&max=2s")), vec![3, 1]);
        let attr = Filter {
            attrs: vec![("Db.System".into(), "pg".into())],
            ..Filter::default()
        };
        assert_eq!(run(&attr), vec![1], "keys keep their case");
        let lower = Filter {
            attrs: vec![("db.system".into(), "pg".into())],
            ..Filter::default()
        };
        assert_eq!(run(&lower), Vec::<u8>::new());
        let res_attr = Filter {
            attrs: vec![("service.name".into(), "web".into())],
            ..Filter::default()
        };
        assert_eq!(run(&res_attr), vec![1], "resource attributes count");
        assert_eq!(run(&f("from=2000&to=2500")), vec![2]);
        // now = 10 s; since 9.9999975 s: started at or after 2500 ns.
        let since = Filter {
            since: Some(Duration::from_nanos(10_000_000_000 - 2_500)),
            ..Filter::default()
        };
        assert_eq!(run(&since), vec![3]);
        assert_eq!(run(&f("limit=2")), vec![3, 2]);
        assert_eq!(run(&f("service=cli&status=ok")), vec![3]);
    }

    /// Six runs of `dt` with tasks a, b, c: b failed in runs 1 and 4, c in runs 0, 2 and 5.
    fn six_runs() -> Vec<Vec<Span>> {
        (0..6u8)
            .map(|r| {
                let t = r + 1;
                let mut spans = vec![named(span(t, 1, 0, 0, 1000), "dt")];
                for (k, task) in ["a", "b", "c"].into_iter().enumerate() {
                    let mut s = named(span(t, 2 + k as u8, 1, 0, 100), task);
                    let failed = match task {
                        "b" => [1, 4].contains(&r),
                        "c" => [0, 2, 5].contains(&r),
                        _ => false,
                    };
                    if failed {
                        s.status = Some(Status {
                            code: StatusCode::Error as i32,
                            message: String::new(),
                        });
                    }
                    spans.push(s);
                }
                spans
            })
            .collect()
    }

    #[test]
    fn the_baseline_is_the_median_comparable_run_and_a_verdict_has_a_direction() {
        let run = |t: u8, ms: u64, cached: Option<bool>| Run {
            trace_id: format!("{t:02x}"),
            span_id: "01".into(),
            start_unix_nano: u64::from(t) * 1_000,
            duration_ns: ms * 1_000_000,
            cached,
            error: false,
        };
        // Uncached runs 100..160 ms, the last one slow; a cached run of 5 ms among them.
        let mut runs: Vec<Run> = (1..=6u8)
            .map(|t| run(t, 100 + 10 * u64::from(t), Some(false)))
            .collect();
        runs.push(run(7, 5, Some(true)));
        runs.push(run(8, 900, Some(false)));
        let this = run(9, 400, Some(false));
        let h = history(&runs, Some(&this), HISTORY_RUNS);
        assert_eq!(h.runs.len(), 7, "the cached run is not comparable");
        // Sorted: 110 120 130 140 150 160 900: the median (rank 4) is 140 ms, run 4, not run 8.
        assert_eq!(baseline(&h).map(|r| r.trace_id.as_str()), Some("04"));
        assert_eq!(direction(&this, &h), Some("slower"));
        assert_eq!(direction(&run(9, 50, Some(false)), &h), Some("faster"));
        assert_eq!(direction(&run(9, 150, Some(false)), &h), None, "in line");
        assert_eq!(baseline(&history(&[], Some(&this), HISTORY_RUNS)), None);
    }

    #[test]
    fn span_conditions_hold_for_one_span_trace_conditions_for_the_trace() {
        let runs = six_runs();
        let res = vec![KeyValue::string("service.name", "dt")];
        let matching = |f: &str| -> Vec<u8> {
            let pairs: Vec<(String, String)> = f
                .split('&')
                .map(|kv| {
                    let (k, v) = kv.split_once('=').unwrap();
                    (k.to_string(), v.to_string())
                })
                .collect();
            let filter = Filter::from_query(&pairs).unwrap();
            runs.iter()
                .filter(|spans| {
                    let with: Vec<SpanRef> = spans.iter().map(|s| (res.as_slice(), s)).collect();
                    filter.matches(&summarize(&spans[0].trace_id, &with), &with, 0)
                })
                .map(|spans| spans[0].trace_id[0])
                .collect()
        };
        // b failed in runs 1 and 4 (traces 2 and 5); c's failures do not count for b.
        assert_eq!(matching("name=b&status=error"), vec![2, 5]);
        assert_eq!(matching("name=c&status=error"), vec![1, 3, 6]);
        // b succeeded in the other four.
        assert_eq!(matching("name=b&status=ok"), vec![1, 3, 4, 6]);
        // "has an error anywhere" is the trace's: every run but run 3 (trace 4).
        assert_eq!(matching("trace_status=error"), vec![1, 2, 3, 5, 6]);
        assert_eq!(matching("trace_status=ok"), vec![4]);
        // b succeeded, yet something else failed: runs 0, 2, 5.
        assert_eq!(
            matching("name=b&status=ok&trace_status=error"),
            vec![1, 3, 6]
        );
        // A span of service dt named a that failed: none.
        assert_eq!(matching("service=dt&name=a&status=error"), Vec::<u8>::new());
    }

    #[test]
    fn filter_query_round_trips_and_rejects_bad_values() {
        let f = Filter {
            service: Some("my svc".into()),
            name: Some("a&b".into()),
            status: Some(StatusFilter::Error),
            trace_status: Some(StatusFilter::Ok),
            min_duration: Some(Duration::from_millis(1500)),
            max_duration: Some(Duration::from_secs(60)),
            attrs: vec![
                ("k".into(), "v=w".into()),
                ("task.cached".into(), "true".into()),
            ],
            since: Some(Duration::from_secs(7200)),
            from_unix_nano: Some(5),
            to_unix_nano: Some(9),
            limit: Some(3),
        };
        let q = f.to_query();
        let pairs: Vec<(String, String)> = q
            .split('&')
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap();
                (
                    k.to_string(),
                    otelctl_config::formats::percent_decode(v).unwrap(),
                )
            })
            .collect();
        assert_eq!(Filter::from_query(&pairs).unwrap(), f);
        for (k, v) in [
            ("status", "broken"),
            ("trace_status", "red"),
            ("min", "fast"),
            ("attr", "=x"),
            ("limit", "0"),
            ("from", "yesterday"),
        ] {
            let e = Filter::from_query(&[(k.to_string(), v.to_string())]).unwrap_err();
            assert!(e.to_string().contains(v), "{e}");
        }
        assert!(Filter::from_query(&[("min".into(), "".into())])
            .unwrap()
            .is_empty());
    }

    #[test]
    fn compare_matches_by_name_and_position_and_lists_the_rest() {
        let a = vec![
            named(span(1, 1, 0, 0, 1000), "build"),
            named(span(1, 2, 1, 0, 100), "test"),
            named(span(1, 3, 1, 100, 300), "test"),
            named(span(1, 4, 1, 300, 400), "lint"),
        ];
        let b = vec![
            named(span(2, 1, 0, 0, 2000), "build"),
            named(span(2, 2, 1, 0, 150), "test"),
            named(span(2, 3, 1, 150, 1000), "test"),
            named(span(2, 5, 1, 1000, 1100), "docs"),
        ];
        let c = compare(&refs(&a), &refs(&b));
        let rows: Vec<(&str, Option<i64>)> = c
            .rows
            .iter()
            .map(|r| (r.key.as_str(), r.delta_ns()))
            .collect();
        assert_eq!(
            rows,
            vec![
                ("build#0", Some(1000)),
                ("build#0/test#0", Some(50)),
                ("build#0/test#1", Some(650)),
                ("build#0/lint#0", None),
                ("build#0/docs#0", None),
            ]
        );
        assert_eq!(
            c.only_in_a().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            ["lint"]
        );
        assert_eq!(
            c.only_in_b().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            ["docs"]
        );
        assert_eq!((c.a_duration_ns, c.b_duration_ns), (1000, 2000));
        let text = text_comparison(&c);
        assert!(
            text.contains("only in A") && text.contains("only in B"),
            "{text}"
        );
        assert!(text.contains("+650 ns"), "{text}");
    }

    fn run(start: u64, dur: u64, cached: Option<bool>) -> Run {
        Run {
            trace_id: format!("{start:032x}"),
            span_id: format!("{start:016x}"),
            start_unix_nano: start,
            duration_ns: dur,
            cached,
            error: false,
        }
    }

    #[test]
    fn history_counts_only_earlier_comparable_runs() {
        // 20 uncached runs of ~1 s, 10 cached runs of 10 ms, then an uncached run of 2.3 s.
        let mut all: Vec<Run> = (0..20)
            .map(|i| run(i * 10, 1_000_000_000 + i * 1_000_000, Some(false)))
            .collect();
        all.extend((0..10).map(|i| run(5 + i * 10, 10_000_000, Some(true))));
        all.sort_by_key(|r| r.start_unix_nano);
        let this = run(1_000, 2_300_000_000, Some(false));
        all.push(this.clone());
        let h = history(&all, Some(&this), HISTORY_RUNS);
        assert_eq!(h.runs.len(), 20);
        assert!(h.runs.iter().all(|r| r.cached == Some(false)));
        assert_eq!(h.p50_ns, Some(1_009_000_000));
        assert_eq!(h.p95_ns, Some(1_018_000_000));
        assert_eq!(
            out_of_line(&this, &h).as_deref(),
            Some("2.3x the median of the last 20 runs (uncached runs only)")
        );
        // Runs of other traces with the same span id still count (span ids are per trace).
        let same_span: Vec<Run> = all
            .iter()
            .map(|r| Run {
                span_id: "0101010101010101".into(),
                ..r.clone()
            })
            .collect();
        let this_same = Run {
            span_id: "0101010101010101".into(),
            ..this.clone()
        };
        assert_eq!(history(&same_span, Some(&this_same), 20).runs.len(), 20);
        // In line: no sentence.
        let normal = run(1_000, 1_100_000_000, Some(false));
        assert_eq!(
            out_of_line(&normal, &history(&all, Some(&normal), 20)),
            None
        );
        // Too few runs: no sentence.
        let h = history(&all[..3], Some(&this), 20);
        assert_eq!(out_of_line(&this, &h), None);
        // Much faster than usual is out of line too.
        let fast = run(1_000, 300_000_000, Some(false));
        let h = history(&all, Some(&fast), 20);
        assert_eq!(
            out_of_line(&fast, &h).as_deref(),
            Some("0.3x the median of the last 20 runs (uncached runs only)")
        );
    }

    #[test]
    fn tasks_are_roots_and_task_cached_spans() {
        let res = vec![KeyValue::string("service.name", "dt-task")];
        let spans = [
            named(span(1, 1, 0, 0, 100), "devenv"),
            with_attrs(
                named(span(1, 2, 1, 0, 50), "pnpm:install"),
                &[("task.cached", "false")],
            ),
            named(span(1, 3, 2, 0, 10), "child"),
        ];
        let r: Vec<SpanRef> = spans.iter().map(|s| (res.as_slice(), s)).collect();
        let rs: Vec<&Span> = spans.iter().collect();
        let names: Vec<String> = tasks(&r, &Tree::build(&rs))
            .into_iter()
            .map(|(k, _)| k.name)
            .collect();
        assert_eq!(names, ["devenv", "pnpm:install"]);
        let key = TaskKey {
            service: "dt-task".into(),
            name: "pnpm:install".into(),
        };
        let runs = runs_of(vec![r.clone(), r], &key);
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].cached, Some(false));
        assert_eq!(runs[0].duration_ns, 50);
    }

    #[test]
    fn text_waterfall_names_every_span_in_depth_order_and_marks_errors() {
        let mut spans = nested();
        spans[4].status = Some(Status {
            code: StatusCode::Error as i32,
            message: String::new(),
        });
        let text = text_waterfall(&refs(&spans), 40);
        let names: Vec<&str> = text
            .lines()
            .map(|l| l.split_whitespace().next().unwrap())
            .collect();
        assert_eq!(names, ["root", "a", "a1", "a2", "b", "b1"]);
        let a1 = text.lines().nth(2).unwrap();
        assert!(
            a1.starts_with("    a1") && a1.ends_with("✖ error"),
            "{text}"
        );
        let root = text.lines().next().unwrap();
        assert!(root.contains(&"█".repeat(40)), "{text}");
        assert!(root.contains("*|"), "root is on the critical path: {text}");
    }

    #[test]
    fn traceql_says_what_the_filter_says() {
        assert_eq!(traceql(&Filter::default()), "{ }");
        let f = Filter {
            service: Some("web".into()),
            name: Some("GET \"/\"".into()),
            status: Some(StatusFilter::Error),
            min_duration: Some(Duration::from_millis(1500)),
            max_duration: Some(Duration::from_nanos(2_000_000_001)),
            attrs: vec![
                ("task.cached".into(), "false".into()),
                ("my key".into(), "a b".into()),
            ],
            ..Filter::default()
        };
        assert_eq!(
            traceql(&f),
            r#"{ resource.service.name = "web" && name = "GET \"/\"" && status = error && (span.task.cached = "false" || span.task.cached = false || resource.task.cached = "false" || resource.task.cached = false) && (span."my key" = "a b" || resource."my key" = "a b") } && { traceDuration >= 1500ms } && { traceDuration <= 2000000001ns }"#,
            "the span conditions are one spanset: one span meets them all"
        );
        let ok = Filter {
            status: Some(StatusFilter::Ok),
            trace_status: Some(StatusFilter::Error),
            ..Filter::default()
        };
        assert_eq!(traceql(&ok), "{ status != error } && { status = error }");
        let clean = Filter {
            trace_status: Some(StatusFilter::Ok),
            ..Filter::default()
        };
        assert_eq!(
            traceql(&clean),
            "{ }",
            "no failed span is checked after the search"
        );
    }

    #[test]
    fn rows_have_rfc3339_starts_and_milliseconds() {
        assert_eq!(
            format_rfc3339_nanos(1_700_000_000_123_456_789),
            "2023-11-14T22:13:20.123456789Z"
        );
    }
}
