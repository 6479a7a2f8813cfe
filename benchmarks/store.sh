#!/usr/bin/env bash
# The embedded store (otelctl-store, SQLite) beside the store before it and the real Collector.
#
# Part 1, ingest: the embedded server of this build, of OTELCTL_BIN_BEFORE (the store before:
# trace files + write-ahead log) and the real Collector (scripts/e2e-build --only collector;
# batch processor, debug exporter: it stores nothing), each flooded by
# benchmarks/embedded_load.rs (CLIENTS keep-alive connections, OTLP/JSON, ~250-byte spans, 10 per
# trace) at 1, 100, 512 and 1000 spans per request, default durability (fsync). ROUNDS rounds,
# every server in turn, every other round in the opposite order. Peak RSS (VmHWM) per run, and
# for the stores the database size per million spans after the run.
# Part 2, queries: the store filled with 100,000 traces / 2,000,000 spans
# (crates/otelctl-store/examples/populate.rs), then the viewer's pages and API, `otelctl traces`
# (process start included), and the store's own queries (examples/query.rs); then both stores
# with 1,000 traces / 20,000 spans sent over OTLP/HTTP (benchmarks/store_queries.py populate).
#
# Writes benchmarks/results/store-$LABEL.md. Env: OTELCTL_BIN (a built otelctl, else the release
# build), OTELCTL_BIN_BEFORE (required for the before rows), OTELCTL_COLLECTOR_BIN, CLIENTS (4),
# ROUNDS (2), QUERY_ROUNDS (50), BIG_TRACES (100000), SKIP_INGEST=1, SKIP_QUERIES=1.
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS=${CLIENTS:-4}
ROUNDS=${ROUNDS:-2}
QUERY_ROUNDS=${QUERY_ROUNDS:-50}
BIG_TRACES=${BIG_TRACES:-100000}
LABEL=${LABEL:-$(git rev-parse --short HEAD)}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
if [[ -z "${OTELCTL_BIN:-}" ]]; then cargo build --release --quiet -p otelctl; fi
cargo build --release --quiet -p otelctl-store --example populate --example query
BIN=${OTELCTL_BIN:-$CARGO_TARGET_DIR/release/otelctl}
BEFORE=${OTELCTL_BIN_BEFORE:-}
WORK=$(mktemp -d)
trap 'kill "${PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
rustc --edition 2021 -O -o "$WORK/load" benchmarks/embedded_load.rs
COLLECTOR=${OTELCTL_COLLECTOR_BIN:-$(scripts/e2e-build --only collector 2>/dev/null | sed -n 's/^OTELCTL_COLLECTOR_BIN=//p' || true)}

free_base() {
  python3 - <<'PY'
import random, socket
for _ in range(500):
    base = random.randint(20000, 30000)
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

hwm() { awk '/^VmHWM:/ {printf "%d", $2 / 1024}' "/proc/$1/status"; }
load_average() { cut -d' ' -f1 /proc/loadavg; }
stop_server() { kill -TERM "$PID"; wait "$PID" || true; sync; }

start_embedded() { # BIN BASE [ROOT]
  local bin=$1 base=$2 root=${3:-$WORK/root}
  [[ -n "${3:-}" ]] || { rm -rf "$root"; mkdir -p "$root"; }
  HOME=$WORK OTELCTL_MODE=local "$bin" --root "$root" --base-port "$base" up --embedded \
    >"$WORK/up.out" 2>"$WORK/up.err" &
  PID=$!
  for _ in $(seq 600); do grep -q ready "$WORK/up.out" 2>/dev/null && break; sleep 0.05; done
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
  for _ in $(seq 400); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done
  cat "$WORK/collector.log"; exit 1
}

total_for() { # SPANS_PER_REQUEST: enough requests for a few seconds each
  case $1 in 1) echo 20000 ;; 100) echo 300000 ;; *) echo 500000 ;; esac
}

ingest_row() { # KIND PER_REQUEST
  local kind=$1 per=$2 base name result size=""
  base=$(free_base)
  case $kind in
    after) start_embedded "$BIN" "$base"; name="SQLite store (this build)" ;;
    before)
      [[ -n "$BEFORE" ]] || return 0
      start_embedded "$BEFORE" "$base"; name="store before (files + log)" ;;
    collector)
      [[ -n "$COLLECTOR" && -x "$COLLECTOR" ]] || return 0
      start_collector "$base"; name="Collector (batch, debug exporter)" ;;
  esac
  local before_load; before_load=$(load_average)
  result=$("$WORK/load" "127.0.0.1:$base" "$CLIENTS" "$per" "$(total_for "$per")")
  local rss; rss=$(hwm "$PID")
  stop_server
  if [[ $kind != collector ]]; then
    local spans bytes
    spans=$(cut -d' ' -f1 <<<"$result")
    bytes=$(du -sb "$WORK/root/.devenv/otel/embedded" | cut -f1)
    size=$(python3 -c "print(f'{$bytes / $spans:.0f} B/span, {$bytes / $spans * 1e6 / 2**20:.0f} MiB per million')")
  fi
  printf '| %s | %s | %s | %s | %s | %s-%s |\n' "$name" "$per" "$(cut -d' ' -f3 <<<"$result")" "$rss" "${size:--}" "$before_load" "$(load_average)"
}

mkdir -p benchmarks/results
{
  echo "# Store benchmark ($LABEL)"
  echo
  echo "Produced by \`benchmarks/store.sh\` on $(date -u +%Y-%m-%dT%H:%MZ) ($(nproc) cores, $(uname -m)); release builds."
  echo "This build: $(basename "$BIN"); before: ${BEFORE:-not measured}; Collector: ${COLLECTOR:-not measured}."
  echo
  if [[ -z "${SKIP_INGEST:-}" ]]; then
    echo "## Ingest"
    echo
    echo "$CLIENTS clients, one keep-alive connection each, OTLP/JSON, ~250-byte spans, 10 per trace; default"
    echo "durability (answer after the commit is synced). $ROUNDS rounds, every server in turn (every other round in"
    echo "the opposite order). The stores' size is their directory after the run (the old store keeps at most 1,000"
    echo "traces / 64 MiB by default, so its figure is for what it kept). Load average: 1-minute, before and after."
    echo
    echo "| server | spans/request | spans/s | peak RSS MiB | size on disk | load average |"
    echo "|---|---:|---:|---:|---|---|"
    for round in $(seq "$ROUNDS"); do
      if (( round % 2 )); then order="before after collector"; else order="collector after before"; fi
      for per in 1 100 512 1000; do
        for kind in $order; do ingest_row "$kind" "$per"; done
      done
    done
    echo
  fi
  if [[ -z "${SKIP_QUERIES:-}" ]]; then
    echo "## Queries at $BIG_TRACES traces / $((BIG_TRACES * 20)) spans (this build)"
    echo
    rm -rf "$WORK/big"; mkdir -p "$WORK/big/.devenv/otel/embedded"
    echo "Filled by the populate example: $("$CARGO_TARGET_DIR/release/examples/populate" "$WORK/big/.devenv/otel/embedded" "$BIG_TRACES" 20)."
    echo "Database: $(du -sh "$WORK/big/.devenv/otel/embedded" | cut -f1). Load average $(load_average)."
    echo
    echo "Through the running server (one keep-alive connection; \`otelctl traces\` is a process asking it), ms:"
    echo
    echo "| query | median | p95 |"
    echo "|---|---:|---:|"
    base=$(free_base)
    start_embedded "$BIN" "$base" "$WORK/big"
    python3 benchmarks/store_queries.py time "$BIN" "$WORK/big" "$WORK" "$base" "$QUERY_ROUNDS"
    echo
    stop_server
    t0=$(date +%s.%N); start_embedded "$BIN" "$base" "$WORK/big"; t1=$(date +%s.%N)
    echo "Server start on this store (exec to ready: open, \`quick_check\`, bind): $(python3 -c "print(f'{$t1 - $t0:.2f} s')")."
    stop_server
    echo
    echo "The store's own queries (read-only connection, no HTTP), ms:"
    echo
    echo "| query | median | p95 |"
    echo "|---|---:|---:|"
    "$CARGO_TARGET_DIR/release/examples/query" "$WORK/big/.devenv/otel/embedded" "$QUERY_ROUNDS"
    echo
    echo "## Queries at 1,000 traces / 20,000 spans, beside the store before"
    echo
    for kind in after before; do
      [[ $kind == before && -z "$BEFORE" ]] && continue
      bin=$BIN; [[ $kind == before ]] && bin=$BEFORE
      base=$(free_base)
      start_embedded "$bin" "$base"
      python3 benchmarks/store_queries.py populate "$base" 1000 20
      echo "### $([[ $kind == after ]] && echo 'SQLite store (this build)' || echo 'store before (files + log)') (load average $(load_average))"
      echo
      echo "| query | median | p95 |"
      echo "|---|---:|---:|"
      python3 benchmarks/store_queries.py time "$bin" "$WORK/root" "$WORK" "$base" "$QUERY_ROUNDS"
      echo "| peak RSS of the server, MiB | $(hwm "$PID") | |"
      stop_server
      echo
    done
  fi
} | tee "benchmarks/results/store-$LABEL.md"
# benchmarks/store.md is written by hand from these results.
