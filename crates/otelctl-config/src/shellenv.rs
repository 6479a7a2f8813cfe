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

/// One line of `otelctl env`: a variable and its value, or `None` to unset it.
pub type Export = (&'static str, Option<OsString>);

/// The variables `otelctl env` exports (or unsets), in output order.
///
/// `relay` is `$OTELCTL_RELAY_ENDPOINT`: inside a `dt` run (devenv 2.x re-runs `enterShell`,
/// hence `otelctl env`, before its tasks) spans must keep going to `dt`'s relay, which adopts
/// them into the `dt` trace, instead of the stack's endpoint. The relay is then the base
/// endpoint and `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is unset, whatever the project's own
/// environment (devenv.nix `env`) put there: that variable wins over the base in every SDK and
/// would send the tasks' spans past the relay. Unset rather than pointed at `<relay>/v1/traces`,
/// because gRPC exporters take the signal's endpoint as a host and port (Node's refuses a path);
/// from the base each client derives its own URL. The relay itself forwards where `dt`'s own
/// span goes, the user's traces endpoint included (ARCHITECTURE.md, the `dt` relay).
pub fn exports(
    detection: &Detection,
    endpoints: &Endpoints,
    data: &DataDir,
    devenv_trace: DevenvTrace,
    relay: Option<&str>,
) -> Vec<Export> {
    let otlp = relay.unwrap_or(&endpoints.collector);
    let set = |name, value: OsString| (name, Some(value));
    let mut vars = vec![
        set(EnvVars::OTEL_EXPORTER_OTLP_ENDPOINT, otlp.into()),
        set(EnvVars::OTEL_GRAFANA_URL, endpoints.grafana.clone().into()),
        set(EnvVars::OTEL_TEMPO_URL, endpoints.tempo.clone().into()),
        set(EnvVars::OTELCTL_MODE, detection.mode.as_str().into()),
        set(
            EnvVars::OTELCTL_DATA_DIR,
            data.path().as_os_str().to_owned(),
        ),
    ];
    // devenv (>= 2.1) exports its own spans where DEVENV_TRACE_DEFAULT_TO points; its default
    // build speaks only OTLP/gRPC, which our Collector does not receive: that goes to Tempo.
    let grpc = relay.unwrap_or(&endpoints.tempo_otlp_grpc);
    if devenv_trace == DevenvTrace::OtlpGrpc {
        vars.push(set(
            EnvVars::DEVENV_TRACE_DEFAULT_TO,
            format!("otlp-grpc:{grpc}").into(),
        ));
    }
    if let Some(relay) = relay {
        vars.push((EnvVars::OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, None));
        vars.push(set(EnvVars::OTELCTL_RELAY_ENDPOINT, relay.into()));
    }
    vars
}

/// A quoting function: [`quote_sh`] or [`quote_fish`].
type Quote = fn(&[u8]) -> Vec<u8>;

/// Renders exports for a shell. Values are bytes (paths need not be UTF-8) except in JSON.
pub fn render(shell: Shell, vars: &[Export]) -> Result<Vec<u8>> {
    // sh and fish differ only in the commands, the separator, the quoting and the terminator.
    let (command, separator, quote, end): (&[u8], u8, Quote, &[u8]) = match shell {
        Shell::Sh => (b"export ", b'=', quote_sh, b"\n"),
        Shell::Fish => (b"set -gx ", b' ', quote_fish, b";\n"),
        Shell::Json => return render_json(vars),
    };
    let mut out = Vec::new();
    for (k, v) in vars {
        match v {
            Some(v) => {
                out.extend_from_slice(command);
                out.extend_from_slice(k.as_bytes());
                out.push(separator);
                out.extend_from_slice(&quote(v.as_bytes()));
            }
            None => {
                let name = k.as_bytes();
                if shell == Shell::Fish {
                    // fish's `set -e` of an unset variable fails, and a later `set -gx` keeps
                    // that status, so `... | source; or ...` would fail: unset only what is set.
                    out.extend_from_slice(b"if set -q ");
                    out.extend_from_slice(name);
                    out.extend_from_slice(b"; set -e ");
                    out.extend_from_slice(name);
                    out.extend_from_slice(b"; end");
                } else {
                    out.extend_from_slice(b"unset ");
                    out.extend_from_slice(name);
                }
            }
        }
        out.extend_from_slice(end);
    }
    Ok(out)
}

/// The exports as one JSON object (values must be UTF-8; `null` for a variable to unset).
fn render_json(vars: &[Export]) -> Result<Vec<u8>> {
    let mut map = serde_json::Map::new();
    for (k, v) in vars {
        let Some(v) = v else {
            map.insert((*k).to_string(), serde_json::Value::Null);
            continue;
        };
        let text = v.clone().into_string().map_err(|v| Error::InvalidValue {
            what: "value of",
            value: format!("{k}={}", v.to_string_lossy()),
            origin: Source::Flag("--shell json"),
            expected: "UTF-8 (use --shell sh for non-UTF-8 paths)".to_string(),
        })?;
        map.insert((*k).to_string(), serde_json::Value::String(text));
    }
    let mut out = serde_json::to_vec_pretty(&map).expect("a map of strings serialises");
    out.push(b'\n');
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
/// The viewer's port serves Grafana or, with `otelctl up --embedded` (the default without the
/// programs), otelctl's own viewer: only the system stack's is always Grafana. Shell entry
/// does not probe which one runs.
pub fn banner(detection: &Detection, endpoints: &Endpoints) -> String {
    let viewer = match detection.mode {
        crate::detect::Mode::System => format!("[otel] Grafana:   {}", endpoints.grafana),
        crate::detect::Mode::Local => format!(
            "[otel] Viewer:    {} (Grafana, or the embedded viewer of `otelctl up --embedded`)",
            endpoints.grafana
        ),
    };
    format!(
        "[otel] Mode:      {} ({})\n[otel] Collector: {}\n{viewer}\n",
        detection.mode.as_str(),
        detection.reason,
        endpoints.collector,
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
    fn sh_and_fish_lines() {
        let vars = [("A", Some(os(b"x'y"))), ("B", Some(os(b"z"))), ("C", None)];
        assert_eq!(
            render(Shell::Sh, &vars).unwrap(),
            b"export A='x'\\''y'\nexport B='z'\nunset C\n".to_vec()
        );
        assert_eq!(
            render(Shell::Fish, &vars).unwrap(),
            b"set -gx A 'x\\'y';\nset -gx B 'z';\nif set -q C; set -e C; end;\n".to_vec()
        );
        assert_eq!(
            render(Shell::Json, &vars).unwrap(),
            b"{\n  \"A\": \"x'y\",\n  \"B\": \"z\",\n  \"C\": null\n}\n".to_vec()
        );
    }

    #[test]
    fn unknown_shell_names_what_is_accepted() {
        let msg = Shell::parse("tcsh").unwrap_err().to_string();
        assert!(msg.contains("tcsh") && msg.contains("fish"), "{msg}");
    }
}
