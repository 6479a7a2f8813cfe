//! The write-ahead log: what the receiver acknowledges is on disk first.
//!
//! Every accepted export (and every clear) is appended to the current segment,
//! `<data>/embedded/wal/<n>.log`, while the store's lock is held (so the log's order is the
//! store's), and the answer waits until the log says it is durable:
//! - [`Durability::Fsync`] (the default): a sync thread runs `fdatasync` on the segment and then
//!   releases every request appended before it started: one fsync covers every request waiting
//!   at that moment (group commit), so a crash of the machine loses nothing acknowledged.
//! - [`Durability::Write`]: the answer waits only for the `write` into the log, which survives a
//!   crash of otelctl (`kill -9`) but not of the machine; the sync thread still syncs every
//!   [`BACKGROUND_SYNC`].
//!
//! The persister checkpoints: it starts a new segment ([`Wal::rotate`]), writes the trace
//! files and syncs them, then deletes the segments before the new one. A restart loads the trace
//! files and replays the remaining segments in order; replaying what a trace file already holds
//! is harmless (the store ignores spans it has). A record is `len u32 LE | crc32 u32 LE | kind
//! u8 | payload`; a torn record at the end of a segment (a crash mid-write: never acknowledged)
//! ends the replay of that segment. Files are 0600.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;

use otelctl_config::error::{Error, Result};
use otelctl_config::paths::ensure_private_dir;

/// When the log's answer is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// After `fdatasync` (batched across concurrent requests): survives a machine crash.
    #[default]
    Fsync,
    /// After the `write` into the log: survives otelctl being killed, not the machine crashing.
    Write,
}

impl Durability {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "fsync" => Some(Durability::Fsync),
            "write" => Some(Durability::Write),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Durability::Fsync => "fsync",
            Durability::Write => "write",
        }
    }
}

/// How often the log is synced in the background with [`Durability::Write`].
pub const BACKGROUND_SYNC: Duration = Duration::from_millis(200);

/// What a record holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// An `ExportTraceServiceRequest` in protobuf, as accepted.
    Export(Vec<u8>),
    /// Every trace was removed.
    Clear,
}

const KIND_EXPORT: u8 = 1;
const KIND_CLEAR: u8 = 2;
const HEADER: usize = 9;
/// Longest record accepted when replaying (a larger length is a torn or foreign file).
const MAX_RECORD: usize = 256 * 1024 * 1024;

/// The log directory, under the embedded data directory.
pub fn wal_dir(embedded: &Path) -> PathBuf {
    embedded.join("wal")
}

fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{n:020}.log"))
}

/// The segments in `dir`, oldest first.
fn segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("cannot list", dir, e)),
    };
    let mut out: Vec<(u64, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let path = e.path();
            let n = path
                .file_name()?
                .to_str()?
                .strip_suffix(".log")?
                .parse()
                .ok()?;
            Some((n, path))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Reads every record left in `dir`, oldest first. Warnings name torn or unreadable tails.
pub fn read_all(dir: &Path) -> Result<(Vec<Record>, Vec<String>)> {
    let mut records = Vec::new();
    let mut warnings = Vec::new();
    for (_, path) in segments(dir)? {
        let mut bytes = Vec::new();
        if let Err(e) = File::open(&path).and_then(|mut f| f.read_to_end(&mut bytes)) {
            warnings.push(format!("cannot read log segment {}: {e}", path.display()));
            continue;
        }
        let mut at = 0;
        while at < bytes.len() {
            let Some(head) = bytes.get(at..at + HEADER) else {
                warnings.push(format!(
                    "log segment {} ends in a torn record (a crash while writing; never acknowledged)",
                    path.display()
                ));
                break;
            };
            let len = u32::from_le_bytes(head[0..4].try_into().expect("4 bytes")) as usize;
            let crc = u32::from_le_bytes(head[4..8].try_into().expect("4 bytes"));
            let kind = head[8];
            let body = (len <= MAX_RECORD)
                .then(|| bytes.get(at + HEADER..at + HEADER + len))
                .flatten();
            let Some(body) = body.filter(|b| checksum(kind, b) == crc) else {
                warnings.push(format!(
                    "log segment {} has a torn or damaged record at byte {at}; the rest of it is skipped",
                    path.display()
                ));
                break;
            };
            match kind {
                KIND_EXPORT => records.push(Record::Export(body.to_vec())),
                KIND_CLEAR => records.push(Record::Clear),
                other => warnings.push(format!(
                    "log segment {} has a record of unknown kind {other}; skipped",
                    path.display()
                )),
            }
            at += HEADER + len;
        }
    }
    Ok((records, warnings))
}

fn checksum(kind: u8, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&[kind]);
    h.update(payload);
    h.finalize()
}

fn open_segment(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
}

/// Where syncing stands: everything up to `synced` is durable; requests up to `failed` were
/// caught by a failed sync (`error` says why).
#[derive(Debug, Clone, Default)]
pub struct SyncState {
    pub synced: u64,
    pub failed: u64,
    pub error: Option<String>,
}

/// Records appended but not yet written: appends only copy here (under the store's lock);
/// whoever needs them on disk writes everything pending in one `write` (a group write).
struct Pending {
    buf: Vec<u8>,
    /// Records appended so far (a sequence number, across segments).
    appended: u64,
    stopping: bool,
}

/// The file side, behind its own lock so appends never wait for a `write` or a sync.
struct Inner {
    file: File,
    segment: u64,
    /// Records in the current segment, and its length in bytes.
    in_segment: u64,
    len: u64,
    /// Segments from before this start are still on disk (until the first checkpoint).
    older: bool,
    /// Every record up to `taken` left the pending buffer: written, or lost to a failed write.
    taken: u64,
    /// The records failed writes lost, `(after, through, why)`: the most recent few.
    lost: Vec<(u64, u64, String)>,
}

/// The open log.
pub struct Wal {
    dir: PathBuf,
    durability: Durability,
    pending: Mutex<Pending>,
    inner: Mutex<Inner>,
    wake: Condvar,
    state: watch::Sender<SyncState>,
}

/// Appending to the log failed: the request is not acknowledged.
#[derive(Debug, Clone)]
pub struct NotDurable(pub String);

impl Wal {
    /// Opens a new segment after any left in `dir` (those stay until the next checkpoint).
    pub fn open(dir: &Path, durability: Durability) -> Result<Wal> {
        ensure_private_dir(dir)?;
        let existing = segments(dir)?;
        let next = existing.last().map_or(1, |(n, _)| n + 1);
        let path = segment_path(dir, next);
        let file = open_segment(&path).map_err(|e| Error::io("cannot create", &path, e))?;
        Ok(Wal {
            dir: dir.to_path_buf(),
            durability,
            pending: Mutex::new(Pending {
                buf: Vec::new(),
                appended: 0,
                stopping: false,
            }),
            inner: Mutex::new(Inner {
                file,
                segment: next,
                in_segment: 0,
                len: 0,
                older: !existing.is_empty(),
                taken: 0,
                lost: Vec::new(),
            }),
            wake: Condvar::new(),
            state: watch::Sender::new(SyncState::default()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn pending(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends a record (a copy into the pending buffer); returns its sequence number for
    /// [`Wal::durable`], which writes it.
    pub fn append(&self, record: &Record) -> u64 {
        let (kind, payload): (u8, &[u8]) = match record {
            Record::Export(p) => (KIND_EXPORT, p),
            Record::Clear => (KIND_CLEAR, &[]),
        };
        let mut pending = self.pending();
        pending
            .buf
            .extend_from_slice(&(payload.len() as u32).to_le_bytes());
        pending
            .buf
            .extend_from_slice(&checksum(kind, payload).to_le_bytes());
        pending.buf.push(kind);
        pending.buf.extend_from_slice(payload);
        pending.appended += 1;
        let seq = pending.appended;
        drop(pending);
        if self.durability == Durability::Fsync {
            self.wake.notify_one();
        }
        seq
    }

    /// Writes everything pending into the current segment (the caller holds the file lock).
    fn write_pending(&self, inner: &mut Inner) {
        let (buf, through) = {
            let mut pending = self.pending();
            (std::mem::take(&mut pending.buf), pending.appended)
        };
        if through <= inner.taken {
            return;
        }
        match inner.file.write_all(&buf) {
            Ok(()) => {
                inner.len += buf.len() as u64;
                inner.in_segment += through - inner.taken;
            }
            Err(e) => {
                // A partly written record would end the replay of this segment there: cut it
                // off, and continue in a new segment so later records stay readable either way.
                let _ = inner.file.set_len(inner.len);
                let next = inner.segment + 1;
                if let Ok(file) = open_segment(&segment_path(&self.dir, next)) {
                    inner.file = file;
                    inner.segment = next;
                    inner.len = 0;
                    inner.in_segment = 0;
                }
                if inner.lost.len() >= 64 {
                    inner.lost.remove(0);
                }
                let after = inner.taken;
                inner.lost.push((
                    after,
                    through,
                    format!("cannot append to the trace log: {e}"),
                ));
            }
        }
        inner.taken = through;
    }

    /// Makes record `seq` written: by this call (with every other pending record), or by an
    /// earlier one.
    pub(crate) fn written(&self, seq: u64) -> std::result::Result<(), NotDurable> {
        let mut inner = self.lock();
        if inner.taken < seq {
            self.write_pending(&mut inner);
        }
        match inner
            .lost
            .iter()
            .find(|(after, through, _)| *after < seq && seq <= *through)
        {
            Some((_, _, why)) => Err(NotDurable(why.clone())),
            None => Ok(()),
        }
    }

    /// Waits until record `seq` is durable (by this log's [`Durability`]).
    pub async fn durable(&self, seq: u64) -> std::result::Result<(), NotDurable> {
        self.written(seq)?;
        if self.durability == Durability::Write {
            return Ok(());
        }
        let mut rx = self.state.subscribe();
        let state = rx
            .wait_for(|s| s.synced >= seq || s.failed >= seq)
            .await
            .map_err(|_| NotDurable("the trace log stopped".into()))?
            .clone();
        if state.synced >= seq {
            Ok(())
        } else {
            Err(NotDurable(state.error.unwrap_or_default()))
        }
    }
    /// Writes what is pending and closes the current segment (synced first with
    /// [`Durability::Fsync`]), then opens the next; returns the closed segment's number: once
    /// what the store held at this moment is on disk, segments up to it can go.
    pub fn rotate(&self) -> Result<u64> {
        let mut inner = self.lock();
        self.write_pending(&mut inner);
        let closed = inner.segment;
        let old = segment_path(&self.dir, closed);
        // With `Fsync` the sync thread keeps the segment nearly synced, so this is one short
        // sync; with `Write` nothing waits for syncs (and nothing should wait behind one).
        if self.durability == Durability::Fsync {
            inner
                .file
                .sync_data()
                .map_err(|e| Error::io("cannot sync", &old, e))?;
        }
        let path = segment_path(&self.dir, closed + 1);
        inner.file = open_segment(&path).map_err(|e| Error::io("cannot create", &path, e))?;
        inner.segment = closed + 1;
        inner.in_segment = 0;
        inner.len = 0;
        inner.older = false;
        // Everything written so far is in the synced segment.
        let written = inner.taken;
        drop(inner);
        if self.durability == Durability::Fsync {
            self.state.send_modify(|s| s.synced = s.synced.max(written));
        }
        sync_dir(&self.dir);
        Ok(closed)
    }

    /// Whether a checkpoint would drop anything from the log.
    pub fn needs_checkpoint(&self) -> bool {
        let pending = self.pending().appended;
        let inner = self.lock();
        inner.in_segment > 0 || inner.older || pending > inner.taken
    }

    /// Deletes the segments up to and including `segment`.
    pub fn remove_through(&self, segment: u64) -> Result<()> {
        for (n, path) in segments(&self.dir)? {
            if n <= segment {
                std::fs::remove_file(&path).map_err(|e| Error::io("cannot remove", &path, e))?;
            }
        }
        Ok(())
    }

    /// The sync thread's loop, until [`Wal::stop`]: with [`Durability::Fsync`], whenever
    /// something was appended, writes what is pending and syncs, then releases every record it
    /// covered (group commit); with [`Durability::Write`], the same every [`BACKGROUND_SYNC`].
    pub fn run_syncer(&self) {
        let handled = |s: &SyncState| s.synced.max(s.failed);
        loop {
            let stopping = {
                let mut pending = self.pending();
                match self.durability {
                    Durability::Fsync => {
                        while pending.appended <= handled(&self.state.borrow()) && !pending.stopping
                        {
                            pending = self
                                .wake
                                .wait_timeout(pending, Duration::from_secs(1))
                                .map(|(g, _)| g)
                                .unwrap_or_else(|e| e.into_inner().0);
                        }
                    }
                    Durability::Write if !pending.stopping => {
                        pending = self
                            .wake
                            .wait_timeout(pending, BACKGROUND_SYNC)
                            .map(|(g, _)| g)
                            .unwrap_or_else(|e| e.into_inner().0);
                    }
                    Durability::Write => {}
                }
                if pending.appended <= handled(&self.state.borrow()) {
                    if pending.stopping {
                        return;
                    }
                    continue;
                }
                pending.stopping
            };
            // Records a failed write lost are reported to their waiters by `durable`'s own
            // write; the sync covers the rest.
            let (file, target) = {
                let mut inner = self.lock();
                self.write_pending(&mut inner);
                let target = inner.taken;
                match inner.file.try_clone() {
                    Ok(f) => (f, target),
                    Err(e) => {
                        drop(inner);
                        self.fail(target, format!("cannot sync the trace log: {e}"));
                        continue;
                    }
                }
            };
            match file.sync_data() {
                Ok(()) => self.state.send_modify(|s| s.synced = s.synced.max(target)),
                Err(e) => self.fail(target, format!("cannot sync the trace log: {e}")),
            }
            if stopping && self.pending().appended <= handled(&self.state.borrow()) {
                return;
            }
        }
    }

    fn fail(&self, through: u64, error: String) {
        eprintln!("otelctl: warning: {error}");
        self.state.send_modify(|s| {
            s.failed = s.failed.max(through);
            s.error = Some(error);
        });
        // Do not spin on a failing disk.
        std::thread::sleep(Duration::from_millis(100));
    }

    /// Ends [`Wal::run_syncer`] once everything appended is written and synced.
    pub fn stop(&self) {
        self.pending().stopping = true;
        self.wake.notify_all();
    }
}

/// Syncs a directory (so created, renamed and removed entries are durable); best effort.
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_a_torn_tail_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let wal = Wal::open(dir.path(), Durability::Write).unwrap();
        wal.append(&Record::Export(b"one".to_vec()));
        wal.append(&Record::Clear);
        let closed = wal.rotate().unwrap();
        let two = wal.append(&Record::Export(b"two".to_vec()));
        wal.written(two).unwrap();
        // A torn record after the last good one.
        let current = segment_path(dir.path(), closed + 1);
        let mut f = OpenOptions::new().append(true).open(&current).unwrap();
        f.write_all(&[40, 0, 0, 0, 1, 2]).unwrap();
        let (records, warnings) = read_all(dir.path()).unwrap();
        assert_eq!(
            records,
            vec![
                Record::Export(b"one".to_vec()),
                Record::Clear,
                Record::Export(b"two".to_vec())
            ]
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        wal.remove_through(closed).unwrap();
        let (records, _) = read_all(dir.path()).unwrap();
        assert_eq!(records, vec![Record::Export(b"two".to_vec())]);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&current).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn fsync_mode_releases_waiters_after_the_sync() {
        let dir = tempfile::tempdir().unwrap();
        let wal = std::sync::Arc::new(Wal::open(dir.path(), Durability::Fsync).unwrap());
        let syncer = {
            let wal = wal.clone();
            std::thread::spawn(move || wal.run_syncer())
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let seq = wal.append(&Record::Export(vec![1; 100]));
        rt.block_on(wal.durable(seq)).unwrap();
        assert!(wal.state.borrow().synced >= seq);
        wal.stop();
        syncer.join().unwrap();
    }
}
