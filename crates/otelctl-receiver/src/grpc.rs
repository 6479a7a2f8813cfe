//! The OTLP/gRPC trace receiver: `opentelemetry.proto.collector.trace.v1.TraceService/Export`
//! over cleartext HTTP/2 on the receiver's port (+0), beside OTLP/HTTP.
//!
//! devenv (>= 2.1, default builds) exports its own spans only this way. tonic does the gRPC
//! framing, compression (gzip) and status answers; the messages are the ones OTLP/HTTP decodes
//! (`otelctl_otlp`, prost), through tonic-prost's codec: one OTLP model, no generated copy. The
//! service is written out here (what tonic's code generator would emit for this one unary
//! method) because the generator needs the `.proto` files and `protoc`, and would produce a
//! second set of message types.
//!
//! Answers: `OK` with an `ExportTraceServiceResponse` (`partial_success` when spans were refused)
//! once the spans are durable; `UNAVAILABLE` when they could not be made durable (clients retry);
//! `INVALID_ARGUMENT` for a message that does not decode; `UNIMPLEMENTED` for other methods.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use tonic::codec::CompressionEncoding;
use tonic_prost::ProstCodec;

use otelctl_otlp::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};

use crate::server::{Body, GrpcFn};
use crate::Sink;

/// The gRPC path of the trace export method.
pub const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

#[derive(Clone)]
struct Export {
    sink: Arc<dyn Sink>,
}

impl tonic::server::UnaryService<ExportTraceServiceRequest> for Export {
    type Response = ExportTraceServiceResponse;
    type Future = Pin<
        Box<
            dyn Future<Output = Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status>>
                + Send,
        >,
    >;

    fn call(&mut self, request: tonic::Request<ExportTraceServiceRequest>) -> Self::Future {
        let sink = self.sink.clone();
        Box::pin(async move {
            let outcome = sink
                .ingest_traces(request.into_inner())
                .await
                .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
            Ok(tonic::Response::new(ExportTraceServiceResponse {
                partial_success: (outcome.rejected > 0).then(|| ExportTracePartialSuccess {
                    rejected_spans: outcome.rejected as i64,
                    error_message: outcome.reason.unwrap_or_default(),
                }),
            }))
        })
    }
}

/// The gRPC service for [`crate::server::serve`].
pub fn service(sink: Arc<dyn Sink>, max_message: usize) -> GrpcFn {
    Arc::new(move |req: http::Request<Incoming>| {
        let sink = sink.clone();
        Box::pin(async move {
            if req.uri().path() != EXPORT_PATH {
                return tonic::Status::unimplemented(format!(
                    "{} is not served here: only {EXPORT_PATH}",
                    req.uri().path()
                ))
                .into_http::<tonic::body::Body>()
                .map(box_body);
            }
            let mut grpc = tonic::server::Grpc::new(ProstCodec::<
                ExportTraceServiceResponse,
                ExportTraceServiceRequest,
            >::default())
            .accept_compressed(CompressionEncoding::Gzip)
            .send_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size(max_message);
            let response = grpc.unary(Export { sink }, req).await;
            response.map(box_body)
        })
    })
}

fn box_body(body: tonic::body::Body) -> Body {
    body.map_err(|status| Box::new(status) as crate::server::BoxError)
        .boxed_unsync()
}
