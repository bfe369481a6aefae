#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# make_openssl_client_hello.sh - regenerate tests/unit/openssl_client_hello.h:
# a ClientHello as `openssl s_client -servername capture.example.test` sends
# it, captured by a one-shot python listener on 127.0.0.1 (nothing leaves
# the machine) and written as a C array.  Run from anywhere; needs openssl
# and python3.
set -euo pipefail
name=capture.example.test
out=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/openssl_client_hello.h
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$tmp/hello.bin" "$tmp/port" <<'PY' &
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
open(sys.argv[2], "w").write(str(s.getsockname()[1]))
c, _ = s.accept()
data = b""
# the records that carry the handshake message: 5-byte headers, then the
# 4-byte handshake header gives the total
while True:
    chunk = c.recv(65536)
    if not chunk:
        break
    data += chunk
    pos, hs = 0, b""
    while pos + 5 <= len(data):
        n = int.from_bytes(data[pos + 3:pos + 5], "big")
        hs += data[pos + 5:pos + 5 + n]
        pos += 5 + n
    if len(hs) >= 4 and len(hs) >= 4 + int.from_bytes(hs[1:4], "big") and pos <= len(data):
        data = data[:pos]
        break
open(sys.argv[1], "wb").write(data)
c.close()
PY
pid=$!
for _ in $(seq 50); do [[ -s $tmp/port ]] && break; sleep 0.1; done
timeout 10 openssl s_client -connect "127.0.0.1:$(cat "$tmp/port")" -servername "$name" </dev/null >/dev/null 2>&1 || true
wait "$pid"
{
  echo "/* openssl_client_hello.h - a ClientHello captured from $(openssl version | cut -d' ' -f1-2)"
  echo " * s_client -servername $name; made by make_openssl_client_hello.sh. */"
  echo "#define OPENSSL_CLIENT_HELLO_NAME \"$name\""
  echo "static const unsigned char openssl_client_hello[] = {"
  od -An -v -tx1 "$tmp/hello.bin" | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1, /g; s/^/   /; s/ *$//'
  echo "};"
} >"$out"
echo "wrote $out ($(stat -c %s "$tmp/hello.bin") bytes)"
