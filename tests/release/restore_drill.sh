#!/usr/bin/env bash
# The restore drill of `make release`, on its running production stack: the
# restore of docs/production.md, step by step. With a full backup in the repository (the
# users-db-backup container takes one at its first start), write 100 users,
# note the time, write 100 more, have the WAL archived (`users-db-backup
# check`), stop the service and the database, restore to the noted time into
# a fresh volume (a one-off users-db-backup container), start the database
# and the service on that volume, and expect exactly the first 100: from the
# database, on a new timeline (so it is the restored cluster that answers),
# and from the service. Then archiving goes on from the restored cluster.
#   tests/release/restore_drill.sh PROJECT FRESH_VOLUME COMPOSE_FILE_OPTIONS...
# Needs what scripts/release.sh exports (COMPOSE, CONTAINER_TOOL, the
# passwords, USERS_DB_VOLUME); leaves the stack serving from FRESH_VOLUME.
set -euo pipefail
project=$1 fresh=$2; shift 2
files=("$@")
timeout=${RELEASE_HEALTH_TIMEOUT:-180}
compose() { $COMPOSE -p "$project" "${files[@]}" "$@"; }
db_sql() {
  compose exec -T users-db psql -U postgres -d users_prod -v ON_ERROR_STOP=1 -tAc "$1" | tr -d '\r'
}
state_of() {  # health, or the state of a container with no healthcheck
  $CONTAINER_TOOL inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' \
    "$(compose ps -q "$1" | head -n1)"
}
wait_for() {  # what, then a command that succeeds once it is there
  local what=$1 deadline=$((SECONDS + timeout)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || { echo "FAIL: no $what within ${timeout}s"; return 1; }
    sleep 2
  done
}
has_full_backup() { compose exec -T users-db-backup users-db-backup info | grep -q 'full backup:'; }
healthy() { [ "$(state_of "$1")" = healthy ]; }
primary() { [ "$(db_sql 'SELECT pg_is_in_recovery()')" = f ]; }
run=d$(date +%s)
insert() {  # prefix: 100 users named PREFIX-1..100
  db_sql "INSERT INTO users (username, email)
          SELECT '$1-' || g, '$1-' || g || '@example.com' FROM generate_series(1, 100) g" >/dev/null
}
count() {  # prefix, from the database
  db_sql "SELECT count(*) FROM users WHERE username LIKE '$1-%'"
}

wait_for "full backup from users-db-backup" has_full_backup
echo "archive_mode $(db_sql 'SHOW archive_mode'), archive_command: $(db_sql 'SHOW archive_command')"
test "$(db_sql 'SHOW archive_mode')" = on
insert "$run-before"
target=$(db_sql "SELECT clock_timestamp()")
# Commit times a second and more after the target, at the database's clock.
sleep 2
insert "$run-after"
echo "wrote 100 users, noted $target, wrote 100 more: $(count "$run-before") and $(count "$run-after")"
compose exec -T users-db-backup users-db-backup check | tail -n 2
timeline_before=$(db_sql 'SELECT timeline_id FROM pg_control_checkpoint()')

# The restore of docs/production.md.
started=$SECONDS
compose stop users-service users-db-backup users-db
# Removed, not only stopped: docker-compose 1.x would otherwise start them
# again on their old volume.
compose rm -f users-db-backup users-db
USERS_DB_VOLUME=$fresh compose run --rm --no-deps users-db-backup restore "$target"
USERS_DB_VOLUME=$fresh compose up -d --no-build --no-deps users-db users-db-backup
wait_for "promoted primary on $fresh" primary
echo "restored and promoted in $((SECONDS - started))s"
USERS_DB_VOLUME=$fresh compose up -d --no-build --no-deps users-service
wait_for "healthy users-service on the restored database" healthy users-service
mounted=$($CONTAINER_TOOL inspect -f '{{range .Mounts}}{{if eq .Destination "/var/lib/postgresql/data"}}{{.Name}}{{end}}{{end}}' \
  "$(compose ps -q users-db | head -n1)")
timeline=$(db_sql 'SELECT timeline_id FROM pg_control_checkpoint()')
before=$(count "$run-before") after=$(count "$run-after")
echo "users-db on volume $mounted, timeline $timeline (was $timeline_before): $before users written before the time, $after after"
test "$mounted" = "$fresh"
test "$timeline" -gt "$timeline_before"
test "$before" = 100
test "$after" = 0
# The service serves them: its full list, from inside its container.
listed=$(compose exec -T users-service curl -fsS http://127.0.0.1:5000/users | tr -d '\r')
served() {  # prefix: how many of its users the list holds (grep finds none: 0, not a failure)
  { grep -o "\"username\":\"$1-[0-9]*\"" <<<"$listed" || true; } | wc -l
}
served_before=$(served "$run-before") served_after=$(served "$run-after")
echo "the service lists $served_before of the first 100 and $served_after of the others"
test "$served_before" -eq 100
test "$served_after" -eq 0
# The restored cluster archives on its new timeline into the same repository.
compose exec -T users-db-backup users-db-backup check | tail -n 1
compose exec -T users-db-backup users-db-backup info
