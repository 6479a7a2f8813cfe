#!/usr/bin/env python3
"""A recording OTLP/HTTP endpoint for tests.

Every POST is appended to a JSON-lines file (path, content type and encoding, base64 body) and
answered with 200 and an empty export response in the request's encoding. GETs answer 200, so
health probes pass. Listens on 127.0.0.1 only and stops by itself after --max-seconds.

    otlp_recorder.py --out requests.jsonl --port-file port [--port 0] [--max-seconds 300]
"""

import argparse
import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--max-seconds", type=float, default=300)
    args = parser.parse_args()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def read_body(self):
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().strip().split(b";")[0], 16)
                    if size == 0:
                        self.rfile.readline()
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def reply(self, ctype, body):
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            body = self.read_body()
            ctype = self.headers.get("Content-Type", "application/json")
            record = {
                "path": self.path,
                "content_type": ctype,
                "content_encoding": self.headers.get("Content-Encoding", ""),
                "body_b64": base64.b64encode(body).decode(),
            }
            with lock, open(args.out, "a", encoding="utf-8") as out:
                out.write(json.dumps(record) + "\n")
            self.reply(ctype, b"{}" if "json" in ctype else b"")

        def do_GET(self):
            self.reply("text/plain", b"ok")

        def log_message(self, *_):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    with open(args.port_file, "w", encoding="utf-8") as f:
        f.write(str(server.server_address[1]))
    timer = threading.Timer(args.max_seconds, server.shutdown)
    timer.daemon = True
    timer.start()
    server.serve_forever()


if __name__ == "__main__":
    main()
