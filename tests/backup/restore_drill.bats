#!/usr/bin/env bats
# The restore drill, on make run's cluster (scripts/run-local.sh dev) in a run
# directory and on ports of its own, through the make targets: make backup,
# 100 users, a noted time, 100 more, make stop, make restore
# TARGET_TIME=<noted>, make run again: exactly the first 100 are served.
# Refused times and a restore that fails leave the data as it was.
# One file, one story: each test continues from the state the last one left.

bats_require_minimum_version 1.5.0

setup_file() {
  export ROOT="$BATS_TEST_DIRNAME/../.."
  export RUN_DIR="$BATS_FILE_TMPDIR/run"
  export USERS_BIN_DIR PG_PORT PORT
  free() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
  PG_PORT=$(free); PORT=$(free)
  mkdir -p "$RUN_DIR"; chmod 755 "$RUN_DIR" "$BATS_FILE_TMPDIR"
  # Where the cluster lives (as root, /var/tmp when postgres cannot reach here).
  PG_DIR=$(cd "$ROOT" && RUN_DIR="$RUN_DIR" bash -c '. scripts/lib/local.sh; local_pg_dir')
  export PG_DIR
}

teardown_file() {
  "$ROOT/scripts/run-local.sh" stop >/dev/null 2>&1 || true
}

# `make -C` with RUN_DIR on the command line: the Makefile's own would win
# over the environment's and point at the checkout's .run.
mk() { make -s -C "$ROOT" --no-print-directory RUN_DIR="$RUN_DIR" "$@"; }

psql_dev() { psql -X -h 127.0.0.1 -p "$PG_PORT" -U postgres -d users_dev -qtAc "$1"; }

# make run, in the background: the service and its cluster, until /ping answers.
start_service() {
  "$ROOT/scripts/run-local.sh" dev >> "$BATS_FILE_TMPDIR/dev.log" 2>&1 &
  for _ in $(seq 300); do curl -fsS "http://127.0.0.1:$PORT/ping" >/dev/null 2>&1 && return 0; sleep 0.2; done
  cat "$BATS_FILE_TMPDIR/dev.log" >&2
  return 1
}

# The emails GET /users serves, one a line, in id order.
served_emails() { curl -fsS "http://127.0.0.1:$PORT/users" | jq -r '.data.users[].email'; }

expected_emails() { for i in $(seq "$1" "$2"); do echo "user$i@example.com"; done; }

add_users() {  # first, last
  psql_dev "INSERT INTO users (username, email)
            SELECT 'user' || i, 'user' || i || '@example.com' FROM generate_series($1, $2) i"
}

@test "make backup on make run's cluster: a full backup, its WAL archived" {
  start_service
  run mk backup
  [ "$status" -eq 0 ]
  [[ "$output" == *"(full)"* ]]
  run mk backups
  [ "$status" -eq 0 ]
  [[ "$output" == *"full backup:"* ]]
  [[ "$output" == *"last backup ended"* ]]
  age=$("$ROOT/scripts/backup.sh" age)
  [ "$age" -ge 0 ] && [ "$age" -lt 300 ]
}

@test "100 users, a noted time, 100 more: all 200 served" {
  add_users 1 100
  sleep 1.1   # the noted second comes after every commit of the first 100
  date -u '+%Y-%m-%d %H:%M:%S+00' > "$BATS_FILE_TMPDIR/target"
  sleep 1.1   # and before every commit of the next 100
  add_users 101 200
  [ "$(served_emails)" = "$(expected_emails 1 200)" ]
}

# The script itself: make adds a line of its own when a recipe fails.
@test "restore refuses a time before the first backup or after the archive's end, touching nothing" {
  pid=$(head -n 1 "$PG_DIR/data/postmaster.pid")
  run "$ROOT/scripts/backup.sh" restore '2000-01-01 00:00:00+00'
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"refusing: 2000-01-01 00:00:00+00 is before the end of the first backup"* ]]
  later=$(date -u -d '+1 hour' '+%Y-%m-%d %H:%M:%S+00')
  run "$ROOT/scripts/backup.sh" restore "$later"
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"refusing: $later is after the end of the archive"* ]]
  # The same postmaster, nothing moved aside, the same 200 users.
  [ "$(head -n 1 "$PG_DIR/data/postmaster.pid")" = "$pid" ]
  run ! compgen -G "$PG_DIR/data.before-restore-*"
  [ "$(served_emails)" = "$(expected_emails 1 200)" ]
}

@test "make stop archives the WAL up to the stop" {
  before=$(date -u +%s)
  run mk stop
  [ "$status" -eq 0 ]
  end=$("$ROOT/scripts/backup.sh" list | sed -n 's/^archive: restorable up to \(.*\) (its last transaction)$/\1/p')
  [ -n "$end" ]
  [ "$(date -u -d "$end" +%s)" -ge "$before" ]
}

@test "a restore that fails puts the data directory back" {
  touch "$PG_DIR/data/drill-marker"   # after the backup: not in any restore
  # The cluster cannot start on a port someone else holds.
  python3 -m http.server "$PG_PORT" --bind 127.0.0.1 >/dev/null 2>&1 &
  holder=$!
  for _ in $(seq 50); do ss -Hltn "sport = :$PG_PORT" | grep -q . && break; sleep 0.1; done
  run mk restore TARGET_TIME="$(cat "$BATS_FILE_TMPDIR/target")"
  kill "$holder"
  [ "$status" -ne 0 ]
  [[ "$output" == *"restore failed; $PG_DIR/data is as it was"* ]]
  [ -f "$PG_DIR/data/drill-marker" ]
  run ! compgen -G "$PG_DIR/data.before-restore-*"
}

@test "make restore TARGET_TIME=<noted>, then make run: exactly the first 100 users" {
  target=$(cat "$BATS_FILE_TMPDIR/target")
  run mk restore TARGET_TIME="$target"
  [ "$status" -eq 0 ]
  [[ "$output" == *"the current data directory is now $PG_DIR/data.before-restore-"* ]]
  aside=$(compgen -G "$PG_DIR/data.before-restore-*")
  [ -f "$aside/drill-marker" ]   # moved aside, never deleted
  [ ! -f "$PG_DIR/data/drill-marker" ]
  start_service
  [ "$(served_emails)" = "$(expected_emails 1 100)" ]
}
