//! The built-in dashboards, as code.
//!
//! Their queries follow the span conventions of the seed (see `docs/commands/dash.md`):
//! - `dt` root spans: `resource.service.name = "dt"`, span name = the task asked for,
//!   `span.dt.args` = the whole `dt` command line;
//! - `dt-task` child spans: `resource.service.name = "dt-task"`, span name = the task
//!   (`pnpm:install`, `ts:check`), `span.task.cached` (`"true"`/`"false"`), `span.exit.code` (int);
//! - shell entry: `resource.service.name = "shell"`, root span `shell:entry`, one child per phase
//!   (e.g. `direnv:allow`, `devenv:enterShell`), and devenv's own spans (`service.name = "devenv"`);
//! - test spans (`otelctl test-span`, the NixOS-test seed): span name `test.<suite>.<name>`
//!   (`test.<name>` without a suite), `test.name`, `test.suite` (a span attribute from
//!   `otelctl test-span`, a resource attribute in the seed's hand-written spans: the queries use
//!   the unscoped `.test.suite`, which Tempo looks up on the span, then the resource),
//!   `test.result` (`passed`/`failed`/`skipped`), plus the semantic conventions' `test.case.*`;
//! - devenv's own spans (devenv >= 2.1): `resource.service.name = "devenv"`,
//!   `span.devenv.activity.kind` (`evaluation`, `build`, `fetch`, `task`, `process`, ...),
//!   `span.devenv.outcome`, error status on failure.

use super::builder::{DashboardSpec, Panel, Target};

/// Spans of `dt` root runs.
pub const DT: &str = r#"resource.service.name = "dt""#;
/// Spans of individual tasks.
pub const DT_TASK: &str = r#"resource.service.name = "dt-task""#;
/// Shell entry spans (ours and devenv's native ones).
pub const SHELL: &str = r#"(resource.service.name = "shell" || resource.service.name = "devenv")"#;
/// Test spans.
pub const TEST: &str = r#"name =~ "test[.].+""#;
/// devenv's own spans.
pub const DEVENV: &str = r#"resource.service.name = "devenv""#;
/// Services that are tooling, not application code.
pub const TOOLING: &str = r#"resource.service.name !~ "^(dt|dt-task|shell|devenv)$""#;

/// The short names of the built-ins: the six of the seed, then test results and devenv.
pub const NAMES: [&str; 8] = [
    "overview",
    "dt-tasks",
    "shell-entry",
    "pnpm-install",
    "ts-app-traces",
    "dt-duration-trends",
    "tests",
    "devenv",
];

/// The uid of a built-in: `otelctl-<name>`.
pub fn uid(name: &str) -> String {
    format!("otelctl-{name}")
}

/// Every built-in dashboard.
pub fn all() -> Vec<DashboardSpec> {
    vec![
        overview(),
        dt_tasks(),
        shell_entry(),
        pnpm_install(),
        ts_app_traces(),
        dt_duration_trends(),
        test_results(),
        devenv(),
    ]
}

fn q(selector: &str) -> String {
    format!("{{ {selector} }}")
}

fn overview() -> DashboardSpec {
    DashboardSpec::new(
        &uid("overview"),
        "otelctl / Overview",
        "Landing page: recent traces, spans and errors by service, recent dt runs and failures.",
    )
    .row(
        "Traffic",
        vec![
            Panel::timeseries(
                "Spans per second by service",
                vec![Target::metrics("{ } | rate() by (resource.service.name)")],
            )
            .unit("reqps"),
            Panel::timeseries(
                "Errors per second by service",
                vec![Target::metrics(
                    "{ status = error } | rate() by (resource.service.name)",
                )],
            )
            .unit("reqps"),
        ],
    )
    .row(
        "RED per service (span metrics in Prometheus)",
        vec![
            Panel::timeseries(
                "Requests per second by service",
                vec![Target::promql(
                    "sum by (service) (rate(traces_spanmetrics_calls_total[$__rate_interval]))",
                    "{{service}}",
                )],
            )
            .unit("reqps")
            .size(8, 8)
            .describe("Rate: spans per second by service, from Tempo's span metrics (metrics-generator -> Prometheus)."),
            Panel::timeseries(
                "Errors per second by service",
                vec![Target::promql(
                    "sum by (service) (rate(traces_spanmetrics_calls_total{status_code=\"STATUS_CODE_ERROR\"}[$__rate_interval]))",
                    "{{service}}",
                )],
            )
            .unit("reqps")
            .size(8, 8)
            .describe("Errors: spans with an error status per second by service."),
            Panel::timeseries(
                "p95 duration by service",
                vec![Target::promql(
                    "histogram_quantile(0.95, sum by (le, service) (rate(traces_spanmetrics_latency_bucket[$__rate_interval])))",
                    "{{service}}",
                )],
            )
            .unit("s")
            .size(8, 8)
            .describe("Duration: the 95th percentile of span durations by service."),
        ],
    )
    .row(
        "Recent",
        vec![
            Panel::table("Recent traces", Target::traces("{ }"))
                .size(24, 10)
                .describe("The newest traces of every service; click a trace id to open it."),
            Panel::table(
                "Recent dt runs",
                Target::traces(format!("{} | select(span.dt.args)", q(DT))),
            ),
            Panel::table(
                "Recent failures",
                Target::spans(
                    "{ status = error || span.exit.code != 0 } | select(resource.service.name, span.exit.code)",
                ),
            )
            .describe("Spans with an error status or a non-zero exit code."),
        ],
    )
}

fn dt_tasks() -> DashboardSpec {
    let task = format!(r#"{DT_TASK} && name =~ "$task""#);
    DashboardSpec::new(
        &uid("dt-tasks"),
        "otelctl / dt tasks",
        "Task duration, cache hit rate and failure rate of dt-task spans.",
    )
    .variable(
        "task",
        "Task (regex)",
        ".+",
        "Regular expression on the task name, e.g. ts:.* or pnpm:install",
    )
    .row(
        "Duration",
        vec![
            Panel::timeseries(
                "Task duration p50 / p95 / p99",
                vec![Target::metrics(format!(
                    "{} | quantile_over_time(duration, .5, .95, .99) by (name)",
                    q(&task)
                ))],
            )
            .unit("s")
            .size(16, 9),
            Panel::bars(
                "Average duration by task",
                Target::metrics(format!("{} | avg_over_time(duration) by (name)", q(&task))),
            )
            .unit("s")
            .size(8, 9),
        ],
    )
    .row(
        "Cache and failures",
        vec![
            Panel::timeseries(
                "Runs by cache status (task.cached)",
                vec![Target::metrics(format!(
                    "{} | count_over_time() by (span.task.cached)",
                    q(&task)
                ))],
            )
            .describe("true: the task was skipped as cached; false: it ran."),
            Panel::bars(
                "Executed (not cached) runs by task",
                Target::metrics(format!(
                    r#"{} | count_over_time() by (name)"#,
                    q(&format!(r#"{task} && span.task.cached = "false""#))
                )),
            ),
            Panel::timeseries(
                "Failures by task (exit.code != 0)",
                vec![Target::metrics(format!(
                    "{} | count_over_time() by (name)",
                    q(&format!("{task} && span.exit.code != 0"))
                ))],
            ),
            Panel::bars(
                "Runs by task",
                Target::metrics(format!("{} | count_over_time() by (name)", q(&task))),
            ),
        ],
    )
    .row(
        "Runs",
        vec![
            Panel::table(
                "Recent dt runs with their tasks",
                Target::traces(format!("{} | select(span.dt.args)", q(DT))),
            ),
            Panel::table(
                "Failed tasks",
                Target::spans(format!(
                    "{} | select(span.exit.code, span.task.cached)",
                    q(&format!("{task} && span.exit.code != 0"))
                )),
            ),
        ],
    )
}

fn shell_entry() -> DashboardSpec {
    let entry = format!(r#"{SHELL} && name = "shell:entry""#);
    let phases = format!(r#"{SHELL} && name != "shell:entry""#);
    DashboardSpec::new(
        &uid("shell-entry"),
        "otelctl / Shell entry",
        "How long entering the project's shell takes (direnv allow, devenv enterShell), phase by phase.",
    )
    .row(
        "Entry",
        vec![
            Panel::timeseries(
                "Shell entry duration p50 / p95 / p99",
                vec![Target::metrics(format!(
                    "{} | quantile_over_time(duration, .5, .95, .99)",
                    q(&entry)
                ))],
            )
            .unit("s"),
            Panel::bars(
                "Average duration by phase",
                Target::metrics(format!("{} | avg_over_time(duration) by (name)", q(&phases))),
            )
            .unit("s"),
        ],
    )
    .row(
        "Entries",
        vec![
            Panel::table("Recent shell entries", Target::traces(q(&entry))),
            Panel::table(
                "Slowest phases (over 100 ms)",
                Target::spans(format!(
                    "{} | select(resource.service.name)",
                    q(&format!("{phases} && duration > 100ms"))
                )),
            ),
        ],
    )
}

fn pnpm_install() -> DashboardSpec {
    let install = r#"name = "pnpm:install""#;
    DashboardSpec::new(
        &uid("pnpm-install"),
        "otelctl / pnpm install",
        "pnpm install runs: duration, cache hits, and the spans below each install (per package when emitted).",
    )
    .row(
        "Installs",
        vec![
            Panel::timeseries(
                "pnpm:install duration p50 / p95 / p99",
                vec![Target::metrics(format!(
                    "{} | quantile_over_time(duration, .5, .95, .99)",
                    q(install)
                ))],
            )
            .unit("s"),
            Panel::bars(
                "Installs by cache status",
                Target::metrics(format!("{} | count_over_time() by (span.task.cached)", q(install))),
            ),
        ],
    )
    .row(
        "Per package",
        vec![
            Panel::bars(
                "Average duration of the steps inside an install",
                Target::metrics(format!(
                    "{} > {{ }} | avg_over_time(duration) by (name)",
                    q(install)
                )),
            )
            .unit("s")
            .describe("Children of pnpm:install spans, e.g. one per package fetched."),
            Panel::table(
                "Recent installs (waterfall: open a trace)",
                Target::traces(format!(
                    "{} | select(span.task.cached, span.exit.code)",
                    q(install)
                )),
            ),
            Panel::table(
                "Steps of recent installs",
                Target::spans(format!("{} > {{ }}", q(install))),
            )
            .size(24, 8),
        ],
    )
}

fn ts_app_traces() -> DashboardSpec {
    let app = format!(r#"{TOOLING} && resource.service.name =~ "$service""#);
    DashboardSpec::new(
        &uid("ts-app-traces"),
        "otelctl / App traces",
        "General-purpose exploration of application traces (Effect and other OpenTelemetry SDKs) and test spans.",
    )
    .variable(
        "service",
        "Service (regex)",
        ".+",
        "Regular expression on resource.service.name (dt, dt-task, shell and devenv are left out)",
    )
    .row(
        "Services",
        vec![
            Panel::timeseries(
                "Spans per second by service",
                vec![Target::metrics(format!(
                    "{} | rate() by (resource.service.name)",
                    q(&app)
                ))],
            )
            .unit("reqps"),
            Panel::timeseries(
                "Latency p50 / p95 / p99 by service",
                vec![Target::metrics(format!(
                    "{} | quantile_over_time(duration, .5, .95, .99) by (resource.service.name)",
                    q(&app)
                ))],
            )
            .unit("s"),
            Panel::table("Traces", Target::traces(q(&app))).size(24, 10),
            Panel::table(
                "Error spans",
                Target::spans(format!(
                    "{} | select(resource.service.name, status)",
                    q(&format!("{app} && status = error"))
                )),
            )
            .size(24, 8),
        ],
    )
    .row(
        "Tests",
        vec![
            Panel::bars(
                "Test spans by result",
                Target::metrics(format!("{} | count_over_time() by (span.test.result)", q(TEST))),
            ),
            Panel::table(
                "Recent tests",
                Target::spans(format!(
                    "{} | select(.test.suite, span.test.name, span.test.result)",
                    q(TEST)
                )),
            ),
        ],
    )
}

fn dt_duration_trends() -> DashboardSpec {
    let cat = format!(r#"{DT_TASK} && name =~ "$category:.*""#);
    let quantile = |p: &str, label: &str| {
        Panel::timeseries(
            &format!("{label} task duration by task"),
            vec![Target::metrics(format!(
                "{} | quantile_over_time(duration, {p}) by (name)",
                q(&cat)
            ))],
        )
        .unit("s")
        .size(8, 9)
    };
    DashboardSpec::new(
        &uid("dt-duration-trends"),
        "otelctl / dt duration trends",
        "p50/p95/p99 of task durations over time, by category (the part of a task name before ':').",
    )
    .variable(
        "category",
        "Category (regex)",
        ".+",
        "Task category: the part of the task name before ':' (ts, pnpm, check, ...); a regex",
    )
    .row(
        "Tasks of the category",
        vec![quantile(".5", "p50"), quantile(".95", "p95"), quantile(".99", "p99")],
    )
    .row(
        "Whole dt runs",
        vec![Panel::timeseries(
            "dt run duration p50 / p95 / p99 by command",
            vec![Target::metrics(format!(
                "{} | quantile_over_time(duration, .5, .95, .99) by (span.dt.args)",
                q(DT)
            ))],
        )
        .unit("s")
        .size(24, 9)],
    )
}

fn test_results() -> DashboardSpec {
    let test = r#"name =~ "$test""#;
    // A result in either vocabulary: the seed's test.result, or the semantic conventions'
    // test.case.result.status (otelctl test-span writes both).
    let is = |r: &str| {
        let semconv = if r == "passed" { "pass" } else { "fail" };
        format!(r#"(.test.result = "{r}" || .test.case.result.status = "{semconv}")"#)
    };
    let result = |r: &str| q(&format!("{test} && {}", is(r)));
    DashboardSpec::new(
        &uid("tests"),
        "otelctl / Tests",
        "Test results over time from test spans (otelctl test-span, NixOS tests): pass rate by suite, duration percentiles by test, the slowest tests and the flaky ones.",
    )
    .variable(
        "test",
        "Test span (regex)",
        "test[.].+",
        "Regular expression on the span name test.<suite>.<name>, e.g. test[.]web[.].+ for the suite web",
    )
    .row(
        "Results",
        vec![
            Panel::timeseries(
                "Pass rate by suite",
                vec![
                    Target::metrics(format!(
                        "{} | count_over_time() by (.test.suite)",
                        result("passed")
                    ))
                    .named("P")
                    .hidden(),
                    Target::metrics(format!(
                        "{} | count_over_time() by (.test.suite)",
                        q(&format!("{test} && ({} || {})", is("passed"), is("failed")))
                    ))
                    .named("T")
                    .hidden(),
                    Target::math("$P / $T").named("PassRate"),
                ],
            )
            .unit("percentunit")
            .size(16, 9)
            .describe("Passed runs / (passed + failed) runs per step, by test.suite (skipped runs left out). A step in which a suite never passed has no point: see Runs by result."),
            Panel::bars(
                "Runs by result",
                Target::metrics(format!("{} | count_over_time() by (.test.result)", q(test))),
            )
            .size(8, 9),
        ],
    )
    .row(
        "Duration",
        vec![
            Panel::timeseries(
                "Test duration p50 / p95 / p99 by test",
                vec![Target::metrics(format!(
                    "{} | quantile_over_time(duration, .5, .95, .99) by (name)",
                    q(test)
                ))],
            )
            .unit("s")
            .size(16, 9),
            Panel::ranking(
                "Slowest tests (longest run in the range)",
                Target::metrics(format!("{} | max_over_time(duration) by (name)", q(test))),
                "max",
                10,
            )
            .unit("s")
            .size(8, 9),
        ],
    )
    .row(
        "Flaky and failed",
        vec![
            Panel::bars_of(
                "Flaky tests: share of failed runs",
                vec![
                    Target::metrics(format!(
                        "{} | count_over_time() by (name)",
                        result("passed")
                    ))
                    .named("P")
                    .hidden(),
                    Target::metrics(format!(
                        "{} | count_over_time() by (name)",
                        result("failed")
                    ))
                    .named("F")
                    .hidden(),
                    Target::reduce("P", "sum").named("Passed").hidden(),
                    Target::reduce("F", "sum").named("Failed").hidden(),
                    Target::math("$Failed / ($Passed + $Failed)").named("Flaky"),
                ],
            )
            .unit("percentunit")
            .describe("Tests that both passed and failed in the time range (an expression over the two counts keeps only the tests present in both), with the share of their runs that failed."),
            Panel::table(
                "Recent failed tests",
                Target::spans(format!(
                    "{} | select(.test.suite, .test.name, .test.result)",
                    result("failed")
                )),
            ),
        ],
    )
}

fn devenv() -> DashboardSpec {
    let act = format!(r#"{DEVENV} && span.devenv.activity.kind =~ "$kind""#);
    DashboardSpec::new(
        &uid("devenv"),
        "otelctl / devenv",
        "devenv's own spans (devenv >= 2.1, service devenv) by activity kind: evaluation, build, fetch, task, process. Counts, duration percentiles and failures.",
    )
    .variable(
        "kind",
        "Activity kind (regex)",
        ".+",
        "Regular expression on devenv.activity.kind: evaluation, build, fetch, task, process, ...",
    )
    .row(
        "Activities",
        vec![
            Panel::timeseries(
                "Activities by kind",
                vec![Target::metrics(format!(
                    "{} | count_over_time() by (span.devenv.activity.kind)",
                    q(&act)
                ))],
            )
            .size(16, 8),
            Panel::bars(
                "Activities by kind (total)",
                Target::metrics(format!(
                    "{} | count_over_time() by (span.devenv.activity.kind)",
                    q(&act)
                )),
            )
            .size(8, 8),
        ],
    )
    .row(
        "Duration",
        vec![
            Panel::timeseries(
                "Duration p50 / p95 / p99 by kind",
                vec![Target::metrics(format!(
                    "{} | quantile_over_time(duration, .5, .95, .99) by (span.devenv.activity.kind)",
                    q(&act)
                ))],
            )
            .unit("s")
            .size(16, 9),
            Panel::ranking(
                "Slowest activities (longest in the range)",
                Target::metrics(format!(
                    "{} | max_over_time(duration) by (span.devenv.activity.kind, name)",
                    q(&act)
                )),
                "max",
                10,
            )
            .unit("s")
            .size(8, 9),
        ],
    )
    .row(
        "Failures",
        vec![
            Panel::timeseries(
                "Failures by kind",
                vec![Target::metrics(format!(
                    "{} | count_over_time() by (span.devenv.activity.kind)",
                    q(&format!("{act} && status = error"))
                ))],
            )
            .describe("Activities devenv ended with an error status (devenv.outcome failed)."),
            Panel::table(
                "Failed activities",
                Target::spans(format!(
                    "{} | select(span.devenv.activity.kind, span.devenv.outcome, span.devenv.derivation_path, span.devenv.url)",
                    q(&format!("{act} && status = error"))
                )),
            ),
            Panel::table(
                "Recent devenv runs",
                Target::traces(format!("{} | select(span.devenv.activity.kind)", q(DEVENV))),
            )
            .size(24, 8),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_dashboards_with_short_unique_uids() {
        let all = all();
        assert_eq!(all.len(), NAMES.len());
        for (d, name) in all.iter().zip(NAMES) {
            assert_eq!(d.uid, uid(name));
            assert!(d.uid.len() <= super::super::MAX_UID_LEN);
            assert!(d.all_panels().count() >= 4, "{}", d.uid);
        }
    }
}
