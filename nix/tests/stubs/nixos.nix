# Option declarations shaped like NixOS's (systemd.services/targets/tmpfiles, users, environment,
# assertions), trimmed to what a service module sets. A misspelt or mistyped setting fails here.
{ lib, ... }:

let
  inherit (lib) mkOption types;

  unitOptions = {
    description = mkOption { type = types.str; default = ""; };
    wantedBy = mkOption { type = types.listOf types.str; default = [ ]; };
    requiredBy = mkOption { type = types.listOf types.str; default = [ ]; };
    wants = mkOption { type = types.listOf types.str; default = [ ]; };
    requires = mkOption { type = types.listOf types.str; default = [ ]; };
    after = mkOption { type = types.listOf types.str; default = [ ]; };
    before = mkOption { type = types.listOf types.str; default = [ ]; };
    partOf = mkOption { type = types.listOf types.str; default = [ ]; };
  };

  serviceType = types.submodule {
    options = unitOptions // {
      environment = mkOption {
        type = types.attrsOf (types.nullOr (types.oneOf [ types.str types.path types.package ]));
        default = { };
      };
      path = mkOption { type = types.listOf types.package; default = [ ]; };
      script = mkOption { type = types.lines; default = ""; };
      serviceConfig = mkOption {
        type = types.attrsOf (types.oneOf [ types.bool types.int types.str types.path (types.listOf types.str) ]);
        default = { };
      };
    };
  };

  userType = types.submodule ({ name, config, ... }: {
    options = {
      isSystemUser = mkOption { type = types.bool; default = false; };
      isNormalUser = mkOption { type = types.bool; default = false; };
      group = mkOption { type = types.str; default = ""; };
      home = mkOption { type = types.str; default = "/var/empty"; };
      createHome = mkOption { type = types.bool; default = false; };
      description = mkOption { type = types.str; default = ""; };
    };
    # As nixos/modules/config/users-groups.nix does for normal users.
    config = lib.mkIf config.isNormalUser {
      group = lib.mkDefault "users";
      home = lib.mkDefault "/home/${name}";
      createHome = lib.mkDefault true;
    };
  });
in
{
  options = {
    systemd.services = mkOption { type = types.attrsOf serviceType; default = { }; };
    systemd.targets = mkOption { type = types.attrsOf (types.submodule { options = unitOptions; }); default = { }; };
    systemd.tmpfiles.rules = mkOption { type = types.listOf types.str; default = [ ]; };
    users.users = mkOption { type = types.attrsOf userType; default = { }; };
    users.groups = mkOption { type = types.attrsOf (types.submodule { }); default = { }; };
    environment.systemPackages = mkOption { type = types.listOf types.package; default = [ ]; };
    environment.etc = mkOption {
      type = types.attrsOf (types.submodule {
        options.text = mkOption { type = types.nullOr types.lines; default = null; };
        options.mode = mkOption { type = types.str; default = "symlink"; };
      });
      default = { };
    };
    # nixpkgs' own services whose ports the system stack may collide with
    # (nixos/modules/services/tracing/tempo.nix, .../monitoring/opentelemetry-collector.nix).
    services.tempo = {
      enable = mkOption { type = types.bool; default = false; };
      settings = mkOption { type = types.attrsOf types.anything; default = { }; };
      configFile = mkOption { type = types.nullOr types.path; default = null; };
    };
    services.opentelemetry-collector = {
      enable = mkOption { type = types.bool; default = false; };
      settings = mkOption { type = types.attrsOf types.anything; default = { }; };
      configFile = mkOption { type = types.nullOr types.path; default = null; };
    };
    # nixos/modules/services/monitoring/prometheus (port, default 9090) and
    # .../databases/victorialogs.nix (listenAddress, default ":9428").
    services.prometheus = {
      enable = mkOption { type = types.bool; default = false; };
      port = mkOption { type = types.port; default = 9090; };
    };
    services.victorialogs = {
      enable = mkOption { type = types.bool; default = false; };
      listenAddress = mkOption { type = types.str; default = ":9428"; };
    };
    assertions = mkOption {
      type = types.listOf (types.submodule {
        options.assertion = mkOption { type = types.bool; };
        options.message = mkOption { type = types.str; };
      });
      default = [ ];
    };
    # Set by test nodes; not inspected.
    virtualisation = mkOption { type = types.attrsOf types.anything; default = { }; };
  };
}
