#!/usr/bin/env python3
"""Fills a running `otelctl up --embedded` to its caps and times the explorer on it.

usage: explorer_load.py RECEIVER_PORT VIEWER_PORT OTELCTL_BIN BASE_PORT [TRACES] [SPANS_PER_TRACE]

Sends TRACES traces (default 1100, so the 1000-trace cap is reached) of SPANS_PER_TRACE spans
(default 120; 12 services, 40 span names, 4 attributes of ~60 bytes per span, 1 in 10 traces in
error, task.cached alternating) as OTLP/JSON, then times each page and API call REPEAT times over
one keep-alive connection (median and p95 in ms, body size in bytes), and `otelctl traces`
(whole process) the same way. Prints a Markdown table. Python stdlib only; loopback only.
"""
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import time

recv, viewer, binary, base = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
TRACES = int(sys.argv[5]) if len(sys.argv) > 5 else 1100
SPANS = int(sys.argv[6]) if len(sys.argv) > 6 else 120
REPEAT = int(os.environ.get("REPEAT", "15"))
MS = 1_000_000
rng = random.Random(7)
now = time.time_ns()


def attr(k, v):
    return {"key": k, "value": {"stringValue": v}}


def trace(n):
    tid = "%032x" % (n + 1)
    start = now - (TRACES - n) * 30_000 * MS
    svc = "svc-%d" % (n % 12)
    spans = []
    total = rng.randint(200, 5000) * MS
    for i in range(SPANS):
        sid = "%016x" % (i + 1)
        if i == 0:
            s, e, parent = start, start + total, ""
        else:
            parent = "%016x" % (1 + (i - 1) // 4)
            s = start + rng.randint(0, total // 2)
            e = s + rng.randint(1, total // 2)
        span = {
            "traceId": tid,
            "spanId": sid,
            "name": "task:%d" % (n % 20) if i == 0 else "step-%d" % (i % 40),
            "kind": 1,
            "startTimeUnixNano": str(s),
            "endTimeUnixNano": str(e),
            "attributes": [
                attr("task.cached", "true" if n % 2 else "false") if i == 0 else attr("step.index", str(i)),
                attr("http.url", "https://example.com/api/v1/items/%d?with=details&and=more" % i),
                attr("component", "component-%d-with-a-longer-name-for-realism" % (i % 7)),
                attr("note", "x" * 40),
            ],
        }
        if parent:
            span["parentSpanId"] = parent
        if n % 10 == 3 and i == SPANS - 1:
            span["status"] = {"code": 2, "message": "failed"}
        spans.append(span)
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [attr("service.name", svc)]},
                "scopeSpans": [{"scope": {"name": "bench"}, "spans": spans}],
            }
        ]
    }


def conn(port):
    return http.client.HTTPConnection("127.0.0.1", port, timeout=60)


t0 = time.monotonic()
c = conn(recv)
for n in range(TRACES):
    body = json.dumps(trace(n)).encode()
    c.request("POST", "/v1/traces", body, {"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    assert r.status == 200, r.status
fill = time.monotonic() - t0

v = conn(viewer)


def get(path):
    v.request("GET", path, headers={"Host": "127.0.0.1:%d" % viewer})
    r = v.getresponse()
    body = r.read()
    return r.status, body


status, body = get("/api/traces")
info = json.loads(body)
ids = [t["trace_id"] for t in info["traces"]]
print("stored: %d traces, %d spans, %.1f MiB of span memory (caps %d traces, %d MiB); filled in %.1f s\n"
      % (len(ids), info["span_count"], info["stored_bytes"] / 2**20, info["max_traces"],
         info["max_bytes"] // 2**20, fill))
a, b = ids[0], ids[1]
cases = [
    ("list, no filter", "/"),
    ("list, service", "/?service=svc-3"),
    ("list, span name + min duration", "/?name=step-17&min=2s"),
    ("list, attribute", "/?attr=task.cached%3Dfalse"),
    ("list, status error + since 1h", "/?status=error&since=1h"),
    ("api/search, no filter, limit 20", "/api/search?limit=20"),
    ("api/search, service + status", "/api/search?service=svc-3&status=error&limit=20"),
    ("trace page (%d spans)" % SPANS, "/trace/" + a),
    ("compare page", "/compare?a=%s&b=%s" % (a, b)),
    ("history page", "/history?service=svc-0&name=task%3A0"),
]
print("| request | status | body bytes | median ms | p95 ms |")
print("|---|---|---|---|---|")
for label, path in cases:
    times = []
    size = 0
    for _ in range(REPEAT):
        t = time.perf_counter()
        st, body = get(path)
        times.append((time.perf_counter() - t) * 1000)
        size = len(body)
        assert st == 200, (path, st, body[:200])
    times.sort()
    p95 = times[min(len(times) - 1, -(-95 * len(times) // 100) - 1)]
    print("| `GET %s` (%s) | %d | %d | %.1f | %.1f |" % (path[:60], label, st, size, statistics.median(times), p95))

for label, args in [
    ("`otelctl traces`", ["traces"]),
    ("`otelctl traces --service svc-3 --status error`", ["traces", "--service", "svc-3", "--status", "error"]),
    ("`otelctl traces show ID`", ["traces", "show", a]),
]:
    times = []
    for _ in range(REPEAT):
        t = time.perf_counter()
        out = subprocess.run([binary, "--base-port", base] + args, capture_output=True)
        times.append((time.perf_counter() - t) * 1000)
        assert out.returncode == 0, out.stderr
    times.sort()
    p95 = times[min(len(times) - 1, -(-95 * len(times) // 100) - 1)]
    print("| %s (whole process) | 0 | %d | %.1f | %.1f |" % (label, len(out.stdout), statistics.median(times), p95))
