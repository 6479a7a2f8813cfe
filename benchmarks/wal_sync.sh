#!/usr/bin/env bash
# What one durable log append costs on this disk, by how the log file is written (appended,
# overwritten in place, fallocate'd; fdatasync or O_DSYNC): benchmarks/wal_sync.rs, the modes
# taking turns. Run in a directory on the disk the project's .devenv is on (default: a
# temporary directory in this checkout). Writes benchmarks/results/wal-sync-$LABEL.md.
# Usage: benchmarks/wal_sync.sh [ROUNDS]   Env: WAL_SYNC_DIR, LABEL (default: short commit id)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-4}
LABEL=${LABEL:-$(git rev-parse --short HEAD)}
WORK=$(mktemp -d)
DIR=$(mktemp -d -p "${WAL_SYNC_DIR:-$PWD}" .wal-sync.XXXXXX)
trap 'rm -rf "$WORK" "$DIR"' EXIT
rustc --edition 2021 -O -o "$WORK/wal_sync" benchmarks/wal_sync.rs
mkdir -p benchmarks/results
{
  echo "# Durable log appends on this disk ($LABEL)"
  echo
  echo "Produced by \`benchmarks/wal_sync.sh $ROUNDS\` on $(date -u '+%Y-%m-%d %H:%M') UTC ($(nproc) cores, $(df -T "$DIR" | awk 'NR==2 {print $2}')); load average before: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Milliseconds from the start of a write until it is durable; the modes take turns, $ROUNDS rounds."
  echo
  "$WORK/wal_sync" "$DIR" 400 500 "$ROUNDS"
  echo
  "$WORK/wal_sync" "$DIR" 262144 50 "$ROUNDS"
  echo
  echo "Load average after: $(cut -d' ' -f1-3 /proc/loadavg)."
} | tee "benchmarks/results/wal-sync-$LABEL.md"
