//! `otelctl up --embedded`: otelctl's own OTLP receiver (+0) and trace viewer (+3), in the
//! foreground until Ctrl-C or SIGTERM. Kept apart from the real stack's `up` so that one calls
//! [`run`] when `--embedded` is given or the stack's programs are not installed.

use otelctl_config::exit;
use otelctl_config::settings::Settings;
use otelctl_config::Result;
use otelctl_embedded::{self as embedded, RawEmbedded};

use crate::cli::UpArgs;
use crate::output;

pub fn run(settings: &Settings, args: &UpArgs) -> Result<u8> {
    let config = embedded::Config::from_settings(
        settings,
        &RawEmbedded {
            max_traces: args.max_traces.clone(),
            max_mb: args.max_mb.clone(),
            durability: args.durability.clone(),
        },
    )?;
    let data = config.data_dir.clone();
    let limits = config.limits;
    embedded::serve(config, |server| {
        for w in &server.warnings {
            output::stderr(&format!("otelctl: warning: {w}\n"));
        }
        let text = format!(
            "otelctl: embedded receiver  http://{}/v1/traces (OTLP/HTTP: JSON or protobuf) and http://{} (OTLP/gRPC)\n\
             otelctl: trace viewer       http://{}/\n\
             otelctl: traces kept in     {} ({} restored; at most {} traces and {} MiB, oldest dropped first)\n\
             otelctl: ready; stop with Ctrl-C\n",
            server.receiver_addr(),
            server.receiver_addr(),
            server.viewer_addr(),
            data.display(),
            server.restored,
            limits.max_traces,
            limits.max_bytes / (1024 * 1024),
        );
        let _ = output::stdout(text.as_bytes());
    })?;
    // Reached only when the last save succeeded; a failed one is an error naming the cause.
    output::stderr(&format!(
        "otelctl: stopped; traces saved in {}\n",
        data.display()
    ));
    Ok(exit::SUCCESS)
}
