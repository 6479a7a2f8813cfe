# NixOS module: the system-wide stack (Collector :4318, Tempo :3200, Grafana :3700, Prometheus
# :9090 for metrics, VictoriaLogs :9428 for logs) that devenv projects detect and reuse
# (`OTELCTL_MODE=auto`).
#
#   imports = [ inputs.otelctl.nixosModules.otel-stack ];
#   services.otel-stack = { enable = true; user = "alice"; };
#
# Each component is a systemd service running `otelctl run <component>` in local mode on the
# ports below; otelctl renders every config. The ports are published in
# /etc/otel-stack/ports.json, which every project's `otelctl` reads (detection, `otelctl env`,
# `wait`, `status`), so moving one here moves it for all of them. The collector also ingests the user's spool
# (~/.otel/spool, spans written while no collector was up) and Grafana provisions dashboards
# from ~/.otel/dashboards/<project>/, one folder per project (`otel dash sync` writes there).
{ config, lib, pkgs, options, ... }:

let
  inherit (lib) mkOption mkEnableOption mkPackageOption mkIf types literalExpression;

  cfg = config.services.otel-stack;
  yaml = pkgs.formats.yaml { };

  otelctl = lib.getExe' cfg.package "otelctl";
  group = config.users.users.${cfg.user}.group or cfg.user;
  otelHome = "${cfg.home}/.otel";
  components = lib.optional cfg.prometheus.enable "prometheus"
    ++ lib.optional cfg.victorialogs.enable "victorialogs"
    ++ [ "tempo" "collector" "grafana" ];
  storeUnits = map (c: "otel-${c}.service") (lib.optional cfg.prometheus.enable "prometheus"
    ++ lib.optional cfg.victorialogs.enable "victorialogs");

  # Escape hatches: YAML files otelctl merges over what it renders (rendered with formats.yaml,
  # never pasted together as strings).
  extraConfig = var: settings:
    lib.optionalAttrs (settings != { }) { ${var} = "${yaml.generate "otel-stack-${var}.yaml" settings}"; };

  # Grafana reads GF_<SECTION>_<KEY> natively, so its settings need no file.
  gfName = s: lib.toUpper (builtins.replaceStrings [ "." "-" ] [ "_" "_" ] s);
  gfValue = v: if builtins.isBool v then lib.boolToString v else toString v;
  grafanaEnv = lib.concatMapAttrs
    (section: lib.mapAttrs' (key: value: lib.nameValuePair "GF_${gfName section}_${gfName key}" (gfValue value)))
    cfg.grafana.settings;

  commonEnv = {
    HOME = cfg.home;
    # The system stack itself runs "local": in "system" mode otelctl would find itself and exit.
    OTELCTL_MODE = "local";
    OTELCTL_DATA_DIR = cfg.dataDir;
    OTELCTL_COLLECTOR_PORT = toString cfg.ports.collector;
    OTELCTL_TEMPO_OTLP_GRPC_PORT = toString cfg.ports.tempoOtlpGrpc;
    OTELCTL_TEMPO_HTTP_PORT = toString cfg.ports.tempoHttp;
    OTELCTL_GRAFANA_PORT = toString cfg.ports.grafana;
    OTELCTL_COLLECTOR_METRICS_PORT = toString cfg.ports.collectorMetrics;
    OTELCTL_TEMPO_GRPC_PORT = toString cfg.ports.tempoGrpc;
    OTEL_SPOOL_DIR = "${otelHome}/spool";
    OTELCTL_DASHBOARDS_DIR = "${otelHome}/dashboards";
    OTELCTL_COLLECTOR_BIN = cfg.collector.executable;
    OTELCTL_TEMPO_BIN = cfg.tempo.executable;
    OTELCTL_GRAFANA_BIN = cfg.grafana.executable;
    OTELCTL_GRAFANA_HOMEPATH = "${cfg.grafana.package}/share/grafana";
    OTELCTL_METRICS_STORE_PORT = toString cfg.ports.metricsStore;
    OTELCTL_LOGS_STORE_PORT = toString cfg.ports.logsStore;
  }
  // (if cfg.prometheus.enable
      then { OTELCTL_PROMETHEUS_BIN = cfg.prometheus.executable; }
      else { OTELCTL_METRICS_STORE = "off"; })
  // (if cfg.victorialogs.enable
      then { OTELCTL_VICTORIALOGS_BIN = cfg.victorialogs.executable; }
      else { OTELCTL_LOGS_STORE = "off"; })
  // lib.optionalAttrs (cfg.grafana.plugins != [ ]) {
    OTELCTL_GRAFANA_PLUGINS_DIR = "${pkgs.linkFarm "otel-stack-grafana-plugins"
      (map (p: { name = p.pname or (lib.getName p); path = p; }) cfg.grafana.plugins)}";
  }
  // lib.optionalAttrs (cfg.tempo.retention != null) { OTELCTL_TEMPO_RETENTION = cfg.tempo.retention; }
  // extraConfig "OTELCTL_COLLECTOR_EXTRA_CONFIG" cfg.collector.settings
  // extraConfig "OTELCTL_TEMPO_EXTRA_CONFIG" cfg.tempo.settings
  // cfg.environment;

  service = component: deps: {
    description = "otelctl system stack: ${component}";
    wantedBy = [ "multi-user.target" ];
    partOf = [ "otel-stack.target" ];
    wants = deps;
    after = [ "network.target" "systemd-tmpfiles-setup.service" ] ++ deps;
    environment = commonEnv // lib.optionalAttrs (component == "grafana") grafanaEnv;
    serviceConfig = {
      User = cfg.user;
      Group = group;
      WorkingDirectory = cfg.dataDir;
      ExecStart = "${otelctl} --root ${cfg.dataDir} run ${component}";
      # The unit is active only once the component answers, so ordering and tests can rely on it.
      ExecStartPost = "${otelctl} --root ${cfg.dataDir} wait ${component} --timeout ${toString cfg.startTimeout}";
      TimeoutStartSec = cfg.startTimeout + 30;
      Restart = "on-failure";
      RestartSec = 2;
      NoNewPrivileges = true;
      PrivateTmp = true;
    };
  };

  portOption = default: description: mkOption { type = types.port; inherit default description; };

  inherit (import ../lib/options.nix { inherit lib; }) executableOption;

  # What /etc/otel-stack/ports.json holds: the names of `otelctl ports`.
  published = {
    collector_otlp_http = cfg.ports.collector;
    tempo_otlp_grpc = cfg.ports.tempoOtlpGrpc;
    tempo_http = cfg.ports.tempoHttp;
    grafana_http = cfg.ports.grafana;
    collector_metrics = cfg.ports.collectorMetrics;
    tempo_grpc = cfg.ports.tempoGrpc;
    metrics_store_http = cfg.ports.metricsStore;
    logs_store_http = cfg.ports.logsStore;
  };

  # Ports nixpkgs' own services.tempo / services.opentelemetry-collector take when enabled
  # (their settings, else the programs' defaults), to refuse a collision at evaluation time.
  portOf = endpoint: default:
    let m = builtins.match ".*:([0-9]+)" (toString endpoint); in
    if endpoint == null then default else if m == null then default else lib.toInt (builtins.head m);
  otlpPorts = protocols: what:
    lib.optional (protocols ? grpc) { port = portOf (protocols.grpc.endpoint or null) 4317; inherit what; }
    ++ lib.optional (protocols ? http) { port = portOf (protocols.http.endpoint or null) 4318; inherit what; };
  enabled = name: options.services ? ${name} && config.services.${name}.enable or false;
  tempoSettings = config.services.tempo.settings or { };
  collectorSettings = config.services.opentelemetry-collector.settings or { };
  nixpkgsPorts =
    lib.optionals (enabled "tempo") ([
      { port = tempoSettings.server.http_listen_port or 3200; what = "services.tempo (server.http_listen_port)"; }
      { port = tempoSettings.server.grpc_listen_port or 9095; what = "services.tempo (server.grpc_listen_port)"; }
    ] ++ otlpPorts (tempoSettings.distributor.receivers.otlp.protocols or { }) "services.tempo (distributor OTLP receiver)")
    ++ lib.optionals (enabled "opentelemetry-collector") (
      otlpPorts (collectorSettings.receivers.otlp.protocols or { }) "services.opentelemetry-collector (OTLP receiver)"
      ++ [{ port = 8888; what = "services.opentelemetry-collector (its own telemetry)"; }])
    ++ lib.optional (enabled "prometheus")
      { port = config.services.prometheus.port or 9090; what = "services.prometheus (port)"; }
    ++ lib.optional (enabled "victorialogs")
      { port = portOf (config.services.victorialogs.listenAddress or ":9428") 9428; what = "services.victorialogs (listenAddress)"; };
  collisions = lib.concatLists (lib.mapAttrsToList
    (name: port: map (other: { inherit name port; inherit (other) what; }) (builtins.filter (o: o.port == port) nixpkgsPorts))
    cfg.ports);
in
{
  options.services.otel-stack = {
    enable = mkEnableOption "the system-wide OpenTelemetry stack (Collector, Tempo, Grafana) run by otelctl";

    package = mkOption {
      type = types.package;
      default = pkgs.otelctl or (import ../packages.nix pkgs).default;
      defaultText = literalExpression "pkgs.otelctl or (import (otelctl + \"/nix/packages.nix\") pkgs).default";
      description = "The otelctl package that renders configs and runs each component.";
    };

    user = mkOption {
      type = types.str;
      default = "otel-stack";
      example = "alice";
      description = ''
        User the services run as. Its home holds the spool (`~/.otel/spool`) and the synced
        project dashboards (`~/.otel/dashboards/<project>/`). The default creates a system user.
      '';
    };

    home = mkOption {
      type = types.str;
      default = config.users.users.${cfg.user}.home;
      defaultText = literalExpression "config.users.users.\${config.services.otel-stack.user}.home";
      description = "Home directory whose `.otel/` is used.";
    };

    dataDir = mkOption {
      type = types.str;
      default = "/var/lib/otel-stack";
      description = "Where otelctl renders configs and Tempo and Grafana keep their data.";
    };

    ports = {
      collector = portOption 4318 "Collector OTLP/HTTP receiver.";
      tempoHttp = portOption 3200 "Tempo HTTP query API.";
      grafana = portOption 3700 "Grafana HTTP UI.";
      tempoOtlpGrpc = portOption 4317 "Tempo OTLP/gRPC ingest (also the default `otlp-grpc` destination of devenv's own tracing).";
      collectorMetrics = portOption 8888 "Collector internal Prometheus metrics.";
      tempoGrpc = portOption 9095 "Tempo internal gRPC.";
      metricsStore = portOption 9090 "Prometheus, the metrics store: HTTP API, OTLP and remote-write receivers.";
      logsStore = portOption 9428 "VictoriaLogs, the logs store: HTTP API (LogsQL) and OTLP receiver.";
    };

    startTimeout = mkOption {
      type = types.ints.positive;
      default = 120;
      description = "Seconds each component may take to become ready (`otelctl wait --timeout`).";
    };

    collector = {
      package = mkPackageOption pkgs "opentelemetry-collector-contrib" { };
      executable = executableOption "Collector" (lib.getExe cfg.collector.package)
        "lib.getExe config.services.otel-stack.collector.package";
      settings = mkOption {
        type = yaml.type;
        default = { };
        example = literalExpression ''{ exporters.otlphttp.endpoint = "https://otlp.example.com"; }'';
        description = "Collector configuration merged over the one otelctl renders.";
      };
    };

    tempo = {
      package = mkPackageOption pkgs "tempo" { };
      # nixpkgs' tempo sets no mainProgram; its binary is bin/tempo.
      executable = executableOption "Tempo"
        (lib.getExe' cfg.tempo.package (cfg.tempo.package.meta.mainProgram or "tempo"))
        "lib.getExe' config.services.otel-stack.tempo.package (config.services.otel-stack.tempo.package.meta.mainProgram or \"tempo\")";
      retention = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "72h";
        description = "Trace retention (`OTELCTL_TEMPO_RETENTION`); null keeps otelctl's default.";
      };
      settings = mkOption {
        type = yaml.type;
        default = { };
        description = "Tempo configuration merged over the one otelctl renders.";
      };
    };

    grafana = {
      package = mkPackageOption pkgs "grafana" { };
      executable = executableOption "Grafana" (lib.getExe cfg.grafana.package)
        "lib.getExe config.services.otel-stack.grafana.package";
      settings = mkOption {
        type = types.attrsOf (types.attrsOf (types.oneOf [ types.str types.int types.bool ]));
        default = { };
        example = { "auth.anonymous" = { enabled = true; org_role = "Admin"; }; };
        description = "grafana.ini settings, passed as `GF_<SECTION>_<KEY>` environment variables.";
      };
      plugins = mkOption {
        type = types.listOf types.package;
        default = lib.optional cfg.victorialogs.enable pkgs.grafanaPlugins.victoriametrics-logs-datasource;
        defaultText = literalExpression
          "lib.optional config.services.otel-stack.victorialogs.enable pkgs.grafanaPlugins.victoriametrics-logs-datasource";
        description = "Grafana plugins loaded (`OTELCTL_GRAFANA_PLUGINS_DIR`): the VictoriaLogs datasource by default.";
      };
    };

    prometheus = {
      enable = mkOption {
        type = types.bool;
        default = true;
        description = "Run Prometheus as the metrics store (Collector metrics, Tempo's span metrics and service graph).";
      };
      package = mkPackageOption pkgs "prometheus" { };
      executable = executableOption "Prometheus" (lib.getExe cfg.prometheus.package)
        "lib.getExe config.services.otel-stack.prometheus.package";
    };

    victorialogs = {
      enable = mkOption {
        type = types.bool;
        default = true;
        description = "Run VictoriaLogs as the logs store (the Collector's logs pipeline).";
      };
      package = mkPackageOption pkgs "victorialogs" { };
      executable = executableOption "VictoriaLogs" (lib.getExe cfg.victorialogs.package)
        "lib.getExe config.services.otel-stack.victorialogs.package";
    };

    environment = mkOption {
      type = types.attrsOf types.str;
      default = { };
      description = "Extra environment for all three services (wins over the module's).";
    };
  };

  config = mkIf cfg.enable {
    assertions = [
      {
        assertion = config.users.users ? ${cfg.user};
        message = "services.otel-stack.user: user \"${cfg.user}\" is not declared in users.users.";
      }
      {
        assertion = lib.length (lib.unique (lib.attrValues cfg.ports)) == lib.length (lib.attrValues cfg.ports);
        message = "services.otel-stack.ports: every port must be different.";
      }
    ] ++ map
      (c: {
        assertion = false;
        message = "services.otel-stack.ports.${c.name} (${toString c.port}) is also taken by nixpkgs' ${c.what}: move one of them (services.otel-stack.ports.* are published to every project in /etc/otel-stack/ports.json).";
      })
      collisions;

    # Every project's otelctl reads this (crates/otelctl-config/src/system.rs).
    environment.etc."otel-stack/ports.json".text = builtins.toJSON published;

    users = mkIf (cfg.user == "otel-stack") {
      users.otel-stack = {
        isSystemUser = true;
        group = "otel-stack";
        home = "/var/lib/otel-stack";
        createHome = true;
        description = "otelctl system stack";
      };
      groups.otel-stack = { };
    };

    systemd.tmpfiles.rules = [ "d ${cfg.dataDir} 0700 ${cfg.user} ${group} - -" ]
      ++ map (dir: "d ${dir} 0700 ${cfg.user} ${group} - -") [
        otelHome
        "${otelHome}/spool"
        "${otelHome}/dashboards"
      ];

    systemd.services = {
      otel-tempo = service "tempo" storeUnits;
      otel-collector = service "collector" ([ "otel-tempo.service" ] ++ storeUnits);
      otel-grafana = service "grafana" [ "otel-tempo.service" ];
    }
    // lib.optionalAttrs cfg.prometheus.enable { otel-prometheus = service "prometheus" [ ]; }
    // lib.optionalAttrs cfg.victorialogs.enable { otel-victorialogs = service "victorialogs" [ ]; };

    systemd.targets.otel-stack = {
      description = "otelctl system stack (Collector, Tempo, Grafana, Prometheus, VictoriaLogs)";
      wantedBy = [ "multi-user.target" ];
      wants = map (c: "otel-${c}.service") components;
      after = map (c: "otel-${c}.service") components;
    };

    environment.systemPackages = [ cfg.package ];
  };
}
