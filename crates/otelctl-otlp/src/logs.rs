//! The OTLP logs model: `ExportLogsServiceRequest` and everything under it, one set of types
//! for protobuf (prost) and OTLP/JSON, with the trace model's conventions.
//!
//! Field tags follow opentelemetry-proto (`logs/v1/logs.proto`,
//! `collector/logs/v1/logs_service.proto`). In JSON, `traceId` and `spanId` are hex (empty or
//! absent when the record was written outside a span), times are decimal strings, and
//! `severityNumber` is an integer (a `SEVERITY_NUMBER_*` name is accepted).

use serde::de::Deserializer;
use serde::{Deserialize, Serialize};

use crate::{
    enum_int, hex_id, i64_text, is_zero_u32, u64_text, AnyValue, InstrumentationScope, KeyValue,
    Resource,
};

/// `ExportLogsServiceRequest`: what an OTLP logs exporter sends.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExportLogsServiceRequest {
    #[prost(message, repeated, tag = "1")]
    pub resource_logs: Vec<ResourceLogs>,
}

/// `ExportLogsServiceResponse`: what a receiver answers.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExportLogsServiceResponse {
    #[prost(message, optional, tag = "1")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial_success: Option<ExportLogsPartialSuccess>,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExportLogsPartialSuccess {
    #[prost(int64, tag = "1")]
    #[serde(with = "i64_text")]
    pub rejected_log_records: i64,
    #[prost(string, tag = "2")]
    pub error_message: String,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ResourceLogs {
    #[prost(message, optional, tag = "1")]
    pub resource: Option<Resource>,
    #[prost(message, repeated, tag = "2")]
    pub scope_logs: Vec<ScopeLogs>,
    #[prost(string, tag = "3")]
    #[serde(skip_serializing_if = "String::is_empty")]
    pub schema_url: String,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ScopeLogs {
    #[prost(message, optional, tag = "1")]
    pub scope: Option<InstrumentationScope>,
    #[prost(message, repeated, tag = "2")]
    pub log_records: Vec<LogRecord>,
    #[prost(string, tag = "3")]
    #[serde(skip_serializing_if = "String::is_empty")]
    pub schema_url: String,
}

/// One log record. Ids are raw bytes (16 for trace, 8 for span), empty outside a span.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LogRecord {
    #[prost(fixed64, tag = "1")]
    #[serde(with = "u64_text")]
    pub time_unix_nano: u64,
    #[prost(fixed64, tag = "11")]
    #[serde(with = "u64_text")]
    pub observed_time_unix_nano: u64,
    #[prost(enumeration = "SeverityNumber", tag = "2")]
    #[serde(
        deserialize_with = "severity_number",
        skip_serializing_if = "is_zero_i32"
    )]
    pub severity_number: i32,
    #[prost(string, tag = "3")]
    #[serde(skip_serializing_if = "String::is_empty")]
    pub severity_text: String,
    #[prost(message, optional, tag = "5")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<AnyValue>,
    #[prost(message, repeated, tag = "6")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<KeyValue>,
    #[prost(uint32, tag = "7")]
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub dropped_attributes_count: u32,
    /// The W3C trace flags of the span the record was written in (low 8 bits).
    #[prost(fixed32, tag = "8")]
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub flags: u32,
    #[prost(bytes = "vec", tag = "9")]
    #[serde(with = "hex_id", skip_serializing_if = "Vec::is_empty")]
    pub trace_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "10")]
    #[serde(with = "hex_id", skip_serializing_if = "Vec::is_empty")]
    pub span_id: Vec<u8>,
    #[prost(string, tag = "12")]
    #[serde(skip_serializing_if = "String::is_empty")]
    pub event_name: String,
}

/// `SeverityNumber`: 1-4 TRACE, 5-8 DEBUG, 9-12 INFO, 13-16 WARN, 17-20 ERROR, 21-24 FATAL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum SeverityNumber {
    Unspecified = 0,
    Trace = 1,
    Trace2 = 2,
    Trace3 = 3,
    Trace4 = 4,
    Debug = 5,
    Debug2 = 6,
    Debug3 = 7,
    Debug4 = 8,
    Info = 9,
    Info2 = 10,
    Info3 = 11,
    Info4 = 12,
    Warn = 13,
    Warn2 = 14,
    Warn3 = 15,
    Warn4 = 16,
    Error = 17,
    Error2 = 18,
    Error3 = 19,
    Error4 = 20,
    Fatal = 21,
    Fatal2 = 22,
    Fatal3 = 23,
    Fatal4 = 24,
}

impl SeverityNumber {
    /// Every value's name (its proto name without `SEVERITY_NUMBER_`, lower case).
    pub const NAMES: &'static [(&'static str, i32)] = &[
        ("unspecified", 0),
        ("trace", 1),
        ("trace2", 2),
        ("trace3", 3),
        ("trace4", 4),
        ("debug", 5),
        ("debug2", 6),
        ("debug3", 7),
        ("debug4", 8),
        ("info", 9),
        ("info2", 10),
        ("info3", 11),
        ("info4", 12),
        ("warn", 13),
        ("warn2", 14),
        ("warn3", 15),
        ("warn4", 16),
        ("error", 17),
        ("error2", 18),
        ("error3", 19),
        ("error4", 20),
        ("fatal", 21),
        ("fatal2", 22),
        ("fatal3", 23),
        ("fatal4", 24),
    ];

    /// The short name of a severity's range: `TRACE`, `DEBUG`, `INFO`, `WARN`, `ERROR`,
    /// `FATAL` (the log data model's short names), or `UNSPECIFIED` outside 1-24.
    pub fn short_name(value: i32) -> &'static str {
        match value {
            1..=4 => "TRACE",
            5..=8 => "DEBUG",
            9..=12 => "INFO",
            13..=16 => "WARN",
            17..=20 => "ERROR",
            21..=24 => "FATAL",
            _ => "UNSPECIFIED",
        }
    }

    /// A severity a user names (`warn`, `WARN3`, `SEVERITY_NUMBER_ERROR`, `warning`, or a
    /// number 0-24), as its number; `None` for anything else.
    pub fn parse(text: &str) -> Option<i32> {
        let t = text.trim().to_ascii_lowercase();
        let t = t.strip_prefix("severity_number_").unwrap_or(&t);
        if let Ok(n) = t.parse::<i32>() {
            return (0..=24).contains(&n).then_some(n);
        }
        let t = match t {
            "warning" => "warn",
            "err" => "error",
            "critical" => "fatal",
            other => other,
        };
        Self::NAMES.iter().find(|(n, _)| *n == t).map(|(_, v)| *v)
    }
}

fn is_zero_i32(v: &i32) -> bool {
    *v == 0
}

fn severity_number<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    enum_int(d, "SEVERITY_NUMBER_", SeverityNumber::NAMES)
}

impl LogRecord {
    /// The record's time: `time_unix_nano`, else when it was observed (the log data model's
    /// rule for a record whose source gave no time).
    pub fn effective_time_unix_nano(&self) -> u64 {
        if self.time_unix_nano != 0 {
            self.time_unix_nano
        } else {
            self.observed_time_unix_nano
        }
    }
}

impl ExportLogsServiceRequest {
    /// Every record with its resource's attributes and its scope, in order.
    pub fn records(
        &self,
    ) -> impl Iterator<Item = (&[KeyValue], Option<&InstrumentationScope>, &LogRecord)> {
        self.resource_logs.iter().flat_map(|rl| {
            let res: &[KeyValue] = rl
                .resource
                .as_ref()
                .map(|r| r.attributes.as_slice())
                .unwrap_or(&[]);
            rl.scope_logs.iter().flat_map(move |sl| {
                sl.log_records
                    .iter()
                    .map(move |r| (res, sl.scope.as_ref(), r))
            })
        })
    }

    /// How many log records the request holds: what `rejected_log_records` counts.
    pub fn record_count(&self) -> usize {
        self.resource_logs
            .iter()
            .flat_map(|rl| &rl.scope_logs)
            .map(|sl| sl.log_records.len())
            .sum()
    }

    /// A request holding one resource with one scope of records.
    pub fn single(
        resource: Vec<KeyValue>,
        scope: InstrumentationScope,
        log_records: Vec<LogRecord>,
    ) -> Self {
        ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(Resource {
                    attributes: resource,
                    dropped_attributes_count: 0,
                }),
                scope_logs: vec![ScopeLogs {
                    scope: Some(scope),
                    log_records,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        }
    }
}

crate::encodings!(ExportLogsServiceRequest);
