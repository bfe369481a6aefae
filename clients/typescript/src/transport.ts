// SPDX-License-Identifier: Apache-2.0
// HTTP/1.1 to an airlock node over a unix socket or TLS, with Node's own
// http/https modules only.  This file owns where the node is (`unix:PATH`,
// `https://HOST:PORT`, `http://` on loopback only, as `airlock exec`
// accepts), the token, and a keep-alive agent so that a command costs one
// round trip rather than a connection set-up.

import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import * as path from "node:path";
import { AuthError, UnreachableError, errorFromAnswer } from "./errors";

/** Where the node is and who we are. Every field falls back to the environment. */
export interface ConnectionOptions {
  /** `unix:/path/node.sock`, `https://host:port` or `http://127.0.0.1:port`; default `AIRLOCK_NODE`. */
  node?: string;
  /** The node token; default `AIRLOCK_TOKEN`. */
  token?: string;
  /** PEM CA file of the node's TLS certificate; default `AIRLOCK_CA_FILE`, else the system store. */
  caFile?: string;
  /** Client certificate and key (PEM files) for mutual TLS. */
  certFile?: string;
  keyFile?: string;
}

/** `AIRLOCK_NODE`, else the socket `airlock exec` uses by default. */
export function defaultNode(): string {
  const env = process.env.AIRLOCK_NODE;
  if (env) return env;
  const uid = process.getuid ? process.getuid() : 0;
  if (uid === 0) return "unix:/run/airlock/node.sock";
  const run = process.env.XDG_RUNTIME_DIR || `/run/user/${uid}`;
  return "unix:" + path.join(run, "airlock", "node.sock");
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export const DEFAULT_TIMEOUT_MS = 60_000;

function loopback(host: string): boolean {
  if (host === "localhost") return true;
  const h = host.replace(/^\[|\]$/g, "");
  if (net.isIPv4(h)) return h.startsWith("127.");
  return h === "::1";
}

export class Transport {
  readonly node: string;
  readonly token?: string;
  private readonly kind: "unix" | "http" | "https";
  private readonly socketPath?: string;
  private readonly host?: string;
  private readonly port?: number;
  private readonly agent: http.Agent;

  constructor(opts: ConnectionOptions = {}) {
    this.node = opts.node ?? defaultNode();
    this.token = opts.token ?? process.env.AIRLOCK_TOKEN;
    const caFile = opts.caFile ?? process.env.AIRLOCK_CA_FILE;
    if (this.node.startsWith("unix:")) {
      this.kind = "unix";
      this.socketPath = this.node.slice(5);
      if (!this.socketPath) throw new TypeError("node 'unix:' needs a socket path");
      this.agent = new http.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 8 });
      return;
    }
    let u: URL;
    try {
      u = new URL(this.node);
    } catch {
      throw new TypeError(`node must be unix:PATH, https://HOST:PORT or http://127.0.0.1:PORT, not '${this.node}'`);
    }
    if ((u.protocol !== "https:" && u.protocol !== "http:") || (u.pathname !== "/" && u.pathname !== "")) {
      throw new TypeError(`node must be unix:PATH, https://HOST:PORT or http://127.0.0.1:PORT, not '${this.node}'`);
    }
    this.host = u.hostname.replace(/^\[|\]$/g, "");
    if (u.protocol === "http:") {
      if (!loopback(u.hostname)) throw new TypeError(`plain http is for loopback addresses only; use https:// for '${this.node}'`);
      this.kind = "http";
      this.port = Number(u.port || 80);
      this.agent = new http.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 8 });
    } else {
      this.kind = "https";
      this.port = Number(u.port || 443);
      this.agent = new https.Agent({
        keepAlive: true,
        maxSockets: 64,
        maxFreeSockets: 8,
        ca: caFile ? fs.readFileSync(caFile) : undefined,
        cert: opts.certFile ? fs.readFileSync(opts.certFile) : undefined,
        key: opts.keyFile ? fs.readFileSync(opts.keyFile) : undefined,
      });
    }
  }

  /** Close the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  /**
   * Send a request and resolve with the response head; the caller reads
   * the body.  Errors before an answer become UnreachableError.
   */
  open(
    method: string,
    pathAndQuery: string,
    body?: Buffer,
    opts: { auth?: boolean; contentType?: string; timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<http.IncomingMessage> {
    const headers: http.OutgoingHttpHeaders = {};
    if (opts.auth !== false) {
      if (!this.token) {
        return Promise.reject(new AuthError("no node token: pass token or set AIRLOCK_TOKEN", { code: "unauthorized" }));
      }
      headers.Authorization = "Bearer " + this.token;
    }
    if (opts.contentType) headers["Content-Type"] = opts.contentType;
    headers["Content-Length"] = body ? body.length : 0;
    const base: http.RequestOptions = { method, path: pathAndQuery, headers, agent: this.agent, signal: opts.signal };
    if (this.kind === "unix") {
      base.socketPath = this.socketPath;
      headers.Host = "localhost";
    } else {
      base.host = this.host;
      base.port = this.port;
    }
    const mod = this.kind === "https" ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(base, resolve);
      req.on("error", (e: NodeJS.ErrnoException) => {
        if (e.name === "AbortError") return reject(e);
        const tls = /certificate|SSL|TLS|self.signed|issuer/i.test(`${e.code ?? ""} ${e.message}`);
        reject(
          new UnreachableError(
            tls ? `TLS with node ${this.node} failed: ${e.message}` : `cannot reach node ${this.node}: ${e.message}`,
            { code: "unreachable" },
          ),
        );
      });
      if (opts.timeoutMs !== undefined && opts.timeoutMs > 0) {
        req.setTimeout(opts.timeoutMs, () => req.destroy(new Error(`no answer in ${opts.timeoutMs} ms`)));
      }
      req.end(body);
    });
  }

  /** A whole request: status, headers and body; error statuses are thrown as typed errors. */
  async request(
    method: string,
    pathAndQuery: string,
    body?: Buffer,
    opts: { auth?: boolean; contentType?: string; timeoutMs?: number } = {},
  ): Promise<Answer> {
    const res = await this.open(method, pathAndQuery, body, { timeoutMs: DEFAULT_TIMEOUT_MS, ...opts });
    const chunks: Buffer[] = [];
    try {
      for await (const c of res) chunks.push(c as Buffer);
    } catch (e) {
      throw new UnreachableError(`the node's answer broke off: ${(e as Error).message}`, { code: "unreachable" });
    }
    const data = Buffer.concat(chunks);
    const status = res.statusCode ?? 0;
    if (status >= 400) throw errorFromAnswer(status, data, res.headers["retry-after"] as string | undefined);
    return { status, headers: res.headers, body: data };
  }

  /** A request with a JSON body (or none) whose answer is JSON (or empty). */
  async json<T = any>(
    method: string,
    pathAndQuery: string,
    doc?: unknown,
    opts: { auth?: boolean; timeoutMs?: number } = {},
  ): Promise<{ status: number; doc: T }> {
    const body = doc === undefined ? undefined : Buffer.from(JSON.stringify(doc));
    const a = await this.request(method, pathAndQuery, body, {
      ...opts,
      contentType: body ? "application/json" : undefined,
    });
    return { status: a.status, doc: (a.body.length ? JSON.parse(a.body.toString("utf8")) : undefined) as T };
  }
}
