#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/fuzz_targets/*) for a while, then minimises its corpus.
#
#   benchmarks/fuzz.sh                 # 180 s per target
#   SECONDS_PER_TARGET=600 benchmarks/fuzz.sh otlp_json headers
#
# Needs: a nightly toolchain (`rustup toolchain install nightly`: libFuzzer builds with
# -Zsanitizer=address) and cargo-fuzz (`cargo install cargo-fuzz`), both installed here on
# first use; a C++ compiler (libFuzzer itself). libFuzzer's output goes to fuzz/logs/<target>.log
# (not committed) and a table to stdout (copied into benchmarks/fuzz.md). New inputs land in fuzz/corpus/;
# crashes in fuzz/artifacts/ (not committed: once fixed, copy it into fuzz/regressions/<target>/,
# which minimisation never touches, so the replay test `cargo test -p otelctl-fuzz` keeps it
# fixed). The corpus is minimised to edge coverage (-use_counters=0) to stay small in git.
# Not part of scripts/test: the corpus replay is (on stable).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

SECS=${SECONDS_PER_TARGET:-180}
MAX_LEN=${MAX_LEN:-1024}
OUT=fuzz/logs
mkdir -p "$OUT"

command -v rustup >/dev/null || { echo "rustup is required (for the nightly toolchain)" >&2; exit 1; }
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=($(cd fuzz/fuzz_targets && ls *.rs | sed 's/\.rs$//'))
fi

step "building the fuzz targets (nightly, ASan)"
(cd fuzz && cargo +nightly fuzz build)

printf '| target | time (s) | executions | exec/s | corpus before | corpus after cmin | corpus bytes | crashes |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for t in "${targets[@]}"; do
  log=$PWD/$OUT/$t.log
  before=$(ls fuzz/corpus/$t | wc -l)
  crashes=0
  # -rss_limit_mb: two cores and several builds share this machine; nothing here needs more.
  if ! (cd fuzz && cargo +nightly fuzz run "$t" -- -max_total_time="$SECS" -max_len="$MAX_LEN" \
      -rss_limit_mb=1024 -print_final_stats=1) >"$log" 2>&1; then
    crashes=$(ls fuzz/artifacts/$t 2>/dev/null | wc -l)
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  (cd fuzz && cargo +nightly fuzz cmin "$t" -- -max_len="$MAX_LEN" -use_counters=0) >>"$log" 2>&1 || true
  after=$(ls fuzz/corpus/$t | wc -l)
  bytes=$(du -sb fuzz/corpus/$t | cut -f1)
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$t" "$SECS" "${runs:-?}" "${eps:-?}" "$before" "$after" "$bytes" "$crashes"
done
