//! The one ingest path of the embedded server, shared by OTLP/HTTP, OTLP/gRPC and the spool:
//! [`before_store`] sees each decoded request, then the store takes it and the write-ahead log
//! records it, and the answer waits until the log says it is durable. The receivers reach it
//! through [`Sink`] (`otelctl_receiver`'s), which `otelctl relay` implements too (same
//! transport, different consumer).

use std::sync::Arc;

use otelctl_otlp::logs::ExportLogsServiceRequest;
use otelctl_otlp::metrics::ExportMetricsServiceRequest;
use otelctl_otlp::ExportTraceServiceRequest;
pub use otelctl_receiver::sink::{IngestError, IngestFuture, Sink};

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

/// The log could not make an export durable: answered "unavailable", so the client retries (a
/// retry is deduplicated by span id) or spools.
fn not_durable(NotDurable(why): NotDurable) -> IngestError {
    IngestError::NotDurable(why)
}

/// Exports with at least this many spans are stored off the event loop (on tokio's blocking
/// pool): storing and logging 1,000 spans takes about a millisecond, which would hold up every
/// other connection on the server's single async worker.
pub(crate) const OFFLOAD_SPANS: usize = 64;

/// The embedded store as the receivers' sink: an export is acknowledged once it is durable.
impl Sink for Shared {
    fn ingest_traces(self: Arc<Self>, request: ExportTraceServiceRequest) -> IngestFuture {
        Box::pin(Shared::ingest(self, request))
    }
    // Until the SQLite store (otelctl-store) keeps them: answered "unavailable" (retryable),
    // never acknowledged without being stored.
    fn ingest_metrics(self: Arc<Self>, _request: ExportMetricsServiceRequest) -> IngestFuture {
        Box::pin(async {
            Err(IngestError::Unavailable(
                "this embedded store does not keep metrics yet".into(),
            ))
        })
    }
    fn ingest_logs(self: Arc<Self>, _request: ExportLogsServiceRequest) -> IngestFuture {
        Box::pin(async {
            Err(IngestError::Unavailable(
                "this embedded store does not keep logs yet".into(),
            ))
        })
    }
    fn bad_request(&self) {
        self.bad_requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Shared {
    /// Stores `request` and resolves once it is durable. A large export is stored and its log
    /// record written on the blocking pool; the wait for durability (the sync) is async.
    pub(crate) async fn ingest(
        self: Arc<Self>,
        request: ExportTraceServiceRequest,
    ) -> Result<IngestOutcome, IngestError> {
        let (outcome, seq) = if request.span_count() >= OFFLOAD_SPANS {
            let shared = self.clone();
            tokio::task::spawn_blocking(move || {
                let stored = shared.store_export(request);
                if let (_, Some(seq)) = stored {
                    // Its waiter learns of a failed write from `durable` below.
                    let _ = shared.wal.written(seq);
                }
                stored
            })
            .await
            .map_err(|e| IngestError::Unavailable(format!("storing the export failed: {e}")))?
        } else {
            self.store_export(request)
        };
        match seq {
            Some(seq) => self
                .wal
                .durable(seq)
                .await
                .map_err(not_durable)
                .map(|()| outcome),
            None => Ok(outcome),
        }
    }

    /// The synchronous part of [`Shared::ingest`]: the hook, the store and the log's append;
    /// returns the log record's sequence number (none for an empty export).
    fn store_export(&self, mut request: ExportTraceServiceRequest) -> (IngestOutcome, Option<u64>) {
        before_store(&mut request);
        if request.resource_spans.is_empty() {
            // An empty export (how clients probe): nothing to store or log.
            return (IngestOutcome::default(), None);
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
        (outcome, Some(seq))
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
        self.wal.durable(seq).await.map_err(not_durable)?;
        Ok(cleared)
    }
}
