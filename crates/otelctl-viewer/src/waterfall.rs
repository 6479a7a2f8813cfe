//! The trace waterfall's data: one row per span, in the order the page draws them.
//!
//! Rows follow a depth-first walk of the span tree, children in start order, so every child
//! sits below its parent. Spans whose parent is absent (not received, or dropped) start a tree
//! of their own; parent cycles in hostile input are broken, so `n` spans always give `n` rows
//! (the walk is iterative: a chain of 100 000 nested spans cannot overflow the stack).
//!
//! The page draws only the rows in view (`assets/js/waterfall.js`), so every span of a trace of
//! any size is there: the data is compact (names and services by index, times as offsets in
//! nanoseconds from the trace's start, which a JS number holds exactly for 104 days) and is
//! embedded in the page as JSON ([`Data`]).

use serde::Serialize;

use otelctl_otlp::{self as otlp, Span};

use crate::explore::{CriticalPath, Tree};
use crate::metrics;
use crate::summary::UNKNOWN_SERVICE;

/// Row flag: the span's status is ERROR.
pub const ERROR: u8 = 1;
/// Row flag: the span is on the critical path.
pub const CRITICAL: u8 = 2;
/// Row flag: the span names a parent the trace does not hold.
pub const ORPHAN: u8 = 4;

/// Twenty colours that stay apart from each other (and from the error red, which no service
/// gets): services are given them in the order of their names, so up to twenty services in one
/// trace never share a colour.
pub const PALETTE: [&str; 20] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#bab0ac",
    "#1f3f8f", "#8cd17d", "#d4a6c8", "#86bcb6", "#f1ce63", "#499894", "#a0cbe8", "#ffbe7d",
    "#79706e", "#6a3d9a", "#b6992d", "#2f6b3a",
];

/// The colour of the `i`-th service (in name order) of a page; past twenty, colours repeat.
pub fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// A service's colour where a page has no set of services to number (one log row, one
/// metric): a palette colour picked by a hash of the name (FNV-1a), the same on every page.
/// Within one trace, [`data`] numbers the services instead, so they never share a colour.
pub fn service_colour(service: &str) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for b in service.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    colour(h as usize).to_string()
}

/// One row: `[span id, depth, start offset ns, duration ns, name index, service index, flags,
/// children, event offsets ns]`, serialised as a JSON array.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row(
    pub String,
    pub usize,
    pub u64,
    pub u64,
    pub usize,
    pub usize,
    pub u8,
    pub usize,
    pub Vec<u64>,
);

/// What the page's waterfall, span table and flame graph are drawn from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Data<'a> {
    pub trace: &'a str,
    /// The trace's first start, Unix nanoseconds, as text (beyond a JS number's exact range).
    pub start: String,
    /// First start to last end, nanoseconds.
    pub duration: u64,
    /// Service names, sorted; rows point into it.
    pub services: Vec<&'a str>,
    /// Each service's colour.
    pub colours: Vec<&'static str>,
    /// Span names, each once; rows point into it.
    pub names: Vec<&'a str>,
    pub rows: Vec<Row>,
    /// The row of the span the URL selects.
    pub selected: Option<usize>,
    /// Each row's index in the input spans (not serialised).
    #[serde(skip)]
    pub span_of_row: Vec<usize>,
    /// Log records on the bars: `(row, offset from start in ns, severity class)`, by row
    /// (`signals::log_marks_by_row`; absent when the trace has no logs).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<(usize, u64, &'static str)>,
}

/// The waterfall's data for one trace: `spans` with their resources, its tree and critical path.
pub fn data<'a>(
    trace: &'a str,
    spans: &[(&'a [otlp::KeyValue], &'a Span)],
    tree: &Tree,
    path: &CriticalPath,
    selected: Option<&str>,
) -> Data<'a> {
    let refs: Vec<&Span> = spans.iter().map(|(_, s)| *s).collect();
    let (start, end) = metrics::extent(&refs);
    // A service.name that is not a string (rare) counts as unknown here.
    let service_of: Vec<Option<&'a str>> = spans
        .iter()
        .map(|(res, _)| match otlp::attribute(res, "service.name") {
            Some(otlp::Value::StringValue(v)) => Some(v.as_str()),
            _ => None,
        })
        .collect();
    let mut services: Vec<&'a str> = service_of
        .iter()
        .map(|s| s.unwrap_or(UNKNOWN_SERVICE))
        .collect();
    services.sort_unstable();
    services.dedup();
    let mut names: Vec<&'a str> = spans.iter().map(|(_, s)| s.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let index = |list: &[&str], v: &str| list.binary_search(&v).unwrap_or(0);
    let mut rows = Vec::with_capacity(tree.order.len());
    let mut span_of_row = Vec::with_capacity(tree.order.len());
    let mut selected_row = None;
    for &(i, depth) in &tree.order {
        let s = spans[i].1;
        let sid = otlp::to_hex(&s.span_id);
        if selected == Some(sid.as_str()) {
            selected_row = Some(rows.len());
        }
        let mut flags = 0;
        if metrics::is_error(s) {
            flags |= ERROR;
        }
        if path.on_path.get(i).copied().unwrap_or(false) {
            flags |= CRITICAL;
        }
        if tree.orphan[i] {
            flags |= ORPHAN;
        }
        rows.push(Row(
            sid,
            depth,
            s.start_time_unix_nano.saturating_sub(start),
            metrics::duration_ns(s),
            index(&names, &s.name),
            index(&services, service_of[i].unwrap_or(UNKNOWN_SERVICE)),
            flags,
            tree.children[i].len(),
            s.events
                .iter()
                .map(|e| e.time_unix_nano.saturating_sub(start))
                .collect(),
        ));
        span_of_row.push(i);
    }
    Data {
        trace,
        start: start.to_string(),
        duration: end.saturating_sub(start),
        colours: (0..services.len()).map(colour).collect(),
        services,
        names,
        rows,
        selected: selected_row,
        span_of_row,
        logs: Vec::new(),
    }
}

/// The rows (in [`data`]'s order) whose span matches `query`: its name, service, span id, or an
/// attribute's key or value (span or resource) contains it, ignoring case.
pub fn find(spans: &[(&[otlp::KeyValue], &Span)], tree: &Tree, query: &str) -> Vec<usize> {
    let q = query.trim().to_lowercase();
    if q.is_empty() {
        return Vec::new();
    }
    let has = |text: &str| text.to_lowercase().contains(&q);
    let attr =
        |kv: &otlp::KeyValue| has(&kv.key) || kv.get().map(|v| has(&v.to_text())).unwrap_or(false);
    tree.order
        .iter()
        .enumerate()
        .filter(|(_, &(i, _))| {
            let (res, s) = spans[i];
            has(&s.name)
                || has(&otlp::to_hex(&s.span_id))
                || s.attributes.iter().any(attr)
                || res.iter().any(attr)
        })
        .map(|(row, _)| row)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explore::critical_path;
    use crate::summary::tests::span;
    use otelctl_otlp::{KeyValue, Status, StatusCode};

    /// root(0..1000) > a(100..600) > a1(200..300), a2(350..550); root > b(650..950) > b1(700..900)
    fn nested() -> Vec<Span> {
        vec![
            span(1, 5, 2, 350, 550), // a2 (out of order on purpose)
            span(1, 1, 0, 0, 1000),  // root
            span(1, 6, 3, 700, 900), // b1
            span(1, 2, 1, 100, 600), // a
            span(1, 4, 2, 200, 300), // a1
            span(1, 3, 1, 650, 950), // b
        ]
    }

    fn build<'a>(
        spans: &'a [Span],
        res: &'a [KeyValue],
        selected: Option<&str>,
    ) -> (Data<'a>, Tree) {
        let with: Vec<(&[KeyValue], &Span)> = spans.iter().map(|s| (res, s)).collect();
        let refs: Vec<&Span> = spans.iter().collect();
        let tree = Tree::build(&refs);
        let path = critical_path(&refs, &tree);
        (data("01", &with, &tree, &path, selected), tree)
    }

    #[test]
    fn n_spans_give_n_rows_children_below_their_parent_offsets_from_the_start() {
        let mut spans = nested();
        spans[4].status = Some(Status {
            code: StatusCode::Error as i32,
            message: String::new(),
        });
        spans[4].events.push(otlp::Event {
            time_unix_nano: 250,
            name: "retry".into(),
            ..Default::default()
        });
        let res = vec![KeyValue::string("service.name", "svc")];
        let (d, _) = build(&spans, &res, Some("0505050505050505"));
        let ids: Vec<u8> = d
            .rows
            .iter()
            .map(|r| u8::from_str_radix(&r.0[..2], 16).unwrap())
            .collect();
        assert_eq!(
            ids,
            vec![1, 2, 4, 5, 3, 6],
            "depth first, children in start order"
        );
        let depths: Vec<usize> = d.rows.iter().map(|r| r.1).collect();
        assert_eq!(depths, vec![0, 1, 2, 2, 1, 2]);
        assert_eq!((d.duration, d.start.as_str()), (1000, "0"));
        let a1 = &d.rows[2];
        assert_eq!((a1.2, a1.3), (200, 100));
        assert_eq!(a1.6 & ERROR, ERROR);
        assert_eq!(a1.8, vec![250], "event offsets");
        assert_eq!(d.rows[0].7, 2, "root has two children");
        assert_eq!(d.rows[0].6 & CRITICAL, CRITICAL);
        assert_eq!(d.selected, Some(3), "a2 is the fourth row");
        assert_eq!(d.names[d.rows[0].4], "s1");
        assert_eq!((d.services.clone(), d.colours.len()), (vec!["svc"], 1));
        let json = serde_json::to_string(&d).unwrap();
        assert!(
            json.contains(r#"["0101010101010101",0,0,1000,0,0,2,2,[]]"#),
            "{json}"
        );
    }

    #[test]
    fn twenty_services_get_twenty_colours() {
        let set: std::collections::HashSet<&str> = (0..20).map(colour).collect();
        assert_eq!(set.len(), 20);
        assert!(!PALETTE.contains(&"#d83a3a"), "red is for errors");
    }

    #[test]
    fn orphans_cycles_and_deep_chains_still_give_every_row() {
        // 1 -> 2 -> 1 (a cycle) and 3 whose parent 9 never arrived.
        let spans = [
            span(1, 1, 2, 0, 10),
            span(1, 2, 1, 1, 5),
            span(1, 3, 9, 2, 3),
        ];
        let (d, _) = build(&spans, &[], None);
        assert_eq!(d.rows.len(), 3);
        assert!(d.rows.iter().any(|r| r.6 & ORPHAN != 0));
        assert_eq!(d.services, vec![UNKNOWN_SERVICE]);
        // A chain of 100 000 nested spans: every one is a row.
        const N: usize = 100_000;
        let chain: Vec<Span> = (0..N as u64)
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
        let (d, _) = build(&chain, &[], None);
        assert_eq!(d.rows.len(), N);
        assert_eq!(d.rows.last().unwrap().1, N - 1);
    }

    #[test]
    fn find_matches_names_services_ids_and_attributes_ignoring_case() {
        let mut spans = nested();
        spans[2]
            .attributes
            .push(KeyValue::string("http.route", "/Users/{id}"));
        let res = vec![KeyValue::string("service.name", "Web")];
        let (_, tree) = build(&spans, &res, None);
        let with: Vec<(&[KeyValue], &Span)> = spans.iter().map(|s| (res.as_slice(), s)).collect();
        assert_eq!(find(&with, &tree, "users"), vec![5], "b1 carries the route");
        assert_eq!(find(&with, &tree, "S4"), vec![2]);
        assert_eq!(find(&with, &tree, "0303"), vec![4]);
        assert_eq!(
            find(&with, &tree, "web").len(),
            6,
            "the service is on every span"
        );
        assert!(find(&with, &tree, "  ").is_empty());
    }
}
