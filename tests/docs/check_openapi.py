#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Keeps docs/openapi.json from drifting away from the node:

- its paths are exactly the API routes that al_api_route_parse() in
  src/node/node_request.c accepts (exact paths from its strcmp() calls, and
  the id routes from its prefixes and tails), the web UI's excepted;
- its (method, path) pairs are exactly the rows of the endpoint table of
  docs/api.md (the web UI's rows excepted);
- every $ref resolves and every operation has responses.

Prints TAP and the summary line; exits 1 on any failure.
usage: check_openapi.py [SOURCE_DIR]"""
import json
import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", ".."))
results = []


def check(ok, what, detail=""):
    results.append(ok)
    print(("ok" if ok else "not ok") + " %d - %s" % (len(results), what))
    if not ok and detail:
        for line in str(detail).splitlines():
            print("#   " + line)


def is_ui(p):
    return p in ("/", "/ui") or p.startswith("/ui/")


def routes_from_source():
    src = open(os.path.join(ROOT, "src", "node", "node_request.c"), encoding="utf-8").read()
    m = re.search(r"al_api_route al_api_route_parse\(.*?\n}\n", src, re.S)
    if not m:
        return None
    body = m.group(0)
    found = set(re.findall(r'strcmp\(path, "([^"]+)"\) == 0', body))
    # id routes: /v1/approvals/{id} + its tails
    if 'strncmp(path, "/v1/approvals/", 14)' in body:
        found.add("/v1/approvals/{id}")
        for tail in re.findall(r'strcmp\(rest \+ n, "([^"]+)"\) == 0', body):
            found.add("/v1/approvals/{id}" + tail)
    for prefix, flag in (("/v1/sandboxes/", "sandbox"), ("/v1/execs/", "!sandbox")):
        if 'strncmp(path, "%s", %d)' % (prefix, len(prefix)) not in body:
            continue
        found.add(prefix + "{id}")
        for neg, tail in re.findall(r'if \((!?)sandbox && strcmp\(tail, "([^"]+)"\) == 0\)', body):
            if (neg == "!") == (flag == "!sandbox"):
                found.add(prefix + "{id}" + tail)
        # a tail with a second part: /v1/sandboxes/{id}/snapshots/{name}
        for neg, tail in re.findall(r'if \((!?)sandbox && strncmp\(tail, "([^"]+)/", \d+\) == 0\)', body):
            if (neg == "!") == (flag == "!sandbox"):
                found.add(prefix + "{id}" + tail + "/{name}")
    # other id routes: a prefix of their own, /v1/snapshots/{id}
    for prefix in re.findall(r'strncmp\(path, "(/v1/snapshots/)", \d+\) == 0', body):
        found.add(prefix + "{id}")
    return {p for p in found if not is_ui(p)}


def rows_from_api_md():
    pairs = set()
    text = open(os.path.join(ROOT, "docs", "api.md"), encoding="utf-8").read()
    section = text.split("## Endpoints", 1)[1].split("\n## ", 1)[0]
    for line in section.splitlines():
        m = re.match(r"\| (`[A-Z]+ [^|]*?`(?:, `[A-Z]+ [^|]*?`)*) \|", line.replace("\\|", "%7C"))
        if not m:
            continue
        for method, path in re.findall(r"`([A-Z]+) ([^`?]+)", m.group(1)):
            if not is_ui(path):
                pairs.add((method, path))
    return pairs


doc = json.load(open(os.path.join(ROOT, "docs", "openapi.json"), encoding="utf-8"))
check(doc.get("openapi", "").startswith("3."), "docs/openapi.json is an OpenAPI 3 document")
spec_paths = set(doc.get("paths", {}))
code_paths = routes_from_source()
check(code_paths is not None and len(code_paths) >= 10, "the route table is found in src/node/node_request.c",
      "al_api_route_parse() not found or changed shape")
if code_paths is not None:
    check(spec_paths == code_paths, "openapi.json's paths are the node's routes",
          "only in openapi.json: %s\nonly in the node: %s" % (sorted(spec_paths - code_paths),
                                                             sorted(code_paths - spec_paths)))
methods = {"get", "put", "post", "delete", "patch", "head", "options"}
spec_pairs = {(m.upper(), p) for p, item in doc["paths"].items() for m in item if m in methods}
md_pairs = rows_from_api_md()
check(len(md_pairs) >= 15, "docs/api.md's endpoint table is read (%d rows)" % len(md_pairs))
check(spec_pairs == md_pairs, "openapi.json's operations are docs/api.md's endpoints",
      "only in openapi.json: %s\nonly in api.md: %s" % (sorted(spec_pairs - md_pairs), sorted(md_pairs - spec_pairs)))
info_version = doc.get("info", {}).get("version")
cmake = open(os.path.join(ROOT, "CMakeLists.txt"), encoding="utf-8").read()
check(info_version and ("project(airlock VERSION %s " % info_version) in cmake,
      "info.version is airlock's version (%s)" % info_version)

refs = re.findall(r'"\$ref": "#/([^"]+)"', json.dumps(doc))
bad = []
for r in refs:
    node = doc
    for part in r.split("/"):
        node = node.get(part) if isinstance(node, dict) else None
    if node is None:
        bad.append(r)
check(not bad, "every $ref resolves (%d)" % len(refs), ", ".join(sorted(set(bad))))
noresp = [(m, p) for p, item in doc["paths"].items() for m, op in item.items() if m in methods and not op.get("responses")]
check(not noresp, "every operation has responses", noresp)

failed = results.count(False)
print("1..%d" % len(results))
print("%d passed, %d failed" % (len(results) - failed, failed))
sys.exit(1 if failed else 0)
