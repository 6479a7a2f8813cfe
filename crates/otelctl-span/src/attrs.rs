//! Attributes from the command line (`--attr K=V` and typed variants). (`k=v,...` lists such
//! as `OTEL_RESOURCE_ATTRIBUTES` are parsed by `otelctl_config::formats`.)
//!
//! A malformed attribute is telemetry input, not a reason to stop the wrapped command: the
//! parsers return what was usable plus one warning per rejected item.

use std::ffi::{OsStr, OsString};

use otelctl_otlp::KeyValue;

/// The kind of a command-line attribute flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Int,
    Bool,
    Double,
}

impl AttrType {
    pub fn flag(self) -> &'static str {
        match self {
            AttrType::String => "--attr",
            AttrType::Int => "--attr-int",
            AttrType::Bool => "--attr-bool",
            AttrType::Double => "--attr-double",
        }
    }
}

/// Parses one `K=V` flag value into an attribute, or a one-line reason.
pub fn parse_attr(ty: AttrType, raw: &OsStr) -> Result<KeyValue, String> {
    let flag = ty.flag();
    let text = raw.to_str().ok_or_else(|| {
        format!(
            "{flag} {:?} is not UTF-8; attribute dropped",
            raw.to_string_lossy()
        )
    })?;
    let (k, v) = text.split_once('=').ok_or_else(|| {
        format!("{flag} {text:?} has no '=' (expected KEY=VALUE); attribute dropped")
    })?;
    if k.is_empty() {
        return Err(format!(
            "{flag} {text:?} has an empty key (expected KEY=VALUE); attribute dropped"
        ));
    }
    let bad = |what: &str| format!("{flag} {text:?}: {v:?} is not {what}; attribute dropped");
    Ok(match ty {
        AttrType::String => KeyValue::string(k, v),
        AttrType::Int => KeyValue::int(
            k,
            v.trim()
                .parse::<i64>()
                .map_err(|_| bad("a 64-bit integer"))?,
        ),
        AttrType::Bool => match v.trim() {
            "true" => KeyValue::bool(k, true),
            "false" => KeyValue::bool(k, false),
            _ => return Err(bad("true or false")),
        },
        AttrType::Double => KeyValue::double(
            k,
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|d| d.is_finite())
                .ok_or_else(|| bad("a finite number"))?,
        ),
    })
}

/// Parses every attribute flag, in order; later values replace earlier ones with the same key.
pub fn parse_attrs(flags: &[(AttrType, OsString)]) -> (Vec<KeyValue>, Vec<String>) {
    let mut out: Vec<KeyValue> = Vec::new();
    let mut warnings = Vec::new();
    for (ty, raw) in flags {
        match parse_attr(*ty, raw) {
            Ok(kv) => upsert(&mut out, kv),
            Err(w) => warnings.push(w),
        }
    }
    (out, warnings)
}

/// Sets `kv` in `attrs`, replacing an attribute with the same key.
pub fn upsert(attrs: &mut Vec<KeyValue>, kv: KeyValue) {
    match attrs.iter_mut().find(|a| a.key == kv.key) {
        Some(slot) => *slot = kv,
        None => attrs.push(kv),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otelctl_otlp::Value;
    use std::os::unix::ffi::OsStringExt;

    #[test]
    fn typed_attributes() {
        let flags = vec![
            (AttrType::String, OsString::from("a=x=y")),
            (AttrType::Int, OsString::from("n=-42")),
            (AttrType::Bool, OsString::from("b=false")),
            (AttrType::Double, OsString::from("d=2.5")),
            (AttrType::String, OsString::from("empty=")),
        ];
        let (kv, w) = parse_attrs(&flags);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(kv[0].get(), Some(&Value::StringValue("x=y".into())));
        assert_eq!(kv[1].get(), Some(&Value::IntValue(-42)));
        assert_eq!(kv[2].get(), Some(&Value::BoolValue(false)));
        assert_eq!(kv[3].get(), Some(&Value::DoubleValue(2.5)));
        assert_eq!(kv[4].get(), Some(&Value::StringValue(String::new())));
    }

    #[test]
    fn malformed_attributes_warn_and_are_dropped() {
        let flags = vec![
            (AttrType::String, OsString::from("novalue")),
            (AttrType::String, OsString::from("=v")),
            (AttrType::Int, OsString::from("n=1.5")),
            (AttrType::Bool, OsString::from("b=yes")),
            (AttrType::Double, OsString::from("d=NaN")),
            (AttrType::String, OsString::from_vec(b"k=\xff".to_vec())),
            (AttrType::String, OsString::from("ok=1")),
        ];
        let (kv, w) = parse_attrs(&flags);
        assert_eq!(kv.len(), 1);
        assert_eq!(w.len(), 6, "{w:?}");
        assert!(
            w[2].contains("--attr-int") && w[2].contains("1.5"),
            "{}",
            w[2]
        );
    }
}
