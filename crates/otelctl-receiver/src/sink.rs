//! Where the receivers hand each decoded export: the [`Sink`]. The embedded server's store
//! implements it by storing durably, `otelctl relay` by forwarding or spooling; the transport
//! ([`crate::server`], [`crate::receiver`], [`crate::grpc`]) is the same for both.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use otelctl_otlp::logs::ExportLogsServiceRequest;
use otelctl_otlp::metrics::ExportMetricsServiceRequest;
use otelctl_otlp::{ExportRequest, ExportTraceServiceRequest};

/// What became of one export's items (spans, data points or log records: what partial success
/// counts).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IngestOutcome {
    pub accepted: u64,
    pub rejected: u64,
    /// Why items were rejected (the first reason), for the partial-success message.
    pub reason: Option<String>,
}

/// Why an export was not acknowledged. Both are answered "unavailable" (`503` + `Retry-After`,
/// gRPC `UNAVAILABLE`), so the client retries or spools.
#[derive(Debug)]
pub enum IngestError {
    /// The store took it but could not make it durable (the reason).
    NotDurable(String),
    /// Another sink could not take it (dt's relay could neither forward nor spool it).
    Unavailable(String),
}

impl std::fmt::Display for IngestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IngestError::NotDurable(why) => write!(f, "the export could not be saved: {why}"),
            IngestError::Unavailable(why) => f.write_str(why),
        }
    }
}

/// A future answering one export.
pub type IngestFuture = Pin<Box<dyn Future<Output = Result<IngestOutcome, IngestError>> + Send>>;

/// Where the receivers (OTLP/HTTP in [`crate::receiver`], OTLP/gRPC in [`crate::grpc`]) hand
/// each decoded export. The answer resolves once the sink is responsible for the data
/// (committed for a store, forwarded or spooled for the relay); an error is answered
/// "unavailable" (retryable). One method a signal, each with the same contract.
pub trait Sink: Send + Sync + 'static {
    fn ingest_traces(self: Arc<Self>, request: ExportTraceServiceRequest) -> IngestFuture;
    fn ingest_metrics(self: Arc<Self>, request: ExportMetricsServiceRequest) -> IngestFuture;
    fn ingest_logs(self: Arc<Self>, request: ExportLogsServiceRequest) -> IngestFuture;
    /// Counts a request refused before it reached the sink (malformed, too large).
    fn bad_request(&self) {}
}

/// An export request the receivers can hand to a [`Sink`]: the three signals' requests, so the
/// OTLP/HTTP and OTLP/gRPC services are written once.
pub trait Ingest: ExportRequest {
    /// `sink`'s method for this signal.
    fn ingest(self, sink: Arc<dyn Sink>) -> IngestFuture;
}

impl Ingest for ExportTraceServiceRequest {
    fn ingest(self, sink: Arc<dyn Sink>) -> IngestFuture {
        sink.ingest_traces(self)
    }
}

impl Ingest for ExportMetricsServiceRequest {
    fn ingest(self, sink: Arc<dyn Sink>) -> IngestFuture {
        sink.ingest_metrics(self)
    }
}

impl Ingest for ExportLogsServiceRequest {
    fn ingest(self, sink: Arc<dyn Sink>) -> IngestFuture {
        sink.ingest_logs(self)
    }
}
