//! Syncing dashboards into provisioning directories: atomic, idempotent, one sync at a time.
//!
//! Each target directory (`<data>/dashboards/builtin/`, `<data>/dashboards/<project>/`) holds
//! exactly one `<uid>.json` per dashboard. A sync compares the wanted files with what is there;
//! a directory with changes is rebuilt beside itself (`.<name>.new-…`), flushed to disk, and
//! swapped in with one `renameat2(RENAME_EXCHANGE)` (`renamex_np(RENAME_SWAP)` on macOS), so
//! Grafana and readers see the old set or the new set, never a mix; a failure before the swap
//! leaves the old set as it was. Syncs hold an exclusive `flock` on `<data>/dashboards/.lock`,
//! so two at once run one after the other (the second then finds nothing to change).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{file_name, to_file_bytes, Dashboard};
use otelctl_config::env::EnvVars;
use otelctl_config::error::{Error, Result};
use otelctl_config::paths::ensure_private_dir;

/// What a sync does (or would do) to one dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Added,
    Updated,
    Removed,
    Unchanged,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Added => "added",
            Action::Updated => "updated",
            Action::Removed => "removed",
            Action::Unchanged => "unchanged",
        }
    }
    /// The verb for a dry run: "would add".
    pub fn would(self) -> &'static str {
        match self {
            Action::Added => "would add",
            Action::Updated => "would update",
            Action::Removed => "would remove",
            Action::Unchanged => "unchanged",
        }
    }
}

/// One line of a sync report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub action: Action,
    /// The dashboard uid (for removed files: the file name without `.json`).
    pub uid: String,
    /// The title (empty for removed files).
    pub title: String,
    /// Where: a file path (file mode) or a Grafana URL path (API mode).
    pub location: String,
}

/// A directory and the dashboards it should hold.
#[derive(Debug, Clone)]
pub struct DirTarget {
    pub dir: PathBuf,
    pub dashboards: Vec<Dashboard>,
}

/// Holds an exclusive `flock` until dropped.
pub struct SyncLock {
    _file: File,
}

/// Takes the exclusive sync lock on `path` (created if missing), waiting for other holders.
pub fn lock(path: &Path) -> Result<SyncLock> {
    use std::os::fd::AsRawFd;
    if let Some(parent) = path.parent() {
        ensure_private_dir(parent)?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| Error::io("cannot open lock file", path, e))?;
    loop {
        // SAFETY: flock on a file descriptor we own for the duration of the call.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if rc == 0 {
            return Ok(SyncLock { _file: file });
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(Error::io("cannot lock", path, err));
        }
    }
}

/// Compares the wanted files of each target with the directory's contents.
pub fn plan(targets: &[DirTarget]) -> Result<Vec<Change>> {
    let mut changes = Vec::new();
    for t in targets {
        changes.extend(plan_dir(t)?);
    }
    Ok(changes)
}

fn plan_dir(t: &DirTarget) -> Result<Vec<Change>> {
    let mut changes = Vec::new();
    let existing = read_dir_files(&t.dir)?;
    let wanted = wanted_files(t);
    for d in &t.dashboards {
        let name = file_name(&d.uid);
        let action = match existing.get(&name) {
            None => Action::Added,
            Some(old) if *old == wanted[&name] => Action::Unchanged,
            Some(_) => Action::Updated,
        };
        changes.push(Change {
            action,
            uid: d.uid.clone(),
            title: d.title.clone(),
            location: t.dir.join(&name).display().to_string(),
        });
    }
    for name in existing.keys().filter(|n| !wanted.contains_key(*n)) {
        changes.push(Change {
            action: Action::Removed,
            uid: name.strip_suffix(".json").unwrap_or(name).to_string(),
            title: String::new(),
            location: t.dir.join(name).display().to_string(),
        });
    }
    Ok(changes)
}

fn wanted_files(t: &DirTarget) -> BTreeMap<String, Vec<u8>> {
    t.dashboards
        .iter()
        .map(|d| (file_name(&d.uid), to_file_bytes(d)))
        .collect()
}

/// The regular files of `dir` (name -> contents); a missing directory is empty.
fn read_dir_files(dir: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut out = BTreeMap::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io("cannot list", dir, e)),
    };
    for e in entries {
        let e = e.map_err(|e| Error::io("cannot list", dir, e))?;
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if path.is_file() {
            let bytes = std::fs::read(&path).map_err(|e| Error::io("cannot read", &path, e))?;
            out.insert(name, bytes);
        } else {
            // Anything else (a directory) is not ours: report it as removed content too.
            out.insert(name, Vec::new());
        }
    }
    Ok(out)
}

/// Syncs every target: under the lock, plans, and (unless `dry_run`) rewrites each directory
/// that has changes, atomically. Returns the changes (all `Unchanged` when nothing was to do).
pub fn sync(lock_path: &Path, targets: &[DirTarget], dry_run: bool) -> Result<Vec<Change>> {
    // A dry run writes nothing, not even the lock file (it locks when there is one).
    let _guard = match (dry_run, lock_path.parent()) {
        (true, Some(parent)) if !parent.is_dir() => None,
        _ => Some(lock(lock_path)?),
    };
    let mut all = Vec::new();
    let mut dirty = Vec::new();
    for t in targets {
        let changes = plan_dir(t)?;
        // A missing directory is created even when empty: Grafana's provider expects it.
        if changes.iter().any(|c| c.action != Action::Unchanged) || !t.dir.is_dir() {
            dirty.push(t);
        }
        all.extend(changes);
    }
    if !dry_run {
        for t in dirty {
            replace_dir(&t.dir, &wanted_files(t))?;
        }
    }
    Ok(all)
}

/// Replaces the contents of `dir` with `files`, atomically (see the module docs).
pub fn replace_dir(dir: &Path, files: &BTreeMap<String, Vec<u8>>) -> Result<()> {
    let parent = dir.parent().ok_or_else(|| {
        Error::failed(
            format!("cannot sync into {}", dir.display()),
            "it has no parent directory",
        )
    })?;
    ensure_private_dir(parent)?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    remove_stale_staging(parent, &name);
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let staging = parent.join(format!(".{name}.new-{}-{stamp}", std::process::id()));
    let result = fill_and_swap(dir, &staging, files);
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

fn fill_and_swap(dir: &Path, staging: &Path, files: &BTreeMap<String, Vec<u8>>) -> Result<()> {
    std::fs::create_dir(staging).map_err(|e| Error::io("cannot create directory", staging, e))?;
    for (name, bytes) in files {
        let path = staging.join(name);
        let mut f = File::create(&path).map_err(|e| Error::io("cannot create", &path, e))?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::io("cannot write", &path, e))?;
    }
    sync_dir(staging)?;
    fault_point("before-swap", dir)?;
    if !dir.exists() && std::fs::symlink_metadata(dir).is_err() {
        std::fs::rename(staging, dir).map_err(|e| Error::io("cannot move into place", dir, e))?;
    } else {
        match exchange(staging, dir) {
            Ok(()) => {}
            Err(e) if swap_unsupported(&e) => {
                // Not atomic, but the gap is two renames long: move the old set aside first.
                let aside = staging.with_extension("old");
                std::fs::rename(dir, &aside).map_err(|e| Error::io("cannot move aside", dir, e))?;
                if let Err(e) = std::fs::rename(staging, dir) {
                    let _ = std::fs::rename(&aside, dir);
                    return Err(Error::io("cannot move into place", dir, e));
                }
                let _ = std::fs::remove_dir_all(&aside);
            }
            Err(e) => return Err(Error::io("cannot swap in the new dashboards at", dir, e)),
        }
        // `staging` now holds the previous set.
        let _ = std::fs::remove_dir_all(staging);
    }
    if let Some(parent) = dir.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Test hook (debug builds only): `OTELCTL_TEST_FAULT=before-swap` makes a sync fail after the
/// new set was written and before it is swapped in, to prove the old set survives.
fn fault_point(name: &str, dir: &Path) -> Result<()> {
    if cfg!(debug_assertions)
        && otelctl_config::env::os(EnvVars::OTELCTL_TEST_FAULT).is_some_and(|v| v == name)
    {
        return Err(Error::io(
            "cannot swap in the new dashboards at",
            dir,
            std::io::Error::other(format!("injected fault {name}")),
        ));
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io("cannot flush directory", dir, e))
}

/// Removes staging directories left by an interrupted sync (we hold the lock, so none is live).
fn remove_stale_staging(parent: &Path, name: &str) {
    let prefix = format!(".{name}.new-");
    if let Ok(entries) = std::fs::read_dir(parent) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

fn swap_unsupported(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::ENOTSUP)
    )
}

/// Atomically exchanges two paths.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let a = CString::new(a.as_os_str().as_bytes())?;
    let b = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: two valid NUL-terminated paths; renameat2 through syscall works on glibc and musl.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(target_os = "macos")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let a = CString::new(a.as_os_str().as_bytes())?;
    let b = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: two valid NUL-terminated paths.
    let rc = unsafe { libc::renamex_np(a.as_ptr(), b.as_ptr(), libc::RENAME_SWAP) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "macos")))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from_raw_os_error(libc::ENOSYS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swap_replaces_contents_and_leaves_no_staging() {
        let base = tempdir();
        let dir = base.join("dash/p");
        let mut files = BTreeMap::new();
        files.insert("a.json".to_string(), b"1".to_vec());
        replace_dir(&dir, &files).unwrap();
        files.remove("a.json");
        files.insert("b.json".to_string(), b"2".to_vec());
        replace_dir(&dir, &files).unwrap();
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec!["b.json"]);
        let siblings = std::fs::read_dir(base.join("dash")).unwrap().count();
        assert_eq!(siblings, 1);
        std::fs::remove_dir_all(&base).unwrap();
    }

    fn tempdir() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "otelctl-files-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
