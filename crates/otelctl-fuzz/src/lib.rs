//! Entry functions of the fuzz targets: each takes arbitrary bytes, feeds them to one parser
//! of untrusted input and panics when a property a user relies on is broken.
//!
//! `fuzz/` (cargo-fuzz, libFuzzer) calls these from its targets; `tests/corpus.rs` replays
//! every committed corpus file through the same functions on stable Rust, so a crash found
//! once stays fixed. Keep the functions deterministic and free of global state.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use otelctl_config::env::EnvVars;
use otelctl_config::formats;
use otelctl_otlp::ExportTraceServiceRequest;
use otelctl_span::attrs::{self, AttrType};
use otelctl_span::exporter::Accepted;
use otelctl_span::otelenv::OtelEnv;
use otelctl_span::spool::Spool;
use otelctl_span::traceparent::{self, TraceParent};

/// A target's entry function.
pub type Entry = fn(&[u8]);

/// Every target: its name (the directory under `fuzz/corpus/`) and its entry function.
pub const TARGETS: &[(&str, Entry)] = &[
    ("otlp_json", otlp_json),
    ("otlp_protobuf", otlp_protobuf),
    ("traceparent", traceparent),
    ("attributes", attributes),
    ("headers", headers),
    ("spool_file", spool_file),
];

/// OTLP/JSON as the embedded receiver and `spool flush` decode it. What decodes must encode
/// to JSON that decodes again to the same request (the store persists it that way), and to
/// protobuf that decodes to the same JSON.
pub fn otlp_json(data: &[u8]) {
    let Ok(req) = ExportTraceServiceRequest::from_json(data) else {
        return;
    };
    check_round_trips(&req);
}

/// OTLP protobuf as the embedded receiver decodes it; same round-trip properties.
pub fn otlp_protobuf(data: &[u8]) {
    let Ok(req) = ExportTraceServiceRequest::from_protobuf(data) else {
        return;
    };
    check_round_trips(&req);
}

fn check_round_trips(req: &ExportTraceServiceRequest) {
    let json = req.to_json();
    let back = ExportTraceServiceRequest::from_json(&json)
        .unwrap_or_else(|e| panic!("our own OTLP/JSON does not decode: {e}"));
    assert_eq!(
        back.to_json(),
        json,
        "OTLP/JSON changes on a second round trip"
    );
    assert_eq!(back.span_count(), req.span_count());
    let pb = req.to_protobuf();
    let back = ExportTraceServiceRequest::from_protobuf(&pb)
        .unwrap_or_else(|e| panic!("our own protobuf does not decode: {e}"));
    assert_eq!(
        back.to_json(),
        json,
        "protobuf round trip changes the request"
    );
}

/// `TRACEPARENT` / `TEST_TRACE_ID` / `TRACESTATE` values: what parses formats to a version-00
/// value that parses to the same context; a trace id is never all zeros.
pub fn traceparent(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(tp) = TraceParent::parse(text) {
        let formatted = tp.format();
        assert_eq!(formatted.len(), 55);
        assert_eq!(TraceParent::parse(&formatted), Ok(tp));
        assert_ne!(tp.trace_id, [0; 16]);
        assert_ne!(tp.span_id, [0; 8]);
    }
    if let Some(id) = otelctl_otlp::parse_trace_id(text) {
        assert_ne!(id, [0; 16]);
    }
    if let Ok(ts) = traceparent::validate_tracestate(text) {
        assert!(
            !ts.chars().any(|c| c.is_control()),
            "a validated tracestate carries control characters into the child's environment"
        );
    }
}

/// `--attr*` flag values and `k=v,...` lists (`OTEL_RESOURCE_ATTRIBUTES`).
pub fn attributes(data: &[u8]) {
    let raw = OsStr::from_bytes(data);
    for ty in [
        AttrType::String,
        AttrType::Int,
        AttrType::Bool,
        AttrType::Double,
    ] {
        if let Ok(kv) = attrs::parse_attr(ty, raw) {
            assert!(!kv.key.is_empty(), "an attribute with an empty key");
            let text = raw.to_str().expect("accepted flags are UTF-8");
            assert!(text.starts_with(&format!("{}=", kv.key)));
        }
    }
    let flags: Vec<(AttrType, OsString)> = data
        .split(|b| *b == b'\n')
        .map(|line| (AttrType::String, OsStr::from_bytes(line).to_os_string()))
        .collect();
    let (kvs, _warnings) = attrs::parse_attrs(&flags);
    let mut keys: Vec<&str> = kvs.iter().map(|kv| kv.key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), kvs.len(), "parse_attrs kept a duplicate key");
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(list) = formats::parse_list(text) {
            for (k, _) in &list {
                assert!(!k.is_empty());
            }
            let mut keys: Vec<&str> = list.iter().map(|(k, _)| k.as_str()).collect();
            keys.sort_unstable();
            keys.dedup();
            assert_eq!(
                keys.len(),
                list.len(),
                "a key-value list kept a duplicate key"
            );
        }
    }
}

/// The `OTEL_*` environment as `span` reads it, lines of the input feeding the variables
/// that carry lists, ids and numbers. Headers that reach the wire have a token name and a
/// value without control characters (no header injection through CR/LF), and no warning
/// repeats a header value: each header list gets members with a canary value that are
/// rejected for every reason a member can be (bad name, bad escape, control character), and
/// the canary must not show in any warning (unless the input itself spells it).
pub fn headers(data: &[u8]) {
    const VARS: [&str; 8] = [
        EnvVars::OTEL_EXPORTER_OTLP_HEADERS,
        EnvVars::OTEL_EXPORTER_OTLP_TRACES_HEADERS,
        EnvVars::OTEL_RESOURCE_ATTRIBUTES,
        EnvVars::OTEL_EXPORTER_OTLP_TIMEOUT,
        EnvVars::TRACEPARENT,
        EnvVars::TRACESTATE,
        EnvVars::OTEL_TRACES_SAMPLER_ARG,
        EnvVars::OTELCTL_SPOOL_MAX_BYTES,
    ];
    const CANARY: &str = "Zq9canaryZq9";
    const BAD_MEMBERS: &str =
        ",bad name=Zq9canaryZq9,ctl=Zq9canaryZq9%0D%0AX: 1,pct=%zzZq9canaryZq9,=Zq9canaryZq9";
    let lines: Vec<Vec<u8>> = data
        .split(|b| *b == b'\n')
        .enumerate()
        .map(|(i, l)| {
            let mut l = l.to_vec();
            if i < 2 {
                l.extend_from_slice(BAD_MEMBERS.as_bytes());
            }
            l
        })
        .collect();
    let lookup = |name: &str| -> Option<OsString> {
        let i = VARS.iter().position(|v| *v == name)?;
        lines.get(i).map(|l| OsStr::from_bytes(l).to_os_string())
    };
    let env = OtelEnv::from_lookup(&lookup);
    for (k, v) in &env.exporter.headers {
        assert!(!k.is_empty());
        assert!(
            k.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)),
            "header name {k:?} is not an HTTP token"
        );
        assert!(
            !v.chars().any(|c| c.is_control()),
            "header {k:?} has a value with control characters"
        );
    }
    assert!(
        env.warnings
            .iter()
            .any(|w| w.starts_with("$OTEL_EXPORTER_OTLP_HEADERS")),
        "the rejected canary members were not reported"
    );
    let spelled = data.windows(CANARY.len()).any(|w| w == CANARY.as_bytes());
    if !spelled {
        for w in &env.warnings {
            assert!(!w.contains(CANARY), "a warning repeats a header value: {w}");
        }
    }
}

/// A spool file as `spool flush` finds it: a valid request is delivered once and deleted,
/// anything else is set aside as `.corrupt`; status never fails on it.
pub fn spool_file(data: &[u8]) {
    let dir = scratch_dir();
    let _ = std::fs::remove_dir_all(&dir);
    let spool = Spool::new(&dir, 1 << 30);
    // A real spool file first (creates the private directory), then the input beside it.
    let seed = ExportTraceServiceRequest::default();
    let first = spool.write(&seed).expect("spool write");
    let name = "00000000000000000001-1-0000000000000000.json";
    std::fs::write(dir.join(name), data).expect("write input");
    std::fs::write(dir.join(".counters"), data).expect("write counters");
    let status = spool.status().expect("status of a spool with odd files");
    assert_eq!(status.files, 2);
    let valid = ExportTraceServiceRequest::from_json(data).is_ok();
    let mut sent = 0;
    let report = spool
        .flush(&mut |_| {
            sent += 1;
            Ok(Accepted {
                rejected_spans: 0,
                error_message: String::new(),
            })
        })
        .expect("flush");
    let expect_delivered = if valid { 2 } else { 1 };
    assert_eq!(report.delivered_files, expect_delivered);
    assert_eq!(sent, expect_delivered);
    assert_eq!(report.corrupt_files, u64::from(!valid));
    assert!(!first.exists());
    assert_eq!(spool.status().expect("status after flush").files, 0);
}

fn scratch_dir() -> PathBuf {
    let base = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    base.join(format!("otelctl-fuzz-spool-{}", std::process::id()))
}
