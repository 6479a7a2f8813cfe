//! `otelctl export`: stored traces as OTLP/JSON on stdout or in a file, or forwarded.

use otelctl_config::detect::Mode;
use otelctl_config::error::{Error, Source};
use otelctl_config::exit;
use otelctl_config::paths::{ensure_private_dir, DataDir};
use otelctl_config::settings::Settings;
use otelctl_config::Result;
use otelctl_embedded::export::{self, Origin, Selection};

use crate::cli::ExportArgs;
use crate::output;

pub fn run(settings: &Settings, args: &ExportArgs) -> Result<u8> {
    let selection = Selection {
        trace: args
            .trace
            .as_deref()
            .map(|t| export::parse_trace_id(t, Source::Flag("--trace")))
            .transpose()?,
        since: args
            .since
            .as_deref()
            .map(|d| otelctl_config::formats::parse_ago(d, "duration", Source::Flag("--since")))
            .transpose()?,
    };
    if let Some(to) = &args.to {
        // Checked before anything is read, so a typo costs nothing.
        otelctl_http::HttpUrl::parse(&export::traces_url(to)).map_err(|_| Error::InvalidValue {
            what: "endpoint",
            value: otelctl_config::secrets::mask_url(to),
            origin: Source::Flag("--to"),
            expected: "an http:// URL, e.g. http://127.0.0.1:4318".to_string(),
        })?;
    }
    let data: DataDir = settings.data_dir(Mode::Local);
    let (request, origin, warnings) =
        export::collect(settings.ports().grafana_http, &data.embedded(), &selection)?;
    for w in warnings {
        output::stderr(&format!("otelctl: warning: {w}\n"));
    }
    if let Some(id) = &selection.trace {
        if request.span_count() == 0 {
            return Err(Error::failed(
                format!("trace {}", otelctl_otlp::to_hex(id)),
                "not stored (never received, dropped as the oldest, or cleared)",
            ));
        }
    }
    let from = match &origin {
        Origin::Running(url) => format!("the running viewer {url}"),
        Origin::Files(dir) => dir.clone(),
    };
    let spans = request.span_count();
    let out = args
        .out
        .clone()
        .or_else(|| args.to.is_none().then(|| "-".to_string()));
    if let Some(out) = &out {
        let mut json = request.to_json();
        json.push(b'\n');
        if out == "-" {
            output::stdout(&json)?;
        } else {
            let path = std::path::Path::new(out);
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                if !parent.is_dir() {
                    ensure_private_dir(parent)?;
                }
            }
            std::fs::write(path, &json).map_err(|e| Error::io("cannot write", path, e))?;
            output::stderr(&format!(
                "otelctl: wrote {spans} spans from {from} to {}\n",
                path.display()
            ));
        }
    }
    if let Some(to) = &args.to {
        let done = export::forward(request, to)?;
        let mut text = format!(
            "otelctl: forwarded {} spans from {from} to {} in {} request(s)",
            done.spans,
            otelctl_config::secrets::mask_url(&export::traces_url(to)),
            done.requests
        );
        if done.rejected > 0 {
            text.push_str(&format!("; the endpoint refused {} of them", done.rejected));
        }
        output::stderr(&(text + "\n"));
    }
    Ok(exit::SUCCESS)
}
