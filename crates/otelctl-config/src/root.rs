//! Finding the project root, spelled exactly as devenv's `config.devenv.root` would be.
//!
//! The root is hashed to derive ports, so its spelling matters: absolute, no trailing slash,
//! symlinks *not* resolved (a logical path, like `$PWD`). Order: `--root`, then `DEVENV_ROOT`,
//! then the enclosing git work tree, then the current directory.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use crate::env::{self, EnvVars};
use crate::error::{Error, Result};

/// Where the root came from; reported by `otelctl ports` and in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootSource {
    Flag,
    DevenvRoot,
    GitWorkTree,
    CurrentDir,
}

impl RootSource {
    pub fn describe(self) -> &'static str {
        match self {
            RootSource::Flag => "--root",
            RootSource::DevenvRoot => "$DEVENV_ROOT",
            RootSource::GitWorkTree => "the enclosing git work tree",
            RootSource::CurrentDir => "the current directory",
        }
    }
}

/// A resolved, validated project root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRoot {
    path: PathBuf,
    source: RootSource,
}

impl ProjectRoot {
    /// The root as a path (absolute, normalised, symlinks kept).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The exact bytes that are hashed; equal to Nix's `toString config.devenv.root`.
    pub fn as_bytes(&self) -> &[u8] {
        self.path.as_os_str().as_bytes()
    }

    /// The root as text for display and JSON (lossy only for non-UTF-8 paths).
    pub fn display(&self) -> String {
        self.path.to_string_lossy().into_owned()
    }

    pub fn source(&self) -> RootSource {
        self.source
    }

    /// Fails unless the root exists (for commands that write under it).
    pub fn require_existing(&self) -> Result<()> {
        if self.path.is_dir() {
            Ok(())
        } else {
            Err(Error::Root {
                path: self.path.clone(),
                origin: self.source.describe(),
                problem: "does not exist".to_string(),
            })
        }
    }

    /// A root taken as given, without checks: for tests and callers that validated it already.
    pub fn new_unchecked(path: impl Into<PathBuf>, source: RootSource) -> Self {
        ProjectRoot {
            path: path.into(),
            source,
        }
    }
}

/// Inputs to root resolution, gathered by the caller (so tests need not touch the process env).
#[derive(Debug, Default, Clone)]
pub struct RootInputs {
    /// `--root DIR`, if given.
    pub flag: Option<OsString>,
    /// `$DEVENV_ROOT`, if set and non-empty.
    pub devenv_root: Option<OsString>,
    /// `$PWD`, if set: used to keep the logical spelling of the current directory.
    pub pwd: Option<OsString>,
}

impl RootInputs {
    /// Reads `DEVENV_ROOT` and `PWD` from the process environment.
    pub fn from_env(flag: Option<OsString>) -> Self {
        RootInputs {
            flag,
            devenv_root: env::os(EnvVars::DEVENV_ROOT),
            pwd: env::os(EnvVars::PWD),
        }
    }
}

/// Resolves and validates the project root.
pub fn resolve(inputs: &RootInputs) -> Result<ProjectRoot> {
    let explicit = match (&inputs.flag, &inputs.devenv_root) {
        (Some(flag), _) => Some((PathBuf::from(flag), RootSource::Flag)),
        (None, Some(devenv)) => Some((PathBuf::from(devenv), RootSource::DevenvRoot)),
        (None, None) => None,
    };
    let (path, source) = match explicit {
        // The usual case inside a devenv shell ($DEVENV_ROOT is absolute): no need for the
        // current directory, which costs a getcwd and two stats on every `span` and `env`.
        Some((raw, source)) if raw.is_absolute() => (normalize(&raw), source),
        explicit => {
            let cwd = logical_cwd(inputs.pwd.as_deref())?;
            let (raw, source) = explicit
                .or_else(|| enclosing_git_work_tree(&cwd).map(|g| (g, RootSource::GitWorkTree)))
                .unwrap_or_else(|| (cwd.clone(), RootSource::CurrentDir));
            (normalize(&cwd.join(raw)), source)
        }
    };
    check_readable_dir(&path, source)?;
    Ok(ProjectRoot { path, source })
}

/// The current directory as the shell spells it: `$PWD` when it names the same directory.
fn logical_cwd(pwd: Option<&OsStr>) -> Result<PathBuf> {
    let physical = std::env::current_dir()
        .map_err(|e| Error::io("cannot read the current directory", ".", e))?;
    if let Some(pwd) = pwd.map(Path::new).filter(|p| p.is_absolute()) {
        if same_file(pwd, &physical) {
            return Ok(pwd.to_path_buf());
        }
    }
    Ok(physical)
}

fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// Walks up from `start` to the first directory holding `.git` (a directory or a file).
fn enclosing_git_work_tree(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join(".git").symlink_metadata().is_ok())
        .map(Path::to_path_buf)
}

/// Lexical normalisation: drops `.` and repeated or trailing slashes, folds `..`; no symlink lookups.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for component in path.components() {
        match component {
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(part) => out.push(part),
        }
    }
    out
}

fn check_readable_dir(path: &Path, source: RootSource) -> Result<()> {
    let problem = match std::fs::metadata(path) {
        // A root that does not exist yet is fine for pure computations (`ports`, `env`);
        // commands that write call `ProjectRoot::require_existing`.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => Some(format!("cannot be read ({e})")),
        Ok(meta) if !meta.is_dir() => Some("is not a directory".to_string()),
        Ok(_) if !accessible(path) => Some("is not readable".to_string()),
        Ok(_) => None,
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(Error::Root {
            path: path.to_path_buf(),
            origin: source.describe(),
            problem,
        }),
    }
}

fn accessible(path: &Path) -> bool {
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    unsafe { libc::access(c.as_ptr(), libc::R_OK | libc::X_OK) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_drops_trailing_slash_dots_and_doubles() {
        assert_eq!(normalize(Path::new("/a/b/")), PathBuf::from("/a/b"));
        assert_eq!(normalize(Path::new("/a//./b")), PathBuf::from("/a/b"));
        assert_eq!(normalize(Path::new("/a/b/../c")), PathBuf::from("/a/c"));
        assert_eq!(normalize(Path::new("/")), PathBuf::from("/"));
    }

    #[test]
    fn flag_wins_over_devenv_root() {
        let dir = std::env::temp_dir();
        let inputs = RootInputs {
            flag: Some(dir.clone().into()),
            devenv_root: Some("/nonexistent-devenv-root".into()),
            pwd: None,
        };
        let root = resolve(&inputs).unwrap();
        assert_eq!(root.source(), RootSource::Flag);
        assert_eq!(root.path(), normalize(&dir));
    }

    #[test]
    fn missing_root_resolves_but_cannot_be_required() {
        let inputs = RootInputs {
            flag: Some("/definitely/not/here/".into()),
            ..Default::default()
        };
        let root = resolve(&inputs).unwrap();
        assert_eq!(root.path(), Path::new("/definitely/not/here"));
        let err = root.require_existing().unwrap_err();
        assert_eq!(err.exit_code(), crate::exit::USAGE);
        assert!(err.to_string().contains("/definitely/not/here"));
        assert!(err.to_string().contains("does not exist"));
    }

    #[test]
    fn a_file_is_not_a_root() {
        let file = std::env::temp_dir().join(format!("otelctl-root-file-{}", std::process::id()));
        std::fs::write(&file, b"x").unwrap();
        for flag in [file.clone(), file.join("below")] {
            let inputs = RootInputs {
                flag: Some(flag.into()),
                ..Default::default()
            };
            let err = resolve(&inputs).unwrap_err();
            assert_eq!(err.exit_code(), crate::exit::USAGE, "{err}");
        }
        std::fs::remove_file(file).unwrap();
    }
}
