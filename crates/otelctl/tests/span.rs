//! `otelctl span`, `span begin/end`, `test-span`, `traceparent` and `spool` against a real
//! recording OTLP/HTTP server on loopback.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;

use std::os::unix::process::CommandExt;

use common::{attr, refused_port, text, Answer, Collector, Env, Gate};
use otelctl_otlp::{to_hex, Value};

const HEX32: fn(&str) -> bool = |s| {
    s.len() == 32
        && s.bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
};
const HEX16: fn(&str) -> bool = |s| {
    s.len() == 16
        && s.bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
};

fn stderr_lines(out: &std::process::Output) -> Vec<String> {
    text(&out.stderr).lines().map(str::to_string).collect()
}

// ---- wire format ------------------------------------------------------------------------------

#[test]
fn json_export_has_the_exact_otlp_json_shape() {
    let c = Collector::up();
    let env = Env::new()
        .endpoint(&c.base())
        .with("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
        .with("OTEL_SERVICE_NAME", "not-this")
        .with(
            "OTEL_RESOURCE_ATTRIBUTES",
            "service.name=nor-this,team=a%2Cb,deployment.environment=dev",
        );
    let out = env.run([
        "span",
        "build-svc",
        "compile",
        "--attr",
        "target=x86_64",
        "--attr-int",
        "jobs=4",
        "--attr-bool",
        "cached=false",
        "--attr-double",
        "ratio=0.5",
        "--kind",
        "client",
        "--",
        "sh",
        "-c",
        "exit 3",
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    let r = c.next();
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/v1/traces"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let j = r.json();
    let rs = &j["resourceSpans"][0];
    let res: Vec<(String, serde_json::Value)> = rs["resource"]["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|kv| (kv["key"].as_str().unwrap().to_string(), kv["value"].clone()))
        .collect();
    let res_get = |k: &str| res.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(
        res_get("service.name"),
        Some(serde_json::json!({"stringValue": "build-svc"}))
    );
    assert_eq!(
        res_get("devenv.root"),
        Some(serde_json::json!({"stringValue": env.root().to_str().unwrap()}))
    );
    assert_eq!(
        res_get("team"),
        Some(serde_json::json!({"stringValue": "a,b"}))
    );
    assert_eq!(
        res_get("deployment.environment"),
        Some(serde_json::json!({"stringValue": "dev"}))
    );
    assert_eq!(rs["scopeSpans"][0]["scope"]["name"], "otelctl");
    let s = &rs["scopeSpans"][0]["spans"][0];
    assert!(HEX32(s["traceId"].as_str().unwrap()), "{}", s["traceId"]);
    assert!(HEX16(s["spanId"].as_str().unwrap()), "{}", s["spanId"]);
    assert!(s.get("parentSpanId").is_none() || s["parentSpanId"] == "");
    assert_eq!(s["name"], "compile");
    assert_eq!(s["kind"], 3);
    let start: u64 = s["startTimeUnixNano"]
        .as_str()
        .expect("int64 as string")
        .parse()
        .unwrap();
    let end: u64 = s["endTimeUnixNano"]
        .as_str()
        .expect("int64 as string")
        .parse()
        .unwrap();
    assert!(start > 1_600_000_000_000_000_000 && end >= start);
    assert_eq!(s["status"]["code"], 2);
    assert_eq!(s["status"]["message"], "exited with code 3");
    let attrs: Vec<(String, serde_json::Value)> = s["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|kv| (kv["key"].as_str().unwrap().to_string(), kv["value"].clone()))
        .collect();
    let a = |k: &str| {
        attrs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {k}"))
    };
    assert_eq!(a("exit.code"), serde_json::json!({"intValue": "3"}));
    assert_eq!(a("process.exit.code"), serde_json::json!({"intValue": "3"}));
    assert_eq!(a("target"), serde_json::json!({"stringValue": "x86_64"}));
    assert_eq!(a("jobs"), serde_json::json!({"intValue": "4"}));
    assert_eq!(a("cached"), serde_json::json!({"boolValue": false}));
    assert_eq!(a("ratio"), serde_json::json!({"doubleValue": 0.5}));
    assert_eq!(
        a("process.command"),
        serde_json::json!({"stringValue": "sh"})
    );
    assert!(env.spooled().is_empty());
}

#[test]
fn protobuf_is_the_default_and_decodes() {
    let c = Collector::up();
    let env = Env::new().endpoint(&c.base());
    let out = env.run(["span", "svc", "ok", "--", "true"]);
    assert_eq!(out.status.code(), Some(0));
    let r = c.next();
    assert_eq!(r.header("content-type"), Some("application/x-protobuf"));
    let (res, span) = r.span();
    assert_eq!(
        attr(&res, "service.name"),
        Some(&Value::StringValue("svc".into()))
    );
    assert_eq!(span.name, "ok");
    assert_eq!(span.kind, 1);
    assert_eq!(
        span.status.unwrap().code,
        0,
        "success leaves the status UNSET"
    );
    assert_eq!(
        attr(&span.attributes, "exit.code"),
        Some(&Value::IntValue(0))
    );
    assert_eq!(span.trace_id.len(), 16);
    assert!(span.parent_span_id.is_empty());
}

#[test]
fn endpoint_path_rules_and_headers() {
    let c = Collector::start(vec![Answer::Ok]);
    // Base endpoint with a path: v1/traces is appended with one slash.
    let env = Env::new()
        .endpoint(&format!("{}/my/", c.base()))
        .with(
            "OTEL_EXPORTER_OTLP_HEADERS",
            "x-api-key=abc%20def,Authorization=Bearer t0k",
        )
        .with("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-api-key=override");
    assert!(env.run(["span", "s", "n", "--", "true"]).status.success());
    let r = c.next();
    assert_eq!(r.path, "/my/v1/traces");
    assert_eq!(r.header("x-api-key"), Some("override"));
    assert_eq!(r.header("authorization"), Some("Bearer t0k"));
    // The signal-specific endpoint is used as is and wins.
    let env = Env::new().endpoint("http://127.0.0.1:9/ignored").with(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        format!("{}/custom/path", c.base()),
    );
    assert!(env.run(["span", "s", "n", "--", "true"]).status.success());
    assert_eq!(c.next().path, "/custom/path");
    let env = Env::new().with("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", c.base());
    assert!(env.run(["span", "s", "n", "--", "true"]).status.success());
    assert_eq!(c.next().path, "/");
}

#[test]
fn nested_spans_form_one_trace() {
    let c = Collector::up();
    let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let env = Env::new()
        .endpoint(&c.base())
        .with("TRACEPARENT", incoming)
        .with("TRACESTATE", "vendor=abc");
    let me = env!("CARGO_BIN_EXE_otelctl");
    let out = env.run([
        "span",
        "svc",
        "outer",
        "--",
        me,
        "span",
        "svc",
        "inner",
        "--",
        "sh",
        "-c",
        "echo \"$TRACEPARENT $TRACESTATE\"",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let inner = c.next().span().1; // the inner one finishes first
    let outer = c.next().span().1;
    assert_eq!(inner.name, "inner");
    assert_eq!(outer.name, "outer");
    assert_eq!(to_hex(&outer.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(inner.trace_id, outer.trace_id);
    assert_eq!(to_hex(&outer.parent_span_id), "00f067aa0ba902b7");
    assert_eq!(inner.parent_span_id, outer.span_id);
    assert_eq!(outer.trace_state, "vendor=abc");
    let seen = text(&out.stdout);
    assert_eq!(
        seen.trim(),
        format!(
            "00-{}-{}-01 vendor=abc",
            to_hex(&inner.trace_id),
            to_hex(&inner.span_id)
        )
    );
}

#[test]
fn invalid_traceparent_starts_a_new_trace_with_one_warning() {
    for bad in [
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "garbage",
    ] {
        let c = Collector::up();
        let env = Env::new()
            .endpoint(&c.base())
            .with("TRACEPARENT", bad)
            .with("TRACESTATE", "a=b");
        let out = env.run([
            "span",
            "s",
            "n",
            "--",
            "sh",
            "-c",
            "echo \"$TRACEPARENT|$TRACESTATE\"; exit 5",
        ]);
        assert_eq!(out.status.code(), Some(5), "{bad}");
        let lines = stderr_lines(&out);
        assert_eq!(lines.len(), 1, "{bad}: {lines:?}");
        assert!(
            lines[0].starts_with("otelctl: warning: $TRACEPARENT")
                && lines[0].contains("new trace")
        );
        let span = c.next().span().1;
        assert!(span.parent_span_id.is_empty());
        assert_ne!(to_hex(&span.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(
            text(&out.stdout).trim(),
            format!(
                "00-{}-{}-01|",
                to_hex(&span.trace_id),
                to_hex(&span.span_id)
            ),
            "no stale TRACESTATE goes to the child"
        );
    }
}

#[test]
fn a_higher_traceparent_version_is_continued() {
    let c = Collector::up();
    let env = Env::new().endpoint(&c.base()).with(
        "TRACEPARENT",
        "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-future",
    );
    let out = env.run(["span", "s", "n", "--", "printenv", "TRACEPARENT"]);
    let span = c.next().span().1;
    assert_eq!(to_hex(&span.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert!(out.stderr.is_empty());
    assert_eq!(
        text(&out.stdout).trim(),
        format!(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-{}-03",
            to_hex(&span.span_id)
        ),
        "re-emitted as version 00, flags kept as bits"
    );
}

// ---- pass-through in every collector state ----------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum State {
    Up,
    Down,
    Error500,
    Silent,
}

const STATES: [State; 4] = [State::Up, State::Down, State::Error500, State::Silent];

/// An environment pointing at a collector in `state` (kept alive by the returned value).
fn env_for(state: State) -> (Env, Option<Collector>) {
    let (base, c) = match state {
        State::Up => {
            let c = Collector::up();
            (c.base(), Some(c))
        }
        State::Down => (format!("http://127.0.0.1:{}", refused_port()), None),
        State::Error500 => {
            let c = Collector::start(vec![Answer::Status(500, vec![], b"boom".to_vec())]);
            (c.base(), Some(c))
        }
        State::Silent => {
            let c = Collector::start(vec![Answer::Never]);
            (c.base(), Some(c))
        }
    };
    (
        Env::new()
            .endpoint(&base)
            .with("OTEL_EXPORTER_OTLP_TIMEOUT", "100"),
        c,
    )
}

/// The span went somewhere: to the collector when up, else to the spool.
fn assert_recorded(
    state: State,
    env: &Env,
    c: Option<&Collector>,
    name: &str,
) -> otelctl_otlp::Span {
    match state {
        State::Up => {
            assert!(env.spooled().is_empty(), "{state:?}");
            let span = c.unwrap().next().span().1;
            assert_eq!(span.name, name);
            span
        }
        // Sent in full, never answered: kept as unconfirmed while the late answer is awaited.
        State::Silent => {
            assert!(
                env.spooled().is_empty(),
                "{state:?}: not published for flush"
            );
            let unconfirmed = env.unconfirmed();
            assert_eq!(unconfirmed.len(), 1, "{state:?}: one unconfirmed request");
            let span = unconfirmed[0].spans().next().unwrap().1.clone();
            span
        }
        _ => {
            let spooled = env.spooled();
            assert_eq!(spooled.len(), 1, "{state:?}: one spooled request");
            let span = spooled[0].spans().next().unwrap().1.clone();
            span
        }
    }
}

#[test]
fn stdio_and_exit_code_pass_through_in_every_collector_state() {
    let mut input: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    input.extend_from_slice(b"\x00\xff\r\n");
    for state in STATES {
        let (env, c) = env_for(state);
        let out = env.run_with_input(
            [
                "span",
                "s",
                "io",
                "--",
                "sh",
                "-c",
                "cat; printf 'out\\000\\377'; printf 'err\\001\\n' >&2; exit 7",
            ],
            &input,
        );
        assert_eq!(out.status.code(), Some(7), "{state:?}");
        let mut expected = input.clone();
        expected.extend_from_slice(b"out\x00\xff");
        assert!(out.stdout == expected, "{state:?}: stdout differs");
        assert_eq!(
            out.stderr, b"err\x01\n",
            "{state:?}: stderr is the child's only"
        );
        let span = assert_recorded(state, &env, c.as_ref(), "io");
        assert_eq!(
            attr(&span.attributes, "process.exit.code"),
            Some(&Value::IntValue(7))
        );
    }
}

#[test]
fn missing_and_unexecutable_commands_exit_127_and_126_in_every_collector_state() {
    for state in STATES {
        let (env, c) = env_for(state);
        let out = env.run(["span", "s", "missing", "--", "no-such-command-otelctl"]);
        assert_eq!(out.status.code(), Some(127), "{state:?}");
        assert_eq!(
            stderr_lines(&out),
            vec!["otelctl: no-such-command-otelctl: command not found"]
        );
        let span = assert_recorded(state, &env, c.as_ref(), "missing");
        assert_eq!(
            attr(&span.attributes, "exit.code"),
            Some(&Value::IntValue(127))
        );
        assert_eq!(span.status.unwrap().code, 2);

        let (env, c) = env_for(state);
        let script = env.root().join("not-executable.sh");
        std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = env.run([
            "span".as_ref(),
            "s".as_ref(),
            "noexec".as_ref(),
            "--".as_ref(),
            script.as_os_str(),
        ]);
        assert_eq!(out.status.code(), Some(126), "{state:?}");
        assert_eq!(stderr_lines(&out).len(), 1);
        let span = assert_recorded(state, &env, c.as_ref(), "noexec");
        assert_eq!(
            attr(&span.attributes, "exit.code"),
            Some(&Value::IntValue(126))
        );
    }
}

/// Starts `otelctl span` around a shell that prints `ready` then waits; sends `sig` to otelctl.
fn signal_case(env: &Env, script: &str, sig: i32) -> (Option<i32>, String) {
    let mut child = env
        .cmd(["span", "s", "sig", "--", "sh", "-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    // SAFETY: signalling the process we spawned.
    unsafe { libc::kill(child.id() as i32, sig) };
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let status = child.wait().unwrap();
    (status.code(), rest)
}

#[test]
fn signals_are_forwarded_and_the_span_is_still_recorded_in_every_collector_state() {
    for state in STATES {
        // The child handles the signal and chooses its exit code.
        let (env, c) = env_for(state);
        let (code, rest) = signal_case(
            &env,
            "trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 0.05; done",
            libc::SIGTERM,
        );
        assert_eq!((code, rest.as_str()), (Some(42), "got-term\n"), "{state:?}");
        let span = assert_recorded(state, &env, c.as_ref(), "sig");
        assert_eq!(
            attr(&span.attributes, "exit.code"),
            Some(&Value::IntValue(42))
        );

        // The child dies of the signal: 128 + N.
        for (sig, code) in [
            (libc::SIGINT, 130),
            (libc::SIGHUP, 129),
            (libc::SIGTERM, 143),
        ] {
            let (env, c) = env_for(state);
            let (got, _) = signal_case(&env, "echo ready; exec sleep 1000", sig);
            assert_eq!(got, Some(code), "{state:?} signal {sig}");
            let span = assert_recorded(state, &env, c.as_ref(), "sig");
            assert_eq!(
                attr(&span.attributes, "exit.code"),
                Some(&Value::IntValue(code as i64))
            );
            assert!(span.status.unwrap().message.contains("killed by signal"));
        }
    }
}

/// The state letter of a process in /proc (`R`, `S`, `T`, `Z`...), `None` once it is gone.
fn proc_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    after.chars().next()
}

/// Polls until `pred(state)` holds or the hang guard passes; returns whether it held.
fn wait_for_state(pid: i32, pred: impl Fn(Option<char>) -> bool) -> bool {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < until {
        if pred(proc_state(pid)) {
            return true;
        }
        std::thread::yield_now();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    false
}

/// Gone, or a zombie waiting for an init that does not reap: either way no longer running.
fn dead(state: Option<char>) -> bool {
    matches!(state, None | Some('Z') | Some('X'))
}

/// Spawns `cmd`, whose wrapped shell prints its pid first; returns the wrapper and that pid.
fn spawn_reporting_pid(mut cmd: std::process::Command) -> (std::process::Child, i32) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line.trim().parse().expect("the child's pid"))
}

#[test]
fn the_wrapped_command_dies_with_a_wrapper_killed_by_sigkill() {
    // Killed directly.
    let env = Env::new().endpoint(&format!("http://127.0.0.1:{}", refused_port()));
    let (mut otelctl, pid) = spawn_reporting_pid(env.cmd([
        "span",
        "s",
        "orphan",
        "--",
        "sh",
        "-c",
        "echo $$; exec sleep 100",
    ]));
    assert!(!dead(proc_state(pid)), "the child runs");
    otelctl.kill().unwrap();
    otelctl.wait().unwrap();
    assert!(
        wait_for_state(pid, dead),
        "the wrapped command outlived `kill -9` of otelctl: {:?}",
        proc_state(pid)
    );

    // `timeout -s KILL`, as a CI job limit or a container stop does it.
    if std::process::Command::new("timeout")
        .arg("--version")
        .output()
        .is_err()
    {
        return common::skip("timeout (coreutils) is not installed");
    }
    let mut cmd = std::process::Command::new("timeout");
    cmd.args(["-s", "KILL", "2"]).arg(common::bin());
    cmd.args([
        "span",
        "s",
        "orphan",
        "--",
        "sh",
        "-c",
        "echo $$; exec sleep 100",
    ]);
    for (k, v) in env.cmd(["x"]).get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let (mut timeout, pid) = spawn_reporting_pid(cmd);
    let status = timeout.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert!(
        status.code() == Some(137) || status.signal() == Some(libc::SIGKILL),
        "timeout reports the KILL: {status:?}"
    );
    assert!(
        wait_for_state(pid, dead),
        "the wrapped command outlived `timeout -s KILL`: {:?}",
        proc_state(pid)
    );
}

#[test]
fn every_forwardable_signal_reaches_the_child_and_the_span_says_how_it_ended() {
    // The child handles the signal: it saw it (the span records what was forwarded).
    for (sig, name) in [
        (libc::SIGUSR1, "USR1"),
        (libc::SIGUSR2, "USR2"),
        (libc::SIGQUIT, "QUIT"),
        (libc::SIGALRM, "ALRM"),
        (libc::SIGWINCH, "WINCH"),
    ] {
        let c = Collector::up();
        let env = Env::new().endpoint(&c.base());
        let script = format!(
            "trap 'echo got-{name}; exit 42' {name}; echo ready; while :; do sleep 0.05; done"
        );
        let (code, rest) = signal_case(&env, &script, sig);
        assert_eq!(
            (code, rest.as_str()),
            (Some(42), format!("got-{name}\n").as_str())
        );
        let span = c.next().span().1;
        assert_eq!(
            attr(&span.attributes, "otelctl.signal.forwarded"),
            Some(&Value::StringValue(format!("SIG{name}")))
        );
        assert_eq!(attr(&span.attributes, "process.exit.signal"), None);
    }
    // The child dies of it: 128 + N, and the span names the signal.
    for (sig, code, name) in [
        (libc::SIGUSR1, 138, "SIGUSR1"),
        (libc::SIGQUIT, 131, "SIGQUIT"),
        (libc::SIGALRM, 142, "SIGALRM"),
    ] {
        let c = Collector::up();
        let env = Env::new().endpoint(&c.base());
        let (got, _) = signal_case(&env, "echo ready; exec sleep 1000", sig);
        assert_eq!(got, Some(code), "{name}");
        let span = c.next().span().1;
        assert_eq!(
            attr(&span.attributes, "process.exit.signal"),
            Some(&Value::StringValue(name.into()))
        );
        assert_eq!(
            attr(&span.attributes, "error.type"),
            Some(&Value::StringValue(name.into()))
        );
        assert!(span.status.unwrap().message.contains(name));
    }
}

/// The wrapped command of [`group_signal_case`]: counts SIGUSR1, prints the count on SIGTERM.
/// `wait` returns at each trapped signal, so the loop only idles between them.
const COUNTING_CHILD: &str = "n=0; trap 'n=$((n+1)); echo usr1 $n' USR1; \
    trap 'echo total $n; exit 0' TERM; echo ready $PPID; \
    while :; do sleep 1000 & wait $!; done";

/// Runs `cmd` (which wraps [`COUNTING_CHILD`] in `otelctl span`), calls `send` with otelctl's pid
/// once the child is ready, waits for the child to report a SIGUSR1, then sends SIGTERM to
/// otelctl alone: otelctl handles the two in order (the lower number first when both wait), so
/// any second SIGUSR1 reaches the child before SIGTERM does and is in the total it prints.
fn group_signal_case(mut cmd: std::process::Command, send: impl FnOnce(i32)) -> Vec<String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines.next().unwrap().unwrap();
    let otelctl: i32 = ready.strip_prefix("ready ").unwrap().parse().unwrap();
    send(otelctl);
    let mut seen = vec![lines.next().unwrap().unwrap()];
    assert_eq!(seen[0], "usr1 1");
    // SAFETY: signalling the otelctl this test started.
    unsafe { libc::kill(otelctl, libc::SIGTERM) };
    for line in lines.map_while(Result::ok) {
        let last = line.starts_with("total");
        seen.push(line);
        if last {
            break;
        }
    }
    let _ = child.wait();
    seen
}

#[test]
fn a_signal_sent_to_the_process_group_reaches_the_command_once() {
    let c = Collector::up();
    let env = Env::new().endpoint(&c.base());
    // `kill -- -PGID`: otelctl leads its own group, as a shell job does.
    let mut cmd = env.cmd(["span", "s", "group", "--", "sh", "-c", COUNTING_CHILD]);
    cmd.process_group(0);
    let seen = group_signal_case(cmd, |otelctl| {
        // SAFETY: signalling the group this test created.
        unsafe { libc::kill(-otelctl, libc::SIGUSR1) };
    });
    assert_eq!(seen, ["usr1 1", "total 1"], "kill -- -PGID");

    // `timeout -s USR1`: it signals its command, then its own group.
    if std::process::Command::new("timeout")
        .arg("--version")
        .output()
        .is_err()
    {
        return common::skip("timeout (coreutils) is not installed");
    }
    let mut cmd = std::process::Command::new("timeout");
    cmd.args(["-s", "USR1", "0.2"]).arg(common::bin());
    cmd.args(["span", "s", "timeout", "--", "sh", "-c", COUNTING_CHILD]);
    for (k, v) in env.cmd(["x"]).get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let seen = group_signal_case(cmd, |_| {});
    assert_eq!(seen, ["usr1 1", "total 1"], "timeout");
}

#[test]
fn sigtstp_stops_child_and_wrapper_and_sigcont_resumes_both() {
    use std::os::unix::process::CommandExt;
    let c = Collector::up();
    let env = Env::new().endpoint(&c.base());
    let mut cmd = env.cmd([
        "span",
        "s",
        "job",
        "--",
        "sh",
        "-c",
        "echo $$; exec sleep 100",
    ]);
    // A process group of its own, whose parent (this test) is in another group of the same
    // session, as a shell's job is: the kernel discards SIGTSTP sent to a process of an orphaned
    // group, which is what otelctl's group would be under a harness whose own parent has gone
    // (CI runs the suite detached, with no terminal).
    cmd.process_group(0);
    let (mut otelctl, pid) = spawn_reporting_pid(cmd);
    let me = otelctl.id() as i32;
    // SAFETY: signalling the process we spawned.
    unsafe { libc::kill(me, libc::SIGTSTP) };
    assert!(wait_for_state(pid, |s| s == Some('T')), "the child stops");
    assert!(wait_for_state(me, |s| s == Some('T')), "otelctl stops too");
    // SAFETY: as above.
    unsafe { libc::kill(me, libc::SIGCONT) };
    assert!(
        wait_for_state(pid, |s| s == Some('S') || s == Some('R')),
        "the child resumes"
    );
    assert!(wait_for_state(me, |s| s != Some('T')), "otelctl resumes");
    // SAFETY: as above.
    unsafe { libc::kill(me, libc::SIGTERM) };
    assert_eq!(otelctl.wait().unwrap().code(), Some(143));
    let span = c.next().span().1;
    assert_eq!(
        attr(&span.attributes, "process.exit.signal"),
        Some(&Value::StringValue("SIGTERM".into()))
    );
}

// ---- export outcomes --------------------------------------------------------------------------

#[test]
fn retryable_statuses_are_retried_and_others_are_not() {
    // 503 with Retry-After: 0, then 200: delivered on the second try, nothing spooled.
    let c = Collector::start(vec![
        Answer::Status(503, vec![("Retry-After".into(), "0".into())], vec![]),
        Answer::Ok,
    ]);
    let env = Env::new().endpoint(&c.base());
    assert!(env.run(["span", "s", "n", "--", "true"]).status.success());
    assert_eq!(c.next().path, "/v1/traces");
    assert_eq!(c.next().path, "/v1/traces");
    assert!(env.spooled().is_empty());

    // Retry-After beyond the deadline: one try, then the spool.
    let c = Collector::start(vec![Answer::Status(
        429,
        vec![("Retry-After".into(), "30".into())],
        vec![],
    )]);
    let env = Env::new().endpoint(&c.base());
    assert!(env.run(["span", "s", "n", "--", "true"]).status.success());
    c.next();
    assert_eq!(env.spooled().len(), 1);
    assert!(c.drain().is_empty(), "not retried past the deadline");

    // 400 is never retried.
    let c = Collector::start(vec![
        Answer::Status(400, vec![], b"bad".to_vec()),
        Answer::Ok,
    ]);
    let env = Env::new().endpoint(&c.base());
    assert!(env.run(["span", "s", "n", "--", "true"]).status.success());
    c.next();
    assert_eq!(env.spooled().len(), 1);
    assert!(c.drain().is_empty());
}

#[test]
fn retry_after_zero_still_backs_off_and_attempts_are_bounded() {
    // A collector that always answers 429 with Retry-After: 0, counting requests. With a long
    // deadline the attempts stop at the documented bound; the span is spooled.
    for timeout in ["5000", "200"] {
        let c = Collector::start(vec![Answer::Status(
            429,
            vec![("Retry-After".into(), "0".into())],
            vec![],
        )]);
        let env = Env::new()
            .endpoint(&c.base())
            .with("OTEL_EXPORTER_OTLP_TIMEOUT", timeout);
        let started = std::time::Instant::now();
        assert!(env.run(["span", "s", "n", "--", "true"]).status.success());
        let took = started.elapsed();
        let requests = c.drain().len();
        assert!(
            (2..=5).contains(&requests),
            "deadline {timeout} ms: {requests} requests (at most 5 attempts per export)"
        );
        if timeout == "5000" {
            assert_eq!(requests, 5, "every attempt the backoff allows is made");
            assert!(
                took >= std::time::Duration::from_millis(150),
                "10+20+40+80 ms of backoff at least: {took:?}"
            );
        }
        assert_eq!(env.spooled().len(), 1);
    }
}

/// Polls (bounded) until `f` holds.
fn eventually(what: &str, f: impl Fn() -> bool) {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !f() {
        assert!(std::time::Instant::now() < until, "never happened: {what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// `otelctl span` (100 ms deadline) against a collector that stores the span and answers
/// `status` only when the test opens the returned gate (after `span` has given up, whatever the
/// machine's speed), then 200 to whatever comes next.
fn span_answered_late(status: u16, name: &str) -> (Collector, Env, Gate) {
    let gate = Gate::default();
    let c = Collector::start(vec![Answer::WhenOpened(gate.clone(), status), Answer::Ok]);
    let env = Env::new()
        .endpoint(&c.base())
        .with("OTEL_EXPORTER_OTLP_TIMEOUT", "100");
    assert!(env.run(["span", "s", name, "--", "true"]).status.success());
    (c, env, gate)
}

#[test]
fn a_late_answer_and_a_later_flush_store_each_span_once() {
    // The collector stores the span, then answers 200 after the deadline.
    let (c, env, gate) = span_answered_late(200, "late");
    let first = c.next();
    assert_eq!(first.span().1.name, "late");
    assert!(
        env.spooled().is_empty(),
        "not queued for flush while the answer is awaited"
    );
    assert_eq!(env.unconfirmed().len(), 1);
    // A flush right away sends nothing: the request may be stored already.
    let out = env.run(["spool", "flush"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("delivered 0 span(s)"),
        "{}",
        text(&out.stdout)
    );
    // The late 200 arrives: the unconfirmed file goes; a flush after that sends nothing either.
    gate.open();
    eventually("the late 200 settles the file", || {
        env.unconfirmed().is_empty()
    });
    assert!(env.spooled().is_empty());
    let out = env.run(["spool", "flush"]);
    assert!(out.status.success());
    assert!(c.drain().is_empty(), "the collector holds the span once");

    // The same, but the late answer is a refusal: the span is published and flushed once.
    let (c, env, gate) = span_answered_late(503, "refused-late");
    c.next();
    assert_eq!(env.unconfirmed().len(), 1, "awaited until the answer comes");
    gate.open();
    eventually("the late 503 publishes the file", || {
        env.spooled().len() == 1
    });
    assert!(env.unconfirmed().is_empty());
    let out = env.run(["spool", "flush"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(c.next().span().1.name, "refused-late");
    assert!(c.drain().is_empty());
    assert!(env.spooled().is_empty());
}

/// A collector that accepts and never answers (a `devenv up` suspended with Ctrl-Z, a stopped
/// process, a wedged proxy) must not cost each wrapped command the export deadline (200 ms by
/// default): `span` hands the request to the spool as unconfirmed after a few milliseconds, and
/// when the collector recovers and answers, the span is stored exactly once.
#[test]
fn a_collector_that_never_answers_costs_no_deadline_and_stores_the_span_once_it_recovers() {
    let gate = Gate::default();
    let c = Collector::start(vec![Answer::WhenOpened(gate.clone(), 200), Answer::Ok]);
    // The default deadline: no OTEL_EXPORTER_OTLP_TIMEOUT (a given one is waited for).
    let env = Env::new().endpoint(&c.base());
    let out = env.run([
        "span",
        "s",
        "suspended",
        "--",
        "sh",
        "-c",
        "sleep 0.3; exit 3",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(text(&out.stderr).is_empty(), "{}", text(&out.stderr));
    // The wrapped command's time is the span's: the collector's silence is not added to it.
    let span = c.next().span().1;
    assert_eq!(span.name, "suspended");
    let ran = std::time::Duration::from_nanos(span.end_time_unix_nano - span.start_time_unix_nano);
    assert!(ran >= std::time::Duration::from_millis(300), "{ran:?}");
    // Nor, beyond a few ms, to otelctl's: the unconfirmed file is written well before the
    // deadline would have passed after the command ended (the bound is loose for a loaded
    // machine; waiting for the deadline takes 200 ms or more).
    let unconfirmed: Vec<_> = std::fs::read_dir(env.spool())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "unconfirmed"))
        .collect();
    assert_eq!(unconfirmed.len(), 1, "kept until the answer comes");
    let written = std::fs::metadata(&unconfirmed[0])
        .unwrap()
        .modified()
        .unwrap();
    let ended = std::time::UNIX_EPOCH + std::time::Duration::from_nanos(span.end_time_unix_nano);
    let waited = written.duration_since(ended).unwrap_or_default();
    assert!(
        waited < std::time::Duration::from_millis(150),
        "otelctl waited {waited:?} for a collector that never answers"
    );
    assert!(env.spooled().is_empty(), "not published for flush");

    // The collector recovers and answers: the unconfirmed request is settled, not sent again.
    gate.open();
    eventually("the late 200 settles the file", || {
        env.unconfirmed().is_empty()
    });
    assert!(env.spooled().is_empty());
    let out = env.run(["spool", "flush"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(c.drain().is_empty(), "the collector holds the span once");
}

#[test]
fn header_values_echoed_by_a_collector_are_never_printed() {
    // A collector that echoes every request header into its 400 body; OTEL_DEBUG=1 prints
    // why the export failed, and `spool flush` prints per-file errors.
    let c = Collector::start(vec![Answer::Echo(400)]);
    let env = Env::new()
        .endpoint(&c.base())
        .with(
            "OTEL_EXPORTER_OTLP_HEADERS",
            "Authorization=Bearer%20s3cr3t-t0ken-value,x-api-key=k3y-0f-the-tenant",
        )
        .with("OTEL_DEBUG", "1");
    let out = env.run(["span", "s", "n", "--", "true"]);
    assert!(out.status.success());
    let got = c.next();
    assert_eq!(
        got.header("authorization"),
        Some("Bearer s3cr3t-t0ken-value"),
        "the header was sent"
    );
    let err = text(&out.stderr);
    assert!(err.contains("answered HTTP 400"), "{err}");
    assert!(
        err.contains("Authorization: [redact"),
        "the echo is shown, masked: {err}"
    );
    for secret in ["s3cr3t-t0ken-value", "k3y-0f-the-tenant"] {
        assert!(!err.contains(secret), "{secret} printed: {err}");
    }
    assert_eq!(env.spooled().len(), 1);
    let out = env.run(["spool", "flush"]);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(all.contains("answered HTTP 400"), "{all}");
    for secret in ["s3cr3t-t0ken-value", "k3y-0f-the-tenant"] {
        assert!(!all.contains(secret), "{secret} printed by flush: {all}");
    }
    // A password in the endpoint URL is not printed back either.
    let env = Env::new()
        .endpoint("http://otel:hunter2-pass@127.0.0.1:9")
        .with("OTEL_DEBUG", "1");
    let out = env.run(["span", "s", "n", "--", "true"]);
    let err = text(&out.stderr);
    assert!(err.contains("***@127.0.0.1:9"), "{err}");
    assert!(!err.contains("hunter2-pass"), "{err}");
}

#[test]
fn partial_success_is_reported_not_retried_or_spooled() {
    let body =
        br#"{"partialSuccess":{"rejectedSpans":"1","errorMessage":"span too old"}}"#.to_vec();
    let c = Collector::start(vec![Answer::Status(200, vec![], body)]);
    // A given timeout is waited for in full: the partial-success answer must be read even when
    // a loaded machine answers later than the default's 5 ms.
    let env = Env::new()
        .endpoint(&c.base())
        .with("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
        .with("OTEL_EXPORTER_OTLP_TIMEOUT", "5000");
    let out = env.run(["span", "s", "n", "--", "true"]);
    assert!(out.status.success());
    c.next();
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].contains("rejected 1 span(s): span too old"),
        "{lines:?}"
    );
    assert!(env.spooled().is_empty());
    assert!(c.drain().is_empty());
}

/// A real HTTPS OTLP receiver: Python's `http.server` behind `ssl`, with a throwaway private CA
/// and a certificate for 127.0.0.1 it signed, made by `openssl`. Returns the server, its port,
/// the CA certificate path and the file each request is appended to (one line per request).
fn tls_receiver(
    dir: &std::path::Path,
) -> Option<(KillOnDrop, u16, std::path::PathBuf, std::path::PathBuf)> {
    use std::io::BufRead;
    // A private CA and a leaf certificate for 127.0.0.1 signed by it (rustls rightly refuses a
    // CA certificate presented as the server's own).
    let ca = dir.join("ca.pem");
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let ext = dir.join("leaf.ext");
    std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .ok()?;
    let openssl = |args: &[&std::ffi::OsStr]| {
        std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let os = |s: &'static str| std::ffi::OsStr::new(s);
    let steps: [&[&std::ffi::OsStr]; 3] = [
        &[
            os("req"),
            os("-x509"),
            os("-newkey"),
            os("rsa:2048"),
            os("-nodes"),
            os("-days"),
            os("1"),
            os("-subj"),
            os("/CN=otelctl test CA"),
            os("-keyout"),
            os("ca.key"),
            os("-out"),
            ca.as_os_str(),
        ],
        &[
            os("req"),
            os("-newkey"),
            os("rsa:2048"),
            os("-nodes"),
            os("-subj"),
            os("/CN=127.0.0.1"),
            os("-keyout"),
            key.as_os_str(),
            os("-out"),
            os("leaf.csr"),
        ],
        &[
            os("x509"),
            os("-req"),
            os("-in"),
            os("leaf.csr"),
            os("-CA"),
            ca.as_os_str(),
            os("-CAkey"),
            os("ca.key"),
            os("-CAcreateserial"),
            os("-days"),
            os("1"),
            os("-extfile"),
            ext.as_os_str(),
            os("-out"),
            cert.as_os_str(),
        ],
    ];
    if !steps.iter().all(|args| openssl(args)) {
        return None;
    }
    let bodies = dir.join("bodies.hex");
    let script = r#"
import http.server, ssl, sys
cert, key, out = sys.argv[1:4]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with open(out, "a") as f:
            f.write(self.path + " " + self.headers.get("Content-Type", "") + " " + body.hex() + "\n")
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"#;
    let mut child = std::process::Command::new("python3")
        .process_group(0)
        .args(["-c", script])
        .arg(&cert)
        .arg(&key)
        .arg(&bodies)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let stdout = child.stdout.take().unwrap();
    let guard = KillOnDrop(child);
    let mut line = String::new();
    std::io::BufReader::new(stdout).read_line(&mut line).ok()?;
    let port = line.trim().parse().ok()?;
    Some((guard, port, ca, bodies))
}

/// Kills the child's process group when the test ends, however it ends (`python3` may be a
/// launcher that does not exec).
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // SAFETY: a plain syscall on the group this test created with process_group(0).
        unsafe { libc::kill(-(self.0.id() as i32), libc::SIGKILL) };
        let _ = self.0.wait();
    }
}

#[test]
fn https_endpoints_export_over_tls_and_spool_when_the_certificate_is_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let Some((_server, port, ca, bodies)) = tls_receiver(dir.path()) else {
        return common::skip(
            "openssl or python3 with ssl is missing: cannot run an HTTPS receiver",
        );
    };
    let endpoint = format!("https://127.0.0.1:{port}");

    // Trusted through OTEL_EXPORTER_OTLP_CERTIFICATE: delivered over TLS, nothing spooled.
    let mut env = Env::new()
        .endpoint(&endpoint)
        .with("OTEL_EXPORTER_OTLP_CERTIFICATE", &ca)
        .with("OTEL_EXPORTER_OTLP_TIMEOUT", "5000");
    let out = env.run(["span", "tls-svc", "over-tls", "--", "sh", "-c", "exit 3"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    if !env.spooled().is_empty() {
        env.set("OTEL_DEBUG", "1");
        let debug = env.run(["span", "tls-svc", "again", "--", "true"]);
        panic!("spooled instead of exported: {}", text(&debug.stderr));
    }
    let seen = std::fs::read_to_string(&bodies).unwrap();
    let line = seen
        .lines()
        .next()
        .expect("the HTTPS receiver got the export");
    let mut parts = line.split(' ');
    assert_eq!(parts.next(), Some("/v1/traces"));
    assert_eq!(parts.next(), Some("application/x-protobuf"));
    let body = otelctl_otlp::from_hex(parts.next().unwrap()).unwrap();
    let req = otelctl_otlp::ExportTraceServiceRequest::from_protobuf(&body).unwrap();
    let (_, span) = req.spans().next().unwrap();
    assert_eq!(span.name, "over-tls");

    // Not trusted (no CA given, the private CA is not a web PKI root): the TLS handshake fails, the span is spooled and
    // the command's status is untouched.
    let env = Env::new()
        .endpoint(&endpoint)
        .with("OTEL_EXPORTER_OTLP_TIMEOUT", "5000")
        .with("OTEL_DEBUG", "1");
    let out = env.run(["span", "tls-svc", "untrusted", "--", "true"]);
    assert!(out.status.success());
    assert_eq!(env.spooled().len(), 1, "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&bodies).unwrap().lines().count(), 1);
}

#[test]
fn sdk_disabled_and_sampler_off_send_nothing() {
    let c = Collector::up();
    let env = Env::new()
        .endpoint(&c.base())
        .with("OTEL_SDK_DISABLED", "true")
        .with(
            "TRACEPARENT",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        );
    let out = env.run(["span", "s", "n", "--", "printenv", "TRACEPARENT"]);
    assert_eq!(
        text(&out.stdout).trim(),
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    );
    let env = Env::new()
        .endpoint(&c.base())
        .with("OTEL_TRACES_SAMPLER", "always_off");
    let out = env.run(["span", "s", "n", "--", "printenv", "TRACEPARENT"]);
    assert!(
        text(&out.stdout).trim().ends_with("-00"),
        "unsampled flag for children"
    );
    // A third span that is sent proves the first two were not (the server answers in order).
    let env = Env::new().endpoint(&c.base());
    env.run(["span", "s", "third", "--", "true"]);
    assert_eq!(c.next().span().1.name, "third");
    assert!(c.drain().is_empty());
    assert!(env.spooled().is_empty());
}

#[test]
fn debug_prints_the_span_to_stderr() {
    let c = Collector::up();
    // A given timeout: "exported to" needs the answer, which a loaded machine may give after
    // the default's 5 ms.
    let env = Env::new()
        .endpoint(&c.base())
        .with("OTEL_DEBUG", "1")
        .with("OTEL_EXPORTER_OTLP_TIMEOUT", "5000");
    let out = env.run(["span", "s", "dbg", "--", "true"]);
    let err = text(&out.stderr);
    assert!(
        err.contains("otelctl: debug: span {\"resourceSpans\""),
        "{err}"
    );
    assert!(err.contains("exported to"));
    c.next();
}

// ---- bad input --------------------------------------------------------------------------------

#[test]
fn bad_telemetry_input_warns_once_and_runs_the_command() {
    let c = Collector::up();
    // (environment, flags, what the one warning names)
    type Case<'a> = (Vec<(&'a str, &'a str)>, Vec<&'a str>, &'a str);
    let cases: Vec<Case> = vec![
        (vec![], vec!["--attr", "novalue"], "--attr \"novalue\""),
        (vec![], vec!["--attr-int", "n=abc"], "--attr-int"),
        (vec![], vec!["--attr-bool", "b=yes"], "--attr-bool"),
        (vec![("TRACEPARENT", "00-xyz")], vec![], "$TRACEPARENT"),
        (
            vec![("OTEL_RESOURCE_ATTRIBUTES", "a=%zz")],
            vec![],
            "$OTEL_RESOURCE_ATTRIBUTES",
        ),
        (
            vec![("OTEL_EXPORTER_OTLP_HEADERS", "no-equals-sign")],
            vec![],
            "$OTEL_EXPORTER_OTLP_HEADERS",
        ),
        (
            vec![("OTEL_EXPORTER_OTLP_TIMEOUT", "2s")],
            vec![],
            "$OTEL_EXPORTER_OTLP_TIMEOUT",
        ),
    ];
    for (vars, flags, needle) in cases {
        let mut env = Env::new().endpoint(&c.base());
        for (k, v) in &vars {
            env.set(k, v);
        }
        let mut args = vec!["span", "s", "n"];
        args.extend(flags.iter());
        args.extend(["--", "sh", "-c", "echo ran; exit 4"]);
        let out = env.run(&args);
        assert_eq!(out.status.code(), Some(4), "{needle}");
        assert_eq!(text(&out.stdout), "ran\n");
        let lines = stderr_lines(&out);
        assert_eq!(lines.len(), 1, "{needle}: {lines:?}");
        assert!(
            lines[0].starts_with("otelctl: warning: ") && lines[0].contains(needle),
            "{lines:?}"
        );
        let span = c.next().span().1;
        assert_eq!(
            attr(&span.attributes, "exit.code"),
            Some(&Value::IntValue(4))
        );
    }
}

#[test]
fn header_values_never_appear_in_warnings() {
    let c = Collector::up();
    let env = Env::new()
        .endpoint(&c.base())
        .with("OTEL_EXPORTER_OTLP_HEADERS", "authorization=secret%zz");
    let out = env.run(["span", "s", "n", "--", "true"]);
    assert!(!text(&out.stderr).contains("secret"));
    assert_eq!(stderr_lines(&out).len(), 1);
    assert!(c.next().header("authorization").is_none());
}

#[test]
fn non_utf8_arguments_pass_through_and_names_are_warned_about() {
    let c = Collector::up();
    let env = Env::new().endpoint(&c.base());
    let raw = std::ffi::OsString::from_vec(b"caf\xe9".to_vec());
    let out = env.run([
        "span".into(),
        "s".into(),
        raw.clone(),
        "--".into(),
        "sh".into(),
        "-c".into(),
        "printf %s \"$1\"".into(),
        "sh".into(),
        raw,
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, b"caf\xe9", "the child gets the exact bytes");
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1);
    assert!(lines[0].contains("NAME") && lines[0].contains("not UTF-8"));
    assert_eq!(c.next().span().1.name, "caf\u{fffd}");
}

#[test]
fn usage_errors_exit_2_before_running_anything() {
    let env = Env::new().endpoint(&format!("http://127.0.0.1:{}", refused_port()));
    let marker = env.root().join("ran");
    let touch = format!("touch {}", marker.display());
    for args in [
        vec!["span", "s"],
        vec!["span", "s", "n"],
        vec!["span", "--no-such-flag", "s", "n", "--", "sh", "-c", &touch],
        vec![
            "span", "s", "n", "--kind", "sideways", "--", "sh", "-c", &touch,
        ],
    ] {
        let out = env.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!marker.exists());
    }
    assert!(env.spooled().is_empty());
}

// ---- spool ------------------------------------------------------------------------------------

#[test]
fn collector_down_spools_and_flush_delivers_exactly_once() {
    let env = Env::new().endpoint(&format!("http://127.0.0.1:{}", refused_port()));
    assert_eq!(
        env.run(["span", "s", "offline", "--", "true"])
            .status
            .code(),
        Some(0)
    );
    let spooled = env.spooled();
    assert_eq!(spooled.len(), 1);
    let spool_mode = std::fs::metadata(env.spool()).unwrap().permissions().mode() & 0o777;
    assert_eq!(spool_mode, 0o700);
    let status = env.run(["spool", "status", "--json"]);
    let s: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(s["files"], 1);
    assert_eq!(s["dropped_spans"], 0);

    // Flush while still down: nothing removed, exit 1.
    let out = env.run(["spool", "flush"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(env.spooled().len(), 1);

    let c = Collector::start(vec![Answer::Ok]);
    let env = Env {
        vars: env.vars.clone(),
        dir: env.dir,
    }
    .endpoint(&c.base());
    let out = env.run(["spool", "flush", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["delivered_spans"], 1);
    let got = c.next().request();
    assert_eq!(got, spooled[0], "the spooled request, unchanged");
    assert!(env.spooled().is_empty());
    let out = env.run(["spool", "flush"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(c.drain().is_empty(), "delivered exactly once");
    let leftovers: Vec<_> = std::fs::read_dir(env.spool())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn flush_keeps_what_the_endpoint_refuses() {
    let env = Env::new().endpoint(&format!("http://127.0.0.1:{}", refused_port()));
    env.run(["span", "s", "a", "--", "true"]);
    env.run(["span", "s", "b", "--", "true"]);
    let c = Collector::start(vec![
        Answer::Ok,
        Answer::Status(400, vec![], b"no".to_vec()),
    ]);
    let env = Env {
        vars: env.vars.clone(),
        dir: env.dir,
    }
    .endpoint(&c.base());
    let out = env.run(["spool", "flush", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let left = env.spooled();
    assert_eq!(left.len(), 1);
    assert_eq!(
        left[0].spans().next().unwrap().1.name,
        "b",
        "oldest first; the refused one stays"
    );
}

#[test]
fn two_hundred_concurrent_spans_with_the_collector_down_all_land_intact() {
    let env = Env::new().endpoint(&format!("http://127.0.0.1:{}", refused_port()));
    let children: Vec<_> = (0..200)
        .map(|i| {
            env.cmd([
                "span".to_string(),
                "s".into(),
                format!("c{i}"),
                "--".into(),
                "true".into(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    }
    let spooled = env.spooled(); // parses every file: intact, one line each
    assert_eq!(spooled.len(), 200);
    let mut names: Vec<String> = spooled
        .iter()
        .map(|r| r.spans().next().unwrap().1.name.clone())
        .collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 200);
    let tmp = std::fs::read_dir(env.spool())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .count();
    assert_eq!(tmp, 0);
}

#[test]
fn the_size_cap_drops_oldest_spans_and_reports_them() {
    let env = Env::new()
        .endpoint(&format!("http://127.0.0.1:{}", refused_port()))
        .with("OTELCTL_SPOOL_MAX_BYTES", "1500");
    for i in 0..5 {
        env.run(["span", "s", &format!("n{i}"), "--", "true"]);
    }
    let left = env.spooled();
    assert!(left.len() < 5 && !left.is_empty());
    assert_eq!(
        left.last().unwrap().spans().next().unwrap().1.name,
        "n4",
        "newest kept"
    );
    let s: serde_json::Value =
        serde_json::from_slice(&env.run(["spool", "status", "--json"]).stdout).unwrap();
    assert_eq!(
        s["dropped_spans"].as_u64().unwrap() as usize,
        5 - left.len()
    );
    assert!(s["bytes"].as_u64().unwrap() <= 1500);
}

// ---- test-span, begin/end, traceparent --------------------------------------------------------

#[test]
fn test_span_matches_the_seed_and_the_conventions() {
    let c = Collector::up();
    let env = Env::new()
        .endpoint(&c.base())
        .with("OTEL_SERVICE_NAME", "nixos-integration-tests")
        .with("OTEL_TEST_SUITE", "web")
        .with("TEST_TRACE_ID", "4BF92F3577B34DA6A3CE929D0E0E4736");
    let out = env.run([
        "test-span",
        "nginx-startup",
        "failed",
        "1500",
        "--attr",
        "vm.memory_mb=2048",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (res, span) = c.next().span();
    assert_eq!(
        attr(&res, "service.name"),
        Some(&Value::StringValue("nixos-integration-tests".into()))
    );
    assert_eq!(span.name, "test.web.nginx-startup");
    assert_eq!(to_hex(&span.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert!(span.parent_span_id.is_empty());
    assert_eq!(
        span.end_time_unix_nano - span.start_time_unix_nano,
        1_500_000_000
    );
    assert_eq!(span.status.as_ref().unwrap().code, 2);
    for (k, v) in [
        ("test.name", "nginx-startup"),
        ("test.suite", "web"),
        ("test.result", "failed"),
        ("test.case.name", "nginx-startup"),
        ("test.suite.name", "web"),
        ("test.case.result.status", "fail"),
        ("vm.memory_mb", "2048"),
    ] {
        assert_eq!(
            attr(&span.attributes, k),
            Some(&Value::StringValue(v.into())),
            "{k}"
        );
    }
    // --suite wins; TRACEPARENT makes it a child; passed is OK (as the seed).
    let env = Env::new()
        .endpoint(&c.base())
        .with("OTEL_TEST_SUITE", "web")
        .with(
            "TRACEPARENT",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        );
    assert!(env
        .run(["test-span", "t1", "passed", "--suite", "db"])
        .status
        .success());
    let (res, span) = c.next().span();
    assert_eq!(
        attr(&res, "service.name"),
        Some(&Value::StringValue("nixos-tests".into()))
    );
    assert_eq!(span.name, "test.db.t1");
    assert_eq!(to_hex(&span.parent_span_id), "00f067aa0ba902b7");
    assert_eq!(span.status.unwrap().code, 1);
    // No suite at all.
    let env = Env::new().endpoint(&c.base());
    assert!(env.run(["test-span", "t2", "skipped"]).status.success());
    assert_eq!(c.next().span().1.name, "test.t2");
    // A bad result is a usage error.
    assert_eq!(env.run(["test-span", "t3", "maybe"]).status.code(), Some(2));
}

#[test]
fn span_begin_and_end_make_a_parent_across_commands() {
    let c = Collector::up();
    let env = Env::new().endpoint(&c.base());
    let out = env.run(["span", "begin", "suite-svc", "whole-test", "--attr", "k=v"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let tp = text(&out.stdout).trim().to_string();
    assert!(
        otelctl_span::traceparent::TraceParent::parse(&tp).is_ok(),
        "{tp}"
    );
    assert!(c.drain().is_empty(), "nothing is sent before the end");
    let child_env = env.with("TRACEPARENT", &tp);
    assert!(child_env
        .run(["span", "svc", "step", "--", "true"])
        .status
        .success());
    assert!(child_env
        .run(["test-span", "case", "passed"])
        .status
        .success());
    let step = c.next().span().1;
    let case = c.next().span().1;
    let out = child_env.run(["span", "end", "--exit-code", "1", "--attr", "extra=1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (res, parent) = c.next().span();
    assert_eq!(
        attr(&res, "service.name"),
        Some(&Value::StringValue("suite-svc".into()))
    );
    assert_eq!(parent.name, "whole-test");
    assert_eq!(
        format!(
            "00-{}-{}-01",
            to_hex(&parent.trace_id),
            to_hex(&parent.span_id)
        ),
        tp
    );
    for child in [&step, &case] {
        assert_eq!(child.trace_id, parent.trace_id);
        assert_eq!(child.parent_span_id, parent.span_id);
        assert!(child.start_time_unix_nano >= parent.start_time_unix_nano);
        assert!(child.end_time_unix_nano <= parent.end_time_unix_nano);
    }
    assert_eq!(parent.status.as_ref().unwrap().code, 2);
    assert_eq!(
        attr(&parent.attributes, "k"),
        Some(&Value::StringValue("v".into()))
    );
    assert_eq!(
        attr(&parent.attributes, "extra"),
        Some(&Value::StringValue("1".into()))
    );
    assert_eq!(
        attr(&parent.attributes, "exit.code"),
        Some(&Value::IntValue(1))
    );
    // Ending twice is an error naming where the carrier's path came from, and emits nothing.
    let again = child_env.run(["span", "end"]);
    assert_eq!(again.status.code(), Some(2));
    let msg = text(&again.stderr);
    assert!(
        msg.contains("$TRACEPARENT") && msg.contains("has not consumed yet"),
        "{msg}"
    );
    assert!(c.drain().is_empty());
}

#[test]
fn span_begin_and_end_with_an_explicit_carrier_file() {
    let c = Collector::up();
    let env = Env::new().endpoint(&c.base());
    let carrier = env.root().join("parent.carrier");
    let carrier = carrier.to_str().unwrap();
    let out = env.run(["span", "begin", "svc", "p", "--carrier", carrier]);
    let tp = text(&out.stdout).trim().to_string();
    assert!(env
        .run(["span", "end", "--carrier", carrier, "--status", "ok"])
        .status
        .success());
    let span = c.next().span().1;
    assert_eq!(span.status.unwrap().code, 1);
    assert!(tp.contains(&to_hex(&span.span_id)));
    assert!(!std::path::Path::new(carrier).exists());
}

#[test]
fn traceparent_prints_the_current_or_a_new_one() {
    let env = Env::new().with(
        "TRACEPARENT",
        "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
    );
    let out = env.run(["traceparent"]);
    assert_eq!(
        text(&out.stdout),
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\n"
    );
    let out = env.run(["traceparent", "--new"]);
    let new = text(&out.stdout).trim().to_string();
    assert!(otelctl_span::traceparent::TraceParent::parse(&new).is_ok());
    assert!(!new.contains("4bf92f3577b34da6a3ce929d0e0e4736"));
    let env = Env::new().with("TRACEPARENT", "bogus");
    let out = env.run(["traceparent"]);
    assert!(otelctl_span::traceparent::TraceParent::parse(text(&out.stdout).trim()).is_ok());
    assert_eq!(stderr_lines(&out).len(), 1);
}

#[test]
fn a_bad_otelctl_setting_still_spools_the_span_and_keeps_the_exit_code() {
    let mut env = Env::new()
        .endpoint(&format!("http://127.0.0.1:{}", refused_port()))
        .with("OTELCTL_BASE_PORT", "not-a-port");
    env.vars.retain(|(k, _)| k != "OTEL_SPOOL_DIR");
    let out = env.run(["span", "s", "n", "--", "sh", "-c", "exit 4"]);
    assert_eq!(out.status.code(), Some(4));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "one warning: {err}");
    assert!(
        err.contains("not-a-port") && err.contains("OTELCTL_BASE_PORT"),
        "{err}"
    );
    // With no OTEL_SPOOL_DIR the span lands in the system layout's spool under $HOME.
    let spool = env.dir.path().join("home/.otel/spool");
    let files: Vec<_> = std::fs::read_dir(&spool)
        .unwrap_or_else(|e| panic!("{spool:?}: {e}"))
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .collect();
    assert_eq!(files.len(), 1, "{spool:?}");
}
