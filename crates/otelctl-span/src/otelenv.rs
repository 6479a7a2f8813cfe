//! The OpenTelemetry environment of span-producing commands: the only reader of `OTEL_*`,
//! `TRACEPARENT`/`TRACESTATE` and `TEST_*` variables.
//!
//! Bad telemetry input never stops the wrapped command: every problem becomes one warning line
//! (collected in [`OtelEnv::warnings`]) and the setting falls back to its default. Header
//! values are never echoed in warnings (they often carry credentials).

use std::ffi::OsString;
use std::time::Duration;

use crate::exporter::{ExporterConfig, Protocol, DEFAULT_TIMEOUT};
use crate::traceparent::{validate_tracestate, TraceParent};
use otelctl_config::env::{self, EnvVars};
use otelctl_config::formats;
use otelctl_otlp::parse_trace_id;

/// Where variables are read from: the process environment, or a fixed list in tests.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<OsString>;

/// Reads the process environment.
pub fn process_env(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

/// The default spool size cap (64 MiB), overridden by `OTELCTL_SPOOL_MAX_BYTES`.
pub const DEFAULT_SPOOL_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// The sampler chosen by `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampler {
    AlwaysOn,
    AlwaysOff,
    TraceIdRatio(f64),
    ParentBased(Root),
}

/// The root sampler of a parent-based sampler.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Root {
    AlwaysOn,
    AlwaysOff,
    TraceIdRatio(f64),
}

impl Default for Sampler {
    fn default() -> Self {
        Sampler::ParentBased(Root::AlwaysOn)
    }
}

impl Sampler {
    /// Whether a span in `trace_id` is sampled, given the parent's sampled flag (if any).
    pub fn should_sample(&self, trace_id: &[u8; 16], parent_sampled: Option<bool>) -> bool {
        match (*self, parent_sampled) {
            (Sampler::AlwaysOn, _) => true,
            (Sampler::AlwaysOff, _) => false,
            (Sampler::TraceIdRatio(r), _) => ratio_sample(trace_id, r),
            (Sampler::ParentBased(_), Some(p)) => p,
            (Sampler::ParentBased(Root::AlwaysOn), None) => true,
            (Sampler::ParentBased(Root::AlwaysOff), None) => false,
            (Sampler::ParentBased(Root::TraceIdRatio(r)), None) => ratio_sample(trace_id, r),
        }
    }
}

/// Deterministic in the trace id: the low 8 bytes, as a 63-bit number, below `ratio * 2^63`.
fn ratio_sample(trace_id: &[u8; 16], ratio: f64) -> bool {
    if ratio >= 1.0 {
        return true;
    }
    if ratio <= 0.0 {
        return false;
    }
    let mut low = [0u8; 8];
    low.copy_from_slice(&trace_id[8..]);
    let x = u64::from_be_bytes(low) >> 1;
    (x as f64) < ratio * (1u64 << 63) as f64
}

/// Everything a span-producing command reads from the environment, validated.
#[derive(Debug, Clone)]
pub struct OtelEnv {
    pub sdk_disabled: bool,
    pub debug: bool,
    pub service_name: Option<String>,
    /// `OTEL_RESOURCE_ATTRIBUTES`, decoded (empty when malformed).
    pub resource: Vec<(String, String)>,
    pub sampler: Sampler,
    /// `TRACEPARENT`, when present and valid.
    pub parent: Option<TraceParent>,
    /// `TRACESTATE`, when valid and a valid parent came with it.
    pub tracestate: Option<String>,
    /// `OTEL_TEST_SUITE`.
    pub test_suite: Option<String>,
    /// `TEST_TRACE_ID`, when valid.
    pub test_trace_id: Option<[u8; 16]>,
    /// The exporter settings; `endpoint` is `None` when neither endpoint variable is set.
    pub exporter: ExporterConfig,
    /// Whether `OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT` set `exporter.timeout` (a valid value): the
    /// spec's "maximum time the exporter will wait for each export", which a span then waits
    /// for its answer too; unset, a span waits [`crate::exporter::ANSWER_WAIT`] for it.
    pub timeout_set: bool,
    /// The metrics and logs URLs (`OTEL_EXPORTER_OTLP_{METRICS,LOGS}_ENDPOINT` as is, else the
    /// base with `/v1/metrics` or `/v1/logs`); `None` when neither variable is set. Exported
    /// with `exporter`'s protocol, headers and timeout (`dt`'s relay forwards them).
    pub metrics_endpoint: Option<String>,
    pub logs_endpoint: Option<String>,
    pub spool_max_bytes: u64,
    /// Where `span begin` keeps carrier files by default (see `carrier`).
    pub carrier_dir: std::path::PathBuf,
    /// `$OTEL_SPOOL_DIR` and `$HOME`: where a span is spooled when the settings cannot load.
    pub spool_fallback: (Option<std::path::PathBuf>, Option<std::path::PathBuf>),
    /// One line per problem found, without the `otelctl: warning: ` prefix.
    pub warnings: Vec<String>,
}

impl OtelEnv {
    /// Reads the process environment.
    pub fn load() -> Self {
        Self::from_lookup(&process_env)
    }

    /// Reads variables through `get` (empty values count as unset).
    pub fn from_lookup(get: Lookup<'_>) -> Self {
        let mut warnings = Vec::new();
        let mut text = |name: &str| -> Option<String> {
            let v = get(name).filter(|v| !v.is_empty())?;
            match v.into_string() {
                Ok(s) => Some(s),
                Err(_) => {
                    warnings.push(format!("${name} is not UTF-8; ignored"));
                    None
                }
            }
        };
        let sdk_disabled = text(EnvVars::OTEL_SDK_DISABLED)
            .map(|v| v.trim().eq_ignore_ascii_case("true"))
            .unwrap_or(false);
        let debug_raw = text(EnvVars::OTEL_DEBUG);
        let service_name = text(EnvVars::OTEL_SERVICE_NAME);
        let resource_raw = text(EnvVars::OTEL_RESOURCE_ATTRIBUTES);
        let sampler_raw = text(EnvVars::OTEL_TRACES_SAMPLER);
        let sampler_arg = text(EnvVars::OTEL_TRACES_SAMPLER_ARG);
        let traceparent_raw = text(EnvVars::TRACEPARENT);
        let tracestate_raw = text(EnvVars::TRACESTATE);
        let test_suite = text(EnvVars::OTEL_TEST_SUITE);
        let test_trace_raw = text(EnvVars::TEST_TRACE_ID);
        let endpoint = text(EnvVars::OTEL_EXPORTER_OTLP_ENDPOINT);
        let traces_endpoint = text(EnvVars::OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
        let metrics_endpoint = text(EnvVars::OTEL_EXPORTER_OTLP_METRICS_ENDPOINT);
        let logs_endpoint = text(EnvVars::OTEL_EXPORTER_OTLP_LOGS_ENDPOINT);
        let headers_raw = text(EnvVars::OTEL_EXPORTER_OTLP_HEADERS);
        let traces_headers_raw = text(EnvVars::OTEL_EXPORTER_OTLP_TRACES_HEADERS);
        let protocol_raw = text(EnvVars::OTEL_EXPORTER_OTLP_TRACES_PROTOCOL)
            .or_else(|| text(EnvVars::OTEL_EXPORTER_OTLP_PROTOCOL));
        let timeout_raw = text(EnvVars::OTEL_EXPORTER_OTLP_TRACES_TIMEOUT)
            .or_else(|| text(EnvVars::OTEL_EXPORTER_OTLP_TIMEOUT));
        let spool_max_raw = text(EnvVars::OTELCTL_SPOOL_MAX_BYTES);
        let certificate = text(EnvVars::OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE)
            .or_else(|| text(EnvVars::OTEL_EXPORTER_OTLP_CERTIFICATE))
            .map(std::path::PathBuf::from);
        let path = |name: &str| {
            get(name)
                .filter(|v| !v.is_empty())
                .map(std::path::PathBuf::from)
        };
        let spool_fallback = (path(EnvVars::OTEL_SPOOL_DIR), path(EnvVars::HOME));
        let carrier_dir = path(EnvVars::OTELCTL_CARRIER_DIR)
            .or_else(|| path(EnvVars::XDG_RUNTIME_DIR).map(|d| d.join("otelctl")))
            .unwrap_or_else(|| {
                // SAFETY: geteuid has no preconditions.
                let uid = unsafe { libc::geteuid() };
                path(EnvVars::TMPDIR)
                    .unwrap_or_else(|| "/tmp".into())
                    .join(format!("otelctl-{uid}"))
            });

        let debug = match debug_raw {
            None => false,
            Some(v) => env::parse_switch(&v).unwrap_or_else(|| {
                warnings.push(format!(
                    "$OTEL_DEBUG {v:?} is not a switch (expected {}); debug output off",
                    env::SWITCH_VALUES
                ));
                false
            }),
        };

        let resource = match resource_raw.as_deref().map(formats::parse_list) {
            None => Vec::new(),
            Some(Ok(list)) => list,
            Some(Err(e)) => {
                warnings.push(format!(
                    "$OTEL_RESOURCE_ATTRIBUTES ignored: {e} (expected key=value,key2=value2 with ',' '=' '%' percent-encoded in values)"
                ));
                Vec::new()
            }
        };

        let sampler = parse_sampler(
            sampler_raw.as_deref(),
            sampler_arg.as_deref(),
            &mut warnings,
        );

        let parent = match traceparent_raw.as_deref() {
            None => None,
            Some(t) => match TraceParent::parse(t) {
                Ok(tp) => Some(tp),
                Err(e) => {
                    warnings.push(format!(
                        "$TRACEPARENT {t:?} is invalid ({e}); starting a new trace"
                    ));
                    None
                }
            },
        };
        let tracestate = match (&parent, tracestate_raw.as_deref()) {
            (Some(_), Some(ts)) => match validate_tracestate(ts) {
                Ok(v) if v.is_empty() => None,
                Ok(v) => Some(v),
                Err(e) => {
                    warnings.push(format!("$TRACESTATE is invalid ({e}); dropped"));
                    None
                }
            },
            _ => None,
        };
        let test_trace_id = match test_trace_raw.as_deref() {
            None => None,
            Some(t) => {
                let id = parse_trace_id(t);
                if id.is_none() {
                    warnings.push(format!(
                        "$TEST_TRACE_ID {t:?} is not 32 hex digits (and not all zeros); ignored"
                    ));
                }
                id
            }
        };

        let mut headers = Vec::new();
        for (name, raw) in [
            (EnvVars::OTEL_EXPORTER_OTLP_HEADERS, headers_raw),
            (
                EnvVars::OTEL_EXPORTER_OTLP_TRACES_HEADERS,
                traces_headers_raw,
            ),
        ] {
            if let Some(raw) = raw {
                for h in parse_headers(name, &raw, &mut warnings) {
                    // The signal-specific variable wins for a header named in both.
                    headers.retain(|(k, _): &(String, String)| !k.eq_ignore_ascii_case(&h.0));
                    headers.push(h);
                }
            }
        }

        let protocol = match protocol_raw.as_deref().map(str::trim) {
            None | Some("http/protobuf") => Protocol::HttpProtobuf,
            Some("http/json") => Protocol::HttpJson,
            Some(other) => {
                warnings.push(format!(
                    "OTLP protocol {other:?} is not supported (expected http/protobuf or http/json); using http/protobuf"
                ));
                Protocol::HttpProtobuf
            }
        };
        let timeout_set = timeout_raw
            .as_deref()
            .is_some_and(|t| t.trim().parse::<u64>().is_ok_and(|ms| ms > 0));
        let timeout = match timeout_raw.as_deref().map(str::trim) {
            None => DEFAULT_TIMEOUT,
            Some(t) => match t.parse::<u64>() {
                Ok(ms) if ms > 0 => Duration::from_millis(ms),
                _ => {
                    warnings.push(format!(
                        "$OTEL_EXPORTER_OTLP_TIMEOUT {t:?} is not a positive number of milliseconds; using {} ms",
                        DEFAULT_TIMEOUT.as_millis()
                    ));
                    DEFAULT_TIMEOUT
                }
            },
        };
        let signal_endpoint = |own: Option<String>, signal| match (own, endpoint.as_deref()) {
            (Some(url), _) => Some(crate::exporter::traces_url_as_is(&url)),
            (None, Some(base)) => Some(crate::exporter::signal_url_from_base(base, signal)),
            (None, None) => None,
        };
        let metrics_endpoint = signal_endpoint(metrics_endpoint, otelctl_otlp::Signal::Metrics);
        let logs_endpoint = signal_endpoint(logs_endpoint, otelctl_otlp::Signal::Logs);
        let endpoint = signal_endpoint(traces_endpoint, otelctl_otlp::Signal::Traces);
        let spool_max_bytes = match spool_max_raw.as_deref().map(str::trim) {
            None => DEFAULT_SPOOL_MAX_BYTES,
            Some(t) => match t.parse::<u64>() {
                Ok(n) if n > 0 => n,
                _ => {
                    warnings.push(format!(
                        "$OTELCTL_SPOOL_MAX_BYTES {t:?} is not a positive number of bytes; using {DEFAULT_SPOOL_MAX_BYTES}"
                    ));
                    DEFAULT_SPOOL_MAX_BYTES
                }
            },
        };

        OtelEnv {
            sdk_disabled,
            debug,
            service_name,
            resource,
            sampler,
            parent,
            tracestate,
            test_suite,
            test_trace_id,
            exporter: ExporterConfig {
                endpoint,
                protocol,
                headers,
                timeout,
                certificate,
            },
            timeout_set,
            metrics_endpoint,
            logs_endpoint,
            spool_max_bytes,
            carrier_dir,
            spool_fallback,
            warnings,
        }
    }
}

fn parse_sampler(name: Option<&str>, arg: Option<&str>, warnings: &mut Vec<String>) -> Sampler {
    let mut ratio = || -> f64 {
        match arg.map(str::trim) {
            None => 1.0,
            Some(a) => match a.parse::<f64>() {
                Ok(r) if (0.0..=1.0).contains(&r) => r,
                _ => {
                    warnings.push(format!(
                        "$OTEL_TRACES_SAMPLER_ARG {a:?} is not a number in [0, 1]; using 1.0"
                    ));
                    1.0
                }
            },
        }
    };
    match name.map(|n| n.trim().to_ascii_lowercase()).as_deref() {
        None | Some("parentbased_always_on") => Sampler::ParentBased(Root::AlwaysOn),
        Some("always_on") => Sampler::AlwaysOn,
        Some("always_off") => Sampler::AlwaysOff,
        Some("traceidratio") => Sampler::TraceIdRatio(ratio()),
        Some("parentbased_always_off") => Sampler::ParentBased(Root::AlwaysOff),
        Some("parentbased_traceidratio") => Sampler::ParentBased(Root::TraceIdRatio(ratio())),
        Some(other) => {
            warnings.push(format!(
                "$OTEL_TRACES_SAMPLER {other:?} is not supported (always_on, always_off, traceidratio, parentbased_*); using parentbased_always_on"
            ));
            Sampler::default()
        }
    }
}

/// `k=v,k2=v2` with percent-encoded values; a bad member is dropped with a warning that
/// names its key but never its value.
fn parse_headers(var: &str, raw: &str, warnings: &mut Vec<String>) -> Vec<(String, String)> {
    let (headers, errors) = formats::parse_headers(raw);
    for e in errors {
        warnings.push(format!(
            "${var}: {e} (expected name=value,... with ',' '=' '%' percent-encoded in values); dropped"
        ));
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> OtelEnv {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        OtelEnv::from_lookup(&move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| OsString::from(v))
        })
    }

    #[test]
    fn defaults() {
        let e = env(&[]);
        assert!(!e.sdk_disabled && !e.debug && e.warnings.is_empty());
        assert_eq!(e.exporter.endpoint, None);
        assert_eq!(e.exporter.timeout, DEFAULT_TIMEOUT);
        assert_eq!(e.exporter.protocol, Protocol::HttpProtobuf);
        assert_eq!(e.sampler, Sampler::ParentBased(Root::AlwaysOn));
    }

    #[test]
    fn sdk_disabled_only_by_true() {
        assert!(env(&[("OTEL_SDK_DISABLED", "TRUE")]).sdk_disabled);
        assert!(!env(&[("OTEL_SDK_DISABLED", "1")]).sdk_disabled);
    }

    #[test]
    fn headers_are_decoded_and_bad_members_dropped_without_values() {
        let e = env(&[(
            "OTEL_EXPORTER_OTLP_HEADERS",
            "Authorization=Basic%20c2VjcmV0,bad,x-a=1%0d%0aInjected:%20yes,x-b=2%zz",
        )]);
        assert_eq!(
            e.exporter.headers,
            vec![("Authorization".into(), "Basic c2VjcmV0".into())]
        );
        assert_eq!(e.warnings.len(), 3, "{:?}", e.warnings);
        assert!(e.warnings.iter().all(|w| !w.contains("Injected")));
        let e = env(&[
            ("OTEL_EXPORTER_OTLP_HEADERS", "a=1,b=2"),
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "B=3"),
        ]);
        assert_eq!(
            e.exporter.headers,
            vec![("a".into(), "1".into()), ("B".into(), "3".into())]
        );
    }

    #[test]
    fn a_given_timeout_is_known_to_be_given() {
        assert!(!env(&[]).timeout_set);
        assert!(env(&[("OTEL_EXPORTER_OTLP_TIMEOUT", "1500")]).timeout_set);
        assert!(env(&[("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "10")]).timeout_set);
        assert!(!env(&[("OTEL_EXPORTER_OTLP_TIMEOUT", "soon")]).timeout_set);
    }

    #[test]
    fn timeout_is_milliseconds() {
        let e = env(&[("OTEL_EXPORTER_OTLP_TIMEOUT", "1500")]);
        assert_eq!(e.exporter.timeout, Duration::from_millis(1500));
        let e = env(&[("OTEL_EXPORTER_OTLP_TIMEOUT", "1s")]);
        assert_eq!(e.exporter.timeout, DEFAULT_TIMEOUT);
        assert_eq!(e.warnings.len(), 1);
    }

    #[test]
    fn invalid_traceparent_warns_and_drops_tracestate() {
        let e = env(&[("TRACEPARENT", "garbage"), ("TRACESTATE", "a=b")]);
        assert!(e.parent.is_none() && e.tracestate.is_none());
        assert_eq!(e.warnings.len(), 1);
    }

    #[test]
    fn malformed_resource_attributes_are_discarded_whole() {
        let e = env(&[("OTEL_RESOURCE_ATTRIBUTES", "a=1,b=%zz")]);
        assert!(e.resource.is_empty());
        assert_eq!(e.warnings.len(), 1);
        let e = env(&[("OTEL_RESOURCE_ATTRIBUTES", "a=1, b = x%2Cy ")]);
        assert_eq!(
            e.resource,
            vec![("a".into(), "1".into()), ("b".into(), "x,y".into())]
        );
    }

    #[test]
    fn samplers() {
        let e = env(&[
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0"),
        ]);
        let id = [7u8; 16];
        assert!(!e.sampler.should_sample(&id, None));
        assert!(e.sampler.should_sample(&id, Some(true)));
        assert!(!Sampler::AlwaysOff.should_sample(&id, Some(true)));
        assert!(!Sampler::default().should_sample(&id, Some(false)));
        let e = env(&[("OTEL_TRACES_SAMPLER", "sometimes")]);
        assert_eq!(e.sampler, Sampler::default());
        assert_eq!(e.warnings.len(), 1);
    }
}
