#!/usr/bin/env python3
"""Side-by-side cost of `otelctl env` (what a shell runs on entry): bare `true` and one or more
otelctl builds, every contender once per round, in turn (as span-interleaved.py does for spans).

    benchmarks/env-interleaved.py ROUNDS OUT.json NAME=OTELCTL_BINARY...

Two cases: auto (OTELCTL_MODE unset, nothing on the system port: auto resolves to local) and
known (OTELCTL_MODE=local, as after the first entry in a devenv shell). Prints the median and
minimum wall time per contender in ms. Run it with nothing listening on 127.0.0.1:4318.
"""
import json, os, shutil, statistics, subprocess, sys, tempfile, time
rounds, out, builds = int(sys.argv[1]), sys.argv[2], [a.split("=", 1) for a in sys.argv[3:]]
work = tempfile.mkdtemp(); root = os.path.join(work, "project"); home = os.path.join(work, "home")
os.makedirs(root); os.makedirs(home)
base = dict(os.environ, HOME=home)
for k in ["OTELCTL_MODE", "OTEL_EXPORTER_OTLP_ENDPOINT", "DEVENV_ROOT", "TRACEPARENT"]:
    base.pop(k, None)
results = {}
for case, extra in {"auto": {}, "known": {"OTELCTL_MODE": "local"}}.items():
    env = dict(base, **extra)
    cmds = {"bare": ["true"], **{n: [b, "env", "--quiet", "--root", root] for n, b in builds}}
    times = {k: [] for k in cmds}
    for i in range(rounds + 10):
        for name, cmd in cmds.items():
            t = time.perf_counter()
            done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if i >= 10:
                times[name].append((time.perf_counter() - t) * 1000)
            elif done.returncode != 0:
                # A contender failing at once would be timed as the fastest.
                sys.exit(f"{name} failed ({done.returncode}): {done.stderr.decode(errors='replace')}")
    results[case] = times
    for name, ts in times.items():
        print(case, name, round(statistics.median(ts), 2), round(min(ts), 2))
json.dump({"rounds": rounds, "builds": dict(builds), "results": results}, open(out, "w"))
shutil.rmtree(work)
