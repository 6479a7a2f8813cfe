# Evaluations that must fail with a message naming the option and the file that set it
# (scripts/test-nix checks the message: Nix 2.8 cannot catch it from inside the language).
#
#   nix-instantiate --eval --strict nix/tests/errors.nix --arg lib 'import <nixpkgs-lib>/lib' --argstr case devenvTraceHttp
{ lib, case }:

let
  otel = import ../devenv-modules/otel.nix;
  eval = modules: (lib.evalModules {
    modules = [
      (import ./stubs/devenv.nix { })
      { _module.args.pkgs = import ./stubs/pkgs.nix { inherit lib; }; }
    ] ++ modules;
  }).config;
  cases = {
    # What a default devenv build cannot export.
    devenvTraceHttp = (eval [ (otel { devenvTrace = "otlp-http-json"; }) ]).env.OTELCTL_DEVENV_TRACE;
    devenvTraceTyped = (eval [ otel { otel.enable = true; otel.devenvTrace = "otlp-http-protobuf"; } ]).env.OTELCTL_DEVENV_TRACE;
    badMode = (eval [ (otel { mode = "remote"; }) ]).env.OTELCTL_MODE;
    unknownArgument = (eval [ (otel { basePrt = 14000; }) ]).env;
  };
in
cases.${case}
