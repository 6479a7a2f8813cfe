//! The trace waterfall's geometry: one bar per span (`pages::waterfall_svg` draws it).
//!
//! Rows follow a depth-first walk of the span tree, children in start order, so every child
//! sits below its parent. A bar's x is the span's start offset from the trace's first start and
//! its width its duration, on one scale for the whole trace; labels are indented by depth.
//! Spans whose parent is absent (not received, or dropped) start a tree of their own; parent
//! cycles in hostile input are broken, so `n` spans always give `n` bars (up to [`MAX_BARS`]).
//! The walk is iterative: a chain of 100 000 nested spans cannot overflow the stack.

use otelctl_otlp::Span;

use crate::explore::Tree;
use crate::metrics;

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
/// Deepest level indented further.
pub const MAX_INDENT_DEPTH: usize = 16;

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

/// A stable colour for a service: the hue comes from a hash of its name (FNV-1a), so the same
/// service has the same colour on every page and every run.
pub fn service_colour(service: &str) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for b in service.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    format!("hsl({}, 60%, 48%)", h % 360)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::tests::span;

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
