# The generated task-tracing scripts for nix/tests/trace-real.sh, as plain strings:
#
#   nix-instantiate --eval --strict --json nix/tests/trace-fixture.nix --argstr otelctl /path/to/otelctl
#
# Uses exactly the helpers the devenv module and users use (scripts.nix, trace.nix, cache.nix).
{ otelctl }:

let
  scripts = import ../devenv-modules/otel/scripts.nix { inherit otelctl; };
  trace = import ../devenv-modules/tasks/lib/trace.nix { inherit otelctl; };
  cache = import ../devenv-modules/tasks/lib/cache.nix { inherit otelctl; };
in
{
  scripts = { inherit (scripts) dt otel-span otel; };

  # The devenv module's enterShell hook, sourced by a bash as devenv does.
  enterShell = scripts.enterShell false;

  # Shaped like devenv's tasks.<name>: exec (run with bash -e) and an optional status.
  tasks = {
    "app:lint" = {
      exec = trace.exec "app:lint" "echo linting";
      status = trace.status "app:lint" "true";
    };
    "app:build" = cache.task "app:build" {
      exec = "echo built >> \"$DEVENV_ROOT/build.log\"";
      key = "echo v1";
    };
    # Distinct names whose stamps used to coincide (app_build), and a name the shell would expand.
    "app/build" = cache.task "app/build" {
      exec = "echo built >> \"$DEVENV_ROOT/build2.log\"";
      key = "echo v1";
    };
    "odd" = cache.task "it's a \"$odd\" task" {
      exec = "echo odd >> \"$DEVENV_ROOT/odd.log\"";
      key = "echo v1";
    };
    "app:fail" = {
      exec = trace.exec "app:fail" "echo failing >&2; exit 3";
    };
  };

  # What the stand-in `devenv tasks run [--mode M] NAME...` runs for NAME, in order.
  plans = {
    "ci:all" = [ "app:lint" "app:build" "app/build" "odd" ];
    "app:fail" = [ "app:fail" ];
    "app:lint-only" = [ "app:lint" ];
  };
}
