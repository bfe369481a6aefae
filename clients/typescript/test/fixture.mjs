// SPDX-License-Identifier: Apache-2.0
// A real `airlock node` for the TypeScript SDK's tests, made as
// tests/node/run_e2e.sh makes its own: a temporary state directory in a
// world-traversable parent, tokens (alice, bob, approver), a test CA and
// server certificate, the node on a unix socket and on TLS on loopback, and
// a policy (full autonomy, ssh_exec blocked, dangerous patterns asking
// `approver`).  AIRLOCK_BIN_DIR names the built airlock and airlock-node.

import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

const POLICY = {
  autonomy: { level: "full", blockedActions: ["ssh_exec"] },
  approvalGating: { approvers: ["approver"], timeout: 60000 },
};

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

function openssl(dir) {
  const run = (...args) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const key = (name) => run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", name);
  key("ca.key");
  run("req", "-x509", "-new", "-key", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=airlock-sdk-test-ca",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
  key("server.key");
  run("req", "-new", "-key", "server.key", "-out", "server.csr", "-subj", "/CN=airlock-sdk-test-node");
  fs.writeFileSync(path.join(dir, "server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n" +
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n");
  run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
    "-out", "server.pem", "-days", "2", "-extfile", "server.ext");
}

export async function startNode() {
  const binDir = process.env.AIRLOCK_BIN_DIR;
  if (!binDir) throw new Error("AIRLOCK_BIN_DIR (the built airlock) is not set; tests/sdk/run_typescript.sh sets it");
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-sdk-ts."));
  fs.chmodSync(tmp, 0o755); // node-made workspaces sit beside the state dir: reachable by the sandbox uid
  const state = path.join(tmp, "state");
  fs.mkdirSync(state, { mode: 0o700 });
  const bins = path.join(tmp, "bin");
  fs.mkdirSync(bins, { mode: 0o755 });
  for (const b of ["airlock", "airlock-node"]) {
    fs.copyFileSync(path.join(binDir, b), path.join(bins, b));
    fs.chmodSync(path.join(bins, b), 0o755);
  }
  const airlock = path.join(bins, "airlock");
  const tokens = {};
  for (const who of ["alice", "bob", "approver"]) {
    const out = execFileSync(airlock, ["token", "create", "--name", who, "--state-dir", state], { encoding: "utf8" });
    tokens[who] = out.trim().split("\n").pop();
  }
  const tls = path.join(tmp, "tls");
  fs.mkdirSync(tls);
  openssl(tls);
  const port = await freePort();
  const config = path.join(tmp, "node.json");
  fs.writeFileSync(config, JSON.stringify(POLICY));
  const ready = path.join(state, "ready");
  const sock = path.join(state, "node.sock");
  const logPath = path.join(tmp, "node.log");
  const log = fs.openSync(logPath, "a");
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AIRLOCK_")));
  const proc = spawn(airlock, ["node", "--config", config, "--state-dir", state, "--listen", "unix:" + sock,
    "--listen", `tcp:127.0.0.1:${port}`, "--tls-cert", path.join(tls, "server.pem"),
    "--tls-key", path.join(tls, "server.key"), "--ready-file", ready, "--pool", "1"],
  { stdio: ["ignore", log, log], env });
  let exited = null;
  const exitP = new Promise((r) => proc.on("exit", (code, sig) => { exited = { code, sig }; r(exited); }));
  const deadline = Date.now() + 30000;
  while (!fs.existsSync(ready)) {
    if (exited || Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error("the node did not start: " + fs.readFileSync(logPath, "utf8").slice(-3000));
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    tmp,
    unix: "unix:" + sock,
    url: `https://127.0.0.1:${port}`,
    ca: path.join(tls, "ca.pem"),
    tokens,
    async stop() {
      if (!exited) proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 15000);
      const r = await exitP;
      clearTimeout(t);
      fs.closeSync(log);
      const text = fs.readFileSync(logPath, "utf8");
      if (process.env.AIRLOCK_SDK_KEEP !== "1") fs.rmSync(tmp, { recursive: true, force: true });
      if (r.code !== 0) throw new Error(`the node exited ${r.code ?? r.sig} after SIGTERM: ${text.slice(-2000)}`);
    },
  };
}
