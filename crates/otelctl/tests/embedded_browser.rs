//! The viewer in a real headless Chromium (Debian's `chromium`), driven over the DevTools
//! protocol: an empty list, a trace appearing without a reload (server-sent events), the
//! waterfall's bars, selection, a live update of an open trace page, and a refresh keeping the
//! deep link and the selection. Screenshots go to `$CARGO_TARGET_TMPDIR/embedded-browser/`
//! (paths printed). Skips with the reason when chromium is not installed.

mod common;
mod embedded_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use embedded_support::*;
use serde_json::{json, Value};

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH")?
                .to_str()?
                .split(':')
                .map(|d| Path::new(d).join(name))
                .find(|p| p.is_file())
        })
}

struct Browser {
    child: Child,
}
impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal DevTools client: one WebSocket to one page target.
struct Cdp {
    ws: TcpStream,
    next_id: u64,
}

impl Cdp {
    fn connect(ws_url: &str) -> Cdp {
        let rest = ws_url.strip_prefix("ws://").expect("ws:// URL");
        let (authority, path) = rest.split_at(rest.find('/').unwrap());
        let mut ws = TcpStream::connect(authority).unwrap();
        ws.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            ws,
            "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        .unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            ws.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head);
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        Cdp { ws, next_id: 1 }
    }

    fn send_frame(&mut self, payload: &[u8]) {
        let mut frame = vec![0x81u8];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n if n < 65536 => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        let mask = [0x12u8, 0x34, 0x56, 0x78];
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.ws.write_all(&frame).unwrap();
    }

    fn read_message(&mut self) -> Vec<u8> {
        let mut message = Vec::new();
        loop {
            let mut h = [0u8; 2];
            self.ws.read_exact(&mut h).unwrap();
            let fin = h[0] & 0x80 != 0;
            let mut len = u64::from(h[1] & 0x7f);
            if len == 126 {
                let mut b = [0u8; 2];
                self.ws.read_exact(&mut b).unwrap();
                len = u64::from(u16::from_be_bytes(b));
            } else if len == 127 {
                let mut b = [0u8; 8];
                self.ws.read_exact(&mut b).unwrap();
                len = u64::from_be_bytes(b);
            }
            let mut payload = vec![0u8; len as usize];
            self.ws.read_exact(&mut payload).unwrap();
            message.extend_from_slice(&payload);
            if fin {
                return message;
            }
        }
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let msg = json!({"id": id, "method": method, "params": params}).to_string();
        self.send_frame(msg.as_bytes());
        loop {
            let v: Value = serde_json::from_slice(&self.read_message()).unwrap();
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
        }
    }

    fn eval(&mut self, expr: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true}),
        );
        r["result"]["value"].clone()
    }

    fn wait_for(&mut self, what: &str, expr: &str) {
        poll(what, Duration::from_secs(30), || {
            (self.eval(expr) == Value::Bool(true)).then_some(())
        });
    }

    fn screenshot(&mut self, path: &Path) {
        let r = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let png = otelctl_otlp::b64::decode(r["data"].as_str().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
        println!("screenshot: {}", path.display());
    }
}

#[test]
fn a_trace_appears_live_in_headless_chromium_with_its_waterfall() {
    let Some(chrome) = chromium() else {
        return common::skip("chromium is not installed (scripts/test installs Debian's chromium)");
    };
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("embedded-browser");
    std::fs::create_dir_all(&out_dir).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(dir.path(), dir.path(), free_base(), &[]);
    let viewer = format!("http://127.0.0.1:{}", up.viewer());

    let profile = dir.path().join("chromium-profile");
    let child = Command::new(&chrome)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--remote-debugging-port=0",
            "--window-size=1200,800",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("about:blank")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let _browser = Browser { child };
    let devtools_port: u16 = poll(
        "chromium's DevToolsActivePort",
        Duration::from_secs(60),
        || {
            std::fs::read_to_string(profile.join("DevToolsActivePort"))
                .ok()?
                .lines()
                .next()?
                .trim()
                .parse()
                .ok()
        },
    );
    let ws_url = poll("a page target", Duration::from_secs(30), || {
        let r = request("GET", devtools_port, "/json/list", &[], b"").ok()?;
        let list: Value = serde_json::from_slice(&r.body).ok()?;
        list.as_array()?
            .iter()
            .find(|t| t["type"] == "page")
            .and_then(|t| t["webSocketDebuggerUrl"].as_str().map(String::from))
    });
    let mut cdp = Cdp::connect(&ws_url);
    cdp.call("Page.enable", json!({}));

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

    // 3. The trace page: one bar per span, the error marked; select a bar.
    cdp.call(
        "Page.navigate",
        json!({"url": format!("{viewer}/trace/{id}")}),
    );
    cdp.wait_for("the trace page's live connection", "document.body && document.body.dataset.page === 'trace' && document.body.dataset.sse === 'open'");
    assert_eq!(
        cdp.eval("document.querySelectorAll('svg.waterfall a.bar').length"),
        json!(3)
    );
    assert_eq!(
        cdp.eval("document.querySelectorAll('svg.waterfall a.bar.error').length"),
        json!(1)
    );
    let link = "03".repeat(8);
    cdp.eval(&format!(
        "document.querySelector('a.bar[data-span=\"{link}\"]').dispatchEvent(new MouseEvent('click', {{bubbles: true, cancelable: true}}))"
    ));
    cdp.wait_for(
        "the selected span's attributes",
        &format!("!document.querySelector('section.attrs[data-span=\"{link}\"]').hidden && location.search === '?span={link}'"),
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
        "document.querySelectorAll('svg.waterfall a.bar').length === 4",
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
        cdp.eval("document.querySelectorAll('svg.waterfall a.bar').length"),
        json!(4)
    );
    assert_eq!(
        cdp.eval(&format!(
            "!document.querySelector('section.attrs[data-span=\"{link}\"]').hidden"
        )),
        json!(true)
    );
    assert_eq!(
        cdp.eval("document.querySelector('a.bar.selected').dataset.span"),
        json!(link)
    );
    cdp.screenshot(&out_dir.join("trace-after-refresh.png"));
}
