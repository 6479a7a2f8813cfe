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
/// rename), leaving it to the kernel to write back.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let write = || -> std::io::Result<()> {
        write_new(&tmp, bytes)?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io("cannot write", path, e)
    })
}

/// Creates (or truncates) `path`, mode 0600, and writes `bytes` to it.
fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<std::fs::File> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.flush()?;
    Ok(f)
}

/// At most this many threads sync one turn's files (see [`apply`]).
const SYNC_THREADS: usize = 8;

/// Carries out one turn of persistence work; with `sync`, everything is on disk when it returns.
///
/// With `sync`, only this turn's files and the directory are flushed, never the whole file
/// system: a `syncfs` would also write back every other program's unsynced files (with 256 MiB
/// of someone else's dirty data, 110-190 ms instead of 5-6 ms for ten traces). All files are
/// written first; then up to [`SYNC_THREADS`] threads each `fdatasync` and rename a share of
/// them (concurrent syncs share the file system's journal commits: 1000 files in 0.5 s instead
/// of 0.7-0.8 s one after another), and the directory is synced last.
/// `benchmarks/checkpoint_sync.sh` measures each way.
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
    if !sync {
        for (id, batches) in &work.write {
            write_atomic(&file_for(dir, id), &encode_batches(batches))?;
        }
        return Ok(());
    }
    let mut written = Vec::with_capacity(work.write.len());
    let unwritten = |written: &[(PathBuf, PathBuf)]| {
        for (tmp, _) in written {
            let _ = std::fs::remove_file(tmp);
        }
    };
    for (id, batches) in &work.write {
        let path = file_for(dir, id);
        let tmp = path.with_extension("tmp");
        if let Err(e) = write_new(&tmp, &encode_batches(batches)) {
            let _ = std::fs::remove_file(&tmp);
            unwritten(&written);
            return Err(Error::io("cannot write", path, e));
        }
        written.push((tmp, path));
    }
    let sync_and_rename = |files: &[(PathBuf, PathBuf)]| -> Result<()> {
        for (tmp, path) in files {
            let done = std::fs::File::open(tmp)
                .and_then(|f| f.sync_data())
                .and_then(|()| std::fs::rename(tmp, path));
            if let Err(e) = done {
                return Err(Error::io("cannot write", path, e));
            }
        }
        Ok(())
    };
    let share = written.len().div_ceil(SYNC_THREADS).max(16);
    let outcome = if written.len() <= share {
        sync_and_rename(&written)
    } else {
        std::thread::scope(|scope| {
            let workers: Vec<_> = written
                .chunks(share)
                .map(|files| scope.spawn(move || sync_and_rename(files)))
                .collect();
            workers
                .into_iter()
                .map(|w| {
                    w.join().unwrap_or_else(|_| {
                        Err(Error::failed(
                            "cannot sync the trace files",
                            "a sync thread panicked",
                        ))
                    })
                })
                .collect::<Result<Vec<()>>>()
                .map(|_| ())
        })
    };
    if let Err(e) = outcome {
        // Files already renamed are whole (each synced first); the rest are dropped.
        unwritten(&written);
        return Err(e);
    }
    wal::sync_dir(dir).map_err(|e| Error::io("cannot sync", dir, e))
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
    fn a_durable_turn_with_many_traces_writes_each_once_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let traces = traces_dir(dir.path());
        let mut store = Store::new(Limits::default());
        // Enough traces for the syncs to be shared between threads.
        for t in 1..=100u8 {
            store.ingest(request(vec![span(t, 1, 0, 0, 10), span(t, 2, 1, 1, 5)]));
        }
        apply(&traces, &store.take_persist_work(), true).unwrap();
        let names: Vec<String> = std::fs::read_dir(&traces)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 100, "{names:?}");
        assert!(names.iter().all(|n| n.ends_with(".pb")), "{names:?}");
        let (loaded, warnings) = load(&traces, true).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        let mut restored = Store::new(Limits::default());
        restored.restore(loaded);
        assert_eq!((restored.trace_count(), restored.span_count()), (100, 200));
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
