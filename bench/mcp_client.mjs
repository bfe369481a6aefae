// SPDX-License-Identifier: Apache-2.0
// bench/mcp_client.mjs - the MCP row of bench/clients.sh: the official MCP
// TypeScript SDK's client starts `airlock mcp --node NODE` over stdio and
// calls its `run` tool with `true` in the given persistent sandbox, one call
// after another; each timed call is one line, its latency in ns (with
// " fail" when the tool answered an error).  Warm-up calls are untimed.
//
// usage: node bench/mcp_client.mjs NODE TOKEN SANDBOX REQUESTS WARMUP
// environment: MCP_SDK_DIR (the parent of node_modules with the SDK),
// AIRLOCK (the airlock binary)
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [node, token, sandbox, requests, warmup] = process.argv.slice(2);
const sdk = (p) => import(pathToFileURL(path.join(process.env.MCP_SDK_DIR, 'node_modules/@modelcontextprotocol/sdk/dist/esm', p)).href);
const { Client } = await sdk('client/index.js');
const { StdioClientTransport } = await sdk('client/stdio.js');

const client = new Client({ name: 'airlock-bench', version: '1.0.0' }, { capabilities: {} });
await client.connect(new StdioClientTransport({
  command: process.env.AIRLOCK, args: ['mcp', '--node', node], stderr: 'inherit',
  env: { PATH: process.env.PATH, AIRLOCK_TOKEN: token },
}));
const once = () => client.callTool({ name: 'run', arguments: { argv: ['true'], sandbox } });
for (let i = 0; i < Number(warmup); i++) await once();
const out = [];
for (let i = 0; i < Number(requests); i++) {
  const t0 = process.hrtime.bigint();
  const r = await once();
  const t1 = process.hrtime.bigint();
  out.push(`${t1 - t0}${r.isError ? ' fail' : ''}`);
}
console.log(out.join('\n'));
await client.close();
