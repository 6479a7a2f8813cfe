//! Runs the wrapped command: inherited stdio and environment (plus the trace context),
//! SIGINT/SIGTERM/SIGHUP forwarded, and the shell's exit-status conventions.
//!
//! Forwarding: a signal sent to otelctl (by `kill`, a supervisor, a test harness) is passed to
//! the child. A signal the terminal sends to the foreground process group (Ctrl-C) already
//! reaches the child, which shares our group, so it is not sent twice (`si_code == SI_KERNEL`).
//! A signal that arrives before the child exists is delivered right after it starts. Once the
//! child has ended, these signals are ignored until otelctl exits, so the span is still
//! recorded (export is bounded by its deadline).

use std::ffi::{OsStr, OsString};
use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::sync::atomic::{AtomicI32, Ordering};

use otelctl_config::exit;

/// Signals forwarded to the child.
pub const FORWARDED: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// 0: no child yet; >0: the child's pid; -1: the child has ended.
static CHILD: AtomicI32 = AtomicI32::new(0);
/// A signal that arrived before the child existed.
static PENDING: AtomicI32 = AtomicI32::new(0);

/// How the child ended.
#[derive(Debug)]
pub enum ChildEnd {
    Exited(i32),
    Signaled(i32),
    /// The program could not be started: 127 (not found) or 126 (not executable).
    NotStarted {
        code: u8,
        err: std::io::Error,
    },
}

impl ChildEnd {
    /// The exit status otelctl passes on.
    pub fn exit_code(&self) -> u8 {
        match self {
            ChildEnd::Exited(c) => (*c & 0xff) as u8,
            ChildEnd::Signaled(s) => (128 + *s).clamp(0, 255) as u8,
            ChildEnd::NotStarted { code, .. } => *code,
        }
    }

    /// A one-line description for the span status, e.g. "exited with code 3".
    pub fn describe(&self) -> String {
        match self {
            ChildEnd::Exited(c) => format!("exited with code {c}"),
            ChildEnd::Signaled(s) => format!("killed by signal {s} ({})", signal_name(*s)),
            ChildEnd::NotStarted { code: 127, .. } => "command not found".to_string(),
            ChildEnd::NotStarted { err, .. } => format!("cannot execute: {err}"),
        }
    }

    /// The `error.type` of a failed run.
    pub fn error_type(&self) -> Option<String> {
        match self {
            ChildEnd::Exited(0) => None,
            ChildEnd::Exited(c) => Some(format!("exit_{c}")),
            ChildEnd::Signaled(s) => Some(signal_name(*s).to_string()),
            ChildEnd::NotStarted { code: 127, .. } => Some("command_not_found".to_string()),
            ChildEnd::NotStarted { .. } => Some("command_not_executable".to_string()),
        }
    }
}

/// The result of running the child.
#[derive(Debug)]
pub struct Run {
    pub end: ChildEnd,
    pub pid: Option<u32>,
}

/// Environment changes for the child.
#[derive(Debug, Default)]
pub struct ChildEnv {
    pub set: Vec<(&'static str, OsString)>,
    pub remove: Vec<&'static str>,
}

/// Runs `program args...` to completion with forwarding installed.
pub fn run(program: &OsStr, args: &[OsString], env: &ChildEnv) -> Run {
    install_handlers();
    let mut cmd = Command::new(program);
    cmd.args(args);
    for k in &env.remove {
        cmd.env_remove(k);
    }
    for (k, v) in &env.set {
        cmd.env(k, v);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(err) => {
            CHILD.store(-1, Ordering::SeqCst);
            let code = if err.kind() == std::io::ErrorKind::NotFound {
                exit::COMMAND_NOT_FOUND
            } else {
                exit::COMMAND_NOT_EXECUTABLE
            };
            return Run {
                end: ChildEnd::NotStarted { code, err },
                pid: None,
            };
        }
    };
    let pid = child.id();
    CHILD.store(pid as i32, Ordering::SeqCst);
    let early = PENDING.swap(0, Ordering::SeqCst);
    if early != 0 {
        // SAFETY: kill(2) on our own child's pid, which is not yet reaped.
        unsafe { libc::kill(pid as libc::pid_t, early) };
    }
    let status = loop {
        match child.wait() {
            Ok(s) => break s,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                CHILD.store(-1, Ordering::SeqCst);
                return Run {
                    end: ChildEnd::NotStarted {
                        code: exit::COMMAND_NOT_EXECUTABLE,
                        err: e,
                    },
                    pid: Some(pid),
                };
            }
        }
    };
    CHILD.store(-1, Ordering::SeqCst);
    let end = match (status.code(), status.signal()) {
        (Some(c), _) => ChildEnd::Exited(c),
        (None, Some(s)) => ChildEnd::Signaled(s),
        (None, None) => ChildEnd::Exited(255),
    };
    Run {
        end,
        pid: Some(pid),
    }
}

extern "C" fn on_signal(sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // Only async-signal-safe work here: atomics and kill(2).
    // SAFETY: the kernel passes a valid siginfo_t with SA_SIGINFO.
    let code = if info.is_null() {
        0
    } else {
        unsafe { (*info).si_code }
    };
    if code == libc::SI_KERNEL {
        return; // sent by the terminal to the whole process group: the child has it too
    }
    let pid = CHILD.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill(2) is async-signal-safe.
        unsafe { libc::kill(pid, sig) };
    } else if pid == 0 {
        PENDING.store(sig, Ordering::SeqCst);
    }
}

fn install_handlers() {
    for sig in FORWARDED {
        // SAFETY: a zeroed sigaction with our handler, SA_SIGINFO | SA_RESTART, empty mask.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// The conventional name of a signal number.
pub fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGUSR2 => "SIGUSR2",
        _ => "signal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_shell() {
        assert_eq!(ChildEnd::Exited(3).exit_code(), 3);
        assert_eq!(ChildEnd::Signaled(15).exit_code(), 143);
        let nf = ChildEnd::NotStarted {
            code: 127,
            err: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert_eq!(nf.exit_code(), 127);
        assert_eq!(nf.error_type().as_deref(), Some("command_not_found"));
        assert_eq!(ChildEnd::Exited(0).error_type(), None);
    }
}
