# Sourced by the bench scripts: a scratch directory ($work) removed on exit, and nginx (1 worker,
# `return 200 "ok"`) on 127.0.0.1:$PORT pinned to core 0. On exit the EXIT trap stops this nginx,
# then calls `bench_cleanup` if the script defines one (for the processes it started itself).
# `scenario` writes the one-request scenarios the scripts run. With TLS_PORT (HTTPS, HTTP/1.1)
# and H2_PORT (HTTPS, HTTP/2) set, the same nginx serves them too, with a certificate for
# 127.0.0.1 signed by a CA made for the run ($work/ca.pem, which the scenarios trust).
work=$(mktemp -d)
_bench_exit() {
  if declare -F bench_cleanup >/dev/null; then bench_cleanup; fi
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap _bench_exit EXIT

# A CA and a P-256 server certificate for 127.0.0.1 signed by it (rustls refuses a self-signed
# certificate as its own trust anchor).
make_cert() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=loadbench-bench-ca -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj /CN=127.0.0.1 -keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' > "$work/ext"
  openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
    -CAcreateserial -days 2 -extfile "$work/ext" -out "$work/server.pem" 2>/dev/null
}

start_nginx() {
  mkdir -p "$work/logs"
  local tls=
  if [ -n "${TLS_PORT:-}${H2_PORT:-}" ]; then
    make_cert
    tls="ssl_certificate $work/server.pem; ssl_certificate_key $work/server.key;"
    [ -n "${TLS_PORT:-}" ] && tls="$tls server { listen 127.0.0.1:$TLS_PORT ssl; location / { return 200 \"ok\"; } }"
    [ -n "${H2_PORT:-}" ] && tls="$tls server { listen 127.0.0.1:$H2_PORT ssl http2; location / { return 200 \"ok\"; } }"
  fi
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
  $tls
}
CONF
  local p
  for p in $PORT ${TLS_PORT:-} ${H2_PORT:-}; do
    if python3 -c "import socket; socket.create_connection(('127.0.0.1', $p), 0.2)" 2>/dev/null; then
      echo "port $p on 127.0.0.1 is taken; choose others with PORT=, TLS_PORT=, H2_PORT=" >&2
      exit 1
    fi
  done
  taskset -c 0 nginx -c "$work/nginx.conf" -p "$work"
  sleep 0.3
}

# Writes a one-request scenario to $work/NAME.toml and prints its path. TARGET is a URL or an
# inline TOML table ("{ url = ..., ca_file = ... }").
#   scenario NAME MODEL LOAD-LINES TARGET PATH DURATION [WARMUP]
scenario() {
  local target=\"$4\"
  [[ $4 == "{"* ]] && target=$4
  local file=$work/$1.toml
  cat > "$file" <<TOML
name = "$1"
duration = "$6"
warmup = "${7:-0s}"
[targets]
t = $target
[load]
model = "$2"
$3
[[requests]]
name = "r"
path = "$5"
TOML
  echo "$file"
}
