//! The OTLP/HTTP receiver: `POST /v1/traces`, `/v1/metrics` and `/v1/logs`, JSON or protobuf,
//! optionally gzip; the three signals take the same path, limits and answers.
//!
//! Answers follow the OTLP/HTTP specification: `200` with the signal's `Export*ServiceResponse`
//! (with `partialSuccess` when some spans, data points or log records were refused), or an error status with a
//! `google.rpc.Status` body, both in the request's encoding: `400` for a body that does not
//! decode, `413` for a body over the limit (checked before reading it, and again after gzip),
//! `415` for a content type or content encoding it does not speak (answered in JSON), `405`
//! for another method, `503` (retryable) when the export could not be made durable. `200` means
//! the sink is responsible for the export ([`crate::Sink`]: for the embedded store, they are in its write-ahead log). An empty request (`{}`) is
//! accepted: it is how clients probe.

use std::io::Read;
use std::sync::Arc;

use crate::sink::Ingest;
use crate::Sink;
use otelctl_otlp::logs::ExportLogsServiceRequest;
use otelctl_otlp::metrics::ExportMetricsServiceRequest;
use otelctl_otlp::{
    rpc_code, DecodeError, ExportRequest, ExportTraceServiceRequest, RpcStatus, Signal,
};

use crate::server::{Handler, Rejection, Reply, ReplyFuture, Request};

/// The OTLP/HTTP path for traces.
pub const TRACES_PATH: &str = "/v1/traces";
/// The OTLP/HTTP path for metrics.
pub const METRICS_PATH: &str = "/v1/metrics";
/// The OTLP/HTTP path for logs.
pub const LOGS_PATH: &str = "/v1/logs";

/// An OTLP encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Json,
    Protobuf,
}

impl Encoding {
    /// From a `Content-Type` header (parameters such as `charset` ignored).
    pub fn from_content_type(value: Option<&str>) -> Option<Self> {
        let media = value?.split(';').next()?.trim();
        if media.eq_ignore_ascii_case("application/json") {
            Some(Encoding::Json)
        } else if media.eq_ignore_ascii_case("application/x-protobuf")
            || media.eq_ignore_ascii_case("application/protobuf")
        {
            Some(Encoding::Protobuf)
        } else {
            None
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Json => "application/json",
            Encoding::Protobuf => "application/x-protobuf",
        }
    }
}

/// The receiver's request handler.
pub struct Receiver {
    pub sink: Arc<dyn Sink>,
    pub max_body: usize,
}

/// An error answer: `google.rpc.Status` in `encoding`.
pub fn status_reply(http: u16, encoding: Encoding, code: i32, message: String) -> Reply {
    let status = RpcStatus { code, message };
    let body = match encoding {
        Encoding::Json => serde_json::to_vec(&status).expect("a status always serialises"),
        Encoding::Protobuf => prost::Message::encode_to_vec(&status),
    };
    Reply::new(http, encoding.content_type(), body)
}

impl Receiver {
    fn bad(&self, http: u16, encoding: Encoding, code: i32, message: String) -> Reply {
        self.sink.bad_request();
        status_reply(http, encoding, code, message)
    }

    async fn export<R: Ingest>(&self, req: Request) -> Reply {
        let Some(encoding) = Encoding::from_content_type(req.header("content-type")) else {
            return self.bad(
                415,
                Encoding::Json,
                rpc_code::INVALID_ARGUMENT,
                format!(
                    "unsupported Content-Type {:?}: send application/json or application/x-protobuf",
                    req.header("content-type").unwrap_or("")
                ),
            );
        };
        let gzip = match req
            .header("content-encoding")
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("") | Some("identity") => false,
            Some("gzip") | Some("x-gzip") => true,
            Some(other) => {
                return self.bad(
                    415,
                    encoding,
                    rpc_code::INVALID_ARGUMENT,
                    format!("unsupported Content-Encoding {other:?}: send gzip or none"),
                )
            }
        };
        let max_body = self.max_body;
        let body = req.body;
        // Decoding is CPU work proportional to the body: a large (or compressed) one goes to
        // the blocking pool so the event loop keeps serving the other connections.
        let decoded = if body.len() >= OFFLOAD_BYTES || gzip {
            tokio::task::spawn_blocking(move || decode::<R>(&body, encoding, gzip, max_body))
                .await
                .unwrap_or_else(|e| {
                    // Only when the server is stopping (or the decoder panicked).
                    Err((
                        503,
                        rpc_code::UNAVAILABLE,
                        format!("the request was not decoded: {e}"),
                    ))
                })
        } else {
            decode::<R>(&body, encoding, gzip, max_body)
        };
        let request = match decoded {
            Ok(r) => r,
            Err((http, code, message)) => return self.bad(http, encoding, code, message),
        };
        let outcome = match request.ingest(self.sink.clone()).await {
            Ok(o) => o,
            Err(e) => {
                return status_reply(503, encoding, rpc_code::UNAVAILABLE, e.to_string())
                    .with_header("Retry-After", "1")
            }
        };
        let response = R::response(outcome.rejected as i64, outcome.reason.unwrap_or_default());
        let body = match encoding {
            Encoding::Json => serde_json::to_vec(&response).expect("a response always serialises"),
            Encoding::Protobuf => prost::Message::encode_to_vec(&response),
        };
        Reply::new(200, encoding.content_type(), body)
    }
}

/// Request bodies at least this large are decoded on tokio's blocking pool (about 50 spans of
/// OTLP/JSON; decoding them takes a few hundred microseconds), smaller ones on the event loop.
pub(crate) const OFFLOAD_BYTES: usize = 16 * 1024;

/// A request body as an export: gunzipped when `gzip` (to at most `max_body` bytes), then
/// decoded. An error is `(HTTP status, rpc code, message)`.
fn decode<R: ExportRequest>(
    body: &[u8],
    encoding: Encoding,
    gzip: bool,
    max_body: usize,
) -> Result<R, (u16, i32, String)> {
    let inflated;
    let body = if gzip {
        let mut out = Vec::new();
        let decoder = flate2::read::GzDecoder::new(body);
        if let Err(e) = decoder.take(max_body as u64 + 1).read_to_end(&mut out) {
            return Err((
                400,
                rpc_code::INVALID_ARGUMENT,
                format!("body is not valid gzip: {e}"),
            ));
        }
        if out.len() > max_body {
            return Err((
                413,
                rpc_code::RESOURCE_EXHAUSTED,
                format!("decompressed body larger than the limit of {max_body} bytes"),
            ));
        }
        inflated = out;
        &inflated[..]
    } else {
        body
    };
    let req = match encoding {
        Encoding::Json => serde_json::from_slice::<R>(body).map_err(DecodeError::from),
        Encoding::Protobuf => R::decode(body).map_err(DecodeError::from),
    }
    .map_err(|e| (400, rpc_code::INVALID_ARGUMENT, e.to_string()))?;
    at_the_door(&req)?;
    Ok(req)
}

/// The limits every decoded request meets before it is taken ([`otelctl_otlp::limits`]): what
/// could not be read back or exported later is refused now, whole, whatever its encoding.
pub fn at_the_door<R: ExportRequest>(req: &R) -> Result<(), (u16, i32, String)> {
    use otelctl_otlp::limits::{check, LimitExceeded};
    check(req).map_err(|e| match e {
        LimitExceeded::Depth => (400, rpc_code::INVALID_ARGUMENT, e.to_string()),
        LimitExceeded::Size => (413, rpc_code::RESOURCE_EXHAUSTED, e.to_string()),
    })
}

impl Handler for Receiver {
    fn handle(self: Arc<Self>, req: Request) -> ReplyFuture {
        Box::pin(async move { self.route(req).await })
    }

    fn reject(&self, head: Option<&Request>, rejection: Rejection) -> Reply {
        self.sink.bad_request();
        let encoding = head
            .and_then(|h| Encoding::from_content_type(h.header("content-type")))
            .unwrap_or(Encoding::Json);
        let code = match rejection.status {
            413 | 431 => rpc_code::RESOURCE_EXHAUSTED,
            503 => rpc_code::UNAVAILABLE,
            _ => rpc_code::INVALID_ARGUMENT,
        };
        status_reply(rejection.status, encoding, code, rejection.message)
    }
}

impl Receiver {
    async fn route(&self, req: Request) -> Reply {
        let signal = Signal::ALL.into_iter().find(|s| s.http_path() == req.path);
        match (req.method.as_str(), signal) {
            ("POST", Some(Signal::Traces)) => self.export::<ExportTraceServiceRequest>(req).await,
            ("POST", Some(Signal::Metrics)) => {
                self.export::<ExportMetricsServiceRequest>(req).await
            }
            ("POST", Some(Signal::Logs)) => self.export::<ExportLogsServiceRequest>(req).await,
            (_, Some(signal)) => self
                .bad(
                    405,
                    Encoding::Json,
                    rpc_code::INVALID_ARGUMENT,
                    format!(
                        "{} is not supported on {}: use POST",
                        req.method,
                        signal.http_path()
                    ),
                )
                .with_header("Allow", "POST"),
            _ if req.method == "GET" && req.path == "/" => Reply::text(
                200,
                "otelctl embedded OTLP receiver: OTLP/HTTP POST /v1/traces, /v1/metrics, /v1/logs (JSON or protobuf), OTLP/gRPC TraceService, MetricsService, LogsService Export\n",
            ),
            _ => status_reply(
                404,
                Encoding::from_content_type(req.header("content-type")).unwrap_or(Encoding::Json),
                rpc_code::INVALID_ARGUMENT,
                format!(
                    "no such path {:?}: traces go to {TRACES_PATH}, metrics to {METRICS_PATH}, logs to {LOGS_PATH}",
                    req.path
                ),
            ),
        }
    }
}
