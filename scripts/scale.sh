#!/usr/bin/env bash
# N replicas of the service behind one nginx, on this machine (make scale):
#   scale.sh start N          N APP_ENV=production replicas on 127.0.0.1 ports
#                             $SCALE_BASE_PORT (5001) .. +N-1, nginx (the prod
#                             template, one upstream server per replica) on
#                             :$NGINX_PORT (8080); in the background
#   scale.sh stop             stop what `start` started: replicas, nginx, and the
#                             PostgreSQL cluster if `start` started it
#   scale.sh rolling-restart  restart the replicas one at a time without
#                             failing a request (see rolling_restart below)
#   scale.sh status           what runs, on which port, ready or not
# Database: the local cluster of `make prod` (scripts/run-local.sh, under
# $RUN_DIR/pg on $PG_PORT, database users_prod), migrated with `manage
# migrate`; or SCALE_DATABASE_URL when set (then no PostgreSQL is started).
# SCALE_DATABASE_URL_<i> overrides the URL of replica i (1-based) only.
# Binaries from $USERS_BIN_DIR (build/release/bin). State -- PIDs, ports, logs,
# the rendered nginx -- under $RUN_DIR/scale.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUN_DIR="${RUN_DIR:-$ROOT/.run}"
. scripts/lib/local.sh
STATE="$RUN_DIR/scale"
PG_DIR=$(local_pg_dir)
PG_PORT="${PG_PORT:-15432}"
NGINX_PORT="${NGINX_PORT:-8080}"
# After start, the port nginx was started on (rolling-restart re-renders it).
[ -s "$STATE/nginx_port" ] && [ "${1:-}" != start ] && NGINX_PORT=$(cat "$STATE/nginx_port")
BASE_PORT="${SCALE_BASE_PORT:-5001}"
BIN="${USERS_BIN_DIR:-$ROOT/build/release/bin}"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
READY_SECONDS=30      # a replica's start-up, migrations done
DRAIN_SECONDS=15      # SIGTERM to exit: the service drains in-flight requests

die() { echo "scale: $*" >&2; exit 1; }

replicas() { cat "$STATE/replicas" 2>/dev/null || echo 0; }
replica_port() { cat "$STATE/replica-$1.port"; }
replica_pid() { cat "$STATE/replica-$1.pid" 2>/dev/null || true; }
nginx_pid() { cat "$STATE/nginx/nginx.pid" 2>/dev/null || true; }

# Starts replica i on its port with its database URL (both in $STATE) and
# waits until it is ready and is the process answering on that port.
start_replica() {  # i
  local i=$1 port pid
  port=$(replica_port "$i")
  require_free_port "$port" "users-service replica $i" SCALE_BASE_PORT
  APP_ENV=production HOST=127.0.0.1 PORT=$port DATABASE_URL=$(cat "$STATE/replica-$i.url") \
    SECRET_KEY=$(local_secret_key) nohup "$BIN/users-service" >> "$STATE/replica-$i.log" 2>&1 < /dev/null &
  pid=$!
  echo "$pid" > "$STATE/replica-$i.pid"
  local deadline=$((SECONDS + READY_SECONDS))
  until curl -fsS -o /dev/null "http://127.0.0.1:$port/health/ready" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ] || break
    sleep 0.2
  done
  if ! curl -fsS -o /dev/null "http://127.0.0.1:$port/health/ready" 2>/dev/null; then
    tail -n 20 "$STATE/replica-$i.log" >&2
    die "replica $i (pid $pid, port $port) did not become ready; see $STATE/replica-$i.log"
  fi
  # Ready on the port is not enough: it must be our process answering there.
  if ! kill -0 "$pid" 2>/dev/null || [[ " $(port_owners "$port") " != *" $pid "* ]]; then
    die "the replica started here (pid $pid) is not the one listening on port $port (listening: $(port_owners "$port")); see $STATE/replica-$i.log"
  fi
}

# SIGTERM, then SIGKILL after the drain deadline; only a users-service.
stop_replica() {  # i
  local i=$1 pid
  pid=$(replica_pid "$i")
  if is_process "$pid" users-service; then
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + DRAIN_SECONDS))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "scale: replica $i (pid $pid) still running after ${DRAIN_SECONDS}s; SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
  fi
  rm -f "$STATE/replica-$i.pid"
}

# Renders nginx.conf with one server line per replica; the replica numbered
# $1 (if any) is marked `down`: nginx sends it nothing new.
render_nginx() {  # [i taken out]
  local out=$1 i upstreams=()
  for i in $(seq "$(replicas)"); do
    if [ "$i" = "$out" ]; then upstreams+=("127.0.0.1:$(replica_port "$i") down")
    else upstreams+=("127.0.0.1:$(replica_port "$i")"); fi
  done
  scripts/render-nginx.sh prod "$STATE/nginx" "$NGINX_PORT" "${upstreams[@]}"
}

# Applies a newly rendered nginx.conf and returns once the workers that ran
# the old one have exited. An old worker finishes the requests it holds and
# then closes its keepalive connections to the upstreams; until it is gone it
# could still send a request on such a connection, so a replica taken out is
# stopped only after that.
reload_nginx() {
  local master old pid deadline
  master=$(nginx_pid)
  is_process "$master" nginx || die "nginx (pid ${master:-none}) is not running; 'scale.sh start N' first"
  old=$(ps -o pid= --ppid "$master" | tr -d ' ')
  "$NGINX" -t -q -c "$STATE/nginx/nginx.conf" -p "$STATE/nginx" -e "$STATE/nginx/error.log"
  kill -HUP "$master"
  deadline=$((SECONDS + 30))
  for pid in $old; do
    while kill -0 "$pid" 2>/dev/null && [ "$(ps -o ppid= -p "$pid" | tr -d ' ')" = "$master" ]; do
      [ $SECONDS -lt $deadline ] || die "nginx worker $pid did not exit after the reload"
      sleep 0.05
    done
  done
}

start() {  # N
  local n=${1:-} i url pid
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "usage: scale.sh start N (N >= 1)"
  [ -x "$BIN/users-service" ] && [ -x "$BIN/manage" ] || die "no users-service/manage in $BIN (make build-release, or set USERS_BIN_DIR)"
  for i in $(seq "$(replicas)"); do
    pid=$(replica_pid "$i")
    if is_process "$pid" users-service; then die "already running (replica $i, pid $pid); 'scale.sh stop' first"; fi
  done
  # Every port checked before anything starts.
  for i in $(seq "$n"); do require_free_port $((BASE_PORT + i - 1)) "users-service replica $i" SCALE_BASE_PORT; done
  require_free_port "$NGINX_PORT" nginx NGINX_PORT

  rm -rf "$STATE"; mkdir -p "$STATE"
  # A start that fails half-way stops what it started.
  trap 'echo "scale: start failed; stopping what it started" >&2; stop' EXIT
  echo "$n" > "$STATE/replicas"
  echo "$NGINX_PORT" > "$STATE/nginx_port"
  if [ -n "${SCALE_DATABASE_URL:-}" ]; then
    url=$SCALE_DATABASE_URL
  else
    if ! [ -f "$PG_DIR/data/postmaster.pid" ] || ! kill -0 "$(head -n 1 "$PG_DIR/data/postmaster.pid")" 2>/dev/null; then
      echo "$PG_DIR" > "$STATE/pg_started"   # ours to stop
    fi
    scripts/pg.sh start "$PG_DIR" "$PG_PORT"
    scripts/pg.sh createdb "$PG_DIR" "$PG_PORT" users_prod
    url=$(scripts/pg.sh url "$PG_PORT" users_prod)
  fi
  APP_ENV=production DATABASE_URL=$url SECRET_KEY=$(local_secret_key) "$BIN/manage" migrate

  for i in $(seq "$n"); do
    echo $((BASE_PORT + i - 1)) > "$STATE/replica-$i.port"
    local var="SCALE_DATABASE_URL_$i"
    (umask 077; echo "${!var:-$url}" > "$STATE/replica-$i.url")  # may hold a password
    start_replica "$i"
  done
  render_nginx ""
  scripts/nginx.sh start "$STATE/nginx"
  wait_for "http://127.0.0.1:$NGINX_PORT/ping" 10 || die "nginx (pid $(nginx_pid)) does not answer on :$NGINX_PORT; see $STATE/nginx/error.log"
  trap - EXIT
  echo "$n replicas behind nginx: http://127.0.0.1:$NGINX_PORT/ -> 127.0.0.1:$BASE_PORT..$((BASE_PORT + n - 1))"
  echo "state and logs: $STATE; 'make stop' (or scripts/scale.sh stop) stops it all"
}

stop() {
  local i pid
  for i in $(seq "$(replicas)"); do stop_replica "$i"; done
  pid=$(nginx_pid)
  if is_process "$pid" nginx; then scripts/nginx.sh stop "$STATE/nginx" || true; fi
  if [ -s "$STATE/pg_started" ]; then
    scripts/pg.sh stop "$(cat "$STATE/pg_started")"
    rm -f "$STATE/pg_started"
  fi
  rm -f "$STATE/replicas"
}

# One replica at a time: out of nginx (marked `down`, reload, old workers
# gone), SIGTERM and wait (it drains what it holds), start again on the same
# port, ready, back into nginx. nginx never has a request in flight to, or a
# keepalive connection open with, a replica that is stopping: a POST sent on
# a connection the replica is closing would not be retried and would fail.
rolling_restart() {
  local n i
  n=$(replicas)
  [ "$n" -gt 0 ] || die "nothing running; 'scale.sh start N' first"
  [ "$n" -gt 1 ] || echo "scale: one replica only: requests fail while it restarts" >&2
  for i in $(seq "$n"); do
    render_nginx "$i"; reload_nginx
    stop_replica "$i"
    start_replica "$i"
    render_nginx ""; reload_nginx
    echo "replica $i restarted (pid $(replica_pid "$i"), port $(replica_port "$i"))"
  done
}

status() {
  local n i pid port ready
  n=$(replicas)
  if [ "$n" -eq 0 ]; then echo "not running"; return 0; fi
  for i in $(seq "$n"); do
    pid=$(replica_pid "$i"); port=$(replica_port "$i")
    if is_process "$pid" users-service; then
      ready=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health/ready" || true)
      echo "replica $i: pid $pid, 127.0.0.1:$port, ready: $([ "$ready" = 200 ] && echo yes || echo "no ($ready)")"
    else
      echo "replica $i: not running (127.0.0.1:$port)"
    fi
  done
  pid=$(nginx_pid)
  if is_process "$pid" nginx; then echo "nginx: pid $pid, http://127.0.0.1:$NGINX_PORT/"
  else echo "nginx: not running"; fi
}

case "${1:-}" in
  start) start "${2:-}" ;;
  stop) stop ;;
  rolling-restart) rolling_restart ;;
  status) status ;;
  *) echo "usage: $0 start N | stop | rolling-restart | status" >&2; exit 64 ;;
esac
