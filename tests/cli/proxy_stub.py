#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A stand-in for `airlock-node proxy`, for tests/cli/network_cli.sh only.

It speaks the launcher's side of the protocol (src/sandbox/egress_spawn.h) and
nothing more: reads the settings on --config-fd, answers "ok" (or
"error: TEXT") on --control-fd, takes the "fds" message with the sandbox's
HTTP listener and DNS socket, answers every TCP connection with a fixed
HTTP 200 and every DNS query with NXDOMAIN (a datagram shorter than a DNS
header with "stub-dns:" + the datagram), and exits
when the control socket ends.  Every event is a JSON line on --log (or
stderr).  The launcher runs it instead of airlock-node when
AIRLOCK_PROXY_BIN points at it.

Behaviour switches (environment, set by the test):
  STUB_FAIL=TEXT     answer "error: TEXT"
  STUB_ANSWER=TEXT   answer TEXT instead of "ok" (e.g. "ok\n" and a CA certificate)
  STUB_SILENT_EXIT=1 exit 3 without answering
  STUB_HANG=1        never answer (the launcher gives up after 10 s)
  STUB_LINGER=1      ignore the end of the control socket (the launcher must kill it)
"""
import array
import fcntl
import json
import os
import selectors
import socket
import sys
import time


def open_fds():
    """the descriptors this process was started with (fcntl opens nothing)"""
    out = []
    for fd in range(1024):
        try:
            fcntl.fcntl(fd, fcntl.F_GETFD)
            out.append(fd)
        except OSError:
            pass
    return out


def main():
    inherited = open_fds()
    args = sys.argv[1:]
    if not args or args[0] != "proxy":
        print("proxy_stub: expected 'proxy'", file=sys.stderr)
        return 2
    opts = {}
    i = 1
    while i < len(args):
        if not args[i].startswith("--") or i + 1 >= len(args):
            print("proxy_stub: bad argument %r" % args[i], file=sys.stderr)
            return 2
        opts[args[i][2:]] = args[i + 1]
        i += 2
    log = open(opts["log"], "a", buffering=1) if "log" in opts else sys.stderr

    def record(**fields):
        fields["t"] = time.time()
        log.write(json.dumps(fields) + "\n")
        log.flush()

    ctl = socket.socket(fileno=int(opts["control-fd"]))
    with os.fdopen(int(opts["config-fd"]), "rb") as f:
        config = json.loads(f.read())
    record(event="start", pid=os.getpid(), argv=sys.argv[1:], config=config,
           fds=inherited,
           stdin=os.readlink("/proc/self/fd/0"), stdout=os.readlink("/proc/self/fd/1"),
           session_leader=os.getsid(0) == os.getpid())

    if os.environ.get("STUB_SILENT_EXIT"):
        return 3
    if os.environ.get("STUB_HANG"):
        while True:
            time.sleep(60)
    if os.environ.get("STUB_FAIL"):
        ctl.send(("error: " + os.environ["STUB_FAIL"]).encode())
        record(event="refused")
        return 1
    ctl.send(os.environ.get("STUB_ANSWER", "ok").encode())

    fds = array.array("i")
    msg, anc, _, _ = ctl.recvmsg(16, socket.CMSG_SPACE(4 * fds.itemsize))
    if msg == b"":
        record(event="stop", reason="eof before fds")
        return 0
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
    if msg != b"fds" or len(fds) != 2:
        record(event="bad-fds", payload=msg.decode(errors="replace"), n=len(fds))
        return 1
    http = socket.socket(fileno=fds[0])
    dns = socket.socket(fileno=fds[1])
    record(event="fds", http=list(http.getsockname()), http_type=int(http.type),
           dns=list(dns.getsockname()), dns_type=int(dns.type))

    sel = selectors.DefaultSelector()
    sel.register(ctl, selectors.EVENT_READ, "ctl")
    sel.register(http, selectors.EVENT_READ, "http")
    sel.register(dns, selectors.EVENT_READ, "dns")
    while True:
        for key, _ in sel.select():
            if key.data == "ctl":
                if ctl.recv(16) == b"":
                    if os.environ.get("STUB_LINGER"):
                        sel.unregister(ctl)
                        record(event="lingering")
                        continue
                    record(event="stop", reason="eof")
                    return 0
            elif key.data == "http":
                conn, peer = http.accept()
                conn.settimeout(2)
                try:
                    request = conn.recv(4096)
                except OSError:
                    request = b""
                first = request.split(b"\r\n", 1)[0].decode(errors="replace")
                record(event="http", peer=list(peer), request=first)
                body = b"stub-proxy\n"
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
                conn.close()
            else:
                data, peer = dns.recvfrom(2048)
                record(event="dns", peer=list(peer), size=len(data))
                if len(data) >= 12:  # a DNS query: NXDOMAIN, with its question
                    qd = data[4:6]
                    dns.sendto(data[:2] + b"\x81\x83" + qd + b"\0\0\0\0\0\0" + data[12:], peer)
                else:
                    dns.sendto(b"stub-dns:" + data, peer)


if __name__ == "__main__":
    sys.exit(main())
