{
  description = "otelctl: per-project OpenTelemetry tracing for Nix and devenv users";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
      forAllSystems = f: lib.genAttrs systems (system: f system nixpkgs.legacyPackages.${system});

      # A NixOS test with the system stack module and this flake's otelctl on every node.
      stackTest = system: pkgs: test: pkgs.testers.runNixOSTest {
        imports = [ test ];
        defaults = {
          imports = [ self.nixosModules.otel-stack ];
          services.otel-stack.package = self.packages.${system}.otelctl;
        };
      };
    in
    {
      # imports = [ (inputs.otelctl.devenvModules.otel { }) ];   (enabled)
      # imports = [ inputs.otelctl.devenvModules.otel ];          (options only: otel.enable = true)
      # Arguments / otel.* options: basePort, mode, portRangeStart, portRangeEnd, extraDashboards,
      # tempoRetention, devenvTrace, quiet, package, collectorPackage, tempoPackage, grafanaPackage.
      # devenv 1.x and 2.x; see nix/devenv-modules/otel.nix.
      devenvModules = {
        otel = import ./nix/devenv-modules/otel.nix;
        default = self.devenvModules.otel;
      };

      # A module value, not a bare path (Nix 2.8's `flake check` accepts only a function or an
      # attribute set here); `_file` makes evaluation errors name it, and a second import of the
      # same file is deduplicated by the module system.
      nixosModules = {
        otel-stack = {
          _file = "${toString ./flake.nix}#nixosModules.otel-stack";
          imports = [ ./nix/nixos-modules/otel-stack.nix ];
        };
        default = self.nixosModules.otel-stack;
      };

      overlays.default = final: _prev:
        let otelctl = import ./nix/packages.nix final; in
        { otelctl = otelctl.default; otelctl-dynamic = otelctl.dynamic; };

      # otelctl: the static build (musl, static-pie) on x86_64/aarch64 Linux, the quickest
      # `otelctl span` and `otelctl env` (benchmarks/span.md); the dynamic one elsewhere
      # (nix/packages.nix). otelctl-dynamic everywhere; otelctl-static where it is the default.
      packages = forAllSystems (_system: pkgs:
        let otelctl = import ./nix/packages.nix pkgs; in
        {
          otelctl = otelctl.default;
          otelctl-dynamic = otelctl.dynamic;
          default = otelctl.default;
        } // lib.optionalAttrs (otelctl ? static) { otelctl-static = otelctl.static; });

      # ports, moduleEnv, trace, cache, scripts (see nix/lib/default.nix).
      lib = import ./nix/lib { };

      checks = forAllSystems (system: pkgs:
        let
          moduleTests = import ./nix/tests/modules.nix { inherit lib; };
        in
        {
          # Building the dynamic package runs the workspace's cargo tests.
          otelctl = self.packages.${system}.otelctl-dynamic;

          # The devenv and NixOS modules evaluated against devenv- and NixOS-shaped options.
          nix-module-tests = pkgs.runCommand "otelctl-nix-module-tests"
            { failures = builtins.toJSON moduleTests.failed; }
            (if moduleTests.failed == [ ] then ''
              echo "${toString (builtins.length moduleTests.passed)} passed, 0 failed" > $out
            '' else ''
              echo "$failures" >&2
              exit 1
            '');
        }
        // lib.optionalAttrs (self.packages.${system} ? otelctl-static) {
          # The default package where it is static: it must build (its tests are the above).
          otelctl-static = self.packages.${system}.otelctl-static;
        }
        // lib.optionalAttrs pkgs.stdenv.hostPlatform.isLinux {
          otel-traced = stackTest system pkgs ./templates/otel_traced.nix;
          otel-stack-spool = stackTest system pkgs ./nix/tests/nixos-spool.nix;
        });

      templates = {
        devenv = {
          path = ./templates/devenv;
          description = "A devenv project with a traced task stack (devenv up, dt TASK)";
          welcomeText = ''
            Enter the shell (direnv allow, or devenv shell); it prints the Collector and Grafana
            addresses. Then: devenv up, dt app:build, and open $OTEL_GRAFANA_URL.
          '';
        };
        nixos-test = {
          path = ./templates/nixos-test;
          description = "A NixOS test that reports its results as spans to the otelctl system stack";
        };
        default = self.templates.devenv;
      };
    };
}
