//! Child processes for `otelctl up`: started in their own process group (so a terminal's
//! Ctrl-C reaches only `up`, which then stops them in order), killed by the kernel if `up`
//! dies (`PR_SET_PDEATHSIG`), their output prefixed line by line, the last lines kept to say
//! why one died.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use otelctl_config::error::{Error, Result};

/// How many lines of a child's output are kept for the report when it dies.
pub const TAIL_LINES: usize = 15;

/// A running child with prefixed output.
pub struct Supervised {
    pub name: &'static str,
    child: Child,
    tail: Arc<Mutex<VecDeque<String>>>,
    readers: Vec<JoinHandle<()>>,
}

/// Where prefixed output goes (shared by every child, one line at a time).
pub type Sink = Arc<Mutex<dyn Write + Send>>;

impl Supervised {
    /// Starts `cmd` as `name`, its stdout and stderr copied to `sink` as `[name] line`.
    pub fn spawn(name: &'static str, mut cmd: Command, sink: Sink) -> Result<Self> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| Error::failed(format!("cannot start {name}"), e))?;
        let tail = Arc::new(Mutex::new(VecDeque::with_capacity(TAIL_LINES)));
        let mut readers = Vec::new();
        let out: Box<dyn Read + Send> = Box::new(child.stdout.take().expect("piped"));
        let err: Box<dyn Read + Send> = Box::new(child.stderr.take().expect("piped"));
        for pipe in [out, err] {
            let tail = Arc::clone(&tail);
            let sink = Arc::clone(&sink);
            readers.push(std::thread::spawn(move || {
                let mut reader = BufReader::new(pipe);
                let mut buf = Vec::new();
                loop {
                    buf.clear();
                    match reader.read_until(b'\n', &mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    }
                    let line = String::from_utf8_lossy(&buf);
                    let line = line.trim_end_matches(['\n', '\r']);
                    if let Ok(mut s) = sink.lock() {
                        let _ = writeln!(s, "[{name}] {line}");
                        let _ = s.flush();
                    }
                    let mut t = tail.lock().unwrap_or_else(|p| p.into_inner());
                    if t.len() == TAIL_LINES {
                        t.pop_front();
                    }
                    t.push_back(line.to_string());
                }
            }));
        }
        Ok(Supervised {
            name,
            child,
            tail,
            readers,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status, once the child has ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The last lines the child printed (after its output is drained).
    pub fn last_lines(&mut self) -> Vec<String> {
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        self.tail
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// SIGTERM to the child's process group, then SIGKILL after `grace`. Returns the status.
    pub fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        if let Some(s) = self.exited() {
            return Some(s);
        }
        let pgid = self.child.id() as libc::pid_t;
        unsafe { libc::kill(-pgid, libc::SIGTERM) };
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Some(s) = self.exited() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        self.child.wait().ok()
    }
}

/// Describes an exit status for people: `exit code 1`, `killed by signal 9`.
pub fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit code {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => status.to_string(),
    }
}

static STOP_SIGNAL: AtomicI32 = AtomicI32::new(0);
static HANDLERS: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(sig: libc::c_int) {
    STOP_SIGNAL.store(sig, Ordering::SeqCst);
}

/// Installs handlers so SIGINT, SIGTERM and SIGHUP only set a flag (see [`stop_requested`]).
pub fn catch_stop_signals() {
    if HANDLERS.swap(true, Ordering::SeqCst) {
        return;
    }
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic.
        unsafe {
            libc::signal(sig, on_signal as *const () as libc::sighandler_t);
        }
    }
}

/// The signal that asked us to stop, if one came.
pub fn stop_requested() -> Option<i32> {
    match STOP_SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}
