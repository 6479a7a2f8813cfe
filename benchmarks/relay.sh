#!/usr/bin/env bash
# What `otelctl relay` (dt's per-run relay) adds to a dt run: `otelctl span dt … -- true` against
# `otelctl span dt … -- otelctl relay -- true`, with `otelctl up --embedded` as the endpoint
# (release build; hyperfine -N, warm-up 10). The relay's cost is fixed per run: bind, a one-worker
# tokio runtime, the child's environment, a graceful stop. What it adds per span (one more
# loopback hop) is measured by the second pair: a task-like `otelctl span` through the relay.
#
#   benchmarks/relay.sh          # a table on stdout; raw hyperfine JSON in benchmarks/results/
#
# Not part of scripts/test: timing belongs here, not in assertions.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

RUNS=${RUNS:-200}
OUT=benchmarks/results
mkdir -p "$OUT"
apt_ensure hyperfine hyperfine

step "building otelctl (release)"
cargo build --release --locked --quiet -p otelctl
OTELCTL=$PWD/target/release/otelctl

work=$(mktemp -d)
up_pid=
cleanup() {
  if [ -n "$up_pid" ]; then kill "$up_pid" 2>/dev/null || true; wait "$up_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

base=${BASE:-23100}
mkdir -p "$work/project" "$work/home"
HOME=$work/home "$OTELCTL" up --embedded --root "$work/project" --base-port "$base" >"$work/up.log" 2>&1 &
up_pid=$!
for _ in $(seq 200); do grep -q ready "$work/up.log" && break; sleep 0.05; done
grep -q ready "$work/up.log" || { cat "$work/up.log"; exit 1; }

export HOME=$work/home DEVENV_ROOT=$work/project OTELCTL_MODE=local OTELCTL_BASE_PORT=$base
export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$base
unset TRACEPARENT TRACESTATE DEVENV_TRACE_TO DEVENV_TRACE_DEFAULT_TO

hyperfine -N --warmup 10 --runs "$RUNS" --export-json "$OUT/relay.json" \
  -n "dt span, no relay" "$OTELCTL span dt bench -- true" \
  -n "dt span + relay" "$OTELCTL span dt bench -- $OTELCTL relay -- true" \
  -n "dt span + relay + one task span" "$OTELCTL span dt bench -- $OTELCTL relay -- $OTELCTL span dt-task t -- true" \
  -n "dt span + one task span (no relay)" "$OTELCTL span dt bench -- $OTELCTL span dt-task t -- true"

python3 - "$OUT/relay.json" <<'PY'
import json, sys
r = {x["command"]: x["mean"] * 1000 for x in json.load(open(sys.argv[1]))["results"]}
print("| run | mean ms |")
print("|---|---|")
for k, v in r.items():
    print(f"| {k} | {v:.2f} |")
print()
print(f"relay, fixed: +{r['dt span + relay'] - r['dt span, no relay']:.2f} ms per dt run")
print(f"relay, per task span: +{(r['dt span + relay + one task span'] - r['dt span + relay']) - (r['dt span + one task span (no relay)'] - r['dt span, no relay']):.2f} ms")
PY
