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
  # Root span (service.name "dt") around `devenv tasks run`. otelctl exports TRACEPARENT to the
  # child, and each task's trace.exec/trace.status span reads it: that makes the two-level tree.
  dt = ''
    if [ "$#" -eq 0 ]; then
      echo "usage: dt TASK [TASK...] [devenv tasks run options]" >&2
      exit 2
    fi
    task_name=$1
    # devenv's own tracing starts a new trace and hands tasks its own TRACEPARENT, which would
    # detach the dt-task spans from this root; its default destination is switched off here only.
    export DEVENV_TRACE_DEFAULT_TO=
    exec ${bin} span dt "$task_name" --attr "dt.args=$*" -- devenv tasks run "$@" --mode before
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
