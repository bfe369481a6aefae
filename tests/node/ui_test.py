#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Tests of the node's web UI server side (src/node/node_ui.c, docs/api.md
"Web UI"): the embedded files and their security headers, login sessions,
the session cookie on /v1 routes with its CSRF checks, revocation, logout,
the login rate limit, the session cap, TLS cookies and `ui.enabled`.

Driven by tests/node/run_ui.sh, which makes the state directory and tokens
and starts a node on tcp:127.0.0.1:PORT with --insecure-plaintext and on a
unix socket.  Standard library only.  Prints "ok N - name" / "not ok N -
name" lines with "#   detail" lines, then "N passed, N failed"; exits
non-zero when a test failed.
"""

import argparse
import html.parser
import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
import traceback

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
SECRET = re.compile(r"^[A-Za-z0-9_-]{43}$")


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # list of (name, value)
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self):
        try:
            return json.loads(self.body.decode())
        except ValueError:
            return None

    def __repr__(self):
        return "HTTP %s %s" % (self.status, self.body[:400].decode(errors="replace").strip())


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class Failure(Exception):
    pass


class Ctx:
    def __init__(self, args):
        self.args = args
        self.port = args.port
        self.host = "127.0.0.1:%d" % args.port
        self.origin = "http://" + self.host
        self.tokens = {}
        for name in args.tokens.split(","):
            with open(os.path.join(args.tmp, name + ".token")) as f:
                self.tokens[name] = f.read().strip()
        self.problems = []

    def expect(self, cond, msg):
        if not cond:
            self.problems.append(msg)
        return bool(cond)

    def require(self, cond, msg):
        if not cond:
            self.problems.append(msg)
            raise Failure(msg)
        return cond

    def request(self, method, path, body=None, headers=None, conn=None, source=None, port=None, raw=None):
        c = conn or http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=30,
                                               source_address=(source, 0) if source else None)
        h = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            return Resp(r.status, r.getheaders(), r.read())
        finally:
            if conn is None:
                c.close()

    def login(self, who, **kw):
        """Logs in; returns (session cookie value, csrf)."""
        r = self.request("POST", "/ui/login", {"token": self.tokens[who]}, **kw)
        self.require(r.status == 200, "login as %s: %r" % (who, r))
        m = re.match(r"airlock_session=([^;]*)", r.header("set-cookie") or "")
        self.require(m, "login as %s: no airlock_session cookie in %r" % (who, r.headers))
        return m.group(1), r.json()["csrf"]

    def with_session(self, method, path, sid, csrf=None, body=None, headers=None, **kw):
        h = {"Cookie": "airlock_session=" + sid}
        if csrf is not None:
            h["X-CSRF-Token"] = csrf
        h.update(headers or {})
        return self.request(method, path, body, headers=h, **kw)

    def error_is(self, r, status, code, what):
        j = r.json()
        got = j.get("error", {}).get("code") if isinstance(j, dict) and isinstance(j.get("error"), dict) else None
        return self.expect(r.status == status and got == code,
                           "%s: want %d %s, got %r" % (what, status, code, r))

    def cli(self, *args):
        return subprocess.run([os.path.join(self.args.bin_dir, "airlock")] + list(args), capture_output=True,
                              text=True, timeout=60)

    def start_node(self, name, node_args, config=None):
        """Another node on its own state directory; returns (Popen, port, token, dir)."""
        base = os.path.join(self.args.tmp, name)
        state = os.path.join(base, "state")
        os.makedirs(state, mode=0o700)
        os.chmod(base, 0o755)
        p = self.cli("token", "create", "--name", "u", "--state-dir", state)
        self.require(p.returncode == 0, "token create: " + p.stderr)
        token = p.stdout.strip()
        port = free_port()
        args = ["--state-dir", state, "--pool", "0", "--ready-file", os.path.join(base, "ready")] + \
            [a.replace("PORT", str(port)) for a in node_args]
        if config is not None:
            cfg = os.path.join(base, "node.json")
            with open(cfg, "w") as f:
                json.dump(config, f)
            args += ["--config", cfg]
        log = open(os.path.join(base, "node.log"), "ab")
        proc = subprocess.Popen([os.path.join(self.args.bin_dir, "airlock"), "node"] + args, stdout=log,
                                stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        with open(self.args.pids_file, "a") as f:
            f.write("%d\n" % proc.pid)
        end = time.monotonic() + 30
        while time.monotonic() < end and not os.path.exists(os.path.join(base, "ready")) and proc.poll() is None:
            time.sleep(0.05)
        if not os.path.exists(os.path.join(base, "ready")):
            with open(os.path.join(base, "node.log")) as f:
                text = f.read()
            stop(proc)
            self.require(False, "node %s did not start: %s" % (name, text[-2000:]))
        return proc, port, token, base


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def cookie_attrs(set_cookie):
    parts = [p.strip() for p in set_cookie.split(";")]
    return parts[0], {p.split("=", 1)[0].lower(): (p.split("=", 1)[1] if "=" in p else True) for p in parts[1:]}


# ---------------------------------------------------------------------------
# tests


def t_redirects(t):
    for path in ("/", "/ui"):
        r = t.request("GET", path)
        t.expect(r.status == 302 and r.header("location") == "/ui/", "GET %s: want 302 to /ui/, got %r %r"
                 % (path, r, r.headers))
    r = t.request("POST", "/")
    t.error_is(r, 405, "method_not_allowed", "POST /")
    # with a body and no token, refused before the body is read (node.md, Connections)
    t.error_is(t.request("POST", "/", {}), 401, "unauthorized", "POST / with a body")


def t_files_and_headers(t):
    for path, ctype in (("/ui/", "text/html"), ("/ui/index.html", "text/html"), ("/ui/app.js", "text/javascript"),
                        ("/ui/app.css", "text/css"), ("/ui/favicon.svg", "image/svg+xml")):
        r = t.request("GET", path)
        if not t.expect(r.status == 200 and len(r.body) > 0, "GET %s: %r" % (path, r)):
            continue
        t.expect((r.header("content-type") or "").startswith(ctype),
                 "GET %s: Content-Type %r, want %s" % (path, r.header("content-type"), ctype))
        for k, v in SECURITY_HEADERS.items():
            t.expect(r.header(k) == v, "GET %s: %s is %r, want %r" % (path, k, r.header(k), v))
    src = os.path.join(t.args.web_dir, "app.js")
    with open(src, "rb") as f:
        t.expect(t.request("GET", "/ui/app.js").body == f.read(), "/ui/app.js is not web/app.js byte for byte")
    # JSON answers carry them too
    for path in ("/v1/health", "/v1/whoami", "/ui/nope"):
        r = t.request("GET", path)
        for k in ("x-content-type-options", "cache-control", "content-security-policy"):
            t.expect(r.header(k) == SECURITY_HEADERS[k], "GET %s: %s is %r" % (path, k, r.header(k)))


class ScriptAudit(html.parser.HTMLParser):
    """Everything in a page that a strict CSP would refuse or that loads from
    elsewhere."""

    def __init__(self):
        super().__init__()
        self.bad = []
        self.scripts = []
        self.in_script = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k, v in attrs:
            if k.startswith("on"):
                self.bad.append("inline handler %s on <%s>" % (k, tag))
            if k == "style":
                self.bad.append("inline style on <%s>" % tag)
            if k in ("src", "href", "action") and v and (re.match(r"^\s*(javascript|data|https?):", v, re.I)
                                                         or v.startswith("//")):
                self.bad.append("<%s %s=%r> loads from elsewhere" % (tag, k, v))
        if tag == "style":
            self.bad.append("<style> element")
        if tag == "script":
            self.scripts.append(a.get("src"))
            self.in_script = True

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_script = False

    def handle_data(self, data):
        if self.in_script and data.strip():
            self.bad.append("inline script: %r" % data.strip()[:80])


def t_no_inline_script(t):
    r = t.request("GET", "/ui/")
    t.require(r.status == 200, "GET /ui/: %r" % r)
    p = ScriptAudit()
    p.feed(r.body.decode())
    p.close()
    t.expect(not p.bad, "index.html: " + "; ".join(p.bad))
    t.expect(p.scripts == ["app.js"], "index.html scripts: %r, want only app.js" % p.scripts)
    js = t.request("GET", "/ui/app.js").body.decode()
    for bad in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        t.expect(bad not in js, "app.js uses %s" % bad)


def t_unknown_paths(t):
    for path in ("/ui/unknown", "/ui/app.js/x", "/ui/../v1/health", "/ui/.hidden", "/uix", "/index.html"):
        r = t.request("GET", path)
        t.error_is(r, 404, "not_found", "GET " + path)
    t.error_is(t.request("POST", "/ui/app.js"), 405, "method_not_allowed", "POST /ui/app.js")
    t.error_is(t.request("GET", "/ui/login"), 405, "method_not_allowed", "GET /ui/login")


def t_login(t):
    r = t.request("POST", "/ui/login", {"token": t.tokens["alice"]})
    t.require(r.status == 200, "login: %r" % r)
    j = r.json()
    t.expect(isinstance(j, dict) and j.get("tenant") == "alice" and SECRET.match(str(j.get("csrf"))),
             "login answer: %r" % j)
    cookies = r.all("set-cookie")
    t.require(len(cookies) == 1, "login: Set-Cookie headers %r" % cookies)
    first, attrs = cookie_attrs(cookies[0])
    name, _, value = first.partition("=")
    t.expect(name == "airlock_session" and SECRET.match(value), "cookie %r" % first)
    t.expect(attrs.get("httponly") is True, "cookie without HttpOnly: %r" % cookies[0])
    t.expect(attrs.get("samesite") == "Strict", "cookie SameSite: %r" % cookies[0])
    t.expect(attrs.get("path") == "/", "cookie Path: %r" % cookies[0])
    t.expect("secure" not in attrs, "plaintext listener sets Secure: %r" % cookies[0])
    t.expect(value != j.get("csrf"), "session id and CSRF token are the same")
    # a second login is a second session
    sid2, csrf2 = t.login("alice")
    t.expect(sid2 != value and csrf2 != j.get("csrf"), "two logins share a session")


def t_login_refusals(t):
    r = t.request("POST", "/ui/login", {"token": "node_tok_" + "A" * 43})
    t.error_is(r, 401, "unauthorized", "unknown token")
    t.expect(not r.header("set-cookie"), "a failed login sets a cookie: %r" % r.headers)
    t.error_is(t.request("POST", "/ui/login", {"token": "nonsense"}), 401, "unauthorized", "malformed token")
    t.error_is(t.request("POST", "/ui/login", {"tok": "x"}), 400, "bad_request", "wrong field")
    t.error_is(t.request("POST", "/ui/login", {"token": t.tokens["alice"], "x": 1}), 400, "bad_request",
               "extra field")
    t.error_is(t.request("POST", "/ui/login", raw=b"not json", headers={"Content-Type": "application/json"}),
               400, "bad_request", "not JSON")
    t.error_is(t.request("POST", "/ui/login", raw=json.dumps({"token": t.tokens["alice"]}).encode(),
                         headers={"Content-Type": "text/plain"}), 400, "bad_request", "text/plain login")
    t.error_is(t.request("POST", "/ui/login", {"token": t.tokens["alice"]}, headers={"Origin": "http://evil.test"}),
               403, "csrf", "login from a foreign Origin")
    r = t.request("POST", "/ui/login", {"token": t.tokens["alice"]}, headers={"Origin": t.origin})
    t.expect(r.status == 200, "login with our own Origin: %r" % r)


def t_whoami(t):
    r = t.request("GET", "/v1/whoami", headers={"Authorization": "Bearer " + t.tokens["alice"]})
    t.expect(r.status == 200 and r.json() == {"tenant": "alice", "approver": False}, "whoami bearer: %r" % r)
    sid, csrf = t.login("bob")
    r = t.with_session("GET", "/v1/whoami", sid)
    t.expect(r.status == 200 and r.json() == {"tenant": "bob", "approver": False, "csrf": csrf},
             "whoami with the session: %r" % r)
    t.error_is(t.request("GET", "/v1/whoami"), 401, "unauthorized", "whoami without credentials")
    t.error_is(t.request("POST", "/v1/whoami", {}, headers={"Authorization": "Bearer " + t.tokens["alice"]}),
               405, "method_not_allowed", "POST whoami")
    # the bearer header wins over a cookie, and then no csrf is handed out
    r = t.with_session("GET", "/v1/whoami", sid, headers={"Authorization": "Bearer " + t.tokens["alice"]})
    t.expect(r.status == 200 and r.json() == {"tenant": "alice", "approver": False},
             "bearer and cookie: %r" % r)


def t_cookie_on_v1(t):
    sid, csrf = t.login("alice")
    r = t.with_session("GET", "/v1/sandboxes", sid)
    t.expect(r.status == 200 and isinstance(r.json(), dict) and "sandboxes" in r.json(),
             "GET /v1/sandboxes with the session: %r" % r)
    t.error_is(t.with_session("GET", "/v1/sandboxes", "A" * 43), 401, "unauthorized", "unknown session id")
    r = t.with_session("GET", "/v1/sandboxes", "short")
    t.error_is(r, 401, "unauthorized", "malformed session id")
    t.expect("Max-Age=0" in (r.header("set-cookie") or ""), "a dead session's cookie is not cleared: %r" % r.headers)
    # among several cookies, and with another airlock_session that is dead
    r = t.request("GET", "/v1/sandboxes", headers={"Cookie": "a=b; airlock_session=%s; airlock_session=%s; c=d"
                                                   % ("B" * 43, sid)})
    t.expect(r.status == 200, "session among other cookies: %r" % r)


def t_csrf(t):
    sid, csrf = t.login("alice")
    body = {"argv": ["echo", "hi"]}
    t.error_is(t.with_session("POST", "/v1/exec", sid, body=body), 403, "csrf", "POST without X-CSRF-Token")
    wrong = csrf[:-1] + ("A" if csrf[-1] != "A" else "B")
    t.error_is(t.with_session("POST", "/v1/exec", sid, wrong, body=body), 403, "csrf", "POST with a wrong token")
    t.error_is(t.with_session("POST", "/v1/exec", sid, csrf[:10], body=body), 403, "csrf", "POST with a short token")
    t.error_is(t.with_session("POST", "/v1/exec", sid, csrf, body=body, headers={"Origin": "http://evil.test"}),
               403, "csrf", "POST with a foreign Origin")
    t.error_is(t.with_session("POST", "/v1/exec", sid, csrf, body=body,
                              headers={"Origin": "http://127.0.0.1:%d" % (t.port + 1)}),
               403, "csrf", "POST with another port's Origin")
    t.error_is(t.with_session("POST", "/v1/exec", sid, csrf, body=body, headers={"Origin": "null"}),
               403, "csrf", "POST with Origin null")
    t.error_is(t.with_session("DELETE", "/v1/sandboxes/sb_0000000000000000", sid), 403, "csrf",
               "DELETE without X-CSRF-Token")
    # the other tenant's CSRF token does not fit this session
    _, bob_csrf = t.login("bob")
    t.error_is(t.with_session("POST", "/v1/exec", sid, bob_csrf, body=body), 403, "csrf", "another session's token")
    # the right token passes authentication: the body decides from there
    t.error_is(t.with_session("POST", "/v1/exec", sid, csrf, body={}), 400, "bad_request",
               "POST with the right token and an empty body")
    r = t.with_session("POST", "/v1/exec", sid, csrf, body=body, headers={"Origin": t.origin})
    t.expect(r.status == 200 and (r.json() or {}).get("stdout") == "hi\n", "exec through the session: %r" % r)
    t.error_is(t.with_session("DELETE", "/v1/sandboxes/sb_0000000000000000", sid, csrf), 404, "not_found",
               "DELETE with the token")


def t_revoke(t):
    sid, csrf = t.login("carol")
    sid2, _ = t.login("carol")
    t.require(t.with_session("GET", "/v1/whoami", sid).status == 200, "carol's session does not work")
    p = t.cli("token", "revoke", "carol", "--state-dir", t.args.state)
    t.require(p.returncode == 0, "airlock token revoke carol: " + p.stderr)
    r = t.with_session("GET", "/v1/whoami", sid)
    t.error_is(r, 401, "unauthorized", "revoked token's session")
    t.expect("Max-Age=0" in (r.header("set-cookie") or ""), "revoked session's cookie not cleared: %r" % r.headers)
    t.error_is(t.with_session("POST", "/v1/exec", sid, csrf, body={"argv": ["true"]}), 401, "unauthorized",
               "revoked token's session, POST")
    t.error_is(t.with_session("GET", "/v1/sandboxes", sid2), 401, "unauthorized", "revoked token's other session")
    t.error_is(t.request("POST", "/ui/login", {"token": t.tokens["carol"]}), 401, "unauthorized",
               "login with a revoked token")


def t_logout(t):
    sid, csrf = t.login("alice")
    t.error_is(t.with_session("POST", "/ui/logout", sid), 403, "csrf", "logout without X-CSRF-Token")
    t.require(t.with_session("GET", "/v1/whoami", sid).status == 200, "session gone after a refused logout")
    r = t.with_session("POST", "/ui/logout", sid, csrf)
    t.expect(r.status == 204, "logout: %r" % r)
    first, attrs = cookie_attrs(r.header("set-cookie") or "")
    t.expect(first == "airlock_session=" and attrs.get("max-age") == "0", "logout cookie: %r" % r.headers)
    t.error_is(t.with_session("GET", "/v1/whoami", sid), 401, "unauthorized", "session after logout")
    r = t.request("POST", "/ui/logout")
    t.expect(r.status == 204, "logout without a session: %r" % r)


def t_unix_socket(t):
    c = UnixHTTPConnection(t.args.sock)
    try:
        r = t.request("GET", "/ui/", conn=c)
    finally:
        c.close()
    t.expect(r.status == 200 and b"app.js" in r.body, "GET /ui/ on the unix socket: %r" % r)
    c = UnixHTTPConnection(t.args.sock)
    try:
        r = t.request("POST", "/ui/login", {"token": t.tokens["alice"]}, conn=c)
    finally:
        c.close()
    t.expect(r.status == 200 and "Secure" not in (r.header("set-cookie") or ""), "login on the unix socket: %r" % r)


def t_session_cap(t):
    first, _ = t.login("bob")
    time.sleep(0.01)
    sids = []
    c = http.client.HTTPConnection("127.0.0.1", t.port, timeout=30)
    try:
        for _ in range(1024):
            r = t.request("POST", "/ui/login", {"token": t.tokens["bob"]}, conn=c)
            t.require(r.status == 200, "login %d: %r" % (len(sids), r))
            sids.append(re.match(r"airlock_session=([^;]*)", r.header("set-cookie")).group(1))
    finally:
        c.close()
    t.error_is(t.with_session("GET", "/v1/whoami", first), 401, "unauthorized",
               "the least recently used session after 1024 newer ones")
    t.expect(t.with_session("GET", "/v1/whoami", sids[-1]).status == 200, "the newest session does not work")
    t.expect(t.with_session("GET", "/v1/whoami", sids[0]).status == 200, "the oldest of the 1024 does not work")


def t_tls(t):
    base = os.path.join(t.args.tmp, "tls")
    os.makedirs(base)
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", os.path.join(base, "key.pem"), "-out", os.path.join(base, "cert.pem"),
                        "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                       capture_output=True, text=True, timeout=60)
    t.require(p.returncode == 0, "openssl: " + p.stderr)
    proc, port, token, _ = t.start_node("node-tls", ["--listen", "tcp:127.0.0.1:PORT", "--tls-cert",
                                                     os.path.join(base, "cert.pem"), "--tls-key",
                                                     os.path.join(base, "key.pem")])
    try:
        ctx = ssl.create_default_context(cafile=os.path.join(base, "cert.pem"))

        def req(method, path, body=None, headers=None):
            c = http.client.HTTPSConnection("127.0.0.1", port, timeout=30, context=ctx)
            return t.request(method, path, body, headers=headers, conn=c)

        r = req("GET", "/ui/")
        t.expect(r.status == 200 and r.header("content-security-policy") == CSP, "TLS GET /ui/: %r" % r)
        r = req("POST", "/ui/login", {"token": token})
        t.require(r.status == 200, "TLS login: %r" % r)
        _, attrs = cookie_attrs(r.header("set-cookie") or "")
        t.expect(attrs.get("secure") is True and attrs.get("httponly") is True,
                 "TLS cookie without Secure: %r" % r.header("set-cookie"))
        sid = re.match(r"airlock_session=([^;]*)", r.header("set-cookie")).group(1)
        csrf = r.json()["csrf"]
        h = {"Cookie": "airlock_session=" + sid, "X-CSRF-Token": csrf}
        r = req("POST", "/v1/exec", {}, headers=dict(h, Origin="http://127.0.0.1:%d" % port))
        t.error_is(r, 403, "csrf", "TLS listener, http:// Origin")
        r = req("POST", "/v1/exec", {}, headers=dict(h, Origin="https://127.0.0.1:%d" % port))
        t.error_is(r, 400, "bad_request", "TLS listener, https:// Origin")
        r = req("POST", "/ui/logout", None, headers=h)
        t.expect(r.status == 204 and "Secure" in (r.header("set-cookie") or ""), "TLS logout: %r %r"
                 % (r, r.headers))
    finally:
        t.expect(stop(proc) == 0, "the TLS node did not exit 0")


def t_disabled(t):
    proc, port, token, _ = t.start_node("node-noui", ["--listen", "tcp:127.0.0.1:PORT", "--insecure-plaintext"],
                                        config={"ui": {"enabled": False}})
    try:
        for method, path in (("GET", "/"), ("GET", "/ui/"), ("GET", "/ui/app.js"), ("POST", "/ui/login")):
            r = t.request(method, path, {"token": token} if method == "POST" else None, port=port)
            t.error_is(r, 404, "not_found", "ui disabled: %s %s" % (method, path))
        r = t.request("GET", "/v1/whoami", headers={"Authorization": "Bearer " + token}, port=port)
        t.expect(r.status == 200 and r.json().get("tenant") == "u", "ui disabled: whoami: %r" % r)
    finally:
        t.expect(stop(proc) == 0, "the node without UI did not exit 0")
    for bad, msg in (({"ui": {"enabled": 1}}, "node config key 'ui.enabled' must be true or false"),
                     ({"ui": {"bogus": True}}, "unknown node config key 'ui.bogus'"),
                     ({"ui": True}, "node config key 'ui' must be an object")):
        cfg = os.path.join(t.args.tmp, "bad-ui.json")
        with open(cfg, "w") as f:
            json.dump(bad, f)
        p = t.cli("node", "--config", cfg, "--state-dir", os.path.join(t.args.tmp, "never"))
        t.expect(p.returncode == 125 and msg in p.stderr, "config %r: exit %d, %r" % (bad, p.returncode, p.stderr))


def t_rate_limit(t):
    # from 127.0.0.2, so that 127.0.0.1 keeps its own budget
    src = "127.0.0.2"
    for i in range(10):
        r = t.request("POST", "/ui/login", {"token": "node_tok_" + "B" * 43}, source=src)
        t.error_is(r, 401, "unauthorized", "bad login %d from %s" % (i + 1, src))
    r = t.request("POST", "/ui/login", {"token": "node_tok_" + "B" * 43}, source=src)
    t.error_is(r, 429, "over_capacity", "11th bad login within a minute")
    ra = r.header("retry-after") or ""
    t.expect(ra.isdigit() and 1 <= int(ra) <= 60, "Retry-After %r" % ra)
    r = t.request("POST", "/ui/login", {"token": t.tokens["alice"]}, source=src)
    t.error_is(r, 429, "over_capacity", "a good token from the limited address")
    r = t.request("POST", "/ui/login", {"token": t.tokens["alice"]})
    t.expect(r.status == 200, "another address is not limited: %r" % r)
    # bearer requests from the limited address are not affected
    r = t.request("GET", "/v1/whoami", headers={"Authorization": "Bearer " + t.tokens["alice"]}, source=src)
    t.expect(r.status == 200, "bearer whoami from the limited address: %r" % r)


TESTS = [
    ("/ and /ui redirect to /ui/", t_redirects),
    ("UI files served with their content types and security headers; JSON answers too", t_files_and_headers),
    ("index.html has no inline script, style or handler; app.js writes no HTML", t_no_inline_script),
    ("unknown /ui/ paths are 404 JSON; wrong methods 405", t_unknown_paths),
    ("login with a good token: session cookie HttpOnly, SameSite=Strict, Path=/, no Secure on plaintext", t_login),
    ("login refusals: bad token 401, bad body 400, non-JSON type 400, foreign Origin 403", t_login_refusals),
    ("GET /v1/whoami with a token or a session", t_whoami),
    ("the session cookie authenticates /v1 routes; dead ones are 401 and cleared", t_cookie_on_v1),
    ("cookie writes need the session's X-CSRF-Token and a matching Origin", t_csrf),
    ("revoking a token ends its sessions", t_revoke),
    ("logout ends the session (and needs the CSRF token)", t_logout),
    ("the UI is served on the unix socket too", t_unix_socket),
    ("at most 1024 sessions: the least recently used goes", t_session_cap),
    ("TLS listener: Secure cookie, https:// Origin", t_tls),
    ("ui.enabled false: no UI; bad ui config refused", t_disabled),
    ("10 failed logins a minute per address, then 429", t_rate_limit),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--sock", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tokens", required=True, help="comma-separated names of TMP/NAME.token files")
    ap.add_argument("--web-dir", required=True)
    ap.add_argument("--pids-file", required=True, help="pids of the extra nodes started here, one a line")
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    t = Ctx(args)
    only = [x for x in args.only.split(",") if x]
    passed = failed = 0
    for i, (name, fn) in enumerate(TESTS, 1):
        if only and not any(o == str(i) or o in fn.__name__ for o in only):
            continue
        t.problems = []
        t0 = time.monotonic()
        try:
            fn(t)
        except Failure:
            pass
        except Exception:
            t.problems.append("exception: " + traceback.format_exc())
        dt = time.monotonic() - t0
        if t.problems:
            failed += 1
            print("not ok %d - %s (%.1fs)" % (i, name, dt))
            for p in t.problems:
                for line in str(p).splitlines():
                    print("#   " + line)
        else:
            passed += 1
            print("ok %d - %s (%.1fs)" % (i, name, dt))
        sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
