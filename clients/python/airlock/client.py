# SPDX-License-Identifier: Apache-2.0
"""The node API as Python calls: :class:`Node` (every route the SDK uses),
:class:`CommandResult` and :class:`CommandHandle`.

This module owns how a command is sent (``argv`` or a shell string, the
request fields of docs/api.md#exec), how its NDJSON stream is read into
callbacks in the order the node sent it, and how an answer becomes a result
or a typed exception.  :mod:`airlock.sandbox` builds the E2B-shaped
``Sandbox`` on top of it.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Union

from ._transport import Transport
from .errors import (AirlockError, ApprovalRequiredError, CommandExitError, CommandTimeoutError, ProtocolError,
                     UnreachableError, error_from_answer)

Command = Union[str, Sequence[str]]
OutputCallback = Callable[[str], Any]


@dataclass
class CommandResult:
    """The end of a command (docs/api.md#the-result).

    ``stdout``/``stderr`` hold the captured output (without streaming: at
    most ``max_output_bytes`` together, ``truncated`` says when cut; with
    streaming: everything that was streamed).  ``raw`` is the node's object
    as received, for fields a later node may add.
    """

    exec_id: str
    exit_code: int
    stdout: str = ""
    stderr: str = ""
    timed_out: bool = False
    truncated: bool = False
    oom_killed: bool = False
    cancelled: bool = False
    signal: int = 0
    success: bool = False
    error: Optional[str] = None
    wall_ms: int = 0
    cpu_user_ms: int = 0
    cpu_sys_ms: int = 0
    max_rss_kb: int = 0
    state: str = "exited"
    sandbox: Optional[str] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_node(cls, doc: Mapping[str, Any], stdout: Optional[str] = None,
                  stderr: Optional[str] = None) -> "CommandResult":
        """Build a result from the node's result (or ``exit`` record)."""
        try:
            return cls(exec_id=doc["exec_id"], exit_code=int(doc["exit_code"]),
                       stdout=doc.get("stdout", "") if stdout is None else stdout,
                       stderr=doc.get("stderr", "") if stderr is None else stderr,
                       timed_out=bool(doc.get("timed_out")), truncated=bool(doc.get("truncated")),
                       oom_killed=bool(doc.get("oom_killed")), cancelled=bool(doc.get("cancelled")),
                       signal=int(doc.get("signal", 0)), success=bool(doc.get("success")), error=doc.get("error"),
                       wall_ms=int(doc.get("wall_ms", 0)), cpu_user_ms=int(doc.get("cpu_user_ms", 0)),
                       cpu_sys_ms=int(doc.get("cpu_sys_ms", 0)), max_rss_kb=int(doc.get("max_rss_kb", 0)),
                       state=doc.get("state", "exited"), sandbox=doc.get("sandbox"), raw=dict(doc))
        except (KeyError, TypeError, ValueError) as e:
            raise ProtocolError("the node's result lacks %s: %.200r" % (e, doc), code="protocol")

    def check(self) -> "CommandResult":
        """Raise :class:`CommandTimeoutError` or :class:`CommandExitError` unless it succeeded."""
        if self.timed_out:
            raise CommandTimeoutError("command %s timed out and was killed" % self.exec_id, result=self)
        if not self.success:
            why = self.error or ("exit code %d" % self.exit_code)
            raise CommandExitError("command %s failed: %s" % (self.exec_id, why), result=self)
        return self


def exec_body(cmd: Command, *, cwd: Optional[str] = None, env: Optional[Mapping[str, str]] = None,
              timeout: Optional[float] = None, stdin: Union[str, bytes, None] = None,
              limits: Optional[Mapping[str, Any]] = None, max_output_bytes: Optional[int] = None,
              approval: Optional[str] = None, approval_id: Optional[str] = None,
              stream: bool = False) -> Dict[str, Any]:
    """The JSON body of ``POST .../exec`` for these arguments."""
    body: Dict[str, Any] = {}
    if isinstance(cmd, str):
        body["command"] = cmd
    else:
        argv = list(cmd)
        if not argv or not all(isinstance(a, str) for a in argv):
            raise ValueError("cmd must be a shell string or a non-empty list of strings")
        body["argv"] = argv
    if cwd is not None:
        body["cwd"] = cwd
    if env:
        body["env"] = dict(env)
    if timeout is not None:
        ms = int(round(timeout * 1000))
        if ms < 1:
            raise ValueError("timeout must be at least 0.001 seconds")
        body["timeout_ms"] = ms
    if stdin is not None:
        if isinstance(stdin, str):
            body["stdin"] = stdin
        else:
            body["stdin_base64"] = base64.b64encode(bytes(stdin)).decode()
    if limits:
        body["limits"] = dict(limits)
    if max_output_bytes is not None:
        body["max_output_bytes"] = int(max_output_bytes)
    if approval is not None:
        body["approval"] = approval
    if approval_id is not None:
        body["approval_id"] = approval_id
    if stream:
        body["stream"] = True
    return body


def _raise_approval(status: int, doc: Any) -> None:
    if status == 202:
        doc = doc if isinstance(doc, dict) else {}
        raise ApprovalRequiredError("the command needs an approval (%s): %s" % (doc.get("approval_id", "?"),
                                                                              doc.get("rule", "")),
                                    approval=doc, status=202, code="approval_required", body=doc)


class Node:
    """A connection to one ``airlock node`` with one token (a tenant).

    Args:
        node: ``unix:/path/node.sock``, ``https://host:port`` or
            ``http://127.0.0.1:port``; default ``AIRLOCK_NODE``, else the
            socket ``airlock exec`` uses by default.
        token: the node token; default ``AIRLOCK_TOKEN``.
        ca_file: PEM CA of the node's TLS certificate; default
            ``AIRLOCK_CA_FILE``, else the system store.
        cert_file, key_file: a client certificate for mutual TLS.

    It keeps a few connections alive; :meth:`close` (or ``with``) ends them.
    """

    def __init__(self, node: Optional[str] = None, token: Optional[str] = None, *, ca_file: Optional[str] = None,
                 cert_file: Optional[str] = None, key_file: Optional[str] = None) -> None:
        self._t = Transport(node, token, ca_file, cert_file, key_file)

    @property
    def address(self) -> str:
        """Where the node is, as given (``unix:...`` or a URL)."""
        return self._t.node

    def close(self) -> None:
        """Close the kept-alive connections (the node's sandboxes are not touched)."""
        self._t.close()

    def __enter__(self) -> "Node":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- node --------------------------------------------------------------
    def health(self) -> Dict[str, Any]:
        """``GET /v1/health`` (no token needed)."""
        return self._t.json("GET", "/v1/health", auth=False)[1]

    def metrics(self) -> str:
        """``GET /metrics``: Prometheus text."""
        return self._t.request("GET", "/metrics", auth=False)[1].decode()

    def whoami(self) -> Dict[str, Any]:
        """``GET /v1/whoami``: ``{"tenant", "approver"}`` of this token."""
        return self._t.json("GET", "/v1/whoami")[1]

    # -- execs -------------------------------------------------------------
    def exec(self, cmd: Command, *, sandbox: Optional[str] = None, cwd: Optional[str] = None,
             env: Optional[Mapping[str, str]] = None, timeout: Optional[float] = None,
             stdin: Union[str, bytes, None] = None, limits: Optional[Mapping[str, Any]] = None,
             on_stdout: Optional[OutputCallback] = None, on_stderr: Optional[OutputCallback] = None,
             on_start: Optional[Callable[[str], Any]] = None, stream: Optional[bool] = None,
             max_output_bytes: Optional[int] = None, approval: Optional[str] = None,
             approval_id: Optional[str] = None, check: bool = False,
             request_timeout: Optional[float] = None) -> CommandResult:
        """Run a command: ``POST /v1/exec`` (one-shot) or ``POST /v1/sandboxes/ID/exec``.

        See :meth:`airlock.Sandbox.run` for the arguments.  ``limits`` (for
        one-shot execs only) is ``{"memory": "256m", "cpus": 0.5, "pids": 64,
        "disk": "100m"}``.  ``request_timeout`` bounds the wait for the node
        (default: none; the node ends every command at its ``timeout``).
        """
        streaming = bool(on_stdout or on_stderr or on_start) if stream is None else stream
        body = exec_body(cmd, cwd=cwd, env=env, timeout=timeout, stdin=stdin, limits=limits,
                         max_output_bytes=None if streaming else max_output_bytes, approval=approval,
                         approval_id=approval_id, stream=streaming)
        path = "/v1/sandboxes/%s/exec" % _seg(sandbox) if sandbox else "/v1/exec"
        if streaming:
            res = self._exec_stream(path, body, on_stdout, on_stderr, on_start, request_timeout)
        else:
            status, doc = self._t.json("POST", path, body, timeout=request_timeout)
            _raise_approval(status, doc)
            res = CommandResult.from_node(doc)
        return res.check() if check else res

    def _exec_stream(self, path: str, body: Dict[str, Any], on_stdout: Optional[OutputCallback],
                     on_stderr: Optional[OutputCallback], on_start: Optional[Callable[[str], Any]],
                     request_timeout: Optional[float]) -> CommandResult:
        data = json.dumps(body).encode()
        conn, resp = self._t.open("POST", path, data, content_type="application/json", timeout=request_timeout)
        ok = False
        try:
            if resp.status != 200:
                raw = resp.read()
                if resp.status >= 400:
                    raise error_from_answer(resp.status, raw, resp.getheader("Retry-After"))
                _raise_approval(resp.status, json.loads(raw) if raw else None)
                raise ProtocolError("unexpected answer %d to a streamed exec" % resp.status, status=resp.status,
                                    code="protocol")
            out: List[str] = []
            err: List[str] = []
            end = None
            for rec in _records(resp):
                kind = rec.get("type")
                if kind == "stdout":
                    out.append(rec.get("data", ""))
                    if on_stdout:
                        on_stdout(rec.get("data", ""))
                elif kind == "stderr":
                    err.append(rec.get("data", ""))
                    if on_stderr:
                        on_stderr(rec.get("data", ""))
                elif kind == "started":
                    if on_start:
                        on_start(rec.get("exec_id", ""))
                elif kind == "exit":
                    end = rec
            if end is None:
                raise ProtocolError("the stream ended without an exit record", code="protocol")
            ok = True
            return CommandResult.from_node(end, "".join(out), "".join(err))
        finally:
            # a callback that raised leaves the stream unread: closing the
            # connection makes the node cancel the command
            if ok:
                self._t.give_back(conn, resp)
            else:
                conn.close()

    def get_exec(self, exec_id: str) -> Dict[str, Any]:
        """``GET /v1/execs/ID``: state, and the result fields once it ended."""
        return self._t.json("GET", "/v1/execs/%s" % _seg(exec_id))[1]

    def signal(self, exec_id: str, sig: Union[str, int] = "TERM") -> Dict[str, Any]:
        """``POST /v1/execs/ID/signal``: ``"TERM"``, ``"INT"``, ... or a number."""
        return self._t.json("POST", "/v1/execs/%s/signal" % _seg(exec_id), {"signal": sig})[1]

    def cancel(self, exec_id: str) -> Dict[str, Any]:
        """``DELETE /v1/execs/ID``: kill the command (SIGKILL, ``cancelled`` true)."""
        return self._t.json("DELETE", "/v1/execs/%s" % _seg(exec_id))[1]

    # -- sandboxes -----------------------------------------------------------
    def create_sandbox(self, **fields: Any) -> Dict[str, Any]:
        """``POST /v1/sandboxes`` with the fields of docs/api.md#persistent-sandboxes; returns the sandbox."""
        return self._t.json("POST", "/v1/sandboxes", {k: v for k, v in fields.items() if v is not None},
                            timeout=None)[1]

    def sandboxes(self) -> List[Dict[str, Any]]:
        """``GET /v1/sandboxes``: this tenant's persistent sandboxes, newest first."""
        return self._t.json("GET", "/v1/sandboxes")[1]["sandboxes"]

    def get_sandbox(self, sandbox_id: str) -> Dict[str, Any]:
        """``GET /v1/sandboxes/ID``."""
        return self._t.json("GET", "/v1/sandboxes/%s" % _seg(sandbox_id))[1]

    def destroy_sandbox(self, sandbox_id: str) -> None:
        """``DELETE /v1/sandboxes/ID``: kill it; a node-made workspace goes with it."""
        self._t.request("DELETE", "/v1/sandboxes/%s" % _seg(sandbox_id))

    # -- files ----------------------------------------------------------------
    def _files(self, sandbox_id: str, path: str, op: Optional[str] = None) -> str:
        q = {"path": path}
        if op:
            q["op"] = op
        return "/v1/sandboxes/%s/files?%s" % (_seg(sandbox_id), urllib.parse.urlencode(q, quote_via=urllib.parse.quote))

    def read_file(self, sandbox_id: str, path: str) -> bytes:
        """``GET .../files?path=P``: the file's bytes."""
        return self._t.request("GET", self._files(sandbox_id, path), timeout=None)[1]

    def write_file(self, sandbox_id: str, path: str, data: bytes) -> None:
        """``PUT .../files?path=P``: create or replace the file."""
        self._t.request("PUT", self._files(sandbox_id, path), data, content_type="application/octet-stream",
                        timeout=None)

    def list_files(self, sandbox_id: str, path: str) -> List[Dict[str, Any]]:
        """``GET .../files?path=P&op=list``: the directory's entries."""
        return self._t.json("GET", self._files(sandbox_id, path, "list"))[1]["entries"]

    def stat_file(self, sandbox_id: str, path: str) -> Dict[str, Any]:
        """``GET .../files?path=P&op=stat``."""
        return self._t.json("GET", self._files(sandbox_id, path, "stat"))[1]

    def remove_file(self, sandbox_id: str, path: str) -> None:
        """``DELETE .../files?path=P``: a file, a symlink or an empty directory."""
        self._t.request("DELETE", self._files(sandbox_id, path))

    # -- approvals and audit ------------------------------------------------------
    def approvals(self, state: str = "pending") -> List[Dict[str, Any]]:
        """``GET /v1/approvals?state=pending|all``."""
        return self._t.json("GET", "/v1/approvals?state=%s" % urllib.parse.quote(state))[1]["approvals"]

    def approval(self, approval_id: str) -> Dict[str, Any]:
        """``GET /v1/approvals/ID``."""
        return self._t.json("GET", "/v1/approvals/%s" % _seg(approval_id))[1]

    def approve(self, approval_id: str, always: bool = False) -> Dict[str, Any]:
        """``POST /v1/approvals/ID/approve`` (an approver's token, not the requester's)."""
        return self._t.json("POST", "/v1/approvals/%s/approve" % _seg(approval_id),
                            {"always": True} if always else {})[1]

    def reject(self, approval_id: str, reason: Optional[str] = None) -> Dict[str, Any]:
        """``POST /v1/approvals/ID/reject``."""
        return self._t.json("POST", "/v1/approvals/%s/reject" % _seg(approval_id),
                            {"reason": reason} if reason else {})[1]

    def wait_approval(self, approval_id: str, timeout: float = 300.0, interval: float = 0.25) -> Dict[str, Any]:
        """Poll an approval until it is no longer pending (or ``timeout`` seconds pass); returns it."""
        deadline = time.monotonic() + timeout
        while True:
            a = self.approval(approval_id)
            if a.get("state") != "pending" or time.monotonic() >= deadline:
                return a
            time.sleep(interval)

    def audit(self, **filters: Any) -> List[Dict[str, Any]]:
        """``GET /v1/audit?...``: records, newest first (every tenant's for an
        approver's token, else the token's own tenant's)."""
        q = urllib.parse.urlencode({k: v for k, v in filters.items() if v is not None})
        return self._t.json("GET", "/v1/audit" + ("?" + q if q else ""))[1]["records"]


class CommandHandle:
    """A command started with ``background=True``.

    ``exec_id`` is known once the node accepted it; :meth:`wait` returns the
    :class:`CommandResult` (or raises what the call raised); :meth:`kill`
    and :meth:`signal` reach the running command.
    """

    def __init__(self, node: Node, start: Callable[..., CommandResult], **kw: Any) -> None:
        self._node = node
        self._started = threading.Event()
        self._done = threading.Event()
        self._exec_id: Optional[str] = None
        self._result: Optional[CommandResult] = None
        self._error: Optional[BaseException] = None
        user_start = kw.pop("on_start", None)

        def on_start(eid: str) -> None:
            self._exec_id = eid
            self._started.set()
            if user_start:
                user_start(eid)

        def body() -> None:
            try:
                self._result = start(on_start=on_start, stream=True, **kw)
            except BaseException as e:  # handed to wait()
                self._error = e
            finally:
                self._started.set()
                self._done.set()

        self._thread = threading.Thread(target=body, name="airlock-command", daemon=True)
        self._thread.start()

    @property
    def exec_id(self) -> str:
        """The exec's id (waits until the node accepted the command)."""
        self._started.wait()
        if self._exec_id is None:
            self.wait()
            raise AirlockError("the command never started", code="protocol")
        return self._exec_id

    def wait(self, timeout: Optional[float] = None) -> CommandResult:
        """The result, once the command ended; ``builtins.TimeoutError`` if not within ``timeout``."""
        if not self._done.wait(timeout):
            raise TimeoutError("command still running after %ss" % timeout)
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    def kill(self) -> None:
        """Cancel the command (SIGKILL); :meth:`wait` then returns ``cancelled`` true."""
        self._node.cancel(self.exec_id)

    def signal(self, sig: Union[str, int]) -> None:
        """Send a signal to the command's process group."""
        self._node.signal(self.exec_id, sig)


def _records(resp: Any) -> Iterator[Dict[str, Any]]:
    """The NDJSON records of a streamed answer, in order."""
    while True:
        try:
            line = resp.readline()
        except OSError as e:
            raise UnreachableError("the stream broke off: %s" % e, code="unreachable")
        if not line:
            return
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            raise ProtocolError("not a JSON record in the stream: %.200r" % line, code="protocol")
        if not isinstance(rec, dict):
            raise ProtocolError("not a JSON object in the stream: %.200r" % line, code="protocol")
        yield rec


def _seg(s: str) -> str:
    """An id as one path segment (the node answers 404 for anything that is not an id)."""
    return urllib.parse.quote(str(s), safe="")
