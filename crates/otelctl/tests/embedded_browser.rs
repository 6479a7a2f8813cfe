//! The viewer in a real headless Chromium (Debian's `chromium`), driven over the DevTools
//! protocol: an empty list, a trace appearing without a reload (server-sent events), the
//! waterfall's bars, selection, a live update of an open trace page, and a refresh keeping the
//! deep link and the selection, and a page on another origin that tries to clear the traces (a
//! sandboxed iframe, whose Origin is `null`, and a plain cross-origin form) and fails, while the
//! viewer's own button succeeds. Screenshots go to `$CARGO_TARGET_TMPDIR/embedded-browser/`
//! (paths printed). Skips with the reason when chromium is not installed.

mod common;
mod embedded_support;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use embedded_support::*;
use serde_json::{json, Value};

#[test]
fn a_trace_appears_live_in_headless_chromium_with_its_waterfall() {
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("embedded-browser");
    std::fs::create_dir_all(&out_dir).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(dir.path(), dir.path(), free_base(), &[]);
    let viewer = format!("http://127.0.0.1:{}", up.viewer());

    let Some((_browser, mut cdp)) = browser::start(dir.path()) else {
        return common::skip("chromium is not installed (scripts/test installs Debian's chromium)");
    };

    // 1. The list, empty, with its live connection open.
    cdp.call("Page.navigate", json!({"url": format!("{viewer}/")}));
    cdp.wait_for(
        "the list page's live connection",
        "document.body && document.body.dataset.sse === 'open'",
    );
    assert_eq!(
        cdp.eval("!!document.getElementById('no-traces')"),
        Value::Bool(true)
    );
    cdp.eval("window.__sameDocument = 42");

    // 2. A trace arrives: the row appears without a reload.
    let now = now_ns();
    let req = export_request(
        "browser-test",
        vec![
            span(0x7b, 1, 0, "make build", now, now + 80_000_000),
            span(0x7b, 2, 1, "compile", now + 5_000_000, now + 50_000_000),
            failed(span(0x7b, 3, 1, "link", now + 52_000_000, now + 78_000_000)),
        ],
    );
    assert_eq!(
        post(up.receiver(), "application/json", &req.to_json()).status,
        200
    );
    let id = trace_hex(0x7b);
    cdp.wait_for(
        "the trace row to appear live",
        &format!("!!document.querySelector('tr.trace[data-trace=\"{id}\"]')"),
    );
    assert_eq!(
        cdp.eval("window.__sameDocument"),
        json!(42),
        "no reload happened"
    );
    assert!(
        cdp.eval("Number(document.body.dataset.updates)")
            .as_u64()
            .unwrap()
            >= 1
    );
    assert_eq!(
        cdp.eval("document.querySelector('tr.trace td.name a').textContent"),
        json!("make build")
    );
    cdp.screenshot(&out_dir.join("list.png"));

    // 3. The trace page: one row per span, the error marked; select a row.
    cdp.call(
        "Page.navigate",
        json!({"url": format!("{viewer}/trace/{id}")}),
    );
    cdp.wait_for("the trace page's live connection", "document.body && document.body.dataset.page === 'trace' && document.body.dataset.sse === 'open'");
    assert_eq!(
        cdp.eval("document.querySelectorAll('#waterfall .row').length"),
        json!(3)
    );
    assert_eq!(
        cdp.eval("document.querySelectorAll('#waterfall .row.error').length"),
        json!(1)
    );
    let link = "03".repeat(8);
    cdp.eval(&format!(
        "document.querySelector('#waterfall .row[data-span=\"{link}\"] .name').dispatchEvent(new MouseEvent('click', {{bubbles: true, cancelable: true}}))"
    ));
    cdp.wait_for(
        "the selected span's attributes",
        &format!("!!document.querySelector('#details section.attrs[data-span=\"{link}\"]:not([hidden])') && location.search === '?span={link}'"),
    );
    assert_eq!(
        cdp.eval(&format!("document.querySelector('section.attrs[data-span=\"{link}\"]').textContent.includes('value-of-link')")),
        json!(true)
    );
    cdp.eval("window.__sameDocument = 43");

    // 4. A late span of the open trace: the waterfall grows live, the selection stays.
    let late = export_request(
        "browser-test",
        vec![span(
            0x7b,
            4,
            2,
            "codegen",
            now + 10_000_000,
            now + 30_000_000,
        )],
    );
    assert_eq!(
        post(up.receiver(), "application/json", &late.to_json()).status,
        200
    );
    cdp.wait_for(
        "the fourth bar to appear live",
        "document.querySelectorAll('#waterfall .row').length === 4",
    );
    assert_eq!(
        cdp.eval("window.__sameDocument"),
        json!(43),
        "no reload happened"
    );
    cdp.screenshot(&out_dir.join("trace-live.png"));

    // 5. Refresh: the deep link and its selection survive.
    cdp.call("Page.reload", json!({}));
    cdp.wait_for("the reloaded page", "document.body && document.body.dataset.sse === 'open' && window.__sameDocument === undefined");
    assert_eq!(
        cdp.eval("document.querySelectorAll('#waterfall .row').length"),
        json!(4)
    );
    assert_eq!(
        cdp.eval(&format!(
            "!!document.querySelector('#details section.attrs[data-span=\"{link}\"]:not([hidden])')"
        )),
        json!(true)
    );
    assert_eq!(
        cdp.eval("document.querySelector('#waterfall .row.selected').dataset.span"),
        json!(link)
    );
    cdp.screenshot(&out_dir.join("trace-after-refresh.png"));

    // 6. Another site tries to clear the traces: a sandboxed iframe (its requests carry
    //    `Origin: null`) and a plain frame, each submitting a form to /api/clear. Both navigate
    //    (to the viewer's 403 answer), and the trace stays.
    let form = format!(
        r#"<form method=post action='{viewer}/api/clear'></form><script>window.onload = () => setTimeout(() => document.forms[0].submit(), 0)</script>"#
    );
    let attack = format!(
        r#"<!doctype html><html><body><script>window.loads = 0;</script>
<iframe sandbox="allow-forms allow-scripts" onload="window.loads++" srcdoc="{f}"></iframe>
<iframe onload="window.loads++" srcdoc="{f}"></iframe></body></html>"#,
        f = form.replace('"', "&quot;")
    );
    let other = PageServer::start(attack);
    cdp.call(
        "Page.navigate",
        json!({"url": format!("http://127.0.0.1:{}/", other.port)}),
    );
    // Each frame loads twice: its own document, then the answer to the form it submits on load.
    let submitted = std::time::Instant::now() + Duration::from_secs(30);
    while cdp.eval("window.loads >= 4") != Value::Bool(true) {
        let last = cdp.eval("JSON.stringify({loads: window.loads, url: location.href, html: document.documentElement.outerHTML.slice(0, 600)})");
        assert!(
            std::time::Instant::now() < submitted,
            "both frames did not submit their form: {last}"
        );
        std::thread::park_timeout(Duration::from_millis(50));
    }
    assert!(
        other.requests() >= 1,
        "the page was served from the other origin"
    );
    assert_eq!(
        traces_json(up.viewer())["traces"].as_array().unwrap().len(),
        1,
        "a page on another origin cleared the traces"
    );
    cdp.screenshot(&out_dir.join("other-origin-clear-refused.png"));

    // 7. The viewer's own button still clears (the confirmation dialog accepted).
    cdp.call("Page.navigate", json!({"url": format!("{viewer}/")}));
    cdp.wait_for(
        "the list page",
        "document.body && document.body.dataset.sse === 'open' && !!document.getElementById('clear')",
    );
    cdp.eval("window.confirm = () => true; document.getElementById('clear').click()");
    poll("the viewer's own clear", Duration::from_secs(20), || {
        traces_json(up.viewer())["traces"]
            .as_array()
            .unwrap()
            .is_empty()
            .then_some(())
    });
}

/// A web page on another origin (another loopback port): answers every request with `page`.
struct PageServer {
    port: u16,
    served: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl PageServer {
    fn start(page: String) -> PageServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = served.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match conn.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => break,
                    }
                }
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                    page.len()
                );
            }
        });
        PageServer { port, served }
    }
    fn requests(&self) -> usize {
        self.served.load(std::sync::atomic::Ordering::SeqCst)
    }
}
