#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# gen-man.py - the man pages, made from the docs so the two cannot drift:
# airlock(1) and one airlock-COMMAND(1) per "## `airlock COMMAND`" section of
# docs/cli.md, airlock-node(8) from that section and the operator's sections
# of docs/node.md, airlock.json(5) from docs/config.md.  It converts the
# Markdown the docs use (headings, paragraphs, lists, fenced blocks, pipe
# tables, inline code, emphasis, links) to man(7); tables become tagged paragraphs.
#
#   scripts/gen-man.py            write man/*.{1,5,8}
#   scripts/gen-man.py --check    exit 1 when man/ differs from what the docs give
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
MAN = os.path.join(ROOT, "man")
SOURCE = "airlock"
MANUAL = "airlock manual"


def read(name):
    with open(os.path.join(DOCS, name), encoding="utf-8") as f:
        return f.read()


def sections(text, level):
    """[(title, body)] of the headings of exactly `level` '#', and the text before the first."""
    out, title, buf, fence = [], None, [], False
    for line in text.split("\n"):
        if line.startswith("```"):
            fence = not fence
        m = None if fence else re.match(r"^(#{%d}) (.*)$" % level, line)
        if m:
            out.append((title, "\n".join(buf)))
            title, buf = m.group(2), []
        else:
            buf.append(line)
    out.append((title, "\n".join(buf)))
    return out


def esc(text):
    text = text.replace("\\", "\\e")
    return text.replace("-", "\\-")


def inline(text):
    """Markdown inline markup to roff font escapes."""
    parts = re.split(r"(`[^`]*`)", text)
    out = []
    for p in parts:
        if len(p) >= 2 and p.startswith("`") and p.endswith("`"):
            out.append("\\fB" + esc(p[1:-1]) + "\\fR")
            continue
        # links: keep the text; a page of the docs becomes its name
        p = re.sub(r"\[([^\]]*)\]\(([^)]*)\)", lambda m: m.group(1), p)
        p = esc(p)
        p = re.sub(r"\*\*([^*]+)\*\*", r"\\fB\1\\fR", p)
        p = re.sub(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])", r"\\fI\1\\fR", p)
        out.append(p)
    return "".join(out)


def line_safe(s):
    """A text line must not start with a control character."""
    return "\\&" + s if s.startswith((".", "'")) else s


def body_to_roff(md, shift):
    """Markdown block structure to roff; headings are shifted down by `shift` levels."""
    out, para, lines, i = [], [], md.split("\n"), 0

    def flush():
        if para:
            out.append(".PP")
            out.append(line_safe(inline(" ".join(s.strip() for s in para))))
            para.clear()

    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            flush()
            i += 1
            out += [".PP", ".RS 4", ".nf"]
            while i < len(lines) and not lines[i].startswith("```"):
                out.append(line_safe(esc(lines[i])))
                i += 1
            out += [".fi", ".RE"]
            i += 1
            continue
        m = re.match(r"^(#+) (.*)$", line)
        if m:
            flush()
            level = len(m.group(1)) - shift
            title = inline(m.group(2))
            out.append((".SH " if level <= 1 else ".SS ") + '"' + title.replace('"', "") + '"')
            i += 1
            continue
        if line.startswith("|"):
            flush()
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in re.split(r"(?<!\\)\|", lines[i].strip())[1:-1]]
                if not all(re.fullmatch(r":?-+:?", c) for c in cells):
                    rows.append([c.replace("\\|", "|") for c in cells])
                i += 1
            # one tagged paragraph a row: the first cell as the tag, the
            # others as "header: value" (tbl tables do not fit 80 columns)
            head, rows = rows[0], rows[1:]
            for r in rows:
                out += [".TP", line_safe(inline(r[0]) if r[0] else "\\(em")]
                rest = ["%s: %s" % (h, c) if h else c for h, c in zip(head[1:], r[1:]) if c]
                out.append(line_safe(inline("; ".join(rest))) if rest else ".br")
            continue
        m = re.match(r"^(\s*)([-*]|\d+\.) (.*)$", line)
        if m:
            flush()
            bullet = "\\(bu" if m.group(2) in "-*" else m.group(2)
            item, i = [m.group(3)], i + 1
            while i < len(lines) and lines[i].strip() and not re.match(r"^\s*([-*]|\d+\.) ", lines[i]) \
                    and not lines[i].startswith(("```", "|", "#")):
                item.append(lines[i].strip())
                i += 1
            out.append('.IP "%s" 4' % bullet)
            out.append(line_safe(inline(" ".join(item))))
            continue
        if not line.strip():
            flush()
        else:
            para.append(line)
        i += 1
    flush()
    return out


def page(name, section, summary, parts, see_also):
    """parts: [(section title or None, markdown, heading shift)]"""
    out = ['.TH "%s" "%s" "" "%s" "%s"' % (name.upper(), section, SOURCE, MANUAL),
           ".ad l", ".SH NAME", "%s \\- %s" % (esc(name), esc(summary))]
    for title, md, shift in parts:
        if title:
            out.append('.SH "%s"' % title)
        out += body_to_roff(md, shift)
    out += [".SH SEE ALSO", ", ".join("\\fB%s\\fR(%s)" % (esc(n), s) for n, s in see_also)]
    return "\n".join(out) + "\n"


SUMMARIES = {
    "run": "run a command in a fresh sandbox",
    "exec": "run a command on an airlock node",
    "gc": "remove what killed launchers left behind",
    "token": "create, list and revoke node tokens",
    "secret": "manage the secrets of the egress proxy",
    "proxy": "run the egress proxy on its own",
    "approvals": "list and answer pending approvals",
    "policy": "classify a command against the autonomy policy",
    "audit": "query, verify and prune the audit trail",
    "mcp": "serve sandboxes as MCP tools",
    "version": "print the version",
}
NODE_SECTIONS = ["`airlock node`", "The config file", "Listeners", "State directory", "Readiness", "Stopping",
                 "Restarts and crashes", "systemd"]


def pages():
    cli = read("cli.md")
    top = sections(cli, 2)
    commands = []  # (page name, markdown)
    node_cli = ""
    for title, body in top[1:]:
        m = re.fullmatch(r"`airlock ([a-z][a-z-]*)(?: [a-z]+)?`", title or "")
        if not m:
            continue
        if m.group(1) == "node":
            node_cli = body
        else:
            commands.append(("airlock-" + m.group(1), title, body))
    see_cmds = [(n, "1") for n, _, _ in commands] + [("airlock-node", "8"), ("airlock.json", "5")]
    result = {}
    intro = sections(cli, 1)[1][1]
    result["airlock.1"] = page("airlock", "1", "secure execution sandbox for AI agents",
                               [("SYNOPSIS", intro, 1)], see_cmds)
    for name, title, body in commands:
        cmd = name.split("-", 1)[1]
        result[name + ".1"] = page(name, "1", SUMMARIES.get(cmd, title.strip("`")),
                                   [("DESCRIPTION", body, 2)],
                                   [("airlock", "1"), ("airlock-node", "8"), ("airlock.json", "5")])
    node = dict(sections(read("node.md"), 2)[1:])
    parts = [("DESCRIPTION", node_cli, 2)]
    for s in NODE_SECTIONS:
        parts.append((esc(s.strip("`")).upper(), node[s], 2))
    result["airlock-node.8"] = page("airlock-node", "8", "the airlock node daemon", parts,
                                    [("airlock", "1"), ("airlock-exec", "1"), ("airlock-token", "1"),
                                     ("airlock.json", "5"), ("systemd.exec", "5")])
    result["airlock.json.5"] = page("airlock.json", "5", "airlock's sandbox config file",
                                    [("DESCRIPTION", read("config.md").split("\n", 1)[1], 1)],
                                    [("airlock", "1"), ("airlock-run", "1"), ("airlock-node", "8")])
    return result


def main():
    check = "--check" in sys.argv[1:]
    want = pages()
    stale = []
    if not check:
        os.makedirs(MAN, exist_ok=True)
    have = {f for f in os.listdir(MAN)} if os.path.isdir(MAN) else set()
    for name, text in sorted(want.items()):
        path = os.path.join(MAN, name)
        old = open(path, encoding="utf-8").read() if name in have else None
        if old != text:
            stale.append(name)
            if not check:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
    extra = sorted(have - set(want) - {"README"})
    if check:
        for name in stale:
            print("man/%s is not what the docs give: run scripts/gen-man.py" % name)
        for name in extra:
            print("man/%s is made by no section of the docs" % name)
        return 1 if stale or extra else 0
    for name in extra:
        os.remove(os.path.join(MAN, name))
    print("gen-man.py: %d pages, %d rewritten" % (len(want), len(stale) + len(extra)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
