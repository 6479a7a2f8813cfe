# The flake's outputs, evaluated with a stub nixpkgs input (nixpkgs' lib + stub pkgs per system):
# the attribute shape users and `nix flake check` rely on.
#
#   nix-instantiate --eval --strict --json nix/tests/flake-outputs.nix --arg lib 'import <nixpkgs-lib>/lib'
{ lib }:

let
  systems = [ "aarch64-darwin" "aarch64-linux" "x86_64-darwin" "x86_64-linux" ];
  nixpkgs = {
    inherit lib;
    legacyPackages = lib.genAttrs systems (system: import ./stubs/pkgs.nix { inherit lib system; withOtelctl = false; });
  };
  flake = import ../../flake.nix;
  self = flake.outputs { inherit self nixpkgs; };

  x86 = self.checks.x86_64-linux;
  devenv = (lib.evalModules {
    modules = [
      (import ./stubs/devenv.nix { })
      { _module.args.pkgs = nixpkgs.legacyPackages.x86_64-linux; }
      (self.devenvModules.otel { basePort = 14000; })
    ];
  }).config;

  tests = {
    topLevel = {
      expr = builtins.attrNames self;
      expected = [ "checks" "devenvModules" "lib" "nixosModules" "overlays" "packages" "templates" ];
    };
    devenvModules = {
      expr = { names = builtins.attrNames self.devenvModules; fn = builtins.isFunction self.devenvModules.otel; };
      expected = { names = [ "default" "otel" ]; fn = true; };
    };
    devenvModuleEvaluates = {
      expr = { base = devenv.env.OTELCTL_BASE_PORT; processes = builtins.attrNames devenv.processes; };
      expected = { base = "14000"; processes = [ "otel-collector" "otel-grafana" "otel-prometheus" "otel-tempo" "otel-victorialogs" ]; };
    };
    nixosModules = {
      # `nix flake check` (2.8) takes only a function with `...` or an attribute set as a module.
      expr = {
        names = builtins.attrNames self.nixosModules;
        isModuleValue = builtins.isAttrs self.nixosModules.otel-stack;
        imports = self.nixosModules.otel-stack.imports == [ ../nixos-modules/otel-stack.nix ];
        named = lib.hasSuffix "#nixosModules.otel-stack" self.nixosModules.otel-stack._file;
      };
      expected = { names = [ "default" "otel-stack" ]; isModuleValue = true; imports = true; named = true; };
    };
    packagesPerSystem = {
      expr = lib.mapAttrs (_: p: builtins.attrNames p) self.packages;
      expected = lib.genAttrs systems (system:
        [ "default" "otelctl" "otelctl-dynamic" ] ++ lib.optional (lib.hasSuffix "-linux" system) "otelctl-static");
    };
    # What users get: the static build (musl) on x86_64/aarch64 Linux, the dynamic one on macOS;
    # the dynamic build everywhere under its own name. All from package.nix.
    defaultPackageIsStaticOnLinux = {
      expr = lib.mapAttrs
        (_: p: {
          default = p.default.static or false;
          otelctl = p.otelctl.static or false;
          dynamic = p.otelctl-dynamic.static or false;
          fromPackageNix = lib.all (d: lib.hasSuffix "/nix/package.nix" d.calledWith) [ p.otelctl p.otelctl-dynamic ];
          dynamicTests = p.otelctl-dynamic.args;
        })
        self.packages;
      expected = lib.genAttrs systems (system: {
        default = lib.hasSuffix "-linux" system;
        otelctl = lib.hasSuffix "-linux" system;
        dynamic = false;
        fromPackageNix = true;
        dynamicTests = { };
      });
    };
    staticPackage = {
      # the same package.nix, built by pkgsStatic (musl, static), without a second test run
      expr = with self.packages.x86_64-linux.otelctl-static; {
        inherit static;
        fromPackageNix = lib.hasSuffix "/nix/package.nix" calledWith;
        inherit args;
        isDefault = self.packages.x86_64-linux.otelctl-static == self.packages.x86_64-linux.otelctl;
      };
      expected = { static = true; fromPackageNix = true; args = { doCheck = false; }; isDefault = true; };
    };
    # package.nix itself (buildRustPackage stubbed to return its arguments): both executables
    # are built, only the lean `otelctl` is on PATH, `otelctl-full` is where the lean one looks
    # (crates/otelctl-lean/src/full.rs: beside it, then ../libexec/otelctl/).
    packageInstallsBothExecutables = {
      expr =
        let a = import ../package.nix { inherit lib; rustPlatform.buildRustPackage = attrs: attrs; };
        in {
          inherit (a) cargoBuildFlags doCheck;
          inherit (a.meta) mainProgram;
          installs = lib.hasInfix "mv $out/bin/otelctl-full $out/libexec/otelctl/otelctl-full" a.postInstall;
        };
      expected = {
        cargoBuildFlags = [ "--package" "otelctl" ];
        doCheck = true;
        mainProgram = "otelctl";
        installs = true;
      };
    };
    packageFromPackageNix = {
      expr = lib.hasSuffix "/nix/package.nix" self.packages.x86_64-linux.otelctl.calledWith
        && self.packages.x86_64-linux.default == self.packages.x86_64-linux.otelctl;
      expected = true;
    };
    overlay = {
      expr = lib.mapAttrs
        (_: p: { file = lib.hasSuffix "/nix/package.nix" p.calledWith; static = p.static or false; })
        (self.overlays.default nixpkgs.legacyPackages.x86_64-linux { });
      expected = {
        otelctl = { file = true; static = true; };
        otelctl-dynamic = { file = true; static = false; };
      };
    };
    checksPerSystem = {
      expr = { linux = builtins.attrNames x86; darwin = builtins.attrNames self.checks.aarch64-darwin; };
      expected = {
        linux = [ "nix-module-tests" "otel-stack-spool" "otel-traced" "otelctl" "otelctl-static" ];
        darwin = [ "nix-module-tests" "otelctl" ];
      };
    };
    # The check that runs the cargo tests builds the dynamic package (the static one skips them).
    checkRunsTheTests = {
      expr = x86.otelctl == self.packages.x86_64-linux.otelctl-dynamic && x86.otelctl.args == { };
      expected = true;
    };
    nixosTestUsesTemplate = {
      expr = {
        imports = x86.otel-traced.test.imports;
        moduleInDefaults = x86.otel-traced.test.defaults.imports;
        package = x86.otel-traced.test.defaults.services.otel-stack.package == self.packages.x86_64-linux.otelctl;
      };
      expected = {
        imports = [ ../../templates/otel_traced.nix ];
        moduleInDefaults = [ self.nixosModules.otel-stack ];
        package = true;
      };
    };
    moduleTestsCheckPasses = {
      expr = lib.hasInfix "passed, 0 failed" x86.nix-module-tests.script;
      expected = true;
    };
    templates = {
      expr = lib.mapAttrs (_: t: { exists = builtins.pathExists t.path; described = t.description != ""; }) self.templates;
      expected = lib.genAttrs [ "default" "devenv" "nixos-test" ] (_: { exists = true; described = true; });
    };
    templateFiles = {
      expr = map builtins.pathExists [
        ../../templates/devenv/devenv.nix
        ../../templates/devenv/devenv.yaml
        ../../templates/nixos-test/flake.nix
        ../../templates/nixos-test/otel_traced.nix
        ../../templates/otel_traced.nix
      ];
      expected = [ true true true true true ];
    };
    libHelpers = {
      expr = {
        names = builtins.attrNames self.lib;
        env = self.lib.moduleEnv { basePort = 1; };
        traced = lib.hasInfix "span 'dt-task' 'a'" ((self.lib.trace { }).exec "a" "b");
      };
      expected = {
        names = [ "cache" "moduleEnv" "ports" "scripts" "trace" ];
        env = { OTELCTL_BASE_PORT = "1"; OTELCTL_DEVENV_TRACE = "otlp-grpc"; OTELCTL_MODE = "auto"; OTELCTL_PORT_RANGE = "10000-32767"; };
        traced = true;
      };
    };
  };

  results = lib.mapAttrsToList
    (name: t: { name = "flake.${name}"; ok = t.expr == t.expected; inherit (t) expr expected; })
    tests;
in
{
  passed = map (r: r.name) (lib.filter (r: r.ok) results);
  failed = map (r: { inherit (r) name expected; actual = r.expr; }) (lib.filter (r: !r.ok) results);
}
