# SPDX-License-Identifier: Apache-2.0
"""A real ``airlock node`` for the SDK's tests (started once per session).

This fixture owns the node the Python tests talk to, made as
tests/node/run_e2e.sh makes its own: a temporary state directory in a
world-traversable parent, tokens (``alice``, ``bob``, ``approver``), a test
CA and server certificate, and the node on a unix socket and on TLS on
loopback, with a policy (``full`` autonomy, ``ssh_exec`` blocked, dangerous
patterns asking ``approver``).  ``AIRLOCK_BIN_DIR`` names the directory
of the built ``airlock`` and ``airlock-node``; the node needs root.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Dict

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # the package from this tree, not an installed one

POLICY = {
    "autonomy": {"level": "full", "blockedActions": ["ssh_exec"]},
    "approvalGating": {"approvers": ["approver"], "timeout": 60000},
}


@dataclass
class RealNode:
    tmp: str
    sock: str
    url: str
    ca: str
    bin_dir: str
    tokens: Dict[str, str] = field(default_factory=dict)

    @property
    def unix(self) -> str:
        return "unix:" + self.sock


def _openssl(tls: str) -> None:
    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=tls, check=True, capture_output=True)

    def key(name: str) -> None:
        run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", name)

    key("ca.key")
    run("req", "-x509", "-new", "-key", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=airlock-sdk-test-ca",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    key("server.key")
    run("req", "-new", "-key", "server.key", "-out", "server.csr", "-subj", "/CN=airlock-sdk-test-node")
    with open(os.path.join(tls, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "2", "-extfile", "server.ext")


@pytest.fixture(scope="session")
def real_node():
    bin_dir = os.environ.get("AIRLOCK_BIN_DIR")
    if not bin_dir:
        pytest.skip("AIRLOCK_BIN_DIR (the built airlock) is not set; tests/sdk/run_python.sh sets it")
    if os.geteuid() != 0:
        pytest.skip("the node's sandboxes need root here (cgroup limits)")
    tmp = tempfile.mkdtemp(prefix="airlock-sdk-py.")
    os.chmod(tmp, 0o755)  # node-made workspaces sit beside the state dir: reachable by the sandbox uid
    state = os.path.join(tmp, "state")
    os.mkdir(state, 0o700)
    bins = os.path.join(tmp, "bin")
    os.mkdir(bins, 0o755)
    for b in ("airlock", "airlock-node"):
        shutil.copy2(os.path.join(bin_dir, b), bins)
    airlock = os.path.join(bins, "airlock")
    node = RealNode(tmp=tmp, sock=os.path.join(state, "node.sock"), url="", ca="", bin_dir=bins)
    for who in ("alice", "bob", "approver"):
        out = subprocess.run([airlock, "token", "create", "--name", who, "--state-dir", state],
                             check=True, capture_output=True, text=True).stdout
        node.tokens[who] = out.strip().splitlines()[-1]
    tls = os.path.join(tmp, "tls")
    os.mkdir(tls)
    _openssl(tls)
    node.ca = os.path.join(tls, "ca.pem")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    node.url = "https://127.0.0.1:%d" % port
    config = os.path.join(tmp, "node.json")
    with open(config, "w") as f:
        json.dump(POLICY, f)
    ready = os.path.join(state, "ready")
    log = open(os.path.join(tmp, "node.log"), "ab")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRLOCK_")}
    proc = subprocess.Popen([airlock, "node", "--config", config, "--state-dir", state, "--listen", node.unix,
                             "--listen", "tcp:127.0.0.1:%d" % port, "--tls-cert", os.path.join(tls, "server.pem"),
                             "--tls-key", os.path.join(tls, "server.key"), "--ready-file", ready, "--pool", "1"],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env)
    deadline = time.monotonic() + 30
    while not os.path.exists(ready):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            text = open(os.path.join(tmp, "node.log"), errors="replace").read()[-3000:]
            shutil.rmtree(tmp, ignore_errors=True)
            pytest.fail("the node did not start: " + text)
        time.sleep(0.05)
    try:
        yield node
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        log.close()
        text = open(os.path.join(tmp, "node.log"), errors="replace").read()
        if os.environ.get("AIRLOCK_SDK_KEEP") == "1":
            print("kept", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
        assert rc == 0, "the node exited %s after SIGTERM; log: %s" % (rc, text[-2000:])


@pytest.fixture(autouse=True)
def _no_airlock_env(monkeypatch):
    """Tests choose the node and token themselves, not from the caller's environment."""
    for k in ("AIRLOCK_NODE", "AIRLOCK_TOKEN", "AIRLOCK_CA_FILE"):
        monkeypatch.delenv(k, raising=False)


@pytest.fixture
def alice(real_node):
    import airlock

    with airlock.Node(real_node.unix, real_node.tokens["alice"]) as n:
        yield n


@pytest.fixture
def sandbox(real_node, alice):
    import airlock

    with airlock.Sandbox.create(node=alice, labels={"test": "sdk-py"}) as sb:
        yield sb
