// SPDX-License-Identifier: Apache-2.0
// The TypeScript SDK (compiled to dist/) against a real node (fixture.mjs),
// with Node's own test runner.  Every route the SDK calls is exercised with
// checks that can fail: one-shot and persistent execs (argv, shell, cwd, env,
// stdin, timeout, truncation), streaming through callbacks and the async
// iterator in the node's order, files (text and binary round trips, list,
// stat, remove), sandboxes (create, get, list, destroy, two isolated, other
// tenants), execs (get, signal, cancel), approvals, audit, health, metrics,
// whoami, TLS with a CA file, and the typed errors.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { startNode } from "./fixture.mjs";

const require = createRequire(import.meta.url);
const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "dist", "index.js");
const airlock = require(DIST);
const SRC = process.env.AIRLOCK_SRC_DIR ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

let N; // the real node
let alice; // airlock.Node as alice
before(async () => {
  for (const k of ["AIRLOCK_NODE", "AIRLOCK_TOKEN", "AIRLOCK_CA_FILE"]) delete process.env[k];
  N = await startNode();
  alice = new airlock.Node({ node: N.unix, token: N.tokens.alice });
});
after(async () => {
  alice?.close();
  await N?.stop();
});

async function withSandbox(opts, fn) {
  const sb = await airlock.Sandbox.create({ client: alice, ...opts });
  try {
    return await fn(sb);
  } finally {
    await sb.destroy();
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test("the version is the node's, package.json's and CMake's", async () => {
  const h = await alice.health();
  assert.equal(h.status, "ok");
  assert.equal(airlock.VERSION, h.version);
  assert.equal(airlock.API_VERSION, "v1");
  const pkg = JSON.parse(fs.readFileSync(path.join(SRC, "clients", "typescript", "package.json"), "utf8"));
  assert.equal(pkg.version, airlock.VERSION);
  assert.deepEqual(pkg.dependencies, {});
  assert.match(fs.readFileSync(path.join(SRC, "CMakeLists.txt"), "utf8"), new RegExp(`project\\(airlock VERSION ${airlock.VERSION} `));
});

test("metrics and whoami", async () => {
  assert.match(await alice.metrics(), /airlock_execs_total/);
  assert.deepEqual(await alice.whoami(), { tenant: "alice", approver: false });
  const ap = new airlock.Node({ node: N.unix, token: N.tokens.approver });
  try {
    assert.deepEqual(await ap.whoami(), { tenant: "approver", approver: true });
  } finally {
    ap.close();
  }
});

test("one-shot run: argv, shell, cwd, env, stdin, limits", async () => {
  const o = { node: N.unix, token: N.tokens.alice };
  let r = await airlock.run(["echo", "hi"], o);
  assert.deepEqual([r.exitCode, r.stdout, r.stderr, r.success, r.sandbox], [0, "hi\n", "", true, undefined]);
  assert.match(r.execId, /^ex_[0-9a-f]{16}$/);
  r = await airlock.run("echo out; echo err >&2; exit 3", o);
  assert.deepEqual([r.exitCode, r.stdout, r.stderr, r.success], [3, "out\n", "err\n", false]);
  r = await airlock.run('pwd; echo "$FOO"', { ...o, cwd: "/tmp", env: { FOO: "bar baz" } });
  assert.equal(r.stdout, "/tmp\nbar baz\n");
  r = await airlock.run(["wc", "-c"], { ...o, stdin: "12345" });
  assert.equal(r.stdout.trim(), "5");
  const data = Uint8Array.from({ length: 256 }, (_, i) => i);
  r = await airlock.run(["sha256sum"], { ...o, stdin: data });
  assert.equal(r.stdout.split(" ")[0], createHash("sha256").update(data).digest("hex"));
  r = await airlock.run(["true"], { ...o, memory: "64m", pids: 32 });
  assert.equal(r.exitCode, 0);
});

test("connection from the environment, and TLS with a CA file", async () => {
  process.env.AIRLOCK_NODE = N.unix;
  process.env.AIRLOCK_TOKEN = N.tokens.bob;
  try {
    assert.equal((await airlock.run("echo from-env")).stdout, "from-env\n");
    process.env.AIRLOCK_NODE = N.url;
    process.env.AIRLOCK_CA_FILE = N.ca;
    assert.equal((await airlock.run("echo over-tls")).stdout, "over-tls\n");
    const got = [];
    const r = await airlock.run(["echo", "tls-stream"], { onStdout: (d) => got.push(d) });
    assert.equal(r.exitCode, 0);
    assert.equal(got.join(""), "tls-stream\n");
    delete process.env.AIRLOCK_CA_FILE; // the system store does not know the test CA
    await assert.rejects(airlock.run("echo never"), (e) => e instanceof airlock.UnreachableError && /TLS|certificate/i.test(e.message));
  } finally {
    for (const k of ["AIRLOCK_NODE", "AIRLOCK_TOKEN", "AIRLOCK_CA_FILE"]) delete process.env[k];
  }
  assert.throws(() => new airlock.Node({ node: "http://192.0.2.1:80", token: "x" }), TypeError);
});

test("bad and missing tokens are AuthError", async () => {
  assert.equal((await airlock.run("true", { node: N.unix, token: N.tokens.alice })).success, true);
  await assert.rejects(airlock.run("true", { node: N.unix, token: "node_tok_" + "0".repeat(43) }),
    (e) => e instanceof airlock.AuthError && e.status === 401 && e.code === "unauthorized");
  await assert.rejects(airlock.Sandbox.create({ node: N.unix, token: "garbage" }),
    (e) => e instanceof airlock.AuthError && e.status === 401);
  await assert.rejects(airlock.run("true", { node: N.unix }),
    (e) => e instanceof airlock.AuthError && e.status === 0 && /AIRLOCK_TOKEN/.test(e.message));
});

test("a denied command is RefusedError with the rule", async () => {
  await withSandbox({}, async (sb) => {
    assert.equal((await sb.run("echo allowed")).stdout, "allowed\n");
    await assert.rejects(sb.run("ssh example.com true"), (e) =>
      e instanceof airlock.RefusedError && e.status === 403 && e.code === "policy_denied" && e.rule === "blockedActions: ssh_exec");
    // streamed: refused before the stream starts
    await assert.rejects(sb.stream(["ssh", "host", "id"]).result, (e) => e instanceof airlock.RefusedError && e.rule === "blockedActions: ssh_exec");
  });
});

test("timeout: timedOut in the result, CommandTimeoutError with check", async () => {
  await withSandbox({}, async (sb) => {
    const t0 = Date.now();
    const r = await sb.run(["sleep", "5"], { timeoutMs: 300 });
    assert.ok(Date.now() - t0 < 4000);
    assert.deepEqual([r.timedOut, r.exitCode, r.signal, r.success], [true, 124, 9, false]);
    await assert.rejects(sb.run("sleep 5", { timeoutMs: 200, check: true }),
      (e) => e instanceof airlock.CommandTimeoutError && e.result.timedOut === true);
    await assert.rejects(sb.run("echo partial; exit 3", { check: true }),
      (e) => e instanceof airlock.CommandExitError && e.exitCode === 3 && e.result.stdout === "partial\n");
    const nf = await sb.run(["no-such-program"]);
    assert.equal(nf.exitCode, 127);
    await assert.rejects(sb.run("true", { timeoutMs: 1e10 }), (e) => e instanceof airlock.BadRequestError && /timeout_ms/.test(e.message));
    const tr = await sb.run("head -c 5000 /dev/zero | tr '\\0' x", { maxOutputBytes: 100 });
    assert.equal(tr.truncated, true);
    assert.ok(tr.stdout.length > 0 && tr.stdout.length <= 100);
  });
});

test("streaming: callbacks and the async iterator in the node's order, while the command runs", async () => {
  await withSandbox({}, async (sb) => {
    const cmd = "for i in 1 2 3; do echo out$i; sleep 0.1; echo err$i >&2; sleep 0.1; done; sleep 1; echo last";
    const want = [["stdout", "out1"], ["stderr", "err1"], ["stdout", "out2"], ["stderr", "err2"], ["stdout", "out3"], ["stderr", "err3"], ["stdout", "last"]];
    const seen = [];
    const started = [];
    let r = await sb.run(cmd, { onStdout: (d) => seen.push(["stdout", d]), onStderr: (d) => seen.push(["stderr", d]), onStart: (id) => started.push(id) });
    assert.deepEqual(seen.flatMap(([k, d]) => d.split("\n").filter(Boolean).map((l) => [k, l])), want);
    assert.equal(r.stdout, "out1\nout2\nout3\nlast\n");
    assert.equal(r.stderr, "err1\nerr2\nerr3\n");
    assert.deepEqual(started, [r.execId]);
    // the async iterator: the first piece comes more than a second before the end
    const t0 = Date.now();
    const s = sb.stream(cmd);
    const events = [];
    let first;
    for await (const ev of s) {
      first ??= Date.now() - t0;
      events.push(ev);
    }
    const total = Date.now() - t0;
    r = await s.result;
    assert.deepEqual(events.flatMap((ev) => ev.data.split("\n").filter(Boolean).map((l) => [ev.type, l])), want);
    assert.equal(await s.execId, r.execId);
    assert.ok(first < total - 1000, `first ${first} ms, total ${total} ms`);
  });
});

test("a stream can be killed and signalled; a throwing callback cancels the command", async () => {
  await withSandbox({}, async (sb) => {
    let s = sb.stream(["sleep", "30"]);
    const st = await alice.getExec(await s.execId);
    assert.ok(["waiting", "running"].includes(st.state));
    assert.equal(st.sandbox, sb.id);
    await s.kill();
    let r = await s.result;
    assert.equal(r.cancelled, true);
    assert.equal(r.exitCode, 137);
    await assert.rejects(alice.cancel(r.execId), (e) => e instanceof airlock.ConflictError);
    s = sb.stream("trap 'echo got-term; exit 7' TERM; echo ready; while :; do sleep 0.05; done");
    for await (const ev of s) {
      if (ev.data.includes("ready")) break;
    }
    await s.signal("TERM");
    r = await s.result;
    assert.equal(r.exitCode, 7);
    assert.match(r.stdout, /got-term/);
    const ids = [];
    await assert.rejects(sb.run("echo go; sleep 30", { onStart: (id) => ids.push(id), onStdout: () => { throw new Error("stop here"); } }), /stop here/);
    let e;
    for (let i = 0; i < 200; i++) {
      e = await alice.getExec(ids[0]);
      if (e.state === "exited") break;
      await sleep(50);
    }
    assert.equal(e.state, "exited");
    assert.equal(e.cancelled, true);
  });
});

test("sandbox lifecycle: create, connect, list, persist, destroy", async () => {
  const sb = await airlock.Sandbox.create({ client: alice, labels: { k: "v" }, memory: "128m", idleTimeoutS: 120 });
  try {
    assert.match(sb.id, /^sb_[0-9a-f]{16}$/);
    assert.equal(sb.info.state, "ready");
    assert.deepEqual(sb.info.labels, { k: "v" });
    assert.equal(sb.info.limits.memory, 128 * 1024 * 1024);
    assert.equal(sb.info.idle_timeout_s, 120);
    assert.ok((await airlock.Sandbox.list({ client: alice })).some((s) => s.id === sb.id));
    const again = await airlock.Sandbox.connect(sb.id, { node: N.unix, token: N.tokens.alice });
    assert.equal(again.info.id, sb.id);
    again.node.close();
    await sb.run("echo kept > /tmp/p");
    assert.equal((await sb.commands.run(["cat", "/tmp/p"])).stdout, "kept\n");
    assert.equal((await sb.run("pwd")).stdout, "/workspace\n");
    assert.equal((await sb.refresh()).execs_running, 0);
  } finally {
    await sb.destroy();
  }
  await sb.destroy(); // twice is fine
  await assert.rejects(alice.getSandbox(sb.id), airlock.NotFoundError);
  assert.ok(!(await alice.sandboxes()).some((s) => s.id === sb.id));
  await assert.rejects(airlock.Sandbox.connect("sb_0000000000000000", { client: alice }), airlock.NotFoundError);
  await assert.rejects(alice.getExec("ex_0000000000000000"), airlock.NotFoundError);
  // what `await using` calls at the end of its scope
  const s2 = await airlock.Sandbox.create({ client: alice });
  assert.equal((await s2.run("true")).success, true);
  assert.equal(typeof Symbol.asyncDispose, "symbol");
  await s2[Symbol.asyncDispose]();
  await assert.rejects(alice.getSandbox(s2.id), airlock.NotFoundError);
});

test("files: text and binary round trips, list, stat, remove, errors", async () => {
  await withSandbox({}, async (sb) => {
    const f = sb.files;
    await f.write("hello.txt", "héllo\n");
    assert.equal(await f.readText("hello.txt"), "héllo\n");
    assert.deepEqual(await f.read("/workspace/hello.txt"), Buffer.from("héllo\n"));
    const blob = Buffer.concat([Buffer.from(Array.from({ length: 256 * 300 }, (_, i) => i % 256)), Buffer.from([0, 13, 10, 255])]);
    await f.write("/workspace/blob.bin", blob);
    assert.ok((await f.read("blob.bin")).equals(blob));
    const r = await sb.run(["sha256sum", "blob.bin"]);
    assert.equal(r.stdout.split(" ")[0], createHash("sha256").update(blob).digest("hex"));
    await sb.run("mkdir -p sub/dir && printf made > sub/dir/by-cmd");
    assert.equal((await f.read("sub/dir/by-cmd")).toString(), "made");
    await f.write("sub/dir/x", new Uint8Array(0));
    const names = Object.fromEntries((await f.list()).map((e) => [e.name, e]));
    assert.equal(names["blob.bin"].type, "file");
    assert.equal(names["blob.bin"].size, blob.length);
    assert.equal(names.sub.type, "dir");
    assert.equal(names["hello.txt"].mode, 0o644);
    assert.deepEqual((await f.list("sub/dir")).map((e) => e.name).sort(), ["by-cmd", "x"]);
    const st = await f.stat("sub/dir/by-cmd");
    assert.deepEqual([st.type, st.size], ["file", 4]);
    assert.equal(await f.exists("hello.txt"), true);
    assert.equal(await f.exists("nope.txt"), false);
    await f.remove("hello.txt");
    assert.equal((await sb.run("test -e hello.txt || echo gone")).stdout, "gone\n");
    await assert.rejects(f.read("hello.txt"), airlock.NotFoundError);
    await assert.rejects(f.remove("sub/dir"), airlock.ConflictError);
    await f.remove("sub/dir/x");
    await f.remove("sub/dir/by-cmd");
    await f.remove("sub/dir");
    assert.equal(await f.exists("sub/dir"), false);
    await assert.rejects(f.read("../etc/passwd"), airlock.BadRequestError);
    await assert.rejects(async () => f.read("/etc/passwd"), TypeError);
    await assert.rejects(f.write("missing-dir/x", "1"), airlock.NotFoundError);
    const large = randomBytes(3 << 20);
    await f.write("large.bin", large);
    assert.ok((await f.read("large.bin")).equals(large));
  });
});

test("two sandboxes are isolated, and another tenant sees neither", async () => {
  await withSandbox({}, async (a) => {
    await withSandbox({}, async (b) => {
      assert.notEqual(a.id, b.id);
      await a.files.write("only-a.txt", "a");
      await a.run("echo a > /tmp/only-a; sleep 300 > /dev/null 2>&1 &");
      assert.equal(await a.files.exists("only-a.txt"), true);
      assert.equal(await b.files.exists("only-a.txt"), false);
      const ls = await b.run(["ls", "-a", "/workspace", "/tmp"]);
      assert.equal(ls.exitCode, 0);
      assert.ok(!ls.stdout.includes("only-a"));
      assert.equal((await b.run(["test", "-e", "/tmp/only-a"])).exitCode, 1);
      const ps = await b.run(["ps", "-eo", "args"]);
      assert.match(ps.stdout, /airlock-init/);
      assert.ok(!ps.stdout.includes("sleep 300"));
      assert.match((await a.run(["ps", "-eo", "args"])).stdout, /sleep 300/);
      const bob = new airlock.Node({ node: N.unix, token: N.tokens.bob });
      try {
        await assert.rejects(airlock.Sandbox.connect(a.id, { client: bob }), airlock.NotFoundError);
        await assert.rejects(bob.readFile(a.id, "only-a.txt"), airlock.NotFoundError);
        await assert.rejects(bob.exec("true", { sandbox: a.id }), airlock.NotFoundError);
        assert.ok(!(await bob.sandboxes()).some((s) => s.id === a.id));
      } finally {
        bob.close();
      }
    });
  });
});

test("approvals: poll, approve, rerun with the id, reject while waiting; audit", async () => {
  const ap = new airlock.Node({ node: N.unix, token: N.tokens.approver });
  try {
    await withSandbox({}, async (sb) => {
      const cmd = "rm -rf ~; echo approved-run-ts";
      let aid;
      await assert.rejects(sb.run(cmd, { approval: "poll" }), (e) => {
        aid = e.approvalId;
        return e instanceof airlock.ApprovalRequiredError && e.status === 202 && /rm-recursive-home/.test(e.rule);
      });
      assert.match(aid, /^ap_/);
      assert.equal((await alice.approval(aid)).state, "pending");
      assert.ok((await alice.approvals()).some((a) => a.approval_id === aid));
      await assert.rejects(alice.approve(aid), airlock.RefusedError); // alice is no approver
      assert.equal((await ap.approve(aid)).state, "approved");
      assert.equal((await alice.waitApproval(aid, 5000)).state, "approved");
      const r = await sb.run(cmd, { approvalId: aid });
      assert.match(r.stdout, /approved-run-ts\n$/);
      await assert.rejects(sb.run(cmd, { approvalId: aid }), airlock.ApprovalMismatchError);
      const waiting = sb.run(cmd + " again");
      waiting.catch(() => undefined);
      let pending = [];
      for (let i = 0; i < 200 && !pending.length; i++) {
        pending = (await ap.approvals()).filter((a) => (a.command ?? "").includes("again") && a.tenant === "alice");
        if (!pending.length) await sleep(50);
      }
      assert.equal(pending.length, 1);
      await ap.reject(pending[0].approval_id, "not today");
      await assert.rejects(waiting, (e) => e instanceof airlock.ApprovalRejectedError && /not today/.test(e.message));
      const kinds = new Set((await ap.audit({ q: "approved-run-ts", limit: 50 })).map((x) => x.kind));
      for (const k of ["exec.request", "exec.result", "approval.answered"]) assert.ok(kinds.has(k), k);
      // another token reads its own tenant's records only
      const mine = await alice.audit({ q: "approved-run-ts", limit: 50 });
      assert.ok(mine.length > 0 && mine.every((x) => x.tenant === "alice"), JSON.stringify(mine));
      await assert.rejects(alice.audit({ tenant: "approver" }), airlock.RefusedError);
    });
  } finally {
    ap.close();
  }
});

test("docs/sdk.md's TypeScript examples run against the node", async () => {
  const md = fs.readFileSync(path.join(SRC, "docs", "sdk.md"), "utf8");
  const blocks = [...md.matchAll(/```typescript\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.ok(blocks.length >= 3, "examples found: " + blocks.length);
  const dir = fs.mkdtempSync(path.join(N.tmp, "examples-"));
  for (const [i, code] of blocks.entries()) {
    // the examples are TypeScript without type annotations, so also valid JavaScript modules
    const js = code.replace(/import\s*\{([^}]*)\}\s*from\s*"airlock-sdk";/g,
      (_, names) => `import airlockPkg from ${JSON.stringify(DIST)};\nconst {${names}} = airlockPkg;`);
    const file = path.join(dir, `example${i}.mjs`);
    fs.writeFileSync(file, js);
    let out;
    try {
      out = execFileSync(process.execPath, [file], { env: { ...process.env, AIRLOCK_NODE: N.unix, AIRLOCK_TOKEN: N.tokens.alice }, encoding: "utf8", timeout: 120000, stdio: "pipe" });
    } catch (e) {
      assert.fail(`example ${i} failed:\n${code}\nstdout: ${e.stdout}\nstderr: ${e.stderr}`);
    }
    assert.ok(out.trim().length > 0, `example ${i} printed nothing`);
  }
});
