# Option declarations shaped like devenv's (cachix/devenv src/modules: top-level.nix, processes.nix,
# lib/ready.nix, tasks.nix, scripts.nix), trimmed to what a module sets. Field names and types
# follow devenv's so a misspelt or mistyped setting fails here as it would there.
{ lib, ... }:

let
  inherit (lib) mkOption types;

  readyType = types.submodule {
    options = {
      exec = mkOption { type = types.nullOr types.str; default = null; };
      http.get = mkOption {
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
      env = mkOption { type = types.attrsOf types.str; default = { }; };
      cwd = mkOption { type = types.nullOr types.str; default = null; };
      ready = mkOption { type = types.nullOr readyType; default = null; };
      start.enable = mkOption { type = types.bool; default = true; };
      restart = {
        on = mkOption { type = types.enum [ "never" "always" "on_failure" ]; default = "on_failure"; };
        max = mkOption { type = types.nullOr types.int; default = 5; };
        window = mkOption { type = types.nullOr types.ints.unsigned; default = null; };
      };
      after = mkOption { type = types.listOf types.str; default = [ ]; };
      before = mkOption { type = types.listOf types.str; default = [ ]; };
      shutdown = {
        signal = mkOption { type = types.ints.between 1 31; default = 15; };
        grace = mkOption { type = types.ints.unsigned; default = 5; };
      };
    };
  };

  taskType = types.submodule {
    options = {
      type = mkOption { type = types.enum [ "oneshot" "process" ]; default = "oneshot"; };
      exec = mkOption { type = types.nullOr types.str; default = null; };
      status = mkOption { type = types.nullOr types.str; default = null; };
      execIfModified = mkOption { type = types.listOf types.str; default = [ ]; };
      env = mkOption { type = types.attrsOf types.str; default = { }; };
      exports = mkOption { type = types.listOf types.str; default = [ ]; };
      description = mkOption { type = types.str; default = ""; };
      showOutput = mkOption { type = types.bool; default = false; };
      after = mkOption { type = types.listOf types.str; default = [ ]; };
      before = mkOption { type = types.listOf types.str; default = [ ]; };
      input = mkOption { type = types.attrsOf types.anything; default = { }; };
      cwd = mkOption { type = types.nullOr types.str; default = null; };
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
in
{
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
    devenv = {
      root = mkOption { type = types.str; default = "/home/dev/project"; };
      dotfile = mkOption { type = types.str; default = "/home/dev/project/.devenv"; };
      state = mkOption { type = types.str; default = "/home/dev/project/.devenv/state"; };
      runtime = mkOption { type = types.str; default = "/run/user/1000/devenv-0000000"; };
      cli.version = mkOption { type = types.nullOr types.str; default = "2.1"; };
    };
  };
}
