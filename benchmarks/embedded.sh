#!/usr/bin/env bash
# Load test of `otelctl up --embedded`: memory stays bounded under a flood of spans.
# Builds the release binary, runs the embedded server on free loopback ports, floods it with
# OTLP/JSON (benchmarks/embedded_load.py: bounded request count, 127.0.0.1 only) and writes
# benchmarks/embedded.md. Usage: benchmarks/embedded.sh [ROUNDS] [SPANS_PER_ROUND]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-8}
PER_ROUND=${2:-100000}
cargo build --release --quiet
BIN=$PWD/target/release/otelctl
WORK=$(mktemp -d)
trap 'kill "${PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

free_base() {
  python3 - <<'PY'
import random, socket
for _ in range(500):
    base = random.randint(20000, 50000)
    ok = True
    for o in range(6):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", base + o))
        except OSError:
            ok = False
        finally:
            s.close()
    if ok:
        print(base); break
PY
}

run() { # TITLE SCENARIO EXTRA_FLAGS...
  local title=$1 scenario=$2; shift 2
  local base; base=$(free_base)
  rm -rf "$WORK/root"; mkdir -p "$WORK/root"
  HOME=$WORK OTELCTL_MODE=local "$BIN" --root "$WORK/root" --base-port "$base" up --embedded "$@" \
    >"$WORK/up.out" 2>"$WORK/up.err" &
  PID=$!
  for _ in $(seq 200); do grep -q ready "$WORK/up.out" 2>/dev/null && break; sleep 0.05; done
  grep -q ready "$WORK/up.out" || { cat "$WORK/up.err"; exit 1; }
  printf '\n### %s\n\n`otelctl up --embedded %s`\n\n' "$title" "$*"
  python3 benchmarks/embedded_load.py "$PID" "$base" "$((base + 3))" "$scenario" "$ROUNDS" "$PER_ROUND"
  kill -TERM "$PID"; wait "$PID" || true
  printf '\nOn disk after stop: %s\n' "$(du -sh "$WORK/root/.devenv/otel/embedded" | cut -f1)"
}

{
  echo "# Embedded server load test"
  echo
  echo "Produced by \`benchmarks/embedded.sh $ROUNDS $PER_ROUND\` on $(date -u +%Y-%m-%d) ($(nproc) cores, $(uname -m)); release build."
  echo "Each request carries 1000 spans of ~250 bytes of OTLP/JSON; one client, one keep-alive connection."
  echo "RSS is the server's resident memory after each round (VmRSS), peak is VmHWM."
  run "Many traces (10 spans each), default caps: 1000 traces, 64 MiB" many
  run "Many traces, byte cap binding: --max-traces 100000 --max-mb 16" many --max-traces 100000 --max-mb 16
  run "One trace receiving every span, --max-mb 16" one --max-mb 16
} | tee benchmarks/embedded.md.new
# The "Reading" paragraph in embedded.md is written by hand after a run: update it when re-running.
mv benchmarks/embedded.md.new benchmarks/embedded.md
