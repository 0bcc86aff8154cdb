#!/usr/bin/env python3
"""Make the figures of docs/EVALUATION.md (printed as Markdown on stdout).

  1. Cross-validation on training-data/comments.csv: 5 folds (stable hash of the text); each fold's
     model is trained exactly as models/train-default.sh trains the default model (its own inner
     5-fold CV picks its thresholds), then `raqib eval --group-by lang` on the left-out fold.
     Mean and standard deviation over the folds, per label and per label x language.
  2. The shipped default model on training-data/heldout.csv (never used for training), per label
     and language.
  3. The shipped default model on every set of ../shared/datasets/suite (skipped when absent):
     false-positive rate on the negative rows at the shipped thresholds, and ROC AUC (how it ranks
     the positives), for "any label" and for each label.
  4. The shipped model on raw public files that no one looked at while writing the training data
     (../shared/datasets/raw, skipped when absent): false-positive rate on their harmless rows, and
     for ArMI's "threat of violence" tweets, how the violence label ranks and catches them.
  5. Obfuscation: the figures printed by the test `obfuscated_held_out_positives_still_flag`.

usage: docs/evaluate.py > /tmp/figures.md      (needs cargo; about three minutes)
"""
import csv, hashlib, json, os, statistics, subprocess, sys, tempfile

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.chdir(root)
subprocess.run(["cargo", "build", "--release", "--quiet"], check=True)
RAQIB = "target/release/raqib"
# The default model's own training flags (one per line), so each fold trains exactly as it.
with open("models/default.flags", encoding="utf-8") as f:
    TRAIN_FLAGS = [w for line in f if not line.startswith("#") for w in line.split()] + ["--quiet"]
LABELS = ["violence", "extremism"]


def run(args):
    return subprocess.run([RAQIB] + args, check=True, capture_output=True, text=True).stdout


def evaluate(model, data, extra=()):
    args = ["eval", "--json", "-q", "--data", data] + (["--model", model] if model else []) + list(extra)
    return json.loads(run(args))


def auc_of(l):
    return "n/a" if l["roc_auc"] is None else f"{l['roc_auc']:.3f}"


def fmt(values):
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def cross_validation():
    with open("training-data/comments.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    fold_of = lambda r: int(hashlib.sha256(r[0].encode()).hexdigest()[:8], 16) % 5
    per_label = {l: {k: [] for k in ("roc_auc", "pr_auc", "precision", "recall", "f1")} for l in LABELS}
    per_lang = {}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(5):
            paths = {}
            for part in ("train", "test"):
                paths[part] = f"{tmp}/{part}{k}.csv"
                with open(paths[part], "w", newline="", encoding="utf-8") as f:
                    w = csv.writer(f)
                    w.writerow(header)
                    w.writerows(r for r in rows if (fold_of(r) == k) == (part == "test"))
            model = f"{tmp}/m{k}.raqib"
            run(["train", "--data", paths["train"], "--out", model] + TRAIN_FLAGS)
            ev = evaluate(model, paths["test"], ["--group-by", "lang"])
            for l in ev["labels"]:
                at = l["at_model_threshold"]
                for key, v in (("roc_auc", l["roc_auc"]), ("pr_auc", l["pr_auc"]), ("precision", at["precision"]),
                               ("recall", at["recall"]), ("f1", at["f1"])):
                    per_label[l["label"]][key].append(v)
            for g in ev["groups"]:
                for l in g["labels"]:
                    d = per_lang.setdefault((l["label"], g["group"]), {"roc_auc": [], "precision": [], "recall": [], "rows": 0, "pos": 0})
                    d["roc_auc"].append(l["roc_auc"])
                    d["precision"].append(l["at_model_threshold"]["precision"] if l["at_model_threshold"]["confusion"]["tp"] + l["at_model_threshold"]["confusion"]["fp"] else None)
                    d["recall"].append(l["at_model_threshold"]["recall"] if l["positives"] else None)
                    d["rows"] += l["rows"]
                    d["pos"] += l["positives"]
    print("### 1. Cross-validation on `training-data/comments.csv` (5 folds, mean ± sd)\n")
    print("| label | ROC AUC | PR AUC | precision | recall | F1 |")
    print("|---|---|---|---|---|---|")
    for l in LABELS:
        m = per_label[l]
        print(f"| {l} | {fmt(m['roc_auc'])} | {fmt(m['pr_auc'])} | {fmt(m['precision'])} | {fmt(m['recall'])} | {fmt(m['f1'])} |")
    print("\nPer language (all folds' rows; precision and recall at each fold model's thresholds):\n")
    print("| label | lang | rows | positives | ROC AUC | precision | recall |")
    print("|---|---|---|---|---|---|---|")
    for (l, g), d in sorted(per_lang.items()):
        print(f"| {l} | {g} | {d['rows']} | {d['pos']} | {fmt(d['roc_auc'])} | {fmt(d['precision'])} | {fmt(d['recall'])} |")


def heldout():
    ev = evaluate(None, "training-data/heldout.csv", ["--group-by", "lang"])
    print(f"\n### 2. The shipped model on `training-data/heldout.csv` ({ev['rows_read']} rows, model `{ev['model']['hash']}`)\n")
    print("| label | group | rows | positives | ROC AUC | PR AUC | threshold | precision | recall | FPR |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    def line(l, group):
        at = l["at_model_threshold"]
        pr = "n/a" if l["pr_auc"] is None else f"{l['pr_auc']:.3f}"
        auc = auc_of(l)
        print(f"| {l['label']} | {group} | {l['rows']} | {l['positives']} | {auc} | {pr} | {at['threshold']:.3f} | "
              f"{at['precision']:.3f} | {at['recall']:.3f} | {at['false_positive_rate']:.4f} |")
    for l in ev["labels"]:
        line(l, "**all**")
    for g in ev["groups"]:
        for l in g["labels"]:
            line(l, g["group"])


def datasets(sub, heading):
    """The folder ../shared/datasets/SUB (or $RAQIB_DATASETS/SUB) after printing the section's
    heading, or None, with a note, when it is absent."""
    base = os.environ.get("RAQIB_DATASETS", "../shared/datasets") + "/" + sub
    if not os.path.isdir(base):
        print(f"\n### {heading}\n\nnote: {base} absent, skipped.")
        return None
    print(f"\n### {heading} (`../shared/datasets/{sub}`)\n")
    return base


def suite():
    base = datasets("suite", "3. The shipped model on the public datasets")
    if base is None:
        return
    print("| set | file | rows | positives | FPR any label | FPR violence | FPR extremism | ROC AUC any | ROC AUC violence |")
    print("|---|---|---|---|---|---|---|---|---|")
    for task in sorted(os.listdir(base)):
        f = f"{base}/{task}/test.csv"
        if not os.path.exists(f):
            f = f"{base}/{task}/train.csv"
        ev = evaluate(None, f, ["--label-column", "label", "--label-column", "label=violence", "--label-column", "label=extremism"])
        by = {l["label"]: l for l in ev["labels"]}
        fpr = lambda l: f"{by[l]['at_model_threshold']['false_positive_rate']:.4f}"
        auc = lambda l: auc_of(by[l])
        print(f"| {task} | {os.path.basename(f)} | {by['any']['rows']} | {by['any']['positives']} | {fpr('any')} | {fpr('violence')} | "
              f"{fpr('extremism')} | {auc('any')} | {auc('violence')} |")


# Raw files read with flags only: (name, file, flags, what the negatives are, what the positives are).
BLIND = [
    ("L-HSAB (Levantine tweets)", "lhsab/L-HSAB", ["--format", "tsv", "--text-column", "Tweet", "--label-column", "Class",
     "--negative", "normal", "--positive", "abusive", "--positive", "hate"], "normal", "abusive or hate"),
    ("MLMA Arabic tweets", "mlma_multilingual/ar_dataset.csv", ["--text-column", "tweet", "--label-column", "sentiment",
     "--negative", "normal"], "normal", "any other sentiment"),
    ("MLMA French tweets", "mlma_multilingual/fr_dataset.csv", ["--text-column", "tweet", "--label-column", "sentiment",
     "--negative", "normal"], "normal", "any other sentiment"),
    ("MLMA English tweets", "mlma_multilingual/en_dataset.csv", ["--text-column", "tweet", "--label-column", "sentiment",
     "--negative", "normal"], "normal", "any other sentiment"),
    ("ArMI 2021 (Arabic tweets about women)", "armi2021/ArMI2021_training.tsv", ["--format", "tsv", "--text-column", "text",
     "--label-column", "category=violence", "--negative", "none", "--positive", "threat of violence", "--skip-bad-rows"],
     "category none", "category \"threat of violence\""),
]


def blind():
    base = datasets("raw", "4. Public files not looked at while writing the data")
    if base is None:
        return
    print("| file | negatives (rows) | positives (rows) | FPR at the shipped thresholds | ROC AUC | recall |")
    print("|---|---|---|---|---|---|")
    for name, path, flags, neg, pos in BLIND:
        ev = evaluate(None, f"{base}/{path}", flags)
        l = ev["labels"][0]
        at = l["at_model_threshold"]
        auc = auc_of(l)
        print(f"| {name} | {neg} ({l['rows'] - l['positives']}) | {pos} ({l['positives']}) | "
              f"{at['false_positive_rate']:.4f} | {auc} ({l['label']}) | {at['recall']:.3f} |")


def obfuscation():
    out = subprocess.run(["cargo", "test", "--release", "--quiet", "--test", "it", "obfuscated_held_out_positives_still_flag",
                          "--", "--nocapture"], capture_output=True, text=True).stdout
    print("\n### 5. Obfuscated held-out positives\n")
    print("| variant | still flagged |")
    print("|---|---|")
    for line in out.splitlines():
        if "still flagged" in line:
            name, rest = line.split(None, 1) if not line.startswith(("dotted", "spaced")) else (" ".join(line.split()[:2]), " ".join(line.split()[2:]))
            print(f"| {name} | {rest.replace(' still flagged', '')} |")


cross_validation()
heldout()
suite()
blind()
obfuscation()
