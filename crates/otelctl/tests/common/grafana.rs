//! A STAND-IN for Grafana's HTTP API, because a real Grafana server cannot be built or run on
//! this machine (the Go module proxy refuses github.com/grafana/grafana, the repository snapshot
//! is over the fetch limit, and no registry ships the server; see docs/commands/dash.md).
//!
//! It implements only the endpoints `otelctl dash sync` uses, with Grafana's documented
//! behaviour for them: `GET /api/health` (no auth), Bearer-token auth (401 for a wrong token,
//! 403 when set to forbid), `GET|POST /api/folders[/<uid>]`, `GET /api/search?type=dash-db&tag=…`
//! (tags ANDed), `GET|DELETE /api/dashboards/uid/<uid>`, `POST /api/dashboards/db` (400 for a
//! missing title, a uid over 40 characters or an unknown folderUid; 412 for an existing uid
//! without `overwrite`; `id` and `version` assigned). Every request is recorded.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

#[derive(Debug, Clone)]
pub struct Stored {
    pub dashboard: Value,
    pub folder_uid: String,
    pub version: u64,
}

#[derive(Debug, Default)]
pub struct State {
    pub token: String,
    pub forbid: bool,
    pub folders: BTreeMap<String, String>,
    pub dashboards: BTreeMap<String, Stored>,
    /// "METHOD /path?query" of every request, in order.
    pub log: Vec<String>,
    /// Authorization headers seen (to check what was sent).
    pub auth_seen: Vec<String>,
    next_id: u64,
}

pub struct StandIn {
    pub url: String,
    pub state: Arc<Mutex<State>>,
}

impl StandIn {
    /// Starts the stand-in on 127.0.0.1 (a free port); it runs until the test process ends.
    pub fn start(token: &str) -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            token: token.to_string(),
            ..State::default()
        }));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                handle(stream, &shared);
            }
        });
        StandIn { url, state }
    }

    pub fn log(&self) -> Vec<String> {
        self.state.lock().unwrap().log.clone()
    }
    pub fn clear_log(&self) {
        self.state.lock().unwrap().log.clear();
    }
    /// Requests that change something (POST, PUT, DELETE).
    pub fn writes(&self) -> Vec<String> {
        self.log()
            .into_iter()
            .filter(|l| !l.starts_with("GET "))
            .collect()
    }
    pub fn dashboard(&self, uid: &str) -> Option<Stored> {
        self.state.lock().unwrap().dashboards.get(uid).cloned()
    }
    pub fn uids(&self) -> Vec<String> {
        self.state
            .lock()
            .unwrap()
            .dashboards
            .keys()
            .cloned()
            .collect()
    }
    /// Puts a dashboard in directly (as a user or another tool would have).
    pub fn insert(&self, uid: &str, title: &str, folder: &str, tags: &[&str]) {
        let mut s = self.state.lock().unwrap();
        s.folders
            .entry(folder.to_string())
            .or_insert_with(|| folder.to_string());
        s.next_id += 1;
        let id = s.next_id;
        s.dashboards.insert(
            uid.to_string(),
            Stored {
                dashboard: json!({"id": id, "uid": uid, "title": title, "tags": tags, "version": 1}),
                folder_uid: folder.to_string(),
                version: 1,
            },
        );
    }
}

/// Method, target, headers (names lowercased), body.
type Request = (String, String, Vec<(String, String)>, Vec<u8>);

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < end + 4 + len {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some((method, target, headers, buf[end + 4..].to_vec()))
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn handle(mut stream: TcpStream, state: &Arc<Mutex<State>>) {
    let Some((method, target, headers, body)) = read_request(&mut stream) else {
        return;
    };
    let (status, reply) = route(state, &method, &target, &headers, &body);
    let text = reply.to_string();
    let out = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = stream.write_all(out.as_bytes());
}

fn route(
    state: &Arc<Mutex<State>>,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> (u16, Value) {
    let mut s = state.lock().unwrap();
    s.log.push(format!("{method} {target}"));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let params: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    if (method, path) == ("GET", "/api/health") {
        return (200, json!({"database": "ok", "version": "stand-in"}));
    }
    let auth = headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    s.auth_seen.push(auth.clone());
    if auth != format!("Bearer {}", s.token) {
        return (401, json!({"message": "Invalid API key"}));
    }
    if s.forbid {
        return (403, json!({"message": "Access denied"}));
    }
    let json_body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    match (method, path) {
        ("POST", "/api/folders") => {
            let uid = json_body["uid"].as_str().unwrap_or("").to_string();
            let title = json_body["title"].as_str().unwrap_or("").to_string();
            if s.folders.contains_key(&uid) {
                return (
                    409,
                    json!({"message": "a folder with the same uid already exists"}),
                );
            }
            s.folders.insert(uid.clone(), title.clone());
            (200, json!({"uid": uid, "title": title}))
        }
        ("GET", p) if p.starts_with("/api/folders/") => {
            let uid = decode(&p["/api/folders/".len()..]);
            match s.folders.get(&uid) {
                Some(title) => (200, json!({"uid": uid, "title": title})),
                None => (404, json!({"message": "folder not found"})),
            }
        }
        ("GET", "/api/search") => {
            let tags: Vec<&String> = params
                .iter()
                .filter(|(k, _)| k == "tag")
                .map(|(_, v)| v)
                .collect();
            let hits: Vec<Value> = s
                .dashboards
                .iter()
                .filter(|(_, d)| {
                    let have = d.dashboard["tags"].as_array().cloned().unwrap_or_default();
                    tags.iter()
                        .all(|t| have.iter().any(|h| h.as_str() == Some(t.as_str())))
                })
                .map(|(uid, d)| {
                    json!({"uid": uid, "title": d.dashboard["title"], "type": "dash-db",
                           "tags": d.dashboard["tags"], "folderUid": d.folder_uid})
                })
                .collect();
            (200, Value::Array(hits))
        }
        ("GET", p) if p.starts_with("/api/dashboards/uid/") => {
            let uid = decode(&p["/api/dashboards/uid/".len()..]);
            match s.dashboards.get(&uid) {
                Some(d) => (
                    200,
                    json!({"dashboard": d.dashboard, "meta": {"folderUid": d.folder_uid, "version": d.version}}),
                ),
                None => (404, json!({"message": "Dashboard not found"})),
            }
        }
        ("DELETE", p) if p.starts_with("/api/dashboards/uid/") => {
            let uid = decode(&p["/api/dashboards/uid/".len()..]);
            match s.dashboards.remove(&uid) {
                Some(d) => (
                    200,
                    json!({"title": d.dashboard["title"], "message": "deleted"}),
                ),
                None => (404, json!({"message": "Dashboard not found"})),
            }
        }
        ("POST", "/api/dashboards/db") => {
            let mut dash = json_body["dashboard"].clone();
            let folder = json_body["folderUid"].as_str().unwrap_or("").to_string();
            let overwrite = json_body["overwrite"].as_bool().unwrap_or(false);
            let uid = dash["uid"].as_str().unwrap_or("").to_string();
            if dash["title"].as_str().unwrap_or("").is_empty() {
                return (400, json!({"message": "Dashboard title cannot be empty"}));
            }
            if uid.len() > 40 {
                return (400, json!({"message": "uid too long, max 40 characters"}));
            }
            if !folder.is_empty() && !s.folders.contains_key(&folder) {
                return (400, json!({"message": "folder not found"}));
            }
            let existing = s.dashboards.get(&uid).cloned();
            if existing.is_some() && !overwrite {
                return (
                    412,
                    json!({"message": "A dashboard with the same uid already exists", "status": "name-exists"}),
                );
            }
            let version = existing.as_ref().map(|e| e.version + 1).unwrap_or(1);
            let id = match existing.as_ref().and_then(|e| e.dashboard["id"].as_u64()) {
                Some(id) => id,
                None => {
                    s.next_id += 1;
                    s.next_id
                }
            };
            dash["id"] = json!(id);
            dash["version"] = json!(version);
            s.dashboards.insert(
                uid.clone(),
                Stored {
                    dashboard: dash,
                    folder_uid: folder,
                    version,
                },
            );
            (
                200,
                json!({"id": id, "uid": uid, "status": "success", "version": version, "url": format!("/d/{uid}")}),
            )
        }
        _ => (404, json!({"message": "Not found"})),
    }
}
