//! HTML of the explorer's parts: the filter form, the duration-over-time scatter, the trace
//! table with its compare picker, the comparison table and the per-task history chart. Pure
//! rendering from data the viewer gathered; every text goes through [`escape`].

use std::fmt::Write as _;

use otelctl_config::formats::{duration_text, format_time, percent_encode};

use super::explore::{Comparison, Filter, History, Run, StatusFilter, TaskKey};
use super::html::escape;
use super::store::TraceSummary;
use otelctl_config::formats::format_duration;

/// The filter form. `GET /` with the fields as query parameters, so the URL is the filter:
/// a reload, a bookmark or a shared link shows the same list.
pub fn filter_form(f: &Filter, services: &[String], names: &[String]) -> String {
    let val = |v: &Option<String>| escape(v.as_deref().unwrap_or(""));
    let dur =
        |d: Option<std::time::Duration>| d.map(|d| escape(&duration_text(d))).unwrap_or_default();
    let sel = |s: Option<StatusFilter>, want: &str| {
        if s.map(StatusFilter::as_str) == Some(want) {
            " selected"
        } else {
            ""
        }
    };
    let mut out = String::from(r#"<form class="filters" id="filters" method="get" action="/">"#);
    let _ = write!(
        out,
        r#"<label>service <input name="service" list="services" value="{}" size="14"></label><label>span name <input name="name" list="names" value="{}" size="18"></label><label>status <select name="status"><option value="">any</option><option value="ok"{}>ok</option><option value="error"{}>error</option></select></label><label>min <input name="min" value="{}" size="6" placeholder="500ms"></label><label>max <input name="max" value="{}" size="6" placeholder="2m"></label><label>since <input name="since" value="{}" size="6" placeholder="24h"></label>"#,
        val(&f.service),
        val(&f.name),
        sel(f.status, "ok"),
        sel(f.status, "error"),
        dur(f.min_duration),
        dur(f.max_duration),
        dur(f.since),
    );
    for (k, v) in &f.attrs {
        let _ = write!(
            out,
            r#"<label>attribute <input name="attr" value="{}" size="20"></label>"#,
            escape(&format!("{k}={v}"))
        );
    }
    out.push_str(r#"<label>attribute <input name="attr" value="" size="20" placeholder="key=value"></label>"#);
    let time = |t: Option<u64>| t.map(format_time).unwrap_or_default();
    let _ = write!(
        out,
        r#"<label>from <input name="from" value="{}" size="17" placeholder="2026-11-30 07:00"></label><label>to <input name="to" value="{}" size="17" placeholder="UTC"></label>"#,
        time(f.from_unix_nano),
        time(f.to_unix_nano),
    );
    if let Some(l) = f.limit {
        let _ = write!(out, r#"<input type="hidden" name="limit" value="{l}">"#);
    }
    out.push_str(
        r#"<button type="submit" id="apply">Filter</button> <a href="/" id="reset">reset</a>"#,
    );
    out.push_str(r#"<datalist id="services">"#);
    for s in services {
        let _ = write!(out, r#"<option value="{}">"#, escape(s));
    }
    out.push_str(r#"</datalist><datalist id="names">"#);
    for n in names.iter().take(500) {
        let _ = write!(out, r#"<option value="{}">"#, escape(n));
    }
    out.push_str("</datalist></form>");
    out
}

const PLOT_W: f64 = 1000.0;
const PLOT_H: f64 = 170.0;
const PAD_L: f64 = 70.0;
const PAD_B: f64 = 22.0;
const PAD_T: f64 = 8.0;

/// Duration over start time of the matching traces: one dot per trace (red when in error), each a
/// link to its trace. Linear axes from 0 to the longest duration and from the first to the last
/// start.
pub fn scatter(rows: &[TraceSummary]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let t0 = rows.iter().map(|r| r.start_unix_nano).min().unwrap_or(0);
    let t1 = rows.iter().map(|r| r.start_unix_nano).max().unwrap_or(0);
    let dmax = rows.iter().map(|r| r.duration_ns).max().unwrap_or(0).max(1);
    let span = (t1 - t0).max(1) as f64;
    let (w, h) = (PLOT_W - PAD_L - 10.0, PLOT_H - PAD_B - PAD_T);
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="scatter" id="scatter" viewBox="0 0 {PLOT_W} {PLOT_H}" width="100%" role="img" aria-label="duration over time of {n} traces" data-dots="{n}">"#,
        n = rows.len()
    );
    let _ = write!(
        out,
        r#"<line class="axisline" x1="{PAD_L}" y1="{PAD_T}" x2="{PAD_L}" y2="{yb}"/><line class="axisline" x1="{PAD_L}" y1="{yb}" x2="{xr}" y2="{yb}"/><text class="axis" x="{tx}" y="{ty}" text-anchor="end">{dmax}</text><text class="axis" x="{tx}" y="{yb}" text-anchor="end">0</text><text class="axis" x="{PAD_L}" y="{tb}">{first}</text><text class="axis" x="{xr}" y="{tb}" text-anchor="end">{last}</text>"#,
        yb = PAD_T + h,
        xr = PAD_L + w,
        tx = PAD_L - 6.0,
        ty = PAD_T + 10.0,
        tb = PLOT_H - 4.0,
        dmax = escape(&format_duration(dmax)),
        first = format_time(t0),
        last = format_time(t1),
    );
    for r in rows {
        let x = if t1 == t0 {
            PAD_L + w / 2.0
        } else {
            PAD_L + (r.start_unix_nano - t0) as f64 / span * w
        };
        let y = PAD_T + h - r.duration_ns as f64 / dmax as f64 * h;
        let _ = write!(
            out,
            r#"<a href="/trace/{id}" class="dot {status}" data-trace="{id}"><title>{name} · {dur} · {time} UTC</title><circle cx="{x:.1}" cy="{y:.1}" r="4"/></a>"#,
            id = r.trace_id,
            status = r.status,
            name = escape(&r.root_name),
            dur = format_duration(r.duration_ns),
            time = format_time(r.start_unix_nano),
        );
    }
    out.push_str("</svg>");
    out
}

/// The trace table, with a pair of radio buttons per row to pick two traces to compare.
pub fn trace_table(rows: &[TraceSummary]) -> String {
    let mut out = String::from(
        r#"<form method="get" action="/compare" id="compare-form"><table class="traces"><thead><tr><th title="compare: A">A</th><th title="compare: B">B</th><th>started (UTC)</th><th>service</th><th>root span</th><th class="num">duration</th><th class="num">spans</th><th>status</th></tr></thead><tbody>"#,
    );
    for r in rows {
        let _ = write!(
            out,
            r#"<tr class="trace {status}" data-trace="{id}"><td><input type="radio" name="a" value="{id}" aria-label="compare A"></td><td><input type="radio" name="b" value="{id}" aria-label="compare B"></td><td>{time}</td><td><span class="swatch" style="background:{colour}"></span>{service}</td><td class="name"><a href="/trace/{id}">{root}</a></td><td class="num">{dur}</td><td class="num">{spans}</td><td class="status">{status}</td></tr>"#,
            status = r.status,
            id = r.trace_id,
            time = format_time(r.start_unix_nano),
            colour = super::waterfall::service_colour(&r.service),
            service = escape(&r.service),
            root = if r.root_name.is_empty() {
                "(unnamed)".to_string()
            } else {
                escape(&r.root_name)
            },
            dur = format_duration(r.duration_ns),
            spans = r.span_count,
        );
    }
    out.push_str(r#"</tbody></table><p><button type="submit" id="compare">Compare A with B</button></p></form>"#);
    out
}

fn signed(d: i64) -> String {
    let sign = if d < 0 { "−" } else { "+" };
    format!("{sign}{}", format_duration(d.unsigned_abs()))
}

/// The comparison of two traces: one row per span position, deltas `B − A`, and the positions
/// found in only one of them listed after the table.
pub fn comparison(a: &TraceSummary, b: &TraceSummary, c: &Comparison) -> String {
    let mut out = format!(
        r#"<p class="facts" id="compare-facts">A <a href="/trace/{ai}"><b>{an}</b></a> {at} UTC, <b>{ad}</b> · B <a href="/trace/{bi}"><b>{bn}</b></a> {bt} UTC, <b>{bd}</b> · B − A <b class="{cls}">{delta}</b></p>"#,
        ai = a.trace_id,
        an = escape(&a.root_name),
        at = format_time(a.start_unix_nano),
        ad = format_duration(c.a_duration_ns),
        bi = b.trace_id,
        bn = escape(&b.root_name),
        bt = format_time(b.start_unix_nano),
        bd = format_duration(c.b_duration_ns),
        cls = if c.b_duration_ns >= c.a_duration_ns {
            "slower"
        } else {
            "faster"
        },
        delta = signed(c.b_duration_ns as i64 - c.a_duration_ns as i64),
    );
    out.push_str(r#"<table class="compare" id="compare-table"><thead><tr><th>span</th><th class="num">A</th><th class="num">B</th><th class="num">B − A</th><th class="num">B / A</th></tr></thead><tbody>"#);
    for r in &c.rows {
        let (class, delta, ratio) = match (r.a_ns, r.b_ns, r.delta_ns()) {
            (Some(a), Some(_), Some(d)) => (
                if d > 0 {
                    "slower"
                } else if d < 0 {
                    "faster"
                } else {
                    "same"
                },
                signed(d),
                if a > 0 {
                    format!("{:.2}x", r.b_ns.unwrap_or(0) as f64 / a as f64)
                } else {
                    String::new()
                },
            ),
            (Some(_), None, _) => ("only-a", "only in A".to_string(), String::new()),
            _ => ("only-b", "only in B".to_string(), String::new()),
        };
        let _ = write!(
            out,
            r#"<tr class="{class}" data-key="{key}"><td class="name" style="padding-left:{pad}px">{name}</td><td class="num">{a}</td><td class="num">{b}</td><td class="num delta">{delta}</td><td class="num">{ratio}</td></tr>"#,
            key = escape(&r.key),
            pad = 10 + 14 * r.depth.min(16),
            name = escape(&r.name),
            a = r.a_ns.map(format_duration).unwrap_or_else(|| "–".into()),
            b = r.b_ns.map(format_duration).unwrap_or_else(|| "–".into()),
        );
    }
    out.push_str("</tbody></table>");
    let list = |rows: Vec<&super::explore::CompareRow>| {
        if rows.is_empty() {
            "none".to_string()
        } else {
            rows.iter()
                .map(|r| format!("<code>{}</code>", escape(&r.key)))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let _ = write!(
        out,
        r#"<p class="hint" id="only-a">Only in A: {}</p><p class="hint" id="only-b">Only in B: {}</p><p class="hint">Spans are matched by name and position among the siblings of that name (the key shows the path: <code>name#ordinal</code> from the root).</p>"#,
        list(c.only_in_a().collect()),
        list(c.only_in_b().collect()),
    );
    out
}

/// The compare page without two traces: a form asking for them.
pub fn compare_form(a: &str, b: &str, problem: &str) -> String {
    format!(
        r#"<p class="empty" id="compare-missing">{}</p><form method="get" action="/compare" class="filters"><label>A <input name="a" value="{}" size="34"></label><label>B <input name="b" value="{}" size="34"></label><button type="submit">Compare</button></form>"#,
        escape(problem),
        escape(a),
        escape(b)
    )
}

/// Most runs drawn in a history chart.
pub const CHART_RUNS: usize = 50;

/// A task's runs as bars (oldest left), with p50 and p95 lines, each bar a link to its trace.
pub fn history_chart(key: &TaskKey, runs: &[Run], h: &History) -> String {
    let runs = &runs[runs.len().saturating_sub(CHART_RUNS)..];
    if runs.is_empty() {
        return r#"<p class="empty">No runs of this task are stored.</p>"#.to_string();
    }
    let dmax = runs
        .iter()
        .map(|r| r.duration_ns)
        .chain(h.p95_ns)
        .max()
        .unwrap_or(1)
        .max(1);
    let (w, hgt) = (PLOT_W - PAD_L - 10.0, PLOT_H - PAD_B - PAD_T);
    let slot = w / runs.len() as f64;
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="history" id="history-chart" viewBox="0 0 {PLOT_W} {PLOT_H}" width="100%" role="img" aria-label="durations of the last {n} runs of {name}" data-runs="{n}">"#,
        n = runs.len(),
        name = escape(&key.name),
    );
    let _ = write!(
        out,
        r#"<line class="axisline" x1="{PAD_L}" y1="{yb}" x2="{xr}" y2="{yb}"/><text class="axis" x="{tx}" y="{ty}" text-anchor="end">{dmax}</text><text class="axis" x="{tx}" y="{yb}" text-anchor="end">0</text>"#,
        yb = PAD_T + hgt,
        xr = PAD_L + w,
        tx = PAD_L - 6.0,
        ty = PAD_T + 10.0,
        dmax = escape(&format_duration(dmax)),
    );
    for (i, r) in runs.iter().enumerate() {
        let bh = (r.duration_ns as f64 / dmax as f64 * hgt).max(1.0);
        let mut class = String::from("run");
        if r.error {
            class.push_str(" error");
        }
        if r.cached == Some(true) {
            class.push_str(" cached");
        }
        let _ = write!(
            out,
            r#"<a href="/trace/{t}?span={s}" class="{class}"><title>{dur} · {time} UTC{cached}</title><rect x="{x:.1}" y="{y:.1}" width="{bw:.1}" height="{bh:.1}"/></a>"#,
            t = r.trace_id,
            s = r.span_id,
            dur = format_duration(r.duration_ns),
            time = format_time(r.start_unix_nano),
            cached = match r.cached {
                Some(true) => " · cached",
                Some(false) => " · not cached",
                None => "",
            },
            x = PAD_L + i as f64 * slot + slot * 0.15,
            y = PAD_T + hgt - bh,
            bw = (slot * 0.7).max(1.0),
        );
    }
    for (label, v) in [("p50", h.p50_ns), ("p95", h.p95_ns)] {
        if let Some(v) = v {
            let y = PAD_T + hgt - v as f64 / dmax as f64 * hgt;
            let _ = write!(
                out,
                r#"<line class="pct {label}" x1="{PAD_L}" y1="{y:.1}" x2="{xr}" y2="{y:.1}"/><text class="axis pct-label" x="{xr}" y="{ly:.1}" text-anchor="end">{label} {v}</text>"#,
                xr = PAD_L + w,
                ly = if y < PAD_T + 14.0 { y + 12.0 } else { y - 3.0 },
                v = escape(&format_duration(v)),
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// The link to a task's history page.
pub fn history_href(key: &TaskKey, cached: Option<bool>) -> String {
    let mut q = format!(
        "/history?service={}&name={}",
        percent_encode(&key.service),
        percent_encode(&key.name)
    );
    if let Some(c) = cached {
        let _ = write!(q, "&cached={c}");
    }
    q
}
