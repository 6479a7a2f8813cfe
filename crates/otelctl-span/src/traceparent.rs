//! W3C Trace Context in environment carriers: parsing and formatting `TRACEPARENT`, validating `TRACESTATE`.
//!
//! Rules (w3c/trace-context, "traceparent header" and "tracestate header"):
//! `VV-<32 lowercase hex trace id>-<16 lowercase hex parent id>-<2 hex flags>`; version `ff`
//! is invalid; all-zero ids are invalid; uppercase hex is invalid. Version `00` is exactly 55
//! characters. A higher version is at least 55 characters, its first three fields are read at
//! their fixed positions and anything after a `-` at position 55 is ignored; we re-emit `00`.
//! Flags are a bit field (`0x01` sampled): test bits, never compare the byte.

use otelctl_otlp::{from_hex, new_span_id, new_trace_id, to_hex};

/// The sampled bit of the trace flags.
pub const FLAG_SAMPLED: u8 = 0x01;

/// A parsed `traceparent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    pub trace_id: [u8; 16],
    /// The parent's span id (the id of the span that is the parent of what comes next).
    pub span_id: [u8; 8],
    pub flags: u8,
}

/// Why a `traceparent` was rejected (one short phrase, used in warnings).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidTraceParent(pub &'static str);

impl TraceParent {
    /// A new root context: random trace and span ids, sampled.
    pub fn new_root() -> Self {
        TraceParent {
            trace_id: new_trace_id(),
            span_id: new_span_id(),
            flags: FLAG_SAMPLED,
        }
    }

    /// The same trace and flags with another span as parent.
    pub fn with_span(self, span_id: [u8; 8]) -> Self {
        TraceParent { span_id, ..self }
    }

    pub fn sampled(&self) -> bool {
        self.flags & FLAG_SAMPLED != 0
    }

    /// Parses a `traceparent` value per the W3C rules (surrounding blanks are tolerated).
    pub fn parse(text: &str) -> Result<Self, InvalidTraceParent> {
        let t = text.trim_matches(|c| c == ' ' || c == '\t');
        let b = t.as_bytes();
        if b.len() < 55 {
            return Err(InvalidTraceParent("shorter than 55 characters"));
        }
        if !b.is_ascii() {
            return Err(InvalidTraceParent("not ASCII"));
        }
        let version = &t[0..2];
        if !is_lower_hex(version) {
            return Err(InvalidTraceParent("version is not 2 lowercase hex digits"));
        }
        if version == "ff" {
            return Err(InvalidTraceParent("version ff is forbidden"));
        }
        if b[2] != b'-' || b[35] != b'-' || b[52] != b'-' {
            return Err(InvalidTraceParent(
                "fields are not separated by '-' at the W3C positions",
            ));
        }
        if version == "00" && b.len() != 55 {
            return Err(InvalidTraceParent(
                "version 00 must be exactly 55 characters",
            ));
        }
        if b.len() > 55 && b[55] != b'-' {
            return Err(InvalidTraceParent(
                "a higher version's extra fields must follow a '-'",
            ));
        }
        let (trace, span, flags) = (&t[3..35], &t[36..52], &t[53..55]);
        if !is_lower_hex(trace) || !is_lower_hex(span) || !is_lower_hex(flags) {
            return Err(InvalidTraceParent("ids and flags must be lowercase hex"));
        }
        let mut trace_id = [0u8; 16];
        trace_id.copy_from_slice(&from_hex(trace).expect("checked hex"));
        let mut span_id = [0u8; 8];
        span_id.copy_from_slice(&from_hex(span).expect("checked hex"));
        if trace_id == [0; 16] {
            return Err(InvalidTraceParent("trace id is all zeros"));
        }
        if span_id == [0; 8] {
            return Err(InvalidTraceParent("parent id is all zeros"));
        }
        let flags = from_hex(flags).expect("checked hex")[0];
        Ok(TraceParent {
            trace_id,
            span_id,
            flags,
        })
    }

    /// The version-00 form: `00-<trace>-<span>-<flags>`.
    pub fn format(&self) -> String {
        format!(
            "00-{}-{}-{:02x}",
            to_hex(&self.trace_id),
            to_hex(&self.span_id),
            self.flags
        )
    }
}

impl std::fmt::Display for TraceParent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.format())
    }
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

/// Validates a `tracestate` value; returns it normalised (blank list members dropped,
/// optional whitespace around members removed) or why it is invalid.
pub fn validate_tracestate(text: &str) -> Result<String, &'static str> {
    let mut members = Vec::new();
    for raw in text.split(',') {
        let m = raw.trim_matches(|c| c == ' ' || c == '\t');
        if m.is_empty() {
            continue;
        }
        let (key, value) = m.split_once('=').ok_or("a member has no '='")?;
        if !valid_key(key) {
            return Err("a key is not a valid tracestate key");
        }
        if !valid_value(value) {
            return Err("a value is not a valid tracestate value");
        }
        if members.iter().any(|(k, _): &(&str, &str)| *k == key) {
            return Err("a key appears twice");
        }
        members.push((key, value));
    }
    if members.len() > 32 {
        return Err("more than 32 members");
    }
    Ok(members
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(","))
}

fn valid_key(key: &str) -> bool {
    let simple = |s: &str, max: usize, first_digit_ok: bool| {
        let b = s.as_bytes();
        !b.is_empty()
            && b.len() <= max
            && (b[0].is_ascii_lowercase() || (first_digit_ok && b[0].is_ascii_digit()))
            && b.iter()
                .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"_-*/".contains(&c))
    };
    match key.split_once('@') {
        None => simple(key, 256, false),
        Some((tenant, system)) => simple(tenant, 241, true) && simple(system, 14, false),
    }
}

fn valid_value(value: &str) -> bool {
    let b = value.as_bytes();
    !b.is_empty()
        && b.len() <= 256
        && b.iter()
            .all(|&c| (0x20..=0x7e).contains(&c) && c != b',' && c != b'=')
        && b[b.len() - 1] != b' '
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn parses_and_formats_version_00() {
        let tp = TraceParent::parse(GOOD).unwrap();
        assert_eq!(tp.format(), GOOD);
        assert!(tp.sampled());
        assert!(!TraceParent::parse(&GOOD.replace("-01", "-00"))
            .unwrap()
            .sampled());
        // Flags are bits: 0x03 (sampled + random) is sampled.
        assert!(TraceParent::parse(&GOOD.replace("-01", "-03"))
            .unwrap()
            .sampled());
    }

    #[test]
    fn rejects_what_the_w3c_rejects() {
        let bad = [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
        ];
        for b in bad {
            assert!(TraceParent::parse(b).is_err(), "{b:?} should be rejected");
        }
    }

    #[test]
    fn higher_versions_are_read_and_re_emitted_as_00() {
        let tp =
            TraceParent::parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-ever")
                .unwrap();
        assert_eq!(tp.format(), GOOD);
        assert!(TraceParent::parse(&GOOD.replacen("00", "01", 1)).is_ok());
    }

    #[test]
    fn new_roots_are_valid_and_distinct() {
        let a = TraceParent::new_root();
        let b = TraceParent::new_root();
        assert_ne!(a.trace_id, b.trace_id);
        assert_eq!(TraceParent::parse(&a.format()).unwrap(), a);
    }

    #[test]
    fn tracestate_rules() {
        assert_eq!(
            validate_tracestate("congo=t61rcWkgMzE, rojo=00f067aa0ba902b7 ,").unwrap(),
            "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
        );
        assert!(validate_tracestate("tenant1@vendor=x").is_ok());
        for bad in ["Upper=1", "k", "k=a,b", "k=v=w", "k=1,k=2", "k=caf\u{e9}"] {
            assert!(validate_tracestate(bad).is_err(), "{bad:?}");
        }
        let many: Vec<String> = (0..33).map(|i| format!("k{i}=v")).collect();
        assert!(validate_tracestate(&many.join(",")).is_err());
    }

    #[test]
    fn trace_ids_from_scripts() {
        assert!(otelctl_otlp::parse_trace_id("4BF92F3577B34DA6A3CE929D0E0E4736").is_some());
        assert!(otelctl_otlp::parse_trace_id("00000000000000000000000000000000").is_none());
        assert!(otelctl_otlp::parse_trace_id("abc").is_none());
    }
}
