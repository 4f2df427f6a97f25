#!/usr/bin/env bash
# A bounded soak on loopback: mixed load for SOAK_SECONDS (default 180), then
# checks that no request failed, RSS did not grow, and the users table holds
# exactly the seeded rows plus the ones that got a 201.
#   bench/soak.sh   (needs the release build: make release)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=${SOAK_SECONDS:-180}
WARMUP=${SOAK_WARMUP:-15}
BIN="$ROOT/build/release/bin"
[ -x "$BIN/users-service" ] || { echo "soak: build the release preset first (make build-release)" >&2; exit 1; }
WORK=$(mktemp -d /tmp/users-soak-XXXXXX); chmod 755 "$WORK"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PG_PORT=$(free_port) PORT=$(free_port) SERVICE_PID=""
cleanup() {
  [ -n "$SERVICE_PID" ] && kill "$SERVICE_PID" 2>/dev/null && wait "$SERVICE_PID" 2>/dev/null || true
  scripts/pg.sh stop "$WORK/pg" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

scripts/pg.sh start "$WORK/pg" "$PG_PORT" >/dev/null
scripts/pg.sh createdb "$WORK/pg" "$PG_PORT" users_soak
DB_URL=$(scripts/pg.sh url "$PG_PORT" users_soak)
APP_ENV=production SECRET_KEY=soak-signing-key-0123456789abcdef012 DATABASE_URL=$DB_URL "$BIN/manage" migrate >/dev/null
SEEDED=100
psql -q -X "$DB_URL" -c "INSERT INTO users (username, email) SELECT 'user' || g, 'user' || g || '@soak.io' FROM generate_series(1, $SEEDED) g" >/dev/null
APP_ENV=production SECRET_KEY=soak-signing-key-0123456789abcdef012 DATABASE_URL=$DB_URL HOST=127.0.0.1 PORT=$PORT THREADS=2 \
  LOG_LEVEL=warn "$BIN/users-service" > "$WORK/service.log" 2>&1 &
SERVICE_PID=$!
for _ in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$PORT/health/ready" 2>/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/{print $2}' "/proc/$SERVICE_PID/status"; }

run() {  # seconds run-tag -> JSON line
  SOAK_RUN=$2 SOAK_SEEDED=$SEEDED wrk -t2 -c32 -d"${1}s" -s bench/lua/soak_mix.lua "http://127.0.0.1:$PORT/" | tail -n 1
}
echo "soak: warm-up ${WARMUP}s"
warm=$(run "$WARMUP" warm)
RSS_WARM=$(rss)
echo "soak: ${DURATION}s of mixed load (RSS after warm-up: $RSS_WARM KiB)"
main=$(run "$DURATION" main)
RSS_END=$(rss)
ROWS=$(psql -tAX "$DB_URL" -c "SELECT count(*) FROM users")
# wrk stops with requests still in flight: the service may answer 201s the
# client never counts. The service's own count of 201s is exact.
SERVED_201=$(curl -fsS "http://127.0.0.1:$PORT/metrics" |
  awk -F' ' '/^http_requests_total\{route="\/users",method="POST",status="201"\}/{print $2}')

python3 - "$warm" "$main" "$RSS_WARM" "$RSS_END" "$ROWS" "$SEEDED" "${SERVED_201:-0}" <<'PY'
import json, sys
warm, main = json.loads(sys.argv[1]), json.loads(sys.argv[2])
rss_warm, rss_end, rows, seeded, served = map(int, sys.argv[3:8])
client_created = warm["created"] + main["created"]
expected = seeded + served
failed = warm["failed"] + main["failed"] + warm["socket_errors"] + main["socket_errors"]
growth = rss_end - rss_warm
checks = [
    ("no request failed", failed == 0, f"{failed} failed of {warm['requests'] + main['requests']}"),
    ("RSS flat (growth < 10% + 4 MiB)", growth < rss_warm * 0.10 + 4096,
     f"{rss_warm} -> {rss_end} KiB ({growth:+d})"),
    ("users rows = seeded + 201s answered", rows == expected, f"{rows} rows, expected {expected}"),
    ("every 201 the client saw was answered", 0 <= served - client_created <= 64,
     f"client saw {client_created}, service answered {served} (in flight at the stop: {served - client_created})"),
]
for name, ok, detail in checks:
    print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
print(f"requests: {main['requests']} in the main run")
sys.exit(0 if all(ok for _, ok, _ in checks) else 1)
PY
