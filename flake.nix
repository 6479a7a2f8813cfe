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

      overlays.default = final: _prev: { otelctl = final.callPackage ./nix/package.nix { }; };

      packages = forAllSystems (_system: pkgs: rec {
        otelctl = pkgs.callPackage ./nix/package.nix { };
        default = otelctl;
      } // lib.optionalAttrs pkgs.stdenv.hostPlatform.isLinux {
        # musl, statically linked: the quickest `otelctl span` and `otelctl env` (no dynamic loader,
        # no glibc start-up probing; benchmarks/span.md). Opt in with the modules' `package`
        # option. nixpkgs' binary cache holds no musl Rust toolchain, so the first build may
        # compile one. Its tests are the default package's (same sources), so none run here.
        otelctl-static = pkgs.pkgsStatic.callPackage ./nix/package.nix { doCheck = false; };
      });

      # ports, moduleEnv, trace, cache, scripts (see nix/lib/default.nix).
      lib = import ./nix/lib { };

      checks = forAllSystems (system: pkgs:
        let
          moduleTests = import ./nix/tests/modules.nix { inherit lib; };
        in
        {
          # Building the package runs the workspace's cargo tests.
          otelctl = self.packages.${system}.otelctl;

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
