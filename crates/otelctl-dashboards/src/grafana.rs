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
//!
//! Transport: `otelctl-net` (reqwest, rustls), because a shared or remote Grafana is usually
//! behind `https://`.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::files::{Action, Change};
use super::{Dashboard, MANAGED_TAG, MAX_UID_LEN};
use otelctl_config::env::EnvVars;
use otelctl_config::error::{Error, Result};
use otelctl_config::formats::percent_encode;
use otelctl_net::HttpError;

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

    /// The Grafana API token for `dash sync --grafana-url`: the contents of `--token-file`, else
    /// `$OTELCTL_GRAFANA_TOKEN`, else none. Never printed.
    pub fn load(token_file: Option<&std::path::Path>) -> Result<Option<Token>> {
        if let Some(file) = token_file {
            let text = std::fs::read_to_string(file)
                .map_err(|e| Error::io("cannot read the token file", file, e))?;
            return match Token::new(&text) {
                Some(t) => Ok(Some(t)),
                None => Err(Error::bad_input(
                    format!("token file {:?}", file.display().to_string()),
                    "it is empty",
                    "write the Grafana service account token into it",
                )),
            };
        }
        // Not through env::text: its error would quote the value.
        match otelctl_config::env::os(EnvVars::OTELCTL_GRAFANA_TOKEN) {
            None => Ok(None),
            Some(v) => match v.into_string() {
                Ok(t) => Ok(Token::new(&t)),
                Err(_) => Err(Error::bad_input(
                    "$OTELCTL_GRAFANA_TOKEN",
                    "not UTF-8 text",
                    "set it to the Grafana service account token",
                )),
            },
        }
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

/// A Grafana HTTP API client (`http://` and `https://`).
pub struct Client {
    client: otelctl_net::Client,
    base: String,
    token: Option<Token>,
}

struct Reply {
    status: u16,
    body: Value,
}

impl Client {
    /// `url` is Grafana's root URL (a sub-path such as `https://h/grafana` is kept).
    pub fn new(url: &str, token: Option<Token>) -> Result<Self> {
        let base = url.trim_end_matches('/').to_string();
        let bad = || Error::InvalidValue {
            what: "Grafana URL",
            value: otelctl_config::secrets::mask_url(url),
            origin: otelctl_config::error::Source::Flag("--grafana-url"),
            expected: "http(s)://HOST[:PORT][/PATH]".to_string(),
        };
        let rest = base
            .strip_prefix("http://")
            .or_else(|| base.strip_prefix("https://"))
            .ok_or_else(bad)?;
        let authority = rest.split('/').next().unwrap_or("");
        if authority.contains('@') {
            // A password in the URL would show in process lists and shell history.
            return Err(Error::InvalidValue {
                what: "Grafana URL",
                value: otelctl_config::secrets::mask_url(url),
                origin: otelctl_config::error::Source::Flag("--grafana-url"),
                expected: "no user or password in the URL: give a service account token with \
                           $OTELCTL_GRAFANA_TOKEN or --token-file"
                    .to_string(),
            });
        }
        if authority.is_empty() || rest.contains(['?', '#']) {
            return Err(bad());
        }
        let client = otelctl_net::Client::new()
            .map_err(|e| Error::failed("cannot set up the HTTP client", e))?;
        Ok(Client {
            client,
            base,
            token,
        })
    }

    pub fn url(&self) -> &str {
        &self.base
    }

    fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Reply> {
        let url = format!("{}{path}", self.base);
        let mut headers = Vec::new();
        if let Some(t) = &self.token {
            headers.push((
                "Authorization".to_string(),
                format!("Bearer {}", t.expose()),
            ));
        }
        let bytes = body.map(|b| serde_json::to_vec(b).expect("JSON serialises"));
        if bytes.is_some() {
            headers.push(("Content-Type".to_string(), "application/json".to_string()));
        }
        let r = self
            .client
            .send(
                method,
                &url,
                &headers,
                bytes.as_deref(),
                Instant::now() + REQUEST_TIMEOUT,
            )
            .map_err(|e| self.net_error(e))?;
        let (status, bytes) = (r.status, r.body);
        let reply = Reply {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        };
        if reply.status == 401 || reply.status == 403 {
            return Err(self.auth_error(reply.status, method, path));
        }
        Ok(reply)
    }

    fn net_error(&self, e: HttpError) -> Error {
        // The client's messages name the URL at most, never headers, so the token stays out.
        let why = match &e {
            HttpError::Refused { .. } => "connection refused".to_string(),
            HttpError::Timeout { .. } | HttpError::Unanswered { .. } => {
                format!("no answer within {} s", REQUEST_TIMEOUT.as_secs())
            }
            HttpError::Io { err, .. } => err.to_string(),
            other => other.to_string(),
        };
        Error::failed(format!("cannot reach Grafana at {}", self.base), why)
            .fix("is it running, and is --grafana-url right?")
    }

    fn auth_error(&self, status: u16, method: &str, path: &str) -> Error {
        let advice = match (&self.token, status) {
            (None, _) => "Grafana wants a token: set $OTELCTL_GRAFANA_TOKEN or pass --token-file FILE",
            (Some(_), 401) => "the token was refused: check $OTELCTL_GRAFANA_TOKEN or --token-file (a service account token of this Grafana)",
            (Some(_), _) => "the token is not allowed to do this: give its service account the Editor role (or folder and dashboard write permissions)",
        };
        Error::failed(
            format!("Grafana at {}", self.base),
            format!("answered HTTP {status} to {method} {path}"),
        )
        .fix(advice)
    }

    fn failed(&self, reply: &Reply, method: &str, path: &str) -> Error {
        // A server may quote the request, Authorization header included, in its message.
        let token = self.token.as_ref().map(Token::expose);
        let secrets: Vec<&str> = token
            .into_iter()
            .flat_map(|t| [t, t.trim_start_matches("Bearer ")])
            .collect();
        let message = reply.body["message"]
            .as_str()
            .map(|m| format!(": {}", otelctl_config::error::mask_secrets(m, &secrets)))
            .unwrap_or_default();
        Error::failed(
            format!("Grafana at {}", self.base),
            format!("answered HTTP {} to {method} {path}{message}", reply.status),
        )
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
    let folder_path = format!("/api/folders/{}", percent_encode(&folder));
    let folder_exists = client.get_optional(&folder_path)?.is_some();

    let search_path = format!(
        "/api/search?type=dash-db&limit=5000&tag={}&tag={}",
        percent_encode(MANAGED_TAG),
        percent_encode(&project_tag(project))
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
        let path = format!("/api/dashboards/uid/{}", percent_encode(&d.uid));
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
        let path = format!("/api/dashboards/uid/{}", percent_encode(uid));
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
