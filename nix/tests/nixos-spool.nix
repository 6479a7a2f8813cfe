# Flake check (NixOS test): spans written while the system collector is down are spooled under
# ~/.otel/spool and reach Tempo once the collector is back.
{ ... }:
{
  name = "otel-stack-spool";

  nodes.machine = { pkgs, ... }: {
    services.otel-stack = {
      enable = true;
      user = "tester";
    };
    users.users.tester.isNormalUser = true;
    environment.systemPackages = [ pkgs.curl ];
    virtualisation.memorySize = 2048;
  };

  testScript = ''
    start_all()
    machine.wait_for_unit("otel-stack.target")

    with subtest("a span emitted while the collector is down lands in the spool"):
        machine.succeed("systemctl stop otel-collector.service")
        machine.wait_for_closed_port(4318)
        traceparent = machine.succeed("otelctl traceparent").strip()
        trace_id = traceparent.split("-")[1]
        machine.succeed(
            "runuser -u tester -- env HOME=/home/tester OTELCTL_MODE=system"
            f" TRACEPARENT={traceparent} otelctl test-span spooled passed 1 --suite spool"
        )
        machine.succeed('test -n "$(ls -A /home/tester/.otel/spool)"')

    with subtest("the collector ingests the spool into Tempo"):
        machine.succeed("systemctl start otel-collector.service")
        machine.wait_until_succeeds(
            f"curl -sf http://127.0.0.1:3200/api/traces/{trace_id} | grep -qF spooled",
            timeout=120,
        )
  '';
}
