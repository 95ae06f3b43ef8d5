#!/usr/bin/python3
"""notes.py: copy the reference run's tables and numbers into the NOTES and docs.

A Markdown file (labs/*/NOTES.md, docs/*.md, README.md) cites the committed reference
run (bench/results/reference/) in two ways, and never types a measured number by hand:

  <!-- bench:FILE.md -->          a whole table: everything between the two markers is
  ...                             the reference run's FILE.md, as the bench wrote it
  <!-- /bench:FILE.md -->

  <!-- v:SECTION.KEY -->1.05x<!-- /v -->
                                  one number inside a sentence: the text between the
                                  markers is the value KEY that bench section SECTION
                                  recorded in SECTION.values.tsv (`value KEY TEXT` in
                                  bench/lib.sh)

  tools/notes.py            rewrite every cited table and value from the reference run
  tools/notes.py --check    change nothing; list each table or value that differs from
                            the reference run, or cites a file or key it does not have,
                            and exit 1 if there is any (the tests run this)
  --ref DIR                 another run instead of bench/results/reference
  tools/notes.py --cited    change nothing and need no run: check that each citation
                            names a bench section that exists (bench/sections/SECTION.sh)
                            and a key that section records with `value`, or a table
                            file some section writes into $OUT; exit 1 if one does not
"""
import argparse
import glob
import os
import re
import sys

# A marker right after a backquote is an example in inline code, not a citation.
TABLE = re.compile(r"(?<!`)(<!-- bench:([A-Za-z0-9_.-]+\.md) -->\n)(.*?)(<!-- /bench:\2 -->)", re.S)
VALUE = re.compile(r"(?<!`)(<!-- v:([A-Za-z0-9_-]+)\.([A-Za-z0-9_.@/-]+) -->)(.*?)(<!-- /v -->)", re.S)
OPEN_TABLE = re.compile(r"(?<!`)<!-- bench:([^ ]+) -->")
OPEN_VALUE = re.compile(r"(?<!`)<!-- v:([^ ]+) -->")


def markdown_files(top):
    pats = ["labs/*/NOTES.md", "docs/*.md", "README.md"]
    out = []
    for p in pats:
        out += sorted(glob.glob(os.path.join(top, p)))
    return out


def load_values(ref, section, cache):
    if section not in cache:
        path = os.path.join(ref, section + ".values.tsv")
        vals = None
        if os.path.exists(path):
            vals = {}
            with open(path, encoding="utf-8") as f:
                for n, line in enumerate(f, 1):
                    line = line.rstrip("\n")
                    if not line:
                        continue
                    if "\t" not in line:
                        raise SystemExit("%s:%d:1: error: expected KEY<TAB>VALUE" % (path, n))
                    k, v = line.split("\t", 1)
                    vals[k] = v
        cache[section] = vals
    return cache[section]


def process(path, ref, top, problems, diffs):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    rel = os.path.relpath(path, top)

    def lineno(pos):
        return text.count("\n", 0, pos) + 1

    # Markers that do not pair up are errors, not silently ignored text.
    paired = {m.start() for m in TABLE.finditer(text)}
    for m in OPEN_TABLE.finditer(text):
        if m.start() not in paired:
            problems.append("%s:%d:1: error: %s has no matching <!-- /bench:%s -->"
                            % (rel, lineno(m.start()), m.group(0), m.group(1)))
    vpaired = {m.start() for m in VALUE.finditer(text)}
    for m in OPEN_VALUE.finditer(text):
        if m.start() not in vpaired:
            problems.append("%s:%d:1: error: %s is not of the form <!-- v:SECTION.KEY -->TEXT<!-- /v -->"
                            % (rel, lineno(m.start()), m.group(0)))

    def table(m):
        name = m.group(2)
        src = os.path.join(ref, name)
        if not os.path.exists(src):
            problems.append("%s:%d:1: error: cites %s, which the reference run does not have"
                            % (rel, lineno(m.start()), name))
            return m.group(0)
        with open(src, encoding="utf-8") as f:
            want = f.read().strip("\n") + "\n"
        if m.group(3) != want:
            diffs.append("%s:%d:1: table %s differs from the reference run"
                         % (rel, lineno(m.start()), name))
        return m.group(1) + want + m.group(4)

    cache = {}

    def value(m):
        section, key = m.group(2), m.group(3)
        vals = load_values(ref, section, cache)
        if vals is None or key not in vals:
            problems.append("%s:%d:1: error: cites %s.%s, which the reference run does not have"
                            % (rel, lineno(m.start()), section, key))
            return m.group(0)
        if m.group(4) != vals[key]:
            diffs.append("%s:%d:1: value %s.%s is [%s], the reference run says [%s]"
                         % (rel, lineno(m.start()), section, key, m.group(4), vals[key]))
        return m.group(1) + vals[key] + m.group(5)

    new = VALUE.sub(value, TABLE.sub(table, text))
    return text, new


# In a section script, a key or file name may hold shell expansions ($c, ${level},
# $(...)) or, in the Python a section runs, f-string fields ({link}): each stands for
# one or more characters other than a tab or a slash.
SHELL_WORD = re.compile(r"\$\([^)]*\)|\$?\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\$[0-9@*#]")
# Python in a section writes a value as f.write(f"KEY\tTEXT\n") into SECTION.values.tsv.
PY_VALUE = re.compile(r"write\(f?\"([^\"\\]+)\\t")
VALUE_CALL = re.compile(r"(?:^|[\s;&|(])value\s+(\"[^\"]+\"|'[^']+'|[^\s;]+)\s", re.M)
OUT_FILE = re.compile(r"\$\{?OUT\}?/([^\s\"'<>|;)]+\.md)")


def shell_pattern(word):
    word = word.strip("\"'")
    parts, pos = [], 0
    for m in SHELL_WORD.finditer(word):
        parts.append(re.escape(word[pos:m.start()]))
        parts.append(r"[^\t/]+")
        pos = m.end()
    parts.append(re.escape(word[pos:]))
    return re.compile("".join(parts) + r"\Z")


def section_writes(top):
    """{section: ([key patterns], [table file patterns])} from bench/sections/*.sh."""
    out = {}
    for path in sorted(glob.glob(os.path.join(top, "bench/sections/*.sh"))):
        with open(path, encoding="utf-8") as f:
            code = "\n".join(l for l in f.read().split("\n") if not l.lstrip().startswith("#"))
        name = os.path.basename(path)[:-3]
        keys = VALUE_CALL.findall(code) + PY_VALUE.findall(code)
        out[name] = ([shell_pattern(w) for w in keys],
                     [shell_pattern(w) for w in OUT_FILE.findall(code)])
    return out


def check_cited(files, top):
    """Citations that point at nothing a section writes: a list of error lines."""
    writes = section_writes(top)
    problems, n = [], 0
    for path in files:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        rel = os.path.relpath(path, top)
        for m in TABLE.finditer(text):
            n += 1
            name = m.group(2)
            if not any(p.match(name) for _, files_ in writes.values() for p in files_):
                problems.append("%s:%d:1: error: table %s is written by no bench section"
                                % (rel, text.count("\n", 0, m.start()) + 1, name))
        for m in VALUE.finditer(text):
            n += 1
            section, key = m.group(2), m.group(3)
            line = text.count("\n", 0, m.start()) + 1
            if section not in writes:
                problems.append("%s:%d:1: error: %s.%s names no bench section (bench/sections/%s.sh)"
                                % (rel, line, section, key, section))
            elif not any(p.match(key) for p in writes[section][0]):
                problems.append("%s:%d:1: error: %s.%s: bench/sections/%s.sh records no such value"
                                % (rel, line, section, key, section))
    return n, problems


def main():
    ap = argparse.ArgumentParser(description="Copy the reference run's tables and values into the notes.")
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 on any difference")
    ap.add_argument("--cited", action="store_true",
                    help="check that every citation names a section and a value or table it writes")
    ap.add_argument("--ref", default="bench/results/reference", help="the run to cite")
    ap.add_argument("files", nargs="*", help="Markdown files (default: every NOTES.md, docs/*.md, README.md)")
    a = ap.parse_args()
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ref = a.ref if os.path.isabs(a.ref) else os.path.join(top, a.ref)
    files = a.files or markdown_files(top)
    if a.cited:
        n, problems = check_cited(files, top)
        for p in problems:
            print(p, file=sys.stderr)
        print("notes: %d citations, %d point at nothing a bench section writes" % (n, len(problems)))
        return 1 if problems else 0
    problems, diffs, changed, cited = [], [], [], 0
    for path in files:
        before = len(problems)
        text, new = process(path, ref, top, problems, diffs)
        cited += len(TABLE.findall(text)) + len(VALUE.findall(text))
        if new != text and not a.check and len(problems) == before:
            with open(path, "w", encoding="utf-8") as f:
                f.write(new)
            changed.append(os.path.relpath(path, top))
    for p in problems + (diffs if a.check else []):
        print(p, file=sys.stderr)
    if a.check:
        bad = len(problems) + len(diffs)
        print("notes: %d citations of %s checked, %d differ or are missing"
              % (cited, os.path.relpath(ref, top), bad))
        return 1 if bad else 0
    for c in changed:
        print("notes: updated " + c)
    if problems:
        print("notes: %d problems, files with problems left unchanged" % len(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
