# Bodies of the shell commands the devenv module installs (`dt`, `otel-span`, `otel`), and of
# its enterShell hook (`enterShell quiet`).
#
# Pure (builtins only) and without a shebang, so tests can write them to files and run them
# outside Nix with any otelctl binary: `import ./scripts.nix { otelctl = "/path/to/otelctl"; }`.
# They run in bash (devenv's scripts and shell hook are bash).
{ otelctl ? "otelctl" }:

let
  q = s: "'" + builtins.replaceStrings [ "'" ] [ "'\\''" ] s + "'";
  bin = q otelctl;

  dtHelp = ''
    usage: dt TASK [TASK...] [devenv tasks run options]

    Runs `devenv tasks run TASK... [options]` inside one trace: a root span (service "dt",
    named after the first task, attribute dt.args) whose TRACEPARENT the tasks' trace.exec /
    trace.status spans (service "dt-task") join.

    Options go to devenv untouched; `--mode before` is added only when no --mode/-m is given.
    devenv's exit status is dt's.

    devenv (>= 2.1) does not read TRACEPARENT and starts traces of its own. dt runs it under
    `otelctl relay`, which receives devenv's own spans (OTLP/gRPC, DEVENV_TRACE_TO) and the
    tasks' spans (OTEL_EXPORTER_OTLP_ENDPOINT) and moves them into dt's trace: devenv's roots
    under dt's span, task spans under devenv's span of their task (docs/devenv-tracing.md).
  '';
in
{
  # Root span (service.name "dt") around `devenv tasks run`, which runs under `otelctl relay`:
  # devenv (>= 2.1) never reads TRACEPARENT and starts traces of its own, so the relay receives
  # devenv's spans and the tasks' trace.exec/trace.status spans and moves them into dt's trace
  # (devenv's roots under dt's span, task spans under devenv's span of their task), then
  # forwards them (docs/devenv-tracing.md). Without native tracing the tasks read dt's
  # TRACEPARENT directly: the same tree, one level less.
  dt = ''
    case "''${1-}" in
      -h|--help)
        cat <<'DT_HELP'
    ${dtHelp}DT_HELP
        exit 0 ;;
      "")
        echo "usage: dt TASK [TASK...] [devenv tasks run options]  (dt --help)" >&2
        exit 2 ;;
    esac
    # The span is named after the first task; --mode is added only when the caller gave none.
    task_name= mode_given= skip_value=
    for arg in "$@"; do
      if [ -n "$skip_value" ]; then skip_value=; continue; fi
      case "$arg" in
        --) break ;;
        --mode|-m) mode_given=1; skip_value=1 ;;
        --mode=*|-m?*) mode_given=1 ;;
        --input|--input-json) skip_value=1 ;;
        -*) ;;
        *) [ -n "$task_name" ] || task_name=$arg ;;
      esac
    done
    [ -n "$task_name" ] || task_name=$1
    dt_args=$*
    if [ -z "$mode_given" ]; then set -- --mode before "$@"; fi
    exec ${bin} span dt "$task_name" --attr "dt.args=$dt_args" -- ${bin} relay -- devenv tasks run "$@"
  '';

  # Same argv as the earlier bash helper: otel-span SERVICE NAME [--attr K=V]... -- CMD [ARGS...]
  otel-span = ''
    exec ${bin} span "$@"
  '';

  # Shell entry: exports the stack's environment (`otelctl env`) and, for a real shell entry
  # only, traces it as a root span shell:entry (service "shell", what the shell-entry dashboard
  # reads) whose child "otelctl env" is the export itself. devenv 2.x also runs this hook to
  # capture the environment for `tasks run`, `up`, `test` (and before `shell`), with
  # DEVENV_SKIP_TASKS=1; devenv 1.x runs it for those commands too, with DEVENV_CMDLINE naming
  # the command. Those runs export the environment untraced. The caller's TRACEPARENT is
  # restored afterwards, so later commands do not join this trace.
  enterShell = quiet:
    let env = "${bin} env${if quiet then " --quiet" else ""}"; in ''
      _otelctl_entry=1
      if [ -n "''${DEVENV_SKIP_TASKS-}" ]; then
        _otelctl_entry=
      else
        read -r -a _otelctl_words <<<"''${DEVENV_CMDLINE-}"
        for _otelctl_word in "''${_otelctl_words[@]}"; do
          case "$_otelctl_word" in
            shell) break ;;
            up|test|tasks|processes|container|build|search|info|repl) _otelctl_entry=; break ;;
          esac
        done
        unset _otelctl_words _otelctl_word
      fi
      if [ -n "$_otelctl_entry" ]; then
        _otelctl_prev_tp=''${TRACEPARENT-}
        _otelctl_tp=$(${bin} span begin shell shell:entry 2>/dev/null) || _otelctl_tp=
        if [ -n "$_otelctl_tp" ]; then export TRACEPARENT="$_otelctl_tp"; fi
        eval "$(${bin} span shell 'otelctl env' -- ${env})"
        if [ -n "$_otelctl_tp" ]; then ${bin} span end >/dev/null 2>&1 || true; fi
        if [ -n "$_otelctl_prev_tp" ]; then export TRACEPARENT="$_otelctl_prev_tp"; else unset TRACEPARENT; fi
        unset _otelctl_tp _otelctl_prev_tp
      else
        eval "$(${env})"
      fi
      unset _otelctl_entry
    '';

  # `otel dash sync` and friends: everything goes to otelctl.
  otel = ''
    exec ${bin} "$@"
  '';
}
