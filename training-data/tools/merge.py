#!/usr/bin/env python3
"""Merge reviewed batch files into training-data/comments.csv and heldout.csv.

usage: merge.py BATCH.csv [BATCH.csv ...]

A row goes to heldout.csv when the first 32 bits of the SHA-256 of its text (UTF-8), modulo 100,
are below 15, otherwise to comments.csv: the split of a row never depends on the other rows, so
merging a new round never moves an old row. Rows are appended in batch order, after the existing
ones, with the files' own quoting (minimal) and line ends (LF). The merged files are
then checked with check.py; nothing is written when a batch has the wrong header or a row is
already present.
"""
import csv, hashlib, os, subprocess, sys

HEADER = ["text", "violence", "extremism", "lang", "kind"]
HELD_OUT_PERCENT = 15
here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def held_out(text):
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:8], 16) % 100 < HELD_OUT_PERCENT


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows or rows[0] != HEADER:
        sys.exit(f"{path}: header must be {','.join(HEADER)}")
    return rows[1:]


def main(batches):
    if not batches:
        sys.exit(__doc__)
    targets = {False: os.path.join(here, "comments.csv"), True: os.path.join(here, "heldout.csv")}
    existing = {t for p in targets.values() for t, *_ in read(p)}
    new = {False: [], True: []}
    for path in batches:
        for row in read(path):
            if row[0] in existing:
                sys.exit(f"{path}: row already merged: {row[0][:60]}")
            existing.add(row[0])
            new[held_out(row[0])].append(row)
    for split, path in targets.items():
        with open(path, "a", newline="", encoding="utf-8") as f:
            csv.writer(f, lineterminator="\n").writerows(new[split])
        print(f"{os.path.basename(path)}: +{len(new[split])} rows")
    return subprocess.run([sys.executable, os.path.join(here, "tools", "check.py")]).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
