//! `otelctl traceparent`: the current `$TRACEPARENT` (normalised to version 00), or a new one.

use otelctl_core::exit;
use otelctl_core::traceparent::TraceParent;
use otelctl_core::Result;

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
