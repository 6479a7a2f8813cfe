//! Finding and becoming `otelctl-full`, the whole program, for every command the lean binary
//! does not run itself.
//!
//! It is installed beside the lean `otelctl` (cargo's target directories, a plain copy of both)
//! or in `../libexec/otelctl/` from it (the Nix package, so that only `otelctl` is on `PATH`).
//! The lean binary `execve`s it with the same arguments, `argv[0]` and environment: the process
//! id stays (supervisors and signals see one process), and clap names the program after
//! `argv[0]`, so help and usage errors read exactly as before the split.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use otelctl_config::Error;

/// The whole program's file name.
pub const FULL: &str = "otelctl-full";

/// Where `otelctl-full` may be, relative to the directory of the running executable, in the
/// order tried.
pub fn candidates(dir: &Path) -> [PathBuf; 2] {
    [dir.join(FULL), dir.join("../libexec/otelctl").join(FULL)]
}

/// Replaces this process with `otelctl-full` and the same command line; returns only when no
/// candidate could be executed (after printing why).
pub fn exec(args: &[OsString]) -> ExitCode {
    let err = match std::env::current_exe() {
        Ok(exe) => {
            let dir = exe.parent().unwrap_or(Path::new("/"));
            let mut last = None;
            for path in candidates(dir) {
                let mut cmd = std::process::Command::new(&path);
                cmd.args(args.iter().skip(1));
                if let Some(arg0) = args.first() {
                    cmd.arg0(arg0);
                }
                let e = cmd.exec();
                if e.kind() != std::io::ErrorKind::NotFound {
                    last = Some(Error::failed(format!("cannot run {}", path.display()), e));
                    break;
                }
            }
            last.unwrap_or_else(|| Error::NotFound {
                what: format!("the full otelctl program ({FULL})"),
                why: format!(
                    "this otelctl runs span, env, test-span and traceparent itself and hands every other command to {FULL}, which is neither in {} nor in {}",
                    dir.display(),
                    dir.join("../libexec/otelctl").display()
                ),
                fix: format!(
                    "install both executables (the Nix package does; from a checkout, copy target/release/otelctl and target/release/{FULL} into one directory)"
                ),
            })
        }
        Err(e) => Error::failed("cannot find the otelctl program itself", e),
    };
    crate::output::error(&err);
    ExitCode::from(err.exit_code())
}
