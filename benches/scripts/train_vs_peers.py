#!/usr/bin/env python3
"""Training speed and quality against the peers users would otherwise pick, side by side in one run.

raqib train (the whole command: read, featurise, fit, calibrate, choose thresholds, refit, write) is
timed against ../shared/bench/peers.py's scikit-learn char_wb TF-IDF + LogisticRegression fit,
alternating runs so both see the same machine load; medians are reported, then the hashing and
fastText peers once. Installs the peers' venv under bench-out/ on first use.

usage: benches/scripts/train_vs_peers.py [TASK] [RUNS]      (default osact4-off, 5)
"""
import json, os, statistics, subprocess, sys, time

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.chdir(root)
task = sys.argv[1] if len(sys.argv) > 1 else "osact4-off"
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
data = os.environ.get("RAQIB_DATASETS", "../shared/datasets")
suite = f"{data}/suite/{task}"
peers = os.environ.get("RAQIB_PEERS", "../shared/bench/peers.py")
if not os.path.isdir(suite) or not os.path.exists(peers):
    print(f"note: {suite} or {peers} absent, skipping")
    sys.exit(0)
venv = "bench-out/peers-venv"
py = f"{venv}/bin/python"
if not os.path.exists(py):
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([f"{venv}/bin/pip", "install", "--quiet", "scikit-learn", "pandas", "fasttext-wheel"], check=True)
subprocess.run(["cargo", "build", "--release", "--quiet"], check=True)
raqib = "target/release/raqib"
model = "bench-out/peer-cmp.raqib"

def peer(names):
    out = subprocess.run([py, peers, f"{suite}/train.csv", f"{suite}/test.csv", "--text", "text", "--label", "label", "--peers", names],
                         check=True, capture_output=True, text=True).stdout
    return [json.loads(l) for l in out.splitlines() if l.startswith("{")]

ours, theirs = [], []
for _ in range(runs):
    t = time.perf_counter()
    subprocess.run([raqib, "train", "--data", f"{suite}/train.csv", "--out", model, "--quiet"], check=True, capture_output=True)
    ours.append(time.perf_counter() - t)
    theirs.append(peer("sklearn-tfidf")[0])
ev = json.loads(subprocess.run([raqib, "eval", "--model", model, "--data", f"{suite}/test.csv", "--json", "-q"],
                               check=True, capture_output=True, text=True).stdout)
ours_s = statistics.median(ours)
sk_s = statistics.median(r["fit_s"] for r in theirs)
print(f"task {task}, {runs} alternating runs, medians")
print(f"  raqib train (whole command)  {ours_s:6.2f} s   test ROC AUC {ev['labels'][0]['roc_auc']:.4f}")
print(f"  sklearn-tfidf fit            {sk_s:6.2f} s   test ROC AUC {theirs[-1]['roc_auc']:.4f}")
print(f"  raqib is {sk_s / ours_s:.1f}x faster")
for r in peer("sklearn-hash,fasttext"):
    print(f"  {r['peer']:<28} {r['fit_s']:6.2f} s   test ROC AUC {r['roc_auc']:.4f}")
