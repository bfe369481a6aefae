// SPDX-License-Identifier: Apache-2.0
// airlock: run commands in airlock sandboxes from Node.js.  The package's
// entry point: it re-exports Sandbox, Node, the errors and the types, and
// owns the one-shot `run()` and the version constants (the airlock release
// whose node API, /v1, this SDK speaks).  No dependency beyond Node's own
// modules.

import { Command, CommandResult, Limits, Node, RunOptions } from "./client";
import { ConnectionOptions } from "./transport";

export * from "./errors";
export { Command, CommandResult, ExecStream, Limits, Node, OutputEvent, RunOptions, checkResult } from "./client";
export { FileEntry, Files, Sandbox, SandboxOptions } from "./sandbox";
export { ConnectionOptions, defaultNode } from "./transport";

/** The airlock release whose node API this SDK speaks (`GET /v1/health` reports the node's). */
export const VERSION = "0.1.0";
/** The path prefix of the node API. */
export const API_VERSION = "v1";

/**
 * Run one command in a fresh one-shot sandbox (`POST /v1/exec`), gone when
 * this resolves.  Limits of that sandbox go in `memory`, `cpus`, `pids`, `disk`.
 */
export async function run(
  cmd: Command,
  opts: RunOptions & ConnectionOptions & Limits & { client?: Node } = {},
): Promise<CommandResult> {
  const node = opts.client ?? new Node(opts);
  const limits: Limits = {};
  for (const k of ["memory", "cpus", "pids", "disk"] as const) {
    if (opts[k] !== undefined) (limits as any)[k] = opts[k];
  }
  try {
    return await node.exec(cmd, { ...opts, limits });
  } finally {
    if (!opts.client) node.close();
  }
}
