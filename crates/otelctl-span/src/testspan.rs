//! The test-result span of NixOS tests (`otelctl test-span`), as the first seed emitted it,
//! plus the semantic conventions' attributes.
//!
//! Name `test.<suite>.<name>` (`test.<name>` without a suite). Attributes: the seed's
//! `test.name`, `test.suite`, `test.result` (`passed`/`failed`/`skipped`) and the semantic
//! conventions' `test.case.name`, `test.suite.name`, `test.case.result.status` (`pass`/`fail`;
//! absent for skipped, which the conventions do not define). Status: OK when passed (as the
//! seed did, so `status.code=1` queries keep working), ERROR when failed, UNSET when skipped.
//! The span ends now and starts `duration` earlier.

use otelctl_otlp::{KeyValue, Span, SpanKind, Status, StatusCode};

/// A test's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestResult {
    Passed,
    Failed,
    Skipped,
}

impl TestResult {
    /// Accepts `passed|failed|skipped` and the short forms `pass|fail|skip`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "passed" | "pass" => Some(TestResult::Passed),
            "failed" | "fail" => Some(TestResult::Failed),
            "skipped" | "skip" => Some(TestResult::Skipped),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            TestResult::Passed => "passed",
            TestResult::Failed => "failed",
            TestResult::Skipped => "skipped",
        }
    }
}

/// What a test-result span is made of (ids are filled in by the caller).
#[derive(Debug, Clone)]
pub struct TestSpan<'a> {
    pub name: &'a str,
    pub suite: Option<&'a str>,
    pub result: TestResult,
    pub duration_ms: u64,
    pub end_unix_nano: u64,
}

impl TestSpan<'_> {
    pub fn span_name(&self) -> String {
        match self.suite {
            Some(s) => format!("test.{s}.{}", self.name),
            None => format!("test.{}", self.name),
        }
    }

    /// The span, without ids; `extra` attributes (from `--attr`) come last and may override.
    pub fn build(&self, extra: Vec<KeyValue>) -> Span {
        let mut attrs = vec![
            KeyValue::string("test.name", self.name),
            KeyValue::string("test.case.name", self.name),
            KeyValue::string("test.result", self.result.as_str()),
        ];
        if let Some(suite) = self.suite {
            attrs.push(KeyValue::string("test.suite", suite));
            attrs.push(KeyValue::string("test.suite.name", suite));
        }
        match self.result {
            TestResult::Passed => attrs.push(KeyValue::string("test.case.result.status", "pass")),
            TestResult::Failed => attrs.push(KeyValue::string("test.case.result.status", "fail")),
            TestResult::Skipped => {}
        }
        attrs.push(KeyValue::int(
            "test.duration_ms",
            i64::try_from(self.duration_ms).unwrap_or(i64::MAX),
        ));
        for kv in extra {
            crate::attrs::upsert(&mut attrs, kv);
        }
        let status = match self.result {
            TestResult::Passed => Status {
                message: String::new(),
                code: StatusCode::Ok as i32,
            },
            TestResult::Failed => Status {
                message: "test failed".to_string(),
                code: StatusCode::Error as i32,
            },
            TestResult::Skipped => Status::default(),
        };
        let duration = self.duration_ms.saturating_mul(1_000_000);
        Span {
            name: self.span_name(),
            kind: SpanKind::Internal as i32,
            start_time_unix_nano: self.end_unix_nano.saturating_sub(duration),
            end_time_unix_nano: self.end_unix_nano,
            attributes: attrs,
            status: Some(status),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otelctl_otlp::{attribute, Value};

    #[test]
    fn seed_and_semconv_attributes() {
        let t = TestSpan {
            name: "nginx-startup",
            suite: Some("web"),
            result: TestResult::Failed,
            duration_ms: 1500,
            end_unix_nano: 10_000_000_000,
        };
        let s = t.build(vec![]);
        assert_eq!(s.name, "test.web.nginx-startup");
        assert_eq!(s.start_time_unix_nano, 8_500_000_000);
        assert_eq!(s.status.as_ref().unwrap().code, 2);
        let a = |k| attribute(&s.attributes, k).cloned();
        assert_eq!(a("test.result"), Some(Value::StringValue("failed".into())));
        assert_eq!(
            a("test.case.result.status"),
            Some(Value::StringValue("fail".into()))
        );
        assert_eq!(a("test.suite.name"), Some(Value::StringValue("web".into())));
        let no_suite = TestSpan {
            suite: None,
            result: TestResult::Skipped,
            ..t
        };
        let s = no_suite.build(vec![]);
        assert_eq!(s.name, "test.nginx-startup");
        assert!(attribute(&s.attributes, "test.case.result.status").is_none());
    }
}
