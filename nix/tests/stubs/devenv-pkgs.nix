# Stub `pkgs` for evaluating devenv's real module tree (../real-devenv.nix): ./pkgs.nix plus the
# attributes devenv's own modules read while our options are forced (stdenv, shells, writers).
# Nothing is built: derivations are attribute sets with a fake store path.
{ lib, system ? "x86_64-linux" }:

let
  base = import ./pkgs.nix { inherit lib system; };
  inherit (base) drv;
  writer = name: _text: drv name { };
in
base // {
  stdenv = base.stdenv // {
    isDarwin = base.stdenv.hostPlatform.isDarwin;
    isLinux = base.stdenv.hostPlatform.isLinux;
    inherit system;
    mkDerivation = a: drv (a.name or a.pname or "stdenv-drv") { };
    shell = "/bin/sh";
  };
  bashInteractive = drv "bash-interactive" { meta.mainProgram = "bash"; };
  coreutils = drv "coreutils" { };
  glibcLocalesUtf8 = drv "glibc-locales" { };
  pkg-config = drv "pkg-config" { };
  process-compose = drv "process-compose" { meta.mainProgram = "process-compose"; };
  socat = drv "socat" { meta.mainProgram = "socat"; };
  jq = drv "jq" { meta.mainProgram = "jq"; };
  git = drv "git" { meta.mainProgram = "git"; };
  writeText = writer;
  writeTextFile = a: drv a.name { };
  writeShellScript = writer;
  writeShellScriptBin = writer;
  writeScript = writer;
  writeScriptBin = writer;
  writeShellApplication = a: drv a.name { meta.mainProgram = a.name; };
  symlinkJoin = a: drv a.name { };
  buildEnv = a: drv a.name { };
  runCommandLocal = name: _env: _script: drv name { };
  appendOverlays = _: base;
}
