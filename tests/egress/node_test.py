#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Egress for node sandboxes: a node whose sandbox config asks for network
mode "proxy" gives every sandbox its own proxy process; a command reaches
the allowed host through it and nothing else; each decision lands in the
node's audit trail (kind "egress", with tenant and sandbox); the node keeps
one thread; no proxy outlives its sandbox or the node; a node config with
injection routes or secret files is refused (the node holds no agent
secrets).  Needs root, like the node's other end-to-end tests.

usage: node_test.py BIN_DIR
"""
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "node"))
import egress_test as et  # noqa: E402
import policy_e2e as pe  # noqa: E402


def proxies_of(pid):
    """pids of egress proxies whose parent is pid"""
    out = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [l.split()[0] for l in out.splitlines() if " proxy --control-fd" in l]


def main():
    if os.geteuid() != 0:
        print("node_test.py: needs root (the node's sandboxes get cgroup limits); skipped")
        return 77
    env = pe.Env(et.BIN)
    env.tmp = et.TMP
    os.chmod(et.TMP, 0o755)
    port = et.free_port()
    servers = [et.serve(port)]
    dns_port = et.start_resolver({"allowed.test": [et.UP], "other.test": [et.UP]})
    network = {"mode": "proxy", "allow": ["allowed.test:%d" % port], "allowAddresses": [et.UP],
               "resolver": "127.0.0.1:%d" % dns_port}
    config = {"autonomy": {"level": "full"}, "approvalGating": dict(pe.APPROVERS), "sandbox": {"network": network}}
    n = pe.Node(env, "egress-node", config)
    try:
        run_checks(n, port)
    finally:
        n.stop()
    # no proxy is left once the node has stopped
    time.sleep(0.3)
    left = subprocess.run(["pgrep", "-f", "proxy --control-fd 3 --config-fd 4 --sandbox"], capture_output=True,
                          text=True).stdout.split()
    et.check(not left, "no egress proxy outlives the node (left: %s)" % left)

    # the node holds no agent secrets: injection and secret files are refused
    for sandbox, part in [({"network": dict(network, inject=[{"path": "/llm/", "upstream": "https://api.test",
                                                              "inject": {"header": "x-api-key",
                                                                         "secret": "anthropic"}}])},
                           "sandbox.network.inject"),
                          ({"secrets": ["anthropic"]}, "sandbox.secrets")]:
        cfg = os.path.join(et.TMP, "bad-node.json")
        with open(cfg, "w") as f:
            json.dump({"sandbox": sandbox}, f)
        r = subprocess.run([os.path.join(et.BIN, "airlock"), "node", "--config", cfg, "--state-dir",
                            os.path.join(et.TMP, "bad-state"), "--listen", "unix:" + os.path.join(et.TMP, "bad.sock")],
                           capture_output=True, text=True, timeout=30)
        et.check(r.returncode != 0 and part in r.stderr and "no agent secrets" in r.stderr,
                 "node config with %s refused: %r" % (part, r.stderr))
    for s in servers:
        s.shutdown()
    print("%d passed, %d failed" % (et.PASSES, len(et.FAILS)))
    return 1 if et.FAILS else 0


def egress_metrics(n):
    """{(verdict, reason): count} from the node's /metrics"""
    c = pe.UnixHTTPConnection(n.sock, timeout=30)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    c.close()
    return {(m.group(1), m.group(2)): int(m.group(3)) for m in
            re.finditer(r'^airlock_egress_decisions_total\{verdict="(\w+)",reason="(\w+)"\} (\d+)$', text, re.M)}


def run_checks(n, port):
    st, j = n.exec(argv=["curl", "-sS", "--max-time", "10", "http://allowed.test:%d/from-node" % port])
    et.check(st == 200 and j["exit_code"] == 0 and "hello from GET /from-node" in j["stdout"],
             "one-shot exec reaches the allowed host through its proxy: %d %s" % (st, j))
    st, j = n.exec(argv=["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
                         "http://other.test:%d/" % port])
    et.check(st == 200 and j["stdout"] == "403", "a host not allowed is refused: %s" % j)
    st, j = n.exec(argv=["python3", "-c", "import socket\ns=socket.socket()\ns.settimeout(3)\n"
                         "try:\n s.connect(('127.0.0.2', %d)); print('TCP-OK')\nexcept OSError as e: print(e)" % port])
    # 127.0.0.2 inside is the sandbox's own loopback: nothing listens there
    et.check(st == 200 and "TCP-OK" not in j["stdout"] and ("unreachable" in j["stdout"] or "refused" in j["stdout"]),
             "a direct connection does not reach the host's server: %s" % j)
    # a persistent sandbox has its own proxy, gone with the sandbox
    st, sb = n.req("POST", "/v1/sandboxes", {})
    et.check(st in (200, 201), "persistent sandbox created: %d %s" % (st, sb))
    sid = sb["id"]
    before = proxies_of(n.proc.pid)
    st, j = n.exec(sandbox=sid, argv=["curl", "-sS", "--max-time", "10", "http://allowed.test:%d/persistent" % port])
    et.check(st == 200 and "hello from GET /persistent" in j["stdout"], "persistent sandbox reaches it: %s" % j)
    n.req("DELETE", "/v1/sandboxes/" + sid)
    time.sleep(0.5)
    after = proxies_of(n.proc.pid)
    et.check(len(after) < len(before), "the sandbox's proxy is gone with it (%d -> %d)" % (len(before), len(after)))
    # the node itself stays single-threaded
    threads = len(os.listdir("/proc/%d/task" % n.proc.pid))
    et.check(threads == 1, "node has one thread (%d)" % threads)
    # every decision is in the audit trail, with tenant and sandbox
    time.sleep(0.3)
    st, j = n.req("GET", "/v1/audit?kind=egress", who="alice")
    recs = j.get("records", []) if isinstance(j, dict) else []
    allow = [r for r in recs if r.get("decision") == "allow" and r.get("host") == "allowed.test"]
    deny = [r for r in recs if r.get("decision") == "deny" and r.get("host") == "other.test"]
    et.check(st == 200 and len(allow) == 2 and len(deny) == 1, "egress records in the audit trail: %d %s" % (st, recs))
    et.check(all(r.get("tenant") == "agent" and str(r.get("sandbox", "")).startswith("sb_") for r in allow + deny),
             "egress records carry tenant and sandbox: %s" % (allow + deny))
    et.check(any(r.get("sandbox") == sid for r in allow), "the persistent sandbox's record names it")
    # /metrics counts the same decisions by verdict and kind of reason
    # (the rules' own words stay out of the labels): read after the trail
    # above, then the trail again, which must hold as many records
    metrics = egress_metrics(n)
    et.check(metrics.get(("allow", "rule"), 0) >= len(allow) and metrics.get(("deny", "no_rule"), 0) >= len(deny),
             "airlock_egress_decisions_total counts the allowed and refused connections: %s" % metrics)
    st, j = n.req("GET", "/v1/audit?kind=egress", who="alice")
    recs = j.get("records", []) if isinstance(j, dict) else []
    et.check(sum(metrics.values()) == len(recs),
             "airlock_egress_decisions_total sums to the %d egress records: %s" % (len(recs), metrics))
    r = subprocess.run([os.path.join(et.BIN, "airlock"), "audit", "verify", "--state-dir", n.state],
                       capture_output=True, text=True)
    et.check(r.returncode == 0, "audit chain verifies with egress records: %s %s" % (r.stdout, r.stderr))


if __name__ == "__main__":
    et.run_main(main)
