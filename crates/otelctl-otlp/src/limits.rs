//! One set of limits for every decoded request of any signal, checked where a request enters
//! (the receiver's OTLP/HTTP, both encodings, and OTLP/gRPC; the relay, `import` and the spool's
//! flush to the embedded server all arrive there), so nothing acknowledged can later be
//! unreadable, unexportable or evict the rest of the store.
//!
//! Both are measured on the request's OTLP/JSON form, streamed into a counter (nothing is
//! allocated): the same numbers whatever encoding the request came in.
//! - [`MAX_DEPTH`]: nesting of the JSON form. A span attribute's value sits about 10 levels
//!   deep (a metric's about 14) and each level of an `arrayValue`/`kvlistValue` adds 3, so this
//!   allows about 16 levels of nested attribute values, far below where OTLP/JSON decoders
//!   (serde_json stops at 128) or `export`'s output would fail.
//! - [`MAX_DECODED_BYTES`]: the decoded size, as OTLP/JSON bytes: a request of millions of empty
//!   attributes is small on the wire (2 bytes each in protobuf) and large once decoded.

use serde::Serialize;

/// The deepest nesting of a request's OTLP/JSON form.
pub const MAX_DEPTH: usize = 64;
/// The most OTLP/JSON one decoded request may amount to (8x the receiver's 8 MiB body limit).
pub const MAX_DECODED_BYTES: usize = 64 * 1024 * 1024;

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitExceeded {
    #[error("attribute values nested deeper than the limit ({MAX_DEPTH} levels of OTLP/JSON)")]
    Depth,
    #[error("decoded, the request exceeds the limit of {} MiB (as OTLP/JSON)", MAX_DECODED_BYTES >> 20)]
    Size,
}

/// Checks `req` against [`MAX_DEPTH`] and [`MAX_DECODED_BYTES`].
pub fn check<R: Serialize>(req: &R) -> Result<(), LimitExceeded> {
    let mut counter = Counter::default();
    match serde_json::to_writer(&mut counter, req) {
        Ok(()) => Ok(()),
        Err(_) => Err(counter.exceeded.unwrap_or(LimitExceeded::Size)),
    }
}

#[derive(Default)]
struct Counter {
    depth: usize,
    bytes: usize,
    in_string: bool,
    escaped: bool,
    exceeded: Option<LimitExceeded>,
}

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes += buf.len();
        if self.bytes > MAX_DECODED_BYTES {
            self.exceeded = Some(LimitExceeded::Size);
            return Err(std::io::Error::other("size"));
        }
        for &b in buf {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => {
                    self.depth += 1;
                    if self.depth > MAX_DEPTH {
                        self.exceeded = Some(LimitExceeded::Depth);
                        return Err(std::io::Error::other("depth"));
                    }
                }
                b'}' | b']' => self.depth = self.depth.saturating_sub(1),
                _ => {}
            }
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AnyValue, ArrayValue, ExportTraceServiceRequest, KeyValue, Span, Value};

    /// An attribute value nested `levels` arrays deep.
    pub fn nested(levels: usize) -> AnyValue {
        let mut v = AnyValue {
            value: Some(Value::StringValue("leaf".into())),
        };
        for _ in 0..levels {
            v = AnyValue {
                value: Some(Value::ArrayValue(ArrayValue { values: vec![v] })),
            };
        }
        v
    }

    fn with_attrs(attributes: Vec<KeyValue>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest::single(
            vec![],
            Default::default(),
            vec![Span {
                trace_id: vec![1; 16],
                span_id: vec![1; 8],
                attributes,
                ..Default::default()
            }],
        )
    }

    #[test]
    fn nesting_and_decoded_size_are_bounded() {
        let kv = |v| KeyValue {
            key: "k".into(),
            value: Some(v),
        };
        assert_eq!(check(&with_attrs(vec![kv(nested(12))])), Ok(()));
        assert_eq!(
            check(&with_attrs(vec![kv(nested(47))])),
            Err(LimitExceeded::Depth)
        );
        let empty = KeyValue::default();
        assert_eq!(
            check(&with_attrs(vec![empty; 4_000_000])),
            Err(LimitExceeded::Size)
        );
    }
}
