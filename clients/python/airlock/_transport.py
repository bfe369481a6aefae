# SPDX-License-Identifier: Apache-2.0
"""HTTP/1.1 to an airlock node over a unix socket or TLS (standard library only).

This module owns where the node is (``unix:PATH``, ``https://HOST:PORT``,
``http://`` on loopback only, as ``airlock exec`` accepts), the token, and a
small pool of kept-alive connections, so that a client pays the connection
set-up once and not on every command.  Everything above it speaks in
methods, paths and JSON.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import os
import socket
import ssl
import threading
import urllib.parse
from typing import Any, Optional, Tuple

from .errors import AuthError, UnreachableError, error_from_answer

DEFAULT_TIMEOUT = 60.0  # seconds, for requests that do not run a command


def default_node() -> str:
    """``AIRLOCK_NODE``, else the node socket ``airlock exec`` uses by default."""
    env = os.environ.get("AIRLOCK_NODE")
    if env:
        return env
    if os.geteuid() == 0:
        return "unix:/run/airlock/node.sock"
    run = os.environ.get("XDG_RUNTIME_DIR") or "/run/user/%d" % os.geteuid()
    return "unix:" + os.path.join(run, "airlock", "node.sock")


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost")
        self._path = path

    def connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(self._path)
        except OSError:
            s.close()
            raise
        self.sock = s


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class Transport:
    """Requests to one node with one token; thread-safe."""

    def __init__(self, node: Optional[str] = None, token: Optional[str] = None, ca_file: Optional[str] = None,
                 cert_file: Optional[str] = None, key_file: Optional[str] = None) -> None:
        self.node = node or default_node()
        self.token = token if token is not None else os.environ.get("AIRLOCK_TOKEN")
        ca_file = ca_file if ca_file is not None else os.environ.get("AIRLOCK_CA_FILE")
        self._lock = threading.Lock()
        self._idle: list = []
        self._ssl: Optional[ssl.SSLContext] = None
        if self.node.startswith("unix:"):
            self._kind, self._path = "unix", self.node[5:]
            if not self._path:
                raise ValueError("node 'unix:' needs a socket path")
        else:
            u = urllib.parse.urlsplit(self.node)
            if u.scheme not in ("https", "http") or not u.hostname or (u.path not in ("", "/")):
                raise ValueError("node must be unix:PATH, https://HOST:PORT or http://127.0.0.1:PORT, not %r"
                                 % self.node)
            if u.scheme == "http" and not _loopback(u.hostname):
                raise ValueError("plain http is for loopback addresses only; use https:// for %r" % self.node)
            self._kind, self._host = u.scheme, u.hostname
            self._port = u.port or (443 if u.scheme == "https" else 80)
            if u.scheme == "https":
                self._ssl = ssl.create_default_context(cafile=ca_file)
                if cert_file:
                    self._ssl.load_cert_chain(cert_file, key_file)

    # -- connections -------------------------------------------------------
    def _new(self) -> http.client.HTTPConnection:
        if self._kind == "unix":
            return _UnixConnection(self._path)
        if self._kind == "https":
            return http.client.HTTPSConnection(self._host, self._port, context=self._ssl)
        return http.client.HTTPConnection(self._host, self._port)

    def _take(self) -> Tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        return self._new(), False

    def give_back(self, conn: http.client.HTTPConnection, resp: http.client.HTTPResponse) -> None:
        """Keep ``conn`` for the next request if its answer was read whole and it stays open."""
        if resp.will_close or not resp.isclosed() or conn.sock is None:
            conn.close()
            return
        with self._lock:
            if len(self._idle) < 8:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        """Close the kept-alive connections."""
        with self._lock:
            idle, self._idle = self._idle, []
        for c in idle:
            c.close()

    # -- requests ------------------------------------------------------------
    def headers(self, auth: bool, content_type: Optional[str]) -> dict:
        h = {"Host": "localhost" if self._kind == "unix" else "%s:%d" % (self._host, self._port)}
        if auth:
            if not self.token:
                raise AuthError("no node token: pass token= or set AIRLOCK_TOKEN", code="unauthorized")
            h["Authorization"] = "Bearer " + self.token
        if content_type:
            h["Content-Type"] = content_type
        return h

    def open(self, method: str, path: str, body: Optional[bytes] = None, *, auth: bool = True,
             content_type: Optional[str] = None, timeout: Optional[float] = DEFAULT_TIMEOUT
             ) -> Tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """Send a request and return the connection and the response head.

        The caller reads the body and hands the connection back with
        :meth:`give_back` (or closes it).  A kept-alive connection that the
        node closed meanwhile is replaced once, before anything was answered.
        """
        headers = self.headers(auth, content_type)
        if body is not None:
            headers["Content-Length"] = str(len(body))
        for attempt in (0, 1):
            conn, reused = self._take() if attempt == 0 else (self._new(), False)
            try:
                if conn.sock is None:
                    conn.connect()
                conn.sock.settimeout(timeout)
                conn.request(method, path, body=body, headers=headers)
                return conn, conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as e:
                conn.close()
                if reused:
                    continue
                raise UnreachableError("node %s closed the connection: %s" % (self.node, e), code="unreachable")
            except ssl.SSLError as e:
                conn.close()
                raise UnreachableError("TLS with node %s failed: %s" % (self.node, e), code="unreachable")
            except socket.timeout as e:
                conn.close()
                raise UnreachableError("node %s did not answer in %ss" % (self.node, timeout), code="timeout") from e
            except OSError as e:
                conn.close()
                raise UnreachableError("cannot reach node %s: %s" % (self.node, e.strerror or e),
                                       code="unreachable")
        raise AssertionError("unreachable")

    def request(self, method: str, path: str, body: Optional[bytes] = None, *, auth: bool = True,
                content_type: Optional[str] = None, timeout: Optional[float] = DEFAULT_TIMEOUT
                ) -> Tuple[int, bytes, http.client.HTTPResponse]:
        """A whole request: status, body and response (headers); errors are raised."""
        conn, resp = self.open(method, path, body, auth=auth, content_type=content_type, timeout=timeout)
        try:
            data = resp.read()
        except OSError as e:
            conn.close()
            raise UnreachableError("the node's answer broke off: %s" % e, code="unreachable")
        self.give_back(conn, resp)
        if resp.status >= 400:
            raise error_from_answer(resp.status, data, resp.getheader("Retry-After"))
        return resp.status, data, resp

    def json(self, method: str, path: str, doc: Any = None, *, auth: bool = True,
             timeout: Optional[float] = DEFAULT_TIMEOUT) -> Tuple[int, Any]:
        """A request with a JSON body (or none) whose answer is JSON (or empty)."""
        body = None if doc is None else json.dumps(doc).encode()
        status, data, _ = self.request(method, path, body, auth=auth,
                                       content_type="application/json" if body is not None else None,
                                       timeout=timeout)
        return status, (json.loads(data) if data else None)
