//! The pages of otelctl's trace viewer and explorer, and the explorer's logic.
//!
//! Front-end files live in `assets/` (templates, CSS, JS modules) and are compiled into the
//! binary: templates by askama (checked against the Rust types that fill them, HTML-escaped by
//! default), CSS and JS by `include_str!` ([`assets`]). Everything here is pure: it takes plain
//! data (OTLP-model spans, trace summaries, explorer results) and returns HTML or numbers, so
//! whichever store the spans come from, the pages are the same. The HTTP routes and the data
//! gathering are `otelctl-embedded`'s (`viewer.rs`).
//!
//! | module | job |
//! |---|---|
//! | [`summary`] | a trace's list row ([`summary::TraceSummary`]) from its spans |
//! | [`metrics`] | per-name count, error rate, nearest-rank p50/p95/p99 |
//! | [`explore`] | span tree, filter, critical path, compare, per-task history |
//! | [`waterfall`] | the waterfall's geometry |
//! | [`pages`] | the pages and their parts, rendered from the templates |
//! | [`signals`] | the logs and metrics pages, a span's logs on its trace page |
//! | [`assets`] | the CSS and JS served under `/assets/` |

pub mod assets;
pub mod explore;
pub mod metrics;
pub mod pages;
pub mod signals;
pub mod summary;
pub mod waterfall;
