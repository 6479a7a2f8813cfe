# The otelctl packages of a package set, and the one users get by default.
#
# `otelctl span` wraps every task and `otelctl env` runs on every shell entry, so start-up is
# most of their cost: the static build (musl, static-pie: no dynamic loader, no shared
# libraries, none of glibc's start-up CPU probing) is the default wherever nixpkgs builds one
# (x86_64-linux and aarch64-linux); elsewhere (macOS) the dynamic build is. The dynamic build
# stays available everywhere as `dynamic` (flake: packages.<system>.otelctl-dynamic). Figures:
# benchmarks/span.md. nixpkgs' binary cache may hold no musl Rust toolchain: the first static
# build can then compile one; `otel.package = ….otelctl-dynamic` avoids that.
pkgs:

let
  staticPlatform = builtins.elem pkgs.stdenv.hostPlatform.system [ "x86_64-linux" "aarch64-linux" ];
  dynamic = pkgs.callPackage ./package.nix { };
  # The same package.nix built by pkgsStatic; its tests are the dynamic build's (same sources).
  static = pkgs.pkgsStatic.callPackage ./package.nix { doCheck = false; };
in
{
  inherit dynamic staticPlatform;
  default = if staticPlatform then static else dynamic;
}
// (if staticPlatform then { inherit static; } else { })
