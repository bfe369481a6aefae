#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks that the documentation stays true to the tree:

- every relative link in README.md and docs/*.md names a file that exists,
  and every #anchor a heading of that file (GitHub's slug rules);
- the folder table of docs/architecture.md ("Map of src/") lists exactly the
  folders under src/ that have a CMakeLists.txt.

Prints TAP and the summary line; exits 1 on any failure."""
import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", ".."))
results = []


def check(ok, what):
    results.append((ok, what))
    print(("ok" if ok else "not ok") + " %d - %s" % (len(results), what))


def slug(heading):
    text = re.sub(r"`", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path):
    found, counts, fence = set(), {}, False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("```"):
                fence = not fence
            if fence:
                continue
            m = re.match(r"#+\s+(.*)", line)
            if m:
                s = slug(m.group(1))
                n = counts.get(s, 0)
                counts[s] = n + 1
                found.add(s if n == 0 else "%s-%d" % (s, n))
    return found


def links(path):
    text = open(path, encoding="utf-8").read()
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    return re.findall(r"\]\(([^)\s]+)\)", text)


docs = [os.path.join(ROOT, "README.md")] + sorted(
    os.path.join(ROOT, "docs", f) for f in os.listdir(os.path.join(ROOT, "docs")) if f.endswith(".md"))
n_links = 0
for doc in docs:
    for target in links(doc):
        if re.match(r"[a-z]+:", target):
            continue  # http:, https:, mailto:
        n_links += 1
        file_part, _, anchor = target.partition("#")
        dest = os.path.normpath(os.path.join(os.path.dirname(doc), file_part)) if file_part else doc
        name = "%s -> %s" % (os.path.relpath(doc, ROOT), target)
        if not os.path.exists(dest):
            check(False, name + " (no such file)")
        elif anchor and dest.endswith(".md") and anchor not in anchors(dest):
            check(False, name + " (no such heading)")
        else:
            check(True, name)

arch = open(os.path.join(ROOT, "docs", "architecture.md"), encoding="utf-8").read()
section = arch.split("## Map of `src/`", 1)[1].split("\n## ", 1)[0]
listed = set(re.findall(r"^\| `(src/[^`]+)/` \|", section, flags=re.M))
present = set()
for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, "src")):
    if "CMakeLists.txt" in filenames and os.path.abspath(dirpath) != os.path.join(ROOT, "src"):
        present.add(os.path.relpath(dirpath, ROOT))
check(listed == present, "architecture.md's folder map lists the folders of src/ (missing: %s, extra: %s)"
      % (sorted(present - listed) or "none", sorted(listed - present) or "none"))
check(n_links > 20, "found the documentation's links (%d)" % n_links)

failed = sum(1 for ok, _ in results if not ok)
print("1..%d" % len(results))
print("%d passed, %d failed" % (len(results) - failed, failed))
sys.exit(1 if failed else 0)
