#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A scripted OpenAI-compatible chat model for driving a real OpenClaw
gateway in tests: when the last user message with a line "RUN: CMD" has had no
tool call after it, it answers with one call of the `exec`
tool {"command": CMD} (no host: the agent's sandbox decides where it runs);
once a tool result is in the conversation, it answers with that result as
its text.  Streams (SSE) when asked.  Every request is appended to LOG as a
JSON line (the tool result included), so a test can see what the agent got.

usage: mock_openai.py PORT_FILE LOG_FILE
"""

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def text_of(m):
    c = m.get("content")
    if isinstance(c, str):
        return c
    return "".join(p.get("text", "") for p in (c or []) if isinstance(p, dict))


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def send_json(self, obj, status=200):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.startswith("/v1/models"):
            return self.send_json({"object": "list", "data": [{"id": "m1", "object": "model"}]})
        self.send_json({"error": "not found"}, 404)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0) or 0))
        if not self.path.startswith("/v1/chat/completions"):
            return self.send_json({"error": "not found"}, 404)
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            return self.send_json({"error": "bad json"}, 400)
        msgs = req.get("messages") or []
        # this turn only: from the last user message with a RUN line on (a
        # session keeps the earlier turns; the gateway may add user messages)
        last_user = max((i for i, m in enumerate(msgs) if m.get("role") == "user" and "RUN: " in text_of(m)),
                        default=0)
        msgs = msgs[last_user:]
        user = "\n".join(text_of(m) for m in msgs if m.get("role") == "user")
        run = next((line.split("RUN: ", 1)[1] for line in user.splitlines() if "RUN: " in line), None)
        tool = next((text_of(m) for m in reversed(msgs) if m.get("role") == "tool"), None)
        called = any(m.get("role") == "assistant" and m.get("tool_calls") for m in msgs)
        with open(LOG, "a") as f:
            f.write(json.dumps({"t": time.time(), "run": run, "tool": tool, "tools": len(req.get("tools") or [])}) + "\n")
        if tool is not None:
            message, finish = {"role": "assistant", "content": tool}, "stop"
        elif run is None or called:
            message, finish = {"role": "assistant", "content": "ok"}, "stop"
        else:
            call = {"id": "call_%d" % int(time.time() * 1000), "type": "function",
                    "function": {"name": "exec", "arguments": json.dumps({"command": run.strip()})}}
            message, finish = {"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls"
        self.reply(bool(req.get("stream")), message, finish)

    def reply(self, stream, message, finish):
        ident, created = "chatcmpl-mock-%d" % int(time.time() * 1000), int(time.time())
        usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        if not stream:
            return self.send_json({"id": ident, "object": "chat.completion", "created": created, "model": "m1",
                                   "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                                   "usage": usage})
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.end_headers()

        def chunk(delta, fin=None, choices=True, extra=None):
            o = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": "m1",
                 "choices": [{"index": 0, "delta": delta, "finish_reason": fin}] if choices else []}
            o.update(extra or {})
            self.wfile.write(b"data: " + json.dumps(o).encode() + b"\n\n")

        if message.get("tool_calls"):
            calls = [dict(tc, index=i) for i, tc in enumerate(message["tool_calls"])]
            chunk({"role": "assistant", "content": None, "tool_calls": calls})
        else:
            chunk({"role": "assistant", "content": message["content"]})
        chunk({}, finish)
        chunk({}, choices=False, extra={"usage": usage})
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


if __name__ == "__main__":
    PORT_FILE, LOG = sys.argv[1], sys.argv[2]
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(PORT_FILE + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(PORT_FILE + ".tmp", PORT_FILE)
    srv.serve_forever()
