#!/usr/bin/env bash
# make bench: the service beside its limits, in one run, on loopback.
# Starts a throwaway PostgreSQL, the release service and nginx (prod
# template), loads each endpoint with wrk and measures the limits (nginx
# answering itself, pgbench with the service's own statements at its best
# client count), then how cost grows with the table (growth) and with the
# connections (sweep); GET /users/{id} is also measured on a second service
# with the production log defaults (access log at info) beside the first one's
# LOG_LEVEL=warn; every measured wrk run also counts the service's
# context switches (all its threads). Prints the tables and the goals, and
# writes bench/results/latest.json and a chart (a partial run: partial.json).
#   bench/run.sh [--connections N] [--duration S] [--warmup S] [--threads N]
#                [--service-threads N] [--pool N] [--only NAME[,NAME...]]
#                [--sections standard,sweep,growth] [--growth-max N] [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CONNECTIONS=64 DURATION=10 WARMUP=2 WRK_THREADS=2 SERVICE_THREADS=2 POOL=2 ONLY=""
SECTIONS=standard,sweep,growth GROWTH_MAX=1000000 QUICK=""
while [ $# -gt 0 ]; do
  case "$1" in
    --connections) CONNECTIONS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --threads) WRK_THREADS=$2; shift 2 ;;
    --service-threads) SERVICE_THREADS=$2; shift 2 ;;
    --pool) POOL=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --sections) SECTIONS=$2; shift 2 ;;
    --growth-max) GROWTH_MAX=$2; shift 2 ;;
    --quick) QUICK=1; DURATION=2 WARMUP=0 GROWTH_MAX=10000; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "bench: unknown flag $1" >&2; exit 64 ;;
  esac
done
# A limit is the database's best: the same clients for every setting of the service.
PGBENCH_CLIENTS="2 8 32"
SWEEP_CONNECTIONS="1 8 64 256"
GROWTH_SIZES="10000 100000 1000000"
# Growth runs are short: they show how a cost moves with the table, not a rate.
GROWTH_DURATION=$((DURATION < 3 ? DURATION : 3)) GROWTH_WARMUP=$((WARMUP < 1 ? WARMUP : 1))
# pgbench's -T includes opening its connections (32 take a second on a busy machine).
PGBENCH_DURATION=$((DURATION > 3 ? DURATION : 3))

BIN="${USERS_BIN_DIR:-$ROOT/build/release/bin}"
[ -x "$BIN/users-service" ] || { echo "bench: build the release preset first (make bench does)" >&2; exit 1; }
WORK=$(mktemp -d /tmp/users-bench-XXXXXX)
chmod 755 "$WORK"  # the postgres user runs the cluster inside it
RESULTS="$ROOT/bench/results"
mkdir -p "$RESULTS"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PG_PORT=$(free_port) SERVICE_PORT=$(free_port) NGINX_PORT=$(free_port) INFO_PORT=$(free_port)
SERVICE_PID="" INFO_PID=""

cleanup() {
  if [ -n "$SERVICE_PID" ] && kill "$SERVICE_PID" 2>/dev/null; then wait "$SERVICE_PID" 2>/dev/null || true; fi
  if [ -n "$INFO_PID" ] && kill "$INFO_PID" 2>/dev/null; then wait "$INFO_PID" 2>/dev/null || true; fi
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
SEEDED=0
seed() {  # N users with ids 1..N: one INSERT, then fresh statistics
  psql_q "TRUNCATE users RESTART IDENTITY CASCADE"
  psql_q "INSERT INTO users (username, email) SELECT 'user' || g, 'user' || g || '@bench.io' FROM generate_series(1, $1) g"
  psql_q "VACUUM ANALYZE users"
  SEEDED=$1
}
seed 10000

APP_ENV=production SECRET_KEY=bench-signing-key-0123456789abcdef01 DATABASE_URL=$DB_URL HOST=127.0.0.1 PORT=$SERVICE_PORT \
  THREADS=$SERVICE_THREADS DB_POOL_SIZE=$POOL LOG_LEVEL=warn "$BIN/users-service" > "$WORK/service.log" 2>&1 &
SERVICE_PID=$!
# The same service with the production log defaults (no LOG_LEVEL: info, an
# access line a request) into a file; only the log A/B row loads it.
APP_ENV=production SECRET_KEY=bench-signing-key-0123456789abcdef01 DATABASE_URL=$DB_URL HOST=127.0.0.1 PORT=$INFO_PORT \
  THREADS=$SERVICE_THREADS DB_POOL_SIZE=$POOL "$BIN/users-service" > "$WORK/service-info.log" 2>&1 &
INFO_PID=$!
for _ in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$SERVICE_PORT/health/ready" 2>/dev/null && break; sleep 0.1; done
for _ in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$INFO_PORT/health/ready" 2>/dev/null && break; sleep 0.1; done
scripts/render-nginx.sh prod "$WORK/nginx" "$NGINX_PORT" "127.0.0.1:$SERVICE_PORT"
sed -i 's|access_log .*users;|access_log off;|' "$WORK/nginx/nginx.conf"  # as the service: no access log
scripts/nginx.sh start "$WORK/nginx"
rss_kib() { local kib; kib=$(awk '/VmRSS/{print $2}' "/proc/$SERVICE_PID/status" 2>/dev/null || true); echo "${kib:-0}"; }
service_alive() { kill -0 "$SERVICE_PID" 2>/dev/null; }
# ctx_switches: "ALL VOLUNTARY", the context switches so far summed over the
# service's threads (voluntary: it waited; the rest: the kernel preempted it);
# empty when the service is gone. CTX_PID: another service than the main one.
ctx_switches() {
  cat "/proc/${CTX_PID:-$SERVICE_PID}"/task/*/status 2>/dev/null |
    awk '/^(non)?voluntary_ctxt_switches:/{n += $2; seen = 1}
         /^voluntary_ctxt_switches:/{v += $2}
         END{if (seen) printf "%.0f %.0f\n", n, v}' || true
}
thread_count() { awk '/^Threads:/{print $2}' "/proc/$SERVICE_PID/status" 2>/dev/null || true; }
RSS_IDLE=$(rss_kib)

ROWS="$WORK/rows.jsonl"
: > "$ROWS"
wants() {  # NAME: --only is a comma-separated list of substrings of row names
  [ -z "$ONLY" ] && return 0
  local pattern
  IFS=, read -ra patterns <<< "$ONLY"
  for pattern in "${patterns[@]}"; do [[ "$1" == *"$pattern"* ]] && return 0; done
  return 1
}
has_section() { [[ ",$SECTIONS," == *",$1,"* ]]; }
json_str() { python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1"; }

# settle: one request waits behind whatever the last run left queued (slow
# pages finishing after wrk stopped), so it is not charged to the next row.
settle() { curl -s -o /dev/null --max-time 120 "http://127.0.0.1:$SERVICE_PORT/users/1" || true; }

# wrk_json URL LUA CONNECTIONS DURATION WARMUP: one JSON object (report.lua's
# line); the service's context switches over the measured run (not the
# warm-up) go to $WORK/ctx.delta for ctx_field.
wrk_json() {
  local url=$1 lua=$2 connections=$3 duration=$4 warmup=$5
  settle
  local threads=$((WRK_THREADS < connections ? WRK_THREADS : connections))  # wrk needs -t <= -c
  cat "bench/lua/$lua" bench/lua/report.lua > "$WORK/script.lua"
  if [ "$warmup" -gt 0 ]; then
    BENCH_USERS=$SEEDED wrk -t"$threads" -c"$connections" -d"${warmup}s" -s "$WORK/script.lua" "$url" >/dev/null 2>&1 || true
  fi
  local out before after
  rm -f "$WORK/ctx.delta"
  before=$(ctx_switches)
  out=$(BENCH_USERS=$SEEDED wrk -t"$threads" -c"$connections" -d"${duration}s" -s "$WORK/script.lua" "$url" 2>/dev/null | tail -n 1 || true)
  after=$(ctx_switches)
  if [ -n "$before" ] && [ -n "$after" ] && [ "${after% *}" -ge "${before% *}" ]; then
    echo "$((${after% *} - ${before% *})) $((${after#* } - ${before#* }))" > "$WORK/ctx.delta"
  fi
  [[ "$out" == "{"* ]] || out='{"requests":0,"duration_us":1,"p50_ms":0,"p99_ms":0,"socket_errors":1,"non_2xx":0}'
  echo "$out"
}

# ctx_field: ',"ctx_switches":N,"ctx_voluntary":V' for the last wrk_json, or
# nothing when unknown.
ctx_field() {
  local delta="" voluntary=""
  [ -f "$WORK/ctx.delta" ] && read -r delta voluntary < "$WORK/ctx.delta"
  if [ -n "$delta" ]; then echo ",\"ctx_switches\":$delta,\"ctx_voluntary\":${voluntary:-null}"; fi
}

# na_reason PATH: empty when PATH is a keyset page (200 with Link rel=next on a
# table bigger than the page); else why the row cannot be measured here.
na_reason() {
  local status
  status=$(curl -s -o /dev/null -D "$WORK/probe.headers" -w '%{http_code}' --max-time 30 "http://127.0.0.1:$SERVICE_PORT$1" || echo 000)
  if [ "$status" != 200 ]; then
    echo "$1 answers $status"
  elif ! grep -qi '^link:.*rel="\?next' "$WORK/probe.headers"; then
    echo "$1 is not paginated (no Link rel=next)"
  fi
}

# run_wrk NAME URL LUA [NA_REASON]: the measured run at $CONNECTIONS; one row.
run_wrk() {
  local name=$1 url=$2 lua=$3 na=${4:-}
  wants "$name" || return 0
  if [ -n "$na" ]; then
    echo "{\"name\":$(json_str "$name"),\"kind\":\"service\",\"na\":$(json_str "$na")}" >> "$ROWS"
    printf '  %-28s n/a (%s)\n' "$name" "$na"
    return 0
  fi
  local out
  out=$(wrk_json "$url" "$lua" "$CONNECTIONS" "$DURATION" "$WARMUP")
  echo "{\"name\":$(json_str "$name"),\"kind\":\"service\",\"connections\":$CONNECTIONS,\"wrk\":$out$(ctx_field)}" >> "$ROWS"
  printf '  %-28s done (%ds)\n' "$name" "$SECONDS"
}

# run_pgbench NAME SCRIPT: the limit at every client count of $PGBENCH_CLIENTS
# (-j = min(clients, 2)); report.py takes the best. One row.
run_pgbench() {
  local name=$1 script=$2
  wants "$name" || return 0
  local args=(-n -M prepared -D "max_id=$SEEDED" -f "bench/sql/$script")
  settle
  if [ "$WARMUP" -gt 0 ]; then
    pgbench "${args[@]}" -c 2 -j 2 -T "$WARMUP" "$DB_URL" >/dev/null 2>&1 || true
  fi
  local runs="" clients out tps lat
  for clients in $PGBENCH_CLIENTS; do
    out=$(pgbench "${args[@]}" -c "$clients" -j $((clients < 2 ? clients : 2)) -T "$PGBENCH_DURATION" "$DB_URL" 2>&1 || true)
    tps=$(echo "$out" | awk '/^tps = /{print $3; exit}')
    lat=$(echo "$out" | awk '/^latency average/{print $4; exit}')
    runs+="${runs:+,}{\"clients\":$clients,\"tps\":${tps:-0},\"latency_avg_ms\":${lat:-0}}"
  done
  echo "{\"name\":$(json_str "$name"),\"kind\":\"limit\",\"runs\":[$runs]}" >> "$ROWS"
  printf '  %-28s done (%ds)\n' "$name" "$SECONDS"
}

S="http://127.0.0.1:$SERVICE_PORT" N="http://127.0.0.1:$NGINX_PORT" SI="http://127.0.0.1:$INFO_PORT"
echo "bench: $CONNECTIONS connections, ${DURATION}s each after ${WARMUP}s warm-up, wrk -t$WRK_THREADS;" \
  "service THREADS=$SERVICE_THREADS DB_POOL_SIZE=$POOL; pgbench clients $PGBENCH_CLIENTS; sections $SECTIONS"
PAGE_NA=$(na_reason "/users?limit=1&after=0")
if has_section standard; then
  echo "standard ($SEEDED users):"
  run_wrk "nginx /nginx-ping" "$N/nginx-ping" plain.lua
  run_wrk "GET /ping" "$S/ping" plain.lua
  run_wrk "GET /ping via nginx" "$N/ping" plain.lua
  run_wrk "GET /ping new connection each" "$S/ping" new_connection.lua
  run_pgbench "pgbench SELECT by id" select_by_id.sql
  run_wrk "GET /users/{id}" "$S/users/1" get_by_id.lua
  # Right after it, so that both see the same machine: the log's cost.
  if wants "GET /users/{id} log at info"; then
    CTX_PID=$INFO_PID run_wrk "GET /users/{id} log at info" "$SI/users/1" get_by_id.lua
    # Lines dropped would make the log look cheaper than it is: the goal counts them.
    dropped=$(curl -fsS "$SI/metrics" 2>/dev/null | awk '/^log_lines_dropped_total /{print $2}' || true)
    echo "{\"kind\":\"meta\",\"info_log_dropped\":${dropped:-null},\"info_log_lines\":$(wc -l < "$WORK/service-info.log")}" >> "$ROWS"
  fi
  run_pgbench "pgbench SELECT page of 100" select_page.sql
  run_wrk "GET /users?limit=100&after=" "$S/users" page.lua "$PAGE_NA"
  run_pgbench "pgbench SELECT newest 50" select_newest.sql
  run_wrk "GET /" "$S/" plain.lua
  seed 100  # the whole list, at a size that is a page's job
  run_pgbench "pgbench SELECT all" select_all.sql
  run_wrk "GET /users" "$S/users" plain.lua
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
fi
RSS_END=$(rss_kib)

# Latency against connections: the same two endpoints from 1 to 256 connections.
if has_section sweep; then
  seed 10000
  echo "sweep ($SEEDED users): connections $SWEEP_CONNECTIONS"
  for connections in $SWEEP_CONNECTIONS; do
    for endpoint in "GET /users/{id}|$S/users/1|get_by_id.lua" "POST /users|$S/users|post_users.lua"; do
      IFS='|' read -r name url lua <<< "$endpoint"
      wants "$name" || continue
      out=$(wrk_json "$url" "$lua" "$connections" "$DURATION" "$WARMUP")
      echo "{\"name\":$(json_str "$name"),\"kind\":\"sweep\",\"connections\":$connections,\"wrk\":$out$(ctx_field)}" >> "$ROWS"
      printf '  %-22s %4s connections done (%ds)\n' "$name" "$connections" "$SECONDS"
    done
  done
fi

# growth_row USERS WHAT JSON-FIELDS: one growth measurement.
growth_row() { echo "{\"kind\":\"growth\",\"users\":$1,\"what\":\"$2\",$3}" >> "$ROWS"; }

# growth_wrk USERS WHAT PATH LUA CONNECTIONS: a short wrk run; an endpoint
# whose single request already takes over a second is timed by that request
# (wrk's 2 s timeout would count a slow answer as an error).
growth_wrk() {
  local users=$1 what=$2 url=$S$3 lua=$4 connections=$5 probe status seconds
  settle
  probe=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 120 "$url" || echo "000 0")
  read -r status seconds <<< "$probe"
  if awk -v s="$seconds" 'BEGIN{exit !(s > 1.0)}'; then
    local ms bad=0
    ms=$(awk -v s="$seconds" 'BEGIN{printf "%.3f", s * 1000}')
    [ "$status" -ge 200 ] && [ "$status" -lt 400 ] || bad=1
    growth_row "$users" "$what" "\"connections\":1,\"note\":\"one request ($status in ${seconds}s): too slow for wrk\",\"wrk\":{\"requests\":1,\"duration_us\":${ms%.*}000,\"p50_ms\":$ms,\"p99_ms\":$ms,\"socket_errors\":0,\"non_2xx\":$bad}"
    return 0
  fi
  growth_row "$users" "$what" "\"connections\":$connections,\"wrk\":$(wrk_json "$url" "$lua" "$connections" "$GROWTH_DURATION" "$GROWTH_WARMUP")"
}

# full_list USERS: one curl downloads the whole GET /users while the
# service's VmRSS is read every 50 ms; the peak observed is its cost.
full_list() {
  local users=$1 peak=0 key value
  settle
  curl -s -o /dev/null -w '%{http_code} %{size_download} %{time_total}' --max-time 600 "$S/users" > "$WORK/full.out" &
  local curl_pid=$!
  while kill -0 "$curl_pid" 2>/dev/null; do
    while read -r key value _; do
      [ "$key" = VmRSS: ] && [ "$value" -gt "$peak" ] && peak=$value
    done < "/proc/$SERVICE_PID/status" 2>/dev/null || true
    sleep 0.05
  done
  wait "$curl_pid" || true
  local status bytes seconds
  read -r status bytes seconds < "$WORK/full.out" || true
  growth_row "$users" "full" "\"status\":${status:-0},\"bytes\":${bytes:-0},\"wall_s\":${seconds:-0},\"peak_rss_kib\":$peak"
}

if has_section growth; then
  for users in $GROWTH_SIZES; do
    [ "$users" -le "$GROWTH_MAX" ] || break
    service_alive || { echo "bench: the service is gone; growth stops before $users users" >&2; break; }
    seed "$users"
    echo "growth: $users users (${SECONDS}s)"
    growth_row "$users" "rss_before" "\"kib\":$(rss_kib)"
    wants "GET /users/{id}" && growth_wrk "$users" "by_id" /users/1 get_by_id.lua "$CONNECTIONS"
    if wants "GET /users?limit=100"; then
      if [ -n "$PAGE_NA" ]; then
        growth_row "$users" "page" "\"na\":$(json_str "$PAGE_NA")"
        growth_row "$users" "page_1" "\"na\":$(json_str "$PAGE_NA")"
      else
        growth_wrk "$users" "page" "/users?limit=100&after=0" page.lua "$CONNECTIONS"
        growth_wrk "$users" "page_1" "/users?limit=100&after=0" page.lua 1
      fi
    fi
    wants "GET /" && growth_wrk "$users" "index_1" / plain.lua 1
    wants "GET /users" && full_list "$users"
    growth_row "$users" "rss_after" "\"kib\":$(rss_kib)"
  done
fi

# The service's threads (loops, hashing pool, the rest), once, after the load.
THREADS_SEEN=$(thread_count)
echo "{\"kind\":\"meta\",\"threads\":${THREADS_SEEN:-null}}" >> "$ROWS"

# A partial run (--only, --quick, some sections, growth short of 1M users)
# must not replace the full run's results.
OUT_NAME=latest
if [ -n "$ONLY$QUICK" ] || [ "$SECTIONS" != standard,sweep,growth ] || [ "$GROWTH_MAX" -lt 1000000 ]; then
  OUT_NAME=partial
fi
python3 bench/report.py "$ROWS" "$RSS_IDLE" "$RSS_END" "$RESULTS" "$OUT_NAME" \
  "connections=$CONNECTIONS duration=${DURATION}s warmup=${WARMUP}s wrk_threads=$WRK_THREADS service_threads=$SERVICE_THREADS pool=$POOL growth_max=$GROWTH_MAX sections=$SECTIONS"
