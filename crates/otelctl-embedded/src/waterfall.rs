//! The trace waterfall: a layout (one bar per span) and its server-rendered SVG.
//!
//! Rows follow a depth-first walk of the span tree, children in start order, so every child
//! sits below its parent. A bar's x is the span's start offset from the trace's first start and
//! its width its duration, on one scale for the whole trace; labels are indented by depth.
//! Spans whose parent is absent (not received, or dropped) start a tree of their own; parent
//! cycles in hostile input are broken, so `n` spans always give `n` bars (up to [`MAX_BARS`]).
//! The walk is iterative: a chain of 100 000 nested spans cannot overflow the stack.

use std::fmt::Write as _;

use otelctl_otlp::{self as otlp, Span};

use super::explore::Tree;
use super::html::escape;
use super::metrics;
use otelctl_config::formats::format_duration;

/// SVG width in user units.
pub const WIDTH: f64 = 1000.0;
/// The label column, left of the timeline.
pub const LABEL_WIDTH: f64 = 280.0;
/// The timeline's width.
pub const TIMELINE_WIDTH: f64 = WIDTH - LABEL_WIDTH - 40.0;
/// Row height.
pub const ROW_HEIGHT: f64 = 22.0;
/// Height of the time axis above the first row.
pub const AXIS_HEIGHT: f64 = 20.0;
/// Most bars drawn for one trace (the rest are counted in the caption).
pub const MAX_BARS: usize = 2000;
/// Narrowest bar drawn, so an instant span stays visible.
pub const MIN_BAR_WIDTH: f64 = 1.0;
/// Indentation per level of depth (capped at [`MAX_INDENT_DEPTH`] levels).
pub const INDENT: f64 = 12.0;
const MAX_INDENT_DEPTH: usize = 16;

/// One bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Index of the span in the input.
    pub span: usize,
    pub row: usize,
    pub depth: usize,
    pub x: f64,
    pub width: f64,
    pub error: bool,
    /// The span names a parent the trace does not hold.
    pub orphan: bool,
}

/// A trace's waterfall geometry.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub bars: Vec<Bar>,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    /// Spans not drawn because of [`MAX_BARS`].
    pub hidden: usize,
}

impl Layout {
    pub fn duration_ns(&self) -> u64 {
        self.end_unix_nano.saturating_sub(self.start_unix_nano)
    }
}

/// Lays out `spans` (one trace).
pub fn layout(spans: &[&Span]) -> Layout {
    let (start, end) = metrics::extent(spans);
    let total = end.saturating_sub(start).max(1) as f64;

    let Tree { order, orphan, .. } = Tree::build(spans);
    let hidden = order.len().saturating_sub(MAX_BARS);
    let timeline_end = LABEL_WIDTH + TIMELINE_WIDTH;
    let bars = order
        .into_iter()
        .take(MAX_BARS)
        .enumerate()
        .map(|(row, (i, depth))| {
            let s = spans[i];
            let offset = s.start_time_unix_nano.saturating_sub(start) as f64;
            let x = LABEL_WIDTH + offset / total * TIMELINE_WIDTH;
            let width = (metrics::duration_ns(s) as f64 / total * TIMELINE_WIDTH)
                .max(MIN_BAR_WIDTH)
                .min((timeline_end - x).max(MIN_BAR_WIDTH));
            Bar {
                span: i,
                row,
                depth,
                x,
                width,
                error: metrics::is_error(s),
                orphan: orphan[i],
            }
        })
        .collect();
    Layout {
        bars,
        start_unix_nano: start,
        end_unix_nano: end,
        hidden,
    }
}

/// What the waterfall shows about each span beyond its timing (indexed like the spans).
#[derive(Debug, Clone, Copy)]
pub struct Decor<'a> {
    /// `service.name` of each span's resource.
    pub services: &'a [String],
    /// Spans on the critical path.
    pub on_path: &'a [bool],
    /// Spans with children (they get a collapse toggle).
    pub has_children: &'a [bool],
}

/// A stable colour for a service: the hue comes from a hash of its name (FNV-1a), so the same
/// service has the same colour on every page and every run.
pub fn service_colour(service: &str) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for b in service.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    format!("hsl({}, 60%, 48%)", h % 360)
}

/// Renders the waterfall as an inline SVG. Each bar links to `/trace/<id>?span=<span id>`, so a
/// selection is a URL too; the page's script shows the attributes without a reload. Bars are
/// coloured by service (red when in error); bars on the critical path carry `critical`.
pub fn render_svg(
    trace_hex: &str,
    spans: &[&Span],
    layout: &Layout,
    decor: &Decor,
    selected: Option<&str>,
) -> String {
    let height = AXIS_HEIGHT + ROW_HEIGHT * layout.bars.len() as f64 + 4.0;
    let mut svg = String::with_capacity(256 + layout.bars.len() * 520);
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="waterfall" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-label="waterfall of {n} spans" data-bars="{n}" data-row-height="{ROW_HEIGHT}" data-axis-height="{AXIS_HEIGHT}">"#,
        n = layout.bars.len()
    );
    // Time axis: 0, 25, 50, 75 and 100 % of the trace.
    let total = layout.duration_ns();
    for q in 0..=4u64 {
        let x = LABEL_WIDTH + TIMELINE_WIDTH * q as f64 / 4.0;
        let anchor = match q {
            0 => "start",
            4 => "end",
            _ => "middle",
        };
        let _ = write!(
            svg,
            r#"<line class="tick" x1="{x:.1}" y1="{AXIS_HEIGHT}" x2="{x:.1}" y2="{height}"/><text class="axis" x="{x:.1}" y="14" text-anchor="{anchor}">{}</text>"#,
            escape(&format_duration(total / 4 * q))
        );
    }
    for bar in &layout.bars {
        let s = spans[bar.span];
        let sid = otlp::to_hex(&s.span_id);
        let y = AXIS_HEIGHT + ROW_HEIGHT * bar.row as f64;
        let mut class = String::from("bar");
        if bar.error {
            class.push_str(" error");
        }
        let critical = decor.on_path.get(bar.span).copied().unwrap_or(false);
        if critical {
            class.push_str(" critical");
        }
        if selected == Some(sid.as_str()) {
            class.push_str(" selected");
        }
        let service = decor
            .services
            .get(bar.span)
            .map(String::as_str)
            .unwrap_or(super::store::UNKNOWN_SERVICE);
        let dur = format_duration(metrics::duration_ns(s));
        let offset = format_duration(
            s.start_time_unix_nano
                .saturating_sub(layout.start_unix_nano),
        );
        let name = escape(&s.name);
        let indent = INDENT * bar.depth.min(MAX_INDENT_DEPTH) as f64;
        let label_x = 16.0 + indent;
        let _ = write!(
            svg,
            r#"<a href="/trace/{trace_hex}?span={sid}" class="{class}" data-span="{sid}" data-depth="{depth}" data-row="{row}" data-service="{svc}"><title>{name} — {dur}, at +{offset} · {svc} · {kind}{err}{orph}{crit}</title><rect class="row" x="0" y="{y:.1}" width="{WIDTH}" height="{ROW_HEIGHT}"/>"#,
            depth = bar.depth,
            row = bar.row,
            svc = escape(service),
            kind = otelctl_otlp::SpanKind::name_of(s.kind),
            err = if bar.error { " (error)" } else { "" },
            orph = if bar.orphan {
                " (parent not received)"
            } else {
                ""
            },
            crit = if critical { " · critical path" } else { "" },
        );
        if decor.has_children.get(bar.span).copied().unwrap_or(false) {
            let _ = write!(
                svg,
                r#"<text class="toggle" x="{tx:.1}" y="{ty:.1}" data-toggle="{sid}">▾</text>"#,
                tx = 4.0 + indent,
                ty = y + 15.0,
            );
        }
        let _ = write!(
            svg,
            r#"<text class="label" x="{label_x:.1}" y="{ty:.1}">{name}</text><rect class="span" x="{x:.2}" y="{by:.1}" width="{w:.2}" height="{bh:.1}" rx="2" style="fill:{colour}"/>"#,
            ty = y + 15.0,
            x = bar.x,
            by = y + 4.0,
            w = bar.width,
            bh = ROW_HEIGHT - 8.0,
            colour = service_colour(service),
        );
        let after = bar.x + bar.width + 4.0;
        let (tx, anchor) = if after > WIDTH - 60.0 {
            (bar.x - 4.0, "end")
        } else {
            (after, "start")
        };
        let mark = if bar.error { "✖ " } else { "" };
        let _ = write!(
            svg,
            r#"<text class="dur" x="{tx:.1}" y="{ty:.1}" text-anchor="{anchor}">{mark}{dur}</text></a>"#,
            ty = y + 15.0,
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::span;
    use otelctl_otlp::{Status, StatusCode};

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

    #[test]
    fn n_spans_give_n_bars_children_below_and_inside_their_parent() {
        let spans = nested();
        let refs: Vec<&Span> = spans.iter().collect();
        let l = layout(&refs);
        assert_eq!(l.bars.len(), spans.len());
        assert_eq!(l.hidden, 0);
        let by_id = |id: u8| {
            l.bars
                .iter()
                .find(|b| spans[b.span].span_id == vec![id; 8])
                .unwrap()
        };
        // Depth-first, children in start order.
        let rows: Vec<u8> = l.bars.iter().map(|b| spans[b.span].span_id[0]).collect();
        assert_eq!(rows, vec![1, 2, 4, 5, 3, 6]);
        for s in &spans {
            if s.parent_span_id.is_empty() {
                continue;
            }
            let (child, parent) = (by_id(s.span_id[0]), by_id(s.parent_span_id[0]));
            assert!(child.row > parent.row, "child below parent");
            assert_eq!(child.depth, parent.depth + 1);
            assert!(child.x >= parent.x - 1e-9, "child starts inside its parent");
            assert!(
                child.x + child.width <= parent.x + parent.width + 1e-9,
                "child ends inside its parent"
            );
        }
        // x by start offset, width by duration, on one scale.
        let root = by_id(1);
        assert_eq!(root.x, LABEL_WIDTH);
        assert!((root.width - TIMELINE_WIDTH).abs() < 1e-9);
        let a = by_id(2);
        assert!((a.x - (LABEL_WIDTH + 0.1 * TIMELINE_WIDTH)).abs() < 1e-9);
        assert!((a.width - 0.5 * TIMELINE_WIDTH).abs() < 1e-9);
    }

    #[test]
    fn svg_has_one_bar_per_span_marks_errors_and_escapes_names() {
        let mut spans = nested();
        spans[0].name = "<script>alert(1)</script>".into();
        spans[0].status = Some(Status {
            code: StatusCode::Error as i32,
            message: "x".into(),
        });
        let refs: Vec<&Span> = spans.iter().collect();
        let l = layout(&refs);
        let services = vec!["svc".to_string(); spans.len()];
        let mut on_path = vec![false; spans.len()];
        on_path[1] = true;
        let has_children = vec![false; spans.len()];
        let decor = Decor {
            services: &services,
            on_path: &on_path,
            has_children: &has_children,
        };
        let svg = render_svg("01", &refs, &l, &decor, Some("0505050505050505"));
        assert_eq!(svg.matches(r#"<rect class="span""#).count(), spans.len());
        assert_eq!(svg.matches(r#"class="bar critical""#).count(), 1);
        assert!(svg.contains(&service_colour("svc")));
        assert_eq!(service_colour("svc"), service_colour("svc"));
        assert_ne!(service_colour("svc"), service_colour("web"));
        assert_eq!(svg.matches(r#"class="bar error selected""#).count(), 1);
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
    }

    #[test]
    fn orphans_cycles_and_deep_chains_still_give_every_bar() {
        // 1 -> 2 -> 1 (a cycle) and 3 whose parent 9 never arrived.
        let spans = [
            span(1, 1, 2, 0, 10),
            span(1, 2, 1, 1, 5),
            span(1, 3, 9, 2, 3),
        ];
        let refs: Vec<&Span> = spans.iter().collect();
        let l = layout(&refs);
        assert_eq!(l.bars.len(), 3);
        assert!(l.bars.iter().any(|b| b.orphan));
        // A chain of 100 000 nested spans.
        let chain: Vec<Span> = (0..100_000u64)
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
        let refs: Vec<&Span> = chain.iter().collect();
        let l = layout(&refs);
        assert_eq!(l.bars.len(), MAX_BARS);
        assert_eq!(l.hidden, 100_000 - MAX_BARS);
        assert_eq!(l.bars.last().unwrap().depth, MAX_BARS - 1);
    }

    #[test]
    fn empty_and_zero_length_traces_do_not_divide_by_zero() {
        let l = layout(&[]);
        assert!(l.bars.is_empty());
        let s = span(1, 1, 0, 5, 5);
        let l = layout(&[&s]);
        assert_eq!(l.bars[0].x, LABEL_WIDTH);
        assert_eq!(l.bars[0].width, MIN_BAR_WIDTH);
    }
}
