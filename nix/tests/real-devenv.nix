# The devenv module and the devenv template evaluated against a real devenv module tree
# (a cachix/devenv checkout's src/modules/top-level.nix, as devenv's own bootstrap evaluates it),
# with nixpkgs' lib and stub pkgs (./stubs/devenv-pkgs.nix): nothing is built. How to get the trees
# and which versions were checked: ./README.md.
#
#   nix-instantiate --eval --strict --json nix/tests/real-devenv.nix \
#     --arg lib 'import /tmp/nixpkgs-lib/lib' --arg devenv /tmp/devenv-v1.11.2
#
# Returns { passed; failed; } like ./modules.nix; names carry the devenv version.
{ lib, devenv }:

let
  # The CLI version devenv's bootstrap passes in (devenv.cli.version, or cliVersion on 1.x).
  version = (builtins.fromTOML (builtins.readFile (devenv + "/Cargo.toml"))).workspace.package.version;
  native = lib.versionAtLeast version "2.0";

  pkgs = import ./stubs/devenv-pkgs.nix { inherit lib; };
  store = name: "/nix/store/00000000000000000000000000000000-${name}";
  otelctl = "${store "otelctl"}/bin/otelctl";

  # This flake, with a stub nixpkgs input, as `inputs.otelctl` of a devenv project.
  flake = (import ../../flake.nix).outputs {
    self = flake;
    nixpkgs = { inherit lib; legacyPackages = lib.genAttrs [ "x86_64-linux" ] (_: pkgs); };
  };

  root = "/home/dev/project";

  # As devenv-nix-backend/bootstrap/bootstrapLib.nix (2.x) and devenv/src/flake.tmpl.nix (1.x).
  eval = modules: lib.evalModules {
    # `self` is the project source (2.0-2.2: an input of the project's lock).
    specialArgs = { inputs = { otelctl = flake; }; self = root; secretspec = null; primops = { }; };
    modules = [
      { _module.args.pkgs = pkgs; }
      (devenv + "/src/modules/top-level.nix")
      ({ options, ... }: {
        config.devenv = lib.mkMerge [
          { inherit root; }
          (if options.devenv ? cli then { cli.version = version; } else { cliVersion = version; })
          (lib.optionalAttrs (options.devenv ? tmpdir) { tmpdir = "/tmp"; })
          (lib.optionalAttrs (options.devenv ? runtime) { runtime = "/run/user/1000/devenv-0000000"; })
        ];
      })
      # devenv 1.x always has the git-hooks input (its flake template adds it), whose module
      # declares configPath (default ".pre-commit-config.yaml"); without the input, devenv's
      # stand-in for it lacks the option and its enterShell cannot be evaluated.
      (lib.optionalAttrs (!native) { git-hooks.configPath = ".pre-commit-config.yaml"; })
    ] ++ modules;
  };

  calledEval = eval [ (flake.devenvModules.otel { basePort = 14000; }) ];
  called = calledEval.config;
  typed = (eval [ flake.devenvModules.otel { otel.enable = true; otel.mode = "local"; } ]).config;
  twiceEval = eval [ (flake.devenvModules.otel { }) (flake.devenvModules.otel { }) ];
  twice = twiceEval.config;
  template = (eval [ ../../templates/devenv/devenv.nix ]).config;

  # devenv's own Collector module (src/modules/services/opentelemetry-collector.nix), when this
  # tree has it: alone, beside ours, and ours with the settings it would have had.
  hasDevenvCollector = (eval [ ]).options.services ? opentelemetry-collector;
  theirs = { services.opentelemetry-collector.enable = true; };
  devenvAlone = (eval [ theirs ]).config;
  both = (eval [ (flake.devenvModules.otel { }) theirs ]).config;
  merged = (eval [
    (flake.devenvModules.otel { })
    { otel.collector.settings.exporters.debug.verbosity = "basic"; }
  ]).config;
  collectors = c: builtins.filter (lib.hasInfix "collector") (builtins.attrNames c.processes);

  # What our module defines for an option, computed with this tree's config and options. The
  # merged value would force every module's definitions, and devenv 1.x's enterShell needs the
  # devenv-tasks build from its locked nixpkgs, which a stub cannot give.
  ownConfig = evaluated: (import ../devenv-modules/otel/module.nix {
    inherit lib pkgs;
    inherit (evaluated) config options;
  }).config.content;

  ours = c: lib.filterAttrs (n: _: lib.hasPrefix "otel-" n) c.processes;
  probe = component: "${otelctl} wait ${component} --timeout 2";
  expectedProcesses = lib.mapAttrs
    (name: deps:
      let component = lib.removePrefix "otel-" name; in
      if native then {
        ready = probe component;
        after = map (d: "devenv:processes:${d}@started") deps;
      } else {
        ready = probe component;
        after = builtins.attrNames (lib.genAttrs deps (_: null));
      })
    {
      otel-tempo = [ ];
      otel-prometheus = [ ];
      otel-victorialogs = [ ];
      otel-collector = [ "otel-tempo" "otel-prometheus" "otel-victorialogs" ];
      otel-grafana = [ "otel-tempo" ];
    };
  # Readiness and order, read back from whatever this version declares.
  shapeOf = c: lib.mapAttrs
    (_: p:
      if native then { ready = p.ready.exec; inherit (p) after; }
      else { ready = p.process-compose.readiness_probe.exec.command; after = builtins.attrNames p.process-compose.depends_on; })
    (ours c);

  failedAssertions = c: map (a: a.message) (lib.filter (a: !a.assertion) c.assertions);

  tests = {
    processes = { expr = shapeOf called; expected = expectedProcesses; };
    exec = { expr = called.processes.otel-collector.exec; expected = "exec ${otelctl} run collector"; };
    env = {
      expr = { inherit (called.env) OTELCTL_BASE_PORT OTELCTL_MODE OTELCTL_DEVENV_TRACE OTELCTL_COLLECTOR_BIN; };
      expected = {
        OTELCTL_BASE_PORT = "14000";
        OTELCTL_MODE = "auto";
        OTELCTL_DEVENV_TRACE = "otlp-grpc";
        OTELCTL_COLLECTOR_BIN = "${store "opentelemetry-collector-contrib"}/bin/otelcol-contrib";
      };
    };
    scripts = {
      expr = map (n: called.scripts ? ${n}) [ "dt" "otel-span" "otel" ]
        ++ [ (lib.hasInfix "span dt \"$task_name\"" called.scripts.dt.exec) ];
      expected = [ true true true true ];
    };
    enterShell = {
      expr = lib.hasInfix "'${otelctl}' span begin shell shell:entry" (ownConfig calledEval).enterShell;
      expected = true;
    };
    packages = {
      expr = map (n: builtins.any (p: (p.name or "") == n) called.packages) [ "otelctl" "opentelemetry-collector-contrib" "tempo" "grafana" ];
      expected = [ true true true true ];
    };
    assertions = { expr = failedAssertions called; expected = [ ]; };
  } // lib.optionalAttrs hasDevenvCollector {
    # Issue 24 item 7: both enabled would run two Collectors; our assertion makes devenv's
    # evaluation fail ("Failed assertions") naming both options and the way out.
    devenvCollectorBesideOurs = {
      expr = {
        alone = collectors devenvAlone;
        aloneAssertions = failedAssertions devenvAlone;
        both = collectors both;
        refused = map
          (m: map (needle: lib.hasInfix needle m) [
            "otel.enable and services.opentelemetry-collector.enable"
            "services.opentelemetry-collector.enable = false"
            "otel.collector.settings"
          ])
          (failedAssertions both);
      };
      expected = {
        alone = [ "opentelemetry-collector" ];
        aloneAssertions = [ ];
        both = [ "opentelemetry-collector" "otel-collector" ];
        refused = [ [ true true true ] ];
      };
    };
    # The way out: devenv's collector settings as ours, merged over otelctl's rendered config.
    collectorSettingsMerged = {
      expr = {
        collectors = collectors merged;
        extra = lib.hasSuffix "-otelctl-collector-extra.yaml" merged.env.OTELCTL_COLLECTOR_EXTRA_CONFIG;
        assertions = failedAssertions merged;
      };
      expected = { collectors = [ "otel-collector" ]; extra = true; assertions = [ ]; };
    };
  } // {
    typedOptions = {
      expr = { mode = typed.env.OTELCTL_MODE; processes = builtins.attrNames (ours typed); };
      expected = { mode = "local"; processes = [ "otel-collector" "otel-grafana" "otel-prometheus" "otel-tempo" "otel-victorialogs" ]; };
    };
    doubleImport = {
      expr = {
        packages = builtins.length (builtins.filter (p: (p.name or "") == "otelctl") twice.packages);
        declarations = builtins.length twiceEval.options.otel.enable.declarations;
      };
      expected = { packages = 1; declarations = 1; };
    };
    template = {
      expr = {
        processes = shapeOf template;
        hello = lib.hasInfix "span 'dt-task' 'app:hello'" template.tasks."app:hello".exec;
        build = lib.hasInfix "otel-task-cache/${builtins.hashString "sha256" "app:build"}" template.tasks."app:build".status;
        after = template.tasks."app:build".after;
        assertions = failedAssertions template;
      };
      expected = {
        processes = expectedProcesses;
        hello = true;
        build = true;
        after = [ "app:hello" ];
        assertions = [ ];
      };
    };
  };

  results = lib.mapAttrsToList
    (name: t: { name = "devenv-${version}.${name}"; ok = t.expr == t.expected; inherit (t) expr expected; })
    tests;
in
{
  passed = map (r: r.name) (lib.filter (r: r.ok) results);
  failed = map (r: { inherit (r) name expected; actual = r.expr; }) (lib.filter (r: !r.ok) results);
}
