# NixOS test template: a VM with the otelctl system stack, whose test reports its own results as
# spans (`otelctl test-span`) and checks they went through the Collector into Tempo.
#
# Copy this file, rename it, put your service's checks where it says so, and run it with
# (see flake.nix next to it):
#
#   checks.x86_64-linux.otel-traced = pkgs.testers.runNixOSTest {
#     imports = [ ./otel_traced.nix ];
#     defaults.imports = [ otelctl.nixosModules.otel-stack ];
#   };
#
# Every result span of one run shares a trace (TRACEPARENT from `otelctl traceparent`), so the
# whole run is one trace in Grafana (http://127.0.0.1:3700 in the VM): Explore -> Tempo.
{ ... }:
{
  name = "otel-traced";

  nodes.machine = { pkgs, ... }: {
    services.otel-stack = {
      enable = true;
      user = "tester";
    };
    users.users.tester.isNormalUser = true;
    environment.systemPackages = [ pkgs.curl ];
    # Collector, Tempo and Grafana together.
    virtualisation.memorySize = 2048;
  };

  testScript = ''
    import time

    # test-span sends to the system collector.
    OTEL = "OTELCTL_MODE=system OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318"
    SUITE = "otel-traced"

    start_all()

    with subtest("the stack comes up"):
        machine.wait_for_unit("otel-stack.target")
        for port in (4318, 3200, 3700):
            machine.wait_for_open_port(port)
        machine.wait_until_succeeds("curl -sf http://127.0.0.1:3700/api/health")

    # One trace for the whole run.
    traceparent = machine.succeed("otelctl traceparent").strip()
    trace_id = traceparent.split("-")[1]

    def emit(name, result, started):
        ms = int((time.monotonic() - started) * 1000)
        machine.succeed(
            f"TRACEPARENT={traceparent} {OTEL} otelctl test-span {name} {result} {ms} --suite {SUITE}"
        )

    def traced(name, check):
        """Run check(); report it as a passed or failed span; re-raise a failure."""
        started = time.monotonic()
        try:
            check()
        except Exception:
            emit(name, "failed", started)
            raise
        emit(name, "passed", started)

    # ---- your checks go here ------------------------------------------------------------
    traced("grafana-serves", lambda: machine.succeed("curl -sf http://127.0.0.1:3700/api/health"))
    emit("not-applicable-here", "skipped", time.monotonic())
    # --------------------------------------------------------------------------------------

    with subtest("the collector received the spans"):
        machine.wait_until_succeeds(
            r"curl -sf http://127.0.0.1:8888/metrics"
            r" | grep -E '^otelcol_receiver_accepted_spans(_total)?\{[^}]*\} [1-9]'",
            timeout=120,
        )

    with subtest("Tempo returns them"):
        url = f"http://127.0.0.1:3200/api/traces/{trace_id}"
        machine.wait_until_succeeds(f"curl -sf {url} | grep -qF grafana-serves", timeout=120)
        body = machine.succeed(f"curl -sf {url}")
        for name in ("grafana-serves", "not-applicable-here"):
            assert name in body, f"span {name} missing from trace {trace_id}"
  '';
}
