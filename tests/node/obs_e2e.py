#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The node's logs and metrics against a real node (docs/operations.md#monitoring).

Starts a supervised node (approvers alice and bob, 3 s approval timeout,
1 MiB bodies) whose config asks for JSON logs, then checks:
  - every line of its log is a JSON object with ts, level and msg; a request
    and the exec it started each have their line, with tenant, exec id,
    decision, status or exit, duration; a command that carries a secret ran
    (its SHA-256, computed in the sandbox, came back) and the secret is in no
    line, and neither is a token; a timed-out exec says kill_reason timeout;
  - approvals: the pending gauge follows a request in poll mode, and the
    latency histogram counts one approved, one rejected and one expired;
    the exec that ran with the approval logs decision "approved";
  - HEAD, 404, 405, 413 and 431 (real oversized head and body) are answered
    in JSON and logged with their method, path and status;
  - a real scrape passes `promtool check metrics`, has the new series
    (sandboxes by kind and state, the audit writer's queue, lag and counts,
    egress decisions, OpenClaw state) and no tenant name; with
    metrics.tenant_series 1 the first tenant has series of its own and the
    others are "other";
  - contrib/grafana-dashboard.json is valid and every metric it queries is
    in that scrape; so are those of the alert rules in docs/operations.md,
    which `promtool check rules` loads;
  - --log-format and log.format/log.level: bad values refused with their
    name; text format keeps the human lines; "journal" without a journal
    falls back to text on stderr (journald's own fields are checked only
    where /run/systemd/journal/socket exists).

usage: obs_e2e.py BIN_DIR   (root: the node's sandboxes get cgroups)
Prints "ok N - name" / "not ok N - name" lines and "N passed, N failed".
"""

import glob
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from policy_e2e import Background, Env, Failure, Node, check, err_code  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
GATING = {"approvers": ["alice", "bob"], "timeout": 3000, "defaultAction": "reject"}
CONFIG = {"autonomy": {"level": "supervised"}, "approvalGating": GATING, "log": {"format": "json"},
          "max_body_bytes": 1 << 20}


def log_text(n):
    with open(os.path.join(n.dir, "node.log"), encoding="utf-8", errors="replace") as f:
        return f.read()


def log_records(n):
    """Every line of the node's log as JSON; a line that is not is a failure."""
    out = []
    for line in log_text(n).splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            raise Failure("a log line is not JSON: %r" % line[:300])
        check(isinstance(rec, dict) and {"ts", "level", "msg"} <= set(rec),
              "a log line lacks ts, level or msg: %r" % line[:300])
        check(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", rec["ts"]), "ts is not RFC 3339 UTC: %r" % rec)
        check(rec["level"] in ("error", "warn", "info", "debug"), "unknown level: %r" % rec)
        out.append(rec)
    return out


def wait_log(n, pred, what, timeout=15):
    """The first log record matching pred (lines come once the answer is sent)."""
    deadline = time.time() + timeout
    while True:
        for rec in log_records(n):
            if pred(rec):
                return rec
        if time.time() > deadline:
            raise Failure("no log line for %s; log ends with:\n%s" % (what, log_text(n)[-1500:]))
        time.sleep(0.05)


def scrape(n):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(30)
    c.connect(n.sock)
    c.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    raw = recv_all(c)
    head, _, body = raw.partition(b"\r\n\r\n")
    check(head.startswith(b"HTTP/1.1 200"), "GET /metrics: %r" % head[:200])
    return body.decode()


def value(text, series):
    m = re.search(r"^%s (\S+)$" % re.escape(series), text, re.M)
    check(m, "no series %s in /metrics" % series)
    return float(m.group(1))


def recv_all(s):
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        data += chunk
    return data


def raw_request(n, head, body=b""):
    """Sends a request as bytes (the body even if the node refuses early);
    returns (status, headers dict, body bytes)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(n.sock)
    try:
        s.sendall(head)
        if body:
            s.sendall(body)
    except (BrokenPipeError, ConnectionResetError):
        pass  # refused after the head: its answer is still there to read
    raw = recv_all(s)
    s.close()
    head_b, _, rest = raw.partition(b"\r\n\r\n")
    lines = head_b.decode("latin-1").split("\r\n")
    check(lines and lines[0].startswith("HTTP/1.1 "), "no HTTP answer: %r" % raw[:300])
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), hdrs, rest


# ---------------------------------------------------------------------------
# tests

def t_exec_logs(env, n):
    st, j = n.exec(argv=["cat", "/etc/hostname"])  # a read: allowed by the supervised policy
    check(st == 200 and j["exit_code"] == 0, "cat /etc/hostname: %d %s" % (st, j))
    eid = j["exec_id"]
    end = wait_log(n, lambda r: r["msg"] == "exec end" and r.get("exec") == eid, "the exec's end")
    check(end["level"] == "info" and end.get("tenant") == "agent" and end.get("decision") == "allow" and
          end.get("exit") == 0 and end.get("outcome") == "ok" and end.get("signal") == 0 and
          isinstance(end.get("duration_ms"), int) and end["duration_ms"] >= 0 and "kill_reason" not in end and
          "sandbox" not in end, "exec end line: %s" % end)
    req = wait_log(n, lambda r: r["msg"] == "request" and r.get("exec") == eid, "the exec's request")
    check(req.get("method") == "POST" and req.get("path") == "/v1/exec" and req.get("status") == 200 and
          req.get("tenant") == "agent" and req.get("decision") == "allow" and isinstance(req.get("duration_ms"), int)
          and req.get("peer", "").startswith("uid "), "request line: %s" % req)
    # a secret in argv: the command asks for an approval (it changes state),
    # alice gives it, and it runs; the secret is in no log line
    secret = "sk-proj-" + secrets.token_urlsafe(36)
    bg = Background(lambda: n.exec(argv=["printf", "%s", "--api-key=" + secret]))
    a = n.wait_pending()
    st, j = n.answer(a["approval_id"], who="alice")
    check(st == 200 and j["state"] == "approved", "alice approves: %d %s" % (st, j))
    st, j = bg.join()
    check(st == 200 and j["exit_code"] == 0, "the command with a secret ran: %d %s" % (st, j))
    check(j["stdout"] == "--api-key=" + secret, "the sandbox saw the secret (it printed it back): %s" % j)
    eid = j["exec_id"]
    end = wait_log(n, lambda r: r["msg"] == "exec end" and r.get("exec") == eid, "the approved exec's end")
    check(end.get("decision") == "approved" and end.get("exit") == 0, "approved exec end line: %s" % end)
    req = wait_log(n, lambda r: r["msg"] == "request" and r.get("exec") == eid, "the approved exec's request")
    check(req.get("decision") == "approved" and req.get("status") == 200, "approved request line: %s" % req)
    text = log_text(n)
    check(secret not in text and secret[8:24] not in text, "the secret is in the node's log")
    for who, tok in n.tokens.items():
        check(tok not in text and tok[-20:] not in text, "%s's token is in the node's log" % who)
    # a limit's kill says which (a read that never ends: allowed without an approval)
    st, j = n.exec(argv=["cat", "/dev/zero"], timeout_ms=300)
    check(st == 200 and j["timed_out"], "cat /dev/zero with a 300 ms timeout: %d %s" % (st, j))
    eid = j["exec_id"]
    end = wait_log(n, lambda r: r["msg"] == "exec end" and r.get("exec") == eid, "the timed-out exec's end")
    check(end.get("kill_reason") == "timeout" and end.get("outcome") == "timeout" and end.get("signal") == 9 and
          end.get("exit") == -1, "timed-out exec end line: %s" % end)


def t_approvals(env, n):
    outcomes = ("approved", "rejected", "expired", "timeout_approved")

    def latency(text, outcome, le=None):
        if le is None:
            return value(text, 'airlock_approval_latency_seconds_count{outcome="%s"}' % outcome)
        return value(text, 'airlock_approval_latency_seconds_bucket{outcome="%s",le="%s"}' % (outcome, le))

    m = scrape(n)
    check(value(m, "airlock_approvals_pending") == 0, "no approval pending at first")
    before = {o: (latency(m, o), latency(m, o, "1"), latency(m, o, "15")) for o in outcomes}

    def ask(tag):
        st, j = n.exec(command="mkdir -p /tmp/out && echo %s" % tag, approval="poll")
        check(st == 202 and j.get("approval_id"), "a write asks for an approval (poll): %d %s" % (st, j))
        return j["approval_id"]

    aid = ask("approved-one")
    check(value(scrape(n), "airlock_approvals_pending") == 1, "one approval pending after a request")
    wait_log(n, lambda r: r["msg"] == "request" and r.get("status") == 202 and
             r.get("decision") == "approval_required", "the 202's request line")
    st, j = n.answer(aid, who="alice")
    check(st == 200 and j["state"] == "approved", "alice approves: %d %s" % (st, j))
    st, j = n.exec(command="mkdir -p /tmp/out && echo approved-one", approval_id=aid)
    check(st == 200 and j["stdout"] == "approved-one\n", "the approved command runs: %d %s" % (st, j))
    eid = j["exec_id"]
    end = wait_log(n, lambda r: r["msg"] == "exec end" and r.get("exec") == eid, "the approved exec's end")
    check(end.get("decision") == "approved", "the approved exec logs decision approved: %s" % end)
    st, j = n.answer(ask("rejected-one"), approve=False, who="bob")
    check(st == 200 and j["state"] == "rejected", "bob rejects: %d %s" % (st, j))
    ask("expires")
    deadline = time.time() + 20
    while latency(scrape(n), "expired") < before["expired"][0] + 1:
        check(time.time() < deadline, "the third approval did not expire within 20 s")
        time.sleep(0.2)
    m = scrape(n)
    check(value(m, "airlock_approvals_pending") == 0, "nothing pending after the three decisions")
    for outcome, want in (("approved", 1), ("rejected", 1), ("expired", 1), ("timeout_approved", 0)):
        got = latency(m, outcome) - before[outcome][0]
        check(got == want, "approval latency count %s went up by %s, want %d" % (outcome, got, want))
        check(latency(m, outcome, "+Inf") == latency(m, outcome), "the +Inf bucket of %s is its count" % outcome)
    # the expired one waited for its 3 s timeout: above the 1 s bucket, within the 15 s one
    check(latency(m, "expired", "1") == before["expired"][1] and latency(m, "expired", "15") == before["expired"][2] + 1,
          "the expired approval's latency is its timeout")


def t_http_json(env, n):
    def json_error(status, hdrs, body, want_status, want_code, what):
        check(status == want_status, "%s: status %d, want %d" % (what, status, want_status))
        check(hdrs.get("content-type", "").startswith("application/json"), "%s: Content-Type %r" %
              (what, hdrs.get("content-type")))
        if want_code:
            try:
                j = json.loads(body.decode())
            except ValueError:
                raise Failure("%s: the body is not JSON: %r" % (what, body[:200]))
            check(err_code(j) == want_code, "%s: error code %s" % (what, j))

    st, h, b = raw_request(n, b"HEAD /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    json_error(st, h, b, 405, None, "HEAD /v1/health")  # a HEAD answer has no body
    st, h, b = raw_request(n, b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    json_error(st, h, b, 404, "not_found", "GET /nope")
    st, h, b = raw_request(n, b"PATCH /v1/exec HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
    json_error(st, h, b, 405, "method_not_allowed", "PATCH /v1/exec")
    big = b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\nConnection: close\r\n\r\n"
    st, h, b = raw_request(n, big)
    json_error(st, h, b, 431, "headers_too_large", "a 9000-byte header")
    body = b"x" * ((1 << 20) + 1)
    head = ("POST /v1/exec HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\nConnection: close\r\n\r\n" % (n.tokens["agent"], len(body))).encode()
    st, h, b = raw_request(n, head, body)
    json_error(st, h, b, 413, "too_large", "a body above max_body_bytes")
    for method, path, status in (("HEAD", "/v1/health", 405), ("GET", "/nope", 404), ("PATCH", "/v1/exec", 405),
                                 ("POST", "/v1/exec", 413)):
        wait_log(n, lambda r: r["msg"] == "request" and r.get("method") == method and r.get("path") == path and
                 r.get("status") == status, "%s %s answered %d" % (method, path, status))
    wait_log(n, lambda r: r["msg"] == "request" and r.get("status") == 431, "the 431")


def t_metrics(env, n):
    st, sb = n.req("POST", "/v1/sandboxes", {})
    check(st == 201, "a persistent sandbox: %d %s" % (st, sb))
    try:
        text = scrape(n)
        check(value(text, 'airlock_sandboxes{kind="persistent",state="idle"}') == 1,
              "one persistent sandbox, idle")
    finally:
        n.req("DELETE", "/v1/sandboxes/" + sb["id"])
    if not shutil.which("promtool"):
        raise Failure("promtool is not installed (Debian's prometheus package; scripts/install-deps)")
    lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    check(lint.returncode == 0 and not lint.stdout.strip() and not lint.stderr.strip(),
          "promtool check metrics: %s%s" % (lint.stdout, lint.stderr))
    for series in ('airlock_egress_decisions_total{verdict="deny",reason="no_rule"}', "airlock_audit_lag_seconds",
                   "airlock_openclaw_configured", "airlock_openclaw_connected", "airlock_openclaw_disconnects_total"):
        value(text, series)
    check(value(text, "airlock_openclaw_configured") == 0, "no OpenClaw gateway configured")
    check(value(text, "airlock_audit_writer_up") == 1, "the audit writer is up")
    # the writer catches up: everything this test did is committed
    deadline = time.time() + 15
    while True:
        text = scrape(n)
        if value(text, "airlock_audit_queue_records") == 0 and value(text, "airlock_audit_records_written_total") > 0:
            break
        check(time.time() < deadline, "the audit queue did not drain: %s" %
              [l for l in text.splitlines() if l.startswith("airlock_audit")])
        time.sleep(0.2)
    check(value(text, "airlock_audit_lag_seconds") == 0 and value(text, "airlock_audit_records_lost_total") == 0,
          "no lag and nothing lost once drained")
    for name in n.tokens:
        check('"%s"' % name not in text, "/metrics names tenant %s" % name)
    # scrapes that succeed are debug lines, not info
    check(not any(r["msg"] == "request" and r.get("path") == "/metrics" for r in log_records(n)),
          "a /metrics scrape was logged at info")
    env.scrape = text


def metric_names(text):
    names, hist = set(), set()
    for line in text.splitlines():
        m = re.match(r"^# TYPE (\S+) (\S+)$", line)
        if m and m.group(2) == "histogram":
            hist.add(m.group(1))
        if line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, 1)[0])
    return names, hist


def t_dashboard(env, n):
    text = getattr(env, "scrape", None) or scrape(n)
    with open(os.path.join(REPO, "contrib", "grafana-dashboard.json")) as f:
        dash = json.load(f)
    check(dash.get("title") and dash.get("uid") and isinstance(dash.get("panels"), list), "dashboard shape")
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    exprs += [v["definition"] for v in dash["templating"]["list"] if v.get("definition")]
    check(len(exprs) >= 20, "the dashboard has %d queries" % len(exprs))
    ids = [p["id"] for p in dash["panels"]]
    check(len(ids) == len(set(ids)), "panel ids are unique")
    names, _ = metric_names(text)
    used = set()
    for e in exprs:
        used |= set(re.findall(r"\b((?:airlock|process)_[a-z_]+)\b", e))
    check(len(used) >= 20, "the dashboard uses %d metrics" % len(used))
    missing = sorted(u for u in used if u not in names)
    check(not missing, "metrics in the dashboard that the node does not export: %s" % missing)


def t_alert_rules(env, n):
    """The alert rules in docs/operations.md load in promtool and use exported metrics."""
    text = getattr(env, "scrape", None) or scrape(n)
    with open(os.path.join(REPO, "docs", "operations.md")) as f:
        doc = f.read()
    m = re.search(r"^### Alert rules\n.*?^```yaml\n(.*?)^```", doc, re.M | re.S)
    check(m, "docs/operations.md has no yaml block under '### Alert rules'")
    rules = os.path.join(env.tmp, "rules.yml")
    with open(rules, "w") as f:
        f.write(m.group(1))
    r = subprocess.run(["promtool", "check", "rules", rules], capture_output=True, text=True)
    check(r.returncode == 0 and "SUCCESS" in r.stdout, "promtool check rules: %s%s" % (r.stdout, r.stderr))
    names, _ = metric_names(text)
    used = set(re.findall(r"\b((?:airlock|process)_[a-z_]+)\b", "\n".join(
        l for l in m.group(1).splitlines() if l.strip().startswith("expr:"))))
    check(len(used) >= 10, "the rules use %d metrics" % len(used))
    missing = sorted(u for u in used if u not in names)
    check(not missing, "metrics in the alert rules that the node does not export: %s" % missing)


def t_config_and_flags(env):
    airlock = env.airlock
    d = os.path.join(env.tmp, "flags")
    os.makedirs(d, mode=0o700)
    base = ["node", "--state-dir", os.path.join(d, "state"), "--listen", "unix:" + os.path.join(d, "s.sock")]
    for extra, needle in ((["--log-format", "xml"], "--log-format"), (["--log-level", "loud"], "--log-level")):
        r = subprocess.run([airlock] + base + extra, capture_output=True, text=True, timeout=30)
        check(r.returncode == 125 and needle in r.stderr and extra[1] in r.stderr,
              "%s refused with its name: %d %r" % (" ".join(extra), r.returncode, r.stderr))
    for log, needle in (({"format": "xml"}, "log.format"), ({"level": 3}, "log.level"), ({"colour": 1}, "log.colour"),
                        ("json", "'log' must be an object")):
        cfg = os.path.join(d, "bad.json")
        with open(cfg, "w") as f:
            json.dump({"log": log}, f)
        r = subprocess.run([airlock] + base + ["--config", cfg], capture_output=True, text=True, timeout=30)
        check(r.returncode != 0 and needle in r.stderr, "config log %r refused: %d %r" % (log, r.returncode, r.stderr))


def t_text_and_journal(env):
    for fmt in ("text", "journal"):
        n = Node(env, "log-" + fmt, {"log": {"format": fmt}})
        try:
            st, j = n.exec(argv=["true"])
            check(st == 200 and j["exit_code"] == 0, "an exec on the %s node: %d %s" % (fmt, st, j))
            eid = j["exec_id"]
            deadline = time.time() + 15
            want = re.compile(r"^airlock node: request method=POST path=/v1/exec status=200 duration_ms=\d+ "
                              r"tenant=agent exec=%s decision=allow peer=\"uid \d+\"$" % eid, re.M)
            while not want.search(log_text(n)):
                check(time.time() < deadline, "%s: no text request line for %s in:\n%s" % (fmt, eid, log_text(n)))
                time.sleep(0.05)
            text = log_text(n)
            check(re.search(r"^airlock node: serving on unix:", text, re.M), "%s: the serving line" % fmt)
            if fmt == "journal" and not os.path.exists("/run/systemd/journal/socket"):
                check(re.search(r"^airlock node: log format journal: no journal at /run/systemd/journal/socket; "
                                r"logging text to stderr$", text, re.M), "journal: the fallback is said:\n%s" % text)
            check(re.search(r"^airlock node: exec end tenant=agent exec=%s decision=allow outcome=ok exit=0 signal=0 "
                            r"duration_ms=\d+$" % eid, text, re.M), "%s: the exec end line:\n%s" % (fmt, text))
        finally:
            n.stop()


def t_tenant_series(env):
    """metrics.tenant_series 1: the first tenant with an exec has series of its own, the others are "other"."""
    n = Node(env, "tenant-series", {"metrics": {"tenant_series": 1}})
    try:
        for who in ("carol", "agent", "bob", "agent"):
            st, j = n.exec(who=who, argv=["true"])
            check(st == 200 and j["exit_code"] == 0, "an exec of %s: %d %s" % (who, st, j))
        st, j = n.exec(who="bob", argv=["false"])
        check(st == 200 and j["exit_code"] == 1, "false as bob: %d %s" % (st, j))
        text = scrape(n)
        check(value(text, 'airlock_tenant_execs_total{tenant="carol",outcome="ok"}') == 1, "carol's own series")
        check(value(text, 'airlock_tenant_execs_total{tenant="other",outcome="ok"}') == 3 and
              value(text, 'airlock_tenant_execs_total{tenant="other",outcome="failed"}') == 1,
              "agent and bob together as other")
        check('tenant="agent"' not in text and 'tenant="bob"' not in text, "only one tenant has its own series")
        check(value(text, 'airlock_tenant_execs_running{tenant="carol"}') == 0, "carol's running gauge")
        lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
        check(lint.returncode == 0 and not lint.stdout.strip() and not lint.stderr.strip(),
              "promtool check metrics: %s%s" % (lint.stdout, lint.stderr))
    finally:
        n.stop()
    cfg = os.path.join(env.tmp, "bad-metrics.json")
    for metrics, needle in (({"tenant_series": 101}, "metrics.tenant_series"), ({"tenants": 1}, "metrics.tenants")):
        with open(cfg, "w") as f:
            json.dump({"metrics": metrics}, f)
        r = subprocess.run([env.airlock, "node", "--config", cfg, "--state-dir", os.path.join(env.tmp, "bad-state"),
                            "--listen", "unix:" + os.path.join(env.tmp, "bad.sock")], capture_output=True, text=True,
                           timeout=30)
        check(r.returncode == 125 and needle in r.stderr, "config metrics %r refused: %r" % (metrics, r.stderr))


def t_journald(env):
    """journald's own fields; where there is no journal this is skipped."""
    if not os.path.exists("/run/systemd/journal/socket") or not shutil.which("journalctl"):
        return ("no journald here (/run/systemd/journal/socket); package_deb checks the fields under systemd, "
                "and the fallback to stderr is checked above")
    n = Node(env, "log-journald", {"log": {"format": "journal"}})
    try:
        st, j = n.exec(argv=["true"])
        check(st == 200, "an exec on the journald node: %d %s" % (st, j))
        eid = j["exec_id"]
        deadline = time.time() + 15
        while True:
            out = subprocess.run(["journalctl", "-o", "json", "--no-pager", "SYSLOG_IDENTIFIER=airlock-node",
                                  "AIRLOCK_EXEC=" + eid], capture_output=True, text=True).stdout
            recs = [json.loads(l) for l in out.splitlines() if l.strip()]
            ends = [r for r in recs if r.get("MESSAGE", "").startswith("exec end")]
            if ends:
                break
            check(time.time() < deadline, "no journal entry with AIRLOCK_EXEC=%s" % eid)
            time.sleep(0.2)
        e = ends[0]
        check(e.get("AIRLOCK_TENANT") == "agent" and e.get("AIRLOCK_EXIT") == "0" and e.get("PRIORITY") == "6",
              "journal fields: %s" % e)
    finally:
        n.stop()
    return None


def t_sanitizer(env):
    logs = sorted(glob.glob(os.path.join(env.tmp, "*", "node.log")))
    check(len(logs) >= 3, "the nodes' logs: %s" % logs)
    for log in logs:
        with open(log, errors="replace") as f:
            text = f.read()
        for mark in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            check(mark not in text, "%s in %s:\n%s" % (mark, os.path.relpath(log, env.tmp), text[-3000:]))


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    if os.geteuid() != 0:
        print("obs_e2e.py: needs root (the node's sandboxes get cgroup limits); skipped")
        return 77
    env = Env(sys.argv[1])
    passed = failed = num = 0

    def run(name, fn, *args):
        nonlocal passed, failed, num
        num += 1
        try:
            skip = fn(env, *args)
            passed += 1
            print("ok %d - %s%s" % (num, name, " # SKIP " + skip if skip else ""), flush=True)
        except Exception as e:  # noqa: BLE001 - every failure is reported
            failed += 1
            print("not ok %d - %s" % (num, name), flush=True)
            detail = str(e) if isinstance(e, Failure) else traceback.format_exc()
            for line in detail.splitlines():
                print("#   " + line)
            for log in sorted(glob.glob(os.path.join(env.tmp, "*", "node.log"))):
                print("#   --- %s (last 10 lines)" % os.path.relpath(log, env.tmp))
                for line in open(log, errors="replace").read().splitlines()[-10:]:
                    print("#   " + line)

    try:
        n = Node(env, "obs", CONFIG)
        try:
            run("JSON log lines for a request and an exec end; no secret or token in them", t_exec_logs, n)
            run("pending approvals and approval latency by outcome", t_approvals, n)
            run("HEAD, 404, 405, 413 and 431 answered in JSON and logged", t_http_json, n)
            run("a real scrape passes promtool with the new series and no tenant name", t_metrics, n)
            run("contrib/grafana-dashboard.json queries only exported metrics", t_dashboard, n)
            run("the alert rules of docs/operations.md pass promtool and use exported metrics", t_alert_rules, n)
        finally:
            n.stop()
        run("--log-format, --log-level and the log config key refuse bad values by name", t_config_and_flags)
        run("text format, and journal falling back to text without a journal", t_text_and_journal)
        run("metrics.tenant_series: per-tenant series for the first N tenants, the rest as other", t_tenant_series)
        run("journald fields", t_journald)
        run("no sanitizer report in the nodes' logs (after they stopped)", t_sanitizer)
    finally:
        for p in env.pids:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(env.tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
