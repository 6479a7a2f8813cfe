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
            max_age: args.max_age.clone(),
            max_mb: args.max_mb.clone(),
            max_traces: args.max_traces.clone(),
            durability: args.durability.clone(),
        },
    )?;
    let retention = config.retention;
    let kept = [
        retention.max_age.map(|a| {
            let days = a.as_secs() / 86_400;
            if days > 0 {
                format!("{days} days")
            } else {
                format!("{} s", a.as_secs())
            }
        }),
        retention
            .max_bytes
            .map(|b| format!("at most {} MiB", b / (1024 * 1024))),
        retention.max_traces.map(|n| format!("at most {n} traces")),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    let mut path = config.data_dir.clone();
    embedded::serve(config, |server| {
        for w in &server.warnings {
            output::stderr(&format!("otelctl: warning: {w}\n"));
        }
        path = server.store().path().to_path_buf();
        let grpc_too = server
            .otlp_grpc_addr()
            .map(|a| format!(" and http://{a}"))
            .unwrap_or_default();
        let text = format!(
            "otelctl: embedded receiver  http://{} (OTLP/HTTP /v1/traces, /v1/metrics, /v1/logs: JSON or protobuf) and http://{}{grpc_too} (OTLP/gRPC)\n\
             otelctl: trace viewer       http://{}/\n\
             otelctl: traces kept in     {} ({} restored; kept {kept}; oldest dropped first)\n\
             otelctl: ready; stop with Ctrl-C\n",
            server.receiver_addr(),
            server.receiver_addr(),
            server.viewer_addr(),
            path.display(),
            server.restored,
        );
        let _ = output::stdout(text.as_bytes());
    })?;
    // Every acknowledged export was committed before it was answered: nothing is left to save.
    output::stderr(&format!(
        "otelctl: stopped; traces saved in {}\n",
        path.display()
    ));
    Ok(exit::SUCCESS)
}
