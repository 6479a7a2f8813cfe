//! Writing to stdout and stderr without panicking on a closed pipe; errors rendered once.

use std::io::Write;

use otelctl_config::Error;

/// Writes bytes to stdout; a closed pipe (e.g. `| head`) is not an error worth reporting.
pub fn stdout(bytes: &[u8]) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::io("cannot write to", "standard output", e)),
    }
}

/// Writes text to stderr, ignoring failures (there is nowhere else to report them).
pub fn stderr(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Renders an error: one line, prefixed with the program name.
pub fn error(err: &Error) {
    stderr(&format!("otelctl: {err}\n"));
}

/// Serialises a value as pretty JSON with a trailing newline.
pub fn json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("our output types serialise");
    bytes.push(b'\n');
    bytes
}
