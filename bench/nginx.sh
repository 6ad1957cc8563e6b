# Sourced by the bench scripts: a scratch directory ($work) removed on exit, and nginx (1 worker,
# `return 200 "ok"`) on 127.0.0.1:$PORT pinned to core 0. On exit the EXIT trap stops this nginx,
# then calls `bench_cleanup` if the script defines one (for the processes it started itself).
# `scenario` writes the one-request scenarios the scripts run.
work=$(mktemp -d)
_bench_exit() {
  if declare -F bench_cleanup >/dev/null; then bench_cleanup; fi
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap _bench_exit EXIT

start_nginx() {
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
  if python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 0.2)" 2>/dev/null; then
    echo "port $PORT on 127.0.0.1 is taken; choose another with PORT=..." >&2
    exit 1
  fi
  taskset -c 0 nginx -c "$work/nginx.conf" -p "$work"
  sleep 0.3
}

# Writes a one-request scenario to $work/NAME.toml and prints its path.
#   scenario NAME MODEL LOAD-LINES TARGET-URL PATH DURATION [WARMUP]
scenario() {
  local file=$work/$1.toml
  cat > "$file" <<TOML
name = "$1"
duration = "$6"
warmup = "${7:-0s}"
[targets]
t = "$4"
[load]
model = "$2"
$3
[[requests]]
name = "r"
path = "$5"
TOML
  echo "$file"
}
