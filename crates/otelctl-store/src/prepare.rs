//! Turning an export into rows, on the caller's thread: validation, grouping by trace, each
//! span encoded once, summary columns, attributes as JSON. The writer thread then only inserts
//! (and drops the spans it already has), so the one writer does as little as it can.

use std::collections::HashMap;

use prost::encoding::{encode_key, encode_varint, WireType};
use prost::Message;

use otelctl_otlp::{self as otlp, ExportTraceServiceRequest, KeyValue, Span, StatusCode};

use crate::UNKNOWN_SERVICE;

/// One span, ready for the writer.
#[derive(Debug)]
pub(crate) struct PreparedSpan {
    pub span_id: [u8; 8],
    pub parent: Option<[u8; 8]>,
    pub name: String,
    pub kind: i32,
    pub start_ns: u64,
    pub end_ns: u64,
    pub status: i32,
    /// `task.cached`, when set.
    pub cached: Option<bool>,
    pub attributes: Option<String>,
    /// The span as field 2 of a `ScopeSpans` (key, length, message).
    pub encoded: Vec<u8>,
}

impl PreparedSpan {
    pub fn duration_ns(&self) -> u64 {
        self.end_ns.saturating_sub(self.start_ns)
    }
    pub fn is_error(&self) -> bool {
        self.status == StatusCode::Error as i32
    }
}

/// The spans of one scope within a group.
#[derive(Debug)]
pub(crate) struct ScopeGroup {
    /// `ScopeSpans` field 1 (the scope), encoded; empty when there is none.
    pub scope: Vec<u8>,
    /// `ScopeSpans` field 3 (schema URL), encoded; empty when empty.
    pub schema: Vec<u8>,
    pub spans: Vec<PreparedSpan>,
}

/// The spans of one trace from one `ResourceSpans` of an export.
#[derive(Debug)]
pub(crate) struct Group {
    pub trace_id: [u8; 16],
    pub service: String,
    /// `ResourceSpans` field 1 (the resource), encoded; empty when there is none.
    pub resource: Vec<u8>,
    /// `ResourceSpans` field 3 (schema URL), encoded.
    pub schema: Vec<u8>,
    /// The resource's attributes as a JSON object (text values).
    pub resource_json: Option<String>,
    pub scopes: Vec<ScopeGroup>,
}

/// An export prepared for the writer.
#[derive(Debug, Default)]
pub(crate) struct PreparedTraces {
    pub groups: Vec<Group>,
    pub spans: u64,
    pub rejected: u64,
    pub reason: Option<String>,
}

fn valid_id<const N: usize>(bytes: &[u8]) -> Option<[u8; N]> {
    let id: [u8; N] = bytes.try_into().ok()?;
    (id != [0u8; N]).then_some(id)
}

/// A message as a length-delimited field.
pub(crate) fn field<M: Message>(tag: u32, m: &M) -> Vec<u8> {
    let mut buf = Vec::with_capacity(m.encoded_len() + 6);
    prost::encoding::message::encode(tag, m, &mut buf);
    buf
}

fn string_field(tag: u32, s: &str) -> Vec<u8> {
    let mut buf = Vec::new();
    if !s.is_empty() {
        prost::encoding::string::encode(tag, &s.to_string(), &mut buf);
    }
    buf
}

/// Appends `body` as length-delimited field `tag`.
pub(crate) fn wrap(tag: u32, body: &[u8], out: &mut Vec<u8>) {
    encode_key(tag, WireType::LengthDelimited, out);
    encode_varint(body.len() as u64, out);
    out.extend_from_slice(body);
}

/// Attributes as a JSON object of text values (`Value::to_text`); `None` when there are none.
/// A repeated key keeps its last value, as the OTLP specification asks of receivers.
pub(crate) fn attributes_json(attrs: &[KeyValue]) -> Option<String> {
    if attrs.is_empty() {
        return None;
    }
    let mut map = serde_json::Map::with_capacity(attrs.len());
    for kv in attrs {
        let text = kv.get().map(otlp::Value::to_text).unwrap_or_default();
        map.insert(kv.key.clone(), serde_json::Value::String(text));
    }
    Some(serde_json::Value::Object(map).to_string())
}

/// `service.name` of a resource, when set.
pub fn service_name(resource: &[KeyValue]) -> Option<String> {
    otlp::attribute(resource, "service.name").map(otlp::Value::to_text)
}

/// `task.cached` of a span, when set (`true`/`false`, as a boolean or text).
pub fn cached(span: &Span) -> Option<bool> {
    match otlp::attribute(&span.attributes, "task.cached")? {
        otlp::Value::BoolValue(b) => Some(*b),
        v => match v.to_text().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
    }
}

pub(crate) fn prepare(req: ExportTraceServiceRequest) -> PreparedTraces {
    let mut out = PreparedTraces::default();
    for rs in req.resource_spans {
        let attrs: &[KeyValue] = rs.resource.as_ref().map_or(&[], |r| &r.attributes);
        let service = service_name(attrs).unwrap_or_else(|| UNKNOWN_SERVICE.to_string());
        let resource = rs
            .resource
            .as_ref()
            .map(|r| field(1, r))
            .unwrap_or_default();
        let resource_json = attributes_json(attrs);
        let schema = string_field(3, &rs.schema_url);
        // Trace id -> index in `groups`, in order of first appearance.
        let mut by_trace: HashMap<[u8; 16], usize> = HashMap::new();
        let mut groups: Vec<Group> = Vec::new();
        for ss in rs.scope_spans {
            let scope = ss.scope.as_ref().map(|s| field(1, s)).unwrap_or_default();
            let scope_schema = string_field(3, &ss.schema_url);
            for span in ss.spans {
                let problem = match (valid_id::<16>(&span.trace_id), valid_id::<8>(&span.span_id)) {
                    (None, _) => Some("traceId must be 16 non-zero bytes (32 hex digits)"),
                    (_, None) => Some("spanId must be 8 non-zero bytes (16 hex digits)"),
                    _ if !(span.parent_span_id.is_empty() || span.parent_span_id.len() == 8) => {
                        Some("parentSpanId must be empty or 8 bytes (16 hex digits)")
                    }
                    (Some(tid), Some(sid)) => {
                        let k = *by_trace.entry(tid).or_insert_with(|| {
                            groups.push(Group {
                                trace_id: tid,
                                service: service.clone(),
                                resource: resource.clone(),
                                schema: schema.clone(),
                                resource_json: resource_json.clone(),
                                scopes: Vec::new(),
                            });
                            groups.len() - 1
                        });
                        let g = &mut groups[k];
                        // A new scope group when the scope changed since this trace's last span.
                        let same_scope = g
                            .scopes
                            .last()
                            .is_some_and(|s| s.scope == scope && s.schema == scope_schema);
                        if !same_scope {
                            g.scopes.push(ScopeGroup {
                                scope: scope.clone(),
                                schema: scope_schema.clone(),
                                spans: Vec::new(),
                            });
                        }
                        let prepared = PreparedSpan {
                            span_id: sid,
                            parent: valid_id::<8>(&span.parent_span_id),
                            kind: span.kind,
                            start_ns: span.start_time_unix_nano,
                            end_ns: span.end_time_unix_nano.max(span.start_time_unix_nano),
                            status: span.status.as_ref().map_or(0, |s| s.code),
                            cached: cached(&span),
                            attributes: attributes_json(&span.attributes),
                            encoded: field(2, &span),
                            name: span.name,
                        };
                        out.spans += 1;
                        g.scopes.last_mut().expect("pushed").spans.push(prepared);
                        None
                    }
                };
                if let Some(why) = problem {
                    out.rejected += 1;
                    out.reason.get_or_insert_with(|| why.to_string());
                }
            }
        }
        out.groups.extend(groups);
    }
    out
}

/// The group's kept spans as field 1 of an `ExportTraceServiceRequest` (one `ResourceSpans`):
/// the blobs of a trace, concatenated in order, decode as one request.
pub(crate) fn encode_batch(group: &Group, keep: &[Vec<bool>]) -> Vec<u8> {
    let mut rs = Vec::with_capacity(256);
    rs.extend_from_slice(&group.resource);
    let mut body = Vec::new();
    for (scope, keep) in group.scopes.iter().zip(keep) {
        if !keep.iter().any(|k| *k) {
            continue;
        }
        body.clear();
        body.extend_from_slice(&scope.scope);
        for (span, k) in scope.spans.iter().zip(keep) {
            if *k {
                body.extend_from_slice(&span.encoded);
            }
        }
        body.extend_from_slice(&scope.schema);
        wrap(2, &body, &mut rs);
    }
    rs.extend_from_slice(&group.schema);
    let mut out = Vec::with_capacity(rs.len() + 6);
    wrap(1, &rs, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use otelctl_otlp::{InstrumentationScope, ResourceSpans, ScopeSpans};

    fn span(t: u8, s: u8, p: u8) -> Span {
        Span {
            trace_id: vec![t; 16],
            span_id: vec![s; 8],
            parent_span_id: if p == 0 { vec![] } else { vec![p; 8] },
            name: format!("s{s}"),
            start_time_unix_nano: 10,
            end_time_unix_nano: 20,
            attributes: vec![KeyValue::bool("task.cached", true)],
            ..Default::default()
        }
    }

    #[test]
    fn batches_of_kept_spans_decode_as_the_trace() {
        let req = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(otlp::Resource {
                    attributes: vec![KeyValue::string("service.name", "svc")],
                    ..Default::default()
                }),
                scope_spans: vec![
                    ScopeSpans {
                        scope: Some(InstrumentationScope {
                            name: "a".into(),
                            ..Default::default()
                        }),
                        spans: vec![span(1, 1, 0), span(2, 1, 0), span(1, 2, 1)],
                        schema_url: "https://x".into(),
                    },
                    ScopeSpans {
                        scope: None,
                        spans: vec![span(1, 3, 1), span(0, 3, 1)],
                        schema_url: String::new(),
                    },
                ],
                schema_url: "https://r".into(),
            }],
        };
        let p = prepare(req.clone());
        assert_eq!((p.spans, p.rejected, p.groups.len()), (4, 1, 2));
        let g = &p.groups[0];
        assert_eq!(g.service, "svc");
        assert_eq!(g.scopes[0].spans[0].cached, Some(true));
        // Keep all but span 2 of trace 1.
        let blob = encode_batch(g, &[vec![true, false], vec![true]]);
        let back = ExportTraceServiceRequest::from_protobuf(&blob).unwrap();
        let rs = &back.resource_spans[0];
        assert_eq!(rs.resource, req.resource_spans[0].resource);
        assert_eq!(rs.schema_url, "https://r");
        assert_eq!(rs.scope_spans.len(), 2);
        assert_eq!(rs.scope_spans[0].spans, vec![span(1, 1, 0)]);
        assert_eq!(rs.scope_spans[0].schema_url, "https://x");
        assert_eq!(rs.scope_spans[1].spans, vec![span(1, 3, 1)]);
        assert_eq!(rs.scope_spans[1].scope, None);
        // Two blobs of one trace concatenated: one request with both.
        let mut two = blob.clone();
        two.extend(encode_batch(g, &[vec![false, true], vec![false]]));
        let back = ExportTraceServiceRequest::from_protobuf(&two).unwrap();
        assert_eq!(back.span_count(), 3);
    }
}
