# Bodies of the shell commands the devenv module installs (`dt`, `otel-span`, `otel`), and of
# its enterShell hook (`enterShell quiet`).
#
# Pure (builtins only) and without a shebang, so tests can write them to files and run them
# outside Nix with any otelctl binary: `import ./scripts.nix { otelctl = "/path/to/otelctl"; }`.
{ otelctl ? "otelctl" }:

let
  q = s: "'" + builtins.replaceStrings [ "'" ] [ "'\\''" ] s + "'";
  bin = q otelctl;
in
{
  # Root span (service.name "dt") around `devenv tasks run`, which runs under `otelctl relay`:
  # devenv (>= 2.1) never reads TRACEPARENT and starts traces of its own, so the relay receives
  # devenv's spans and the tasks' trace.exec/trace.status spans and moves them into dt's trace
  # (devenv's roots under dt's span, task spans under devenv's span of their task), then
  # forwards them (docs/devenv-tracing.md). Without native tracing the tasks read dt's
  # TRACEPARENT directly: the same tree, one level less.
  dt = ''
    if [ "$#" -eq 0 ]; then
      echo "usage: dt TASK [TASK...] [devenv tasks run options]" >&2
      exit 2
    fi
    task_name=$1
    exec ${bin} span dt "$task_name" --attr "dt.args=$*" -- ${bin} relay -- devenv tasks run "$@" --mode before
  '';

  # Same argv as the earlier bash helper: otel-span SERVICE NAME [--attr K=V]... -- CMD [ARGS...]
  otel-span = ''
    exec ${bin} span "$@"
  '';

  # Shell entry, traced: a root span shell:entry (service.name "shell", what the shell-entry
  # dashboard reads) whose child "otelctl env" is the export of the environment itself. The
  # caller's TRACEPARENT is restored afterwards, so later commands do not join this trace.
  enterShell = quiet: ''
    _otelctl_prev_tp=''${TRACEPARENT-}
    _otelctl_tp=$(${bin} span begin shell shell:entry 2>/dev/null) || _otelctl_tp=
    if [ -n "$_otelctl_tp" ]; then export TRACEPARENT="$_otelctl_tp"; fi
    eval "$(${bin} span shell 'otelctl env' -- ${bin} env${if quiet then " --quiet" else ""})"
    if [ -n "$_otelctl_tp" ]; then ${bin} span end >/dev/null 2>&1 || true; fi
    if [ -n "$_otelctl_prev_tp" ]; then export TRACEPARENT="$_otelctl_prev_tp"; else unset TRACEPARENT; fi
    unset _otelctl_tp _otelctl_prev_tp
  '';

  # `otel dash sync` and friends: everything goes to otelctl.
  otel = ''
    exec ${bin} "$@"
  '';
}
