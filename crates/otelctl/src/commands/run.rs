//! `otelctl run`: render a service's config into the data directory, then `exec` the program.

use std::os::unix::process::CommandExt;
use std::process::Command;

use otelctl_config::detect::Mode;
use otelctl_config::exit;
use otelctl_config::settings::Settings;
use otelctl_config::{Error, Result};
use otelctl_stack::stack;

use crate::cli::RunArgs;
use crate::output;

pub fn run(settings: &Settings, args: &RunArgs) -> Result<u8> {
    let service = args.service.service();
    let detection = settings.detect()?;
    if detection.mode == Mode::System {
        output::stderr(&format!(
            "otelctl: system mode ({}): the system stack serves this project; not starting the {}\n",
            detection.reason,
            service.name()
        ));
        return Ok(exit::SUCCESS);
    }
    let stack_settings = settings.stack()?;
    let prepared = stack::prepare(
        service,
        settings,
        &stack_settings,
        args.bin.as_deref(),
        args.tempo_version.as_deref(),
    )?;
    for note in &prepared.notes {
        output::stderr(&format!("otelctl: {note}\n"));
    }
    let inv = &prepared.invocation;
    // exec keeps the pid, so the pid file names the program once it runs.
    std::fs::write(&prepared.pid_file, format!("{}\n", std::process::id()))
        .map_err(|e| Error::io("cannot write", &prepared.pid_file, e))?;
    let mut cmd = Command::new(&inv.program);
    cmd.args(&inv.args);
    for v in &inv.env {
        cmd.env(&v.name, &v.value);
    }
    let err = cmd.exec();
    let _ = std::fs::remove_file(&prepared.pid_file);
    Err(Error::failed(
        format!("cannot start {}", inv.program.display()),
        err,
    ))
}
