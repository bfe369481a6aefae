#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""openclaw_fake_gateway.py - airlock's node against a fake OpenClaw gateway
that sends what the real one never does: malformed JSON, wrong types, huge
frames, unknown events, invokes with missing fields, binary frames, a close
in the middle of an invoke.  The node must answer an error result wherever
the invoke has an id, log and count the rest, never crash, and stay
connected or reconnect (with backoff) and serve again.

A minimal WebSocket server (RFC 6455, server side, written for this test),
standard library only.  Prints TAP; the last line is "N passed, N failed".

Usage: openclaw_fake_gateway.py AIRLOCK_BINARY WORK_DIR
"""
import base64
import hashlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time

BIN, WORK = sys.argv[1], sys.argv[2]
TOKEN = "-fake-shared-token_" + os.urandom(6).hex()  # a leading '-' on purpose
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
n = passed = failed = 0


def result(name, good, detail=""):
    global n, passed, failed
    n += 1
    if good:
        passed += 1
        print(f"ok {n} - {name}", flush=True)
    else:
        failed += 1
        print(f"not ok {n} - {name}", flush=True)
        for line in str(detail).splitlines()[-30:]:
            print(f"#   {line}", flush=True)


class Closed(Exception):
    pass


class Conn:
    """One accepted WebSocket connection from the node."""

    def __init__(self, sock):
        self.s = sock
        self.buf = b""

    def _read(self, k, deadline):
        while len(self.buf) < k:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no frame from the node")
            self.s.settimeout(left)
            try:
                chunk = self.s.recv(65536)
            except (ConnectionResetError, BrokenPipeError) as e:
                raise Closed(str(e))
            if not chunk:
                raise Closed("EOF")
            self.buf += chunk
        out, self.buf = self.buf[:k], self.buf[k:]
        return out

    def handshake(self, timeout=10):
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no upgrade request from the node")
            self.s.settimeout(left)
            chunk = self.s.recv(4096)
            if not chunk:
                raise Closed("EOF before the upgrade")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        key = None
        for line in head.decode("latin-1").split("\r\n")[1:]:
            k, _, v = line.partition(":")
            if k.strip().lower() == "sec-websocket-key":
                key = v.strip()
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        self.s.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        f"Sec-WebSocket-Accept: {accept}\r\n\r\n").encode())

    def send_raw(self, opcode, payload, fin=True, length=None):
        length = len(payload) if length is None else length
        b0 = (0x80 if fin else 0) | opcode
        if length < 126:
            head = struct.pack("!BB", b0, length)
        elif length < 65536:
            head = struct.pack("!BBH", b0, 126, length)
        else:
            head = struct.pack("!BBQ", b0, 127, length)
        self.s.sendall(head + payload)

    def send(self, obj):
        text = obj if isinstance(obj, (str, bytes)) else json.dumps(obj)
        self.send_raw(0x1, text.encode() if isinstance(text, str) else text)

    def recv(self, timeout=10):
        """the next text message as JSON (pings answered, close raises Closed)"""
        deadline = time.monotonic() + timeout
        while True:
            b0, b1 = self._read(2, deadline)
            length = b1 & 0x7F
            if length == 126:
                length = struct.unpack("!H", self._read(2, deadline))[0]
            elif length == 127:
                length = struct.unpack("!Q", self._read(8, deadline))[0]
            mask = self._read(4, deadline) if b1 & 0x80 else b"\0\0\0\0"
            data = bytes(c ^ mask[i % 4] for i, c in enumerate(self._read(length, deadline)))
            op = b0 & 0x0F
            if op == 0x8:
                raise Closed("close %s" % (struct.unpack("!H", data[:2])[0] if len(data) >= 2 else "-"))
            if op == 0x9:
                self.send_raw(0xA, data)
            elif op == 0x1:
                return json.loads(data)

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def until_closed(c, timeout):
    """reads until the node closes: "close CODE" (a close frame), "EOF", or the error; closes our side"""
    try:
        while True:
            c.recv(timeout)
    except Closed as e:
        why = str(e)
    except Exception as e:  # noqa: BLE001
        why = repr(e)
    c.close()
    return why


def closed_with(why, code, log):
    """the node failed the connection with CODE: a close frame, or the socket shut before it got out"""
    return (why == f"close {code}" or why == "EOF" or "reset" in why) and f"(code {code})" in log


def http_get(sock_path, path):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(sock_path)
    s.sendall(f"GET {path} HTTP/1.0\r\nHost: n\r\n\r\n".encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return data.split(b"\r\n\r\n", 1)[1].decode()


def main():
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(4)
    port = lsock.getsockname()[1]
    state = os.path.join(WORK, "state")
    os.makedirs(state, mode=0o700, exist_ok=True)
    sock_path = os.path.join(WORK, "node.sock")
    cfg = os.path.join(WORK, "node.json")
    with open(cfg, "w") as f:
        json.dump({"autonomy": {"level": "full"}, "approvalGating": {"enabled": False}}, f)
    log = open(os.path.join(WORK, "node.log"), "w")
    node = subprocess.Popen([BIN, "node", "--config", cfg, "--state-dir", state, "--listen", "unix:" + sock_path,
                             "--pool", "0", "--openclaw-gateway", f"ws://127.0.0.1:{port}", "--openclaw-name", "fake",
                             "--openclaw-token", TOKEN], stdout=log, stderr=subprocess.STDOUT)
    node_log = lambda: open(os.path.join(WORK, "node.log")).read()  # noqa: E731
    seq = [0]

    def accept(timeout=15):
        lsock.settimeout(timeout)
        s, _ = lsock.accept()
        c = Conn(s)
        c.handshake()
        return c

    def hello(c):
        """challenge, connect, hello-ok; returns the connect params"""
        c.send({"type": "event", "event": "connect.challenge", "payload": {"nonce": os.urandom(8).hex(),
                                                                            "ts": int(time.time() * 1000)}})
        req = c.recv()
        assert req.get("method") == "connect", req
        c.send({"type": "res", "id": req["id"], "ok": True,
                "payload": {"type": "hello-ok", "protocol": 4, "policy": {"tickIntervalMs": 30000},
                            "auth": {"deviceToken": "-dev-token-" + os.urandom(4).hex()}}})
        return req["params"]

    def invoke(c, command, params, iid=None, raw_params=None):
        seq[0] += 1
        iid = iid or f"inv-{seq[0]}"
        c.send({"type": "event", "event": "node.invoke.request",
                "payload": {"id": iid, "nodeId": dev_id, "command": command,
                            "paramsJSON": raw_params if raw_params is not None else json.dumps(params),
                            "timeoutMs": 30000}})
        return iid

    def wait_result(c, iid, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            m = c.recv(max(0.1, deadline - time.monotonic()))
            if m.get("method") == "node.invoke.result" and m["params"].get("id") == iid:
                c.send({"type": "res", "id": m["id"], "ok": True, "payload": {}})
                return m["params"]
            if m.get("type") == "req":  # exec.finished and the like
                c.send({"type": "res", "id": m["id"], "ok": True, "payload": {}})

    def alive_and_connected(c, what):
        """a well-formed system.which still gets its answer on this connection"""
        try:
            iid = invoke(c, "system.which", {"bins": ["sh"]})
            r = wait_result(c, iid, 10)
            good = r.get("ok") is True and node.poll() is None
        except Exception as e:  # noqa: BLE001
            r, good = repr(e), False
        result(what, good, f"{r}\n{node_log()}")

    try:
        c = accept()
        params = hello(c)
        dev_id = params["device"]["id"]
        result("handshake: connect with role node, the shared token and a device proof",
               params.get("role") == "node" and params["auth"].get("token") == TOKEN and
               len(params["device"].get("signature", "")) == 86 and "system.run.prepare" in params.get("commands", []),
               json.dumps(params))

        # --- frames that are not the protocol: logged and counted, nothing answered
        for junk in ['{"type":', "", "[]", "null", '"text"', "42", '{"type":"event"}', '{"type":7,"event":"x"}',
                     '{"type":"event","event":5,"payload":{}}', '{"type":"res","id":"nope","ok":"yes"}',
                     '{"type":"res","id":"al999:unknown","ok":true,"payload":{}}', '{"type":"what","id":"x"}',
                     '{"type":"event","event":"node.invoke.request","payload":{"id":"x","paramsJSON":"\\u0000"}}']:
            c.send(junk)
        alive_and_connected(c, "malformed JSON, non-objects, wrong types: still connected and serving")

        # a text frame that is not UTF-8: RFC 6455 says fail the connection (1007); the node reconnects
        c.send(b'{"type":"event","event":"\xff\xfe"}')
        t0 = time.monotonic()
        why = until_closed(c, 10)
        result(f"a text frame that is not UTF-8: the node closes ({why})", closed_with(why, 1007, node_log())
               and node.poll() is None,
               node_log())
        c = accept(30)
        hello(c)
        alive_and_connected(c, f"... reconnects ({time.monotonic() - t0:.1f} s) and serves")

        c.send({"type": "event", "event": "some.future.event", "payload": {"x": [1, 2, 3]}})
        c.send({"type": "event", "event": "tick", "payload": {"ts": 1}})
        c.send({"type": "event", "event": "connect.challenge", "payload": {"nonce": "again", "ts": 1}})
        c.send({"type": "event", "event": "node.invoke.cancel", "payload": {"invokeId": "never-started"}})
        c.send({"type": "event", "event": "node.invoke.cancel", "payload": "not an object"})
        alive_and_connected(c, "unknown events, a second challenge, cancels of nothing: ignored")

        c.send_raw(0x2, b'{"type":"event","event":"node.invoke.request","payload":{"id":"bin-1"}}')
        c.send_raw(0x2, os.urandom(300))
        alive_and_connected(c, "binary frames: ignored")

        # a gateway request: answered with an error res
        c.send({"type": "req", "id": "gw-req-1", "method": "node.describe", "params": {}})
        m = c.recv()
        result("a request from the gateway gets an error res", m.get("type") == "res" and m.get("id") == "gw-req-1"
               and m.get("ok") is False, m)

        # --- invokes with an id but bad fields: an error result each
        bad = [
            ("no command", {"id": "bad-1", "nodeId": dev_id, "paramsJSON": "{}"}),
            ("command not a string", {"id": "bad-2", "nodeId": dev_id, "command": 5, "paramsJSON": "{}"}),
            ("paramsJSON not JSON", {"id": "bad-3", "nodeId": dev_id, "command": "system.run", "paramsJSON": "{"}),
            ("paramsJSON an array", {"id": "bad-4", "nodeId": dev_id, "command": "system.run", "paramsJSON": "[1]"}),
            ("paramsJSON a number", {"id": "bad-5", "nodeId": dev_id, "command": "system.run", "paramsJSON": 7}),
            ("run without command", {"id": "bad-6", "nodeId": dev_id, "command": "system.run", "paramsJSON": "{}"}),
            ("argv with a number", {"id": "bad-7", "nodeId": dev_id, "command": "system.run",
                                    "paramsJSON": json.dumps({"command": ["/bin/sh", 5]})}),
            ("empty argv", {"id": "bad-8", "nodeId": dev_id, "command": "system.run",
                            "paramsJSON": json.dumps({"command": []})}),
            ("timeoutMs a string", {"id": "bad-9", "nodeId": dev_id, "command": "system.run",
                                    "paramsJSON": json.dumps({"command": ["true"], "timeoutMs": "soon"})}),
            ("cwd a number", {"id": "bad-9b", "nodeId": dev_id, "command": "system.run.prepare",
                              "paramsJSON": json.dumps({"command": ["true"], "cwd": 5})}),
            ("env not an object", {"id": "bad-10", "nodeId": dev_id, "command": "system.run",
                                   "paramsJSON": json.dumps({"command": ["true"], "env": ["A=1"]})}),
            ("which without bins", {"id": "bad-11", "nodeId": dev_id, "command": "system.which", "paramsJSON": "{}"}),
            ("unknown command", {"id": "bad-12", "nodeId": dev_id, "command": "canvas.draw", "paramsJSON": "{}"}),
            ("another node's invoke", {"id": "bad-13", "nodeId": "0" * 64, "command": "system.run",
                                       "paramsJSON": json.dumps({"command": ["true"]})}),
        ]
        for _, payload in bad:
            c.send({"type": "event", "event": "node.invoke.request", "payload": payload})
        got = {}
        deadline = time.monotonic() + 15
        try:
            while len(got) < len(bad) and time.monotonic() < deadline:
                m = c.recv(deadline - time.monotonic())
                if m.get("method") == "node.invoke.result":
                    got[m["params"].get("id")] = m["params"]
                    c.send({"type": "res", "id": m["id"], "ok": True, "payload": {}})
        except Exception as e:  # noqa: BLE001
            got["exception"] = repr(e)
        for what, payload in bad:
            r = got.get(payload["id"])
            result(f"invoke with an id, {what}: an error result",
                   r is not None and r.get("ok") is False and isinstance(r.get("error"), dict)
                   and isinstance(r["error"].get("code"), str) and isinstance(r["error"].get("message"), str), r)

        # invokes without an id, or no payload at all: counted, nothing to answer
        for payload in [{"nodeId": dev_id, "command": "system.run", "paramsJSON": "{}"}, {"id": 5}, {"id": ""}, None,
                        "invoke", [1]]:
            c.send({"type": "event", "event": "node.invoke.request", "payload": payload})
        alive_and_connected(c, "invokes without an id: no answer, still connected")

        # a real run still works after all that
        iid = invoke(c, "system.run", {"command": ["/bin/sh", "-lc", "echo fake-ok"], "rawCommand": "echo fake-ok",
                                       "timeoutMs": 20000})
        r = wait_result(c, iid, 60)
        payload = json.loads(r.get("payloadJSON") or "{}")
        result("system.run after the junk: runs in a sandbox",
               r.get("ok") is True and payload.get("stdout") == "fake-ok\n", f"{r}\n{node_log()}")

        # a big frame (under the node's 32 MiB limit) of an unknown event: ignored, still connected
        c.send(b'{"type":"event","event":"x","payload":"' + b"a" * (4 << 20) + b'"}')
        alive_and_connected(c, "a 4 MiB frame of an unknown event: ignored")

        # --- a frame over the node's limit (32 MiB): it closes (1009) and reconnects
        t0 = time.monotonic()
        c.send_raw(0x1, b"{" * 65536, length=64 << 20)
        why = until_closed(c, 10)
        result(f"a 64 MiB frame: the node closes the connection ({why})", closed_with(why, 1009, node_log())
               and node.poll() is None, node_log())
        c = accept(30)
        hello(c)
        result(f"... and reconnects ({time.monotonic() - t0:.1f} s)", node.poll() is None)
        alive_and_connected(c, "... and serves again")

        # --- the connection closes in the middle of an invoke
        iid = invoke(c, "system.run", {"command": ["/bin/sh", "-lc", "sleep 47"], "rawCommand": "sleep 47",
                                       "timeoutMs": 60000})
        time.sleep(1.5)
        started = subprocess.run(["pgrep", "-f", "sleep 47"], capture_output=True).returncode == 0
        c.close()  # no close frame: the TCP connection just ends
        t0 = time.monotonic()
        gone = False
        while time.monotonic() - t0 < 10:
            if subprocess.run(["pgrep", "-f", "sleep 47"], capture_output=True).returncode != 0:
                gone = True
                break
            time.sleep(0.2)
        result("connection lost mid-invoke: the run is killed", started and gone, node_log())
        c = accept(30)
        hello(c)
        try:
            m = c.recv(2)
            stray = m.get("method") == "node.invoke.result" and m["params"].get("id") == iid
        except TimeoutError:
            stray = False
        result("... it reconnects and sends no result for the killed run", not stray and node.poll() is None)

        # a close frame mid-invoke, the polite way
        iid = invoke(c, "system.run", {"command": ["/bin/sh", "-lc", "sleep 48"], "rawCommand": "sleep 48",
                                       "timeoutMs": 60000})
        time.sleep(1.5)
        c.send_raw(0x8, struct.pack("!H", 1012) + b"restarting")
        why = until_closed(c, 5)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 30:  # killing the run's sandboxed tree takes a moment (longer under ASan)
            gone = subprocess.run(["pgrep", "-f", "sleep 48"], capture_output=True).returncode != 0
            if gone:
                break
            time.sleep(0.1)
        left = "" if gone else subprocess.run(["ps", "-eo", "pid,ppid,pgid,stat,etime,args"], capture_output=True,
                                              text=True).stdout
        result(f"a close frame mid-invoke: answered ({why}), the run is killed ({time.monotonic() - t0:.1f} s)",
               why.startswith(("close", "EOF")) and gone,
               node_log() + "\n".join(l for l in left.splitlines() if "sleep" in l or "airlock" in l))
        c = accept(30)
        hello(c)
        alive_and_connected(c, "... reconnected and serving")

        # the gateway says it shuts down (its close, 1012, follows): the node leaves and comes back
        c.send({"type": "event", "event": "shutdown", "payload": {"reason": "gateway stopping", "restartExpectedMs": 0}})
        why = until_closed(c, 10)
        c = accept(30)
        hello(c)
        result(f"a shutdown event: the node leaves ({why}) and reconnects",
               "the gateway is shutting down" in node_log() and node.poll() is None, node_log())

        # what the node counted
        health = json.loads(http_get(sock_path, "/v1/health")).get("openclaw", {})
        metrics = http_get(sock_path, "/metrics")
        bad_frames = next((int(line.split()[-1]) for line in metrics.splitlines()
                           if line.startswith("airlock_openclaw_bad_frames_total")), -1)
        result(f"health: connected, {health.get('reconnects')} reconnects; {bad_frames} bad frames counted",
               health.get("state") == "connected" and health.get("reconnects", 0) >= 3 and bad_frames >= 20,
               f"{health}\n{metrics}")
        logged = node_log()
        result("the node logged the bad frames and said why it reconnected",
               "bad frame" in logged and "disconnected" in logged, logged)
        result("no secret in the node's log", TOKEN not in logged and "-dev-token-" not in logged, logged)
        c.close()
    except Exception as e:  # noqa: BLE001
        import traceback
        result("the scenario ran to its end", False, traceback.format_exc() + "\n" + node_log())
        del e
    finally:
        if node.poll() is None:
            node.send_signal(signal.SIGTERM)
            try:
                rc = node.wait(30)
            except subprocess.TimeoutExpired:
                node.kill()
                rc = node.wait()
            result(f"the node stops cleanly on SIGTERM (exit {rc})", rc == 0, node_log())
        else:
            result("the node is still running at the end", False, f"exit {node.returncode}\n{node_log()}")
    print(f"1..{n}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
