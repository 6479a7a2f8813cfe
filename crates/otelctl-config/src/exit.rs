//! The exit codes of `otelctl`, one place for every command.
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | success |
//! | 1 | runtime failure: I/O, network, a program that failed, a stack that is not healthy |
//! | 2 | usage error or bad input: an unknown flag, a value out of range, an unreadable root |
//! | 3 | not ready: `otelctl wait` timed out, `otelctl status` found something unhealthy |
//!
//! `otelctl span` is the exception: it exits with the wrapped command's status (its code,
//! 128+N when killed by signal N, 127 when the command is not found, 126 when it cannot be
//! executed), so telemetry never changes what a caller sees.

/// Everything went as asked.
pub const SUCCESS: u8 = 0;
/// Something failed at run time (I/O, network, a child program).
pub const FAILURE: u8 = 1;
/// The command line or the input was wrong; nothing was done.
pub const USAGE: u8 = 2;
/// A service did not become ready, or is not healthy.
pub const NOT_READY: u8 = 3;
/// The wrapped command could not be found (shell convention).
pub const COMMAND_NOT_FOUND: u8 = 127;
/// The wrapped command was found but could not be executed (shell convention).
pub const COMMAND_NOT_EXECUTABLE: u8 = 126;
