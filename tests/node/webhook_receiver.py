#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""webhook_receiver.py - the receiving end of airlock's webhook tests
(tests/node/webhook_test.sh).  It verifies every request the way a real
receiver should (docs/node.md, "Webhook notifications"): HMAC-SHA256 over
"<t>.<body>" compared with hmac.compare_digest, and a timestamp no more than
five minutes away.  It records what it got, one JSON line per request, and
answers according to the path:

  /ok           200 (after sleeping data.sleep_ms, if the event has it)
  /flaky        503 for the first two attempts of each delivery id, then 200
  /bad          400
  /busy         429
  /redirect     302 to /redirected
  /redirected   200 (the tests check that it is never reached)
  /hang         sleeps 3 s, then 200

A request whose signature or timestamp does not verify is answered 401
whatever the path.  The query string is ignored.

usage: webhook_receiver.py --secret-file F --port-file F --record F
                           [--tls-cert F --tls-key F --tls-port-file F]
"""
import argparse
import hashlib
import hmac
import http.server
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse

MAX_SKEW_S = 300


def load_secret(path):
    with open(path, "rb") as f:
        return f.read().rstrip(b"\r\n")


def verify(secret, header, body, now=None):
    """(True, "") or (False, reason).  The receiver-side check of docs/node.md."""
    if not header:
        return False, "no X-Airlock-Signature"
    fields = {}
    for part in header.split(","):
        k, sep, v = part.strip().partition("=")
        if sep:
            fields.setdefault(k, []).append(v)
    try:
        t = int(fields["t"][0])
    except (KeyError, ValueError):
        return False, "no timestamp"
    now = time.time() if now is None else now
    if abs(now - t) > MAX_SKEW_S:
        return False, "stale timestamp"
    expected = hmac.new(secret, str(t).encode() + b"." + body, hashlib.sha256).hexdigest()
    # any v1 may match (a sender could list several during a key rotation)
    if any(hmac.compare_digest(expected, v) for v in fields.get("v1", [])):
        return True, ""
    return False, "signature mismatch"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver would
    # headers and body are two writes: without this, Nagle and the sender's
    # delayed ACK add 40 ms to every answer
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, extra=None):
        body = json.dumps({"status": status}).encode()
        try:
            self.send_response(status)
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the sender gave up (timeout tests)

    def do_GET(self):
        self.answer(405)

    def do_POST(self):
        srv = self.server
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        path = urllib.parse.urlsplit(self.path).path
        ok, why = verify(srv.secret, self.headers.get("X-Airlock-Signature"), body)
        delivery = self.headers.get("X-Airlock-Delivery", "")
        with srv.lock:
            srv.hits[(path, delivery)] = srv.hits.get((path, delivery), 0) + 1
            attempt = srv.hits[(path, delivery)]
        status, extra, sleep_s = 200, None, 0.0
        if not ok:
            status = 401
        elif path == "/flaky":
            status = 503 if attempt <= 2 else 200
        elif path == "/bad":
            status = 400
        elif path == "/busy":
            status = 429
        elif path == "/redirect":
            status, extra = 302, {"Location": "/redirected"}
        elif path == "/hang":
            sleep_s = 3.0
        elif path == "/ok":
            try:
                sleep_s = float(json.loads(body)["data"].get("sleep_ms", 0)) / 1000
            except (ValueError, KeyError, TypeError, AttributeError):
                pass
        rec = {
            "path": path,
            "attempt": attempt,
            "status": status,
            "verified": ok,
            "why": why,
            "scheme": srv.scheme,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"),
            "time": time.time(),
        }
        with srv.lock:
            with open(srv.record, "a") as f:
                f.write(json.dumps(rec) + "\n")
        if sleep_s:
            time.sleep(sleep_s)
        self.answer(status, extra)


def serve(port_file, secret, record, scheme, ctx=None):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.secret, srv.record, srv.scheme = secret, record, scheme
    srv.lock, srv.hits = threading.Lock(), {}
    if ctx is not None:
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, port_file)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--secret-file", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--record", required=True)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--tls-port-file")
    a = ap.parse_args()
    secret = load_secret(a.secret_file)
    # hits are counted per server; the two never share a path and delivery id
    serve(a.port_file, secret, a.record, "http")
    if a.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        serve(a.tls_port_file, secret, a.record, "https", ctx)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
