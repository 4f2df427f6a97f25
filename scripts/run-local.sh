#!/usr/bin/env bash
# Runs the service on this machine without Docker, on its embedded default:
# a PostgreSQL cluster under .run/pg (initdb on first use, kept between runs).
#   run-local.sh dev    service in the foreground, APP_ENV=development, port $PORT (5000)
#   run-local.sh stop   stop whatever `dev` (or `make prod`) started
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUN_DIR="$ROOT/.run"
PG_DIR="$RUN_DIR/pg"
PG_PORT="${PG_PORT:-55432}"
PORT="${PORT:-5000}"
BIN="$ROOT/build/release/bin"

start_database() {
  mkdir -p "$RUN_DIR"
  scripts/pg.sh start "$PG_DIR" "$PG_PORT"
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
    "$BIN/manage" migrate
    echo "users-service: http://127.0.0.1:$PORT/ (Ctrl-C stops it; 'make stop' stops the database)"
    exec "$BIN/users-service"
    ;;
  stop)
    if [ -f "$RUN_DIR/service.pid" ]; then
      kill "$(cat "$RUN_DIR/service.pid")" 2>/dev/null || true
      rm -f "$RUN_DIR/service.pid"
    fi
    if [ -f "$RUN_DIR/nginx/nginx.pid" ]; then scripts/nginx.sh stop "$RUN_DIR/nginx" || true; fi
    scripts/pg.sh stop "$PG_DIR"
    ;;
  *)
    echo "usage: $0 dev|stop" >&2
    exit 64
    ;;
esac
