//! The text formats of flags, variables and URL parameters, each parsed (and, where otelctl
//! writes it too, formatted) in one place: `key=value` lists (with their percent-decoding),
//! durations (for flags and URLs, and for people), and points in time.
//!
//! Lists follow the OpenTelemetry SDK configuration spec, which uses the W3C Baggage format for
//! `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_EXPORTER_OTLP_HEADERS` (and so for
//! `OTELCTL_UPSTREAM_HEADERS`): members separated by `,`, blank members ignored, each member
//! `key=value` split at the first `=`, optional white space around keys and values, values
//! percent-decoded (UTF-8). Header lists add the HTTP rules: a name is an RFC 9110 token, a
//! value holds no control characters.

use std::time::Duration;

use crate::error::{Error, Result, Source};

/// Why one member of a `key=value` list was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MemberError {
    #[error("has no '='")]
    NoEquals,
    #[error("has an empty key")]
    EmptyKey,
    #[error("has a bad percent-encoding in its value")]
    BadPercent,
    #[error("has an invalid header name (letters, digits and !#$%&'*+-.^_`|~ only)")]
    BadHeaderName,
    #[error("has control characters in its value")]
    ControlCharacter,
}

/// A rejected member: its 1-based position in the list and why. Never holds the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("member {position} {why}")]
pub struct ListError {
    pub position: usize,
    pub why: MemberError,
}

/// Decodes `%XX` escapes (anything else, `+` included, stands for itself); the result must be
/// UTF-8 and every `%` must start an escape.
pub fn percent_decode(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let escapes_ok = b.iter().enumerate().all(|(i, &c)| {
        c != b'%'
            || b.get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    });
    if !escapes_ok {
        return None;
    }
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// Percent-encodes every byte but the unreserved characters of RFC 3986 (letters, digits,
/// `-`, `_`, `.`, `~`): safe in a URL path segment or a query value.
pub fn percent_encode(text: &str) -> String {
    const RESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(text, RESERVED).to_string()
}

/// Every non-blank member of a list, in order: the decoded pair, or why it was rejected.
pub fn members(
    raw: &str,
) -> impl Iterator<Item = std::result::Result<(String, String), ListError>> + '_ {
    raw.split(',')
        .enumerate()
        .filter(|(_, m)| !m.trim().is_empty())
        .map(|(i, member)| {
            let err = |why| ListError {
                position: i + 1,
                why,
            };
            let (k, v) = member.split_once('=').ok_or(err(MemberError::NoEquals))?;
            let key = k.trim();
            if key.is_empty() {
                return Err(err(MemberError::EmptyKey));
            }
            let value = percent_decode(v.trim()).ok_or(err(MemberError::BadPercent))?;
            Ok((key.to_string(), value))
        })
}

/// A whole list, as `OTEL_RESOURCE_ATTRIBUTES` wants it: any bad member rejects the list (the
/// spec's rule), and a key given twice keeps its last value.
pub fn parse_list(raw: &str) -> std::result::Result<Vec<(String, String)>, ListError> {
    let mut out: Vec<(String, String)> = Vec::new();
    for member in members(raw) {
        let (k, v) = member?;
        out.retain(|(key, _)| *key != k);
        out.push((k, v));
    }
    Ok(out)
}

/// A header list: every valid header, in order, and every rejected member (the caller decides
/// whether a bad member is a warning or an error). Errors never hold a value.
pub fn parse_headers(raw: &str) -> (Vec<(String, String)>, Vec<ListError>) {
    let token = |c: u8| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c);
    let mut headers = Vec::new();
    let mut errors = Vec::new();
    for (position, member) in raw
        .split(',')
        .enumerate()
        .filter(|(_, m)| !m.trim().is_empty())
        .map(|(i, m)| (i + 1, m))
    {
        let checked = match members(member).next() {
            None => continue,
            Some(Err(e)) => Err(e.why),
            Some(Ok((k, _))) if !k.bytes().all(token) => Err(MemberError::BadHeaderName),
            Some(Ok((_, v))) if v.chars().any(char::is_control) => {
                Err(MemberError::ControlCharacter)
            }
            Some(Ok(h)) => Ok(h),
        };
        match checked {
            Ok(h) => headers.push(h),
            Err(why) => errors.push(ListError { position, why }),
        }
    }
    (headers, errors)
}

/// A duration such as `500ms`, `90s`, `15m`, `1h30m`, `2h` or `7d` (humantime's syntax).
pub fn parse_duration(text: &str, what: &'static str, origin: Source) -> Result<Duration> {
    humantime::parse_duration(text.trim()).map_err(|_| Error::InvalidValue {
        what,
        value: text.to_string(),
        origin,
        expected: "a duration such as 500ms, 90s, 15m, 1h30m, 2h or 7d".to_string(),
    })
}

/// How long ago, for `--since`: a duration as [`parse_duration`] reads it, where a leading `-`
/// (`-1h`, "one hour back", as many tools spell it) means the same as none.
pub fn parse_ago(text: &str, what: &'static str, origin: Source) -> Result<Duration> {
    let t = text.trim();
    parse_duration(t.strip_prefix('-').unwrap_or(t), what, origin).map_err(|e| match e {
        Error::InvalidValue {
            what,
            origin,
            expected,
            ..
        } => Error::InvalidValue {
            what,
            value: text.to_string(),
            origin,
            expected,
        },
        other => other,
    })
}

/// A duration as [`parse_duration`] reads it, in its largest exact unit (`1500ms`, `2m`, `90s`,
/// `3h`, `250ns`): the explorer's URLs and form fields.
pub fn duration_text(d: Duration) -> String {
    let ms = d.as_millis();
    if !d.subsec_nanos().is_multiple_of(1_000_000) {
        format!("{}ns", d.as_nanos())
    } else if ms.is_multiple_of(3_600_000) && ms > 0 {
        format!("{}h", ms / 3_600_000)
    } else if ms.is_multiple_of(60_000) && ms > 0 {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// A point in time: Unix nanoseconds, or a UTC time `YYYY-MM-DD HH:MM[:SS]` (what
/// [`format_time`] writes, optionally followed by ` UTC`; RFC 3339 with `T` and `Z` too).
pub fn parse_time(text: &str, origin: Source) -> Result<u64> {
    let t = text.trim();
    let invalid = || Error::InvalidValue {
        what: "time",
        value: text.to_string(),
        origin,
        expected: "a UTC time such as 2026-11-30 07:00 (or 07:00:00, or RFC 3339), or Unix \
                   nanoseconds"
            .to_string(),
    };
    if let Ok(ns) = t.parse::<u64>() {
        return Ok(ns);
    }
    let t = t.trim_end_matches(" UTC");
    let padded;
    let t = if t.len() == 16 {
        padded = format!("{t}:00");
        padded.as_str()
    } else {
        t
    };
    let at = humantime::parse_rfc3339_weak(t).map_err(|_| invalid())?;
    let d = at
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| invalid())?;
    u64::try_from(d.as_nanos()).map_err(|_| invalid())
}

/// A UTC time `YYYY-MM-DD HH:MM:SS` from Unix nanoseconds (read back by [`parse_time`]).
pub fn format_time(unix_nano: u64) -> String {
    // humantime writes `YYYY-MM-DDTHH:MM:SSZ`.
    let mut text = humantime::format_rfc3339_seconds(system_time(unix_nano)).to_string();
    text.pop();
    text.replacen('T', " ", 1)
}

/// RFC 3339 UTC with nanoseconds: `2026-11-30T07:00:00.123456789Z`.
pub fn format_rfc3339_nanos(unix_nano: u64) -> String {
    humantime::format_rfc3339_nanos(system_time(unix_nano)).to_string()
}

fn system_time(unix_nano: u64) -> std::time::SystemTime {
    std::time::UNIX_EPOCH + Duration::from_nanos(unix_nano)
}

/// A duration as Go writes it, in hours, minutes and seconds (`72h`, `1h30m`, `90s`), for the
/// configs of Go programs (Tempo). Sub-second parts are dropped.
pub fn go_duration(d: Duration) -> String {
    let s = d.as_secs();
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

/// A duration for people: `850 ns`, `12.3 µs`, `4.56 ms`, `1.23 s`, `2m 05s`.
pub fn format_duration(ns: u64) -> String {
    match ns {
        0..=999 => format!("{ns} ns"),
        1_000..=999_999 => format!("{:.1} µs", ns as f64 / 1e3),
        1_000_000..=999_999_999 => format!("{:.2} ms", ns as f64 / 1e6),
        1_000_000_000..=59_999_999_999 => format!("{:.2} s", ns as f64 / 1e9),
        _ => {
            let s = ns / 1_000_000_000;
            if s < 3600 {
                format!("{}m {:02}s", s / 60, s % 60)
            } else {
                format!("{}h {:02}m", s / 3600, (s / 60) % 60)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_reads_a_leading_minus_as_ago() {
        let flag = Source::Flag("--since");
        let hour = Duration::from_secs(3600);
        assert_eq!(parse_ago("1h", "duration", flag).unwrap(), hour);
        assert_eq!(parse_ago("-1h", "duration", flag).unwrap(), hour);
        assert!(parse_ago("--1h", "duration", flag).is_err());
        assert!(parse_ago("-", "duration", flag).is_err());
    }

    #[test]
    fn durations_for_people() {
        assert_eq!(format_duration(850), "850 ns");
        assert_eq!(format_duration(12_345), "12.3 µs");
        assert_eq!(format_duration(4_560_000), "4.56 ms");
        assert_eq!(format_duration(1_230_000_000), "1.23 s");
        assert_eq!(format_duration(125_000_000_000), "2m 05s");
    }

    #[test]
    fn lists_decode_values_and_reject_bad_members_with_their_position() {
        assert_eq!(
            parse_list("a=1,,b=%3D%2C, c = x+y ").unwrap(),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "=,".into()),
                ("c".into(), "x+y".into())
            ]
        );
        assert_eq!(
            parse_list("a=1,a=2").unwrap(),
            vec![("a".into(), "2".into())]
        );
        let e = |position, why| Err(ListError { position, why });
        assert_eq!(parse_list("x=1,a"), e(2, MemberError::NoEquals));
        assert_eq!(parse_list("=v"), e(1, MemberError::EmptyKey));
        assert_eq!(parse_list("a=%4"), e(1, MemberError::BadPercent));
        assert_eq!(parse_list("a=%zz"), e(1, MemberError::BadPercent));
        assert_eq!(parse_list("a=%ff"), e(1, MemberError::BadPercent));
    }

    #[test]
    fn headers_keep_good_members_and_name_bad_ones_without_values() {
        let (h, errors) =
            parse_headers("authorization=Bearer%20s3cret,bad name=1,, x-a = a=b,c=%0A");
        assert_eq!(
            h,
            vec![
                ("authorization".into(), "Bearer s3cret".into()),
                ("x-a".into(), "a=b".into())
            ]
        );
        assert_eq!(
            errors,
            vec![
                ListError {
                    position: 2,
                    why: MemberError::BadHeaderName
                },
                ListError {
                    position: 5,
                    why: MemberError::ControlCharacter
                }
            ]
        );
        assert!(!errors[1].to_string().contains('\n'));
    }

    #[test]
    fn percent_encoding_round_trips() {
        let text = "otelctl-project a/b?c=d&e%~é";
        let encoded = percent_encode(text);
        assert_eq!(encoded, "otelctl-project%20a%2Fb%3Fc%3Dd%26e%25~%C3%A9");
        assert_eq!(percent_decode(&encoded).as_deref(), Some(text));
    }

    #[test]
    fn durations() {
        let src = Source::Flag("--since");
        let d = |t| parse_duration(t, "duration", src).unwrap();
        assert_eq!(d("500ms"), Duration::from_millis(500));
        assert_eq!(d("15m"), Duration::from_secs(900));
        assert_eq!(d(" 2h "), Duration::from_secs(7200));
        assert_eq!(d("7d"), Duration::from_secs(7 * 86400));
        assert_eq!(d("1h30m"), Duration::from_secs(5400));
        for bad in ["", "15", "m", "-1h", "1.5x"] {
            assert!(parse_duration(bad, "duration", src).is_err(), "{bad}");
        }
        assert_eq!(go_duration(Duration::from_secs(72 * 3600)), "72h");
        assert_eq!(go_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(go_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn duration_text_is_read_back_exactly() {
        let src = Source::Flag("min");
        for (d, text) in [
            (Duration::from_millis(1500), "1500ms"),
            (Duration::from_secs(120), "2m"),
            (Duration::from_secs(90), "90s"),
            (Duration::from_secs(3 * 3600), "3h"),
            (Duration::from_nanos(250), "250ns"),
            (Duration::ZERO, "0s"),
        ] {
            assert_eq!(duration_text(d), text);
            assert_eq!(parse_duration(text, "duration", src).unwrap(), d, "{text}");
        }
    }

    #[test]
    fn times_are_written_and_read_back() {
        let src = Source::Flag("from");
        let t = |text: &str| parse_time(text, src).unwrap();
        assert_eq!(t("2023-11-14 22:13"), 1_699_999_980_000_000_000);
        assert_eq!(t("2023-11-14 22:13:20"), 1_700_000_000_000_000_000);
        assert_eq!(t("2023-11-14T22:13:20Z"), 1_700_000_000_000_000_000);
        assert_eq!(t("2023-11-14 22:13:20 UTC"), 1_700_000_000_000_000_000);
        assert_eq!(t("17"), 17);
        let e = parse_time("yesterday", src).unwrap_err().to_string();
        assert!(
            e.contains("yesterday") && e.contains("2026-11-30 07:00"),
            "{e}"
        );
        assert_eq!(format_time(0), "1970-01-01 00:00:00");
        assert_eq!(
            format_time(1_700_000_000_000_000_000),
            "2023-11-14 22:13:20"
        );
        assert_eq!(format_time(951_782_400_000_000_000), "2000-02-29 00:00:00");
        for ns in [0, 951_782_400_000_000_000, 1_700_000_000_000_000_000] {
            assert_eq!(t(&format_time(ns)), ns);
        }
    }
}
