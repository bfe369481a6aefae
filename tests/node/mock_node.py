#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""mock_node.py - a stand-in for `airlock node` that speaks the subset of
docs/api.md the client uses, so the client and `airlock exec` can be tested
without the daemon (and without running anything in a sandbox).

It listens on a unix socket and on loopback TCP (127.0.0.1, and ::1 when the
host has it; optionally HTTPS, and HTTPS that requires a client
certificate), checks the bearer token, validates exec bodies as strictly as
the documented contract (unknown or mistyped fields are 400), and answers
from a script keyed by argv[0] (see SCRIPTED below); other commands run on
the host with a 10 s limit.  Streamed answers are chunked with deliberately
awkward chunk sizes: records split across chunks (even inside a UTF-8
character) and several records in one chunk.

Every request is written, as JSON, to --record (the last one) and appended
to --log (all of them, with the connection it came on).

Python 3 standard library only.
"""
import argparse
import base64
import binascii
import json
import os
import signal
import socket
import socketserver
import ssl
import subprocess
import shutil
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler

EXEC_FIELDS = {"argv", "command", "cwd", "env", "stdin", "stdin_base64", "timeout_ms", "limits", "stream",
               "max_output_bytes", "detach_on_disconnect", "approval", "approval_id"}
LIMIT_FIELDS = {"memory", "cpus", "pids", "disk"}
SANDBOX_FIELDS = {"workspace", "workspace_access", "limits", "labels", "idle_timeout_s", "max_age_s"}
# chunk sizes cycled over a streamed body: small ones split records (and
# multi-byte characters), large ones carry several records at once
CHUNK_SIZES = [7, 1, 1, 50, 3, 200, 2, 500, 13, 1, 4096, 5]


class HttpError(Exception):
    def __init__(self, status, code, message, headers=None, raw=None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}
        self.raw = raw


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def bad(message):
    return HttpError(400, "bad_request", message)


def validate_exec(body, in_sandbox):
    if not isinstance(body, dict):
        raise bad("body must be a JSON object")
    for key in body:
        if key not in EXEC_FIELDS:
            raise bad("unknown field '%s'" % key)
    if ("argv" in body) == ("command" in body):
        raise bad("exactly one of 'argv' and 'command' is required")
    if "argv" in body:
        argv = body["argv"]
        if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
            raise bad("field 'argv' must be a non-empty array of strings")
    if "command" in body and (not isinstance(body["command"], str) or not body["command"]):
        raise bad("field 'command' must be a non-empty string")
    if "cwd" in body and (not isinstance(body["cwd"], str) or not body["cwd"].startswith("/")):
        raise bad("field 'cwd' must be an absolute path")
    if "env" in body:
        env = body["env"]
        if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
            raise bad("field 'env' must be an object of strings")
    if "stdin" in body and "stdin_base64" in body:
        raise bad("give 'stdin' or 'stdin_base64', not both")
    if "stdin" in body and not isinstance(body["stdin"], str):
        raise bad("field 'stdin' must be a string")
    if "stdin_base64" in body:
        try:
            base64.b64decode(body["stdin_base64"], validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise bad("field 'stdin_base64' must be base64")
    for key in ("timeout_ms", "max_output_bytes"):
        if key in body and (not is_int(body[key]) or body[key] <= 0):
            raise bad("field '%s' must be a positive integer" % key)
    for key in ("stream", "detach_on_disconnect"):
        if key in body and not isinstance(body[key], bool):
            raise bad("field '%s' must be true or false" % key)
    if "approval" in body and body["approval"] not in ("wait", "poll"):
        raise bad("field 'approval' must be \"wait\" or \"poll\"")
    if body.get("detach_on_disconnect") and not body.get("stream"):
        raise bad("field 'detach_on_disconnect' is for streaming only")
    if "limits" in body:
        validate_limits(body["limits"])
        if in_sandbox:
            raise bad("field 'limits' applies to fresh sandboxes only")


def validate_limits(limits):
    if not isinstance(limits, dict):
        raise bad("field 'limits' must be an object")
    for key, v in limits.items():
        if key not in LIMIT_FIELDS:
            raise bad("unknown field 'limits.%s'" % key)
        ok = {"memory": is_int(v) or isinstance(v, str), "disk": is_int(v) or isinstance(v, str),
              "cpus": isinstance(v, (int, float)) and not isinstance(v, bool), "pids": is_int(v)}[key]
        if not ok:
            raise bad("field 'limits.%s' has the wrong type" % key)


def result(exit_code=0, signal_=0, timed_out=False, oom_killed=False, truncated=False, error=None):
    return {"exit_code": exit_code, "signal": signal_, "timed_out": timed_out, "oom_killed": oom_killed,
            "success": exit_code == 0 and not timed_out and not oom_killed, "truncated": truncated,
            "wall_ms": 12, "cpu_user_ms": 3, "cpu_sys_ms": 2, "max_rss_kb": 1460, "error": error}


def run_for_real(argv, command, stdin, env, cwd):
    cmd = ["/bin/sh", "-c", command] if command is not None else argv
    full_env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
    full_env.update(env)
    try:
        p = subprocess.run(cmd, input=stdin, capture_output=True, env=full_env, cwd=cwd, timeout=10)
    except FileNotFoundError:
        return [], result(127, error="cannot execute '%s': No such file or directory" % cmd[0])
    except subprocess.TimeoutExpired as e:
        return [("stdout", e.stdout or b"")], result(124, 9, timed_out=True)
    code = p.returncode if p.returncode >= 0 else 128 - p.returncode
    return [("stdout", p.stdout), ("stderr", p.stderr)], result(code, -p.returncode if p.returncode < 0 else 0)


def scripted(argv, command, stdin, env, cwd):
    """(records, result) for a command; records are (stream, bytes)."""
    name = argv[0] if argv else None
    if name == "busy":
        raise HttpError(429, "over_capacity", "node is at its concurrency limit (8 running)",
                        headers={"Retry-After": "7"})
    if name == "busy-date":  # Retry-After as an HTTP-date, 30 s from now
        when = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
        raise HttpError(429, "over_capacity", "tenant is at its concurrency limit", headers={"Retry-After": when})
    if name == "forbidden":
        raise HttpError(403, "forbidden", "timeout_ms 9999999 is above the node maximum of 600000")
    if name == "crash":
        raise HttpError(500, "internal", "sandbox setup failed: cannot mount /proc: Permission denied")
    if name == "crash-html":  # an error that is not the documented JSON shape
        raise HttpError(502, None, None, raw=b"<html>\x1b[31mBad Gateway</html>\n")
    if name == "timeout":
        return [("stdout", b"started\n")], result(124, 9, timed_out=True)
    if name == "oom":
        return [("stderr", b"allocating\n")], result(137, 9, oom_killed=True)
    if name == "exit":
        code = int(argv[1])
        return [("stderr", b"exit %d\n" % code)], result(code)
    if name == "notfound":
        return [], result(127, error="cannot execute 'notfound': No such file or directory")
    if name == "escape":
        return [], result(1, error="bad \x1b[31mthing\x1b[0m\nsecond line \u009b31m")
    if name == "unicode":
        return [("stdout", "h\u00e9llo w\u00f6rld \u2713 \U0001F600\n".encode())], result(0)
    if name == "nul":
        return [("stdout", b"a\x00b\n")], result(0)
    if name == "many":
        recs = []
        for i in range(int(argv[1])):
            recs.append(("stdout", b"o%d\n" % i))
            recs.append(("stderr", b"e%d\n" % i))
        return recs, result(0)
    if name == "big":
        n = int(argv[1])
        data = (b"0123456789abcdef" * (n // 16 + 1))[:n]
        return [("stdout", data[i:i + 65536]) for i in range(0, n, 65536)], result(0)
    if name == "slow":  # two records 0.5 s apart (the streaming writer sleeps)
        return [("stdout", b"first\n"), ("stdout", b"second\n")], result(0)
    if name in ("hugeline", "noexit", "garbage"):
        return [("stdout", b"x")], result(0)  # the streaming writer special-cases them
    return run_for_real(argv, command, stdin, env, cwd)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mock-airlock-node/1"

    def setup(self):
        super().setup()
        self.conn_id = self.server.mock.next_conn()
        self.conn_seq = 0

    def log_message(self, fmt, *args):  # quiet; the log file has what matters
        pass

    # -- plumbing --------------------------------------------------------
    def send_json(self, status, obj, headers=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def send_error_json(self, e):
        if e.raw is not None:
            self.send_response(e.status)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(e.raw)))
            self.end_headers()
            self.wfile.write(e.raw)
            return
        self.send_json(e.status, {"error": {"code": e.code, "message": e.message}}, e.headers)

    def send_empty(self, status):
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def read_body(self):
        if self.headers.get("Transfer-Encoding"):
            raise HttpError(411, "bad_request", "chunked request bodies are not accepted")
        n = int(self.headers.get("Content-Length") or 0)
        if n > self.server.mock.max_body:
            left = n  # read it anyway, so the client is not cut off mid-send and sees the answer
            while left > 0:
                got = self.rfile.read(min(left, 1 << 20))
                if not got:
                    break
                left -= len(got)
            self.close_connection = True
            raise HttpError(413, "too_large", "body of %d bytes is above the limit of %d" % (n, self.server.mock.max_body))
        return self.rfile.read(n) if n else b""

    def record(self, raw):
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = {"unparsed": raw.decode("latin-1")}
        self.conn_seq += 1
        rec = {"method": self.command, "path": self.path, "body": body, "conn": self.conn_id, "seq": self.conn_seq,
               "authorization": self.headers.get("Authorization"), "content_type": self.headers.get("Content-Type"),
               "expect": self.headers.get("Expect")}
        self.server.mock.write_record(rec)

    # -- routes ----------------------------------------------------------
    def dispatch(self):
        raw = b""
        try:
            if self.command in ("POST", "PUT", "PATCH", "DELETE"):
                raw = self.read_body()
            self.record(raw)
            path = self.path.split("?", 1)[0]
            if path == "/v1/health" and self.command == "GET":
                return self.send_json(200, {"status": "ok", "ready": True, "version": "mock", "degraded": [],
                                            "sandboxes": len(self.server.mock.sandboxes), "execs_running": 0,
                                            "pool": {"ready": 0, "target": 0}})
            if self.headers.get("Authorization") != "Bearer " + self.server.mock.token:
                raise HttpError(401, "unauthorized", "missing, unknown or revoked token")
            parts = path.strip("/").split("/")
            if parts == ["v1", "exec"] and self.command == "POST":
                return self.exec_(self.json_body(raw), None)
            if parts == ["v1", "sandboxes"] and self.command == "POST":
                return self.create_sandbox(self.json_body(raw))
            if len(parts) >= 3 and parts[:2] == ["v1", "sandboxes"]:
                sid = parts[2]
                if sid not in self.server.mock.sandboxes:
                    raise HttpError(404, "not_found", "no sandbox '%s'" % sid)
                if len(parts) == 3 and self.command == "DELETE":
                    del self.server.mock.sandboxes[sid]
                    shutil.rmtree(os.path.join(self.server.mock.workdir, sid), ignore_errors=True)
                    return self.send_empty(204)
                if len(parts) == 3 and self.command == "GET":
                    return self.send_json(200, self.server.mock.sandboxes[sid])
                if parts[3:] == ["exec"] and self.command == "POST":
                    return self.exec_(self.json_body(raw), sid)
            raise HttpError(404, "not_found", "no route %s %s" % (self.command, path))
        except HttpError as e:
            self.send_error_json(e)
        except (BrokenPipeError, ConnectionResetError):
            self.server.mock.write_log({"event": "disconnected", "conn": self.conn_id})
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = dispatch

    def json_body(self, raw):
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
            raise bad("Content-Type must be application/json")
        try:
            return json.loads(raw)
        except ValueError as e:
            raise bad("malformed JSON: %s" % e)

    def create_sandbox(self, body):
        if not isinstance(body, dict) or any(k not in SANDBOX_FIELDS for k in body):
            raise bad("unknown field in sandbox request")
        if "limits" in body:
            validate_limits(body["limits"])
        mock = self.server.mock
        with mock.lock:
            mock.sandbox_seq += 1
            sid = "sb_mock%d" % mock.sandbox_seq
        sb = {"id": sid, "state": "ready", "created_at": int(time.time()), "labels": body.get("labels", {}),
              "limits": body.get("limits", {}), "idle_timeout_s": body.get("idle_timeout_s", 600),
              "max_age_s": body.get("max_age_s", 3600)}
        mock.sandboxes[sid] = sb
        self.send_json(201, sb)

    def exec_(self, body, sandbox):
        validate_exec(body, sandbox is not None)
        mock = self.server.mock
        with mock.lock:
            mock.exec_seq += 1
            exec_id = "ex_mock%d" % mock.exec_seq
        stdin = b""
        if "stdin_base64" in body:
            stdin = base64.b64decode(body["stdin_base64"])
        elif "stdin" in body:
            stdin = body["stdin"].encode()
        argv, command = body.get("argv"), body.get("command")
        # a command run for real gets a directory of its own (the sandbox's,
        # kept between its execs) as its working directory
        cwd = mock.sandbox_dir(sandbox) if sandbox else tempfile.mkdtemp(dir=mock.workdir)
        records, res = scripted(argv, command, stdin, body.get("env", {}), cwd)
        res["exec_id"] = exec_id
        if body.get("stream"):
            return self.stream(exec_id, argv[0] if argv else None, records, res)
        limit = body.get("max_output_bytes", 200000)
        out = {"stdout": b"", "stderr": b""}
        used = 0
        for kind, data in records:
            take = data[:max(0, limit - used)]
            used += len(take)
            out[kind] += take
            if len(take) < len(data):
                res["truncated"] = True
        res["stdout"] = out["stdout"].decode("utf-8", "replace")
        res["stderr"] = out["stderr"].decode("utf-8", "replace")
        self.send_json(200, res)

    def stream(self, exec_id, name, records, res):
        lines = [{"type": "started", "exec_id": exec_id}]
        lines += [{"type": kind, "data": data.decode("utf-8", "replace")} for kind, data in records if data]
        lines.append({"type": "future_record_type", "note": "clients must skip this"})
        if name == "hugeline":
            lines.append({"type": "stdout", "data": "y" * (5 << 20)})
        if name != "noexit":
            lines.append(dict(res, type="exit"))
        text = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
        if name == "garbage":
            text = text.replace(b"\n", b"\nthis is not json\n", 1)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if name == "slow":
            first, rest = text.split(b"\n", 2)[:2], text.split(b"\n", 2)[2]
            head = b"\n".join(first) + b"\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(head), head))
            self.wfile.flush()
            time.sleep(0.5)
            text = rest
        pos, i = 0, 0
        pause = len(text) < 64 << 10
        while pos < len(text):
            n = CHUNK_SIZES[i % len(CHUNK_SIZES)]
            chunk = text[pos:pos + n]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.flush()
            pos += n
            i += 1
            if pause:
                time.sleep(0.002)  # separate reads on the client side
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class Mock:
    def __init__(self, args):
        self.token = args.token
        self.record_path = args.record
        self.log_path = args.log
        self.max_body = args.max_body
        self.lock = threading.Lock()
        self.conn_seq = self.exec_seq = self.sandbox_seq = 0
        self.sandboxes = {}
        self.workdir = tempfile.mkdtemp(prefix="mock-node.")

    def sandbox_dir(self, sid):
        path = os.path.join(self.workdir, sid)
        os.makedirs(path, exist_ok=True)
        return path

    def next_conn(self):
        with self.lock:
            self.conn_seq += 1
            return self.conn_seq

    def write_record(self, rec):
        with self.lock:
            if self.record_path:
                tmp = self.record_path + ".tmp"
                with open(tmp, "w") as f:
                    json.dump(rec, f)
                os.replace(tmp, self.record_path)
        self.write_log(rec)

    def write_log(self, rec):
        if not self.log_path:
            return
        with self.lock, open(self.log_path, "a") as f:
            f.write(json.dumps(rec) + "\n")


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self):
        conn, _ = super().get_request()
        return conn, ("unix", 0)  # BaseHTTPRequestHandler wants an address tuple


class TCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


class TCP6Server(TCPServer):
    address_family = socket.AF_INET6


class TLSServer(TCPServer):
    """HTTPS on 127.0.0.1; the handshake runs in the connection's thread."""

    def __init__(self, addr, handler, context):
        self.context = context
        super().__init__(addr, handler)

    def get_request(self):
        conn, addr = super().get_request()
        return self.context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False), addr

    def finish_request(self, request, client_address):
        try:
            request.do_handshake()
        except (ssl.SSLError, OSError):
            return  # a client that does not trust us, or has no certificate
        super().finish_request(request, client_address)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--unix", required=True, help="socket path to listen on")
    ap.add_argument("--port-file", required=True, help="gets the 127.0.0.1 port")
    ap.add_argument("--port6-file", help="gets the [::1] port, when ::1 is usable")
    ap.add_argument("--token", required=True)
    ap.add_argument("--record", help="the last request, as JSON")
    ap.add_argument("--log", help="every request, one JSON per line")
    ap.add_argument("--ready-file", help="created once every listener is up")
    ap.add_argument("--tls-cert", help="server certificate: also serve https on 127.0.0.1")
    ap.add_argument("--tls-key", help="its key")
    ap.add_argument("--https-port-file", help="gets the https port")
    ap.add_argument("--client-ca", help="also serve https that requires a client certificate signed by this")
    ap.add_argument("--mtls-port-file", help="gets the port of that mutual-TLS listener")
    ap.add_argument("--sandbox", action="append", default=[], help="a sandbox id that exists from the start")
    ap.add_argument("--max-body", type=int, default=1 << 20, help="413 above this (default 1 MiB, as the node)")
    args = ap.parse_args()

    mock = Mock(args)
    for sid in args.sandbox:
        mock.sandboxes[sid] = {"id": sid, "state": "ready", "labels": {}, "limits": {}}
    if os.path.exists(args.unix):
        os.unlink(args.unix)
    servers = [UnixServer(args.unix, Handler)]
    os.chmod(args.unix, 0o600)
    servers.append(TCPServer(("127.0.0.1", 0), Handler))
    with open(args.port_file, "w") as f:
        f.write("%d\n" % servers[-1].server_address[1])
    if args.port6_file:
        try:
            servers.append(TCP6Server(("::1", 0), Handler))
            with open(args.port6_file, "w") as f:
                f.write("%d\n" % servers[-1].server_address[1])
        except OSError:
            pass
    if args.tls_cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        servers.append(TLSServer(("127.0.0.1", 0), Handler, ctx))
        with open(args.https_port_file, "w") as f:
            f.write("%d\n" % servers[-1].server_address[1])
        if args.client_ca:
            mctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            mctx.load_cert_chain(args.tls_cert, args.tls_key)
            mctx.verify_mode = ssl.CERT_REQUIRED
            mctx.load_verify_locations(args.client_ca)
            servers.append(TLSServer(("127.0.0.1", 0), Handler, mctx))
            with open(args.mtls_port_file, "w") as f:
                f.write("%d\n" % servers[-1].server_address[1])
    for s in servers:
        s.mock = mock
        threading.Thread(target=s.serve_forever, daemon=True).start()
    if args.ready_file:
        open(args.ready_file, "w").close()

    def stop(signum, frame):
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while True:
            signal.pause()
    finally:
        shutil.rmtree(mock.workdir, ignore_errors=True)
        try:
            os.unlink(args.unix)
        except OSError:
            pass


if __name__ == "__main__":
    sys.exit(main())
