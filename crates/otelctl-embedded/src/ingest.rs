//! The one ingest path of the embedded server, shared by OTLP/HTTP, OTLP/gRPC and the spool:
//! [`before_store`] sees each decoded request, then the store takes it, and the answer waits
//! until the store's writer has committed the transaction holding it (group commit: every
//! export pending at that moment shares it). The receivers reach it through [`Sink`]
//! (`otelctl_receiver`'s), which `otelctl relay` implements too (same transport, different
//! consumer).

use std::sync::Arc;

use otelctl_otlp::logs::ExportLogsServiceRequest;
use otelctl_otlp::metrics::ExportMetricsServiceRequest;
use otelctl_otlp::ExportTraceServiceRequest;
pub use otelctl_receiver::sink::{IngestError, IngestFuture, Sink};

use super::store::IngestOutcome;
use super::Shared;

/// Called with every decoded export before it is stored, whatever the transport.
///
/// This is the place for rewriting requests on the way in (e.g. re-parenting devenv's own spans
/// under the `dt` run that caused them). It runs on the server's async workers: keep it quick
/// and non-blocking. What it leaves is what is stored.
pub fn before_store(request: &mut ExportTraceServiceRequest) {
    let _ = request;
}

/// Exports with at least this many spans are prepared for the store (encoded, summarised) off
/// the event loop, on tokio's blocking pool: 1,000 spans take about a millisecond, which would
/// hold up every other connection on the lane.
pub(crate) const OFFLOAD_SPANS: usize = 64;

/// The embedded store as the receivers' sink: an export is acknowledged once it is committed.
impl Sink for Shared {
    fn ingest_traces(self: Arc<Self>, request: ExportTraceServiceRequest) -> IngestFuture {
        Box::pin(Shared::ingest(self, request))
    }
    /// Metric points, committed like spans (a point already stored for its series and time is
    /// skipped, so a retry is not doubled).
    fn ingest_metrics(self: Arc<Self>, request: ExportMetricsServiceRequest) -> IngestFuture {
        Box::pin(async move {
            let pending = if request.data_point_count() >= OFFLOAD_SPANS {
                let store = self.store.clone();
                tokio::task::spawn_blocking(move || store.submit_metrics(&request))
                    .await
                    .map_err(|e| {
                        IngestError::Unavailable(format!("storing the export failed: {e}"))
                    })?
            } else {
                self.store.submit_metrics(&request)
            };
            let o = pending
                .wait()
                .await
                .map_err(|e| IngestError::NotDurable(e.0))?;
            Ok(IngestOutcome {
                accepted: o.accepted,
                ..IngestOutcome::default()
            })
        })
    }
    /// Log records, committed like spans (a record already stored is skipped).
    fn ingest_logs(self: Arc<Self>, request: ExportLogsServiceRequest) -> IngestFuture {
        Box::pin(async move {
            let pending = if request.record_count() >= OFFLOAD_SPANS {
                let store = self.store.clone();
                tokio::task::spawn_blocking(move || store.submit_logs(&request))
                    .await
                    .map_err(|e| {
                        IngestError::Unavailable(format!("storing the export failed: {e}"))
                    })?
            } else {
                self.store.submit_logs(&request)
            };
            let o = pending
                .wait()
                .await
                .map_err(|e| IngestError::NotDurable(e.0))?;
            Ok(IngestOutcome {
                accepted: o.accepted,
                ..IngestOutcome::default()
            })
        })
    }
    fn bad_request(&self) {
        self.bad_requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Shared {
    /// Stores `request` and resolves once it is committed; a commit that fails (disk full, I/O
    /// error) stores nothing of it and is answered "unavailable", so the client retries (a
    /// retry is deduplicated by span id) or spools.
    pub(crate) async fn ingest(
        self: Arc<Self>,
        mut request: ExportTraceServiceRequest,
    ) -> Result<IngestOutcome, IngestError> {
        before_store(&mut request);
        if request.resource_spans.is_empty() {
            // An empty export (how clients probe): nothing to store.
            return Ok(IngestOutcome::default());
        }
        let pending = if request.span_count() >= OFFLOAD_SPANS {
            let store = self.store.clone();
            tokio::task::spawn_blocking(move || store.submit_traces(request))
                .await
                .map_err(|e| IngestError::Unavailable(format!("storing the export failed: {e}")))?
        } else {
            self.store.submit_traces(request)
        };
        let o = pending
            .wait()
            .await
            .map_err(|e| IngestError::NotDurable(e.0))?;
        Ok(IngestOutcome {
            accepted: o.accepted,
            rejected: o.rejected,
            reason: o.reason,
        })
    }

    /// Removes every stored trace, log record and metric; resolves once committed.
    pub(crate) async fn clear(&self) -> Result<u64, IngestError> {
        self.store
            .clear()
            .await
            .map_err(|e| IngestError::NotDurable(e.0))
    }
}
