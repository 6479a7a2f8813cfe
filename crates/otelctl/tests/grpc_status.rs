//! OTLP/gRPC status codes per the OTLP specification (issue 23, item 7), on the real
//! `otelctl up --embedded`: bad data is INVALID_ARGUMENT (never INTERNAL), an over-size message
//! RESOURCE_EXHAUSTED without RetryInfo (never OUT_OF_RANGE, which OTLP clients retry).

mod common;
mod embedded_support;

use embedded_support::{free_base, Up};
use otelctl_otlp::ExportTraceServiceResponse;

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

fn export<M: prost::Message + Default + Send + Sync + 'static>(
    port: u16,
    msg: M,
) -> Result<ExportTraceServiceResponse, tonic::Status> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready().await.unwrap();
        let codec = tonic_prost::ProstCodec::<M, ExportTraceServiceResponse>::default();
        let path = tonic::codegen::http::uri::PathAndQuery::from_static(
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        );
        grpc.unary(tonic::Request::new(msg), path, codec)
            .await
            .map(tonic::Response::into_inner)
    })
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
