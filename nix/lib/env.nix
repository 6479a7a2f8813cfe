# Module arguments -> the environment variables otelctl reads.
#
# Declaration only: otelctl validates the values and computes ports, endpoints and configs from
# them. Pure (builtins only), so it evaluates without nixpkgs.
{ basePort ? null
, mode ? "auto"
, portRangeStart ? 10000
, portRangeEnd ? 32767
, extraDashboards ? [ ]
, tempoRetention ? null
, devenvTrace ? "otlp-grpc"
}:

assert builtins.elem mode [ "auto" "system" "local" ]
  || throw "otelctl: mode must be \"auto\", \"system\" or \"local\", not ${builtins.toJSON mode}";
# Default devenv builds (nixpkgs, devenv's installer) have only the otlp-grpc exporter; asked for
# an otlp-http-* destination they exit 1 on every command.
assert devenvTrace == null || builtins.elem devenvTrace [ "off" "otlp-grpc" ]
  || throw "otelctl: devenvTrace must be null, \"off\" or \"otlp-grpc\" (what a default devenv build can export), not ${builtins.toJSON devenvTrace}";

let
  when = cond: attrs: if cond then attrs else { };
in
{
  OTELCTL_MODE = mode;
  OTELCTL_PORT_RANGE = "${toString portRangeStart}-${toString portRangeEnd}";
  # Which OTLP exporter the installed devenv should use for its own spans (`otelctl env` turns this
  # into DEVENV_TRACE_DEFAULT_TO).
  OTELCTL_DEVENV_TRACE = if devenvTrace == null then "off" else devenvTrace;
}
// when (basePort != null) { OTELCTL_BASE_PORT = toString basePort; }
  # Paths are passed as they are (toString does not copy them into the store).
// when (extraDashboards != [ ]) {
  OTELCTL_EXTRA_DASHBOARDS = builtins.concatStringsSep ":" (map toString extraDashboards);
}
// when (tempoRetention != null) { OTELCTL_TEMPO_RETENTION = tempoRetention; }
