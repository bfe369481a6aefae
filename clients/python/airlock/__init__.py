# SPDX-License-Identifier: Apache-2.0
"""airlock: run commands in airlock sandboxes from Python.

This package is the Python client of an ``airlock node`` (docs/api.md):
:class:`Sandbox` for persistent sandboxes in the shape E2B users know,
:func:`run` for one command in a fresh sandbox, :class:`Node` for every
route, and typed exceptions.  Standard library only.

    import airlock
    print(airlock.run("echo hi").stdout)
    with airlock.Sandbox.create() as sb:
        sb.files.write("data.txt", "x")
        sb.run(["cat", "data.txt"], on_stdout=print)

The node and the token come from the arguments or from ``AIRLOCK_NODE``
(``unix:/path`` or ``https://host:port``), ``AIRLOCK_TOKEN`` and
``AIRLOCK_CA_FILE``.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Union

from .client import Command, CommandHandle, CommandResult, Node, OutputCallback
from .errors import (AirlockError, ApprovalMismatchError, ApprovalRejectedError, ApprovalRequiredError,
                     ApprovalTimeoutError, AuthError, BadRequestError, CommandExitError, CommandTimeoutError,
                     ConflictError, NotFoundError, OverCapacityError, ProtocolError, RefusedError, ServerError,
                     UnreachableError)
from .sandbox import FileEntry, Files, Sandbox

#: The airlock release whose node API (``/v1``) this SDK speaks; the node
#: reports its own in ``GET /v1/health`` (``version``).
__version__ = "0.1.0"
#: The path prefix of the node API.
API_VERSION = "v1"

__all__ = [
    "API_VERSION", "AirlockError", "ApprovalMismatchError", "ApprovalRejectedError", "ApprovalRequiredError",
    "ApprovalTimeoutError", "AuthError", "BadRequestError", "Command", "CommandExitError", "CommandHandle",
    "CommandResult", "CommandTimeoutError", "ConflictError", "FileEntry", "Files", "Node", "NotFoundError",
    "OverCapacityError", "ProtocolError", "RefusedError", "Sandbox", "ServerError", "UnreachableError", "run",
]


def run(cmd: Command, *, node: Union[str, Node, None] = None, token: Optional[str] = None,
        ca_file: Optional[str] = None, cwd: Optional[str] = None, env: Optional[Mapping[str, str]] = None,
        timeout: Optional[float] = None, stdin: Union[str, bytes, None] = None,
        memory: Union[str, int, None] = None, cpus: Optional[float] = None, pids: Optional[int] = None,
        disk: Union[str, int, None] = None, on_stdout: Optional[OutputCallback] = None,
        on_stderr: Optional[OutputCallback] = None, max_output_bytes: Optional[int] = None,
        approval: Optional[str] = None, approval_id: Optional[str] = None, check: bool = False) -> CommandResult:
    """Run one command in a fresh one-shot sandbox (``POST /v1/exec``) and return its result.

    The sandbox, and everything the command started, is gone when this
    returns.  Arguments as for :meth:`Sandbox.run`, plus limits of the fresh
    sandbox (``memory="256m"``, ``cpus=0.5``, ``pids``, ``disk``).
    """
    owns = not isinstance(node, Node)
    n = Node(node, token, ca_file=ca_file) if owns else node  # type: ignore[arg-type]
    limits = {k: v for k, v in (("memory", memory), ("cpus", cpus), ("pids", pids), ("disk", disk)) if v is not None}
    try:
        return n.exec(cmd, cwd=cwd, env=env, timeout=timeout, stdin=stdin, limits=limits or None,
                      on_stdout=on_stdout, on_stderr=on_stderr, max_output_bytes=max_output_bytes,
                      approval=approval, approval_id=approval_id, check=check)
    finally:
        if owns:
            n.close()
