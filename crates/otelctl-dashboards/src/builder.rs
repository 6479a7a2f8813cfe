//! A small typed builder for Grafana dashboard JSON with Tempo (TraceQL) panels.
//!
//! Only what the built-in dashboards use: rows of panels laid out left to right on Grafana's
//! 24-column grid, TraceQL search targets (tables) and TraceQL metrics targets (time series,
//! bar gauges), and textbox variables. The output is plain `serde_json::Value` with sorted keys,
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
}

/// One TraceQL query of a panel.
#[derive(Debug, Clone)]
pub struct Target {
    pub kind: QueryKind,
    pub query: String,
    /// Series name shown in the legend (metrics only; empty: Grafana's default).
    pub legend: String,
}

impl Target {
    pub fn traces(query: impl Into<String>) -> Self {
        Target {
            kind: QueryKind::Traces,
            query: query.into(),
            legend: String::new(),
        }
    }
    pub fn spans(query: impl Into<String>) -> Self {
        Target {
            kind: QueryKind::Spans,
            query: query.into(),
            legend: String::new(),
        }
    }
    pub fn metrics(query: impl Into<String>) -> Self {
        Target {
            kind: QueryKind::Metrics,
            query: query.into(),
            legend: String::new(),
        }
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
    /// A time series of one or more metrics queries.
    pub fn timeseries(title: &str, targets: Vec<Target>) -> Self {
        assert!(targets.iter().all(|t| t.kind == QueryKind::Metrics));
        Panel::new(PanelKind::TimeSeries, title, targets)
    }
    /// Bars of the totals of a metrics query over the dashboard's time range.
    pub fn bars(title: &str, target: Target) -> Self {
        assert!(
            target.kind == QueryKind::Metrics,
            "{title}: bars show metrics"
        );
        Panel::new(PanelKind::BarGauge, title, vec![target])
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
        panel["datasource"] = datasource();
        panel["targets"] = Value::Array(
            self.targets
                .iter()
                .enumerate()
                .map(|(i, t)| target_json(t, i))
                .collect(),
        );
        panel["fieldConfig"] = json!({"defaults": {"unit": self.unit}, "overrides": []});
        panel["options"] = match self.kind {
            PanelKind::TimeSeries => json!({
                "legend": {"displayMode": "table", "placement": "bottom", "showLegend": true,
                           "calcs": ["mean", "max"]},
                "tooltip": {"mode": "multi", "sort": "desc"},
            }),
            PanelKind::BarGauge => json!({
                "orientation": "horizontal",
                "displayMode": "basic",
                "showUnfilled": true,
                "reduceOptions": {"calcs": ["sum"], "fields": "", "values": false},
            }),
            _ => json!({"showHeader": true, "cellHeight": "sm"}),
        };
        panel
    }
}

/// The datasource every panel and target points at.
pub fn datasource() -> Value {
    json!({"type": DATASOURCE_TYPE, "uid": DATASOURCE_UID})
}

fn target_json(t: &Target, index: usize) -> Value {
    let ref_id = char::from(b'A' + (index % 26) as u8).to_string();
    let mut v = json!({
        "refId": ref_id,
        "datasource": datasource(),
        "queryType": "traceql",
        "query": t.query,
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
        QueryKind::Metrics => {
            v["metricsQueryType"] = json!("range");
            if !t.legend.is_empty() {
                v["legendFormat"] = json!(t.legend);
            }
        }
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
            "annotations": {"list": []},
            "links": [{
                "type": "dashboards", "title": "otelctl dashboards", "tags": ["otelctl"],
                "asDropdown": true, "includeVars": false, "keepTime": true,
            }],
            "panels": panels,
        })
    }
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
