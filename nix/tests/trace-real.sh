#!/usr/bin/env bash
# dt / trace.nix / cache.nix / otel-span for real: the scripts the Nix helpers generate, run
# outside Nix with a given otelctl against a recording OTLP/HTTP server on 127.0.0.1, and the
# span tree checked (dt root -> dt-task children, with the seed's attributes).
#
#   OTELCTL_BIN=/path/to/otelctl nix/tests/trace-real.sh
#
# `devenv tasks run` is a stand-in (bash) that runs each task's status, then its exec, as devenv
# does. Prints "ok - ..." / "not ok - ..." lines; exits 1 on any failure, 0 with a "skip - ..."
# line when OTELCTL_BIN is unset.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ -z "${OTELCTL_BIN:-}" ]; then
  echo "skip - trace-real: OTELCTL_BIN is not set (build otelctl, then OTELCTL_BIN=target/debug/otelctl)"
  exit 0
fi
if [ ! -x "$OTELCTL_BIN" ]; then
  echo "not ok - trace-real: OTELCTL_BIN=$OTELCTL_BIN is not executable"
  exit 1
fi
otelctl=$(cd "$(dirname "$OTELCTL_BIN")" && pwd)/$(basename "$OTELCTL_BIN")

work=$(mktemp -d "${TMPDIR:-/tmp}/otelctl-trace-real.XXXXXX")
recorder_pid=
cleanup() {
  if [ -n "$recorder_pid" ]; then kill "$recorder_pid" 2>/dev/null; wait "$recorder_pid" 2>/dev/null; fi
  if [ -z "${KEEP_WORK:-}" ]; then rm -rf "$work"; else echo "# kept $work"; fi
}
trap cleanup EXIT

python3 "$here/otlp_recorder.py" --out "$work/requests.jsonl" --port-file "$work/port" --max-seconds 300 &
recorder_pid=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
if [ ! -s "$work/port" ]; then
  echo "not ok - trace-real: the recording OTLP server did not start"
  exit 1
fi
port=$(cat "$work/port")

# The scripts exactly as the Nix helpers render them.
mkdir -p "$work/bin" "$work/tasks" "$work/plans" "$work/home" "$work/project/.devenv/state"
# (stderr kept apart: a fresh nix-bin warns about the nixbld group on every call)
if ! nix-instantiate --eval --strict --json "$here/trace-fixture.nix" --argstr otelctl "$otelctl" >"$work/fixture.json" 2>"$work/fixture.err"; then
  echo "not ok - trace-real: nix-instantiate could not render trace-fixture.nix: $(cat "$work/fixture.err")"
  exit 1
fi
python3 - "$work" <<'EOF'
import json, os, sys
work = sys.argv[1]
fixture = json.load(open(os.path.join(work, "fixture.json")))
def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
for name, body in fixture["scripts"].items():
    write(os.path.join(work, "bin", name), "#!/usr/bin/env bash\n" + body, 0o755)
write(os.path.join(work, "enterShell.sh"), fixture["enterShell"])
for name, task in fixture["tasks"].items():
    name = name.replace("/", "%2F")  # task files are named after the task
    write(os.path.join(work, "tasks", name + ".exec"), task["exec"])
    if task.get("status"):
        write(os.path.join(work, "tasks", name + ".status"), task["status"])
for name, tasks in fixture["plans"].items():
    write(os.path.join(work, "plans", name), "".join(t + "\n" for t in tasks))
EOF

# Stand-in for `devenv tasks run [--mode M] NAME...` (devenv runs exec with set -e, status
# without, and skips exec when status exits 0). Records its environment and arguments for the
# checks. Like devenv's CLI (clap), it rejects an option given twice with exit status 2.
cat >"$work/bin/devenv" <<'EOF'
#!/usr/bin/env bash
set -u
env >"$FAKE_DEVENV_ENV"
printf '%s\n' "$@" >"$FAKE_DEVENV_ENV.argv"
if [ "${1:-} ${2:-}" != "tasks run" ]; then echo "stand-in devenv: only 'tasks run'" >&2; exit 64; fi
shift 2
names=() modes=0
while [ $# -gt 0 ]; do
  case "$1" in
    --mode|-m) modes=$((modes + 1)); shift 2 ;;
    --mode=*|-m?*) modes=$((modes + 1)); shift ;;
    --*) shift ;;
    *) names+=("$1"); shift ;;
  esac
done
if [ "$modes" -gt 1 ]; then
  echo "error: the argument '--mode <MODE>' cannot be used multiple times" >&2
  exit 2
fi
for plan in "${names[@]}"; do
  while read -r task <&3; do
    task=${task//\//%2F}
    if [ -f "$FAKE_TASKS/$task.status" ] && bash "$FAKE_TASKS/$task.status"; then continue; fi
    bash -e "$FAKE_TASKS/$task.exec" || exit $?
  done 3<"$FAKE_PLANS/$plan"
done
EOF
chmod +x "$work/bin/devenv"

run() {
  local n=$1; shift
  (
    cd "$work/project" &&
      env -u TRACEPARENT -u TRACESTATE -u DEVENV_TRACE_TO -u DEVENV_TRACE_DEFAULT_TO \
        PATH="$work/bin:$PATH" HOME="$work/home" \
        DEVENV_ROOT="$work/project" DEVENV_STATE="$work/project/.devenv/state" \
        OTELCTL_MODE=local OTELCTL_BASE_PORT="$port" \
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$port" \
        FAKE_DEVENV_ENV="$work/env.$n" FAKE_TASKS="$work/tasks" FAKE_PLANS="$work/plans" \
        "$@"
  ) >"$work/out.$n" 2>&1
  echo $? >"$work/rc.$n"
}

run 1 timeout 60 dt ci:all
run 2 timeout 60 dt ci:all
run 3 timeout 60 dt app:fail
run 4 timeout 60 otel-span compat-svc compat-span --attr k=v -- true
# enterShell as devenv runs it, with an unrelated TRACEPARENT already in the environment: it
# must come back unchanged (the shell's later commands must not join the shell:entry trace).
run 5 timeout 60 bash -c 'export TRACEPARENT=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01
  . "$0" || exit 9
  printf "%s\n%s\n" "$TRACEPARENT" "$OTEL_EXPORTER_OTLP_ENDPOINT" >"$1"' "$work/enterShell.sh" "$work/shell.vars"

# dt's options reach devenv untouched; --mode before only when none was given.
run 6 timeout 60 dt app:fail --mode single
run 7 timeout 60 dt --mode=single app:fail
run 8 timeout 60 dt --help
# An inherited OTEL_RESOURCE_ATTRIBUTES reaches devenv as it was.
run 9 timeout 60 env OTEL_RESOURCE_ATTRIBUTES="team=a" dt app:lint-only
# With devenv's own tracing on, dt's relay is where devenv sends it (its default destination off).
run 13 timeout 60 env OTELCTL_DEVENV_TRACE=otlp-grpc DEVENV_TRACE_DEFAULT_TO=otlp-grpc:http://127.0.0.1:9 dt app:lint-only
# The hook as devenv runs it to capture the environment, not as a shell entry: devenv 2.x
# (DEVENV_SKIP_TASKS=1) and devenv 1.x (DEVENV_CMDLINE naming the command).
run 10 timeout 60 env DEVENV_SKIP_TASKS=1 DEVENV_CMDLINE="tasks run app:build" bash -c '. "$0" && printf "%s\n" "${OTEL_EXPORTER_OTLP_ENDPOINT-}" >"$1"' "$work/enterShell.sh" "$work/shell.10"
run 11 timeout 60 env DEVENV_CMDLINE="--verbose up" bash -c '. "$0" && printf "%s\n" "${OTEL_EXPORTER_OTLP_ENDPOINT-}" >"$1"' "$work/enterShell.sh" "$work/shell.11"
run 12 timeout 60 env DEVENV_CMDLINE="shell" bash -c '. "$0"' "$work/enterShell.sh"

# Exports may be flushed just after exit: wait (bounded) for all 25 spans (ci:all 5 twice,
# app:fail 2 three times, otel-span 1, app:lint-only 2 twice, the two real shell entries 2 each).
for _ in $(seq 50); do
  n=$(python3 -c "import sys; sys.path.insert(0, '$here'); from otlp_spans import spans_from_records as s; print(len(s('$work/requests.jsonl')))" 2>/dev/null || echo 0)
  [ "$n" -ge 25 ] && break
  sleep 0.2
done

python3 "$here/check_trace_tree.py" "$work"
status=$?
if [ $status -ne 0 ]; then
  for n in $(seq 13); do echo "# output of run $n:"; sed 's/^/#   /' "$work/out.$n"; done
fi
exit $status
