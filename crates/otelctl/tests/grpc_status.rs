//! OTLP/gRPC status codes per the OTLP specification (issue 23, item 7), on the real
//! `otelctl up --embedded`: bad data is INVALID_ARGUMENT (never INTERNAL), an over-size message
//! RESOURCE_EXHAUSTED without RetryInfo (never OUT_OF_RANGE, which OTLP clients retry).

mod common;
mod embedded_support;

use embedded_support::{free_base, grpc_export as export, Up};

/// Field 1 (`resource_spans`, a message) sent as a varint: a protobuf that does not decode.
#[derive(Clone, PartialEq, prost::Message)]
struct WrongWireType {
    #[prost(uint64, tag = "1")]
    resource_spans: u64,
}

/// An unknown field padding the message past the receiver's size limit.
#[derive(Clone, PartialEq, prost::Message)]
struct Padded {
    #[prost(bytes = "vec", tag = "99")]
    pad: Vec<u8>,
}

#[test]
fn grpc_answers_bad_data_and_over_size_with_the_otlp_codes() {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(dir.path(), dir.path(), free_base(), &[]);

    let bad = export(up.receiver(), WrongWireType { resource_spans: 7 }).unwrap_err();
    assert_eq!(bad.code(), tonic::Code::InvalidArgument, "{bad:?}");

    let big = export(
        up.receiver(),
        Padded {
            pad: vec![b'x'; 9 << 20],
        },
    )
    .unwrap_err();
    assert_eq!(big.code(), tonic::Code::ResourceExhausted, "{big:?}");
    assert!(
        big.details().is_empty(),
        "no RetryInfo: retrying cannot help: {big:?}"
    );

    // What fits and decodes is accepted on the same connection kind.
    assert!(export(up.receiver(), Padded { pad: vec![] }).is_ok());
}
