#!/bin/sh
# users-db-backup: pgBackRest's backups of the production stack's PostgreSQL,
# run by the users-db-backup container (the database image, sharing the
# cluster's data volume, its socket directory and the repository volume).
#   users-db-backup schedule       the default: create the stanza once the
#                                  server answers, then every BACKUP_CHECK_EVERY
#                                  seconds take a full backup when the last full
#                                  one is BACKUP_FULL_EVERY seconds old (or there
#                                  is none), else a differential when the last
#                                  backup is BACKUP_DIFF_EVERY seconds old;
#                                  pgBackRest expires what the retention
#                                  (PGBACKREST_REPO1_RETENTION_*) no longer keeps
#   users-db-backup backup [full|diff|incr]   one backup now
#   users-db-backup info           the backups, with times and sizes
#   users-db-backup check          archive the current WAL segment and wait for
#                                  it in the repository (archiving works)
#   users-db-backup restore [TIME] into an EMPTY data directory (a fresh
#                                  volume): to TIME ('YYYY-MM-DD HH:MM:SS+00'),
#                                  or to the end of the archive without it
# WAL itself is archived by PostgreSQL (archive_command), not from here.
set -eu
stanza=users
pgdata=${PGDATA:-/var/lib/postgresql/data}
full_every=${BACKUP_FULL_EVERY:-86400}
diff_every=${BACKUP_DIFF_EVERY:-3600}
check_every=${BACKUP_CHECK_EVERY:-60}

log() { echo "users-db-backup: $*"; }
pgbr() { pgbackrest --stanza="$stanza" "$@"; }

# Newest stop time (epoch seconds) of the backups of a type (full, or any),
# 0 when there is none.
last_backup() {
  pgbr --output=json info |
    jq --arg type "$1" '[.[0].backup[]? | select($type == "any" or .type == $type) | .timestamp.stop] | max // 0'
}

schedule() {
  until pg_isready -q -h /var/run/postgresql; do sleep 2; done
  # Idempotent: creates the stanza on the first start, checks it afterwards.
  pgbr stanza-create
  log "full backups every ${full_every}s, differentials every ${diff_every}s"
  while true; do
    now=$(date +%s)
    type=""
    if [ $((now - $(last_backup full))) -ge "$full_every" ]; then type=full
    elif [ $((now - $(last_backup any))) -ge "$diff_every" ]; then type="diff"
    fi
    if [ -n "$type" ]; then
      # A failed backup is logged and tried again at the next check; the
      # server and its WAL archiving go on regardless.
      if pgbr --type="$type" backup; then log "$type backup done"
      else log "$type backup FAILED (exit $?); trying again in ${check_every}s"; fi
    fi
    sleep "$check_every"
  done
}

restore() {
  if [ -n "$(ls -A "$pgdata" 2>/dev/null)" ]; then
    log "refusing: $pgdata is not empty; restore into a fresh volume (docs/production.md: restore)"
    exit 2
  fi
  if [ $# -eq 0 ] || [ -z "$1" ]; then
    log "restoring the latest backup and every archived WAL segment after it"
    pgbr restore
  else
    target=$1
    epoch=$(date -d "$target" +%s 2>/dev/null) || {
      log "refusing: cannot read the time '$target' (use 'YYYY-MM-DD HH:MM:SS+00')"; exit 2; }
    first=$(pgbr --output=json info | jq '[.[0].backup[]?.timestamp.stop] | min // 0')
    if [ "$first" = 0 ]; then log "refusing: the repository holds no backup"; exit 2; fi
    if [ "$epoch" -lt "$first" ]; then
      log "refusing: $target is before the end of the first backup ($(date -u -d "@$first" '+%F %T+00'))"
      exit 2
    fi
    if [ "$epoch" -gt "$(date +%s)" ]; then log "refusing: $target is in the future"; exit 2; fi
    log "restoring to $target"
    # The newest backup that ended before the target, then WAL up to it; the
    # server promotes itself once it gets there (a new timeline).
    pgbr --type=time --target="$target" --target-action=promote restore
  fi
  log "restored into $pgdata; start users-db on this volume"
}

command=${1:-schedule}
[ $# -eq 0 ] || shift
case "$command" in
  schedule) schedule ;;
  backup) pgbr --type="${1:-full}" backup ;;
  info) pgbr info ;;
  check) pgbr check ;;
  restore) restore "$@" ;;
  *) sed -n '2,21p' "$0" >&2; exit 2 ;;
esac
