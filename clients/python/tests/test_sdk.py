# SPDX-License-Identifier: Apache-2.0
"""The Python SDK against a real node (conftest.py starts it).

Every route the SDK calls is exercised here with checks that can fail:
one-shot and persistent execs (argv, shell, cwd, env, stdin, timeout,
truncation, streaming order), files (text and binary round trips, list,
stat, remove), sandboxes (create, get, list, destroy, isolation between
two and between tenants), execs (get, signal, cancel), approvals (poll,
approve, reject), audit, health, metrics and whoami, and the typed errors.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import threading
import time

import pytest

import airlock

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


# -- node, versions ---------------------------------------------------------------
def test_version_is_the_nodes(alice):
    h = alice.health()
    assert h["status"] == "ok" and h["ready"] is True
    assert airlock.__version__ == h["version"]
    with open(os.path.join(ROOT, "clients", "python", "pyproject.toml")) as f:
        assert re.search(r'^version = "%s"$' % re.escape(airlock.__version__), f.read(), re.M)
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        assert "project(airlock VERSION %s " % airlock.__version__ in f.read()


def test_metrics_and_whoami(real_node, alice):
    assert "airlock_execs_total" in alice.metrics()
    assert alice.whoami() == {"tenant": "alice", "approver": False}
    with airlock.Node(real_node.unix, real_node.tokens["approver"]) as ap:
        assert ap.whoami() == {"tenant": "approver", "approver": True}


# -- one-shot ---------------------------------------------------------------------
def test_one_shot_argv_shell_cwd_env_stdin(real_node):
    tok = real_node.tokens["alice"]
    r = airlock.run(["echo", "hi"], node=real_node.unix, token=tok)
    assert (r.exit_code, r.stdout, r.stderr, r.success) == (0, "hi\n", "", True)
    assert r.exec_id.startswith("ex_") and r.sandbox is None and r.timed_out is False and r.truncated is False
    r = airlock.run("echo out; echo err >&2; exit 3", node=real_node.unix, token=tok)
    assert (r.exit_code, r.stdout, r.stderr, r.success) == (3, "out\n", "err\n", False)
    r = airlock.run('pwd; echo "$FOO"', cwd="/tmp", env={"FOO": "bar baz"}, node=real_node.unix, token=tok)
    assert r.stdout == "/tmp\nbar baz\n"
    r = airlock.run(["wc", "-c"], stdin="12345", node=real_node.unix, token=tok)
    assert r.stdout.strip() == "5"
    data = bytes(range(256))
    r = airlock.run(["sha256sum"], stdin=data, node=real_node.unix, token=tok)
    assert r.stdout.split()[0] == hashlib.sha256(data).hexdigest()
    r = airlock.run(["sh", "-c", "cat /proc/self/status | grep -c ."], memory="64m", pids=32,
                    node=real_node.unix, token=tok)
    assert r.exit_code == 0 and int(r.stdout) > 5


def test_connection_from_environment(real_node, monkeypatch):
    monkeypatch.setenv("AIRLOCK_NODE", real_node.unix)
    monkeypatch.setenv("AIRLOCK_TOKEN", real_node.tokens["bob"])
    assert airlock.Node().whoami()["tenant"] == "bob"
    assert airlock.run("echo from-env").stdout == "from-env\n"


def test_https_with_ca_file(real_node, monkeypatch):
    tok = real_node.tokens["alice"]
    with airlock.Node(real_node.url, tok, ca_file=real_node.ca) as n:
        assert n.exec(["echo", "tls"]).stdout == "tls\n"
        got = []
        assert n.exec(["echo", "tls-stream"], on_stdout=got.append).exit_code == 0
        assert "".join(got) == "tls-stream\n"
    monkeypatch.setenv("AIRLOCK_CA_FILE", real_node.ca)
    assert airlock.run("echo env-ca", node=real_node.url, token=tok).stdout == "env-ca\n"
    monkeypatch.delenv("AIRLOCK_CA_FILE")
    # the system store does not know the test CA: the certificate is checked
    with pytest.raises(airlock.UnreachableError) as e:
        airlock.run("echo never", node=real_node.url, token=tok)
    assert "certificate" in str(e.value).lower()
    with pytest.raises(ValueError):
        airlock.Node("http://192.0.2.1:80", tok)  # plain http only on loopback


# -- errors -----------------------------------------------------------------------
def test_bad_and_missing_token(real_node):
    good = airlock.run("true", node=real_node.unix, token=real_node.tokens["alice"])
    assert good.success
    with pytest.raises(airlock.AuthError) as e:
        airlock.run("true", node=real_node.unix, token="node_tok_" + "0" * 43)
    assert e.value.status == 401 and e.value.code == "unauthorized"
    with pytest.raises(airlock.AuthError) as e:
        airlock.Sandbox.create(node=real_node.unix, token="garbage")
    assert e.value.status == 401
    with pytest.raises(airlock.AuthError) as e:
        airlock.run("true", node=real_node.unix)  # no token anywhere
    assert e.value.status == 0 and "AIRLOCK_TOKEN" in str(e.value)
    assert isinstance(e.value, airlock.AirlockError)


def test_policy_denial_is_refused_with_the_rule(sandbox):
    assert sandbox.run("echo allowed").stdout == "allowed\n"  # the same sandbox runs what is allowed
    with pytest.raises(airlock.RefusedError) as e:
        sandbox.run("ssh example.com true")
    assert e.value.status == 403 and e.value.code == "policy_denied"
    assert e.value.rule == "blockedActions: ssh_exec"
    with pytest.raises(airlock.RefusedError) as e:
        airlock.run(["ssh", "host", "id"], node=sandbox.node)
    assert e.value.rule == "blockedActions: ssh_exec"


def test_timeout(sandbox):
    t0 = time.monotonic()
    r = sandbox.run(["sleep", "5"], timeout=0.3)
    assert time.monotonic() - t0 < 4
    assert (r.timed_out, r.exit_code, r.signal, r.success) == (True, 124, 9, False)
    with pytest.raises(airlock.CommandTimeoutError) as e:
        sandbox.run("sleep 5", timeout=0.2, check=True)
    assert isinstance(e.value, TimeoutError) and e.value.result.timed_out
    # streamed: the exit record says so too
    r = sandbox.run("echo before; sleep 5", timeout=0.3, on_stdout=lambda s: None)
    assert r.timed_out and r.stdout == "before\n"


def test_check_and_not_found(real_node, sandbox):
    with pytest.raises(airlock.CommandExitError) as e:
        sandbox.run("echo partial; exit 3", check=True)
    assert e.value.exit_code == 3 and e.value.result.stdout == "partial\n"
    assert sandbox.run("exit 0", check=True).success
    r = sandbox.run(["no-such-program"])
    assert r.exit_code == 127 and "no-such-program" in (r.error or "")
    with pytest.raises(airlock.NotFoundError):
        airlock.Sandbox.connect("sb_0000000000000000", node=sandbox.node)
    with pytest.raises(airlock.NotFoundError):
        sandbox.node.get_exec("ex_0000000000000000")
    with pytest.raises(airlock.BadRequestError) as e:
        sandbox.run("true", timeout=10**7)
    assert "timeout_ms" in e.value.message


def test_truncated_output(sandbox):
    r = sandbox.run("head -c 5000 /dev/zero | tr '\\0' x", max_output_bytes=100)
    assert r.truncated is True and 0 < len(r.stdout) <= 100
    r = sandbox.run("head -c 5000 /dev/zero | tr '\\0' x")
    assert r.truncated is False and len(r.stdout) == 5000


# -- streaming ----------------------------------------------------------------------
def test_streaming_order_and_timing(sandbox):
    seen = []
    t0 = time.monotonic()
    first = []

    def on(kind):
        def f(data):
            if not first:
                first.append(time.monotonic() - t0)
            seen.append((kind, data))
        return f

    cmd = "for i in 1 2 3; do echo out$i; sleep 0.1; echo err$i >&2; sleep 0.1; done; sleep 1; echo last"
    started = []
    r = sandbox.run(cmd, on_stdout=on("out"), on_stderr=on("err"), on_start=started.append)
    total = time.monotonic() - t0
    lines = [(k, line) for k, d in seen for line in d.splitlines()]
    assert lines == [("out", "out1"), ("err", "err1"), ("out", "out2"), ("err", "err2"), ("out", "out3"),
                     ("err", "err3"), ("out", "last")]
    assert r.stdout == "out1\nout2\nout3\nlast\n" and r.stderr == "err1\nerr2\nerr3\n"
    assert started == [r.exec_id] and r.exit_code == 0
    # the first piece arrived while the command still ran (it takes 1.6 s)
    assert first[0] < total - 1.0, (first, total)


def test_callback_error_cancels_the_command(sandbox):
    ids = []

    def boom(data):
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        sandbox.run("echo go; sleep 30", on_stdout=boom, on_start=ids.append)
    deadline = time.monotonic() + 10
    while True:
        st = sandbox.node.get_exec(ids[0])
        if st["state"] == "exited" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert st["state"] == "exited" and st["cancelled"] is True


def test_background_signal_and_kill(sandbox):
    h = sandbox.run(["sleep", "30"], background=True)
    st = sandbox.node.get_exec(h.exec_id)
    assert st["state"] in ("waiting", "running") and st["sandbox"] == sandbox.id
    h.kill()
    r = h.wait(10)
    assert r.cancelled is True and r.exit_code == 137
    with pytest.raises(airlock.ConflictError):
        sandbox.node.cancel(r.exec_id)  # finished already
    out = []
    h = sandbox.run("trap 'echo got-term; exit 7' TERM; echo ready; while :; do sleep 0.05; done",
                    background=True, on_stdout=out.append)
    deadline = time.monotonic() + 10
    while "ready" not in "".join(out) and time.monotonic() < deadline:
        time.sleep(0.02)
    h.signal("TERM")
    r = h.wait(10)
    assert r.exit_code == 7 and "got-term" in r.stdout


# -- sandboxes and files ---------------------------------------------------------------
def test_sandbox_lifecycle(real_node, alice):
    sb = airlock.Sandbox.create(node=alice, labels={"k": "v"}, memory="128m", idle_timeout=120)
    try:
        assert sb.id.startswith("sb_") and sb.info["state"] == "ready" and sb.info["labels"] == {"k": "v"}
        assert sb.info["limits"]["memory"] == 128 << 20 and sb.info["idle_timeout_s"] == 120
        assert sb.id in [s["id"] for s in airlock.Sandbox.list(node=alice)]
        again = airlock.Sandbox.connect(sb.id, node=real_node.unix, token=real_node.tokens["alice"])
        assert again.info["id"] == sb.id
        # state persists between commands
        sb.run("echo kept > /tmp/p; echo $$ > /workspace/pid")
        assert sb.commands.run(["cat", "/tmp/p"]).stdout == "kept\n"
        assert sb.run("pwd").stdout == "/workspace\n"
        assert sb.refresh()["execs_running"] == 0
    finally:
        sb.destroy()
    sb.destroy()  # twice is fine
    with pytest.raises(airlock.NotFoundError):
        alice.get_sandbox(sb.id)
    assert sb.id not in [s["id"] for s in alice.sandboxes()]
    with airlock.Sandbox.create(node=alice) as sb2:
        assert sb2.run("true").success
    with pytest.raises(airlock.NotFoundError):
        alice.get_sandbox(sb2.id)


def test_files_round_trip(sandbox):
    f = sandbox.files
    f.write("hello.txt", "héllo\n")
    assert f.read_text("hello.txt") == "héllo\n"
    assert f.read("/workspace/hello.txt") == "héllo\n".encode()
    blob = bytes(range(256)) * 300 + b"\0\r\n\xff"
    f.write("/workspace/blob.bin", blob)
    assert f.read("blob.bin") == blob
    # the command sees what the files API wrote, and the reverse
    r = sandbox.run(["sha256sum", "blob.bin"])
    assert r.stdout.split()[0] == hashlib.sha256(blob).hexdigest()
    sandbox.run("mkdir -p sub/dir && printf made > sub/dir/by-cmd")
    assert f.read("sub/dir/by-cmd") == b"made"
    f.write("sub/dir/x", b"")
    names = {e.name: e for e in f.list()}
    assert names["blob.bin"].type == "file" and names["blob.bin"].size == len(blob)
    assert names["sub"].type == "dir"
    assert names["hello.txt"].mode == 0o644
    assert sorted(e.name for e in f.list("sub/dir")) == ["by-cmd", "x"]
    st = f.stat("sub/dir/by-cmd")
    assert (st.type, st.size) == ("file", 4) and st.mtime > 1_600_000_000
    assert f.exists("hello.txt") and not f.exists("nope.txt")
    f.remove("hello.txt")
    assert not f.exists("hello.txt")
    assert sandbox.run("test -e hello.txt || echo gone").stdout == "gone\n"
    with pytest.raises(airlock.NotFoundError):
        f.read("hello.txt")
    with pytest.raises(airlock.ConflictError):
        f.remove("sub/dir")  # not empty
    f.remove("sub/dir/x")
    f.remove("sub/dir/by-cmd")
    f.remove("sub/dir")
    assert not f.exists("sub/dir")
    with pytest.raises(airlock.BadRequestError):
        f.read("../etc/passwd")
    with pytest.raises(ValueError):
        f.read("/etc/passwd")
    with pytest.raises(airlock.NotFoundError):
        f.write("missing-dir/x", b"1")
    large = os.urandom(3 << 20)
    f.write("large.bin", large)
    assert f.read("large.bin") == large


def test_two_sandboxes_are_isolated(real_node, alice):
    with airlock.Sandbox.create(node=alice) as a, airlock.Sandbox.create(node=alice) as b:
        assert a.id != b.id
        a.files.write("only-a.txt", "a")
        a.run("echo a > /tmp/only-a; sleep 300 > /dev/null 2>&1 &")
        assert a.files.exists("only-a.txt") and not b.files.exists("only-a.txt")
        assert a.run("cat /tmp/only-a").stdout == "a\n"
        r = b.run(["ls", "-a", "/workspace", "/tmp"])
        assert r.exit_code == 0 and "only-a" not in r.stdout
        assert b.run(["test", "-e", "/tmp/only-a"]).exit_code == 1
        r = b.run(["ps", "-eo", "args"])
        assert r.exit_code == 0 and "airlock-init" in r.stdout and "sleep 300" not in r.stdout
        assert "sleep 300" in a.run(["ps", "-eo", "args"]).stdout
        # another tenant sees neither
        with airlock.Node(real_node.unix, real_node.tokens["bob"]) as bob:
            with pytest.raises(airlock.NotFoundError):
                airlock.Sandbox.connect(a.id, node=bob)
            with pytest.raises(airlock.NotFoundError):
                bob.read_file(a.id, "only-a.txt")
            with pytest.raises(airlock.NotFoundError):
                bob.exec("true", sandbox=a.id)
            assert a.id not in [s["id"] for s in bob.sandboxes()]


# -- approvals and audit ------------------------------------------------------------------
def test_approval_poll_approve_and_reject(real_node, sandbox):
    cmd = "rm -rf ~; echo approved-run"
    with pytest.raises(airlock.ApprovalRequiredError) as e:
        sandbox.run(cmd, approval="poll")
    aid = e.value.approval_id
    assert aid.startswith("ap_") and e.value.status == 202 and "rm-recursive-home" in e.value.rule
    assert sandbox.node.approval(aid)["state"] == "pending"
    assert aid in [a["approval_id"] for a in sandbox.node.approvals()]
    with airlock.Node(real_node.unix, real_node.tokens["approver"]) as ap:
        with pytest.raises(airlock.RefusedError):
            sandbox.node.approve(aid)  # alice is no approver
        assert ap.approve(aid)["state"] == "approved"
        assert sandbox.node.wait_approval(aid, timeout=5)["state"] == "approved"
        r = sandbox.run(cmd, approval_id=aid)
        assert r.stdout.endswith("approved-run\n")
        with pytest.raises(airlock.ApprovalMismatchError):
            sandbox.run(cmd, approval_id=aid)  # used once
        # wait mode: the call blocks until the approver rejects
        errors = []

        def blocked():
            try:
                sandbox.run(cmd + " again")
            except airlock.AirlockError as x:
                errors.append(x)

        t = threading.Thread(target=blocked)
        t.start()
        deadline = time.monotonic() + 10
        pending = []
        while not pending and time.monotonic() < deadline:
            pending = [a for a in ap.approvals() if "again" in a.get("command", "") and a["tenant"] == "alice"]
            time.sleep(0.05)
        assert pending
        ap.reject(pending[0]["approval_id"], reason="not today")
        t.join(15)
        assert not t.is_alive() and len(errors) == 1
        assert isinstance(errors[0], airlock.ApprovalRejectedError) and "not today" in errors[0].message
        # the audit trail has it all
        recs = ap.audit(q="approved-run", limit=50)
        kinds = {r["kind"] for r in recs}
        assert {"exec.request", "exec.result", "approval.answered"} <= kinds
        # another token reads its own tenant's records only
        mine = sandbox.node.audit(q="approved-run", limit=50)
        assert mine and all(r["tenant"] == "alice" for r in mine)
        with pytest.raises(airlock.RefusedError):
            sandbox.node.audit(tenant="approver")


# -- the documentation's examples ------------------------------------------------------------
def test_docs_examples_run(real_node):
    """Every ```python block of docs/sdk.md runs against the node and exits 0."""
    with open(os.path.join(ROOT, "docs", "sdk.md")) as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), re.S)
    assert len(blocks) >= 3
    env = dict(os.environ, AIRLOCK_NODE=real_node.unix, AIRLOCK_TOKEN=real_node.tokens["alice"],
               PYTHONPATH=os.path.join(ROOT, "clients", "python"))
    for code in blocks:
        p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, "example failed:\n%s\nstdout: %s\nstderr: %s" % (code, p.stdout, p.stderr)
        assert p.stdout.strip(), "example printed nothing:\n" + code
