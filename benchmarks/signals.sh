#!/usr/bin/env bash
# Ingest of logs and metrics: `otelctl up --embedded` (stored in SQLite, answered after commit)
# beside the real Collector (scripts/e2e-build --only collector: otlp receiver, batch processor,
# debug exporter, logs and metrics pipelines), in the same run.
#
# benchmarks/signals_load.rs floods each server: CLIENTS keep-alive connections, OTLP/JSON,
# log records or metric data points at BATCHES items per request (1, 100, 512: one record per
# request as a chatty app's simple processor sends, 100, and 512, the SDKs' default batch);
# records/s and data points/s, and the server's peak RSS (VmHWM) after all its rows.
# ROUNDS rounds, every server in turn (fresh each time; every other round in the opposite order).
#
# Writes benchmarks/results/signals-$LABEL.md (LABEL defaults to the short commit id).
# Usage: benchmarks/signals.sh
# Env: OTELCTL_BIN (default: build the release binary), OTELCTL_COLLECTOR_BIN, CLIENTS (4),
# ROUNDS (2), BATCHES ("1 100 512"), TOTAL_1 (8000 items at 1 per request), TOTAL_N (200000).
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS=${CLIENTS:-4}
ROUNDS=${ROUNDS:-2}
BATCHES=${BATCHES:-1 100 512}
TOTAL_1=${TOTAL_1:-8000}
TOTAL_N=${TOTAL_N:-200000}
LABEL=${LABEL:-$(git rev-parse --short HEAD)}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
if [[ -z "${OTELCTL_BIN:-}" ]]; then cargo build --release --quiet -p otelctl; fi
BIN=${OTELCTL_BIN:-$CARGO_TARGET_DIR/release/otelctl}
WORK=$(mktemp -d)
trap 'kill "${PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
rustc --edition 2021 -O -o "$WORK/load" benchmarks/signals_load.rs
COLLECTOR=${OTELCTL_COLLECTOR_BIN:-$(scripts/e2e-build --only collector 2>/dev/null | sed -n 's/^OTELCTL_COLLECTOR_BIN=//p' || true)}

free_base() {
  python3 - <<'PY'
import random, socket
for _ in range(500):
    base = random.randint(10000, 32000)
    ok = True
    for o in range(8):
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

stop_server() { kill -TERM "$PID"; wait "$PID" || true; sync; }
hwm() { awk '/^VmHWM:/ {printf "%d", $2 / 1024}' "/proc/$1/status"; }
load_average() { cut -d' ' -f1 /proc/loadavg; }

start_embedded() { # BASE
  rm -rf "$WORK/root"; mkdir -p "$WORK/root"
  HOME=$WORK OTELCTL_MODE=local "$BIN" --root "$WORK/root" --base-port "$1" up --embedded \
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
    logs:
      receivers: [otlp]
      processors: [batch]
      exporters: [debug]
    metrics:
      receivers: [otlp]
      processors: [batch]
      exporters: [debug]
YAML
  "$COLLECTOR" --config "$WORK/collector.yaml" >"$WORK/collector.log" 2>&1 &
  PID=$!
  wait_port "$1" || { cat "$WORK/collector.log"; exit 1; }
}

# One server: every signal at every batch size; one table row.
row() { # KIND
  local base port cells=() before
  base=$(free_base); port=$base
  case $1 in
    embedded) start_embedded "$base" ;;
    collector) [[ -n "$COLLECTOR" ]] || return 0; start_collector "$port" ;;
  esac
  before=$(load_average)
  for signal in logs metrics; do
    for batch in $BATCHES; do
      local total=$TOTAL_N
      [[ $batch == 1 ]] && total=$TOTAL_1
      cells+=("$("$WORK/load" "127.0.0.1:$port" "$signal" "$CLIENTS" "$batch" "$total" | cut -d' ' -f3)")
    done
  done
  local rss; rss=$(hwm "$PID")
  if [[ $1 == embedded ]]; then
    local db="$WORK/root/.devenv/otel/embedded"
    rss="$rss (db $(du -sh "$db" | cut -f1))"
  fi
  stop_server
  local name="otelctl up --embedded"
  [[ $1 == collector ]] && name="Collector $(basename "$COLLECTOR")"
  printf '| %s |' "$name"
  printf ' %s |' "${cells[@]}"
  printf ' %s | %s-%s |\n' "$rss" "$before" "$(load_average)"
}

mkdir -p benchmarks/results
OUT=benchmarks/results/signals-$LABEL.md
{
  echo "# Logs and metrics ingest ($LABEL)"
  echo
  echo "Produced by \`benchmarks/signals.sh\` at $LABEL on $(date -u +%Y-%m-%d) ($(nproc) cores, $(uname -m)); release build."
  echo "$CLIENTS clients, one keep-alive connection each, OTLP/JSON; $TOTAL_1 items at 1 per request, $TOTAL_N at"
  echo "100 and 512. Items/s per cell (log records/s, then metric data points/s); peak RSS (VmHWM) after all"
  echo "of a server's cells; the 1-minute load average before and after the row."
  [[ -n "$COLLECTOR" ]] || echo "The Collector could not be built here: its rows are missing."
  echo
  head="| server |"; rule="|---|"
  for s in "records/s" "points/s"; do for b in $BATCHES; do head="$head $s, $b/req |"; rule="$rule---:|"; done; done
  echo "$head peak RSS MiB | load average |"
  echo "$rule---|---|"
  for round in $(seq "$ROUNDS"); do
    if (( round % 2 )); then order="embedded collector"; else order="collector embedded"; fi
    for kind in $order; do row "$kind"; done
  done
} | tee "$OUT"
echo "wrote $OUT" >&2
