{ pkgs, inputs, ... }:

let
  # Child spans (service.name "dt-task") for the tasks below; `dt TASK` makes the root span.
  trace = inputs.otelctl.lib.trace { };
  cache = inputs.otelctl.lib.cache { };
in
{
  imports = [
    # Ports derive from the project path; pin them with { basePort = 14000; }.
    (inputs.otelctl.devenvModules.otel { })
  ];

  tasks = {
    "app:hello" = {
      exec = trace.exec "app:hello" "echo hello from a traced task";
    };
    # Skipped (and recorded as task.cached=true) while devenv.nix is unchanged.
    "app:build" = cache.task "app:build" {
      exec = "echo building; sleep 1";
      key = "sha256sum devenv.nix";
      after = [ "app:hello" ];
    };
  };

  # devenv up          start Collector + Tempo + Grafana (or reuse a system stack)
  # dt app:build       run tasks inside a trace
  # open "$OTEL_GRAFANA_URL"   Grafana -> Explore -> Tempo
}
