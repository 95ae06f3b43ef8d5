#!/usr/bin/python3
"""docs_blocks.py: the shell blocks the docs tell a reader to paste, ready to run.

  docs_blocks.py TOP OUTDIR

Reads every ```sh block of labs/*/NOTES.md and README.md (the rule is in
docs/conventions.md, "Lab notes"):
  - a block whose every command is a `make` line (the README's quick start) is a build
    or bench step, not run here; a run block holding a `make` line among other
    commands is an error (such lines belong in the prose around the block);
  - a run block may not use a fixed path under /tmp (scratch goes under `mktemp -d`);
  - every port the block names (`--port N`, `-p N`, `--repl-port N`, `HOST:N`,
    `http.server N`) is mapped, the same way on every line of the block, to a port that
    was free a moment ago, so that parallel runs of the tests and CI do not collide.
Writes OUTDIR/NN.sh per run block (its first line `# FILE:LINE`) and prints one line
per block: `run NN FILE:LINE` or `skip FILE:LINE (make only)`.  Problems are printed
as `FILE:LINE: error: WHAT` and make the exit status 1.

Then checks the README's lab table: each command in the "run it" column (other than
`make` targets) must appear, as written, in a run block of that lab's NOTES.md.
"""
import glob
import os
import re
import socket
import sys

FENCE = re.compile(r"^```(\S*)\s*$")
PORT_CTX = re.compile(
    r"(?:--port |--repl-port |-p |(?:127\.0\.0\.1|localhost):|http\.server )(\d{4,5})\b")


def blocks(path):
    """(line, kind, [lines]) for each fenced block of path."""
    out, cur, kind, start = [], None, None, 0
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            m = FENCE.match(line)
            if cur is None and m:
                cur, kind, start = [], m.group(1), n
            elif cur is not None and line.strip() == "```":
                out.append((start, kind, cur))
                cur = None
            elif cur is not None:
                cur.append(line)
    return out


def commands(lines):
    """The command lines of a block: comments and blank lines left out."""
    return [l for l in lines if l.strip() and not l.lstrip().startswith("#")]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def main():
    top, outdir = sys.argv[1], sys.argv[2]
    errors = 0

    def error(where, what):
        nonlocal errors
        errors += 1
        print("%s: error: %s" % (where, what))

    files = sorted(glob.glob(os.path.join(top, "labs/*/NOTES.md")))
    files.append(os.path.join(top, "README.md"))
    n = 0
    run_text = {}  # lab dir -> every line of its run blocks
    for path in files:
        rel = os.path.relpath(path, top)
        for start, kind, lines in blocks(path):
            if kind != "sh":
                continue
            where = "%s:%d" % (rel, start)
            cmds = commands(lines)
            is_make = [re.match(r"make(\s|$)", c.lstrip()) is not None for c in cmds]
            if cmds and all(is_make):
                print("skip %s (make only)" % where)
                continue
            for c in cmds:
                if re.match(r"make(\s|$)", c.lstrip()):
                    error(where, "a run block holds a make line (put it in the prose): " + c)
                if re.search(r"(^|[\s=:'\"])/tmp/", c):
                    error(where, "a fixed path under /tmp (use mktemp -d): " + c)
            body = "\n".join(lines)
            mapping = {}
            for m in PORT_CTX.finditer(body):
                p = m.group(1)
                if p not in mapping:
                    mapping[p] = str(free_port())
            for old, new in mapping.items():
                body = re.sub(r"\b%s\b" % old, new, body)
            n += 1
            name = "%02d" % n
            with open(os.path.join(outdir, name + ".sh"), "w", encoding="utf-8") as f:
                f.write("# %s%s\n%s\n" % (where, "".join(" %s->%s" % kv for kv in mapping.items()), body))
            print("run %s %s" % (name, where))
            # a command continued over lines (`\` at the end) counts as one line
            joined = re.sub(r"\s*\\\n\s*", " ", "\n".join(lines)).split("\n")
            run_text.setdefault(os.path.dirname(rel), []).extend(joined)

    # The README's lab table: `run it` commands must be tested as written.
    readme = os.path.join(top, "README.md")
    with open(readme, encoding="utf-8") as f:
        for ln, line in enumerate(f, 1):
            m = re.match(r"\| \[(\d\d-[a-z-]+)\]\((labs/[^)]+)/NOTES\.md\) \|.*\| (.*) \|$", line)
            if not m:
                continue
            lab = m.group(2)
            for cmd in re.findall(r"`([^`]+)`", m.group(3)):
                if re.match(r"make(\s|$)", cmd):
                    continue
                if not any(cmd in l for l in run_text.get(lab, [])):
                    error("README.md:%d" % ln, "`%s` is in no run block of %s/NOTES.md" % (cmd, lab))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
