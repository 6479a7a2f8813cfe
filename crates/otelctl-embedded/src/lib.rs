//! The embedded default: otelctl's own OTLP receiver and trace viewer, for machines without the
//! Collector, Tempo and Grafana programs (`otelctl up --embedded`).
//!
//! One entry point, [`serve`]: it binds the receiver on the Collector port (+0: OTLP/HTTP and
//! OTLP/gRPC on one port) and the viewer on the Grafana port (+3), both on 127.0.0.1, restores
//! the store ([`otelctl_store`], `store.db`), ingests the spool, and runs until SIGINT or
//! SIGTERM, then closes the store and returns. [`Server::start`] is the same without the
//! signal handling, for tests and for embedding.
//!
//! Threads, all serving with hyper on tokio: the receivers' connections are accepted on one
//! runtime (one async worker, which also serves the viewer) and handed in turn to [`LANES`]
//! lanes ([`server::Lanes`]), threads each running a single-threaded runtime of its own, so a
//! connection's requests are parsed and small exports answered start to end on one thread, with
//! no wake-ups across threads (a multi-threaded runtime's second worker cost 10-15% at one span
//! per request in such wake-ups, `benchmarks/embedded.md`), while two lanes keep two cores busy.
//! CPU work that grows with the request (decoding and storing large exports, rendering viewer
//! pages) goes to the blocking pools (one thread per lane, [`MAX_BLOCKING_THREADS`] for the
//! viewer's runtime), so large exports decode in parallel and the loops stay responsive.
//! Blocking work keeps its own threads: the store's writer (group commits) and checkpointer,
//! and the spool ingester. Modules:
//!
//! | module | job |
//! |---|---|
//! | [`server`], [`receiver`], [`grpc`] | the OTLP server and HTTP stack: `otelctl_receiver`'s, re-exported |
//! | [`ingest`] | the one ingest path (the store's [`otelctl_receiver::Sink`]): the pre-store hook, then the store's group commit |
//! | [`store`] | between the store's rows and the viewer's types (summaries, filters, runs) |
//! | [`viewer`] | the viewer's routes, the data its pages need (queries on the store), live updates (SSE); the pages themselves are `otelctl-viewer`'s |
//! | [`signals_view`] | the logs and metrics pages' routes and their JSON API (`/logs`, `/metrics`, `/api/logs`, `/api/metrics`, `/api/metrics/series`) |
//! | [`export`] | `otelctl export`: select stored traces, write OTLP/JSON, forward |
//! | [`probe`] | is the embedded server running here? (`status`, `wait`) |

pub mod export;
pub mod ingest;
pub mod probe;
pub mod signals_view;
pub mod store;
pub mod viewer;

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use otelctl_config::detect::Mode;
use otelctl_config::env;
use otelctl_config::error::{Error, Result, Source};
use otelctl_config::formats::parse_duration;
use otelctl_config::settings::Settings;

use otelctl_config::env::EnvVars;
// The OTLP server lives in otelctl-receiver (shared with dt's relay); these paths stay.
pub use otelctl_receiver::{
    grpc, receiver, server, StopSignal, DEFAULT_MAX_BODY, DEFAULT_MAX_CONNECTIONS,
};
pub use otelctl_store::{Durability, Retention};
use otelctl_store::{Options, Store};

/// Threads serving the receivers' connections ([`server::Lanes`]), each with one blocking
/// thread: 4-5% more one-span exports per second than one event loop for everything, here on
/// two cores (alternating runs, `benchmarks/embedded.md`).
pub const LANES: usize = 2;
/// Most threads of the main runtime's blocking pool (rendering viewer pages; decoding and
/// storing large exports that arrive on a connection it serves). Two keep two cores busy; four ran about as fast at 1,000 spans per request
/// here but held 4-5 MiB more at peak (a decoded batch and an allocator arena each).
pub const MAX_BLOCKING_THREADS: usize = 2;
/// How often the spool is ingested again while the server runs.
pub const SPOOL_INTERVAL: Duration = Duration::from_secs(5);

/// What [`serve`] needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The receiver's address: 127.0.0.1 and the Collector port (+0).
    pub receiver: SocketAddr,
    /// The viewer's address: 127.0.0.1 and the Grafana port (+3).
    pub viewer: SocketAddr,
    /// A second receiver address, for OTLP/gRPC clients that follow `otelctl env`'s
    /// `DEVENV_TRACE_DEFAULT_TO` (devenv >= 2.1): 127.0.0.1 and the port that names the project's
    /// OTLP/gRPC ingest in every mode (+1, Tempo's in the local stack, free here). Same
    /// protocols as `receiver`.
    pub otlp_grpc: Option<SocketAddr>,
    /// `DataDir::embedded()`: where the store (`store.db`) lives.
    pub data_dir: PathBuf,
    /// The spool to ingest, when there is one.
    pub spool_dir: Option<PathBuf>,
    /// How much history the store keeps.
    pub retention: Retention,
    pub max_body: usize,
    pub max_connections: usize,
    /// When an export is acknowledged: once its transaction is synced (default) or written.
    pub durability: Durability,
}

/// State shared by the receiver, the viewer and the background threads.
pub struct Shared {
    /// The store: appends go to its writer thread, queries run on the caller's thread.
    pub store: Arc<Store>,
    stop: Arc<StopSignal>,
    pub(crate) bad_requests: AtomicU64,
    pub(crate) sse_clients: AtomicUsize,
}

impl Shared {
    pub(crate) fn stopping(&self) -> bool {
        self.stop.is_set()
    }
    pub(crate) fn stop_signal(&self) -> &StopSignal {
        &self.stop
    }
}

/// A running embedded server.
pub struct Server {
    shared: Arc<Shared>,
    runtime: tokio::runtime::Runtime,
    receiver_addr: SocketAddr,
    viewer_addr: SocketAddr,
    otlp_grpc_addr: Option<SocketAddr>,
    data_dir: PathBuf,
    listeners: Vec<tokio::task::JoinHandle<()>>,
    lanes: Arc<server::Lanes>,
    spool: Option<JoinHandle<()>>,
    /// Traces in the store at start.
    pub restored: usize,
    /// Problems met while opening the store (a damaged database set aside, unreadable files of
    /// the store before it).
    pub warnings: Vec<String>,
}

fn bind(addr: SocketAddr, what: &'static str, offset: &str) -> Result<TcpListener> {
    server::bind(addr).map_err(|e| {
        // Who holds it: a listener (which process), or an outgoing connection or its
        // TIME_WAIT; and what to do about each.
        if e.kind() == std::io::ErrorKind::AddrInUse {
            return otelctl_config::ports::PortUse::of(addr.port()).error(what);
        }
        Error::failed(
            format!("cannot listen on {addr} for the {what} (port {offset})"),
            e,
        )
        .fix("is the stack (or another `otelctl up`) already running for this project? `otelctl ports` shows what uses the ports")
    })
}

impl Server {
    /// Binds the ports, restores persisted traces and starts the runtime and every thread.
    pub fn start(config: Config, stop: Arc<StopSignal>) -> Result<Server> {
        let receiver_listener = bind(config.receiver, "OTLP receiver", "+0")?;
        let viewer_listener = bind(config.viewer, "trace viewer", "+3")?;
        let grpc_listener = match config.otlp_grpc {
            Some(addr) => Some(bind(addr, "OTLP/gRPC receiver", "+1")?),
            None => None,
        };
        let otlp_grpc_addr = match &grpc_listener {
            Some(l) => Some(
                l.local_addr()
                    .map_err(|e| Error::failed("cannot read the gRPC receiver's address", e))?,
            ),
            None => None,
        };
        let receiver_addr = receiver_listener
            .local_addr()
            .map_err(|e| Error::failed("cannot read the receiver's address", e))?;
        let viewer_addr = viewer_listener
            .local_addr()
            .map_err(|e| Error::failed("cannot read the viewer's address", e))?;
        let (store, report) = Store::open(
            &config.data_dir,
            Options {
                durability: config.durability,
                retention: config.retention,
            },
        )?;
        let mut warnings = report.warnings;
        if report.migrated_traces > 0 {
            warnings.push(format!(
                "imported {} traces from the store before this one (trace files and log) into {}; their files are removed",
                report.migrated_traces,
                store.path().display()
            ));
        }
        let restored = store.trace_count() as usize;
        let shared = Arc::new(Shared {
            store: Arc::new(store),
            stop: stop.clone(),
            bad_requests: AtomicU64::new(0),
            sse_clients: AtomicUsize::new(0),
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(MAX_BLOCKING_THREADS)
            .thread_name("otelctl-server")
            .enable_all()
            .build()
            .map_err(|e| Error::failed("cannot start the server's runtime", e))?;
        let lanes = server::Lanes::start(LANES, stop.clone())
            .map_err(|e| Error::failed("cannot start the server's connection threads", e))?;
        let limits = server::Limits {
            max_connections: config.max_connections,
            max_body: config.max_body,
        };
        let receiver: Arc<dyn server::Handler> = Arc::new(receiver::Receiver {
            sink: shared.clone(),
            max_body: config.max_body,
        });
        let viewer: Arc<dyn server::Handler> = Arc::new(viewer::Viewer {
            shared: shared.clone(),
            port: viewer_addr.port(),
        });
        let grpc = grpc::service(shared.clone(), config.max_body);
        let mut listeners = vec![
            runtime.spawn(server::serve(
                receiver_listener,
                limits,
                stop.clone(),
                receiver.clone(),
                Some(grpc.clone()),
                Some(lanes.clone()),
            )),
            runtime.spawn(server::serve(
                viewer_listener,
                server::Limits {
                    max_body: 64 * 1024,
                    ..limits
                },
                stop.clone(),
                viewer,
                None,
                None,
            )),
        ];
        if let Some(listener) = grpc_listener {
            listeners.push(runtime.spawn(server::serve(
                listener,
                limits,
                stop.clone(),
                receiver,
                Some(grpc),
                Some(lanes.clone()),
            )));
        }
        let spool = match config.spool_dir.clone() {
            Some(dir) => {
                let endpoint = format!("http://{receiver_addr}");
                let stop = stop.clone();
                Some(
                    std::thread::Builder::new()
                        .name("spool".into())
                        .spawn(move || run_spool_ingester(&dir, &endpoint, &stop))
                        .map_err(|e| Error::failed("cannot start the spool thread", e))?,
                )
            }
            None => None,
        };
        Ok(Server {
            shared,
            runtime,
            receiver_addr,
            viewer_addr,
            otlp_grpc_addr,
            data_dir: config.data_dir.clone(),
            listeners,
            lanes,
            spool,
            restored,
            warnings,
        })
    }

    pub fn receiver_addr(&self) -> SocketAddr {
        self.receiver_addr
    }
    pub fn viewer_addr(&self) -> SocketAddr {
        self.viewer_addr
    }
    /// The second receiver address (`Config::otlp_grpc`), when there is one.
    pub fn otlp_grpc_addr(&self) -> Option<SocketAddr> {
        self.otlp_grpc_addr
    }

    /// Blocks until the stop signal fires, then stops everything and saves what is pending.
    pub fn run_until_stopped(self) -> Result<()> {
        self.shared.stop.wait();
        self.shutdown()
    }

    /// Stops now (also triggers the stop signal): the exports in progress are answered (and
    /// committed), then the store is closed. Everything acknowledged was committed before it was
    /// answered, so there is nothing left to save.
    pub fn shutdown(self) -> Result<()> {
        self.shared.stop.trigger();
        let listeners = self.listeners;
        let lanes = self.lanes;
        self.runtime.block_on(async {
            for l in listeners {
                let _ = l.await;
            }
            lanes.finish().await;
        });
        self.runtime.shutdown_timeout(Duration::from_secs(1));
        if let Some(spool) = self.spool {
            let _ = spool.join();
        }
        self.shared.store.close();
        let _ = &self.data_dir;
        Ok(())
    }

    /// The store (tests, and composition with other sinks).
    pub fn store(&self) -> &Arc<Store> {
        &self.shared.store
    }
}

fn run_spool_ingester(dir: &Path, base: &str, stop: &StopSignal) {
    loop {
        match ingest_spool(dir, base) {
            Ok(Some(n)) if n > 0 => eprintln!(
                "otelctl: ingested {n} spooled export(s) from {}",
                dir.display()
            ),
            Ok(Some(_)) => {}
            Ok(None) => return,
            Err(e) => eprintln!("otelctl: warning: spool ingestion: {e}"),
        }
        if stop.wait_timeout(SPOOL_INTERVAL) {
            return;
        }
    }
}

/// Delivers the spool to this server's own receiver with `spool.rs`'s flush (claiming by
/// rename, deleting only what was accepted), so nothing written while no receiver ran is lost
/// and nothing reads the spool format twice; each file goes to its signal's path under `base`
/// (`http://127.0.0.1:PORT`). Returns how many files were delivered.
pub fn ingest_spool(dir: &Path, base: &str) -> Result<Option<usize>> {
    use otelctl_span::exporter::{self, ExporterConfig, Protocol};
    let config = ExporterConfig {
        endpoint: Some(base.to_string()),
        protocol: Protocol::HttpProtobuf,
        headers: Vec::new(),
        timeout: std::time::Duration::from_secs(5),
        certificate: None,
    };
    let spool =
        otelctl_span::spool::Spool::new(dir, otelctl_span::otelenv::DEFAULT_SPOOL_MAX_BYTES);
    let report = spool.flush(&mut |req| {
        let url = exporter::signal_url_from_base(base, req.signal());
        req.export_patiently(&config, &url, std::time::Instant::now() + config.timeout)
    })?;
    if let Some(first) = report.errors.first() {
        return Err(Error::failed(
            format!(
                "{} spooled file(s) not delivered",
                report.failed_files + report.skipped_files + report.corrupt_files
            ),
            first,
        ));
    }
    Ok(Some(report.delivered_files as usize))
}

/// Runs the embedded server until SIGINT or SIGTERM. `on_ready` is called once both ports
/// listen (e.g. to print the URLs).
pub fn serve(config: Config, on_ready: impl FnOnce(&Server)) -> Result<()> {
    limit_malloc_arenas();
    let stop = Arc::new(StopSignal::default());
    watch_signals(stop.clone())?;
    let server = Server::start(config, stop)?;
    on_ready(&server);
    server.run_until_stopped()
}

/// Most glibc malloc arenas for the server process ([`serve`] only: it is the process's one job).
///
/// glibc gives threads their own arenas (up to 8 per core), and an arena keeps what was freed in
/// it. Spans are decoded on the event loop (small exports) or on the blocking pool (large ones),
/// so the store's contents, bounded by the caps, came to be held in three or four arenas at
/// once: 50-54 MiB peak under the load test's two phases against 39-46 MiB for the old server;
/// with two arenas 36-42 MiB, at the same throughput (benchmarks/embedded.md).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(crate) const MALLOC_ARENAS: i32 = 2;

fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a malloc parameter; called before the server's threads start.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, MALLOC_ARENAS);
    }
}

/// Blocks SIGINT and SIGTERM in this thread (and so in every thread started after it) and
/// turns their arrival into `stop.trigger()` on a dedicated thread.
fn watch_signals(stop: Arc<StopSignal>) -> Result<()> {
    // SAFETY: plain libc signal-set calls on a local, zero-initialised sigset_t.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return Err(Error::failed(
                "cannot block SIGINT/SIGTERM",
                std::io::Error::last_os_error(),
            ));
        }
        set
    };
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut sig: libc::c_int = 0;
            // SAFETY: `set` is a valid signal set; `sig` is a valid out pointer.
            while unsafe { libc::sigwait(&set, &mut sig) } != 0 {}
            stop.trigger();
        })
        .map_err(|e| Error::failed("cannot start the signal thread", e))?;
    Ok(())
}

/// Flags of `otelctl up --embedded`, as given.
#[derive(Debug, Default, Clone)]
pub struct RawEmbedded {
    pub max_age: Option<String>,
    pub max_mb: Option<String>,
    pub max_traces: Option<String>,
    /// `--durability`: `fsync` (default) or `write`.
    pub durability: Option<String>,
}

fn positive(
    flag: Option<&str>,
    flag_name: &'static str,
    env_name: &'static str,
    max: u64,
) -> Result<Option<u64>> {
    let (text, origin) = match (flag, env::text(env_name)?) {
        (Some(f), _) => (f.to_string(), Source::Flag(flag_name)),
        (None, Some(e)) => (e, Source::Env(env_name)),
        (None, None) => return Ok(None),
    };
    match text.trim().parse::<u64>() {
        Ok(n) if (1..=max).contains(&n) => Ok(Some(n)),
        _ => Err(Error::InvalidValue {
            what: "value",
            value: text,
            origin,
            expected: format!("a whole number from 1 to {max}"),
        }),
    }
}

impl Config {
    /// The embedded server's configuration: receiver on the Collector port (+0), viewer on the
    /// Grafana port (+3), the store in the local data directory's `embedded/`, the local spool.
    /// Retention: `--max-age` / `$OTELCTL_EMBEDDED_MAX_AGE` (default 90 days), `--max-mb` /
    /// `$OTELCTL_EMBEDDED_MAX_MB` (default 2048), `--max-traces` /
    /// `$OTELCTL_EMBEDDED_MAX_TRACES` (default: no limit).
    pub fn from_settings(settings: &Settings, raw: &RawEmbedded) -> Result<Config> {
        let max_traces = positive(
            raw.max_traces.as_deref(),
            "--max-traces",
            EnvVars::OTELCTL_EMBEDDED_MAX_TRACES,
            1_000_000_000,
        )?;
        let max_bytes = positive(
            raw.max_mb.as_deref(),
            "--max-mb",
            EnvVars::OTELCTL_EMBEDDED_MAX_MB,
            1024 * 1024,
        )?
        .map_or(otelctl_store::DEFAULT_MAX_BYTES, |n| n * 1024 * 1024);
        let max_age = match (
            raw.max_age.as_deref(),
            env::text(EnvVars::OTELCTL_EMBEDDED_MAX_AGE)?,
        ) {
            (Some(f), _) => parse_duration(f, "age", Source::Flag("--max-age"))?,
            (None, Some(e)) => {
                parse_duration(&e, "age", Source::Env(EnvVars::OTELCTL_EMBEDDED_MAX_AGE))?
            }
            (None, None) => otelctl_store::DEFAULT_MAX_AGE,
        };
        let ports = settings.ports();
        let loopback = std::net::Ipv4Addr::LOCALHOST;
        Ok(Config {
            receiver: (loopback, ports.collector_otlp_http).into(),
            viewer: (loopback, ports.grafana_http).into(),
            otlp_grpc: Some((loopback, ports.tempo_otlp_grpc).into()),
            data_dir: settings.data_dir(Mode::Local).embedded(),
            spool_dir: Some(settings.spool_dir(Mode::Local)),
            retention: Retention {
                max_age: Some(max_age),
                max_bytes: Some(max_bytes),
                max_traces,
            },
            max_body: DEFAULT_MAX_BODY,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            durability: match raw.durability.as_deref() {
                None => Durability::default(),
                Some(text) => Durability::parse(text).ok_or_else(|| Error::InvalidValue {
                    what: "durability",
                    value: text.to_string(),
                    origin: Source::Flag("--durability"),
                    expected: "fsync or write".to_string(),
                })?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otelctl_http::{self as http, HttpUrl};
    use std::time::Instant;

    fn config(dir: &Path) -> Config {
        Config {
            receiver: "127.0.0.1:0".parse().unwrap(),
            viewer: "127.0.0.1:0".parse().unwrap(),
            otlp_grpc: None,
            data_dir: dir.to_path_buf(),
            spool_dir: None,
            retention: Retention::NONE,
            max_body: 1024 * 1024,
            max_connections: 8,
            durability: Durability::Fsync,
        }
    }

    fn post(addr: SocketAddr, ct: &str, body: &[u8]) -> http::Response {
        let url = HttpUrl {
            host: "127.0.0.1".into(),
            port: addr.port(),
            path: "/v1/traces".into(),
        };
        let headers = [("Content-Type".to_string(), ct.to_string())];
        http::send(
            &http::Request {
                method: "POST",
                url: &url,
                headers: &headers,
                body,
            },
            Instant::now() + Duration::from_secs(5),
        )
        .unwrap()
    }

    #[test]
    fn in_process_round_trip_and_restart_keeps_traces() {
        let dir = tempfile::tempdir().unwrap();
        let stop = Arc::new(StopSignal::default());
        let server = Server::start(config(dir.path()), stop).unwrap();
        let req = store::tests::request(vec![store::tests::span(7, 1, 0, 10, 20)]);
        let r = post(
            server.receiver_addr(),
            "application/x-protobuf",
            &req.to_protobuf(),
        );
        assert_eq!(r.status, 200);
        let r = post(server.receiver_addr(), "application/json", b"{nope");
        assert_eq!(r.status, 400);
        let status: otelctl_otlp::RpcStatus = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(status.code, otelctl_otlp::rpc_code::INVALID_ARGUMENT);
        server.shutdown().unwrap();

        let server = Server::start(config(dir.path()), Arc::new(StopSignal::default())).unwrap();
        assert_eq!(server.restored, 1);
        server.shutdown().unwrap();
    }
}
