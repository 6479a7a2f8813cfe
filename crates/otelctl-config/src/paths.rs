//! Where a project's stack keeps its state, and how state directories are created (private).
//!
//! Local mode: `<root>/.devenv/otel/`; system mode: `$HOME/.otel/`. Both hold `spool/` and
//! `dashboards/<project>/`; local mode adds `tempo-data/`, `tempo-wal/`, `grafana-data/`,
//! `grafana-provisioning/`, `dashboards/builtin/`, `embedded/`, and the stack's own `config/`
//! (rendered configs), `collector-storage/` (spool read offsets) and `run/` (pid files of
//! running services). Nothing here creates a directory until a command that writes calls
//! [`ensure_private_dir`].

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::detect::Mode;
use crate::error::{Error, Result};

/// The data directory of one stack (a project's local one, or the user's system one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    path: PathBuf,
}

impl DataDir {
    /// `<root>/.devenv/otel`.
    pub fn local(root: &Path) -> Self {
        DataDir {
            path: root.join(".devenv").join("otel"),
        }
    }

    /// `$HOME/.otel`.
    pub fn system(home: &Path) -> Self {
        DataDir {
            path: home.join(".otel"),
        }
    }

    /// A data directory at an explicit path (`OTELCTL_DATA_DIR`).
    pub fn at(path: impl Into<PathBuf>) -> Self {
        DataDir { path: path.into() }
    }

    /// The data directory for a mode; system mode without `$HOME` falls back to the local one.
    pub fn for_mode(mode: Mode, root: &Path, home: Option<&Path>) -> Self {
        match (mode, home) {
            (Mode::System, Some(home)) => DataDir::system(home),
            _ => DataDir::local(root),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
    pub fn tempo_data(&self) -> PathBuf {
        self.path.join("tempo-data")
    }
    pub fn tempo_wal(&self) -> PathBuf {
        self.path.join("tempo-wal")
    }
    pub fn grafana_data(&self) -> PathBuf {
        self.path.join("grafana-data")
    }
    pub fn grafana_provisioning(&self) -> PathBuf {
        self.path.join("grafana-provisioning")
    }
    /// Grafana provisioning: `grafana-provisioning/datasources/`.
    pub fn grafana_datasources(&self) -> PathBuf {
        self.grafana_provisioning().join("datasources")
    }
    /// Grafana provisioning: `grafana-provisioning/dashboards/` (provider files).
    pub fn grafana_dashboard_providers(&self) -> PathBuf {
        self.grafana_provisioning().join("dashboards")
    }
    /// Dashboard JSON that Grafana provisions, one folder per subdirectory (`builtin/`, and
    /// one `<project>/` each): the provider reads it with `foldersFromFilesStructure`.
    pub fn dashboards(&self) -> PathBuf {
        self.path.join("dashboards")
    }
    /// Built-in dashboards JSON (Grafana folder "builtin").
    pub fn builtin_dashboards(&self) -> PathBuf {
        self.dashboards().join("builtin")
    }
    /// A project's own dashboards JSON, read by a provider with the project's folder:
    /// `<data>/dashboards/<project>/`. In local mode `project` is the project's name; in system
    /// mode this is `~/.otel/dashboards/<project>/`, which the system Grafana provisions as one
    /// folder per project.
    pub fn project_dashboards(&self, project: &str) -> PathBuf {
        self.dashboards().join(project)
    }
    /// State of the embedded receiver/viewer (`otelctl up --embedded`).
    pub fn embedded(&self) -> PathBuf {
        self.path.join("embedded")
    }
    /// Rendered configs: `collector.yaml`, `tempo.yaml`, `grafana.env`.
    pub fn config(&self) -> PathBuf {
        self.path.join("config")
    }
    /// Prometheus' TSDB (the metrics store).
    pub fn prometheus_data(&self) -> PathBuf {
        self.path.join("prometheus-data")
    }
    /// VictoriaLogs' storage (the logs store).
    pub fn victorialogs_data(&self) -> PathBuf {
        self.path.join("victorialogs-data")
    }
    /// The collector's `file_storage` (which spool files it has read, and how far).
    pub fn collector_storage(&self) -> PathBuf {
        self.path.join("collector-storage")
    }
    /// Pid files of the services `otelctl run` started (`<service>.pid`).
    pub fn run(&self) -> PathBuf {
        self.path.join("run")
    }
    /// The spool of this data directory (see [`spool_dir`] for the override).
    pub fn spool(&self) -> PathBuf {
        self.path.join("spool")
    }
}

/// The spool directory: `$OTEL_SPOOL_DIR` when set, else the data directory's `spool/`.
pub fn spool_dir(explicit: Option<&Path>, data: &DataDir) -> PathBuf {
    match explicit {
        Some(dir) => dir.to_path_buf(),
        None => data.spool(),
    }
}

/// Creates `dir` (and missing parents) with mode 0700; tightens an existing `dir` to 0700.
pub fn ensure_private_dir(dir: &Path) -> Result<()> {
    match std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
    {
        Ok(()) => {}
        Err(e) => return Err(Error::io("cannot create directory", dir, e)),
    }
    let meta = std::fs::metadata(dir).map_err(|e| Error::io("cannot inspect directory", dir, e))?;
    if meta.permissions().mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io("cannot make directory private", dir, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_the_documented_tree() {
        let d = DataDir::local(Path::new("/p"));
        assert_eq!(d.path(), Path::new("/p/.devenv/otel"));
        assert_eq!(d.spool(), Path::new("/p/.devenv/otel/spool"));
        assert_eq!(d.tempo_wal(), Path::new("/p/.devenv/otel/tempo-wal"));
        assert_eq!(
            d.builtin_dashboards(),
            Path::new("/p/.devenv/otel/dashboards/builtin")
        );
        assert_eq!(
            d.grafana_datasources(),
            Path::new("/p/.devenv/otel/grafana-provisioning/datasources")
        );
        let s = DataDir::for_mode(Mode::System, Path::new("/p"), Some(Path::new("/home/u")));
        assert_eq!(s.spool(), Path::new("/home/u/.otel/spool"));
        assert_eq!(
            s.project_dashboards("web"),
            Path::new("/home/u/.otel/dashboards/web")
        );
        assert_eq!(spool_dir(Some(Path::new("/x")), &s), Path::new("/x"));
    }

    #[test]
    fn created_directories_are_private() {
        let base = std::env::temp_dir().join(format!("otelctl-paths-{}", std::process::id()));
        let dir = base.join("a/b");
        ensure_private_dir(&dir).unwrap();
        for d in [&base.join("a"), &dir] {
            let mode = std::fs::metadata(d).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{d:?}");
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        ensure_private_dir(&dir).unwrap();
        assert_eq!(
            std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        std::fs::remove_dir_all(&base).unwrap();
    }
}
