#!/usr/bin/env bash
# Runs the service on this machine without Docker, on its embedded default:
# a PostgreSQL cluster under .run/pg (initdb on first use, kept between runs),
# its WAL archived with pgBackRest into .run/backup (scripts/backup.sh).
# `dev` also starts a local SMTP sink (scripts/mail-sink.sh) on $MAIL_PORT
# (12525): the service's mail lands in .run/mail/Maildir/new.
#   run-local.sh dev    service in the foreground, APP_ENV=development, port $PORT (5000)
#   run-local.sh prod   APP_ENV=production service on 127.0.0.1:$PORT in the background,
#                       behind nginx (the prod template) on :$NGINX_PORT (8080)
#   run-local.sh stop   stop whatever `dev` or `prod` started
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUN_DIR="${RUN_DIR:-$ROOT/.run}"   # tests point it elsewhere
. scripts/lib/local.sh
PG_DIR=$(local_pg_dir)
PG_PORT="${PG_PORT:-15432}"
PORT="${PORT:-5000}"
NGINX_PORT="${NGINX_PORT:-8080}"
MAIL_PORT="${MAIL_PORT:-12525}"
BIN="${USERS_BIN_DIR:-$ROOT/build/release/bin}"

start_database() {
  mkdir -p "$RUN_DIR"
  scripts/pg.sh start "$PG_DIR" "$PG_PORT"
  RUN_DIR="$RUN_DIR" scripts/backup.sh setup
  scripts/pg.sh createdb "$PG_DIR" "$PG_PORT" "$1"
}

case "${1:-}" in
  dev)
    start_database users_dev
    export APP_ENV=development
    export DATABASE_URL
    DATABASE_URL=$(scripts/pg.sh url "$PG_PORT" users_dev)
    export DATABASE_TEST_URL="${DATABASE_TEST_URL:-$(scripts/pg.sh url "$PG_PORT" users_test)}"
    export PORT
    scripts/mail-sink.sh start "$RUN_DIR/mail" "$MAIL_PORT"
    export SMTP_URL="smtp://127.0.0.1:$MAIL_PORT" MAIL_FROM="${MAIL_FROM:-users@localhost}"
    export PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-http://127.0.0.1:$PORT}"
    "$BIN/manage" migrate
    require_free_port "$PORT" users-service PORT
    # exec keeps this PID: `make stop` finds the foreground service by it.
    echo $$ > "$RUN_DIR/service.pid"
    echo "users-service: http://127.0.0.1:$PORT/ (Ctrl-C or 'make stop' stops it; 'make stop' also stops the database)"
    echo "mail: $SMTP_URL, kept in $RUN_DIR/mail/Maildir/new"
    exec "$BIN/users-service"
    ;;
  prod)
    start_database users_prod
    export APP_ENV=production HOST=127.0.0.1 PORT
    export DATABASE_URL
    DATABASE_URL=$(scripts/pg.sh url "$PG_PORT" users_prod)
    # Production needs a SECRET_KEY: keep one generated per checkout.
    SECRET_KEY=$(local_secret_key)
    export SECRET_KEY
    "$BIN/manage" migrate
    if [ -f "$RUN_DIR/service.pid" ] && kill -0 "$(cat "$RUN_DIR/service.pid")" 2>/dev/null; then
      echo "users-service already running (pid $(cat "$RUN_DIR/service.pid"))"
    else
      require_free_port "$PORT" users-service PORT
      nohup "$BIN/users-service" >> "$RUN_DIR/service.log" 2>&1 &
      echo $! > "$RUN_DIR/service.pid"
    fi
    service_pid=$(cat "$RUN_DIR/service.pid")
    wait_for "http://127.0.0.1:$PORT/health/ready" 15 || {
      echo "users-service did not become ready; see $RUN_DIR/service.log" >&2
      tail -n 20 "$RUN_DIR/service.log" >&2
      exit 1
    }
    # Ready on the port is not enough: it must be our process answering there.
    if ! kill -0 "$service_pid" 2>/dev/null || [[ " $(port_owners "$PORT") " != *" $service_pid "* ]]; then
      echo "error: the users-service started here (pid $service_pid) is not the one listening on port $PORT (listening: $(port_owners "$PORT")); see $RUN_DIR/service.log" >&2
      tail -n 5 "$RUN_DIR/service.log" >&2
      rm -f "$RUN_DIR/service.pid"
      exit 1
    fi
    if [ -s "$RUN_DIR/nginx/nginx.pid" ] && kill -0 "$(cat "$RUN_DIR/nginx/nginx.pid")" 2>/dev/null; then
      echo "nginx already running (pid $(cat "$RUN_DIR/nginx/nginx.pid"))"
    else
      require_free_port "$NGINX_PORT" nginx NGINX_PORT
      scripts/render-nginx.sh prod "$RUN_DIR/nginx" "$NGINX_PORT" "127.0.0.1:$PORT"
      scripts/nginx.sh start "$RUN_DIR/nginx"
    fi
    echo "production-like stack up: http://127.0.0.1:$NGINX_PORT/ (nginx) -> 127.0.0.1:$PORT (users-service)"
    echo "logs: $RUN_DIR/service.log, $RUN_DIR/nginx/; 'make stop' stops it all"
    ;;
  stop)
    if [ -f "$RUN_DIR/service.pid" ]; then
      pid=$(cat "$RUN_DIR/service.pid")
      # Only a users-service: a stale file's PID may belong to anything now.
      if is_process "$pid" users-service && kill "$pid" 2>/dev/null; then
        # SIGTERM drains in-flight requests; give it the 10 s it may take.
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      fi
      rm -f "$RUN_DIR/service.pid"
    fi
    if [ -f "$RUN_DIR/nginx/nginx.pid" ]; then scripts/nginx.sh stop "$RUN_DIR/nginx" || true; fi
    scripts/mail-sink.sh stop "$RUN_DIR/mail"
    # The WAL up to this moment archived first: a restore can reach it.
    RUN_DIR="$RUN_DIR" scripts/backup.sh seal || true
    scripts/pg.sh stop "$PG_DIR"
    ;;
  *)
    echo "usage: $0 dev|prod|stop" >&2
    exit 64
    ;;
esac
