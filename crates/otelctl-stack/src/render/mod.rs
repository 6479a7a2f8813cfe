//! The configs of the local stack (Collector, Tempo, Grafana, Prometheus, VictoriaLogs), rendered from [`Ports`] and
//! [`DataDir`] with serde types: deterministic, every listener on 127.0.0.1, every path inside
//! the data directory.
//!
//! Each renderer returns a [`Rendered`]: files named relative to the data directory, the
//! directories the program needs, and environment variables for the program. Environment
//! values marked secret (upstream header values) are never written to a file or printed.

pub mod collector;
pub mod grafana;
pub mod overlay;
pub mod prometheus;
pub mod tempo;
pub mod victorialogs;

use std::path::{Path, PathBuf};

use serde::Serialize;

use otelctl_config::error::{Error, Result, Source};
use otelctl_config::paths::{ensure_private_dir, DataDir};
use otelctl_config::ports::Ports;
use otelctl_config::settings::StackSettings;

/// One of the programs of the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Service {
    Collector,
    Tempo,
    Grafana,
    /// The metrics store (+6).
    Prometheus,
    /// The logs store (+7).
    VictoriaLogs,
}

impl Service {
    pub const ALL: [Service; 5] = [
        Service::Collector,
        Service::Tempo,
        Service::Grafana,
        Service::Prometheus,
        Service::VictoriaLogs,
    ];

    pub fn parse(text: &str, origin: Source) -> Result<Self> {
        match text {
            "collector" => Ok(Service::Collector),
            "tempo" => Ok(Service::Tempo),
            "grafana" => Ok(Service::Grafana),
            "prometheus" => Ok(Service::Prometheus),
            "victorialogs" => Ok(Service::VictoriaLogs),
            _ => Err(Error::InvalidValue {
                what: "service",
                value: text.to_string(),
                origin,
                expected: "collector, tempo, grafana, prometheus or victorialogs".to_string(),
            }),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Service::Collector => "collector",
            Service::Tempo => "tempo",
            Service::Grafana => "grafana",
            Service::Prometheus => "prometheus",
            Service::VictoriaLogs => "victorialogs",
        }
    }

    /// Whether the stack settings ask for this service (the stores can be `off`).
    pub fn wanted(self, stack: &StackSettings) -> bool {
        match self {
            Service::Prometheus => stack.metrics_store.is_on(),
            Service::VictoriaLogs => stack.logs_store.is_on(),
            _ => true,
        }
    }

    /// The ports this service listens on, each with its human name (as in `otelctl ports`).
    pub fn ports(self, ports: &Ports) -> Vec<(&'static str, u16)> {
        let named = ports.named();
        let pick = |offsets: &[usize]| offsets.iter().map(|&i| named[i]).collect();
        match self {
            Service::Collector => pick(&[0, 4]),
            Service::Tempo => pick(&[1, 2, 5]),
            Service::Grafana => pick(&[3]),
            Service::Prometheus => pick(&[6]),
            Service::VictoriaLogs => pick(&[7]),
        }
    }
}

/// What a renderer needs: where the stack listens and keeps its state, and how it is configured.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub ports: &'a Ports,
    pub data: &'a DataDir,
    /// The spool the collector ingests (`$OTEL_SPOOL_DIR` or `<data>/spool`).
    pub spool: &'a Path,
    /// Dashboard JSON Grafana provisions (`$OTELCTL_DASHBOARDS_DIR` or `<data>/dashboards`).
    pub dashboards: &'a Path,
    pub stack: &'a StackSettings,
}

/// A rendered file, named relative to the data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    pub name: PathBuf,
    pub contents: String,
}

/// An environment variable for the program.
#[derive(Clone, PartialEq, Eq)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
    /// Never written to a file, printed or logged (credentials).
    pub secret: bool,
}

impl std::fmt::Debug for EnvVar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = if self.secret { "<secret>" } else { &self.value };
        write!(f, "{}={value:?}", self.name)
    }
}

/// Everything one service needs before it starts.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    pub files: Vec<RenderedFile>,
    /// Directories the program writes to (created private before it starts).
    pub dirs: Vec<PathBuf>,
    pub env: Vec<EnvVar>,
    /// Command-line flags for the program (the stores take their settings as flags; they are
    /// also written to `config/<service>.args`, one a line, for people and golden tests).
    pub args: Vec<String>,
}

impl Rendered {
    /// The file with this name (relative to the data directory).
    pub fn file(&self, name: &str) -> Option<&RenderedFile> {
        self.files.iter().find(|f| f.name == Path::new(name))
    }

    /// Writes the files under `base` (the data directory, or `--out DIR`), atomically each,
    /// creating parents private. Returns the paths written.
    pub fn write_files(&self, base: &Path) -> Result<Vec<PathBuf>> {
        let mut written = Vec::new();
        for file in &self.files {
            let path = base.join(&file.name);
            if let Some(parent) = path.parent() {
                ensure_private_dir(parent)?;
            }
            write_atomically(&path, file.contents.as_bytes())?;
            written.push(path);
        }
        Ok(written)
    }

    /// Creates the directories the program needs (private).
    pub fn create_dirs(&self) -> Result<()> {
        self.dirs.iter().try_for_each(|d| ensure_private_dir(d))
    }
}

/// The header of every rendered YAML file.
const HEADER: &str = "# Rendered by otelctl from the project's ports and data directory.\n\
# Regenerated on every start: edit settings (see `otelctl render --help`), not this file.\n";

/// Serialises a config as YAML with the otelctl header.
pub(crate) fn to_yaml<T: Serialize>(value: &T) -> String {
    let body = serde_yaml::to_string(value).expect("rendered configs are plain data");
    format!("{HEADER}{body}")
}

/// The text of an `ARGS_FILE`: a header, then one flag a line.
pub(crate) fn args_text(service: &str, args: &[String]) -> String {
    let mut text = format!(
        "# Rendered by otelctl: the flags `otelctl run {service}` starts it with, one a line.\n"
    );
    for a in args {
        text.push_str(a);
        text.push('\n');
    }
    text
}

/// `127.0.0.1:<port>`.
pub(crate) fn loopback(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

/// A path as text for a config (configs are UTF-8; non-UTF-8 paths are replaced lossily).
pub(crate) fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| Error::io("cannot write", &tmp, e))?;
    f.write_all(bytes)
        .map_err(|e| Error::io("cannot write", &tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| Error::io("cannot replace", path, e))
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use otelctl_config::root::{ProjectRoot, RootSource};

    /// A fixed project: root `/p`, base 20000, the local data layout.
    pub fn fixture() -> (Ports, DataDir, PathBuf) {
        let root = ProjectRoot::new_unchecked("/p", RootSource::Flag);
        let ports = Ports::for_root(&root, Some(20000), Default::default());
        let data = DataDir::local(Path::new("/p"));
        let spool = data.spool();
        (ports, data, spool)
    }

    /// The fixed project with its stack settings, lending a render [`Context`].
    pub struct Fixture {
        pub ports: Ports,
        pub data: DataDir,
        pub spool: PathBuf,
        pub dashboards: PathBuf,
        pub stack: otelctl_config::settings::StackSettings,
    }

    impl Fixture {
        pub fn new(stack: otelctl_config::settings::StackSettings) -> Self {
            let (ports, data, spool) = fixture();
            let dashboards = data.dashboards();
            Fixture {
                ports,
                data,
                spool,
                dashboards,
                stack,
            }
        }
        pub fn cx(&self) -> Context<'_> {
            Context {
                ports: &self.ports,
                data: &self.data,
                spool: &self.spool,
                dashboards: &self.dashboards,
                stack: &self.stack,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_own_the_documented_ports() {
        let (ports, _, _) = testing::fixture();
        let p = |s: Service| {
            Service::ports(s, &ports)
                .iter()
                .map(|x| x.1)
                .collect::<Vec<_>>()
        };
        assert_eq!(p(Service::Collector), vec![20000, 20004]);
        assert_eq!(p(Service::Tempo), vec![20001, 20002, 20005]);
        assert_eq!(p(Service::Grafana), vec![20003]);
        assert_eq!(p(Service::Prometheus), vec![20006]);
        assert_eq!(p(Service::VictoriaLogs), vec![20007]);
    }

    #[test]
    fn files_are_written_private_and_whole() {
        use std::os::unix::fs::PermissionsExt;
        let base = std::env::temp_dir().join(format!("otelctl-render-{}", std::process::id()));
        let r = Rendered {
            files: vec![RenderedFile {
                name: "a/b.yaml".into(),
                contents: "x: 1\n".into(),
            }],
            ..Default::default()
        };
        let written = r.write_files(&base).unwrap();
        assert_eq!(std::fs::read_to_string(&written[0]).unwrap(), "x: 1\n");
        let mode = std::fs::metadata(&written[0]).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0);
        std::fs::remove_dir_all(&base).unwrap();
    }
}
