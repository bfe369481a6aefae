#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Malformed and unusual JSON-RPC frames sent to `airlock mcp` (no node
needed: the server points at a socket that does not exist): parse errors,
invalid requests, unknown methods, invalid params naming the field, version
negotiation, notifications never answered, string ids, CRLF and blank
lines, an over-long line, end of input.  Prints TAP and "N passed, N failed".

usage: frames_test.py AIRLOCK_BIN_DIR"""
import json
import os
import select
import subprocess
import sys
import time

BIN = os.path.join(sys.argv[1], "airlock")
results = []


def check(ok, what, detail=""):
    results.append(ok)
    print("%s %d - %s" % ("ok" if ok else "not ok", len(results), what))
    if not ok and detail:
        print("#   " + str(detail)[:1500].replace("\n", "\n#   "))


class Server:
    def __init__(self, args=("--node", "unix:/nonexistent/airlock-mcp-test.sock"), token="node_tok_x"):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        if token is not None:
            env["AIRLOCK_TOKEN"] = token
        self.p = subprocess.Popen([BIN, "mcp"] + list(args), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=env)
        self.buf = b""

    def send(self, raw):
        self.p.stdin.write(raw if isinstance(raw, bytes) else raw.encode())
        self.p.stdin.flush()

    def msg(self, obj):
        self.send(json.dumps(obj) + "\n")

    def read(self, timeout=10):
        """the next message, or None"""
        deadline = time.time() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.time()
            if left <= 0 or not select.select([self.p.stdout], [], [], left)[0]:
                return None
            chunk = os.read(self.p.stdout.fileno(), 65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def ask(self, raw):
        self.send(raw)
        return self.read()

    def close(self):
        try:
            self.p.stdin.close()
        except BrokenPipeError:
            pass
        try:
            rc = self.p.wait(15)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = None
        err = self.p.stderr.read().decode(errors="replace")
        return rc, err


def err_of(m):
    return (m or {}).get("error") or {}


s = Server()
m = s.ask('{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{}}}\n')
check(m and m.get("id") == 1 and m["result"]["protocolVersion"] == "2025-06-18" and m["jsonrpc"] == "2.0",
      "initialize: the client's version when supported", m)
m = s.ask('{"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":"1999-01-01"}}\n')
check(m and m["result"]["protocolVersion"] == "2025-11-25", "initialize: an unknown version gets the newest", m)
m = s.ask('{"jsonrpc":"2.0","id":3,"method":"initialize","params":{}}\n')
check(err_of(m).get("code") == -32602 and "protocolVersion" in err_of(m).get("message", ""),
      "initialize without protocolVersion: -32602 naming it", m)

cases = [
    ("not json at all\n", None, -32700, "parse error"),
    ('{"jsonrpc":"2.0","id":4,"method":"ping"\n', None, -32700, "parse error"),
    (b'{"jsonrpc":"2.0","id":5,"method":"\xff\xfe"}\n', None, -32700, "parse error"),
    ('[{"jsonrpc":"2.0","id":6,"method":"ping"}]\n', None, -32600, "batches"),
    ("42\n", None, -32600, "object"),
    ('{"id":7,"method":"ping"}\n', 7, -32600, "jsonrpc"),
    ('{"jsonrpc":"1.0","id":8,"method":"ping"}\n', 8, -32600, "jsonrpc"),
    ('{"jsonrpc":"2.0","id":9,"method":42}\n', 9, -32600, "method"),
    ('{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}\n', None, -32600, "id"),
    ('{"jsonrpc":"2.0","id":10,"method":"resources/list"}\n', 10, -32601, "resources/list"),
    ('{"jsonrpc":"2.0","id":11,"method":"tools/list","params":[1]}\n', 11, -32602, "params"),
    ('{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{}}\n', 12, -32602, "params.name"),
    ('{"jsonrpc":"2.0","id":13,"method":"tools/call","params":{"name":"run","arguments":[]}}\n', 13, -32602,
     "params.arguments"),
    ('{"jsonrpc":"2.0","id":14,"method":"tools/call","params":{"name":"run","arguments":{"argv":[1]}}}\n', 14,
     -32602, "arguments.argv[0]"),
    ('{"jsonrpc":"2.0","id":15,"method":"tools/call","params":{"name":"run","arguments":{"command":"x","argv":["y"]}}}\n',
     15, -32602, "exactly one"),
    ('{"jsonrpc":"2.0","id":16,"method":"tools/call","params":{"name":"run","arguments":{"command":"x","bogus":1}}}\n',
     16, -32602, "arguments.bogus"),
    ('{"jsonrpc":"2.0","id":17,"method":"tools/call","params":{"name":"run","arguments":{"command":"x","env":{"A":1}}}}\n',
     17, -32602, "arguments.env.A"),
    ('{"jsonrpc":"2.0","id":18,"method":"tools/call","params":{"name":"run","arguments":{"command":"x","cwd":"rel"}}}\n',
     18, -32602, "arguments.cwd"),
    ('{"jsonrpc":"2.0","id":19,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"/etc/passwd"}}}\n',
     19, -32602, "arguments.path"),
    ('{"jsonrpc":"2.0","id":20,"method":"tools/call","params":{"name":"write_file","arguments":{"path":"a"}}}\n', 20,
     -32602, "arguments.content"),
    ('{"jsonrpc":"2.0","id":21,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"a","encoding":"hex"}}}\n',
     21, -32602, "arguments.encoding"),
    ('{"jsonrpc":"2.0","id":22,"method":"tools/call","params":{"name":"destroy_sandbox","arguments":{}}}\n', 22,
     -32602, "arguments.sandbox"),
    ('{"jsonrpc":"2.0","id":23,"method":"tools/call","params":{"name":"run","arguments":{"command":"x"},"_meta":{"progressToken":[1]}}}\n',
     23, -32602, "progressToken"),
    ('{"jsonrpc":"2.0","id":25,"method":"tools/call","params":{"name":"list_files","arguments":{"sandbox":"sb_1/../../approvals"}}}\n',
     25, -32602, "arguments.sandbox"),
    ('{"jsonrpc":"2.0","id":26,"method":"tools/call","params":{"name":"run","arguments":{"command":"x","approval_id":"ap_1?x=y"}}}\n',
     26, -32602, "arguments.approval_id"),
    ('{"jsonrpc":"2.0","id":24,"method":"tools/call","params":{"name":"rm_rf","arguments":{}}}\n', 24, -32602,
     "rm_rf"),
]
for raw, want_id, code, word in cases:
    m = s.ask(raw)
    e = err_of(m)
    check(m is not None and m.get("id") == want_id and e.get("code") == code and word in e.get("message", ""),
          "%s -> %d naming %r" % (raw.strip()[:70] if isinstance(raw, str) else repr(raw[:40]), code, word), m)

# notifications and responses are never answered: the next message is the ping's
s.send('{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
s.send('{"jsonrpc":"2.0","method":"notifications/whatever","params":{"x":1}}\n')
s.send('{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"nothing-running"}}\n')
s.send('{"jsonrpc":"2.0","id":999,"result":{}}\n')
s.send("\n\r\n   \n")
m = s.ask('{"jsonrpc":"2.0","id":"str-id","method":"ping"}\r\n')
check(m == {"jsonrpc": "2.0", "id": "str-id", "result": {}},
      "notifications, stray responses and blank lines get no answer; CRLF and string ids work", m)

# a valid call with no node behind: a tool error, not a protocol error
m = s.ask('{"jsonrpc":"2.0","id":30,"method":"tools/call","params":{"name":"run","arguments":{"command":"true"}}}\n')
res = (m or {}).get("result") or {}
check(res.get("isError") is True and "cannot reach node" in json.dumps(res), "an unreachable node: isError tool result",
      m)
m = s.ask('{"jsonrpc":"2.0","id":31,"method":"tools/list"}\n')
tools = [t["name"] for t in ((m or {}).get("result") or {}).get("tools", [])]
check(len(tools) == 7 and all(t["inputSchema"]["type"] == "object" for t in m["result"]["tools"]),
      "tools/list still answers", tools)
t0 = time.time()
rc, err = s.close()
check(rc == 0 and time.time() - t0 < 10, "end of input: exit 0", "rc=%s %s" % (rc, err))

# an over-long line: a parse error, and the session ends (the framing is lost)
s = Server()
try:
    s.send(b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"' + b"a" * (33 << 20))
except BrokenPipeError:
    pass  # the server stopped reading at 32 MiB
m = s.read(30)
check(err_of(m).get("code") == -32700 and "longer" in err_of(m).get("message", ""),
      "a line over 32 MiB: -32700", m)
try:
    s.p.stdin.close()
except BrokenPipeError:
    pass
check(s.p.wait(15) == 0, "and the server ends")

# flags and environment
s = Server(token=None)
rc, err = s.close()
check(rc == 125 and "AIRLOCK_TOKEN" in err, "--node without AIRLOCK_TOKEN: 125 naming it", "rc=%s %s" % (rc, err))
s = Server(args=("--bogus",))
rc, err = s.close()
check(rc == 125 and "bogus" in err, "an unknown flag: 125", "rc=%s %s" % (rc, err))
if os.geteuid() != 0:
    s = Server(args=())
    rc, err = s.close()
    check(rc == 125 and "needs root" in err, "no --node and not root: a clear message", "rc=%s %s" % (rc, err))

print("1..%d" % len(results))
print("%d passed, %d failed" % (results.count(True), results.count(False)))
sys.exit(0 if all(results) else 1)
