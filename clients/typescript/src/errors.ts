// SPDX-License-Identifier: Apache-2.0
// Typed errors of the airlock TypeScript SDK: this file owns the mapping from
// the node's JSON error answers ({"error": {"code", "message"}},
// docs/api.md#errors) to classes, so callers can tell a policy denial, a
// missing approval or a bad token apart with `instanceof`.

/** Base class of every error the SDK throws. */
export class AirlockError extends Error {
  /** HTTP status of the node's answer; 0 when there was none. */
  readonly status: number;
  /** The node's error code (`policy_denied`, `not_found`, ...) or the SDK's (`unreachable`, `protocol`). */
  readonly code: string;
  /** The decoded JSON answer, when there was one. */
  readonly body: unknown;

  constructor(message: string, opts: { status?: number; code?: string; body?: unknown } = {}) {
    super(message);
    this.name = new.target.name;
    this.status = opts.status ?? 0;
    this.code = opts.code ?? "";
    this.body = opts.body;
  }
}

/** 401: no token, or an unknown, malformed or revoked one. */
export class AuthError extends AirlockError {}
/** 404: no such sandbox, exec, approval, file or route (another tenant's ids too). */
export class NotFoundError extends AirlockError {}
/** 400: the node refused the request's body or query; the message names the field. */
export class BadRequestError extends AirlockError {}

/** 403: refused. `rule` is the policy rule that denied it (code `policy_denied`), else undefined. */
export class RefusedError extends AirlockError {
  readonly rule?: string;
  constructor(message: string, opts: { status?: number; code?: string; body?: unknown; rule?: string } = {}) {
    super(message, opts);
    this.rule = opts.rule;
  }
}
/** 403 `approval_rejected`: an approver said no. */
export class ApprovalRejectedError extends RefusedError {}
/** 403 `approval_timeout`: nobody answered in time. */
export class ApprovalTimeoutError extends RefusedError {}
/** 403/409 `approval_mismatch`: the approval was for another request, used already, or a file changed. */
export class ApprovalMismatchError extends RefusedError {}

/** The command needs a human's approval (`approval: "poll"`, the node answered 202). */
export class ApprovalRequiredError extends AirlockError {
  readonly approvalId: string;
  readonly rule?: string;
  readonly approval: Record<string, unknown>;
  constructor(approval: Record<string, unknown>) {
    super(`the command needs an approval (${String(approval.approval_id)}): ${String(approval.rule ?? "")}`, {
      status: 202,
      code: "approval_required",
      body: approval,
    });
    this.approval = approval;
    this.approvalId = String(approval.approval_id ?? "");
    this.rule = typeof approval.rule === "string" ? approval.rule : undefined;
  }
}

/** 409: the exec has finished, the approval was answered, a directory is not empty, ... */
export class ConflictError extends AirlockError {}
/** 429: a maximum of the node or token is reached; retry after `retryAfter` seconds. */
export class OverCapacityError extends AirlockError {
  retryAfter?: number;
}
/** 5xx: the sandbox could not be set up, the audit trail is behind, ... */
export class ServerError extends AirlockError {}
/** The node could not be reached (no socket, refused, TLS verification failed). */
export class UnreachableError extends AirlockError {}
/** The node's answer broke off or was not what the API promises. */
export class ProtocolError extends AirlockError {}

/** With `check: true`: the command reached its timeout and was killed; `result` holds it. */
export class CommandTimeoutError extends AirlockError {
  readonly result: unknown;
  constructor(message: string, result: unknown) {
    super(message, { code: "timeout" });
    this.result = result;
  }
}
/** With `check: true`: the command failed; `result` holds it. */
export class CommandExitError extends AirlockError {
  readonly result: unknown;
  readonly exitCode: number;
  constructor(message: string, result: { exitCode: number }) {
    super(message, { code: "exit" });
    this.result = result;
    this.exitCode = result.exitCode;
  }
}

const DENIED = "denied by policy: ";

/** The error for a node answer with an error status. */
export function errorFromAnswer(status: number, body: Buffer, retryAfter?: string): AirlockError {
  let code = "";
  let message = "";
  let doc: unknown;
  try {
    doc = body.length ? JSON.parse(body.toString("utf8")) : undefined;
    const err = (doc as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    if (err && typeof err === "object") {
      code = String(err.code ?? "");
      message = String(err.message ?? "");
    }
  } catch {
    doc = undefined;
  }
  if (!message) {
    const text = body.toString("utf8").trim().slice(0, 200);
    message = `node answered ${status}${text ? ": " + text : ""}`;
  }
  const opts = { status, code, body: doc };
  switch (code) {
    case "approval_rejected":
      return new ApprovalRejectedError(message, opts);
    case "approval_timeout":
      return new ApprovalTimeoutError(message, opts);
    case "approval_mismatch":
      return new ApprovalMismatchError(message, opts);
  }
  switch (status) {
    case 400:
      return new BadRequestError(message, opts);
    case 401:
      return new AuthError(message, opts);
    case 403:
      return new RefusedError(message, {
        ...opts,
        rule: code === "policy_denied" ? (message.startsWith(DENIED) ? message.slice(DENIED.length) : message) : undefined,
      });
    case 404:
      return new NotFoundError(message, opts);
    case 409:
      return new ConflictError(message, opts);
    case 429: {
      const e = new OverCapacityError(message, opts);
      const n = retryAfter !== undefined ? Number(retryAfter) : NaN;
      e.retryAfter = Number.isFinite(n) ? n : undefined;
      return e;
    }
  }
  return status >= 500 ? new ServerError(message, opts) : new AirlockError(message, opts);
}
