#!/usr/bin/env bash
# The explorer with the embedded store full: `otelctl up --embedded` (default caps: 1000 traces,
# 64 MiB) is filled by benchmarks/explorer_load.py (1100 traces of 120 spans), then the list and
# its filters, /api/search, the trace, compare and history pages and `otelctl traces` are timed
# (REPEAT runs each, median and p95) and their page weight recorded.
#
# Writes benchmarks/results/explorer-$LABEL.md (LABEL defaults to the short commit id).
# Usage: benchmarks/explorer.sh [TRACES] [SPANS_PER_TRACE]
# Env: OTELCTL_BIN (a built otelctl; default: build the release binary), REPEAT (15)
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
)
cd "$WORK"
HOME="$WORK" OTELCTL_MODE=local "$BIN" --root "$WORK" --base-port "$BASE" up --embedded --durability write >"$WORK/up.log" 2>&1 &
PID=$!
for _ in $(seq 400); do
  (exec 3<>"/dev/tcp/127.0.0.1/$((BASE + 3))") 2>/dev/null && break
  sleep 0.05
done
cd - >/dev/null
OUT=benchmarks/results/explorer-$LABEL.md
{
  echo "# explorer at $LABEL ($(date -u +%Y-%m-%d), $(nproc) cores, release build)"
  echo
  HOME="$WORK" OTELCTL_MODE=local python3 benchmarks/explorer_load.py "$BASE" "$((BASE + 3))" "$BIN" "$BASE" "$@"
} | tee "$OUT"
echo "wrote $OUT"
