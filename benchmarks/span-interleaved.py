#!/usr/bin/env python3
"""Side-by-side cost of wrapping `true`: bare, one or more otelctl builds, wrappers that only
spawn and wait (the floor), otel-cli.

Unlike hyperfine (all runs of one command, then the next), every round runs each contender
once, in turn, so load from other processes on a shared machine falls on all of them alike.

    benchmarks/span-interleaved.py ROUNDS OUT.json NAME=OTELCTL_BINARY... \\
        [--floor NAME=WRAPPER]... [--otel-cli PATH] [--silent-rounds N] [--cases up,down,silent]

Starts its own stand-in collectors (benchmarks/span-collector.rs, built with rustc): "up"
answers 200, "silent" accepts and never answers; "down" is a port where nothing listens. An
otelctl build runs `BINARY span bench step -- true`, a floor wrapper `WRAPPER true`. Prints
median and minimum wall time per contender and what each adds to the bare command (median -
bare median), in ms, with the load average before and after each case; writes every sample
and the load to OUT.json. The silent case runs --silent-rounds rounds (default 30): otel-cli
waits 1 s there.
"""

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def option(args, name, default=None, many=False):
    """Removes `name VALUE` (every occurrence when `many`) from args; returns the value(s)."""
    values = []
    while name in args:
        i = args.index(name)
        values.append(args[i + 1])
        del args[i : i + 2]
    if many:
        return values
    return values[-1] if values else default


def start_collector(binary, mode, work):
    portfile = os.path.join(work, f"{mode}.port")
    proc = subprocess.Popen([binary, mode, portfile])
    for _ in range(200):
        if os.path.exists(portfile) and open(portfile).read():
            return proc, int(open(portfile).read())
        time.sleep(0.05)
    proc.kill()
    sys.exit(f"the {mode} stand-in collector did not start")


def main():
    args = sys.argv[1:]
    otel_cli = option(args, "--otel-cli")
    floors = [f.split("=", 1) for f in option(args, "--floor", many=True)]
    silent_rounds = int(option(args, "--silent-rounds", "30"))
    cases = option(args, "--cases", "up,down,silent").split(",")
    rounds, out, builds = int(args[0]), args[1], [a.split("=", 1) for a in args[2:]]
    work = tempfile.mkdtemp(prefix="otelctl-bench-")
    collector = os.path.join(work, "span-collector")
    subprocess.run(["rustc", "-O", "-o", collector, os.path.join(HERE, "span-collector.rs")], check=True)
    procs = []
    try:
        ports = {}
        for case in cases:
            if case == "down":
                ports[case] = free_port()
            else:
                proc, ports[case] = start_collector(collector, case, work)
                procs.append(proc)
        base_env = dict(os.environ)
        for k in ["TRACEPARENT", "TRACESTATE", "OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_SDK_DISABLED", "DEVENV_ROOT"]:
            base_env.pop(k, None)
        base_env.update(
            HOME=os.path.join(work, "home"),
            OTEL_SPOOL_DIR=os.path.join(work, "spool"),
            OTELCTL_MODE="local",
            OTELCTL_CARRIER_DIR=os.path.join(work, "carriers"),
        )
        os.makedirs(base_env["HOME"], exist_ok=True)
        results, load = {}, {}
        for case in cases:
            port = ports[case]
            env = dict(base_env, OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{port}")
            cmds = {"bare": ["true"]}
            for name, binary in builds:
                cmds[name] = [binary, "span", "bench", "step", "--", "true"]
            for name, wrapper in floors:
                cmds[name] = [wrapper, "true"]
            if otel_cli:
                cmds["otel-cli"] = [otel_cli, "exec", "--protocol", "http/protobuf", "--endpoint",
                                    f"http://127.0.0.1:{port}", "-s", "bench", "-n", "step", "--", "true"]
            n = silent_rounds if case == "silent" else rounds
            times = {k: [] for k in cmds}
            before = loadavg()
            for i in range(n + 10):
                for name, cmd in cmds.items():
                    t = time.perf_counter()
                    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                    if i >= 10:  # warm-up rounds are not counted
                        times[name].append((time.perf_counter() - t) * 1000)
                    elif done.returncode != 0:
                        # A contender failing at once would be timed as the fastest.
                        sys.exit(f"{name} failed ({done.returncode}): {done.stderr.decode(errors='replace')}")
            results[case] = times
            load[case] = {"before": before, "after": loadavg(), "rounds": n}
        print("| collector | rounds | load (1 min) | " + " | ".join(cmds) + " |")
        print("|---|---|---|" + "---|" * len(cmds))
        for case, times in results.items():
            bare = statistics.median(times["bare"])
            cells = []
            for name, t in times.items():
                med = statistics.median(t)
                added = "" if name == "bare" else f" (+{med - bare:.2f})"
                cells.append(f"{med:.2f}{added}, min {min(t):.2f}")
            l = load[case]
            print(f"| {case} | {l['rounds']} | {l['before'][0]:.1f}-{l['after'][0]:.1f} | " + " | ".join(cells) + " |")
        json.dump({"rounds": rounds, "builds": dict(builds), "floors": dict(floors), "otel_cli": otel_cli,
                   "results": results, "load": load}, open(out, "w"))
    finally:
        for p in procs:
            p.kill()


if __name__ == "__main__":
    main()
