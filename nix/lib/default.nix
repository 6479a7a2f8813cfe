# Helpers the flake exposes as `lib`. Declarations only; otelctl computes.
{ }:

{
  # { root, basePort ? null, portRangeStart ? 10000, portRangeEnd ? 32767 } -> port set.
  # Mirrors `otelctl ports`; scripts/test-nix compares the two.
  ports = import ./ports.nix;

  # Module arguments -> environment variables for otelctl.
  moduleEnv = import ./env.nix;

  # Task tracing helpers (see nix/devenv-modules/tasks/lib/).
  trace = import ../devenv-modules/tasks/lib/trace.nix;
  cache = import ../devenv-modules/tasks/lib/cache.nix;

  # Bodies of the dt / otel-span / otel commands.
  scripts = import ../devenv-modules/otel/scripts.nix;
}
