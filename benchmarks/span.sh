#!/usr/bin/env bash
# Added time of `otelctl span` vs a bare command vs `otel-cli exec`, with the collector up
# (a listener answering 200), down (connection refused) and silent (accepts, never answers).
#
#   benchmarks/span.sh            # results in benchmarks/results/span-*.json and a table on stdout
#   OTELCTL=path/to/otelctl OTELCTL_ALT=path/to/other-build benchmarks/span.sh
#                                 # a given build instead of a fresh release build, and a second
#                                 # build measured in the same runs (column "alt")
#
# Needs: hyperfine (Debian), Go (otel-cli is built from the Go module proxy into
# ${OTELCTL_BENCH_CACHE:-$HOME/.cache/otelctl-bench}), rustc (the stand-in collectors), python3.
# Not part of scripts/test: timing belongs here, not in assertions.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

RUNS=${RUNS:-300}
SILENT_RUNS=${SILENT_RUNS:-30}
CACHE=${OTELCTL_BENCH_CACHE:-$HOME/.cache/otelctl-bench}
OTEL_CLI_VERSION=${OTEL_CLI_VERSION:-v0.4.5}
OUT=benchmarks/results
mkdir -p "$OUT" "$CACHE"

apt_ensure hyperfine hyperfine
command -v hyperfine >/dev/null || { echo "hyperfine is required" >&2; exit 1; }

if [ -z "${OTELCTL:-}" ]; then
  step "building otelctl (release)"
  cargo build --release --locked --quiet -p otelctl
  OTELCTL=$PWD/target/release/otelctl
fi
OTELCTL_ALT=${OTELCTL_ALT:-}

OTEL_CLI=$CACHE/bin/otel-cli
if [ ! -x "$OTEL_CLI" ]; then
  step "building otel-cli $OTEL_CLI_VERSION"
  # `go install …@version` also asks the proxy for the module's version list (deprecation
  # check), which the proxy refuses for this module; a throwaway module that requires the
  # exact version builds the same binary without that lookup.
  mod=$(mktemp -d)
  cat >"$mod/go.mod" <<GOMOD
module otelctlbench

go 1.22

require github.com/equinix-labs/otel-cli $OTEL_CLI_VERSION
GOMOD
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/equinix-labs/otel-cli"\n' >"$mod/tools.go"
  (cd "$mod" && GOPATH=$CACHE/gopath GOFLAGS=-modcacherw go mod tidy && \
    GOPATH=$CACHE/gopath GOFLAGS=-modcacherw go build -o "$OTEL_CLI" github.com/equinix-labs/otel-cli)
  rm -rf "$mod"
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

rustc -O -o "$work/span-collector" benchmarks/span-collector.rs
"$work/span-collector" up "$work/up.port" & pids+=($!)
"$work/span-collector" silent "$work/silent.port" & pids+=($!)
for f in up silent; do
  for _ in $(seq 100); do [ -s "$work/$f.port" ] && break; sleep 0.05; done
done
UP=$(cat "$work/up.port")
SILENT=$(cat "$work/silent.port")
DOWN=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# Isolated environment: nothing from the caller's shell leaks into the measurement.
export HOME=$work/home OTEL_SPOOL_DIR=$work/spool OTELCTL_MODE=local OTELCTL_CARRIER_DIR=$work/carriers
unset TRACEPARENT TRACESTATE OTEL_EXPORTER_OTLP_TIMEOUT OTEL_SDK_DISABLED DEVENV_ROOT
mkdir -p "$HOME"

run() { # NAME PORT RUNS
  local name=$1 port=$2 runs=$3
  step "collector $name (127.0.0.1:$port)"
  OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$port \
  local alt=()
  [ -n "$OTELCTL_ALT" ] && alt=(-n alt "$OTELCTL_ALT span bench step -- true")
  hyperfine -N --warmup 10 --runs "$runs" --export-json "$OUT/span-$name.json" \
    -n bare 'true' \
    -n otelctl "$OTELCTL span bench step -- true" \
    "${alt[@]}" \
    -n otel-cli "$OTEL_CLI exec --protocol http/protobuf --endpoint http://127.0.0.1:$port -s bench -n step -- true"
}

run up "$UP" "$RUNS"
run down "$DOWN" "$RUNS"
run silent "$SILENT" "$SILENT_RUNS"

step "summary (mean ms; added = mean - bare)"
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
rows = {n: {x["command"]: x for x in json.load(open(f"{out}/span-{n}.json"))["results"]}
        for n in ["up", "down", "silent"]}
alt = all("alt" in r for r in rows.values())
print("| collector | bare | otelctl | added |" + (" alt | added |" if alt else "") + " otel-cli | added | overhead ratio |")
print("|---|---|---|---|" + ("---|---|" if alt else "") + "---|---|---|")
for name, r in rows.items():
    b, o, c = (r[k]["mean"] * 1000 for k in ("bare", "otelctl", "otel-cli"))
    ao, ac = o - b, c - b
    ratio = ac / ao if ao > 0 else float("inf")
    a = f" {r['alt']['mean'] * 1000:.2f} | {r['alt']['mean'] * 1000 - b:.2f} |" if alt else ""
    print(f"| {name} | {b:.2f} | {o:.2f} | {ao:.2f} |{a} {c:.2f} | {ac:.2f} | {ratio:.1f}x |")
PY
echo "spooled files during the run: $(ls "$OTEL_SPOOL_DIR" 2>/dev/null | grep -c '\.json$' || true)"
