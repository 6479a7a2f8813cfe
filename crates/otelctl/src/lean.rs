//! `otelctl`, the executable users run: the lean binary of crates/otelctl-lean, which runs
//! `span`, `span begin`/`span end`, `test-span`, `env` and `traceparent` itself and hands every
//! other command to `otelctl-full` (src/main.rs). It uses no other crate of this package's
//! dependencies, so none of them is linked into it.

fn main() -> std::process::ExitCode {
    otelctl_lean::main()
}
