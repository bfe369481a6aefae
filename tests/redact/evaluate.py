#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""evaluate.py - the redactor measured on the blind held-out corpus
(tests/redact/heldout: never tuned on).  Commands filled with fresh secrets
by heldout/secrets.py go through redact_filter as the node records a shell
command (argv ["/bin/sh", "-c", CMD]); a secret counts as kept out when no
12-character piece of it (the whole secret when shorter) is left; a PEM
key's BEGIN and END label lines are not counted as its material.  Every
benign.tsv command must come out byte for byte.

usage: evaluate.py REDACT_FILTER [--rounds N] [--seed S] [--show-misses]
                   [--min-recall PCT] [--max-false-positives PCT]
exit: 0 after printing the numbers, 1 when a bound is not met, 2 on bad input."""
import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "heldout")  # --corpus changes it


def run_filter(binary, commands):
    text = "".join(json.dumps(c) + "\n" for c in commands)
    r = subprocess.run([binary], input=text, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"evaluate: {binary} failed: {r.stderr.strip()}")
    return [json.loads(line) for line in r.stdout.splitlines()]


def leaks(secret, redacted):
    # a PEM block's BEGIN and END lines are its label, not key material:
    # a redactor that keeps them and hides the body has kept the key out
    secret = re.sub(r"-----(BEGIN|END) [A-Z0-9 ]*-----", "\n", secret)
    return any(leaks_piece(part, redacted) for part in secret.split("\n") if part.strip())


def leaks_piece(secret, redacted):
    size = min(12, len(secret))
    return any(secret[i:i + size] in redacted for i in range(len(secret) - size + 1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("filter")
    ap.add_argument("--rounds", type=int, default=3, help="fillings of every template")
    ap.add_argument("--seed", type=int, default=None, help="default: fresh secrets each run")
    ap.add_argument("--show-misses", action="store_true")
    ap.add_argument("--min-recall", type=float)
    ap.add_argument("--max-false-positives", type=float)
    ap.add_argument("--corpus", help="a corpus directory of the same layout (default: heldout/)")
    a = ap.parse_args()
    global HERE
    if a.corpus:
        HERE = os.path.abspath(a.corpus)
    templates = os.path.join(HERE, "commands.tsv")
    n_templates = sum(1 for l in open(templates) if l.strip() and not l.startswith("#"))
    gen = [sys.executable, os.path.join(HERE, "secrets.py"), "-n", str(n_templates * a.rounds)]
    if a.seed is not None:
        gen += ["--seed", str(a.seed), "--deterministic"]
    r = subprocess.run(gen, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"evaluate: secrets.py failed: {r.stderr.strip()}")
    filled = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    out = run_filter(a.filter, [f["command"] for f in filled])
    kept = 0
    by_kind = {}
    for f, o in zip(filled, out):
        redacted = " ".join(o["argv"])
        ok = not leaks(f["secret"], redacted)
        kept += ok
        k = by_kind.setdefault(f["kind"], [0, 0])
        k[0] += ok
        k[1] += 1
        if not ok and a.show_misses:
            print(f"LEAKED {f['kind']}: {redacted}")
    benign = []
    for line in open(os.path.join(HERE, "benign.tsv"), encoding="utf-8"):
        line = line.rstrip("\n")
        if line and not line.startswith("#"):
            benign.append(line.split("\t", 1)[1].replace("\\n", "\n"))
    bout = run_filter(a.filter, benign)
    changed = 0
    for cmd, o in zip(benign, bout):
        if o["argv"] != ["/bin/sh", "-c", cmd]:
            changed += 1
            if a.show_misses:
                print(f"CHANGED {cmd!r} -> {o['argv'][2]!r}")
    recall = 100.0 * kept / len(filled)
    fpr = 100.0 * changed / len(benign)
    print(f"secrets kept out: {recall:.1f}% ({kept}/{len(filled)}, {len(by_kind)} kinds)")
    print("worst kinds: " + ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in
                                      sorted(by_kind.items(), key=lambda kv: kv[1][0] / kv[1][1])[:6]))
    print(f"benign commands changed: {fpr:.1f}% ({changed}/{len(benign)})")
    if (a.min_recall is not None and recall < a.min_recall) or \
            (a.max_false_positives is not None and fpr > a.max_false_positives):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
