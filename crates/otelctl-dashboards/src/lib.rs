//! Dashboards: the built-ins (as code: the six of the seed, test results, devenv), a project's own (`.otel/dashboards.json`,
//! `.otel/dashboards/*.json`), and syncing both to Grafana (provisioning files or HTTP API).
//!
//! - [`builder`]: a typed builder for Grafana dashboard JSON with Tempo TraceQL panels;
//! - [`builtin`]: the built-in dashboards, written with the builder;
//! - [`project`]: loading and validating a project's dashboards;
//! - [`files`]: the atomic, idempotent, locked sync into provisioning directories;
//! - [`grafana`]: the sync through Grafana's HTTP API.
//!
//! Every dashboard, built-in or not, becomes a [`Dashboard`]: its uid, title, JSON and where it
//! came from. Queries are read back out of the JSON ([`Dashboard::queries`]) so the end-to-end
//! test runs exactly what Grafana would.

pub mod builder;
pub mod builtin;
pub mod files;
pub mod grafana;
pub mod project;

use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::Value;

/// The Tempo datasource every built-in queries (provisioned with this uid).
pub const DATASOURCE_UID: &str = "tempo";
pub const DATASOURCE_TYPE: &str = "tempo";
/// Grafana's limit on dashboard (and folder) uids.
pub const MAX_UID_LEN: usize = 40;
/// The dashboard JSON schema version we write (Grafana migrates older ones on load).
pub const SCHEMA_VERSION: u32 = 39;
/// Tag on every dashboard `dash sync` put into Grafana through the API: only these are pruned.
pub const MANAGED_TAG: &str = "otelctl-managed";

/// Where a dashboard came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Built into otelctl.
    Builtin,
    /// Entry `index` (0-based) of a project file, at JSON path `at` in it (`$`, `$[1]`,
    /// `$.dashboards[0]`, `$.dashboard`).
    File {
        path: PathBuf,
        index: usize,
        at: String,
    },
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Builtin => write!(f, "built-in"),
            Origin::File { path, index, .. } => write!(f, "{} #{}", path.display(), index + 1),
        }
    }
}

/// One dashboard, ready to provision.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    pub uid: String,
    pub title: String,
    pub origin: Origin,
    /// The dashboard JSON as Grafana takes it (`uid` and `title` set, `id` null).
    pub json: Value,
}

/// How one query is sent to Tempo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryApi {
    /// `/api/search?q=`.
    Search,
    /// `/api/metrics/query_range?q=`.
    Metrics,
}

/// One TraceQL query of a panel, as written in the JSON and with variables replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PanelQuery {
    pub panel: String,
    pub ref_id: String,
    pub api: QueryApi,
    /// As written in the dashboard (may contain `$variables`).
    pub query: String,
    /// With every dashboard variable replaced by its default value.
    pub resolved: String,
}

/// TraceQL functions that make a query a metrics query.
const METRICS_FUNCTIONS: [&str; 8] = [
    "rate(",
    "count_over_time(",
    "min_over_time(",
    "max_over_time(",
    "avg_over_time(",
    "sum_over_time(",
    "quantile_over_time(",
    "histogram_over_time(",
];

/// Whether a TraceQL query is a metrics query (ends in `| <metrics function>(...)`).
pub fn is_metrics_query(query: &str) -> bool {
    query
        .rsplit('|')
        .next()
        .map(|last| {
            let last = last.trim_start();
            METRICS_FUNCTIONS.iter().any(|f| last.starts_with(f))
        })
        .unwrap_or(false)
        && query.contains('|')
}

impl Dashboard {
    /// A built-in, from its spec.
    pub fn from_spec(spec: &builder::DashboardSpec) -> Self {
        Dashboard {
            uid: spec.uid.clone(),
            title: spec.title.clone(),
            origin: Origin::Builtin,
            json: spec.to_json(),
        }
    }

    /// Every built-in (see [`builtin::NAMES`]).
    pub fn builtins() -> Vec<Dashboard> {
        builtin::all().iter().map(Dashboard::from_spec).collect()
    }

    /// Default values of the dashboard's variables (`templating.list[].current.value`, else `query`).
    pub fn variables(&self) -> Vec<(String, String)> {
        let list = self.json["templating"]["list"].as_array();
        list.into_iter()
            .flatten()
            .filter_map(|v| {
                let name = v["name"].as_str()?;
                let value = v["current"]["value"]
                    .as_str()
                    .or_else(|| v["query"].as_str())
                    .unwrap_or("");
                Some((name.to_string(), value.to_string()))
            })
            .collect()
    }

    /// Every Tempo query of every panel (rows' nested panels included).
    pub fn queries(&self) -> Vec<PanelQuery> {
        let vars = self.variables();
        let mut out = Vec::new();
        for panel in panels_of(&self.json) {
            let title = panel["title"].as_str().unwrap_or("").to_string();
            for t in panel["targets"].as_array().into_iter().flatten() {
                let Some(query) = t["query"].as_str() else {
                    continue;
                };
                let ds_type = t["datasource"]["type"]
                    .as_str()
                    .or_else(|| panel["datasource"]["type"].as_str())
                    .unwrap_or(DATASOURCE_TYPE);
                if ds_type != DATASOURCE_TYPE || query.trim().is_empty() {
                    continue;
                }
                let api = if t["metricsQueryType"].is_string() || is_metrics_query(query) {
                    QueryApi::Metrics
                } else {
                    QueryApi::Search
                };
                out.push(PanelQuery {
                    panel: title.clone(),
                    ref_id: t["refId"].as_str().unwrap_or("").to_string(),
                    api,
                    query: query.to_string(),
                    resolved: interpolate(query, &vars),
                });
            }
        }
        out
    }
}

/// Top-level panels and the panels nested in collapsed rows.
pub fn panels_of(dashboard: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in dashboard["panels"].as_array().into_iter().flatten() {
        out.push(p);
        for nested in p["panels"].as_array().into_iter().flatten() {
            out.push(nested);
        }
    }
    out
}

/// Replaces `$name` and `${name}` by the variable's value (longest names first).
pub fn interpolate(query: &str, vars: &[(String, String)]) -> String {
    let mut sorted: Vec<_> = vars.iter().collect();
    sorted.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    let mut out = query.to_string();
    for (name, value) in sorted {
        out = out.replace(&format!("${{{name}}}"), value);
        out = out.replace(&format!("${name}"), value);
    }
    out
}

/// The file name a dashboard is provisioned under: `<uid>.json`.
pub fn file_name(uid: &str) -> String {
    format!("{uid}.json")
}

/// The dashboard as provisioned: pretty JSON (sorted keys) with a trailing newline.
pub fn to_file_bytes(dashboard: &Dashboard) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(&dashboard.json).expect("JSON values serialise");
    bytes.push(b'\n');
    bytes
}

/// A Markdown rendering of dashboards' structure (panels, types, queries) for reviewers.
pub fn render_markdown(dashboards: &[Dashboard], heading: &str, intro: &str) -> String {
    let mut md = format!("# {heading}\n\n{intro}\n");
    for d in dashboards {
        let _ = write!(md, "\n## {} (`{}`)\n\n", d.title, d.uid);
        if let Some(desc) = d.json["description"].as_str().filter(|s| !s.is_empty()) {
            let _ = writeln!(md, "{desc}\n");
        }
        let vars = d.variables();
        if !vars.is_empty() {
            let list: Vec<String> = vars
                .iter()
                .map(|(n, v)| format!("`${n}` (default `{v}`)"))
                .collect();
            let _ = writeln!(md, "Variables: {}.\n", list.join(", "));
        }
        let _ = writeln!(md, "| panel | type | position (x,y w×h) | query |");
        let _ = writeln!(md, "|---|---|---|---|");
        for p in panels_of(&d.json) {
            let kind = p["type"].as_str().unwrap_or("?");
            let title = p["title"].as_str().unwrap_or("");
            let g = &p["gridPos"];
            let pos = format!(
                "{},{} {}×{}",
                g["x"].as_u64().unwrap_or(0),
                g["y"].as_u64().unwrap_or(0),
                g["w"].as_u64().unwrap_or(0),
                g["h"].as_u64().unwrap_or(0)
            );
            if kind == "row" {
                let _ = writeln!(md, "| **{}** | row | {pos} | |", cell(title));
                continue;
            }
            let table = p["targets"][0]["tableType"].as_str().unwrap_or("");
            let queries: Vec<String> = p["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| target_markdown(t, table))
                .collect();
            let _ = writeln!(
                md,
                "| {} | {kind} | {pos} | {} |",
                cell(title),
                queries.join("<br>")
            );
        }
    }
    md
}

/// One target as a README line: `metrics: `q``, `search, spans: `q``, `math A: `$P / $T``,
/// `PromQL A: `q``.
fn target_markdown(t: &Value, table: &str) -> Option<String> {
    let hidden = if t["hide"] == Value::Bool(true) {
        " (input)"
    } else {
        ""
    };
    let ref_id = t["refId"].as_str().unwrap_or("");
    if let Some(q) = t["query"].as_str() {
        let api = if is_metrics_query(q) {
            "metrics"
        } else {
            "search"
        };
        let what = if table.is_empty() || api == "metrics" {
            api.to_string()
        } else {
            format!("{api}, {table}")
        };
        return Some(format!("{what} {ref_id}{hidden}: `{}`", cell(q)));
    }
    if let Some(expr) = t["expr"].as_str() {
        return Some(format!("PromQL {ref_id}{hidden}: `{}`", cell(expr)));
    }
    let expression = t["expression"].as_str()?;
    let kind = t["type"].as_str().unwrap_or("expression");
    let shown = match t["reducer"].as_str() {
        Some(reducer) => format!("{reducer}(${expression})"),
        None => expression.to_string(),
    };
    Some(format!("{kind} {ref_id}{hidden}: `{}`", cell(&shown)))
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_metrics_queries() {
        assert!(is_metrics_query("{ } | rate() by (name)"));
        assert!(is_metrics_query(
            "{ a = 1 } | quantile_over_time(duration, .5)"
        ));
        assert!(!is_metrics_query("{ } | select(span.dt.args)"));
        assert!(!is_metrics_query("{ name = \"rate(\" }"));
    }

    #[test]
    fn interpolates_longest_names_first() {
        let vars = vec![
            ("task".to_string(), ".+".to_string()),
            ("taskx".to_string(), "X".to_string()),
        ];
        assert_eq!(interpolate("$taskx $task ${task}", &vars), "X .+ .+");
    }

    #[test]
    fn every_builtin_query_is_found_and_resolved() {
        for d in Dashboard::builtins() {
            let qs = d.queries();
            assert!(!qs.is_empty(), "{}", d.uid);
            for q in qs {
                let left = q.resolved.match_indices('$').any(|(i, _)| {
                    q.resolved[i + 1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '{')
                });
                assert!(!left, "{}: {}", d.uid, q.resolved);
            }
        }
    }
}
