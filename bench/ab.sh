#!/usr/bin/env bash
# Two loadbench builds side by side on the hot path: did a change cost throughput or CPU?
#
#   bench/ab.sh OLD_BINARY NEW_BINARY [ROUNDS] [SECONDS]     (defaults: 5 rounds of 5 s)
#   PROTO=tls bench/ab.sh ...    HTTP/1.1 over TLS;  PROTO=h2: HTTP/2 over TLS, 1 stream each
#
# Closed model, 50 connections, HTTP/1.1 keep-alive against nginx (1 worker, `return 200 "ok"`)
# pinned to core 0; each build pinned to core 1, run alternately (old new new old ...) so drift of
# the machine hits both alike. Prints each run, then medians of req/s and CPU µs per request
# (user+sys ÷ requests) and the new/old ratios. Build an old binary with, e.g.:
#   git worktree add /tmp/old <commit> && (cd /tmp/old && CARGO_TARGET_DIR=/tmp/old-target cargo build --release)
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=${1:?old binary}; NEW=${2:?new binary}
ROUNDS=${3:-5}
SECS=${4:-5}
PORT=${PORT:-18080}
PROTO=${PROTO:-http}
case $PROTO in
  http) ;;
  tls) TLS_PORT=${TLS_PORT:-18443} ;;
  h2) H2_PORT=${H2_PORT:-18444} ;;
  *) echo "PROTO is http, tls or h2" >&2; exit 2 ;;
esac
for t in nginx taskset python3; do
  command -v "$t" >/dev/null || { echo "needs $t (apt install nginx-light util-linux python3)" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt install time)" >&2; exit 1; }
source bench/nginx.sh
start_nginx
case $PROTO in
  http) target="http://127.0.0.1:$PORT" ;;
  tls) target="{ url = \"https://127.0.0.1:$TLS_PORT\", ca_file = \"$work/ca.pem\", http = \"1.1\" }" ;;
  h2) target="{ url = \"https://127.0.0.1:$H2_PORT\", ca_file = \"$work/ca.pem\", http = \"2\" }" ;;
esac
closed=$(scenario closed closed "vus = 50" "$target" / "${SECS}s")

one() {
  /usr/bin/time -f "%U %S" -o "$work/time" taskset -c 1 "$2" run "$closed" --json -q --no-store > "$work/out"
  python3 - "$1" "$work/out" "$work/time" <<'PY'
import json, sys
d = json.load(open(sys.argv[2]))
user, sys_ = map(float, open(sys.argv[3]).read().split())
n = d["total"]["count"]
print(sys.argv[1], round(n / d["duration_s"]), round((user + sys_) / n * 1e6, 2), d["total"]["errors"])
PY
}

for r in $(seq "$ROUNDS"); do
  if [ $((r % 2)) -eq 1 ]; then one old "$OLD"; one new "$NEW"; else one new "$NEW"; one old "$OLD"; fi
done | tee "$work/ab.txt"
python3 - "$work/ab.txt" <<'PY'
import statistics, sys
lines = [l.split() for l in open(sys.argv[1])]
rows = {}
for name, rate, cpu, errors in lines:
    rows.setdefault(name, []).append((float(rate), float(cpu)))
# Each round ran both builds back to back: their ratio there is what drift cannot move much.
pairs = [dict((n, (float(r), float(c))) for n, r, c, _ in lines[i:i + 2]) for i in range(0, len(lines) - 1, 2)]
rate_ratio = statistics.median(p["new"][0] / p["old"][0] for p in pairs)
cpu_ratio = statistics.median(p["new"][1] / p["old"][1] for p in pairs)
for n in ("old", "new"):
    med = (statistics.median(r for r, _ in rows[n]), statistics.median(c for _, c in rows[n]))
    print(f"{n}: {med[0]:,.0f} req/s, {med[1]:.2f} µs CPU per request (medians of {len(rows[n])})")
print(f"new/old, median of the {len(pairs)} back-to-back pairs: rate {rate_ratio:.3f}, CPU per request {cpu_ratio:.3f}")
PY
