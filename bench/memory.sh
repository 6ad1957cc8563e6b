#!/usr/bin/env bash
# Memory over a long run at the ceiling: a closed-model run against nginx on loopback (nginx pinned
# to core 0, loadbench to core 1), RSS sampled every 10 s. Passes when the last sample is within
# 10 % of the one at 1 minute and every sample is under 100 MB.
# Usage: bench/memory.sh [MINUTES] [CONNECTIONS]   (needs nginx and a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-10}
CONNS=${2:-50}
PORT=${PORT:-18090}
LB=${LB:-target/release/loadbench}
source bench/nginx.sh
lb_pid=
bench_cleanup() { [ -n "$lb_pid" ] && kill "$lb_pid" 2>/dev/null || true; }
start_nginx
long=$(scenario long closed "vus = $CONNS" "http://127.0.0.1:$PORT" / "${MINUTES}m")
# Stored like any run (ticks written to SQLite each second), in a throwaway database.
taskset -c 1 "$LB" run "$long" --db "$work/runs.db" --json -q > "$work/out.json" 2>"$work/err" &
lb_pid=$!
echo "elapsed_s rss_mb"
samples=()
for ((t = 10; t <= MINUTES * 60; t += 10)); do
  sleep 10
  kill -0 "$lb_pid" 2>/dev/null || break
  rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$lb_pid/status")
  samples+=("$t $rss_kb")
  awk -v t="$t" -v r="$rss_kb" 'BEGIN { printf "%9d %6.1f\n", t, r / 1024 }'
done
wait "$lb_pid" || true
lb_pid=
python3 - "$work/out.json" "${samples[@]}" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
s = [tuple(map(int, x.split())) for x in sys.argv[2:]]
at60 = next((r for t, r in s if t >= 60), s[-1][1])  # runs shorter than 70 s: the last sample
last = s[-1][1]
peak = max(r for _, r in s)
growth = (last - at60) / at60
print(f"\nrequests {d['total']['count']:,} at {d['total']['rate']:,.0f}/s over {d['duration_s']:.0f} s")
print(f"RSS at 1 min {at60/1024:.1f} MB, last {last/1024:.1f} MB ({growth:+.1%}), peak {peak/1024:.1f} MB")
ok = abs(growth) <= 0.10 and peak < 100 * 1024
print("PASS" if ok else "FAIL", "(last within 10 % of the 1-minute sample, peak under 100 MB)")
sys.exit(0 if ok else 1)
PY
