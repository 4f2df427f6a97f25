#!/usr/bin/env bash
# `make release`: build the release images, start the production compose
# stack, wait for every healthcheck, check that the one-shot migration ran,
# run the acceptance suite from a container on the compose network against
# nginx over HTTPS (verified against a throwaway CA made for the run), check
# the least-privilege database role and the containers' hardening, check the
# service runs as non-root and drains on `stop`, print a summary and tear
# everything down.
#   scripts/release.sh          the whole workflow (exit 0 only if all passed)
#   scripts/release.sh clean    remove whatever a release run left behind
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

PROJECT=${RELEASE_PROJECT:-users-release}
HEALTH_TIMEOUT=${RELEASE_HEALTH_TIMEOUT:-180}
work=$(mktemp -d /tmp/users-release.XXXXXX)
passed=0
failed=0
started=$SECONDS

if [ "${1:-}" != clean ]; then
  scripts/install-deps.sh release
  scripts/containers.sh setup
elif ! command -v podman >/dev/null && ! command -v docker >/dev/null; then
  exit 0  # nothing was ever started
fi
eval "$(scripts/containers.sh env)"
export SECRET_KEY=${SECRET_KEY:-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')}

# --- the edge's certificate and the database passwords, for this run only ---
# A throwaway CA (never trusted anywhere else) signs nginx's certificate for
# the names the acceptance client uses; the CA's key dies with $work.
export POSTGRES_PASSWORD=${POSTGRES_PASSWORD:-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')}
export APP_DB_PASSWORD=${APP_DB_PASSWORD:-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')}
export RELEASE_TLS_DIR=$work/tls
export TLS_CERT_FILE=$RELEASE_TLS_DIR/tls.crt TLS_KEY_FILE=$RELEASE_TLS_DIR/tls.key
make_throwaway_ca() {
  local dir=$RELEASE_TLS_DIR
  mkdir -p "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 2 -subj "/CN=users-release throwaway CA" \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=nginx" \
    -keyout "$dir/tls.key" -out "$dir/tls.csr" 2>/dev/null
  printf '%s\n' "subjectAltName=DNS:nginx,DNS:localhost,IP:127.0.0.1" \
    "basicConstraints=CA:FALSE" "keyUsage=digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth" > "$dir/tls.ext"
  openssl x509 -req -in "$dir/tls.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 2 -sha256 -extfile "$dir/tls.ext" -out "$dir/tls.crt" 2>/dev/null
  # Bind-mounted into the containers; a throwaway key, so readable.
  chmod 644 "$dir/tls.key" "$dir/tls.crt" "$dir/ca.crt"
}
make_throwaway_ca

files=(-f docker-compose-prod.yml -f tests/release/compose.release.yml)
[ "$CONTAINER_TOOL" = podman ] && files+=(-f tests/release/compose.podman.yml)
compose() { $COMPOSE -p "$PROJECT" "${files[@]}" --profile acceptance "$@"; }
container_of() { compose ps -q "$1" | head -n1; }
state_of() { $CONTAINER_TOOL inspect -f "$1" "$(container_of "$2")"; }

check() {  # name, then a command: counts and prints one line
  local name=$1; shift
  if "$@" > "$work/check.log" 2>&1; then
    passed=$((passed + 1)); echo "ok: $name"
  else
    failed=$((failed + 1)); echo "FAIL: $name"; sed 's/^/    /' "$work/check.log"
  fi
}

teardown() {
  [ -n "${health_pid:-}" ] && kill "$health_pid" 2>/dev/null
  compose down -v --remove-orphans >/dev/null 2>&1 || true
  rm -rf "$work"
}

if [ "${1:-}" = clean ]; then
  compose down -v --remove-orphans --rmi local >/dev/null 2>&1 || true
  scripts/containers.sh stop-api
  rm -rf "$work"
  exit 0
fi
trap teardown EXIT

# podman has no systemd timers here to run HEALTHCHECKs: run them ourselves.
if [ "$CONTAINER_TOOL" = podman ]; then
  scripts/containers.sh healthchecks &
  health_pid=$!
fi

phase_start=$SECONDS
compose build --quiet 2>&1 | grep -v -e '^debconf' -e '^$' || true
compose config --services >/dev/null
build_seconds=$((SECONDS - phase_start))
echo "release: images built in ${build_seconds}s ($CONTAINER_TOOL)"

phase_start=$SECONDS
compose up -d users-db users-migrate users-service nginx
all_healthy() {
  local service
  for service in users-db users-service nginx; do
    case "$(state_of '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$service")" in
      healthy | running) ;;
      *) return 1 ;;
    esac
  done
}
deadline=$((SECONDS + HEALTH_TIMEOUT))
until all_healthy; do
  if [ $SECONDS -ge $deadline ]; then
    echo "FAIL: the stack was not healthy within ${HEALTH_TIMEOUT}s"
    compose ps; compose logs --tail 30
    exit 1
  fi
  sleep 1
done
echo "release: stack healthy in $((SECONDS - phase_start))s"

check "one-shot users-migrate ran the migrations and exited 0" \
  test "$(state_of '{{.State.ExitCode}}' users-migrate)" = 0
migrations_recorded() {
  compose exec -T users-db psql -U postgres -d users_prod -tAc \
    'SELECT count(*) > 0 FROM schema_migrations' | grep -q t
}
check "migrations recorded in schema_migrations" migrations_recorded

# --- least privilege: the service's database role ---------------------------
# Every connection of the service is users_app's, who can read and write the
# tables but not change the schema.
service_db_roles() {
  compose exec -T users-db psql -U postgres -d users_prod -tAc \
    "SELECT string_agg(DISTINCT usename, ',') FROM pg_stat_activity
     WHERE datname = 'users_prod' AND backend_type = 'client backend' AND pid <> pg_backend_pid()" |
    tr -d '\r'
}
as_app_role() {  # sql: psql's exit code and output, as users_app over TCP
  compose exec -T -e PGPASSWORD="$APP_DB_PASSWORD" users-db \
    psql -h 127.0.0.1 -U users_app -d users_prod -v ON_ERROR_STOP=1 -tAc "$1" 2>&1
}
app_role_check() {
  local roles
  roles=$(service_db_roles)
  echo "roles connected to users_prod: $roles"
  test "$roles" = users_app
  as_app_role "SELECT count(*) FROM users"
  local out
  if out=$(as_app_role "DROP TABLE users"); then echo "DROP TABLE succeeded"; return 1; fi
  echo "$out"; grep -q 'must be owner' <<<"$out"
  if out=$(as_app_role "CREATE TABLE intruder (id int)"); then echo "CREATE TABLE succeeded"; return 1; fi
  echo "$out"; grep -q 'permission denied' <<<"$out"
}
check "the service connects as users_app, who cannot DROP TABLE or CREATE" app_role_check

# The contract, from a container on the compose network, through nginx.
if compose run --rm -T --no-deps acceptance > "$work/tap" 2>&1; then :; fi
cat "$work/tap"
acceptance_ok=$(grep -c '^ok ' "$work/tap" || true)
acceptance_failed=$(grep -c '^not ok ' "$work/tap" || true)
passed=$((passed + acceptance_ok))
failed=$((failed + acceptance_failed))
if [ "$acceptance_ok" -eq 0 ] && [ "$acceptance_failed" -eq 0 ]; then
  failed=$((failed + 1)); echo "FAIL: the acceptance suite ran no test"
fi

service_uid() { compose exec -T users-service id -u | tr -d '\r'; }
check "users-service runs as a non-root user" test "$(service_uid)" != 0
check "users-service image declares a non-root USER" \
  test "$(state_of '{{.Config.User}}' users-service)" = 10001:10001

# --- hardening: read-only root, no capability beyond the image's minimum,
# no new privileges; seen from inside each running container (PID 1's
# bounding set and NoNewPrivs, a write to / refused, /tmp writable).
# Capability bits: CHOWN 0, DAC_OVERRIDE 1, FOWNER 3, SETGID 6, SETUID 7,
# NET_BIND_SERVICE 10.
hardening_check() {  # service, expected CapBnd (hex, 16 digits)
  local id status
  id=$(container_of "$1")
  status=$($CONTAINER_TOOL exec "$id" cat /proc/1/status)
  grep -E '^(CapBnd|CapEff|NoNewPrivs)' <<<"$status"
  grep -q "^CapBnd:[[:space:]]*$2\$" <<<"$status"
  grep -q '^NoNewPrivs:[[:space:]]*1$' <<<"$status"
  test "$($CONTAINER_TOOL inspect -f '{{.HostConfig.ReadonlyRootfs}}' "$id")" = true
  if $CONTAINER_TOOL exec "$id" sh -c 'echo x > /hardening-probe' 2>/dev/null; then
    echo "wrote to the root filesystem"; return 1
  fi
  $CONTAINER_TOOL exec "$id" sh -c 'echo x > /tmp/hardening-probe && rm /tmp/hardening-probe'
}
check "users-service: read-only, no capability, no new privileges (and it serves)" \
  hardening_check users-service 0000000000000000
check "users-db: read-only, CHOWN DAC_OVERRIDE FOWNER SETGID SETUID only, no new privileges" \
  hardening_check users-db 00000000000000cb
check "nginx: read-only, CHOWN SETGID SETUID NET_BIND_SERVICE only, no new privileges" \
  hardening_check nginx 00000000000004c1

# Drain: a transaction holds a lock on users for 4 s, so a POST sent meanwhile
# is in flight inside the service when `stop` sends SIGTERM; expect that POST
# answered 201 and the service's exit code 0. The container tool's own exec is
# used here: it starts in a fraction of compose's time.
drain_check() {
  local db service nginx
  db=$(container_of users-db) service=$(container_of users-service) nginx=$(container_of nginx)
  $CONTAINER_TOOL exec "$db" psql -U postgres -d users_prod -qc \
    "BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT;" > /dev/null &
  local lock_pid=$!
  sleep 1
  # HTTPS (port 80 only redirects); the run's CA is not in nginx's container.
  $CONTAINER_TOOL exec "$nginx" curl -ksS -o /dev/null -w '%{http_code}' -X POST \
    https://127.0.0.1/users -H 'Content-Type: application/json' \
    --data '{"username":"drain","email":"drain@example.com"}' > "$work/drain_status" 2>&1 &
  local request_pid=$!
  sleep 1
  local waiting
  waiting=$($CONTAINER_TOOL exec "$db" psql -U postgres -d users_prod -tAc \
    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
  echo "requests waiting on the lock when stopping: $waiting"
  compose stop -t 20 users-service
  wait "$request_pid" "$lock_pid" || true
  local code
  code=$($CONTAINER_TOOL inspect -f '{{.State.ExitCode}}' "$service")
  echo "in-flight POST answered $(cat "$work/drain_status"); exit code $code"
  test "$waiting" -gt 0
  test "$(cat "$work/drain_status")" = 201
  test "$code" = 0
}
check "stop drains the in-flight request and exits 0" drain_check
check "the README's development Docker commands work as written" tests/release/readme_docker.sh

total=$((SECONDS - started))
echo
if [ "$failed" -eq 0 ]; then
  echo "RELEASE PASSED in ${total}s (build ${build_seconds}s)"
else
  echo "RELEASE FAILED in ${total}s"
fi
echo "release: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
