{
  description = "NixOS tests that report their results as OpenTelemetry spans";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    otelctl.url = "github:otelctl/otelctl";
    otelctl.inputs.nixpkgs.follows = "nixpkgs";
  };

  outputs = { nixpkgs, otelctl, ... }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      # nix flake check -L   (or: nix build -L .#checks.x86_64-linux.otel-traced)
      checks = forAllSystems (pkgs: {
        otel-traced = pkgs.testers.runNixOSTest {
          imports = [ ./otel_traced.nix ];
          defaults.imports = [ otelctl.nixosModules.otel-stack ];
        };
      });
    };
}
