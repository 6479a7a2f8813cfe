//! `otelctl render`: a service's config for this project, printed or written under `--out`.

use otelctl_config::exit;
use otelctl_config::settings::Settings;
use otelctl_config::Result;
use otelctl_stack::programs;
use otelctl_stack::render::collector::Features;
use otelctl_stack::render::Service;
use otelctl_stack::stack::{self, DEFAULT_TEMPO};

use crate::cli::RenderArgs;
use crate::output;

pub fn run(settings: &Settings, args: &RenderArgs) -> Result<u8> {
    let service = args.service.service();
    let stack_settings = settings.stack()?;
    // The program decides the details, as it will for `run`; without one, render for the
    // programs nixpkgs ships (otelcol-contrib, Tempo 2.x).
    let program = programs::find(service, args.bin.as_deref(), &stack_settings);
    let program = match program {
        Err(e) if args.bin.is_some() => return Err(e),
        p => p.ok(),
    };
    let (tempo, features) = match service {
        Service::Tempo => {
            let (major, how) = stack::tempo_major(
                args.tempo_version.as_deref(),
                &stack_settings,
                program.as_deref(),
            )?;
            output::stderr(&format!(
                "otelctl: rendering for Tempo {}.x ({how})\n",
                major.as_str()
            ));
            (major, Features::default())
        }
        Service::Collector => (
            DEFAULT_TEMPO,
            program
                .as_deref()
                .map(programs::collector_features)
                .unwrap_or_default(),
        ),
        Service::Grafana | Service::Prometheus | Service::VictoriaLogs => {
            (DEFAULT_TEMPO, Features::default())
        }
    };
    let (rendered, _) = stack::render(service, settings, &stack_settings, tempo, features)?;
    match &args.out {
        Some(dir) => {
            let written = rendered.write_files(dir)?;
            let text: String = written
                .iter()
                .map(|p| format!("{}\n", p.display()))
                .collect();
            output::stdout(text.as_bytes())?;
        }
        None if rendered.files.len() == 1 => output::stdout(rendered.files[0].contents.as_bytes())?,
        None => {
            let mut text = String::new();
            for f in &rendered.files {
                text.push_str(&format!("# ==> {} <==\n{}\n", f.name.display(), f.contents));
            }
            output::stdout(text.as_bytes())?;
        }
    }
    Ok(exit::SUCCESS)
}
