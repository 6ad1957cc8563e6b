#!/usr/bin/env bash
# Another tool's results at scale: a k6 NDJSON file of SIZE_MB (default 1024) built from the
# real k6 output in tests/fixtures/foreign (its points repeated with the clock moved on, so the
# layout is k6's own), imported with `loadbench runs import`. Prints the file's size, points,
# time, MB/s and the importer's peak RSS (bounded: a window of 30 open seconds, ticks written
# as they close), and checks that the stored run holds every request.
#
#   bench/import.sh [SIZE_MB]
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${1:-1024}
cargo build --release --quiet
BIN=target/release/loadbench
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
python3 - "$SIZE_MB" "$WORK/big.ndjson" <<'EOF'
import gzip, json, sys, datetime
size = int(sys.argv[1]) << 20
lines = gzip.open("tests/fixtures/foreign/k6-1.1.ndjson.gz", "rt").read().splitlines()
points = [l for l in lines if '"type":"Point"' in l]
metrics = [l for l in lines if '"type":"Metric"' in l]
def t(l):
    return json.loads(l)["data"]["time"]
def parse(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")[:26] + "+00:00")
first = parse(t(points[0]))
last = parse(t(points[-1]))
span = (last - first).total_seconds() + 1.0
# Split each point around its time so the clock can be moved with a string format.
parts = []
for l in points:
    s = t(l)
    i = l.index(s)
    parts.append((l[:i], (parse(s) - first).total_seconds(), l[i + len(s):]))
written, k, requests = 0, 0, 0
durations = sum(1 for l in points if '"metric":"http_req_duration"' in l)
with open(sys.argv[2], "w") as out:
    for m in metrics:
        out.write(m + "\n")
    while written < size:
        base = first + datetime.timedelta(seconds=k * span)
        chunk = []
        for head, off, tail in parts:
            when = (base + datetime.timedelta(seconds=off)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            chunk.append(head + when + tail + "\n")
        text = "".join(chunk)
        out.write(text)
        written += len(text)
        requests += durations
        k += 1
print(f"{requests}", file=open(sys.argv[2] + ".requests", "w"))
EOF
bytes=$(stat -c %s "$WORK/big.ndjson")
requests=$(cat "$WORK/big.ndjson.requests")
echo "file: $((bytes >> 20)) MiB of k6 NDJSON, $requests requests ($(wc -l < "$WORK/big.ndjson") lines)"
export LOADBENCH_DB="$WORK/runs.db"
/usr/bin/time -f "%e s %M KB" -o "$WORK/time" "$BIN" runs import "$WORK/big.ndjson" --scenario big > "$WORK/id" 2> "$WORK/err"
read -r secs _ kb _ < "$WORK/time"
grep -v "note:" "$WORK/err"
stored=$("$BIN" runs show "$(cat "$WORK/id")" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["count"])')
echo "import: ${secs} s, $(python3 -c "print(f'{$bytes / 1e6 / $secs:.0f}')") MB/s, peak RSS $((kb / 1024)) MiB"
echo "stored requests: $stored of $requests $([ "$stored" = "$requests" ] && echo '(all)' || echo '(MISSING SOME)')"
