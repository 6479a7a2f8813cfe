# Traced devenv tasks that are skipped while a key is unchanged.
#
#   cache = import ./cache.nix { inherit lib; };
#   tasks."pnpm:install" = cache.task "pnpm:install" {
#     exec = "pnpm install --frozen-lockfile";
#     key = "sha256sum pnpm-lock.yaml";       # any command whose output changes when work is needed
#   };
#
# `task` returns the attribute set for `tasks.<name>`: exec wrapped by trace.exec (records the
# key after a successful run), status wrapped by trace.status (cached while the key's output
# equals the recorded one). Without `key`, a given `status` is traced as it is. Other attributes
# (after, before, cwd, ...) pass through. Keys live under $DEVENV_STATE/otel-task-cache/, one
# file per task named by the sha256 of the task name: distinct names never share a stamp, and
# no character of a name ($, quotes, spaces, slashes) reaches the shell or the file system.
# Pure (builtins only).
{ lib ? null
, otelctl ? "otelctl"
, trace ? import ./trace.nix { inherit otelctl; }
, stateDir ? "$DEVENV_STATE"
}:

let
  stampFile = name: "${stateDir}/otel-task-cache/${builtins.hashString "sha256" name}";
in
rec {
  inherit stampFile;

  task = name: spec:
    assert !(spec ? key && spec ? status)
      || throw "otelctl cache.task ${name}: give either key or status, not both";
    let
      rest = builtins.removeAttrs spec [ "key" ];
      stamp = stampFile name;
      keyed = spec ? key && spec.key != null;
      # The key is recorded only when the command succeeded, whether or not the task's shell
      # runs with `set -e`; a failure keeps its exit status.
      exec = if !keyed then trace.exec name spec.exec else ''
        {
        ${trace.exec name spec.exec}} || exit $?
        mkdir -p "$(dirname "${stamp}")"
        { ${spec.key}
        } > "${stamp}.new" && mv "${stamp}.new" "${stamp}"
      '';
      status =
        if keyed then
          trace.status name ''
            [ -f "${stamp}" ] && [ "$({ ${spec.key}
            })" = "$(cat "${stamp}")" ]''
        else if spec ? status && spec.status != null then trace.status name spec.status
        else null;
    in
    rest // { inherit exec; } // (if status != null then { inherit status; } else { });
}
