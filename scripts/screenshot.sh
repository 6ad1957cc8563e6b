#!/usr/bin/env bash
# Starts the real loadbench window under Xvfb, takes a screenshot, and fails if the window did
# not render (no window, or an image of fewer than 16 colours: blank or single-colour).
#   scripts/screenshot.sh OUT.png [loadbench gui arguments...]
# Needs: Xvfb, xwininfo (x11-utils), import and convert (imagemagick); LOADBENCH_BIN or target/debug.
set -euo pipefail
out=$1; shift
bin=${LOADBENCH_BIN:-target/debug/loadbench}
wait_s=${SCREENSHOT_WAIT:-6}
for n in $(seq 90 120); do [ -e "/tmp/.X11-unix/X$n" ] || { display=":$n"; break; }; done
Xvfb "$display" -screen 0 1400x900x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
app=""
cleanup() { [ -n "$app" ] && kill "$app" 2>/dev/null; kill "$xvfb" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 50); do xwininfo -display "$display" -root >/dev/null 2>&1 && break; sleep 0.1; done
DISPLAY=$display "$bin" gui "$@" >/tmp/loadbench-screenshot.log 2>&1 &
app=$!
found=""
for _ in $(seq 150); do
  found=$(xwininfo -display "$display" -root -tree 2>/dev/null | awk '/"loadbench"/ {print $1; exit}')
  [ -n "$found" ] && break
  kill -0 "$app" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$found" ]; then
  echo "screenshot: no loadbench window appeared" >&2
  cat /tmp/loadbench-screenshot.log >&2 || true
  exit 1
fi
sleep "$wait_s"
DISPLAY=$display import -window "$found" "$out"
colours=$(convert "$out" -format %k info:)
echo "screenshot: $out ($colours colours)"
if [ "$colours" -lt 16 ]; then
  echo "screenshot: the window did not render ($colours colours)" >&2
  exit 1
fi
