//! A headless Chromium (Debian's `chromium`) driven over the DevTools protocol, for the
//! viewer's browser tests: a minimal WebSocket client to one page target.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use super::{poll, request};

pub fn chromium() -> Option<PathBuf> {
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

pub struct Browser {
    child: Child,
}
impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal DevTools client: one WebSocket to one page target.
pub struct Cdp {
    ws: TcpStream,
    next_id: u64,
}

impl Cdp {
    pub fn connect(ws_url: &str) -> Cdp {
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

    pub fn send_frame(&mut self, payload: &[u8]) {
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

    pub fn read_message(&mut self) -> Vec<u8> {
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

    pub fn call(&mut self, method: &str, params: Value) -> Value {
        match self.try_call(method, params) {
            Ok(v) => v,
            Err(e) => panic!("{method}: {e}"),
        }
    }

    /// A call whose protocol error is returned, not a panic.
    pub fn try_call(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        let id = self.next_id;
        self.next_id += 1;
        let msg = json!({"id": id, "method": method, "params": params}).to_string();
        self.send_frame(msg.as_bytes());
        loop {
            let v: Value = serde_json::from_slice(&self.read_message()).unwrap();
            if v["id"] == id {
                return match v.get("error") {
                    Some(e) => Err(e.clone()),
                    None => Ok(v["result"].clone()),
                };
            }
        }
    }

    pub fn eval(&mut self, expr: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true}),
        );
        r["result"]["value"].clone()
    }

    /// Polls `expr` until it is `true`. An evaluation that fails because the page is being
    /// replaced (its context destroyed by a navigation) counts as not yet.
    pub fn wait_for(&mut self, what: &str, expr: &str) {
        poll(what, Duration::from_secs(30), || {
            let r = self
                .try_call(
                    "Runtime.evaluate",
                    json!({"expression": expr, "returnByValue": true}),
                )
                .ok()?;
            (r["result"]["value"] == Value::Bool(true)).then_some(())
        });
    }

    pub fn screenshot(&mut self, path: &Path) {
        let r = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let png = otelctl_otlp::b64::decode(r["data"].as_str().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
        println!("screenshot: {}", path.display());
    }
}

/// Starts chromium with a fresh profile under `dir` and connects to its page; `None` when
/// chromium is not installed.
pub fn start(dir: &Path) -> Option<(Browser, Cdp)> {
    let chrome = chromium()?;
    let profile = dir.join("chromium-profile");
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
    let browser = Browser { child };
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
    Some((browser, cdp))
}
