#!/usr/bin/env bash
# Does POST /auth/password/forgot take as long for an address without an
# account as for one with? Starts a PostgreSQL (scripts/pg.sh), a mail sink
# and the given users-service, then sends N requests for distinct known
# active accounts and N for distinct unknown addresses, interleaved, over one
# keep-alive connection, and prints p50/p90 of each. Distinct addresses: each
# known one is under its hourly limit, so each of its requests queues a mail.
#   bench/mail_timing.sh SERVICE MANAGE [N]   (N default 200)
# Ports: PG_PORT (21510), MAIL_PORT (21511), PORT (21512); work dir DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
service=$(realpath "$1") manage=$(realpath "$2") n=${3:-200}
PG_PORT=${PG_PORT:-21510} MAIL_PORT=${MAIL_PORT:-21511} PORT=${PORT:-21512}
DIR=$(realpath -m "${DIR:-/tmp/mail-timing}")
mkdir -p "$DIR"
chmod 755 "$DIR"

service_pid=
cleanup() {
  [ -z "$service_pid" ] || kill "$service_pid" 2>/dev/null || true
  scripts/mail-sink.sh stop "$DIR/mail" || true
  scripts/pg.sh stop "$DIR/pg" || true
}
trap cleanup EXIT

scripts/pg.sh start "$DIR/pg" "$PG_PORT"
scripts/pg.sh createdb "$DIR/pg" "$PG_PORT" timing
url=$(scripts/pg.sh url "$PG_PORT" timing)
env -i APP_ENV=testing DATABASE_TEST_URL="$url" "$manage" recreate_db >/dev/null
psql -q "$url" -c "INSERT INTO users (username, email, active) SELECT 'known' || i,
  'known' || i || '@example.com', true FROM generate_series(1, $n) i"
scripts/mail-sink.sh start "$DIR/mail" "$MAIL_PORT" >/dev/null

env -i APP_ENV=testing DATABASE_TEST_URL="$url" HOST=127.0.0.1 PORT="$PORT" THREADS=1 \
  LOG_LEVEL=warn LOGIN_MAX_FAILURES=1000000 SMTP_URL="smtp://127.0.0.1:$MAIL_PORT" \
  MAIL_FROM=users@example.com PUBLIC_BASE_URL=http://users.example.test \
  "$service" >>"$DIR/service.log" 2>&1 &
service_pid=$!
for _ in $(seq 150); do
  curl -fs "http://127.0.0.1:$PORT/health/ready" >/dev/null && break
  sleep 0.1
done

python3 - "$PORT" "$n" <<'EOF'
import http.client, json, statistics, sys, time

port, n = int(sys.argv[1]), int(sys.argv[2])
connection = http.client.HTTPConnection("127.0.0.1", port)

def forgot(email):
    body = json.dumps({"email": email})
    start = time.perf_counter()
    connection.request("POST", "/auth/password/forgot", body,
                       {"Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    elapsed = (time.perf_counter() - start) * 1000
    assert response.status == 202, response.status
    return elapsed

for i in range(20):  # warm-up: connections, prepared statements, caches
    forgot(f"warm{i}@example.org")
known, unknown = [], []
for i in range(1, n + 1):
    known.append(forgot(f"known{i}@example.com"))
    unknown.append(forgot(f"nobody{i}@example.com"))

def pct(values, p):
    return statistics.quantiles(values, n=100)[p - 1]

for name, values in (("known", known), ("unknown", unknown)):
    print(f"{name:8} n={len(values)} p50 {pct(values, 50):.2f} ms  p90 {pct(values, 90):.2f} ms")
EOF
mailed=$(psql -tAq "$url" -c "SELECT count(*) FROM mail_outbox")
echo "mails queued: $mailed (expected $n)"
