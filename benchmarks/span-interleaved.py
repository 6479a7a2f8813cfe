#!/usr/bin/env python3
"""Side-by-side cost of wrapping `true`: bare, one or more otelctl builds, otel-cli.

Unlike hyperfine (all runs of one command, then the next), every round runs each contender
once, in turn, so load from other processes on a shared machine falls on all of them alike.

    benchmarks/span-interleaved.py ROUNDS OUT.json NAME=OTELCTL_BINARY... [--otel-cli PATH]

Starts its own stand-in collector ("up": answers 200; benchmarks/span-collector.rs, built with
rustc) and a "down" port where nothing listens; prints median and minimum wall time per
contender and what each adds to the bare command (median - bare median), in ms.
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


def main():
    args = sys.argv[1:]
    otel_cli = None
    if "--otel-cli" in args:
        i = args.index("--otel-cli")
        otel_cli = args[i + 1]
        del args[i : i + 2]
    rounds, out, builds = int(args[0]), args[1], [a.split("=", 1) for a in args[2:]]
    work = tempfile.mkdtemp(prefix="otelctl-bench-")
    collector = os.path.join(work, "span-collector")
    subprocess.run(["rustc", "-O", "-o", collector, os.path.join(HERE, "span-collector.rs")], check=True)
    portfile = os.path.join(work, "up.port")
    up = subprocess.Popen([collector, "up", portfile])
    try:
        for _ in range(100):
            if os.path.exists(portfile) and open(portfile).read():
                break
            time.sleep(0.05)
        ports = {"up": int(open(portfile).read()), "down": free_port()}
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
        results = {}
        for case, port in ports.items():
            env = dict(base_env, OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{port}")
            cmds = {"bare": ["true"]}
            for name, binary in builds:
                cmds[name] = [binary, "span", "bench", "step", "--", "true"]
            if otel_cli:
                cmds["otel-cli"] = [otel_cli, "exec", "--protocol", "http/protobuf", "--endpoint",
                                    f"http://127.0.0.1:{port}", "-s", "bench", "-n", "step", "--", "true"]
            times = {k: [] for k in cmds}
            for i in range(rounds + 10):
                for name, cmd in cmds.items():
                    t = time.perf_counter()
                    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                    if i >= 10:  # warm-up rounds are not counted
                        times[name].append((time.perf_counter() - t) * 1000)
                    elif done.returncode != 0:
                        # A contender failing at once would be timed as the fastest.
                        sys.exit(f"{name} failed ({done.returncode}): {done.stderr.decode(errors='replace')}")
            results[case] = times
        print("| collector | " + " | ".join(cmds) + " |")
        print("|---|" + "---|" * len(cmds))
        for case, times in results.items():
            bare = statistics.median(times["bare"])
            cells = []
            for name, t in times.items():
                med = statistics.median(t)
                added = "" if name == "bare" else f" (+{med - bare:.2f})"
                cells.append(f"{med:.2f}{added}, min {min(t):.2f}")
            print(f"| {case} | " + " | ".join(cells) + " |")
        json.dump({"rounds": rounds, "builds": dict(builds), "results": results}, open(out, "w"))
    finally:
        up.kill()


if __name__ == "__main__":
    main()
