#!/usr/bin/env bash
# Load benchmark of `raqib serve` over loopback (issue 5; results in docs/BENCHMARKS.md, "Server load").
#
#   benches/load/run.sh                     # 5 runs of each measurement, medians printed
#   RUNS=3 RATE=2000 benches/load/run.sh    # knobs: see the variables below
#
# What it does (every command it runs is echoed with "+"):
#  1. Uses `oha` from PATH, or installs it with `cargo install oha --locked` into $TOOLS.
#  2. Builds the release binary (`cargo build --release --bin raqib`; honours CARGO_TARGET_DIR).
#  3. Writes the request bodies to a temporary directory: the comments in benches/load/comments.txt
#     (written for raqib), plus, when the folder exists, up to $DATASET_TEXTS texts READ from
#     ../shared/datasets/suite/*/test.csv (public research data: read at run time, never copied
#     into the repository). Without that folder it says so and uses the comments file alone.
#  4. Starts `raqib serve` on 127.0.0.1, free to use every core as in production (or pinned to
#     $SERVER_CPUS when set, e.g. SERVER_CPUS=0 for a one-core server); oha runs pinned to
#     $LOAD_CPUS (default CPU 1), so the load generator takes at most one core.
#  5. Each run: throughput at max (closed loop: $CONC connections for $MAX_DURATION), then latency
#     at a fixed $RATE requests/s (open loop, coordinated-omission corrected, $DURATION).
#  6. Reports per run and medians: req/s, p50, p99, p99.9, errors (any non-200 or transport error),
#     the server's RSS before the first run and after the last, and the load average (the machine
#     is shared: a busy neighbour shows up in the tail).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${RUNS:-5}
RATE=${RATE:-2000}
DURATION=${DURATION:-20s}
MAX_DURATION=${MAX_DURATION:-10s}
CONC=${CONC:-32}
RATE_CONC=${RATE_CONC:-16}
SERVER_CPUS=${SERVER_CPUS:-}
LOAD_CPUS=${LOAD_CPUS:-1}
PORT=${PORT:-18473}
ROUTE=${ROUTE:-/v1/check}
DATASET_TEXTS=${DATASET_TEXTS:-2000}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
TOOLS=${TOOLS:-$TARGET_DIR/bench-tools}
SERVER_ARGS=${SERVER_ARGS:-}

run() { echo "+ $*" >&2; "$@"; }

# 1. The load generator.
if command -v oha >/dev/null 2>&1; then
    OHA=$(command -v oha)
elif [ -x "$TOOLS/bin/oha" ]; then
    OHA=$TOOLS/bin/oha
else
    echo "installing oha (one-time, a few minutes)" >&2
    run cargo install oha --locked --root "$TOOLS"
    OHA=$TOOLS/bin/oha
fi
command -v taskset >/dev/null 2>&1 || { echo "taskset missing: apt-get install util-linux" >&2; exit 2; }

# 2. The server.
(cd "$ROOT" && run cargo build --release --bin raqib)
RAQIB=$TARGET_DIR/release/raqib

# 3. Request bodies, one JSON document per line (oha -Z sends them in turn).
WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
DATASETS="$ROOT/../shared/datasets/suite"
python3 - "$ROOT/benches/load/comments.txt" "$DATASETS" "$DATASET_TEXTS" "$WORK" <<'PY'
import csv, glob, json, os, random, sys
comments, datasets, limit, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
texts = [l.strip() for l in open(comments, encoding="utf-8") if l.strip()]
own = len(texts)
files = sorted(glob.glob(os.path.join(datasets, "*", "test.csv")))
if files:
    pool = []
    for f in files:
        with open(f, encoding="utf-8", newline="") as fh:
            pool += [r["text"] for r in csv.DictReader(fh) if r.get("text", "").strip()]
    random.Random(5).shuffle(pool)
    texts += pool[:limit]
    print(f"bodies: {own} own comments + {min(limit, len(pool))} texts read from {len(files)} dataset test files", file=sys.stderr)
else:
    print(f"bodies: {own} own comments (no {datasets}: dataset texts skipped)", file=sys.stderr)
random.Random(7).shuffle(texts)
with open(os.path.join(work, "check.jsonl"), "w", encoding="utf-8") as out:
    for i, t in enumerate(texts):
        out.write(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n")
with open(os.path.join(work, "analyze.jsonl"), "w", encoding="utf-8") as out:
    for t in texts:
        body = {"comment": {"text": t}, "doNotStore": True, "requestedAttributes": {"TOXICITY": {}}, "languages": ["en"]}
        out.write(json.dumps(body, ensure_ascii=False) + "\n")
sizes = sorted(len(json.dumps({"text": t}, ensure_ascii=False).encode()) for t in texts)
print(f"body bytes: median {sizes[len(sizes) // 2]}, max {sizes[-1]}", file=sys.stderr)
PY
case "$ROUTE" in
    /v1alpha1/*) BODIES=$WORK/analyze.jsonl ;;
    *) BODIES=$WORK/check.jsonl ;;
esac

# 4. Start the server; its request log goes to a file (info level, as in production).
# Not through run(): a backgrounded function is a subshell, and $! must be the server itself
# (taskset execs it, keeping the pid) for the RSS readings and the final kill.
PIN=()
if [ -n "$SERVER_CPUS" ]; then PIN=(taskset -c "$SERVER_CPUS"); fi
echo "+ ${PIN[*]} $RAQIB serve --bind 127.0.0.1:$PORT --log-format json $SERVER_ARGS" >&2
# shellcheck disable=SC2086
"${PIN[@]}" "$RAQIB" serve --bind "127.0.0.1:$PORT" --log-format json $SERVER_ARGS >/dev/null 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 100); do
    if python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$PORT/healthz', timeout=1)" 2>/dev/null; then break; fi
    sleep 0.1
done
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "the server did not start:" >&2
    cat "$WORK/server.log" >&2
    exit 1
fi
rss() { awk '/VmRSS/ {print $2}' "/proc/$SERVER_PID/status"; }
# What is being measured: the load generator's version, the model served, the machine.
echo "load generator: $("$OHA" --version)" >&2
python3 -c "import json, urllib.request; m = json.load(urllib.request.urlopen('http://127.0.0.1:$PORT/readyz'))['model']; print('model:', m['name'], m['hash'], m['source'], [l['name'] for l in m['labels']])" >&2
echo "cpus: $(nproc); load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
RSS_BEFORE=$(rss)
URL="http://127.0.0.1:$PORT$ROUTE"
OHA_COMMON=(--no-tui --output-format json -w -m POST -T application/json -Z "$BODIES")

# Warm-up (connections, allocator, page cache), not measured.
run taskset -c "$LOAD_CPUS" "$OHA" -z 2s -c "$CONC" "${OHA_COMMON[@]}" "$URL" >/dev/null

for i in $(seq "$RUNS"); do
    cut -d' ' -f1 /proc/loadavg >"$WORK/load-$i"
    run taskset -c "$LOAD_CPUS" "$OHA" -z "$MAX_DURATION" -c "$CONC" "${OHA_COMMON[@]}" "$URL" >"$WORK/max-$i.json"
    run taskset -c "$LOAD_CPUS" "$OHA" -z "$DURATION" -q "$RATE" -c "$RATE_CONC" --latency-correction "${OHA_COMMON[@]}" "$URL" >"$WORK/rate-$i.json"
done
RSS_AFTER=$(rss)
python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$PORT/metrics').read().decode())" >"$WORK/metrics.txt"

# 6. Report.
python3 - "$WORK" "$RUNS" "$RSS_BEFORE" "$RSS_AFTER" "$RATE" "$ROUTE" <<'PY'
import json, statistics, sys
work, runs, rss_before, rss_after, rate, route = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]

def load(path):
    d = json.load(open(path))
    codes = d.get("statusCodeDistribution") or {}
    ok = codes.get("200", 0)
    errors = sum(n for c, n in codes.items() if c != "200") + sum((d.get("errorDistribution") or {}).values())
    p = d["latencyPercentiles"]
    return {"rps": d["summary"]["requestsPerSec"], "p50": p["p50"] * 1e6, "p99": p["p99"] * 1e6,
            "p999": p["p99.9"] * 1e6, "ok": ok, "errors": errors}

rows = []
for i in range(1, runs + 1):
    rows.append((load(f"{work}/max-{i}.json"), load(f"{work}/rate-{i}.json"), open(f"{work}/load-{i}").read().strip()))
print(f"\nroute {route}; per run (latencies in microseconds):")
print("| run | max req/s | max p99 | errors | {r}/s achieved | p50 | p99 | p99.9 | errors | load avg |".format(r=rate))
print("|---|---|---|---|---|---|---|---|---|---|")
for i, (m, r, la) in enumerate(rows, 1):
    print(f"| {i} | {m['rps']:.0f} | {m['p99']:.0f} | {m['errors']} | {r['rps']:.0f} | {r['p50']:.0f} | {r['p99']:.0f} | {r['p999']:.0f} | {r['errors']} | {la} |")
med = lambda k, j: statistics.median(row[j][k] for row in rows)
total_err = sum(row[0]["errors"] + row[1]["errors"] for row in rows)
total_req = sum(row[0]["ok"] + row[1]["ok"] for row in rows)
print(f"\nmedians of {runs} runs: max {med('rps', 0):.0f} req/s; at {rate} req/s p50 {med('p50', 1):.0f} us, "
      f"p99 {med('p99', 1):.0f} us, p99.9 {med('p999', 1):.0f} us; errors {total_err} of {total_req + total_err} requests; "
      f"RSS {rss_before / 1024:.1f} MiB before, {rss_after / 1024:.1f} MiB after")
# The server's own view: time from request to answer inside the process (its histogram), which
# leaves out the network stack, the client and the wait for a CPU.
buckets = []
for line in open(f"{work}/metrics.txt"):
    if line.startswith("raqib_http_request_duration_seconds_bucket") and f'route="{route}"' in line:
        le = line.split('le="')[1].split('"')[0]
        buckets.append((le, int(line.rsplit(" ", 1)[1])))
if buckets:
    total = buckets[-1][1]
    shown = [f"<= {float(le) * 1e6:.0f} us: {n / total:.4%}" for le, n in buckets if le != "+Inf" and float(le) <= 0.005]
    print(f"inside the server ({total} requests, warm-up included): " + "; ".join(shown))
PY
grep -c '"message":"request"' "$WORK/server.log" | sed 's/^/server request log lines: /' >&2
