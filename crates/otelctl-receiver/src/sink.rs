//! Where the receivers hand each decoded export: the [`Sink`]. The embedded server's store
//! implements it by storing durably, `otelctl relay` by forwarding or spooling; the transport
//! ([`crate::server`], [`crate::receiver`], [`crate::grpc`]) is the same for both.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use otelctl_otlp::ExportTraceServiceRequest;

/// What became of one export's items (spans, data points or log records).
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
            IngestError::NotDurable(why) => write!(f, "the spans could not be saved: {why}"),
            IngestError::Unavailable(why) => f.write_str(why),
        }
    }
}

/// A future answering one export.
pub type IngestFuture = Pin<Box<dyn Future<Output = Result<IngestOutcome, IngestError>> + Send>>;

/// Where the receivers (OTLP/HTTP in [`crate::receiver`], OTLP/gRPC in [`crate::grpc`]) hand
/// each decoded export. The answer resolves once the sink is responsible for the data
/// (committed for a store, forwarded or spooled for the relay); an error is answered
/// "unavailable" (retryable).
pub trait Sink: Send + Sync + 'static {
    fn ingest_traces(self: Arc<Self>, request: ExportTraceServiceRequest) -> IngestFuture;
    /// Counts a request refused before it reached the sink (malformed, too large).
    fn bad_request(&self) {}
}
