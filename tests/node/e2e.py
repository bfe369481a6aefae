#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of the real node daemon (`airlock node`, docs/api.md).

Driven by tests/node/run_e2e.sh, which makes the state directory, the tokens
and the TLS material, starts the node and stops it afterwards.  Standard
library only: http.client over the node's unix socket (UnixHTTPConnection
below) and over TLS (ssl).

Every test is a function; each prints "ok N - name" or "not ok N - name"
followed by "#   detail" lines, then a final "N passed, N failed" line.  The
exit status is non-zero when a test failed.

Processes started in sandboxes carry E2E_MARK=<marker> in their environment,
so that leftovers can be found from the host in /proc/*/environ (this script
never has the marker in its own environment).
"""

import argparse
import base64
import http.client
import json
import os
import pwd
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import traceback

# ---------------------------------------------------------------------------
# transport


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP/1.1 over a unix socket."""

    def __init__(self, path, timeout=60):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case name -> value
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None

    def __repr__(self):
        text = self.body[:600].decode("utf-8", "replace")
        return "HTTP %s %s" % (self.status, text.strip())


class Failure(Exception):
    """A required step failed: the test cannot go on."""


class Ctx:
    """What every test gets: the node's addresses, tokens, helpers, and the
    list of problems found so far in the current test."""

    def __init__(self, args):
        self.args = args
        self.airlock = os.path.join(args.bin_dir, "airlock")
        self.tmp = args.tmp
        self.state = args.state
        self.sock = args.sock
        self.tls_port = args.tls_port
        self.tls = os.path.join(args.tmp, "tls")
        self.marker = args.marker
        self.secret = os.environ.get("NODE_SECRET", "")
        self.node_cmd = args.node_cmd
        self.tokens = {}
        for name in ("alice", "bob"):
            with open(os.path.join(args.tmp, name + ".token")) as f:
                self.tokens[name] = f.read().strip()
        self.problems = []
        self.notes = []

    # ---- checks -----------------------------------------------------------
    def expect(self, cond, msg):
        if not cond:
            self.problems.append(msg)
        return bool(cond)

    def require(self, cond, msg):
        if not cond:
            self.problems.append(msg)
            raise Failure(msg)
        return cond

    def note(self, msg):
        self.notes.append(msg)

    # ---- the node ---------------------------------------------------------
    def node_pid(self):
        with open(self.args.pid_file) as f:
            return int(f.read().strip())

    def token(self, who):
        if who is None:
            return None
        return self.tokens.get(who, who)

    def conn(self, timeout=60):
        return UnixHTTPConnection(self.sock, timeout=timeout)

    def tls_context(self, client_cert=True, ca="ca.pem"):
        ctx = ssl.create_default_context(cafile=os.path.join(self.tls, ca))
        if client_cert:
            ctx.load_cert_chain(os.path.join(self.tls, "client.pem"), os.path.join(self.tls, "client.key"))
        return ctx

    def tls_conn(self, port=None, ctx=None, timeout=60):
        return http.client.HTTPSConnection("127.0.0.1", port or self.tls_port, timeout=timeout,
                                           context=ctx or self.tls_context(client_cert=False))

    def request(self, method, path, body=None, who="alice", headers=None, conn=None, timeout=60, raw_body=None):
        """One request; a new connection unless conn is given (then kept)."""
        own = conn is None
        c = conn or self.conn(timeout)
        h = {}
        tok = self.token(who)
        if tok is not None:
            h["Authorization"] = "Bearer " + tok
        data = raw_body
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if headers:
            h.update(headers)
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            out = Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            if own:
                c.close()
        return out

    def exec_body(self, argv=None, command=None, env=None, mark=True, **kw):
        b = {}
        if argv is not None:
            b["argv"] = argv
        if command is not None:
            b["command"] = command
        e = dict(env or {})
        if mark:
            e.setdefault("E2E_MARK", self.marker)
        if e:
            b["env"] = e
        b.update(kw)
        return b

    def exec(self, argv=None, command=None, who="alice", sandbox=None, **kw):
        """Non-streaming exec; returns the Resp."""
        path = "/v1/sandboxes/%s/exec" % sandbox if sandbox else "/v1/exec"
        return self.request("POST", path, self.exec_body(argv, command, **kw), who=who)

    def run(self, argv=None, command=None, **kw):
        """Non-streaming exec that must answer 200; returns its JSON."""
        r = self.exec(argv, command, **kw)
        self.require(r.status == 200 and isinstance(r.json(), dict),
                     "exec %s: %r" % (argv or command, r))
        return r.json()

    def stream(self, argv=None, command=None, who="alice", sandbox=None, conn=None, timeout=60, **kw):
        """Starts a streaming exec; returns (connection, response)."""
        path = "/v1/sandboxes/%s/exec" % sandbox if sandbox else "/v1/exec"
        c = conn or self.conn(timeout)
        body = self.exec_body(argv, command, stream=True, **kw)
        c.request("POST", path, body=json.dumps(body).encode(),
                  headers={"Authorization": "Bearer " + self.token(who), "Content-Type": "application/json"})
        return c, c.getresponse()

    @staticmethod
    def records(resp, on_record=None):
        """All NDJSON records of a streaming response, until its end."""
        out = []
        while True:
            line = resp.readline()
            if not line:
                break
            rec = json.loads(line)
            out.append(rec)
            if on_record:
                on_record(rec)
        return out

    def sandbox(self, body=None, who="alice"):
        r = self.request("POST", "/v1/sandboxes", body if body is not None else {}, who=who, timeout=60)
        self.require(r.status == 201 and isinstance(r.json(), dict) and str(r.json().get("id", "")).startswith("sb_"),
                     "create sandbox %s: %r" % (body, r))
        return r.json()["id"]

    def destroy(self, sb, who="alice"):
        r = self.request("DELETE", "/v1/sandboxes/" + sb, who=who)
        return r.status

    def files(self, method, sb, path, who="alice", op=None, data=None):
        from urllib.parse import quote
        q = "path=" + quote(path, safe="")
        if op:
            q += "&op=" + op
        return self.request(method, "/v1/sandboxes/%s/files?%s" % (sb, q), who=who, raw_body=data,
                            headers={"Content-Type": "application/octet-stream"} if data is not None else None)

    def error_shape(self, r, status, code, mentions=(), what=""):
        """r is a JSON error {"error": {"code", "message"}} with status and code."""
        label = what or "request"
        ok = self.expect(r.status == status, "%s: status %s, want %s: %r" % (label, r.status, status, r))
        j = r.json()
        err = j.get("error") if isinstance(j, dict) else None
        if not self.expect(isinstance(err, dict) and isinstance(err.get("message"), str) and err.get("message"),
                           "%s: not a JSON error {\"error\": {\"code\", \"message\"}}: %r" % (label, r)):
            return False
        ok = self.expect(err.get("code") == code, "%s: error code %r, want %r" % (label, err.get("code"), code)) and ok
        ok = self.expect((r.header("content-type") or "").startswith("application/json"),
                         "%s: Content-Type %r" % (label, r.header("content-type"))) and ok
        for m in mentions:
            ok = self.expect(m in err["message"], "%s: message %r does not name %r" % (label, err["message"], m)) and ok
        return ok

    # ---- the host -----------------------------------------------------------
    def marked_pids(self, marker=None):
        """Host pids whose environment holds the marker."""
        needle = (marker or self.marker).encode()
        pids = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/environ" % d, "rb") as f:
                    if needle in f.read():
                        pids.append(int(d))
            except OSError:
                pass
        return pids

    def wait_until(self, fn, timeout, step=0.05):
        end = time.monotonic() + timeout
        while True:
            v = fn()
            if v or time.monotonic() >= end:
                return v
            time.sleep(step)

    def sql(self, query, state=None):
        db = os.path.join(state or self.state, "node.db")
        p = subprocess.run(["sqlite3", "-cmd", ".timeout 3000", db, query], capture_output=True, text=True, timeout=30)
        self.require(p.returncode == 0, "sqlite3 %r: %s" % (query, p.stderr.strip()))
        return p.stdout.strip()

    def workspace_of(self, sb):
        return self.sql("SELECT workspace FROM sandboxes WHERE id='%s'" % sb)

    def cli(self, args, input=None, env=None, timeout=120):
        e = dict(os.environ)
        e.pop("AIRLOCK_TOKEN", None)
        if env:
            e.update(env)
        return subprocess.run([self.airlock] + args, input=input, capture_output=True, env=e, timeout=timeout)

    def new_token(self, name, *limits, state=None):
        p = self.cli(["token", "create", "--name", name, "--state-dir", state or self.state] + list(limits))
        self.require(p.returncode == 0, "airlock token create %s: %s" % (name, p.stderr.decode(errors="replace")))
        tok = p.stdout.decode().strip()
        if state is None:
            self.tokens[name] = tok
        return tok

    def cgroup_dirs(self, pid):
        """cgroup directories a node with this pid made for its sandboxes."""
        found = []
        for root, dirs, _ in os.walk("/sys/fs/cgroup"):
            if os.path.basename(root) == "airlock":
                found += [os.path.join(root, d) for d in dirs if d.startswith("%d." % pid)]
                dirs[:] = []
            elif root.count("/") > 7:
                dirs[:] = []
        return found

    def free_port(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        return port

    def start_node(self, args, state, log, ready, record=True):
        """Starts another node process; returns the Popen (not yet ready)."""
        try:
            os.unlink(ready)
        except FileNotFoundError:
            pass
        out = open(log, "ab")
        p = subprocess.Popen([self.airlock, "node"] + args, stdout=out, stderr=out, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        out.close()
        if record:
            with open(self.args.pids_file, "a") as f:
                f.write("%d %s\n" % (p.pid, state))
        return p

    def wait_ready(self, p, ready, timeout=30):
        ok = self.wait_until(lambda: os.path.exists(ready) or p.poll() is not None, timeout)
        return bool(ok) and p.poll() is None and os.path.exists(ready)

    def stop_node(self, p, timeout=10):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        try:
            return p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            return None


def is_uint(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


RESULT_FIELDS = {"exec_id": str, "exit_code": int, "signal": int, "timed_out": bool, "oom_killed": bool,
                 "success": bool, "truncated": bool, "wall_ms": int, "cpu_user_ms": int, "cpu_sys_ms": int,
                 "max_rss_kb": int}


def check_result_fields(t, j, what, with_output=True):
    for k, typ in RESULT_FIELDS.items():
        t.expect(k in j and isinstance(j[k], typ) and (typ is not int or not isinstance(j[k], bool)),
                 "%s: field %r missing or not %s: %s" % (what, k, typ.__name__, json.dumps(j)[:400]))
    t.expect("error" in j and (j["error"] is None or isinstance(j["error"], str)),
             "%s: field 'error' missing or not null/string" % what)
    if with_output:
        for k in ("stdout", "stderr"):
            t.expect(isinstance(j.get(k), str), "%s: field %r missing or not a string: %s" % (what, k, json.dumps(j)[:400]))


# ---------------------------------------------------------------------------
# the tests

def t_health(t):
    r = t.request("GET", "/v1/health", who=None)
    t.require(r.status == 200, "health without a token: %r" % r)
    t.expect((r.header("content-type") or "").startswith("application/json"), "health Content-Type %r" % r.header("content-type"))
    j = r.json()
    t.require(isinstance(j, dict), "health is not a JSON object: %r" % r)
    t.expect(j.get("status") == "ok", "health status %r" % j.get("status"))
    t.expect(j.get("ready") is True, "health ready %r" % j.get("ready"))
    t.expect(isinstance(j.get("version"), str) and j["version"], "health version %r" % j.get("version"))
    t.expect(isinstance(j.get("degraded"), list), "health degraded %r" % j.get("degraded"))
    t.expect(is_uint(j.get("sandboxes")), "health sandboxes %r" % j.get("sandboxes"))
    t.expect(is_uint(j.get("execs_running")), "health execs_running %r" % j.get("execs_running"))
    pool = j.get("pool")
    t.expect(isinstance(pool, dict) and is_uint(pool.get("ready")) and is_uint(pool.get("target")), "health pool %r" % pool)
    # with a (valid) token it is the same
    r2 = t.request("GET", "/v1/health")
    t.expect(r2.status == 200, "health with a token: %r" % r2)
    t.error_shape(t.request("POST", "/v1/health", who=None), 405, "method_not_allowed", what="POST /v1/health")
    # a body without a token is refused before it is read, whatever the route
    t.error_shape(t.request("POST", "/v1/health", body={}, who=None), 401, "unauthorized", ["body"],
                  what="POST /v1/health with a body and no token")

    # one exec so that counters have moved
    t.run(["true"])
    m = t.request("GET", "/metrics", who=None)
    t.require(m.status == 200, "metrics without a token: %r" % m)
    t.expect((m.header("content-type") or "").startswith("text/plain"), "metrics Content-Type %r" % m.header("content-type"))
    text = m.body.decode()
    for name in ("airlock_execs_total", "airlock_exec_duration_seconds", "airlock_sandboxes_active",
                 "airlock_limit_kills_total", "airlock_requests_rejected_total", "process_cpu_seconds_total",
                 "process_resident_memory_bytes", "process_start_time_seconds", "process_open_fds"):
        t.expect(re.search(r"^%s[{_ ]" % name, text, re.M), "metrics lack %s" % name)
    t.expect(re.search(r'^airlock_build_info\{version="[0-9][^"]*"\} 1$', text, re.M), "metrics lack airlock_build_info")
    # agent commands run for hours: the duration histogram goes up to 4 h
    t.expect(re.search(r'^airlock_exec_duration_seconds_bucket\{le="14400"\} \d+$', text, re.M),
             "airlock_exec_duration_seconds has no 14400 s bucket")
    rss = re.search(r"^process_resident_memory_bytes (\d+)$", text, re.M)
    t.expect(rss and 1 << 20 < int(rss.group(1)) < 1 << 32, "process_resident_memory_bytes is not a plausible size")
    # the exposition format as Prometheus' own checker reads it (lint included)
    lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    t.expect(lint.returncode == 0 and not lint.stdout.strip() and not lint.stderr.strip(),
             "promtool check metrics: %s%s" % (lint.stdout, lint.stderr))
    ok = re.search(r'^airlock_execs_total\{outcome="ok"\} (\d+)$', text, re.M)
    t.expect(ok and int(ok.group(1)) >= 1, "airlock_execs_total{outcome=\"ok\"} is not >= 1 after an exec")
    t.expect(t.tokens["alice"] not in text and "alice" not in text, "metrics name a tenant or token")
    # unknown routes
    t.error_shape(t.request("GET", "/v1/nothing", who=None), 404, "not_found", what="GET /v1/nothing")
    t.error_shape(t.request("GET", "/v1/execs/../health"), 404, "not_found", what="GET /v1/execs/../health")


def t_auth(t):
    def rejected_401():
        m = t.request("GET", "/metrics", who=None).body.decode()
        g = re.search(r'^airlock_requests_rejected_total\{code="401"\} (\d+)$', m, re.M)
        return int(g.group(1)) if g else -1

    before = rejected_401()
    body = t.exec_body(["echo", "hi"])
    t.error_shape(t.request("POST", "/v1/exec", body, who=None), 401, "unauthorized", what="no Authorization header")
    t.error_shape(t.request("POST", "/v1/exec", body, who="node_tok_" + "A" * 43), 401, "unauthorized", what="unknown token")
    t.error_shape(t.request("POST", "/v1/exec", body, who=t.tokens["alice"] + "x"), 401, "unauthorized",
                  what="token with an extra character")
    t.error_shape(t.request("POST", "/v1/exec", body, who=None, headers={"Authorization": "Basic " + t.tokens["alice"]}),
                  401, "unauthorized", what="Basic instead of Bearer")
    t.error_shape(t.request("POST", "/v1/exec", body, who=None, headers={"Authorization": "Bearer "}),
                  401, "unauthorized", what="empty bearer token")
    t.error_shape(t.request("GET", "/v1/sandboxes", who=None), 401, "unauthorized", what="GET /v1/sandboxes without a token")
    t.error_shape(t.request("GET", "/v1/execs/ex_0000000000000000", who=None), 401, "unauthorized",
                  what="GET /v1/execs/{id} without a token")
    t.expect(rejected_401() >= before + 7, "airlock_requests_rejected_total{code=\"401\"} did not count the 401s")

    # a token made while the node runs works at once; revoking it takes
    # effect on the next request, even on a kept-alive connection
    t.new_token("dave")
    c = t.conn()
    try:
        r = t.request("POST", "/v1/exec", t.exec_body(["echo", "dave"]), who="dave", conn=c)
        t.require(r.status == 200 and r.json().get("stdout") == "dave\n", "new token before revoke: %r" % r)
        sb = t.sandbox(who="dave")
        p = t.cli(["token", "revoke", "dave", "--state-dir", t.state])
        t.require(p.returncode == 0, "airlock token revoke: %s" % p.stderr.decode(errors="replace"))
        r = t.request("POST", "/v1/exec", t.exec_body(["echo", "dave"]), who="dave", conn=c)
        t.error_shape(r, 401, "unauthorized", what="revoked token, same connection")
    finally:
        c.close()
    t.error_shape(t.request("POST", "/v1/exec", body, who="dave"), 401, "unauthorized", what="revoked token, new connection")
    t.error_shape(t.request("GET", "/v1/sandboxes/" + sb, who="dave"), 401, "unauthorized",
                  what="revoked token, its own sandbox")
    # other tenants are unaffected
    t.expect(t.exec(["true"]).status == 200, "alice's token stopped working after dave's revoke")


def t_exec_basic(t):
    j = t.run(["sh", "-c", "echo out; echo err >&2; exit 3"])
    check_result_fields(t, j, "exit 3")
    t.expect(j.get("stdout") == "out\n", "stdout %r" % j.get("stdout"))
    t.expect(j.get("stderr") == "err\n", "stderr %r" % j.get("stderr"))
    t.expect(j.get("exit_code") == 3 and j.get("success") is False and j.get("signal") == 0,
             "exit 3: exit_code/success/signal %r/%r/%r" % (j.get("exit_code"), j.get("success"), j.get("signal")))
    t.expect(j.get("timed_out") is False and j.get("oom_killed") is False and j.get("truncated") is False,
             "exit 3: flags %s" % json.dumps(j))
    t.expect(re.match(r"^ex_[0-9a-f]+$", j.get("exec_id", "")), "exec_id %r" % j.get("exec_id"))
    t.expect(j.get("error") is None, "error %r" % j.get("error"))

    # docs/api.md: "An empty stream is left out of the object"
    j = t.run(["true"])
    t.expect(j.get("stdout", "") == "" and j.get("stderr", "") == "" and j.get("success") is True,
             "true: %s" % json.dumps(j))
    j = t.run(["sh", "-c", "echo ok; echo warn >&2"])
    t.expect(j.get("exit_code") == 0 and j.get("success") is True, "exit 0: %s" % json.dumps(j))
    t.expect(is_uint(j.get("wall_ms")) and j["wall_ms"] < 10000, "wall_ms %r" % j.get("wall_ms"))

    # stdin, as text and as base64 (every byte value, NUL included)
    j = t.run(["cat"], stdin="hello\nworld ü\n")
    t.expect(j.get("stdout") == "hello\nworld ü\n", "stdin: stdout %r" % j.get("stdout"))
    raw = bytes(range(256))
    j = t.run(["od", "-An", "-v", "-tx1"], stdin_base64=base64.b64encode(raw).decode())
    t.expect(j.get("stdout", "").split() == ["%02x" % b for b in raw], "stdin_base64: od says %r" % j.get("stdout", "")[:200])
    j = t.run(["wc", "-c"], stdin_base64=base64.b64encode(b"ab").decode())
    t.expect(j.get("stdout", "").strip() == "2", "stdin_base64 with padding: wc -c %r" % j.get("stdout"))
    big = "x" * (300 * 1024)
    j = t.run(["wc", "-c"], stdin=big)
    t.expect(j.get("stdout", "").strip() == str(len(big)), "300 KiB stdin: wc -c %r" % j.get("stdout"))
    j = t.run(["sh", "-c", "cat; echo done"])
    t.expect(j.get("stdout") == "done\n", "no stdin: the command sees EOF: %r" % j.get("stdout"))

    # env
    j = t.run(["sh", "-c", 'printf "%s|%s|%s" "$FOO" "$E2E_X" "$HOME"'], env={"FOO": "bar baz=1", "E2E_X": "ü"})
    t.expect(j.get("stdout", "").split("|")[:2] == ["bar baz=1", "ü"], "env: %r" % j.get("stdout"))
    j = t.run(["sh", "-c", "echo $PATH; echo $LANG; echo $TERM"])
    t.expect(len(j.get("stdout", "").split("\n")) >= 3 and "/bin" in j.get("stdout", ""), "default PATH: %r" % j.get("stdout"))

    # cwd
    j = t.run(["pwd"], cwd="/tmp")
    t.expect(j.get("stdout") == "/tmp\n", "cwd /tmp: %r" % j.get("stdout"))
    j = t.run(["pwd"], cwd="/nonexistent-dir")
    t.expect(j.get("success") is False and j.get("exit_code") != 0, "cwd that does not exist succeeded: %s" % json.dumps(j))

    # the command form
    j = t.run(command="echo $((6*7)) | tr 4 X; exit 4")
    t.expect(j.get("stdout") == "X2\n" and j.get("exit_code") == 4, "command form: %s" % json.dumps(j))

    # not found / not executable
    j = t.run(["/nonexistent/prog"])
    t.expect(j.get("exit_code") == 127 and j.get("success") is False, "not found: exit %r" % j.get("exit_code"))
    t.expect(isinstance(j.get("error"), str) and "nonexistent" in j["error"], "not found: error %r" % j.get("error"))
    j = t.run(["/etc/hostname"])
    t.expect(j.get("exit_code") == 126, "not executable: exit %r" % j.get("exit_code"))

    # output cap and UTF-8
    j = t.run(command="head -c 5000 /dev/zero | tr '\\0' a", max_output_bytes=100)
    t.expect(j.get("truncated") is True and len(j.get("stdout", "")) <= 100, "max_output_bytes 100: truncated %r, %d bytes"
             % (j.get("truncated"), len(j.get("stdout", ""))))
    j = t.run(command="printf 'a\\377b\\303\\251'")
    t.expect(j.get("stdout") == "a\ufffdbé", "invalid UTF-8 becomes U+FFFD: %r" % j.get("stdout"))

    # GET /v1/execs/{id} of a finished exec
    r = t.request("GET", "/v1/execs/" + j["exec_id"])
    t.expect(r.status == 200 and r.json().get("state") == "exited" and r.json().get("exit_code") == 0,
             "GET /v1/execs/{id}: %r" % r)


def t_stream(t):
    c, r = t.stream(command="for i in $(seq 1 50); do echo $i; sleep 0.01; done")
    try:
        t.require(r.status == 200, "stream status %s" % r.status)
        t.expect((r.getheader("Content-Type") or "").startswith("application/x-ndjson"),
                 "stream Content-Type %r" % r.getheader("Content-Type"))
        t.expect((r.getheader("Transfer-Encoding") or "").lower() == "chunked", "stream not chunked")
        recs = t.records(r)
    finally:
        c.close()
    t.require(recs, "no records")
    t.expect(recs[0].get("type") == "started" and str(recs[0].get("exec_id", "")).startswith("ex_"),
             "first record is not started: %r" % recs[0])
    t.expect(recs[-1].get("type") == "exit", "last record is not exit: %r" % recs[-1])
    ex = recs[-1]
    check_result_fields(t, ex, "exit record", with_output=False)
    t.expect(ex.get("exit_code") == 0 and ex.get("success") is True, "exit record %r" % ex)
    t.expect(ex.get("exec_id") == recs[0].get("exec_id"), "exit record's exec_id differs from started's")
    mid = recs[1:-1]
    t.expect(all(x.get("type") == "stdout" for x in mid), "unexpected record types: %r" % [x.get("type") for x in mid])
    out = "".join(x.get("data", "") for x in mid)
    t.expect(out == "".join("%d\n" % i for i in range(1, 51)), "stdout in order: %r" % out[:300])
    t.expect(len(mid) > 5, "output was not streamed as produced (%d records for 50 sleeps)" % len(mid))
    t.expect(all("type" in x for x in recs) and sum(x["type"] == "exit" for x in recs) == 1, "exactly one exit record")

    # interleaved stdout and stderr keep their order
    c, r = t.stream(command="echo o1; sleep 0.2; echo e1 >&2; sleep 0.2; echo o2; sleep 0.2; echo e2 >&2; exit 5")
    try:
        recs = t.records(r)
    finally:
        c.close()
    seq = [(x["type"], x.get("data")) for x in recs if x.get("type") in ("stdout", "stderr")]
    t.expect(seq == [("stdout", "o1\n"), ("stderr", "e1\n"), ("stdout", "o2\n"), ("stderr", "e2\n")],
             "interleaving: %r" % seq)
    t.expect(recs and recs[-1].get("type") == "exit" and recs[-1].get("exit_code") == 5, "exit 5: %r" % recs[-1:])

    # a stream with no output at all still has started and exit
    c, r = t.stream(["true"])
    try:
        recs = t.records(r)
    finally:
        c.close()
    t.expect([x.get("type") for x in recs] == ["started", "exit"], "stream of 'true': %r" % recs)

    # output produced before and after GET /v1/execs/{id} while running
    c, r = t.stream(["sh", "-c", "echo a; sleep 1; echo b"])
    try:
        first = json.loads(r.readline())
        g = t.request("GET", "/v1/execs/" + first["exec_id"])
        t.expect(g.status == 200 and g.json().get("state") in ("waiting", "running") and "exit_code" not in g.json(),
                 "GET while running: %r" % g)
        recs = [first] + t.records(r)
    finally:
        c.close()
    t.expect("".join(x.get("data", "") for x in recs if x.get("type") == "stdout") == "a\nb\n", "a/b: %r" % recs)


def t_stream_utf8_split(t):
    # docs/api.md: "invalid bytes become U+FFFD": a valid character written in
    # two parts must come out whole
    c, r = t.stream(command="printf 'caf\\303'; sleep 0.3; printf '\\251!\\n'")
    try:
        recs = t.records(r)
    finally:
        c.close()
    out = "".join(x.get("data", "") for x in recs if x.get("type") == "stdout")
    t.expect(out == "café!\n", "é split across two writes streams as %r, want 'café!\\n'" % out)


def t_stream_silent(t):
    # A streamed command that prints nothing for 33 s (io_timeout_s is 30 s).
    # docs/api.md "Streaming" (247edc8) and cli.md: the node closes such a
    # stream, which kills the command (cancelled) unless
    # detach_on_disconnect; `airlock exec --no-stream` is the way for silent
    # commands.  A node that keeps such a stream open until timeout_ms is
    # accepted too; anything in between (cut but still running, no exit
    # record yet finished) is not.  The three run side by side (about 33 s).
    out = {}
    sb = t.sandbox()

    def plain():
        c, r = t.stream(command="echo start; sleep 33; echo done > /workspace/plain", sandbox=sb, timeout_ms=60000,
                        timeout=90)
        recs = []
        try:
            t.records(r, recs.append)
        except (OSError, http.client.HTTPException, ValueError):
            pass
        finally:
            c.close()
        out["plain"] = recs

    def detached():
        c, r = t.stream(command="echo start; sleep 33; echo done > /workspace/detached", sandbox=sb, timeout_ms=60000,
                        detach_on_disconnect=True, timeout=90)
        recs = []
        try:
            t.records(r, recs.append)
        except (OSError, http.client.HTTPException, ValueError):
            pass
        finally:
            c.close()
        out["detached"] = recs

    def cli():
        out["cli"] = t.cli(["exec", "--no-stream", "--node", "unix:" + t.sock, "--token", t.tokens["alice"],
                            "--timeout", "60", "--", "sh", "-c", "sleep 33; echo done"], timeout=90)

    try:
        ths = [threading.Thread(target=f, daemon=True) for f in (plain, detached, cli)]
        for th in ths:
            th.start()
        for th in ths:
            th.join(100)
        time.sleep(1)
        p = out.get("cli")
        t.expect(p is not None and p.returncode == 0 and p.stdout == b"done\n",
                 "airlock exec --no-stream of a command silent for 33 s: %r" % (p,))
        recs = out.get("plain", [])
        t.require(recs and recs[0].get("type") == "started", "a stream silent for 33 s: %r" % recs)
        g = (t.request("GET", "/v1/execs/" + recs[0]["exec_id"]).json() or {})
        f = t.files("GET", sb, "plain")
        if any(x.get("type") == "exit" for x in recs):
            t.note("the silent stream was kept open to its end")
            t.expect(recs[-1].get("type") == "exit" and recs[-1].get("exit_code") == 0 and f.status == 200,
                     "a stream silent for 33 s, kept open: last record %r, file %r" % (recs[-1], f))
        else:
            t.note("the silent stream was cut at io_timeout_s")
            t.expect(g.get("state") == "exited" and g.get("cancelled") is True,
                     "the silent streamed exec after the node closed its stream: %s" % json.dumps(g))
            t.expect(f.status == 404, "the cut stream's command went on: %r" % f)
        d = out.get("detached", [])
        f = t.files("GET", sb, "detached")
        t.expect(f.status == 200 and f.body == b"done\n", "the detached silent command did not finish: %r" % f)
        if d and d[0].get("exec_id"):
            g = (t.request("GET", "/v1/execs/" + d[0]["exec_id"]).json() or {})
            t.expect(g.get("state") == "exited" and g.get("exit_code") == 0, "detached: %s" % json.dumps(g))
    finally:
        t.destroy(sb)


def t_stream_disconnect(t):
    sb = t.sandbox()
    try:
        # the client goes away after the first line: the command must die
        # before its later step writes the marker file
        c, r = t.stream(command="echo begun; sleep 2; echo late > /workspace/late", sandbox=sb)
        first = json.loads(r.readline())
        t.require(first.get("type") == "started", "first record %r" % first)
        eid = first["exec_id"]
        c.close()
        state = t.wait_until(lambda: t.request("GET", "/v1/execs/" + eid).json().get("state") == "exited", 5)
        j = t.request("GET", "/v1/execs/" + eid).json()
        t.expect(state, "exec still %r 5 s after the client left" % j.get("state"))
        t.expect(j.get("cancelled") is True, "exec not marked cancelled after disconnect: %s" % json.dumps(j))
        t.expect(j.get("sandbox") == sb, "GET /v1/execs/{id} 'sandbox' %r, want %r" % (j.get("sandbox"), sb))
        time.sleep(2.5)
        f = t.files("GET", sb, "late")
        t.expect(f.status == 404, "the command went on after the client disconnected: files GET late: %r" % f)

        # with detach_on_disconnect it goes on
        c, r = t.stream(command="echo begun; sleep 1; echo kept > /workspace/kept", sandbox=sb, detach_on_disconnect=True)
        first = json.loads(r.readline())
        c.close()
        time.sleep(2)
        f = t.files("GET", sb, "kept")
        t.expect(f.status == 200 and f.body == b"kept\n", "detach_on_disconnect: the command did not finish: %r" % f)
        j = t.request("GET", "/v1/execs/" + first["exec_id"]).json()
        t.expect(j.get("state") == "exited" and j.get("exit_code") == 0 and not j.get("cancelled"),
                 "detached exec: %s" % json.dumps(j))
    finally:
        t.destroy(sb)

    # one-shot: every process of the sandbox goes
    mark = t.marker + "-disc"
    c, r = t.stream(command="sleep 30 & sleep 30; echo never", env={"E2E_MARK": mark})
    json.loads(r.readline())
    t.expect(t.wait_until(lambda: len(t.marked_pids(mark)) >= 2, 5), "the one-shot command did not start")
    c.close()
    left = t.wait_until(lambda: not t.marked_pids(mark), 5)
    t.expect(left, "processes still alive 5 s after the client left: %s" % t.marked_pids(mark))


def t_tenants(t):
    sb = t.sandbox({"labels": {"owner": "alice"}})
    try:
        t.require(t.files("PUT", sb, "secret.txt", data=b"alice-only").status == 204, "alice PUT")
        sb_bob = t.sandbox(who="bob")
        mine = [x.get("id") for x in t.request("GET", "/v1/sandboxes", who="bob").json().get("sandboxes", [])]
        t.expect(mine == [sb_bob], "bob's list is %r, want only his own %r" % (mine, sb_bob))
        mine = [x.get("id") for x in t.request("GET", "/v1/sandboxes").json().get("sandboxes", [])]
        t.expect(sb in mine and sb_bob not in mine, "alice's list %r" % mine)
        t.destroy(sb_bob, who="bob")

        nothing = t.request("GET", "/v1/sandboxes/sb_00000000deadbeef", who="bob")
        for what, r in [
            ("GET sandbox", t.request("GET", "/v1/sandboxes/" + sb, who="bob")),
            ("exec in sandbox", t.exec(["true"], who="bob", sandbox=sb)),
            ("files GET", t.files("GET", sb, "secret.txt", who="bob")),
            ("files list", t.files("GET", sb, ".", who="bob", op="list")),
            ("files stat", t.files("GET", sb, "secret.txt", who="bob", op="stat")),
            ("files PUT", t.files("PUT", sb, "secret.txt", who="bob", data=b"bob was here")),
            ("files DELETE", t.files("DELETE", sb, "secret.txt", who="bob")),
            ("DELETE sandbox", t.request("DELETE", "/v1/sandboxes/" + sb, who="bob")),
        ]:
            t.error_shape(r, 404, "not_found", what="bob: " + what + " of alice's sandbox")
            t.expect(b"alice-only" not in r.body, "bob: %s shows alice's file" % what)
        t.expect(nothing.status == 404, "unknown sandbox: %r" % nothing)
        g = t.request("GET", "/v1/sandboxes/" + sb)
        t.expect(g.status == 200 and g.json().get("state") == "ready", "alice's sandbox after bob's attempts: %r" % g)
        f = t.files("GET", sb, "secret.txt")
        t.expect(f.status == 200 and f.body == b"alice-only", "alice's file after bob's attempts: %r" % f)

        # a running exec of alice
        c, r = t.stream(["sh", "-c", "echo up; sleep 30"], sandbox=sb)
        try:
            first = json.loads(r.readline())
            eid = first["exec_id"]
            for what, rr in [
                ("GET exec", t.request("GET", "/v1/execs/" + eid, who="bob")),
                ("signal exec", t.request("POST", "/v1/execs/%s/signal" % eid, {"signal": "KILL"}, who="bob")),
                ("DELETE exec", t.request("DELETE", "/v1/execs/" + eid, who="bob")),
            ]:
                t.error_shape(rr, 404, "not_found", what="bob: " + what + " of alice's exec")
            g = t.request("GET", "/v1/execs/" + eid)
            t.expect(g.status == 200 and g.json().get("state") in ("waiting", "running"),
                     "alice's exec after bob's attempts: %r" % g)
            t.expect(t.request("DELETE", "/v1/execs/" + eid).status == 202, "alice cancels her exec")
            recs = t.records(r)
            t.expect(recs and recs[-1].get("type") == "exit", "alice's stream did not end")
        finally:
            c.close()
        # a finished exec of alice stays hers
        j = t.run(["echo", "x"])
        t.error_shape(t.request("GET", "/v1/execs/" + j["exec_id"], who="bob"), 404, "not_found",
                      what="bob: GET alice's finished exec")
    finally:
        t.destroy(sb)


def t_cancel(t):
    def run_stream(argv=None, command=None, sandbox=None, wait_for=None):
        """Starts a streaming exec in a thread; returns (state dict, thread)."""
        st = {"recs": [], "started": threading.Event(), "ready": threading.Event(), "error": None}

        def on_record(rec):
            if rec.get("type") == "started":
                st["id"] = rec["exec_id"]
                st["started"].set()
            if wait_for is None or (rec.get("type") == "stdout" and wait_for in rec.get("data", "")):
                if "id" in st:
                    st["ready"].set()

        def body():
            try:
                c, r = t.stream(argv, command, sandbox=sandbox, timeout=60)
                try:
                    st["recs"] = t.records(r, on_record)
                finally:
                    c.close()
            except Exception as e:  # reported by the caller
                st["error"] = repr(e)
            st["started"].set()
            st["ready"].set()

        th = threading.Thread(target=body, daemon=True)
        th.start()
        return st, th

    def finished(st, th, what):
        th.join(10)
        t.require(not th.is_alive(), "%s: the stream did not end within 10 s" % what)
        t.require(st["error"] is None, "%s: %s" % (what, st["error"]))
        t.require(st["recs"] and st["recs"][-1].get("type") == "exit", "%s: no exit record: %r" % (what, st["recs"][-3:]))
        return st["recs"][-1]

    # DELETE on a one-shot exec
    st, th = run_stream(["sleep", "30"])
    t.require(st["ready"].wait(20) and "id" in st, "DELETE: the exec did not start: %s" % st["error"])
    time.sleep(0.2)
    t0 = time.monotonic()
    r = t.request("DELETE", "/v1/execs/" + st["id"])
    t.expect(r.status == 202 and r.json().get("exec_id") == st["id"], "DELETE /v1/execs/{id}: %r" % r)
    ex = finished(st, th, "DELETE")
    t.expect(time.monotonic() - t0 < 5, "DELETE took %.1f s to end the exec" % (time.monotonic() - t0))
    t.expect(ex.get("signal") == 9 and ex.get("exit_code") == 137 and ex.get("success") is False,
             "DELETE: exit record %r" % ex)
    t.expect(ex.get("cancelled") is True, "DELETE: exit record not cancelled: %r" % ex)
    g = t.request("GET", "/v1/execs/" + st["id"])
    t.expect(g.status == 200 and g.json().get("cancelled") is True and g.json().get("state") == "exited",
             "GET after DELETE: %r" % g)
    t.error_shape(t.request("DELETE", "/v1/execs/" + st["id"]), 409, "conflict", what="DELETE of a finished exec")
    t.error_shape(t.request("POST", "/v1/execs/%s/signal" % st["id"], {"signal": "TERM"}), 409, "conflict",
                  what="signal to a finished exec")

    # signal TERM to a one-shot exec
    st, th = run_stream(["sleep", "30"])
    t.require(st["ready"].wait(20) and "id" in st, "TERM: the exec did not start: %s" % st["error"])
    time.sleep(0.2)
    r = t.request("POST", "/v1/execs/%s/signal" % st["id"], {"signal": "TERM"})
    t.expect(r.status == 202, "signal TERM: %r" % r)
    ex = finished(st, th, "TERM")
    t.expect(ex.get("signal") == 15 and ex.get("exit_code") == 143, "TERM: exit record %r" % ex)

    # TERM by number to a shell that traps it (persistent sandbox)
    sb = t.sandbox()
    try:
        st, th = run_stream(command="trap 'echo caught; exit 3' TERM; echo ready; sleep 30 & wait", sandbox=sb,
                            wait_for="ready")
        t.require(st["ready"].wait(20) and "id" in st, "trap: the exec did not start: %s" % st["error"])
        r = t.request("POST", "/v1/execs/%s/signal" % st["id"], {"signal": 15})
        t.expect(r.status == 202, "signal 15: %r" % r)
        ex = finished(st, th, "trap TERM")
        out = "".join(x.get("data", "") for x in st["recs"] if x.get("type") == "stdout")
        t.expect(out == "ready\ncaught\n" and ex.get("exit_code") == 3 and ex.get("signal") == 0,
                 "trapped TERM: output %r, exit %r" % (out, ex))
        # DELETE in a persistent sandbox kills the exec, not the sandbox
        st, th = run_stream(["sh", "-c", "echo ready; sleep 30"], sandbox=sb, wait_for="ready")
        t.require(st["ready"].wait(20) and "id" in st, "persistent DELETE: the exec did not start")
        t.expect(t.request("DELETE", "/v1/execs/" + st["id"]).status == 202, "DELETE in a persistent sandbox")
        ex = finished(st, th, "persistent DELETE")
        t.expect(ex.get("exit_code") == 137 and ex.get("cancelled") is True, "persistent DELETE: %r" % ex)
        g = t.request("GET", "/v1/sandboxes/" + sb)
        t.expect(g.status == 200 and g.json().get("state") == "ready", "sandbox after DELETE of its exec: %r" % g)
        j = t.run(["echo", "still"], sandbox=sb)
        t.expect(j.get("stdout") == "still\n", "sandbox usable after DELETE of its exec: %s" % json.dumps(j))
    finally:
        t.destroy(sb)

    # bad requests
    st, th = run_stream(["sleep", "30"])
    t.require(st["ready"].wait(20) and "id" in st, "bad signal: the exec did not start")
    for bad in ({"signal": "BOGUS"}, {"signal": 0}, {"signal": 999}, {}, {"signal": "TERM", "x": 1}):
        t.error_shape(t.request("POST", "/v1/execs/%s/signal" % st["id"], bad), 400, "bad_request",
                      what="signal body %s" % json.dumps(bad))
    t.error_shape(t.request("POST", "/v1/execs/ex_0123456789abcdef/signal", {"signal": "TERM"}), 404, "not_found",
                  what="signal to an unknown exec")
    t.request("DELETE", "/v1/execs/" + st["id"])
    finished(st, th, "cleanup")


def t_concurrency(t):
    n = 50
    results = [None] * n
    statuses = []
    lock = threading.Lock()
    barrier = threading.Barrier(n)

    def worker(i):
        c = t.conn(timeout=60)
        try:
            barrier.wait(30)
            for attempt in range(120):
                try:
                    r = t.request("POST", "/v1/exec", t.exec_body(["echo", str(i)]), conn=c)
                except (OSError, http.client.HTTPException) as e:
                    c.close()
                    c = t.conn(timeout=60)
                    with lock:
                        statuses.append(("exception", repr(e)))
                    time.sleep(0.2)
                    continue
                with lock:
                    statuses.append((r.status, r.header("retry-after")))
                if r.status == 429:
                    ra = r.header("retry-after")
                    j = r.json() or {}
                    if not (ra and ra.isdigit()) or (j.get("error") or {}).get("code") != "over_capacity":
                        results[i] = ("bad 429", ra, r.body[:200])
                        return
                    time.sleep(min(int(ra), 2) * (0.5 + 0.5 * (i % 3) / 2))
                    continue
                results[i] = (r.status, r.json())
                return
            results[i] = ("gave up", None)
        finally:
            c.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n)]
    t0 = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join(180)
    elapsed = time.monotonic() - t0
    t.require(not any(th.is_alive() for th in threads), "workers still running after 180 s")
    ids = set()
    for i, res in enumerate(results):
        ok = res and res[0] == 200 and res[1].get("stdout") == "%d\n" % i and res[1].get("exit_code") == 0
        t.expect(ok, "exec %d: %r" % (i, res if not res or res[0] != 200 else json.dumps(res[1])[:300]))
        if ok:
            ids.add(res[1]["exec_id"])
    t.expect(len(ids) == n, "exec ids are not unique: %d distinct of %d" % (len(ids), n))
    n429 = sum(1 for s in statuses if s[0] == 429)
    bad = [s for s in statuses if s[0] not in (200, 429)]
    t.expect(not bad, "answers other than 200 and 429: %r" % bad[:5])
    t.note("%d execs in %.1f s, %d answers 429" % (n, elapsed, n429))
    if n429 == 0:
        t.note("no 429 seen (execs finished faster than they were started)")

    # deterministic 429: a token allowed one exec at a time
    t.new_token("erin", "--max-concurrent", "1")
    c, r = t.stream(["sh", "-c", "echo up; sleep 30"], who="erin")
    try:
        json.loads(r.readline())
        busy = t.exec(["true"], who="erin")
        t.error_shape(busy, 429, "over_capacity", what="second exec of a --max-concurrent 1 token")
        ra = busy.header("retry-after")
        t.expect(ra is not None and ra.isdigit() and int(ra) >= 1, "429 without a Retry-After in seconds: %r" % ra)
        t.expect(t.exec(["true"]).status == 200, "another tenant is not limited by erin's maximum")
    finally:
        c.close()
    # the slot is given back when the stream's client leaves
    ok = t.wait_until(lambda: t.exec(["true"], who="erin").status == 200, 5, step=0.2)
    t.expect(ok, "erin's slot was not given back after her stream was cancelled")


def t_limits(t):
    j = t.run(["sleep", "5"], timeout_ms=500)
    t.expect(j.get("exit_code") == 124 and j.get("timed_out") is True and j.get("success") is False,
             "timeout_ms 500: %s" % json.dumps(j))
    t.expect(j.get("wall_ms", 0) < 3000, "timeout_ms 500 took %r ms" % j.get("wall_ms"))
    c, r = t.stream(["sleep", "5"], timeout_ms=300)
    try:
        recs = t.records(r)
    finally:
        c.close()
    t.expect(recs and recs[-1].get("exit_code") == 124 and recs[-1].get("timed_out") is True,
             "streaming timeout: %r" % recs[-1:])

    j = t.run(["tail", "/dev/zero"], limits={"memory": "64m"})
    t.expect(j.get("exit_code") == 137 and j.get("oom_killed") is True and j.get("success") is False,
             "memory 64m hog: %s" % json.dumps(j))
    t.expect(0 < j.get("max_rss_kb", 0) <= 80 * 1024, "memory 64m hog: max_rss_kb %r" % j.get("max_rss_kb"))
    j = t.run(["tail", "/dev/zero"], limits={"memory": 64 << 20})
    t.expect(j.get("exit_code") == 137 and j.get("oom_killed") is True, "memory as bytes: %s" % json.dumps(j))

    j = t.run(command="for i in $(seq 20); do sleep 1 & done; wait; echo all-started", limits={"pids": 8})
    t.expect(j.get("exit_code") != 0 and "all-started" not in j.get("stdout", "")
             and "fork" in (j.get("stderr", "") or "").lower(), "pids 8 with 20 processes: %s" % json.dumps(j))
    j = t.run(command="for i in $(seq 20); do sleep 1 & done; wait; echo all-started")
    t.expect(j.get("exit_code") == 0 and j.get("stdout") == "all-started\n", "20 processes without a pids limit: %s"
             % json.dumps(j))
    j = t.run(command="dd if=/dev/zero of=/tmp/big bs=1M count=64 2>&1; echo rc=$?", limits={"disk": "16m"})
    t.expect("rc=0" not in j.get("stdout", ""), "disk 16m: writing 64 MiB to /tmp succeeded: %s" % json.dumps(j)[:400])

    # a process of the sandbox killed for memory while the command goes on:
    # the command's own exit code is kept (oom_killed is documented to be
    # true only when the command itself died of it)
    j = t.run(command="head -c 300m /dev/zero | tail; exit 0", limits={"memory": "64m"})
    t.expect(j.get("exit_code") == 0 and "Killed" in j.get("stderr", ""), "OOM of a child: %s" % json.dumps(j))

    # node and token maxima: an explicit request above one is 403; defaults are clamped
    t.error_shape(t.exec(["true"], timeout_ms=3600001), 403, "forbidden", ["timeout_ms"],
                  what="timeout_ms above the node's maximum")
    t.new_token("carol", "--max-memory", "128m", "--max-timeout", "5", "--max-cpus", "1")
    t.error_shape(t.exec(["true"], who="carol", limits={"memory": "256m"}, timeout_ms=1000), 403, "forbidden", ["memory"],
                  what="256m for a --max-memory 128m token")
    t.error_shape(t.exec(["true"], who="carol", timeout_ms=6000), 403, "forbidden", ["timeout_ms"],
                  what="6 s for a --max-timeout 5 token")
    t.error_shape(t.exec(["true"], who="carol", limits={"cpus": 2, "memory": "64m"}, timeout_ms=1000), 403, "forbidden",
                  ["cpus"],
                  what="2 cpus for a --max-cpus 1 token")
    t.error_shape(t.request("POST", "/v1/sandboxes", {"limits": {"memory": "256m"}}, who="carol"), 403, "forbidden",
                  what="sandbox of 256m for a --max-memory 128m token")
    j = t.exec(["echo", "fits"], who="carol", limits={"memory": "64m"}, timeout_ms=5000)
    t.expect(j.status == 200 and j.json().get("stdout") == "fits\n", "within carol's maxima: %r" % j)
    # the node's defaults (512m, 30 s) are above carol's maxima: what asked for
    # nothing gets them brought down to 128m and 5 s instead of a refusal
    j = t.exec(command="head -c 300m /dev/zero | tail; exit 0", who="carol")
    t.expect(j.status == 200 and j.json().get("exit_code") == 0 and "Killed" in j.json().get("stderr", ""),
             "no limits for a --max-memory 128m token: runs, with 128m (300m do not fit): %r" % j)
    j = t.exec(["sh", "-c", "sleep 30"], who="carol")
    t.expect(j.status == 200 and j.json().get("timed_out") is True, "the default timeout clamped to 5 s: %r" % j)
    r = t.request("POST", "/v1/sandboxes", {}, who="carol")
    t.expect(r.status in (200, 201) and (r.json() or {}).get("limits", {}).get("memory") == 128 << 20,
             "a sandbox for carol without limits gets her maximum memory: %r" % r)
    if r.status in (200, 201):
        t.request("DELETE", "/v1/sandboxes/" + r.json()["id"], who="carol")

    # malformed requests: 400 naming the field
    cases = [
        ("malformed JSON", b'{"argv": ["true"', ["JSON"]),
        ("not an object", b'["true"]', ["object"]),
        ("unknown field", json.dumps({"argv": ["true"], "bogus": 1}).encode(), ["bogus"]),
        ("argv and command", json.dumps({"argv": ["true"], "command": "true"}).encode(), ["argv", "command"]),
        ("neither argv nor command", json.dumps({"cwd": "/"}).encode(), ["argv", "command"]),
        ("timeout_ms a string", json.dumps({"argv": ["true"], "timeout_ms": "5"}).encode(), ["timeout_ms"]),
        ("timeout_ms 0", json.dumps({"argv": ["true"], "timeout_ms": 0}).encode(), ["timeout_ms"]),
        ("argv empty", json.dumps({"argv": []}).encode(), ["argv"]),
        ("argv of numbers", json.dumps({"argv": ["echo", 1]}).encode(), ["argv"]),
        ("env not an object", json.dumps({"argv": ["true"], "env": ["A=1"]}).encode(), ["env"]),
        ("env bad name", json.dumps({"argv": ["true"], "env": {"A-B": "1"}}).encode(), ["env"]),
        ("cwd relative", json.dumps({"argv": ["true"], "cwd": "tmp"}).encode(), ["cwd"]),
        ("stdin_base64 invalid", json.dumps({"argv": ["true"], "stdin_base64": "!!!"}).encode(), ["stdin_base64"]),
        ("limits unknown key", json.dumps({"argv": ["true"], "limits": {"swap": "1g"}}).encode(), ["limits.swap"]),
        ("limits.memory bad", json.dumps({"argv": ["true"], "limits": {"memory": "lots"}}).encode(), ["limits.memory"]),
        ("limits.pids 0", json.dumps({"argv": ["true"], "limits": {"pids": 0}}).encode(), ["limits.pids"]),
        ("duplicate key", b'{"argv": ["true"], "argv": ["false"]}', []),
        ("detach without stream", json.dumps({"argv": ["true"], "detach_on_disconnect": True}).encode(),
         ["detach_on_disconnect"]),
        ("stream not a boolean", json.dumps({"argv": ["true"], "stream": "yes"}).encode(), ["stream"]),
    ]
    for what, raw, mentions in cases:
        r = t.request("POST", "/v1/exec", raw_body=raw, headers={"Content-Type": "application/json"})
        t.error_shape(r, 400, "bad_request", mentions, what=what)
    t.error_shape(t.request("POST", "/v1/sandboxes", {"idle_timeout_s": -1}), 400, "bad_request", ["idle_timeout_s"],
                  what="sandbox idle_timeout_s -1")
    t.error_shape(t.request("POST", "/v1/sandboxes", {"nope": 1}), 400, "bad_request", ["nope"],
                  what="sandbox unknown field")
    t.error_shape(t.request("GET", "/v1/exec"), 405, "method_not_allowed", what="GET /v1/exec")
    # methods other than GET, POST, PUT and DELETE: 405 in JSON from the node, never libevent's HTML
    for method, path in (("PATCH", "/v1/exec"), ("PATCH", "/v1/sandboxes"), ("OPTIONS", "/v1/health")):
        t.error_shape(t.request(method, path, {} if method == "PATCH" else None), 405, "method_not_allowed", [method],
                      what="%s %s" % (method, path))
    r = t.request("HEAD", "/v1/health", who=None)
    t.expect(r.status == 405 and (r.header("content-type") or "").startswith("application/json"),
             "HEAD /v1/health: %r" % r)
    # a request line and headers above 8 KiB: 431 in JSON
    t.error_shape(t.request("GET", "/v1/health", who=None, headers={"X-Big": "a" * 9000}), 431, "headers_too_large",
                  ["8192"], what="9000-byte header")
    # bodies: 2 MiB is fine, above max_body_bytes (64 MiB) is 413 from the headers alone
    j = t.run(["wc", "-c"], stdin="x" * (2 << 20))
    t.expect(j.get("stdout", "").strip() == str(2 << 20), "2 MiB body: %s" % json.dumps(j)[:300])
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(t.sock)
    try:
        s.sendall(("POST /v1/exec HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"
                   "Content-Length: %d\r\n\r\n" % (t.tokens["alice"], (64 << 20) + 1)).encode())
        head = b""
        while True:  # the node closes the connection after a refusal
            chunk = s.recv(4096)
            if not chunk:
                break
            head += chunk
    finally:
        s.close()
    t.expect(head.startswith(b"HTTP/1.1 413"), "Content-Length 64 MiB + 1: %r" % head[:100])
    body = head.split(b"\r\n\r\n", 1)[-1]
    t.expect(b'"code":"too_large"' in body and b"max_body_bytes" in body,
             "Content-Length 64 MiB + 1: not the JSON error: %r" % body[:200])
    t.expect(t.request("GET", "/v1/health", who=None).status == 200, "the node after a 413")
    sb = t.sandbox()
    try:
        t.error_shape(t.exec(["true"], sandbox=sb, limits={"memory": "64m"}), 400, "bad_request", ["limits"],
                      what="limits on an exec in a persistent sandbox")
    finally:
        t.destroy(sb)


def t_sandbox_lifecycle(t):
    sb = t.sandbox({"labels": {"project": "e2e", "n": "1"}, "idle_timeout_s": 600})
    ws = t.workspace_of(sb)
    try:
        g = t.request("GET", "/v1/sandboxes/" + sb)
        j = g.json()
        t.require(g.status == 200 and isinstance(j, dict), "GET sandbox: %r" % g)
        t.expect(j.get("id") == sb and j.get("state") == "ready", "GET sandbox: %s" % json.dumps(j))
        t.expect(j.get("labels") == {"project": "e2e", "n": "1"}, "labels not returned as given: %r" % j.get("labels"))
        t.expect(isinstance(j.get("limits"), dict) and set(j["limits"]) == {"memory", "cpus", "pids", "disk"},
                 "limits %r" % j.get("limits"))
        for k in ("id", "state", "created_at_ms", "labels", "limits", "idle_timeout_s", "max_age_s", "execs_running",
                  "workspace_node_owned"):
            t.expect(k in j, "sandbox object lacks documented field %r: %s" % (k, json.dumps(j)))
        t.expect(j.get("workspace_node_owned") is True and j.get("execs_running") == 0, "sandbox: %s" % json.dumps(j))
        t.expect(j.get("idle_timeout_s") == 600 and is_uint(j.get("max_age_s")), "timeouts: %s" % json.dumps(j))
        t.expect(ws.startswith(t.state + ".workspaces/") and os.path.isdir(ws),
                 "node-owned workspace %r is not a directory under %s.workspaces" % (ws, t.state))
        lst = t.request("GET", "/v1/sandboxes").json().get("sandboxes", [])
        t.expect([x.get("id") for x in lst] == [sb], "GET /v1/sandboxes: %r" % [x.get("id") for x in lst])

        # state shared by execs
        j = t.run(command="echo F > /workspace/f; echo G > /tmp/g; echo H > $HOME/h; pwd", sandbox=sb)
        t.expect(j.get("exit_code") == 0, "first exec: %s" % json.dumps(j))
        j = t.run(command="cat /workspace/f /tmp/g $HOME/h", sandbox=sb)
        t.expect(j.get("stdout") == "F\nG\nH\n", "second exec sees /workspace, /tmp and HOME: %s" % json.dumps(j))

        # files API
        data = b"hello\x00world\xff\n"
        r = t.files("PUT", sb, "hello.txt", data=data)
        t.expect(r.status == 204, "PUT hello.txt: %r" % r)
        r = t.files("GET", sb, "hello.txt")
        t.expect(r.status == 200 and r.body == data, "GET hello.txt: %r" % r)
        t.expect((r.header("content-type") or "") == "application/octet-stream", "GET Content-Type %r" % r.header("content-type"))
        j = t.run(command="wc -c < /workspace/hello.txt; echo more >> /workspace/hello.txt && echo appended", sandbox=sb)
        t.expect(j.get("stdout") == "%d\nappended\n" % len(data), "the sandbox sees and can write a PUT file: %s"
                 % json.dumps(j))
        st = os.stat(os.path.join(ws, "hello.txt"))
        wst = os.stat(ws)
        t.expect(st.st_uid == wst.st_uid and st.st_uid != 0, "PUT file owned by uid %d, workspace by %d"
                 % (st.st_uid, wst.st_uid))
        r = t.files("PUT", sb, "hello.txt", data=b"replaced")
        t.expect(r.status == 204 and t.files("GET", sb, "hello.txt").body == b"replaced", "PUT replaces")
        r = t.files("GET", sb, "hello.txt", op="stat")
        j = r.json() or {}
        t.expect(r.status == 200 and j.get("name") == "hello.txt" and j.get("type") == "file" and j.get("size") == 8
                 and is_uint(j.get("mode")) and is_uint(j.get("mtime")), "stat: %r" % r)
        j = t.run(command="mkdir /workspace/d && echo in > /workspace/d/inner", sandbox=sb)
        r = t.files("GET", sb, ".", op="list")
        ents = {e.get("name"): e for e in (r.json() or {}).get("entries", [])}
        t.expect(r.status == 200 and set(ents) >= {"hello.txt", "f", "d"}, "list .: %r" % r)
        t.expect(ents.get("d", {}).get("type") == "dir" and ents.get("f", {}).get("type") == "file"
                 and ents.get("f", {}).get("size") == 2, "list types/sizes: %r" % ents)
        r = t.files("GET", sb, "d", op="list")
        t.expect(r.status == 200 and [e.get("name") for e in r.json().get("entries", [])] == ["inner"], "list d: %r" % r)
        t.expect(t.files("PUT", sb, "d/new", data=b"n").status == 204, "PUT into a subdirectory")
        t.error_shape(t.files("PUT", sb, "nodir/x", data=b"x"), 404, "not_found", what="PUT with a missing parent")
        t.error_shape(t.files("GET", sb, "missing"), 404, "not_found", what="GET missing file")
        t.error_shape(t.files("GET", sb, "d"), 400, "bad_request", what="GET of a directory")
        t.error_shape(t.files("DELETE", sb, "d"), 409, "conflict", what="DELETE of a non-empty directory")
        t.expect(t.files("DELETE", sb, "d/inner").status == 204 and t.files("DELETE", sb, "d/new").status == 204,
                 "DELETE files in d")
        t.expect(t.files("DELETE", sb, "d").status == 204, "DELETE of an empty directory")
        t.expect(t.files("DELETE", sb, "hello.txt").status == 204, "DELETE hello.txt")
        t.error_shape(t.files("GET", sb, "hello.txt"), 404, "not_found", what="GET after DELETE")
        j = t.run(command="ls /workspace", sandbox=sb)
        t.expect(j.get("stdout") == "f\n", "the sandbox sees the deletions: %r" % j.get("stdout"))
        t.error_shape(t.request("GET", "/v1/sandboxes/%s/files" % sb), 400, "bad_request", ["path"], what="files without path")
        t.error_shape(t.files("GET", sb, "f", op="bogus"), 400, "bad_request", ["op"], what="files op=bogus")
    finally:
        st = t.destroy(sb)
    t.expect(st == 204, "DELETE sandbox: %s" % st)
    t.error_shape(t.request("GET", "/v1/sandboxes/" + sb), 404, "not_found", what="GET after DELETE")
    t.error_shape(t.exec(["true"], sandbox=sb), 404, "not_found", what="exec after DELETE")
    t.error_shape(t.files("GET", sb, "f"), 404, "not_found", what="files after DELETE")
    t.error_shape(t.request("DELETE", "/v1/sandboxes/" + sb), 404, "not_found", what="second DELETE")
    t.expect(sb not in [x.get("id") for x in t.request("GET", "/v1/sandboxes").json().get("sandboxes", [])],
             "listed after DELETE")
    t.expect(t.wait_until(lambda: not os.path.exists(ws), 5), "node-owned workspace %s still there after DELETE" % ws)
    sb2 = t.sandbox()
    try:
        j = t.run(command="ls -A /workspace /tmp $HOME", sandbox=sb2)
        t.expect("f" not in j.get("stdout", "").split() and "g" not in j.get("stdout", "").split()
                 and "h" not in j.get("stdout", "").split(), "a new sandbox sees old files: %r" % j.get("stdout"))
    finally:
        t.destroy(sb2)

    # a host workspace below the tenant's directory of the workspace root
    # (workspace_root/alice/), owned by an unprivileged user (the sandbox runs
    # as the workspace's owner; root-owned ones are refused, see below)
    root = os.environ["AIRLOCK_E2E_PROJECTS"]
    proj = os.path.join(root, "alice", "p1")
    os.makedirs(proj, exist_ok=True)
    with open(os.path.join(proj, "readme"), "w") as f:
        f.write("from the host\n")
    r = t.request("POST", "/v1/sandboxes", {"workspace": proj})
    t.error_shape(r, 403, "forbidden", ["owned by root"], what="a root-owned host workspace")
    nobody = pwd.getpwnam("nobody")
    for path in (proj, os.path.join(proj, "readme")):
        os.chown(path, nobody.pw_uid, nobody.pw_gid)
    sb3 = t.sandbox({"workspace": proj})
    try:
        j = t.run(command="cat /workspace/readme; echo out > /workspace/made", sandbox=sb3)
        t.expect(j.get("stdout") == "from the host\n" and j.get("exit_code") == 0, "host workspace: %s" % json.dumps(j))
        t.expect(os.path.exists(os.path.join(proj, "made")), "a file made in a host workspace is not on the host")
    finally:
        t.destroy(sb3)
    time.sleep(0.5)
    t.expect(os.path.exists(os.path.join(proj, "readme")) and os.path.exists(os.path.join(proj, "made")),
             "DELETE of a sandbox removed files of its host workspace %s" % proj)
    sb4 = t.sandbox({"workspace": proj, "workspace_access": "ro"})
    try:
        j = t.run(command="echo x > /workspace/ro-write", sandbox=sb4)
        t.expect(j.get("exit_code") != 0 and not os.path.exists(os.path.join(proj, "ro-write")),
                 "write to an ro workspace: %s" % json.dumps(j))
    finally:
        t.destroy(sb4)
    # the same directory named relative to the tenant's directory
    sb5 = t.sandbox({"workspace": "p1", "workspace_access": "ro"})
    try:
        j = t.run(command="cat /workspace/readme", sandbox=sb5)
        t.expect(j.get("stdout") == "from the host\n", "relative host workspace: %s" % json.dumps(j))
    finally:
        t.destroy(sb5)
    os.symlink(t.tmp, os.path.join(root, "alice", "link-out"))
    os.makedirs(os.path.join(root, "bob", "b1"), exist_ok=True)
    for ws_bad in ("/etc", t.tmp, os.path.join(root, "alice", "link-out"), "link-out", root + "/../", root,
                   "/nonexistent/dir", os.path.join(root, "bob", "b1"), "../bob/b1", "p1/../../bob/b1"):
        r = t.request("POST", "/v1/sandboxes", {"workspace": ws_bad})
        t.error_shape(r, 403, "forbidden", what="workspace %s outside alice's directory of the workspace root" % ws_bad)


def t_workspace_setup_error(t):
    # docs/api.md: 500 internal "sandbox setup failed: REASON", and no
    # sandbox is left.  A workspace below the workspace root that the sandbox's uid
    # (its owner) cannot reach: a project inside a 0700 directory of root's.
    # `airlock run --workspace` says "open DIR: Permission denied" here.
    hidden = os.path.join(os.environ["AIRLOCK_E2E_PROJECTS"], "alice", "closed")
    os.makedirs(hidden, mode=0o700, exist_ok=True)
    os.chmod(hidden, 0o700)
    proj = os.path.join(hidden, "p2")
    os.makedirs(proj, exist_ok=True)
    user = os.environ.get("AIRLOCK_TEST_USER", "altest")
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        pw = pwd.getpwnam("nobody")
    os.chown(proj, pw.pw_uid, pw.pw_gid)
    r = t.request("POST", "/v1/sandboxes", {"workspace": proj})
    if r.status == 201:
        t.destroy(r.json()["id"])
        t.note("the sandbox could be made (the workspace was reachable)")
        return
    t.error_shape(r, 500, "internal", ["sandbox setup failed"], what="unreachable host workspace")
    msg = ((r.json() or {}).get("error") or {}).get("message", "")
    if "Permission denied" not in msg:
        t.note("the reason is %r; `airlock run --workspace` says 'open %s: Permission denied'" % (msg, proj))
    t.expect(t.request("GET", "/v1/sandboxes").json().get("sandboxes") == [], "a failed sandbox is listed")
    t.expect(os.path.isdir(proj), "the host workspace was removed")


def t_sandbox_expiry(t):
    idle = t.sandbox({"idle_timeout_s": 2})
    ws = t.workspace_of(idle)
    old = t.sandbox({"max_age_s": 2, "idle_timeout_s": 600})
    kept = t.sandbox({"idle_timeout_s": 600})
    try:
        # an exec that outlives max_age_s is ended with its sandbox
        c, r = t.stream(["sh", "-c", "echo up; sleep 30"], sandbox=old, timeout=30)
        json.loads(r.readline())
        time.sleep(4)
        t.error_shape(t.request("GET", "/v1/sandboxes/" + idle), 404, "not_found", what="idle sandbox after 4 s")
        t.error_shape(t.request("GET", "/v1/sandboxes/" + old), 404, "not_found", what="sandbox past max_age_s")
        g = t.request("GET", "/v1/sandboxes/" + kept)
        t.expect(g.status == 200, "a sandbox with idle_timeout_s 600 expired: %r" % g)
        recs = t.records(r)
        c.close()
        t.expect(recs and recs[-1].get("type") == "exit" and recs[-1].get("exit_code") != 0,
                 "the exec in the expired sandbox: %r" % recs[-1:])
        t.expect(t.wait_until(lambda: not os.path.exists(ws), 3), "idle sandbox's workspace %s not removed" % ws)
    finally:
        t.destroy(kept)
        t.destroy(idle)
        t.destroy(old)


def t_exec_after_sandbox_gone(t):
    # GET /v1/execs/{id} after the exec's sandbox is gone (one-shot: destroyed
    # when the command ended; persistent: DELETE) still answers the record
    j = t.run(["echo", "one-shot"])
    time.sleep(0.5)
    for _ in range(3):
        t.run(["true"])  # reuse the freed memory
    r = t.request("GET", "/v1/execs/" + j["exec_id"])
    t.expect(r.status == 200 and r.json().get("state") == "exited" and "sandbox" not in r.json(),
             "one-shot exec after its sandbox went: %r" % r)
    sb = t.sandbox()
    j = t.run(["echo", "persistent"], sandbox=sb)
    t.destroy(sb)
    time.sleep(0.5)
    for _ in range(3):
        t.destroy(t.sandbox())
    r = t.request("GET", "/v1/execs/" + j["exec_id"])
    t.expect(r.status == 200 and r.json().get("state") == "exited" and r.json().get("sandbox") == sb,
             "exec of a destroyed persistent sandbox: 'sandbox' is %r, want %r: %r"
             % ((r.json() or {}).get("sandbox"), sb, r))
    t.expect(t.request("GET", "/v1/health", who=None).status == 200, "the node is not healthy afterwards")


def t_traversal(t):
    canary = os.path.join(t.tmp, "canary.txt")
    cdir = os.path.join(t.tmp, "canary-dir")
    with open(canary, "w") as f:
        f.write("CANARY-CONTENT\n")
    os.makedirs(cdir, exist_ok=True)
    with open(os.path.join(cdir, "keep"), "w") as f:
        f.write("KEEP\n")
    os.chmod(canary, 0o644)
    with open("/etc/passwd", "rb") as f:
        host_passwd = f.read()
    sb = t.sandbox()
    try:
        t.require(t.files("PUT", sb, "ok.txt", data=b"fine").status == 204, "PUT ok.txt")
        j = t.run(command="mkdir -p /workspace/a && ln -s /etc /workspace/esc && ln -s /etc/passwd /workspace/pw && "
                          "ln -s %s /workspace/st && ln -s %s/tokens.db /workspace/tok && ln -s %s /workspace/can && "
                          "ln -s %s /workspace/cdir && ln -s ../../../../../../../.. /workspace/up && "
                          "ln -s ok.txt /workspace/inside" % (t.state, t.state, canary, cdir), sandbox=sb)
        t.require(j.get("exit_code") == 0, "making the symlinks: %s" % json.dumps(j))

        def refused(r, what, forbidden=()):
            t.expect(r.status in (400, 404), "%s: status %s, want 400 or 404: %r" % (what, r.status, r))
            for bad in forbidden:
                t.expect(bad not in r.body, "%s: the answer holds host content %r" % (what, bad[:20]))

        secrets = [host_passwd[:40], b"root:x:0:0", b"SQLite format 3", b"CANARY-CONTENT", b"KEEP"]
        for p in ("../x", "..", "/etc/passwd", "a/../../x", "a/../ok.txt", "./../x", "a/..", "esc/passwd", "pw", "esc/shadow",
                  "st/tokens.db", "st/node.db", "tok", "can", "cdir/keep", "up/etc/passwd",
                  "up" + t.state + "/tokens.db", "esc/../ok.txt"):
            refused(t.files("GET", sb, p), "GET path=%s" % p, secrets)
            refused(t.files("GET", sb, p, op="stat"), "stat path=%s" % p, secrets)
        for p in ("esc", "st", "cdir", "up", "../", "/etc"):
            r = t.files("GET", sb, p, op="list")
            refused(r, "list path=%s" % p, secrets + [b"passwd", b"tokens.db", b"keep"])
        # paths that look odd but stay inside are fine
        t.expect(t.files("PUT", sb, "a..b", data=b"dots").status == 204, "PUT a..b (not a '..' component) refused")
        t.expect(t.files("GET", sb, "a/b/../../ok.txt").status in (400, 404), "GET a/b/../../ok.txt")
        # writes through symlinks
        # (targets under the test's temp dir only: a regression must not
        # damage the host)
        for p in ("can", "cdir/new", "st/e2e-evil", "up" + cdir + "/new", "../e2e-evil", "a/../../e2e-evil"):
            r = t.files("PUT", sb, p, data=b"EVIL")
            t.expect(r.status in (400, 404, 409), "PUT path=%s: %r" % (p, r))
        for p in ("cdir/keep", "up" + cdir + "/keep", "../canary.txt"):
            r = t.files("DELETE", sb, p)
            t.expect(r.status in (400, 404), "DELETE path=%s: %r" % (p, r))
        with open(canary) as f:
            t.expect(f.read() == "CANARY-CONTENT\n", "the canary file was changed through a symlink")
        t.expect(sorted(os.listdir(cdir)) == ["keep"], "files appeared in or went from the canary dir: %r" % os.listdir(cdir))
        t.expect(not os.path.exists(os.path.join(t.state, "e2e-evil")),
                 "a file was written outside the workspace")
        with open("/etc/passwd", "rb") as f:
            t.expect(f.read() == host_passwd, "/etc/passwd changed")
        t.expect(os.path.exists(os.path.join(t.state, "tokens.db")), "tokens.db is gone")
        # a symlink that stays inside the workspace: refused or followed, never outside
        r = t.files("GET", sb, "inside")
        t.expect(r.status in (200, 400) and (r.status != 200 or r.body == b"fine"), "GET inside-symlink: %r" % r)
    finally:
        t.destroy(sb)


def t_secrets(t):
    sec = t.secret
    t.require(sec.startswith("sk-node-"), "NODE_SECRET is not set for the test (%r)" % sec)
    node_env = open("/proc/%d/environ" % t.node_pid(), "rb").read()
    t.require(sec.encode() in node_env, "the node does not have NODE_SECRET in its environment: the test proves nothing")
    # (paths only in tests, never echoed: the command line itself is visible)
    probe = ("env; echo ---; cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'; echo ---; "
             "cat /proc/*/cmdline 2>/dev/null | tr '\\0' ' '; echo ---; "
             "cat /proc/%d/environ 2>/dev/null; ls %s >/dev/null 2>&1 && echo STATE-''LISTABLE; "
             "cat %s/tokens.db 2>/dev/null | head -c 200; "
             "test -e %s && echo STATE-''VISIBLE; test -e %s && echo SOCKET-''VISIBLE; "
             "test -e %s.workspaces && echo WORKSPACES-''VISIBLE; test -e %s && echo TMPDIR-''VISIBLE; "
             "echo ---; ls -A / /tmp /run /workspace 2>&1" % (t.node_pid(), t.state, t.state, t.state, t.sock, t.state, t.tmp))
    outs = []
    j = t.run(command=probe)
    outs.append(("one-shot", j))
    j = t.run(command=probe, limits={"memory": "256m"})
    outs.append(("fresh with limits", j))
    sb = t.sandbox()
    try:
        outs.append(("persistent", t.run(command=probe, sandbox=sb)))
        # streaming too
        c, r = t.stream(command=probe, sandbox=sb)
        try:
            recs = t.records(r)
        finally:
            c.close()
        outs.append(("streaming", {"stdout": "".join(x.get("data", "") for x in recs if x.get("type") == "stdout"),
                                   "stderr": "".join(x.get("data", "") for x in recs if x.get("type") == "stderr")}))
    finally:
        t.destroy(sb)
    for what, j in outs:
        text = (j.get("stdout") or "") + (j.get("stderr") or "")
        t.expect(sec not in text, "%s: NODE_SECRET's value is visible inside" % what)
        t.expect("NODE_SECRET" not in text, "%s: the name NODE_SECRET is visible inside" % what)
        t.expect("E2E_MARK=" in text, "%s: the probe did not run (no E2E_MARK in env): %r" % (what, text[:300]))
        for flag in ("STATE-LISTABLE", "STATE-VISIBLE", "SOCKET-VISIBLE", "WORKSPACES-VISIBLE", "TMPDIR-VISIBLE"):
            t.expect(flag not in text, "%s: %s" % (what, flag))
        t.expect(t.tokens["alice"] not in text and "SQLite format" not in text, "%s: token store readable" % what)
        listing = text.rpartition("---")[2]
        t.expect(os.path.basename(t.tmp) not in listing, "%s: the host's temp dir %s shows in / or /tmp inside"
                 % (what, t.tmp))
    # sandbox processes are not host root (one-shot, and node-owned workspace)
    sb = t.sandbox()
    try:
        for what, box in (("one-shot", None), ("persistent", sb)):
            mark = "%s-uid-%s" % (t.marker, what)
            c, r = t.stream(["sleep", "30"], sandbox=box, env={"E2E_MARK": mark})
            try:
                json.loads(r.readline())
                pids = t.wait_until(lambda: t.marked_pids(mark), 5)
                uids = set()
                for pid in pids:
                    try:
                        with open("/proc/%d/status" % pid) as f:
                            for line in f:
                                if line.startswith(("Uid:", "Gid:")):
                                    uids.update(int(x) for x in line.split()[1:])
                    except OSError:
                        pass
                t.expect(pids and uids and 0 not in uids, "%s: sandbox processes %s run with host ids %s"
                         % (what, pids, sorted(uids)))
            finally:
                c.close()
            t.wait_until(lambda: not t.marked_pids(mark), 5)
    finally:
        t.destroy(sb)
    # nor anywhere in the API
    for path in ("/v1/health", "/metrics", "/v1/sandboxes"):
        t.expect(sec.encode() not in t.request("GET", path).body, "%s shows NODE_SECRET" % path)


def t_tls(t):
    ctx = t.tls_context(client_cert=False)
    c = t.tls_conn(ctx=ctx)
    try:
        r = t.request("GET", "/v1/health", who=None, conn=c)
        t.expect(r.status == 200 and r.json().get("status") == "ok", "health over TLS: %r" % r)
        r = t.request("POST", "/v1/exec", t.exec_body(["echo", "over tls"]), conn=c)
        t.expect(r.status == 200 and r.json().get("stdout") == "over tls\n", "exec over TLS: %r" % r)
        r = t.request("POST", "/v1/exec", t.exec_body(["echo", "again"]), conn=c)
        t.expect(r.status == 200 and r.json().get("stdout") == "again\n", "second exec on the same TLS connection: %r" % r)
        t.error_shape(t.request("POST", "/v1/exec", t.exec_body(["true"]), who=None, conn=c), 401, "unauthorized",
                      what="TLS without a token")
    finally:
        c.close()
    # (streaming over TLS: t_tls_stream)
    # the node's certificate is checked: a client trusting another CA refuses it
    try:
        c = t.tls_conn(ctx=ssl.create_default_context(cafile=os.path.join(t.tls, "rogue.pem")))
        c.request("GET", "/v1/health")
        c.getresponse().read()
        t.expect(False, "a client trusting another CA accepted the node's certificate")
    except ssl.SSLError:
        pass
    finally:
        c.close()
    # plain HTTP to the TLS port
    try:
        c = http.client.HTTPConnection("127.0.0.1", t.tls_port, timeout=10)
        c.request("GET", "/v1/health")
        r = c.getresponse()
        body = r.read()
        t.expect(r.status != 200 and b'"status"' not in body, "plain HTTP to the TLS port answered %s %r" % (r.status, body[:100]))
    except (OSError, http.client.HTTPException):
        pass  # refused: good
    finally:
        c.close()
    # the unix socket's mode
    t.expect(oct(os.stat(t.sock).st_mode & 0o777) == "0o600", "socket mode %o" % (os.stat(t.sock).st_mode & 0o777))

    # a second node that requires client certificates
    st2 = os.path.join(t.tmp, "state-mtls")
    os.mkdir(st2, 0o700)
    tok = t.new_token("mtls", state=st2)
    port = t.free_port()
    ready = os.path.join(st2, "ready")
    p = t.start_node(["--state-dir", st2, "--listen", "tcp:127.0.0.1:%d" % port, "--tls-cert",
                      os.path.join(t.tls, "server.pem"), "--tls-key", os.path.join(t.tls, "server.key"),
                      "--tls-client-ca", os.path.join(t.tls, "ca.pem"), "--ready-file", ready, "--pool", "0"],
                     st2, os.path.join(t.tmp, "node-mtls.log"), ready)
    try:
        t.require(t.wait_ready(p, ready), "the mTLS node did not start: %s" % open(os.path.join(t.tmp, "node-mtls.log")).read()[-500:])

        def attempt(ctx):
            c = http.client.HTTPSConnection("127.0.0.1", port, timeout=15, context=ctx)
            try:
                c.request("POST", "/v1/exec", body=json.dumps(t.exec_body(["echo", "mtls"])).encode(),
                          headers={"Authorization": "Bearer " + tok, "Content-Type": "application/json"})
                r = c.getresponse()
                return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
            except (OSError, http.client.HTTPException) as e:
                return e
            finally:
                c.close()

        r = attempt(t.tls_context(client_cert=True))
        t.expect(isinstance(r, Resp) and r.status == 200 and r.json().get("stdout") == "mtls\n",
                 "with the client certificate: %r" % r)
        r = attempt(t.tls_context(client_cert=False))
        t.expect(not isinstance(r, Resp), "without a client certificate the node answered: %r" % r)
        rogue = t.tls_context(client_cert=False)
        rogue.load_cert_chain(os.path.join(t.tls, "rogue.pem"), os.path.join(t.tls, "rogue.key"))
        r = attempt(rogue)
        t.expect(not isinstance(r, Resp), "with a certificate of another CA the node answered: %r" % r)
        r = attempt(t.tls_context(client_cert=True))
        t.expect(isinstance(r, Resp) and r.status == 200, "the node still serves after refused handshakes: %r" % r)
        # the CLI with mutual TLS
        cp = t.cli(["exec", "--no-stream", "--node", "https://127.0.0.1:%d" % port, "--token", tok, "--tls-ca",
                    os.path.join(t.tls, "ca.pem"), "--tls-cert", os.path.join(t.tls, "client.pem"), "--tls-key",
                    os.path.join(t.tls, "client.key"), "--", "echo", "cli-mtls"])
        t.expect(cp.returncode == 0 and cp.stdout == b"cli-mtls\n", "airlock exec with mTLS: %r" % (cp,))
    finally:
        rc = t.stop_node(p)
    t.expect(rc == 0, "the mTLS node exited with %r after SIGTERM" % rc)


def t_tls_stream(t):
    # every streamed exec over TLS ends with its exit record and the end of
    # the chunked body (the same streams over the unix socket always do)
    ctx = t.tls_context(client_cert=False)
    bad = []
    n = 40
    for i in range(n):
        if len(bad) >= 5:
            break  # enough to show it, and bounded in time
        c, r = t.stream(["sh", "-c", "echo s1; sleep 0.1; echo s2"], conn=t.tls_conn(ctx=ctx, timeout=3))
        recs = []
        try:
            t.records(r, recs.append)
        except (OSError, http.client.HTTPException, ValueError) as e:
            recs.append({"type": "exception: " + type(e).__name__})
        finally:
            c.close()
        types = [x.get("type") for x in recs]
        if types != ["started", "stdout", "stdout", "exit"]:
            try:
                state = (t.request("GET", "/v1/execs/" + recs[0]["exec_id"]).json() or {}).get("state") \
                    if recs and "exec_id" in recs[0] else None
            except (OSError, http.client.HTTPException) as e:
                state = "unknown: GET /v1/execs/{id} failed: %r" % e
            bad.append("stream %d: records %s; the node says the exec is %r" % (i, types, state))
            if not node_alive(t):
                break
    t.expect(not bad, "%d of %d streams over TLS did not end within 3 s:\n%s" % (len(bad), i + 1, "\n".join(bad[:5])))
    bad = []
    for i in range(10):
        if len(bad) >= 3 or not node_alive(t):
            break
        try:
            p = t.cli(["exec", "--node", "https://127.0.0.1:%d" % t.tls_port, "--tls-ca", os.path.join(t.tls, "ca.pem"),
                       "--token", t.tokens["alice"], "--", "sh", "-c", "echo s1; sleep 0.1; echo s2"], timeout=8)
            if p.returncode != 0 or p.stdout != b"s1\ns2\n":
                bad.append("run %d: exit %d, stdout %r, stderr %r" % (i, p.returncode, p.stdout, p.stderr[-200:]))
        except subprocess.TimeoutExpired:
            bad.append("run %d: still waiting after 8 s" % i)
    t.expect(not bad, "%d of %d streaming 'airlock exec' over https failed:\n%s" % (len(bad), i + 1, "\n".join(bad[:5])))


def t_restart(t):
    mark = t.marker + "-restart"
    sb = t.sandbox()
    ws = t.workspace_of(sb)
    t.require(ws and os.path.isdir(ws), "workspace of %s: %r" % (sb, ws))
    t.require(t.files("PUT", sb, "keep.txt", data=b"x").status == 204, "PUT keep.txt")
    old_pid = t.node_pid()
    c, r = t.stream(command="echo started; sleep 60", sandbox=sb, env={"E2E_MARK": mark}, timeout=30)
    first = json.loads(r.readline())
    eid = first.get("exec_id")
    t.require(eid, "no started record: %r" % first)
    rec = json.loads(r.readline())
    t.require(rec.get("data") == "started\n", "second record %r" % rec)
    t.require(t.marked_pids(mark), "the sandbox's processes are not visible from the host: the test proves nothing")
    t.expect(t.sql("SELECT state FROM execs WHERE id='%s'" % eid) == "running", "the db does not say running before the crash")
    t.expect(t.cgroup_dirs(old_pid), "no cgroup directory named %d.* while sandboxes run: the test proves nothing" % old_pid)

    os.kill(old_pid, signal.SIGKILL)
    t0 = time.monotonic()
    gone = t.wait_until(lambda: not t.marked_pids(mark), 1.0, step=0.02)
    t.expect(gone, "sandbox processes still alive %.1f s after the node was killed: %s"
             % (time.monotonic() - t0, t.marked_pids(mark)))
    try:
        t.records(r)  # the stream ends
    except (OSError, http.client.HTTPException, ValueError):
        pass
    c.close()
    def dead(pid):
        try:
            with open("/proc/%d/stat" % pid) as f:
                return f.read().rpartition(") ")[2].startswith(("Z", "X"))
        except OSError:
            return True
    t.expect(t.wait_until(lambda: dead(old_pid), 5), "the killed node %d is still alive" % old_pid)

    # restart on the same state dir
    ready = t.args.ready_file
    p = t.start_node(t.node_cmd, t.state, t.args.node_log, ready)
    t.require(t.wait_ready(p, ready), "the node did not restart: %s" % open(t.args.node_log).read()[-800:])
    with open(t.args.pid_file, "w") as f:
        f.write("%d\n" % p.pid)
    st = t.sql("SELECT state FROM execs WHERE id='%s'" % eid)
    t.expect(st == "interrupted", "the db says %r for the exec running at the crash, want 'interrupted'" % st)
    st = t.sql("SELECT state FROM sandboxes WHERE id='%s'" % sb)
    t.expect(st not in ("created", "ready", ""), "the db says %r for the lost sandbox" % st)
    t.expect(not os.path.exists(ws), "the lost sandbox's node-owned workspace %s is still there" % ws)
    g = t.cli(["gc"])
    t.expect(g.returncode == 0, "airlock gc: %r" % (g,))
    left = t.cgroup_dirs(old_pid)
    t.expect(not left, "cgroup directories of the killed node left after airlock gc: %s" % left)
    t.error_shape(t.request("GET", "/v1/sandboxes/" + sb), 404, "not_found", what="the lost sandbox after restart")
    # docs/api.md (247edc8): exec records are in memory only, so after a
    # restart 404; the earlier contract listed "interrupted" as a state of
    # GET /v1/execs/{id}.  Either is accepted, nothing else.
    g = t.request("GET", "/v1/execs/" + eid)
    if g.status == 404:
        t.error_shape(g, 404, "not_found", what="the lost exec after restart")
        t.note("GET /v1/execs/{id} of the lost exec: 404")
    else:
        t.expect(g.status == 200 and (g.json() or {}).get("state") == "interrupted",
                 "GET /v1/execs/{id} of the lost exec: %r, want 404 or state 'interrupted'" % g)
        t.note("GET /v1/execs/{id} of the lost exec: state interrupted")
    t.error_shape(t.request("GET", "/v1/execs/" + eid, who="bob"), 404, "not_found",
                  what="bob: GET alice's lost exec after restart")
    t.expect(sb not in [x.get("id") for x in t.request("GET", "/v1/sandboxes").json().get("sandboxes", [])],
             "the lost sandbox is listed after restart")
    j = t.run(["echo", "back"])
    t.expect(j.get("stdout") == "back\n", "exec after restart: %s" % json.dumps(j))
    t.expect(t.request("GET", "/v1/health", who=None).json().get("execs_running") == 0, "execs_running after restart")


def t_refuse(t):
    def attempt(args, state, what):
        log = os.path.join(t.tmp, "refuse.log")
        if os.path.exists(log):
            os.unlink(log)
        ready = os.path.join(t.tmp, "refuse.ready")
        p = t.start_node(["--state-dir", state, "--ready-file", ready, "--pool", "0"] + args, state, log, ready)
        started = t.wait_ready(p, ready, timeout=30)
        if started:
            t.stop_node(p)
            t.expect(False, "%s: the node started" % what)
            return None, ""
        try:
            rc = p.wait(30)
        except subprocess.TimeoutExpired:
            t.stop_node(p)
            t.expect(False, "%s: the node neither started nor exited" % what)
            return None, ""
        text = open(log).read()
        t.expect(rc != 0, "%s: exit status %s" % (what, rc))
        return rc, text

    st = os.path.join(t.tmp, "state-0755")
    os.mkdir(st)
    os.chmod(st, 0o755)
    rc, text = attempt(["--listen", "unix:%s/node.sock" % st], st, "state dir 0755")
    t.expect("0755" in text and "mode" in text, "state dir 0755: message does not name the mode: %r" % text)
    t.expect(not os.path.exists(os.path.join(st, "node.sock")) and not os.path.exists(os.path.join(st, "tokens.db")),
             "state dir 0755: files were made in it: %r" % os.listdir(st))
    t.expect(oct(os.stat(st).st_mode & 0o777) == "0o755", "the node changed the state dir's mode")

    good = os.path.join(t.tmp, "state-refuse")
    os.mkdir(good, 0o700)
    port = t.free_port()
    rc, text = attempt(["--listen", "tcp:0.0.0.0:%d" % port], good, "tcp:0.0.0.0 without TLS")
    t.expect("tls" in text.lower(), "tcp:0.0.0.0 without TLS: message %r" % text)
    rc, text = attempt(["--listen", "tcp:0.0.0.0:%d" % port, "--insecure-plaintext"], good,
                       "--insecure-plaintext on tcp:0.0.0.0")
    t.expect("loopback" in text.lower() or "tls" in text.lower(), "--insecure-plaintext on 0.0.0.0: message %r" % text)
    addrs = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    v4 = [a for a in addrs if re.match(r"^\d+\.\d+\.\d+\.\d+$", a) and not a.startswith("127.")]
    if v4:
        attempt(["--listen", "tcp:%s:%d" % (v4[0], port), "--insecure-plaintext"], good,
                "--insecure-plaintext on %s" % v4[0])
    attempt(["--listen", "tcp:[::]:%d" % port, "--insecure-plaintext"], good, "--insecure-plaintext on [::]")
    attempt(["--listen", "tcp:127.0.0.1:%d" % port, "--tls-cert", os.path.join(t.tls, "server.pem")], good,
            "--tls-cert without --tls-key")
    # the control: plain HTTP on loopback with --insecure-plaintext is allowed
    ready = os.path.join(good, "ready")
    p = t.start_node(["--state-dir", good, "--ready-file", ready, "--pool", "0", "--listen",
                      "tcp:127.0.0.1:%d" % port, "--insecure-plaintext"], good, os.path.join(t.tmp, "plain.log"), ready)
    try:
        t.require(t.wait_ready(p, ready), "--insecure-plaintext on 127.0.0.1 did not start: %s"
                  % open(os.path.join(t.tmp, "plain.log")).read()[-500:])
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        r = t.request("GET", "/v1/health", who=None, conn=c)
        c.close()
        t.expect(r.status == 200, "plain HTTP on loopback: %r" % r)
        tok = t.new_token("plain", state=good)
        cp = t.cli(["exec", "--node", "http://127.0.0.1:%d" % port, "--token", tok, "--", "echo", "plain"])
        t.expect(cp.returncode == 0 and cp.stdout == b"plain\n", "airlock exec over plain loopback HTTP: %r" % (cp,))
    finally:
        rc = t.stop_node(p)
    t.expect(rc == 0, "the plaintext node exited with %r" % rc)


def t_cli(t):
    node = "unix:" + t.sock
    tok = t.tokens["alice"]

    def ax(args, input=b"", env=None):
        return t.cli(["exec", "--node", node] + args, input=input, env=env)

    p = ax(["--token", tok, "--env", "E2E_MARK=" + t.marker, "--", "sh", "-c", "echo out; echo err >&2; exit 7"])
    t.expect(p.returncode == 7 and p.stdout == b"out\n" and p.stderr == b"err\n", "exit 7: %r" % (p,))
    p = ax(["--token", tok, "--", "sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.05; done"])
    t.expect(p.returncode == 0 and p.stdout == b"1\n2\n3\n", "streamed lines: %r" % (p,))
    p = ax(["--token", tok, "--no-stream", "--", "sh", "-c", "echo a; echo b >&2; exit 2"])
    t.expect(p.returncode == 2 and p.stdout == b"a\n" and p.stderr == b"b\n", "--no-stream: %r" % (p,))
    p = ax(["--token", tok, "--", "cat"], input=b"from stdin\x00\xff")
    # streamed output is UTF-8: the invalid byte becomes U+FFFD
    t.expect(p.returncode == 0 and p.stdout == "from stdin\x00\ufffd".encode(), "stdin: %r" % (p,))
    p = ax(["--token", tok, "--env", "FOO=bar", "--cwd", "/tmp", "--", "sh", "-c", 'echo "$FOO $(pwd)"'])
    t.expect(p.returncode == 0 and p.stdout == b"bar /tmp\n", "--env/--cwd: %r" % (p,))
    p = ax(["--token", tok, "--shell", "--", "echo $((2+3))"])
    t.expect(p.returncode == 0 and p.stdout == b"5\n", "--shell: %r" % (p,))
    p = ax(["--", "echo", "env-token"], env={"AIRLOCK_TOKEN": tok})
    t.expect(p.returncode == 0 and p.stdout == b"env-token\n", "AIRLOCK_TOKEN: %r" % (p,))
    t0 = time.monotonic()
    p = ax(["--token", tok, "--timeout", "0.5", "--", "sleep", "5"])
    t.expect(p.returncode == 124 and b"timed out" in p.stderr, "--timeout 0.5: %r" % (p,))
    t.expect(time.monotonic() - t0 < 4, "--timeout 0.5 took %.1f s" % (time.monotonic() - t0))
    p = ax(["--token", tok, "--memory", "64m", "--", "tail", "/dev/zero"])
    t.expect(p.returncode == 137 and b"memory" in p.stderr, "--memory 64m hog: %r" % (p,))
    p = ax(["--token", tok, "--", "/nonexistent/prog"])
    t.expect(p.returncode == 127, "not found: %r" % (p,))
    p = ax(["--token", "node_tok_" + "B" * 43, "--", "echo", "hi"])
    t.expect(p.returncode == 125 and p.stdout == b"" and b"401" in p.stderr, "wrong token: %r" % (p,))
    p = ax(["--token", tok, "--timeout", "99999", "--", "true"])
    t.expect(p.returncode == 125 and b"403" in p.stderr, "timeout above the node's maximum: %r" % (p,))
    p = t.cli(["exec", "--node", "unix:" + os.path.join(t.tmp, "no-such.sock"), "--token", tok, "--", "true"])
    t.expect(p.returncode == 125, "unreachable node: %r" % (p,))
    # (--no-stream: streaming over TLS is t_tls_stream's)
    p = t.cli(["exec", "--no-stream", "--node", "https://127.0.0.1:%d" % t.tls_port, "--tls-ca",
               os.path.join(t.tls, "ca.pem"), "--token", tok, "--", "echo", "https"])
    t.expect(p.returncode == 0 and p.stdout == b"https\n", "over https: %r" % (p,))
    p = t.cli(["exec", "--node", "https://127.0.0.1:%d" % t.tls_port, "--tls-ca", os.path.join(t.tls, "rogue.pem"),
               "--token", tok, "--", "echo", "https"])
    t.expect(p.returncode == 125 and p.stdout == b"", "https with the wrong CA: %r" % (p,))
    sb = t.sandbox()
    try:
        p = ax(["--token", tok, "--sandbox", sb, "--", "sh", "-c", "echo kept > /workspace/k"])
        t.expect(p.returncode == 0, "--sandbox write: %r" % (p,))
        p = ax(["--token", tok, "--sandbox", sb, "--", "cat", "/workspace/k"])
        t.expect(p.returncode == 0 and p.stdout == b"kept\n", "--sandbox read: %r" % (p,))
        p = ax(["--token", t.tokens["bob"], "--sandbox", sb, "--", "true"])
        t.expect(p.returncode == 125 and b"404" in p.stderr, "bob --sandbox alice's: %r" % (p,))
    finally:
        t.destroy(sb)
    p = ax(["--token", tok, "--", "sh", "-c", "env; cat /proc/*/environ | tr '\\0' '\\n'"])
    t.expect(p.returncode == 0 and t.secret.encode() not in p.stdout + p.stderr, "airlock exec: secret visible")


TESTS = [
    ("health and metrics answer without a token", t_health),
    ("missing, wrong and revoked tokens answer 401; revoke applies to the next request", t_auth),
    ("non-streaming exec: output, exit code, stdin, stdin_base64, env, cwd, command", t_exec_basic),
    ("streaming exec: NDJSON order, interleaved stderr, exit record last", t_stream),
    ("streaming keeps a UTF-8 character written in two parts", t_stream_utf8_split),
    ("streaming client disconnect kills the command (unless detach_on_disconnect)", t_stream_disconnect),
    ("silent streams are cut at io_timeout_s; detach_on_disconnect and --no-stream run to the end", t_stream_silent),
    ("tenant isolation: another tenant's sandboxes, execs and files answer 404", t_tenants),
    ("cancellation: DELETE /v1/execs/{id} and signal TERM", t_cancel),
    ("50 concurrent execs all succeed (429 with Retry-After, retried)", t_concurrency),
    ("limits and maxima through the API; 400 naming the field; 413; 405 and 431 in JSON", t_limits),
    ("persistent sandbox: shared state, files API, destroy, host workspaces", t_sandbox_lifecycle),
    ("a sandbox that cannot be set up answers 500 and leaves nothing", t_workspace_setup_error),
    ("idle_timeout_s and max_age_s expire sandboxes", t_sandbox_expiry),
    ("GET /v1/execs/{id} after the exec's sandbox is gone", t_exec_after_sandbox_gone),
    ("files API refuses traversal and symlinks out of the workspace", t_traversal),
    ("no node secret, state dir or socket inside sandboxes; not host root", t_secrets),
    ("TLS on loopback; mutual TLS on a second node", t_tls),
    ("streaming over TLS always ends with the exit record (40 API streams, 10 airlock exec)", t_tls_stream),
    ("restart after SIGKILL: processes gone, exec interrupted, workspace and cgroups removed", t_restart),
    ("the node refuses a 0755 state dir and non-loopback plaintext", t_refuse),
    ("airlock exec end to end: output, exit codes 124/137/125, TLS, --sandbox", t_cli),
]


def node_alive(t):
    try:
        with open("/proc/%d/stat" % t.node_pid()) as f:
            return not f.read().rpartition(") ")[2].startswith(("Z", "X"))
    except (OSError, ValueError):
        return False


def log_size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def sanitizer_since(path, offset):
    """True when the node's log has a sanitizer report after offset."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            text = f.read()
    except OSError:
        return False
    return any(m in text for m in (b"ERROR: AddressSanitizer", b"ERROR: LeakSanitizer", b"runtime error:"))


def log_excerpt(path, offset=0):
    """The sanitizer report in the node's log if there is one, else its end."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            lines = f.read().decode(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    for i in range(len(lines) - 1, -1, -1):
        if "ERROR: AddressSanitizer" in lines[i] or "ERROR: LeakSanitizer" in lines[i] or "runtime error:" in lines[i]:
            return "\n".join(lines[max(0, i - 3):i + 14])
    return "\n".join(lines[-15:])


def revive(t):
    """After the node died: a new one on the same state dir, so that the
    following tests still say something."""
    p = t.start_node(t.node_cmd, t.state, t.args.node_log, t.args.ready_file)
    if not t.wait_ready(p, t.args.ready_file):
        return False
    with open(t.args.pid_file, "w") as f:
        f.write("%d\n" % p.pid)
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--sock", required=True)
    ap.add_argument("--tls-port", type=int, required=True)
    ap.add_argument("--marker", required=True)
    ap.add_argument("--pid-file", required=True)
    ap.add_argument("--pids-file", required=True)
    ap.add_argument("--ready-file", required=True)
    ap.add_argument("--node-log", required=True)
    ap.add_argument("--only", default="", help="comma-separated test numbers or function name fragments")
    ap.add_argument("--counts-file", help="write 'PASSED FAILED LAST_NUMBER' here instead of printing the summary")
    ap.add_argument("node_cmd", nargs=argparse.REMAINDER, help="-- the node's arguments (after 'airlock node')")
    args = ap.parse_args()
    if args.node_cmd and args.node_cmd[0] == "--":
        args.node_cmd = args.node_cmd[1:]
    t = Ctx(args)
    only = [x.strip() for x in args.only.split(",") if x.strip()]
    passed = failed = last = 0
    for i, (name, fn) in enumerate(TESTS, 1):
        if only and not any(o == str(i) or (not o.isdigit() and o in fn.__name__) for o in only):
            continue
        t.problems, t.notes = [], []
        last = i
        log_at = log_size(args.node_log)
        t0 = time.monotonic()
        try:
            fn(t)
        except Failure:
            pass
        except Exception:
            t.problems.append("exception: " + traceback.format_exc())
        dt = time.monotonic() - t0
        if sanitizer_since(args.node_log, log_at):
            # a sanitizer aborts the node after writing its report: wait for it
            t.wait_until(lambda: not node_alive(t), 30, step=0.1)
        if not node_alive(t):
            t.problems.append("the node died during this test; its log says:\n" + log_excerpt(args.node_log, log_at))
            if not revive(t):
                t.problems.append("and it could not be restarted")
        if t.problems:
            failed += 1
            print("not ok %d - %s (%.1fs)" % (i, name, dt))
            for p in t.problems:
                for line in str(p).splitlines():
                    print("#   " + line)
        else:
            passed += 1
            print("ok %d - %s (%.1fs)" % (i, name, dt))
        for n in t.notes:
            print("#   note: " + n)
        sys.stdout.flush()
    if args.counts_file:
        with open(args.counts_file, "w") as f:
            f.write("%d %d %d\n" % (passed, failed, last))
    else:
        print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
