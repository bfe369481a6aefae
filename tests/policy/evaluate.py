#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""evaluate.py - recall and false-alarm rate of the classifier on a labelled
corpus, measured the way an agent meets it: every command goes through
`airlock policy check --shell` under a policy (level full by default).

Input: a TSV of LABEL<TAB>COMMAND, LABEL `dangerous` or `benign`; lines
starting with `#` and empty lines are skipped; only the first TAB separates.
The tuned corpus's labels (`danger:<pattern>`, `benign:<action>`) are read
as dangerous and benign too.  A dangerous line is caught when the verdict is
not allow (approval_required or deny); a benign line is a false alarm when
it is not allow.

usage: evaluate.py [--policy FILE] [--airlock BIN] [--show-misses] [--escaped-newlines]
                   [--min-recall PCT] [--max-false-alarms PCT] TSV...
exit: 0 after printing the numbers, 1 when a given bound is not met, 2 on
bad input.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def find_airlock():
    for cand in (os.path.join(ROOT, "build", "airlock"), "airlock"):
        if os.path.sep not in cand or os.access(cand, os.X_OK):
            return cand
    return "airlock"


def read_corpus(path, escaped_newlines=False):
    rows = []
    with open(path, encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line or line.startswith("#"):
                continue
            if "\t" not in line:
                raise ValueError(f"{path}:{no}: no TAB")
            label, command = line.split("\t", 1)
            label = label.strip()
            if escaped_newlines:  # the held-out corpus writes a newline as backslash-n
                command = command.replace("\\n", "\n")
            if label == "dangerous" or label.startswith("danger:"):
                rows.append((True, command, f"{path}:{no}"))
            elif label == "benign" or label.startswith("benign:"):
                rows.append((False, command, f"{path}:{no}"))
            else:
                raise ValueError(f"{path}:{no}: label must be dangerous or benign, got {label!r}")
    return rows


def verdict(airlock, policy, command):
    r = subprocess.run([airlock, "policy", "check", "--policy", policy, "--json", "--shell", command],
                       capture_output=True, text=True)
    if r.returncode == 2:
        raise RuntimeError(f"airlock policy check failed: {r.stderr.strip()}")
    try:
        out = json.loads(r.stdout)
    except ValueError:
        raise RuntimeError(f"airlock policy check printed no JSON: {r.stdout!r} {r.stderr!r}")
    return out["verdict"], out.get("rule", "")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--policy", default=os.path.join(HERE, "level-full.json"),
                    help="policy file (default: tests/policy/level-full.json, level full)")
    ap.add_argument("--airlock", default=None, help="the airlock binary (default: build/airlock, else PATH)")
    ap.add_argument("--show-misses", action="store_true", help="print every missed and wrongly flagged line")
    ap.add_argument("--min-recall", type=float, default=None, help="fail (exit 1) below this recall, in percent")
    ap.add_argument("--max-false-alarms", type=float, default=None,
                    help="fail (exit 1) above this false-alarm rate, in percent")
    ap.add_argument("--escaped-newlines", action="store_true",
                    help="a literal backslash-n in a command stands for a newline (tests/policy/heldout)")
    ap.add_argument("tsv", nargs="+")
    a = ap.parse_args()
    airlock = a.airlock or find_airlock()
    try:
        rows = [r for p in a.tsv for r in read_corpus(p, a.escaped_newlines)]
    except (OSError, ValueError) as e:
        print(f"evaluate: {e}", file=sys.stderr)
        return 2
    tp = fn = fp = tn = 0
    for danger, command, where in rows:
        try:
            v, rule = verdict(airlock, a.policy, command)
        except (OSError, RuntimeError) as e:
            print(f"evaluate: {where}: {e}", file=sys.stderr)
            return 2
        flagged = v != "allow"
        if danger and flagged:
            tp += 1
        elif danger:
            fn += 1
            if a.show_misses:
                print(f"MISSED {where}: {command}")
        elif flagged:
            fp += 1
            if a.show_misses:
                print(f"FALSE ALARM {where}: {command}\n  {v}: {rule}")
        else:
            tn += 1
    nd, nb = tp + fn, fp + tn
    recall = 100.0 * tp / nd if nd else 0.0
    far = 100.0 * fp / nb if nb else 0.0
    print(f"policy: {a.policy}")
    print(f"lines: {len(rows)} ({nd} dangerous, {nb} benign)")
    print(f"recall: {recall:.1f}% ({tp}/{nd})")
    print(f"false alarms: {far:.1f}% ({fp}/{nb})")
    if a.min_recall is not None and recall < a.min_recall:
        print(f"evaluate: recall {recall:.1f}% is below {a.min_recall}%", file=sys.stderr)
        return 1
    if a.max_false_alarms is not None and far > a.max_false_alarms:
        print(f"evaluate: false alarms {far:.1f}% are above {a.max_false_alarms}%", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
