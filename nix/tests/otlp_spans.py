#!/usr/bin/env python3
"""Spans out of the requests otlp_recorder.py recorded, as flat dicts.

Reads OTLP/HTTP trace exports in JSON or protobuf (optionally gzip), without any OTLP library:
the few protobuf fields a span tree needs are decoded by hand.

    {"service": str, "resource": {k: v}, "name": str, "trace_id": hex, "span_id": hex,
     "parent_span_id": hex or "", "attributes": {k: v}, "status_code": int}
"""

import base64
import gzip
import json
import struct
import sys


# ---- protobuf wire format ---------------------------------------------------------------------
def _varint(buf, i):
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, i
        shift += 7


def _fields(buf):
    """{field number: [raw values]} of one message (ints for varints, bytes otherwise)."""
    out, i = {}, 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            val, i = _varint(buf, i)
        elif wire == 1:
            val, i = buf[i:i + 8], i + 8
        elif wire == 2:
            n, i = _varint(buf, i)
            val, i = buf[i:i + n], i + n
        elif wire == 5:
            val, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        out.setdefault(num, []).append(val)
    return out


def _first(fields, num, default=None):
    return fields.get(num, [default])[0]


def _pb_any(buf):
    f = _fields(buf)
    if 1 in f:
        return f[1][0].decode()
    if 2 in f:
        return bool(f[2][0])
    if 3 in f:
        v = f[3][0]
        return v - (1 << 64) if v >= 1 << 63 else v
    if 4 in f:
        return struct.unpack("<d", f[4][0])[0]
    return None


def _pb_attrs(raw_list):
    attrs = {}
    for raw in raw_list:
        kv = _fields(raw)
        attrs[_first(kv, 1, b"").decode()] = _pb_any(_first(kv, 2, b""))
    return attrs


def _spans_pb(body):
    for rs in _fields(body).get(1, []):
        rsf = _fields(rs)
        resource = _pb_attrs(_fields(_first(rsf, 1, b"")).get(1, []))
        for ss in rsf.get(2, []):
            for sp in _fields(ss).get(2, []):
                f = _fields(sp)
                status = _fields(_first(f, 15, b""))
                yield {
                    "resource": resource,
                    "name": _first(f, 5, b"").decode(),
                    "trace_id": _first(f, 1, b"").hex(),
                    "span_id": _first(f, 2, b"").hex(),
                    "parent_span_id": _first(f, 4, b"").hex(),
                    "attributes": _pb_attrs(f.get(9, [])),
                    "status_code": _first(status, 3, 0),
                }


# ---- OTLP/JSON --------------------------------------------------------------------------------
def _json_any(v):
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in v:
            return v[key]
    if "intValue" in v:
        return int(v["intValue"])
    return None


def _json_attrs(items):
    return {kv["key"]: _json_any(kv.get("value", {})) for kv in items or []}


def _hex_id(v):
    # OTLP/JSON ids are hex; accept base64 (protojson's bytes encoding) as well.
    if not v:
        return ""
    try:
        int(v, 16)
        return v.lower()
    except ValueError:
        return base64.b64decode(v).hex()


def _spans_json(body):
    doc = json.loads(body or b"{}")
    for rs in doc.get("resourceSpans", doc.get("resource_spans", [])):
        resource = _json_attrs(rs.get("resource", {}).get("attributes"))
        for ss in rs.get("scopeSpans", rs.get("scope_spans", [])):
            for sp in ss.get("spans", []):
                yield {
                    "resource": resource,
                    "name": sp.get("name", ""),
                    "trace_id": _hex_id(sp.get("traceId")),
                    "span_id": _hex_id(sp.get("spanId")),
                    "parent_span_id": _hex_id(sp.get("parentSpanId")),
                    "attributes": _json_attrs(sp.get("attributes")),
                    "status_code": sp.get("status", {}).get("code", 0),
                }


def spans_from_records(path):
    spans = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if not rec["path"].rstrip("/").endswith("/v1/traces"):
                continue
            body = base64.b64decode(rec["body_b64"])
            if rec.get("content_encoding") == "gzip":
                body = gzip.decompress(body)
            decode = _spans_json if "json" in rec["content_type"] else _spans_pb
            for span in decode(body):
                span["service"] = span["resource"].get("service.name")
                spans.append(span)
    return spans


if __name__ == "__main__":
    json.dump(spans_from_records(sys.argv[1]), sys.stdout, indent=1)
