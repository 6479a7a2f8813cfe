//! Carrier files for spans that outlive one command: `span begin` writes one, `span end`
//! reads it, emits the span with its real start time, and removes it.
//!
//! A carrier is a small JSON file (mode 0600) named `<trace id>-<span id>.json` in a private
//! directory: `$OTELCTL_CARRIER_DIR`, else `$XDG_RUNTIME_DIR/otelctl`, else
//! `${TMPDIR:-/tmp}/otelctl-<uid>`; or any file given with `--carrier FILE`. The default
//! directory must be owned by the current user (a directory planted by someone else in /tmp
//! is refused).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::traceparent::TraceParent;
use otelctl_config::error::{Error, Result};
use otelctl_config::paths::ensure_private_dir;
use otelctl_otlp::{from_hex, to_hex, KeyValue};

/// What `span begin` records for `span end`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Carrier {
    pub service: String,
    pub name: String,
    pub kind: i32,
    pub trace_id: String,
    pub span_id: String,
    /// Empty for a root span.
    #[serde(default)]
    pub parent_span_id: String,
    pub flags: u8,
    #[serde(default)]
    pub tracestate: String,
    /// Whether the parent came from another process (always true when there is one).
    #[serde(default)]
    pub remote_parent: bool,
    pub sampled: bool,
    pub start_time_unix_nano: u64,
    #[serde(default)]
    pub attributes: Vec<KeyValue>,
}

impl Carrier {
    /// The traceparent naming this span (what its children see).
    pub fn traceparent(&self) -> Option<TraceParent> {
        let t = from_hex(&self.trace_id)?;
        let s = from_hex(&self.span_id)?;
        Some(TraceParent {
            trace_id: t.try_into().ok()?,
            span_id: s.try_into().ok()?,
            flags: self.flags,
        })
    }
}

/// The carrier path of a span in the default directory.
pub fn path_in(dir: &Path, tp: &TraceParent) -> PathBuf {
    dir.join(format!(
        "{}-{}.json",
        to_hex(&tp.trace_id),
        to_hex(&tp.span_id)
    ))
}

/// Creates the default carrier directory (0700) and checks that we own it.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    ensure_private_dir(dir)?;
    let meta = fs::metadata(dir).map_err(|e| Error::io("cannot inspect directory", dir, e))?;
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(Error::failed(
            format!("cannot use carrier directory {}", dir.display()),
            format!("it belongs to uid {}, not to you (uid {me})", meta.uid()),
        )
        .fix("set OTELCTL_CARRIER_DIR to a directory of your own"));
    }
    Ok(())
}

/// Writes a carrier (replacing the file atomically).
pub fn write(path: &Path, carrier: &Carrier) -> Result<()> {
    let tmp = path.with_file_name(format!(
        ".{}.tmp",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    let mut bytes = serde_json::to_vec(carrier).expect("carriers serialise");
    bytes.push(b'\n');
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| Error::io("cannot create carrier file", &tmp, e))?;
    f.write_all(&bytes)
        .map_err(|e| Error::io("cannot write carrier file", &tmp, e))?;
    drop(f);
    fs::rename(&tmp, path).map_err(|e| Error::io("cannot write carrier file", path, e))
}

/// Reads a carrier.
pub fn read(path: &Path) -> Result<Carrier> {
    let bytes = fs::read(path).map_err(|e| Error::io("cannot read carrier file", path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::bad_input(
            format!("carrier file {}", path.display()),
            format!("not an otelctl carrier: {e}"),
            "pass the file `otelctl span begin` wrote (--carrier), or remove it",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let dir = std::env::temp_dir().join(format!("otelctl-carrier-{}", std::process::id()));
        ensure_dir(&dir).unwrap();
        let tp = TraceParent::new_root();
        let c = Carrier {
            service: "s".into(),
            name: "n".into(),
            kind: 1,
            trace_id: to_hex(&tp.trace_id),
            span_id: to_hex(&tp.span_id),
            parent_span_id: String::new(),
            flags: 1,
            tracestate: String::new(),
            remote_parent: false,
            sampled: true,
            start_time_unix_nano: 5,
            attributes: vec![KeyValue::int("a", 1)],
        };
        let path = path_in(&dir, &tp);
        write(&path, &c).unwrap();
        assert_eq!(read(&path).unwrap(), c);
        assert_eq!(c.traceparent().unwrap(), tp);
        fs::remove_dir_all(&dir).unwrap();
    }
}
