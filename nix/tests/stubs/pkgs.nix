# Stub `pkgs` for module-evaluation tests: just enough attributes, no builds.
# Derivations are plain attribute sets with type = "derivation" and a fake store path.
{ lib
, system ? "x86_64-linux"
, withOtelctl ? true
}:

let
  drv = name: extra: {
    type = "derivation";
    inherit name;
    outPath = "/nix/store/00000000000000000000000000000000-${name}";
    meta = { };
  } // extra;
in
{
  inherit lib drv;

  stdenv.hostPlatform = {
    inherit system;
    isLinux = lib.hasSuffix "-linux" system;
    isDarwin = lib.hasSuffix "-darwin" system;
  };

  bash = drv "bash" { meta.mainProgram = "bash"; };
  curl = drv "curl" { meta.mainProgram = "curl"; };
  opentelemetry-collector-contrib = drv "opentelemetry-collector-contrib" { meta.mainProgram = "otelcol-contrib"; };
  tempo = drv "tempo" { };
  grafana = drv "grafana" { meta.mainProgram = "grafana"; };
  prometheus = drv "prometheus" { meta.mainProgram = "prometheus"; };
  victorialogs = drv "victorialogs" { meta.mainProgram = "victoria-logs"; };
  grafanaPlugins.victoriametrics-logs-datasource = drv "victoriametrics-logs-datasource" {
    pname = "victoriametrics-logs-datasource";
  };
  linkFarm = name: entries: drv name { inherit entries; };

  # Records what it was asked to build.
  callPackage = fn: args: drv "callPackage-result" { calledWith = toString fn; inherit args; };
  pkgsStatic.callPackage = fn: args: drv "callPackage-result-static" { calledWith = toString fn; inherit args; static = true; };

  formats.yaml = _: {
    type = lib.types.attrsOf lib.types.anything;
    generate = name: value: drv name { yamlValue = value; };
  };

  runCommand = name: env: script: drv name { inherit env script; };

  testers.runNixOSTest = test: drv "nixos-test" { inherit test; };
}
// lib.optionalAttrs withOtelctl {
  otelctl = drv "otelctl" { meta.mainProgram = "otelctl"; };
}
