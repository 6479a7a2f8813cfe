//! The library's error type: every failure `otelctl` can report, rendered once at the edge.

use std::path::PathBuf;

use crate::exit;

/// `text` with every secret in `secrets` replaced by `[redacted]`, longest first, for anything
/// a server sent back that may quote a request (a token, a header value) before it is shown.
/// Secrets shorter than 4 characters are left (they would mask ordinary words).
pub fn mask_secrets(text: &str, secrets: &[&str]) -> String {
    let mut sorted: Vec<&str> = secrets.iter().copied().filter(|s| s.len() >= 4).collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_string();
    for s in sorted {
        out = out.replace(s, "[redacted]");
    }
    out
}

/// A result whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where a value came from, so an error can say which flag or variable to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag, e.g. `--base-port`.
    Flag(&'static str),
    /// An environment variable, e.g. `OTELCTL_BASE_PORT`.
    Env(&'static str),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Flag(name) => write!(f, "{name}"),
            Source::Env(name) => write!(f, "${name}"),
        }
    }
}

/// Every error the library reports. Messages are one line: what was wrong, where, what is accepted.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value given by the user is not acceptable.
    #[error("invalid {what} {value:?} (from {origin}): expected {expected}")]
    InvalidValue {
        what: &'static str,
        value: String,
        origin: Source,
        expected: String,
    },
    /// The project root cannot be used.
    #[error("project root {path:?} (from {origin}) {problem}: pass --root DIR with a readable directory")]
    Root {
        path: PathBuf,
        origin: &'static str,
        problem: String,
    },
    /// A filesystem operation failed.
    #[error("{action} {path:?}: {err}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        err: std::io::Error,
    },
    /// Input read from a file (or a variable naming one) is invalid; nothing was written.
    #[error("{}", render_bad_input(.input, .problems, .fix))]
    BadInput {
        /// What was read: a file, with the flag or variable that named it when there is one.
        input: String,
        /// Each problem, naming the item (line:column, JSON path, dashboard uid…).
        problems: Vec<String>,
        /// What to do about it.
        fix: String,
    },
    /// A network exchange failed.
    #[error("{0}")]
    Http(#[from] otelctl_http::HttpError),
    /// A port a service needs is held by another program.
    #[error("port {port} on 127.0.0.1 ({what}) is already in use: {by}; {fix}")]
    PortInUse {
        port: u16,
        what: &'static str,
        /// Who holds it (a listener and its process, or connections and their states):
        /// [`crate::ports::PortUse::describe`].
        by: String,
        fix: String,
    },
    /// A program the stack needs was not found, or cannot be run.
    #[error("{what}: {why}; {fix}")]
    NotFound {
        /// The program looked for, and where its name came from.
        what: String,
        why: String,
        fix: String,
    },
    /// A service did not become ready in time, or is unhealthy.
    #[error("{service} on {address} is not ready after {:.1} s: {why} ({fix})", .waited.as_secs_f64())]
    NotReady {
        service: String,
        address: String,
        waited: std::time::Duration,
        /// The last probe's answer.
        why: String,
        fix: String,
    },
    /// Anything else that failed at run time: what was tried, why it failed, and what to do
    /// when there is something to do.
    #[error("{what}: {why}{}", .fix.as_ref().map(|f| format!("; {f}")).unwrap_or_default())]
    Failed {
        /// What was tried, phrased to read after "otelctl: " (e.g. "cannot start tempo").
        what: String,
        why: String,
        fix: Option<String>,
    },
}

impl Error {
    /// The process exit code this error maps to (see [`crate::exit`]).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::InvalidValue { .. } | Error::Root { .. } | Error::BadInput { .. } => exit::USAGE,
            Error::NotReady { .. } => exit::NOT_READY,
            Error::Io { .. }
            | Error::Http(_)
            | Error::Failed { .. }
            | Error::PortInUse { .. }
            | Error::NotFound { .. } => exit::FAILURE,
        }
    }

    /// A run-time failure: what was tried (read after "otelctl: ", e.g. "cannot start tempo")
    /// and why it failed. Add what to do with [`Error::fix`].
    pub fn failed(what: impl Into<String>, why: impl std::fmt::Display) -> Self {
        Error::Failed {
            what: what.into(),
            why: why.to_string(),
            fix: None,
        }
    }

    /// Invalid input with one problem; see [`Error::BadInput`].
    pub fn bad_input(
        input: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Error::BadInput {
            input: input.into(),
            problems: vec![problem.into()],
            fix: fix.into(),
        }
    }

    /// The same error with what to do about it (for the variants that carry advice).
    pub fn fix(mut self, advice: impl Into<String>) -> Self {
        let advice = advice.into();
        match &mut self {
            Error::Failed { fix, .. } => *fix = Some(advice),
            Error::BadInput { fix, .. }
            | Error::NotFound { fix, .. }
            | Error::NotReady { fix, .. } => *fix = advice,
            _ => {}
        }
        self
    }

    /// The message without its advice, and the advice, for an edge that shows the two apart
    /// (`doctor`'s findings). Only variants whose advice is a separable field are split.
    pub fn split_fix(mut self) -> (String, Option<String>) {
        let fix = match &mut self {
            Error::Failed { fix, .. } => fix.take(),
            Error::BadInput { fix, .. } => Some(std::mem::take(fix)).filter(|f| !f.is_empty()),
            _ => None,
        };
        (self.to_string(), fix)
    }

    /// Shorthand for an I/O error with the action and path it concerned.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, err: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            err,
        }
    }
}

/// One problem: `input: problem; fix`. Several: a count, one problem a line, then the fix.
fn render_bad_input(input: &str, problems: &[String], fix: &str) -> String {
    let fix = if fix.is_empty() {
        String::new()
    } else {
        format!("; {fix}")
    };
    match problems {
        [one] => format!("{input}: {one}{fix}"),
        many => format!(
            "{input} ({} problems):\n  {}\n{}",
            many.len(),
            many.join("\n  "),
            fix.trim_start_matches("; ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fix_can_be_shown_apart() {
        let e = Error::bad_input("ports.json", "not JSON", "rebuild the system");
        assert_eq!(
            e.split_fix(),
            (
                "ports.json: not JSON".to_string(),
                Some("rebuild the system".to_string())
            )
        );
        let e = Error::failed("cannot read x", "denied");
        assert_eq!(e.split_fix(), ("cannot read x: denied".to_string(), None));
    }

    #[test]
    fn structured_errors_render_what_why_and_fix_on_one_line() {
        let e = Error::failed("cannot start tempo", "permission denied").fix("check --tempo-bin");
        assert_eq!(
            e.to_string(),
            "cannot start tempo: permission denied; check --tempo-bin"
        );
        assert_eq!(e.exit_code(), exit::FAILURE);
        let e = Error::bad_input("x.yaml (from $V)", "line 2: bad", "fix it");
        assert_eq!(e.to_string(), "x.yaml (from $V): line 2: bad; fix it");
        assert_eq!(e.exit_code(), exit::USAGE);
        let e = Error::BadInput {
            input: "project dashboards".into(),
            problems: vec!["a.json: no title".into(), "b.json: bad uid".into()],
            fix: "nothing was synced".into(),
        };
        assert_eq!(
            e.to_string(),
            "project dashboards (2 problems):\n  a.json: no title\n  b.json: bad uid\nnothing was synced"
        );
        let e = Error::NotReady {
            service: "tempo".into(),
            address: "127.0.0.1:3200".into(),
            waited: std::time::Duration::from_millis(500),
            why: "refused".into(),
            fix: "start it".into(),
        };
        assert_eq!(
            e.to_string(),
            "tempo on 127.0.0.1:3200 is not ready after 0.5 s: refused (start it)"
        );
        assert_eq!(e.exit_code(), exit::NOT_READY);
    }
}
