#!/usr/bin/env bash
# Scale: train on 1,000,000 rows (every text,label of ../shared/datasets/suite/*/*.csv, repeated)
# and report wall time and peak RSS from /usr/bin/time -v (targets: <= 3 min, <= 4 GiB); then
# score the same file with `raqib score` to show the streaming rate and its bounded memory.
# usage: benches/scripts/scale.sh [ROWS]   (writes only under bench-out/, never in the repo)
set -euo pipefail
cd "$(dirname "$0")/../.."
rows=${1:-1000000}
suite=${RAQIB_DATASETS:-../shared/datasets}/suite
[ -d "$suite" ] || { echo "note: $suite absent, skipping the scale benchmark"; exit 0; }
mkdir -p bench-out
big=bench-out/scale-$rows.csv
if [ ! -s "$big" ]; then
  python3 - "$suite" "$rows" "$big" <<'PY'
import csv, glob, sys
suite, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows = []
for f in sorted(glob.glob(suite + "/*/*.csv")):
    with open(f, newline="", encoding="utf-8") as fh:
        rows += [(r["text"], r["label"]) for r in csv.DictReader(fh)]
with open(out, "w", newline="", encoding="utf-8") as fh:
    w = csv.writer(fh)
    w.writerow(["text", "label"])
    for i in range(n):
        w.writerow(rows[i % len(rows)])
print(f"{out}: {n} rows from {len(rows)} distinct suite rows", file=sys.stderr)
PY
fi
cargo build --release --quiet
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)"; exit 1; }
/usr/bin/time -v target/release/raqib train --data "$big" --out bench-out/scale.raqib --quiet 2> bench-out/scale.time | tee bench-out/scale.out
grep -E "Elapsed \(wall clock\)|Maximum resident set size" bench-out/scale.time
awk -F': ' '/Maximum resident set size/ {printf "peak RSS %.2f GiB\n", $2/1048576}' bench-out/scale.time
# Streaming: score the same file end to end (read CSV, score, write CSV); memory stays bounded.
/usr/bin/time -v target/release/raqib score --quiet --input "$big" --output /dev/null 2> bench-out/score.time
echo "raqib score on $rows rows:"
grep -E "Elapsed \(wall clock\)|Maximum resident set size" bench-out/score.time
