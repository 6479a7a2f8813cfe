//! The spool: spans (and the metrics and logs `dt`'s relay could not forward) that could not be
//! exported wait here as OTLP/JSON files until the Collector ingests them (`otlpjsonfile`
//! receiver on `<spool>/*.json`) or `otelctl spool flush` sends them.
//!
//! Layout of a spool directory (mode 0700):
//! - `<unix_nanos>-<pid>-<random>.json`: one `ExportTraceServiceRequest` as one line of
//!   OTLP/JSON plus `\n`. Written as `.<name>.tmp` (does not match `*.json`) and renamed, so a
//!   reader never sees a partial file and concurrent writers never interleave.
//! - `<unix_nanos>-<pid>-<random>.metrics.jsonl` and `….logs.jsonl`: the same for an
//!   `ExportMetricsServiceRequest` or an `ExportLogsServiceRequest`; the name says the signal
//!   ([`extension`]). Not `*.json`: a traces-only reader of `*.json` (the Collector's traces
//!   `otlpjsonfile` receiver, which deletes what it has read) must never take one. Everything
//!   below applies to the three alike (claims, unconfirmed files, the cap, flush).
//! - `<name>.json.flushing`: a file claimed by a running `spool flush` (rename is the claim:
//!   exactly one claimant wins). Put back on failure, deleted once delivered.
//! - `<name>.json.unconfirmed`: a request sent in full whose answer was late (see
//!   ARCHITECTURE.md, "Exactly once"). Neither the Collector (`*.json`) nor a flush sends it:
//!   the waiter that holds the connection deletes it on a 2xx and publishes it as `<name>.json`
//!   otherwise; a flush publishes one whose waiter is gone ([`UNCONFIRMED_STALE`]).
//! - `.held-<pid>-<random>/<name>.json`: requests a live process holds back (`dt`'s relay: spans
//!   waiting for their parent), see [`Hold`]. Its `.lock` is `flock`ed by the holder for as long
//!   as it lives; neither the Collector (`*.json` of the spool itself) nor a flush sends them
//!   meanwhile. What a holder leaves, dropped or killed, is published as `<name>.json`: by the
//!   holder as it lets go, else by the next flush, once the lock is free.
//! - `.lock`: `flock`ed while the size cap is enforced and the counters change.
//! - `.counters`: `bytes=<upper bound of the spool size>` and `dropped_spans=<total>`.
//!
//! Size cap: after each write, when the running upper bound exceeds the cap, the directory is
//! measured and the oldest files are deleted until it fits; the spans they held are added to
//! `dropped_spans`. Whoever delivers a file removes it (the Collector with
//! `delete_after_read: true`, or `spool flush`).

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::exporter::{Accepted, ExportError};
use otelctl_config::error::{Error, Result};
use otelctl_config::paths::ensure_private_dir;
use otelctl_otlp::logs::ExportLogsServiceRequest;
use otelctl_otlp::metrics::ExportMetricsServiceRequest;
use otelctl_otlp::{random_bytes, to_hex, ExportRequest, ExportTraceServiceRequest, Signal};

const LOCK: &str = ".lock";
const COUNTERS: &str = ".counters";
const CLAIM_SUFFIX: &str = ".flushing";
const UNCONFIRMED_SUFFIX: &str = ".unconfirmed";
/// A [`Hold`]'s directory: `.held-<pid>-<random>`; `.hold-new-…` while it is being set up.
const HELD_PREFIX: &str = ".held-";
const HOLD_NEW_PREFIX: &str = ".hold-new-";
/// The last export failure of a span: `<unix seconds> <url> <why>`, one line, rewritten only
/// when an export fails (so `span` pays nothing when exports succeed); read by `doctor`.
const LAST_FAILURE: &str = ".last-failure";
const LAST_FAILURE_WIDTH: usize = 1024;
/// An unconfirmed file older than this has outlived its waiter (which gives up after
/// `exporter::LATE_ANSWER_WAIT`): it is published for flush, a duplicate at worst rather than
/// a loss.
pub const UNCONFIRMED_STALE: Duration = Duration::from_secs(120);
/// A claim older than this (by its rename time) belongs to a flush that died; it is put back.
pub const STALE_CLAIM: Duration = Duration::from_secs(600);
/// Temporary files older than this belong to a writer that died; flush removes them.
const STALE_TMP: Duration = Duration::from_secs(3600);

/// How a spool file's name says its signal: `.json` for traces (what the Collector's
/// `otlpjsonfile` receiver has always read), `.metrics.jsonl`, `.logs.jsonl`.
pub fn extension(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => ".json",
        Signal::Metrics => ".metrics.jsonl",
        Signal::Logs => ".logs.jsonl",
    }
}

/// The signal of a waiting spool file, by its name (`None`: not a request file).
pub fn signal_of(name: &str) -> Option<Signal> {
    if name.starts_with('.') {
        return None;
    }
    [Signal::Metrics, Signal::Logs, Signal::Traces]
        .into_iter()
        .find(|s| name.ends_with(extension(*s)))
}

/// A request read back from the spool, of one of the three signals.
#[derive(Debug, Clone, PartialEq)]
pub enum Spooled {
    Traces(ExportTraceServiceRequest),
    Metrics(ExportMetricsServiceRequest),
    Logs(ExportLogsServiceRequest),
}

impl Spooled {
    /// Decodes a spool file of `signal` (one line of OTLP/JSON).
    pub fn from_json(
        signal: Signal,
        bytes: &[u8],
    ) -> std::result::Result<Self, otelctl_otlp::DecodeError> {
        Ok(match signal {
            Signal::Traces => Spooled::Traces(ExportTraceServiceRequest::from_json(bytes)?),
            Signal::Metrics => Spooled::Metrics(ExportMetricsServiceRequest::from_json(bytes)?),
            Signal::Logs => Spooled::Logs(ExportLogsServiceRequest::from_json(bytes)?),
        })
    }

    pub fn signal(&self) -> Signal {
        match self {
            Spooled::Traces(_) => Signal::Traces,
            Spooled::Metrics(_) => Signal::Metrics,
            Spooled::Logs(_) => Signal::Logs,
        }
    }

    /// Spans, data points or log records.
    pub fn item_count(&self) -> usize {
        match self {
            Spooled::Traces(r) => r.item_count(),
            Spooled::Metrics(r) => r.item_count(),
            Spooled::Logs(r) => r.item_count(),
        }
    }
}

impl Spooled {
    /// [`crate::exporter::export_patiently`] of the request inside, to `url` (its signal's).
    pub fn export_patiently(
        &self,
        cfg: &crate::exporter::ExporterConfig,
        url: &str,
        deadline: std::time::Instant,
    ) -> std::result::Result<Accepted, ExportError> {
        use crate::exporter::export_patiently;
        match self {
            Spooled::Traces(r) => export_patiently(cfg, url, r, deadline),
            Spooled::Metrics(r) => export_patiently(cfg, url, r, deadline),
            Spooled::Logs(r) => export_patiently(cfg, url, r, deadline),
        }
    }
}

/// A spool directory with its size cap.
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
}

/// What `spool status` reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Status {
    pub dir: PathBuf,
    pub files: u64,
    pub bytes: u64,
    pub max_bytes: u64,
    /// Age of the oldest waiting file, in seconds (absent when empty).
    pub oldest_age_seconds: Option<u64>,
    /// Files claimed by a running (or dead) flush.
    pub flushing: u64,
    /// Requests sent whose late answer is still awaited (not sent by flush).
    pub unconfirmed: u64,
    /// Spans deleted to keep the spool under its cap, since the spool was created.
    pub dropped_spans: u64,
    /// Requests in the holds of processes that died (`dt`'s relay killed while it held spans):
    /// nothing reads them until a flush (or the next relay) publishes them.
    pub stranded: u64,
}

/// Whether a hold's holder still lives.
enum HoldState {
    /// A process holds the hold's lock.
    Live,
    /// Nobody does: the lock is now ours until this is dropped (none when the lock file is
    /// gone).
    Dead { _lock: Option<File> },
}

/// The state of the hold directory `held` (locking it when its holder is gone).
fn hold_state(held: &Path) -> HoldState {
    match File::open(held.join(LOCK)) {
        // Only a publish removes the lock, and only with nothing left to publish; an earlier
        // version removed it first: what is left is nobody's.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => HoldState::Dead { _lock: None },
        Err(_) => HoldState::Live,
        // SAFETY: flock on a file descriptor we own, released when the file is closed.
        Ok(lock)
            if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 =>
        {
            HoldState::Dead { _lock: Some(lock) }
        }
        Ok(_) => HoldState::Live,
    }
}

/// The request files (`*.json`) in a hold directory.
fn held_files(held: &Path) -> Vec<PathBuf> {
    fs::read_dir(held)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default()
}

/// What `spool flush` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FlushReport {
    pub delivered_files: u64,
    pub delivered_spans: u64,
    /// Metric data points and log records delivered (from `*.metrics.jsonl`, `*.logs.jsonl`).
    pub delivered_data_points: u64,
    pub delivered_log_records: u64,
    /// Spans the endpoint accepted the request for but rejected (partial success).
    pub rejected_spans: u64,
    pub failed_files: u64,
    /// Files left because a failure showed the endpoint is unreachable.
    pub skipped_files: u64,
    /// Files that are not valid OTLP/JSON, renamed to `<name>.corrupt`.
    pub corrupt_files: u64,
    /// One line per failure.
    pub errors: Vec<String>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counters {
    bytes: u64,
    dropped_spans: u64,
}

impl Spool {
    pub fn new(dir: impl Into<PathBuf>, max_bytes: u64) -> Self {
        Spool {
            dir: dir.into(),
            max_bytes,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes one request as a new spool file (atomically), then enforces the size cap.
    pub fn write<R: ExportRequest>(&self, req: &R) -> Result<PathBuf> {
        self.write_as(req, "")
    }

    /// Writes a request whose answer is late as `<name>.json.unconfirmed`: kept, but sent by
    /// nobody until [`Spool::settle`] says how the late answer went.
    pub fn write_unconfirmed<R: ExportRequest>(&self, req: &R) -> Result<PathBuf> {
        self.write_as(req, UNCONFIRMED_SUFFIX)
    }

    /// The late answer of an unconfirmed file came: `delivered` deletes it, otherwise it is
    /// published as a normal spool file for the Collector or a flush.
    pub fn settle(&self, unconfirmed: &Path, delivered: bool) -> Result<()> {
        if delivered {
            return fs::remove_file(unconfirmed)
                .map_err(|e| Error::io("cannot remove spool file", unconfirmed, e));
        }
        let published = unconfirmed.with_extension("");
        fs::rename(unconfirmed, &published)
            .map_err(|e| Error::io("cannot publish spool file", &published, e))
    }

    /// Records why an export failed (best effort: the span matters more than the record).
    pub fn record_failure(&self, url: &str, why: &str) {
        if ensure_private_dir(&self.dir).is_err() {
            return;
        }
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        // A fixed-width record overwritten in place, like the counters (truncating would
        // cost a flush on ext4 on every span while the collector is down).
        let mut line = String::with_capacity(LAST_FAILURE_WIDTH);
        // No credential on disk: the URL's user-info and any URL the reason quotes are masked
        // (header values are masked by the exporter before the reason is made).
        let url = otelctl_config::secrets::mask_url(url);
        let why = otelctl_config::secrets::mask_urls_in(why);
        for c in format!("{secs} {url} {why}").chars() {
            if line.len() + c.len_utf8() >= LAST_FAILURE_WIDTH {
                break;
            }
            line.push(if c.is_control() { ' ' } else { c });
        }
        while line.len() < LAST_FAILURE_WIDTH - 1 {
            line.push(' ');
        }
        line.push('\n');
        let path = self.dir.join(LAST_FAILURE);
        if let Ok(mut f) = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
        {
            let _ = f.write_all(line.as_bytes());
        }
    }

    /// The last recorded export failure: when (Unix seconds), the URL and why.
    pub fn last_failure(&self) -> Option<(u64, String, String)> {
        let text = fs::read_to_string(self.dir.join(LAST_FAILURE)).ok()?;
        let mut parts = text.trim_end().splitn(3, ' ');
        let secs = parts.next()?.parse().ok()?;
        let url = parts.next()?.to_string();
        Some((secs, url, parts.next().unwrap_or("").to_string()))
    }

    fn write_as<R: ExportRequest>(&self, req: &R, suffix: &str) -> Result<PathBuf> {
        ensure_private_dir(&self.dir)?;
        let (path, len) = write_file(&self.dir, req, suffix)?;
        // The span is safely spooled now; a failure to enforce the cap must not report it lost.
        let _ = self.account(len);
        Ok(path)
    }

    /// A new [`Hold`] in this spool (after publishing the holds of holders that died).
    pub fn hold(&self) -> Result<Hold> {
        ensure_private_dir(&self.dir)?;
        self.publish_dead_holds();
        let mut r = [0u8; 8];
        random_bytes(&mut r);
        let id = format!("{}-{}", std::process::id(), to_hex(&r));
        // Set up under a name a flush ignores, locked, then renamed: a flush never sees a hold
        // whose lock is not taken yet.
        let new = self.dir.join(format!("{HOLD_NEW_PREFIX}{id}"));
        ensure_private_dir(&new)?;
        let lock = self.lock_at(&new.join(LOCK))?;
        // SAFETY: flock on a file descriptor we own; held until the Hold is dropped.
        if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let e = std::io::Error::last_os_error();
            let _ = fs::remove_dir_all(&new);
            return Err(Error::io("cannot lock", new.join(LOCK), e));
        }
        let dir = self.dir.join(format!("{HELD_PREFIX}{id}"));
        if let Err(e) = fs::rename(&new, &dir) {
            let _ = fs::remove_dir_all(&new);
            return Err(Error::io("cannot set up", dir, e));
        }
        Ok(Hold {
            spool: self.clone(),
            dir,
            _lock: lock,
        })
    }

    /// Publishes the files of `held` (a hold's directory, its lock ours) into the spool, then
    /// removes it. A file that cannot be moved stays, with the lock file, for the next publish.
    fn publish_held(&self, held: &Path) {
        let (mut bytes, mut left) = (0, 0);
        for path in held_files(held) {
            let len = fs::symlink_metadata(&path).map(|m| m.len()).unwrap_or(0);
            match path
                .file_name()
                .map(|name| fs::rename(&path, self.dir.join(name)))
            {
                Some(Ok(())) => bytes += len,
                _ => left += 1,
            }
        }
        if left == 0 {
            let _ = fs::remove_file(held.join(LOCK));
            let _ = fs::remove_dir(held);
        }
        if bytes > 0 {
            let _ = self.account(bytes);
        }
    }

    /// The hold directories in the spool.
    fn hold_dirs(&self) -> Vec<PathBuf> {
        self.entries()
            .map(|names| {
                names
                    .filter(|n| n.starts_with(HELD_PREFIX))
                    .map(|n| self.dir.join(n))
                    .filter(|p| p.is_dir())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Publishes what the holders that died were holding.
    fn publish_dead_holds(&self) {
        for held in self.hold_dirs() {
            if let _held_lock @ HoldState::Dead { .. } = hold_state(&held) {
                self.publish_held(&held);
            }
        }
    }

    /// Adds `added` bytes to the running bound; measures and trims when over the cap.
    fn account(&self, added: u64) -> Result<()> {
        let lock = self.lock(true)?;
        let mut c = read_counters(&self.dir);
        c.bytes = c.bytes.saturating_add(added);
        if c.bytes > self.max_bytes {
            let mut files = self.waiting()?;
            let mut total: u64 = files.iter().map(|f| f.1).sum();
            files.sort();
            for (name, size) in files {
                if total <= self.max_bytes {
                    break;
                }
                let path = self.dir.join(&name);
                let spans = match signal_of(&name) {
                    Some(signal) => fs::read(&path)
                        .ok()
                        .and_then(|b| Spooled::from_json(signal, &b).ok())
                        .map(|r| r.item_count() as u64)
                        .unwrap_or(0),
                    None => 0,
                };
                // Another deleter (the Collector, a flush) may have taken it: count only ours.
                if fs::remove_file(&path).is_ok() {
                    c.dropped_spans += spans;
                }
                total -= size;
            }
            c.bytes = total;
        }
        write_counters(&self.dir, c)?;
        drop(lock);
        Ok(())
    }

    /// Count, size, oldest age, claims and dropped spans. A missing directory is an empty spool.
    pub fn status(&self) -> Result<Status> {
        let mut status = Status {
            dir: self.dir.clone(),
            files: 0,
            bytes: 0,
            max_bytes: self.max_bytes,
            oldest_age_seconds: None,
            flushing: 0,
            unconfirmed: 0,
            dropped_spans: 0,
            stranded: 0,
        };
        if !self.dir.is_dir() {
            return Ok(status);
        }
        status.dropped_spans = {
            let _lock = self.lock(false)?;
            read_counters(&self.dir).dropped_spans
        };
        let files = self.waiting()?;
        status.files = files.len() as u64;
        status.bytes = files.iter().map(|f| f.1).sum();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        status.oldest_age_seconds = files
            .iter()
            .filter_map(|(name, _)| file_nanos(name))
            .min()
            .map(|n| (now.saturating_sub(n) / 1_000_000_000) as u64);
        for held in self.hold_dirs() {
            if let _held_lock @ HoldState::Dead { .. } = hold_state(&held) {
                status.stranded += held_files(&held).len() as u64;
            }
        }
        for name in self.entries()? {
            if name.ends_with(CLAIM_SUFFIX) {
                status.flushing += 1;
            } else if name.ends_with(UNCONFIRMED_SUFFIX) {
                status.unconfirmed += 1;
            }
        }
        Ok(status)
    }

    /// Sends every waiting file (oldest first, whatever its signal) through `send`, deleting
    /// what was accepted. Stops early when the endpoint is unreachable (the rest stays for
    /// later).
    pub fn flush(
        &self,
        send: &mut dyn FnMut(&Spooled) -> std::result::Result<Accepted, ExportError>,
    ) -> Result<FlushReport> {
        let mut report = FlushReport::default();
        if !self.dir.is_dir() {
            return Ok(report);
        }
        self.recover_stale()?;
        let mut names: Vec<String> = self.waiting()?.into_iter().map(|f| f.0).collect();
        names.sort();
        let mut unreachable = false;
        for name in names {
            if unreachable {
                report.skipped_files += 1;
                continue;
            }
            let path = self.dir.join(&name);
            let claim = self.dir.join(format!("{name}{CLAIM_SUFFIX}"));
            if fs::rename(&path, &claim).is_err() {
                continue; // delivered or claimed by someone else meanwhile
            }
            let bytes = match fs::read(&claim) {
                Ok(b) => b,
                Err(e) => {
                    let _ = fs::rename(&claim, &path);
                    report.failed_files += 1;
                    report.errors.push(format!("{name}: cannot read: {e}"));
                    continue;
                }
            };
            let Some(signal) = signal_of(&name) else {
                continue; // `waiting` lists only request files
            };
            let req = match Spooled::from_json(signal, &bytes) {
                Ok(r) => r,
                Err(e) => {
                    let _ = fs::rename(&claim, self.dir.join(format!("{name}.corrupt")));
                    report.corrupt_files += 1;
                    report
                        .errors
                        .push(format!("{name}: {e}; renamed to {name}.corrupt"));
                    continue;
                }
            };
            match send(&req) {
                Ok(acc) => {
                    let _ = fs::remove_file(&claim);
                    report.delivered_files += 1;
                    let items = req.item_count() as u64;
                    match signal {
                        Signal::Traces => report.delivered_spans += items,
                        Signal::Metrics => report.delivered_data_points += items,
                        Signal::Logs => report.delivered_log_records += items,
                    }
                    if acc.rejected_spans > 0 {
                        report.rejected_spans += acc.rejected_spans as u64;
                        report.errors.push(format!(
                            "{name}: endpoint rejected {} {}: {}",
                            acc.rejected_spans,
                            signal.items(),
                            acc.error_message
                        ));
                    }
                }
                Err(e) => {
                    let _ = fs::rename(&claim, &path);
                    report.failed_files += 1;
                    unreachable = matches!(&e, ExportError::Http(h) if h.is_unreachable());
                    report.errors.push(format!("{name}: {e}"));
                }
            }
        }
        if report.delivered_files > 0 {
            // The running bound may now be far too high; measure it again.
            let _lock = self.lock(true)?;
            let mut c = read_counters(&self.dir);
            c.bytes = self.waiting()?.iter().map(|f| f.1).sum();
            write_counters(&self.dir, c)?;
        }
        Ok(report)
    }

    /// Puts back claims of flushes that died, removes temporary files of writers that died.
    fn recover_stale(&self) -> Result<()> {
        let now = SystemTime::now();
        for name in self.entries()?.collect::<Vec<_>>() {
            let path = self.dir.join(&name);
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            // rename updates ctime, so ctime is when the claim was made.
            let changed = UNIX_EPOCH + Duration::from_secs(meta.ctime().max(0) as u64);
            let age = now.duration_since(changed).unwrap_or_default();
            if let Some(orig) = name.strip_suffix(CLAIM_SUFFIX) {
                if age > STALE_CLAIM {
                    let _ = fs::rename(&path, self.dir.join(orig));
                }
            } else if let Some(orig) = name.strip_suffix(UNCONFIRMED_SUFFIX) {
                if age > UNCONFIRMED_STALE {
                    let _ = fs::rename(&path, self.dir.join(orig));
                }
            } else if name.starts_with('.') && name.ends_with(".tmp") && age > STALE_TMP {
                let _ = fs::remove_file(&path);
            } else if name.starts_with(HOLD_NEW_PREFIX) && age > STALE_TMP {
                // A hold whose setup died before it held anything.
                let _ = fs::remove_dir_all(&path);
            }
        }
        self.publish_dead_holds();
        Ok(())
    }

    fn entries(&self) -> Result<impl Iterator<Item = String>> {
        let rd = fs::read_dir(&self.dir)
            .map_err(|e| Error::io("cannot read spool directory", &self.dir, e))?;
        Ok(rd
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok()))
    }

    /// The waiting request files (`*.json`, `*.metrics.jsonl`, `*.logs.jsonl`, not hidden),
    /// with their sizes.
    fn waiting(&self) -> Result<Vec<(String, u64)>> {
        Ok(self
            .entries()?
            .filter(|n| signal_of(n).is_some())
            .filter_map(|n| {
                let size = fs::symlink_metadata(self.dir.join(&n)).ok()?.len();
                Some((n, size))
            })
            .collect())
    }

    fn lock(&self, exclusive: bool) -> Result<File> {
        let f = self.lock_at(&self.dir.join(LOCK))?;
        let op = if exclusive {
            libc::LOCK_EX
        } else {
            libc::LOCK_SH
        };
        loop {
            // SAFETY: flock on a file descriptor we own; released when `f` is closed.
            if unsafe { libc::flock(f.as_raw_fd(), op) } == 0 {
                return Ok(f);
            }
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::Interrupted {
                return Err(Error::io("cannot lock spool", self.dir.join(LOCK), err));
            }
        }
    }

    /// Opens (creating, 0600) a lock file.
    fn lock_at(&self, path: &Path) -> Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(|e| Error::io("cannot open spool lock", path, e))
    }
}

/// Writes `req` as one line of OTLP/JSON to a new file `<name><suffix>` in `dir` (as a hidden
/// `.tmp`, then renamed: a reader never sees a partial file); returns its path and size.
fn write_file<R: ExportRequest>(dir: &Path, req: &R, suffix: &str) -> Result<(PathBuf, u64)> {
    let mut line = serde_json::to_vec(req).expect("the OTLP model always serialises");
    line.push(b'\n');
    let name = format!("{}{}{suffix}", new_file_name(), extension(R::SIGNAL));
    let tmp = dir.join(format!(".{name}.tmp"));
    let path = dir.join(&name);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| Error::io("cannot create spool file", &tmp, e))?;
    if let Err(e) = f.write_all(&line) {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io("cannot write spool file", &tmp, e));
    }
    drop(f);
    if let Err(e) = fs::rename(&tmp, &path) {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io("cannot publish spool file", &path, e));
    }
    Ok((path, line.len() as u64))
}

/// Requests held back from delivery by this process, kept on disk in the spool (see the module
/// doc): nobody sends them while the hold lives. [`Hold::release`] deletes one that was
/// delivered another way; whatever is still held when the hold is dropped, or when its process
/// dies, is published to the spool as it is: delivered late, never lost.
#[derive(Debug)]
pub struct Hold {
    spool: Spool,
    dir: PathBuf,
    /// `flock`ed: the sign that the holder lives.
    _lock: File,
}

impl Hold {
    /// Keeps `req` until it is released.
    pub fn write(&self, req: &ExportTraceServiceRequest) -> Result<PathBuf> {
        write_file(&self.dir, req, "").map(|(path, _)| path)
    }

    /// The request in `held` was delivered: it is no longer kept.
    pub fn release(&self, held: &Path) -> Result<()> {
        fs::remove_file(held).map_err(|e| Error::io("cannot remove held spool file", held, e))
    }

    #[cfg(test)]
    fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.spool.publish_held(&self.dir);
    }
}

/// `<unix_nanos, 20 digits>-<pid>-<16 hex>` (the signal's extension follows): sorts by time;
/// unique across processes.
fn new_file_name() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let mut r = [0u8; 8];
    random_bytes(&mut r);
    format!("{nanos:020}-{}-{}", std::process::id(), to_hex(&r))
}

fn file_nanos(name: &str) -> Option<u128> {
    name.split('-').next()?.parse().ok()
}

fn read_counters(dir: &Path) -> Counters {
    let mut c = Counters::default();
    let mut text = String::new();
    if let Ok(mut f) = File::open(dir.join(COUNTERS)) {
        let _ = f.read_to_string(&mut text);
    }
    for line in text.lines() {
        match line.split_once('=') {
            Some(("bytes", v)) => c.bytes = v.trim().parse().unwrap_or(0),
            Some(("dropped_spans", v)) => c.dropped_spans = v.trim().parse().unwrap_or(0),
            _ => {}
        }
    }
    c
}

/// Rewrites the counters in place (callers hold the exclusive lock). The record has a fixed
/// width, so it is overwritten without truncating: on ext4, truncating a file to zero and
/// rewriting it forces a flush on close (`auto_da_alloc`), which costs milliseconds.
fn write_counters(dir: &Path, c: Counters) -> Result<()> {
    let path = dir.join(COUNTERS);
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|e| Error::io("cannot open spool counters", &path, e))?;
    let text = format!(
        "bytes={:020}\ndropped_spans={:020}\n",
        c.bytes, c.dropped_spans
    );
    f.seek(SeekFrom::Start(0))
        .and_then(|_| f.write_all(text.as_bytes()))
        .map_err(|e| Error::io("cannot write spool counters", &path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use otelctl_otlp::{InstrumentationScope, KeyValue, Span};

    fn tempdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "otelctl-spool-{tag}-{}-{}",
            std::process::id(),
            to_hex(&otelctl_otlp::new_span_id())
        ));
        d
    }

    fn request(n: usize) -> ExportTraceServiceRequest {
        let spans = (0..n)
            .map(|i| Span {
                trace_id: vec![1; 16],
                span_id: vec![i as u8 + 1; 8],
                name: format!("s{i}"),
                kind: 1,
                ..Default::default()
            })
            .collect();
        ExportTraceServiceRequest::single(
            vec![KeyValue::string("service.name", "t")],
            InstrumentationScope {
                name: "otelctl".into(),
                ..Default::default()
            },
            spans,
        )
    }

    #[test]
    fn writes_one_line_files_in_a_private_dir() {
        let dir = tempdir("write");
        let spool = Spool::new(&dir, 1 << 20);
        let path = spool.write(&request(2)).unwrap();
        let bytes = fs::read(&path).unwrap();
        assert_eq!(bytes.iter().filter(|b| **b == b'\n').count(), 1);
        assert!(bytes.ends_with(b"\n"));
        let back = ExportTraceServiceRequest::from_json(&bytes).unwrap();
        assert_eq!(back, request(2));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let s = spool.status().unwrap();
        assert_eq!(
            (s.files, s.bytes, s.dropped_spans),
            (1, bytes.len() as u64, 0)
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn cap_drops_oldest_and_counts_spans() {
        let dir = tempdir("cap");
        let one = request(3).to_json().len() as u64 + 1;
        let spool = Spool::new(&dir, one * 2);
        let first = spool.write(&request(3)).unwrap();
        spool.write(&request(3)).unwrap();
        spool.write(&request(3)).unwrap();
        let s = spool.status().unwrap();
        assert_eq!((s.files, s.dropped_spans), (2, 3));
        assert!(!first.exists(), "the oldest file goes first");
        fs::remove_dir_all(&dir).unwrap();
    }

    /// Metrics and logs spooled by dt's relay: their names say their signal (and are not
    /// `*.json`, which the Collector's traces reader takes and deletes), the cap counts their
    /// items, and a flush hands each back decoded as its signal, oldest first.
    #[test]
    fn metrics_and_logs_files_say_their_signal_and_flush_as_it() {
        use otelctl_otlp::logs::{ExportLogsServiceRequest, LogRecord};
        use otelctl_otlp::metrics::{
            Data, ExportMetricsServiceRequest, Gauge, Metric, NumberDataPoint,
        };
        let dir = tempdir("signals");
        let spool = Spool::new(&dir, 1 << 20);
        let scope = InstrumentationScope::default;
        let metrics = ExportMetricsServiceRequest::single(
            vec![],
            scope(),
            vec![Metric {
                name: "m".into(),
                data: Some(Data::Gauge(Gauge {
                    data_points: vec![NumberDataPoint::default(); 2],
                })),
                ..Default::default()
            }],
        );
        let logs = ExportLogsServiceRequest::single(vec![], scope(), vec![LogRecord::default(); 3]);
        let m = spool.write(&metrics).unwrap();
        let t = spool.write(&request(1)).unwrap();
        let l = spool.write(&logs).unwrap();
        let name = |p: &Path| p.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name(&m).ends_with(".metrics.jsonl"), "{}", name(&m));
        assert!(name(&l).ends_with(".logs.jsonl"), "{}", name(&l));
        assert!(name(&t).ends_with(".json"));
        assert_eq!(signal_of(&name(&m)), Some(Signal::Metrics));
        assert_eq!(signal_of(&name(&l)), Some(Signal::Logs));
        assert_eq!(signal_of(&name(&t)), Some(Signal::Traces));
        assert_eq!(signal_of(".x.logs.jsonl.tmp"), None);
        assert_eq!(spool.status().unwrap().files, 3);
        let mut sent = Vec::new();
        let r = spool
            .flush(&mut |req| {
                sent.push(req.clone());
                Ok(Accepted {
                    rejected_spans: 0,
                    error_message: String::new(),
                })
            })
            .unwrap();
        assert_eq!(
            sent,
            [
                Spooled::Metrics(metrics.clone()),
                Spooled::Traces(request(1)),
                Spooled::Logs(logs.clone())
            ]
        );
        assert_eq!(
            (
                r.delivered_spans,
                r.delivered_data_points,
                r.delivered_log_records
            ),
            (1, 2, 3)
        );
        // The cap drops the oldest file whatever its signal and counts its items.
        let one = serde_json::to_vec(&logs).unwrap().len() as u64 + 1;
        let capped = Spool::new(&dir, one * 2);
        capped.write(&metrics).unwrap();
        capped.write(&logs).unwrap();
        capped.write(&logs).unwrap();
        capped.write(&logs).unwrap();
        let s = capped.status().unwrap();
        assert_eq!(
            s.dropped_spans,
            2 + 3,
            "the metrics file's points, a logs file's records"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn flush_deletes_only_accepted_and_stops_when_unreachable() {
        let dir = tempdir("flush");
        let spool = Spool::new(&dir, 1 << 20);
        for _ in 0..3 {
            spool.write(&request(1)).unwrap();
        }
        let mut calls = 0;
        let r = spool
            .flush(&mut |_| {
                calls += 1;
                if calls == 2 {
                    Err(ExportError::Http(otelctl_http::HttpError::Refused {
                        url: "u".into(),
                    }))
                } else {
                    Ok(Accepted {
                        rejected_spans: 0,
                        error_message: String::new(),
                    })
                }
            })
            .unwrap();
        assert_eq!(
            (r.delivered_files, r.failed_files, r.skipped_files),
            (1, 1, 1)
        );
        assert_eq!(spool.status().unwrap().files, 2);
        let r = spool
            .flush(&mut |_| {
                Ok(Accepted {
                    rejected_spans: 0,
                    error_message: String::new(),
                })
            })
            .unwrap();
        assert_eq!(r.delivered_spans, 2);
        let s = spool.status().unwrap();
        assert_eq!((s.files, s.flushing), (0, 0));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn held_requests_wait_for_their_holder_and_are_never_lost() {
        let dir = tempdir("hold");
        let spool = Spool::new(&dir, 1 << 20);
        let nothing = |spool: &Spool| {
            let mut sent = 0;
            spool
                .flush(&mut |_| {
                    sent += 1;
                    Ok(Accepted {
                        rejected_spans: 0,
                        error_message: String::new(),
                    })
                })
                .unwrap();
            sent
        };

        // While the holder lives: neither waiting nor flushed; released means gone.
        let hold = spool.hold().unwrap();
        let kept = hold.write(&request(1)).unwrap();
        let released = hold.write(&request(2)).unwrap();
        assert_eq!(spool.status().unwrap().files, 0);
        assert_eq!(nothing(&spool), 0);
        hold.release(&released).unwrap();
        assert!(kept.exists() && !released.exists());

        // Let go with a request still held: it is published for the Collector or a flush.
        let hold_dir = hold.dir().to_path_buf();
        drop(hold);
        assert!(!hold_dir.exists());
        assert_eq!(spool.status().unwrap().files, 1);
        assert_eq!(nothing(&spool), 1);

        // A holder that died (its lock is gone, nothing else happened): the next flush
        // publishes and sends what it held.
        let hold = spool.hold().unwrap();
        hold.write(&request(3)).unwrap();
        // SAFETY: unlocking our own descriptor, as the kernel does when the holder dies.
        unsafe { libc::flock(hold._lock.as_raw_fd(), libc::LOCK_UN) };
        let hold_dir = hold.dir().to_path_buf();
        std::mem::forget(hold);
        let spans = flush_all(&spool);
        assert_eq!(spans, 3);
        assert!(!hold_dir.exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    /// Flushes everything to an endpoint that accepts all; returns the spans sent.
    fn flush_all(spool: &Spool) -> usize {
        let mut spans = 0;
        spool
            .flush(&mut |req| {
                spans += req.item_count();
                Ok(Accepted {
                    rejected_spans: 0,
                    error_message: String::new(),
                })
            })
            .unwrap();
        spans
    }

    /// A hold whose holder died, as the kernel leaves it: its lock free, its files in place.
    fn die(hold: Hold) -> PathBuf {
        // SAFETY: unlocking our own descriptor, as the kernel does when the holder dies.
        unsafe { libc::flock(hold._lock.as_raw_fd(), libc::LOCK_UN) };
        let dir = hold.dir().to_path_buf();
        std::mem::forget(hold);
        dir
    }

    #[test]
    fn a_dead_holders_requests_are_reported_then_published_by_the_next_hold_or_flush() {
        let dir = tempdir("dead-hold");
        let spool = Spool::new(&dir, 1 << 20);
        let hold = spool.hold().unwrap();
        let held = hold.write(&request(2)).unwrap();
        let hold_dir = die(hold);
        let s = spool.status().unwrap();
        assert_eq!((s.files, s.stranded), (0, 1), "reported, not yet waiting");

        // A file that cannot be moved (a directory in its way) keeps the hold, lock and all,
        // for the next publish.
        let obstacle = dir.join(held.file_name().unwrap());
        fs::create_dir(&obstacle).unwrap();
        let next = spool.hold().unwrap();
        assert!(held.exists() && hold_dir.join(LOCK).exists());
        assert_eq!(spool.status().unwrap().stranded, 1);
        fs::remove_dir(&obstacle).unwrap();

        // The next relay's hold publishes it.
        drop(next);
        let again = spool.hold().unwrap();
        assert!(!hold_dir.exists());
        let s = spool.status().unwrap();
        assert_eq!((s.files, s.stranded), (1, 0));
        drop(again);

        // A hold left without its lock file (by an earlier version) is nobody's either.
        let hold = spool.hold().unwrap();
        hold.write(&request(1)).unwrap();
        let hold_dir = die(hold);
        fs::remove_file(hold_dir.join(LOCK)).unwrap();
        assert_eq!(spool.status().unwrap().stranded, 1);
        let spans = flush_all(&spool);
        assert_eq!(spans, 3);
        assert!(!hold_dir.exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
