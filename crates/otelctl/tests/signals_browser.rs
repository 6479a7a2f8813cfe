//! The logs and metrics pages in a real headless Chromium (Debian's `chromium`, DevTools
//! protocol), fed through the real receiver of `otelctl up --embedded` (OTLP/HTTP JSON): a log
//! found by its text and by its trace id, a row's link to its span, the live tail adding a new
//! record, a hostile body staying text; a counter drawn as its rate per attribute set and a
//! histogram's p95 from its buckets, on a dated time axis. The routes behind the pages are also
//! checked without a browser (the JSON API, the tail's rows, escaping, 400s). A span's logs on
//! its trace page: listed in its details, marked on the bars, linked to the logs page. Screenshots go to `$CARGO_TARGET_TMPDIR/signals-browser/`
//! (with `OTELCTL_UPDATE_DOCS=1` also to `docs/images/`). Skips with the reason when chromium
//! is missing.

mod common;
mod embedded_support;

use std::path::{Path, PathBuf};

use embedded_support::browser::{self, Cdp};
use embedded_support::*;
use otelctl_otlp::logs::{ExportLogsServiceRequest, LogRecord};
use otelctl_otlp::metrics::{
    AggregationTemporality, Data, ExportMetricsServiceRequest, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, NumberValue, Sum,
};
use otelctl_otlp::{AnyValue, InstrumentationScope, KeyValue, Value};
use serde_json::json;

const MS: u64 = 1_000_000;
const S: u64 = 1_000_000_000;

fn scope() -> InstrumentationScope {
    InstrumentationScope {
        name: "otelctl-tests".into(),
        ..Default::default()
    }
}

fn record(t: u64, severity: i32, body: &str, trace: u8, span: u8) -> LogRecord {
    LogRecord {
        time_unix_nano: t,
        observed_time_unix_nano: t,
        severity_number: severity,
        severity_text: otelctl_otlp::logs::SeverityNumber::short_name(severity).into(),
        body: Some(AnyValue {
            value: Some(Value::StringValue(body.into())),
        }),
        trace_id: if trace == 0 { vec![] } else { vec![trace; 16] },
        span_id: if span == 0 { vec![] } else { vec![span; 8] },
        attributes: vec![KeyValue::string("code.function", "checkout")],
        ..Default::default()
    }
}

fn logs(service: &str, records: Vec<LogRecord>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest::single(
        vec![KeyValue::string("service.name", service)],
        scope(),
        records,
    )
}

fn send(port: u16, path: &str, body: &[u8]) {
    let r = request(
        "POST",
        port,
        path,
        &[("Content-Type", "application/json")],
        body,
    )
    .expect("the receiver answers");
    assert_eq!(
        r.status,
        200,
        "{path}: {}",
        String::from_utf8_lossy(&r.body)
    );
}

/// A cumulative counter `shop.orders` (route=/a: +10 every 10 s, route=/b: +20), a cumulative
/// histogram `shop.latency` (100 fast requests, then 100 in (50, 100] ms, then 100 in
/// (100, 500] ms: p95 of the last window 480 ms) and a gauge `shop.queue`.
fn metrics(now: u64) -> ExportMetricsServiceRequest {
    let start = now - 60 * S;
    let counter = |route: &str, step: f64| -> Vec<NumberDataPoint> {
        (0..5u64)
            .map(|i| NumberDataPoint {
                attributes: vec![KeyValue::string("route", route)],
                start_time_unix_nano: start,
                time_unix_nano: now - (40 - 10 * i) * S,
                value: Some(NumberValue::AsDouble(step * i as f64)),
                ..Default::default()
            })
            .collect()
    };
    let hist = |at: u64, counts: [u64; 5]| HistogramDataPoint {
        start_time_unix_nano: start,
        time_unix_nano: at,
        count: counts.iter().sum(),
        sum: Some(1.0),
        bucket_counts: counts.to_vec(),
        explicit_bounds: vec![10.0, 50.0, 100.0, 500.0],
        min: Some(1.0),
        max: Some(400.0),
        ..Default::default()
    };
    ExportMetricsServiceRequest::single(
        vec![KeyValue::string("service.name", "shop")],
        scope(),
        vec![
            Metric {
                name: "shop.orders".into(),
                unit: "{order}".into(),
                data: Some(Data::Sum(Sum {
                    data_points: [counter("/a", 10.0), counter("/b", 20.0)].concat(),
                    aggregation_temporality: AggregationTemporality::Cumulative as i32,
                    is_monotonic: true,
                })),
                ..Default::default()
            },
            Metric {
                name: "shop.latency".into(),
                unit: "ms".into(),
                data: Some(Data::Histogram(Histogram {
                    data_points: vec![
                        hist(now - 20 * S, [100, 0, 0, 0, 0]),
                        hist(now - 10 * S, [100, 0, 100, 0, 0]),
                        hist(now, [100, 0, 100, 100, 0]),
                    ],
                    aggregation_temporality: AggregationTemporality::Cumulative as i32,
                })),
                ..Default::default()
            },
            Metric {
                name: "shop.queue".into(),
                data: Some(Data::Gauge(Gauge {
                    data_points: vec![NumberDataPoint {
                        time_unix_nano: now,
                        value: Some(NumberValue::AsInt(3)),
                        ..Default::default()
                    }],
                })),
                ..Default::default()
            },
        ],
    )
}

fn open(cdp: &mut Cdp, url: &str, page: &str) {
    cdp.call("Page.navigate", json!({ "url": url }));
    cdp.wait_for(
        &format!("the {page} page at {url}"),
        &format!("document.readyState === 'complete' && document.body && document.body.dataset.page === '{page}' && location.href === {}", json!(url)),
    );
}

fn bodies(cdp: &mut Cdp) -> Vec<String> {
    let v = cdp.eval(
        "JSON.stringify([...document.querySelectorAll('tr.log td.body .text')].map(e => e.textContent))",
    );
    serde_json::from_str(v.as_str().unwrap()).unwrap()
}

fn shot(cdp: &mut Cdp, out_dir: &Path, name: &str) {
    let path = out_dir.join(format!("{name}.png"));
    cdp.screenshot(&path);
    if std::env::var_os("OTELCTL_UPDATE_DOCS").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/images");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::copy(&path, docs.join(format!("signals-{name}.png"))).unwrap();
    }
}

/// The server, the browser and the data every test here starts from: a trace
/// `GET /checkout` > `charge` of service `shop`, the records its spans logged (and a hostile
/// one, and one of service `worker`), and the metrics of [`metrics`].
struct Setup {
    up: Up,
    _browser: browser::Browser,
    cdp: Cdp,
    viewer: String,
    out_dir: PathBuf,
    // Last: removed after the server and the browser stopped.
    _dir: tempfile::TempDir,
}

const HOSTILE: &str = r#"<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>"#;
const CHARGE: &str = "0202020202020202";

fn setup() -> Option<Setup> {
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("signals-browser");
    std::fs::create_dir_all(&out_dir).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(dir.path(), dir.path(), free_base(), &[]);
    let Some((browser, mut cdp)) = browser::start(dir.path()) else {
        common::skip("chromium is not installed (scripts/test installs Debian's chromium)");
        return None;
    };
    cdp.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 1200, "height": 800, "deviceScaleFactor": 1, "mobile": false}),
    );
    let now = now_ns();
    let t = now - 5 * S;
    // A trace: GET /checkout > charge; the charge's log says why it failed.
    send(
        up.receiver(),
        "/v1/traces",
        &export_request(
            "shop",
            vec![
                span(0x51, 1, 0, "GET /checkout", t, t + 100 * MS),
                failed(span(0x51, 2, 1, "charge", t + 10 * MS, t + 60 * MS)),
            ],
        )
        .to_json(),
    );
    let hostile = HOSTILE;
    send(
        up.receiver(),
        "/v1/logs",
        &logs(
            "shop",
            vec![
                record(t + 5 * MS, 9, "cart loaded with 3 items", 0x51, 1),
                record(t + 30 * MS, 17, "payment declined for order 42", 0x51, 2),
                record(t + 40 * MS, 13, "retrying the charge", 0x51, 2),
                record(t + 200 * MS, 9, hostile, 0, 0),
            ],
        )
        .to_json(),
    );
    send(
        up.receiver(),
        "/v1/logs",
        &logs(
            "worker",
            vec![record(t - S, 5, "cache warmed in 3 ms", 0, 0)],
        )
        .to_json(),
    );
    send(up.receiver(), "/v1/metrics", &metrics(now).to_json());
    let viewer = format!("http://127.0.0.1:{}", up.viewer());
    Some(Setup {
        up,
        _browser: browser,
        cdp,
        viewer,
        out_dir,
        _dir: dir,
    })
}

#[test]
fn logs_and_metrics_pages_in_headless_chromium() {
    let Some(mut s) = setup() else {
        return;
    };
    let (up, cdp, viewer, out_dir) = (&s.up, &mut s.cdp, s.viewer.as_str(), s.out_dir.as_path());
    let hostile = HOSTILE;
    let trace = trace_hex(0x51);
    let charge = CHARGE;

    // 1. The logs page: every record, newest first; the hostile body is text.
    open(cdp, &format!("{viewer}/logs"), "logs");
    assert_eq!(
        bodies(cdp),
        [
            hostile,
            "retrying the charge",
            "payment declined for order 42",
            "cart loaded with 3 items",
            "cache warmed in 3 ms",
        ]
    );
    assert_eq!(
        cdp.eval("[window.__xss === undefined, document.querySelectorAll('td.body img, td.body script').length]"),
        json!([true, 0])
    );
    assert_eq!(
        cdp.eval("document.querySelector('nav a[aria-current=page]').textContent"),
        json!("logs")
    );
    shot(cdp, out_dir, "logs");

    // 2. Found by its text (words, any case), through the form.
    cdp.eval("document.querySelector('input[name=grep]').value = 'DECLINED order'");
    cdp.eval("document.getElementById('apply').click()");
    cdp.wait_for(
        "the text filter",
        "document.readyState === 'complete' && location.search.includes('grep=') && document.querySelectorAll('tr.log').length === 1",
    );
    assert_eq!(bodies(cdp), ["payment declined for order 42"]);
    assert_eq!(
        cdp.eval("[...document.querySelectorAll('tr.log mark')].map(m => m.textContent).join(',')"),
        json!("declined,order")
    );
    // Its link goes to its span.
    assert_eq!(
        cdp.eval("document.querySelector('tr.log a.to-span').getAttribute('href')"),
        json!(format!("/trace/{trace}?span={charge}"))
    );

    // 3. Found by its trace id: the trace's three records, and with severity >= warn two.
    open(cdp, &format!("{viewer}/logs?trace={trace}"), "logs");
    assert_eq!(
        bodies(cdp),
        [
            "retrying the charge",
            "payment declined for order 42",
            "cart loaded with 3 items"
        ]
    );
    open(
        cdp,
        &format!("{viewer}/logs?trace={trace}&severity=warn"),
        "logs",
    );
    assert_eq!(bodies(cdp).len(), 2);
    assert_eq!(
        cdp.eval("document.querySelector('select[name=severity]').value"),
        json!("warn")
    );

    // 4. The live tail: a new record of the filtered service appears on top, one of another
    //    service does not.
    open(cdp, &format!("{viewer}/logs?service=shop"), "logs");
    cdp.wait_for(
        "the live connection",
        "document.body.dataset.sse === 'open'",
    );
    cdp.eval("window.__same = 1");
    let later = now_ns();
    send(
        up.receiver(),
        "/v1/logs",
        &logs(
            "worker",
            vec![record(later, 9, "not for this filter", 0, 0)],
        )
        .to_json(),
    );
    send(
        up.receiver(),
        "/v1/logs",
        &logs(
            "shop",
            vec![record(later, 17, "order 43 arrived live", 0, 0)],
        )
        .to_json(),
    );
    cdp.wait_for(
        "the tailed record",
        "document.querySelector('tr.log td.body .text').textContent === 'order 43 arrived live'",
    );
    assert_eq!(
        cdp.eval("[window.__same, document.querySelectorAll('tr.log').length, document.querySelector('tr.log').classList.contains('fresh')]"),
        json!([1, 5, true]),
        "added in place, not a reload"
    );
    assert!(!bodies(cdp).contains(&"not for this filter".to_string()));

    // 5. The metrics page: a counter's rate per attribute set, a histogram's p95 from its
    //    buckets, a dated time axis.
    open(cdp, &format!("{viewer}/metrics"), "metrics");
    cdp.wait_for(
        "every chart drawn",
        "document.querySelectorAll('figure.chart').length === 3 && [...document.querySelectorAll('figure.chart')].every(f => f.dataset.state === 'drawn')",
    );
    let line = |cdp: &mut Cdp, metric: &str, attr: &str, val: &str| -> serde_json::Value {
        cdp.eval(&format!(
            "(function(){{var p=document.querySelector('section.metric[data-name=\"{metric}\"] path.line[{attr}=\"{val}\"]'); return p ? [Number(p.dataset.last), Number(p.dataset.n)] : null;}})()"
        ))
    };
    assert_eq!(
        line(cdp, "shop.orders", "data-label", "route=/a"),
        json!([1, 4])
    );
    assert_eq!(
        line(cdp, "shop.orders", "data-label", "route=/b"),
        json!([2, 4])
    );
    assert_eq!(
        line(cdp, "shop.latency", "data-quantile", "p95"),
        json!([480, 3])
    );
    assert_eq!(
        line(cdp, "shop.latency", "data-quantile", "p50"),
        json!([300, 3])
    );
    assert_eq!(
        line(cdp, "shop.queue", "data-label", "(no attributes)"),
        json!([3, 1])
    );
    assert_eq!(
        cdp.eval("/^\\d{4}-\\d\\d-\\d\\d$/.test(document.querySelector('section.metric[data-name=\"shop.orders\"] text.date').textContent)"),
        json!(true),
        "the first tick says the date"
    );
    assert_eq!(
        cdp.eval("document.querySelector('section.metric[data-name=\"shop.orders\"] .hint').textContent.startsWith('rate per second')"),
        json!(true)
    );
    println!(
        "metrics.js fetched and drew 3 charts in {} ms",
        cdp.eval("document.body.dataset.drawMs")
    );
    shot(cdp, out_dir, "metrics");
}

fn api(port: u16, path: &str) -> serde_json::Value {
    let r = get(port, path);
    assert_eq!(
        r.status,
        200,
        "{path}: {}",
        String::from_utf8_lossy(&r.body)
    );
    serde_json::from_slice(&r.body).expect("JSON")
}

fn api_bodies(port: u16, path: &str) -> Vec<String> {
    api(port, path)["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["body"].as_str().unwrap().to_string())
        .collect()
}

/// The routes behind the pages, without a browser (they run wherever the tests run): the JSON
/// that `otelctl logs` and `otelctl metrics` read, the tail's rows, the pages' escaping and
/// their answers to parameters they do not understand.
#[test]
fn the_logs_and_metrics_routes_answer_what_the_pages_and_the_cli_read() {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(dir.path(), dir.path(), free_base(), &[]);
    let (r, v) = (up.receiver(), up.viewer());
    let t = now_ns() - 5 * S;
    send(
        r,
        "/v1/logs",
        &logs(
            "shop",
            vec![
                record(t, 9, "cart loaded with 3 items", 0x51, 1),
                record(t + MS, 17, "payment declined for order 42", 0x51, 2),
                record(t + 2 * MS, 13, "retrying the charge", 0x51, 2),
                record(t + 3 * MS, 9, HOSTILE, 0, 0),
            ],
        )
        .to_json(),
    );
    send(
        r,
        "/v1/logs",
        &logs("worker", vec![record(t - S, 5, "cache warmed", 0, 0)]).to_json(),
    );
    send(r, "/v1/metrics", &metrics(now_ns()).to_json());
    let trace = trace_hex(0x51);

    // The JSON API: filters, newest first; `after` gives what came later, oldest first.
    let all = api(v, "/api/logs");
    assert_eq!(all["logs"].as_array().unwrap().len(), 5);
    assert_eq!(all["logs"][0]["body"], HOSTILE);
    assert_eq!(
        api_bodies(v, "/api/logs?grep=Declined"),
        ["payment declined for order 42"]
    );
    assert_eq!(
        api_bodies(v, "/api/logs?q=declined"),
        ["payment declined for order 42"]
    );
    assert_eq!(
        api_bodies(v, &format!("/api/logs?trace={trace}&span={CHARGE}")),
        ["retrying the charge", "payment declined for order 42"]
    );
    assert_eq!(
        api_bodies(v, "/api/logs?severity=warn&limit=1"),
        ["retrying the charge"]
    );
    assert_eq!(api_bodies(v, "/api/logs?service=worker"), ["cache warmed"]);
    // The first record stored ("cart loaded"); after it, the others, in the order stored.
    let first = all["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_i64().unwrap())
        .min()
        .unwrap();
    let later = api_bodies(v, &format!("/api/logs?service=shop&after={first}"));
    assert_eq!(
        later,
        [
            "payment declined for order 42",
            "retrying the charge",
            HOSTILE
        ],
        "oldest first"
    );
    let metrics = api(v, "/api/metrics?service=shop");
    let names: Vec<&str> = metrics["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["shop.latency", "shop.orders", "shop.queue"]);
    let series = api(v, "/api/metrics/series?name=shop.orders&limit=3");
    assert_eq!(series["series"].as_array().unwrap().len(), 2);
    assert_eq!(series["series"][0]["points"].as_array().unwrap().len(), 3);

    // The tail's rows: the records stored after an id, newest first, as table rows.
    let rows = get(
        v,
        &format!("/fragment/logs/rows?service=shop&after={first}"),
    );
    let html = String::from_utf8(rows.body).unwrap();
    assert_eq!(html.matches("<tr class=\"log").count(), 3);
    assert!(html.find("onerror").unwrap() < html.find("payment declined").unwrap());
    assert!(!html.contains("<img"));
    // A hostile body is text on the page.
    let page = String::from_utf8(get(v, "/logs").body).unwrap();
    assert!(!page.contains("<img src=x") && !page.contains("<script>window"));
    assert!(page.contains("&#60;img src=x onerror="));
    assert!(page.contains(&format!("href=\"/trace/{trace}?span={CHARGE}\"")));

    // What is not understood is a 400 naming it.
    for path in [
        "/api/logs?severity=loud",
        "/api/logs?trace=xyz",
        "/api/logs?after=soon",
        "/api/metrics?since=soon",
        "/api/metrics/series",
    ] {
        let r = get(v, path);
        assert_eq!(r.status, 400, "{path}");
    }
    let r = get(v, "/logs?since=soon");
    assert_eq!(r.status, 400);
    assert!(String::from_utf8(r.body)
        .unwrap()
        .contains("filter-problem"));
}
#[test]
fn a_spans_logs_on_its_trace_page_in_headless_chromium() {
    let Some(mut s) = setup() else {
        return;
    };
    let (cdp, viewer, out_dir) = (&mut s.cdp, s.viewer.as_str(), s.out_dir.as_path());
    let trace = trace_hex(0x51);
    let charge = CHARGE;
    // A span's logs on its trace page, and the link from there to the logs page.
    open(
        cdp,
        &format!("{viewer}/trace/{trace}?span={charge}"),
        "trace",
    );
    cdp.wait_for(
        "the charge span's logs in its details",
        "!!document.querySelector('table.span-logs') && document.querySelector('table.span-logs').textContent.includes('payment declined for order 42')",
    );
    assert_eq!(
        cdp.eval("document.querySelectorAll('table.span-logs tr.log').length"),
        json!(2)
    );
    cdp.wait_for(
        "log marks on the bars",
        "document.querySelectorAll('.logmark').length === 3",
    );
    shot(cdp, out_dir, "trace-logs");
    cdp.eval("document.querySelector('a.span-logs-link').click()");
    cdp.wait_for(
        "the logs page of the span",
        "document.body.dataset.page === 'logs' && location.search.includes('span=') && document.readyState === 'complete'",
    );
    assert_eq!(
        bodies(cdp),
        ["retrying the charge", "payment declined for order 42"]
    );
    assert_eq!(
        cdp.eval("document.querySelector('input[name=span]').value"),
        json!(charge)
    );
}
