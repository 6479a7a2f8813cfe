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

    devenv (>= 2.1) does not read TRACEPARENT. dt adds otelctl.parent=<dt's traceparent> to
    OTEL_RESOURCE_ATTRIBUTES for devenv, so a receiver that re-parents (docs/devenv-tracing.md)
    puts devenv's own spans under dt's root span. Until the receiving path does,
    devenv's default trace destination (DEVENV_TRACE_DEFAULT_TO) is switched off inside dt;
    OTELCTL_DT_DEVENV_SPANS=1 keeps it.
  '';

  # Runs inside dt's span ($TRACEPARENT is dt's): otelctl.parent replaces any inherited one.
  dtInner = ''
    attrs=
    if [ -n "''${OTEL_RESOURCE_ATTRIBUTES-}" ]; then
      IFS=, read -r -a parts <<<"$OTEL_RESOURCE_ATTRIBUTES"
      for part in "''${parts[@]}"; do
        key=''${part%%=*}
        key=''${key//[[:space:]]/}
        [ "$key" = otelctl.parent ] || attrs=''${attrs:+$attrs,}$part
      done
    fi
    if [ -n "''${TRACEPARENT-}" ]; then
      export OTEL_RESOURCE_ATTRIBUTES="''${attrs:+$attrs,}otelctl.parent=$TRACEPARENT"
    fi
    exec devenv tasks run "$@"
  '';
in
{
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
    if [ "''${OTELCTL_DT_DEVENV_SPANS-}" != 1 ]; then
      export DEVENV_TRACE_DEFAULT_TO=
    fi
    exec ${bin} span dt "$task_name" --attr "dt.args=$dt_args" -- "''${BASH:-bash}" -c ${q dtInner} dt "$@"
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
