//! The relay's listener: OTLP/gRPC (devenv) and OTLP/HTTP (the tasks' `otelctl span`) on one
//! loopback port, through the embedded server's transport (`otelctl_receiver`: its HTTP
//! server, OTLP/HTTP receiver and OTLP/gRPC service); each decoded export goes to
//! [`Relay::take`] instead of the store.

use std::net::TcpListener;
use std::sync::Arc;

use otelctl_otlp::logs::ExportLogsServiceRequest;
use otelctl_otlp::metrics::ExportMetricsServiceRequest;
use otelctl_otlp::ExportTraceServiceRequest;
use otelctl_receiver::{
    grpc, receiver, server, IngestError, IngestFuture, IngestOutcome, Sink, StopSignal,
    DEFAULT_MAX_BODY, DEFAULT_MAX_CONNECTIONS,
};
use otelctl_span::emit::Outcome;

use crate::{Adoptable, NotTaken, Relay};

/// [`Relay::take`] (blocking: export or spool) run off the async workers.
struct RelaySink(Arc<Relay>);

impl Sink for RelaySink {
    fn ingest_traces(self: Arc<Self>, request: ExportTraceServiceRequest) -> IngestFuture {
        let relay = self.0.clone();
        Box::pin(async move {
            let spans = request.span_count() as u64;
            match tokio::task::spawn_blocking(move || relay.take(request)).await {
                Ok(Ok(Some(Outcome::Exported { accepted, .. }))) if accepted.rejected_spans > 0 => {
                    let rejected = (accepted.rejected_spans as u64).min(spans);
                    Ok(IngestOutcome {
                        accepted: spans - rejected,
                        rejected,
                        reason: Some(accepted.error_message),
                    })
                }
                Ok(Ok(_)) => Ok(IngestOutcome {
                    accepted: spans,
                    ..Default::default()
                }),
                Ok(Err(NotTaken(why))) => Err(IngestError::Unavailable(why)),
                Err(e) => Err(IngestError::Unavailable(format!("the relay failed: {e}"))),
            }
        })
    }
    fn ingest_metrics(self: Arc<Self>, request: ExportMetricsServiceRequest) -> IngestFuture {
        self.other(request)
    }
    fn ingest_logs(self: Arc<Self>, request: ExportLogsServiceRequest) -> IngestFuture {
        self.other(request)
    }
}

impl RelaySink {
    /// [`Relay::take_other`] on a blocking thread, answered like a trace export.
    fn other<R: Adoptable>(&self, request: R) -> IngestFuture {
        let relay = self.0.clone();
        Box::pin(async move {
            let items = request.item_count() as u64;
            match tokio::task::spawn_blocking(move || relay.take_other(request)).await {
                Ok(Ok(Some(Outcome::Exported { accepted, .. }))) if accepted.rejected_spans > 0 => {
                    let rejected = (accepted.rejected_spans as u64).min(items);
                    Ok(IngestOutcome {
                        accepted: items - rejected,
                        rejected,
                        reason: Some(accepted.error_message),
                    })
                }
                Ok(Ok(_)) => Ok(IngestOutcome {
                    accepted: items,
                    ..Default::default()
                }),
                Ok(Err(NotTaken(why))) => Err(IngestError::Unavailable(why)),
                Err(e) => Err(IngestError::Unavailable(format!("the relay failed: {e}"))),
            }
        })
    }
}

/// A running relay listener.
pub struct Server {
    runtime: tokio::runtime::Runtime,
    serving: tokio::task::JoinHandle<()>,
    stop: Arc<StopSignal>,
}

impl Server {
    /// Serves `listener` (HTTP/1.1 and h2c on the same port) on a runtime of its own.
    pub fn start(listener: TcpListener, relay: Arc<Relay>) -> std::io::Result<Server> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("otelctl-relay")
            .enable_all()
            .build()?;
        let sink: Arc<dyn Sink> = Arc::new(RelaySink(relay));
        let handler: Arc<dyn server::Handler> = Arc::new(receiver::Receiver {
            sink: sink.clone(),
            max_body: DEFAULT_MAX_BODY,
        });
        let grpc = grpc::service(sink, DEFAULT_MAX_BODY);
        let stop = Arc::new(StopSignal::default());
        let limits = server::Limits {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_body: DEFAULT_MAX_BODY,
        };
        let serving = runtime.spawn(server::serve(
            listener,
            limits,
            stop.clone(),
            handler,
            Some(grpc),
            None,
        ));
        Ok(Server {
            runtime,
            serving,
            stop,
        })
    }

    /// Stops accepting, lets the exports in progress be answered (each is bounded by the
    /// forward timeout plus a spool write; connections get the server's drain time), and
    /// returns once they have.
    pub fn stop(self) {
        self.stop.trigger();
        let _ = self.runtime.block_on(self.serving);
        self.runtime.shutdown_background();
    }
}
