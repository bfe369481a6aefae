#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Attacks on the sandbox's identity on the host and on the paths it is
given, as root and (when run as root) again rootless as an unprivileged user:

- as root a sandbox runs as a host uid of its own (leased from airlock's
  range): never host root, never the workspace's owner, never another
  sandbox's; files it writes to a user's workspace still belong to that user;
- it cannot change the host's /dev nodes (chmod /dev/null, /dev/tty);
- its per-user kernel counters are its own: exhausting inotify instances
  inside leaves root's usable meanwhile;
- a writable workspace of root's is refused, and a link planted in a project
  directory is never followed, not even once in a race: a directory and a
  link to a root-owned directory swapped with renameat2(RENAME_EXCHANGE) in
  a tight loop for several seconds while sandboxes keep being started on it;
- a host unix socket listening inside the workspace cannot be reached unless
  bound by name with --bind-socket.

Every negative check is paired with proof that the command ran.  Prints TAP
and the summary line.

usage: identity_test.py BIN_DIR
"""
import ctypes
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

BIN = os.path.abspath(sys.argv[1])
AIRLOCK = os.path.join(BIN, "airlock")
TEST_USER = os.environ.get("AIRLOCK_TEST_USER", "airlock-test")
RACE_SECONDS = float(os.environ.get("AIRLOCK_RACE_SECONDS", "6"))
OWNER = 1000  # a regular user's uid: owner of the workspaces root hands out

results = []


def check(ok, what, detail=""):
    results.append(ok)
    print("%s %d - %s" % ("ok" if ok else "not ok", len(results), what))
    if not ok and detail:
        for line in str(detail).splitlines()[-12:]:
            print("#   " + line)
    sys.stdout.flush()
    return ok


libc = ctypes.CDLL(None, use_errno=True)
SYS_RENAMEAT2 = 316
RENAME_EXCHANGE = 2
AT_FDCWD = -100


def exchange(a, b):
    return libc.syscall(SYS_RENAMEAT2, AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), RENAME_EXCHANGE)


class Mode:
    def __init__(self, name, user, tmp):
        self.name = name
        self.user = user
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o755)
        if user:
            os.chown(self.dir, user.pw_uid, user.pw_gid)
        # the workspace owner: a regular user as root, the caller rootless
        self.owner = user.pw_uid if user else OWNER
        self.group = user.pw_gid if user else OWNER

    def prefix(self):
        if not self.user:
            return []
        return ["setpriv", "--reuid=%d" % self.user.pw_uid, "--regid=%d" % self.user.pw_gid, "--init-groups",
                "env", "HOME=" + self.dir]

    def degraded(self):
        return ["--allow-degraded"] if self.user else []

    def airlock(self, args, timeout=60, **kw):
        return subprocess.run(self.prefix() + [AIRLOCK, "run", *self.degraded(), *args], capture_output=True,
                              text=True, timeout=timeout, **kw)

    def popen(self, args):
        return subprocess.Popen(self.prefix() + [AIRLOCK, "run", *self.degraded(), *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def mkdir(self, rel, owner=True):
        path = os.path.join(self.dir, rel)
        os.makedirs(path, exist_ok=True)
        if owner:
            os.chown(path, self.owner, self.group)
        return path

    def write(self, path, text, owner=True):
        with open(path, "w") as f:
            f.write(text)
        if owner:
            os.chown(path, self.owner, self.group)

    def t(self, what):
        return "[%s] %s" % (self.name, what)


def report(path):
    with open(path) as f:
        return json.load(f)


def uid_map_host(text):
    """the host uid of the first line of a uid_map"""
    fields = text.split()
    return int(fields[1]) if len(fields) >= 3 else None


def test_identity(m):
    ws = m.mkdir("ws")
    m.write(os.path.join(ws, "mine.txt"), "mine\n")
    rep = os.path.join(m.dir, "report.json")
    r = m.airlock(["--workspace", ws, "--report", rep, "--", "sh", "-c",
                   "cat /proc/self/uid_map; cat /workspace/mine.txt; echo written > /workspace/new.txt; id -u"])
    lines = r.stdout.split("\n")
    ran = r.returncode == 0 and "mine" in r.stdout
    check(ran, m.t("the command ran with a writable workspace"), r.stderr)
    host_uid = uid_map_host(lines[0]) if lines else None
    ident = report(rep).get("identity", {}) if ran else {}
    if m.user:
        check(ran and host_uid == m.user.pw_uid and ident.get("mode") == "caller",
              m.t("rootless: the sandbox is the caller's own uid, and the report says so"), "%s %s" % (host_uid, ident))
    else:
        check(ran and host_uid not in (0, OWNER, 65534) and host_uid == ident.get("host_uid")
              and ident.get("mode") == "allocated" and ident.get("idmapped") is True,
              m.t("the sandbox runs as a leased host uid, not root, not the workspace's owner"),
              "uid_map host uid %s, report %s" % (host_uid, ident))
    st = os.stat(os.path.join(ws, "new.txt")) if ran else None
    check(st is not None and st.st_uid == m.owner,
          m.t("a file it writes belongs to the workspace's owner on the host"), st)


def test_distinct(m):
    if m.user:
        return
    procs = [m.popen(["--timeout", "20", "--", "sh", "-c", "cat /proc/self/uid_map; sleep 2"]) for _ in range(3)]
    outs = [p.communicate(timeout=30) for p in procs]
    uids = [uid_map_host(o[0]) for o in outs]
    check(all(p.returncode == 0 for p in procs) and None not in uids and len(set(uids)) == 3,
          m.t("three sandboxes alive at once have three different host uids"), "%s %s" % (uids, outs))


def test_dev_nodes(m):
    before = {n: os.stat("/dev/" + n) for n in ("null", "tty", "zero")}
    r = m.airlock(["--", "sh", "-c", "echo ran; chmod 0666 /dev/null /dev/tty; chmod 000 /dev/null /dev/zero; "
                   "chown 1001 /dev/null; echo rc=$?"])
    after = {n: os.stat("/dev/" + n) for n in before}
    unchanged = all((before[n].st_mode, before[n].st_uid, before[n].st_gid) ==
                    (after[n].st_mode, after[n].st_uid, after[n].st_gid) for n in before)
    check("ran" in r.stdout and unchanged, m.t("chmod/chown of /dev/null, /dev/tty, /dev/zero inside leave the host's "
                                               "nodes unchanged"), r.stdout + r.stderr)


INOTIFY_HOG = r"""
import ctypes, sys, time
libc = ctypes.CDLL(None, use_errno=True)
n = 0
while libc.inotify_init1(0) >= 0:
    n += 1
print("held", n, "errno", ctypes.get_errno(), flush=True)
time.sleep(4)
"""


def test_inotify(m):
    if m.user:
        return  # rootless: the counters are the caller's own by nature
    p = m.popen(["--open-files", "4096", "--timeout", "20", "--", "python3", "-c", INOTIFY_HOG])
    line = p.stdout.readline()
    libc.inotify_init1.restype = ctypes.c_int
    fd = libc.inotify_init1(0)
    err = ctypes.get_errno()
    if fd >= 0:
        os.close(fd)
    out, errout = p.communicate(timeout=30)
    held = int(line.split()[1]) if line.startswith("held") else 0
    check(held >= 100 and fd >= 0, m.t("a sandbox holding every inotify instance it may (%d) leaves root's usable" % held),
          "sandbox: %r %s; root's inotify_init1: fd %d errno %d" % (line, errout, fd, err))


def test_root_owned_refused(m):
    if m.user:
        return
    rootdir = m.mkdir("rootws", owner=False)
    m.write(os.path.join(rootdir, "f"), "root's\n", owner=False)
    r = m.airlock(["--workspace", rootdir, "--", "sh", "-c", "echo x > /workspace/f"])
    check(r.returncode == 125 and "owned by root" in r.stderr and open(os.path.join(rootdir, "f")).read() == "root's\n",
          m.t("a writable workspace of root's is refused, naming the owner and the rule"), r.stderr)
    r = m.airlock(["--workspace", rootdir, "--workspace-access", "ro", "--", "cat", "/workspace/f"])
    check(r.returncode == 0 and "root's" in r.stdout, m.t("the same directory read-only is fine"), r.stderr)


def test_planted_link(m):
    proj = m.mkdir("proj")
    target = m.mkdir("elsewhere")
    m.write(os.path.join(target, "marker"), "elsewhere\n")
    link = os.path.join(proj, "task")
    os.symlink(target if not m.user else target, link)
    if not m.user:
        os.lchown(link, m.owner, m.group)
    r = m.airlock(["--workspace", link, "--", "cat", "/workspace/marker"])
    check(r.returncode == 125 and "symbolic link" in r.stderr and "elsewhere" not in r.stdout,
          m.t("a workspace given through a planted link is refused, not followed"), r.stdout + r.stderr)
    r = m.airlock(["--image", link, "--", "/bin/true"])
    check(r.returncode == 125 and "symbolic link" in r.stderr,
          m.t("an --image given through a link is refused, not followed"), r.stdout + r.stderr)
    os.unlink(link)


def test_report_link(m):
    """a sandbox plants a link where the next run's report goes"""
    ws = m.mkdir("repws")
    victim = os.path.join(m.dir, "precious")
    m.write(victim, "precious\n", owner=False)
    os.chmod(victim, 0o666)  # writable by anyone: only the link decides
    r = m.airlock(["--workspace", ws, "--", "sh", "-c", "ln -s %s /workspace/report.json && echo planted" % victim])
    planted = "planted" in r.stdout and os.path.islink(os.path.join(ws, "report.json"))
    r2 = m.airlock(["--workspace", ws, "--report", os.path.join(ws, "report.json"), "--", "true"])
    check(planted and open(victim).read() == "precious\n" and r2.returncode == 125,
          m.t("a report path turned into a link by a sandbox is refused, the file it points to untouched"),
          r.stdout + r.stderr + r2.stderr)


def test_race(m):
    """renameat2(RENAME_EXCHANGE) of a directory and a link to a protected
    directory, in a tight loop, while sandboxes keep starting on the path."""
    base = m.mkdir("race")
    task = m.mkdir("race/task")
    m.write(os.path.join(task, "marker"), "mine\n")
    secret = m.mkdir("secret", owner=False)  # root's (rootless: not the caller's)
    m.write(os.path.join(secret, "marker"), "SECRET\n", owner=False)
    os.chmod(secret, 0o755)
    os.chmod(os.path.join(secret, "marker"), 0o644)
    alt = os.path.join(base, "alt")
    os.symlink(secret, alt)
    stop = threading.Event()
    swaps = [0]

    def racer():
        while not stop.is_set():
            if exchange(task, alt) == 0:
                swaps[0] += 1

    th = threading.Thread(target=racer)
    th.start()
    outcomes = {"mine": 0, "refused": 0, "leaked": 0, "other": 0}
    leaks = []
    deadline = time.time() + RACE_SECONDS
    try:
        while time.time() < deadline:
            r = m.airlock(["--workspace", task, "--", "sh", "-c", "cat /workspace/marker; cat /proc/self/uid_map"],
                          timeout=30)
            if "SECRET" in r.stdout:
                outcomes["leaked"] += 1
                leaks.append(r.stdout)
            elif r.returncode == 0 and "mine" in r.stdout:
                host = uid_map_host(r.stdout.split("\n")[1]) if len(r.stdout.split("\n")) > 1 else None
                if not m.user and host in (0, OWNER):
                    outcomes["leaked"] += 1
                    leaks.append("host uid %s" % host)
                else:
                    outcomes["mine"] += 1
            elif r.returncode == 125:
                outcomes["refused"] += 1
            else:
                outcomes["other"] += 1
                leaks.append(r.stdout + r.stderr)
    finally:
        stop.set()
        th.join()
    # put the directory back where it belongs for the cleanup
    if os.path.islink(task):
        exchange(task, alt)
    attempts = sum(outcomes.values())
    check(outcomes["leaked"] == 0 and outcomes["other"] == 0 and outcomes["mine"] > 0 and swaps[0] > 1000,
          m.t("racing a directory against a link for %.0f s: %d swaps, %d launches: %d saw their own directory, "
              "%d refused, %d reached the other side" % (RACE_SECONDS, swaps[0], attempts, outcomes["mine"],
                                                         outcomes["refused"], outcomes["leaked"])),
          "\n".join(leaks[:3]))


def test_sockets(m):
    ws = m.mkdir("sockws")
    path = os.path.join(ws, "agent.sock")
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    os.chown(path, m.owner, m.group)
    srv.listen(4)
    accepted = []

    def serve():
        srv.settimeout(20)
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            accepted.append(1)
            c.sendall(b"agent says hi")
            c.close()

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    client = ("import socket,sys\nc=socket.socket(socket.AF_UNIX)\nprint('trying', flush=True)\n"
              "try:\n c.connect(sys.argv[1]); print('GOT', c.recv(64))\nexcept OSError as e:\n print('refused', e)\n")
    rep = os.path.join(m.dir, "sock-report.json")
    r = m.airlock(["--workspace", ws, "--report", rep, "--", "python3", "-c", client, "/workspace/agent.sock"])
    masked = report(rep).get("identity", {}).get("sockets_masked") if r.returncode == 0 else None
    check("trying" in r.stdout and "GOT" not in r.stdout and not accepted and masked == 1,
          m.t("a host socket listening in the workspace cannot be reached (report: %s masked)" % masked),
          r.stdout + r.stderr)
    rep2 = os.path.join(m.dir, "sock-report2.json")
    r = m.airlock(["--bind-socket", path + ":/agent.sock", "--report", rep2, "--", "python3", "-c", client,
                   "/agent.sock"])
    allowed = report(rep2).get("identity", {}).get("sockets_allowed") if r.returncode == 0 else None
    check("GOT" in r.stdout and accepted and allowed == [path],
          m.t("the same socket bound by name is reachable, and the report lists it"), r.stdout + r.stderr)
    srv.close()


def main():
    if not os.access(AIRLOCK, os.X_OK):
        print("identity_test: no airlock binary in %s" % BIN)
        return 1
    tmp = tempfile.mkdtemp(prefix="airlock-identity.")
    os.chmod(tmp, 0o755)
    modes = []
    try:
        if os.geteuid() == 0:
            modes.append(Mode("root", None, tmp))
            try:
                user = pwd.getpwnam(TEST_USER)
            except KeyError:
                subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                                TEST_USER], check=True)
                user = pwd.getpwnam(TEST_USER)
            modes.append(Mode("user", user, tmp))
        else:
            modes.append(Mode("user", pwd.getpwuid(os.geteuid()), tmp))
            modes[-1].prefix = lambda: []
        for m in modes:
            for t in (test_identity, test_distinct, test_dev_nodes, test_inotify, test_root_owned_refused,
                      test_planted_link, test_report_link, test_race, test_sockets):
                try:
                    t(m)
                except Exception as e:  # a crashed case is a failed case
                    check(False, m.t(t.__name__ + " crashed"), repr(e))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    failed = results.count(False)
    print("1..%d" % len(results))
    print("%d passed, %d failed" % (len(results) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
