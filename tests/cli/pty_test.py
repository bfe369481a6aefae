#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`airlock run` on a terminal: the caller's terminal never enters the sandbox.

Every case runs real sandboxes with a real pseudo-terminal as the caller's
terminal (os.openpty; the test keeps the slave open to read its line
discipline and modes).  What is checked:

- attack: the command tries TIOCSETD to N_NULL, TCSETS with broken modes
  (speed 0), TIOCSTI and `stty raw -echo` on stdin, stdout, stderr and
  /dev/tty; afterwards the caller's terminal has line discipline N_TTY and
  modes identical to before, in the same run that shows (a marker through
  the pty) that the command ran; after a normal exit, the command killing
  itself, a timeout, SIGTERM, SIGINT and SIGHUP to airlock, a command that
  cannot be executed and a setup failure; rootless too when the test user
  exists.  During a run the caller's terminal is in raw mode (so giving the
  modes back is really tested).
- job control: `bash --norc -i` in the sandbox: background job, jobs, kill
  %1, Ctrl-C ends the foreground job only, Ctrl-Z stops it, fg, exit code.
- window size: on start and on SIGWINCH.
- what the command gets: a pty (and not the caller's) on terminals; pipes
  and files passed as they are; -t without a terminal; --no-pty.

With --node (root): the same for `airlock exec --pty` against a real node
(a state directory, a token and `airlock node` on a unix socket, as
tests/node/run_e2e.sh makes them): a /dev/pts path inside, typed input
reaching the command, exit code, job control, window size on start and on
SIGWINCH, the attack, timeout and SIGTERM with the caller's terminal
intact, a persistent sandbox, and the API's refusals (pty without stream,
input to an exec without a pty or one that has ended).

usage: pty_test.py AIRLOCK_BIN
       pty_test.py --node AIRLOCK_BIN_DIR
"""
import fcntl
import json
import os
import pwd
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "node"))
from e2e import UnixHTTPConnection  # noqa: E402

NODE_MODE = sys.argv[1] == "--node"
AIRLOCK = os.path.abspath(sys.argv[2] + "/airlock-node" if NODE_MODE else sys.argv[1])
TEST_USER = os.environ.get("AIRLOCK_TEST_USER", "airlock-test")
N_TTY = 0
N_NULL = 27

passed = failed = 0


def result(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok {passed + failed} - {name}", flush=True)
    else:
        failed += 1
        print(f"not ok {passed + failed} - {name}", flush=True)
        for line in str(detail).splitlines()[-40:]:
            print(f"#   {line}", flush=True)


class Term:
    """A process whose controlling terminal, stdin, stdout and stderr are
    the slave of a fresh pty; the test holds master and slave."""

    def __init__(self, argv, rows=24, cols=80, stdin=None, stdout=None, stderr=None, user=None, env=None):
        self.master, self.slave = os.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.before = snapshot(self.slave)
        self.out = b""
        self.all = b""  # everything, self.out is what the test has not cleared
        pid = os.fork()
        if pid == 0:
            try:
                os.setsid()
                fcntl.ioctl(self.slave, termios.TIOCSCTTY, 0)
                for fd, repl in ((0, stdin), (1, stdout), (2, stderr)):
                    os.dup2(repl if repl is not None else self.slave, fd)
                os.closerange(3, 1024)
                if user:
                    os.setgroups([])
                    os.setgid(user.pw_gid)
                    os.setuid(user.pw_uid)
                os.execve(argv[0], argv, env if env is not None else os.environ)
            finally:
                os._exit(120)
        self.pid = pid
        self.status = None

    def pump(self, timeout):
        r, _, _ = select.select([self.master], [], [], timeout)
        if r:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return False
            self.out += data
            self.all += data
            return bool(data)
        return False

    def expect(self, needle, timeout=10.0):
        needle = needle.encode() if isinstance(needle, str) else needle
        end = time.time() + timeout
        while needle not in self.out and time.time() < end:
            self.pump(0.05)
            if self.poll() is not None:
                self.pump(0.2)
                break
        return needle in self.out

    def send(self, data):
        os.write(self.master, data.encode() if isinstance(data, str) else data)

    def poll(self):
        if self.status is None:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.status = os.waitstatus_to_exitcode(st)
        return self.status

    def wait(self, timeout=30.0):
        end = time.time() + timeout
        while self.poll() is None and time.time() < end:
            self.pump(0.05)
        while self.pump(0.05):
            pass
        if self.status is None:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.status = "hung"
        return self.status

    def text(self):
        return self.out.decode(errors="replace")

    def close(self):
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.wait(5)
        os.close(self.master)
        os.close(self.slave)


def snapshot(fd):
    """The line discipline and the modes of a terminal, to compare."""
    ldisc = struct.unpack("i", fcntl.ioctl(fd, termios.TIOCGETD, struct.pack("i", -1)))[0]
    try:
        return ldisc, termios.tcgetattr(fd)
    except termios.error as e:  # N_NULL has no modes to read
        return ldisc, f"tcgetattr failed: {e}"


def unchanged(t):
    after = snapshot(t.slave)
    problems = []
    if after[0] != N_TTY:
        problems.append(f"line discipline is {after[0]}, not N_TTY")
    if after != t.before:
        problems.append(f"terminal changed:\n before {t.before}\n after  {after}")
    return problems


# The attack: everything a command could do to a terminal it was given.
ATTACK = r"""
import fcntl, os, struct, subprocess, sys, termios, time
os.write(1, b"ATTACK-MARKER-RAN\n")
fds = [0, 1, 2]
try:
    fds.append(os.open("/dev/tty", os.O_RDWR))
except OSError as e:
    pass
done = []
for fd in fds:
    try:
        fcntl.ioctl(fd, termios.TIOCSTI, b"x")
        done.append("sti")
    except OSError as e:
        pass
    try:
        a = termios.tcgetattr(fd)
        a[0] = 0
        a[1] &= ~termios.OPOST
        a[3] &= ~(termios.ICANON | termios.ECHO | termios.ISIG)
        a[4] = a[5] = termios.B0
        termios.tcsetattr(fd, termios.TCSANOW, a)
        done.append("tcsets")
    except OSError:
        pass
    subprocess.run(["stty", "raw", "-echo"], stdin=fd, stderr=subprocess.DEVNULL)
os.write(2, ("ATTACK-DID %s\n" % " ".join(done)).encode())
for fd in fds:
    try:
        fcntl.ioctl(fd, termios.TIOCSETD, struct.pack("i", 27))
    except OSError:
        pass
mode = sys.argv[1]
if mode == "sleep":
    time.sleep(100)
elif mode == "kill":
    os.kill(os.getpid(), 9)
"""


def run_argv(*extra, user=None):
    argv = [AIRLOCK, "run"]
    if user:
        argv.append("--allow-degraded")
    return argv + list(extra)


def attack(name, argv, mode, end, want, user=None, env=None):
    """runs the attack (ATTACK's mode: exit, kill or sleep) through argv
    (an airlock run or airlock exec --pty prefix) on a terminal; end: a
    signal for airlock once the attack has run"""
    t = Term(argv + ["--", "/usr/bin/python3", "-c", ATTACK, mode], user=user, env=env)
    try:
        ran = t.expect("ATTACK-MARKER-RAN", 30)
        raw_seen = None
        if ran and mode == "sleep":
            time.sleep(0.5)
            raw_seen = not (termios.tcgetattr(t.slave)[3] & termios.ICANON)
            if end is not None:
                os.kill(t.pid, end)
        code = t.wait(30)
        problems = unchanged(t)
        if not ran:
            problems.append("the command did not run (no marker)")
        if raw_seen is False:
            problems.append("the caller's terminal was not in raw mode during the run")
        if code != want:
            problems.append(f"exit {code}, want {want}")
        result(f"{name}: caller's terminal intact", not problems, "\n".join(problems) + "\n" + t.text())
    finally:
        t.close()


def attack_case(name, extra, mode, end, want, user=None):
    attack("attack " + name, run_argv(*extra, user=user), mode, end, want, user=user)


def test_attacks(user=None, label=""):
    attack_case(f"{label}normal exit", [], "exit", None, 0, user)
    if user is not None:
        return
    attack_case("command killed", [], "kill", None, 137)
    attack_case("timeout", ["--timeout", "3"], "sleep", None, 124)
    attack_case("SIGTERM to airlock", [], "sleep", signal.SIGTERM, 143)
    attack_case("SIGHUP to airlock", [], "sleep", signal.SIGHUP, 129)
    attack_case("SIGINT to airlock", [], "sleep", signal.SIGINT, 130)


def failure_case(name, argv, want, message):
    t = Term(argv)
    try:
        code = t.wait(20)
        problems = unchanged(t)
        if code != want:
            problems.append(f"exit {code}, want {want}")
        if message not in t.text():
            problems.append("no message " + message)
        result(name, not problems, "\n".join(problems) + "\n" + t.text())
    finally:
        t.close()


def test_not_executable():
    failure_case("a command that cannot be executed: terminal intact, 127", run_argv("--", "/nonexistent-program"),
                 127, "cannot execute '/nonexistent-program'")


def test_setup_failure():
    failure_case("setup failure: terminal intact, 125", run_argv("--cwd", "/no/such/dir", "--", "true"), 125,
                 "sandbox setup failed")


def test_command_view():
    """Inside: a pty of the sandbox's own on every descriptor; the caller's is nowhere."""
    script = ('tty; readlink /proc/self/fd/0 /proc/self/fd/1 /proc/self/fd/2; '
              'echo SID=$(ps -o sid= -p $$) PID=$$; '
              'for fd in 0 1 2; do python3 -c "import os; s = os.fstat($fd); print(\'ID\', s.st_dev, s.st_ino)"; done')
    t = Term(run_argv("--", "sh", "-c", script))
    try:
        code = t.wait(20)
        st = os.fstat(t.slave)
        caller = f"ID {st.st_dev} {st.st_ino}"
        out = t.text()
        lines = out.replace("\r", "").split("\n")
        problems = []
        if code != 0:
            problems.append(f"exit {code}")
        if lines[:4] != ["/dev/pts/0"] * 4:
            problems.append("stdio is not the sandbox's /dev/pts/0")
        if "SID=" not in out or out.split("SID=")[1].split()[0] != out.split("PID=")[1].split()[0]:
            problems.append("the command does not lead its own session")
        if out.count("ID ") != 3 or caller in out:
            problems.append(f"the caller's terminal ({caller}) is the command's")
        result("the command's stdio is a pty of its own and it leads the session", not problems,
               "\n".join(problems) + "\n" + out)
    finally:
        t.close()


def ctrl_c(t, problems):
    """Ctrl-C while bash -i runs sleep 30: the sleep ends, the shell lives on"""
    t.expect("PROMPT> ", 5)
    t.out = b""
    t.send("sleep 30\n")
    time.sleep(0.8)
    start = time.time()
    t.send("\x03")
    if not t.expect("PROMPT> ", 5) or time.time() - start > 4:
        problems.append("Ctrl-C did not end the foreground sleep")
    t.out = b""
    t.send("echo alive-$((6*7))\n")
    if not t.expect("alive-42", 5):
        problems.append("the shell did not survive Ctrl-C")


def exit_shell(t, code, problems, name):
    """exit CODE from bash -i: airlock's exit code, job control, the terminal"""
    t.send(f"exit {code}\n")
    got = t.wait(20)
    if got != code:
        problems.append(f"exit {got}, want {code}")
    if b"no job control" in t.all:
        problems.append("bash says it has no job control")
    problems += unchanged(t)
    result(name, not problems, "\n".join(problems) + "\n" + t.all.decode(errors="replace"))


def test_job_control():
    t = Term(run_argv("-t", "--env", "PS1=PROMPT> ", "--", "bash", "--norc", "-i"))
    problems = []

    def cmd(line, timeout=5):
        """run line, return what it printed (up to a marker the echo of the line cannot contain)"""
        t.out = b""
        t.send(line + "; echo END-$((40+2))\n")
        t.expect("END-42", timeout)
        return t.text().split("END-42")[0]

    try:
        if not t.expect("PROMPT> ", 20):
            problems.append("no prompt")
        t.send("sleep 30 &\n")
        out = cmd("jobs")
        if "Running" not in out or "sleep 30" not in out:
            problems.append("jobs does not show the background sleep: " + out)
        cmd("kill %1; wait")
        out = cmd("jobs")
        if "sleep" in out:
            problems.append("kill %1 did not end the job: " + out)
        ctrl_c(t, problems)
        t.expect("PROMPT> ", 5)
        t.out = b""
        t.send("sleep 30\n")
        time.sleep(0.8)
        t.send("\x1a")
        if not t.expect("Stopped", 5):
            problems.append("Ctrl-Z did not stop the foreground job")
        out = cmd("jobs")
        if "Stopped" not in out:
            problems.append("jobs does not show the stopped job: " + out)
        t.expect("PROMPT> ", 5)
        t.out = b""
        t.send("fg\n")
        time.sleep(0.8)
        t.send("\x03")
        t.expect("PROMPT> ", 5)
        out = cmd("jobs")
        if "sleep" in out:
            problems.append("fg and Ctrl-C left a job: " + out)
        exit_shell(t, 7, problems, "job control in bash -i: &, jobs, kill %1, Ctrl-C, Ctrl-Z, fg, exit code")
    finally:
        t.close()


def resize_case(name, argv, env=None):
    """the size on start (37 x 123), then a resize and its SIGWINCH (51 x 162)"""
    t = Term(argv + ["--", "bash", "-c", 'stty size; trap "stty size; exit 0" WINCH; echo READY; '
                     'for i in $(seq 200); do sleep 0.1; done; exit 9'], rows=37, cols=123, env=env)
    problems = []
    try:
        if not t.expect("37 123", 30):
            problems.append("start: stty size is not 37 123")
        if t.expect("READY", 10):
            fcntl.ioctl(t.slave, termios.TIOCSWINSZ, struct.pack("HHHH", 51, 162, 0, 0))
            os.killpg(os.getpgid(t.pid), signal.SIGWINCH)  # what the terminal does on a resize
            if not t.expect("51 162", 10):
                problems.append("SIGWINCH: stty size is not 51 162")
        code = t.wait(20)
        if code != 0:
            problems.append(f"exit {code}")
        result(name, not problems, "\n".join(problems) + "\n" + t.text())
    finally:
        t.close()


def test_window_size():
    resize_case("window size on start and on SIGWINCH", run_argv())


def test_background():
    """airlock started in the background of an interactive shell: not
    stopped, terminal left alone; `fg` of it (no SIGCONT: it was running)
    turns the relay on and typed input reaches the command"""
    t = Term(["/bin/bash", "--norc", "-i"], env=dict(os.environ, PS1="SH> "))
    problems = []
    try:
        t.expect("SH> ", 10)
        t.out = b""
        t.send(f"{AIRLOCK} run -- sh -c 'sleep 1; echo bg-$((2+3))' &\n")
        if not t.expect("bg-5", 20):
            problems.append("the background run did not print")
        time.sleep(0.5)
        t.out = b""
        t.send("jobs; echo J-$((1+1))\n")
        t.expect("J-2", 5)
        if "Done" not in t.text() or "Stopped" in t.text():
            problems.append("the background run was stopped or did not end: " + t.text())
        t.out = b""
        t.send(f"{AIRLOCK} run -- sh -c 'echo up-$((3+4)); read x; echo got=$x' &\n")
        if not t.expect("up-7", 20):
            problems.append("the second background run did not start")
        t.send("fg\n")
        time.sleep(1)
        t.send("typed-after-fg\r")
        if not t.expect("got=typed-after-fg", 10):
            problems.append("after fg the input did not reach the command: " + t.text())
        t.expect("SH> ", 10)
        t.send("exit\n")
        t.wait(10)
        result("background: not stopped, terminal left alone; fg turns the relay on", not problems,
               "\n".join(problems))
    finally:
        t.close()


def test_pipes_pass():
    """stdin a pipe, stdout and stderr the terminal: the pipe goes in as it is."""
    r, w = os.pipe()
    os.write(w, b"from-the-pipe\n")
    os.close(w)
    t = Term(run_argv("--", "sh", "-c", 'read x; echo got=$x; [ -t 0 ] || echo stdin-not-tty; '
                      '[ -t 1 ] && echo stdout-tty; [ -t 2 ] && echo stderr-tty'), stdin=r)
    os.close(r)
    try:
        code = t.wait(20)
        out = t.text()
        ok = code == 0 and all(s in out for s in ("got=from-the-pipe", "stdin-not-tty", "stdout-tty", "stderr-tty"))
        ok = ok and not unchanged(t)
        result("stdin a pipe: passed as is; stdout and stderr on the pty", ok, f"exit {code}\n{out}")
    finally:
        t.close()


def test_stdout_file():
    """stdout a file: written directly, no CR added; stdin the pty."""
    with tempfile.NamedTemporaryFile(prefix="airlock-pty-") as f:
        t = Term(run_argv("--", "sh", "-c", 'echo line1; echo line2; [ -t 0 ] && echo in-tty >&2'), stdout=f.fileno())
        try:
            code = t.wait(20)
            data = open(f.name, "rb").read()
            ok = code == 0 and data == b"line1\nline2\n" and "in-tty" in t.text() and not unchanged(t)
            result("stdout a file: written as is; stdin and stderr on the pty", ok, f"exit {code} file {data!r}\n{t.text()}")
        finally:
            t.close()


def test_no_pty():
    t = Term(run_argv("--no-pty", "--", "sh", "-c", 'tty; [ -t 1 ] || echo out-pipe; cat; echo cat-ended'))
    try:
        code = t.wait(20)
        out = t.text()
        ok = code == 0 and "not a tty" in out and "out-pipe" in out and "cat-ended" in out and not unchanged(t)
        result("--no-pty on a terminal: stdin /dev/null, output through a pipe", ok, f"exit {code}\n{out}")
    finally:
        t.close()


def test_forced_without_terminal():
    p = subprocess.run([AIRLOCK, "run", "-t", "--", "sh", "-c", 'tty; read x; echo got=$x; stty size'],
                       input=b"typed\n", capture_output=True, timeout=30)
    out = p.stdout.decode(errors="replace")
    # the pty echoes what is written into it, as `docker run -t` does
    ok = p.returncode == 0 and "/dev/pts/0\r\n" in out and "got=typed" in out
    result("-t without a terminal: a pty anyway, stdin relayed into it", ok, f"exit {p.returncode}\n{out}{p.stderr}")
    p = subprocess.run([AIRLOCK, "run", "--", "sh", "-c", 'tty; cat'], input=b"as-is\n", capture_output=True,
                       timeout=30)
    ok = p.returncode == 0 and p.stdout == b"not a tty\nas-is\n"
    result("no terminal: no pty, descriptors as they are", ok, f"exit {p.returncode} {p.stdout!r} {p.stderr!r}")


def test_rootless():
    try:
        user = pwd.getpwnam(TEST_USER)
    except KeyError:
        print(f"# skip rootless: no user {TEST_USER}")
        return
    global AIRLOCK
    d = tempfile.mkdtemp(prefix="airlock-pty-")
    os.chmod(d, 0o755)
    shutil.copy(AIRLOCK, d + "/airlock")
    saved, AIRLOCK = AIRLOCK, d + "/airlock"
    try:
        test_attacks(user, "rootless ")
    finally:
        AIRLOCK = saved
        shutil.rmtree(d)


# ---- airlock exec --pty against a real node -----------------------------------


class Node:
    """`airlock node` on a unix socket in a temporary state directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="airlock-pty-node-")
        os.chmod(self.dir, 0o755)
        self.state = self.dir + "/state"
        os.mkdir(self.state, 0o700)
        self.sock = self.state + "/node.sock"
        p = subprocess.run([AIRLOCK, "token", "create", "--name", "alice", "--state-dir", self.state],
                           capture_output=True, timeout=60)
        if p.returncode != 0:
            raise RuntimeError("token create: " + p.stderr.decode(errors="replace"))
        self.token = p.stdout.decode().strip()
        ready = self.dir + "/ready"
        self.log = open(self.dir + "/node.log", "wb")
        self.proc = subprocess.Popen([AIRLOCK, "node", "--state-dir", self.state, "--listen", "unix:" + self.sock,
                                      "--ready-file", ready], stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=self.log, start_new_session=True)
        end = time.time() + 30
        while not os.path.exists(ready) and self.proc.poll() is None and time.time() < end:
            time.sleep(0.05)
        if not os.path.exists(ready):
            raise RuntimeError("the node did not start: " + open(self.dir + "/node.log").read())
        self.env = dict(os.environ, AIRLOCK_TOKEN=self.token, TERM="xterm-256color")

    def request(self, method, path, body=None):
        c = UnixHTTPConnection(self.sock, timeout=30)
        c.request(method, path, body=json.dumps(body) if body is not None else None,
                  headers={"Authorization": "Bearer " + self.token, "Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data.decode(errors="replace")

    def exec_argv(self, *args):
        return [AIRLOCK, "exec", "--node", "unix:" + self.sock] + list(args)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.log.close()
        log = open(self.dir + "/node.log", errors="replace").read()
        # memory errors fail; leaks at exit do not: libevent 2.1 leaks the
        # request of any stream whose client went away (here: SIGTERM to
        # airlock exec), with or without a pty
        result("the node stopped cleanly (no AddressSanitizer error)", "ERROR: AddressSanitizer" not in log and
               (code == 0 or "ERROR: LeakSanitizer" in log), f"exit {code}\n{log}")
        shutil.rmtree(self.dir, ignore_errors=True)


def exec_term(node, *args, rows=24, cols=80):
    return Term(node.exec_argv(*args), rows=rows, cols=cols, env=node.env)


def test_exec_basics(node):
    t = exec_term(node, "--pty", "--", "sh", "-c", 'tty; echo TERM=$TERM; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && '
                  'echo all-tty; stty size; read x; echo got=$x; exit 5', rows=33, cols=111)
    problems = []
    try:
        if not t.expect("33 111", 30):
            problems.append("no output, or stty size is not 33 111")
        t.send("typed-input\r")
        if not t.expect("got=typed-input", 10):
            problems.append("typed input did not reach the command")
        code = t.wait(20)
        out = t.text()
        if "/dev/pts/" not in out or "all-tty" not in out:
            problems.append("the command is not on a pty")
        if "TERM=xterm-256color" not in out:
            problems.append("TERM is not the caller's")
        if code != 5:
            problems.append(f"exit {code}, want 5")
        problems += unchanged(t)
        result("exec --pty: a /dev/pts terminal inside, typed input, window size, TERM, exit code", not problems,
               "\n".join(problems) + "\n" + out)
    finally:
        t.close()


def test_exec_job_control(node):
    t = Term(node.exec_argv("--pty", "--env", "PS1=PROMPT> ", "--", "bash", "--norc", "-i"), env=node.env)
    problems = []
    try:
        if not t.expect("PROMPT> ", 30):
            problems.append("no prompt")
        ctrl_c(t, problems)
        exit_shell(t, 3, problems, "exec --pty: bash -i, Ctrl-C ends the foreground job, the shell lives on")
    finally:
        t.close()


def test_exec_resize(node):
    resize_case("exec --pty: window size on start and on SIGWINCH", node.exec_argv("--pty"), env=node.env)


def exec_attack_case(node, name, extra, mode, end, want):
    attack("exec --pty attack, " + name, node.exec_argv("--pty", *extra), mode, end, want, env=node.env)


def test_exec_persistent(node):
    status, body = node.request("POST", "/v1/sandboxes", {})
    if status != 201:
        result("exec --pty in a persistent sandbox", False, f"{status} {body}")
        return
    sb = json.loads(body)["id"]
    try:
        t = exec_term(node, "--pty", "--sandbox", sb, "--", "sh", "-c", 'tty; read x; echo got=$x')
        try:
            ok = t.expect("/dev/pts/", 30)
            t.send("in-persistent\r")
            ok = ok and t.expect("got=in-persistent", 10)
            code = t.wait(20)
            result("exec --pty in a persistent sandbox", ok and code == 0 and not unchanged(t),
                   f"exit {code}\n{t.text()}")
        finally:
            t.close()
    finally:
        node.request("DELETE", "/v1/sandboxes/" + sb)


def test_exec_api(node):
    problems = []
    status, body = node.request("POST", "/v1/exec", {"argv": ["true"], "pty": True})
    if status != 400 or "needs 'stream'" not in body:
        problems.append(f"pty without stream: {status} {body}")
    status, body = node.request("POST", "/v1/exec", {"argv": ["true"], "pty": True, "stream": True, "stdin": "x"})
    if status != 400:
        problems.append(f"pty with stdin: {status} {body}")
    status, body = node.request("POST", "/v1/exec", {"argv": ["true"], "rows": 10, "cols": 10})
    if status != 400:
        problems.append(f"rows without pty: {status} {body}")
    status, body = node.request("POST", "/v1/exec", {"argv": ["true"]})
    ex = json.loads(body).get("exec_id", "") if status == 200 else ""
    status, body = node.request("POST", f"/v1/execs/{ex}/input", {"data": "x"})
    if status != 409 or "takes no input" not in body:
        problems.append(f"input to an exec without a pty: {status} {body}")
    status, body = node.request("POST", "/v1/execs/ex_0000000000000000/input", {"data": "x"})
    if status != 404:
        problems.append(f"input to an unknown exec: {status} {body}")
    result("API: pty needs stream and no stdin; input needs a pty exec", not problems, "\n".join(problems))


def test_exec_input_api(node):
    """a streamed pty exec driven over the API alone: input, resize, 409 once ended"""
    c = UnixHTTPConnection(node.sock, timeout=30)
    c.request("POST", "/v1/exec", body=json.dumps({"argv": ["sh", "-c", 'stty size; read x; echo got=$x; stty size'],
                                                   "stream": True, "pty": True, "rows": 20, "cols": 70}),
              headers={"Authorization": "Bearer " + node.token, "Content-Type": "application/json"})
    r = c.getresponse()
    first = json.loads(r.readline())
    ex = first.get("exec_id", "")
    problems = []
    st1, b1 = node.request("POST", f"/v1/execs/{ex}/input", {"rows": 21, "cols": 71})
    st2, b2 = node.request("POST", f"/v1/execs/{ex}/input",
                           {"data_base64": __import__("base64").b64encode(b"over-api\r").decode()})
    if st1 != 202 or st2 != 202:
        problems.append(f"input answers {st1} {b1} / {st2} {b2}")
    records = [json.loads(line) for line in r.read().decode().splitlines() if line.strip()]
    c.close()
    out = "".join(x.get("data", "") for x in records if x.get("type") == "stdout")
    last = records[-1] if records else {}
    if "got=over-api" not in out or "21 71" not in out:
        problems.append("output: " + repr(out))
    if last.get("type") != "exit" or last.get("exit_code") != 0:
        problems.append(f"last record {last}")
    st3, b3 = node.request("POST", f"/v1/execs/{ex}/input", {"data": "late"})
    if st3 != 409:
        problems.append(f"input after the end: {st3} {b3}")
    result("API: a pty exec over HTTP alone (input, resize, 409 after the end)", not problems, "\n".join(problems))


def test_exec_stdin_open_api(node):
    """stdin_open: the pipe fed by input requests as they come, closed by eof"""
    problems = []
    for body, why in (({"argv": ["true"], "stdin_open": True}, "without stream"),
                      ({"argv": ["true"], "stdin_open": True, "stream": True, "pty": True}, "with pty"),
                      ({"argv": ["true"], "stdin_open": True, "stream": True, "stdin": "x"}, "with stdin")):
        status, text = node.request("POST", "/v1/exec", body)
        if status != 400 or "stdin_open" not in text:
            problems.append(f"stdin_open {why}: {status} {text}")
    c = UnixHTTPConnection(node.sock, timeout=30)
    c.request("POST", "/v1/exec", body=json.dumps({"argv": ["sh", "-c", 'read a; echo "got=$a"; cat; echo end'],
                                                   "stream": True, "stdin_open": True}),
              headers={"Authorization": "Bearer " + node.token, "Content-Type": "application/json"})
    r = c.getresponse()
    ex = json.loads(r.readline()).get("exec_id", "")
    st1, b1 = node.request("POST", f"/v1/execs/{ex}/input", {"data": "one\n"})
    line = json.loads(r.readline())  # answered before the rest is sent: input as it comes
    st2, b2 = node.request("POST", f"/v1/execs/{ex}/input", {"data": "two\n", "eof": True})
    st3, b3 = node.request("POST", f"/v1/execs/{ex}/input", {"data": "late"})
    st4, b4 = node.request("POST", f"/v1/execs/{ex}/input", {"rows": 10, "cols": 10})
    records = [line] + [json.loads(x) for x in r.read().decode().splitlines() if x.strip()]
    c.close()
    out = "".join(x.get("data", "") for x in records if x.get("type") == "stdout")
    if (st1, st2) != (202, 202):
        problems.append(f"input answers {st1} {b1} / {st2} {b2}")
    if line.get("data") != "got=one\n":
        problems.append(f"first line not answered before the rest was sent: {line}")
    if out != "got=one\ntwo\nend\n" or records[-1].get("exit_code") != 0:
        problems.append(f"output {out!r}, last record {records[-1]}")
    if st3 not in (400, 409) or (st3 == 400 and "after 'eof'" not in b3):
        problems.append(f"input after eof: {st3} {b3}")
    if st4 not in (400, 409):
        problems.append(f"a window size for a pipe: {st4} {b4}")
    result("API: stdin_open needs stream, no pty, no stdin; input as it comes; eof ends it", not problems,
           "\n".join(problems))


def node_main():
    if os.getuid() != 0:
        print("pty_test.py --node: needs root; skipped")
        sys.exit(77)
    os.environ.setdefault("TERM", "xterm")
    node = Node()
    try:
        test_exec_basics(node)
        test_exec_job_control(node)
        test_exec_resize(node)
        exec_attack_case(node, "normal exit", [], "exit", None, 0)
        exec_attack_case(node, "timeout", ["--timeout", "3"], "sleep", None, 124)
        exec_attack_case(node, "SIGTERM to airlock exec", [], "sleep", signal.SIGTERM, -signal.SIGTERM)
        test_exec_persistent(node)
        test_exec_api(node)
        test_exec_stdin_open_api(node)
        test_exec_input_api(node)
    finally:
        node.stop()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


def main():
    os.environ.setdefault("TERM", "xterm")
    test_command_view()
    test_attacks()
    test_not_executable()
    test_setup_failure()
    test_job_control()
    test_window_size()
    test_background()
    test_pipes_pass()
    test_stdout_file()
    test_no_pty()
    test_forced_without_terminal()
    if os.getuid() == 0:
        test_rootless()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    node_main() if NODE_MODE else main()
