//! What a shell exports on entry, quoted safely for `sh`, `fish` or printed as JSON.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use crate::detect::{Detection, Endpoints};
use crate::env::EnvVars;
use crate::error::{Error, Result, Source};
use crate::paths::DataDir;
use crate::settings::DevenvTrace;

/// The output syntax of `otelctl env`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    Sh,
    Fish,
    Json,
}

impl Shell {
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "sh" | "bash" | "zsh" => Ok(Shell::Sh),
            "fish" => Ok(Shell::Fish),
            "json" => Ok(Shell::Json),
            _ => Err(Error::InvalidValue {
                what: "shell",
                value: text.to_string(),
                origin: Source::Flag("--shell"),
                expected: "sh (also bash, zsh), fish or json".to_string(),
            }),
        }
    }
}

/// The variables `otelctl env` exports, in output order.
pub fn exports(
    detection: &Detection,
    endpoints: &Endpoints,
    data: &DataDir,
    devenv_trace: DevenvTrace,
) -> Vec<(&'static str, OsString)> {
    let mut vars = vec![
        (
            EnvVars::OTEL_EXPORTER_OTLP_ENDPOINT,
            endpoints.collector.clone().into(),
        ),
        (EnvVars::OTEL_GRAFANA_URL, endpoints.grafana.clone().into()),
        (EnvVars::OTEL_TEMPO_URL, endpoints.tempo.clone().into()),
        (EnvVars::OTELCTL_MODE, detection.mode.as_str().into()),
        (
            EnvVars::OTELCTL_DATA_DIR,
            data.path().as_os_str().to_owned(),
        ),
    ];
    // devenv (>= 2.1) exports its own spans where DEVENV_TRACE_DEFAULT_TO points. Its default
    // build speaks only OTLP gRPC, which our Collector does not receive: that goes to Tempo.
    let trace_to = match devenv_trace {
        DevenvTrace::Off => None,
        DevenvTrace::OtlpGrpc => Some(format!("otlp-grpc:{}", endpoints.tempo_otlp_grpc)),
        DevenvTrace::OtlpHttpProtobuf => {
            Some(format!("otlp-http-protobuf:{}", endpoints.collector))
        }
        DevenvTrace::OtlpHttpJson => Some(format!("otlp-http-json:{}", endpoints.collector)),
    };
    if let Some(to) = trace_to {
        vars.push((EnvVars::DEVENV_TRACE_DEFAULT_TO, to.into()));
    }
    vars
}

/// Renders exports for a shell. Values are bytes (paths need not be UTF-8) except in JSON.
pub fn render(shell: Shell, vars: &[(&'static str, OsString)]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    match shell {
        Shell::Sh => {
            for (k, v) in vars {
                out.extend_from_slice(b"export ");
                out.extend_from_slice(k.as_bytes());
                out.push(b'=');
                out.extend_from_slice(&quote_sh(v.as_bytes()));
                out.push(b'\n');
            }
        }
        Shell::Fish => {
            for (k, v) in vars {
                out.extend_from_slice(b"set -gx ");
                out.extend_from_slice(k.as_bytes());
                out.push(b' ');
                out.extend_from_slice(&quote_fish(v.as_bytes()));
                out.extend_from_slice(b";\n");
            }
        }
        Shell::Json => {
            let mut map = serde_json::Map::new();
            for (k, v) in vars {
                let text = v.clone().into_string().map_err(|v| Error::InvalidValue {
                    what: "value of",
                    value: format!("{k}={}", v.to_string_lossy()),
                    origin: Source::Flag("--shell json"),
                    expected: "UTF-8 (use --shell sh for non-UTF-8 paths)".to_string(),
                })?;
                map.insert((*k).to_string(), serde_json::Value::String(text));
            }
            out = serde_json::to_vec_pretty(&map).expect("a map of strings serialises");
            out.push(b'\n');
        }
    }
    Ok(out)
}

/// POSIX single quotes: `'` becomes `'\''`; nothing else is special inside them.
pub fn quote_sh(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 2);
    out.push(b'\'');
    for &b in value {
        if b == b'\'' {
            out.extend_from_slice(b"'\\''");
        } else {
            out.push(b);
        }
    }
    out.push(b'\'');
    out
}

/// fish single quotes: only `\` and `'` need a backslash.
pub fn quote_fish(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 2);
    out.push(b'\'');
    for &b in value {
        if b == b'\'' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'\'');
    out
}

/// The banner printed on stderr at shell entry.
pub fn banner(detection: &Detection, endpoints: &Endpoints) -> String {
    format!(
        "[otel] Mode:      {} ({})\n[otel] Collector: {}\n[otel] Grafana:   {}\n",
        detection.mode.as_str(),
        detection.reason,
        endpoints.collector,
        endpoints.grafana
    )
}

/// Turns raw bytes back into an `OsString` (for tests and callers holding bytes).
pub fn os(bytes: &[u8]) -> OsString {
    OsString::from_vec(bytes.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_quotes_and_backslashes() {
        assert_eq!(quote_sh(b"a'b"), b"'a'\\''b'".to_vec());
        assert_eq!(quote_fish(b"a'b\\c"), b"'a\\'b\\\\c'".to_vec());
    }

    #[test]
    fn unknown_shell_names_what_is_accepted() {
        let msg = Shell::parse("tcsh").unwrap_err().to_string();
        assert!(msg.contains("tcsh") && msg.contains("fish"), "{msg}");
    }
}
