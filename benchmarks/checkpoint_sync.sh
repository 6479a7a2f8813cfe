#!/usr/bin/env bash
# What making one checkpoint's trace files durable costs, by strategy (benchmarks/checkpoint_sync.rs:
# one syncfs, an fdatasync per file, write-back started for all then an fdatasync per file, or
# fdatasyncs shared by 8 threads),
# for 10, 200 and 1000 files of 4 KiB, alone and with 256 MiB of another program's unsynced data
# on the same file system. Run on the disk the project's .devenv is on (default: a temporary
# directory in this checkout). Writes benchmarks/results/checkpoint-sync-$LABEL.md.
# Usage: benchmarks/checkpoint_sync.sh [ROUNDS]   Env: CHECKPOINT_DIR, LABEL (default: short commit id)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-4}
LABEL=${LABEL:-$(git rev-parse --short HEAD)}
WORK=$(mktemp -d)
DIR=$(mktemp -d -p "${CHECKPOINT_DIR:-$PWD}" .checkpoint-sync.XXXXXX)
trap 'rm -rf "$WORK" "$DIR"' EXIT
rustc --edition 2021 -O -o "$WORK/checkpoint_sync" benchmarks/checkpoint_sync.rs
mkdir -p benchmarks/results
OUT=benchmarks/results/checkpoint-sync-$LABEL.md
{
  echo "# Durable checkpoints on this disk ($LABEL)"
  echo
  echo "Produced by \`benchmarks/checkpoint_sync.sh $ROUNDS\` on $(date -u '+%Y-%m-%d %H:%M') UTC ($(nproc) cores, $(df -T "$DIR" | awk 'NR==2 {print $2}')); load average before: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Milliseconds to make one checkpoint's files durable (median, min-max of $ROUNDS rounds; strategies take turns), and the"
  echo "MiB of the neighbour's 256 MiB still unsynced afterwards (the machine's Dirty: figure, capped at 256)."
  echo
  echo "| files | neighbour MiB | syncfs ms | fdatasync-each ms | kick-then-sync ms | parallel-8 ms | neighbour left dirty (syncfs / each / kick / parallel) |"
  echo "|---:|---:|---|---|---|---|---|"
  for files in 10 200 1000; do
    for neighbour in 0 256; do
      "$WORK/checkpoint_sync" "$DIR" "$files" 4096 "$neighbour" "$ROUNDS" >"$WORK/rows"
      python3 - "$WORK/rows" "$files" "$neighbour" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
cells, left = [], []
for s in ["syncfs", "fdatasync-each", "kick-then-sync", "parallel-8"]:
    ms = sorted(float(r[2]) for r in rows if r[0] == s)
    cells.append(f"{statistics.median(ms):.1f} ({ms[0]:.1f}-{ms[-1]:.1f})")
    l = [r[3] for r in rows if r[0] == s]
    left.append("-" if l[0] == "-" else str(min(int(x) for x in l)))
print(f"| {sys.argv[2]} | {sys.argv[3]} | " + " | ".join(cells) + " | " + " / ".join(left) + " |")
PY
    done
  done
  echo
  echo "Load average after: $(cut -d' ' -f1-3 /proc/loadavg)."
} | tee "$OUT"
