#!/usr/bin/env bash
# What one durable log append costs on this disk, by how the log file is written (appended,
# overwritten in place, fallocate'd; fdatasync or O_DSYNC): benchmarks/wal_sync.rs, the modes
# taking turns. Run in a directory on the disk the project's .devenv is on (default: a
# temporary directory in this checkout). Writes benchmarks/results/wal-sync-$LABEL.md.
# Usage: benchmarks/wal_sync.sh [ROUNDS]   Env: WAL_SYNC_DIR, LABEL (default: short commit id),
# CHURN=1 (beside the measurement, a loop writes 64 KiB files, renames and deletes them without
# syncing, 2,000 names in turn: disk traffic like a build's)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-4}
LABEL=${LABEL:-$(git rev-parse --short HEAD)}
WORK=$(mktemp -d)
DIR=$(mktemp -d -p "${WAL_SYNC_DIR:-$PWD}" .wal-sync.XXXXXX)
CHURN_PID=
# (Only a churn loop that was started: `kill 0` would signal this script's whole process group.)
trap 'if [[ -n "$CHURN_PID" ]]; then kill "$CHURN_PID" 2>/dev/null || true; fi; rm -rf "$WORK" "$DIR"' EXIT
rustc --edition 2021 -O -o "$WORK/wal_sync" benchmarks/wal_sync.rs
if [[ "${CHURN:-0}" == 1 ]]; then
  mkdir "$DIR/churn"
  python3 - "$DIR/churn" <<'PY' &
import os, sys
d, i, data = sys.argv[1], 0, os.urandom(64 * 1024)
while True:
    p = f"{d}/f{i % 2000}.tmp"
    with open(p, "wb") as f:
        f.write(data)
    os.rename(p, f"{d}/f{i % 2000}.o")
    if i % 3 == 0 and os.path.exists(f"{d}/f{(i + 1000) % 2000}.o"):
        os.unlink(f"{d}/f{(i + 1000) % 2000}.o")
    i += 1
PY
  CHURN_PID=$!
fi
mkdir -p benchmarks/results
{
  echo "# Durable log appends on this disk ($LABEL)"
  echo
  echo "Produced by \`benchmarks/wal_sync.sh $ROUNDS\` on $(date -u '+%Y-%m-%d %H:%M') UTC ($(nproc) cores, $(df -T "$DIR" | awk 'NR==2 {print $2}')); load average before: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Milliseconds from the start of a write until it is durable; the modes take turns, $ROUNDS rounds."
  if [[ -n "$CHURN_PID" ]]; then echo "CHURN=1: beside it, a loop wrote 64 KiB files, renamed and deleted them without syncing."; fi
  echo
  "$WORK/wal_sync" "$DIR" 400 500 "$ROUNDS"
  echo
  "$WORK/wal_sync" "$DIR" 262144 50 "$ROUNDS"
  echo
  echo "Load average after: $(cut -d' ' -f1-3 /proc/loadavg)."
} | tee "benchmarks/results/wal-sync-$LABEL.md"
