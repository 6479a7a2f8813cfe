# NixOS module: the system-wide stack (Collector :4318, Tempo :3200, Grafana :3700) that devenv
# projects detect and reuse (`OTELCTL_MODE=auto`).
#
#   imports = [ inputs.otelctl.nixosModules.otel-stack ];
#   services.otel-stack = { enable = true; user = "alice"; };
#
# Each component is a systemd service running `otelctl run <component>` in local mode on the
# fixed ports below; otelctl renders every config. The collector also ingests the user's spool
# (~/.otel/spool, spans written while no collector was up) and Grafana provisions dashboards
# from ~/.otel/dashboards/<project>/, one folder per project (`otel dash sync` writes there).
{ config, lib, pkgs, ... }:

let
  inherit (lib) mkOption mkEnableOption mkPackageOption mkIf types literalExpression;

  cfg = config.services.otel-stack;
  yaml = pkgs.formats.yaml { };

  otelctl = lib.getExe' cfg.package "otelctl";
  group = config.users.users.${cfg.user}.group or cfg.user;
  otelHome = "${cfg.home}/.otel";
  components = [ "tempo" "collector" "grafana" ];

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
    OTELCTL_COLLECTOR_BIN = lib.getExe' cfg.collector.package "otelcol-contrib";
    OTELCTL_TEMPO_BIN = lib.getExe' cfg.tempo.package "tempo";
    OTELCTL_GRAFANA_BIN = lib.getExe' cfg.grafana.package "grafana";
    OTELCTL_GRAFANA_HOMEPATH = "${cfg.grafana.package}/share/grafana";
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
in
{
  options.services.otel-stack = {
    enable = mkEnableOption "the system-wide OpenTelemetry stack (Collector, Tempo, Grafana) run by otelctl";

    package = mkOption {
      type = types.package;
      default = pkgs.otelctl or (pkgs.callPackage ../package.nix { });
      defaultText = literalExpression "pkgs.otelctl or (pkgs.callPackage (otelctl + \"/nix/package.nix\") { })";
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
    };

    startTimeout = mkOption {
      type = types.ints.positive;
      default = 120;
      description = "Seconds each component may take to become ready (`otelctl wait --timeout`).";
    };

    collector = {
      package = mkPackageOption pkgs "opentelemetry-collector-contrib" { };
      settings = mkOption {
        type = yaml.type;
        default = { };
        example = literalExpression ''{ exporters.otlphttp.endpoint = "https://otlp.example.com"; }'';
        description = "Collector configuration merged over the one otelctl renders.";
      };
    };

    tempo = {
      package = mkPackageOption pkgs "tempo" { };
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
      settings = mkOption {
        type = types.attrsOf (types.attrsOf (types.oneOf [ types.str types.int types.bool ]));
        default = { };
        example = { "auth.anonymous" = { enabled = true; org_role = "Admin"; }; };
        description = "grafana.ini settings, passed as `GF_<SECTION>_<KEY>` environment variables.";
      };
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
    ];

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
      otel-tempo = service "tempo" [ ];
      otel-collector = service "collector" [ "otel-tempo.service" ];
      otel-grafana = service "grafana" [ "otel-tempo.service" ];
    };

    systemd.targets.otel-stack = {
      description = "otelctl system stack (Collector, Tempo, Grafana)";
      wantedBy = [ "multi-user.target" ];
      wants = map (c: "otel-${c}.service") components;
      after = map (c: "otel-${c}.service") components;
    };

    environment.systemPackages = [ cfg.package ];
  };
}
