#!/usr/bin/env bash
# The logs and metrics pages with a full store: the release `otelctl up --embedded` is filled by
# benchmarks/signals_viewer_load.py (LOGS log records of 8 services, 1 in 20 with a trace id;
# METRICS metrics x 4 attribute sets x POINTS points, a third counters, a third gauges, a third
# histograms), then the logs page and its filters, the tail's rows, the metrics page and a
# chart's series are timed (REPEAT runs each over one keep-alive connection, median and p95) and
# their answers' sizes recorded.
#
# Writes benchmarks/results/signals-viewer-$LABEL.md (LABEL defaults to the short commit id).
# Usage: benchmarks/signals_viewer.sh [LOGS] [METRICS] [POINTS]
# Env: OTELCTL_BIN (a built otelctl; default: build the release binary), BUILD (what it is, for
# the heading; default "release build"), REPEAT (15)
set -euo pipefail
cd "$(dirname "$0")/.."
LABEL=${LABEL:-$(git rev-parse --short HEAD)}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
if [[ -z "${OTELCTL_BIN:-}" ]]; then cargo build --release --quiet -p otelctl; fi
BIN=${OTELCTL_BIN:-$CARGO_TARGET_DIR/release/otelctl}
WORK=$(mktemp -d)
trap 'kill "${PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
BASE=$(python3 - <<'PY'
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
)
cd "$WORK"
HOME="$WORK" OTELCTL_MODE=local "$BIN" --root "$WORK" --base-port "$BASE" up --embedded >"$WORK/up.log" 2>&1 &
PID=$!
for _ in $(seq 400); do
  (exec 3<>"/dev/tcp/127.0.0.1/$((BASE + 3))") 2>/dev/null && break
  sleep 0.05
done
cd - >/dev/null
mkdir -p benchmarks/results
OUT=benchmarks/results/signals-viewer-$LABEL.md
{
  echo "# logs and metrics pages at $LABEL ($(date -u +%Y-%m-%d), $(nproc) cores, ${BUILD:-release build}, load average $(cut -d' ' -f1 /proc/loadavg) at the start)"
  echo
  python3 benchmarks/signals_viewer_load.py "$BASE" "$((BASE + 3))" "$@"
} | tee "$OUT"
echo "wrote $OUT"
