#!/usr/bin/env bats
# Faults under load on 3 replicas behind nginx (scripts/scale.sh), each test
# on its own PostgreSQL, ports and run directory: a replica killed, a rolling
# restart, a replica cut from its database. loadgen.py drives a read+write
# mix through nginx and records every POST; verdict.py checks the database
# against it and prints the counts (shown on fd 3, and kept in
# $SCALE_COUNTS_FILE when set).

# `run !`: a bare `! cmd` never fails a Bats test.
bats_require_minimum_version 1.5.0

setup() {
  ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
  # A directory the postgres user can enter (the tests may run as root).
  RUN_DIR=$(mktemp -d /tmp/users-scale.XXXXXX); chmod 755 "$RUN_DIR"
  export RUN_DIR USERS_BIN_DIR PG_PORT NGINX_PORT SCALE_BASE_PORT
  PG_PORT=$(free_ports 1); NGINX_PORT=$(free_ports 1); SCALE_BASE_PORT=$(free_ports 3)
  DB_URL="postgresql://postgres@127.0.0.1:$PG_PORT/users_prod"
  PREFIX="t$BATS_TEST_NUMBER-$$"
  LOAD_PID=""; FORWARDER_PID=""
}

teardown() {
  [ -z "$LOAD_PID" ] || kill "$LOAD_PID" 2>/dev/null || true
  stop_forwarder
  "$ROOT/scripts/scale.sh" stop >/dev/null 2>&1 || true
  # The PostgreSQL cluster and the logs go with the run directory, unless
  # SCALE_KEEP_RUN_DIR asks to keep them for a look.
  if [ -n "${SCALE_KEEP_RUN_DIR:-}" ]; then echo "# kept $RUN_DIR" >&3; else rm -rf "$RUN_DIR"; fi
}

# The first of N consecutive free ports on 127.0.0.1.
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
n = int(sys.argv[1])
while True:
    socks = [socket.socket()]
    socks[0].bind(("127.0.0.1", 0))
    base = socks[0].getsockname()[1]
    try:
        for p in range(base + 1, base + n):
            s = socket.socket(); socks.append(s); s.bind(("127.0.0.1", p))
        print(base); break
    except OSError:
        pass
    finally:
        for s in socks: s.close()
PY
}

replica_pid() { cat "$RUN_DIR/scale/replica-$1.pid"; }
replica_port() { cat "$RUN_DIR/scale/replica-$1.port"; }
ready_status() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$(replica_port "$1")/health/ready" || true; }
# Requests of the load a replica answered (its access log; probes excluded).
served() { grep -cE '(GET|POST) /(users|ping)[^ ]* (200|201|404) ' "$RUN_DIR/scale/replica-$1.log" || true; }

# The forwarder between replica 3 and PostgreSQL, in its own process group:
# killing the group cuts the connections it carries too.
start_forwarder() {
  setsid socat "TCP-LISTEN:$FORWARD_PORT,fork,reuseaddr,bind=127.0.0.1" "TCP:127.0.0.1:$PG_PORT" &
  FORWARDER_PID=$!
  for _ in $(seq 50); do ss -Hltn "sport = :$FORWARD_PORT" | grep -q . && return 0; sleep 0.1; done
  return 1
}
stop_forwarder() {
  if [ -n "$FORWARDER_PID" ] && [ "$(cat "/proc/$FORWARDER_PID/comm" 2>/dev/null)" = socat ]; then
    kill -- "-$FORWARDER_PID" 2>/dev/null || true
    wait "$FORWARDER_PID" 2>/dev/null || true
  fi
  FORWARDER_PID=""
}

start_load() {  # max seconds; stops earlier when $RUN_DIR/stop-load exists
  python3 "$ROOT/tests/scale/loadgen.py" --url "http://127.0.0.1:$NGINX_PORT" --seconds "$1" \
    --stop-file "$RUN_DIR/stop-load" --prefix "$PREFIX" --posts "$RUN_DIR/posts" > "$RUN_DIR/summary.json" &
  LOAD_PID=$!
}

# Python may take seconds to start on a busy machine: a fault is injected
# only once the load is flowing through nginx (and, with a replica named, to
# that replica).
wait_for_load() {  # [replica]
  for _ in $(seq 300); do
    if [ -n "${1:-}" ]; then [ "$(served "$1")" -ge 50 ] && return 0
    else [ "$(grep -c . "$RUN_DIR/scale/nginx/access.log" 2>/dev/null || true)" -ge 300 ] && return 0; fi
    kill -0 "$LOAD_PID" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

finish_load() {
  touch "$RUN_DIR/stop-load"
  wait "$LOAD_PID"; LOAD_PID=""
}

verdict() {  # name, [--strict-posts]
  run python3 "$ROOT/tests/scale/verdict.py" --name "$1" --summary "$RUN_DIR/summary.json" \
    --posts "$RUN_DIR/posts" --db "$DB_URL" --prefix "$PREFIX" "${@:2}"
  echo "# $output" >&3
  [ -z "${SCALE_COUNTS_FILE:-}" ] || echo "$output" | head -n 1 >> "$SCALE_COUNTS_FILE"
  [ "$status" -eq 0 ]
}

@test "start refuses a replica port another process holds, naming it" {
  python3 -m http.server $((SCALE_BASE_PORT + 1)) --bind 127.0.0.1 >/dev/null 2>&1 &
  holder=$!
  for _ in $(seq 50); do ss -Hltn "sport = :$((SCALE_BASE_PORT + 1))" | grep -q . && break; sleep 0.1; done
  run "$ROOT/scripts/scale.sh" start 3
  kill "$holder"
  [ "$status" -ne 0 ]
  [[ "$output" == *"port $((SCALE_BASE_PORT + 1)) (users-service replica 2) is already in use by pid $holder"* ]]
  # Nothing was started: no replica on the first port, no nginx.
  [ -z "$(ss -Hltn "sport = :$SCALE_BASE_PORT")" ]
  [ -z "$(ss -Hltn "sport = :$NGINX_PORT")" ]
}

@test "start refuses a replica port an outgoing connection holds, naming it" {
  # The kernel gives ports to outgoing connections too; a server cannot bind
  # one then, though nothing listens there.
  python3 -c '
import socket, sys, time
server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen(1)
client = socket.socket(); client.bind(("127.0.0.1", int(sys.argv[1]))); client.connect(server.getsockname())
connection, _ = server.accept()
time.sleep(60)' $((SCALE_BASE_PORT + 1)) &
  holder=$!
  for _ in $(seq 50); do ss -Htan state established "sport = :$((SCALE_BASE_PORT + 1))" | grep -q . && break; sleep 0.1; done
  [ -z "$(ss -Hltn "sport = :$((SCALE_BASE_PORT + 1))")" ]
  run "$ROOT/scripts/scale.sh" start 3
  kill "$holder"
  [ "$status" -ne 0 ]
  [[ "$output" == *"port $((SCALE_BASE_PORT + 1)) (users-service replica 2) is already in use by pid $holder"* ]]
  [ -z "$(ss -Hltn "sport = :$SCALE_BASE_PORT")" ]
}

@test "kill -9 of one replica under load: no GET fails, every 201 is stored once" {
  "$ROOT/scripts/scale.sh" start 3
  start_load 15
  wait_for_load 2
  sleep 1
  victim=$(replica_pid 2)
  [ "$(cat "/proc/$victim/comm")" = users-service ]
  kill -9 "$victim"
  wait "$LOAD_PID"; LOAD_PID=""
  run ! kill -0 "$victim"
  verdict kill_replica
  curl -fsS "http://127.0.0.1:$NGINX_PORT/ping"
}

@test "rolling restart under load: no request of any kind fails" {
  "$ROOT/scripts/scale.sh" start 3
  before="$(replica_pid 1) $(replica_pid 2) $(replica_pid 3)"
  start_load 240
  wait_for_load
  "$ROOT/scripts/scale.sh" rolling-restart
  sleep 2
  finish_load
  after="$(replica_pid 1) $(replica_pid 2) $(replica_pid 3)"
  for pid in $before; do [[ " $after " != *" $pid "* ]]; done
  verdict rolling_restart --strict-posts --allow-resend
  run "$ROOT/scripts/scale.sh" status
  [ "$(grep -c 'ready: yes' <<<"$output")" -eq 3 ]
}

@test "one replica cut from the database: GETs still succeed, it recovers" {
  FORWARD_PORT=$(free_ports 1)
  start_forwarder
  SCALE_DATABASE_URL_3="postgresql://postgres@127.0.0.1:$FORWARD_PORT/users_prod" \
    "$ROOT/scripts/scale.sh" start 3
  start_load 240
  wait_for_load 3
  served_before=$(served 3)
  stop_forwarder
  cut=""
  for _ in $(seq 100); do [ "$(ready_status 3)" = 503 ] && { cut=yes; break; }; sleep 0.1; done
  [ "$cut" = yes ]
  [ "$(ready_status 1)" = 200 ]
  sleep 3
  [ "$(ready_status 3)" = 503 ]
  served_while_cut=$(served 3)
  start_forwarder
  back=""
  for _ in $(seq 200); do [ "$(ready_status 3)" = 200 ] && { back=yes; break; }; sleep 0.1; done
  [ "$back" = yes ]
  # nginx gives it traffic again (after fail_timeout): its log grows.
  for _ in $(seq 200); do [ "$(served 3)" -gt $((served_while_cut + 20)) ] && break; sleep 0.1; done
  served_after=$(served 3)
  finish_load
  echo "# replica 3 answered $served_before load requests before the cut, $served_while_cut by the end of it, $served_after by the end" >&3
  [ "$served_before" -gt 0 ]
  [ "$served_after" -gt $((served_while_cut + 20)) ]
  verdict db_cut
}
