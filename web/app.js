/* SPDX-License-Identifier: Apache-2.0 */
/* app.js - behaviour of the node's web UI (index.html): log in with a node
 * token, watch and answer pending approvals, search the audit trail.
 *
 * Everything an agent controls (commands, paths, environment names,
 * scripts) is attacker-written text: it is only ever put in the page with
 * textContent, never parsed as HTML, and control or invisible characters
 * (bidi overrides, zero-width spaces, terminal escapes) are shown as
 * visible escapes so that a person approves what will really run.
 *
 * Authentication is the node's session cookie (HttpOnly: script never sees
 * it); writes carry the session's CSRF token, which is kept in memory only
 * and fetched again from /v1/whoami after a reload. */
'use strict';

(function () {
  const POLL_MS = 1500;
  const TICK_MS = 500;

  const state = {
    csrf: null,
    tenant: null,
    approver: false,
    view: 'pending',
    loggedIn: false,
    pollTimer: null,
    tickTimer: null,
    items: new Map(), // approval_id -> {data, el}
    skewMs: 0, // node clock minus ours, when they differ by more than 2 s
  };

  const $ = (id) => document.getElementById(id);

  // ---- text that cannot hide anything --------------------------------------

  // C0/C1 controls, DEL, soft hyphen, zero-width and joiner characters, bidi
  // embeddings, overrides and isolates, invisible operators, Hangul fillers,
  // variation selectors, byte-order mark, interlinear annotation and tag
  // characters.
  const HIDDEN = /[\u0000-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb]|[\u{e0000}-\u{e007f}\u{e0100}-\u{e01ef}]/u;

  function escapeChar(ch) {
    const cp = ch.codePointAt(0);
    if (ch === '\n') return '\\n';
    if (ch === '\t') return '\\t';
    if (ch === '\r') return '\\r';
    if (cp < 0x20 || cp === 0x7f) return '\\x' + cp.toString(16).padStart(2, '0');
    if (cp > 0xffff) return '\\U' + cp.toString(16).toUpperCase().padStart(8, '0');
    return '\\u' + cp.toString(16).toUpperCase().padStart(4, '0');
  }

  // Puts s into el as text.  Hidden characters become <span class="esc">
  // holding their escape; keep lists the ones shown as they are (the
  // newlines of a multi-line shell string).  Returns how many were escaped.
  function putText(el, s, keep) {
    el.textContent = '';
    s = s === undefined || s === null ? '' : String(s);
    let run = '';
    let hidden = 0;
    for (const ch of s) {
      if (HIDDEN.test(ch) && !(keep && keep.includes(ch))) {
        if (run) el.appendChild(document.createTextNode(run));
        run = '';
        const span = document.createElement('span');
        span.className = 'esc';
        span.textContent = escapeChar(ch);
        span.title = 'invisible or control character ' + escapeChar(ch);
        el.appendChild(span);
        hidden++;
      } else {
        run += ch;
      }
    }
    if (run) el.appendChild(document.createTextNode(run));
    return hidden;
  }

  // One argument as a POSIX shell word: bare when it is plain, in single
  // quotes otherwise, and in bash's $'...' when it holds characters that
  // would not be visible (they are then escaped by putText anyway, and the
  // line still pastes back into bash as the same argument).
  const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;
  function shellQuote(arg) {
    arg = String(arg);
    if (arg === '') return "''";
    if (SAFE_WORD.test(arg)) return arg;
    if (!HIDDEN.test(arg)) return "'" + arg.replace(/'/g, "'\\''") + "'";
    let out = "$'";
    for (const ch of arg) {
      if (ch === '\\') out += '\\\\';
      else if (ch === "'") out += "\\'";
      else out += ch; // hidden ones are escaped when shown
    }
    return out + "'";
  }

  function joinArgv(argv) {
    return Array.isArray(argv) ? argv.map(shellQuote).join(' ') : '';
  }

  function fmtTime(ms) {
    if (typeof ms !== 'number' || !isFinite(ms)) return '';
    const d = new Date(ms);
    const p = (n) => String(n).padStart(2, '0');
    return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + ' ' +
      p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds());
  }

  function fmtLeft(ms) {
    if (ms <= 0) return 'expired';
    const s = Math.ceil(ms / 1000);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = String(s % 60).padStart(2, '0');
    return (h ? h + ':' + String(m).padStart(2, '0') : String(m)) + ':' + sec + ' left';
  }

  function hashPrefix(h) {
    return typeof h === 'string' && h ? 'sha256 ' + h.slice(0, 16) + (h.length > 16 ? '…' : '') : '';
  }

  function chips(el, list, empty) {
    el.textContent = '';
    if (!Array.isArray(list) || list.length === 0) {
      el.textContent = empty;
      el.classList.add('muted');
      return;
    }
    el.classList.remove('muted');
    for (const v of list) {
      const c = document.createElement('span');
      c.className = 'chip';
      putText(c, typeof v === 'string' ? v : JSON.stringify(v));
      el.appendChild(c);
    }
  }

  function show(el, on) {
    el.hidden = !on;
  }

  // ---- the node's API -------------------------------------------------------

  function noteServerTime(resp) {
    const d = Date.parse(resp.headers.get('Date') || '');
    if (!isFinite(d)) return;
    // Date has whole seconds: the node's clock is half a second later on average
    const skew = d + 500 - Date.now();
    state.skewMs = Math.abs(skew) > 2000 ? skew : 0;
  }

  function errorText(status, data) {
    if (data && data.error && typeof data.error.message === 'string') return data.error.message;
    return 'HTTP ' + status;
  }

  async function api(method, path, body, opts) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET' && state.csrf) headers['X-CSRF-Token'] = state.csrf;
    let resp;
    try {
      resp = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
        cache: 'no-store',
        redirect: 'error',
      });
    } catch (e) {
      return { status: 0, ok: false, data: null, error: 'the node cannot be reached (' + e.message + ')' };
    }
    noteServerTime(resp);
    let data = null;
    const text = await resp.text();
    try {
      data = text ? JSON.parse(text) : null;
    } catch (e) {
      data = null;
    }
    const out = { status: resp.status, ok: resp.ok, data, error: resp.ok ? null : errorText(resp.status, data) };
    if (resp.status === 401 && state.loggedIn && !(opts && opts.quiet401)) {
      loggedOut('Your session has ended (' + out.error + '). Log in again.');
    }
    return out;
  }

  // ---- session --------------------------------------------------------------

  function banner(text) {
    const b = $('banner');
    b.textContent = text || '';
    show(b, !!text);
  }

  function loggedIn(who) {
    state.loggedIn = true;
    state.tenant = who.tenant;
    state.approver = who.approver === true;
    if (typeof who.csrf === 'string') state.csrf = who.csrf;
    putText($('who-tenant'), who.tenant);
    $('who-role').textContent = state.approver ? 'approver' : 'not an approver';
    $('who-role').classList.toggle('on', state.approver);
    show($('who'), true);
    show($('nav'), true);
    show($('logout'), true);
    show($('view-login'), false);
    showView(state.view);
    poll();
    if (!state.tickTimer) state.tickTimer = setInterval(tick, TICK_MS);
  }

  function loggedOut(message) {
    state.loggedIn = false;
    state.csrf = null;
    state.tenant = null;
    state.approver = false;
    clearTimeout(state.pollTimer);
    state.pollTimer = null;
    clearInterval(state.tickTimer);
    state.tickTimer = null;
    state.items.clear();
    $('pending-list').textContent = '';
    $('audit-rows').textContent = '';
    $('pending-status').textContent = '';
    $('audit-status').textContent = '';
    updateCount();
    for (const id of ['who', 'nav', 'logout', 'view-pending', 'view-audit']) show($(id), false);
    show($('view-login'), true);
    banner(message || '');
    $('login-token').focus();
  }

  async function login(ev) {
    ev.preventDefault();
    const input = $('login-token');
    const err = $('login-error');
    show(err, false);
    const token = input.value.trim();
    if (!token) return;
    $('login-submit').disabled = true;
    const r = await api('POST', '/ui/login', { token });
    $('login-submit').disabled = false;
    if (!r.ok) {
      err.textContent = r.status === 401 ? 'Unknown or revoked token.'
        : r.status === 429 ? 'Too many failed attempts from this address; wait a minute.'
          : r.error;
      show(err, true);
      return;
    }
    input.value = '';
    state.csrf = r.data.csrf;
    const who = await api('GET', '/v1/whoami');
    if (!who.ok) {
      err.textContent = who.error;
      show(err, true);
      return;
    }
    banner('');
    loggedIn(who.data);
  }

  async function logout() {
    await api('POST', '/ui/logout');
    loggedOut('Logged out.');
  }

  // ---- views ----------------------------------------------------------------

  function showView(name) {
    state.view = name;
    show($('view-pending'), name === 'pending');
    show($('view-audit'), name === 'audit');
    $('nav-pending').setAttribute('aria-current', name === 'pending' ? 'page' : 'false');
    $('nav-audit').setAttribute('aria-current', name === 'audit' ? 'page' : 'false');
    if (name === 'audit' && !$('audit-rows').hasChildNodes()) searchAudit();
  }

  // ---- pending approvals ----------------------------------------------------

  function updateCount() {
    const n = state.items.size;
    $('pending-count').textContent = String(n);
    $('pending-count').classList.toggle('on', n > 0);
    document.title = (n ? '(' + n + ') ' : '') + 'airlock node';
  }

  async function poll() {
    clearTimeout(state.pollTimer);
    state.pollTimer = null;
    if (!state.loggedIn) return;
    const r = await api('GET', '/v1/approvals?state=pending');
    if (!state.loggedIn) return;
    const status = $('pending-status');
    if (r.ok && r.data && Array.isArray(r.data.approvals)) {
      reconcile(r.data.approvals.filter((a) => a && typeof a.approval_id === 'string' && (a.state || 'pending') === 'pending'));
      status.textContent = state.items.size ? '' : 'No pending approvals.';
      status.dataset.state = 'ok';
    } else if (r.status === 404) {
      reconcile([]);
      status.textContent = 'No pending approvals: this node has no approvals queue (GET /v1/approvals: ' + r.error + ').';
      status.dataset.state = 'unavailable';
    } else if (r.status !== 401) {
      status.textContent = 'Could not load the pending approvals: ' + r.error + '. Retrying.';
      status.dataset.state = 'error';
    }
    state.pollTimer = setTimeout(poll, POLL_MS);
  }

  function reconcile(list) {
    const seen = new Set();
    const ul = $('pending-list');
    list.sort((a, b) => (a.created_at_ms || 0) - (b.created_at_ms || 0));
    for (const a of list) {
      seen.add(a.approval_id);
      const have = state.items.get(a.approval_id);
      if (have) {
        have.data = a;
        continue;
      }
      const el = renderApproval(a);
      state.items.set(a.approval_id, { data: a, el });
      ul.appendChild(el);
    }
    for (const [id, item] of state.items) {
      if (!seen.has(id) && !item.busy) {
        item.el.remove();
        state.items.delete(id);
      }
    }
    updateCount();
    tick();
  }

  function field(el, name) {
    return el.querySelector('[data-field="' + name + '"]');
  }

  function renderApproval(a) {
    const el = $('tpl-approval').content.firstElementChild.cloneNode(true);
    el.dataset.approvalId = a.approval_id;
    putText(field(el, 'tenant'), a.tenant || '?');
    putText(field(el, 'sandbox'), a.sandbox ? 'sandbox ' + a.sandbox : 'one-shot exec');
    field(el, 'created').textContent = a.created_at_ms ? 'asked ' + fmtTime(a.created_at_ms) : '';

    const dl = field(el, 'dangerous');
    for (const d of Array.isArray(a.dangerous) ? a.dangerous : []) {
      const li = document.createElement('li');
      const sev = document.createElement('span');
      const severity = d && typeof d.severity === 'string' ? d.severity : 'unknown';
      sev.className = 'sev sev-' + (severity === 'critical' || severity === 'high' ? severity : 'other');
      sev.textContent = severity;
      const id = document.createElement('span');
      id.className = 'pattern-id';
      putText(id, d && d.id ? d.id : '');
      const desc = document.createElement('span');
      desc.className = 'pattern-desc';
      putText(desc, d && d.description ? d.description : '');
      li.append(sev, id, desc);
      dl.appendChild(li);
    }
    show(dl, dl.hasChildNodes());

    let hidden;
    if (typeof a.command === 'string' && a.command !== '') {
      field(el, 'command-label').textContent = 'Shell command (sh -c)';
      hidden = putText(field(el, 'command'), a.command, ['\n', '\t']);
    } else {
      field(el, 'command-label').textContent = 'Command';
      hidden = putText(field(el, 'command'), joinArgv(a.argv));
    }
    putText(field(el, 'rule'), a.rule || '');
    chips(field(el, 'actions'), a.actions, 'none');
    hidden += putText(field(el, 'cwd'), a.cwd || '');
    chips(field(el, 'env'), a.env_keys, 'none');
    const exe = field(el, 'exe');
    exe.textContent = '';
    const path = document.createElement('span');
    path.className = 'mono';
    hidden += putText(path, a.exe || 'unknown');
    exe.appendChild(path);
    if (a.exe_sha256) {
      const h = document.createElement('span');
      h.className = 'hash';
      h.textContent = hashPrefix(a.exe_sha256);
      h.title = a.exe_sha256;
      exe.appendChild(h);
    }
    if (typeof a.script === 'string' || a.script_sha256) {
      show(field(el, 'script-label'), true);
      show(field(el, 'script-box'), true);
      const sh = field(el, 'script-hash');
      sh.textContent = hashPrefix(a.script_sha256);
      sh.title = a.script_sha256 || '';
      putText(field(el, 'script'), a.script || '(not shown)', ['\n', '\t']);
    }
    show(field(el, 'hidden-warning'), hidden > 0);
    field(el, 'id').textContent = a.approval_id;
    putText(field(el, 'confirm-rule'), a.rule || 'this request');

    // who may answer: approvers, never for their own tenant
    const note = field(el, 'note');
    let why = '';
    if (!state.approver) why = 'Only approvers can answer requests; this token is not one.';
    else if (a.tenant === state.tenant) why = 'This request is your own tenant\'s: another approver must answer it.';
    if (why) {
      note.textContent = why;
      show(note, true);
      for (const b of el.querySelectorAll('button[data-action], input.reason')) b.disabled = true;
      el.classList.add('readonly');
    }

    el.addEventListener('click', (ev) => {
      const b = ev.target.closest('button[data-action]');
      if (b && !b.disabled) onAction(a.approval_id, b.dataset.action);
    });
    field(el, 'reason').addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') onAction(a.approval_id, 'reject');
    });
    return el;
  }

  async function onAction(id, action) {
    const item = state.items.get(id);
    if (!item) return;
    const el = item.el;
    const confirmBox = field(el, 'confirm');
    if (action === 'always') {
      show(confirmBox, true);
      el.querySelector('[data-action="always-confirm"]').focus();
      return;
    }
    if (action === 'always-cancel') {
      show(confirmBox, false);
      return;
    }
    let path, body, verb;
    if (action === 'approve' || action === 'always-confirm') {
      path = '/v1/approvals/' + encodeURIComponent(id) + '/approve';
      body = { always: action === 'always-confirm' };
      verb = body.always ? 'approved always' : 'approved';
    } else if (action === 'reject') {
      path = '/v1/approvals/' + encodeURIComponent(id) + '/reject';
      const reason = field(el, 'reason').value.trim();
      body = reason ? { reason } : {};
      verb = 'rejected';
    } else {
      return;
    }
    const err = field(el, 'error');
    show(err, false);
    item.busy = true;
    for (const b of el.querySelectorAll('button, input')) b.disabled = true;
    const r = await api('POST', path, body);
    item.busy = false;
    if (r.ok) {
      el.remove();
      state.items.delete(id);
      updateCount();
      const shown = r.data && r.data.state ? r.data.state : verb;
      $('pending-status').textContent = 'Request ' + id + ' ' + shown + '.';
      return;
    }
    err.textContent = r.status === 409 ? 'Already answered or expired: ' + r.error
      : r.status === 403 ? 'Not allowed: ' + r.error
        : r.error;
    show(err, true);
    if (r.status === 409) {
      el.classList.add('readonly');
      return; // the next poll removes it
    }
    for (const b of el.querySelectorAll('button, input')) b.disabled = false;
    show(confirmBox, false);
  }

  function tick() {
    const now = Date.now() + state.skewMs;
    for (const [, item] of state.items) {
      const a = item.data;
      const cd = field(item.el, 'countdown');
      if (typeof a.expires_at_ms !== 'number') {
        cd.textContent = '';
        continue;
      }
      const left = a.expires_at_ms - now;
      cd.textContent = fmtLeft(left);
      cd.dataset.leftMs = String(Math.max(0, Math.round(left)));
      cd.classList.toggle('urgent', left > 0 && left < 60000);
      if (left <= 0 && !item.el.classList.contains('expired')) {
        item.el.classList.add('expired');
        for (const b of item.el.querySelectorAll('button[data-action], input.reason')) b.disabled = true;
      }
    }
  }

  // ---- audit ----------------------------------------------------------------

  function auditQuery() {
    const f = $('audit-form');
    const q = new URLSearchParams();
    for (const name of ['tenant', 'action', 'decision', 'kind', 'exit_code', 'q', 'limit']) {
      const v = f.elements[name].value.trim();
      if (v !== '') q.set(name, v);
    }
    for (const [name, param] of [['since', 'since_ms'], ['until', 'until_ms']]) {
      const v = f.elements[name].value;
      if (v) {
        const ms = new Date(v).getTime();
        if (isFinite(ms)) q.set(param, String(ms));
      }
    }
    return q.toString();
  }

  function cell(tr, value, cls) {
    const td = document.createElement('td');
    if (cls) td.className = cls;
    if (value instanceof Node) td.appendChild(value);
    else putText(td, value === undefined || value === null ? '' : String(value));
    tr.appendChild(td);
    return td;
  }

  function remember(listId, values) {
    const dl = $(listId);
    const have = new Set(Array.from(dl.options, (o) => o.value));
    for (const v of values) {
      if (typeof v === 'string' && v && !have.has(v) && dl.options.length < 200) {
        const o = document.createElement('option');
        o.value = v;
        dl.appendChild(o);
        have.add(v);
      }
    }
  }

  function dangerText(list) {
    if (!Array.isArray(list)) return '';
    return list.map((d) => (typeof d === 'string' ? d : (d.id || '?') + (d.severity ? ' (' + d.severity + ')' : ''))).join(', ');
  }

  async function searchAudit(ev) {
    if (ev) ev.preventDefault();
    const status = $('audit-status');
    status.textContent = 'Loading…';
    const r = await api('GET', '/v1/audit?' + auditQuery());
    const rows = $('audit-rows');
    if (!r.ok) {
      rows.textContent = '';
      status.dataset.state = r.status === 404 ? 'unavailable' : 'error';
      status.textContent = r.status === 403 ? 'The audit trail is for approvers only (' + r.error + ').'
        : r.status === 404 ? 'This node has no audit trail (GET /v1/audit: ' + r.error + ').'
          : 'Could not load the audit trail: ' + r.error;
      return;
    }
    const records = r.data && Array.isArray(r.data.records) ? r.data.records : [];
    rows.textContent = '';
    for (const rec of records) {
      const tr = document.createElement('tr');
      if (rec.seq !== undefined) tr.dataset.seq = String(rec.seq);
      if (rec.approval_id) tr.dataset.approvalId = rec.approval_id;
      if (rec.exec_id) tr.dataset.execId = rec.exec_id;
      if (rec.decision) tr.dataset.decision = rec.decision;
      cell(tr, fmtTime(rec.ts_ms), 'nowrap');
      cell(tr, rec.kind);
      cell(tr, rec.tenant);
      cell(tr, rec.sandbox, 'mono');
      const cmd = document.createElement('code');
      putText(cmd, joinArgv(rec.argv));
      if (rec.cwd) cmd.title = 'in ' + rec.cwd + (Array.isArray(rec.env_keys) && rec.env_keys.length ? '; env ' + rec.env_keys.join(' ') : '');
      cell(tr, cmd, 'cmd').dataset.testid = 'audit-command';
      cell(tr, Array.isArray(rec.actions) ? rec.actions.join(', ') : '');
      cell(tr, dangerText(rec.dangerous));
      cell(tr, rec.decision, 'decision');
      cell(tr, rec.rule);
      cell(tr, rec.approver);
      const exit = rec.exit_code === undefined || rec.exit_code === null ? '' : String(rec.exit_code) + (rec.kill_reason ? ' (' + rec.kill_reason + ')' : '');
      cell(tr, exit, 'num');
      cell(tr, typeof rec.duration_ms === 'number' ? rec.duration_ms + ' ms' : '', 'num');
      cell(tr, [rec.exec_id, rec.approval_id].filter(Boolean).join(' '), 'mono small');
      rows.appendChild(tr);
    }
    remember('dl-tenant', records.map((x) => x.tenant));
    remember('dl-decision', records.map((x) => x.decision));
    remember('dl-kind', records.map((x) => x.kind));
    status.dataset.state = 'ok';
    status.textContent = records.length ? records.length + ' record' + (records.length === 1 ? '' : 's') + ', newest first.' : 'No records match.';
  }

  // ---- start ----------------------------------------------------------------

  async function start() {
    $('login-form').addEventListener('submit', login);
    $('logout').addEventListener('click', logout);
    $('nav-pending').addEventListener('click', () => showView('pending'));
    $('nav-audit').addEventListener('click', () => showView('audit'));
    $('audit-form').addEventListener('submit', searchAudit);
    $('audit-form').addEventListener('reset', () => setTimeout(searchAudit, 0));
    // a reload keeps the cookie: pick the session up again if it is alive
    const who = await api('GET', '/v1/whoami', undefined, { quiet401: true });
    if (who.ok && who.data && typeof who.data.tenant === 'string') loggedIn(who.data);
    else loggedOut('');
  }

  document.addEventListener('DOMContentLoaded', start);
})();
