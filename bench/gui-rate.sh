#!/usr/bin/env bash
# Does the window cost throughput? The same closed-model scenario at the ceiling, run headless
# and from the GUI (`loadbench gui --run`, window open under Xvfb, live charts redrawing),
# alternately, against nginx pinned to core 0; loadbench (and Xvfb) pinned to core 1.
# Prints each run's rate, the GUI thread's share of the core, and the GUI's median rate as a share
# of the headless median (goal: >= 90 %). Rounds alternate A B B A.
# Usage: bench/gui-rate.sh [ROUNDS] [SECONDS]   (defaults: 2 rounds of 15 s)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-2}
SECS=${2:-15}
CONNS=50
[ "$SECS" -ge 8 ] || { echo "runs of at least 8 s, please (the GUI thread is sampled after 4 s)" >&2; exit 2; }
PORT=${PORT:-18082}
LB=${LB:-target/release/loadbench}
need_apt=()
command -v nginx >/dev/null || need_apt+=(nginx-light)
command -v xvfb-run >/dev/null || need_apt+=(xvfb)
[ -e /usr/lib/x86_64-linux-gnu/libEGL.so.1 ] || need_apt+=(libegl1 libgl1-mesa-dri libxkbcommon-x11-0)
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
[ -x "$LB" ] || cargo build --release --quiet

source bench/nginx.sh
gui_pid=
bench_cleanup() { [ -n "$gui_pid" ] && kill -- -"$gui_pid" 2>/dev/null || true; }
start_nginx
ceiling=$(scenario ceiling closed "vus = $CONNS" "http://127.0.0.1:$PORT" / "${SECS}s" 2s)

rate_of() { # db -> rate of its newest completed run
  local id
  id=$("$LB" runs --db "$1" --status completed --limit 1 --json | python3 -c "import json,sys; r=json.load(sys.stdin); print(r[0]['id'] if r else '')")
  [ -n "$id" ] || return 1
  "$LB" runs show "$id" --db "$1" --json | python3 -c "import json,sys; print(round(json.load(sys.stdin)['total']['rate']))"
}

headless() {
  taskset -c 1 "$LB" run "$ceiling" --db "$work/headless-$1.db" -q > /dev/null
  echo "headless $(rate_of "$work/headless-$1.db")"
}
gui() {
  # The window: its own process group, so the GUI, xvfb-run and Xvfb stop together.
  setsid taskset -c 1 xvfb-run -a -s "-screen 0 1280x900x24" \
    "$LB" gui --run "$ceiling" --db "$work/gui-$1.db" > "$work/gui.log" 2>&1 &
  gui_pid=$!
  # What the window itself costs: CPU time of the GUI thread (the process's main thread, which
  # also runs the software rasteriser here) over the middle of the run.
  local pid= t0= t1= rate=
  sleep 4
  pid=$(pgrep -x -g "$gui_pid" loadbench | head -1) || true
  [ -n "$pid" ] && t0=$(awk '{print $14 + $15}' "/proc/$pid/task/$pid/stat" 2>/dev/null)
  sleep $((SECS - 4))
  [ -n "$t0" ] && t1=$(awk '{print $14 + $15}' "/proc/$pid/task/$pid/stat" 2>/dev/null)
  for _ in $(seq 60); do
    rate=$(rate_of "$work/gui-$1.db" 2>/dev/null) && break
    sleep 1
  done
  kill -- -"$gui_pid" 2>/dev/null || true
  wait "$gui_pid" 2>/dev/null || true
  gui_pid=
  [ -n "$rate" ] || { echo "the GUI run did not complete: $(tail -5 "$work/gui.log")" >&2; exit 1; }
  echo "gui $rate"
  if [ -n "$t1" ]; then
    python3 -c "print('gui-thread', ($t1 - $t0) / $(getconf CLK_TCK) / ($SECS - 4) * 100)"
  fi
}

# A B B A: drift of the machine's speed within a round hits both sides alike.
for r in $(seq "$ROUNDS"); do
  if [ $((r % 2)) -eq 1 ]; then headless "$r"; gui "$r"; else gui "$r"; headless "$r"; fi
done | tee "$work/rates"
python3 - "$work/rates" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    k, v = line.split()
    rows.setdefault(k, []).append(float(v))
h, g = statistics.median(rows["headless"]), statistics.median(rows["gui"])
if "gui-thread" in rows:
    print(f"\nthe GUI thread (layout and software rendering) took {statistics.median(rows['gui-thread']):.1f} % of the core (median)", end="")
print(f"\nheadless {h:,.0f} req/s, GUI {g:,.0f} req/s: the GUI run reaches {g / h:.0%} of headless",
      "(goal >= 90 %: met)" if g / h >= 0.9 else "(goal >= 90 %: NOT met)")
PY
