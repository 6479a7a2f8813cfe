//! Preparing a service of the local stack to start: find its program, ask it what it is,
//! render its config into the data directory, create its directories, check its ports.
//!
//! `otelctl run` prepares and then replaces itself with the program; `otelctl up` runs
//! `otelctl run` for each service. Pid files (`<data>/run/<service>.pid`) let `otelctl status`
//! say what runs: `run` writes its own pid just before `exec`, which keeps the pid.

use std::path::{Path, PathBuf};

use crate::programs::{self, Invocation};
use crate::readiness::Target;
use crate::render::collector::Features;
use crate::render::tempo::TempoMajor;
use crate::render::{self, Context, Rendered, Service};
use otelctl_config::detect::Mode;
use otelctl_config::env::EnvVars;
use otelctl_config::error::{Result, Source};
use otelctl_config::paths::{ensure_private_dir, DataDir};
use otelctl_config::ports::{in_use_on_loopback, PortUse, Ports};
use otelctl_config::settings::{Settings, StackSettings};

/// The Tempo version rendered for when neither a flag, the environment nor a binary says:
/// the one nixpkgs ships.
pub const DEFAULT_TEMPO: TempoMajor = TempoMajor::V2;

/// The Tempo version to render for, and how it was decided (for messages).
pub fn tempo_major(
    flag: Option<&str>,
    stack: &StackSettings,
    program: Option<&Path>,
) -> Result<(TempoMajor, String)> {
    if let Some(v) = flag {
        return Ok((
            TempoMajor::parse(v, Source::Flag("--tempo-version"))?,
            "from --tempo-version".into(),
        ));
    }
    if let Some(v) = stack.tempo_version {
        return Ok((v, "from $OTELCTL_TEMPO_VERSION".into()));
    }
    match program {
        Some(p) => {
            let (major, full) = programs::tempo_version(p)?;
            Ok((major, format!("{} reports version {full}", p.display())))
        }
        None => Ok((
            DEFAULT_TEMPO,
            format!(
                "no Tempo program found; assuming {}.x (pass --tempo-version to choose)",
                DEFAULT_TEMPO.as_str()
            ),
        )),
    }
}

/// Everything a service needs rendered, for the given program facts.
pub fn render(
    service: Service,
    settings: &Settings,
    stack: &StackSettings,
    tempo: TempoMajor,
    features: Features,
) -> Result<(Rendered, DataDir)> {
    let ports = settings.ports();
    let data = settings.data_dir(Mode::Local);
    let spool = settings.spool_dir(Mode::Local);
    let dashboards = settings.dashboards_dir(Mode::Local);
    let cx = Context {
        ports: &ports,
        data: &data,
        spool: &spool,
        dashboards: &dashboards,
        stack,
    };
    let mut rendered = match service {
        Service::Collector => render::collector::render_with(&cx, features)?,
        Service::Tempo => render::tempo::render(&cx, tempo),
        Service::Grafana => render::grafana::render(&cx),
        Service::Prometheus => render::prometheus::render(&cx),
        Service::VictoriaLogs => render::victorialogs::render(&cx),
    };
    // The user's settings merged over ours (the NixOS module's collector/tempo.settings).
    let extra = match service {
        Service::Collector => stack.collector_extra_config.as_deref().map(|f| {
            (
                f,
                render::collector::FILE,
                EnvVars::OTELCTL_COLLECTOR_EXTRA_CONFIG,
            )
        }),
        Service::Tempo => stack
            .tempo_extra_config
            .as_deref()
            .map(|f| (f, render::tempo::FILE, EnvVars::OTELCTL_TEMPO_EXTRA_CONFIG)),
        Service::Grafana | Service::Prometheus | Service::VictoriaLogs => None,
    };
    if let Some((file, name, variable)) = extra {
        if let Some(target) = rendered
            .files
            .iter_mut()
            .find(|f| f.name == Path::new(name))
        {
            target.contents = render::overlay::merge_file(&target.contents, file, variable)?;
        }
    }
    Ok((rendered, data))
}

/// A service ready to start.
#[derive(Debug)]
pub struct Prepared {
    pub invocation: Invocation,
    /// Facts worth one line of output (the Tempo version, how the spool is read).
    pub notes: Vec<String>,
    pub pid_file: PathBuf,
}

/// Finds, renders, writes, checks: everything `run` does before `exec`.
pub fn prepare(
    service: Service,
    settings: &Settings,
    stack: &StackSettings,
    bin: Option<&Path>,
    tempo_flag: Option<&str>,
) -> Result<Prepared> {
    settings.root.require_existing()?;
    let program = programs::find(service, bin, stack)?;
    // Before writing anything: a running instance keeps its config.
    check_ports(service, &settings.ports())?;
    let mut notes = Vec::new();
    let (tempo, features) = match service {
        Service::Tempo => {
            let (major, how) = tempo_major(tempo_flag, stack, Some(&program))?;
            notes.push(format!("rendering for Tempo {}.x ({how})", major.as_str()));
            (major, Features::default())
        }
        Service::Collector => {
            let f = programs::collector_features(&program);
            if !f.spool_receiver {
                notes.push(format!(
                    "{} has no otlpjsonfile receiver: spooled spans wait for `otelctl spool flush`",
                    program.display()
                ));
            }
            (DEFAULT_TEMPO, f)
        }
        Service::Grafana | Service::Prometheus | Service::VictoriaLogs => {
            (DEFAULT_TEMPO, Features::default())
        }
    };
    let (rendered, data) = render(service, settings, stack, tempo, features)?;
    ensure_private_dir(data.path())?;
    rendered.create_dirs()?;
    rendered.write_files(data.path())?;
    if service == Service::Grafana {
        // A fresh Grafana shows the built-in dashboards; `dash sync` adds the project's.
        let dir = settings.dashboards_dir(Mode::Local);
        let builtin = otelctl_dashboards::files::DirTarget {
            dir: dir.join("builtin"),
            dashboards: otelctl_dashboards::Dashboard::builtins(),
        };
        otelctl_dashboards::files::sync(&dir.join(".lock"), &[builtin], false)?;
    }
    let run_dir = data.run();
    ensure_private_dir(&run_dir)?;
    let mut invocation = programs::invocation(
        service,
        &program,
        data.path(),
        rendered.env.clone(),
        &rendered.args,
        stack,
    );
    if service == Service::Collector && features.spool_receiver {
        // The rendered spool receiver deletes each file once read; that needs this gate.
        invocation
            .args
            .push(render::collector::FILE_DELETION_GATE.into());
    }
    Ok(Prepared {
        invocation,
        notes,
        pid_file: run_dir.join(format!("{}.pid", service.name())),
    })
}

/// Fails with [`otelctl_config::Error::PortInUse`] when a port the service listens on is taken.
pub fn check_ports(service: Service, ports: &Ports) -> Result<()> {
    for (what, port) in service.ports(ports) {
        if in_use_on_loopback(port) {
            return Err(PortUse::of(port).error(what));
        }
    }
    Ok(())
}

/// Where `wait` and `status` probe a service of this project.
pub fn target(service: Service, ports: &Ports) -> Target {
    match service {
        Service::Collector => Target {
            port: ports.collector_otlp_http,
            metrics_port: Some(ports.collector_metrics),
        },
        Service::Tempo => Target {
            port: ports.tempo_http,
            metrics_port: None,
        },
        Service::Grafana => Target {
            port: ports.grafana_http,
            metrics_port: None,
        },
        Service::Prometheus => Target {
            port: ports.metrics_store_http,
            metrics_port: None,
        },
        Service::VictoriaLogs => Target {
            port: ports.logs_store_http,
            metrics_port: None,
        },
    }
}

/// Where `wait` probes a service of the system stack.
pub fn system_target(service: Service, system: &otelctl_config::system::SystemPorts) -> Target {
    let port = match service {
        Service::Collector => system.collector,
        Service::Tempo => system.tempo_http,
        Service::Grafana => system.grafana,
        Service::Prometheus => system.metrics_store,
        Service::VictoriaLogs => system.logs_store,
    };
    Target {
        port,
        metrics_port: None,
    }
}

/// The pid recorded for a service, if its process still exists.
pub fn running_pid(data: &DataDir, service: Service) -> Option<u32> {
    let file = data.run().join(format!("{}.pid", service.name()));
    let pid: u32 = std::fs::read_to_string(file).ok()?.trim().parse().ok()?;
    // kill(pid, 0): the process exists (and is ours to signal).
    let alive = unsafe { libc::kill(pid as libc::pid_t, 0) } == 0;
    alive.then_some(pid)
}
