//! `otelctl ports`: the project's eight ports, as a table (with what is in use) or JSON.

use otelctl_config::exit;
use otelctl_config::ports::{in_use_on_loopback, BaseOrigin, PortOverrides};
use otelctl_config::settings::Settings;
use otelctl_config::Result;

use crate::cli::PortsArgs;
use crate::output;

pub fn run(settings: &Settings, args: &PortsArgs) -> Result<u8> {
    let ports = settings.ports();
    if args.json {
        output::stdout(&output::json(&ports))?;
        return Ok(exit::SUCCESS);
    }
    let origin = match ports.origin {
        BaseOrigin::Hashed => format!(
            "hashed from the root in {}-{}; fix it with --base-port or OTELCTL_BASE_PORT",
            settings.range.start, settings.range.end
        ),
        BaseOrigin::Fixed => "fixed by --base-port or OTELCTL_BASE_PORT".to_string(),
    };
    let mut text = format!(
        "root  {}  (from {})\nbase  {}  ({origin})\n\n{:<7} {:<6} {:<28} {}\n",
        ports.root,
        settings.root.source().describe(),
        ports.base,
        "OFFSET",
        "PORT",
        "SERVICE",
        "ON 127.0.0.1"
    );
    for (offset, (name, port)) in ports.named().iter().enumerate() {
        let state = if in_use_on_loopback(*port) {
            "in use"
        } else {
            "free"
        };
        let note = if ports.overridden[offset] {
            format!("  (set by ${})", PortOverrides::VARIABLES[offset])
        } else {
            String::new()
        };
        text.push_str(&format!(
            "+{offset:<6} {port:<6} {name:<28} {state}{note}\n"
        ));
    }
    output::stdout(text.as_bytes())?;
    Ok(exit::SUCCESS)
}
