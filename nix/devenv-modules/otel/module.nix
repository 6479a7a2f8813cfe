# The devenv module proper: typed `otel.*` options and, when `otel.enable`, the per-project
# Collector + Tempo + Grafana + Prometheus (metrics) + VictoriaLogs (logs) processes, the shell
# hook and the `dt`/`otel-span`/`otel` scripts.
# ../otel.nix (devenvModules.otel) imports it and turns call arguments into `otel.*` settings.
#
# Works on devenv 1.x and 2.x: readiness and start order go through whatever the running
# devenv declares for a process (`ready`/`after` since 2.0, the `process-compose` passthrough on
# 1.x), found by asking the module system (`options.processes`), not by comparing versions.
{ config, lib, pkgs, options, ... }:

let
  inherit (lib) mkOption mkEnableOption mkIf types literalExpression;

  cfg = config.otel;

  # What this devenv declares for `processes.<name>`.
  processOptions = options.processes.type.getSubOptions [ ];
  nativeReadiness = processOptions ? ready && processOptions ? after;

  bin = lib.getExe' cfg.package "otelctl";
  scripts = import ./scripts.nix { otelctl = bin; };

  # `otelctl run X` renders X's config under $DEVENV_ROOT/.devenv/otel/ and execs it (or, when a
  # system stack is in use, says so and exits 0). Ready: a short `otelctl wait`, every second.
  # `deps`: processes that must have started first.
  process = component: deps:
    let
      exec = "exec ${bin} run ${component}";
      probe = "${bin} wait ${component} --timeout 2";
    in
    if nativeReadiness then {
      # devenv >= 2.0: honoured by the native manager and translated for process-compose.
      inherit exec;
      ready = { exec = probe; period = 1; probe_timeout = 5; };
      after = map (d: "devenv:processes:${d}@started") deps;
    } else {
      # devenv 1.x: only process-compose (its default manager) reads these.
      inherit exec;
      process-compose = {
        readiness_probe = { exec.command = probe; period_seconds = 1; timeout_seconds = 5; };
        depends_on = lib.genAttrs deps (_: { condition = "process_started"; });
        availability.restart = "on_failure";
      };
    };

  packageOption = name: default: defaultText: mkOption {
    type = types.package;
    inherit default;
    defaultText = literalExpression defaultText;
    description = "The ${name} package.";
  };

  inherit (import ../../lib/options.nix { inherit lib; }) executableOption;

  # devenv's own `services.opentelemetry-collector` is enabled (main and 2.x declare it).
  devenvCollector = lib.hasAttrByPath [ "services" "opentelemetry-collector" "enable" ] options
    && (config.services.opentelemetry-collector.enable or false);

  stores = lib.optional cfg.prometheus.enable "otel-prometheus"
    ++ lib.optional cfg.victorialogs.enable "otel-victorialogs";
in
{
  _file = ./module.nix;
  key = "otelctl:nix/devenv-modules/otel/module.nix";

  options.otel = {
    enable = mkEnableOption "the per-project OpenTelemetry stack (Collector, Tempo, Grafana) and task tracing run by otelctl";

    basePort = mkOption {
      type = types.nullOr (types.ints.between 1024 65528);
      default = null;
      example = 14000;
      description = "First of the project's eight ports (`OTELCTL_BASE_PORT`); null derives it from the project root.";
    };

    mode = mkOption {
      type = types.enum [ "auto" "system" "local" ];
      default = "auto";
      description = "`OTELCTL_MODE`: reuse a running system stack (`system`), run the project's own (`local`), or detect (`auto`).";
    };

    portRangeStart = mkOption {
      type = types.ints.between 1024 65535;
      default = 10000;
      description = "Start of the range derived base ports fall in (`OTELCTL_PORT_RANGE`).";
    };

    portRangeEnd = mkOption {
      type = types.ints.between 1024 65535;
      default = 32767;
      description = ''
        End of the range derived ports fall in (`OTELCTL_PORT_RANGE`). The default keeps them below
        the kernel's ports for outgoing connections (Linux 32768-60999, macOS 49152-65535), which a
        client connection or its TIME_WAIT may hold at random; 60000 gives back a project's ports
        from before they moved.
      '';
    };

    extraDashboards = mkOption {
      type = types.listOf (types.either types.path types.str);
      default = [ ];
      # A module imported twice must not list a directory twice.
      apply = lib.unique;
      description = "Directories of dashboard JSON provisioned next to the built-ins (`OTELCTL_EXTRA_DASHBOARDS`).";
    };

    tempoRetention = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "72h";
      description = "Trace retention (`OTELCTL_TEMPO_RETENTION`); null keeps otelctl's default.";
    };

    devenvTrace = mkOption {
      # Default devenv builds (nixpkgs, devenv's installer) have only the `otlp-grpc` exporter
      # feature; an `otlp-http-*` destination makes every devenv command exit 1 there.
      type = types.nullOr (types.enum [ "off" "otlp-grpc" ]);
      default = "otlp-grpc";
      description = ''
        Exporter for devenv's own spans (devenv >= 2.1), turned into `DEVENV_TRACE_DEFAULT_TO`
        by `otelctl env`: `"otlp-grpc"` (the only exporter in a default devenv build) or
        null/`"off"`.
      '';
    };

    quiet = mkOption {
      type = types.bool;
      default = false;
      description = "No banner on shell entry (`otelctl env --quiet`).";
    };

    # The static build where the platform allows (nix/packages.nix): `span` and `env` start
    # for every task and shell entry.
    package = packageOption "otelctl" (pkgs.otelctl or (import ../../packages.nix pkgs).default)
      "pkgs.otelctl or (import (otelctl + \"/nix/packages.nix\") pkgs).default";

    collector = {
      settings = mkOption {
        type = (pkgs.formats.yaml { }).type;
        default = { };
        example = literalExpression ''{ exporters.debug.verbosity = "basic"; }'';
        description = ''
          Collector configuration merged over the one otelctl renders
          (`OTELCTL_COLLECTOR_EXTRA_CONFIG`): where settings for devenv's own
          `services.opentelemetry-collector` go, so the project keeps one Collector.
        '';
      };
      package = packageOption "OpenTelemetry Collector" pkgs.opentelemetry-collector-contrib
        "pkgs.opentelemetry-collector-contrib";
      executable = executableOption "Collector" (lib.getExe cfg.collector.package)
        "lib.getExe config.otel.collector.package";
    };

    tempo = {
      package = packageOption "Tempo" pkgs.tempo "pkgs.tempo";
      # nixpkgs' tempo sets no mainProgram; its binary is bin/tempo.
      executable = executableOption "Tempo"
        (lib.getExe' cfg.tempo.package (cfg.tempo.package.meta.mainProgram or "tempo"))
        "lib.getExe' config.otel.tempo.package (config.otel.tempo.package.meta.mainProgram or \"tempo\")";
    };

    grafana = {
      package = packageOption "Grafana" pkgs.grafana "pkgs.grafana";
      executable = executableOption "Grafana" (lib.getExe cfg.grafana.package)
        "lib.getExe config.otel.grafana.package";
      plugins = mkOption {
        type = types.listOf types.package;
        default = lib.optional cfg.victorialogs.enable pkgs.grafanaPlugins.victoriametrics-logs-datasource;
        defaultText = literalExpression
          "lib.optional config.otel.victorialogs.enable pkgs.grafanaPlugins.victoriametrics-logs-datasource";
        description = ''
          Grafana plugins otelctl's Grafana loads (`OTELCTL_GRAFANA_PLUGINS_DIR`, a directory of
          them): by default the VictoriaLogs datasource, which the provisioned logs datasource needs.
        '';
      };
    };

    prometheus = {
      enable = mkOption {
        type = types.bool;
        default = true;
        description = ''
          Run Prometheus as the metrics store (+6): the Collector's metrics pipeline and Tempo's
          span metrics and service graph go there. Off: `OTELCTL_METRICS_STORE=off`.
        '';
      };
      package = packageOption "Prometheus" pkgs.prometheus "pkgs.prometheus";
      executable = executableOption "Prometheus" (lib.getExe cfg.prometheus.package)
        "lib.getExe config.otel.prometheus.package";
    };

    victorialogs = {
      enable = mkOption {
        type = types.bool;
        default = true;
        description = ''
          Run VictoriaLogs as the logs store (+7): the Collector's logs pipeline goes there. Off:
          `OTELCTL_LOGS_STORE=off`.
        '';
      };
      package = packageOption "VictoriaLogs" pkgs.victorialogs "pkgs.victorialogs";
      executable = executableOption "VictoriaLogs" (lib.getExe cfg.victorialogs.package)
        "lib.getExe config.otel.victorialogs.package";
    };
  };

  config = mkIf cfg.enable {
    assertions = [
      {
        assertion = cfg.portRangeStart + 6 < cfg.portRangeEnd;
        message = "otel.portRangeStart (${toString cfg.portRangeStart}) must be more than 6 below otel.portRangeEnd (${toString cfg.portRangeEnd}).";
      }
      {
        # devenv's own Collector module (src/modules/services/opentelemetry-collector.nix) beside
        # ours would run a second Collector (process opentelemetry-collector beside
        # otel-collector), with its fixed health_check on 13133, and in auto mode a devenv
        # Collector on 4318 looks like a system stack.
        assertion = !devenvCollector;
        message = ''
          otel.enable and services.opentelemetry-collector.enable both run an OpenTelemetry Collector for this project (processes otel-collector and opentelemetry-collector): keep one.
          - To keep otelctl's stack (traces to Tempo, metrics to Prometheus, logs to VictoriaLogs): set services.opentelemetry-collector.enable = false and move its settings to otel.collector.settings, which otelctl merges over the Collector config it renders.
          - To keep devenv's Collector alone: remove the otelctl module (or set otel.enable = false).'';
      }
    ];

    packages = [ cfg.package cfg.collector.package cfg.tempo.package cfg.grafana.package ]
      ++ lib.optional cfg.prometheus.enable cfg.prometheus.package
      ++ lib.optional cfg.victorialogs.enable cfg.victorialogs.package;

    env = import ../../lib/env.nix {
      inherit (cfg) basePort mode portRangeStart portRangeEnd extraDashboards tempoRetention devenvTrace;
    } // {
      OTELCTL_COLLECTOR_BIN = cfg.collector.executable;
      OTELCTL_TEMPO_BIN = cfg.tempo.executable;
      OTELCTL_GRAFANA_BIN = cfg.grafana.executable;
      OTELCTL_GRAFANA_HOMEPATH = "${cfg.grafana.package}/share/grafana";
    }
    // (if cfg.prometheus.enable
        then { OTELCTL_PROMETHEUS_BIN = cfg.prometheus.executable; }
        else { OTELCTL_METRICS_STORE = "off"; })
    // (if cfg.victorialogs.enable
        then { OTELCTL_VICTORIALOGS_BIN = cfg.victorialogs.executable; }
        else { OTELCTL_LOGS_STORE = "off"; })
    // lib.optionalAttrs (cfg.collector.settings != { }) {
      OTELCTL_COLLECTOR_EXTRA_CONFIG = "${(pkgs.formats.yaml { }).generate "otelctl-collector-extra.yaml" cfg.collector.settings}";
    }
    // lib.optionalAttrs (cfg.grafana.plugins != [ ]) {
      OTELCTL_GRAFANA_PLUGINS_DIR = "${pkgs.linkFarm "otelctl-grafana-plugins"
        (map (p: { name = p.pname or (lib.getName p); path = p; }) cfg.grafana.plugins)}";
    };

    # Exports OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_GRAFANA_URL, OTEL_TEMPO_URL, OTELCTL_MODE,
    # OTELCTL_DATA_DIR (and devenv's trace destination); prints the banner on stderr. A real
    # shell entry is traced as shell:entry (service "shell"); see scripts.nix.
    enterShell = scripts.enterShell cfg.quiet;

    processes = {
      otel-tempo = process "tempo" [ ];
      # The collector exports to Tempo and the stores and retries, so it only needs them to have
      # started.
      otel-collector = process "collector" ([ "otel-tempo" ] ++ stores);
      otel-grafana = process "grafana" [ "otel-tempo" ];
    }
    // lib.optionalAttrs cfg.prometheus.enable { otel-prometheus = process "prometheus" [ ]; }
    // lib.optionalAttrs cfg.victorialogs.enable { otel-victorialogs = process "victorialogs" [ ]; };

    scripts = {
      dt = {
        exec = scripts.dt;
        description = "Run devenv tasks inside one trace: dt TASK... [devenv tasks run options] (dt --help)";
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
  };
}
