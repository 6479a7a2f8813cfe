#!/usr/bin/env python3
"""Side-by-side cost of `otelctl env` (what a shell runs on entry): bare `true`, one or more
otelctl builds and, with --curl, the shell-probe way (`curl -s -m 2 http://127.0.0.1:4318/`),
every contender once per round, in turn (as span-interleaved.py does for spans).

    benchmarks/env-interleaved.py ROUNDS OUT.json NAME=OTELCTL_BINARY... [--curl] [--cases auto,known]

Two cases: auto (OTELCTL_MODE unset, nothing on the system port: auto resolves to local) and
known (OTELCTL_MODE=local, as after the first entry in a devenv shell). Prints the median and
minimum wall time per contender in ms and the load average before and after each case. Run it
with nothing listening on 127.0.0.1:4318.
"""
import json, os, shutil, statistics, subprocess, sys, tempfile, time


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


args = sys.argv[1:]
curl = "--curl" in args
if curl:
    args.remove("--curl")
cases = ["auto", "known"]
if "--cases" in args:
    i = args.index("--cases")
    cases = args[i + 1].split(",")
    del args[i : i + 2]
rounds, out, builds = int(args[0]), args[1], [a.split("=", 1) for a in args[2:]]
work = tempfile.mkdtemp(); root = os.path.join(work, "project"); home = os.path.join(work, "home")
os.makedirs(root); os.makedirs(home)
base = dict(os.environ, HOME=home)
for k in ["OTELCTL_MODE", "OTEL_EXPORTER_OTLP_ENDPOINT", "DEVENV_ROOT", "TRACEPARENT"]:
    base.pop(k, None)
results, load = {}, {}
for case in cases:
    env = dict(base, **({"OTELCTL_MODE": "local"} if case == "known" else {}))
    cmds = {"bare": ["true"], **{n: [b, "env", "--quiet", "--root", root] for n, b in builds}}
    if curl:
        cmds["curl"] = ["curl", "-s", "-m", "2", "http://127.0.0.1:4318/"]
    times = {k: [] for k in cmds}
    before = loadavg()
    for i in range(rounds + 10):
        for name, cmd in cmds.items():
            t = time.perf_counter()
            done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if i >= 10:
                times[name].append((time.perf_counter() - t) * 1000)
            # curl exits 7 (connection refused): nothing listens, as intended.
            elif done.returncode != 0 and not (name == "curl" and done.returncode == 7):
                # A contender failing at once would be timed as the fastest.
                sys.exit(f"{name} failed ({done.returncode}): {done.stderr.decode(errors='replace')}")
    results[case] = times
    load[case] = {"before": before, "after": loadavg(), "rounds": rounds}
    for name, ts in times.items():
        print(case, name, round(statistics.median(ts), 2), round(min(ts), 2))
json.dump({"rounds": rounds, "builds": dict(builds), "results": results, "load": load}, open(out, "w"))
shutil.rmtree(work)
