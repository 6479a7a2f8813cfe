//! Secrets out of everything otelctl prints or writes: the one masking of credentials.
//!
//! Two kinds of credential reach otelctl: the user-info of a URL (`http://user:PASSWORD@host`,
//! in an endpoint variable) and header values (`OTEL_EXPORTER_OTLP_HEADERS`,
//! `OTELCTL_UPSTREAM_HEADERS`). Every output path (messages, `--json`, `.last-failure`,
//! `doctor`, `spool flush`, `export --to`, rendered configs) masks through this module:
//! - [`mask_url`]: one URL (scheme optional) with its user-info replaced by `***`;
//! - [`Secrets`]: the configured credentials, masked anywhere in a text (a server's echo of our
//!   request, an error chain), whatever the letter case of the echo, plus the value after any
//!   configured header name (`Authorization: …`, matched case-insensitively) and the user-info
//!   of every URL in the text.

/// What a URL's user-info becomes.
pub const MASKED_USERINFO: &str = "***";
/// What a secret value becomes.
pub const REDACTED: &str = "[redacted]";

/// Secrets shorter than this are not masked inside free text (they would mask ordinary words);
/// the structural rules (user-info, `name: value`) still apply.
const MIN_SECRET: usize = 4;

/// Words that start a credential header value and are no secret themselves.
const SCHEMES: [&str; 6] = ["bearer", "basic", "token", "apikey", "api-key", "digest"];

/// `url` with its user-info (`user:password@`) replaced by `***`: `http://***@host/path`. The
/// scheme is optional (`user:pw@host:4318`). The user-info is everything before the last `@`
/// of the authority, where the authority is taken to run to the first `/`, `?` or `#` after
/// that `@`: a password holding an unencoded `/`, `?`, `#` or `@` is masked whole too.
pub fn mask_url(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[start..];
    // The last '@' before the path of the host part. A '/' before an '@' may be a password's
    // (unencoded), so look for '@' up to the end of the first path-free stretch after it.
    let Some(at) = userinfo_end(rest) else {
        return url.to_string();
    };
    format!("{}{MASKED_USERINFO}{}", &url[..start], &rest[at..])
}

/// The index of the `@` that ends the user-info of `rest` (the URL after `scheme://`), if any:
/// the last `@` before the first `/`, `?` or `#` that follows the first `@` (so an unencoded
/// `/` or `@` in a password stays inside the user-info, and an `@` in the path does not count).
/// An `@` after a path separator with no `:` before it (`host/a@b`) is a path's.
fn userinfo_end(rest: &str) -> Option<usize> {
    let rest = rest.split(char::is_whitespace).next().unwrap_or("");
    let first = rest.find('@')?;
    let sep = rest[..first].find(['/', '?', '#']);
    if sep.is_some_and(|sep| !rest[..sep].contains(':')) {
        return None;
    }
    let host_end = rest[first..]
        .find(['/', '?', '#'])
        .map_or(rest.len(), |i| first + i);
    rest[..host_end].rfind('@')
}

/// A URL without its user-info, and that user-info as the `Authorization` header value HTTP
/// clients send for it (`Basic base64(user:password)`, both percent-decoded): for handing the
/// credential to a program through a variable instead of a URL in a file.
pub fn split_userinfo(url: &str) -> (String, Option<String>) {
    use base64::Engine;
    let start = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[start..];
    let Some(at) = userinfo_end(rest) else {
        return (url.to_string(), None);
    };
    let info = &rest[..at];
    let (user, pass) = info.split_once(':').unwrap_or((info, ""));
    let decode = |t: &str| crate::formats::percent_decode(t).unwrap_or_else(|| t.to_string());
    let pair = format!("{}:{}", decode(user), decode(pass));
    let header = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    );
    (
        format!("{}{}", &url[..start], &rest[at + 1..]),
        Some(header),
    )
}

/// Every URL in free text (each `scheme://…` up to whitespace or a quote) with its user-info
/// masked.
pub fn mask_urls_in(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        // The scheme: the letters before "://".
        let scheme_start = rest[..i]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.'))
            .map_or(0, |j| j + 1);
        let end = rest[i + 3..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`'))
            .map_or(rest.len(), |j| i + 3 + j);
        out.push_str(&rest[..scheme_start]);
        out.push_str(&mask_url(&rest[scheme_start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The credentials configured for one destination (header names and values, URL user-info),
/// to mask in anything shown about it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    /// Lowercase header names whose values are secret wherever they are echoed.
    names: Vec<String>,
    /// Secret strings, lowercased (matching ignores ASCII case), longest first.
    values: Vec<String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("names", &self.names)
            .field("values", &self.values.len())
            .finish()
    }
}

impl Secrets {
    pub fn new() -> Self {
        Self::default()
    }

    /// The secrets of these headers: each value, and each word of it long enough to be a
    /// credential on its own (the token of `Bearer <token>`).
    pub fn from_headers(headers: &[(String, String)]) -> Self {
        let mut s = Self::new();
        for (k, v) in headers {
            s.add_header(k, v);
        }
        s
    }

    /// A header: its name (echoes of `name: value` are masked) and its value.
    pub fn add_header(&mut self, name: &str, value: &str) {
        let name = name.trim().to_ascii_lowercase();
        if !name.is_empty() && !self.names.contains(&name) {
            self.names.push(name);
        }
        self.add_value(value);
        for word in value.split_whitespace() {
            if word.len() >= 6 && !SCHEMES.contains(&word.to_ascii_lowercase().as_str()) {
                self.add_value(word);
            }
        }
    }

    /// A URL's user-info: the user and the password, as written and percent-decoded.
    pub fn add_url(&mut self, url: &str) {
        let start = url.find("://").map_or(0, |i| i + 3);
        let rest = &url[start..];
        let Some(at) = userinfo_end(rest) else {
            return;
        };
        let info = &rest[..at];
        self.add_value(info);
        for part in info.splitn(2, ':') {
            self.add_value(part);
            let decoded = crate::formats::percent_decode(part);
            if let Some(d) = decoded {
                self.add_value(&d);
            }
        }
    }

    /// One secret string.
    pub fn add_value(&mut self, value: &str) {
        let v = value.trim().to_ascii_lowercase();
        if v.len() >= MIN_SECRET && !self.values.contains(&v) {
            self.values.push(v);
            self.values.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    /// `other`'s secrets too.
    pub fn extend(&mut self, other: &Secrets) {
        for n in &other.names {
            if !self.names.contains(n) {
                self.names.push(n.clone());
            }
        }
        for v in &other.values {
            self.add_value(v);
        }
    }

    /// `text` with every URL's user-info masked, the value after each configured header name
    /// (`Name: value`, `name=value`, `"name":"value"`, any letter case) and every configured
    /// secret (any letter case) replaced by `[redacted]`.
    pub fn mask(&self, text: &str) -> String {
        let mut out = mask_urls_in(text);
        for name in &self.names {
            out = mask_after_name(&out, name);
        }
        for v in &self.values {
            out = replace_ignore_case(&out, v, REDACTED);
        }
        out
    }
}

/// The value following `name` (case-insensitive) and a `:` or `=` (JSON quoting allowed), up to
/// the end of the line, a quote, a comma or an escaped line break, replaced by `[redacted]`.
fn mask_after_name(text: &str, name: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    while let Some(found) = lower[pos..].find(name) {
        let at = pos + found;
        let after = at + name.len();
        // A whole name: not the tail or head of a longer word.
        let prev = |k: usize| at.checked_sub(k).map(|j| lower.as_bytes()[j]);
        let escaped_break = prev(2) == Some(b'\\') && matches!(prev(1), Some(b'n' | b'r' | b't'));
        let before_ok = escaped_break
            || prev(1).is_none_or(|c| !c.is_ascii_alphanumeric() && c != b'-' && c != b'_');
        let bytes = lower.as_bytes();
        let mut i = after;
        while i < bytes.len() && (bytes[i] == b'"' || bytes[i] == b'\\') {
            i += 1;
        }
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        if !before_ok || i >= bytes.len() || !(bytes[i] == b':' || bytes[i] == b'=') {
            out.push_str(&text[pos..after]);
            pos = after;
            continue;
        }
        i += 1;
        while i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b'"') {
            i += 1;
        }
        let value_start = i;
        let mut end = value_start;
        while end < bytes.len() {
            let c = bytes[end];
            if c == b'\n' || c == b'\r' || c == b'"' || c == b',' {
                break;
            }
            // An escaped line break or quote inside JSON text: `\r\n`, `\"`.
            if c == b'\\' && end + 1 < bytes.len() && matches!(bytes[end + 1], b'r' | b'n' | b'"') {
                break;
            }
            end += 1;
        }
        out.push_str(&text[pos..value_start]);
        if end > value_start {
            out.push_str(REDACTED);
        }
        pos = end;
    }
    out.push_str(&text[pos..]);
    out
}

/// `text` with every ASCII-case-insensitive occurrence of `needle` (lowercase) replaced.
fn replace_ignore_case(text: &str, needle: &str, with: &str) -> String {
    if needle.is_empty() {
        return text.to_string();
    }
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    while let Some(found) = lower[pos..].find(needle) {
        out.push_str(&text[pos..pos + found]);
        out.push_str(with);
        pos += found + needle.len();
    }
    out.push_str(&text[pos..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The URL forms of issue 23 (a password in every place a URL can hold one).
    pub const URL_FORMS: [&str; 10] = [
        "http://user:hunter2pw@127.0.0.1:4318",
        "https://user:hunter2pw@collector.example/v1/traces",
        "http://:hunter2pw@127.0.0.1:4318",
        "http://hunter2pw@127.0.0.1:4318/",
        "HTTP://User:hunter2pw@127.0.0.1:4318/v1/traces?x=1#f",
        "http://user:hunter2pw@[::1]:4318",
        "http://user:hunt%40er2pw@127.0.0.1:4318",
        "http://user:hun@ter2pw@127.0.0.1:4318",
        "http://user:hun/ter2pw@127.0.0.1:4318",
        "user:hunter2pw@127.0.0.1:4318",
    ];

    #[test]
    fn every_url_form_loses_its_password() {
        for url in URL_FORMS {
            let shown = mask_url(url);
            assert!(
                !shown.contains("hunter2") && !shown.contains("ter2pw"),
                "{url} -> {shown}"
            );
            assert!(shown.contains("***@"), "{url} -> {shown}");
            assert!(
                shown.contains("4318") || shown.contains("collector.example"),
                "{shown}"
            );
            let text = format!("failed to reach {url}: connection refused");
            let masked = mask_urls_in(&text);
            let leaked = masked.contains("hunter2") || masked.contains("ter2pw");
            // The scheme-less form is not a URL free text can recognise: Secrets catches it.
            if url.contains("://") {
                assert!(!leaked, "{masked}");
            }
            let mut s = Secrets::new();
            s.add_url(url);
            let masked = s.mask(&text);
            assert!(
                !masked.contains("hunter2") && !masked.contains("ter2pw"),
                "{masked}"
            );
        }
        assert_eq!(mask_url("http://h:1/p"), "http://h:1/p");
        assert_eq!(mask_url("http://host/a@b"), "http://host/a@b");
        assert_eq!(
            mask_url("https://admin:hunter2@g.example/x@y"),
            "https://***@g.example/x@y"
        );
    }

    #[test]
    fn header_values_are_masked_in_any_letter_case_and_after_their_name() {
        let s = Secrets::from_headers(&[
            ("Authorization".into(), "Bearer s3cr3t-t0ken-value".into()),
            ("x-api-key".into(), "k3y-0f-the-tenant".into()),
        ]);
        for echo in [
            "Authorization: Bearer s3cr3t-t0ken-value\r\nx-api-key: k3y-0f-the-tenant",
            "authorization: bearer s3cr3t-t0ken-value\r\nx-api-key: k3y-0f-the-tenant",
            "AUTHORIZATION: BEARER S3CR3T-T0KEN-VALUE\r\nX-API-KEY: K3Y-0F-THE-TENANT",
            r#"{"message":"POST /v1/traces\r\nAUTHORIZATION: Bearer other\r\nX-Api-Key: short"}"#,
        ] {
            let m = s.mask(echo);
            for secret in ["s3cr3t", "k3y-0f", "S3CR3T", "K3Y-0F", "other", "short"] {
                assert!(!m.contains(secret), "{secret} in {m}");
            }
            assert!(
                m.to_ascii_lowercase().contains("authorization: [redacted]"),
                "{m}"
            );
        }
        // Ordinary words stay.
        assert_eq!(s.mask("answered HTTP 400: bad"), "answered HTTP 400: bad");
    }
}
