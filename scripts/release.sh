#!/usr/bin/env bash
# `make release`: build the release images, push them to a local registry
# (Debian's docker-registry on loopback) tagged with the commit's short SHA and
# latest, remove them, start the production compose stack from the images
# pulled back from that registry, wait for every healthcheck, check that the
# one-shot migration ran, run the acceptance suite from a container on the
# compose network against nginx over HTTPS (verified against a throwaway CA
# made for the run; mail goes to the prod file's sink, the profile mail, whose
# Maildir the suite reads a reset mail from), check the least-privilege database role and the
# containers' hardening, check the service runs as non-root and drains on
# `stop`, run the acceptance suite again on the locked-down profile
# (REQUIRE_ADMIN_FOR_WRITES and REQUIRE_AUTH_FOR_READS on, with an admin's
# token), run a restore drill (rows written, the time noted, more rows, a
# point-in-time restore from the backups into a fresh volume, exactly the
# first rows served), write the runtime image's package list (SBOM) to build/images/,
# print a summary and tear everything down.
#   scripts/release.sh             the whole workflow (exit 0 only if all passed)
#   scripts/release.sh push PREFIX tag the last run's images PREFIX/NAME:SHA and
#                                  PREFIX/NAME:latest and push them (CI: ghcr.io)
#   scripts/release.sh clean       remove whatever a release run left behind
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

PROJECT=${RELEASE_PROJECT:-users-release}
# The database's volume is named by USERS_DB_VOLUME (docker-compose-prod.yml):
# this run's own, never one a user's shell may name; the drill restores into
# the second.
export USERS_DB_VOLUME=${PROJECT}_users-db-data
restored_volume=${PROJECT}_users-db-restored
HEALTH_TIMEOUT=${RELEASE_HEALTH_TIMEOUT:-180}
work=$(mktemp -d /tmp/users-release.XXXXXX)
passed=0
failed=0
started=$SECONDS
out=$root/build/images  # release output: images.txt (what ran), the SBOM
IMAGE_TAG=${IMAGE_TAG:-$(git rev-parse --short HEAD)}
VCS_REF=${VCS_REF:-$(git rev-parse HEAD)}
BUILD_DATE=${BUILD_DATE:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}
if [ -z "${SOURCE_URL:-}" ]; then
  SOURCE_URL=$(git remote get-url origin 2>/dev/null || true)
  [ -n "$SOURCE_URL" ] || [ -z "${GITHUB_REPOSITORY:-}" ] ||
    SOURCE_URL=${GITHUB_SERVER_URL:-https://github.com}/$GITHUB_REPOSITORY
  SOURCE_URL=${SOURCE_URL:-unknown}
fi
export IMAGE_TAG VCS_REF BUILD_DATE SOURCE_URL REGISTRY=${REGISTRY:-}

if [ "${1:-}" = push ]; then
  [ -n "${2:-}" ] && [ -s "$out/images.txt" ] || {
    echo "usage: scripts/release.sh push PREFIX (after make release)" >&2; exit 2; }
  eval "$(scripts/containers.sh env)"
  while read -r ref; do
    name=${ref##*/}; name=${name%:*}
    for tag in "$IMAGE_TAG" latest; do
      $CONTAINER_TOOL tag "$ref" "${2%/}/$name:$tag"
      $CONTAINER_TOOL push "${2%/}/$name:$tag"
    done
  done < "$out/images.txt"
  exit 0
fi

if [ "${1:-}" != clean ]; then
  scripts/install-deps.sh release registry
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

# Mail: the prod file's sink (its profile mail), as docker-compose-prod.yml
# shows; the links name nginx as the acceptance client reaches it.
export SMTP_URL=smtp://mail:1025 SMTP_TLS="" SMTP_USER="" SMTP_PASSWORD=""
export MAIL_FROM=users@release.test PUBLIC_BASE_URL=https://nginx

files=(-f docker-compose-prod.yml -f tests/release/compose.release.yml)
[ "$CONTAINER_TOOL" = podman ] && files+=(-f tests/release/compose.podman.yml)
compose() { $COMPOSE -p "$PROJECT" "${files[@]}" --profile mail --profile acceptance "$@"; }
container_of() { compose ps -q "$1" | head -n1; }
state_of() { $CONTAINER_TOOL inspect -f "$1" "$(container_of "$2")"; }

# The command runs as a background job: in an `if` bash ignores set -e inside
# it, and only its last command's status would count.
check() {  # name, then a command: counts and prints one line
  local name=$1; shift
  "$@" > "$work/check.log" 2>&1 < /dev/null &
  if wait $!; then
    passed=$((passed + 1)); echo "ok: $name"
  else
    failed=$((failed + 1)); echo "FAIL: $name"; sed 's/^/    /' "$work/check.log"
  fi
}

# --- the local registry ------------------------------------------------------
# Debian's docker-registry (the CNCF distribution registry) on 127.0.0.1 at a
# free port, its config and storage in the run's temporary directory, stopped
# by its PID. The images' names take its address as their REGISTRY prefix.
registry_pid=""
registry_start() {
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$work/registry/data"
  cat > "$work/registry/config.yml" <<CONFIG
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: $work/registry/data}
  delete: {enabled: true}
http: {addr: "127.0.0.1:$port"}
CONFIG
  docker-registry serve "$work/registry/config.yml" > "$work/registry/log" 2>&1 &
  registry_pid=$!
  for _ in $(seq 1 50); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/v2/" 2>/dev/null && break
    sleep 0.2
  done
  curl -fsS -o /dev/null "http://127.0.0.1:$port/v2/" || {
    echo "FAIL: the local registry did not start"; cat "$work/registry/log"; exit 1; }
  REGISTRY=127.0.0.1:$port/
  echo "release: local registry on 127.0.0.1:$port (pid $registry_pid)"
}
registry_stop() {
  [ -n "$registry_pid" ] || return 0
  kill "$registry_pid" 2>/dev/null || true
  wait "$registry_pid" 2>/dev/null || true
  registry_pid=""
}
# podman talks plain HTTP to the loopback registry only when told to; Docker
# already treats 127.0.0.0/8 as an insecure registry.
pull_flags=()
[ "$CONTAINER_TOOL" != podman ] || pull_flags=(--tls-verify=false)
# podman would push OCI manifests, which have no HEALTHCHECK: push Docker's
# format, as the images were built.
push_flags=()
[ "$CONTAINER_TOOL" != podman ] || push_flags=(--tls-verify=false --format v2s2)
# Every image the compose files name (the service's twice: migrate and serve).
release_images() { compose config | awk '$1 == "image:" {print $2}' | sort -u; }

# Pushes each built image as REGISTRY/NAME:SHA and REGISTRY/NAME:latest.
registry_push() {
  local ref
  for ref in $(release_images); do
    $CONTAINER_TOOL tag "$ref" "${ref%:*}:latest"
    $CONTAINER_TOOL push "${push_flags[@]}" -q "$ref" >/dev/null
    $CONTAINER_TOOL push "${push_flags[@]}" -q "${ref%:*}:latest" >/dev/null
    $CONTAINER_TOOL inspect -f '{{.Id}}' "$ref" > "$work/pushed-$(basename "${ref%:*}")"
  done
}
# Removes the images this run built (never the Debian bases or the stand-ins
# they start from), so the stack runs only from what the registry gives back.
# --no-prune keeps their untagged build layers: the next build's cache.
remove_built_images() {
  local ref
  for ref in $(release_images); do
    $CONTAINER_TOOL rmi --no-prune "$ref" "${ref%:*}:latest" >/dev/null
    if $CONTAINER_TOOL image inspect "$ref" >/dev/null 2>&1; then
      echo "FAIL: $ref is still present after its removal"; exit 1
    fi
  done
}
registry_pull() {
  local ref
  mkdir -p "$out"
  : > "$out/images.txt"
  for ref in $(release_images); do
    $CONTAINER_TOOL pull "${pull_flags[@]}" -q "$ref" >/dev/null
    echo "$ref" >> "$out/images.txt"
  done
}
# The pulled images are this run's (their build date is this run's, to the
# second) and carry the OCI labels: commit, build date, source.
pulled_images_match() {
  local ref label value
  for ref in $(release_images); do
    echo "$ref: id $($CONTAINER_TOOL inspect -f '{{.Id}}' "$ref") pulled, $(cat "$work/pushed-$(basename "${ref%:*}")") pushed"
    for label in revision="$VCS_REF" created="$BUILD_DATE" source="$SOURCE_URL"; do
      value=$($CONTAINER_TOOL inspect -f "{{index .Config.Labels \"org.opencontainers.image.${label%%=*}\"}}" "$ref")
      [ "$value" = "${label#*=}" ] || {
        echo "$ref: label ${label%%=*} is '$value', this build's is '${label#*=}'"; return 1; }
    done
  done
}
# The Debian packages of the runtime image (dpkg-query in the image), as JSON
# beside the image list: build/images/users-service-SHA.sbom.json.
write_sbom() {
  local ref=${REGISTRY}users-service:$IMAGE_TAG
  local file=$out/users-service-$IMAGE_TAG.sbom.json
  # shellcheck disable=SC2016 # dpkg-query's own ${field} placeholders
  $CONTAINER_TOOL run --rm --entrypoint dpkg-query "$ref" \
    -W -f '${Package}\t${Version}\t${Architecture}\t${source:Package}\n' > "$work/packages.tsv"
  python3 - "$work/packages.tsv" "$ref" "$VCS_REF" "$BUILD_DATE" > "$file" <<'PY'
import json, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
print(json.dumps({
    "image": sys.argv[2].split("/", 1)[-1],
    "revision": sys.argv[3],
    "created": sys.argv[4],
    "generator": "dpkg-query -W in the image",
    "packages": [{"name": n, "version": v, "architecture": a, "source_package": s,
                  "purl": f"pkg:deb/debian/{n}@{v}?arch={a}&distro=debian-12"}
                 for n, v, a, s in rows],
}, indent=2))
PY
  local count
  count=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["packages"]))' "$file")
  echo "$file: $count packages"
  grep -q '"name": "libpistache0"' "$file"
  grep -q '"name": "libcurl4"' "$file"  # the mail sender's SMTP client
}

teardown() {
  [ -n "${health_pid:-}" ] && kill "$health_pid" 2>/dev/null
  compose down -v --remove-orphans >/dev/null 2>&1 || true
  $CONTAINER_TOOL volume rm -f "$USERS_DB_VOLUME" "$restored_volume" >/dev/null 2>&1 || true
  registry_stop
  rm -rf "$work"
}

if [ "${1:-}" = clean ]; then
  compose down -v --remove-orphans --rmi local >/dev/null 2>&1 || true
  $CONTAINER_TOOL volume rm -f "$USERS_DB_VOLUME" "$restored_volume" >/dev/null 2>&1 || true
  if [ -s "$out/images.txt" ]; then
    while read -r ref; do
      $CONTAINER_TOOL rmi "$ref" "${ref%:*}:latest" >/dev/null 2>&1 || true
    done < "$out/images.txt"
    rm -f "$out/images.txt"
  fi
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

registry_start
phase_start=$SECONDS
# The build's output goes to a log; a failed build stops the run with its end.
if ! compose build > "$work/build.log" 2>&1; then
  echo "FAIL: the images did not build; the end of the build's output:"
  grep -v -e '^debconf' -e '^$' "$work/build.log" | tail -n 60 | sed 's/^/    /'
  exit 1
fi
compose config --services >/dev/null
build_seconds=$((SECONDS - phase_start))
echo "release: images built in ${build_seconds}s ($CONTAINER_TOOL), tag $IMAGE_TAG"

phase_start=$SECONDS
registry_push
remove_built_images
registry_pull
registry_seconds=$((SECONDS - phase_start))
echo "release: pushed to the local registry, removed, pulled back in ${registry_seconds}s"
check "the stack's images come from the registry, labelled with the commit" pulled_images_match
check "an SBOM of the runtime image's packages" write_sbom

phase_start=$SECONDS
compose up -d --no-build users-db users-db-backup users-migrate mail users-service nginx
all_healthy() {
  local service
  for service in users-db users-db-backup mail users-service nginx; do
    # Running, and healthy if it has a healthcheck (users-db-backup has none:
    # Docker then has no health at all, podman an empty status).
    case "$(state_of '{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$service")" in
      running/healthy | running/) ;;
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

# The contract, from a container on the compose network, through nginx:
# run_acceptance NAME [compose run options] counts its TAP lines.
acceptance_summary=""
run_acceptance() {
  local name=$1; shift
  local tap=$work/tap-$name ok bad
  local phase=$SECONDS
  if compose run --rm -T --no-deps "$@" acceptance > "$tap" 2>&1; then :; fi
  echo "release: acceptance suite, $name profile ($((SECONDS - phase))s):"
  cat "$tap"
  ok=$(grep -c '^ok ' "$tap" || true)
  bad=$(grep -c '^not ok ' "$tap" || true)
  passed=$((passed + ok))
  failed=$((failed + bad))
  if [ "$ok" -eq 0 ] && [ "$bad" -eq 0 ]; then
    failed=$((failed + 1)); echo "FAIL: the acceptance suite ($name) ran no test"
  fi
  acceptance_summary+="${acceptance_summary:+, }$name $ok passed, $bad failed"
}
run_acceptance open

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
check "users-db-backup: read-only, no capability, no new privileges" \
  hardening_check users-db-backup 0000000000000000
check "mail (the sink): read-only, no capability, no new privileges" \
  hardening_check mail 0000000000000000

# Drain: a transaction holds a lock on users for 4 s, so a POST sent meanwhile
# is in flight inside the service when `stop` sends SIGTERM; expect that POST
# answered 201 and the service's exit code 0. The container tool's own exec is
# used here: it starts in a fraction of compose's time.
# (tests/release/compose.release.yml gives the service a database deadline
# longer than the lock.)
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

# --- the locked-down profile ------------------------------------------------
# The service again (it was stopped above), now with REQUIRE_ADMIN_FOR_WRITES
# and REQUIRE_AUTH_FOR_READS on; nginx restarted to find it. An admin made by
# `manage create_admin` in the service's container (password on standard
# input) logs in there, and the acceptance suite runs again with its token
# (AUTH_TOKEN: the admin's token on every request that brings none; the
# suite's own tests then check what clients without one get).
locked_down_start() {
  local phase=$SECONDS
  REQUIRE_ADMIN_FOR_WRITES=true REQUIRE_AUTH_FOR_READS=true \
    compose up -d --no-build --no-deps users-service
  local deadline=$((SECONDS + HEALTH_TIMEOUT))
  until [ "$(state_of '{{.State.Health.Status}}' users-service)" = healthy ]; do
    [ $SECONDS -lt $deadline ] || { echo "users-service not healthy"; compose logs --tail 30 users-service; return 1; }
    sleep 1
  done
  compose restart -t 5 nginx
  until all_healthy; do
    [ $SECONDS -lt $deadline ] || { echo "the stack is not healthy"; compose ps; return 1; }
    sleep 1
  done
  local env
  env=$($CONTAINER_TOOL exec "$(container_of users-service)" env)
  grep -x 'REQUIRE_ADMIN_FOR_WRITES=true' <<<"$env"
  grep -x 'REQUIRE_AUTH_FOR_READS=true' <<<"$env"
  echo "locked-down stack healthy in $((SECONDS - phase))s"
}
locked_down_admin() {  # the admin's token into $work/admin-token
  local service password admin_token
  service=$(container_of users-service)
  password=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
  printf '%s\n' "$password" | $CONTAINER_TOOL exec -i "$service" \
    manage create_admin --username release-admin --email release-admin@example.com
  admin_token=$(printf '{"email":"release-admin@example.com","password":"%s"}' "$password" |
    $CONTAINER_TOOL exec -i "$service" curl -fsS -X POST -H 'Content-Type: application/json' \
      --data-binary @- http://127.0.0.1:5000/auth/login |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["auth_token"])')
  [ -n "$admin_token" ]
  printf '%s' "$admin_token" > "$work/admin-token"
  echo "the admin logged in"
}
check "users-service restarted locked down (admin for writes, a token for reads)" locked_down_start
check "manage create_admin in the service's container; the admin logs in" locked_down_admin
if [ -s "$work/admin-token" ]; then
  run_acceptance locked-down -e AUTH_TOKEN="$(cat "$work/admin-token")"
else
  failed=$((failed + 1)); echo "FAIL: the locked-down acceptance pass did not run"
fi
check "a point-in-time restore into a fresh volume brings back exactly the rows before the time" \
  tests/release/restore_drill.sh "$PROJECT" "$restored_volume" "${files[@]}"
# What the drill measured (its output shows in full only when it fails).
grep -E '^(wrote 100|restored and promoted|users-db on volume|the service lists)' "$work/check.log" |
  sed 's/^/    /' || true
check "the README's development Docker commands work as written" tests/release/readme_docker.sh

total=$((SECONDS - started))
echo
if [ "$failed" -eq 0 ]; then
  echo "RELEASE PASSED in ${total}s (build ${build_seconds}s, registry ${registry_seconds}s)"
else
  echo "RELEASE FAILED in ${total}s"
fi
echo "release: $passed passed, $failed failed (acceptance: $acceptance_summary)"
[ "$failed" -eq 0 ]
