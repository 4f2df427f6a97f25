#!/usr/bin/env bash
# A PostgreSQL cluster in a directory, on 127.0.0.1 only, for local runs, tests
# and the benchmark. PostgreSQL refuses to run as root, so as root the
# cluster belongs to the `postgres` user.
#   pg.sh start DIR PORT         initdb on first use, then start; waits until ready
#   pg.sh stop DIR               fast shutdown (no-op when not running)
#   pg.sh createdb DIR PORT NAME create the database unless it exists
#   pg.sh url PORT NAME          the libpq URI of a database
set -euo pipefail

bindir() {
  local dir
  dir=$(pg_config --bindir 2>/dev/null || true)
  if [ -z "$dir" ] || [ ! -x "$dir/initdb" ]; then
    dir=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  [ -x "$dir/initdb" ] || { echo "pg.sh: PostgreSQL server binaries not found (install postgresql)" >&2; exit 1; }
  echo "$dir"
}

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

running() { [ -f "$1/data/postmaster.pid" ] && kill -0 "$(head -n 1 "$1/data/postmaster.pid")" 2>/dev/null; }

cmd=${1:-}
case "$cmd" in
  start)
    dir=$(realpath -m "$2"); port=$3; bin=$(bindir)
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then
      chown postgres: "$dir"
      runuser -u postgres -- test -x "$dir" || {
        echo "pg.sh: the postgres user cannot reach $dir (a parent directory is not traversable)" >&2; exit 1; }
    fi
    if running "$dir"; then echo "pg.sh: already running in $dir"; exit 0; fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
        echo "pg.sh: initdb failed:" >&2; tail -n 20 "$dir/initdb.log" >&2; exit 1; }
    fi
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null || {
      echo "pg.sh: PostgreSQL did not start:" >&2; tail -n 20 "$dir/postgres.log" >&2; exit 1; }
    deadline=$((SECONDS + 30))
    until "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; do
      [ $SECONDS -lt $deadline ] || { echo "pg.sh: not ready after 30 s" >&2; tail -n 20 "$dir/postgres.log" >&2; exit 1; }
      sleep 0.1
    done
    ;;
  stop)
    dir=$(realpath -m "$2")
    running "$dir" || exit 0
    as_owner "$(bindir)/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null
    ;;
  createdb)
    dir=$2; port=$3; name=$4
    exists=$(psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = '$name'")
    [ "$exists" = 1 ] || psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc "CREATE DATABASE \"$name\"" >/dev/null
    ;;
  url)
    echo "postgresql://postgres@127.0.0.1:$2/$3"
    ;;
  *)
    echo "usage: $0 start DIR PORT | stop DIR | createdb DIR PORT NAME | url PORT NAME" >&2
    exit 64
    ;;
esac
