//! The write-ahead log: what the receiver acknowledges is on disk first.
//!
//! Every accepted export (and every clear) is appended to the log while the store's lock is
//! held (so the log's order is the store's), and the answer waits until the log says it is
//! durable:
//! - [`Durability::Fsync`] (the default): a sync thread runs `fdatasync` on the log and then
//!   releases every request appended before it started: one fsync covers every request waiting
//!   at that moment (group commit), so a crash of the machine loses nothing acknowledged.
//! - [`Durability::Write`]: the answer waits only for the `write` into the log, which survives a
//!   crash of otelctl (`kill -9`) but not of the machine; the sync thread still syncs every
//!   [`BACKGROUND_SYNC`].
//!
//! **Segments are pre-written and reused.** The log lives in slot files,
//! `<data>/embedded/wal/slot-<k>.wal`, each already written in full (zeros, [`SLOT_BYTES`], when
//! created) and synced, so an append overwrites blocks the file already has: its `fdatasync`
//! flushes only data, while a growing file's must also commit the file system's journal (the
//! size changed) and so waits for whatever else is in the journal: on this project's test VM
//! 1.3-1.7 times the cost on a quiet disk, several times under other disk traffic
//! (`benchmarks/embedded.md`; the technique PostgreSQL uses for its WAL segments). A
//! slot starts with a header naming the log segment it holds (a number that grows while
//! any segment is in use, and starts again at 1 once all are free) and
//! that segment's seed (random); the records follow, each `len u32 LE | crc32 u32 LE | kind u8
//! | payload`, the checksum covering the seed, the kind and the payload, and every write ends
//! with 9 zero bytes. So the end of the log in a slot is the first record header that is all
//! zero (the normal end), or the first record that does not check out (a crash mid-write:
//! never acknowledged; a warning). Records left over from a slot's earlier use were checksummed
//! with another seed and never check out: they are never read, let alone twice.
//!
//! With [`Durability::Write`] no answer waits for a sync, and appending to a file costs less
//! per write than overwriting blocks it has (about 1.0 against 2.2 µs for a 350-byte record
//! here), so there slots are not pre-written: they grow, and are cut back to their header when
//! freed.
//!
//! The persister checkpoints: it starts a new segment in another slot ([`Wal::rotate`]), writes
//! the trace files and syncs them, then frees the slots of the segments before the new one
//! ([`Wal::free_through`]: header cleared and synced, in order; at most [`SPARE_SLOTS`] are
//! kept, the rest deleted). A restart loads the trace files and replays the segments in order;
//! replaying what a trace file already holds is harmless (the store ignores spans it has).
//! Segment files of the earlier format (`<n>.log`, appended, no header) are replayed first and
//! deleted at the first checkpoint. Files are 0600.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
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

/// The size a new slot is written to (zeros) before it takes records. A segment that outgrows
/// its slot makes the file grow (correct, just the slower kind of sync) and the slot keeps the
/// size for its next use, up to [`MAX_KEPT_SLOT_BYTES`].
pub const SLOT_BYTES: u64 = 4 * 1024 * 1024;
/// A freed slot larger than this is cut back to [`SLOT_BYTES`] (a flood of large batches writes
/// tens of MiB between two checkpoints; the log directory should not keep that much).
pub const MAX_KEPT_SLOT_BYTES: u64 = 16 * 1024 * 1024;
/// Free slots kept for reuse; more are deleted.
pub const SPARE_SLOTS: usize = 2;

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
/// A record's header: length, checksum, kind.
const HEADER: usize = 9;
/// Longest record accepted when replaying (a larger length is a torn or foreign file).
const MAX_RECORD: usize = 256 * 1024 * 1024;
/// A slot's header: magic, segment number (0: free), the segment's random seed, checksum of
/// the three.
const SLOT_MAGIC: &[u8; 8] = b"otelwal\x01";
const SLOT_HEADER: u64 = 28;

/// The log directory, under the embedded data directory.
pub fn wal_dir(embedded: &Path) -> PathBuf {
    embedded.join("wal")
}

fn slot_path(dir: &Path, index: u64) -> PathBuf {
    dir.join(format!("slot-{index}.wal"))
}

/// What a log directory holds.
#[derive(Debug, Default)]
struct Found {
    /// Slots holding a segment, by segment number.
    used: BTreeMap<u64, (PathBuf, u64)>,
    /// Free slots (and slots whose header never made it to disk).
    free: Vec<PathBuf>,
    /// Segments of the earlier format, by number.
    legacy: BTreeMap<u64, PathBuf>,
    /// The highest slot index in use.
    max_index: Option<u64>,
    warnings: Vec<String>,
}

/// Which segment a slot holds. Records are checksummed with the seed, which is drawn at random
/// for every segment: records a slot kept from an earlier use never check out, even if a
/// segment number were ever used twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SegmentId {
    number: u64,
    seed: u64,
}

impl SegmentId {
    const FREE: SegmentId = SegmentId { number: 0, seed: 0 };

    fn new(number: u64) -> SegmentId {
        let mut seed = [0u8; 8];
        otelctl_otlp::random_bytes(&mut seed);
        SegmentId {
            number,
            seed: u64::from_le_bytes(seed),
        }
    }

    fn header(self) -> [u8; SLOT_HEADER as usize] {
        let mut h = [0u8; SLOT_HEADER as usize];
        h[..8].copy_from_slice(SLOT_MAGIC);
        h[8..16].copy_from_slice(&self.number.to_le_bytes());
        h[16..24].copy_from_slice(&self.seed.to_le_bytes());
        let crc = crc32fast::hash(&h[..24]);
        h[24..].copy_from_slice(&crc.to_le_bytes());
        h
    }

    /// A slot's segment: number 0 when free, `None` when the header is not a slot header.
    fn read(file: &File) -> Option<SegmentId> {
        let mut h = [0u8; SLOT_HEADER as usize];
        file.read_exact_at(&mut h, 0).ok()?;
        let number = u64::from_le_bytes(h[8..16].try_into().expect("8 bytes"));
        let seed = u64::from_le_bytes(h[16..24].try_into().expect("8 bytes"));
        let crc = u32::from_le_bytes(h[24..].try_into().expect("4 bytes"));
        (&h[..8] == SLOT_MAGIC && crc32fast::hash(&h[..24]) == crc)
            .then_some(SegmentId { number, seed })
    }

    /// A slot's first bytes for this segment: its header, then the zeros of an empty segment.
    fn start(self) -> [u8; SLOT_HEADER as usize + HEADER] {
        let mut start = [0u8; SLOT_HEADER as usize + HEADER];
        start[..SLOT_HEADER as usize].copy_from_slice(&self.header());
        start
    }
}

fn scan(dir: &Path) -> Result<Found> {
    let mut found = Found::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(Error::io("cannot list", dir, e)),
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    // By name, so which of two slots claiming one segment is kept does not depend on the
    // directory's order.
    paths.sort();
    for path in paths {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if let Some(n) = name.strip_suffix(".log").and_then(|n| n.parse().ok()) {
            found.legacy.insert(n, path);
            continue;
        }
        let Some(index) = name
            .strip_prefix("slot-")
            .and_then(|n| n.strip_suffix(".wal"))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        found.max_index = found.max_index.max(Some(index));
        let id = File::open(&path)
            .map_err(|e| Error::io("cannot open", &path, e))
            .map(|f| SegmentId::read(&f))?;
        match id {
            Some(SegmentId { number: 0, .. }) => found.free.push(path),
            Some(SegmentId { number: n, seed }) => {
                if let Some(other) = found.used.insert(n, (path.clone(), seed)) {
                    // Two slots claiming one segment cannot come from this log; read neither
                    // twice: keep the first by name, report the other.
                    found.warnings.push(format!(
                        "log slots {} and {} both claim segment {n}; {} is skipped",
                        other.0.display(),
                        path.display(),
                        path.display()
                    ));
                    found.used.insert(n, other);
                }
            }
            // Created or being reused when a crash came, before anything was acknowledged in it.
            None => found.free.push(path),
        }
    }
    found.free.sort();
    Ok(found)
}

/// Reads every record left in `dir`, oldest first. Warnings name torn or unreadable tails.
pub fn read_all(dir: &Path) -> Result<(Vec<Record>, Vec<String>)> {
    let found = scan(dir)?;
    let mut records = Vec::new();
    let mut warnings = found.warnings;
    // Numbers go on from the earlier format's, so one order covers both.
    let segments = found.legacy.into_iter().map(|(n, p)| (n, p, None)).chain(
        found
            .used
            .into_iter()
            .map(|(n, (p, seed))| (n, p, Some(seed))),
    );
    let mut ordered: Vec<(u64, PathBuf, Option<u64>)> = segments.collect();
    ordered.sort_by_key(|(n, _, _)| *n);
    for (_, path, seed) in ordered {
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) => {
                warnings.push(format!("cannot read log segment {}: {e}", path.display()));
                continue;
            }
        };
        let mut reader = BufReader::with_capacity(1 << 16, file);
        if seed.is_some() {
            let mut skip = [0u8; SLOT_HEADER as usize];
            if let Err(e) = reader.read_exact(&mut skip) {
                warnings.push(format!("cannot read log segment {}: {e}", path.display()));
                continue;
            }
        }
        if let Err(why) = read_records(&mut reader, seed, &mut records, &mut warnings) {
            warnings.push(format!("log segment {} {why}", path.display()));
        }
    }
    Ok((records, warnings))
}

/// Reads records until the end of the segment: the end of the file or an all-zero record
/// header (no error), or a record that is cut short or does not check out (an error naming
/// where; the rest of the segment is not read).
fn read_records(
    reader: &mut impl Read,
    seed: Option<u64>,
    records: &mut Vec<Record>,
    warnings: &mut Vec<String>,
) -> std::result::Result<(), String> {
    let mut at: u64 = if seed.is_some() { SLOT_HEADER } else { 0 };
    loop {
        let mut head = [0u8; HEADER];
        let got = read_full(reader, &mut head).map_err(|e| format!("cannot read: {e}"))?;
        if head[..got].iter().all(|b| *b == 0) {
            // The end of the file, or the zeros after the last write.
            return Ok(());
        }
        if got < HEADER {
            return Err(format!(
                "ends in a torn record at byte {at} (a crash while writing; never acknowledged)"
            ));
        }
        let len = u32::from_le_bytes(head[0..4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(head[4..8].try_into().expect("4 bytes"));
        let kind = head[8];
        let torn = || {
            format!(
                "has a torn or damaged record at byte {at} (a crash while writing; never acknowledged); the rest of it is skipped"
            )
        };
        if len > MAX_RECORD {
            return Err(torn());
        }
        let mut body = vec![0u8; len];
        let got = read_full(reader, &mut body).map_err(|e| format!("cannot read: {e}"))?;
        if got < len || checksum(seed, kind, &body) != crc {
            return Err(torn());
        }
        match kind {
            KIND_EXPORT => records.push(Record::Export(body)),
            KIND_CLEAR => records.push(Record::Clear),
            other => warnings.push(format!(
                "a log record of unknown kind {other} (written by a later otelctl?) was skipped"
            )),
        }
        at += (HEADER + len) as u64;
    }
}

/// Reads until `buf` is full or the input ends; returns how much was read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// A record's checksum: over its segment's seed (slots; none in the earlier format), the kind
/// and the payload.
fn checksum(seed: Option<u64>, kind: u8, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    if let Some(seed) = seed {
        h.update(&seed.to_le_bytes());
    }
    h.update(&[kind]);
    h.update(payload);
    h.finalize()
}

fn open_slot(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().read(true).write(true).open(path)
}

/// Creates a slot (its name synced in the directory): with `prewrite`, written in full with
/// zeros and synced.
fn create_slot(dir: &Path, index: u64, prewrite: bool) -> std::io::Result<(File, PathBuf)> {
    let path = slot_path(dir, index);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    let written = if prewrite {
        zero_fill(&file, 0).and_then(|()| file.sync_all())
    } else {
        Ok(())
    };
    // The new name must be durable before records acknowledged in the slot are.
    if let Err(e) = written.and_then(|()| sync_dir(dir)) {
        let _ = std::fs::remove_file(&path);
        return Err(e);
    }
    Ok((file, path))
}

/// Writes zeros from `from` up to [`SLOT_BYTES`].
fn zero_fill(file: &File, from: u64) -> std::io::Result<()> {
    let zeros = vec![0u8; 1 << 20];
    let mut at = from;
    while at < SLOT_BYTES {
        let n = (SLOT_BYTES - at).min(zeros.len() as u64) as usize;
        file.write_all_at(&zeros[..n], at)?;
        at += n as u64;
    }
    Ok(())
}

/// Where syncing stands: everything up to `synced` is durable; requests up to `failed` were
/// caught by a failed sync (`error` says why).
#[derive(Debug, Clone, Default)]
pub(crate) struct SyncState {
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
    /// The seed of the segment the records in `buf` are checksummed for.
    seed: u64,
    stopping: bool,
}

/// The current segment's slot, behind its own lock so appends never wait for a write or a sync.
struct Inner {
    file: File,
    path: PathBuf,
    segment: SegmentId,
    /// Records in the current segment.
    in_segment: u64,
    /// Where the next write goes (the end of the last record).
    len: u64,
    /// Segments from before this start are still on disk (until the first checkpoint).
    older: bool,
    /// Every record up to `taken` left the pending buffer: written, or lost to a failed write.
    taken: u64,
    /// The records failed writes lost, `(after, through, why)`: the most recent few.
    lost: Vec<(u64, u64, String)>,
    /// The last written buffer, emptied, for the next appends (saves growing a new one).
    spare: Vec<u8>,
}

/// Slots not in use as the current segment: closed segments awaiting a checkpoint, and free
/// slots. Only the persister (through [`Wal::rotate`] and [`Wal::free_through`]) changes them.
struct Slots {
    used: BTreeMap<u64, (PathBuf, u64)>,
    free: Vec<PathBuf>,
    legacy: BTreeMap<u64, PathBuf>,
    next_index: u64,
}

/// The open log.
pub struct Wal {
    dir: PathBuf,
    durability: Durability,
    pending: Mutex<Pending>,
    inner: Mutex<Inner>,
    slots: Mutex<Slots>,
    wake: Condvar,
    state: watch::Sender<SyncState>,
    /// Held for each sync and the publishing of its outcome (the sync thread's, a rotation's):
    /// a failed `fdatasync` reports its error once, and a sync after it may succeed without
    /// having written what the failed one lost, so syncs never overlap (see [`Wal::durable`]).
    sync_gate: Mutex<()>,
}

/// Appending to the log failed: the request is not acknowledged.
#[derive(Debug, Clone)]
pub struct NotDurable(pub String);

/// Buffers up to this size are kept for the next appends; larger ones are freed.
const KEEP_BUFFER: usize = 64 * 1024;

impl Wal {
    /// Opens a new segment, in a free slot or a new one, after any left in `dir` (those stay
    /// until the next checkpoint).
    pub fn open(dir: &Path, durability: Durability) -> Result<Wal> {
        ensure_private_dir(dir)?;
        let found = scan(dir)?;
        let segment = found
            .used
            .keys()
            .chain(found.legacy.keys())
            .max()
            .map_or(1, |n| n + 1);
        let mut slots = Slots {
            used: found.used,
            free: found.free,
            legacy: found.legacy,
            next_index: found.max_index.map_or(0, |i| i + 1),
        };
        let older = !slots.used.is_empty() || !slots.legacy.is_empty();
        let id = SegmentId::new(segment);
        let (file, path) = prepare_slot(dir, &mut slots, id, durability == Durability::Fsync)
            .map_err(|e| Error::io("cannot prepare a log slot in", dir, e))?;
        Ok(Wal {
            dir: dir.to_path_buf(),
            durability,
            pending: Mutex::new(Pending {
                buf: Vec::new(),
                appended: 0,
                seed: id.seed,
                stopping: false,
            }),
            inner: Mutex::new(Inner {
                file,
                path,
                segment: id,
                in_segment: 0,
                len: SLOT_HEADER,
                older,
                taken: 0,
                lost: Vec::new(),
                spare: Vec::new(),
            }),
            slots: Mutex::new(slots),
            wake: Condvar::new(),
            state: watch::Sender::new(SyncState::default()),
            sync_gate: Mutex::new(()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether slots are written in full before use (see the module's documentation).
    fn prewrite(&self) -> bool {
        self.durability == Durability::Fsync
    }

    fn pending(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn slots(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sync_gate(&self) -> MutexGuard<'_, ()> {
        self.sync_gate.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends a record (a copy into the pending buffer); returns its sequence number for
    /// [`Wal::durable`], which writes it.
    pub fn append(&self, record: &Record) -> u64 {
        let (kind, payload): (u8, &[u8]) = match record {
            Record::Export(p) => (KIND_EXPORT, p),
            Record::Clear => (KIND_CLEAR, &[]),
        };
        let mut pending = self.pending();
        let crc = checksum(Some(pending.seed), kind, payload);
        // Room for the zeros the write adds after the last record too.
        pending.buf.reserve(HEADER + payload.len() + HEADER);
        pending
            .buf
            .extend_from_slice(&(payload.len() as u32).to_le_bytes());
        pending.buf.extend_from_slice(&crc.to_le_bytes());
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

    /// Writes everything pending at the end of the current segment, followed by the zeros that
    /// mark the end (the caller holds the slot lock). With `next`, records appended from now on
    /// are checksummed for that segment (the caller then switches to it).
    fn write_pending(&self, inner: &mut Inner, next: Option<SegmentId>) {
        let (mut buf, through) = {
            let mut pending = self.pending();
            if let Some(next) = next {
                pending.seed = next.seed;
            }
            let spare = std::mem::take(&mut inner.spare);
            (std::mem::replace(&mut pending.buf, spare), pending.appended)
        };
        if through > inner.taken {
            let records = buf.len() as u64;
            buf.extend_from_slice(&[0u8; HEADER]);
            match inner.file.write_all_at(&buf, inner.len) {
                Ok(()) => {
                    inner.len += records;
                    inner.in_segment += through - inner.taken;
                }
                Err(e) => {
                    // Whatever part of it reached the file ends the segment there when read
                    // (torn or zero); the next write goes to the same place, over it.
                    let _ = inner.file.write_all_at(&[0u8; HEADER], inner.len);
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
        if buf.capacity() <= KEEP_BUFFER {
            buf.clear();
            inner.spare = buf;
        }
    }

    /// Makes record `seq` written: by this call (with every other pending record), or by an
    /// earlier one.
    pub(crate) fn written(&self, seq: u64) -> std::result::Result<(), NotDurable> {
        let mut inner = self.lock();
        if inner.taken < seq {
            self.write_pending(&mut inner, None);
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
        // A failure first: a sync after a failed one can succeed without having written what
        // the failed one lost. (A record synced before a later failure may be refused too: its
        // client sends it again, and the store keeps it once.)
        if state.failed >= seq {
            Err(NotDurable(state.error.unwrap_or_default()))
        } else {
            Ok(())
        }
    }

    /// Writes what is pending and closes the current segment (synced first with
    /// [`Durability::Fsync`]), then starts the next in a free slot (or a new one); returns the
    /// closed segment's number: once what the store held at this moment is on disk, segments
    /// up to it can go.
    pub fn rotate(&self) -> Result<u64> {
        // The next slot is made ready before the log is held up: creating one writes a few MiB.
        let next = SegmentId::new(self.lock().segment.number + 1);
        let (file, path) = prepare_slot(&self.dir, &mut self.slots(), next, self.prewrite())
            .map_err(|e| Error::io("cannot prepare a log slot in", &self.dir, e))?;
        let _gate = self.sync_gate();
        let mut inner = self.lock();
        debug_assert_eq!(
            inner.segment.number + 1,
            next.number,
            "only the persister rotates"
        );
        self.write_pending(&mut inner, Some(next));
        let closed = inner.segment;
        // With `Fsync` the sync thread keeps the segment nearly synced, so this is one short
        // sync; with `Write` nothing waits for syncs (and nothing should wait behind one).
        let synced = match self.durability {
            Durability::Fsync => Some(inner.file.sync_data()),
            Durability::Write => None,
        };
        let old_path = std::mem::replace(&mut inner.path, path);
        inner.file = file;
        inner.segment = next;
        inner.in_segment = 0;
        inner.len = SLOT_HEADER;
        inner.older = false;
        // Everything written so far is in the closed segment.
        let written = inner.taken;
        drop(inner);
        self.slots()
            .used
            .insert(closed.number, (old_path.clone(), closed.seed));
        match synced {
            Some(Ok(())) => self.state.send_modify(|s| s.synced = s.synced.max(written)),
            Some(Err(e)) => {
                let why = format!("cannot sync the trace log: {e}");
                self.state.send_modify(|s| {
                    s.failed = s.failed.max(written);
                    s.error = Some(why);
                });
                return Err(Error::io("cannot sync", &old_path, e));
            }
            None => {}
        }
        Ok(closed.number)
    }

    /// Whether a checkpoint would drop anything from the log.
    pub fn needs_checkpoint(&self) -> bool {
        let pending = self.pending().appended;
        let inner = self.lock();
        inner.in_segment > 0 || inner.older || pending > inner.taken
    }

    /// Frees the segments up to and including `segment`, oldest first: each slot's header is
    /// cleared and synced before the next one's, so a crash never leaves a gap in the log. At
    /// most [`SPARE_SLOTS`] free slots are kept.
    pub fn free_through(&self, segment: u64) -> Result<()> {
        let mut slots = self.slots();
        let legacy: Vec<u64> = slots.legacy.range(..=segment).map(|(n, _)| *n).collect();
        for n in legacy {
            let path = slots.legacy.remove(&n).expect("listed above");
            std::fs::remove_file(&path).map_err(|e| Error::io("cannot remove", &path, e))?;
        }
        let closed: Vec<u64> = slots.used.range(..=segment).map(|(n, _)| *n).collect();
        for n in closed {
            let path = slots.used[&n].0.clone();
            if slots.free.len() >= SPARE_SLOTS {
                std::fs::remove_file(&path).map_err(|e| Error::io("cannot remove", &path, e))?;
            } else {
                free_slot(&path, self.prewrite())
                    .map_err(|e| Error::io("cannot free", &path, e))?;
                slots.free.push(path);
            }
            slots.used.remove(&n);
        }
        Ok(())
    }

    /// The sync thread's loop, until [`Wal::stop`]: with [`Durability::Fsync`], whenever
    /// something was appended, writes what is pending and syncs, then releases every record it
    /// covered (group commit); with [`Durability::Write`], the same every [`BACKGROUND_SYNC`].
    pub fn run_syncer(&self) {
        let handled = |s: &SyncState| s.synced.max(s.failed);
        // A clone of the current slot's file for syncing outside the lock, with its segment.
        let mut syncing: Option<(u64, File)> = None;
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
            let gate = self.sync_gate();
            let target = {
                let mut inner = self.lock();
                self.write_pending(&mut inner, None);
                let segment = inner.segment.number;
                if syncing.as_ref().is_none_or(|(n, _)| *n != segment) {
                    syncing = match inner.file.try_clone() {
                        Ok(f) => Some((segment, f)),
                        Err(e) => {
                            let target = inner.taken;
                            drop(inner);
                            self.fail(target, format!("cannot sync the trace log: {e}"));
                            drop(gate);
                            Self::pause_after_failure();
                            continue;
                        }
                    };
                }
                inner.taken
            };
            let file = &syncing.as_ref().expect("set above").1;
            let failed = match file.sync_data() {
                Ok(()) => {
                    self.state.send_modify(|s| s.synced = s.synced.max(target));
                    false
                }
                Err(e) => {
                    self.fail(target, format!("cannot sync the trace log: {e}"));
                    true
                }
            };
            drop(gate);
            if failed {
                Self::pause_after_failure();
            }
            if stopping && self.pending().appended <= handled(&self.state.borrow()) {
                return;
            }
        }
    }

    /// Records a failed sync of the records up to `through`: their waiters are told, and so is
    /// the user.
    fn fail(&self, through: u64, error: String) {
        eprintln!(
            "otelctl: warning: {error}; exports are answered 503 (their clients retry or spool \
             them) until the disk takes writes again: check its free space and health"
        );
        self.state.send_modify(|s| {
            s.failed = s.failed.max(through);
            s.error = Some(error);
        });
    }

    /// Does not spin on a failing disk.
    fn pause_after_failure() {
        std::thread::sleep(Duration::from_millis(100));
    }

    /// Ends [`Wal::run_syncer`] once everything appended is written and synced.
    pub fn stop(&self) {
        self.pending().stopping = true;
        self.wake.notify_all();
    }
}

/// A slot for segment `id`, its header written: a free one, or a new one. Returns its file and
/// path.
fn prepare_slot(
    dir: &Path,
    slots: &mut Slots,
    id: SegmentId,
    prewrite: bool,
) -> std::io::Result<(File, PathBuf)> {
    while let Some(path) = slots.free.pop() {
        match open_slot(&path).and_then(|file| {
            file.write_all_at(&id.start(), 0)?;
            Ok((file, path.clone()))
        }) {
            Ok(slot) => return Ok(slot),
            // Gone or unwritable: try another, or make one.
            Err(_) => continue,
        }
    }
    let index = slots.next_index;
    slots.next_index += 1;
    let (file, path) = create_slot(dir, index, prewrite)?;
    if let Err(e) = file.write_all_at(&id.start(), 0) {
        slots.free.push(path);
        return Err(e);
    }
    Ok((file, path))
}

/// Marks a slot free (its header cleared, synced). With `prewrite` it stays written in full: cut
/// back to [`SLOT_BYTES`] if a flood made it larger than [`MAX_KEPT_SLOT_BYTES`], filled up to
/// it if smaller; without, it is cut back to its header, so the next segment appends.
fn free_slot(path: &Path, prewrite: bool) -> std::io::Result<()> {
    let file = open_slot(path)?;
    file.write_all_at(&SegmentId::FREE.start(), 0)?;
    let size = file.metadata()?.len();
    if !prewrite {
        file.set_len(SLOT_HEADER + HEADER as u64)?;
    } else if size > MAX_KEPT_SLOT_BYTES {
        file.set_len(SLOT_BYTES)?;
    } else if size < SLOT_BYTES {
        zero_fill(&file, size)?;
    }
    file.sync_data()
}

/// Syncs a directory, so the entries created, renamed and removed in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn slot_files(dir: &Path) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    }

    fn export(tag: &str, len: usize) -> Record {
        let mut p = tag.as_bytes().to_vec();
        p.resize(len, b'.');
        Record::Export(p)
    }

    fn write(wal: &Wal, record: &Record) -> u64 {
        let seq = wal.append(record);
        wal.written(seq).unwrap();
        seq
    }

    #[test]
    fn records_round_trip_across_segments_and_a_torn_record_ends_its_segment() {
        let dir = tempfile::tempdir().unwrap();
        let wal = Wal::open(dir.path(), Durability::Write).unwrap();
        wal.append(&export("one", 3));
        wal.append(&Record::Clear);
        let closed = wal.rotate().unwrap();
        write(&wal, &export("two", 3));
        // A torn record after the last good one, where the end-of-log zeros were.
        let (path, at) = {
            let inner = wal.lock();
            (inner.path.clone(), inner.len)
        };
        let f = OpenOptions::new().write(true).open(&path).unwrap();
        f.write_all_at(&[40, 0, 0, 0, 1, 2, 3, 4, 1, 9, 9], at)
            .unwrap();
        let (records, warnings) = read_all(dir.path()).unwrap();
        assert_eq!(
            records,
            vec![export("one", 3), Record::Clear, export("two", 3)]
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("torn"), "{warnings:?}");
        wal.free_through(closed).unwrap();
        let (records, _) = read_all(dir.path()).unwrap();
        assert_eq!(records, vec![export("two", 3)]);
        use std::os::unix::fs::PermissionsExt;
        for f in slot_files(dir.path()) {
            let mode = std::fs::metadata(&f).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{f:?}");
        }
    }

    #[test]
    fn a_preallocated_slot_reads_to_its_zero_tail_without_warnings_even_after_a_kill() {
        let dir = tempfile::tempdir().unwrap();
        let wal = Wal::open(dir.path(), Durability::Fsync).unwrap();
        let path = wal.lock().path.clone();
        // Written in full before the first record: appends never change its size.
        assert_eq!(std::fs::metadata(&path).unwrap().len(), SLOT_BYTES);
        for i in 0..100 {
            write(&wal, &export(&format!("r{i}"), 300));
        }
        assert_eq!(std::fs::metadata(&path).unwrap().len(), SLOT_BYTES);
        // As `kill -9` leaves it: no stop, no checkpoint.
        drop(wal);
        let (records, warnings) = read_all(dir.path()).unwrap();
        assert_eq!(records.len(), 100);
        assert_eq!(records[99], export("r99", 300));
        assert!(warnings.is_empty(), "{warnings:?}");
        // The next start replays it and continues in another slot, numbered after it.
        let wal = Wal::open(dir.path(), Durability::Fsync).unwrap();
        write(&wal, &export("after", 10));
        let (records, warnings) = read_all(dir.path()).unwrap();
        assert_eq!(records.len(), 101);
        assert_eq!(records[100], export("after", 10));
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn slots_are_pre_written_for_fsync_and_grow_for_write_whatever_the_last_run_used() {
        let dir = tempfile::tempdir().unwrap();
        let size = |wal: &Wal| std::fs::metadata(&wal.lock().path).unwrap().len();
        let wal = Wal::open(dir.path(), Durability::Write).unwrap();
        assert!(size(&wal) < 1024, "a slot for write mode starts small");
        write(&wal, &export("w1", 5000));
        assert!(size(&wal) > 5000, "and grows");
        let closed = wal.rotate().unwrap();
        wal.free_through(closed).unwrap();
        drop(wal);
        // The freed slot was cut back to its header; fsync mode fills it when it frees it.
        let wal = Wal::open(dir.path(), Durability::Fsync).unwrap();
        write(&wal, &export("f1", 10));
        let closed = wal.rotate().unwrap();
        wal.free_through(closed).unwrap();
        for slot in slot_files(dir.path()) {
            let len = std::fs::metadata(&slot).unwrap().len();
            assert!(len >= SLOT_BYTES, "{slot:?}: {len}");
        }
        write(&wal, &export("f2", 10));
        let (records, warnings) = read_all(dir.path()).unwrap();
        assert_eq!(records, vec![export("f2", 10)]);
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn a_reused_slot_never_yields_its_earlier_records_even_without_its_end_marker() {
        let dir = tempfile::tempdir().unwrap();
        // Pre-written slots keep what they held when they are reused.
        let wal = Wal::open(dir.path(), Durability::Fsync).unwrap();
        let first = wal.lock().path.clone();
        for i in 0..5 {
            write(&wal, &export(&format!("old{i}"), 100));
        }
        let before = std::fs::read(&first).unwrap();
        let closed = wal.rotate().unwrap();
        write(&wal, &export("kept", 100));
        wal.free_through(closed).unwrap();
        // The next segment reuses the freed slot, over the old records.
        wal.rotate().unwrap();
        assert_eq!(wal.lock().path, first, "the freed slot is reused");
        write(&wal, &export("new", 100));
        let (records, warnings) = read_all(dir.path()).unwrap();
        assert_eq!(records, vec![export("kept", 100), export("new", 100)]);
        assert!(warnings.is_empty(), "{warnings:?}");
        // As if the zeros after "new" never reached the disk: the old second record follows,
        // intact but checksummed for the slot's earlier segment.
        let end = wal.lock().len as usize;
        let f = OpenOptions::new().write(true).open(&first).unwrap();
        f.write_all_at(&before[end..end + HEADER], end as u64)
            .unwrap();
        let (records, warnings) = read_all(dir.path()).unwrap();
        assert_eq!(records, vec![export("kept", 100), export("new", 100)]);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }

    #[test]
    fn segments_of_the_earlier_format_are_replayed_first_and_removed_at_the_first_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let mut legacy = Vec::new();
        for (kind, payload) in [(KIND_EXPORT, &b"legacy"[..]), (KIND_CLEAR, &b""[..])] {
            legacy.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            legacy.extend_from_slice(&checksum(None, kind, payload).to_le_bytes());
            legacy.push(kind);
            legacy.extend_from_slice(payload);
        }
        legacy.extend_from_slice(&[7, 0, 0]); // torn
        let old = dir.path().join("00000000000000000003.log");
        std::fs::write(&old, &legacy).unwrap();
        let wal = Wal::open(dir.path(), Durability::Write).unwrap();
        assert_eq!(
            wal.lock().segment.number,
            4,
            "numbers go on after the old ones"
        );
        write(&wal, &export("new", 5));
        let (records, warnings) = read_all(dir.path()).unwrap();
        assert_eq!(
            records,
            vec![
                Record::Export(b"legacy".to_vec()),
                Record::Clear,
                export("new", 5)
            ]
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(wal.needs_checkpoint());
        let closed = wal.rotate().unwrap();
        wal.free_through(closed).unwrap();
        assert!(!old.exists());
        assert_eq!(read_all(dir.path()).unwrap().0, vec![]);
        assert!(!wal.needs_checkpoint());
    }

    #[test]
    fn no_record_is_lost_or_read_twice_when_segments_rotate_under_concurrent_appends() {
        for durability in [Durability::Write, Durability::Fsync] {
            rotate_under_concurrent_appends(durability);
        }
    }

    fn rotate_under_concurrent_appends(durability: Durability) {
        const RECORDS: u32 = 20_000;
        let dir = tempfile::tempdir().unwrap();
        let wal = Arc::new(Wal::open(dir.path(), durability).unwrap());
        let writers: Vec<_> = (0..4u8)
            .map(|t| {
                let wal = wal.clone();
                std::thread::spawn(move || {
                    for i in 0..RECORDS {
                        let mut p = vec![t];
                        p.extend_from_slice(&i.to_le_bytes());
                        write(&wal, &Record::Export(p));
                    }
                })
            })
            .collect();
        // Records of the segments freed along the way, read just before they are freed
        // (closed segments do not change).
        let mut freed = Vec::new();
        let mut closed = Vec::new();
        let mut rotations = 0;
        while writers.iter().any(|w| !w.is_finished()) {
            closed.push(wal.rotate().unwrap());
            rotations += 1;
            if closed.len() % 3 == 0 {
                // Free all but the last few: their slots are reused while writers go on.
                let through = closed[closed.len() - 3];
                let segments: Vec<(PathBuf, u64)> = wal
                    .slots()
                    .used
                    .range(..=through)
                    .map(|(_, s)| s.clone())
                    .collect();
                for (path, seed) in segments {
                    let mut file = File::open(&path).unwrap();
                    let mut skip = [0u8; SLOT_HEADER as usize];
                    file.read_exact(&mut skip).unwrap();
                    let mut warnings = Vec::new();
                    read_records(
                        &mut BufReader::new(file),
                        Some(seed),
                        &mut freed,
                        &mut warnings,
                    )
                    .unwrap();
                    assert!(warnings.is_empty(), "{warnings:?}");
                }
                wal.free_through(through).unwrap();
                closed.retain(|n| *n > through);
            }
        }
        for w in writers {
            w.join().unwrap();
        }
        assert!(rotations > 3, "the log rotated while the writers wrote");
        // Every record is read once, each writer's in order.
        let (records, warnings) = read_all(dir.path()).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        let mut last = [None::<u32>; 4];
        for r in freed.iter().chain(&records) {
            let Record::Export(p) = r else { panic!() };
            let i = u32::from_le_bytes(p[1..5].try_into().unwrap());
            let prev = &mut last[p[0] as usize];
            assert_eq!(prev.map_or(0, |p| p + 1), i, "writer {}", p[0]);
            *prev = Some(i);
        }
        assert!(last.iter().all(|l| *l == Some(RECORDS - 1)), "{last:?}");
        assert!(
            slot_files(dir.path()).len() <= 3 + SPARE_SLOTS + 1,
            "{:?}",
            slot_files(dir.path())
        );
    }

    #[test]
    fn a_failed_sync_refuses_its_records_even_after_a_later_sync_succeeds() {
        let dir = tempfile::tempdir().unwrap();
        let wal = Wal::open(dir.path(), Durability::Fsync).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let lost = wal.append(&Record::Export(vec![1; 10]));
        let later = wal.append(&Record::Export(vec![2; 10]));
        // The sync that covered `lost` failed; a later one, covering both, "succeeded" (Linux
        // reports a write-back error once and marks the pages clean).
        wal.fail(lost, "cannot sync the trace log: EIO".into());
        wal.state.send_modify(|s| s.synced = later);
        let err = rt.block_on(wal.durable(lost)).unwrap_err();
        assert!(err.0.contains("EIO"), "{err:?}");
        // Records after the failure are durable once synced.
        assert!(rt.block_on(wal.durable(later)).is_ok());
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
        let closed = wal.rotate().unwrap();
        let seq = wal.append(&Record::Export(vec![2; 100]));
        rt.block_on(wal.durable(seq)).unwrap();
        wal.free_through(closed).unwrap();
        wal.stop();
        syncer.join().unwrap();
        assert_eq!(
            read_all(dir.path()).unwrap().0,
            vec![Record::Export(vec![2; 100])]
        );
    }
}
