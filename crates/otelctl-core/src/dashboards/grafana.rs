//! Syncing a project's dashboards through Grafana's HTTP API.
//!
//! One folder per project (uid `otelctl-<project>`, title = the project name). Every dashboard
//! we post carries the tags [`MANAGED_TAG`] and `otelctl-project-<project>`; pruning only ever
//! deletes dashboards with both tags, so dashboards made by hand are never touched.
//!
//! Steps: `GET /api/health`; `GET /api/folders/<uid>` (`POST /api/folders` when missing);
//! `GET /api/search?type=dash-db&tag=…&tag=…` (what we manage); per dashboard
//! `GET /api/dashboards/uid/<uid>` and, when it differs, `POST /api/dashboards/db` with
//! `overwrite: true` and `folderUid`; finally `DELETE /api/dashboards/uid/<uid>` for managed
//! dashboards the project no longer has. Everything is validated before the first write, and
//! pruning happens only after every dashboard was written.
//!
//! The token is sent as `Authorization: Bearer …` and never appears in any message.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::files::{Action, Change};
use super::{Dashboard, MANAGED_TAG, MAX_UID_LEN};
use crate::error::{Error, Result};
use crate::http::{self, HttpError, HttpUrl};

/// How long one API request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// A secret that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// A token from text (surrounding whitespace and a trailing newline are dropped).
    pub fn new(text: &str) -> Option<Self> {
        let t = text.trim();
        (!t.is_empty()).then(|| Token(t.to_string()))
    }
    fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// The tag naming the project on every dashboard we post.
pub fn project_tag(project: &str) -> String {
    format!("otelctl-project-{project}")
}

/// The project's folder uid: `otelctl-<project>`, shortened with a hash when over 40 characters.
pub fn folder_uid(project: &str) -> String {
    let uid = format!("otelctl-{project}");
    if uid.len() <= MAX_UID_LEN
        && uid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return uid;
    }
    let hash = hex8(project);
    let keep: String = project
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(MAX_UID_LEN - "otelctl-".len() - 9)
        .collect();
    format!("otelctl-{keep}-{hash}")
}

fn hex8(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// A Grafana HTTP API client (plain `http://`; see the module docs).
pub struct Client {
    base: HttpUrl,
    shown: String,
    token: Option<Token>,
}

struct Reply {
    status: u16,
    body: Value,
}

impl Client {
    /// `url` is Grafana's root URL (a sub-path such as `http://h/grafana` is kept).
    pub fn new(url: &str, token: Option<Token>) -> Result<Self> {
        let trimmed = url.trim_end_matches('/');
        if trimmed.starts_with("https://") {
            return Err(Error::InvalidValue {
                what: "Grafana URL",
                value: url.to_string(),
                origin: crate::error::Source::Flag("--grafana-url"),
                expected: "an http:// URL: this build of otelctl speaks plain HTTP only (use a loopback or tunnelled http:// address)".to_string(),
            });
        }
        let base = HttpUrl::parse(trimmed).map_err(|_| Error::InvalidValue {
            what: "Grafana URL",
            value: url.to_string(),
            origin: crate::error::Source::Flag("--grafana-url"),
            expected: "http://HOST[:PORT][/PATH]".to_string(),
        })?;
        Ok(Client {
            shown: trimmed.to_string(),
            base,
            token,
        })
    }

    pub fn url(&self) -> &str {
        &self.shown
    }

    fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Reply> {
        let mut url = self.base.clone();
        let prefix = url.path.trim_end_matches('/').to_string();
        url.path = format!("{prefix}{path}");
        let mut headers = vec![
            ("Accept".to_string(), "application/json".to_string()),
            ("User-Agent".to_string(), "otelctl".to_string()),
        ];
        if let Some(t) = &self.token {
            headers.push((
                "Authorization".to_string(),
                format!("Bearer {}", t.expose()),
            ));
        }
        let bytes = match body {
            Some(b) => {
                headers.push(("Content-Type".to_string(), "application/json".to_string()));
                serde_json::to_vec(b).expect("JSON values serialise")
            }
            None => Vec::new(),
        };
        let req = http::Request {
            method,
            url: &url,
            headers: &headers,
            body: &bytes,
        };
        let resp =
            http::send(&req, Instant::now() + REQUEST_TIMEOUT).map_err(|e| self.net_error(e))?;
        let body = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
        let reply = Reply {
            status: resp.status,
            body,
        };
        if reply.status == 401 || reply.status == 403 {
            return Err(self.auth_error(reply.status, method, path));
        }
        Ok(reply)
    }

    fn net_error(&self, e: HttpError) -> Error {
        let why = match &e {
            HttpError::Refused { .. } => "connection refused".to_string(),
            HttpError::Timeout { ms, .. } => format!("no answer within {ms} ms"),
            HttpError::Io { err, .. } => err.to_string(),
            HttpError::Malformed { why, .. } => format!("not an HTTP answer ({why})"),
            HttpError::BadUrl(_) => "bad URL".to_string(),
        };
        Error::Failed(format!(
            "cannot reach Grafana at {}: {why}; is it running, and is --grafana-url right?",
            self.shown
        ))
    }

    fn auth_error(&self, status: u16, method: &str, path: &str) -> Error {
        let advice = match (&self.token, status) {
            (None, _) => "Grafana wants a token: set $OTELCTL_GRAFANA_TOKEN or pass --token-file FILE",
            (Some(_), 401) => "the token was refused: check $OTELCTL_GRAFANA_TOKEN or --token-file (a service account token of this Grafana)",
            (Some(_), _) => "the token is not allowed to do this: give its service account the Editor role (or folder and dashboard write permissions)",
        };
        Error::Failed(format!(
            "Grafana at {} answered HTTP {status} to {method} {path}: {advice}",
            self.shown
        ))
    }

    fn failed(&self, reply: &Reply, method: &str, path: &str) -> Error {
        let message = reply.body["message"]
            .as_str()
            .map(|m| format!(": {m}"))
            .unwrap_or_default();
        Error::Failed(format!(
            "Grafana at {} answered HTTP {} to {method} {path}{message}",
            self.shown, reply.status
        ))
    }

    fn expect_ok(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        let reply = self.request(method, path, body)?;
        if (200..300).contains(&reply.status) {
            Ok(reply.body)
        } else {
            Err(self.failed(&reply, method, path))
        }
    }

    /// `GET path`, `None` on 404.
    fn get_optional(&self, path: &str) -> Result<Option<Value>> {
        let reply = self.request("GET", path, None)?;
        match reply.status {
            200..=299 => Ok(Some(reply.body)),
            404 => Ok(None),
            _ => Err(self.failed(&reply, "GET", path)),
        }
    }
}

/// Percent-encodes a query-string value.
fn encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The dashboard JSON as we post it: our tags added, `id` null.
pub fn prepared(d: &Dashboard, project: &str) -> Value {
    let mut json = d.json.clone();
    let mut tags: Vec<Value> = json["tags"].as_array().cloned().unwrap_or_default();
    for t in [MANAGED_TAG.to_string(), project_tag(project)] {
        if !tags.iter().any(|x| x.as_str() == Some(&t)) {
            tags.push(Value::String(t));
        }
    }
    json["tags"] = Value::Array(tags);
    json["id"] = Value::Null;
    json
}

/// Whether Grafana's stored dashboard already holds everything we would post (Grafana adds
/// `id`, `version` and may add defaults; those are ignored).
fn same_content(stored: &Value, wanted: &Value) -> bool {
    let Some(wanted) = wanted.as_object() else {
        return false;
    };
    wanted
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "id" | "version"))
        .all(|(k, v)| stored.get(k) == Some(v))
}

/// Syncs `dashboards` into the project's folder; with `dry_run`, only reads.
pub fn sync(
    client: &Client,
    project: &str,
    dashboards: &[Dashboard],
    dry_run: bool,
) -> Result<Vec<Change>> {
    // Health first: the clearest error for a wrong URL or a Grafana that is down.
    let health = client.request("GET", "/api/health", None)?;
    if health.status != 200 {
        return Err(client.failed(&health, "GET", "/api/health"));
    }
    let folder = folder_uid(project);
    let folder_path = format!("/api/folders/{}", encode(&folder));
    let folder_exists = client.get_optional(&folder_path)?.is_some();

    let search_path = format!(
        "/api/search?type=dash-db&limit=5000&tag={}&tag={}",
        encode(MANAGED_TAG),
        encode(&project_tag(project))
    );
    let managed: Vec<String> = client
        .expect_ok("GET", &search_path, None)?
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| h["uid"].as_str().map(str::to_string))
        .collect();

    let location = |uid: &str| format!("{}/d/{uid}", client.url());
    let mut changes = Vec::new();
    let mut to_post = Vec::new();
    for d in dashboards {
        let wanted = prepared(d, project);
        let path = format!("/api/dashboards/uid/{}", encode(&d.uid));
        let action = match client.get_optional(&path)? {
            None => Action::Added,
            Some(stored) => {
                let same_folder = stored["meta"]["folderUid"].as_str() == Some(folder.as_str());
                if same_folder && same_content(&stored["dashboard"], &wanted) {
                    Action::Unchanged
                } else {
                    Action::Updated
                }
            }
        };
        if action != Action::Unchanged {
            to_post.push(wanted);
        }
        changes.push(Change {
            action,
            uid: d.uid.clone(),
            title: d.title.clone(),
            location: location(&d.uid),
        });
    }
    let stale: Vec<String> = managed
        .into_iter()
        .filter(|uid| !dashboards.iter().any(|d| &d.uid == uid))
        .collect();
    for uid in &stale {
        changes.push(Change {
            action: Action::Removed,
            uid: uid.clone(),
            title: String::new(),
            location: location(uid),
        });
    }
    if dry_run {
        return Ok(changes);
    }

    if !folder_exists && !dashboards.is_empty() {
        let body = json!({"uid": folder, "title": project});
        let reply = client.request("POST", "/api/folders", Some(&body))?;
        // 409/412: created meanwhile by a concurrent sync; fine.
        if !(200..300).contains(&reply.status) && reply.status != 409 && reply.status != 412 {
            return Err(client.failed(&reply, "POST", "/api/folders"));
        }
    }
    for wanted in to_post {
        let body = json!({
            "dashboard": wanted,
            "folderUid": folder,
            "overwrite": true,
            "message": "otelctl dash sync",
        });
        client.expect_ok("POST", "/api/dashboards/db", Some(&body))?;
    }
    for uid in &stale {
        let path = format!("/api/dashboards/uid/{}", encode(uid));
        let reply = client.request("DELETE", &path, None)?;
        if !(200..300).contains(&reply.status) && reply.status != 404 {
            return Err(client.failed(&reply, "DELETE", &path));
        }
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_uids_fit_grafana() {
        assert_eq!(folder_uid("web"), "otelctl-web");
        let long = folder_uid(&"x".repeat(64));
        assert!(long.len() <= MAX_UID_LEN, "{long}");
        assert_ne!(folder_uid(&"x".repeat(64)), folder_uid(&"x".repeat(63)));
        assert!(folder_uid("a.b").len() <= MAX_UID_LEN);
        assert!(!folder_uid("a.b").contains('.'));
    }

    #[test]
    fn tokens_never_print() {
        let t = Token::new(" s3cret\n").unwrap();
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
        assert_eq!(t.expose(), "s3cret");
        assert!(Token::new("  \n").is_none());
    }

    #[test]
    fn stored_dashboards_compare_on_what_we_send() {
        let wanted = json!({"id": null, "version": 1, "title": "T", "panels": []});
        let stored = json!({"id": 7, "version": 4, "title": "T", "panels": [], "weekStart": ""});
        assert!(same_content(&stored, &wanted));
        assert!(!same_content(&json!({"title": "U", "panels": []}), &wanted));
    }
}
