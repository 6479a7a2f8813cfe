//! Runs the wrapped command: inherited stdio and environment (plus the trace context), every
//! forwardable signal passed on like a good init, the child bound to our death, and the shell's
//! exit-status conventions.
//!
//! Forwarding ([`FORWARDED`]): a signal sent to otelctl (by `kill`, a supervisor, `timeout`, a
//! test harness) is passed to the child, once, whoever it was sent to:
//! - In a terminal's foreground job (otelctl's group is the terminal's foreground group), the
//!   child stays in otelctl's group, so Ctrl-C, Ctrl-Z and reads from the terminal work as
//!   without otelctl. A signal the terminal sends to the foreground group (Ctrl-C, Ctrl-\\, a
//!   window resize) already reaches the child, so it is not sent twice (`si_code == SI_KERNEL`).
//! - Everywhere else (no terminal, a background job, under `timeout`, a supervisor, CI) the child
//!   gets a process group of its own, so a signal sent to otelctl's group (`kill -- -PGID`,
//!   `timeout`, a process manager) reaches only otelctl, which passes it to the child's group
//!   (the command and whatever it started, as the group send would have): once, not twice.
//!   `timeout` signals its command and then its own group, so otelctl gets the same signal
//!   twice from one sender: a repeat of the signal just passed on, from the same sender within
//!   [`REPEAT_WINDOW`], is taken as that second half and not passed on again.
//!
//! A signal that arrives before the child
//! exists is delivered right after it starts. Once the child has ended, these signals are
//! ignored until otelctl exits, so the span is still recorded (export is bounded by its
//! deadline). Job control as dumb-init does it: a `SIGTSTP` sent to otelctl is passed on and
//! then otelctl stops itself, so the shell sees the job stopped; `SIGCONT` is passed on.
//! Synchronous faults (SEGV, BUS, FPE, ILL, ABRT, TRAP, SYS) are ours, never forwarded.
//!
//! Death binding: the child is spawned with `PR_SET_PDEATHSIG = SIGKILL`, set between clone
//! and exec, then checks that otelctl is still its parent (otherwise otelctl died in between
//! and the child kills itself before exec). So when otelctl dies of a signal it cannot catch
//! (`SIGKILL` from `timeout -s KILL`, a container stop, the OOM killer), the command dies with
//! it, as if the signal had been sent to the command itself. Limits (the kernel's): the death
//! signal is cleared when the child execs a set-user-ID, set-group-ID or capability-carrying
//! program (`sudo`), and it applies to the command itself, not to processes the command
//! starts (those fare as they would had the command itself been killed).

use std::ffi::{OsStr, OsString};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};

use otelctl_config::exit;

/// Signals forwarded to the child: every one a process can be sent and survive handling,
/// except the synchronous faults, `SIGCHLD`, terminal I/O stops (`SIGTTIN`/`SIGTTOU`, which
/// concern whoever reads the terminal) and `SIGPIPE` (a write error of ours, not the child's).
pub const FORWARDED: [libc::c_int; 12] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGALRM,
    libc::SIGWINCH,
    libc::SIGCONT,
    libc::SIGTSTP,
    libc::SIGVTALRM,
    libc::SIGPROF,
];

/// 0: no child yet; >0: the child's pid; -1: the child has ended.
static CHILD: AtomicI32 = AtomicI32::new(0);
/// A signal that arrived before the child existed.
static PENDING: AtomicI32 = AtomicI32::new(0);
/// The last signal passed on to the child (0: none).
static LAST_FORWARDED: AtomicI32 = AtomicI32::new(0);
/// Per signal number: who sent it when it was last passed on (`si_pid`, 0 when not a `kill`),
/// and when (monotonic nanoseconds).
static SENDER: [AtomicI32; 65] = [const { AtomicI32::new(0) }; 65];
static SENT_AT: [AtomicU64; 65] = [const { AtomicU64::new(0) }; 65];
/// A signal equal to the one just passed on, from the same sender, this soon after, is the same
/// send reaching otelctl twice (`timeout`: its command, then its group). Standard signals do not
/// queue, so no sender can count on two sends this close together arriving as two.
pub const REPEAT_WINDOW: std::time::Duration = std::time::Duration::from_millis(100);
/// Whether the child leads a process group of its own (otelctl is not a terminal's foreground
/// job): then every signal is passed on, to the child's group.
static OWN_GROUP: AtomicBool = AtomicBool::new(false);

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
    /// The last signal otelctl received and passed on to the child, if any.
    pub forwarded: Option<i32>,
}

/// Environment changes for the child.
#[derive(Debug, Default)]
pub struct ChildEnv {
    pub set: Vec<(&'static str, OsString)>,
    pub remove: Vec<&'static str>,
}

/// Runs `program args...` to completion with forwarding installed and the child bound to
/// our death. Call it from the main thread: the kernel sends the death signal when the thread
/// that spawned the child ends.
pub fn run(program: &OsStr, args: &[OsString], env: &ChildEnv) -> Run {
    install_handlers();
    OWN_GROUP.store(!terminal_foreground(), Ordering::SeqCst);
    let pid = match spawn::spawn(program, args, env, OWN_GROUP.load(Ordering::SeqCst)) {
        Ok(pid) => pid,
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
                forwarded: None,
            };
        }
    };
    let early = PENDING.swap(0, Ordering::SeqCst);
    if early != 0 {
        forward(early, pid);
    }
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: waiting for our own child.
        if unsafe { libc::waitpid(pid, &mut status, 0) } == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            CHILD.store(-1, Ordering::SeqCst);
            return Run {
                end: ChildEnd::NotStarted {
                    code: exit::COMMAND_NOT_EXECUTABLE,
                    err: e,
                },
                pid: Some(pid as u32),
                forwarded: last_forwarded(),
            };
        }
    }
    CHILD.store(-1, Ordering::SeqCst);
    let end = if libc::WIFEXITED(status) {
        ChildEnd::Exited(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        ChildEnd::Signaled(libc::WTERMSIG(status))
    } else {
        ChildEnd::Exited(255)
    };
    Run {
        end,
        pid: Some(pid as u32),
        forwarded: last_forwarded(),
    }
}

/// Starting the child the way `posix_spawn` does (`clone(CLONE_VM | CLONE_VFORK)`: no copy of
/// our address space, the parent resumes once the child has exec'd), plus the one thing
/// `posix_spawn` cannot do: `PR_SET_PDEATHSIG` in the child before `execve`. Everything the
/// child needs is prepared here first, so between clone and exec it only makes system calls.
mod spawn {
    use std::ffi::{CString, OsStr, OsString};
    use std::io;
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    use std::path::PathBuf;
    use std::sync::atomic::Ordering;

    use super::{ChildEnv, CHILD, FORWARDED};

    /// What the child reads (and writes `errno` into) through shared memory.
    struct Plan {
        path: CString,
        argv: Vec<*const libc::c_char>,
        envp: Vec<*const libc::c_char>,
        parent: libc::pid_t,
        own_group: bool,
        mask: libc::sigset_t,
        errno: libc::c_int,
    }

    const STACK: usize = 64 * 1024;

    pub fn spawn(
        program: &OsStr,
        args: &[OsString],
        env: &ChildEnv,
        own_group: bool,
    ) -> io::Result<libc::pid_t> {
        let path = resolve(program)?;
        let cstr = |b: Vec<u8>| {
            CString::new(b).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL byte"))
        };
        let path = cstr(path.into_os_string().into_vec())?;
        let args: Vec<CString> = std::iter::once(program.to_os_string())
            .chain(args.iter().cloned())
            .map(|a| cstr(a.into_vec()))
            .collect::<io::Result<_>>()?;
        let mut vars: Vec<CString> = Vec::new();
        for (k, v) in std::env::vars_os() {
            let name = k.as_bytes();
            if env.remove.iter().any(|r| r.as_bytes() == name)
                || env.set.iter().any(|(s, _)| s.as_bytes() == name)
            {
                continue;
            }
            vars.push(cstr([name, b"=", v.as_bytes()].concat())?);
        }
        for (k, v) in &env.set {
            vars.push(cstr([k.as_bytes(), b"=", v.as_bytes()].concat())?);
        }
        let nul = std::ptr::null();
        let mut plan = Plan {
            argv: args.iter().map(|a| a.as_ptr()).chain([nul]).collect(),
            envp: vars.iter().map(|v| v.as_ptr()).chain([nul]).collect(),
            path,
            parent: std::process::id() as libc::pid_t,
            own_group,
            // SAFETY: a zeroed sigset_t is a valid value to be overwritten below.
            mask: unsafe { std::mem::zeroed() },
            errno: 0,
        };
        let mut stack = vec![0u8; STACK];
        // SAFETY: the stack grows down from its (16-byte aligned) top; `plan`, `args`, `vars`
        // and `stack` outlive the child's use of them (CLONE_VFORK: clone returns once the
        // child has exec'd or exited). All signals are blocked around clone so no handler of
        // ours runs on the child's stack; the child restores the mask itself before exec.
        unsafe {
            let top = (stack.as_mut_ptr().add(STACK) as usize & !15) as *mut libc::c_void;
            let mut all: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut all);
            libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut plan.mask);
            let pid = libc::clone(
                child,
                top,
                libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
                (&mut plan as *mut Plan).cast(),
            );
            let clone_err = io::Error::last_os_error();
            if pid > 0 && plan.errno == 0 {
                // Before signals are unblocked, so a pending one finds the child.
                CHILD.store(pid, Ordering::SeqCst);
            }
            libc::pthread_sigmask(libc::SIG_SETMASK, &plan.mask, std::ptr::null_mut());
            if pid < 0 {
                return Err(clone_err);
            }
            if plan.errno != 0 {
                let mut status = 0;
                libc::waitpid(pid, &mut status, 0);
                return Err(io::Error::from_raw_os_error(plan.errno));
            }
            Ok(pid)
        }
    }

    extern "C" fn child(arg: *mut libc::c_void) -> libc::c_int {
        // SAFETY: `arg` is the parent's `Plan`, alive until we exec or exit (CLONE_VFORK); only
        // system calls from here on.
        unsafe {
            let plan = &mut *(arg as *mut Plan);
            // Our handlers are the parent's business: the command starts with the default
            // dispositions (and SIGPIPE's default, which Rust's runtime set to ignore).
            for sig in FORWARDED.iter().copied().chain([libc::SIGPIPE]) {
                libc::signal(sig, libc::SIG_DFL);
            }
            libc::pthread_sigmask(libc::SIG_SETMASK, &plan.mask, std::ptr::null_mut());
            // Before exec, so no signal sent to otelctl's group can reach the command directly.
            if plan.own_group && libc::setpgid(0, 0) != 0 {
                plan.errno = *libc::__errno_location();
                libc::_exit(127);
            }
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                plan.errno = *libc::__errno_location();
                libc::_exit(127);
            }
            // otelctl died before the prctl: the death signal will never come. (Not raise():
            // it signals the thread id cached in the TLS this child shares with the parent.)
            if libc::getppid() != plan.parent {
                libc::syscall(
                    libc::SYS_kill,
                    libc::syscall(libc::SYS_getpid),
                    libc::SIGKILL,
                );
            }
            libc::execve(plan.path.as_ptr(), plan.argv.as_ptr(), plan.envp.as_ptr());
            plan.errno = *libc::__errno_location();
            libc::_exit(127)
        }
    }

    /// The program's path, searched in `$PATH` as `execvp` does when it has no `/`: the first
    /// executable regular file wins; a match that is not executable makes it "permission
    /// denied" (126) rather than "not found" (127).
    fn resolve(program: &OsStr) -> io::Result<PathBuf> {
        if program.as_bytes().contains(&b'/') {
            return Ok(PathBuf::from(program));
        }
        if program.is_empty() {
            return Err(io::ErrorKind::NotFound.into());
        }
        let path = std::env::var_os("PATH").unwrap_or_else(|| "/bin:/usr/bin".into());
        let mut denied = false;
        for dir in std::env::split_paths(&path) {
            let dir = if dir.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                dir
            };
            let candidate = dir.join(program);
            let Ok(meta) = std::fs::metadata(&candidate) else {
                continue;
            };
            if !meta.is_file() {
                continue;
            }
            let Ok(c) = CString::new(candidate.as_os_str().as_bytes()) else {
                continue;
            };
            // SAFETY: access(2) on a valid C string.
            if unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0 {
                return Ok(candidate);
            }
            denied = true;
        }
        Err(if denied {
            io::ErrorKind::PermissionDenied.into()
        } else {
            io::ErrorKind::NotFound.into()
        })
    }
}

fn last_forwarded() -> Option<i32> {
    Some(LAST_FORWARDED.load(Ordering::SeqCst)).filter(|s| *s != 0)
}

extern "C" fn on_signal(sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // Only async-signal-safe work here: atomics and kill(2).
    // SAFETY: the kernel passes a valid siginfo_t with SA_SIGINFO.
    let (code, sender) = if info.is_null() {
        (0, 0)
    } else {
        unsafe { ((*info).si_code, (*info).si_pid()) }
    };
    let pid = CHILD.load(Ordering::SeqCst);
    if code == libc::SI_KERNEL && !OWN_GROUP.load(Ordering::SeqCst) {
        // Sent by the terminal to the whole process group: the child has it too. A stop
        // request still stops us, as the default action would have.
        if sig == libc::SIGTSTP && pid > 0 {
            stop_self();
        }
    } else if pid > 0 {
        let now = monotonic_nanos();
        let slot = (sig as usize).min(64);
        let repeat = code == libc::SI_USER
            && sender == SENDER[slot].load(Ordering::SeqCst)
            && now.saturating_sub(SENT_AT[slot].load(Ordering::SeqCst))
                < REPEAT_WINDOW.as_nanos() as u64;
        if !repeat {
            let from = if code == libc::SI_USER { sender } else { 0 };
            SENDER[slot].store(from, Ordering::SeqCst);
            SENT_AT[slot].store(now, Ordering::SeqCst);
            forward(sig, pid);
        }
    } else if pid == 0 {
        PENDING.store(sig, Ordering::SeqCst);
    }
}

/// Passes `sig` to the child; after a `SIGTSTP`, stops otelctl too (dumb-init's job
/// control), so the shell sees the job stopped; `SIGCONT` resumes us and is passed on.
/// Async-signal-safe.
fn forward(sig: libc::c_int, pid: libc::pid_t) {
    LAST_FORWARDED.store(sig, Ordering::SeqCst);
    // SAFETY: kill(2) is async-signal-safe; `pid` is our child, not yet reaped. Its group
    // (when it has one of its own) is what a signal to otelctl's group would have reached; a
    // child that moved to another group since gets the signal itself.
    unsafe {
        if !OWN_GROUP.load(Ordering::SeqCst) || libc::kill(-pid, sig) != 0 {
            libc::kill(pid, sig);
        }
    }
    if sig == libc::SIGTSTP {
        stop_self();
    }
}

/// `CLOCK_MONOTONIC` in nanoseconds (async-signal-safe).
fn monotonic_nanos() -> u64 {
    // SAFETY: clock_gettime(2) into a local; async-signal-safe.
    unsafe {
        let mut ts: libc::timespec = std::mem::zeroed();
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts);
        (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
    }
}

/// Whether otelctl's process group is the foreground group of its controlling terminal (asked
/// of a standard stream that is a terminal, else of `/dev/tty`): a shell's foreground job.
fn terminal_foreground() -> bool {
    // SAFETY: plain system calls on descriptors we own or just opened.
    unsafe {
        let ours = libc::getpgrp();
        for fd in [0, 2, 1] {
            if libc::isatty(fd) == 1 {
                return libc::tcgetpgrp(fd) == ours;
            }
        }
        let tty = libc::open(
            c"/dev/tty".as_ptr(),
            libc::O_RDONLY | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        if tty < 0 {
            return false;
        }
        let fg = libc::tcgetpgrp(tty) == ours;
        libc::close(tty);
        fg
    }
}

fn stop_self() {
    // SAFETY: kill(2) on our own pid is async-signal-safe.
    unsafe { libc::kill(libc::getpid(), libc::SIGSTOP) };
}

fn install_handlers() {
    for sig in FORWARDED {
        // SAFETY: a zeroed sigaction with our handler, SA_SIGINFO | SA_RESTART; every forwarded
        // signal is blocked while the handler runs, so handlers never nest and signals are
        // passed on in the order they are taken.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            for other in FORWARDED {
                libc::sigaddset(&mut sa.sa_mask, other);
            }
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
        libc::SIGWINCH => "SIGWINCH",
        libc::SIGCONT => "SIGCONT",
        libc::SIGTSTP => "SIGTSTP",
        libc::SIGSTOP => "SIGSTOP",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGSYS => "SIGSYS",
        libc::SIGVTALRM => "SIGVTALRM",
        libc::SIGPROF => "SIGPROF",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
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
