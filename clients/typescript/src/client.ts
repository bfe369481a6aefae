// SPDX-License-Identifier: Apache-2.0
// The node API as TypeScript calls: `Node` (every route the SDK uses), the
// command result, and `ExecStream`, an exec whose output is read as an async
// iterator (or callbacks) in the order the node sent it.  This file owns how
// a command becomes a request body (docs/api.md#exec) and how an answer or an
// NDJSON stream becomes a result or a typed error; sandbox.ts builds the
// E2B-shaped `Sandbox` on it.

import type { IncomingMessage } from "node:http";
import {
  AirlockError,
  ApprovalRequiredError,
  CommandExitError,
  CommandTimeoutError,
  ProtocolError,
  UnreachableError,
  errorFromAnswer,
} from "./errors";
import { ConnectionOptions, Transport } from "./transport";

/** A program and its arguments, or a string run by `/bin/sh -c`. */
export type Command = string | readonly string[];

/** The end of a command (docs/api.md#the-result), with camelCase names. */
export interface CommandResult {
  execId: string;
  exitCode: number;
  /** Captured output (without streaming: at most maxOutputBytes together; with streaming: all of it). */
  stdout: string;
  stderr: string;
  timedOut: boolean;
  truncated: boolean;
  oomKilled: boolean;
  cancelled: boolean;
  signal: number;
  success: boolean;
  error: string | null;
  wallMs: number;
  cpuUserMs: number;
  cpuSysMs: number;
  maxRssKb: number;
  state: string;
  sandbox?: string;
  /** The node's object as received. */
  raw: Record<string, unknown>;
}

/** One piece of output of a streamed command. */
export interface OutputEvent {
  type: "stdout" | "stderr";
  data: string;
}

export interface RunOptions {
  /** Absolute working directory inside (default /workspace, /home/sandbox for one-shot). */
  cwd?: string;
  /** Variables added to the sandbox's base environment. */
  env?: Record<string, string>;
  /** Wall-clock limit in ms (default the node's, 30000); the result then has timedOut true. */
  timeoutMs?: number;
  /** Standard input: a string (UTF-8) or bytes. */
  stdin?: string | Uint8Array;
  /** Called with each piece of stdout / stderr as the node streams it. */
  onStdout?: (data: string) => void;
  onStderr?: (data: string) => void;
  /** Called with the exec id once the node accepted the command (streaming). */
  onStart?: (execId: string) => void;
  /** Force streaming on or off (default: on when a callback is given). */
  stream?: boolean;
  /** Cap of captured output without streaming. */
  maxOutputBytes?: number;
  /** "wait" (default: block until a human answers) or "poll" (throw ApprovalRequiredError at once). */
  approval?: "wait" | "poll";
  /** An approved approval, given back with the same command. */
  approvalId?: string;
  /** Throw CommandTimeoutError / CommandExitError unless the command succeeded. */
  check?: boolean;
}

/** Limits of a fresh sandbox: `{memory: "256m", cpus: 0.5, pids: 64, disk: "100m"}`. */
export interface Limits {
  memory?: string | number;
  cpus?: number;
  pids?: number;
  disk?: string | number;
}

export function resultFromNode(doc: Record<string, any>, stdout?: string, stderr?: string): CommandResult {
  if (!doc || typeof doc.exec_id !== "string" || typeof doc.exit_code !== "number") {
    throw new ProtocolError(`the node's result lacks exec_id or exit_code: ${JSON.stringify(doc).slice(0, 200)}`, {
      code: "protocol",
    });
  }
  return {
    execId: doc.exec_id,
    exitCode: doc.exit_code,
    stdout: stdout ?? doc.stdout ?? "",
    stderr: stderr ?? doc.stderr ?? "",
    timedOut: !!doc.timed_out,
    truncated: !!doc.truncated,
    oomKilled: !!doc.oom_killed,
    cancelled: !!doc.cancelled,
    signal: doc.signal ?? 0,
    success: !!doc.success,
    error: doc.error ?? null,
    wallMs: doc.wall_ms ?? 0,
    cpuUserMs: doc.cpu_user_ms ?? 0,
    cpuSysMs: doc.cpu_sys_ms ?? 0,
    maxRssKb: doc.max_rss_kb ?? 0,
    state: doc.state ?? "exited",
    sandbox: doc.sandbox,
    raw: doc,
  };
}

/** Throw unless the command succeeded (what `check: true` does). */
export function checkResult(r: CommandResult): CommandResult {
  if (r.timedOut) throw new CommandTimeoutError(`command ${r.execId} timed out and was killed`, r);
  if (!r.success) {
    throw new CommandExitError(`command ${r.execId} failed: ${r.error ?? "exit code " + r.exitCode}`, r);
  }
  return r;
}

export function execBody(cmd: Command, o: RunOptions & { limits?: Limits }, stream: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (typeof cmd === "string") body.command = cmd;
  else {
    if (!Array.isArray(cmd) || cmd.length === 0 || !cmd.every((a) => typeof a === "string")) {
      throw new TypeError("cmd must be a shell string or a non-empty array of strings");
    }
    body.argv = [...cmd];
  }
  if (o.cwd !== undefined) body.cwd = o.cwd;
  if (o.env && Object.keys(o.env).length) body.env = { ...o.env };
  if (o.timeoutMs !== undefined) body.timeout_ms = Math.round(o.timeoutMs);
  if (o.stdin !== undefined) {
    if (typeof o.stdin === "string") body.stdin = o.stdin;
    else body.stdin_base64 = Buffer.from(o.stdin).toString("base64");
  }
  if (o.limits && Object.keys(o.limits).length) body.limits = { ...o.limits };
  if (o.maxOutputBytes !== undefined && !stream) body.max_output_bytes = o.maxOutputBytes;
  if (o.approval !== undefined) body.approval = o.approval;
  if (o.approvalId !== undefined) body.approval_id = o.approvalId;
  if (stream) body.stream = true;
  return body;
}

const seg = (s: string) => encodeURIComponent(s);

/**
 * A streamed command.  Iterate it (`for await (const ev of stream)`) for
 * its output in order; `result` resolves at its end; `kill()` and
 * `signal()` reach it while it runs.  Output is also kept in the result.
 */
export class ExecStream implements AsyncIterable<OutputEvent> {
  /** The exec id, once the node accepted the command. */
  readonly execId: Promise<string>;
  /** The result, once the command ended (rejects with the typed error). */
  readonly result: Promise<CommandResult>;
  private readonly queue: OutputEvent[] = [];
  private wake?: () => void;
  private finished = false;
  private failure?: unknown;
  private res?: IncomingMessage;

  constructor(
    private readonly node: Node,
    transport: Transport,
    path: string,
    body: Record<string, unknown>,
    private readonly opts: RunOptions,
  ) {
    let started!: (id: string) => void;
    let notStarted!: (e: unknown) => void;
    this.execId = new Promise((res, rej) => ((started = res), (notStarted = rej)));
    this.result = this.drive(transport, path, body, started).then(
      (r) => {
        this.finish();
        return opts.check ? checkResult(r) : r;
      },
      (e) => {
        notStarted(e);
        this.finish(e);
        throw e;
      },
    );
    // awaited by the caller or not: never an unhandled rejection
    this.execId.catch(() => undefined);
    this.result.catch(() => undefined);
  }

  private finish(e?: unknown): void {
    this.finished = true;
    this.failure = e;
    this.wake?.();
  }

  private push(ev: OutputEvent): void {
    this.queue.push(ev);
    this.wake?.();
  }

  private async drive(
    transport: Transport,
    path: string,
    body: Record<string, unknown>,
    started: (id: string) => void,
  ): Promise<CommandResult> {
    const res = await transport.open("POST", path, Buffer.from(JSON.stringify(body)), {
      contentType: "application/json",
    });
    this.res = res;
    const status = res.statusCode ?? 0;
    if (status !== 200) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      const data = Buffer.concat(chunks);
      if (status >= 400) throw errorFromAnswer(status, data, res.headers["retry-after"] as string | undefined);
      if (status === 202) throw new ApprovalRequiredError(JSON.parse(data.toString("utf8")));
      throw new ProtocolError(`unexpected answer ${status} to a streamed exec`, { status, code: "protocol" });
    }
    const out: string[] = [];
    const err: string[] = [];
    let end: Record<string, any> | undefined;
    let pending: Buffer = Buffer.alloc(0);
    const handle = (line: Buffer) => {
      if (!line.length) return;
      let rec: Record<string, any>;
      try {
        rec = JSON.parse(line.toString("utf8"));
      } catch {
        throw new ProtocolError(`not a JSON record in the stream: ${line.toString("utf8").slice(0, 200)}`, {
          code: "protocol",
        });
      }
      const data = typeof rec.data === "string" ? rec.data : "";
      switch (rec.type) {
        case "started":
          started(rec.exec_id);
          this.opts.onStart?.(rec.exec_id);
          break;
        case "stdout":
          out.push(data);
          this.opts.onStdout?.(data);
          this.push({ type: "stdout", data });
          break;
        case "stderr":
          err.push(data);
          this.opts.onStderr?.(data);
          this.push({ type: "stderr", data });
          break;
        case "exit":
          end = rec;
          break;
      }
    };
    try {
      for await (const chunk of res) {
        pending = pending.length ? Buffer.concat([pending, chunk as Buffer]) : (chunk as Buffer);
        let nl: number;
        while ((nl = pending.indexOf(10)) >= 0) {
          const line = pending.subarray(0, nl);
          pending = pending.subarray(nl + 1);
          handle(line);
        }
      }
      handle(pending);
    } catch (e) {
      // a callback that threw, or a broken stream: closing the connection
      // makes the node cancel the command
      res.destroy();
      if (e instanceof AirlockError || !(e instanceof Error) || !("code" in e)) throw e;
      throw new UnreachableError(`the stream broke off: ${e.message}`, { code: "unreachable" });
    }
    if (!end) throw new ProtocolError("the stream ended without an exit record", { code: "protocol" });
    return resultFromNode(end, out.join(""), err.join(""));
  }

  async *[Symbol.asyncIterator](): AsyncIterator<OutputEvent> {
    for (;;) {
      const ev = this.queue.shift();
      if (ev) {
        yield ev;
        continue;
      }
      if (this.finished) {
        if (this.failure !== undefined) throw this.failure;
        return;
      }
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
  }

  /** Cancel the command (SIGKILL); the result then has cancelled true. */
  async kill(): Promise<void> {
    await this.node.cancel(await this.execId);
  }

  /** Send a signal ("TERM", "INT", ... or a number) to the command's process group. */
  async signal(sig: string | number): Promise<void> {
    await this.node.signal(await this.execId, sig);
  }
}

/**
 * A connection to one `airlock node` with one token (a tenant); every route
 * of the API the SDK uses.  `close()` ends its kept-alive connections.
 */
export class Node {
  readonly transport: Transport;

  constructor(opts: ConnectionOptions = {}) {
    this.transport = new Transport(opts);
  }

  /** Where the node is, as given. */
  get address(): string {
    return this.transport.node;
  }

  close(): void {
    this.transport.close();
  }

  // -- node ----------------------------------------------------------------
  /** `GET /v1/health` (no token needed). */
  async health(): Promise<Record<string, any>> {
    return (await this.transport.json("GET", "/v1/health", undefined, { auth: false })).doc;
  }

  /** `GET /metrics`: Prometheus text. */
  async metrics(): Promise<string> {
    return (await this.transport.request("GET", "/metrics", undefined, { auth: false })).body.toString("utf8");
  }

  /** `GET /v1/whoami`. */
  async whoami(): Promise<{ tenant: string; approver: boolean }> {
    return (await this.transport.json("GET", "/v1/whoami")).doc;
  }

  // -- execs -----------------------------------------------------------------
  /** Run a command (`POST /v1/exec`, or `.../sandboxes/ID/exec` with `sandbox`) and resolve with its result. */
  async exec(cmd: Command, opts: RunOptions & { sandbox?: string; limits?: Limits } = {}): Promise<CommandResult> {
    const streaming = opts.stream ?? !!(opts.onStdout || opts.onStderr || opts.onStart);
    if (streaming) return this.stream(cmd, opts).result;
    const body = execBody(cmd, opts, false);
    const { status, doc } = await this.transport.json("POST", this.execPath(opts.sandbox), body, { timeoutMs: 0 });
    if (status === 202) throw new ApprovalRequiredError(doc);
    const r = resultFromNode(doc);
    return opts.check ? checkResult(r) : r;
  }

  /** Start a streamed command: iterate the returned stream for its output, await `.result` for its end. */
  stream(cmd: Command, opts: RunOptions & { sandbox?: string; limits?: Limits } = {}): ExecStream {
    return new ExecStream(this, this.transport, this.execPath(opts.sandbox), execBody(cmd, opts, true), opts);
  }

  private execPath(sandbox?: string): string {
    return sandbox ? `/v1/sandboxes/${seg(sandbox)}/exec` : "/v1/exec";
  }

  /** `GET /v1/execs/ID`. */
  async getExec(execId: string): Promise<Record<string, any>> {
    return (await this.transport.json("GET", `/v1/execs/${seg(execId)}`)).doc;
  }

  /** `POST /v1/execs/ID/signal`. */
  async signal(execId: string, sig: string | number = "TERM"): Promise<Record<string, any>> {
    return (await this.transport.json("POST", `/v1/execs/${seg(execId)}/signal`, { signal: sig })).doc;
  }

  /** `DELETE /v1/execs/ID`: cancel (SIGKILL). */
  async cancel(execId: string): Promise<Record<string, any>> {
    return (await this.transport.json("DELETE", `/v1/execs/${seg(execId)}`)).doc;
  }

  // -- sandboxes ----------------------------------------------------------------
  /** `POST /v1/sandboxes` with the fields of docs/api.md#persistent-sandboxes. */
  async createSandbox(fields: Record<string, unknown> = {}): Promise<Record<string, any>> {
    const body = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
    return (await this.transport.json("POST", "/v1/sandboxes", body, { timeoutMs: 0 })).doc;
  }

  /** `GET /v1/sandboxes`: this tenant's, newest first. */
  async sandboxes(): Promise<Record<string, any>[]> {
    return (await this.transport.json("GET", "/v1/sandboxes")).doc.sandboxes;
  }

  /** `GET /v1/sandboxes/ID`. */
  async getSandbox(id: string): Promise<Record<string, any>> {
    return (await this.transport.json("GET", `/v1/sandboxes/${seg(id)}`)).doc;
  }

  /** `DELETE /v1/sandboxes/ID`. */
  async destroySandbox(id: string): Promise<void> {
    await this.transport.request("DELETE", `/v1/sandboxes/${seg(id)}`);
  }

  // -- files ----------------------------------------------------------------------
  private filesPath(id: string, path: string, op?: string): string {
    return `/v1/sandboxes/${seg(id)}/files?path=${encodeURIComponent(path)}${op ? "&op=" + op : ""}`;
  }

  /** `GET .../files?path=P`. */
  async readFile(id: string, path: string): Promise<Buffer> {
    return (await this.transport.request("GET", this.filesPath(id, path), undefined, { timeoutMs: 0 })).body;
  }

  /** `PUT .../files?path=P`. */
  async writeFile(id: string, path: string, data: Uint8Array): Promise<void> {
    await this.transport.request("PUT", this.filesPath(id, path), Buffer.from(data), {
      contentType: "application/octet-stream",
      timeoutMs: 0,
    });
  }

  /** `GET .../files?path=P&op=list`. */
  async listFiles(id: string, path: string): Promise<Record<string, any>[]> {
    return (await this.transport.json("GET", this.filesPath(id, path, "list"))).doc.entries;
  }

  /** `GET .../files?path=P&op=stat`. */
  async statFile(id: string, path: string): Promise<Record<string, any>> {
    return (await this.transport.json("GET", this.filesPath(id, path, "stat"))).doc;
  }

  /** `DELETE .../files?path=P`. */
  async removeFile(id: string, path: string): Promise<void> {
    await this.transport.request("DELETE", this.filesPath(id, path));
  }

  // -- approvals and audit -----------------------------------------------------------
  /** `GET /v1/approvals?state=pending|all`. */
  async approvals(state: "pending" | "all" = "pending"): Promise<Record<string, any>[]> {
    return (await this.transport.json("GET", `/v1/approvals?state=${state}`)).doc.approvals;
  }

  /** `GET /v1/approvals/ID`. */
  async approval(id: string): Promise<Record<string, any>> {
    return (await this.transport.json("GET", `/v1/approvals/${seg(id)}`)).doc;
  }

  /** `POST /v1/approvals/ID/approve` (an approver's token, not the requester's). */
  async approve(id: string, always = false): Promise<Record<string, any>> {
    return (await this.transport.json("POST", `/v1/approvals/${seg(id)}/approve`, always ? { always: true } : {})).doc;
  }

  /** `POST /v1/approvals/ID/reject`. */
  async reject(id: string, reason?: string): Promise<Record<string, any>> {
    return (await this.transport.json("POST", `/v1/approvals/${seg(id)}/reject`, reason ? { reason } : {})).doc;
  }

  /** Poll an approval until it is no longer pending, or `timeoutMs` passes. */
  async waitApproval(id: string, timeoutMs = 300_000, intervalMs = 250): Promise<Record<string, any>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const a = await this.approval(id);
      if (a.state !== "pending" || Date.now() >= deadline) return a;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  /** `GET /v1/audit?...`: records, newest first (every tenant's for an approver's token, else its own tenant's). */
  async audit(filters: Record<string, string | number> = {}): Promise<Record<string, any>[]> {
    const q = new URLSearchParams(Object.entries(filters).map(([k, v]): [string, string] => [k, String(v)])).toString();
    return (await this.transport.json("GET", "/v1/audit" + (q ? "?" + q : ""))).doc.records;
  }
}
