#!/usr/bin/env python3
"""Floods a running `otelctl up --embedded` receiver with OTLP/JSON spans and reports its memory.

usage: embedded_load.py PID RECEIVER_PORT VIEWER_PORT SCENARIO ROUNDS SPANS_PER_ROUND
  SCENARIO many: 10 spans per trace, a new trace every 10 spans
           one:  every span in one single trace
Sends requests of 1000 spans over one keep-alive connection, loopback only, a bounded number of
requests; prints one Markdown table row per round: spans sent, time, spans/s, RSS, peak RSS,
what the store holds and what it dropped.
"""
import http.client
import json
import os
import sys
import time

pid, rx, viewer, scenario = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rounds, per_round = int(sys.argv[5]), int(sys.argv[6])
BATCH = 1000


def status(field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) // 1024  # MiB
    return -1


def stats():
    c = http.client.HTTPConnection("127.0.0.1", viewer, timeout=30)
    c.request("GET", "/api/traces")
    v = json.loads(c.getresponse().read())
    c.close()
    return v


def batch(first):
    now = time.time_ns()
    spans = []
    for i in range(first, first + BATCH):
        trace = 1 if scenario == "one" else i // 10 + 1
        parent = "" if (scenario == "many" and i % 10 == 0) else format(max(1, i - i % 10) + 1, "016x")
        spans.append({
            "traceId": format(trace, "032x"),
            "spanId": format(i + 1, "016x"),
            "parentSpanId": parent if scenario == "many" else ("" if i == 0 else "0000000000000001"),
            "name": f"op-{i % 17}",
            "kind": 1,
            "startTimeUnixNano": str(now + i * 1000),
            "endTimeUnixNano": str(now + i * 1000 + 500_000 + (i % 97) * 10_000),
            "attributes": [
                {"key": "load.index", "value": {"intValue": str(i)}},
                {"key": "load.note", "value": {"stringValue": "x" * 64}},
            ],
            "status": {"code": 2 if i % 50 == 0 else 0},
        })
    return json.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "load"}}]},
        "scopeSpans": [{"scope": {"name": "load"}, "spans": spans}],
    }]}).encode()


print(f"| round | spans sent | seconds | spans/s | RSS MiB | peak RSS MiB | traces kept | spans kept | stored MiB | dropped traces | dropped spans |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
v = stats()
print(f"| start | 0 | - | - | {status('VmRSS')} | {status('VmHWM')} | {len(v['traces'])} | {v['span_count']} | {v['stored_bytes'] / 2**20:.1f} | 0 | 0 |")
conn = http.client.HTTPConnection("127.0.0.1", rx, timeout=30)
sent = 0
for r in range(1, rounds + 1):
    t = time.monotonic()
    for _ in range(per_round // BATCH):
        body = batch(sent)
        conn.request("POST", "/v1/traces", body, {"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200, resp.status
        sent += BATCH
    took = time.monotonic() - t
    v = stats()
    c = v["counters"]
    print(f"| {r} | {sent} | {took:.1f} | {per_round / took:.0f} | {status('VmRSS')} | {status('VmHWM')} | {len(v['traces'])} | {v['span_count']} | {v['stored_bytes'] / 2**20:.1f} | {c['dropped_traces']} | {c['dropped_spans']} |")
conn.close()
