# Option declarations shaped like devenv's (cachix/devenv src/modules: top-level.nix, processes.nix,
# lib/ready.nix, tasks.nix, scripts.nix, update-check.nix), per devenv version, trimmed to what a
# module sets. Field names and types follow each version's, so a setting that version does not
# declare fails here as it does there ("The option `processes.x.after' does not exist").
#
#   imports = [ (import ./stubs/devenv.nix { version = "1.11.2"; }) ];
#
# Versions modelled (read from devenv's own src/modules at each tag; nix/tests/README.md):
#   "1.11.2"  processes.<n>: exec, cwd, process-compose only; tasks without env; devenv.cliVersion
#   "2.0"     + processes.<n>.{start, ports, env, ready, restart, listen, watchdog, after, before,
#               linux, watch}; tasks.<n>.{env, process}; devenv.cli.version (cliVersion an alias)
#   "2.2.2"   as 2.0
#   "main"    + processes.<n>.{shutdown, supervisionMode}
{ version ? "main" }:

assert builtins.elem version [ "1.11.2" "2.0" "2.2.2" "main" ]
  || throw "stubs/devenv.nix: no model of devenv ${version}";

{ lib, ... }:

let
  inherit (lib) mkOption types optionalAttrs;

  v2 = version != "1.11.2";
  main = version == "main";

  # (pkgs.formats.yaml { }).type
  yamlType = types.attrsOf types.anything;

  readyType = types.submodule {
    options = {
      exec = mkOption { type = types.nullOr types.str; default = null; };
      http = mkOption {
        type = types.submodule {
          options.get = mkOption {
            type = types.nullOr (types.submodule {
              options = {
                host = mkOption { type = types.str; default = "127.0.0.1"; };
                port = mkOption { type = types.port; };
                path = mkOption { type = types.str; default = "/"; };
                scheme = mkOption { type = types.str; default = "http"; };
              };
            });
            default = null;
          };
        };
        default = { };
      };
      notify = mkOption { type = types.bool; default = false; };
      initial_delay = mkOption { type = types.int; default = 0; };
      period = mkOption { type = types.int; default = 10; };
      probe_timeout = mkOption { type = types.int; default = 1; };
      timeout = mkOption { type = types.nullOr types.ints.unsigned; default = null; };
      success_threshold = mkOption { type = types.int; default = 1; };
      failure_threshold = mkOption { type = types.int; default = 3; };
    };
  };

  processType = types.submodule {
    options = {
      exec = mkOption { type = types.str; };
      cwd = mkOption { type = types.nullOr types.str; default = null; };
      process-compose = mkOption { type = yamlType; default = { }; };
    } // optionalAttrs v2 {
      start.enable = mkOption { type = types.bool; default = true; };
      ports = mkOption {
        type = types.attrsOf (types.submodule {
          options.allocate = mkOption { type = types.port; };
        });
        default = { };
      };
      env = mkOption { type = types.attrsOf types.str; default = { }; };
      ready = mkOption { type = types.nullOr readyType; default = null; };
      restart = mkOption {
        type = types.submodule {
          options = {
            on = mkOption { type = types.enum [ "never" "always" "on_failure" ]; default = "on_failure"; };
            max = mkOption { type = types.nullOr types.int; default = 5; };
            window = mkOption { type = types.nullOr types.ints.unsigned; default = null; };
          };
        };
        default = { };
      };
      listen = mkOption { type = types.listOf (types.attrsOf types.anything); default = [ ]; };
      watchdog = mkOption { type = types.nullOr (types.attrsOf types.anything); default = null; };
      after = mkOption { type = types.listOf types.str; default = [ ]; };
      before = mkOption { type = types.listOf types.str; default = [ ]; };
      linux = mkOption { type = types.attrsOf types.anything; default = { }; };
      watch = mkOption { type = types.attrsOf types.anything; default = { }; };
    } // optionalAttrs main {
      shutdown = {
        signal = mkOption { type = types.ints.between 1 31; default = 15; };
        grace = mkOption { type = types.ints.unsigned; default = 5; };
      };
      supervisionMode = mkOption { type = types.enum [ "native" "external" ]; default = "native"; };
    };
  };

  taskType = types.submodule {
    options = {
      type = mkOption { type = types.enum [ "oneshot" "process" ]; default = "oneshot"; };
      exec = mkOption { type = types.nullOr types.str; default = null; };
      status = mkOption { type = types.nullOr types.str; default = null; };
      execIfModified = mkOption { type = types.listOf types.str; default = [ ]; };
      exports = mkOption { type = types.listOf types.str; default = [ ]; };
      description = mkOption { type = types.str; default = ""; };
      showOutput = mkOption { type = types.bool; default = false; };
      after = mkOption { type = types.listOf types.str; default = [ ]; };
      before = mkOption { type = types.listOf types.str; default = [ ]; };
      input = mkOption { type = types.attrsOf types.anything; default = { }; };
      cwd = mkOption { type = types.nullOr types.str; default = null; };
    } // optionalAttrs v2 {
      env = mkOption { type = types.attrsOf types.str; default = { }; };
      process = mkOption { type = types.attrsOf types.anything; default = { }; };
    };
  };

  scriptType = types.submodule {
    options = {
      exec = mkOption { type = types.oneOf [ types.str types.path ]; };
      package = mkOption { type = types.package; default = { type = "derivation"; name = "bash"; outPath = "/bash"; }; };
      binary = mkOption { type = types.nullOr types.str; default = null; };
      description = mkOption { type = types.str; default = ""; };
      packages = mkOption { type = types.listOf types.package; default = [ ]; };
    };
  };

  cliVersion = { "1.11.2" = "1.11.2"; "2.0" = "2.0.0"; "2.2.2" = "2.2.2"; main = "2.3.0"; }.${version};
in
{
  imports = lib.optional v2 (lib.mkAliasOptionModule [ "devenv" "cliVersion" ] [ "devenv" "cli" "version" ]);

  options = {
    env = mkOption {
      type = types.submodule { freeformType = types.lazyAttrsOf types.anything; };
      default = { };
    };
    enterShell = mkOption { type = types.lines; default = ""; };
    packages = mkOption { type = types.listOf types.package; default = [ ]; };
    processes = mkOption { type = types.attrsOf processType; default = { }; };
    tasks = mkOption { type = types.attrsOf taskType; default = { }; };
    scripts = mkOption { type = types.attrsOf scriptType; default = { }; };
    assertions = mkOption { type = types.listOf types.unspecified; default = [ ]; };
    warnings = mkOption { type = types.listOf types.str; default = [ ]; };
    devenv = {
      root = mkOption { type = types.str; default = "/home/dev/project"; };
      dotfile = mkOption { type = types.str; default = "/home/dev/project/.devenv"; };
      state = mkOption { type = types.str; default = "/home/dev/project/.devenv/state"; };
      runtime = mkOption { type = types.str; default = "/run/user/1000/devenv-0000000"; };
    } // (if v2 then {
      cli.version = mkOption { type = types.nullOr types.str; default = cliVersion; };
    } else {
      cliVersion = mkOption { type = types.str; default = cliVersion; };
    });
  };
}
