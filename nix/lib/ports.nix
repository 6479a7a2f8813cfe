# Per-project ports: the same arithmetic as `otelctl ports` (crates/otelctl-core/src/ports.rs),
# for Nix code that needs a port at evaluation time. Tested against the binary by
# crates/otelctl/tests/nix_ports.rs.
#
#   base = portRangeStart + int(first 7 hex chars of sha256(root)) mod (portRangeEnd - portRangeStart - 6)
{ root, basePort ? null, portRangeStart ? 10000, portRangeEnd ? 60000 }:
let
  rootString = toString root;
  # fromTOML reads hexadecimal integers, which saves a hex-digit table in Nix.
  hashHead = (builtins.fromTOML "v = 0x${builtins.substring 0 7 (builtins.hashString "sha256" rootString)}").v;
  span = portRangeEnd - portRangeStart - 6;
  mod = a: b: a - (a / b) * b;
  base =
    if basePort != null then
      (if builtins.isInt basePort && basePort >= 1024 && basePort <= 65529 then basePort
       else throw "otelctl ports: invalid basePort ${toString basePort}: expected an integer from 1024 to 65529")
    else if portRangeStart < 1024 || portRangeEnd > 65535 || span <= 0 then
      throw "otelctl ports: invalid port range ${toString portRangeStart}-${toString portRangeEnd}: expected 1024 <= start and start + 6 < end <= 65535"
    else portRangeStart + mod hashHead span;
in
{
  root = rootString;
  inherit base;
  collector_otlp_http = base;
  tempo_otlp_grpc = base + 1;
  tempo_http = base + 2;
  grafana_http = base + 3;
  collector_metrics = base + 4;
  tempo_grpc = base + 5;
}
