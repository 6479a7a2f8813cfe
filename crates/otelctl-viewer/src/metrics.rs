//! Per-span-name metrics for the viewer's strip: count, error rate, p50/p95/p99 of durations.
//!
//! Percentiles use the **nearest-rank** method: for `n` values sorted ascending, the p-th
//! percentile (0 < p <= 100) is the value at 1-based rank `ceil(p/100 * n)`. It always returns
//! one of the observed values (no interpolation), so the numbers on screen are durations that
//! really happened. Computed in integers: rank = `ceil(p * n / 100)`.

use std::collections::BTreeMap;

use otelctl_otlp::{Span, StatusCode};

/// The nearest-rank percentile `p` (1..=100) of `sorted` (ascending); `None` when empty.
pub fn nearest_rank(sorted: &[u64], p: u32) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let p = u64::from(p.clamp(1, 100));
    let n = sorted.len() as u64;
    let rank = (p * n).div_ceil(100).max(1);
    sorted.get(rank as usize - 1).copied()
}

/// One row of the metrics strip.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NameStats {
    pub name: String,
    pub count: u64,
    pub errors: u64,
    pub p50_ns: u64,
    pub p95_ns: u64,
    pub p99_ns: u64,
}

impl NameStats {
    /// Errors as a fraction of the count (0.0 when empty).
    pub fn error_rate(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.errors as f64 / self.count as f64
        }
    }
}

/// Duration of a span in nanoseconds (0 when the end precedes the start).
pub fn duration_ns(span: &Span) -> u64 {
    span.end_time_unix_nano
        .saturating_sub(span.start_time_unix_nano)
}

/// The first start and the last end of `spans` (a span ending before it starts ends at its
/// start), in Unix nanoseconds; `(0, 0)` when there is none.
pub fn extent(spans: &[&Span]) -> (u64, u64) {
    let start = spans
        .iter()
        .map(|s| s.start_time_unix_nano)
        .min()
        .unwrap_or(0);
    let end = spans
        .iter()
        .map(|s| s.end_time_unix_nano.max(s.start_time_unix_nano))
        .max()
        .unwrap_or(start);
    (start, end)
}

/// Whether a span's status is ERROR.
pub fn is_error(span: &Span) -> bool {
    span.status
        .as_ref()
        .is_some_and(|s| s.code == StatusCode::Error as i32)
}

/// Folds spans into per-name stats, sorted by name.
pub fn by_name<'a>(spans: impl IntoIterator<Item = &'a Span>) -> Vec<NameStats> {
    by_name_dyn(&mut spans.into_iter())
}

/// [`by_name`] over `all`, for the names that occur in `names_of` only (a trace page's table:
/// this trace's span names over every stored trace).
pub fn by_name_among(names_of: &[&Span], all: &mut dyn Iterator<Item = &Span>) -> Vec<NameStats> {
    let names: std::collections::HashSet<&str> = names_of.iter().map(|s| s.name.as_str()).collect();
    by_name_dyn(&mut all.filter(|s| names.contains(s.name.as_str())))
}

// The work is here, not in the generic wrapper: generic code is compiled where it is used
// (with that crate's optimisation), this function with this crate's (Cargo.toml's profiles).
fn by_name_dyn<'a>(spans: &mut dyn Iterator<Item = &'a Span>) -> Vec<NameStats> {
    let mut acc: BTreeMap<&'a str, (Vec<u64>, u64)> = BTreeMap::new();
    for span in spans {
        let entry = acc.entry(span.name.as_str()).or_default();
        entry.0.push(duration_ns(span));
        entry.1 += u64::from(is_error(span));
    }
    acc.into_iter()
        .map(|(name, (mut durations, errors))| {
            durations.sort_unstable();
            let pct = |p| nearest_rank(&durations, p).unwrap_or(0);
            NameStats {
                name: name.to_string(),
                count: durations.len() as u64,
                errors,
                p50_ns: pct(50),
                p95_ns: pct(95),
                p99_ns: pct(99),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use otelctl_otlp::Status;

    #[test]
    fn nearest_rank_matches_the_textbook_example() {
        // The classic nearest-rank example: 15, 20, 35, 40, 50.
        let v = [15, 20, 35, 40, 50];
        assert_eq!(nearest_rank(&v, 5), Some(15));
        assert_eq!(nearest_rank(&v, 30), Some(20));
        assert_eq!(nearest_rank(&v, 40), Some(20));
        assert_eq!(nearest_rank(&v, 50), Some(35));
        assert_eq!(nearest_rank(&v, 100), Some(50));
        assert_eq!(nearest_rank(&[], 50), None);
        assert_eq!(nearest_rank(&[7], 1), Some(7));
        assert_eq!(nearest_rank(&[7], 99), Some(7));
    }

    #[test]
    fn percentiles_of_one_to_one_hundred_and_of_ten_values() {
        let hundred: Vec<u64> = (1..=100).collect();
        assert_eq!(nearest_rank(&hundred, 50), Some(50));
        assert_eq!(nearest_rank(&hundred, 95), Some(95));
        assert_eq!(nearest_rank(&hundred, 99), Some(99));
        // n = 10: ranks ceil(5) = 5, ceil(9.5) = 10, ceil(9.9) = 10.
        let ten: Vec<u64> = (1..=10).map(|i| i * 100).collect();
        assert_eq!(nearest_rank(&ten, 50), Some(500));
        assert_eq!(nearest_rank(&ten, 95), Some(1000));
        assert_eq!(nearest_rank(&ten, 99), Some(1000));
        // n = 20: p95 is rank 19 exactly, p99 rounds up to 20.
        let twenty: Vec<u64> = (1..=20).collect();
        assert_eq!(nearest_rank(&twenty, 95), Some(19));
        assert_eq!(nearest_rank(&twenty, 99), Some(20));
    }

    #[test]
    fn stats_per_name_from_known_spans() {
        let span = |name: &str, dur: u64, err: bool| Span {
            name: name.into(),
            start_time_unix_nano: 1_000,
            end_time_unix_nano: 1_000 + dur,
            status: err.then(|| Status {
                code: StatusCode::Error as i32,
                message: String::new(),
            }),
            ..Default::default()
        };
        // Unsorted on purpose; "db" durations 1..=20 ms with 2 errors.
        let mut spans: Vec<Span> = (1..=20u64)
            .rev()
            .map(|i| span("db", i * 1_000_000, i % 10 == 0))
            .collect();
        spans.push(span("build", 5, false));
        let stats = by_name(&spans);
        assert_eq!(stats.len(), 2);
        assert_eq!(
            stats[0],
            NameStats {
                name: "build".into(),
                count: 1,
                errors: 0,
                p50_ns: 5,
                p95_ns: 5,
                p99_ns: 5
            }
        );
        let db = &stats[1];
        assert_eq!((db.count, db.errors), (20, 2));
        assert_eq!(
            (db.p50_ns, db.p95_ns, db.p99_ns),
            (10_000_000, 19_000_000, 20_000_000)
        );
        assert!((db.error_rate() - 0.1).abs() < 1e-12);
    }
}
