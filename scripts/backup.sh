#!/usr/bin/env bash
# pgBackRest on make run's PostgreSQL cluster (the one scripts/run-local.sh
# keeps under $RUN_DIR): every WAL segment archived into a local repository,
# backups, and restores to a moment.
#   backup.sh setup          archiving on (idempotent; the first time: a restart,
#                            stanza-create, check); run-local.sh calls it at each start
#   backup.sh backup         a backup: full the first time, then pgBackRest's
#                            default (incremental on the last backup)
#   backup.sh list           the backups with times and sizes, the archive's end,
#                            the age of the last backup
#   backup.sh age            seconds since the last backup ended (exit 1: none)
#   backup.sh seal           a commit, a WAL switch, and a wait (ARCHIVE_WAIT s)
#                            until that segment is archived: a restore can reach
#                            any moment up to now (run-local.sh stop calls it)
#   backup.sh restore [TIME] to TIME ('YYYY-MM-DD HH:MM:SS+00'), or to the end of
#                            the archive; the data directory is moved aside first
# The repository is $BACKUP_REPO (default .run/backup); pgBackRest's config,
# lock, log and spool directories are under .run/pgbackrest. As root, all of it
# belongs to the cluster's user, postgres.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUN_DIR="${RUN_DIR:-$ROOT/.run}"
. scripts/lib/local.sh
PG_DIR=$(local_pg_dir)
PG_PORT="${PG_PORT:-15432}"
# Beside the cluster: .run, or the directory under /var/tmp that local_pg_dir
# picked because postgres cannot reach this checkout.
BASE=$(dirname "$PG_DIR")
BACKUP_REPO=$(realpath -m "${BACKUP_REPO:-$BASE/backup}")
BR_DIR="$BASE/pgbackrest"
CONF="$BR_DIR/pgbackrest.conf"
STANZA=users
ARCHIVE_WAIT="${ARCHIVE_WAIT:-60}"

die() { echo "backup.sh: $*" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

running() { [ -f "$PG_DIR/data/postmaster.pid" ] && kill -0 "$(head -n 1 "$PG_DIR/data/postmaster.pid")" 2>/dev/null; }

# The running cluster's port (postmaster.pid's fourth line), else PG_PORT.
port() {
  if running; then sed -n 4p "$PG_DIR/data/postmaster.pid"; else echo "$PG_PORT"; fi
}

sql() { psql -X -h 127.0.0.1 -p "$(port)" -U postgres -d postgres -qtAc "$1"; }

pgbr() { as_owner pgbackrest --config="$CONF" --stanza="$STANZA" "$@"; }

bindir() {
  local dir
  dir=$(pg_config --bindir 2>/dev/null || true)
  [ -x "$dir/pg_waldump" ] || dir=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  echo "$dir"
}

need_pgbackrest() {
  command -v pgbackrest >/dev/null || die "pgbackrest is not installed (scripts/install-deps.sh run)"
}

write_config() {
  mkdir -p "$BR_DIR/lock" "$BR_DIR/log" "$BR_DIR/spool" "$BACKUP_REPO"
  cat > "$CONF" <<EOF
# Written by scripts/backup.sh at each start of the cluster.
[global]
repo1-path=$BACKUP_REPO
repo1-retention-full=2
lock-path=$BR_DIR/lock
log-path=$BR_DIR/log
spool-path=$BR_DIR/spool
log-level-console=warn
log-level-file=info
start-fast=y
compress-type=gz

[$STANZA]
pg1-path=$PG_DIR/data
pg1-port=$(port)
pg1-socket-path=$PG_DIR
pg1-user=postgres
EOF
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$BR_DIR" "$BR_DIR"/* "$BACKUP_REPO"
    runuser -u postgres -- test -w "$BACKUP_REPO" || die "postgres cannot write to $BACKUP_REPO"
  fi
}

setup() {
  need_pgbackrest
  running || die "the cluster in $PG_DIR is not running (make run starts it)"
  write_config
  local archive_command restart=0 reload=0
  archive_command="pgbackrest --config=\"$CONF\" --stanza=$STANZA archive-push %p"
  if [ "$(sql 'SHOW archive_mode')" != on ]; then
    sql "ALTER SYSTEM SET archive_mode = on"
    restart=1
  fi
  if [ "$(sql 'SHOW archive_command')" != "$archive_command" ]; then
    sql "ALTER SYSTEM SET archive_command = '${archive_command//\'/\'\'}'"
    reload=1
  fi
  # An idle minute at most between a commit and its segment in the archive.
  if [ "$(sql 'SHOW archive_timeout')" != 1min ]; then
    sql "ALTER SYSTEM SET archive_timeout = '60s'"
    reload=1
  fi
  [ $reload = 0 ] || sql "SELECT pg_reload_conf()" >/dev/null
  if [ $restart = 1 ]; then
    local port; port=$(port)
    echo "backup.sh: turning WAL archiving on (a restart of the cluster)"
    scripts/pg.sh stop "$PG_DIR"
    scripts/pg.sh start "$PG_DIR" "$port"
  fi
  if [ ! -f "$BACKUP_REPO/backup/$STANZA/backup.info" ]; then
    pgbr stanza-create || die "stanza-create failed (a repository of another cluster in $BACKUP_REPO?); see $BR_DIR/log"
    pgbr check || die "WAL archiving does not work; see $BR_DIR/log and $PG_DIR/postgres.log"
    echo "backup.sh: WAL archived into $BACKUP_REPO"
  fi
}

info_json() { pgbr info --output=json; }

# Epoch seconds (with a fraction) of the last transaction in the archive: the
# newest commit or abort in the newest segments. A restore to a later moment
# would never find its stop point. Empty when there is none.
archive_end() {
  local tmp segment name stamp=""
  tmp=$(mktemp -d)
  while read -r segment; do
    name=$(basename "$segment"); name=${name:0:24}
    case "$segment" in
      *.gz) gzip -dc "$segment" > "$tmp/$name" ;;
      *) cp "$segment" "$tmp/$name" ;;
    esac
    stamp=$(TZ=UTC "$(bindir)/pg_waldump" "$tmp/$name" 2>/dev/null \
      | grep -oE 'desc: (COMMIT|ABORT)[A-Z_]* [0-9-]+ [0-9:.]+ [A-Z]+' | tail -n 1 | cut -d' ' -f3-5 || true)
    rm -f "$tmp/$name"
    [ -z "$stamp" ] || break
  done < <(find "$BACKUP_REPO/archive/$STANZA" -type f -regextype posix-extended \
             -regex '.*/[0-9A-F]{24}-[0-9a-f]{40}(\.gz)?' 2>/dev/null \
           | awk -F/ '{print $NF "\t" $0}' | sort -r | cut -f2 | head -n 16)
  rmdir "$tmp"
  [ -z "$stamp" ] || date -u -d "$stamp" +%s.%N
}

fmt_time() { date -u -d "@${1%.*}" '+%Y-%m-%d %H:%M:%S+00'; }

last_backup_end() { info_json | jq -r '[.[0].backup[]?.timestamp.stop] | max // empty'; }

age() {
  need_pgbackrest
  [ -f "$CONF" ] || die "no backups here: make run has not set up $CONF"
  local end; end=$(last_backup_end)
  [ -n "$end" ] || die "no backup in $BACKUP_REPO"
  echo $(($(date +%s) - end))
}

backup() {
  setup
  pgbr backup
  info_json | jq -r '.[0].backup | last | "backup \(.label) (\(.type)): \(.info.size) bytes of data, \(.info.repository.delta) bytes added to the repository"'
}

list() {
  need_pgbackrest
  [ -f "$CONF" ] || die "no backups here: make run has not set up $CONF"
  pgbr info
  local end last
  last=$(last_backup_end)
  if [ -n "$last" ]; then
    echo "last backup ended $(fmt_time "$last"), $(($(date +%s) - last)) s ago"
  fi
  end=$(archive_end)
  [ -z "$end" ] || echo "archive: restorable up to $(fmt_time "$end") (its last transaction)"
  echo "repository: $BACKUP_REPO ($(du -sh "$BACKUP_REPO" | cut -f1))"
}

seal() {
  running || return 0
  [ "$(sql 'SHOW archive_mode')" = on ] || return 0
  local segment
  # txid_current() makes the commit write a record with its time: recovery
  # stops at commit times, so this one lets a restore reach up to now.
  segment=$(psql -X -h 127.0.0.1 -p "$(port)" -U postgres -d postgres -qtA \
    -c "SELECT txid_current()" -c "SELECT pg_walfile_name(pg_switch_wal())" | tail -n 1)
  local deadline=$((SECONDS + ARCHIVE_WAIT))
  until [ "$(sql "SELECT coalesce(last_archived_wal >= '$segment', false) FROM pg_stat_archiver")" = t ]; do
    if [ $SECONDS -ge "$deadline" ]; then
      echo "backup.sh: warning: WAL segment $segment not archived after ${ARCHIVE_WAIT} s (see $BR_DIR/log); a restore may not reach the last moments" >&2
      return 0
    fi
    sleep 0.2
  done
}

restore() {
  local target="${1:-}" info set="" first_end end target_epoch
  need_pgbackrest
  [ -f "$CONF" ] || die "refusing: no backups here ($CONF missing: make run, then make backup)"
  info=$(info_json)
  first_end=$(jq -r '[.[0].backup[]?.timestamp.stop] | min // empty' <<<"$info")
  [ -n "$first_end" ] || die "refusing: no backup in $BACKUP_REPO (make backup first)"
  # The WAL up to now into the archive first, so its end is now.
  seal
  if [ -n "$target" ]; then
    target_epoch=$(date -u -d "$target" +%s.%N 2>/dev/null) ||
      die "refusing: cannot read TARGET_TIME '$target' (give 'YYYY-MM-DD HH:MM:SS+00')"
    # The backup's end is stored to the second: the target must be past it.
    jq -en --argjson t "$target_epoch" --argjson e "$first_end" '$t >= $e + 1' >/dev/null ||
      die "refusing: $target is before the end of the first backup ($(fmt_time $((first_end + 1))) at the earliest)"
    end=$(archive_end)
    [ -n "$end" ] && jq -en --argjson t "$target_epoch" --argjson e "$end" '$t < $e' >/dev/null ||
      die "refusing: $target is after the end of the archive (its last transaction: $(if [ -n "$end" ]; then fmt_time "$end"; else echo none; fi))"
    set=$(jq -r --argjson t "$target_epoch" \
      '[.[0].backup[] | select(.timestamp.stop + 1 <= $t)] | last | .label' <<<"$info")
  fi

  local port; port=$(port)
  if running; then
    echo "backup.sh: stopping the cluster"
    scripts/pg.sh stop "$PG_DIR"
  fi
  local aside
  aside="$PG_DIR/data.before-restore-$(date -u +%Y%m%dT%H%M%SZ)"
  mv "$PG_DIR/data" "$aside"
  echo "backup.sh: the current data directory is now $aside (kept; delete it once the restored data is right)"
  mkdir -m 700 "$PG_DIR/data"
  [ "$(id -u)" -ne 0 ] || chown postgres: "$PG_DIR/data"

  local args=()
  if [ -n "$target" ]; then
    args=(--set="$set" --type=time "--target=$target" --target-action=promote)
    echo "backup.sh: restoring backup $set, then the WAL up to $target"
  else
    echo "backup.sh: restoring the last backup, then the WAL to the end of the archive"
  fi
  if pgbr restore "${args[@]}" && scripts/pg.sh start "$PG_DIR" "$port" && promoted; then
    scripts/pg.sh stop "$PG_DIR"
    echo "backup.sh: restored${target:+ to $target}; 'make run' serves it"
    return 0
  fi
  echo "backup.sh: the restore failed; putting the data directory back" >&2
  tail -n 5 "$PG_DIR/postgres.log" >&2 || true
  scripts/pg.sh stop "$PG_DIR" 2>/dev/null || true
  rm -rf "$PG_DIR/data"
  mv "$aside" "$PG_DIR/data"
  die "restore failed; $PG_DIR/data is as it was"
}

# Recovery done and the cluster promoted (RECOVERY_WAIT s at most, default 600).
promoted() {
  local deadline=$((SECONDS + ${RECOVERY_WAIT:-600}))
  until [ "$(sql 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]; do
    running || return 1
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

case "${1:-}" in
  setup) setup ;;
  backup) backup ;;
  list) list ;;
  age) age ;;
  seal) seal ;;
  restore) restore "${2:-}" ;;
  *)
    echo "usage: $0 setup | backup | list | age | seal | restore [TIME]" >&2
    exit 64
    ;;
esac
