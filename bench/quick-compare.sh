#!/usr/bin/env bash
# Side-by-side closed-model throughput: wrk, oha and loadbench against nginx on loopback,
# alternating (A B C A B C ...), nginx pinned to core 0 and the generator to core 1.
# Prints req/s and CPU µs per request (user+sys of the generator ÷ requests).
# Usage: bench/quick-compare.sh [ROUNDS] [SECONDS]   (needs nginx, wrk, oha and a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
SECS=${2:-10}
CONNS=50
PORT=18080
LB=${LB:-target/release/loadbench}
OHA=${OHA:-$(command -v oha || echo /opt/oha/bin/oha)}
work=$(mktemp -d)
trap 'kill $(cat "$work/nginx.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/logs"
cat > "$work/nginx.conf" <<CONF
worker_processes 1;
daemon on;
pid $work/nginx.pid;
error_log $work/logs/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 10000000;
  server { listen 127.0.0.1:$PORT; location / { return 200 "ok"; } }
}
CONF
taskset -c 0 nginx -c "$work/nginx.conf" -p "$work"
sleep 0.5
cat > "$work/closed.toml" <<TOML
name = "nginx closed"
duration = "${SECS}s"
[targets]
ngx = "http://127.0.0.1:$PORT"
[load]
model = "closed"
vus = $CONNS
[[requests]]
name = "ok"
path = "/"
TOML

measure() { # name, command...: prints "name req/s cpu_us peak_rss_kb"
  local name=$1; shift
  /usr/bin/time -f "%U %S %M" -o "$work/time" taskset -c 1 "$@" > "$work/out" 2>&1 || true
  local reqs
  case $name in
    wrk) reqs=$(awk '/requests in/ {print $1}' "$work/out") ;;
    oha) reqs=$(python3 -c "import json,sys; d=json.load(open('$work/out')); print(sum(d['statusCodeDistribution'].values()))") ;;
    loadbench) reqs=$(python3 -c "import json; d=json.load(open('$work/out')); print(d['total']['count'])" 2>/dev/null || grep -o '"count": [0-9]*' "$work/out" | tail -1 | awk '{print $2}') ;;
  esac
  read -r user sys rss < "$work/time"
  python3 -c "print('$name', round($reqs/$SECS), round(($user+$sys)/$reqs*1e6, 2), $rss)"
}

for r in $(seq "$ROUNDS"); do
  measure wrk wrk -t1 -c$CONNS -d${SECS}s http://127.0.0.1:$PORT/
  measure oha "$OHA" -z ${SECS}s -c $CONNS --no-tui --output-format json http://127.0.0.1:$PORT/
  measure loadbench "$LB" run "$work/closed.toml" --json -q --no-store
done | tee "$work/results"
python3 - "$work/results" <<'PY'
import sys, statistics
rows = {}
for line in open(sys.argv[1]):
    n, rate, cpu, rss = line.split()
    rows.setdefault(n, []).append((float(rate), float(cpu), int(rss)))
base = statistics.median(r for r, _, _ in rows["wrk"])
print(f"\n{'generator':<10} {'req/s (median)':>15} {'ratio to wrk':>13} {'CPU µs/req':>11} {'peak RSS':>9}")
for n, v in rows.items():
    rate = statistics.median(r for r, _, _ in v)
    cpu = statistics.median(c for _, c, _ in v)
    rss = max(m for _, _, m in v)
    print(f"{n:<10} {rate:>15,.0f} {rate/base:>13.2f} {cpu:>11.2f} {rss/1024:>7.1f}MB")
PY
