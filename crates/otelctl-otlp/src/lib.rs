//! The OTLP trace data model: one set of types that encodes to protobuf (prost) and OTLP/JSON.
//!
//! Field tags follow opentelemetry-proto (`trace/v1/trace.proto`, `common/v1/common.proto`,
//! `resource/v1/resource.proto`, `collector/trace/v1/trace_service.proto`). The JSON form
//! follows the OTLP/JSON rules: lowerCamelCase names, lowercase hex ids (either case
//! accepted), 64-bit integers as decimal strings (strings or numbers accepted), enums as
//! integers, unknown fields ignored. Every other part of otelctl uses these types.
//!
//! Metrics (`metrics`) and logs (`logs`) follow the same rules; [`Signal`] and
//! [`ExportRequest`] are what the three export requests have in common.

pub mod limits;
pub mod logs;
pub mod metrics;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

/// `ExportTraceServiceRequest`: what an OTLP exporter sends.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExportTraceServiceRequest {
    #[prost(message, repeated, tag = "1")]
    pub resource_spans: Vec<ResourceSpans>,
}

/// `ExportTraceServiceResponse`: what a receiver answers.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExportTraceServiceResponse {
    #[prost(message, optional, tag = "1")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial_success: Option<ExportTracePartialSuccess>,
}

/// `google.rpc.Status`: the body of an OTLP/HTTP error response (400, 413, 415, ...), in the
/// request's encoding. `details` (tag 3) is never sent by otelctl and ignored when received.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RpcStatus {
    /// A `google.rpc.Code` (3 INVALID_ARGUMENT, 8 RESOURCE_EXHAUSTED, ...).
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
}

/// `google.rpc.Code` values used in OTLP error responses.
pub mod rpc_code {
    pub const INVALID_ARGUMENT: i32 = 3;
    pub const RESOURCE_EXHAUSTED: i32 = 8;
    pub const UNAVAILABLE: i32 = 14;
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExportTracePartialSuccess {
    #[prost(int64, tag = "1")]
    #[serde(with = "i64_text")]
    pub rejected_spans: i64,
    #[prost(string, tag = "2")]
    pub error_message: String,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ResourceSpans {
    #[prost(message, optional, tag = "1")]
    pub resource: Option<Resource>,
    #[prost(message, repeated, tag = "2")]
    pub scope_spans: Vec<ScopeSpans>,
    #[prost(string, tag = "3")]
    #[serde(skip_serializing_if = "String::is_empty")]
    pub schema_url: String,
}

impl ResourceSpans {
    /// Every span of every scope, each with this resource's attributes.
    pub fn spans(&self) -> impl Iterator<Item = (&[KeyValue], &Span)> {
        let res: &[KeyValue] = self
            .resource
            .as_ref()
            .map(|r| r.attributes.as_slice())
            .unwrap_or(&[]);
        self.scope_spans
            .iter()
            .flat_map(move |ss| ss.spans.iter().map(move |s| (res, s)))
    }
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Resource {
    #[prost(message, repeated, tag = "1")]
    pub attributes: Vec<KeyValue>,
    #[prost(uint32, tag = "2")]
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub dropped_attributes_count: u32,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ScopeSpans {
    #[prost(message, optional, tag = "1")]
    pub scope: Option<InstrumentationScope>,
    #[prost(message, repeated, tag = "2")]
    pub spans: Vec<Span>,
    #[prost(string, tag = "3")]
    #[serde(skip_serializing_if = "String::is_empty")]
    pub schema_url: String,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InstrumentationScope {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    #[serde(skip_serializing_if = "String::is_empty")]
    pub version: String,
    #[prost(message, repeated, tag = "3")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<KeyValue>,
    #[prost(uint32, tag = "4")]
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub dropped_attributes_count: u32,
}

/// One span. Ids are raw bytes (16 for trace, 8 for span; empty parent = root).
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Span {
    #[prost(bytes = "vec", tag = "1")]
    #[serde(with = "hex_id")]
    pub trace_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    #[serde(with = "hex_id")]
    pub span_id: Vec<u8>,
    #[prost(string, tag = "3")]
    #[serde(skip_serializing_if = "String::is_empty")]
    pub trace_state: String,
    #[prost(bytes = "vec", tag = "4")]
    #[serde(with = "hex_id", skip_serializing_if = "Vec::is_empty")]
    pub parent_span_id: Vec<u8>,
    #[prost(fixed32, tag = "16")]
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub flags: u32,
    #[prost(string, tag = "5")]
    pub name: String,
    #[prost(enumeration = "SpanKind", tag = "6")]
    #[serde(deserialize_with = "span_kind")]
    pub kind: i32,
    #[prost(fixed64, tag = "7")]
    #[serde(with = "u64_text")]
    pub start_time_unix_nano: u64,
    #[prost(fixed64, tag = "8")]
    #[serde(with = "u64_text")]
    pub end_time_unix_nano: u64,
    #[prost(message, repeated, tag = "9")]
    pub attributes: Vec<KeyValue>,
    #[prost(uint32, tag = "10")]
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub dropped_attributes_count: u32,
    #[prost(message, repeated, tag = "11")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<Event>,
    #[prost(uint32, tag = "12")]
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub dropped_events_count: u32,
    #[prost(message, repeated, tag = "13")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    #[prost(uint32, tag = "14")]
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub dropped_links_count: u32,
    #[prost(message, optional, tag = "15")]
    pub status: Option<Status>,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Event {
    #[prost(fixed64, tag = "1")]
    #[serde(with = "u64_text")]
    pub time_unix_nano: u64,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(message, repeated, tag = "3")]
    pub attributes: Vec<KeyValue>,
    #[prost(uint32, tag = "4")]
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub dropped_attributes_count: u32,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Link {
    #[prost(bytes = "vec", tag = "1")]
    #[serde(with = "hex_id")]
    pub trace_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    #[serde(with = "hex_id")]
    pub span_id: Vec<u8>,
    #[prost(string, tag = "3")]
    #[serde(skip_serializing_if = "String::is_empty")]
    pub trace_state: String,
    #[prost(message, repeated, tag = "4")]
    pub attributes: Vec<KeyValue>,
    #[prost(uint32, tag = "5")]
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub dropped_attributes_count: u32,
    #[prost(fixed32, tag = "6")]
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub flags: u32,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Status {
    #[prost(string, tag = "2")]
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[prost(enumeration = "StatusCode", tag = "3")]
    #[serde(deserialize_with = "status_code")]
    pub code: i32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum SpanKind {
    Unspecified = 0,
    Internal = 1,
    Server = 2,
    Client = 3,
    Producer = 4,
    Consumer = 5,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum StatusCode {
    Unset = 0,
    Ok = 1,
    Error = 2,
}

impl SpanKind {
    /// Every kind's name (its proto name without `SPAN_KIND_`, in lower case) and value.
    pub const NAMES: &'static [(&'static str, i32)] = &[
        ("unspecified", 0),
        ("internal", 1),
        ("server", 2),
        ("client", 3),
        ("producer", 4),
        ("consumer", 5),
    ];

    /// The name of the kind `value` (`server`); `unspecified` for a value OTLP does not define.
    pub fn name_of(value: i32) -> &'static str {
        name_in(Self::NAMES, value)
    }
}

impl StatusCode {
    /// Every code's name (its proto name without `STATUS_CODE_`, in lower case) and value.
    pub const NAMES: &'static [(&'static str, i32)] = &[("unset", 0), ("ok", 1), ("error", 2)];

    /// The name of the code `value` (`error`); `unset` for a value OTLP does not define.
    pub fn name_of(value: i32) -> &'static str {
        name_in(Self::NAMES, value)
    }
}

pub(crate) fn name_in(names: &'static [(&'static str, i32)], value: i32) -> &'static str {
    names
        .iter()
        .find(|(_, v)| *v == value)
        .map_or(names[0].0, |(n, _)| n)
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(default)]
pub struct KeyValue {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(message, optional, tag = "2")]
    pub value: Option<AnyValue>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AnyValue {
    #[prost(oneof = "Value", tags = "1, 2, 3, 4, 5, 6, 7")]
    pub value: Option<Value>,
}

/// The value inside an [`AnyValue`].
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Value {
    #[prost(string, tag = "1")]
    StringValue(String),
    #[prost(bool, tag = "2")]
    BoolValue(bool),
    #[prost(int64, tag = "3")]
    IntValue(i64),
    #[prost(double, tag = "4")]
    DoubleValue(f64),
    #[prost(message, tag = "5")]
    ArrayValue(ArrayValue),
    #[prost(message, tag = "6")]
    KvlistValue(KeyValueList),
    #[prost(bytes = "vec", tag = "7")]
    BytesValue(Vec<u8>),
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(default)]
pub struct ArrayValue {
    #[prost(message, repeated, tag = "1")]
    pub values: Vec<AnyValue>,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(default)]
pub struct KeyValueList {
    #[prost(message, repeated, tag = "1")]
    pub values: Vec<KeyValue>,
}

impl KeyValue {
    pub fn new(key: impl Into<String>, value: Value) -> Self {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(value) }),
        }
    }
    pub fn string(key: impl Into<String>, v: impl Into<String>) -> Self {
        Self::new(key, Value::StringValue(v.into()))
    }
    pub fn int(key: impl Into<String>, v: i64) -> Self {
        Self::new(key, Value::IntValue(v))
    }
    pub fn bool(key: impl Into<String>, v: bool) -> Self {
        Self::new(key, Value::BoolValue(v))
    }
    pub fn double(key: impl Into<String>, v: f64) -> Self {
        Self::new(key, Value::DoubleValue(v))
    }
    /// The value, if present.
    pub fn get(&self) -> Option<&Value> {
        self.value.as_ref().and_then(|v| v.value.as_ref())
    }
}

/// Looks up an attribute by key.
pub fn attribute<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(KeyValue::get)
}

impl Value {
    /// The value as display text (strings unquoted).
    pub fn to_text(&self) -> String {
        match self {
            Value::StringValue(s) => s.clone(),
            Value::BoolValue(b) => b.to_string(),
            Value::IntValue(i) => i.to_string(),
            Value::DoubleValue(d) => d.to_string(),
            Value::BytesValue(b) => b64::encode(b),
            Value::ArrayValue(_) | Value::KvlistValue(_) => serde_json::to_string(&AnyValue {
                value: Some(self.clone()),
            })
            .unwrap_or_default(),
        }
    }
}

// ---- encodings ------------------------------------------------------------------------------

/// Errors decoding an export request.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("invalid OTLP/JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("invalid OTLP protobuf: {0}")]
    Protobuf(#[from] prost::DecodeError),
}

impl ExportTraceServiceRequest {
    /// A request holding one resource with one scope of spans.
    pub fn single(resource: Vec<KeyValue>, scope: InstrumentationScope, spans: Vec<Span>) -> Self {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: resource,
                    dropped_attributes_count: 0,
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(scope),
                    spans,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        }
    }

    /// All spans with their resource, in order.
    pub fn spans(&self) -> impl Iterator<Item = (&[KeyValue], &Span)> {
        self.resource_spans.iter().flat_map(ResourceSpans::spans)
    }
    pub fn span_count(&self) -> usize {
        self.spans().count()
    }
}

encodings!(ExportTraceServiceRequest);

/// `to_json`, `from_json`, `to_protobuf` and `from_protobuf` for an export request.
macro_rules! encodings {
    ($request:ty) => {
        impl $request {
            pub fn to_json(&self) -> Vec<u8> {
                serde_json::to_vec(self).expect("the OTLP model always serialises")
            }
            pub fn from_json(bytes: &[u8]) -> Result<Self, $crate::DecodeError> {
                Ok(serde_json::from_slice(bytes)?)
            }
            pub fn to_protobuf(&self) -> Vec<u8> {
                prost::Message::encode_to_vec(self)
            }
            pub fn from_protobuf(bytes: &[u8]) -> Result<Self, $crate::DecodeError> {
                Ok(<Self as prost::Message>::decode(bytes)?)
            }
        }
    };
}
pub(crate) use encodings;

// ---- the three signals ------------------------------------------------------------------------

/// One of OTLP's three signals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Signal {
    Traces,
    Metrics,
    Logs,
}

impl Signal {
    pub const ALL: [Signal; 3] = [Signal::Traces, Signal::Metrics, Signal::Logs];

    /// `traces`, `metrics` or `logs`: the last part of its OTLP/HTTP path.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
            Signal::Logs => "logs",
        }
    }

    /// The OTLP/HTTP path: `/v1/traces`, `/v1/metrics`, `/v1/logs`.
    pub fn http_path(self) -> &'static str {
        match self {
            Signal::Traces => "/v1/traces",
            Signal::Metrics => "/v1/metrics",
            Signal::Logs => "/v1/logs",
        }
    }

    /// The OTLP/gRPC method's path.
    pub fn grpc_path(self) -> &'static str {
        match self {
            Signal::Traces => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            Signal::Metrics => "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
            Signal::Logs => "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
        }
    }

    /// What a request of this signal counts: `spans`, `data points`, `log records`.
    pub fn items(self) -> &'static str {
        match self {
            Signal::Traces => "spans",
            Signal::Metrics => "data points",
            Signal::Logs => "log records",
        }
    }

    /// The signal whose name (`traces`, `metrics`, `logs`) this is.
    pub fn from_name(name: &str) -> Option<Signal> {
        Signal::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What the three export requests have in common, so that a receiver, a relay or a spool can
/// be written once for all of them.
pub trait ExportRequest:
    prost::Message + Default + Clone + Serialize + serde::de::DeserializeOwned + Send + Sync + 'static
{
    /// The service's answer (`Export*ServiceResponse`).
    type Response: prost::Message
        + Default
        + Clone
        + Serialize
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static;
    const SIGNAL: Signal;
    /// What partial success counts: spans, data points or log records.
    fn item_count(&self) -> usize;
    /// The answer to an export of which `rejected` items were refused (`message` says why);
    /// no partial success when none were.
    fn response(rejected: i64, message: String) -> Self::Response;
    /// What an answer says was refused: how many items and why (`0` and empty when all were
    /// accepted).
    fn rejected(response: &Self::Response) -> (i64, String);
}

impl ExportRequest for ExportTraceServiceRequest {
    type Response = ExportTraceServiceResponse;
    const SIGNAL: Signal = Signal::Traces;
    fn item_count(&self) -> usize {
        self.span_count()
    }
    fn response(rejected: i64, message: String) -> Self::Response {
        ExportTraceServiceResponse {
            partial_success: (rejected > 0).then_some(ExportTracePartialSuccess {
                rejected_spans: rejected,
                error_message: message,
            }),
        }
    }
    fn rejected(response: &Self::Response) -> (i64, String) {
        response
            .partial_success
            .as_ref()
            .map(|p| (p.rejected_spans, p.error_message.clone()))
            .unwrap_or_default()
    }
}

impl ExportRequest for metrics::ExportMetricsServiceRequest {
    type Response = metrics::ExportMetricsServiceResponse;
    const SIGNAL: Signal = Signal::Metrics;
    fn item_count(&self) -> usize {
        self.data_point_count()
    }
    fn response(rejected: i64, message: String) -> Self::Response {
        metrics::ExportMetricsServiceResponse {
            partial_success: (rejected > 0).then_some(metrics::ExportMetricsPartialSuccess {
                rejected_data_points: rejected,
                error_message: message,
            }),
        }
    }
    fn rejected(response: &Self::Response) -> (i64, String) {
        response
            .partial_success
            .as_ref()
            .map(|p| (p.rejected_data_points, p.error_message.clone()))
            .unwrap_or_default()
    }
}

impl ExportRequest for logs::ExportLogsServiceRequest {
    type Response = logs::ExportLogsServiceResponse;
    const SIGNAL: Signal = Signal::Logs;
    fn item_count(&self) -> usize {
        self.record_count()
    }
    fn response(rejected: i64, message: String) -> Self::Response {
        logs::ExportLogsServiceResponse {
            partial_success: (rejected > 0).then_some(logs::ExportLogsPartialSuccess {
                rejected_log_records: rejected,
                error_message: message,
            }),
        }
    }
    fn rejected(response: &Self::Response) -> (i64, String) {
        response
            .partial_success
            .as_ref()
            .map(|p| (p.rejected_log_records, p.error_message.clone()))
            .unwrap_or_default()
    }
}

// ---- ids --------------------------------------------------------------------------------------

/// Lowercase hex of bytes.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// A trace id as text: 32 hex digits (either case, blanks around ignored), not all zero (the
/// W3C and OTLP rule for a valid id). The one parser of trace ids given by users.
pub fn parse_trace_id(text: &str) -> Option<[u8; 16]> {
    let t = text.trim();
    if t.len() != 32 {
        return None;
    }
    let id: [u8; 16] = from_hex(t)?.try_into().ok()?;
    (id != [0; 16]).then_some(id)
}

/// Hex (either case) to bytes; `None` when not hex or of odd length.
pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    let t = text.as_bytes();
    if !t.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    t.chunks(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}

/// Fills `buf` from the kernel's random source; falls back to clock and pid mixing if the
/// kernel refuses (ids must be unique, not secret, and a span must never panic the command).
pub fn random_bytes(buf: &mut [u8]) {
    let mut filled = 0;
    while filled < buf.len() {
        // SAFETY: the pointer and length describe the unfilled tail of `buf`.
        let n =
            unsafe { libc::getrandom(buf[filled..].as_mut_ptr().cast(), buf.len() - filled, 0) };
        if n > 0 {
            filled += n as usize;
        } else if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            break;
        }
    }
    if filled < buf.len() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let mut x = nanos ^ (u64::from(std::process::id()) << 32) ^ 0x9E37_79B9_7F4A_7C15;
        for b in &mut buf[filled..] {
            // splitmix64 step
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            *b = (z ^ (z >> 31)) as u8;
        }
    }
}

/// A new random, non-zero 16-byte trace id.
pub fn new_trace_id() -> [u8; 16] {
    let mut id = [0u8; 16];
    while id == [0u8; 16] {
        random_bytes(&mut id);
    }
    id
}

/// A new random, non-zero 8-byte span id.
pub fn new_span_id() -> [u8; 8] {
    let mut id = [0u8; 8];
    while id == [0u8; 8] {
        random_bytes(&mut id);
    }
    id
}

// ---- serde helpers ----------------------------------------------------------------------------

pub(crate) fn is_zero_u32(v: &u32) -> bool {
    *v == 0
}

pub(crate) mod hex_id {
    use super::*;
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&to_hex(v))
    }
    /// A hex string (`null` is an empty id), decoded without copying the text first.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a hex string")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Vec<u8>, E> {
                from_hex(text).ok_or_else(|| E::custom(format!("id {text:?} is not hex")))
            }
            fn visit_none<E: de::Error>(self) -> Result<Vec<u8>, E> {
                Ok(Vec::new())
            }
            fn visit_unit<E: de::Error>(self) -> Result<Vec<u8>, E> {
                Ok(Vec::new())
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Vec<u8>, D::Error> {
                d.deserialize_str(V)
            }
        }
        d.deserialize_option(V)
    }
}

/// Accepts a JSON number or a decimal string. A visitor rather than an untagged enum: the
/// enum buffers the value and builds (and drops) an error for every variant tried before the
/// string one, which is how OTLP/JSON sends 64-bit integers (times, `intValue`).
fn number_or_text<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr + TryFrom<u64> + TryFrom<i64>,
{
    struct V<T>(std::marker::PhantomData<T>);
    const EXPECTED: &str = "expected an integer or a decimal string";
    impl<'de, T: std::str::FromStr + TryFrom<u64> + TryFrom<i64>> Visitor<'de> for V<T> {
        type Value = T;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an integer or a decimal string")
        }
        fn visit_u64<E: de::Error>(self, u: u64) -> Result<T, E> {
            T::try_from(u).map_err(|_| E::custom(EXPECTED))
        }
        fn visit_i64<E: de::Error>(self, i: i64) -> Result<T, E> {
            T::try_from(i).map_err(|_| E::custom(EXPECTED))
        }
        fn visit_f64<E: de::Error>(self, f: f64) -> Result<T, E> {
            // A number JSON wrote with a fraction of zero or an exponent (`4.0`, `1.7e18`): an
            // integer only when it is one exactly and in range (`as` would saturate 1e30).
            const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;
            const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
            let converted = match f {
                _ if f.fract() != 0.0 || !f.is_finite() => None,
                _ if (0.0..TWO_POW_64).contains(&f) => T::try_from(f as u64).ok(),
                _ if (-TWO_POW_63..0.0).contains(&f) => T::try_from(f as i64).ok(),
                _ => None,
            };
            converted.ok_or_else(|| E::custom(EXPECTED))
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<T, E> {
            s.trim().parse().map_err(|_| E::custom(EXPECTED))
        }
    }
    d.deserialize_any(V(std::marker::PhantomData))
}

pub(crate) mod u64_text {
    use super::*;
    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        number_or_text(d)
    }
}

pub(crate) mod i64_text {
    use super::*;
    pub fn serialize<S: Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        number_or_text(d)
    }
}

/// Span kinds: an integer, or a `SpanKind` name (`SPAN_KIND_SERVER`, or `server`).
fn span_kind<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    enum_int(d, "SPAN_KIND_", SpanKind::NAMES)
}

/// Status codes: an integer, or a `StatusCode` name (`STATUS_CODE_ERROR`, or `error`).
fn status_code<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    enum_int(d, "STATUS_CODE_", StatusCode::NAMES)
}

/// An enum field: an integer (proto3 enums are open), or one of `names`, with or without the
/// enum's `prefix`, in any case. Another enum's name is an error.
pub(crate) fn enum_int<'de, D: Deserializer<'de>>(
    d: D,
    prefix: &'static str,
    names: &'static [(&'static str, i32)],
) -> Result<i32, D::Error> {
    struct V {
        prefix: &'static str,
        names: &'static [(&'static str, i32)],
    }
    impl<'de> Visitor<'de> for V {
        type Value = i32;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "an integer or a {}* name", self.prefix)
        }
        fn visit_u64<E: de::Error>(self, u: u64) -> Result<i32, E> {
            i32::try_from(u).map_err(|_| E::custom(format!("enum value {u} is out of range")))
        }
        fn visit_i64<E: de::Error>(self, i: i64) -> Result<i32, E> {
            i32::try_from(i).map_err(|_| E::custom(format!("enum value {i} is out of range")))
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<i32, E> {
            let name = s.to_ascii_lowercase();
            let prefix = self.prefix.to_ascii_lowercase();
            let short = name.strip_prefix(&prefix).unwrap_or(&name);
            match self.names.iter().find(|(n, _)| *n == short) {
                Some((_, value)) => Ok(*value),
                None => {
                    let known: Vec<String> = self
                        .names
                        .iter()
                        .map(|(n, _)| format!("{}{}", self.prefix, n.to_ascii_uppercase()))
                        .collect();
                    Err(E::custom(format!(
                        "unknown enum value {s:?} (expected an integer or one of {})",
                        known.join(", ")
                    )))
                }
            }
        }
    }
    d.deserialize_any(V { prefix, names })
}

impl Serialize for AnyValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Some(value) = &self.value else {
            return s.serialize_map(Some(0))?.end();
        };
        let mut map = s.serialize_map(Some(1))?;
        match value {
            Value::StringValue(v) => map.serialize_entry("stringValue", v)?,
            Value::BoolValue(v) => map.serialize_entry("boolValue", v)?,
            Value::IntValue(v) => map.serialize_entry("intValue", &v.to_string())?,
            // JSON has no NaN or infinities: the proto3 JSON mapping's strings, which the
            // decoder below reads back (a bare `null` would not decode).
            Value::DoubleValue(v) if v.is_nan() => map.serialize_entry("doubleValue", "NaN")?,
            Value::DoubleValue(v) if v.is_infinite() => map.serialize_entry(
                "doubleValue",
                if *v > 0.0 { "Infinity" } else { "-Infinity" },
            )?,
            Value::DoubleValue(v) => map.serialize_entry("doubleValue", v)?,
            Value::ArrayValue(v) => map.serialize_entry("arrayValue", v)?,
            Value::KvlistValue(v) => map.serialize_entry("kvlistValue", v)?,
            Value::BytesValue(v) => map.serialize_entry("bytesValue", &b64::encode(v))?,
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for AnyValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AnyValue;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an OTLP AnyValue object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AnyValue, A::Error> {
                let mut value = None;
                while let Some(key) = map.next_key::<String>()? {
                    let v = match key.as_str() {
                        "stringValue" => Value::StringValue(map.next_value()?),
                        "boolValue" => Value::BoolValue(map.next_value()?),
                        "intValue" => Value::IntValue(map.next_value::<I64>()?.0),
                        "doubleValue" => Value::DoubleValue(map.next_value::<F64>()?.0),
                        "arrayValue" => Value::ArrayValue(map.next_value()?),
                        "kvlistValue" => Value::KvlistValue(map.next_value()?),
                        "bytesValue" => {
                            let text: String = map.next_value()?;
                            Value::BytesValue(
                                b64::decode(&text)
                                    .ok_or_else(|| de::Error::custom("bytesValue is not base64"))?,
                            )
                        }
                        _ => {
                            map.next_value::<de::IgnoredAny>()?;
                            continue;
                        }
                    };
                    value = Some(v);
                }
                Ok(AnyValue { value })
            }
        }
        d.deserialize_map(V)
    }
}

pub(crate) struct I64(pub(crate) i64);
impl<'de> Deserialize<'de> for I64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        number_or_text(d).map(I64)
    }
}

pub(crate) struct F64(pub(crate) f64);
impl<'de> Deserialize<'de> for F64 {
    /// A JSON number, or the proto3 JSON mapping's strings (`"NaN"`, `"Infinity"`,
    /// `"-Infinity"`, or a number as text).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = F64;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number, a decimal string, or \"NaN\", \"Infinity\" or \"-Infinity\"")
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<F64, E> {
                Ok(F64(n))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<F64, E> {
                Ok(F64(n as f64))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<F64, E> {
                Ok(F64(n as f64))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<F64, E> {
                match s {
                    "NaN" => Ok(F64(f64::NAN)),
                    "Infinity" => Ok(F64(f64::INFINITY)),
                    "-Infinity" => Ok(F64(f64::NEG_INFINITY)),
                    _ => s.parse().map(F64).map_err(|_| E::custom("bad doubleValue")),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// Base64 of OTLP/JSON `bytes` fields other than ids (the base64 crate's standard alphabet).
pub mod b64 {
    use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
    use base64::engine::{DecodePaddingMode, Engine};

    /// Standard alphabet; decoding takes padding or none, as the protobuf JSON mapping asks.
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );

    pub fn encode(data: &[u8]) -> String {
        ENGINE.encode(data)
    }

    /// Standard or URL-safe alphabet, padded or not, white space ignored.
    pub fn decode(text: &str) -> Option<Vec<u8>> {
        let standard: String = text
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .map(|c| match c {
                '-' => '+',
                '_' => '/',
                c => c,
            })
            .collect();
        ENGINE.decode(standard).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ExportTraceServiceRequest {
        let span = Span {
            trace_id: (1..=16).collect(),
            span_id: vec![0xAB; 8],
            parent_span_id: vec![],
            name: "build".into(),
            kind: SpanKind::Internal as i32,
            start_time_unix_nano: 1_700_000_000_000_000_001,
            end_time_unix_nano: 1_700_000_000_500_000_000,
            attributes: vec![
                KeyValue::int("exit.code", 3),
                KeyValue::string("k", "v"),
                KeyValue::bool("b", true),
                KeyValue::double("d", 1.5),
            ],
            status: Some(Status {
                message: "exit 3".into(),
                code: StatusCode::Error as i32,
            }),
            ..Default::default()
        };
        ExportTraceServiceRequest::single(
            vec![KeyValue::string("service.name", "dt")],
            InstrumentationScope {
                name: "otelctl".into(),
                ..Default::default()
            },
            vec![span],
        )
    }

    #[test]
    fn json_follows_the_otlp_json_rules() {
        let json: serde_json::Value = serde_json::from_slice(&sample().to_json()).unwrap();
        let span = &json["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
        assert_eq!(span["traceId"], "0102030405060708090a0b0c0d0e0f10");
        assert_eq!(span["spanId"], "abababababababab");
        assert!(
            span.get("parentSpanId").is_none(),
            "root spans carry no parent"
        );
        assert_eq!(span["kind"], 1);
        assert_eq!(span["startTimeUnixNano"], "1700000000000000001");
        assert_eq!(span["attributes"][0]["value"]["intValue"], "3");
        assert_eq!(span["attributes"][2]["value"]["boolValue"], true);
        assert_eq!(span["status"]["code"], 2);
        assert_eq!(
            json["resourceSpans"][0]["resource"]["attributes"][0]["key"],
            "service.name"
        );
    }

    #[test]
    fn json_and_protobuf_round_trip() {
        let req = sample();
        assert_eq!(
            ExportTraceServiceRequest::from_json(&req.to_json()).unwrap(),
            req
        );
        assert_eq!(
            ExportTraceServiceRequest::from_protobuf(&req.to_protobuf()).unwrap(),
            req
        );
    }

    /// Found by the otlp_protobuf and otlp_json fuzz targets: a double changed by one ulp on
    /// each JSON round trip, and NaN/infinities were written as `null`, which does not decode
    /// (a spooled or persisted request holding one became unreadable).
    #[test]
    fn doubles_survive_json_round_trips_bit_for_bit() {
        for d in [
            1.500_000_186_555_553,
            0.1,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            let mut req = sample();
            req.resource_spans[0].scope_spans[0].spans[0].attributes =
                vec![KeyValue::double("d", d)];
            let back = ExportTraceServiceRequest::from_json(&req.to_json()).unwrap();
            assert_eq!(back, req, "{d:e}");
        }
        let mut req = sample();
        req.resource_spans[0].scope_spans[0].spans[0].attributes =
            vec![KeyValue::double("d", f64::NAN)];
        let back = ExportTraceServiceRequest::from_json(&req.to_json()).unwrap();
        let (_, span) = back.spans().next().unwrap();
        assert!(
            matches!(attribute(&span.attributes, "d"), Some(Value::DoubleValue(v)) if v.is_nan())
        );
    }

    #[test]
    fn decoder_accepts_numbers_uppercase_ids_names_and_unknown_fields() {
        let text = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090A0B0C0D0E0F10",
            "spanId":"ABABABABABABABAB","parentSpanId":"","name":"x","kind":"SPAN_KIND_SERVER",
            "startTimeUnixNano":5,"endTimeUnixNano":"6","futureField":{"a":1},
            "attributes":[{"key":"n","value":{"intValue":7}},{"key":"u","value":{"newType":1}}]}]}]}]}"#;
        let req = ExportTraceServiceRequest::from_json(text.as_bytes()).unwrap();
        let (_, span) = req.spans().next().unwrap();
        assert_eq!(span.trace_id, (1..=16).collect::<Vec<u8>>());
        assert_eq!(span.kind, 2);
        assert_eq!(span.start_time_unix_nano, 5);
        assert_eq!(attribute(&span.attributes, "n"), Some(&Value::IntValue(7)));
        assert!(span.parent_span_id.is_empty());
    }

    #[test]
    fn numbers_enums_and_ids_take_every_accepted_form_and_refuse_the_rest() {
        let one = |fields: &str| {
            let text = format!(
                r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"01010101010101010101010101010101","spanId":"0202020202020202",{fields}}}]}}]}}]}}"#
            );
            ExportTraceServiceRequest::from_json(text.as_bytes())
                .map(|r| r.resource_spans[0].scope_spans[0].spans[0].clone())
        };
        let int = |v: &str| {
            one(&format!(
                r#""attributes":[{{"key":"n","value":{{"intValue":{v}}}}}]"#
            ))
            .map(|s| s.attributes[0].value.clone().unwrap().value)
        };
        assert_eq!(int(r#""-12""#).unwrap(), Some(Value::IntValue(-12)));
        assert_eq!(int(r#"" 42 ""#).unwrap(), Some(Value::IntValue(42)));
        assert_eq!(int("-3").unwrap(), Some(Value::IntValue(-3)));
        assert_eq!(int("4.0").unwrap(), Some(Value::IntValue(4)));
        assert_eq!(int("-4.0").unwrap(), Some(Value::IntValue(-4)));
        for bad in [
            "4.5",
            r#""x""#,
            "true",
            "null",
            "18446744073709551615",
            "1e30",
        ] {
            assert!(int(bad).is_err(), "intValue {bad} was accepted");
        }
        let start =
            |v: &str| one(&format!(r#""startTimeUnixNano":{v}"#)).map(|s| s.start_time_unix_nano);
        assert_eq!(start("1.7e18").unwrap(), 1_700_000_000_000_000_000);
        for bad in ["1e30", "-1.0"] {
            assert!(start(bad).is_err(), "startTimeUnixNano {bad} was accepted");
        }
        let time =
            |v: &str| one(&format!(r#""startTimeUnixNano":{v}"#)).map(|s| s.start_time_unix_nano);
        assert_eq!(time(r#""18446744073709551615""#).unwrap(), u64::MAX);
        assert_eq!(time("7").unwrap(), 7);
        assert_eq!(time("1e3").unwrap(), 1000);
        for bad in ["-1", r#""-1""#, "0.5", "{}"] {
            assert!(time(bad).is_err(), "startTimeUnixNano {bad} was accepted");
        }
        let double = |v: &str| {
            one(&format!(
                r#""attributes":[{{"key":"d","value":{{"doubleValue":{v}}}}}]"#
            ))
            .map(|s| match s.attributes[0].value.clone().unwrap().value {
                Some(Value::DoubleValue(d)) => d,
                other => panic!("{other:?}"),
            })
        };
        assert_eq!(double("2").unwrap(), 2.0);
        assert_eq!(double("-2.5").unwrap(), -2.5);
        assert_eq!(double(r#""1.5""#).unwrap(), 1.5);
        assert_eq!(double(r#""-Infinity""#).unwrap(), f64::NEG_INFINITY);
        assert!(double(r#""NaN""#).unwrap().is_nan());
        assert!(double(r#""many""#).is_err());
        let kind = |v: &str| one(&format!(r#""kind":{v}"#)).map(|s| s.kind);
        assert_eq!(kind("3").unwrap(), 3);
        assert_eq!(kind(r#""SPAN_KIND_CLIENT""#).unwrap(), 3);
        assert_eq!(kind(r#""consumer""#).unwrap(), 5);
        for bad in [
            r#""SIDEWAYS""#,
            "4294967296",
            "1.5",
            // Another enum's names are not span kinds.
            r#""SPAN_KIND_OK""#,
            r#""STATUS_CODE_ERROR""#,
            r#""error""#,
        ] {
            assert!(kind(bad).is_err(), "kind {bad} was accepted");
        }
        let status = |v: &str| {
            one(&format!(r#""status":{{"code":{v}}}"#))
                .map(|s| s.status.map(|s| s.code).unwrap_or_default())
        };
        assert_eq!(status("2").unwrap(), 2);
        assert_eq!(status(r#""STATUS_CODE_ERROR""#).unwrap(), 2);
        assert_eq!(status(r#""ok""#).unwrap(), 1);
        for bad in [
            r#""SPAN_KIND_SERVER""#,
            r#""STATUS_CODE_SERVER""#,
            r#""client""#,
        ] {
            assert!(status(bad).is_err(), "status code {bad} was accepted");
        }
        assert_eq!(SpanKind::name_of(2), "server");
        assert_eq!(SpanKind::name_of(9), "unspecified");
        assert_eq!(StatusCode::name_of(2), "error");
        let message = kind(r#""STATUS_CODE_OK""#).unwrap_err().to_string();
        assert!(
            message.contains("SPAN_KIND_CONSUMER") && message.contains("STATUS_CODE_OK"),
            "{message}"
        );
        let parent = |v: &str| one(&format!(r#""parentSpanId":{v}"#)).map(|s| s.parent_span_id);
        assert_eq!(parent("null").unwrap(), Vec::<u8>::new());
        assert_eq!(
            parent(r#""0A0b0c0d0e0f1011""#).unwrap(),
            vec![10, 11, 12, 13, 14, 15, 16, 17]
        );
        let err = parent(r#""0g""#).unwrap_err().to_string();
        assert!(err.contains(r#"id "0g" is not hex"#), "{err}");
        assert!(parent("12").is_err());
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        assert!(ExportTraceServiceRequest::from_json(b"{not json").is_err());
        assert!(ExportTraceServiceRequest::from_json(
            br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}"#
        )
        .is_err());
        assert!(ExportTraceServiceRequest::from_protobuf(&[0x0a, 0xff, 0xff]).is_err());
    }

    #[test]
    fn base64_round_trips() {
        for data in [&b""[..], b"f", b"fo", b"foo", b"foob", b"\x00\xff\x10"] {
            assert_eq!(b64::decode(&b64::encode(data)).unwrap(), data);
        }
        assert_eq!(b64::encode(b"foobar"), "Zm9vYmFy");
    }
}
