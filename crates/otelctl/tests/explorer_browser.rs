//! The explorer pages in a real headless Chromium (Debian's `chromium`, DevTools protocol):
//! filtering narrows the list and survives a reload; the scatter has a dot per match; the trace
//! page marks the critical path, shows keys in their real case, collapses a subtree and says
//! when a run is out of line with its task's history; compare shows the deltas and what exists
//! in only one trace; the history page charts the runs with p50/p95. Screenshots of each page go
//! to `$CARGO_TARGET_TMPDIR/explorer-browser/` (paths printed); with `OTELCTL_UPDATE_DOCS=1`
//! they are also written to `docs/images/`. Skips with the reason when chromium is missing.

mod common;
mod embedded_support;

use std::path::{Path, PathBuf};

use embedded_support::browser::{self, Cdp};
use embedded_support::*;
use otelctl_otlp::{ExportTraceServiceRequest, KeyValue, Span};
use serde_json::json;

const MS: u64 = 1_000_000;

fn uncached(mut s: Span) -> Span {
    s.attributes.push(KeyValue::string("task.cached", "false"));
    s
}

/// Eight ordinary runs of the `build` task (1.00 s to 1.07 s, one `compile` child), then a
/// slow one (trace 0x20: 2.5 s) with `compile`, an overlapped `lint` and a `test`; and three
/// `web` traces, one of them failed.
fn dataset(now: u64) -> Vec<ExportTraceServiceRequest> {
    let mut out = Vec::new();
    for i in 0..8u64 {
        let t = now - (60 - i) * 60_000 * MS;
        let id = 0x10 + i as u8;
        out.push(export_request(
            "cli",
            vec![
                uncached(span(id, 1, 0, "build", t, t + (1000 + 10 * i) * MS)),
                span(id, 2, 1, "compile", t + 10 * MS, t + (900 + 10 * i) * MS),
            ],
        ));
    }
    let t = now - 10 * 60_000 * MS;
    let mut compile = span(0x20, 2, 1, "compile", t + 10 * MS, t + 1500 * MS);
    compile
        .attributes
        .push(KeyValue::string("Http.Request.Method", "GET"));
    out.push(export_request(
        "cli",
        vec![
            uncached(span(0x20, 1, 0, "build", t, t + 2500 * MS)),
            compile,
            span(0x20, 3, 1, "lint", t + 20 * MS, t + 300 * MS),
            span(0x20, 4, 1, "test", t + 1510 * MS, t + 2400 * MS),
        ],
    ));
    for (k, id) in [0x30u8, 0x31, 0x32].into_iter().enumerate() {
        let t = now - (40 - 5 * k as u64) * 60_000 * MS;
        let root = span(id, 1, 0, "GET /", t, t + (100 + 50 * k as u64) * MS);
        let root = if id == 0x31 { failed(root) } else { root };
        out.push(export_request(
            "web",
            vec![root, span(id, 2, 1, "db", t + 5 * MS, t + 60 * MS)],
        ));
    }
    out
}

fn open(cdp: &mut Cdp, url: &str, page: &str) {
    cdp.call("Page.navigate", json!({ "url": url }));
    cdp.wait_for(
        &format!("the {page} page"),
        &format!("document.readyState === 'complete' && document.body && document.body.dataset.page === '{page}' && location.href === {}", json!(url)),
    );
}

fn rows(cdp: &mut Cdp) -> Vec<String> {
    let list = cdp.eval(
        "JSON.stringify([...document.querySelectorAll('tr.trace')].map(r => r.dataset.trace))",
    );
    serde_json::from_str(list.as_str().unwrap()).unwrap()
}

fn shot(cdp: &mut Cdp, out_dir: &Path, name: &str) {
    let path = out_dir.join(format!("{name}.png"));
    cdp.screenshot(&path);
    if std::env::var_os("OTELCTL_UPDATE_DOCS").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/images");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::copy(&path, docs.join(format!("explorer-{name}.png"))).unwrap();
    }
}

fn click(cdp: &mut Cdp, selector: &str) {
    let found = cdp.eval(&format!(
        "(function(){{var e=document.querySelector({}); if(!e) return false; if(typeof e.click === 'function') {{ e.click(); }} else {{ e.dispatchEvent(new MouseEvent('click', {{bubbles: true, cancelable: true}})); }} return true;}})()",
        json!(selector)
    ));
    assert_eq!(found, json!(true), "nothing matches {selector}");
}

#[test]
fn filter_compare_critical_path_and_history_in_headless_chromium() {
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("explorer-browser");
    std::fs::create_dir_all(&out_dir).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(dir.path(), dir.path(), free_base(), &[]);
    let Some((_browser, mut cdp)) = browser::start(dir.path()) else {
        return common::skip("chromium is not installed (scripts/test installs Debian's chromium)");
    };
    cdp.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 1100, "height": 760, "deviceScaleFactor": 1, "mobile": false}),
    );
    for r in dataset(now_ns()) {
        assert_eq!(
            post(up.receiver(), "application/json", &r.to_json()).status,
            200
        );
    }
    let viewer = format!("http://127.0.0.1:{}", up.viewer());
    let slow = trace_hex(0x20);
    let baseline = trace_hex(0x13);

    // 1. The list: all twelve traces, a dot per trace; filtering through the form narrows it.
    open(&mut cdp, &format!("{viewer}/"), "list");
    assert_eq!(rows(&mut cdp).len(), 12);
    assert_eq!(
        cdp.eval("document.querySelectorAll('#scatter a.dot').length"),
        json!(12)
    );
    // A trace arriving while a filter is being typed and a comparison picked: the list grows
    // live, the typing and the pick stay.
    cdp.wait_for(
        "the live connection",
        "document.body.dataset.sse === 'open'",
    );
    cdp.eval("window.__same = 1; var i = document.querySelector('input[name=service]'); i.focus(); i.value = 'we'; document.querySelector('tr.trace input[name=a]').checked = true");
    let now = now_ns();
    let late = export_request("late", vec![span(0x40, 1, 0, "late", now, now + MS)]);
    assert_eq!(
        post(up.receiver(), "application/json", &late.to_json()).status,
        200
    );
    cdp.wait_for(
        "the late trace to appear live",
        "document.querySelectorAll('tr.trace').length === 13",
    );
    assert_eq!(
        cdp.eval("[window.__same, document.querySelector('input[name=service]').value, document.activeElement.name, document.querySelectorAll('#compare-form input:checked').length]"),
        json!([1, "we", "service", 1])
    );
    cdp.eval("document.querySelector('input[name=service]').value = 'web'; document.querySelector('select[name=trace_status]').value = 'ok'");
    click(&mut cdp, "#apply");
    cdp.wait_for(
        "the filtered list",
        "location.search.includes('service=web') && document.querySelectorAll('tr.trace').length === 2",
    );
    let filtered = rows(&mut cdp);
    assert_eq!(filtered, [trace_hex(0x32), trace_hex(0x30)]);
    assert_eq!(
        cdp.eval("document.querySelectorAll('#scatter a.dot').length"),
        json!(2)
    );
    // The span-name statistics follow the filter: only the web spans.
    assert_eq!(
        cdp.eval("[...document.querySelectorAll('table.metrics tr[data-name]')].map(r => r.dataset.name).sort().join(',')"),
        json!("GET /,db")
    );
    // A reload keeps the filter (it is the URL).
    cdp.eval("window.__before = 1");
    cdp.call("Page.reload", json!({}));
    cdp.wait_for(
        "the reloaded list",
        "document.readyState === 'complete' && window.__before === undefined && !!document.querySelector('#matches')",
    );
    assert_eq!(rows(&mut cdp), filtered);
    assert_eq!(
        cdp.eval("document.querySelector('input[name=service]').value + '/' + document.querySelector('select[name=trace_status]').value"),
        json!("web/ok")
    );
    shot(&mut cdp, &out_dir, "list");
    // A time range through the URL, in UTC: everything is after 2000, nothing before.
    open(
        &mut cdp,
        &format!("{viewer}/?from=2000-01-01+00%3A00"),
        "list",
    );
    assert_eq!(rows(&mut cdp).len(), 13);
    assert_eq!(
        cdp.eval("document.querySelector('input[name=from]').value"),
        json!("2000-01-01 00:00:00")
    );
    open(
        &mut cdp,
        &format!("{viewer}/?to=2000-01-01+00%3A00"),
        "list",
    );
    assert_eq!(
        cdp.eval("!!document.getElementById('no-matches')"),
        json!(true)
    );
    // The duration filter through the URL.
    open(&mut cdp, &format!("{viewer}/?name=build&min=2s"), "list");
    assert_eq!(rows(&mut cdp), std::slice::from_ref(&slow));

    // 2. The trace page: critical path, keys in their case, the out-of-line sentence, collapse.
    open(&mut cdp, &format!("{viewer}/trace/{slow}"), "trace");
    let critical: Vec<String> = serde_json::from_str(
        cdp.eval("JSON.stringify([...document.querySelectorAll('#waterfall .row.critical')].map(a => a.querySelector('.name').textContent))")
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        critical,
        ["build", "compile", "test"],
        "lint overlapped compile"
    );
    let sentence = cdp.eval("document.querySelector('p.task.out-of-line.slower').textContent");
    assert!(
        sentence
            .as_str()
            .unwrap()
            .contains("slower: 2.4x the median of the last 8 runs (uncached runs only)"),
        "{sentence}"
    );
    let compile = "02".repeat(8);
    click(
        &mut cdp,
        &format!("#waterfall .row[data-span=\"{compile}\"] .name"),
    );
    cdp.wait_for(
        "compile's attributes",
        &format!("!!document.querySelector('#details section.attrs[data-span=\"{compile}\"]:not([hidden])')"),
    );
    assert_eq!(
        cdp.eval(&format!("(function(){{var th=[...document.querySelectorAll('section.attrs[data-span=\"{compile}\"] th.key')].find(t => t.textContent.startsWith('Http.')); return th.innerText + '|' + getComputedStyle(th).textTransform;}})()")),
        json!("Http.Request.Method|none"),
        "keys are shown in their real case"
    );
    shot(&mut cdp, &out_dir, "trace");
    cdp.eval("document.querySelector('#waterfall .toggle').dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true}))");
    cdp.wait_for(
        "the collapsed subtree",
        "document.querySelectorAll('#waterfall .row').length === 1",
    );
    cdp.eval("document.querySelector('#waterfall .toggle').dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true}))");
    cdp.wait_for(
        "the expanded subtree",
        "document.querySelectorAll('#waterfall .row').length === 4",
    );

    // 3. Compare: from the trace page's link to the baseline, the median comparable run (run
    // 3 of 1000..1070 ms: 1030 ms), not the previous one.
    click(&mut cdp, "a.compare-baseline");
    cdp.wait_for(
        "the compare page",
        "document.body && document.body.dataset.page === 'compare' && !!document.querySelector('#compare-table')",
    );
    assert_eq!(
        cdp.eval("location.search"),
        json!(format!("?a={baseline}&b={slow}"))
    );
    let delta = |key: &str| {
        format!("document.querySelector('tr[data-key=\"{key}\"]').className + ' ' + document.querySelector('tr[data-key=\"{key}\"] td.delta').textContent")
    };
    assert_eq!(cdp.eval(&delta("build#0")), json!("slower +1.47 s"));
    assert_eq!(
        cdp.eval(&delta("build#0/compile#0")),
        json!("slower +570.00 ms")
    );
    assert_eq!(
        cdp.eval(&delta("build#0/test#0")),
        json!("only-b only in B")
    );
    assert_eq!(
        cdp.eval("document.querySelector('#only-b').textContent"),
        json!("Only in B: build#0/lint#0, build#0/test#0")
    );
    shot(&mut cdp, &out_dir, "compare");
    // Compare through the list's A/B picker too.
    open(&mut cdp, &format!("{viewer}/?name=build"), "list");
    click(
        &mut cdp,
        &format!("tr[data-trace=\"{}\"] input[name=a]", trace_hex(0x10)),
    );
    click(
        &mut cdp,
        &format!("tr[data-trace=\"{slow}\"] input[name=b]"),
    );
    click(&mut cdp, "#compare");
    cdp.wait_for(
        "the compare page from the list",
        "document.body && document.body.dataset.page === 'compare' && !!document.querySelector('#compare-table')",
    );
    assert_eq!(cdp.eval(&delta("build#0")), json!("slower +1.50 s"));

    // 4. History: nine runs, p50 and p95 lines, the verdict on the latest.
    open(&mut cdp, &format!("{viewer}/trace/{slow}"), "trace");
    click(&mut cdp, "p.task a[href^='/history']");
    cdp.wait_for(
        "the history page",
        "document.body && document.body.dataset.page === 'history' && !!document.querySelector('#history-chart')",
    );
    assert_eq!(
        cdp.eval("document.querySelectorAll('#history-chart a.run').length"),
        json!(9)
    );
    assert_eq!(
        cdp.eval("document.querySelectorAll('#history-chart line.pct').length"),
        json!(2)
    );
    let verdict = cdp.eval("document.querySelector('#history-verdict.slower').textContent");
    assert!(
        verdict
            .as_str()
            .unwrap()
            .contains("slower: 2.4x the median of the last 8 runs"),
        "{verdict}"
    );
    shot(&mut cdp, &out_dir, "history");
}
