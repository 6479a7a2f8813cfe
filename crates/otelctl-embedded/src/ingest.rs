//! The one ingest path of the embedded server, shared by OTLP/HTTP, OTLP/gRPC and the spool:
//! [`before_store`] sees each decoded request, then the store takes it and the write-ahead log
//! records it, and the answer waits until the log says it is durable.

use otelctl_otlp::ExportTraceServiceRequest;

use super::store::IngestOutcome;
use super::wal::{NotDurable, Record};
use super::Shared;

/// Called with every decoded export before it is stored and logged, whatever the transport.
///
/// This is the place for rewriting requests on the way in (e.g. re-parenting devenv's own spans
/// under the `dt` run that caused them). It runs on the server's async workers, outside the
/// store's lock: keep it quick and non-blocking. What it leaves is what is stored, logged and
/// replayed after a restart (replay does not call it again).
pub fn before_store(request: &mut ExportTraceServiceRequest) {
    let _ = request;
}

/// Why an export was not acknowledged.
#[derive(Debug)]
pub enum IngestError {
    /// The store took it but the log could not make it durable: answer "unavailable", so the
    /// client retries (a retry is deduplicated by span id) or spools.
    NotDurable(NotDurable),
}

impl std::fmt::Display for IngestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IngestError::NotDurable(NotDurable(why)) => {
                write!(f, "the spans could not be saved: {why}")
            }
        }
    }
}

impl Shared {
    /// Stores `request` and resolves once it is durable.
    pub(crate) async fn ingest(
        &self,
        mut request: ExportTraceServiceRequest,
    ) -> Result<IngestOutcome, IngestError> {
        before_store(&mut request);
        if request.resource_spans.is_empty() {
            // An empty export (how clients probe): nothing to store or log.
            return Ok(IngestOutcome::default());
        }
        let payload = request.to_protobuf();
        let (outcome, seq, generation) = {
            let mut store = self.lock();
            let outcome = store.ingest(request);
            // Logged under the store's lock, so the log's order is the store's.
            let seq = self.wal.append(&Record::Export(payload));
            (outcome, seq, store.generation())
        };
        if outcome.accepted > 0 {
            self.notify(generation);
        }
        let seq = seq.map_err(IngestError::NotDurable)?;
        self.wal
            .durable(seq)
            .await
            .map_err(IngestError::NotDurable)?;
        Ok(outcome)
    }

    /// Removes every stored trace (memory, log, then files); resolves once the clear is durable.
    pub(crate) async fn clear(&self) -> Result<usize, IngestError> {
        let (cleared, seq, generation) = {
            let mut store = self.lock();
            let n = store.trace_count();
            store.clear();
            let seq = self.wal.append(&Record::Clear);
            (n, seq, store.generation())
        };
        self.notify(generation);
        self.persist_now();
        let seq = seq.map_err(IngestError::NotDurable)?;
        self.wal
            .durable(seq)
            .await
            .map_err(IngestError::NotDurable)?;
        Ok(cleared)
    }
}
