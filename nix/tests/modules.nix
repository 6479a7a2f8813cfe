# Module-evaluation tests: the devenv module and the NixOS module evaluated with nixpkgs'
# lib.evalModules against devenv- and NixOS-shaped option declarations (./stubs) and stub pkgs.
#
#   nix-instantiate --eval --strict --json nix/tests/modules.nix --arg lib 'import <nixpkgs-lib>/lib'
#
# Returns { passed = [ name ]; failed = [ { name; expected; actual; } ]; } (also used by the
# flake's nix-module-tests check).
{ lib }:

let
  stubPkgs = args: import ./stubs/pkgs.nix ({ inherit lib; } // args);
  pkgs = stubPkgs { };
  store = name: "/nix/store/00000000000000000000000000000000-${name}";
  otelctl = "${store "otelctl"}/bin/otelctl";

  # ---- devenv ------------------------------------------------------------------------------
  devenvModule = import ../devenv-modules/otel.nix;
  versions = [ "1.11.2" "2.0" "2.2.2" "main" ];
  evalDevenv' = { version ? "main", args ? { }, pkgs ? stubPkgs { }, extra ? { }, modules ? [ (devenvModule args) ] }:
    lib.evalModules {
      modules = [ (import ./stubs/devenv.nix { inherit version; }) { _module.args.pkgs = pkgs; } extra ] ++ modules;
    };
  evalDevenv = a: (evalDevenv' a).config;
  failedDevenvAssertions = cfg: map (a: a.message) (lib.filter (a: !a.assertion) cfg.assertions);

  dv = evalDevenv { };
  dvArgs = evalDevenv {
    args = {
      basePort = 14000;
      mode = "local";
      portRangeStart = 20000;
      portRangeEnd = 30000;
      extraDashboards = [ "/srv/dash" ./stubs ];
      tempoRetention = "24h";
      devenvTrace = null;
      quiet = true;
    };
  };
  dvNoOtelctl = evalDevenv { pkgs = stubPkgs { withOtelctl = false; }; };
  dvNoStores = evalDevenv { extra.otel = { prometheus.enable = false; victorialogs.enable = false; }; };
  dvNoOtelctlMac = evalDevenv { pkgs = stubPkgs { withOtelctl = false; system = "aarch64-darwin"; }; };
  dvOwnPackage = evalDevenv { args.package = pkgs.drv "my-otelctl" { }; };
  trace = import ../devenv-modules/tasks/lib/trace.nix { inherit lib; };
  dvUser = evalDevenv {
    extra = {
      env.OTELCTL_MODE = lib.mkForce "system";
      env.MY_VAR = "1";
      processes.web.exec = "python -m http.server";
      processes.otel-grafana.start.enable = false;
      tasks."app:build".exec = trace.exec "app:build" "make";
    };
  };
  badMode = builtins.tryEval (evalDevenv { args.mode = "remote"; }).env.OTELCTL_MODE;

  # Imported twice (the same call twice, or the module and a call): one module, no duplicates.
  dvTwice = evalDevenv { modules = [ (devenvModule { extraDashboards = [ "/a" ]; }) (devenvModule { extraDashboards = [ "/a" ]; }) ]; };
  dvTwiceMixed = evalDevenv { modules = [ devenvModule (devenvModule { }) ]; };
  # Imported as a plain module: options only, until otel.enable.
  dvOptionsOnly = evalDevenv { modules = [ devenvModule ]; };
  dvTyped = evalDevenv {
    modules = [ devenvModule ];
    extra.otel = { enable = true; basePort = 14500; collector.executable = "/opt/otelcol/bin/otelcol"; };
  };
  # Program names come from the package's meta.mainProgram.
  dvOtherCollector = evalDevenv {
    args.collectorPackage = pkgs.drv "opentelemetry-collector" { meta.mainProgram = "otelcol"; };
    args.tempoPackage = pkgs.drv "tempo-custom" { meta.mainProgram = "tempo-server"; };
  };
  throws = v: !(builtins.tryEval (builtins.deepSeq v v)).success;

  readyOf = name: { inherit (dv.processes.${name}.ready) exec period probe_timeout; };

  # The same module against each devenv version's options: readiness and order go through what
  # that version declares.
  perVersion = lib.listToAttrs (map
    (version:
      let
        c = evalDevenv { inherit version; };
        native = version != "1.11.2";
        probe = component: "${otelctl} wait ${component} --timeout 2";
      in
      lib.nameValuePair "version-${version}" {
        expr = {
          processes = lib.mapAttrs (_: p: builtins.removeAttrs p [ "_module" ]) (lib.mapAttrs
            (_: p: { inherit (p) exec; } // (if native then { ready = { inherit (p.ready) exec period probe_timeout; }; inherit (p) after; }
            else { inherit (p) process-compose; }))
            c.processes);
          dt = lib.hasInfix "span dt" c.scripts.dt.exec;
          env = c.env.OTELCTL_MODE;
          assertions = failedDevenvAssertions c;
        };
        expected = {
          processes = lib.mapAttrs
            (name: deps:
              let component = lib.removePrefix "otel-" name; in
              { exec = "exec ${otelctl} run ${component}"; } // (if native then {
                ready = { exec = probe component; period = 1; probe_timeout = 5; };
                after = map (d: "devenv:processes:${d}@started") deps;
              } else {
                process-compose = {
                  readiness_probe = { exec.command = probe component; period_seconds = 1; timeout_seconds = 5; };
                  depends_on = lib.genAttrs deps (_: { condition = "process_started"; });
                  availability.restart = "on_failure";
                };
              }))
            {
              otel-tempo = [ ];
              otel-prometheus = [ ];
              otel-victorialogs = [ ];
              otel-collector = [ "otel-tempo" "otel-prometheus" "otel-victorialogs" ];
              otel-grafana = [ "otel-tempo" ];
            };
          dt = true;
          env = "auto";
          assertions = [ ];
        };
      })
    versions);

  devenvTests = perVersion // {
    processes = {
      expr = builtins.attrNames dv.processes;
      expected = [ "otel-collector" "otel-grafana" "otel-prometheus" "otel-tempo" "otel-victorialogs" ];
    };
    storesOff = {
      expr = {
        processes = builtins.attrNames dvNoStores.processes;
        env = lib.filterAttrs (n: _: lib.hasInfix "STORE" n || lib.hasInfix "PROMETHEUS" n || lib.hasInfix "VICTORIA" n || lib.hasInfix "PLUGINS" n) dvNoStores.env;
        packages = map (p: p.name) dvNoStores.packages;
        after = dvNoStores.processes.otel-collector.after;
      };
      expected = {
        processes = [ "otel-collector" "otel-grafana" "otel-tempo" ];
        env = { OTELCTL_METRICS_STORE = "off"; OTELCTL_LOGS_STORE = "off"; };
        packages = [ "otelctl" "opentelemetry-collector-contrib" "tempo" "grafana" ];
        after = [ "devenv:processes:otel-tempo@started" ];
      };
    };
    # devenv's own services.opentelemetry-collector beside ours: refused, naming both (the real
    # module tree: real-devenv.nix).
    devenvCollectorRefused = {
      expr = map (m: lib.hasInfix "otel.enable and services.opentelemetry-collector.enable" m)
        (failedDevenvAssertions (evalDevenv {
          extra = {
            options.services.opentelemetry-collector.enable = lib.mkEnableOption "devenv's Collector";
            config.services.opentelemetry-collector.enable = true;
          };
        }));
      expected = [ true ];
    };
    collectorSettings = {
      expr = lib.hasSuffix "-otelctl-collector-extra.yaml"
        (evalDevenv { extra.otel.collector.settings.exporters.debug.verbosity = "basic"; }).env.OTELCTL_COLLECTOR_EXTRA_CONFIG;
      expected = true;
    };
    storesOn = {
      expr = {
        inherit (dv.env) OTELCTL_PROMETHEUS_BIN OTELCTL_VICTORIALOGS_BIN;
        plugins = map (p: p.pname) dv.otel.grafana.plugins;
        pluginsDir = lib.hasSuffix "-otelctl-grafana-plugins" dv.env.OTELCTL_GRAFANA_PLUGINS_DIR;
        readyPrometheus = (readyOf "otel-prometheus").exec;
        readyLogs = (readyOf "otel-victorialogs").exec;
      };
      expected = {
        OTELCTL_PROMETHEUS_BIN = "${store "prometheus"}/bin/prometheus";
        OTELCTL_VICTORIALOGS_BIN = "${store "victorialogs"}/bin/victoria-logs";
        plugins = [ "victoriametrics-logs-datasource" ];
        pluginsDir = true;
        readyPrometheus = "${otelctl} wait prometheus --timeout 2";
        readyLogs = "${otelctl} wait victorialogs --timeout 2";
      };
    };
    collectorExec = { expr = dv.processes.otel-collector.exec; expected = "exec ${otelctl} run collector"; };
    tempoExec = { expr = dv.processes.otel-tempo.exec; expected = "exec ${otelctl} run tempo"; };
    grafanaExec = { expr = dv.processes.otel-grafana.exec; expected = "exec ${otelctl} run grafana"; };
    collectorReady = {
      expr = readyOf "otel-collector";
      expected = { exec = "${otelctl} wait collector --timeout 2"; period = 1; probe_timeout = 5; };
    };
    tempoReady = { expr = (readyOf "otel-tempo").exec; expected = "${otelctl} wait tempo --timeout 2"; };
    grafanaReady = { expr = (readyOf "otel-grafana").exec; expected = "${otelctl} wait grafana --timeout 2"; };
    processOrder = {
      expr = lib.mapAttrs (_: p: p.after) dv.processes;
      expected = {
        otel-collector = [
          "devenv:processes:otel-tempo@started"
          "devenv:processes:otel-prometheus@started"
          "devenv:processes:otel-victorialogs@started"
        ];
        otel-grafana = [ "devenv:processes:otel-tempo@started" ];
        otel-prometheus = [ ];
        otel-tempo = [ ];
        otel-victorialogs = [ ];
      };
    };
    restartPolicy = { expr = dv.processes.otel-collector.restart.on; expected = "on_failure"; };
    noProcessComposeOn2 = { expr = dv.processes.otel-collector.process-compose; expected = { }; };

    envDefaults = {
      expr = dv.env;
      expected = {
        OTELCTL_MODE = "auto";
        OTELCTL_PORT_RANGE = "10000-32767";
        OTELCTL_DEVENV_TRACE = "otlp-grpc";
        OTELCTL_COLLECTOR_BIN = "${store "opentelemetry-collector-contrib"}/bin/otelcol-contrib";
        OTELCTL_TEMPO_BIN = "${store "tempo"}/bin/tempo";
        OTELCTL_GRAFANA_BIN = "${store "grafana"}/bin/grafana";
        OTELCTL_GRAFANA_HOMEPATH = "${store "grafana"}/share/grafana";
        OTELCTL_PROMETHEUS_BIN = "${store "prometheus"}/bin/prometheus";
        OTELCTL_VICTORIALOGS_BIN = "${store "victorialogs"}/bin/victoria-logs";
        OTELCTL_GRAFANA_PLUGINS_DIR = "${store "otelctl-grafana-plugins"}";
      };
    };
    envFromArgs = {
      expr = builtins.removeAttrs dvArgs.env [
        "OTELCTL_COLLECTOR_BIN" "OTELCTL_TEMPO_BIN" "OTELCTL_GRAFANA_BIN" "OTELCTL_GRAFANA_HOMEPATH"
        "OTELCTL_PROMETHEUS_BIN" "OTELCTL_VICTORIALOGS_BIN" "OTELCTL_GRAFANA_PLUGINS_DIR"
      ];
      expected = {
        OTELCTL_MODE = "local";
        OTELCTL_BASE_PORT = "14000";
        OTELCTL_PORT_RANGE = "20000-30000";
        OTELCTL_EXTRA_DASHBOARDS = "/srv/dash:${toString ./stubs}";
        OTELCTL_TEMPO_RETENTION = "24h";
        OTELCTL_DEVENV_TRACE = "off";
      };
    };
    badModeRejected = { expr = badMode.success; expected = false; };
    # Default devenv builds export only OTLP/gRPC.
    devenvTraceHttpRejected = {
      expr = map (t: throws (evalDevenv { args.devenvTrace = t; }).env.OTELCTL_DEVENV_TRACE) [ "otlp-http-json" "otlp-http-protobuf" "zipkin" ];
      expected = [ true true true ];
    };
    devenvTraceAccepted = {
      expr = map (t: (evalDevenv { args.devenvTrace = t; }).env.OTELCTL_DEVENV_TRACE) [ "otlp-grpc" "off" null ];
      expected = [ "otlp-grpc" "off" "off" ];
    };
    unknownArgumentRejected = { expr = throws (evalDevenv { args.basePrt = 1; }).env; expected = true; };
    portRangeAsserted = {
      expr = failedDevenvAssertions (evalDevenv { args = { portRangeStart = 20000; portRangeEnd = 20003; }; });
      expected = [ "otel.portRangeStart (20000) must be more than 6 below otel.portRangeEnd (20003)." ];
    };

    doubleImportOnce = {
      expr = {
        packages = map (p: p.name) dvTwice.packages;
        dashboards = dvTwice.env.OTELCTL_EXTRA_DASHBOARDS;
        entries = builtins.length (lib.splitString "span begin shell shell:entry" dvTwice.enterShell) - 1;
        mixedPackages = builtins.length dvTwiceMixed.packages;
      };
      expected = {
        packages = [ "otelctl" "opentelemetry-collector-contrib" "tempo" "grafana" "prometheus" "victorialogs" ];
        dashboards = "/a";
        entries = 1;
        mixedPackages = 6;
      };
    };
    optionsOnlyUntilEnabled = {
      expr = {
        processes = dvOptionsOnly.processes;
        packages = dvOptionsOnly.packages;
        enabled = dvOptionsOnly.otel.enable;
        typedBase = dvTyped.env.OTELCTL_BASE_PORT;
        typedCollector = dvTyped.env.OTELCTL_COLLECTOR_BIN;
        typedProcesses = builtins.attrNames dvTyped.processes;
      };
      expected = {
        processes = { };
        packages = [ ];
        enabled = false;
        typedBase = "14500";
        typedCollector = "/opt/otelcol/bin/otelcol";
        typedProcesses = [ "otel-collector" "otel-grafana" "otel-prometheus" "otel-tempo" "otel-victorialogs" ];
      };
    };
    programNamesFromPackages = {
      expr = { inherit (dvOtherCollector.env) OTELCTL_COLLECTOR_BIN OTELCTL_TEMPO_BIN; };
      expected = {
        OTELCTL_COLLECTOR_BIN = "${store "opentelemetry-collector"}/bin/otelcol";
        OTELCTL_TEMPO_BIN = "${store "tempo-custom"}/bin/tempo-server";
      };
    };
    moduleFileIdentity = {
      expr = map (d: lib.hasSuffix "nix/devenv-modules/otel.nix" d.file) (evalDevenv' { args.basePort = 14000; }).options.otel.basePort.definitionsWithLocations;
      expected = [ true ];
    };

    enterShell = {
      expr = map (needle: lib.hasInfix needle dv.enterShell) [
        "eval \"$('${otelctl}' span shell 'otelctl env' -- '${otelctl}' env)\""
        "'${otelctl}' span begin shell shell:entry"
        "'${otelctl}' span end"
        "if [ -n \"\${DEVENV_SKIP_TASKS-}\" ]; then"
      ];
      expected = [ true true true true ];
    };
    enterShellQuiet = {
      expr = lib.hasInfix "-- '${otelctl}' env --quiet)\"" dvArgs.enterShell;
      expected = true;
    };

    packages = {
      expr = map (p: p.name) dv.packages;
      expected = [ "otelctl" "opentelemetry-collector-contrib" "tempo" "grafana" "prometheus" "victorialogs" ];
    };
    packageFromSource = {
      expr = lib.hasSuffix "/nix/package.nix" (builtins.head dvNoOtelctl.packages).calledWith;
      expected = true;
    };
    # The default otelctl is the static build (musl) where the platform allows, else dynamic.
    defaultPackageIsStaticOnLinux = {
      expr = {
        linux = (builtins.head dvNoOtelctl.packages).static or false;
        mac = (builtins.head dvNoOtelctlMac.packages).static or false;
        macFromSource = lib.hasSuffix "/nix/package.nix" (builtins.head dvNoOtelctlMac.packages).calledWith;
      };
      expected = { linux = true; mac = false; macFromSource = true; };
    };
    packageArgument = {
      expr = dvOwnPackage.processes.otel-tempo.exec;
      expected = "exec ${store "my-otelctl"}/bin/otelctl run tempo";
    };

    scripts = { expr = builtins.attrNames dv.scripts; expected = [ "dt" "otel" "otel-span" ]; };
    dtScript = {
      expr = lib.hasInfix
        "exec '${otelctl}' span dt \"$task_name\" --attr \"dt.args=$dt_args\" -- '${otelctl}' relay -- devenv tasks run \"$@\""
        dv.scripts.dt.exec;
      expected = true;
    };
    otelSpanScript = { expr = dv.scripts.otel-span.exec; expected = "exec '${otelctl}' span \"$@\"\n"; };
    otelScript = { expr = dv.scripts.otel.exec; expected = "exec '${otelctl}' \"$@\"\n"; };

    userOverridesMerge = {
      expr = {
        mode = dvUser.env.OTELCTL_MODE;
        mine = dvUser.env.MY_VAR;
        processes = builtins.attrNames dvUser.processes;
        grafanaStarts = dvUser.processes.otel-grafana.start.enable;
        taskTraced = lib.hasInfix "span 'dt-task' 'app:build' --attr task.cached=false" dvUser.tasks."app:build".exec;
      };
      expected = {
        mode = "system";
        mine = "1";
        processes = [ "otel-collector" "otel-grafana" "otel-prometheus" "otel-tempo" "otel-victorialogs" "web" ];
        grafanaStarts = false;
        taskTraced = true;
      };
    };
  };

  # ---- NixOS -------------------------------------------------------------------------------
  evalNixos = { pkgs ? stubPkgs { }, config ? { } }:
    (lib.evalModules {
      modules = [ ./stubs/nixos.nix { _module.args.pkgs = pkgs; } ../nixos-modules/otel-stack.nix config ];
    }).config;
  failedAssertions = cfg: map (a: a.message) (lib.filter (a: !a.assertion) cfg.assertions);

  off = evalNixos { };
  on = evalNixos { config.services.otel-stack.enable = true; };
  alice = evalNixos {
    config = {
      users.users.alice.isNormalUser = true;
      services.otel-stack = {
        enable = true;
        user = "alice";
        tempo.retention = "72h";
        collector.settings.exporters.debug.verbosity = "basic";
        grafana.settings."auth.anonymous" = { enabled = true; org_role = "Admin"; };
        environment.OTELCTL_GRAFANA_PORT = "3701";
      };
    };
  };
  unknownUser = evalNixos { config.services.otel-stack = { enable = true; user = "bob"; }; };
  samePorts = evalNixos {
    config.services.otel-stack = { enable = true; ports.grafana = 4318; };
  };
  noStores = evalNixos {
    config.services.otel-stack = { enable = true; prometheus.enable = false; victorialogs.enable = false; };
  };
  withNixpkgsPrometheus = evalNixos {
    config.services.otel-stack.enable = true;
    config.services.prometheus.enable = true;
  };
  movedPorts = evalNixos {
    config.services.otel-stack = { enable = true; ports = { collector = 14318; grafana = 13700; }; };
  };
  withNixpkgsTempo = evalNixos {
    config.services.otel-stack.enable = true;
    config.services.tempo = { enable = true; settings.distributor.receivers.otlp.protocols.grpc = { }; };
  };
  withNixpkgsCollector = evalNixos {
    config.services.otel-stack = { enable = true; ports.collectorMetrics = 18888; };
    config.services.opentelemetry-collector = {
      enable = true;
      settings.receivers.otlp.protocols.http.endpoint = "127.0.0.1:4318";
    };
  };
  besideMovedNixpkgs = evalNixos {
    config.services.otel-stack.enable = true;
    config.services.tempo = { enable = true; settings.server = { http_listen_port = 3210; grpc_listen_port = 9096; }; };
    config.services.opentelemetry-collector = {
      enable = true;
      settings.receivers.otlp.protocols.grpc.endpoint = "0.0.0.0:5317";
      settings.service.telemetry.metrics.level = "none";
    };
  };
  otherCollector = evalNixos {
    config.services.otel-stack = {
      enable = true;
      collector.package = pkgs.drv "opentelemetry-collector" { meta.mainProgram = "otelcol"; };
      grafana.executable = "/opt/grafana/bin/grafana-server";
    };
  };
  noOtelctl = evalNixos {
    pkgs = stubPkgs { withOtelctl = false; };
    config.services.otel-stack.enable = true;
  };

  svc = cfg: name: cfg.systemd.services.${name};
  env = cfg: name: (svc cfg name).environment;
  componentEnv = cfg: lib.filterAttrs (n: _: (lib.hasPrefix "OTELCTL_" n || n == "OTEL_SPOOL_DIR") && !lib.hasSuffix "_BIN" n && n != "OTELCTL_GRAFANA_HOMEPATH") (env cfg "otel-collector");

  # The template's node, evaluated with the module the flake check puts in `defaults`.
  template = import ../../templates/otel_traced.nix { };
  templateNode = evalNixos { config = template.nodes.machine; };
  spoolTest = import ./nixos-spool.nix { };
  spoolNode = evalNixos { config = spoolTest.nodes.machine; };

  nixosTests = {
    disabledDoesNothing = {
      expr = { services = off.systemd.services; users = off.users.users; tmpfiles = off.systemd.tmpfiles.rules; };
      expected = { services = { }; users = { }; tmpfiles = [ ]; };
    };
    services = {
      expr = builtins.attrNames on.systemd.services;
      expected = [ "otel-collector" "otel-grafana" "otel-prometheus" "otel-tempo" "otel-victorialogs" ];
    };
    storesOffNixos = {
      expr = {
        services = builtins.attrNames noStores.systemd.services;
        env = lib.filterAttrs (n: _: lib.hasSuffix "_STORE" n) (env noStores "otel-collector");
      };
      expected = {
        services = [ "otel-collector" "otel-grafana" "otel-tempo" ];
        env = { OTELCTL_METRICS_STORE = "off"; OTELCTL_LOGS_STORE = "off"; };
      };
    };
    nixpkgsPrometheusCollides = {
      expr = failedAssertions withNixpkgsPrometheus;
      expected = [
        "services.otel-stack.ports.metricsStore (9090) is also taken by nixpkgs' services.prometheus (port): move one of them (services.otel-stack.ports.* are published to every project in /etc/otel-stack/ports.json)."
      ];
    };
    defaultUser = {
      expr = { inherit (on.users.users.otel-stack) isSystemUser group home createHome; groups = builtins.attrNames on.users.groups; };
      expected = { isSystemUser = true; group = "otel-stack"; home = "/var/lib/otel-stack"; createHome = true; groups = [ "otel-stack" ]; };
    };
    execStart = {
      expr = lib.mapAttrs (_: s: s.serviceConfig.ExecStart) on.systemd.services;
      expected = {
        otel-collector = "${otelctl} --root /var/lib/otel-stack run collector";
        otel-grafana = "${otelctl} --root /var/lib/otel-stack run grafana";
        otel-tempo = "${otelctl} --root /var/lib/otel-stack run tempo";
        otel-prometheus = "${otelctl} --root /var/lib/otel-stack run prometheus";
        otel-victorialogs = "${otelctl} --root /var/lib/otel-stack run victorialogs";
      };
    };
    readiness = {
      expr = (svc on "otel-tempo").serviceConfig.ExecStartPost;
      expected = "${otelctl} --root /var/lib/otel-stack wait tempo --timeout 120";
    };
    runsAsUser = {
      expr = { inherit ((svc on "otel-grafana").serviceConfig) User Group WorkingDirectory Restart; };
      expected = { User = "otel-stack"; Group = "otel-stack"; WorkingDirectory = "/var/lib/otel-stack"; Restart = "on-failure"; };
    };
    fixedPortsLocalMode = {
      expr = componentEnv on;
      expected = {
        OTELCTL_MODE = "local";
        OTELCTL_DATA_DIR = "/var/lib/otel-stack";
        OTELCTL_COLLECTOR_PORT = "4318";
        OTELCTL_TEMPO_OTLP_GRPC_PORT = "4317";
        OTELCTL_TEMPO_HTTP_PORT = "3200";
        OTELCTL_GRAFANA_PORT = "3700";
        OTELCTL_COLLECTOR_METRICS_PORT = "8888";
        OTELCTL_TEMPO_GRPC_PORT = "9095";
        OTELCTL_METRICS_STORE_PORT = "9090";
        OTELCTL_LOGS_STORE_PORT = "9428";
        OTELCTL_GRAFANA_PLUGINS_DIR = "${store "otel-stack-grafana-plugins"}";
        OTEL_SPOOL_DIR = "/var/lib/otel-stack/.otel/spool";
        OTELCTL_DASHBOARDS_DIR = "/var/lib/otel-stack/.otel/dashboards";
      };
    };
    binaries = {
      expr = lib.filterAttrs (n: _: lib.hasSuffix "_BIN" n || n == "OTELCTL_GRAFANA_HOMEPATH") (env on "otel-tempo");
      expected = {
        OTELCTL_COLLECTOR_BIN = "${store "opentelemetry-collector-contrib"}/bin/otelcol-contrib";
        OTELCTL_TEMPO_BIN = "${store "tempo"}/bin/tempo";
        OTELCTL_GRAFANA_BIN = "${store "grafana"}/bin/grafana";
        OTELCTL_GRAFANA_HOMEPATH = "${store "grafana"}/share/grafana";
        OTELCTL_PROMETHEUS_BIN = "${store "prometheus"}/bin/prometheus";
        OTELCTL_VICTORIALOGS_BIN = "${store "victorialogs"}/bin/victoria-logs";
      };
    };
    ordering = {
      expr = lib.mapAttrs (_: s: { inherit (s) wants after partOf wantedBy; }) on.systemd.services;
      expected =
        let
          unit = deps: { wants = deps; after = [ "network.target" "systemd-tmpfiles-setup.service" ] ++ deps; partOf = [ "otel-stack.target" ]; wantedBy = [ "multi-user.target" ]; };
        in
        {
          otel-collector = unit [ "otel-tempo.service" "otel-prometheus.service" "otel-victorialogs.service" ];
          otel-grafana = unit [ "otel-tempo.service" ];
          otel-tempo = unit [ "otel-prometheus.service" "otel-victorialogs.service" ];
          otel-prometheus = unit [ ];
          otel-victorialogs = unit [ ];
        };
    };
    target = {
      expr = { inherit (on.systemd.targets.otel-stack) wants after wantedBy; };
      expected = {
        wants = [ "otel-prometheus.service" "otel-victorialogs.service" "otel-tempo.service" "otel-collector.service" "otel-grafana.service" ];
        after = [ "otel-prometheus.service" "otel-victorialogs.service" "otel-tempo.service" "otel-collector.service" "otel-grafana.service" ];
        wantedBy = [ "multi-user.target" ];
      };
    };
    tmpfiles = {
      expr = on.systemd.tmpfiles.rules;
      expected = [
        "d /var/lib/otel-stack 0700 otel-stack otel-stack - -"
        "d /var/lib/otel-stack/.otel 0700 otel-stack otel-stack - -"
        "d /var/lib/otel-stack/.otel/spool 0700 otel-stack otel-stack - -"
        "d /var/lib/otel-stack/.otel/dashboards 0700 otel-stack otel-stack - -"
      ];
    };
    systemPackages = { expr = map (p: p.name) on.environment.systemPackages; expected = [ "otelctl" ]; };
    assertionsHold = { expr = failedAssertions on; expected = [ ]; };

    userHome = {
      expr = {
        spool = (env alice "otel-collector").OTEL_SPOOL_DIR;
        dashboards = (env alice "otel-grafana").OTELCTL_DASHBOARDS_DIR;
        home = (env alice "otel-tempo").HOME;
        inherit ((svc alice "otel-collector").serviceConfig) User Group;
        noSystemUser = alice.users.users ? otel-stack;
        tmpfiles = builtins.elemAt alice.systemd.tmpfiles.rules 2;
      };
      expected = {
        spool = "/home/alice/.otel/spool";
        dashboards = "/home/alice/.otel/dashboards";
        home = "/home/alice";
        User = "alice";
        Group = "users";
        noSystemUser = false;
        tmpfiles = "d /home/alice/.otel/spool 0700 alice users - -";
      };
    };
    retention = { expr = (env alice "otel-tempo").OTELCTL_TEMPO_RETENTION or null; expected = "72h"; };
    retentionUnsetByDefault = { expr = (env on "otel-tempo") ? OTELCTL_TEMPO_RETENTION; expected = false; };
    collectorSettingsAsYamlFile = {
      expr = {
        file = (env alice "otel-collector").OTELCTL_COLLECTOR_EXTRA_CONFIG;
        value = (pkgs.formats.yaml { }).type.check alice.services.otel-stack.collector.settings;
        tempoHasNone = (env alice "otel-collector") ? OTELCTL_TEMPO_EXTRA_CONFIG;
      };
      expected = {
        file = store "otel-stack-OTELCTL_COLLECTOR_EXTRA_CONFIG.yaml";
        value = true;
        tempoHasNone = false;
      };
    };
    grafanaSettingsAsEnv = {
      expr = {
        grafana = lib.filterAttrs (n: _: lib.hasPrefix "GF_" n) (env alice "otel-grafana");
        tempoHasNone = lib.any (lib.hasPrefix "GF_") (builtins.attrNames (env alice "otel-tempo"));
      };
      expected = {
        grafana = { GF_AUTH_ANONYMOUS_ENABLED = "true"; GF_AUTH_ANONYMOUS_ORG_ROLE = "Admin"; };
        tempoHasNone = false;
      };
    };
    extraEnvironmentWins = { expr = (env alice "otel-grafana").OTELCTL_GRAFANA_PORT; expected = "3701"; };
    unknownUserAsserted = {
      expr = failedAssertions unknownUser;
      expected = [ "services.otel-stack.user: user \"bob\" is not declared in users.users." ];
    };
    duplicatePortsAsserted = {
      expr = failedAssertions samePorts;
      expected = [ "services.otel-stack.ports: every port must be different." ];
    };
    publishedPorts = {
      expr = map (c: builtins.fromJSON c.environment.etc."otel-stack/ports.json".text) [ on movedPorts ];
      expected = [
        { collector_otlp_http = 4318; tempo_otlp_grpc = 4317; tempo_http = 3200; grafana_http = 3700; collector_metrics = 8888; tempo_grpc = 9095; metrics_store_http = 9090; logs_store_http = 9428; }
        { collector_otlp_http = 14318; tempo_otlp_grpc = 4317; tempo_http = 3200; grafana_http = 13700; collector_metrics = 8888; tempo_grpc = 9095; metrics_store_http = 9090; logs_store_http = 9428; }
      ];
    };
    nothingPublishedWhenDisabled = { expr = off.environment.etc; expected = { }; };
    nixpkgsTempoCollides = {
      expr = failedAssertions withNixpkgsTempo;
      expected = [
        "services.otel-stack.ports.tempoGrpc (9095) is also taken by nixpkgs' services.tempo (server.grpc_listen_port): move one of them (services.otel-stack.ports.* are published to every project in /etc/otel-stack/ports.json)."
        "services.otel-stack.ports.tempoHttp (3200) is also taken by nixpkgs' services.tempo (server.http_listen_port): move one of them (services.otel-stack.ports.* are published to every project in /etc/otel-stack/ports.json)."
        "services.otel-stack.ports.tempoOtlpGrpc (4317) is also taken by nixpkgs' services.tempo (distributor OTLP receiver): move one of them (services.otel-stack.ports.* are published to every project in /etc/otel-stack/ports.json)."
      ];
    };
    nixpkgsCollectorCollides = {
      expr = failedAssertions withNixpkgsCollector;
      expected = [
        "services.otel-stack.ports.collector (4318) is also taken by nixpkgs' services.opentelemetry-collector (OTLP receiver): move one of them (services.otel-stack.ports.* are published to every project in /etc/otel-stack/ports.json)."
      ];
    };
    nixpkgsServicesOnOtherPorts = {
      expr = failedAssertions besideMovedNixpkgs;
      expected = [
        "services.otel-stack.ports.collectorMetrics (8888) is also taken by nixpkgs' services.opentelemetry-collector (its own telemetry): move one of them (services.otel-stack.ports.* are published to every project in /etc/otel-stack/ports.json)."
      ];
    };
    programNamesFromPackages = {
      expr = { inherit ((env otherCollector "otel-collector")) OTELCTL_COLLECTOR_BIN OTELCTL_GRAFANA_BIN; };
      expected = {
        OTELCTL_COLLECTOR_BIN = "${store "opentelemetry-collector"}/bin/otelcol";
        OTELCTL_GRAFANA_BIN = "/opt/grafana/bin/grafana-server";
      };
    };
    packageFromSource = {
      expr = {
        file = lib.hasSuffix "/nix/package.nix" (builtins.head noOtelctl.environment.systemPackages).calledWith;
        static = (builtins.head noOtelctl.environment.systemPackages).static or false;
      };
      expected = { file = true; static = true; };
    };
    templateNode = {
      expr = {
        services = builtins.attrNames templateNode.systemd.services;
        spool = (env templateNode "otel-collector").OTEL_SPOOL_DIR;
        assertions = failedAssertions templateNode;
        name = template.name;
      };
      expected = {
        services = [ "otel-collector" "otel-grafana" "otel-prometheus" "otel-tempo" "otel-victorialogs" ];
        spool = "/home/tester/.otel/spool";
        assertions = [ ];
        name = "otel-traced";
      };
    };
    spoolTestNode = {
      expr = (env spoolNode "otel-collector").OTEL_SPOOL_DIR;
      expected = "/home/tester/.otel/spool";
    };
  };

  run = prefix: tests: lib.mapAttrsToList
    (name: t: { name = "${prefix}.${name}"; ok = t.expr == t.expected; inherit (t) expr expected; })
    tests;
  results = run "devenv" devenvTests ++ run "nixos" nixosTests;
in
{
  passed = map (r: r.name) (lib.filter (r: r.ok) results);
  failed = map (r: { inherit (r) name expected; actual = r.expr; }) (lib.filter (r: !r.ok) results);
}
