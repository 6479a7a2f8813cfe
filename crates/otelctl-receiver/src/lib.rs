//! otelctl's OTLP server: OTLP/HTTP and OTLP/gRPC on one loopback port, shared by the embedded
//! server (`otelctl up --embedded`, which also serves its viewer through [`server`]) and by dt's
//! relay (`otelctl relay`). What becomes of an export is the [`Sink`]'s business: the embedded
//! store stores it durably, the relay forwards or spools it.
//!
//! | module | job |
//! |---|---|
//! | [`server`] | hyper HTTP/1.1 + h2c on tokio: limits, deadlines, connection caps, lanes |
//! | [`receiver`] | OTLP/HTTP `POST /v1/traces`, `/v1/metrics`, `/v1/logs`: JSON/protobuf, gzip, OTLP error answers |
//! | [`grpc`] | OTLP/gRPC `TraceService`, `MetricsService`, `LogsService` `Export` (tonic, the same prost messages) |
//! | [`sink`] | the [`Sink`] trait: where decoded exports go, and what came of them |

mod framing;
pub mod grpc;
pub mod receiver;
pub mod server;
pub mod sink;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use tokio::sync::watch;

pub use sink::{Ingest, IngestError, IngestFuture, IngestOutcome, Sink};

/// Largest request body the receiver reads (after gzip too). The Collector's default is 20 MiB;
/// SDK batches are far smaller.
pub const DEFAULT_MAX_BODY: usize = 8 * 1024 * 1024;
/// Most connections at once, per port (tokio tasks: an idle one costs a few KiB). Slow or idle
/// connections are closed by the server's deadlines, so the cap is a bound, not a queue.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;

/// A stop request, shared by the signal watcher, the threads and the async tasks.
#[derive(Debug)]
pub struct StopSignal {
    flag: AtomicBool,
    lock: Mutex<()>,
    cv: Condvar,
    tx: watch::Sender<bool>,
}

impl Default for StopSignal {
    fn default() -> Self {
        StopSignal {
            flag: AtomicBool::new(false),
            lock: Mutex::new(()),
            cv: Condvar::new(),
            tx: watch::Sender::new(false),
        }
    }
}

impl StopSignal {
    pub fn trigger(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.tx.send_replace(true);
        let _guard = self.lock.lock();
        self.cv.notify_all();
    }
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
    /// Waits until triggered, or `timeout` passes; true when triggered.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        if self.is_set() {
            return true;
        }
        let _ = self.cv.wait_timeout(guard, timeout);
        self.is_set()
    }
    pub fn wait(&self) {
        while !self.wait_timeout(Duration::from_secs(3600)) {}
    }
    /// Resolves once triggered.
    pub async fn stopped(&self) {
        let mut rx = self.tx.subscribe();
        let _ = rx.wait_for(|set| *set).await;
    }
}
