# SPDX-License-Identifier: Apache-2.0
"""Typed exceptions of the airlock SDK.

This module owns the mapping from the node's JSON error answers
({"error": {"code", "message"}}, docs/api.md#errors) to Python exceptions, so
that callers can catch a policy denial, a missing approval or a bad token by
type instead of parsing status codes.
"""

from __future__ import annotations

import builtins
from typing import Any, Optional


class AirlockError(Exception):
    """Base class of every error the SDK raises.

    Attributes:
        status: HTTP status of the node's answer (0 when there was none).
        code: the node's error code (``"policy_denied"``, ``"not_found"``...),
            or an SDK code (``"unreachable"``, ``"protocol"``, ``"exit"``).
        message: the node's message, or the SDK's.
        body: the decoded JSON answer when there was one.
    """

    def __init__(self, message: str, *, status: int = 0, code: str = "", body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.body = body

    def __str__(self) -> str:
        if self.status:
            return "%s (%d %s)" % (self.message, self.status, self.code)
        return self.message


class AuthError(AirlockError):
    """401: no token, a malformed, unknown or revoked one."""


class NotFoundError(AirlockError):
    """404: no such sandbox, exec, approval, file or route (another tenant's ids too)."""


class BadRequestError(AirlockError):
    """400: the node refused the request's body or query (the message names the field)."""


class RefusedError(AirlockError):
    """403: the node refused to do it.

    ``rule`` is set when the autonomy policy denied the request
    (code ``policy_denied``): the rule that decided, as the node names it.
    Other 403s (maxima, workspaces outside the tenant's directory, CSRF)
    leave it ``None``.
    """

    def __init__(self, message: str, *, rule: Optional[str] = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.rule = rule


class ApprovalRejectedError(RefusedError):
    """403 ``approval_rejected``: an approver said no."""


class ApprovalTimeoutError(RefusedError, builtins.TimeoutError):
    """403 ``approval_timeout``: nobody answered the approval in time."""


class ApprovalMismatchError(RefusedError):
    """403/409 ``approval_mismatch``: the approval was for another request, or the file changed."""


class ApprovalRequiredError(AirlockError):
    """The command needs a human's approval (``approval="poll"``: the node answered 202).

    ``approval_id`` names the approval; wait for it with
    :meth:`airlock.Node.wait_approval` and run the same command again with
    ``approval_id=...``.  ``approval`` is the node's approval object.
    """

    def __init__(self, message: str, *, approval: dict, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.approval = approval
        self.approval_id: str = approval.get("approval_id", "")
        self.rule: Optional[str] = approval.get("rule")


class ConflictError(AirlockError):
    """409: the exec has finished, the approval was answered, the directory is not empty..."""


class OverCapacityError(AirlockError):
    """429: a maximum of the node or the token is reached; retry after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: Optional[float] = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(AirlockError):
    """500/503: the sandbox could not be set up, the audit trail is behind, ..."""


class UnreachableError(AirlockError):
    """The node could not be reached (no socket, connection refused, TLS failure)."""


class ProtocolError(AirlockError):
    """The node's answer broke off or was not what the API promises."""


class CommandTimeoutError(AirlockError, builtins.TimeoutError):
    """The command reached its ``timeout`` and was killed (raised with ``check=True``).

    ``result`` is the :class:`airlock.CommandResult` (``timed_out`` true).
    """

    def __init__(self, message: str, *, result: Any, **kw: Any) -> None:
        super().__init__(message, code="timeout", **kw)
        self.result = result


class CommandExitError(AirlockError):
    """The command exited non-zero (raised with ``check=True``); ``result`` holds it."""

    def __init__(self, message: str, *, result: Any, **kw: Any) -> None:
        super().__init__(message, code="exit", **kw)
        self.result = result
        self.exit_code: int = result.exit_code


_BY_CODE = {
    "approval_rejected": ApprovalRejectedError,
    "approval_timeout": ApprovalTimeoutError,
    "approval_mismatch": ApprovalMismatchError,
}
_BY_STATUS = {
    400: BadRequestError,
    401: AuthError,
    403: RefusedError,
    404: NotFoundError,
    409: ConflictError,
    429: OverCapacityError,
}

_DENIED_PREFIX = "denied by policy: "


def error_from_answer(status: int, body: bytes, retry_after: Optional[str] = None) -> AirlockError:
    """The exception for a node answer with an error status."""
    import json

    code, message, doc = "", "", None
    try:
        doc = json.loads(body) if body else None
        err = doc.get("error") if isinstance(doc, dict) else None
        if isinstance(err, dict):
            code = str(err.get("code", ""))
            message = str(err.get("message", ""))
    except ValueError:
        doc = None
    if not message:
        text = body.decode("utf-8", "replace").strip()
        message = "node answered %d%s" % (status, (": " + text[:200]) if text else "")
    cls = _BY_CODE.get(code) or _BY_STATUS.get(status) or (ServerError if status >= 500 else AirlockError)
    kw: dict = {"status": status, "code": code, "body": doc}
    if cls is OverCapacityError:
        try:
            kw["retry_after"] = float(retry_after) if retry_after else None
        except ValueError:
            kw["retry_after"] = None
    if issubclass(cls, RefusedError):
        rule = None
        if code == "policy_denied":
            rule = message[len(_DENIED_PREFIX):] if message.startswith(_DENIED_PREFIX) else message
        kw["rule"] = rule
    return cls(message, **kw)
