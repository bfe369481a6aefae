#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A real agent through `airlock mcp`: Claude Code in headless mode (`claude
-p`, from npm) with `airlock mcp` as its MCP server, and its model API
pointed (ANTHROPIC_BASE_URL) at a small local mock of the Messages API that
asks for the airlock `run` tool.  Checks that the command ran in a sandbox
of a real node and that its output reached the model's next request.  Needs
root (the node), Node.js 18 and npm; exits 77 without them.  Prints TAP and
"N passed, N failed".

usage: claude_code_test.py AIRLOCK_BIN_DIR   (CLAUDE_CODE_VERSION picks the version)"""
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

BIN = os.path.abspath(sys.argv[1])
VERSION = os.environ.get("CLAUDE_CODE_VERSION", "2.1.332")
results = []


def check(ok, what, detail=""):
    results.append(bool(ok))
    print("%s %d - %s" % ("ok" if ok else "not ok", len(results), what))
    if not ok and detail:
        print("#   " + str(detail)[:2000].replace("\n", "\n#   "))


def skip(why):
    print("1..0 # SKIP " + why)
    sys.exit(77)


if os.geteuid() != 0:
    skip("needs root (the node's sandboxes get cgroup limits)")
if not shutil.which("node") or not shutil.which("npm"):
    skip("node or npm is missing")

deps = os.path.join(BIN, "claude-code-test-deps")
claude = os.path.join(deps, "node_modules", ".bin", "claude")
stamp = os.path.join(deps, ".version")
if not (os.path.exists(claude) and open(stamp).read().strip() == VERSION if os.path.exists(stamp) else False):
    shutil.rmtree(deps, ignore_errors=True)
    os.makedirs(deps)
    p = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error",
                        "@anthropic-ai/claude-code@" + VERSION], cwd=deps, capture_output=True, text=True)
    if p.returncode != 0 or not os.path.exists(claude):
        skip("npm could not install @anthropic-ai/claude-code@%s: %s" % (VERSION, (p.stderr or "").strip()[-300:]))
    with open(stamp, "w") as f:
        f.write(VERSION)

MARK = "cc-mark-%d-%d" % (os.getpid(), int(time.time()))
COMMAND = "echo %s; id -u; cat /proc/net/dev | grep -c :" % MARK


class Mock:
    """The Messages API as far as this conversation needs it."""

    def __init__(self):
        self.requests = []
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_HEAD(self):
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self):
                self.do_HEAD()

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
                outer.requests.append((self.path, body))
                if not self.path.startswith("/v1/messages") or self.path.startswith("/v1/messages/count_tokens"):
                    return self.reply_json({"input_tokens": 10})
                blocks = outer.answer(body)
                if body.get("stream"):
                    self.reply_stream(body, blocks)
                else:
                    self.reply_json(message(body, blocks))

            def reply_json(self, obj):
                data = json.dumps(obj).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def reply_stream(self, body, blocks):
                events = [("message_start", {"type": "message_start", "message": dict(message(body, []), content=[])})]
                for i, b in enumerate(blocks):
                    if b["type"] == "text":
                        events.append(("content_block_start", {"type": "content_block_start", "index": i,
                                                               "content_block": {"type": "text", "text": ""}}))
                        events.append(("content_block_delta", {"type": "content_block_delta", "index": i,
                                                               "delta": {"type": "text_delta", "text": b["text"]}}))
                    else:
                        events.append(("content_block_start", {"type": "content_block_start", "index": i,
                                                               "content_block": dict(b, input={})}))
                        events.append(("content_block_delta", {"type": "content_block_delta", "index": i,
                                                               "delta": {"type": "input_json_delta",
                                                                         "partial_json": json.dumps(b["input"])}}))
                    events.append(("content_block_stop", {"type": "content_block_stop", "index": i}))
                stop = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
                events.append(("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop,
                                                                                    "stop_sequence": None},
                                                 "usage": {"output_tokens": 5}}))
                events.append(("message_stop", {"type": "message_stop"}))
                data = "".join("event: %s\ndata: %s\n\n" % (e, json.dumps(d)) for e, d in events).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, body):
        tools = [t.get("name") for t in body.get("tools") or []]
        last = (body.get("messages") or [{}])[-1]
        content = last.get("content")
        results = [c for c in content if isinstance(c, dict) and c.get("type") == "tool_result"] \
            if isinstance(content, list) else []
        if results:
            return [{"type": "text", "text": "The sandbox answered."}]
        if "mcp__airlock__run" in tools:
            return [{"type": "tool_use", "id": "toolu_airlock_1", "name": "mcp__airlock__run",
                     "input": {"command": COMMAND}}]
        return [{"type": "text", "text": "ok"}]


def message(body, blocks):
    return {"id": "msg_mock_%d" % time.time_ns(), "type": "message", "role": "assistant",
            "model": body.get("model", "mock"), "content": blocks, "stop_reason": "end_turn",
            "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 5}}


tmp = tempfile.mkdtemp(prefix="airlock-cc-test.")
os.chmod(tmp, 0o755)
state = os.path.join(tmp, "state")
os.makedirs(state, mode=0o700)
sock = os.path.join(tmp, "node.sock")
ready = os.path.join(tmp, "ready")
node = None
try:
    tok = subprocess.run([os.path.join(BIN, "airlock"), "token", "create", "--name", "agent", "--state-dir", state],
                         capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    log = open(os.path.join(tmp, "node.log"), "w")
    node = subprocess.Popen([os.path.join(BIN, "airlock"), "node", "--state-dir", state, "--listen", "unix:" + sock,
                             "--ready-file", ready, "--pool", "0"], stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    deadline = time.time() + 30
    while not os.path.exists(ready) and node.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    if not os.path.exists(ready):
        check(False, "the node starts", open(os.path.join(tmp, "node.log")).read())
        raise SystemExit
    mock = Mock()
    home = os.path.join(tmp, "home")
    os.makedirs(home)
    cfg = os.path.join(tmp, "mcp.json")
    with open(cfg, "w") as f:
        json.dump({"mcpServers": {"airlock": {"type": "stdio", "command": os.path.join(BIN, "airlock"),
                                              "args": ["mcp", "--node", "unix:" + sock],
                                              "env": {"AIRLOCK_TOKEN": tok}}}}, f)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "ANTHROPIC_BASE_URL":
           "http://127.0.0.1:%d" % mock.port, "ANTHROPIC_API_KEY": "sk-ant-test-key",
           "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_AUTOUPDATER": "1", "ENABLE_TOOL_SEARCH": "false", "DISABLE_TELEMETRY": "1"}
    p = subprocess.run([claude, "-p", "Run the check command in the airlock sandbox.", "--mcp-config", cfg,
                        "--strict-mcp-config", "--allowedTools", "mcp__airlock__run", "--output-format", "json",
                        "--model", "claude-sonnet-4-5"], env=env, cwd=tmp, capture_output=True, text=True,
                       timeout=240)
    check(p.returncode == 0, "claude -p exits 0", "rc=%d stdout=%s stderr=%s" % (p.returncode, p.stdout[-1500:],
                                                                               p.stderr[-1500:]))
    asked = [b for _, b in mock.requests if "mcp__airlock__run" in [t.get("name") for t in b.get("tools") or []]]
    check(asked, "Claude Code offered the airlock tools to the model",
          [[t.get("name") for t in b.get("tools") or []] for _, b in mock.requests][:3])
    tool_results = []
    for _, b in mock.requests:
        for m in b.get("messages") or []:
            if isinstance(m.get("content"), list):
                tool_results += [c for c in m["content"] if isinstance(c, dict) and c.get("type") == "tool_result"
                                 and c.get("tool_use_id") == "toolu_airlock_1"]
    text = json.dumps(tool_results)
    check(MARK in text, "the command's output reached the model's next request", text[:1500])
    # Claude Code hands the model the structured result (or the text where there is none)
    ran = re.search(r'exit_code\\*"?:\s*0\b|exit code 0', text) and re.search(MARK + r"(\\\\n|\n)1001(\\\\n|\n)1(\\\\n|\n)", text)
    check(ran, "it ran in a sandbox: exit 0, uid 1001, only loopback", text[:1500])
    out = json.loads(p.stdout or "{}") if p.stdout.strip().startswith("{") else {}
    check(out.get("result") == "The sandbox answered.", "the agent's final answer is the mock model's", p.stdout[-800:])
    time.sleep(1)
    listed = subprocess.run(["curl", "-sS", "--unix-socket", sock, "-H", "Authorization: Bearer " + tok,
                             "http://localhost/v1/sandboxes"], capture_output=True, text=True).stdout
    check(json.loads(listed or "{}").get("sandboxes") == [], "the session's sandbox is gone after claude exits",
          listed)
finally:
    if node and node.poll() is None:
        node.send_signal(signal.SIGTERM)
        try:
            node.wait(15)
        except subprocess.TimeoutExpired:
            node.kill()
    shutil.rmtree(tmp, ignore_errors=True)

print("1..%d" % len(results))
print("%d passed, %d failed" % (results.count(True), results.count(False)))
sys.exit(0 if results and all(results) else 1)
