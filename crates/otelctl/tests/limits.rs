//! One set of limits at the door of every input path (issue 23, item 3): an attribute value
//! nested too deep, and a request of millions of empty attributes (small on the wire, large
//! decoded), are refused whole by OTLP/HTTP JSON, OTLP/HTTP protobuf, OTLP/gRPC and `import`
//! (the relay and the spool's flush enter through the same receiver), and what was stored
//! before stays.

mod common;
mod embedded_support;

use embedded_support::*;
use otelctl_otlp::{AnyValue, ArrayValue, ExportTraceServiceRequest, KeyValue, Value};
use prost::Message;

fn nested(levels: usize) -> AnyValue {
    let mut v = AnyValue {
        value: Some(Value::StringValue("leaf".into())),
    };
    for _ in 0..levels {
        v = AnyValue {
            value: Some(Value::ArrayValue(ArrayValue { values: vec![v] })),
        };
    }
    v
}

fn with_attrs(trace: u8, attributes: Vec<KeyValue>) -> ExportTraceServiceRequest {
    let mut s = span(trace, 1, 0, "big", now_ns() - 1000, now_ns());
    s.attributes = attributes;
    export_request("limits", vec![s])
}

fn deep(trace: u8) -> ExportTraceServiceRequest {
    with_attrs(
        trace,
        vec![KeyValue {
            key: "deep".into(),
            value: Some(nested(30)),
        }],
    )
}

fn flood(trace: u8) -> ExportTraceServiceRequest {
    with_attrs(trace, vec![KeyValue::default(); 4_000_000])
}

fn stored(up: &Up) -> Vec<String> {
    traces_json(up.viewer())["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["trace_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_input_path_refuses_what_it_could_not_give_back() {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(dir.path(), dir.path(), free_base(), &[]);
    let keep = export_request(
        "limits",
        vec![span(9, 1, 0, "kept", now_ns() - 1000, now_ns())],
    );
    assert_eq!(
        post(up.receiver(), "application/json", &keep.to_json()).status,
        200
    );
    // Just inside the limit: accepted.
    let ok = with_attrs(
        8,
        vec![KeyValue {
            key: "nested".into(),
            value: Some(nested(12)),
        }],
    );
    assert_eq!(
        post(up.receiver(), "application/x-protobuf", &ok.encode_to_vec()).status,
        200
    );

    // OTLP/HTTP JSON and protobuf.
    let r = post(up.receiver(), "application/json", &deep(1).to_json());
    assert_eq!(
        r.status,
        400,
        "json depth: {}",
        String::from_utf8_lossy(&r.body)
    );
    let r = post(
        up.receiver(),
        "application/x-protobuf",
        &deep(2).encode_to_vec(),
    );
    assert_eq!(r.status, 400, "protobuf depth");
    let wire = flood(3).encode_to_vec();
    assert!(
        wire.len() < 8 << 20,
        "under the body limit on the wire: {}",
        wire.len()
    );
    let r = post(up.receiver(), "application/x-protobuf", &wire);
    assert_eq!(
        r.status,
        413,
        "protobuf flood: {}",
        String::from_utf8_lossy(&r.body)
    );

    // OTLP/gRPC.
    let e = grpc_export(up.receiver(), deep(4)).unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e:?}");
    let e = grpc_export(up.receiver(), flood(5)).unwrap_err();
    assert_eq!(e.code(), tonic::Code::ResourceExhausted, "{e:?}");

    // import.
    let file = dir.path().join("deep.json");
    std::fs::write(&file, deep(6).to_json()).unwrap();
    let mut c = common::otelctl(dir.path());
    c.arg("--root")
        .arg(dir.path())
        .args(["--base-port", &up.base.to_string()]);
    let out = common::run(c, ["import", file.to_str().unwrap()]);
    assert!(!out.status.success(), "import of a too-deep file");
    assert!(
        common::stderr(&out).contains("400"),
        "{}",
        common::stderr(&out)
    );

    let mut have = stored(&up);
    have.sort();
    assert_eq!(
        have,
        vec![trace_hex(8), trace_hex(9)],
        "nothing refused was stored, nothing evicted"
    );
}
