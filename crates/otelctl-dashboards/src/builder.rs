//! A small typed builder for Grafana dashboard JSON with Tempo (TraceQL) panels, and PromQL
//! panels on the metrics store (Tempo's span metrics: RED per service).
//!
//! Only what the built-in dashboards use: rows of panels laid out left to right on Grafana's
//! 24-column grid, TraceQL search targets (tables) and TraceQL metrics targets (time series,
//! bar gauges, ranked tables), Grafana server-side expressions over them (math, reduce), and
//! textbox variables. Every field Grafana's published schema requires is written, with the
//! value Grafana's own export writes (checked by `e2e/dashcheck`, see `e2e/README.md`).
//! The output is plain `serde_json::Value` with sorted keys,
//! so the built JSON is byte-for-byte stable.

use serde_json::{json, Value};

use super::{DATASOURCE_TYPE, DATASOURCE_UID, SCHEMA_VERSION};

/// Grafana's grid is 24 columns wide.
const GRID_WIDTH: u32 = 24;

/// What a target asks Tempo for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryKind {
    /// TraceQL search (`/api/search`): a table of traces.
    Traces,
    /// TraceQL search (`/api/search`): a table of the matching spans.
    Spans,
    /// TraceQL metrics over a time range (`/api/metrics/query_range`).
    Metrics,
    /// A Grafana server-side math expression over other targets (`$A / $B`), joined by labels.
    Math,
    /// A Grafana server-side reduction of one target's series to one number each
    /// (`query` is the reduced target's ref id, `reducer` e.g. `sum`).
    Reduce(&'static str),
    /// PromQL on the metrics store (Prometheus, datasource uid `prometheus`), with the legend
    /// format of its series: Tempo's span metrics (RED per service) live there.
    PromQl(&'static str),
}

/// One query of a panel: TraceQL, or a server-side expression over other queries.
#[derive(Debug, Clone)]
pub struct Target {
    pub kind: QueryKind,
    /// TraceQL; the expression (math); the input ref id (reduce).
    pub query: String,
    /// The ref id expressions refer to; empty: `A`, `B`, ... by position.
    pub ref_id: String,
    /// Only an input of an expression: Grafana runs it but does not draw it.
    pub hidden: bool,
}

impl Target {
    fn new(kind: QueryKind, query: String) -> Self {
        Target {
            kind,
            query,
            ref_id: String::new(),
            hidden: false,
        }
    }
    pub fn traces(query: impl Into<String>) -> Self {
        Target::new(QueryKind::Traces, query.into())
    }
    pub fn spans(query: impl Into<String>) -> Self {
        Target::new(QueryKind::Spans, query.into())
    }
    pub fn metrics(query: impl Into<String>) -> Self {
        Target::new(QueryKind::Metrics, query.into())
    }
    /// A math expression over other targets of the panel, e.g. `$P / $T`.
    pub fn math(expression: impl Into<String>) -> Self {
        Target::new(QueryKind::Math, expression.into())
    }
    /// PromQL over the metrics store; `legend` names each series (`{{service}}`).
    pub fn promql(query: impl Into<String>, legend: &'static str) -> Self {
        Target::new(QueryKind::PromQl(legend), query.into())
    }
    /// One number per series of the target `input` (by ref id), e.g. `sum`.
    pub fn reduce(input: &str, reducer: &'static str) -> Self {
        Target::new(QueryKind::Reduce(reducer), input.to_string())
    }
    /// Sets the ref id expressions use for this target.
    pub fn named(mut self, ref_id: &str) -> Self {
        self.ref_id = ref_id.to_string();
        self
    }
    /// Makes this target an input only (not drawn).
    pub fn hidden(mut self) -> Self {
        self.hidden = true;
        self
    }
    fn is_expression(&self) -> bool {
        matches!(self.kind, QueryKind::Math | QueryKind::Reduce(_))
    }
    fn is_metrics_like(&self) -> bool {
        matches!(self.kind, QueryKind::Metrics | QueryKind::PromQl(_)) || self.is_expression()
    }
}

/// How a panel draws its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanelKind {
    /// Search results (traces or spans).
    Table,
    /// Metrics over time.
    TimeSeries,
    /// Metrics reduced to one bar per series (e.g. counts by task).
    BarGauge,
    /// Markdown text (no query).
    Text,
}

impl PanelKind {
    fn grafana_type(self) -> &'static str {
        match self {
            PanelKind::Table => "table",
            PanelKind::TimeSeries => "timeseries",
            PanelKind::BarGauge => "bargauge",
            PanelKind::Text => "text",
        }
    }
}

/// One panel.
#[derive(Debug, Clone)]
pub struct Panel {
    pub kind: PanelKind,
    pub title: String,
    pub description: String,
    /// Width in grid columns (1..=24) and height in grid rows.
    pub width: u32,
    pub height: u32,
    pub targets: Vec<Target>,
    /// Markdown for text panels.
    pub text: String,
    /// Unit of the values (Grafana unit id, e.g. `ns`, `short`).
    pub unit: &'static str,
    /// Grafana transformations applied to the results, in order.
    pub transformations: Vec<Value>,
}

impl Panel {
    fn new(kind: PanelKind, title: &str, targets: Vec<Target>) -> Self {
        Panel {
            kind,
            title: title.to_string(),
            description: String::new(),
            width: 12,
            height: 8,
            targets,
            text: String::new(),
            unit: "short",
            transformations: Vec::new(),
        }
    }
    /// A table of search results.
    pub fn table(title: &str, target: Target) -> Self {
        assert!(
            target.kind != QueryKind::Metrics,
            "{title}: tables show searches"
        );
        Panel::new(PanelKind::Table, title, vec![target])
    }
    /// A time series of one or more metrics queries (and expressions over them).
    pub fn timeseries(title: &str, targets: Vec<Target>) -> Self {
        assert!(targets.iter().all(Target::is_metrics_like), "{title}");
        Panel::new(PanelKind::TimeSeries, title, targets)
    }
    /// Bars of the totals of a metrics query over the dashboard's time range.
    pub fn bars(title: &str, target: Target) -> Self {
        Panel::bars_of(title, vec![target])
    }
    /// Bars of one number per series of the shown (not hidden) targets, e.g. an expression
    /// over hidden metrics queries.
    pub fn bars_of(title: &str, targets: Vec<Target>) -> Self {
        assert!(
            targets.iter().all(Target::is_metrics_like),
            "{title}: bars show metrics"
        );
        Panel::new(PanelKind::BarGauge, title, targets)
    }
    /// A table ranking the series of a metrics query by one reduction over the time range
    /// (`max`, `mean`, ...), highest first, at most `limit` rows: e.g. the slowest tests.
    pub fn ranking(title: &str, target: Target, reducer: &str, limit: u32) -> Self {
        assert!(
            target.kind == QueryKind::Metrics,
            "{title}: rankings show metrics"
        );
        let column = match reducer {
            "max" => "Max",
            "mean" => "Mean",
            "sum" => "Total",
            "lastNotNull" => "Last *",
            other => panic!("{title}: no column name known for reducer {other}"),
        };
        let mut p = Panel::new(PanelKind::Table, title, vec![target]);
        p.transformations = vec![
            json!({"id": "reduce", "options": {"mode": "seriesToRows", "reducers": [reducer],
                                              "includeTimeField": false}}),
            json!({"id": "sortBy", "options": {"fields": {}, "sort": [{"field": column, "desc": true}]}}),
            json!({"id": "limit", "options": {"limitField": limit}}),
        ];
        p
    }
    /// A markdown note.
    pub fn text(title: &str, markdown: &str) -> Self {
        let mut p = Panel::new(PanelKind::Text, title, Vec::new());
        p.text = markdown.to_string();
        p
    }
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.width = width.clamp(1, GRID_WIDTH);
        self.height = height.max(1);
        self
    }
    pub fn describe(mut self, description: &str) -> Self {
        self.description = description.to_string();
        self
    }
    pub fn unit(mut self, unit: &'static str) -> Self {
        self.unit = unit;
        self
    }

    fn to_json(&self, id: u32, x: u32, y: u32) -> Value {
        let mut panel = json!({
            "id": id,
            "type": self.kind.grafana_type(),
            "title": self.title,
            "gridPos": {"x": x, "y": y, "w": self.width, "h": self.height},
        });
        if !self.description.is_empty() {
            panel["description"] = json!(self.description);
        }
        if self.kind == PanelKind::Text {
            panel["options"] = json!({"mode": "markdown", "content": self.text});
            return panel;
        }
        // The panel's datasource is its first query's (expressions aside).
        panel["datasource"] = match self.targets.iter().find(|t| !t.is_expression()) {
            Some(Target {
                kind: QueryKind::PromQl(_),
                ..
            }) => prometheus_datasource(),
            _ => datasource(),
        };
        panel["targets"] = Value::Array(
            self.targets
                .iter()
                .enumerate()
                .map(|(i, t)| target_json(t, i))
                .collect(),
        );
        if !self.transformations.is_empty() {
            panel["transformations"] = Value::Array(self.transformations.clone());
        }
        panel["fieldConfig"] =
            json!({"defaults": field_defaults(self.kind, self.unit), "overrides": []});
        // Every field the panel plugin's schema requires, with the defaults Grafana writes when
        // it exports a panel of that type (the schema's own defaults unless said otherwise).
        panel["options"] = match self.kind {
            PanelKind::TimeSeries => json!({
                "legend": {"displayMode": "table", "placement": "bottom", "showLegend": true,
                           "calcs": ["mean", "max"]},
                "tooltip": {"mode": "multi", "sort": "desc"},
            }),
            PanelKind::BarGauge => json!({
                "orientation": "horizontal",
                "displayMode": "basic",
                "valueMode": "color",
                "namePlacement": "auto",
                "showUnfilled": true,
                "sizing": "auto",
                "minVizWidth": 8,
                "minVizHeight": 16,
                "maxVizHeight": 300,
                "legend": {"displayMode": "list", "placement": "bottom", "showLegend": false,
                           "calcs": []},
                "reduceOptions": {"calcs": ["sum"], "fields": "", "values": false},
            }),
            _ => json!({
                "frameIndex": 0,
                "showHeader": true,
                "cellHeight": "sm",
                "footer": {"show": false, "reducer": ["sum"], "countRows": false},
            }),
        };
        panel
    }
}

/// A panel's `fieldConfig.defaults`: the unit, and the colour scheme and thresholds Grafana
/// writes for a new panel of that type.
fn field_defaults(kind: PanelKind, unit: &str) -> Value {
    let color = match kind {
        PanelKind::TimeSeries => "palette-classic",
        PanelKind::Table => "thresholds",
        _ => "continuous-GrYlRd",
    };
    json!({
        "unit": unit,
        "color": {"mode": color},
        "mappings": [],
        "thresholds": {"mode": "absolute", "steps": [
            {"color": "green", "value": null},
            {"color": "red", "value": 80},
        ]},
    })
}

/// The datasource every panel and target points at.
pub fn datasource() -> Value {
    json!({"type": DATASOURCE_TYPE, "uid": DATASOURCE_UID})
}

/// The metrics store's datasource (provisioned by `otelctl run grafana` with this uid).
pub fn prometheus_datasource() -> Value {
    json!({"type": "prometheus", "uid": "prometheus"})
}

/// The datasource of Grafana's server-side expressions.
pub fn expression_datasource() -> Value {
    json!({"type": "__expr__", "uid": "__expr__"})
}

fn target_json(t: &Target, index: usize) -> Value {
    let ref_id = if t.ref_id.is_empty() {
        char::from(b'A' + (index % 26) as u8).to_string()
    } else {
        t.ref_id.clone()
    };
    match t.kind {
        QueryKind::Math => {
            return json!({"refId": ref_id, "datasource": expression_datasource(), "type": "math",
                          "expression": t.query, "hide": t.hidden});
        }
        QueryKind::Reduce(reducer) => {
            return json!({"refId": ref_id, "datasource": expression_datasource(), "type": "reduce",
                          "expression": t.query, "reducer": reducer,
                          "settings": {"mode": "dropNN"}, "hide": t.hidden});
        }
        QueryKind::PromQl(legend) => {
            return json!({"refId": ref_id, "datasource": prometheus_datasource(), "expr": t.query,
                          "legendFormat": legend, "range": true, "instant": false,
                          "editorMode": "code", "hide": t.hidden});
        }
        _ => {}
    }
    let mut v = json!({
        "refId": ref_id,
        "datasource": datasource(),
        "queryType": "traceql",
        "query": t.query,
        // Required by the Tempo query schema; the search builder's filters (none: the query
        // is written in TraceQL).
        "filters": [],
    });
    match t.kind {
        QueryKind::Traces | QueryKind::Spans => {
            v["limit"] = json!(50);
            v["spss"] = json!(5);
            v["tableType"] = json!(if t.kind == QueryKind::Traces {
                "traces"
            } else {
                "spans"
            });
        }
        // (Tempo's query schema has no `legendFormat`: series are named by their labels.)
        QueryKind::Metrics => {
            v["metricsQueryType"] = json!("range");
        }
        QueryKind::Math | QueryKind::Reduce(_) | QueryKind::PromQl(_) => {
            unreachable!("returned above")
        }
    }
    if t.hidden {
        v["hide"] = json!(true);
    }
    v
}

/// A textbox variable: users type a value (a regular expression in our queries).
#[derive(Debug, Clone)]
pub struct Variable {
    pub name: String,
    pub label: String,
    pub default: String,
    pub description: String,
}

/// A row of panels (laid out left to right; wraps at 24 columns).
#[derive(Debug, Clone)]
pub struct Row {
    pub title: Option<String>,
    pub panels: Vec<Panel>,
}

/// A whole dashboard.
#[derive(Debug, Clone)]
pub struct DashboardSpec {
    pub uid: String,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub variables: Vec<Variable>,
    pub rows: Vec<Row>,
    /// Default time range, e.g. `now-3h` (Tempo refuses metrics queries longer than its
    /// `query_frontend.metrics.max_duration`, 3h by default).
    pub from: &'static str,
}

impl DashboardSpec {
    pub fn new(uid: &str, title: &str, description: &str) -> Self {
        DashboardSpec {
            uid: uid.to_string(),
            title: title.to_string(),
            description: description.to_string(),
            tags: vec!["otelctl".to_string()],
            variables: Vec::new(),
            rows: Vec::new(),
            from: "now-3h",
        }
    }
    pub fn variable(mut self, name: &str, label: &str, default: &str, description: &str) -> Self {
        self.variables.push(Variable {
            name: name.to_string(),
            label: label.to_string(),
            default: default.to_string(),
            description: description.to_string(),
        });
        self
    }
    /// Adds a row of panels without a row header.
    pub fn panels(mut self, panels: Vec<Panel>) -> Self {
        self.rows.push(Row {
            title: None,
            panels,
        });
        self
    }
    /// Adds a titled (always expanded) row of panels.
    pub fn row(mut self, title: &str, panels: Vec<Panel>) -> Self {
        self.rows.push(Row {
            title: Some(title.to_string()),
            panels,
        });
        self
    }

    /// Every panel, in layout order.
    pub fn all_panels(&self) -> impl Iterator<Item = &Panel> {
        self.rows.iter().flat_map(|r| r.panels.iter())
    }

    /// The Grafana dashboard JSON.
    pub fn to_json(&self) -> Value {
        let mut panels = Vec::new();
        let mut id = 1;
        let mut y = 0;
        for row in &self.rows {
            if let Some(title) = &row.title {
                panels.push(json!({
                    "id": id, "type": "row", "title": title, "collapsed": false, "panels": [],
                    "gridPos": {"x": 0, "y": y, "w": GRID_WIDTH, "h": 1},
                }));
                id += 1;
                y += 1;
            }
            let (mut x, mut line_height) = (0, 0);
            for p in &row.panels {
                if x + p.width > GRID_WIDTH {
                    y += line_height;
                    (x, line_height) = (0, 0);
                }
                panels.push(p.to_json(id, x, y));
                id += 1;
                x += p.width;
                line_height = line_height.max(p.height);
            }
            y += line_height;
        }
        let variables: Vec<Value> = self
            .variables
            .iter()
            .map(|v| {
                json!({
                    "type": "textbox", "name": v.name, "label": v.label, "query": v.default,
                    "description": v.description, "hide": 0,
                    "current": {"text": v.default, "value": v.default},
                    "options": [{"selected": true, "text": v.default, "value": v.default}],
                })
            })
            .collect();
        json!({
            "id": null,
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": self.tags,
            "editable": true,
            "graphTooltip": 1,
            "schemaVersion": SCHEMA_VERSION,
            "version": 1,
            "refresh": "1m",
            "time": {"from": self.from, "to": "now"},
            "timezone": "browser",
            "templating": {"list": variables},
            "fiscalYearStartMonth": 0,
            "liveNow": false,
            "weekStart": "",
            "timepicker": {},
            "annotations": {"list": [builtin_annotation()]},
            "links": [{
                "type": "dashboards", "title": "otelctl dashboards", "tags": ["otelctl"],
                "asDropdown": true, "includeVars": false, "keepTime": true,
                "icon": "external link", "tooltip": "", "targetBlank": false, "url": "",
            }],
            "panels": panels,
        })
    }
}

/// The annotation every dashboard Grafana creates carries: alerts and manual annotations.
pub fn builtin_annotation() -> Value {
    json!({
        "builtIn": 1,
        "datasource": {"type": "grafana", "uid": "-- Grafana --"},
        "enable": true,
        "hide": true,
        "iconColor": "rgba(0, 211, 255, 1)",
        "name": "Annotations & Alerts",
        "type": "dashboard",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panels_wrap_on_the_24_column_grid() {
        let d = DashboardSpec::new("u", "T", "").row(
            "r",
            vec![
                Panel::table("a", Target::traces("{ }")).size(16, 5),
                Panel::table("b", Target::traces("{ }")).size(16, 7),
                Panel::table("c", Target::traces("{ }")).size(8, 3),
            ],
        );
        let v = d.to_json();
        let pos: Vec<_> = v["panels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let g = &p["gridPos"];
                (g["x"].as_u64().unwrap(), g["y"].as_u64().unwrap())
            })
            .collect();
        assert_eq!(pos, vec![(0, 0), (0, 1), (0, 6), (16, 6)]);
        assert_eq!(v["panels"][1]["targets"][0]["tableType"], "traces");
        assert_eq!(v["panels"][1]["datasource"]["uid"], DATASOURCE_UID);
    }
}
