//! The stack commands' behaviour that needs no real program: system mode, taken ports,
//! missing programs, timeouts, and `up` reporting which program died and why.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::stack::*;
use common::{free_base, otelctl_without_programs, TempDir};

fn project(tag: &str) -> (TempDir, std::path::PathBuf, u16) {
    let home = TempDir::new(tag);
    let root = home.path().join("project");
    std::fs::create_dir_all(&root).unwrap();
    (home, root, free_base())
}

fn cmd(home: &TempDir, root: &std::path::Path, base: u16) -> Command {
    let mut c = otelctl_without_programs(home.path());
    c.arg("--root")
        .arg(root)
        .arg("--base-port")
        .arg(base.to_string());
    c
}

#[test]
fn run_in_system_mode_starts_nothing() {
    let (home, root, base) = project("sys");
    let out = cmd(&home, &root, base)
        .env("OTELCTL_MODE", "system")
        .args(["run", "tempo"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("system mode") && err.contains("not starting the tempo"),
        "{err}"
    );
    assert!(
        !root.join(".devenv").exists(),
        "system mode wrote into the project"
    );
}

#[test]
fn run_names_the_taken_port_and_keeps_the_running_config() {
    let (home, root, base) = project("taken");
    let bin = home.path().join("bin/tempo");
    script(&bin, "echo 'tempo, version 2.10.0 (x)'\n");
    let _held = std::net::TcpListener::bind(("127.0.0.1", base + 2)).unwrap();
    let out = cmd(&home, &root, base)
        .args(["run", "tempo"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("port {}", base + 2)) && err.contains("Tempo HTTP API"),
        "{err}"
    );
    assert!(!root.join(".devenv/otel/config/tempo.yaml").exists());
}

/// A local port left in TIME_WAIT by an outgoing connection that closed first (issue 23: `up`
/// failed with "Address already in use" where `ss` showed only such sockets). Returns it once
/// /proc/net/tcp shows the TIME_WAIT.
fn port_in_time_wait() -> u16 {
    use std::io::Read;
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(server.local_addr().unwrap()).unwrap();
    let port = client.local_addr().unwrap().port();
    let (mut accepted, _) = server.accept().unwrap();
    drop(client);
    let mut buf = [0u8; 1];
    assert_eq!(accepted.read(&mut buf).unwrap(), 0, "the client's FIN");
    drop(accepted);
    let needle = format!(":{port:04X} ");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
        if table.lines().any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 3 && format!("{} ", f[1]).ends_with(&needle) && f[3] == "06"
        }) {
            return port;
        }
        assert!(
            Instant::now() < deadline,
            "no TIME_WAIT on {port}:\n{table}"
        );
        std::thread::yield_now();
    }
}

#[test]
fn run_says_an_outgoing_connection_in_time_wait_holds_the_port() {
    let (home, root, _) = project("timewait");
    let port = port_in_time_wait();
    assert!(
        std::net::TcpListener::bind(("127.0.0.1", port)).is_err(),
        "TIME_WAIT keeps listeners off the port, SO_REUSEADDR or not"
    );
    let bin = home.path().join("bin/otelcol");
    script(&bin, "exit 0\n");
    // The collector's OTLP port (+0) is the one in TIME_WAIT.
    let out = cmd(&home, &root, port)
        .args(["run", "collector", "--bin"])
        .arg(&bin)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    for want in [
        format!("port {port} on 127.0.0.1 (Collector OTLP/HTTP) is already in use"),
        "no program listens on it".to_string(),
        "1 TIME_WAIT".to_string(),
        "start again in a minute".to_string(),
    ] {
        assert!(err.contains(&want), "{want:?} in {err}");
    }
    // The port came from the kernel's range for outgoing connections: the message says so and
    // how to stay out of it.
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap();
    let lo: u16 = range.split_whitespace().next().unwrap().parse().unwrap();
    assert!(
        err.contains("the kernel gave it to an outgoing connection")
            && err.contains(&format!("keep the ports below {lo}"))
            && err.contains("10000-32767"),
        "{err}"
    );

    // doctor names the same holder, with the same advice.
    let out = cmd(&home, &root, port)
        .env("OTELCTL_MODE", "local")
        .args(["doctor"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("{port} (Collector OTLP/HTTP)")) && text.contains("1 TIME_WAIT"),
        "{text}"
    );
    assert!(
        text.contains("lie in the kernel's range for outgoing connections"),
        "{text}"
    );
}

#[test]
fn up_embedded_names_who_holds_its_port() {
    let (home, root, base) = project("embtaken");
    let _held = std::net::TcpListener::bind(("127.0.0.1", base)).unwrap();
    let out = cmd(&home, &root, base)
        .env("OTELCTL_MODE", "local")
        .args(["up", "--embedded"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "port {base} on 127.0.0.1 (OTLP receiver) is already in use"
        )) && err.contains(&format!("(pid {}", std::process::id()))
            && err.contains("listens on it")
            && err.contains(&format!("stop pid {}", std::process::id())),
        "{err}"
    );
}

#[test]
fn run_without_a_program_says_where_it_looked() {
    let (home, root, base) = project("noprog");
    let out = cmd(&home, &root, base)
        .args(["run", "collector"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("OTELCTL_COLLECTOR_BIN") && err.contains("otelcol-contrib or otelcol"),
        "{err}"
    );
}

#[test]
fn wait_gives_up_at_the_timeout_with_exit_3() {
    let (home, root, base) = project("wait");
    let start = Instant::now();
    let out = cmd(&home, &root, base)
        .args(["wait", "grafana", "--timeout", "0.5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(start.elapsed() < Duration::from_secs(5));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not ready after 0.5 s") && err.contains("refused"),
        "{err}"
    );
}

#[test]
fn wait_does_not_trust_a_silent_listener_past_the_timeout() {
    let (home, root, base) = project("silent");
    // Accepts connections (backlog) and never answers.
    let _l = std::net::TcpListener::bind(("127.0.0.1", base + 2)).unwrap();
    let start = Instant::now();
    let out = cmd(&home, &root, base)
        .args(["wait", "tempo", "--timeout", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn status_of_a_stopped_stack_is_not_ready() {
    let (home, root, base) = project("status");
    let out = cmd(&home, &root, base)
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let states: Vec<&str> = v["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["stopped"; 5]);
    assert_eq!(v["services"][1]["ports"][0], base + 1);
    assert_eq!(v["services"][3]["name"], "prometheus");
    assert_eq!(v["services"][3]["ports"][0], base + 6);
    assert_eq!(v["services"][4]["name"], "victorialogs");
    assert_eq!(v["services"][4]["ports"][0], base + 7);

    // A store turned off is `off`, not `stopped`, and does not make the stack unhealthy.
    let out = cmd(&home, &root, base)
        .env("OTELCTL_METRICS_STORE", "off")
        .args(["status", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["services"][3]["state"], "off");
}

#[test]
fn up_reports_which_program_died_and_why() {
    let (home, root, base) = project("updies");
    let tempo = home.path().join("bin/tempo");
    script(
        &tempo,
        "[ \"$1\" = -version ] && { echo 'tempo, version 3.0.3 (x)'; exit 0; }\necho \"failed parsing config: unknown key\" >&2\nexit 7\n",
    );
    let collector = home.path().join("bin/otelcol");
    script(&collector, "exec /bin/sleep 60\n");
    let out = cmd(&home, &root, base)
        .args(["up", "--timeout", "30"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("grafana: not started: no grafana program found"),
        "{text}"
    );
    assert!(text.contains("[tempo] failed parsing config"), "{text}");
    assert!(
        text.contains("tempo exited unexpectedly (exit code 7): its last lines:")
            && text.contains("    failed parsing config: unknown key"),
        "{text}"
    );
    assert!(!text.contains("collector ready"), "{text}");
}

#[test]
fn run_grafana_execs_with_writable_paths_and_homepath() {
    let (home, root, base) = project("grafana");
    let seen = home.path().join("seen");
    let bin = home.path().join("bin/grafana");
    // Shell built-ins only (PATH is empty in tests): record the arguments and GF_* variables.
    script(
        &bin,
        &format!(
            "{{ echo \"args: $*\"; echo \"pid: $$\"; echo \"data: $GF_PATHS_DATA\"; echo \"prov: $GF_PATHS_PROVISIONING\"; echo \"addr: $GF_SERVER_HTTP_ADDR:$GF_SERVER_HTTP_PORT\"; echo \"anon: $GF_AUTH_ANONYMOUS_ENABLED\"; echo \"updates: $GF_ANALYTICS_CHECK_FOR_UPDATES\"; }} > '{}'\n",
            seen.display()
        ),
    );
    let share = home.path().join("share/grafana");
    std::fs::create_dir_all(&share).unwrap();
    let out = cmd(&home, &root, base)
        .env("OTELCTL_GRAFANA_HOMEPATH", &share)
        .args(["run", "grafana"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = std::fs::read_to_string(&seen).unwrap();
    let data = root.join(".devenv/otel");
    assert!(
        seen.contains(&format!("args: server --homepath {}", share.display())),
        "{seen}"
    );
    assert!(
        seen.contains(&format!("data: {}/grafana-data", data.display())),
        "{seen}"
    );
    assert!(
        seen.contains(&format!("prov: {}/grafana-provisioning", data.display())),
        "{seen}"
    );
    assert!(
        seen.contains(&format!("addr: 127.0.0.1:{}", base + 3)),
        "{seen}"
    );
    assert!(
        seen.contains("anon: true") && seen.contains("updates: false"),
        "{seen}"
    );
    // exec kept the pid: the pid file names the program.
    let pid = std::fs::read_to_string(data.join("run/grafana.pid")).unwrap();
    assert!(
        seen.contains(&format!("pid: {}", pid.trim())),
        "{seen} vs {pid}"
    );
    for dir in [
        "grafana-data/log",
        "grafana-data/plugins",
        "grafana-provisioning/dashboards",
        "dashboards/builtin",
    ] {
        assert!(data.join(dir).is_dir(), "{dir}");
    }
    // A fresh Grafana has the built-in dashboards to show (one folder per subdirectory).
    assert!(data
        .join("dashboards/builtin/otelctl-overview.json")
        .is_file());
    assert!(data
        .join("grafana-provisioning/datasources/otelctl.yaml")
        .is_file());
}

#[test]
fn upstream_header_values_reach_the_collector_and_nothing_else() {
    let (home, root, base) = project("secret");
    let seen = home.path().join("seen");
    let bin = home.path().join("bin/otelcol");
    script(
        &bin,
        &format!(
            "[ \"$1\" = components ] && exit 1\necho \"h1=$OTELCTL_UPSTREAM_HEADER_1 args=$*\" > '{}'\n",
            seen.display()
        ),
    );
    let out = cmd(&home, &root, base)
        .env("OTELCTL_UPSTREAM_ENDPOINT", "https://otlp.example.com")
        .env("OTELCTL_UPSTREAM_HEADERS", "authorization=Bearer%20s3cret")
        .args(["run", "collector"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = std::fs::read_to_string(&seen).unwrap();
    assert!(
        seen.starts_with("h1=Bearer s3cret args=--config="),
        "{seen}"
    );
    let mut everything = String::from_utf8_lossy(&out.stdout).into_owned();
    everything.push_str(&String::from_utf8_lossy(&out.stderr));
    for entry in walk(&root.join(".devenv/otel")) {
        everything.push_str(&std::fs::read_to_string(entry).unwrap_or_default());
    }
    assert!(
        !everything.contains("s3cret"),
        "a header value leaked: {everything}"
    );
    let printed = cmd(&home, &root, base)
        .env("OTELCTL_UPSTREAM_ENDPOINT", "https://otlp.example.com")
        .env("OTELCTL_UPSTREAM_HEADERS", "authorization=Bearer%20s3cret")
        .args(["render", "collector"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&printed.stdout).contains("s3cret"));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
