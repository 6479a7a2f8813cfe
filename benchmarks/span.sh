#!/usr/bin/env bash
# Regenerates the top section of benchmarks/span.md (between the "generated" markers; the
# history below it is kept): what `otelctl span` adds to wrapping `true` with the default build,
# interleaved in one run beside the bare command, the dynamic build, the whole program
# (otelctl-full, what `otelctl` was before the lean split), the floor (a static wrapper that only
# spawns and waits: benchmarks/span-floor.c) and otel-cli, with the collector up (answers 200),
# down (connection refused) and silent (accepts, never answers); and `otelctl env` beside curl.
#
#   benchmarks/span.sh                 # builds, waits for a quiet machine, measures, writes span.md
#   ROUNDS=1000 SILENT_ROUNDS=100 LOAD_MAX=2 LOAD_WAIT=1800 benchmarks/span.sh
#   OTELCTL=path/to/otelctl benchmarks/span.sh    # a given default build instead of scripts/build
#                                   # (and DYNAMIC=path/to/dynamic/otelctl to measure one beside it)
#
# The machine is shared: the script waits (up to LOAD_WAIT seconds) until the 1-minute load
# average is at most LOAD_MAX, runs niced to nothing, and records the load of every case.
# Needs: Go (otel-cli v0.4.5 is built from the Go module proxy into
# ${OTELCTL_BENCH_CACHE:-$HOME/.cache/otelctl-bench}), rustc, musl-gcc (musl-tools), curl,
# python3. Raw samples: benchmarks/results/span-latest.json, env-latest.json. Not part of
# scripts/test: timing belongs here, not in assertions.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ROUNDS=${ROUNDS:-1000}
SILENT_ROUNDS=${SILENT_ROUNDS:-100}
LOAD_MAX=${LOAD_MAX:-2}
LOAD_WAIT=${LOAD_WAIT:-1800}
CACHE=${OTELCTL_BENCH_CACHE:-$HOME/.cache/otelctl-bench}
OTEL_CLI_VERSION=${OTEL_CLI_VERSION:-v0.4.5}
OUT=benchmarks/results
mkdir -p "$OUT" "$CACHE"
apt_ensure musl-gcc musl-tools curl curl

if [ -z "${OTELCTL:-}" ]; then
  step "building the default build (scripts/build) and the dynamic one"
  scripts/build >&2
  OTELCTL=$PWD/target/bin/otelctl
  cargo build --release --locked --quiet -p otelctl
  DYNAMIC=$PWD/target/release/otelctl
fi
FULL=$(dirname "$OTELCTL")/otelctl-full
DYNAMIC=${DYNAMIC:-}
dynamic=()
[ -n "$DYNAMIC" ] && [ "$DYNAMIC" != "$OTELCTL" ] && dynamic=("dynamic=$DYNAMIC")
[ -x "$FULL" ] || { echo "no otelctl-full beside $OTELCTL" >&2; exit 1; }
kind="static, musl"
if readelf -l "$OTELCTL" 2>/dev/null | grep -q INTERP; then kind=dynamic; fi

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
trap 'rm -rf "$work"' EXIT
musl-gcc -O2 -static-pie -o "$work/floor-pie" benchmarks/span-floor.c
musl-gcc -O2 -static -o "$work/floor-static" benchmarks/span-floor.c

if (exec 3<>/dev/tcp/127.0.0.1/4318) 2>/dev/null; then
  echo "127.0.0.1:4318 is in use; stop what listens there and run again" >&2
  exit 1
fi

step "waiting for a 1-minute load average <= $LOAD_MAX (at most ${LOAD_WAIT} s)"
waited=0
while awk -v max="$LOAD_MAX" '{ exit !($1 > max) }' /proc/loadavg && [ "$waited" -lt "$LOAD_WAIT" ]; do
  sleep 15; waited=$((waited + 15))
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) after ${waited} s"

step "span: $ROUNDS rounds up and down, $SILENT_ROUNDS silent"
benchmarks/span-interleaved.py "$ROUNDS" "$OUT/span-latest.json" \
  "otelctl=$OTELCTL" "${dynamic[@]}" "full=$FULL" \
  --floor "floor=$work/floor-pie" --floor "floor-nopie=$work/floor-static" \
  --otel-cli "$OTEL_CLI" --silent-rounds "$SILENT_ROUNDS"
step "env: $ROUNDS rounds"
benchmarks/env-interleaved.py "$ROUNDS" "$OUT/env-latest.json" \
  "otelctl=$OTELCTL" "${dynamic[@]}" "full=$FULL" --curl --cases auto

step "a command handed on: otelctl --version (lean, then otelctl-full) against otelctl-full --version"
python3 - "$ROUNDS" "$OUT/handoff-latest.json" "$OTELCTL" "$FULL" <<'PY'
import json, statistics, subprocess, sys, time
rounds, out, lean, full = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
cmds = {"bare": ["true"], "otelctl": [lean, "--version"], "full": [full, "--version"]}
times = {k: [] for k in cmds}
before = open("/proc/loadavg").read().split()[0]
for i in range(rounds + 10):
    for name, cmd in cmds.items():
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
        if i >= 10:
            times[name].append((time.perf_counter() - t) * 1000)
after = open("/proc/loadavg").read().split()[0]
json.dump({"rounds": rounds, "results": times, "load": [float(before), float(after)]}, open(out, "w"))
print({k: round(statistics.median(v), 2) for k, v in times.items()})
PY

# Page faults per start (perf stat), where perf may count them.
faults() { # BINARY ARGS...
  perf stat -x, -e page-faults -r 200 "$@" 2>&1 >/dev/null | awk -F, '/page-faults/ { print $1 }'
}
pf_lean="" pf_full="" pf_floor=""
if perf stat -e page-faults true >/dev/null 2>&1; then
  export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:9 OTEL_SPOOL_DIR=$work/spool HOME=$work OTELCTL_MODE=local
  pf_lean=$(faults "$OTELCTL" span b s -- true)
  pf_full=$(faults "$FULL" span b s -- true)
  pf_floor=$(faults "$work/floor-pie" true)
  unset OTEL_EXPORTER_OTLP_ENDPOINT OTEL_SPOOL_DIR
fi

python3 - "$OUT" "$kind" "$(git rev-parse --short HEAD)" "$OTELCTL" "$FULL" "$DYNAMIC" \
  "$pf_lean" "$pf_full" "$pf_floor" <<'PY'
import json, os, statistics, sys, datetime
out, kind, rev, lean, full, dynamic, pf_lean, pf_full, pf_floor = sys.argv[1:10]
span = json.load(open(f"{out}/span-latest.json"))
handoff = json.load(open(f"{out}/handoff-latest.json"))
env = json.load(open(f"{out}/env-latest.json"))
med = statistics.median
names = {"otelctl": f"**otelctl** (default: {kind}, lean)", "dynamic": "dynamic (lean)",
         "full": "otelctl-full (whole program)", "floor": "floor (static-pie)",
         "floor-nopie": "floor (static)", "otel-cli": "otel-cli v0.4.5", "bare": "bare"}
L = []
w = L.append
w(f"Generated by `benchmarks/span.sh` on {datetime.date.today()} at {rev} "
  f"({os.cpu_count()} vCPUs, shared with other sessions' builds): every contender once per round, "
  "in turn (benchmarks/span-interleaved.py), wrapping `true`; median ms (added over bare), minimum; "
  "the load average (1 minute) at the start and end of each case.")
w("")
w("| collector | rounds | load | " + " | ".join(names[c] for c in span["results"]["up"]) + " |")
w("|---|---|---|" + "---|" * len(span["results"]["up"]))
added = {}
for case, times in span["results"].items():
    bare = med(times["bare"])
    cells = []
    for name, t in times.items():
        m = med(t)
        added[(case, name)] = m - bare
        cells.append(f"{m:.2f}" if name == "bare" else f"{m:.2f} ({m - bare:+.2f}), min {min(t):.2f}")
    l = span["load"][case]
    w(f"| {case} | {l['rounds']} | {l['before'][0]:.1f}-{l['after'][0]:.1f} | " + " | ".join(cells) + " |")
w("")
w("`otelctl env --quiet` (auto mode, nothing on 127.0.0.1:4318) beside the shell-probe way, "
  "`curl -s -m 2 http://127.0.0.1:4318/`:")
w("")
et = env["results"]["auto"]
w("| case | rounds | load | " + " | ".join(names.get(c, c) for c in et) + " |")
w("|---|---|---|" + "---|" * len(et))
bare = med(et["bare"])
cells = [f"{med(t):.2f}" if n == "bare" else f"{med(t):.2f} ({med(t) - bare:+.2f}), min {min(t):.2f}" for n, t in et.items()]
l = env["load"]["auto"]
w(f"| env | {l['rounds']} | {l['before'][0]:.1f}-{l['after'][0]:.1f} | " + " | ".join(cells) + " |")
w("")
def size(p):
    return f"{os.path.getsize(p) / 1e6:.1f} MB"
w(f"Sizes: otelctl {size(lean)}, otelctl-full {size(full)}" + (f", dynamic otelctl {size(dynamic)}." if dynamic else ".")
  + (f" Page faults per `span … -- true` (perf stat -r 200, the child's included): otelctl {pf_lean}, "
     f"otelctl-full {pf_full}, floor {pf_floor}." if pf_lean else ""))
w("")
def verdict(ok):
    return "met" if ok else "**not met**"
up, down, silent = (added[(c, "otelctl")] for c in ("up", "down", "silent"))
w(f"- At most 0.5 ms added with the collector up and down: {verdict(max(up, down) <= 0.5)} "
  f"({up:+.2f} ms up, {down:+.2f} ms down).")
w(f"- At most 10 ms when the collector accepts and never answers: {verdict(silent <= 10)} "
  f"({silent:+.2f} ms; otel-cli {added[('silent', 'otel-cli')]:+.0f} ms).")
for case in ("up", "down"):
    fl = added[(case, "floor")]
    w(f"- Floor, {case}: a static-pie wrapper that only spawns and waits adds {fl:+.2f} ms "
      f"(non-PIE {added[(case, 'floor-nopie')]:+.2f}); otelctl is {added[(case, 'otelctl')] - fl:.2f} ms above it; "
      f"otel-cli adds {added[(case, 'otel-cli')] / max(added[(case, 'otelctl')], 0.01):.0f}x what otelctl adds.")
w(f"- The lean split: otelctl-full, the whole program built the same way, adds "
  f"{added[('up', 'full')]:+.2f}/{added[('down', 'full')]:+.2f} ms (up/down) against "
  f"{up:+.2f}/{down:+.2f} ms" + (f"; the dynamic lean build {added[('up', 'dynamic')]:+.2f}/{added[('down', 'dynamic')]:+.2f} ms." if ("up", "dynamic") in added else "."))
h = {k: med(v) for k, v in handoff["results"].items()}
w(f"- What the split costs a command handed on: `otelctl --version` (the lean binary, then "
  f"`otelctl-full`) {h['otelctl']:.2f} ms against `otelctl-full --version` {h['full']:.2f} ms "
  f"({h['otelctl'] - h['full']:+.2f} ms; bare {h['bare']:.2f}; load {handoff['load'][0]:.1f}-{handoff['load'][1]:.1f}).")
section = "\n".join(L) + "\n"
path = "benchmarks/span.md"
text = open(path).read()
start, end = "<!-- generated by benchmarks/span.sh: begin -->\n", "<!-- generated by benchmarks/span.sh: end -->\n"
if start in text:
    a = text.index(start) + len(start)
    text = text[:a] + section + text[text.index(end):]
else:
    sys.exit(f"{path} has no generated section markers")
open(path, "w").write(text)
print(section)
PY
