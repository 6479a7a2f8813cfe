# Child spans (service.name "dt-task") for devenv tasks.
#
#   trace = import ./trace.nix { inherit lib; };
#   tasks."ts:check" = {
#     exec = trace.exec "ts:check" "tsc --build tsconfig.all.json";    # span, task.cached=false
#     status = trace.status "ts:check" "test -e dist/.tsbuildinfo";     # span, task.cached=true when cached
#   };
#
# The command runs in a child bash (with -e, as devenv runs task scripts), wrapped in
# `otelctl span`, which reads the TRACEPARENT that `dt` exported. Without otelctl on PATH the
# command runs untraced. Variables set by the command do not reach the task's `exports`.
# Pure (builtins only): `lib` is accepted for compatibility and not needed.
{ lib ? null
, otelctl ? "otelctl"
, service ? "dt-task"
}:

let
  q = s: "'" + builtins.replaceStrings [ "'" ] [ "'\\''" ] s + "'";
  bin = q otelctl;
  run = cmd: ''"''${BASH:-bash}" -e -c ${q cmd}'';
  available = "command -v ${bin} >/dev/null 2>&1";
in
{
  # For `tasks.<name>.exec`: the exit status is the command's.
  exec = name: cmd: ''
    if ${available}; then
      ${bin} span ${q service} ${q name} --attr task.cached=false -- ${run cmd}
    else
      ${run cmd}
    fi
  '';

  # For `tasks.<name>.status`: exit 0 means cached (devenv skips exec); a cached run is recorded
  # as a span with task.cached=true. A span failing to send never turns a cached task into a run.
  status = name: cmd: ''
    if ${run cmd}; then
      if ${available}; then
        ${bin} span ${q service} ${q name} --attr task.cached=true -- true || true
      fi
      true
    else
      false
    fi
  '';
}
