//! Test support for spans: a recording OTLP/HTTP server on loopback, isolated environments, temp dirs.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use otelctl_otlp::{ExportTraceServiceRequest, KeyValue, Span, Value};

use super::TempDir;

/// How long a test waits for something that should already have happened (a hang guard,
/// not a timing assertion).
pub const HANG_GUARD: Duration = Duration::from_secs(20);

/// What the server answers.
#[derive(Clone, Debug)]
pub enum Answer {
    /// 200 with an empty JSON/protobuf body.
    Ok,
    /// A status with headers and body.
    Status(u16, Vec<(String, String)>, Vec<u8>),
    /// Read the request, record it, never answer (the connection stays open).
    Never,
    /// A server that answers late: record the request, answer this status once the test opens
    /// the gate (so "late" is an event the test decides, not a race against a timer).
    WhenOpened(Gate, u16),
    /// A careless server: this status, with every request header echoed in the error body
    /// (`{"message": "<request line and headers>"}`), as some proxies and debug endpoints do.
    Echo(u16),
    /// [`Answer::Echo`] with the request head upper-cased (names and values).
    EchoUpper(u16),
    /// [`Answer::Echo`] with the request head lower-cased (names and values).
    EchoLower(u16),
}

/// Held closed until [`Gate::open`]; every clone is the same gate.
#[derive(Clone, Debug, Default)]
pub struct Gate(Arc<(Mutex<bool>, std::sync::Condvar)>);

impl Gate {
    pub fn open(&self) {
        *self.0 .0.lock().unwrap() = true;
        self.0 .1.notify_all();
    }
    fn wait(&self) {
        let mut open = self.0 .0.lock().unwrap();
        while !*open {
            open = self.0 .1.wait(open).unwrap();
        }
    }
}

/// One recorded request.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
    /// Decodes the body by its content type.
    pub fn request(&self) -> ExportTraceServiceRequest {
        match self.header("content-type") {
            Some("application/json") => ExportTraceServiceRequest::from_json(&self.body).unwrap(),
            Some("application/x-protobuf") => {
                ExportTraceServiceRequest::from_protobuf(&self.body).unwrap()
            }
            other => panic!("unexpected content type {other:?}"),
        }
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
    pub fn span(&self) -> (Vec<KeyValue>, Span) {
        let req = self.request();
        let (res, span) = req.spans().next().expect("one span");
        (res.to_vec(), span.clone())
    }
}

/// A recording OTLP/HTTP server on 127.0.0.1 (an ephemeral port). Answers are taken from a
/// script in order; the last one repeats.
pub struct Collector {
    pub port: u16,
    rx: Receiver<Received>,
    held: Arc<Mutex<Vec<TcpStream>>>,
}

impl Collector {
    pub fn start(script: Vec<Answer>) -> Self {
        Self::start_on(TcpListener::bind("127.0.0.1:0").unwrap(), script)
    }

    /// The same server on a listener the test chose (e.g. the system port 127.0.0.1:4318).
    pub fn start_on(listener: TcpListener, script: Vec<Answer>) -> Self {
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = channel();
        let held = Arc::new(Mutex::new(Vec::new()));
        let held2 = held.clone();
        thread::spawn(move || {
            let mut n = 0usize;
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let answer = script[n.min(script.len() - 1)].clone();
                n += 1;
                let tx: Sender<Received> = tx.clone();
                let held = held2.clone();
                thread::spawn(move || serve(stream, answer, tx, held));
            }
        });
        Collector { port, rx, held }
    }

    pub fn up() -> Self {
        Self::start(vec![Answer::Ok])
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The next request (fails the test if none arrives within the hang guard).
    pub fn next(&self) -> Received {
        self.rx.recv_timeout(HANG_GUARD).expect("a request")
    }

    /// Everything received so far, without waiting.
    pub fn drain(&self) -> Vec<Received> {
        self.rx.try_iter().collect()
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.held.lock().unwrap().clear();
    }
}

fn serve(
    mut stream: TcpStream,
    answer: Answer,
    tx: Sender<Received>,
    held: Arc<Mutex<Vec<TcpStream>>>,
) {
    let _ = stream.set_read_timeout(Some(HANG_GUARD));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let method = first.next().unwrap_or("").to_string();
    let path = first.next().unwrap_or("").to_string();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let body = buf[head_end..head_end + len].to_vec();
    let content_type = headers.get("content-type").cloned().unwrap_or_default();
    // Record before answering: once the client has its answer, the record exists.
    let _ = tx.send(Received {
        method,
        path,
        headers,
        body,
    });
    let (status, extra, body) = match answer {
        Answer::Never => {
            held.lock().unwrap().push(stream);
            return;
        }
        Answer::Ok => (200, vec![], Vec::new()),
        Answer::Status(s, h, b) => (s, h, b),
        Answer::Echo(status) => (
            status,
            vec![],
            serde_json::to_vec(&serde_json::json!({ "message": head })).unwrap(),
        ),
        Answer::EchoUpper(status) => (
            status,
            vec![],
            serde_json::to_vec(&serde_json::json!({ "message": head.to_uppercase() })).unwrap(),
        ),
        Answer::EchoLower(status) => (
            status,
            vec![],
            serde_json::to_vec(&serde_json::json!({ "message": head.to_lowercase() })).unwrap(),
        ),
        Answer::WhenOpened(gate, status) => {
            gate.wait();
            (status, vec![], Vec::new())
        }
    };
    let mut out = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nContent-Type: {content_type}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in extra {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&body);
    let _ = stream.write_all(&bytes);
}

/// A port where nothing listens (bound, then released).
pub fn refused_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// An isolated environment for otelctl: HOME, spool and carrier dirs in a temp dir; no
/// inherited OTEL_*, OTELCTL_*, TRACEPARENT or DEVENV_ROOT.
pub struct Env {
    pub dir: TempDir,
    pub vars: Vec<(String, std::ffi::OsString)>,
}

impl Env {
    pub fn new() -> Self {
        let dir = TempDir::new("env");
        for d in ["home", "spool", "carriers", "root"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        let p = |d: &str| dir.path().join(d).into_os_string();
        let vars = vec![
            ("PATH".into(), std::env::var_os("PATH").unwrap_or_default()),
            ("HOME".into(), p("home")),
            ("OTEL_SPOOL_DIR".into(), p("spool")),
            ("OTELCTL_CARRIER_DIR".into(), p("carriers")),
            ("OTELCTL_MODE".into(), "local".into()),
            ("DEVENV_ROOT".into(), p("root")),
        ];
        Env { dir, vars }
    }

    /// Points the exporter at a base URL.
    pub fn endpoint(mut self, base: &str) -> Self {
        self.set("OTEL_EXPORTER_OTLP_ENDPOINT", base);
        self
    }

    pub fn with(mut self, k: &str, v: impl AsRef<OsStr>) -> Self {
        self.set(k, v);
        self
    }

    pub fn set(&mut self, k: &str, v: impl AsRef<OsStr>) {
        self.vars.retain(|(n, _)| n != k);
        self.vars.push((k.to_string(), v.as_ref().to_os_string()));
    }

    pub fn spool(&self) -> PathBuf {
        self.dir.path().join("spool")
    }
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// `otelctl ARGS` with exactly this environment, in the root directory.
    pub fn cmd<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd_with(env!("CARGO_BIN_EXE_otelctl"), args)
    }

    /// [`Env::cmd`] with another build of otelctl.
    pub fn cmd_with<I, S>(&self, bin: impl AsRef<OsStr>, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = Command::new(bin);
        c.env_clear();
        for (k, v) in &self.vars {
            c.env(k, v);
        }
        c.current_dir(self.root());
        c.args(args);
        c
    }

    /// Runs `otelctl ARGS` with stdin from `input`, capturing stdout and stderr.
    pub fn run_with_input<I, S>(&self, args: I, input: &[u8]) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let input = input.to_vec();
        let writer = thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        out
    }

    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.run_with_input(args, b"")
    }

    /// Requests spooled as unconfirmed (sent, answer late), oldest first.
    pub fn unconfirmed(&self) -> Vec<ExportTraceServiceRequest> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.spool())
            .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        names.retain(|p| p.extension().is_some_and(|e| e == "unconfirmed"));
        names.sort();
        names
            .iter()
            .filter_map(|p| std::fs::read(p).ok())
            .map(|b| ExportTraceServiceRequest::from_json(&b).unwrap())
            .collect()
    }

    /// The spooled requests (`*.json`), oldest first.
    pub fn spooled(&self) -> Vec<ExportTraceServiceRequest> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.spool())
            .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        names.retain(|p| p.extension().is_some_and(|e| e == "json"));
        names.sort();
        names
            .iter()
            .map(|p| {
                let bytes = std::fs::read(p).unwrap();
                assert!(bytes.ends_with(b"\n"), "one line per file");
                assert_eq!(bytes.iter().filter(|b| **b == b'\n').count(), 1);
                ExportTraceServiceRequest::from_json(&bytes).unwrap()
            })
            .collect()
    }
}

/// An attribute's value.
pub fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    otelctl_otlp::attribute(attrs, key)
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
