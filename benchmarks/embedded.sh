#!/usr/bin/env bash
# Load test of `otelctl up --embedded`, beside the real Collector.
#
# Part 1, throughput: the embedded receiver and the real Collector (scripts/e2e-build --only
# collector; skipped with a note when it cannot be built) on free loopback ports, each flooded
# by benchmarks/embedded_load.rs (CLIENTS keep-alive connections, OTLP/JSON, 1 and 1000 spans
# per request); spans/s and the server's peak RSS (VmHWM).
# Part 2, bounded memory: benchmarks/embedded_load.py floods the embedded server for ROUNDS
# rounds and prints what it holds and its RSS after each.
#
# Writes benchmarks/results/embedded-$LABEL.md (LABEL defaults to the short commit id).
# Usage: benchmarks/embedded.sh [ROUNDS] [SPANS_PER_ROUND]
# Env: MEMORY=0 (throughput only), OTELCTL_BIN (a built otelctl; default: build the release binary), OTELCTL_BIN_BEFORE (an
# older build measured in the same run, for before/after tables: its rows alternate with the
# new build's, and its memory scenarios run too), CLIENTS (4), SMALL_SPANS (200000, sent 1 per
# request), BIG_SPANS (2000000, 1000 per request), THROUGHPUT_ROUNDS (4: every server in turn, every other round in the opposite order)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-8}
PER_ROUND=${2:-100000}
CLIENTS=${CLIENTS:-4}
SMALL_SPANS=${SMALL_SPANS:-200000}
BIG_SPANS=${BIG_SPANS:-2000000}
THROUGHPUT_ROUNDS=${THROUGHPUT_ROUNDS:-4}
LABEL=${LABEL:-$(git rev-parse --short HEAD)}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
if [[ -z "${OTELCTL_BIN:-}" ]]; then cargo build --release --quiet -p otelctl; fi
BIN=${OTELCTL_BIN:-$CARGO_TARGET_DIR/release/otelctl}
WORK=$(mktemp -d)
trap 'kill "${PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
rustc --edition 2021 -O -o "$WORK/load" benchmarks/embedded_load.rs
COLLECTOR=${OTELCTL_COLLECTOR_BIN:-$(scripts/e2e-build --only collector 2>/dev/null | sed -n 's/^OTELCTL_COLLECTOR_BIN=//p' || true)}

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

wait_port() { # PORT
  for _ in $(seq 400); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# Stops the server under test and writes back what it left dirty, so its files are not written
# back (on the machine's two cores) while the next server is measured.
stop_server() { kill -TERM "$PID"; wait "$PID" || true; sync; }

hwm() { awk '/^VmHWM:/ {printf "%d", $2 / 1024}' "/proc/$1/status"; }

start_embedded() { # BASE FLAGS...
  local base=$1; shift
  rm -rf "$WORK/root"; mkdir -p "$WORK/root"
  HOME=$WORK OTELCTL_MODE=local "${RUN_BIN:-$BIN}" --root "$WORK/root" --base-port "$base" up --embedded "$@" \
    >"$WORK/up.out" 2>"$WORK/up.err" &
  PID=$!
  for _ in $(seq 200); do grep -q ready "$WORK/up.out" 2>/dev/null && break; sleep 0.05; done
  grep -q ready "$WORK/up.out" || { cat "$WORK/up.err"; exit 1; }
}

start_collector() { # PORT
  cat >"$WORK/collector.yaml" <<YAML
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:$1
processors:
  batch: {}
exporters:
  debug:
    verbosity: basic
    sampling_initial: 1
    sampling_thereafter: 1000
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [debug]
YAML
  "$COLLECTOR" --config "$WORK/collector.yaml" >"$WORK/collector.log" 2>&1 &
  PID=$!
  wait_port "$1" || { cat "$WORK/collector.log"; exit 1; }
}

load_average() { cut -d' ' -f1 /proc/loadavg; }

throughput_row() { # NAME PORT
  local name=$1 port=$2 small big before
  before=$(load_average)
  small=$("$WORK/load" "127.0.0.1:$port" "$CLIENTS" 1 "$SMALL_SPANS")
  big=$("$WORK/load" "127.0.0.1:$port" "$CLIENTS" 1000 "$BIG_SPANS")
  printf '| %s | %s | %s | %s | %s-%s |\n' "$name" "$(cut -d' ' -f3 <<<"$small")" "$(cut -d' ' -f3 <<<"$big")" "$(hwm "$PID")" "$before" "$(load_average)"
}

run() { # TITLE SCENARIO EXTRA_FLAGS...
  local title=$1 scenario=$2; shift 2
  local base; base=$(free_base)
  start_embedded "$base" "$@"
  printf '\n### %s\n\n`%s up --embedded %s` (load average %s)\n\n' "$title" "$(basename "${RUN_BIN:-$BIN}")" "$*" "$(load_average)"
  python3 benchmarks/embedded_load.py "$PID" "$base" "$((base + 3))" "$scenario" "$ROUNDS" "$PER_ROUND"
  stop_server
  printf '\nOn disk after stop: %s\n' "$(du -sh "$WORK/root/.devenv/otel/embedded" | cut -f1)"
}

mkdir -p benchmarks/results
{
  echo "# Embedded server load test ($LABEL)"
  echo
  echo "Produced by \`benchmarks/embedded.sh $ROUNDS $PER_ROUND\` at $LABEL on $(date -u +%Y-%m-%d) ($(nproc) cores, $(uname -m)); release build."
  echo
  echo "## Throughput beside the real Collector"
  echo
  echo "$CLIENTS clients, one keep-alive connection each, OTLP/JSON, ~250-byte spans, 10 per trace;"
  echo "$SMALL_SPANS spans sent one per request, $BIG_SPANS sent 1000 per request. Peak RSS is VmHWM after both runs."
  echo
  echo "$THROUGHPUT_ROUNDS rounds; in each, every server in turn (started fresh; every other round in the opposite order), so"
  echo "before and after are minutes apart under the same load; after each server stops, \`sync\` writes back what it left dirty."
  echo "Load average is the 1-minute figure before and after the row."
  echo
  echo "| server | spans/s, 1 span/request | spans/s, 1000 spans/request | peak RSS MiB | load average |"
  echo "|---|---:|---:|---:|---|"
  has_durability=$("$BIN" up --help | grep -c -- --durability || true)
  row() { # KIND: before, fsync, write, collector
    local base; base=$(free_base)
    case $1 in
      before)
        [[ -n "${OTELCTL_BIN_BEFORE:-}" ]] || return 0
        RUN_BIN=$OTELCTL_BIN_BEFORE start_embedded "$base"
        throughput_row "before: $(basename "$OTELCTL_BIN_BEFORE") up --embedded" "$base" ;;
      fsync)
        start_embedded "$base"
        throughput_row "otelctl up --embedded (default caps)" "$base" ;;
      write)
        [[ "$has_durability" != 0 ]] || return 0
        start_embedded "$base" --durability write
        throughput_row "otelctl up --embedded --durability write" "$base" ;;
      collector)
        if [[ -z "$COLLECTOR" || ! -x "$COLLECTOR" ]]; then
          [[ "$round" == 1 ]] && echo "| Collector | not measured: scripts/e2e-build --only collector failed | | | |"
          return 0
        fi
        start_collector "$base"
        throughput_row "Collector $(basename "$COLLECTOR") (batch, debug exporter)" "$base" ;;
    esac
    stop_server
  }
  for round in $(seq "$THROUGHPUT_ROUNDS"); do
    # Every other round in the opposite order, so no server always follows the same one.
    if (( round % 2 )); then order="before fsync write collector"; else order="collector write fsync before"; fi
    for kind in $order; do row "$kind"; done
  done
  if [[ "${MEMORY:-1}" == 0 ]]; then exit 0; fi
  echo
  echo "## Bounded memory under a flood"
  echo
  echo "Each request carries 1000 spans of ~250 bytes of OTLP/JSON; one client, one keep-alive connection."
  echo "RSS is the server's resident memory after each round (VmRSS), peak is VmHWM."
  scenarios() {
    run "Many traces (10 spans each), default caps: 1000 traces, 64 MiB" many
    run "Many traces, byte cap binding: --max-traces 100000 --max-mb 16" many --max-traces 100000 --max-mb 16
    run "One trace receiving every span, --max-mb 16" one --max-mb 16
  }
  if [[ -n "${OTELCTL_BIN_BEFORE:-}" ]]; then
    echo
    echo "#### Before: $(basename "$OTELCTL_BIN_BEFORE")"
    RUN_BIN=$OTELCTL_BIN_BEFORE scenarios
    echo
    echo "#### After: $(basename "$BIN") (default durability)"
  fi
  scenarios
} | tee "benchmarks/results/embedded-$LABEL.md"
# benchmarks/embedded.md is written by hand from these results (before/after tables, reading).
