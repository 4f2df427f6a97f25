#!/usr/bin/env bats
# scripts/run-local.sh (make run / make prod / make stop) with the built
# binaries, in a run directory and on ports of its own: it refuses a port
# someone else holds, checks that the process it started is the one
# answering, and `stop` stops the foreground `dev` service and its mail sink too.

# `run !`: a bare `! cmd` never fails a Bats test.
bats_require_minimum_version 1.5.0

setup_file() {
  export ROOT="$BATS_TEST_DIRNAME/../.."
  export RUN_DIR="$BATS_FILE_TMPDIR/run"
  export USERS_BIN_DIR PG_PORT PORT NGINX_PORT MAIL_PORT
  free() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
  PG_PORT=$(free); PORT=$(free); NGINX_PORT=$(free); MAIL_PORT=$(free)
  mkdir -p "$RUN_DIR"; chmod 755 "$RUN_DIR" "$BATS_FILE_TMPDIR"
}

teardown_file() {
  "$ROOT/scripts/run-local.sh" stop >/dev/null 2>&1 || true
}

@test "prod refuses a service port another process holds, naming it" {
  python3 -m http.server "$PORT" --bind 127.0.0.1 >/dev/null 2>&1 &
  holder=$!
  for _ in $(seq 50); do ss -Hltn "sport = :$PORT" | grep -q . && break; sleep 0.1; done
  run "$ROOT/scripts/run-local.sh" prod
  kill "$holder"
  [ "$status" -ne 0 ]
  [[ "$output" == *"port $PORT (users-service) is already in use by pid $holder"* ]]
  [[ "$output" != *"stack up"* ]]
}

@test "prod starts its own service and nginx; stop stops them" {
  run "$ROOT/scripts/run-local.sh" prod
  [ "$status" -eq 0 ]
  pid=$(cat "$RUN_DIR/service.pid")
  ss -Hltnp "sport = :$PORT" | grep -q "pid=$pid,"
  curl -fsS "http://127.0.0.1:$NGINX_PORT/ping" | grep -q pong
  run "$ROOT/scripts/run-local.sh" stop
  [ "$status" -eq 0 ]
  run ! kill -0 "$pid"
  run ! curl -fsS "http://127.0.0.1:$NGINX_PORT/ping"
}

@test "stop stops the foreground dev service and its mail sink" {
  "$ROOT/scripts/run-local.sh" dev > "$BATS_TEST_TMPDIR/dev.log" 2>&1 &
  dev=$!
  for _ in $(seq 150); do curl -fsS "http://127.0.0.1:$PORT/ping" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -fsS "http://127.0.0.1:$PORT/ping" | grep -q pong
  [ "$(cat "$RUN_DIR/service.pid")" = "$dev" ]
  # dev's mail sink keeps what it receives in the Maildir.
  grep -q "mail: smtp://127.0.0.1:$MAIL_PORT" "$BATS_TEST_TMPDIR/dev.log"
  sink=$(cat "$RUN_DIR/mail/aiosmtpd.pid")
  SMTP_URL="smtp://127.0.0.1:$MAIL_PORT" MAIL_FROM=users@localhost PUBLIC_BASE_URL=http://x \
    "$USERS_BIN_DIR/manage" send_test_mail --to someone@example.com
  grep -l "X-RcptTo: someone@example.com" "$RUN_DIR"/mail/Maildir/new/*
  run "$ROOT/scripts/run-local.sh" stop
  [ "$status" -eq 0 ]
  for _ in $(seq 100); do kill -0 "$dev" 2>/dev/null || break; sleep 0.1; done
  run ! kill -0 "$dev"
  run ! kill -0 "$sink"
  [ -z "$(ss -Hltn "sport = :$MAIL_PORT")" ]
}
