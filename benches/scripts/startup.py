#!/usr/bin/env python3
"""Cold start of the pre-publication hook: wall time of `raqib check TEXT` (a new process that
loads the model and scores one comment), median of RUNS runs, with the embedded default model and
optionally a model file. Target: <= 50 ms with the embedded model.

usage: benches/scripts/startup.py [RUNS] [MODEL...]
"""
import os, statistics, subprocess, sys, time

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.chdir(root)
runs = int(sys.argv[1]) if len(sys.argv) > 1 else 30
subprocess.run(["cargo", "build", "--release", "--quiet"], check=True)
text = "اللهم احفظ بلادنا من كل سوء and keep our children safe"
for model in [None] + sys.argv[2:]:
    cmd = ["target/release/raqib", "check", text] + (["--model", model] if model else [])
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True)
        times.append((time.perf_counter() - t) * 1e3)
        assert r.returncode in (0, 1), r.stderr
    print(f"raqib check, {'embedded default' if model is None else model}: median {statistics.median(times):.1f} ms, "
          f"min {min(times):.1f} ms over {runs} runs")
