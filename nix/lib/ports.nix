# Per-project ports: the same arithmetic as `otelctl ports` (crates/otelctl-config/src/ports.rs),
# for Nix code that needs a port at evaluation time. Tested against the binary by
# crates/otelctl/tests/nix_ports.rs.
#
#   base = portRangeStart + int(first 7 hex chars of sha256(root)) mod (portRangeEnd - portRangeStart - 6)
#
# Eight ports, base+0 .. base+7, all within portRangeStart..portRangeEnd. The default range ends
# at 32767, below the kernel's ports for outgoing connections (Linux 32768-60999, macOS
# 49152-65535); portRangeEnd = 60000 gives a project the base it had before the ports moved.
{ root, basePort ? null, portRangeStart ? 10000, portRangeEnd ? 32767 }:
let
  rootString = toString root;
  # fromTOML reads hexadecimal integers, which saves a hex-digit table in Nix.
  hashHead = (builtins.fromTOML "v = 0x${builtins.substring 0 7 (builtins.hashString "sha256" rootString)}").v;
  span = portRangeEnd - portRangeStart - 6;
  mod = a: b: a - (a / b) * b;
  base =
    if basePort != null then
      (if builtins.isInt basePort && basePort >= 1024 && basePort <= 65528 then basePort
       else throw "otelctl ports: invalid basePort ${toString basePort}: expected an integer from 1024 to 65528")
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
  metrics_store_http = base + 6;
  logs_store_http = base + 7;
}
