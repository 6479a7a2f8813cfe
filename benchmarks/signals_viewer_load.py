#!/usr/bin/env python3
"""Fills a running `otelctl up --embedded` with logs and metrics and times the viewer's pages.

usage: signals_viewer_load.py RECEIVER_PORT VIEWER_PORT [LOGS] [METRICS] [POINTS]

Sends LOGS log records (default 100000; 8 services, severities trace..fatal, bodies of 40-200
characters from a 2,000-word vocabulary, 3 attributes, 1 in 20 with a trace and span id) in
exports of 500, and METRICS metrics (default 30) with 4 attribute sets of POINTS points
(default 500) each, then times each request REPEAT times over one keep-alive connection (median
and p95 in ms, body size in bytes). Prints a Markdown table. Python stdlib only; loopback only.
"""
import http.client
import json
import os
import random
import statistics
import sys
import time

recv, viewer = int(sys.argv[1]), int(sys.argv[2])
LOGS = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
METRICS = int(sys.argv[4]) if len(sys.argv) > 4 else 30
POINTS = int(sys.argv[5]) if len(sys.argv) > 5 else 500
REPEAT = int(os.environ.get("REPEAT", "15"))
S = 1_000_000_000
rng = random.Random(11)
now = time.time_ns()
WORDS = ["w%04d" % i for i in range(2000)] + ["timeout", "refused", "declined", "payment", "order"]
SEVERITIES = [(1, "TRACE"), (5, "DEBUG"), (9, "INFO"), (9, "INFO"), (9, "INFO"), (13, "WARN"), (17, "ERROR"), (21, "FATAL")]


def attr(k, v):
    return {"key": k, "value": {"stringValue": v}}


def post(path, body):
    c = http.client.HTTPConnection("127.0.0.1", recv, timeout=60)
    c.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    assert r.status == 200, (path, r.status)
    c.close()


started = time.time()
sent = 0
trace_hex = None
while sent < LOGS:
    n = min(500, LOGS - sent)
    svc = "svc-%d" % (sent // 500 % 8)
    records = []
    for i in range(n):
        k = sent + i
        sev, text = SEVERITIES[k % len(SEVERITIES)]
        body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 25)))
        r = {
            "timeUnixNano": str(now - (LOGS - k) * 10_000_000),
            "severityNumber": sev,
            "severityText": text,
            "body": {"stringValue": body},
            "attributes": [attr("code.function", "f%d" % (k % 50)), attr("thread.name", "worker-%d" % (k % 8)), attr("k", "v" * 20)],
        }
        if k % 20 == 0:
            r["traceId"] = "%032x" % (k // 20 + 1)
            r["spanId"] = "%016x" % (k % 7 + 1)
            trace_hex = r["traceId"]
        records.append(r)
    post("/v1/logs", {"resourceLogs": [{"resource": {"attributes": [attr("service.name", svc)]}, "scopeLogs": [{"scope": {"name": "bench"}, "logRecords": records}]}]})
    sent += n
logs_s = time.time() - started

started = time.time()
start_ns = now - (POINTS + 1) * 10 * S
for m in range(METRICS):
    kind = ("sum", "gauge", "histogram")[m % 3]
    dps = []
    for a in range(4):
        for p in range(POINTS):
            t = start_ns + (p + 1) * 10 * S
            dp = {"attributes": [attr("route", "/r%d" % a)], "startTimeUnixNano": str(start_ns), "timeUnixNano": str(t)}
            if kind == "histogram":
                counts = [str(p * c) for c in (5, 20, 40, 20, 10, 5)]
                dp.update({"count": str(p * 100), "sum": p * 1000.0, "bucketCounts": counts, "explicitBounds": [5, 10, 25, 50, 100]})
            elif kind == "sum":
                dp["asDouble"] = p * (a + 1) * 7.0
            else:
                dp["asDouble"] = rng.random() * 100
            dps.append(dp)
    data = {"dataPoints": dps}
    if kind != "gauge":
        data["aggregationTemporality"] = 2
    if kind == "sum":
        data["isMonotonic"] = True
    metric = {"name": "bench.metric.%d" % m, "unit": "ms", kind: data}
    post("/v1/metrics", {"resourceMetrics": [{"resource": {"attributes": [attr("service.name", "svc-%d" % (m % 3))]}, "scopeMetrics": [{"scope": {"name": "bench"}, "metrics": [metric]}]}]})
metrics_s = time.time() - started

print("Loaded %d log records in %.1f s (%.0f/s) and %d metrics x 4 series x %d points in %.1f s." % (LOGS, logs_s, LOGS / logs_s, METRICS, POINTS, metrics_s))
print()

conn = http.client.HTTPConnection("127.0.0.1", viewer, timeout=60)


def get(path):
    t0 = time.perf_counter()
    conn.request("GET", path, headers={"Host": "127.0.0.1:%d" % viewer})
    r = conn.getresponse()
    body = r.read()
    ms = (time.perf_counter() - t0) * 1000
    assert r.status == 200, (path, r.status, body[:200])
    return ms, body


ids = json.loads(get("/api/logs?limit=1")[1])["logs"]
newest = ids[0]["id"]
cases = [
    ("GET /logs (newest 200)", "/logs"),
    ("GET /logs?limit=1000", "/logs?limit=1000"),
    ("GET /logs?service=svc-3", "/logs?service=svc-3"),
    ("GET /logs?severity=error", "/logs?severity=error"),
    ("GET /logs?grep=timeout (FTS5)", "/logs?grep=timeout"),
    ("GET /logs?grep=payment+declined", "/logs?grep=payment+declined"),
    ("GET /logs?trace=<id>", "/logs?trace=" + trace_hex),
    ("GET /logs?since=1m", "/logs?since=1m"),
    ("GET /fragment/logs/rows?after=<newest-50> (the tail)", "/fragment/logs/rows?after=%d" % (newest - 50)),
    ("GET /api/logs?limit=200", "/api/logs?limit=200"),
    ("GET /metrics (%d metrics)" % METRICS, "/metrics"),
    ("GET /api/metrics", "/api/metrics"),
    ("GET /api/metrics/series (counter, 4 x %d points)" % POINTS, "/api/metrics/series?name=bench.metric.0&service=svc-0"),
    ("GET /api/metrics/series (histogram, 4 x %d points)" % POINTS, "/api/metrics/series?name=bench.metric.2&service=svc-2"),
]
print("| request | body bytes | median ms | p95 ms |")
print("|---|---|---|---|")
for label, path in cases:
    times = []
    size = 0
    for _ in range(REPEAT):
        ms, body = get(path)
        times.append(ms)
        size = len(body)
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    print("| `%s` | %d | %.1f | %.1f |" % (label, size, statistics.median(times), p95))

