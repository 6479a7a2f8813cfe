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
    /// Input read from a file is invalid (e.g. project dashboards); the message lists every
    /// problem, each naming the file and the item. Nothing was written.
    #[error("{0}")]
    BadInput(String),
    /// A filesystem operation failed.
    #[error("{action} {path:?}: {err}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        err: std::io::Error,
    },
    /// A network exchange failed.
    #[error("{0}")]
    Http(#[from] otelctl_http::HttpError),
    /// A port a service needs is held by another program.
    #[error("port {port} on 127.0.0.1 ({what}) is already in use: another program holds it; stop it, or pick another base with --base-port or OTELCTL_BASE_PORT")]
    PortInUse { port: u16, what: &'static str },
    /// A program the stack needs was not found.
    #[error("{0}")]
    NotFound(String),
    /// A service did not become ready in time, or is unhealthy.
    #[error("{0}")]
    NotReady(String),
    /// Anything else that failed at run time, already phrased for the user.
    #[error("{0}")]
    Failed(String),
}

impl Error {
    /// The process exit code this error maps to (see [`crate::exit`]).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::InvalidValue { .. } | Error::Root { .. } | Error::BadInput(_) => exit::USAGE,
            Error::NotReady(_) => exit::NOT_READY,
            Error::Io { .. }
            | Error::Http(_)
            | Error::Failed(_)
            | Error::PortInUse { .. }
            | Error::NotFound(_) => exit::FAILURE,
        }
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
