// SPDX-License-Identifier: Apache-2.0
// `airlock mcp` driven by the official MCP TypeScript SDK client (run by
// tests/mcp/run_mcp.sh, which starts a real node with a policy and installs
// the SDK): initialize, tools/list, every tool, a denied command, an approval
// answered through elicitation and one described to a client without it,
// streamed progress, cancellation (no process left), two sessions with two
// isolated sandboxes, the sandbox gone when its session ends, and a session
// with its own local node.  Prints TAP and "N passed, N failed".
//
// environment: MCP_SDK_DIR (node_modules' parent), AIRLOCK (the airlock
// binary), NODE_SOCK, AGENT_TOKEN, APPROVER_TOKEN
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const sdk = (p) => import(pathToFileURL(path.join(process.env.MCP_SDK_DIR, 'node_modules/@modelcontextprotocol/sdk/dist/esm', p)).href);
const { Client } = await sdk('client/index.js');
const { StdioClientTransport } = await sdk('client/stdio.js');
const { ElicitRequestSchema, McpError, ListResourcesResultSchema } = await sdk('types.js');

const AIRLOCK = process.env.AIRLOCK;
const SOCK = process.env.NODE_SOCK;
const AGENT = process.env.AGENT_TOKEN;
const APPROVER = process.env.APPROVER_TOKEN;

let n = 0, failed = 0;
function check(ok, what, detail) {
  n++;
  if (!ok) failed++;
  console.log(`${ok ? 'ok' : 'not ok'} ${n} - ${what}`);
  if (!ok && detail !== undefined) console.log('#   ' + String(typeof detail === 'string' ? detail : JSON.stringify(detail)).slice(0, 1500).replace(/\n/g, '\n#   '));
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(fn, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v || Date.now() > end) return v;
    await sleep(50);
  }
}

// the node's API, straight over its socket (to see what the server did)
function api(method, p, token, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request({ socketPath: SOCK, method, path: p, headers: { Authorization: 'Bearer ' + token, ...(data ? { 'Content-Type': 'application/json' } : {}) } }, (res) => {
      let s = '';
      res.on('data', (c) => (s += c));
      res.on('end', () => { let j = null; try { j = s ? JSON.parse(s) : null; } catch { } resolve({ status: res.statusCode, json: j }); });
    });
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

async function session({ elicit = null, args = ['--node', 'unix:' + SOCK], env = {} } = {}) {
  const client = new Client({ name: 'airlock-mcp-test', version: '1.0.0' }, { capabilities: elicit ? { elicitation: {} } : {} });
  if (elicit) client.setRequestHandler(ElicitRequestSchema, elicit);
  const stderr = [];
  const transport = new StdioClientTransport({
    command: AIRLOCK, args: ['mcp', ...args], stderr: 'pipe',
    env: { PATH: process.env.PATH, AIRLOCK_TOKEN: AGENT, ...env },
  });
  transport.stderr?.on('data', (d) => stderr.push(String(d)));
  await client.connect(transport);
  client.stderrText = () => stderr.join('');
  client.transportRef = transport;
  return client;
}
const text = (r) => (r.content || []).map((c) => c.text || '').join('');
const call = (c, name, args, opts) => c.callTool({ name, arguments: args }, undefined, opts);

// ---------------------------------------------------------------------------
const elicitations = [];
let elicitAnswer = 'approve';
const A = await session({
  elicit: async (req) => { elicitations.push(req.params); return { action: 'accept', content: { decision: elicitAnswer } }; },
  env: { AIRLOCK_APPROVER_TOKEN: APPROVER },
});
check(A.getServerVersion()?.name === 'airlock', 'initialize: the server is airlock', A.getServerVersion());
check(!!A.getServerCapabilities()?.tools, 'initialize: tools capability', A.getServerCapabilities());
check(typeof A.getInstructions() === 'string' && A.getInstructions().includes('/workspace'), 'initialize: instructions mention the workspace');

// tools/list
const { tools } = await A.listTools();
const names = tools.map((t) => t.name).sort();
check(JSON.stringify(names) === JSON.stringify(['create_sandbox', 'delete_file', 'destroy_sandbox', 'list_files', 'read_file', 'run', 'write_file']), 'tools/list: the seven tools', names);
const runTool = tools.find((t) => t.name === 'run');
check(/no network access/.test(runTool.description) && /\/workspace/.test(runTool.description), 'run describes the isolation (network, workspace)', runTool.description);
check(/512 MiB of memory, 1 CPU, 256 processes, 1 GiB of disk/.test(runTool.description), "run states the limits the node gave the session's sandbox", runTool.description);
check(runTool.inputSchema?.properties?.argv && runTool.inputSchema?.properties?.timeout_ms && runTool.outputSchema, 'run has input and output schemas');

// run: argv, exit code, stdout and stderr
let r = await call(A, 'run', { argv: ['sh', '-c', 'echo hi; echo err >&2; exit 3'] });
let sc = r.structuredContent || {};
check(sc.exit_code === 3 && sc.stdout === 'hi\n' && sc.stderr === 'err\n' && sc.timed_out === false && sc.truncated === false && !r.isError, 'run argv: exit 3, stdout, stderr', r);
check(text(r).includes('exit code 3') && text(r).includes('hi'), 'run: the text result too', text(r));
const sandboxA = sc.sandbox;
check(/^sb_[0-9a-f]{16}$/.test(sandboxA || ''), 'run: in the session sandbox', sandboxA);
// shell string, env, cwd, stdin
r = await call(A, 'run', { command: 'cat; echo "$FOO"; pwd; id -u', env: { FOO: 'bar baz' }, cwd: '/tmp', stdin: 'from-stdin\n' });
sc = r.structuredContent || {};
check(sc.exit_code === 0 && sc.stdout === 'from-stdin\nbar baz\n/tmp\n1001\n', 'run command: stdin, env, cwd, unprivileged uid', r);
r = await call(A, 'run', { command: 'pwd; cat /proc/net/dev | grep -c : ; env | grep -c AIRLOCK_TOKEN' });
sc = r.structuredContent || {};
check(sc.stdout === '/workspace\n1\n0\n', 'run: /workspace by default, only loopback, no token in the environment', sc);
// timeout
r = await call(A, 'run', { argv: ['sleep', '5'], timeout_ms: 300 });
sc = r.structuredContent || {};
check(sc.timed_out === true && sc.exit_code === 124, 'run: timeout_ms kills, timed_out', sc);
// truncation
r = await call(A, 'run', { command: "head -c 300000 /dev/zero | tr '\\0' a; echo tail >&2" });
sc = r.structuredContent || {};
check(sc.truncated === true && sc.exit_code === 0 && sc.stdout.length === 200000 && /^a+$/.test(sc.stdout), 'run: output over 200000 bytes is truncated', { ...sc, stdout: sc.stdout?.length });

// streaming progress
const progress = [];
r = await call(A, 'run', { command: 'for i in 1 2 3; do echo line$i; sleep 0.3; done' }, { onprogress: (p) => progress.push(p) });
check(r.structuredContent?.stdout === 'line1\nline2\nline3\n', 'progress run: its result', r);
check(progress.length >= 3 && progress.map((p) => p.message).join('') === 'line1\nline2\nline3\n', 'progress: the output came as notifications while it ran', progress);
check(progress.every((p, i) => i === 0 || p.progress > progress[i - 1].progress), 'progress: increasing', progress);

// files
r = await call(A, 'write_file', { path: 'a.txt', content: 'hello file\n' });
check(!r.isError && text(r).includes('11 bytes'), 'write_file text', r);
r = await call(A, 'run', { command: 'cat /workspace/a.txt' });
check(r.structuredContent?.stdout === 'hello file\n', 'the written file is in the sandbox', r);
r = await call(A, 'read_file', { path: '/workspace/a.txt' });
check(text(r) === 'hello file\n' && !r.isError, 'read_file (absolute /workspace path)', r);
const bin = Buffer.from([0, 1, 2, 255, 254, 10]);
r = await call(A, 'write_file', { path: 'bin.dat', content: bin.toString('base64'), encoding: 'base64' });
check(!r.isError, 'write_file base64', r);
r = await call(A, 'run', { command: 'od -An -tu1 bin.dat' });
check(r.structuredContent?.stdout.trim().split(/\s+/).join(',') === '0,1,2,255,254,10', 'the binary file holds the bytes', r);
r = await call(A, 'read_file', { path: 'bin.dat', encoding: 'base64' });
check(text(r) === bin.toString('base64'), 'read_file base64', r);
r = await call(A, 'list_files', {});
const entries = r.structuredContent?.entries || [];
check(entries.some((e) => e.name === 'a.txt' && e.size === 11 && e.type === 'file') && entries.some((e) => e.name === 'bin.dat' && e.size === 6), 'list_files: names, sizes, types', r);
r = await call(A, 'delete_file', { path: 'a.txt' });
check(!r.isError, 'delete_file', r);
r = await call(A, 'run', { command: 'ls /workspace' });
check(r.structuredContent?.stdout === 'bin.dat\n', 'the deleted file is gone, the other stays', r);
r = await call(A, 'read_file', { path: 'a.txt' });
check(r.isError === true && /no such file/.test(text(r)), 'read_file of a missing file: a tool error', r);
r = await call(A, 'read_file', { path: '../etc/passwd' });
check(r.isError === true && /\.\./.test(text(r)), "read_file '..': refused by the node", r);

// protocol errors
async function rpcError(fn) { try { await fn(); return null; } catch (e) { return e; } }
let e = await rpcError(() => call(A, 'run', {}));
check(e instanceof McpError && e.code === -32602 && /command/.test(e.message), 'run without command or argv: -32602 naming it', String(e));
e = await rpcError(() => call(A, 'run', { command: 'true', timeout_ms: 'soon' }));
check(e instanceof McpError && e.code === -32602 && /timeout_ms/.test(e.message), 'bad timeout_ms: -32602 naming it', String(e));
e = await rpcError(() => call(A, 'no_such_tool', {}));
check(e instanceof McpError && e.code === -32602 && /no_such_tool/.test(e.message), 'unknown tool: -32602', String(e));
e = await rpcError(() => A.request({ method: 'resources/list', params: {} }, ListResourcesResultSchema));
check(e instanceof McpError && e.code === -32601, 'unknown method: -32601', String(e));
await A.ping();
check(true, 'ping answered');

// policy: a denied command is a tool error naming the rule
r = await call(A, 'run', { argv: ['ssh', 'host', 'id'] });
check(r.isError === true && /blockedActions: ssh_exec/.test(text(r)), 'denied command: tool error with the rule', r);

// policy: approval through elicitation, answered "approve" -> runs
r = await call(A, 'run', { command: 'rm -rf ~/.ssh; echo approved-run' });
check(elicitations.length === 1 && /rm -rf ~\/\.ssh/.test(elicitations[0].message) && elicitations[0].requestedSchema?.properties?.decision, 'elicitation asked with the command', elicitations);
check(!r.isError && r.structuredContent?.stdout === 'approved-run\n', 'approved through elicitation: the command ran', r);
const apId = (elicitations[0]?.message.match(/ap_[0-9a-f]{16}/) || [])[0];
let ap = await api('GET', `/v1/approvals/${apId}`, APPROVER);
check(ap.json?.state === 'used' && ap.json?.answered_by === 'approver', 'the node recorded the approver and used the approval', ap);
// ... answered "deny" -> refused, the node's approval rejected
elicitAnswer = 'deny';
r = await call(A, 'run', { command: 'rm -rf ~/.ssh; echo denied-run' });
check(r.isError === true && /denied/.test(text(r)) && !/denied-run\n/.test(JSON.stringify(r.structuredContent || {})), 'denied through elicitation: a tool error, nothing ran', r);
const apId2 = (elicitations[1]?.message.match(/ap_[0-9a-f]{16}/) || [])[0];
ap = await api('GET', `/v1/approvals/${apId2}`, APPROVER);
check(ap.json?.state === 'rejected', 'the node has the approval rejected', ap);

// sandboxes: create, use, isolation from the session's, destroy
r = await call(A, 'create_sandbox', { labels: { purpose: 'test' } });
const extra = r.structuredContent?.id;
check(/^sb_/.test(extra || '') && extra !== sandboxA, 'create_sandbox: a new id', r);
r = await call(A, 'write_file', { path: 'only-extra.txt', content: 'x', sandbox: extra });
r = await call(A, 'run', { command: 'ls /workspace', sandbox: extra });
check(r.structuredContent?.stdout === 'only-extra.txt\n' && r.structuredContent?.sandbox === extra, 'the other sandbox has its own workspace', r);
r = await call(A, 'run', { command: 'ls /workspace' });
check(r.structuredContent?.stdout === 'bin.dat\n', "the session's sandbox does not see it", r);
r = await call(A, 'destroy_sandbox', { sandbox: sandboxA });
check(r.isError === true, "destroy_sandbox refuses the session's own", r);
r = await call(A, 'destroy_sandbox', { sandbox: extra });
let g = await api('GET', `/v1/sandboxes/${extra}`, AGENT);
check(!r.isError && g.status === 404, 'destroy_sandbox: gone on the node', { r, g });

// cancellation: the command is killed, no process left
const mark = `${Math.floor(Math.random() * 1e6) + 1000}.${process.pid}`;
const procs = () => fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => { try { return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`sleep\0${mark}`); } catch { return false; } });
const ac = new AbortController();
const started = [];
const pending = call(A, 'run', { command: `echo started; exec sleep ${mark}`, timeout_ms: 600000 }, { signal: ac.signal, onprogress: (p) => started.push(p) });
pending.catch(() => {});
await until(() => started.length > 0 && procs().length > 0);
check(procs().length === 1, 'cancel: the command runs (its process seen on the host)', started);
ac.abort('test cancels');
e = await rpcError(() => pending);
check(e !== null, 'cancel: the call ends for the client', String(e));
const gone = await until(() => procs().length === 0, 10000);
check(gone, 'cancel: the process is gone', procs());
r = await call(A, 'run', { command: 'echo still-usable' });
check(r.structuredContent?.stdout === 'still-usable\n', 'the session works after a cancel', r);

// a second session: its own sandbox; no elicitation -> the approval is described
const B = await session();
r = await call(B, 'run', { command: 'ls -A /workspace; echo done' });
const sandboxB = r.structuredContent?.sandbox;
check(sandboxB && sandboxB !== sandboxA && r.structuredContent?.stdout === 'done\n', 'two sessions: two sandboxes, the second does not see the first one\'s files', { sandboxA, r });
r = await call(B, 'read_file', { path: 'bin.dat' });
check(r.isError === true, "session B cannot read session A's file", r);
r = await call(B, 'write_file', { path: 'b-only.txt', content: 'b' });
r = await call(A, 'run', { command: 'ls /workspace' });
check(r.structuredContent?.stdout === 'bin.dat\n', "session A does not see session B's file", r);
r = await call(B, 'run', { command: 'rm -rf ~/.ssh; echo later-run' });
const waitId = (text(r).match(/ap_[0-9a-f]{16}/) || [])[0];
check(r.isError === true && waitId && /airlock approvals approve/.test(text(r)) && /approval_id/.test(text(r)), 'no elicitation: the result says it waits, the id and how to answer', r);
ap = await api('POST', `/v1/approvals/${waitId}/approve`, APPROVER, {});
check(ap.status === 200, 'a human approves it through the node', ap);
r = await call(B, 'run', { command: 'rm -rf ~/.ssh; echo later-run', approval_id: waitId });
check(r.structuredContent?.stdout === 'later-run\n', 'run again with approval_id: it runs', r);

// session end: B's sandbox is destroyed
g = await api('GET', `/v1/sandboxes/${sandboxB}`, AGENT);
check(g.status === 200, "before B ends its sandbox exists", g);
await B.close();
const destroyed = await until(async () => (await api('GET', `/v1/sandboxes/${sandboxB}`, AGENT)).status === 404);
check(destroyed, 'session end (stdin closed): its sandbox is destroyed', B.stderrText());
g = await api('GET', `/v1/sandboxes/${sandboxA}`, AGENT);
check(g.status === 200, 'the other session\'s sandbox stays', g);
// and SIGTERM ends a session the same way
const pid = A.transportRef.pid;
process.kill(pid, 'SIGTERM');
const destroyedA = await until(async () => (await api('GET', `/v1/sandboxes/${sandboxA}`, AGENT)).status === 404);
check(destroyedA, 'SIGTERM: the session sandbox is destroyed', A.stderrText());
await A.close();

// --keep leaves it
const K = await session({ args: ['--node', 'unix:' + SOCK, '--keep'] });
r = await call(K, 'run', { command: 'true' });
const sandboxK = r.structuredContent?.sandbox;
await K.close();
await sleep(300);
g = await api('GET', `/v1/sandboxes/${sandboxK}`, AGENT);
check(g.status === 200, '--keep: the sandbox outlives the session', g);
await api('DELETE', `/v1/sandboxes/${sandboxK}`, AGENT);

// without --node: a local node of the session's own
const L = await session({ args: [], env: { AIRLOCK_TOKEN: '' } });
r = await call(L, 'run', { command: 'echo local-node' });
check(r.structuredContent?.stdout === 'local-node\n', 'no --node: a local node started on demand runs it', { r, err: L.stderrText() });
const logm = L.stderrText().match(/log (\/tmp\/airlock-mcp\.[A-Za-z0-9]+)\//);
await L.close();
check(logm && !fs.existsSync(logm[1]), 'the local node and its directory are gone after the session', L.stderrText());

console.log(`1..${n}`);
console.log(`${n - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
