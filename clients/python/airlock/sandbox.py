# SPDX-License-Identifier: Apache-2.0
"""``Sandbox``: a persistent airlock sandbox with the shape E2B users know.

This module owns the object a user holds: ``Sandbox.create()`` makes the
sandbox on the node and waits until it is ready, ``run()`` runs commands in
it, ``files`` reads and writes its ``/workspace``, and ``destroy()`` (or the
end of a ``with`` block) removes it.  The wire calls are :class:`airlock.Node`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Union

from .client import Command, CommandHandle, CommandResult, Node, OutputCallback

WORKSPACE = "/workspace"


@dataclass
class FileEntry:
    """One entry of a listing or a stat (docs/api.md#files)."""

    name: str
    type: str  # "file", "dir", "symlink" or "other"
    size: int
    mode: int  # permission bits, st_mode & 0o7777
    mtime: int  # Unix seconds

    @classmethod
    def from_node(cls, d: Mapping[str, Any]) -> "FileEntry":
        return cls(name=d["name"], type=d["type"], size=int(d["size"]), mode=int(d["mode"]), mtime=int(d["mtime"]))


def _rel(path: str) -> str:
    """A workspace path as the files API wants it: relative to /workspace."""
    if path == WORKSPACE or path == WORKSPACE + "/":
        return "."
    if path.startswith(WORKSPACE + "/"):
        return path[len(WORKSPACE) + 1:]
    if path.startswith("/"):
        raise ValueError("files live in /workspace: %r is outside it" % path)
    return path


class Files:
    """The sandbox's ``/workspace`` from the host side (``sandbox.files``).

    Paths are relative to ``/workspace`` (``"src/main.py"``) or absolute
    below it (``"/workspace/src/main.py"``).  The node resolves them inside
    the workspace only; symbolic links that lead out are refused.
    """

    def __init__(self, node: Node, sandbox_id: str) -> None:
        self._node = node
        self._id = sandbox_id

    def read(self, path: str) -> bytes:
        """The content of a regular file, as bytes."""
        return self._node.read_file(self._id, _rel(path))

    def read_text(self, path: str, encoding: str = "utf-8") -> str:
        """The content of a regular file, decoded."""
        return self.read(path).decode(encoding)

    def write(self, path: str, data: Union[bytes, bytearray, memoryview, str], encoding: str = "utf-8") -> None:
        """Create or replace a file (its directory must exist; ``run(["mkdir", "-p", d])`` makes one)."""
        if isinstance(data, str):
            data = data.encode(encoding)
        self._node.write_file(self._id, _rel(path), bytes(data))

    def list(self, path: str = ".") -> List[FileEntry]:
        """The entries of a directory, in directory order (links are not followed)."""
        return [FileEntry.from_node(e) for e in self._node.list_files(self._id, _rel(path))]

    def stat(self, path: str) -> FileEntry:
        """One entry (a link that stays inside the workspace is followed)."""
        return FileEntry.from_node(self._node.stat_file(self._id, _rel(path)))

    def exists(self, path: str) -> bool:
        """Whether the path exists in the workspace."""
        from .errors import NotFoundError

        try:
            self._node.stat_file(self._id, _rel(path))
            return True
        except NotFoundError:
            return False

    def remove(self, path: str) -> None:
        """Remove a file, a symbolic link or an empty directory."""
        self._node.remove_file(self._id, _rel(path))


class _Commands:
    """``sandbox.commands.run(...)``, E2B's spelling of :meth:`Sandbox.run`."""

    def __init__(self, sandbox: "Sandbox") -> None:
        self.run = sandbox.run


class Sandbox:
    """A persistent sandbox on an airlock node.

    Make one with :meth:`create` (or attach to an existing one with
    :meth:`connect`); it keeps its processes and files between commands
    until :meth:`destroy`, its idle timeout or its maximum age.  As a
    context manager it is destroyed at the end of the block::

        with airlock.Sandbox.create() as sb:
            sb.files.write("hello.py", "print('hi')")
            print(sb.run(["python3", "hello.py"]).stdout)
    """

    def __init__(self, node: Node, info: Dict[str, Any], owns_node: bool = False) -> None:
        self.node = node
        self.info = info
        self.id: str = info["id"]
        self.files = Files(node, self.id)
        self.commands = _Commands(self)
        self._owns_node = owns_node
        self._destroyed = False

    @classmethod
    def create(cls, *, node: Union[str, Node, None] = None, token: Optional[str] = None,
               ca_file: Optional[str] = None, cert_file: Optional[str] = None, key_file: Optional[str] = None,
               workspace: Optional[str] = None, workspace_access: Optional[str] = None,
               memory: Union[str, int, None] = None, cpus: Optional[float] = None, pids: Optional[int] = None,
               disk: Union[str, int, None] = None, labels: Optional[Mapping[str, str]] = None,
               idle_timeout: Optional[int] = None, max_age: Optional[int] = None) -> "Sandbox":
        """Create a persistent sandbox (``POST /v1/sandboxes``) and return it once ready.

        Args:
            node: a :class:`Node`, or where the node is (see :class:`Node`).
            token, ca_file, cert_file, key_file: as for :class:`Node`.
            workspace: a host directory below ``workspace_root/<tenant>/`` to
                mount at /workspace; default a new empty one that goes with
                the sandbox.
            workspace_access: ``"ro"`` or ``"rw"`` (default).
            memory, cpus, pids, disk: limits (``"512m"``, ``0.5``, ``128``, ``"1g"``).
            labels: free-form strings returned with the sandbox.
            idle_timeout, max_age: seconds; the node's defaults otherwise.
        """
        n, owns = _node(node, token, ca_file, cert_file, key_file)
        limits = {k: v for k, v in (("memory", memory), ("cpus", cpus), ("pids", pids), ("disk", disk))
                  if v is not None}
        try:
            info = n.create_sandbox(workspace=workspace, workspace_access=workspace_access, limits=limits or None,
                                    labels=dict(labels) if labels else None, idle_timeout_s=idle_timeout,
                                    max_age_s=max_age)
        except BaseException:
            if owns:
                n.close()
            raise
        return cls(n, info, owns)

    @classmethod
    def connect(cls, sandbox_id: str, *, node: Union[str, Node, None] = None, token: Optional[str] = None,
                ca_file: Optional[str] = None, cert_file: Optional[str] = None,
                key_file: Optional[str] = None) -> "Sandbox":
        """Attach to an existing sandbox of this tenant (``GET /v1/sandboxes/ID``)."""
        n, owns = _node(node, token, ca_file, cert_file, key_file)
        try:
            return cls(n, n.get_sandbox(sandbox_id), owns)
        except BaseException:
            if owns:
                n.close()
            raise

    @classmethod
    def list(cls, *, node: Union[str, Node, None] = None, token: Optional[str] = None,
             ca_file: Optional[str] = None) -> List[Dict[str, Any]]:
        """This tenant's persistent sandboxes (``GET /v1/sandboxes``), newest first."""
        n, owns = _node(node, token, ca_file, None, None)
        try:
            return n.sandboxes()
        finally:
            if owns:
                n.close()

    def refresh(self) -> Dict[str, Any]:
        """Read the sandbox again (``execs_running``, ``state``...) and return it."""
        self.info = self.node.get_sandbox(self.id)
        return self.info

    def run(self, cmd: Command, *, cwd: Optional[str] = None, env: Optional[Mapping[str, str]] = None,
            timeout: Optional[float] = None, stdin: Union[str, bytes, None] = None,
            on_stdout: Optional[OutputCallback] = None, on_stderr: Optional[OutputCallback] = None,
            on_start: Optional[Callable[[str], Any]] = None, stream: Optional[bool] = None,
            max_output_bytes: Optional[int] = None, approval: Optional[str] = None,
            approval_id: Optional[str] = None, check: bool = False, background: bool = False,
            request_timeout: Optional[float] = None) -> Any:
        """Run a command in the sandbox and return its :class:`CommandResult`.

        Args:
            cmd: a list (``["ls", "-l"]``: program and arguments, looked up in
                ``PATH``) or a string run by ``/bin/sh -c``.
            cwd: absolute directory inside (default ``/workspace``).
            env: variables added to the sandbox's base environment.
            timeout: seconds (default the node's, 30); the command is killed
                then and the result has ``timed_out`` true.
            stdin: the command's standard input (``str`` or ``bytes``).
            on_stdout, on_stderr: called with each piece of output as the node
                streams it (``"stream": true``); the result holds it all too.
            on_start: called with the exec id once the node accepted it.
            stream: force streaming on or off (default: on with a callback).
            max_output_bytes: cap of captured output without streaming.
            approval: ``"wait"`` (default: block until a human answers) or
                ``"poll"``: raise :class:`ApprovalRequiredError` at once.
            approval_id: an approved approval, given back with the same command.
            check: raise :class:`CommandTimeoutError` / :class:`CommandExitError`
                unless the command succeeded.
            background: return a :class:`CommandHandle` at once.

        Raises:
            RefusedError: the policy denied it (``.rule``) or a maximum was hit.
            ApprovalRequiredError, ApprovalRejectedError, ApprovalTimeoutError.
            AuthError, NotFoundError (sandbox gone), OverCapacityError, ...
        """
        kw: Dict[str, Any] = dict(sandbox=self.id, cwd=cwd, env=env, timeout=timeout, stdin=stdin,
                                  on_stdout=on_stdout, on_stderr=on_stderr, on_start=on_start,
                                  max_output_bytes=max_output_bytes, approval=approval, approval_id=approval_id,
                                  check=check, request_timeout=request_timeout)
        if background:
            return CommandHandle(self.node, lambda **k: self.node.exec(cmd, **k), **kw)
        return self.node.exec(cmd, stream=stream, **kw)

    def destroy(self) -> None:
        """Destroy the sandbox (``DELETE /v1/sandboxes/ID``); a second call does nothing."""
        if self._destroyed:
            return
        from .errors import NotFoundError

        try:
            self.node.destroy_sandbox(self.id)
        except NotFoundError:
            pass  # expired or destroyed elsewhere: gone either way
        self._destroyed = True
        if self._owns_node:
            self.node.close()

    kill = destroy  # E2B's name

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.destroy()

    def __repr__(self) -> str:
        return "Sandbox(%r, node=%r)" % (self.id, self.node.address)


def _node(node: Union[str, Node, None], token: Optional[str], ca_file: Optional[str], cert_file: Optional[str],
          key_file: Optional[str]) -> "tuple[Node, bool]":
    if isinstance(node, Node):
        return node, False
    return Node(node, token, ca_file=ca_file, cert_file=cert_file, key_file=key_file), True
