#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A DNS server for the egress tests: answers A and AAAA queries from a
fixed map (name -> addresses) and writes every name it is asked to a log,
so a test can prove that a query never reached it.  UDP only.

usage: test_resolver.py ADDR PORT MAP_JSON QUERY_LOG [READY_FILE]
"""
import ipaddress
import json
import socket
import struct
import sys


def read_name(pkt, off):
    labels = []
    while True:
        n = pkt[off]
        off += 1
        if n == 0:
            return ".".join(labels), off
        labels.append(pkt[off:off + n].decode("ascii", "replace"))
        off += n


def answer(pkt, names):
    qid, flags, qd = struct.unpack("!HHH", pkt[:6])
    name, off = read_name(pkt, 12)
    qtype, qclass = struct.unpack("!HH", pkt[off:off + 4])
    question = pkt[12:off + 4]
    addrs = names.get(name.lower().rstrip("."))
    records = b""
    count = 0
    rcode = 0 if addrs is not None else 3
    for a in addrs or []:
        ip = ipaddress.ip_address(a)
        if (qtype == 1 and ip.version == 4) or (qtype == 28 and ip.version == 6):
            rtype = 1 if ip.version == 4 else 28
            records += struct.pack("!HHHIH", 0xC00C, rtype, 1, 5, len(ip.packed)) + ip.packed
            count += 1
    head = struct.pack("!HHHHHH", qid, 0x8180 | rcode, 1, count, 0, 0)
    return head + question + records, name


def main():
    addr, port, map_path, log_path = sys.argv[1:5]
    with open(map_path) as f:
        names = {k.lower(): v for k, v in json.load(f).items()}
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, int(port)))
    if len(sys.argv) > 5:
        with open(sys.argv[5], "w") as f:
            f.write("ready\n")
    log = open(log_path, "a", buffering=1)
    while True:
        pkt, peer = s.recvfrom(2048)
        try:
            out, name = answer(pkt, names)
        except (IndexError, struct.error, ValueError):
            continue
        log.write(name + "\n")
        s.sendto(out, peer)


if __name__ == "__main__":
    main()
