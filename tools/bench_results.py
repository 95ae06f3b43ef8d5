#!/usr/bin/python3
"""bench_results.py: what bench/run.sh does with a run's files, and `make bench-compare`.

  tools/bench_results.py json DIR
      Write DIR/results.json: every SECTION.csv of the run as a list of rows (numbers as
      numbers), each section's SECTION.values.tsv, and the run's own facts (run.env:
      date, FULL, machine).  A row's `command` column, where a section writes one, is
      the command behind that row.

  tools/bench_results.py compare A B
      Print, for every CSV the two runs share, each row of B beside the same row of A
      (rows are matched on their non-numeric columns) and the ratio B/A of each
      numeric column.  Rows that only one run has are listed, not dropped.
"""
import csv
import json
import math
import os
import sys


def num(s):
    try:
        v = float(s)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows:
        return [], []
    return rows[0], rows[1:]


def to_json(d):
    out = {"run": {}, "sections": {}}
    env = os.path.join(d, "run.env")
    if os.path.exists(env):
        with open(env, encoding="utf-8") as f:
            for line in f:
                if "=" in line:
                    k, v = line.rstrip("\n").split("=", 1)
                    out["run"][k] = v
    for name in sorted(os.listdir(d)):
        base, ext = os.path.splitext(name)
        if ext == ".csv":
            head, rows = read_csv(os.path.join(d, name))
            recs = []
            for r in rows:
                rec = {}
                for k, v in zip(head, r):
                    n = num(v)
                    rec[k] = n if n is not None and k != "command" else v
                recs.append(rec)
            out["sections"].setdefault(base, {})["rows"] = recs
        elif name.endswith(".values.tsv"):
            sec = name[: -len(".values.tsv")]
            vals = {}
            with open(os.path.join(d, name), encoding="utf-8") as f:
                for line in f:
                    if "\t" in line:
                        k, v = line.rstrip("\n").split("\t", 1)
                        vals[k] = v
            if vals:
                out["sections"].setdefault(sec, {})["values"] = vals
    with open(os.path.join(d, "results.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    return 0


def columns(head, ra, rb):
    """Which columns name a row and which measure it.  A column names rows when it is not
    numeric (system, level, case) or when both runs have exactly the same numbers in it,
    row for row (connections, message sizes): measurements are never that repeatable.
    When rows are still not told apart (one run has more rows than the other, so no
    column is the same row for row), the leftmost numeric columns join the key until
    every row of each run has a key of its own: a CSV lists its parameters
    (connections, depth) before its measurements."""
    def numeric(i):
        vals = [r[i] for r in ra + rb if i < len(r)]
        return vals and sum(num(v) is not None for v in vals) * 2 > len(vals)

    def unique(cols):
        return all(len({tuple(r[i] if i < len(r) else "" for i in cols) for r in rows}) == len(rows)
                   for rows in (ra, rb))

    keycols, measured = [], []
    for i, h in enumerate(head):
        if h == "command":
            continue
        same = len(ra) == len(rb) and all(i < len(x) and i < len(y) and x[i] == y[i] for x, y in zip(ra, rb))
        (measured if numeric(i) and not same else keycols).append(i)
    while measured and not unique(keycols):
        keycols.append(measured.pop(0))
    keycols.sort()
    return keycols, measured


def keyed(keycols, rows):
    out = {}
    for r in rows:
        out.setdefault(tuple(r[i] if i < len(r) else "" for i in keycols), r)  # first of duplicates
    return out


def compare(a, b):
    shared = sorted(set(f for f in os.listdir(a) if f.endswith(".csv")) &
                    set(f for f in os.listdir(b) if f.endswith(".csv")))
    if not shared:
        print("bench-compare: %s and %s share no CSV file" % (a, b), file=sys.stderr)
        return 1
    print("B = %s, A = %s; each cell: B value (B/A)" % (b, a))
    for name in shared:
        ha, ra = read_csv(os.path.join(a, name))
        hb, rb = read_csv(os.path.join(b, name))
        if ha != hb:
            print("\n## %s: the columns differ, not compared\n  A: %s\n  B: %s" % (name, ",".join(ha), ",".join(hb)))
            continue
        keycols, numeric = columns(ha, ra, rb)
        ka, kb = keyed(keycols, ra), keyed(keycols, rb)
        print("\n## %s" % name)
        print("| %s | %s |" % (" | ".join(ha[i] for i in keycols), " | ".join(ha[i] for i in numeric)))
        print("|%s" % (" --- |" * (len(keycols) + len(numeric))))
        for k, r in kb.items():
            if k not in ka:
                continue
            cells = []
            for i in numeric:
                x, y = num(ka[k][i]), num(r[i])
                if x is None or y is None:
                    cells.append(r[i] if i < len(r) else "")
                elif x == 0:
                    cells.append("%s (n/a)" % r[i])
                else:
                    cells.append("%s (%.2fx)" % (r[i], y / x))
            print("| %s | %s |" % (" | ".join(k), " | ".join(cells)))
        only_a = [k for k in ka if k not in kb]
        only_b = [k for k in kb if k not in ka]
        for k in only_a:
            print("  only in A: %s" % ", ".join(k))
        for k in only_b:
            print("  only in B: %s" % ", ".join(k))
    return 0


def main(argv):
    if len(argv) == 3 and argv[1] == "json":
        return to_json(argv[2])
    if len(argv) == 4 and argv[1] == "compare":
        for d in argv[2:]:
            if not os.path.isdir(d):
                print("bench-compare: error: %s is not a directory" % d, file=sys.stderr)
                return 2
        return compare(argv[2], argv[3])
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
