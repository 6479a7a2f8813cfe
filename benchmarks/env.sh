#!/usr/bin/env bash
# Benchmark: what `otelctl env` adds to a shell entry, beside a bare process start (`true`) and
# the shell-probe way (`curl -s -m 2 http://127.0.0.1:4318/`), with nothing on 127.0.0.1:4318
# and with a collector-like listener there (a real HTTP server that accepts OTLP exports).
# Writes benchmarks/env.md. Needs hyperfine and curl (installed from Debian if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
apt_ensure hyperfine hyperfine curl curl python3 python3

command -v hyperfine >/dev/null || { echo "hyperfine is required" >&2; exit 1; }
cargo build --release --locked --quiet
bin="$PWD/target/release/otelctl"
out=benchmarks/env.md
work=$(mktemp -d)
trap 'kill ${server:-0} 2>/dev/null || true; rm -rf "$work"' EXIT
export HOME="$work/home" && mkdir -p "$HOME"
unset OTELCTL_MODE OTEL_EXPORTER_OTLP_ENDPOINT DEVENV_ROOT
root="$work/project" && mkdir -p "$root"

if (exec 3<>/dev/tcp/127.0.0.1/4318) 2>/dev/null; then
  echo "127.0.0.1:4318 is in use; stop what listens there and run again" >&2
  exit 1
fi

bench() { # title, then hyperfine commands
  local title=$1; shift
  hyperfine -N -i --warmup 30 --runs 400 --export-markdown "$work/t.md" "$@" >/dev/null
  sed -i -e "s|$bin|otelctl|g" -e "s|$root|\$ROOT|g" "$work/t.md"
  { echo "### $title"; echo; cat "$work/t.md"; echo; } >>"$work/all.md"
  python3 - "$work/t.md" <<'PY' >>"$work/all.md"
import re, sys
rows = [l for l in open(sys.argv[1]) if l.startswith('| `')]
means = {}
for r in rows:
    cells = [c.strip() for c in r.strip().strip('|').split('|')]
    means[cells[0].strip('`')] = float(cells[1].split('±')[0])
base = means.get('true')
if base is not None:
    for cmd, m in means.items():
        if cmd != 'true':
            print(f"- `{cmd}` adds {m - base:.2f} ms to a bare process start ({m / base:.1f}x `true`)")
    print()
PY
}

: >"$work/all.md"
bench "Nothing listens on 127.0.0.1:4318 (auto mode resolves to local)" \
  true \
  "$bin env --quiet --root $root" \
  "curl -s -m 2 http://127.0.0.1:4318/"

OTELCTL_MODE=local bench "Mode already known (OTELCTL_MODE=local, as after the first entry in a devenv shell)" \
  true \
  "$bin env --quiet --root $root"

# A collector-like listener: accepts POST /v1/traces with 200 and {}.
python3 - <<'PY' &
import http.server
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def _reply(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")
    do_POST = do_GET = _reply
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", 4318), H).serve_forever()
PY
server=$!
for _ in $(seq 100); do curl -s -m 1 -o /dev/null http://127.0.0.1:4318/ && break; done

bench "A collector-like listener on 127.0.0.1:4318 (auto mode resolves to system)" \
  true \
  "$bin env --quiet --root $root" \
  "curl -s -m 2 http://127.0.0.1:4318/"

{
  echo "# \`otelctl env\` benchmark"
  echo
  echo "Produced by \`benchmarks/env.sh\` on $(date -u +%Y-%m-%d) ($(nproc) cores, $(uname -m)); release build."
  echo "Target: \`otelctl env\` adds under 3 ms to a bare process start."
  echo "Side-by-side ratios matter more than absolute times on this noisy machine."
  echo
  cat "$work/all.md"
} >"$out"
cat "$out"
