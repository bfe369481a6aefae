// SPDX-License-Identifier: Apache-2.0
// `Sandbox`: a persistent airlock sandbox in the shape E2B users know.  This
// file owns the object a user holds: `Sandbox.create()` makes it on the node
// and resolves once it is ready, `run()` / `stream()` run commands in it,
// `files` reads and writes its /workspace, `destroy()` (or `await using`)
// removes it.  The wire calls are `Node`'s (client.ts).

import { Command, CommandResult, ExecStream, Limits, Node, RunOptions } from "./client";
import { NotFoundError } from "./errors";
import { ConnectionOptions } from "./transport";

const WORKSPACE = "/workspace";

/** One entry of a listing or a stat (docs/api.md#files). */
export interface FileEntry {
  name: string;
  type: "file" | "dir" | "symlink" | "other";
  size: number;
  /** Permission bits, st_mode & 0o7777. */
  mode: number;
  /** Unix seconds. */
  mtime: number;
}

function rel(path: string): string {
  if (path === WORKSPACE || path === WORKSPACE + "/") return ".";
  if (path.startsWith(WORKSPACE + "/")) return path.slice(WORKSPACE.length + 1);
  if (path.startsWith("/")) throw new TypeError(`files live in /workspace: '${path}' is outside it`);
  return path;
}

const entry = (e: Record<string, any>): FileEntry => ({
  name: e.name,
  type: e.type,
  size: e.size,
  mode: e.mode,
  mtime: e.mtime,
});

/** The sandbox's /workspace from the host side. Paths are relative to it, or absolute below it. */
export class Files {
  constructor(
    private readonly node: Node,
    private readonly id: string,
  ) {}

  /** The bytes of a regular file. */
  read(path: string): Promise<Buffer> {
    return this.node.readFile(this.id, rel(path));
  }

  /** The content of a regular file as text. */
  async readText(path: string, encoding: BufferEncoding = "utf8"): Promise<string> {
    return (await this.read(path)).toString(encoding);
  }

  /** Create or replace a file (its directory must exist). */
  write(path: string, data: string | Uint8Array): Promise<void> {
    return this.node.writeFile(this.id, rel(path), typeof data === "string" ? Buffer.from(data, "utf8") : data);
  }

  /** The entries of a directory (links not followed). */
  async list(path = "."): Promise<FileEntry[]> {
    return (await this.node.listFiles(this.id, rel(path))).map(entry);
  }

  /** One entry (a link that stays inside is followed). */
  async stat(path: string): Promise<FileEntry> {
    return entry(await this.node.statFile(this.id, rel(path)));
  }

  /** Whether the path exists. */
  async exists(path: string): Promise<boolean> {
    try {
      await this.node.statFile(this.id, rel(path));
      return true;
    } catch (e) {
      if (e instanceof NotFoundError) return false;
      throw e;
    }
  }

  /** Remove a file, a symbolic link or an empty directory. */
  remove(path: string): Promise<void> {
    return this.node.removeFile(this.id, rel(path));
  }
}

export interface SandboxOptions extends ConnectionOptions, Limits {
  /** A Node to share (its connections); else one is made from the connection options. */
  client?: Node;
  /** Host directory below workspace_root/<tenant>/ mounted at /workspace; default a new one that goes with the sandbox. */
  workspace?: string;
  workspaceAccess?: "ro" | "rw";
  labels?: Record<string, string>;
  /** Seconds without an exec before the node destroys it. */
  idleTimeoutS?: number;
  /** Seconds after creation before the node destroys it. */
  maxAgeS?: number;
}

function clientOf(opts: SandboxOptions): { node: Node; owns: boolean } {
  if (opts.client) return { node: opts.client, owns: false };
  return { node: new Node(opts), owns: true };
}

/**
 * A persistent sandbox: processes and files stay between commands until
 * `destroy()`, its idle timeout or its maximum age.
 *
 *     const sb = await Sandbox.create();
 *     try { console.log((await sb.run(["echo", "hi"])).stdout); } finally { await sb.destroy(); }
 */
export class Sandbox {
  readonly id: string;
  info: Record<string, any>;
  readonly files: Files;
  /** E2B's spelling: `sandbox.commands.run(...)`. */
  readonly commands: { run: Sandbox["run"] };
  private destroyed = false;

  private constructor(
    readonly node: Node,
    info: Record<string, any>,
    private readonly ownsNode: boolean,
  ) {
    this.info = info;
    this.id = info.id;
    this.files = new Files(node, this.id);
    this.commands = { run: this.run.bind(this) };
  }

  /** Create a persistent sandbox (`POST /v1/sandboxes`), resolved once it is ready. */
  static async create(opts: SandboxOptions = {}): Promise<Sandbox> {
    const { node, owns } = clientOf(opts);
    const limits: Limits = {};
    for (const k of ["memory", "cpus", "pids", "disk"] as const) {
      if (opts[k] !== undefined) (limits as any)[k] = opts[k];
    }
    try {
      const info = await node.createSandbox({
        workspace: opts.workspace,
        workspace_access: opts.workspaceAccess,
        limits: Object.keys(limits).length ? limits : undefined,
        labels: opts.labels,
        idle_timeout_s: opts.idleTimeoutS,
        max_age_s: opts.maxAgeS,
      });
      return new Sandbox(node, info, owns);
    } catch (e) {
      if (owns) node.close();
      throw e;
    }
  }

  /** Attach to an existing sandbox of this tenant (`GET /v1/sandboxes/ID`). */
  static async connect(id: string, opts: SandboxOptions = {}): Promise<Sandbox> {
    const { node, owns } = clientOf(opts);
    try {
      return new Sandbox(node, await node.getSandbox(id), owns);
    } catch (e) {
      if (owns) node.close();
      throw e;
    }
  }

  /** This tenant's persistent sandboxes, newest first. */
  static async list(opts: SandboxOptions = {}): Promise<Record<string, any>[]> {
    const { node, owns } = clientOf(opts);
    try {
      return await node.sandboxes();
    } finally {
      if (owns) node.close();
    }
  }

  /** Read the sandbox again (`execs_running`, `state`, ...). */
  async refresh(): Promise<Record<string, any>> {
    this.info = await this.node.getSandbox(this.id);
    return this.info;
  }

  /**
   * Run a command and resolve with its result.  `cmd` is an argv array or a
   * shell string.  With `onStdout`/`onStderr` the output is streamed to them.
   * A failing or timed-out command is not an error unless `check` is set.
   */
  run(cmd: Command, opts: RunOptions = {}): Promise<CommandResult> {
    return this.node.exec(cmd, { ...opts, sandbox: this.id });
  }

  /**
   * Start a command and return at once: `for await (const ev of s)` reads
   * its output in order, `await s.result` its end, `s.kill()` cancels it.
   */
  stream(cmd: Command, opts: RunOptions = {}): ExecStream {
    return this.node.stream(cmd, { ...opts, sandbox: this.id });
  }

  /** Destroy the sandbox (`DELETE /v1/sandboxes/ID`); a second call does nothing. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    try {
      await this.node.destroySandbox(this.id);
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
    }
    this.destroyed = true;
    if (this.ownsNode) this.node.close();
  }

  /** E2B's name for destroy(). */
  kill(): Promise<void> {
    return this.destroy();
  }

  /** `await using sb = await Sandbox.create()` destroys it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy();
  }
}
