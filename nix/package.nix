# otelctl, built from this repository's Cargo workspace (member crates/otelctl): two
# executables, one name. `bin/otelctl` is the lean one (span, env, test-span, traceparent; no
# server, store, viewer, TLS or async code), which hands every other command to
# `libexec/otelctl/otelctl-full` (execve, same pid and arguments), so only `otelctl` is on PATH.
#
# Which variant users get is nix/packages.nix's choice (static with musl where the platform
# allows). Used by the flake's packages/overlay and, through it, by the devenv and NixOS modules
# when no `otelctl` package is given, so the modules work with whatever nixpkgs the user has.
{ lib
, rustPlatform
  # false for the static variant (nix/packages.nix): the same tests run in the dynamic build.
, doCheck ? true
}:

let
  root = ../.;
  manifest = builtins.fromTOML (builtins.readFile (root + "/crates/otelctl/Cargo.toml"));
  workspace = builtins.fromTOML (builtins.readFile (root + "/Cargo.toml"));
  # `version.workspace = true` reads as an attribute set; the number then lives in the root manifest.
  declared = manifest.package.version or "0.0.0";
  version = if builtins.isString declared then declared else workspace.workspace.package.version;
in
rustPlatform.buildRustPackage {
  pname = "otelctl";
  inherit version;

  # Only what cargo needs, so editing Nix files or docs does not rebuild the binary.
  src = lib.fileset.toSource {
    inherit root;
    fileset = lib.fileset.unions [
      (root + "/Cargo.toml")
      (root + "/Cargo.lock")
      (root + "/crates")
      # Built-in dashboards may be embedded at compile time (include_str!); absent is fine.
      (lib.fileset.maybeMissing (root + "/dashboards"))
    ];
  };

  cargoLock.lockFile = root + "/Cargo.lock";

  # Both executables of the package: otelctl (lean) and otelctl-full.
  cargoBuildFlags = [ "--package" "otelctl" ];
  inherit doCheck;
  # The check phase runs the whole workspace's unit and integration tests.
  cargoTestFlags = [ "--workspace" ];

  # The lean otelctl looks for otelctl-full beside itself, then in ../libexec/otelctl/
  # (crates/otelctl-lean/src/full.rs): users see one program.
  postInstall = ''
    mkdir -p $out/libexec/otelctl
    mv $out/bin/otelctl-full $out/libexec/otelctl/otelctl-full
  '';

  meta = {
    description = "Per-project OpenTelemetry tracing for Nix and devenv users";
    mainProgram = "otelctl";
    platforms = lib.platforms.unix;
  };
}
