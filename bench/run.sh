#!/usr/bin/env bash
# make bench: the service beside its limits, in one run, on loopback.
# Starts a throwaway PostgreSQL, the release service and nginx (prod
# template), loads each endpoint with wrk and measures the limits (nginx
# answering itself, pgbench with the service's own prepared statements),
# then prints one table and writes bench/results/latest.json and a chart.
#   bench/run.sh [--connections N] [--duration S] [--warmup S] [--threads N]
#                [--service-threads N] [--pool N] [--only NAME]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CONNECTIONS=64 DURATION=10 WARMUP=2 WRK_THREADS=2 SERVICE_THREADS=2 POOL=2 ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --connections) CONNECTIONS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --threads) WRK_THREADS=$2; shift 2 ;;
    --service-threads) SERVICE_THREADS=$2; shift 2 ;;
    --pool) POOL=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "bench: unknown flag $1" >&2; exit 64 ;;
  esac
done

BIN="${USERS_BIN_DIR:-$ROOT/build/release/bin}"
[ -x "$BIN/users-service" ] || { echo "bench: build the release preset first (make bench does)" >&2; exit 1; }
WORK=$(mktemp -d /tmp/users-bench-XXXXXX)
chmod 755 "$WORK"  # the postgres user runs the cluster inside it
RESULTS="$ROOT/bench/results"
mkdir -p "$RESULTS"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PG_PORT=$(free_port) SERVICE_PORT=$(free_port) NGINX_PORT=$(free_port)
SERVICE_PID=""

cleanup() {
  [ -n "$SERVICE_PID" ] && kill "$SERVICE_PID" 2>/dev/null && wait "$SERVICE_PID" 2>/dev/null || true
  scripts/nginx.sh stop "$WORK/nginx" 2>/dev/null || true
  scripts/pg.sh stop "$WORK/pg" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "bench: PostgreSQL on :$PG_PORT, users-service on :$SERVICE_PORT, nginx on :$NGINX_PORT"
scripts/pg.sh start "$WORK/pg" "$PG_PORT" >/dev/null
scripts/pg.sh createdb "$WORK/pg" "$PG_PORT" users_bench
DB_URL=$(scripts/pg.sh url "$PG_PORT" users_bench)
psql_q() { psql -q -X -v ON_ERROR_STOP=1 "$DB_URL" -c "$1" >/dev/null; }
APP_ENV=production SECRET_KEY=bench-signing-key-0123456789abcdef01 DATABASE_URL=$DB_URL "$BIN/manage" migrate >/dev/null
seed() {  # N users with ids 1..N
  psql_q "TRUNCATE users RESTART IDENTITY"
  psql_q "INSERT INTO users (username, email) SELECT 'user' || g, 'user' || g || '@bench.io' FROM generate_series(1, $1) g"
  psql_q "VACUUM ANALYZE users"
}
seed 10000

APP_ENV=production SECRET_KEY=bench-signing-key-0123456789abcdef01 DATABASE_URL=$DB_URL HOST=127.0.0.1 PORT=$SERVICE_PORT \
  THREADS=$SERVICE_THREADS DB_POOL_SIZE=$POOL LOG_LEVEL=warn "$BIN/users-service" > "$WORK/service.log" 2>&1 &
SERVICE_PID=$!
for _ in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$SERVICE_PORT/health/ready" 2>/dev/null && break; sleep 0.1; done
scripts/render-nginx.sh prod "$WORK/nginx" "$NGINX_PORT" "127.0.0.1:$SERVICE_PORT"
sed -i 's|access_log .*users;|access_log off;|' "$WORK/nginx/nginx.conf"  # as the service: no access log
scripts/nginx.sh start "$WORK/nginx"
rss_kib() { awk '/VmRSS/{print $2}' "/proc/$SERVICE_PID/status"; }
RSS_IDLE=$(rss_kib)

ROWS="$WORK/rows.jsonl"
: > "$ROWS"
wants() { [ -z "$ONLY" ] || [[ "$1" == *"$ONLY"* ]]; }

# wrk NAME URL LUA: warm-up, then the measured run; appends a JSON row.
run_wrk() {
  local name=$1 url=$2 lua=$3
  wants "$name" || return 0
  cat "bench/lua/$lua" bench/lua/report.lua > "$WORK/script.lua"
  BENCH_USERS=10000 wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -s "$WORK/script.lua" "$url" >/dev/null 2>&1 || true
  local out
  out=$(BENCH_USERS=10000 wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s "$WORK/script.lua" "$url" | tail -n 1)
  echo "{\"name\":\"$name\",\"kind\":\"service\",\"wrk\":$out}" >> "$ROWS"
  printf '  %-22s done\n' "$name"
}

# pgbench NAME SCRIPT: same client count as the service's pool; appends a row.
run_pgbench() {
  local name=$1 script=$2
  wants "$name" || return 0
  pgbench -n -M prepared -c "$POOL" -j "$POOL" -T "$WARMUP" -f "bench/sql/$script" "$DB_URL" >/dev/null 2>&1 || true
  local out tps lat
  out=$(pgbench -n -M prepared -c "$POOL" -j "$POOL" -T "$DURATION" -f "bench/sql/$script" "$DB_URL" 2>&1)
  tps=$(echo "$out" | awk '/^tps = /{print $3; exit}')
  lat=$(echo "$out" | awk '/^latency average/{print $4; exit}')
  echo "{\"name\":\"$name\",\"kind\":\"limit\",\"tps\":${tps:-0},\"latency_avg_ms\":${lat:-0}}" >> "$ROWS"
  printf '  %-22s done\n' "$name"
}

S="http://127.0.0.1:$SERVICE_PORT" N="http://127.0.0.1:$NGINX_PORT"
echo "bench: $CONNECTIONS connections, ${DURATION}s each after ${WARMUP}s warm-up, wrk -t$WRK_THREADS; service THREADS=$SERVICE_THREADS DB_POOL_SIZE=$POOL"
run_wrk "nginx /nginx-ping" "$N/nginx-ping" plain.lua
run_wrk "GET /ping" "$S/ping" plain.lua
run_wrk "GET /ping via nginx" "$N/ping" plain.lua
run_pgbench "pgbench SELECT by id" select_by_id.sql
run_wrk "GET /users/{id}" "$S/users/1" get_by_id.lua
seed 100
run_pgbench "pgbench SELECT all" select_all.sql
run_wrk "GET /users" "$S/users" plain.lua
run_pgbench "pgbench SELECT newest" select_newest.sql
run_wrk "GET /" "$S/" plain.lua
run_pgbench "pgbench INSERT" insert.sql
run_wrk "POST /users" "$S/users" post_users.lua

# Auth: login is deliberately slow (Argon2id at the production cost, about
# 64 MiB and a quarter of a second a verification): its rate is the hash cost.
if wants "POST /auth/login" || wants "GET /auth/status"; then
  export BENCH_PASSWORD="bench-password-$RANDOM$RANDOM"
  ADMIN_PASSWORD=$BENCH_PASSWORD APP_ENV=production SECRET_KEY=bench-signing-key-0123456789abcdef01 \
    DATABASE_URL=$DB_URL "$BIN/manage" create_admin --username bench-admin --email bench-admin@bench.io >/dev/null
  BENCH_TOKEN=$(curl -fsS -X POST "$S/auth/login" -H 'Content-Type: application/json' \
    --data "{\"email\":\"bench-admin@bench.io\",\"password\":\"$BENCH_PASSWORD\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["auth_token"])')
  export BENCH_TOKEN
  # Few connections: with more, queued logins outlast wrk's 2 s timeout.
  CONNECTIONS=4 run_wrk "POST /auth/login" "$S/auth/login" login.lua
  run_wrk "GET /auth/status" "$S/auth/status" auth_status.lua
fi
RSS_END=$(rss_kib)

# A partial run (--only) must not replace the full run's results.
OUT_NAME=latest
[ -z "$ONLY" ] || OUT_NAME=partial
python3 bench/report.py "$ROWS" "$RSS_IDLE" "$RSS_END" "$RESULTS" "$OUT_NAME" \
  "connections=$CONNECTIONS duration=${DURATION}s warmup=${WARMUP}s wrk_threads=$WRK_THREADS service_threads=$SERVICE_THREADS pool=$POOL"
