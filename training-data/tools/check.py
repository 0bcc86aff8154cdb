#!/usr/bin/env python3
"""Validate raqib training-data CSV files against GUIDELINES.md.

usage: check.py [--card] [FILE.csv ...]   (default: training-data/comments.csv and heldout.csv)
  --card   also print the count tables of the data card (README.md) as Markdown

Checks: header `text,violence,extremism,lang,kind`; labels 0/1; lang and kind from the guideline
vocabularies; kind consistent with labels; no empty text; no exact or near-duplicate rows across
all files given (word-set Jaccard >= 0.6 on folded text, or one row's words nearly contained in
another's). Prints counts per label, language and kind. Exit 1 on any problem.
The Rust test `training_data` applies the same near-duplicate rule in CI.
"""
import csv, re, sys, unicodedata, collections, os

HEADER = ["text", "violence", "extremism", "lang", "kind"]
LANGS = {"ar-msa", "ar-gulf", "ar-egy", "ar-lev", "ar-iq", "ar-mag", "arabizi", "en", "fr"}
POSITIVE = {"violent-supplication", "threat", "incitement", "praise-of-attack", "group-propaganda",
            "pledge-of-allegiance", "recruitment", "violent-takfir"}
NEGATIVE = {"benign-supplication", "supplication-against-oppressors", "news-discussion", "condemnation",
            "quote-or-report", "angry-politics", "religious-discussion", "history", "counter-extremism",
            "sports", "insult", "everyday"}
JACCARD = 0.6
CONTAINMENT = 0.9

FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ؤ": "و", "ئ": "ي", "ـ": None})


def words(text):
    t = unicodedata.normalize("NFKC", text).lower().translate(FOLD)
    t = "".join(c for c in t if not unicodedata.category(c).startswith("M"))
    return set(w for w in re.findall(r"\w+", t) if len(w) > 1 or not w.isascii())


def card(rows):
    """Markdown tables for the data card: per label x language, and per kind."""
    c = collections.Counter
    by_lang = collections.defaultdict(lambda: [0, 0, 0, 0])
    for r in rows:
        t = by_lang[r[4]]
        t[0] += 1; t[1] += r[2]; t[2] += r[3]; t[3] += r[5] in NEGATIVE and r[5] != "everyday"
    print("\n| lang | rows | violence | extremism | hard negatives |\n|---|---|---|---|---|")
    for lang in sorted(by_lang):
        t = by_lang[lang]
        print(f"| {lang} | {t[0]} | {t[1]} | {t[2]} | {t[3]} |")
    t = [sum(v[i] for v in by_lang.values()) for i in range(4)]
    print(f"| **all** | **{t[0]}** | **{t[1]}** | **{t[2]}** | **{t[3]}** |")
    kinds = c(r[5] for r in rows)
    print("\n| kind | rows | violence | extremism |\n|---|---|---|---|")
    for kind in sorted(POSITIVE) + sorted(NEGATIVE):
        v = sum(r[2] for r in rows if r[5] == kind); e = sum(r[3] for r in rows if r[5] == kind)
        print(f"| {kind}{' (positive)' if kind in POSITIVE else ''} | {kinds[kind]} | {v} | {e} |")


def main(paths):
    want_card = "--card" in paths
    paths = [p for p in paths if p != "--card"]
    if not paths:
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        paths = [os.path.join(here, "comments.csv"), os.path.join(here, "heldout.csv")]
    problems, rows = [], []
    for path in paths:
        with open(path, newline="", encoding="utf-8") as f:
            r = csv.reader(f)
            header = next(r, None)
            if header != HEADER:
                problems.append(f"{path}: header {header} != {HEADER}")
                continue
            for rec in r:
                line = r.line_num
                if len(rec) != 5:
                    problems.append(f"{path}:{line}: {len(rec)} fields, want 5")
                    continue
                text, v, e, lang, kind = rec
                where = f"{path}:{line}"
                if not text.strip():
                    problems.append(f"{where}: empty text")
                if v not in ("0", "1") or e not in ("0", "1"):
                    problems.append(f"{where}: labels must be 0/1, got {v!r},{e!r}")
                    continue
                if lang not in LANGS:
                    problems.append(f"{where}: unknown lang {lang!r}")
                if kind in POSITIVE and v == "0" and e == "0":
                    problems.append(f"{where}: positive kind {kind} with both labels 0")
                elif kind in NEGATIVE and (v == "1" or e == "1"):
                    problems.append(f"{where}: negative kind {kind} with a label 1")
                elif kind not in POSITIVE and kind not in NEGATIVE:
                    problems.append(f"{where}: unknown kind {kind!r}")
                rows.append((where, text, int(v), int(e), lang, kind, words(text)))

    # near-duplicates: candidates share a rare word; then exact Jaccard / containment
    index = collections.defaultdict(list)
    for i, row in enumerate(rows):
        for w in row[6]:
            index[w].append(i)
    seen_text = {}
    for i, row in enumerate(rows):
        key = " ".join(sorted(row[6]))
        if key in seen_text:
            problems.append(f"{row[0]}: duplicate of {rows[seen_text[key]][0]}")
            continue
        seen_text[key] = i
        shared = collections.Counter()
        for w in row[6]:
            postings = index[w]
            if len(postings) > 400:  # stop-word: too common to signal a copy
                continue
            for j in postings:
                if j < i:
                    shared[j] += 1
        a = row[6]
        for j, n in shared.items():
            if n < 2:
                continue
            b = rows[j][6]
            inter = len(a & b)
            jac = inter / len(a | b)
            small = min(len(a), len(b))
            cont = inter / small if small else 0
            if jac >= JACCARD or (small >= 6 and cont >= CONTAINMENT):
                problems.append(f"{row[0]}: near-duplicate of {rows[j][0]} (jaccard {jac:.2f}, containment {cont:.2f})")

    n = len(rows)
    print(f"rows: {n}")
    if n:
        c = collections.Counter
        print("violence=1:", sum(r[2] for r in rows), " extremism=1:", sum(r[3] for r in rows),
              " both:", sum(r[2] & r[3] for r in rows))
        hard = sum(1 for r in rows if r[5] in NEGATIVE and r[5] != "everyday")
        print(f"hard negatives: {hard} ({100 * hard / n:.1f}%)")
        for name, counter in (("lang", c(r[4] for r in rows)), ("kind", c(r[5] for r in rows))):
            print(name + ":", ", ".join(f"{k} {v}" for k, v in sorted(counter.items())))
        arabic = sum(1 for r in rows if r[4].startswith("ar-"))
        print(f"arabic script: {100 * arabic / n:.1f}%  english: {100 * sum(r[4] == 'en' for r in rows) / n:.1f}%")
        lens = sorted(len(r[1].split()) for r in rows)
        print(f"words per row: min {lens[0]} median {lens[n // 2]} max {lens[-1]}")
    if want_card:
        card(rows)
    for p in problems:
        print("PROBLEM", p)
    print(f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
