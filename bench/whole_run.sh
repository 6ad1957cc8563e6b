#!/usr/bin/env bash
# Every whole-run path on a synthetic soak: time and peak RSS of `runs import`, `runs export`,
# `report` (md, html, json, hlog), `compare` of the run with itself, opening it for the run page
# and a one-hour window (examples/store_bench.rs open), and the crash recovery any writer (here
# `runs tag`) does when the run was left `running`. Optionally side by side with an older build.
#
#   bench/whole_run.sh [HOURS] [OLD_BINARY]      (default 1 hour; needs a release build)
#   KEEP=DIR bench/whole_run.sh 24                (keeps the soak and its databases in DIR)
#
# The soak (5 series, 400 responses per series per second from 100 µs to 1 s) is made by
# examples/soak_export.rs, a tick at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
HOURS=${1:-1}
OLD=${2:-}
NEW=${LB:-target/release/loadbench}
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt install time)" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "needs sqlite3 (apt install sqlite3)" >&2; exit 1; }
if [ -n "${KEEP:-}" ]; then
  work=$KEEP; mkdir -p "$work"; rm -f "$work"/*.db*
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
cargo run --release --quiet --example soak_export -- "$HOURS" "$work/soak.json"
cargo build --release --quiet --example store_bench
printf 'the export file: %s MB\n' "$(( $(stat -c %s "$work/soak.json") / 1000000 ))"
printf '%-8s %-28s %9s %10s\n' build step seconds "peak MB"
measure() {  # build-name binary db step args...
  local name=$1 bin=$2 db=$3 step=$4; shift 4
  /usr/bin/time -f "%e %M" -o "$work/t" "$bin" --db "$db" "$@" > /dev/null 2> "$work/err" \
    || { echo "$name $step failed:"; cat "$work/err"; }
  read -r secs kb < <(tail -1 "$work/t")
  printf '%-8s %-28s %9s %10.0f\n' "$name" "$step" "$secs" "$((kb / 1024))"
}
for pair in "new:$NEW" ${OLD:+"old:$OLD"}; do
  name=${pair%%:*}; bin=${pair#*:}
  db="$work/$name.db"
  measure "$name" "$bin" "$db" "runs import" runs import "$work/soak.json"
  measure "$name" "$bin" "$db" "runs export" runs export 1 -o "$work/$name-export.json" --force
  measure "$name" "$bin" "$db" "report md" report 1 --format md -o "$work/$name.md" --force
  measure "$name" "$bin" "$db" "report html" report 1 --format html -o "$work/$name.html" --force
  measure "$name" "$bin" "$db" "report json" report 1 --format json -o "$work/$name.json" --force
  measure "$name" "$bin" "$db" "report hlog" report 1 --format hlog -o "$work/$name.hlog" --force
  measure "$name" "$bin" "$db" "compare with itself" compare 1 1
  sqlite3 "$db" "PRAGMA wal_checkpoint(TRUNCATE)" > /dev/null
  printf '%-8s %-28s %9s MB\n' "$name" "database file" "$(( $(stat -c %s "$db") / 1000000 ))"
  /usr/bin/time -f "%e %M" -o "$work/t" target/release/examples/store_bench open "$db" 1
  sqlite3 "$db" "UPDATE runs SET status = 'running' WHERE id = 1"
  measure "$name" "$bin" "$db" "runs tag (recovers a crash)" runs tag 1 recovered
done
