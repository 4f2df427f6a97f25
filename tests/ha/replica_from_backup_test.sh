#!/usr/bin/env bash
# A member rebuilt from the pgBackRest backup, and WAL archived from whichever
# member leads into the one repository:
#   up; 50 rows; `ha.sh backup` (full); 50 more rows; the async replica
#   stopped and its data directory removed; `ha.sh up`: Patroni makes it again
#   with pgBackRest (create_replica_methods: pgbackrest, then basebackup), it
#   streams and has the 100 rows. Then the leader is killed: after the
#   failover `ha.sh backup` (incremental, from the new leader) completes, which
#   it can only do once the new leader's WAL is in the repository.
# Exit 77 (CTest: skipped) only when Patroni, etcd or pgBackRest is not installed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN="${USERS_BIN_DIR:-$ROOT/build/debug/bin}"
PSQL=/usr/lib/postgresql/15/bin/psql
# shellcheck source=tests/ha/lib.sh
. "$(dirname "$0")/lib.sh"
require_ha_tools

WORK=$(mktemp -d /tmp/users-ha-backup-test-XXXXXX)
chmod 755 "$WORK"  # the postgres user must enter it
export RUN_DIR="$WORK/run" USERS_BIN_DIR="$BIN"
HA_DIR="$RUN_DIR/ha"
cleanup() {
  local status=$?
  if [ "$status" -ne 0 ] && [ "$status" -ne 77 ]; then
    for log in "$HA_DIR"/m*/patroni.log; do
      [ -f "$log" ] && { echo "--- $log (last 15 lines)"; tail -n 15 "$log" | cut -c1-240; }
    done
    repeat_failure "$status"
  fi
  "$ROOT/scripts/ha.sh" down >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

use_free_ports
started=$SECONDS
"$ROOT/scripts/ha.sh" up > "$WORK/up.log" 2>&1 || { cat "$WORK/up.log"; fail "ha.sh up"; }
echo "cluster up in $((SECONDS - started)) s"
write() {  # first, last: rows backup-<n>
  PGCONNECT_TIMEOUT=5 "$PSQL" "$("$ROOT/scripts/ha.sh" url)" -qtA -v ON_ERROR_STOP=1 -c \
    "INSERT INTO users (username, email) SELECT 'backup-' || n, 'backup-' || n || '@ha.example.com' FROM generate_series($1, $2) n" ||
    fail "could not write rows $1..$2"
}
write 1 50
started=$SECONDS
"$ROOT/scripts/ha.sh" backup > "$WORK/backup.log" 2>&1 || { cat "$WORK/backup.log"; fail "ha.sh backup"; }
grep -q 'full backup' "$WORK/backup.log" || { cat "$WORK/backup.log"; fail "no full backup listed"; }
echo "full backup in $((SECONDS - started)) s"
write 51 100

replica=$(member_with_role 0 replica)
[ -n "$replica" ] || fail "no async replica"
dir="$HA_DIR/$replica"
patroni_pid=$(cat "$dir/patroni.pid")
kill "$patroni_pid"  # Patroni stops its PostgreSQL, then exits
for _ in $(seq 300); do [ -n "$(tr -d '\0' 2>/dev/null < "/proc/$patroni_pid/cmdline")" ] || break; sleep 0.1; done
[ ! -s "$dir/data/postmaster.pid" ] || fail "$replica's PostgreSQL still runs"
rm -rf "$dir/data"
echo "stopped $replica and removed its data directory"

started=$SECONDS
"$ROOT/scripts/ha.sh" up > "$WORK/up.log" 2>&1 || { cat "$WORK/up.log"; fail "ha.sh up after removing $replica's data"; }
echo "$replica rebuilt and streaming in $((SECONDS - started)) s"
grep -q 'replica has been created using pgbackrest' "$dir/patroni.log" ||
  { grep -i 'replica\|pgbackrest' "$dir/patroni.log" | tail -n 5; fail "$replica was not made from the backup"; }
as_owner() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
rows=$(as_owner "$PSQL" -h "$dir" -p $((HA_PG_PORT + ${replica#m})) -d users_prod -qtAc \
  "SELECT count(*) FROM users WHERE email LIKE 'backup-%@ha.example.com'")
[ "$rows" -eq 100 ] || fail "$replica has $rows of the 100 rows"
echo "$replica made from the backup (pgbackrest restore), has the 100 rows"

# The leader dies; its successor archives into the same repository.
leader=$(member_with_role 0 leader || member_with_role 1 leader)
kill -9 "$(cat "$HA_DIR/$leader/patroni.pid")" "$(head -n 1 "$HA_DIR/$leader/data/postmaster.pid")"
deadline=$((SECONDS + 45))
until new=$(member_with_role "$(( ${leader#m} == 0 ? 1 : 0 ))" leader 2>/dev/null) && [ -n "$new" ] && [ "$new" != "$leader" ] &&
  PGCONNECT_TIMEOUT=2 "$PSQL" "$("$ROOT/scripts/ha.sh" url)" -qtAc 'SELECT 1' >/dev/null 2>&1; do
  [ $SECONDS -lt $deadline ] || fail "no failover within 45 s of killing $leader"
  sleep 0.5
done
write 101 110
"$ROOT/scripts/ha.sh" backup > "$WORK/backup.log" 2>&1 || { cat "$WORK/backup.log"; fail "ha.sh backup from the new leader $new"; }
grep -q 'incr backup' "$WORK/backup.log" || { cat "$WORK/backup.log"; fail "no incremental backup listed"; }
echo "after the failover ($leader -> $new): an incremental backup from $new, its WAL in the same repository"
echo "PASS"
