//! Secrets over every output path (issue 23, item 8): a password in an endpoint URL, in every
//! form a URL can hold one, and header values a collector echoes back in three letter cases,
//! never reach a message, `--json`, `.last-failure`, `spool flush`, `doctor`, `export --to` or
//! a rendered collector config (stdout or files).

mod common;

use std::path::Path;

use common::{text, Answer, Collector, Env};

/// What may never be printed: every form below holds it.
const PASSWORD_TAIL: &str = "ter2pw";

/// The URL forms: with and without a user, a scheme in capitals, IPv6, a path and query, a
/// percent-encoded, an unencoded `@` and an unencoded `/` in the password, no scheme at all.
fn url_forms(port: u16) -> Vec<String> {
    [
        "http://user:hunter2pw@127.0.0.1:{p}",
        "https://user:hunter2pw@127.0.0.1:{p}/v1/traces",
        "http://:hunter2pw@127.0.0.1:{p}",
        "http://hunter2pw@127.0.0.1:{p}/",
        "HTTP://User:hunter2pw@127.0.0.1:{p}/v1/traces?x=1#f",
        "http://user:hunter2pw@[::1]:{p}",
        "http://user:hunt%40er2pw@127.0.0.1:{p}",
        "http://user:hun@ter2pw@127.0.0.1:{p}",
        "http://user:hun/ter2pw@127.0.0.1:{p}",
        "user:hunter2pw@127.0.0.1:{p}",
    ]
    .iter()
    .map(|f| f.replace("{p}", &port.to_string()))
    .collect()
}

fn all_output(o: &std::process::Output) -> String {
    format!("{}{}", text(&o.stdout), text(&o.stderr))
}

fn files_under(dir: &Path) -> String {
    let mut all = String::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                all.push_str(&files_under(&p));
            } else if let Ok(t) = std::fs::read_to_string(&p) {
                all.push_str(&t);
            }
        }
    }
    all
}

/// Every output path of `env`, each with its name, for one configuration.
fn outputs(env: &Env, upstream: Option<&str>) -> Vec<(String, String)> {
    let mut seen = Vec::new();
    let debug = env
        .cmd(["span", "s", "n", "--", "true"])
        .env("OTEL_DEBUG", "1")
        .output();
    seen.push(("OTEL_DEBUG=1 span".into(), all_output(&debug.unwrap())));
    seen.push((
        ".last-failure".into(),
        std::fs::read_to_string(env.spool().join(".last-failure")).unwrap_or_default(),
    ));
    for args in [
        vec!["spool", "flush"],
        vec!["spool", "flush", "--json"],
        vec!["doctor"],
        vec!["doctor", "--json"],
    ] {
        seen.push((args.join(" "), all_output(&env.run(&args))));
    }
    if let Some(up) = upstream {
        let out = env.dir.path().join("rendered");
        let render = env
            .cmd(["render", "collector", "--out"])
            .arg(&out)
            .env("OTELCTL_UPSTREAM_ENDPOINT", up)
            .output()
            .unwrap();
        seen.push(("render collector --out".into(), all_output(&render)));
        seen.push(("rendered files".into(), files_under(&out)));
        let render = env
            .cmd(["render", "collector"])
            .env("OTELCTL_UPSTREAM_ENDPOINT", up)
            .output()
            .unwrap();
        seen.push(("render collector".into(), all_output(&render)));
        let export = env.run(["export", "--to", up]);
        seen.push(("export --to".into(), all_output(&export)));
    }
    seen
}

#[test]
fn a_url_password_is_never_shown_in_any_form_on_any_path() {
    let c = Collector::start(vec![Answer::Echo(400)]);
    let port: u16 = c.base().rsplit(':').next().unwrap().parse().unwrap();
    for url in url_forms(port) {
        // A timeout given is waited for in full: a loaded machine's late answer is still read.
        let env = Env::new()
            .with("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &url)
            .with("OTEL_EXPORTER_OTLP_TIMEOUT", "5000");
        let seen = outputs(&env, Some(&url));
        for (path, out) in &seen {
            assert!(
                !out.contains(PASSWORD_TAIL),
                "{url}: {path} shows the password:\n{out}"
            );
        }
        // The paths did run: the span failed and said so, the render wrote a config.
        let debug = &seen[0].1;
        assert!(debug.contains("***@"), "{url}: {debug}");
        let rendered = &seen.iter().find(|(p, _)| p == "rendered files").unwrap().1;
        // (An upper-case scheme or none is refused by the upstream's check, masked too.)
        if url.starts_with("http") {
            assert!(rendered.contains("upstream"), "{url}: {rendered}");
            assert!(
                rendered.contains("${env:OTELCTL_UPSTREAM_HEADER_"),
                "{url}: the credential is an environment reference: {rendered}"
            );
        }
    }
}

#[test]
fn echoed_header_values_are_masked_in_every_letter_case_on_every_path() {
    for answer in [
        Answer::Echo(400),
        Answer::EchoUpper(400),
        Answer::EchoLower(400),
    ] {
        let case = format!("{answer:?}");
        let c = Collector::start(vec![answer]);
        let env = Env::new()
            .with("OTEL_EXPORTER_OTLP_TIMEOUT", "5000")
            .with(
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                format!("{}/v1/traces", c.base()),
            )
            .with(
                "OTEL_EXPORTER_OTLP_HEADERS",
                "Authorization=Bearer%20s3cr3t-t0ken-value,x-api-key=k3y-0f-the-tenant",
            );
        let seen = outputs(&env, None);
        for (path, out) in &seen {
            let lower = out.to_lowercase();
            for secret in ["s3cr3t-t0ken-value", "k3y-0f-the-tenant"] {
                assert!(
                    !lower.contains(secret),
                    "{case}: {path} shows {secret}:\n{out}"
                );
            }
        }
        // The echo itself is shown (masked), so the paths were exercised.
        let debug = seen[0].1.to_lowercase();
        assert!(debug.contains("answered http 400"), "{case}: {debug}");
        assert!(debug.contains("authorization: [redact"), "{case}: {debug}");
        let flush = &seen.iter().find(|(p, _)| p == "spool flush").unwrap().1;
        assert!(flush.contains("400"), "{case}: {flush}");
        let doctor = &seen.iter().find(|(p, _)| p == "doctor --json").unwrap().1;
        assert!(doctor.contains("400"), "{case}: {doctor}");
    }
}
