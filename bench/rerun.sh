#!/usr/bin/env bash
# Does the comparison cry wolf on real reruns, and does it catch real changes?
#
#   bench/rerun.sh [RUNS] [SECONDS]      (defaults: 8 identical runs of 15 s)
#   KEEP=runs.db bench/rerun.sh          (keeps the runs' database)
#
# Against `loadbench demo` (its own process on 127.0.0.1), one scenario with two requests: `fast`
# (~1 ms: the demo's echo with delay_ms=1) and `slow` (~20 ms), 200 req/s in all, open model.
# Every other run has a CPU hog on the machine (one busy process), as a shared CI runner has.
#
# 1. False alarms: RUNS identical runs; every ordered pair compared (`loadbench compare A B`).
#    A pair is a false alarm when any metric is called regressed.
# 2. The gate: runs 1-3 marked as the baseline; RUNS/2 more identical runs with
#    `run --compare-to baseline` (exit 4 = false alarm), and each also against run 1 alone.
# 3. Detection: 4 runs with `fast` 5 ms slower (+5 ms on ~1 ms) and 4 with `slow` 20 % slower
#    (24 ms), half of them hogged, each against the baseline runs and against run 1 alone.
#
# Prints each count and the rates; the figures in the README come from this script.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-8}
SECS=${2:-15}
PORT=${PORT:-18095}
LB=${LB:-target/release/loadbench}
[ -x "$LB" ] || cargo build --release --quiet
work=$(mktemp -d)
demo_pid=
hog_pid=
cleanup() {
  [ -n "$hog_pid" ] && kill "$hog_pid" 2>/dev/null || true
  [ -n "$demo_pid" ] && kill -INT "$demo_pid" 2>/dev/null || true
  # KEEP=FILE keeps the runs' database, to look at them with `loadbench --db FILE runs`.
  if [ -n "${KEEP:-}" ] && [ -f "$work/rerun.db" ]; then cp "$work/rerun.db" "$KEEP"; fi
  rm -rf "$work"
}
trap cleanup EXIT
if python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 0.2)" 2>/dev/null; then
  echo "port $PORT on 127.0.0.1 is taken; choose another with PORT=..." >&2
  exit 1
fi
"$LB" demo --port "$PORT" > "$work/demo.log" 2>&1 &
demo_pid=$!
sleep 0.5
db=$work/rerun.db
cat > "$work/s.toml" <<TOML
name = "rerun"
duration = "${SECS}s"
warmup = "2s"
[targets]
api = "http://127.0.0.1:$PORT"
[load]
model = "open"
rate = 200
[[requests]]
name = "fast"
path = "/v1/echo"
query = { delay_ms = "\${env.FAST_MS}" }
[[requests]]
name = "slow"
path = "/v1/echo"
query = { delay_ms = "\${env.SLOW_MS}" }
TOML

hog_on() { sh -c 'while :; do :; done' & hog_pid=$!; }
hog_off() { [ -n "$hog_pid" ] && kill "$hog_pid" 2>/dev/null; wait "$hog_pid" 2>/dev/null || true; hog_pid=; }

# run FAST_MS SLOW_MS [extra flags]: one stored run, every other one with a CPU hog; sets
# $id, $code and $hog (called in this shell, not a subshell, so the count and the hog hold).
n=0
run() {
  n=$((n + 1))
  local fast=$1 slow=$2; shift 2
  hog=$((n % 2 == 0))
  [ "$hog" = 1 ] && hog_on
  code=0
  FAST_MS=$fast SLOW_MS=$slow "$LB" --db "$db" run "$work/s.toml" -q "$@" > /dev/null 2> "$work/err" || code=$?
  hog_off
  id=$("$LB" --db "$db" runs --json | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['id'])")
}

# verdicts BASELINE CANDIDATE: "regressed-metrics inconclusive" of one comparison.
verdicts() {
  "$LB" --db "$db" compare "$1" "$2" --json 2>/dev/null | python3 -c '
import json, sys
c = json.load(sys.stdin)[0]
bad = [n + ":" + m["metric"] for n, ms in c["requests"] for m in ms if m["verdict"] == "regressed"]
print(",".join(bad) or "-", int(c.get("inconclusive", False)))'
}

echo "== $RUNS identical runs of ${SECS}s (even-numbered ones with a CPU hog)"
ids=()
for _ in $(seq "$RUNS"); do
  run 1 20
  ids+=("$id"); echo "run #$id hog=$hog exit=$code"
done

echo "== every ordered pair"
alarms=0; pairs=0; inconclusive=0
for a in "${ids[@]}"; do
  for b in "${ids[@]}"; do
    [ "$a" = "$b" ] && continue
    read -r bad inc < <(verdicts "$a" "$b")
    pairs=$((pairs + 1)); inconclusive=$((inconclusive + inc))
    if [ "$bad" != "-" ]; then alarms=$((alarms + 1)); echo "false alarm: #$a -> #$b: $bad"; fi
  done
done
echo "false alarms: $alarms of $pairs ordered pairs ($inconclusive inconclusive)"

echo "== the gate: runs ${ids[0]}, ${ids[1]}, ${ids[2]} are the baseline"
"$LB" --db "$db" runs baseline "${ids[0]}" "${ids[1]}" "${ids[2]}" 2>/dev/null
gate_set=0; gate_one=0; gates=0
for _ in $(seq $((RUNS / 2))); do
  run 1 20 --compare-to baseline
  read -r bad _ < <(verdicts "${ids[0]}" "$id")
  gates=$((gates + 1))
  [ "$code" = 4 ] && gate_set=$((gate_set + 1))
  [ "$bad" != "-" ] && gate_one=$((gate_one + 1))
  echo "run #$id hog=$hog: against the baseline runs exit=$code; against #${ids[0]} alone: $bad"
done
echo "gate false alarms: $gate_set of $gates against 3 baseline runs, $gate_one of $gates against one"

detect() {
  local label=$1 fast=$2 slow=$3 want=$4
  local set=0 one=0 base_set="${ids[0]},${ids[1]},${ids[2]}"
  for _ in 1 2 3 4; do
    run "$fast" "$slow" --compare-to baseline
    read -r bad_set _ < <(verdicts "$base_set" "$id")
    read -r bad _ < <(verdicts "${ids[0]}" "$id")
    case ",$bad_set," in *",$want:"*) set=$((set + 1));; esac
    case ",$bad," in *",$want:"*) one=$((one + 1));; esac
    echo "run #$id hog=$hog ($label): against the baseline runs exit=$code ($bad_set); against #${ids[0]} alone: $bad"
  done
  echo "$label caught: $set of 4 against 3 baseline runs, $one of 4 against one"
}
echo "== detection"
detect "+5 ms on fast (~1 ms)" 6 20 "fast@api"
detect "+20 % on slow (~20 ms)" 1 24 "slow@api"
