//! `otelctl test-span NAME passed|failed|skipped [DURATION_MS]`: a test-result span.

use otelctl_config::error::{Error, Source};
use otelctl_config::exit;
use otelctl_config::Result;
use otelctl_span::emit::{self, Context};
use otelctl_span::testspan::{TestResult, TestSpan};

use crate::cli::{GlobalArgs, TestSpanArgs};
use crate::commands::telemetry::{self, warn};

/// The service name when neither --service nor OTEL_SERVICE_NAME is given (the seed's).
const DEFAULT_SERVICE: &str = "nixos-tests";

pub fn run(globals: &GlobalArgs, args: &TestSpanArgs) -> Result<u8> {
    let result = TestResult::parse(&args.result).ok_or_else(|| Error::InvalidValue {
        what: "test result",
        value: args.result.clone(),
        origin: Source::Flag("RESULT"),
        expected: "passed, failed or skipped".to_string(),
    })?;
    let env = telemetry::load_env();
    let name = telemetry::text_arg("NAME", &args.name);
    let duration_ms = match args.duration_ms.as_deref().map(str::trim) {
        None => 0,
        Some(d) => d.parse::<u64>().unwrap_or_else(|_| {
            warn(&format!(
                "DURATION_MS {d:?} is not a whole number of milliseconds; using 0"
            ));
            0
        }),
    };
    let suite = match &args.suite {
        Some(s) => Some(telemetry::text_arg("--suite", s)),
        None => env.test_suite.clone(),
    };
    let service = match &args.service {
        Some(s) => telemetry::text_arg("--service", s),
        None => env
            .service_name
            .clone()
            .or_else(|| {
                env.resource
                    .iter()
                    .find(|(k, _)| k == "service.name")
                    .map(|(_, v)| v.clone())
            })
            .unwrap_or_else(|| DEFAULT_SERVICE.to_string()),
    };
    let extra = telemetry::attributes(&args.attrs);
    if env.sdk_disabled {
        return Ok(exit::SUCCESS);
    }
    let ctx = Context::start(&env, env.test_trace_id);
    let mut span = TestSpan {
        name: &name,
        suite: suite.as_deref(),
        result,
        duration_ms,
        end_unix_nano: emit::now_nanos(),
    }
    .build(extra);
    ctx.apply(&mut span);
    if ctx.sampled() {
        let settings = telemetry::lenient_settings(globals);
        telemetry::send(&env, settings.as_ref(), &service, span);
    }
    Ok(exit::SUCCESS)
}
