//! Reading the store that came before this one (otelctl up to the SQLite store): one protobuf
//! file per trace in `<embedded>/traces/<hex id>.pb`, plus a write-ahead log in
//! `<embedded>/wal/` (slot files `slot-<k>.wal`, and `<n>.log` segments of the format before
//! those). Read-only: [`crate::Store::open`] imports what this yields, and removes the old files
//! only once the import is committed.
//!
//! Log formats, as that code wrote them: a slot starts with a 28-byte header (magic
//! `otelwal\x01`, segment number u64 LE (0: free), seed u64 LE, CRC-32 of those 24 bytes); then
//! records `len u32 LE | crc32 u32 LE | kind u8 | payload`, the CRC over the seed (slots only),
//! the kind and the payload; kind 1 is an `ExportTraceServiceRequest` (protobuf), kind 2 a clear.
//! The log ends at an all-zero record header or at the first record that does not check out
//! (a torn write, never acknowledged).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use otelctl_otlp::ExportTraceServiceRequest;

const SLOT_MAGIC: &[u8; 8] = b"otelwal\x01";
const SLOT_HEADER: usize = 28;
const HEADER: usize = 9;
const MAX_RECORD: usize = 256 * 1024 * 1024;

/// What the old store holds, in the order to replay it.
#[derive(Debug, Default)]
pub struct Legacy {
    /// Exports to import, oldest first (trace files first, then the log after its last clear).
    pub exports: Vec<ExportTraceServiceRequest>,
    /// What could not be read (named, with why).
    pub warnings: Vec<String>,
    /// The old files and directories, to remove once imported.
    pub paths: Vec<PathBuf>,
}

/// The old store's trace directory and log directory under `embedded`.
pub fn dirs(embedded: &Path) -> [PathBuf; 2] {
    [embedded.join("traces"), embedded.join("wal")]
}

/// Whether `embedded` holds files of the old store.
pub fn present(embedded: &Path) -> bool {
    dirs(embedded).iter().any(|d| d.exists())
}

/// Reads everything the old store left in `embedded`.
pub fn read(embedded: &Path) -> Legacy {
    let [traces, wal] = dirs(embedded);
    let mut out = Legacy::default();
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&traces) {
        for e in entries.flatten() {
            let path = e.path();
            if path.extension().is_some_and(|x| x == "pb") {
                let mtime = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(std::time::UNIX_EPOCH);
                files.push((mtime, path));
            }
        }
    }
    files.sort();
    for (_, path) in files {
        match std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| ExportTraceServiceRequest::from_protobuf(&b).map_err(|e| e.to_string()))
        {
            Ok(req) => out.exports.push(req),
            Err(why) => out
                .warnings
                .push(format!("cannot read trace file {} ({why})", path.display())),
        }
    }
    for (kind, payload) in read_log(&wal, &mut out.warnings) {
        match kind {
            1 => match ExportTraceServiceRequest::from_protobuf(&payload) {
                Ok(req) => out.exports.push(req),
                Err(e) => out
                    .warnings
                    .push(format!("skipped an unreadable log record: {e}")),
            },
            // A clear: nothing before it was to be kept.
            2 => out.exports.clear(),
            other => out
                .warnings
                .push(format!("skipped a log record of unknown kind {other}")),
        }
    }
    out.paths = [traces, wal].into_iter().filter(|p| p.exists()).collect();
    out
}

/// The log's records `(kind, payload)`, oldest first.
fn read_log(dir: &Path, warnings: &mut Vec<String>) -> Vec<(u8, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    // Segment number -> (path, seed); the earlier format's segments have no seed.
    let mut segments: BTreeMap<u64, (PathBuf, Option<u64>)> = BTreeMap::new();
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if let Some(n) = name.strip_suffix(".log").and_then(|n| n.parse().ok()) {
            segments.entry(n).or_insert((path, None));
            continue;
        }
        if !(name.starts_with("slot-") && name.ends_with(".wal")) {
            continue;
        }
        let mut h = [0u8; SLOT_HEADER];
        let ok = File::open(&path)
            .and_then(|mut f| f.read_exact(&mut h))
            .is_ok();
        let number = u64::from_le_bytes(h[8..16].try_into().expect("8 bytes"));
        let seed = u64::from_le_bytes(h[16..24].try_into().expect("8 bytes"));
        let crc = u32::from_le_bytes(h[24..].try_into().expect("4 bytes"));
        if ok && &h[..8] == SLOT_MAGIC && crc32fast::hash(&h[..24]) == crc && number != 0 {
            match segments.entry(number) {
                std::collections::btree_map::Entry::Occupied(_) => warnings.push(format!(
                    "log slot {} claims a segment already read; skipped",
                    path.display()
                )),
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert((path, Some(seed)));
                }
            }
        } else if ok && h.iter().any(|b| *b != 0) && number != 0 && &h[..8] == SLOT_MAGIC {
            warnings.push(format!(
                "log slot {} has a damaged header; its records cannot be read",
                path.display()
            ));
        }
    }
    let mut records = Vec::new();
    for (_, (path, seed)) in segments {
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                warnings.push(format!("cannot read log segment {}: {e}", path.display()));
                continue;
            }
        };
        let mut at = if seed.is_some() { SLOT_HEADER } else { 0 };
        loop {
            let Some(head) = bytes.get(at..at + HEADER) else {
                if bytes[at.min(bytes.len())..].iter().any(|b| *b != 0) {
                    warnings.push(format!(
                        "log segment {} ends in a torn record at byte {at} (never acknowledged)",
                        path.display()
                    ));
                }
                break;
            };
            if head.iter().all(|b| *b == 0) {
                break;
            }
            let len = u32::from_le_bytes(head[0..4].try_into().expect("4 bytes")) as usize;
            let crc = u32::from_le_bytes(head[4..8].try_into().expect("4 bytes"));
            let kind = head[8];
            let body = (len <= MAX_RECORD)
                .then(|| bytes.get(at + HEADER..at + HEADER + len))
                .flatten();
            let Some(body) = body.filter(|b| checksum(seed, kind, b) == crc) else {
                warnings.push(format!(
                    "log segment {} has a torn or damaged record at byte {at}; the rest of it is skipped",
                    path.display()
                ));
                break;
            };
            records.push((kind, body.to_vec()));
            at += HEADER + len;
        }
    }
    records
}

fn checksum(seed: Option<u64>, kind: u8, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    if let Some(seed) = seed {
        h.update(&seed.to_le_bytes());
    }
    h.update(&[kind]);
    h.update(payload);
    h.finalize()
}
