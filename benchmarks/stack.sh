#!/usr/bin/env bash
# Benchmark of the local stack on the real programs:
#   1. time from `otelctl up` to every service ready (otelctl's own "stack ready" line);
#   2. time from the end of a span (its end timestamp, taken just before the export) to the
#      trace being returned by a TraceQL search on resource.service.name in Tempo.
# Target for 2: under 2 s (the peer all-in-one image is reported at about 10 s).
#
# usage: benchmarks/stack.sh [ROUNDS]            (default 10 spans per Tempo version)
# Programs: OTELCTL_COLLECTOR_BIN plus OTELCTL_TEMPO_V2_BIN and/or OTELCTL_TEMPO_V3_BIN
#   (eval "$(scripts/e2e-build --print-env)"), or OTELCTL_TEMPO_BIN for one Tempo.
# Needs curl. Talks only to 127.0.0.1. Results: benchmarks/stack.md.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-10}
: "${OTELCTL_COLLECTOR_BIN:?set OTELCTL_COLLECTOR_BIN (eval \"\$(scripts/e2e-build --print-env)\")}"
command -v curl >/dev/null || { echo "curl is required" >&2; exit 1; }

cargo build --release --quiet -p otelctl
otelctl=$PWD/target/release/otelctl

now() { date +%s.%N; }
ms_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%d", (b - a) * 1000 }'; }
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_base() {
  local base p ok
  while :; do
    base=$((20000 + RANDOM % 30000)); ok=1
    for p in $(seq "$base" $((base + 5))); do port_free "$p" || { ok=0; break; }; done
    ((ok)) && { echo "$base"; return; }
  done
}
hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

bench() {
  local label=$1 tempo=$2
  local dir base log pid t0 ready_ms
  dir=$(mktemp -d "${TMPDIR:-/tmp}/otelctl-bench.XXXXXX")
  base=$(free_base)
  log=$dir/up.log
  t0=$(now)
  OTELCTL_MODE=local "$otelctl" --root "$dir" --base-port "$base" up --no-grafana \
    --collector-bin "$OTELCTL_COLLECTOR_BIN" --tempo-bin "$tempo" >"$log" 2>&1 &
  pid=$!
  local deadline=$((SECONDS + 120))
  until grep -q "stack ready" "$log"; do
    if ((SECONDS > deadline)) || ! kill -0 "$pid" 2>/dev/null; then
      echo "stack did not become ready:" >&2; tail -n 30 "$log" >&2; kill -INT "$pid" 2>/dev/null; exit 1
    fi
    sleep 0.02
  done
  ready_ms=$(ms_since "$t0")

  local lat=() i svc tid sid end_ns start_ns t_end q found
  for i in $(seq "$rounds"); do
    svc="bench-$label-$i-$$"; tid=$(hex 16); sid=$(hex 8)
    end_ns=$(date +%s%N); start_ns=$((end_ns - 10000000)); t_end=$(now)
    curl -sf -o /dev/null -H 'Content-Type: application/json' "http://127.0.0.1:$base/v1/traces" -d \
      "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"$svc\"}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"bench\"},\"spans\":[{\"traceId\":\"$tid\",\"spanId\":\"$sid\",\"name\":\"bench\",\"kind\":1,\"startTimeUnixNano\":\"$start_ns\",\"endTimeUnixNano\":\"$end_ns\"}]}]}]}"
    q=$(printf '{ resource.service.name = "%s" }' "$svc")
    found=0; deadline=$((SECONDS + 30))
    while ((SECONDS < deadline)); do
      if curl -sf -G "http://127.0.0.1:$((base + 2))/api/search" --data-urlencode "q=$q" \
        --data-urlencode "start=$(( $(date +%s) - 600 ))" --data-urlencode "end=$(( $(date +%s) + 60 ))" \
        | grep -q "$(echo "$tid" | sed 's/^0*//')"; then found=1; break; fi
      sleep 0.05
    done
    ((found)) || { echo "span $i not searchable within 30 s" >&2; kill -INT "$pid"; exit 1; }
    lat+=("$(ms_since "$t_end")")
  done
  kill -INT "$pid"; wait "$pid" || true
  rm -rf "$dir"
  local sorted
  sorted=$(printf '%s\n' "${lat[@]}" | sort -n | tr '\n' ' ')
  printf '| %s | %s ms | %s ms | %s ms | %s ms | %s |\n' "$label" "$ready_ms" \
    "$(printf '%s\n' "${lat[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')" \
    "$(printf '%s\n' "${lat[@]}" | sort -n | tail -1)" \
    "$(printf '%s\n' "${lat[@]}" | sort -n | head -1)" "$sorted"
}

echo "| Tempo | up -> all ready | span end -> searchable (median) | max | min | all (ms) |"
echo "|---|---|---|---|---|---|"
ran=0
for v in V2 V3; do
  var=OTELCTL_TEMPO_${v}_BIN
  if [[ -n ${!var:-} ]]; then
    bench "$("${!var}" -version 2>&1 | grep -o 'version [0-9.]*' | head -1 | cut -d' ' -f2)" "${!var}"; ran=1
  fi
done
if ((ran == 0)); then
  : "${OTELCTL_TEMPO_BIN:?set OTELCTL_TEMPO_V2_BIN / OTELCTL_TEMPO_V3_BIN or OTELCTL_TEMPO_BIN}"
  bench tempo "$OTELCTL_TEMPO_BIN"
fi
echo
echo "machine: $(nproc) cores, collector $("$OTELCTL_COLLECTOR_BIN" --version 2>&1 | head -1), $rounds spans per row"
