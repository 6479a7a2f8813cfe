//! Finding the real programs of the stack and asking them what they are.
//!
//! A program is taken from `--bin`, else `OTELCTL_{COLLECTOR,TEMPO,GRAFANA}_BIN`, else the
//! first of these names on `PATH`: `otelcol-contrib`, `otelcol` (collector), `tempo`,
//! `grafana`, `grafana-server`, `prometheus`, `victoria-logs` (nixpkgs' `victorialogs`) or
//! `victorialogs`. Tempo's major version decides its config (`tempo -version`);
//! the collector's component list decides whether it can read the spool itself
//! (`otelcol components`).

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::render::collector::{self, Features};
use crate::render::tempo::{self, TempoMajor};
use crate::render::{EnvVar, Service};
use otelctl_config::env::EnvVars;
use otelctl_config::error::{Error, Result};
use otelctl_config::settings::StackSettings;

/// How long asking a program for its version or components may take.
pub const QUERY_BUDGET: Duration = Duration::from_secs(10);

/// The names looked up on `PATH`, in order.
pub fn path_names(service: Service) -> &'static [&'static str] {
    match service {
        Service::Collector => &["otelcol-contrib", "otelcol"],
        Service::Tempo => &["tempo"],
        Service::Grafana => &["grafana", "grafana-server"],
        Service::Prometheus => &["prometheus"],
        Service::VictoriaLogs => &["victoria-logs", "victorialogs"],
    }
}

/// The environment variable naming the program.
pub fn env_name(service: Service) -> &'static str {
    match service {
        Service::Collector => EnvVars::OTELCTL_COLLECTOR_BIN,
        Service::Tempo => EnvVars::OTELCTL_TEMPO_BIN,
        Service::Grafana => EnvVars::OTELCTL_GRAFANA_BIN,
        Service::Prometheus => EnvVars::OTELCTL_PROMETHEUS_BIN,
        Service::VictoriaLogs => EnvVars::OTELCTL_VICTORIALOGS_BIN,
    }
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Finds the program for `service`: `explicit` (`--bin`), the environment variable, `PATH`.
pub fn find(service: Service, explicit: Option<&Path>, stack: &StackSettings) -> Result<PathBuf> {
    let from_env = match service {
        Service::Collector => stack.collector_bin.as_deref(),
        Service::Tempo => stack.tempo_bin.as_deref(),
        Service::Grafana => stack.grafana_bin.as_deref(),
        Service::Prometheus => stack.prometheus_bin.as_deref(),
        Service::VictoriaLogs => stack.victorialogs_bin.as_deref(),
    };
    for (given, origin) in [(explicit, "--bin"), (from_env, env_name(service))] {
        if let Some(path) = given {
            let resolved = if path.components().count() == 1 && !path.exists() {
                search_path(path.as_os_str())
            } else {
                Some(path.to_path_buf())
            };
            return match resolved {
                Some(p) if is_executable(&p) => Ok(p),
                _ => Err(Error::NotFound {
                    what: format!("{} program {:?} (from {origin})", service.name(), path),
                    why: "not an executable file".to_string(),
                    fix: format!("name the {} program's executable", service.name()),
                }),
            };
        }
    }
    for name in path_names(service) {
        if let Some(p) = search_path(name.as_ref()) {
            return Ok(p);
        }
    }
    Err(Error::NotFound {
        what: format!("no {} program found", service.name()),
        why: format!("none of {} is on PATH", path_names(service).join(", ")),
        fix: format!(
            "pass --bin PATH (`otelctl up`: --{}-bin PATH), set {}, or put {} on PATH",
            service.name(),
            env_name(service),
            path_names(service).join(" or ")
        ),
    })
}

/// The first executable file called `name` on `$PATH` (the `which` crate's search).
fn search_path(name: &std::ffi::OsStr) -> Option<PathBuf> {
    which::which(name).ok()
}

/// Runs `program args` and returns its stdout+stderr, killing it past [`QUERY_BUDGET`].
fn query(program: &Path, args: &[&str]) -> Result<String> {
    let failed = |why: String| {
        Error::failed(
            format!("cannot ask {} {}", program.display(), args.join(" ")),
            why,
        )
    };
    let dir = std::env::temp_dir();
    let out = dir.join(format!(
        "otelctl-query-{}-{}.out",
        std::process::id(),
        otelctl_otlp::to_hex(&otelctl_otlp::new_span_id())
    ));
    let file = std::fs::File::create(&out).map_err(|e| failed(e.to_string()))?;
    let err = file.try_clone().map_err(|e| failed(e.to_string()))?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .spawn()
        .map_err(|e| failed(e.to_string()))?;
    let deadline = Instant::now() + QUERY_BUDGET;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                break Err(failed(format!(
                    "no answer within {} s",
                    QUERY_BUDGET.as_secs()
                )));
            }
            Err(e) => break Err(failed(e.to_string())),
        }
    };
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    let status = status?;
    if !status.success() {
        let first = text.lines().next().unwrap_or("").to_string();
        return Err(failed(format!("{status}: {first}")));
    }
    Ok(text)
}

/// The version of a Tempo binary, from `tempo -version`.
pub fn tempo_version(program: &Path) -> Result<(TempoMajor, String)> {
    let text = query(program, &["-version"])?;
    tempo::parse_version_output(&text).ok_or_else(|| {
        Error::failed(
            format!("cannot tell the version of {}", program.display()),
            format!("`-version` said {:?}", text.lines().next().unwrap_or("")),
        )
        .fix("pass --tempo-version 2 or 3, or set OTELCTL_TEMPO_VERSION")
    })
}

/// What a collector binary offers, from `otelcol components`; a collector too old to answer
/// is taken to be a full contrib build.
pub fn collector_features(program: &Path) -> Features {
    match query(program, &["components"]) {
        Ok(text) => Features::from_components(&text),
        Err(_) => Features::default(),
    }
}

/// Grafana's static files: `OTELCTL_GRAFANA_HOMEPATH`, else `<prefix>/share/grafana` next to
/// the binary's real location (the nixpkgs layout), else none (Grafana's own default).
pub fn grafana_homepath(program: &Path, stack: &StackSettings) -> Option<PathBuf> {
    if let Some(h) = &stack.grafana_homepath {
        return Some(h.clone());
    }
    let real = std::fs::canonicalize(program).ok()?;
    let prefix = real.parent()?.parent()?;
    let home = prefix.join("share").join("grafana");
    home.join("conf")
        .join("defaults.ini")
        .is_file()
        .then_some(home)
}

/// How to start a service: program, arguments, environment.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub env: Vec<EnvVar>,
}

/// The command line of a service whose rendered files are in the data directory `data`
/// (`rendered_args`: the flags its renderer gave, for the stores).
pub fn invocation(
    service: Service,
    program: &Path,
    data: &Path,
    env: Vec<EnvVar>,
    rendered_args: &[String],
    stack: &StackSettings,
) -> Invocation {
    let flag = |prefix: &str, file: &str| {
        let mut a = OsString::from(prefix);
        a.push(data.join(file));
        a
    };
    let args = match service {
        Service::Collector => vec![flag("--config=", collector::FILE)],
        Service::Tempo => vec![flag("-config.file=", tempo::FILE)],
        Service::Grafana => {
            let server_binary = program
                .file_name()
                .is_some_and(|n| n.to_string_lossy().contains("grafana-server"));
            let mut a: Vec<OsString> = if server_binary {
                Vec::new()
            } else {
                vec!["server".into()]
            };
            if let Some(home) = grafana_homepath(program, stack) {
                a.push("--homepath".into());
                a.push(home.into_os_string());
            }
            a
        }
        Service::Prometheus | Service::VictoriaLogs => {
            rendered_args.iter().map(OsString::from).collect()
        }
    };
    Invocation {
        program: program.to_path_buf(),
        args,
        env,
    }
}
