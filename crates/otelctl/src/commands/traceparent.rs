//! `otelctl traceparent`: the current `$TRACEPARENT` (normalised to version 00), or a new one.

use otelctl_config::exit;
use otelctl_config::Result;
use otelctl_span::traceparent::TraceParent;

use crate::cli::TraceparentArgs;
use crate::commands::telemetry;
use crate::output;

pub fn run(args: &TraceparentArgs) -> Result<u8> {
    let tp = if args.new {
        TraceParent::new_root()
    } else {
        telemetry::load_env()
            .parent
            .unwrap_or_else(TraceParent::new_root)
    };
    output::stdout(format!("{tp}\n").as_bytes())?;
    Ok(exit::SUCCESS)
}
