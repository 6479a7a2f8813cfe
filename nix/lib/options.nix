# Option declarations the devenv module (nix/devenv-modules/otel/module.nix) and the NixOS
# module (nix/nixos-modules/otel-stack.nix) share, so both document a setting the same way.
{ lib }:

{
  # `<service>.executable`: the program otelctl runs (OTELCTL_COLLECTOR_BIN and the like).
  executableOption = name: default: defaultText: lib.mkOption {
    type = lib.types.str;
    inherit default;
    defaultText = lib.literalExpression defaultText;
    example = "/opt/${lib.toLower name}/bin/${lib.toLower name}";
    description = ''
      The ${name} executable otelctl runs. Taken from the package's `meta.mainProgram`; set it
      when a package names its binary differently or lacks `mainProgram`.
    '';
  };
}
