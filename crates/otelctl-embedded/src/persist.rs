//! Persisting the store: one file per trace, written atomically, so a restart keeps them.
//!
//! Layout: `<data>/embedded/traces/<32 hex trace id>.pb` (0600), each an OTLP protobuf
//! `ExportTraceServiceRequest` holding the trace's batches. A file is written to
//! `<name>.tmp` and renamed over the old one, so a reader (or a restart after a crash) sees the
//! old or the new version, never half of one. The files are checkpoints of the write-ahead log
//! ([`super::wal`]), which holds what arrived since: the persister writes them at most every
//! [`PERSIST_INTERVAL`] (backing off to [`MAX_PERSIST_INTERVAL`] when writing is slow),
//! outside the store's lock (the batches are shared, not copied); the files of dropped traces
//! are deleted (a trace dropped before it was ever written has none) and a clear wipes the
//! directory. Files that do not decode are renamed to `<name>.corrupt` and
//! skipped. [`load_store`] reads both, files then log.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use otelctl_config::error::{Error, Result};
use otelctl_config::paths::ensure_private_dir;
use otelctl_otlp::{self as otlp, ExportTraceServiceRequest, ResourceSpans};

use super::store::{Limits, PersistWork, Store, TraceId};
use super::wal::{self, Record};

/// How often the persister writes what changed (at least). The log already holds everything
/// acknowledged, so this only bounds the log's length (and the replay at the next start): a
/// longer interval writes fewer files under a flood (a trace dropped from the ring before the
/// next turn never gets one; every file created and deleted costs the file system).
pub const PERSIST_INTERVAL: Duration = Duration::from_secs(1);
/// The longest wait between writes: when a turn took a while (a flood rewriting big traces),
/// the next one waits ten times as long, up to this.
pub const MAX_PERSIST_INTERVAL: Duration = Duration::from_secs(5);

/// The directory holding the trace files, under the embedded data directory.
pub fn traces_dir(embedded: &Path) -> PathBuf {
    embedded.join("traces")
}

fn file_for(dir: &Path, id: &TraceId) -> PathBuf {
    dir.join(format!("{}.pb", otlp::to_hex(id)))
}

/// Encodes batches exactly as an `ExportTraceServiceRequest` (field 1, repeated).
pub fn encode_batches(batches: &[Arc<ResourceSpans>]) -> Vec<u8> {
    let len: usize = batches
        .iter()
        .map(|b| prost::encoding::message::encoded_len(1, &**b))
        .sum();
    let mut buf = Vec::with_capacity(len);
    for b in batches {
        prost::encoding::message::encode(1, &**b, &mut buf);
    }
    buf
}

/// Writes `bytes` to `path` atomically (temporary file in the same directory, mode 0600, then
/// rename); with `sync`, the data is on disk before the rename.
pub fn write_atomic(path: &Path, bytes: &[u8], sync: bool) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.flush()?;
        if sync {
            f.sync_data()?;
        }
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io("cannot write", path, e)
    })
}

/// Carries out one turn of persistence work; with `sync`, everything is on disk when it returns.
pub fn apply(dir: &Path, work: &PersistWork, sync: bool) -> Result<()> {
    ensure_private_dir(dir)?;
    if work.wipe {
        for entry in std::fs::read_dir(dir).map_err(|e| Error::io("cannot list", dir, e))? {
            let Ok(entry) = entry else { continue };
            let _ = std::fs::remove_file(entry.path());
        }
    }
    for id in &work.remove {
        match std::fs::remove_file(file_for(dir, id)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("cannot remove", file_for(dir, id), e)),
        }
    }
    // On Linux one syncfs() after all the writes costs one flush instead of one fsync per file
    // (thousands per turn under a flood); elsewhere each file is synced before its rename.
    let one_flush = sync && cfg!(target_os = "linux");
    for (id, batches) in &work.write {
        write_atomic(
            &file_for(dir, id),
            &encode_batches(batches),
            sync && !one_flush,
        )?;
    }
    if one_flush {
        sync_filesystem(dir)?;
    } else if sync {
        wal::sync_dir(dir);
    }
    Ok(())
}

/// Flushes the file system holding `dir` (its files, their renames and removals).
#[cfg(target_os = "linux")]
fn sync_filesystem(dir: &Path) -> Result<()> {
    use std::os::fd::AsRawFd;
    let d = std::fs::File::open(dir).map_err(|e| Error::io("cannot open", dir, e))?;
    // SAFETY: syncfs on a file descriptor this function owns for the duration of the call.
    if unsafe { libc::syncfs(d.as_raw_fd()) } != 0 {
        return Err(Error::io(
            "cannot sync",
            dir,
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn sync_filesystem(dir: &Path) -> Result<()> {
    wal::sync_dir(dir);
    Ok(())
}

/// The saved traces of an embedded data directory in a store: the trace files, then the log's
/// records replayed over them (a clear in the log clears). With `tidy` (the server), damaged
/// trace files are set aside; warnings are returned for printing.
pub fn load_store(embedded: &Path, limits: Limits, tidy: bool) -> Result<(Store, Vec<String>)> {
    let traces = traces_dir(embedded);
    if tidy {
        ensure_private_dir(&traces)?;
    }
    let (saved, mut warnings) = load(&traces, tidy)?;
    let mut store = Store::new(limits);
    store.restore(saved);
    let (records, log_warnings) = wal::read_all(&wal::wal_dir(embedded))?;
    warnings.extend(log_warnings);
    for record in records {
        match record {
            Record::Clear => store.clear(),
            Record::Export(bytes) => match ExportTraceServiceRequest::from_protobuf(&bytes) {
                Ok(req) => {
                    store.ingest(req);
                }
                Err(e) => warnings.push(format!("skipped an unreadable log record: {e}")),
            },
        }
    }
    Ok((store, warnings))
}

/// Reads every stored trace, oldest file first. With `tidy` (the server, which owns the
/// directory), unreadable files are set aside and leftover temporary files removed; without it
/// (a reader such as `otelctl export`) nothing is changed. Warnings are returned for printing.
pub fn load(dir: &Path, tidy: bool) -> Result<(Vec<ExportTraceServiceRequest>, Vec<String>)> {
    let mut warnings = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), warnings)),
        Err(e) => return Err(Error::io("cannot list", dir, e)),
    };
    let mut files: Vec<(SystemTime, PathBuf)> = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        match path.extension().and_then(|e| e.to_str()) {
            Some("pb") => {
                let mtime = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(SystemTime::UNIX_EPOCH);
                files.push((mtime, path));
            }
            // A write interrupted by a crash: the previous version (if any) is intact.
            Some("tmp") if tidy => {
                let _ = std::fs::remove_file(&path);
            }
            _ => {}
        }
    }
    files.sort();
    let mut traces = Vec::with_capacity(files.len());
    for (_, path) in files {
        let decoded = std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| ExportTraceServiceRequest::from_protobuf(&b).map_err(|e| e.to_string()));
        match decoded {
            Ok(req) => traces.push(req),
            Err(why) if tidy => {
                let aside = path.with_extension("corrupt");
                let _ = std::fs::rename(&path, &aside);
                warnings.push(format!(
                    "set aside unreadable trace file {} ({why})",
                    aside.display()
                ));
            }
            Err(why) => warnings.push(format!(
                "skipped unreadable trace file {} ({why})",
                path.display()
            )),
        }
    }
    Ok((traces, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::{request, span};
    use crate::store::{Limits, Store};

    #[test]
    fn store_round_trips_through_files_and_clear_wipes_them() {
        let dir = tempfile::tempdir().unwrap();
        let traces = traces_dir(dir.path());
        let mut store = Store::new(Limits {
            max_traces: 2,
            max_bytes: usize::MAX,
        });
        store.ingest(request(vec![span(1, 1, 0, 0, 10)]));
        store.ingest(request(vec![span(2, 1, 0, 0, 10), span(2, 2, 1, 1, 5)]));
        apply(&traces, &store.take_persist_work(), false).unwrap();
        store.ingest(request(vec![span(3, 1, 0, 0, 10)])); // drops trace 1
        apply(&traces, &store.take_persist_work(), false).unwrap();
        let names: Vec<String> = {
            let mut v: Vec<String> = std::fs::read_dir(&traces)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names[0].starts_with("0202"));

        // A garbage file and a leftover temporary file.
        std::fs::write(
            traces.join(format!("{}.pb", "ff".repeat(16))),
            b"\x0a\xff\xff",
        )
        .unwrap();
        std::fs::write(traces.join("x.tmp"), b"partial").unwrap();
        let (loaded, warnings) = load(&traces, true).unwrap();
        assert_eq!(loaded.len(), 2);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(!traces.join("x.tmp").exists());
        let mut restored = Store::new(Limits::default());
        restored.restore(loaded);
        assert_eq!((restored.trace_count(), restored.span_count()), (2, 3));
        assert!(
            restored.take_persist_work().is_empty(),
            "restoring writes nothing"
        );

        restored.clear();
        apply(&traces, &restored.take_persist_work(), true).unwrap();
        assert_eq!(std::fs::read_dir(&traces).unwrap().count(), 0);
    }

    #[test]
    fn encoded_batches_decode_as_one_request() {
        let mut store = Store::new(Limits::default());
        store.ingest(request(vec![span(1, 1, 0, 0, 10)]));
        let t = store.get(&[1; 16]).unwrap();
        let bytes = encode_batches(&t.batches());
        assert_eq!(
            ExportTraceServiceRequest::from_protobuf(&bytes).unwrap(),
            t.to_request()
        );
    }
}
