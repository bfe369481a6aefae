#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# check_man_help.py - the man pages against the built CLI: every command that
# `airlock --help` lists has a page (airlock-node(8) for the node, airlock-
# COMMAND(1) for the others), and every --option that `airlock COMMAND --help`
# prints appears on that page.  The pages are made from docs/ (docs_man), so
# this also keeps docs/cli.md in step with the binary.
# usage: check_man_help.py AIRLOCK_BINARY SOURCE_DIR
import os
import re
import subprocess
import sys


def help_text(binary, *args):
    p = subprocess.run([binary, *args], capture_output=True, text=True, timeout=10)
    return p.stdout + p.stderr


def main():
    binary, src = sys.argv[1], sys.argv[2]
    top = help_text(binary, "--help")
    commands = re.findall(r"^  ([a-z][a-z-]*)\b", top.split("commands:", 1)[1], re.M)
    problems, checked = [], 0
    if len(commands) < 10:
        problems.append("airlock --help lists only %r" % commands)
    for cmd in commands:
        page = os.path.join(src, "man", "airlock-node.8" if cmd == "node" else "airlock-%s.1" % cmd)
        if not os.path.exists(page):
            problems.append("%s: no man page %s" % (cmd, os.path.basename(page)))
            continue
        with open(page, encoding="utf-8") as f:
            roff = re.sub(r"\\f[BIRP]", "", f.read()).replace("\\-", "-")
        sub = ["policy", "check", "--help"] if cmd == "policy" else [cmd, "--help"]
        for opt in sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", help_text(binary, *sub)))):
            checked += 1
            if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(opt), roff):
                problems.append("%s: %s is in 'airlock %s' but not in %s" % (cmd, opt, " ".join(sub), os.path.basename(page)))
    for p in problems:
        print(p)
    print("%d commands, %d options checked, %d problems" % (len(commands), checked, len(problems)))
    return 1 if problems or checked < 50 else 0


if __name__ == "__main__":
    sys.exit(main())
