# devenv module: a per-project Collector + Tempo + Grafana stack run by otelctl, plus task tracing.
#
#   imports = [ (inputs.otelctl.devenvModules.otel { }) ];                   # enabled
#   imports = [ (inputs.otelctl.devenvModules.otel { basePort = 14000; }) ];
#
#   imports = [ inputs.otelctl.devenvModules.otel ];                         # options only
#   otel = { enable = true; basePort = 14000; };
#
# Called with arguments, it enables `otel` and sets the `otel.*` option of the same name
# (package, collectorPackage, tempoPackage and grafanaPackage set otel.package and
# otel.{collector,tempo,grafana}.package). Imported as it is, it only declares the options.
# The options and what they do: ./otel/module.nix. Works on devenv 1.x and 2.x.
#
# This file declares; otelctl computes. Ports, system/local detection, rendered configs and
# spans all live in otelctl; the options only reach it through the environment (../lib/env.nix).
let
  module = ./otel/module.nix;

  # Argument -> path of the `otel` option it sets.
  optionOf = {
    basePort = [ "basePort" ];
    mode = [ "mode" ];
    portRangeStart = [ "portRangeStart" ];
    portRangeEnd = [ "portRangeEnd" ];
    extraDashboards = [ "extraDashboards" ];
    tempoRetention = [ "tempoRetention" ];
    devenvTrace = [ "devenvTrace" ];
    quiet = [ "quiet" ];
    package = [ "package" ];
    collectorPackage = [ "collector" "package" ];
    tempoPackage = [ "tempo" "package" ];
    grafanaPackage = [ "grafana" "package" ];
  };

  # A package argument of null means "the default", as it always did.
  nullMeansDefault = [ "basePort" "package" "collectorPackage" "tempoPackage" "grafanaPackage" ];

  # Stable text for the module key: two calls with the same arguments are one module, so a
  # double import neither duplicates list options nor conflicts on package options.
  keyText = v:
    if builtins.isPath v then toString v
    else if builtins.isList v then map keyText v
    else if builtins.isAttrs v then (if v ? outPath then toString v else builtins.mapAttrs (_: keyText) v)
    else v;

  setAt = path: value:
    if builtins.length path == 1 then { ${builtins.head path} = value; }
    else { ${builtins.head path} = setAt (builtins.tail path) value; };

  # Nested attribute sets merged one level deep (collector/tempo/grafana hold one key each).
  merge = builtins.foldl' (acc: s:
    acc // builtins.mapAttrs (n: v: if acc ? ${n} && builtins.isAttrs v && builtins.isAttrs acc.${n} then acc.${n} // v else v) s) { };

  call = args:
    let
      unknown = builtins.filter (n: !(optionOf ? ${n})) (builtins.attrNames args);
      given = builtins.filter (n: !(builtins.elem n nullMeansDefault && args.${n} == null)) (builtins.attrNames args);
    in
    if unknown != [ ] then
      throw "otelctl devenvModules.otel: unknown argument${if builtins.length unknown > 1 then "s" else ""} ${builtins.concatStringsSep ", " unknown}; known: ${builtins.concatStringsSep ", " (builtins.attrNames optionOf)}"
    else {
      _file = ./otel.nix;
      key = "otelctl:nix/devenv-modules/otel.nix:" + builtins.toJSON (keyText args);
      imports = [ module ];
      config.otel = merge ([{ enable = true; }] ++ map (n: setAt optionOf.${n} args.${n}) given);
    };
in
# Imported without being called, the module system hands us its own arguments.
args:
if args ? options && args ? config && args ? lib then { _file = ./otel.nix; imports = [ module ]; }
else call args
