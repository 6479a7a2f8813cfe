#!/usr/bin/env python3
"""Query timings of a running `otelctl up --embedded` (benchmarks/store.sh).

usage: store_queries.py populate VIEWER_OR_RECEIVER_PORT TRACES SPANS   (send over OTLP/HTTP)
       store_queries.py time BIN ROOT HOME BASE ROUNDS                  (print table rows)

`populate` sends the shape crates/otelctl-store/examples/populate.rs writes (10 services, root
task-<n % 50> with task.cached, children op-<i % 40>), so both stores answer the same queries.
`time` runs each query ROUNDS times on one keep-alive connection and prints the median and the
95th percentile (nearest rank) in milliseconds; `otelctl traces` is timed as a process (start
included), asking the running viewer as a user's shell would.
"""
import http.client, json, statistics, subprocess, sys, time


def populate(port, traces, per):
    now = time.time_ns()
    span_ns = 30 * 24 * 3600 * 10**9 // max(traces, 1)
    conn = http.client.HTTPConnection("127.0.0.1", port)
    batch = max(1, 1000 // per)
    t = 0
    while t < traces:
        by_service = {}
        for _ in range(batch):
            if t >= traces:
                break
            start = now - (traces - t) * span_ns
            tid = ((0xAB << 120) | (t + 1)).to_bytes(16, "big").hex()
            for i in range(per):
                root = i == 0
                dur = 1_000_000 + (t * 7919 + i * 104_729) % 50_000_000
                s = {
                    "traceId": tid,
                    "spanId": ((t << 16) | (i + 1)).to_bytes(8, "big").hex(),
                    "name": f"task-{t % 50}" if root else f"op-{i % 40}",
                    "kind": 1,
                    "startTimeUnixNano": str(start + i * 1000),
                    "endTimeUnixNano": str(start + i * 1000 + dur * (4 if root else 1)),
                    "attributes": [
                        {"key": "task.cached", "value": {"boolValue": t % 3 == 0}}
                        if root
                        else {"key": "http.route", "value": {"stringValue": f"/r/{i % 40}"}}
                    ],
                }
                if not root:
                    s["parentSpanId"] = ((t << 16) | 1).to_bytes(8, "big").hex()
                if (t + i) % 100 == 0:
                    s["status"] = {"code": 2, "message": "boom"}
                by_service.setdefault(t % 10, []).append(s)
            t += 1
        for svc, spans in by_service.items():
            body = json.dumps({"resourceSpans": [{
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": f"svc-{svc}"}}]},
                "scopeSpans": [{"scope": {"name": "populate"}, "spans": spans}]}]})
            conn.request("POST", "/v1/traces", body, {"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            assert r.status == 200, r.status


def nearest(sorted_ms, p):
    k = max(1, -(-p * len(sorted_ms) // 100))
    return sorted_ms[k - 1]


def timed(fn, rounds):
    fn()  # warm (page cache, prepared statements)
    ms = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t) * 1000)
    ms.sort()
    return statistics.median(ms), nearest(ms, 95)


def main():
    if sys.argv[1] == "populate":
        populate(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
        return
    _, _, bin_, root, home, base, rounds = sys.argv
    base, rounds = int(base), int(rounds)
    viewer = base + 3
    conn = http.client.HTTPConnection("127.0.0.1", viewer)

    def get(path):
        def f():
            conn.request("GET", path)
            r = conn.getresponse()
            body = r.read()
            assert r.status == 200, (path, r.status, body[:200])
            return body
        return f

    # A trace in the middle of the history, and a task's newest runs.
    search = json.loads(get("/api/search?name=task-7&limit=200")())
    rows = search["traces"]
    trace = rows[len(rows) // 2]["trace_id"]
    queries = [
        ("list page `/`", "/"),
        ("`/api/search?service=svc-3&name=op-7&min=10ms&limit=20`", "/api/search?service=svc-3&name=op-7&min=10ms&limit=20"),
        ("`/api/search?status=error&attr=http.route=/r/5&limit=20`", "/api/search?status=error&attr=http.route%3D/r/5&limit=20"),
        ("`/api/search?name=task-7&since=7d&limit=20`", "/api/search?name=task-7&since=7d&limit=20"),
        ("trace by id `/api/export?trace=ID` (JSON)", f"/api/export?trace={trace}"),
        ("trace page `/trace/ID`", f"/trace/{trace}"),
        ("task history page `/history?service=svc-7&name=task-7`", "/history?service=svc-7&name=task-7"),
    ]
    for label, path in queries:
        med, p95 = timed(get(path), rounds)
        print(f"| {label} | {med:.2f} | {p95:.2f} |")

    def traces_cmd():
        out = subprocess.run(
            [bin_, "--root", root, "--base-port", str(base), "traces", "--name", "op-7", "--limit", "20"],
            env={"HOME": home, "PATH": "/usr/bin:/bin", "OTELCTL_MODE": "local"},
            capture_output=True)
        assert out.returncode == 0, out.stderr
        assert out.stdout.count(b"\n") == 21, out.stdout[:300]
    med, p95 = timed(traces_cmd, max(5, rounds // 4))
    print(f"| `otelctl traces --name op-7 --limit 20` (process) | {med:.2f} | {p95:.2f} |")


main()
