//! The OTLP/gRPC receiver: `TraceService/Export`, `MetricsService/Export` and
//! `LogsService/Export` (`opentelemetry.proto.collector.{trace,metrics,logs}.v1`) over cleartext
//! HTTP/2 on the receiver's port, beside OTLP/HTTP.
//!
//! devenv (>= 2.1, default builds) exports its own spans only this way, and so do SDKs set to
//! `OTEL_EXPORTER_OTLP_PROTOCOL=grpc`. tonic does the gRPC framing, compression (gzip) and
//! status answers; the messages are the ones OTLP/HTTP decodes (`otelctl_otlp`, prost), through
//! tonic-prost's codec: one OTLP model, no generated copy. The service is written out here (what
//! tonic's code generator would emit for these unary methods, once for the three signals)
//! because the generator needs the `.proto` files and `protoc`, and would produce a second set of
//! message types.
//!
//! Answers: `OK` with the signal's `Export*ServiceResponse` (`partial_success` when items were
//! refused) once the sink is responsible for the export; `UNAVAILABLE` when it could not be made
//! durable (clients retry); `INVALID_ARGUMENT` for a message that does not decode;
//! `UNIMPLEMENTED` for other methods.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use tonic::codec::CompressionEncoding;
use tonic_prost::ProstCodec;

use otelctl_otlp::logs::ExportLogsServiceRequest;
use otelctl_otlp::metrics::ExportMetricsServiceRequest;
use otelctl_otlp::{ExportTraceServiceRequest, Signal};

use crate::server::{Body, GrpcFn};
use crate::sink::Ingest;
use crate::Sink;

/// The gRPC path of the trace export method.
pub const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
/// The gRPC path of the metrics export method.
pub const METRICS_EXPORT_PATH: &str =
    "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
/// The gRPC path of the logs export method.
pub const LOGS_EXPORT_PATH: &str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";

struct Export<R> {
    sink: Arc<dyn Sink>,
    request: PhantomData<fn(R)>,
}

impl<R> Clone for Export<R> {
    fn clone(&self) -> Self {
        Export {
            sink: self.sink.clone(),
            request: PhantomData,
        }
    }
}

impl<R: Ingest> tonic::server::UnaryService<R> for Export<R> {
    type Response = R::Response;
    type Future =
        Pin<Box<dyn Future<Output = Result<tonic::Response<R::Response>, tonic::Status>> + Send>>;

    fn call(&mut self, request: tonic::Request<R>) -> Self::Future {
        let sink = self.sink.clone();
        Box::pin(async move {
            let request = request.into_inner();
            if let Err((_, code, message)) = crate::receiver::at_the_door(&request) {
                return Err(tonic::Status::new(tonic::Code::from(code), message));
            }
            let outcome = request
                .ingest(sink)
                .await
                .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
            Ok(tonic::Response::new(R::response(
                outcome.rejected as i64,
                outcome.reason.unwrap_or_default(),
            )))
        })
    }
}

async fn unary<R: Ingest>(
    sink: Arc<dyn Sink>,
    max_message: usize,
    req: http::Request<Incoming>,
) -> http::Response<Body> {
    let mut grpc = tonic::server::Grpc::new(ProstCodec::<R::Response, R>::default())
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(max_message);
    let export = Export::<R> {
        sink,
        request: PhantomData,
    };
    let mut response = grpc.unary(export, req).await;
    otlp_status_code(response.headers_mut());
    response.map(box_body)
}

/// The OTLP specification's status codes where tonic's differ. tonic answers a message that
/// does not decode (or decompress) with INTERNAL and one over the size limit with OUT_OF_RANGE;
/// OTLP clients retry OUT_OF_RANGE (and some INTERNAL), though neither request can ever succeed.
/// So: bad data is INVALID_ARGUMENT, an over-size message RESOURCE_EXHAUSTED without RetryInfo
/// (which OTLP clients do not retry). What retrying helps (the sink could not take the data now)
/// stays UNAVAILABLE. Both are answered "trailers-only", in the response head.
fn otlp_status_code(headers: &mut http::HeaderMap) {
    let code = match headers.get("grpc-status").map(|v| v.as_bytes()) {
        Some(b"13") => tonic::Code::InvalidArgument,
        Some(b"11") => tonic::Code::ResourceExhausted,
        _ => return,
    };
    headers.insert("grpc-status", http::HeaderValue::from(code as i32));
}

/// The gRPC service for [`crate::server::serve`].
pub fn service(sink: Arc<dyn Sink>, max_message: usize) -> GrpcFn {
    Arc::new(move |req: http::Request<Incoming>| {
        let sink = sink.clone();
        Box::pin(async move {
            let signal = Signal::ALL
                .into_iter()
                .find(|s| s.grpc_path() == req.uri().path());
            match signal {
                Some(Signal::Traces) => {
                    unary::<ExportTraceServiceRequest>(sink, max_message, req).await
                }
                Some(Signal::Metrics) => {
                    unary::<ExportMetricsServiceRequest>(sink, max_message, req).await
                }
                Some(Signal::Logs) => {
                    unary::<ExportLogsServiceRequest>(sink, max_message, req).await
                }
                None => tonic::Status::unimplemented(format!(
                    "{} is not served here: only {EXPORT_PATH}, {METRICS_EXPORT_PATH} and {LOGS_EXPORT_PATH}",
                    req.uri().path()
                ))
                .into_http::<tonic::body::Body>()
                .map(box_body),
            }
        })
    })
}

fn box_body(body: tonic::body::Body) -> Body {
    body.map_err(|status| Box::new(status) as crate::server::BoxError)
        .boxed_unsync()
}
