#!/usr/bin/env bash
# A long run from the window: does it stay responsive and flat in memory? nginx pinned to core 0;
# the window (under Xvfb, Mesa's software GL) and its engine on core 1, an open-model run at a
# moderate rate started with `loadbench gui --run`. Every minute the window logs its frame times
# (eframe's measure: layout, tessellation and software painting) and its RSS
# (LOADBENCH_FRAME_LOG); the mouse sweeps the live chart each minute (hover frames) and a
# screenshot is kept every 30 minutes in OUT.
#   bench/gui-soak.sh [MINUTES] [RATE] [OUT]     (defaults: 120 minutes, 2000 req/s, /tmp/gui-soak)
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-120}
RATE=${2:-2000}
OUT=${3:-/tmp/gui-soak}
PORT=${PORT:-18083}
LB=${LB:-target/release/loadbench}
for c in nginx Xvfb xdotool import xwininfo; do
  command -v "$c" >/dev/null || { echo "needs $c (apt install nginx-light xvfb xdotool imagemagick x11-utils)" >&2; exit 1; }
done
[ -x "$LB" ] || cargo build --release --quiet
mkdir -p "$OUT"
rm -f "$OUT"/frames.log "$OUT"/soak.db*

source bench/nginx.sh
xvfb= app=
bench_cleanup() {
  [ -n "$app" ] && kill "$app" 2>/dev/null || true
  [ -n "$xvfb" ] && kill "$xvfb" 2>/dev/null || true
}
start_nginx
soak=$(scenario soak open "rate = $RATE
max_in_flight = 50" "http://127.0.0.1:$PORT" / "${MINUTES}m")

for n in $(seq 80 120); do [ -e "/tmp/.X11-unix/X$n" ] || { display=":$n"; break; }; done
taskset -c 1 Xvfb "$display" -screen 0 1400x900x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
for _ in $(seq 50); do xwininfo -display "$display" -root >/dev/null 2>&1 && break; sleep 0.1; done
DISPLAY=$display LOADBENCH_FRAME_LOG="$OUT/frames.log" LOADBENCH_FRAME_LOG_EVERY=60 \
  taskset -c 1 "$LB" gui --run "$soak" --db "$OUT/soak.db" > "$OUT/gui.log" 2>&1 &
app=$!
win=
for _ in $(seq 150); do
  win=$(xwininfo -display "$display" -root -tree 2>/dev/null | awk '/"loadbench"/ {print $1; exit}')
  [ -n "$win" ] && break
  sleep 0.1
done
[ -n "$win" ] || { echo "no window: $(cat "$OUT/gui.log")" >&2; exit 1; }
echo "soak: ${MINUTES} min at ${RATE}/s from the window (pid $app); frames in $OUT/frames.log"
for m in $(seq 1 "$MINUTES"); do
  # A sweep over the live chart: hover frames, as a user looking at it makes.
  for x in 300 500 700 900 1100; do DISPLAY=$display xdotool mousemove "$x" 400; sleep 0.2; done
  sleep 59
  kill -0 "$app" 2>/dev/null || { echo "the window exited at minute $m: $(tail -5 "$OUT/gui.log")" >&2; exit 1; }
  if [ $((m % 30)) -eq 0 ] || [ "$m" -eq 1 ]; then
    DISPLAY=$display import -window "$win" "$OUT/minute-$m.png" 2>/dev/null || true
  fi
done
sleep 20  # the run's drain and the store's finish
DISPLAY=$display import -window "$win" "$OUT/end.png" 2>/dev/null || true
python3 - "$OUT/frames.log" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
print(f"{'minute':>6} {'frames':>7} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'RSS MB':>7}")
for i, r in enumerate(rows):
    if i < 3 or i % 10 == 9 or i == len(rows) - 1:
        print(f"{float(r[0]) / 60:>6.0f} {r[1]:>7} {r[2]:>7} {r[3]:>7} {r[4]:>7} {r[5]:>7}")
rss = [float(r[5]) for r in rows]
if len(rss) > 5:
    print(f"RSS at minute 5: {rss[4]:.1f} MB, at the end: {rss[-1]:.1f} MB ({rss[-1] / rss[4] - 1:+.1%}); peak {max(rss):.1f} MB")
print(f"frame p99 over the soak: worst minute {max(float(r[3]) for r in rows):.1f} ms, median minute {sorted(float(r[3]) for r in rows)[len(rows) // 2]:.1f} ms")
PY
"$LB" runs --db "$OUT/soak.db" --limit 1
ls -la "$OUT"/soak.db
