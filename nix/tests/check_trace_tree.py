#!/usr/bin/env python3
"""Assertions of nix/tests/trace-real.sh on what the recorder received.

    check_trace_tree.py WORKDIR

WORKDIR holds requests.jsonl (recorder), rc.<run> (exit statuses), env.<run> (the stand-in
devenv's environment) and project/ (DEVENV_ROOT). Prints one "ok - ..." or "not ok - ..." line
per assertion; exits 1 if any failed.
"""

import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from otlp_spans import spans_from_records  # noqa: E402

work = sys.argv[1]
failures = 0


def check(desc, cond, detail=""):
    global failures
    if cond:
        print(f"ok - {desc}")
    else:
        failures += 1
        print(f"not ok - {desc}" + (f": {detail}" if detail else ""))


def read(name, default=""):
    try:
        with open(os.path.join(work, name), encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return default


def env_of(run):
    env = {}
    for line in read(f"env.{run}").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            env[key] = value
    return env


rc = {str(run): read(f"rc.{run}", "missing").strip() for run in range(1, 14)}
spans = spans_from_records(os.path.join(work, "requests.jsonl")) if os.path.exists(
    os.path.join(work, "requests.jsonl")) else []
project = os.path.join(work, "project")


def children(root):
    return {s["name"]: s for s in spans
            if s["service"] == "dt-task" and s["trace_id"] == root["trace_id"]
            and s["parent_span_id"] == root["span_id"]}


def attr(span, key):
    value = (span or {}).get("attributes", {}).get(key)
    return None if value is None else str(value).lower()


roots = [s for s in spans if s["service"] == "dt"]
ci_roots = [r for r in roots if r["name"] == "ci:all"]
fail_roots = [r for r in roots if r["name"] == "app:fail" and r["attributes"].get("dt.args") == "app:fail"]

check("dt ci:all exits 0 (first run)", rc["1"] == "0", f"exit {rc['1']}")
check("dt ci:all exits 0 (second run)", rc["2"] == "0", f"exit {rc['2']}")
check("dt app:fail exits with the task's status 3", rc["3"] == "3", f"exit {rc['3']}")
check("otel-span exits 0", rc["4"] == "0", f"exit {rc['4']}")
check("spans were received", len(spans) > 0, "the recorder got no trace export")
check("two dt roots named ci:all and one app:fail",
      len(ci_roots) == 2 and len(fail_roots) == 1, f"dt spans: {[r['name'] for r in roots]}")

# The first ci:all run is the one where app:build really ran.
first = next((r for r in ci_roots if attr(children(r).get("app:build"), "task.cached") == "false"), None)
second = next((r for r in ci_roots if r is not first), None)
check("first run: app:build is a dt-task child of the dt root with task.cached=false",
      first is not None, f"children: {[ {n: attr(s, 'task.cached') for n, s in children(r).items()} for r in ci_roots]}")
if first:
    kids = children(first)
    check("dt root has dt.args=ci:all", first["attributes"].get("dt.args") == "ci:all",
          f"attributes {first['attributes']}")
    check("dt root has no parent", first["parent_span_id"] in ("", "0" * 16), first["parent_span_id"])
    check("dt root resource has devenv.root", first["resource"].get("devenv.root") == project,
          f"resource {first['resource']}")
    check("first run: app:lint is a child with task.cached=true", attr(kids.get("app:lint"), "task.cached") == "true",
          f"children {list(kids)}")
    check("first run: exactly the four tasks as children",
          sorted(kids) == ["app/build", "app:build", "app:lint", "it's a \"$odd\" task"], f"{sorted(kids)}")
    env1 = env_of("1")
    parts = env1.get("TRACEPARENT", "").split("-")
    check("devenv got TRACEPARENT of the dt root",
          len(parts) == 4 and parts[1] == first["trace_id"] and parts[2] == first["span_id"],
          f"TRACEPARENT={env1.get('TRACEPARENT')!r}")
    check("devenv got DEVENV_TRACE_DEFAULT_TO set and empty",
          "DEVENV_TRACE_DEFAULT_TO" in env1 and env1["DEVENV_TRACE_DEFAULT_TO"] == "",
          repr(env1.get("DEVENV_TRACE_DEFAULT_TO")))
    # devenv runs under `otelctl relay`: the tasks' spans go to the relay, which forwards them
    # (adopted into dt's trace) to the endpoint dt had: the recorder, where they were found above.
    relay = env1.get("OTELCTL_RELAY_ENDPOINT", "")
    check("devenv runs under dt's relay (OTEL_EXPORTER_OTLP_ENDPOINT = OTELCTL_RELAY_ENDPOINT, a loopback port)",
          relay.startswith("http://127.0.0.1:") and env1.get("OTEL_EXPORTER_OTLP_ENDPOINT") == relay,
          f"OTELCTL_RELAY_ENDPOINT={relay!r}, OTEL_EXPORTER_OTLP_ENDPOINT={env1.get('OTEL_EXPORTER_OTLP_ENDPOINT')!r}")
if second:
    check("second run: app:build is cached (task.cached=true)",
          attr(children(second).get("app:build"), "task.cached") == "true",
          f"children {[(n, attr(s, 'task.cached')) for n, s in children(second).items()]}")
    check("the two runs are separate traces", first is None or second["trace_id"] != first["trace_id"])
check("app:build ran once (the key skipped the second run)",
      read("project/build.log").count("built") == 1, repr(read("project/build.log")))
check("app/build has its own stamp: it ran once too, not skipped by app:build's",
      read("project/build2.log").count("built") == 1, repr(read("project/build2.log")))
check("a task named with $, quotes and spaces is cached by its key",
      read("project/odd.log").count("odd") == 1, repr(read("project/odd.log")))
stamps = os.path.join(project, ".devenv", "state", "otel-task-cache")
names = sorted(os.listdir(stamps)) if os.path.isdir(stamps) else []
expected_stamps = sorted(hashlib.sha256(n.encode()).hexdigest() for n in ("app:build", "app/build", "it's a \"$odd\" task"))
check("stamps are named by the sha256 of the task name", names == expected_stamps, f"{names}")
check("the cache key was recorded",
      read("project/.devenv/state/otel-task-cache/" + hashlib.sha256(b"app:build").hexdigest()).strip() == "v1")

if fail_roots:
    root = fail_roots[0]
    kid = children(root).get("app:fail")
    check("app:fail: child span with task.cached=false", attr(kid, "task.cached") == "false", f"{kid}")
    check("app:fail: child exit.code=3", attr(kid, "exit.code") == "3", f"{(kid or {}).get('attributes')}")
    check("app:fail: root exit.code=3", attr(root, "exit.code") == "3", f"{root['attributes']}")
    check("app:fail: dt.args=app:fail", root["attributes"].get("dt.args") == "app:fail", f"{root['attributes']}")

compat = [s for s in spans if s["service"] == "compat-svc" and s["name"] == "compat-span"]
check("otel-span SERVICE NAME --attr k=v: span with the attribute",
      len(compat) == 1 and compat[0]["attributes"].get("k") == "v", f"{compat}")

# enterShell: shell:entry (service "shell") with the env export as its child, the caller's
# TRACEPARENT kept as the parent of shell:entry and restored afterwards.
caller_trace = "0af7651916cd43dd8448eb211c80319c"
shell_spans = [s for s in spans if s["service"] == "shell"]
shell = {s["name"]: s for s in shell_spans if s["trace_id"] == caller_trace}
entry, env_span = shell.get("shell:entry"), shell.get("otelctl env")
check("enterShell exits 0", rc.get("5") == "0", f"exit {rc.get('5')}")
check("enterShell: a shell:entry span and an 'otelctl env' span (service shell)",
      entry is not None and env_span is not None, f"shell spans: {sorted(shell)}")
if entry and env_span:
    check("enterShell: 'otelctl env' is a child of shell:entry",
          env_span["parent_span_id"] == entry["span_id"] and env_span["trace_id"] == entry["trace_id"],
          f"{env_span['parent_span_id']} vs {entry['span_id']}")
    check("enterShell: shell:entry continues the caller's trace",
          entry["trace_id"] == "0af7651916cd43dd8448eb211c80319c", entry["trace_id"])
lines = read("shell.vars").splitlines()
check("enterShell: the caller's TRACEPARENT is restored",
      lines[:1] == ["00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"], f"{lines}")
check("enterShell: OTEL_EXPORTER_OTLP_ENDPOINT is exported",
      len(lines) > 1 and lines[1].startswith("http://127.0.0.1:"), f"{lines}")

# dt passes devenv's options through; clap (here the stand-in) rejects a repeated --mode.
def argv_of(run):
    return read(f"env.{run}.argv").splitlines()


check("dt app:fail exits with devenv's status 3", rc["3"] == "3", f"exit {rc['3']}")
check("dt app:fail: devenv got --mode before once", argv_of("3") == ["tasks", "run", "--mode", "before", "app:fail"],
      f"{argv_of('3')}")
check("dt app:fail --mode single: devenv got the user's --mode only, and its status is dt's",
      argv_of("6") == ["tasks", "run", "app:fail", "--mode", "single"] and rc["6"] == "3",
      f"argv {argv_of('6')}, exit {rc['6']}")
check("dt --mode=single app:fail: no second --mode",
      argv_of("7") == ["tasks", "run", "--mode=single", "app:fail"] and rc["7"] == "3",
      f"argv {argv_of('7')}, exit {rc['7']}")
mode_roots = [r for r in roots if r["name"] == "app:fail" and r is not (fail_roots[0] if fail_roots else None)]
check("the span is named after the task, not an option",
      sorted(r["attributes"].get("dt.args") for r in mode_roots) == ["--mode=single app:fail", "app:fail --mode single"],
      f"{[(r['name'], r['attributes'].get('dt.args')) for r in mode_roots]}")
help_out = read("out.8")
check("dt --help exits 0 and says what dt does",
      rc["8"] == "0" and "usage: dt TASK" in help_out and "--mode before" in help_out and "otelctl relay" in help_out,
      f"exit {rc['8']}: {help_out[:200]!r}")
env9 = env_of("9")
check("dt leaves an inherited OTEL_RESOURCE_ATTRIBUTES as it was",
      rc["9"] == "0" and env9.get("OTEL_RESOURCE_ATTRIBUTES") == "team=a",
      f"exit {rc['9']}, {env9.get('OTEL_RESOURCE_ATTRIBUTES')!r}")

env13 = env_of("13")
check("OTELCTL_DEVENV_TRACE=otlp-grpc: devenv exports its own spans to the relay (DEVENV_TRACE_TO), default off",
      rc["13"] == "0" and env13.get("DEVENV_TRACE_TO") == "otlp-grpc:" + env13.get("OTELCTL_RELAY_ENDPOINT", "-")
      and env13.get("DEVENV_TRACE_DEFAULT_TO") == "",
      f"exit {rc['13']}, DEVENV_TRACE_TO={env13.get('DEVENV_TRACE_TO')!r}, relay={env13.get('OTELCTL_RELAY_ENDPOINT')!r}")

# Shell entries: only real ones are traced; the environment is exported either way.
entries = [s for s in spans if s["service"] == "shell" and s["name"] == "shell:entry"]
check("enterShell: two shell:entry spans (plain hook, DEVENV_CMDLINE=shell), none for the captures",
      len(entries) == 2, f"{len(entries)} shell:entry spans")
for run, what in (("10", "DEVENV_SKIP_TASKS=1 (devenv 2.x capture)"), ("11", "DEVENV_CMDLINE='--verbose up' (devenv 1.x)")):
    check(f"enterShell under {what}: exits 0 and exports the environment",
          rc[run] == "0" and read(f"shell.{run}").startswith("http://127.0.0.1:"),
          f"exit {rc[run]}, {read(f'shell.{run}')!r}")
check("enterShell under DEVENV_CMDLINE=shell exits 0", rc["12"] == "0", f"exit {rc['12']}")

sys.exit(1 if failures else 0)
