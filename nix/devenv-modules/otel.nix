# devenv module: a per-project Collector + Tempo + Grafana stack run by otelctl, plus task tracing.
#
#   imports = [ (inputs.otelctl.devenvModules.otel { }) ];
#   imports = [ (inputs.otelctl.devenvModules.otel { basePort = 14000; }) ];
#
# This file declares; otelctl computes. Ports, system/local detection, rendered configs and
# spans all live in otelctl; the arguments below only reach it through the environment
# (see ../lib/env.nix).
{ basePort ? null                   # OTELCTL_BASE_PORT; null = derived from the project root
, mode ? "auto"                     # OTELCTL_MODE: auto | system | local
, portRangeStart ? 10000            # OTELCTL_PORT_RANGE=start-end
, portRangeEnd ? 60000
, extraDashboards ? [ ]             # OTELCTL_EXTRA_DASHBOARDS (paths, joined with ':')
, tempoRetention ? null             # OTELCTL_TEMPO_RETENTION, e.g. "72h"
, devenvTrace ? "otlp-grpc"         # OTELCTL_DEVENV_TRACE: exporter for devenv's own spans, or null
, quiet ? false                     # `otelctl env --quiet`: no banner on shell entry
, package ? null                    # otelctl; default pkgs.otelctl, else built from this repository
, collectorPackage ? null           # default pkgs.opentelemetry-collector-contrib
, tempoPackage ? null               # default pkgs.tempo
, grafanaPackage ? null             # default pkgs.grafana
, ...
}:

{ config, lib, pkgs, ... }:

let
  orDefault = value: default: if value != null then value else default;

  otelctl = orDefault package (pkgs.otelctl or (pkgs.callPackage ../package.nix { }));
  collector = orDefault collectorPackage pkgs.opentelemetry-collector-contrib;
  tempo = orDefault tempoPackage pkgs.tempo;
  grafana = orDefault grafanaPackage pkgs.grafana;

  bin = lib.getExe' otelctl "otelctl";
  scripts = import ./otel/scripts.nix { otelctl = bin; };

  # `otelctl run X` renders X's config under $DEVENV_ROOT/.devenv/otel/ and execs it (or, when a
  # system stack is in use, says so and exits 0). Readiness goes through `ready`, which devenv's
  # native process manager honours: a short `otelctl wait`, probed every second.
  process = component: extra: {
    exec = "exec ${bin} run ${component}";
    ready = {
      exec = "${bin} wait ${component} --timeout 2";
      period = 1;
      probe_timeout = 5;
    };
  } // extra;
in
{
  packages = [ otelctl collector tempo grafana ];

  env = import ../lib/env.nix {
    inherit basePort mode portRangeStart portRangeEnd extraDashboards tempoRetention devenvTrace;
  } // {
    OTELCTL_COLLECTOR_BIN = lib.getExe' collector "otelcol-contrib";
    OTELCTL_TEMPO_BIN = lib.getExe' tempo "tempo";
    OTELCTL_GRAFANA_BIN = lib.getExe' grafana "grafana";
    OTELCTL_GRAFANA_HOMEPATH = "${grafana}/share/grafana";
  };

  # Exports OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_GRAFANA_URL, OTEL_TEMPO_URL, OTELCTL_MODE,
  # OTELCTL_DATA_DIR (and devenv's trace destination); prints the banner on stderr.
  # Traced: a shell:entry span (service "shell") around it; see otel/scripts.nix.
  enterShell = scripts.enterShell quiet;

  processes = {
    otel-tempo = process "tempo" { };
    # The collector exports to Tempo and retries, so it only needs Tempo to have started.
    otel-collector = process "collector" { after = [ "devenv:processes:otel-tempo@started" ]; };
    otel-grafana = process "grafana" { after = [ "devenv:processes:otel-tempo@started" ]; };
  };

  scripts = {
    dt = {
      exec = scripts.dt;
      description = "Run devenv tasks inside a root trace span (service.name=dt)";
    };
    otel-span = {
      exec = scripts.otel-span;
      description = "Run a command inside a span: otel-span SERVICE NAME [--attr K=V]... -- CMD";
    };
    otel = {
      exec = scripts.otel;
      description = "otelctl under its old name (otel dash sync, otel status, ...)";
    };
  };
}
