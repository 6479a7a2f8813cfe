//! The lean `otelctl`: the executable users run, and the one that starts for every wrapped task
//! and every shell entry.
//!
//! `span`, `span begin`/`span end`, `test-span`, `env` and `traceparent` run here, in a binary
//! that links only the hot-path crates (`otelctl-config`, `otelctl-otlp`, `otelctl-http`,
//! `otelctl-span`) and clap: no async runtime, HTTP server, TLS stack, store or viewer, so a
//! start maps and relocates only what these commands run (benchmarks/span.md). Everything
//! else (every other command, help, version, usage errors, and a span for an `https://`
//! endpoint, which needs TLS) is handed with `execve` to `otelctl-full`, the whole program,
//! installed beside this one ([`full`]); it keeps the process id and `argv[0]`, so messages,
//! exit codes and signals are the whole program's own.
//!
//! The command code is not copied: the command line (`cli.rs`), the output helpers and the hot
//! commands' modules are the files of `crates/otelctl/src`, compiled here too.

use std::ffi::OsString;
use std::process::ExitCode;

// The whole command line is declared (clap only); the lean binary runs the hot commands'.
#[allow(dead_code)]
#[path = "../../otelctl/src/cli.rs"]
mod cli;
#[allow(dead_code)]
#[path = "../../otelctl/src/output.rs"]
mod output;

// The hot commands, as `crates/otelctl/src/commands/` has them; they name each other as
// `crate::commands::…`.
#[allow(dead_code)]
#[path = "../../otelctl/src/commands/env.rs"]
mod env;
#[allow(dead_code)]
#[path = "../../otelctl/src/commands/span.rs"]
mod span;
#[allow(dead_code)]
#[path = "../../otelctl/src/commands/telemetry.rs"]
mod telemetry;
#[allow(dead_code)]
#[path = "../../otelctl/src/commands/test_span.rs"]
mod test_span;
#[allow(dead_code)]
#[path = "../../otelctl/src/commands/traceparent.rs"]
mod traceparent;
mod commands {
    pub(crate) use super::{env, span, telemetry, test_span, traceparent};
}

pub mod full;

use cli::{Cli, Command, SpanAction};
use otelctl_config::settings::Settings;
use otelctl_span::otelenv::OtelEnv;

/// Runs the process's command line: a hot command here, anything else as `otelctl-full`.
pub fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let Some(cli) = cli::parse_hot(&args).filter(|cli| !needs_tls(cli)) else {
        return full::exec(&args);
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            output::error(&err);
            ExitCode::from(err.exit_code())
        }
    }
}

fn run(cli: Cli) -> otelctl_config::Result<u8> {
    match &cli.command {
        Command::Span(args) => commands::span::run(&cli.globals, args),
        Command::TestSpan(args) => commands::test_span::run(&cli.globals, args),
        Command::Env(args) => commands::env::run(&Settings::load(cli.globals.raw())?, args),
        Command::Traceparent(args) => commands::traceparent::run(args),
        _ => unreachable!("parse_hot returns only the hot commands"),
    }
}

/// Whether the command exports to an `https://` endpoint: the TLS transport lives in
/// `otelctl-full` (`otelctl-net`), so such a span is run there, whole, from the start.
fn needs_tls(cli: &Cli) -> bool {
    let exports = match &cli.command {
        Command::Span(args) => !matches!(args.action, Some(SpanAction::Begin(_))),
        Command::TestSpan(_) => true,
        _ => false,
    };
    exports
        && OtelEnv::load()
            .exporter
            .endpoint
            .is_some_and(|url| url.starts_with("https://"))
}
