#!/usr/bin/env bash
# `scripts/ha.sh up` rebuilds a replica that replayed its old timeline past
# the point where the new leader's timeline forked off it, after Patroni had
# already decided it needed no pg_rewind (Patroni looks at the position
# replayed at that moment, and never again): PostgreSQL can then never
# follow the leader, and without the mend up waits until its deadline.
# The race made on purpose: a query on the async standby holds up its replay
# of a truncation, the leader's WAL sender to the sync standby stopped, the
# truncation committed on the leader (only the async standby receives it),
# the leader killed; once the sync standby leads and the async one's Patroni
# has checked, the query goes and the replay goes past the fork.
# Then up: all three stream on the leader's timeline, the acknowledged row is
# there, a write goes through. Exit 77 (CTest: skipped) only without Patroni.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN="${USERS_BIN_DIR:-$ROOT/build/debug/bin}"
UP_LIMIT=${HA_TEST_UP_LIMIT:-90}  # seconds for one `ha.sh up` (its own deadline is longer)
PSQL=/usr/lib/postgresql/15/bin/psql
# shellcheck source=tests/ha/lib.sh
. "$(dirname "$0")/lib.sh"
require_ha_tools

WORK=$(mktemp -d /tmp/users-ha-diverged-test-XXXXXX)
chmod 755 "$WORK"  # the postgres user must enter it
export USERS_BIN_DIR="$BIN" RUN_DIR="$WORK/run" HA_DIR="$WORK/run/ha"
cleanup() {
  local status=$?
  if [ "$status" -ne 0 ] && [ "$status" -ne 77 ]; then
    for log in "$HA_DIR"/m*/patroni.log; do
      [ -f "$log" ] && { echo "--- $log (last 25 lines)"; tail -n 25 "$log"; }
    done
    repeat_failure "$status"
  fi
  # HA_TEST_KEEP=1: a failed run leaves its cluster running, for a look.
  if [ -n "${HA_TEST_KEEP:-}" ] && [ "$status" -ne 0 ]; then echo "kept $WORK (running)"; return; fi
  "$ROOT/scripts/ha.sh" down >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

up() {
  local started=$SECONDS status=0
  "$ROOT/scripts/ha.sh" up > "$WORK/up.log" 2>&1 || status=$?
  [ "$status" -eq 0 ] ||
    { cat "$WORK/up.log"; fail "ha.sh up $1 (exit status $status, $((SECONDS - started)) s): $(tail -n 1 "$WORK/up.log")"; }
  echo "up $1: $((SECONDS - started)) s"
  [ $((SECONDS - started)) -le "$UP_LIMIT" ] || fail "ha.sh up $1 took $((SECONDS - started)) s (limit $UP_LIMIT s)"
}

sql() {  # member index, SQL -> its answer (as the superuser, over the member's own socket)
  PGCONNECT_TIMEOUT=5 "$PSQL" -h "$HA_DIR/m$1" -p $((HA_PG_PORT + $1)) -U postgres -d postgres -qtAX \
    -v ON_ERROR_STOP=1 -c "$2"
}

wait_for() {  # seconds, what, command...: until the command succeeds
  local limit=$1 what=$2 deadline=$((SECONDS + $1))
  shift 2
  until "$@"; do
    [ $SECONDS -lt $deadline ] || fail "no $what within $limit s"
    sleep 0.2
  done
}

use_free_ports
up "(a new cluster)"
url=$("$ROOT/scripts/ha.sh" url)
PGCONNECT_TIMEOUT=5 "$PSQL" "$url" -qtA -v ON_ERROR_STOP=1 -c \
  "INSERT INTO users (username, email) VALUES ('acked', 'acked@ha.example.com')" >/dev/null ||
  fail "could not write the acknowledged row"
leader=$(member_with_role 0 leader) sync=$(member_with_role 0 sync_standby)
[ -n "$leader" ] && [ -n "$sync" ] || fail "no leader or no sync standby after up"
l=${leader#m} s=${sync#m} a=$((3 - ${leader#m} - ${sync#m}))
echo "leader m$l, sync standby m$s, async standby m$a"

# The async standby's replay held up by a query: a transaction there keeps a
# table that the leader will truncate (with no limit on how long the replay
# waits for it) ...
sql "$l" "CREATE TABLE fork_lock (n int)" >/dev/null
sql "$a" "ALTER SYSTEM SET max_standby_streaming_delay = -1" >/dev/null
sql "$a" "SELECT pg_reload_conf()" >/dev/null
PGAPPNAME=fork-holder "$PSQL" -h "$HA_DIR/m$a" -p $((HA_PG_PORT + a)) -U postgres -d postgres -qtAX \
  -c "BEGIN" -c "SELECT count(*) FROM fork_lock" -c "SELECT pg_sleep(600)" > /dev/null 2>&1 &
holding() { [ "$(sql "$a" "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'fork-holder' AND query LIKE '%pg_sleep%'")" = 1 ]; }
wait_for 20 "the query holding fork_lock on m$a" holding
# ... and once all is replayed everywhere, the leader sends nothing more to
# the sync standby: where that stands, the new leader's timeline will fork off.
caught_up() {
  local lsn; lsn=$(sql "$l" "SELECT pg_current_wal_flush_lsn()")
  [ "$(sql "$s" "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t ] &&
    [ "$(sql "$a" "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t ]
}
wait_for 20 "m$s and m$a replaying all of m$l's WAL" caught_up
sender=$(sql "$l" "SELECT pid FROM pg_stat_replication WHERE application_name = 'm$s'")
[ -n "$sender" ] || fail "m$l has no WAL sender for m$s"
kill -STOP "$sender"
end=$(sql "$s" "SELECT pg_last_wal_receive_lsn()")
# A commit that waits for the sync standby forever; only m$a receives it and
# waits for the query before it replays it.
sql "$l" "TRUNCATE fork_lock" > "$WORK/writer.log" 2>&1 &
writer=$!
received_past() { [ "$(sql "$a" "SELECT pg_last_wal_receive_lsn() > '$end'")" = t ]; }
wait_for 10 "m$l's commit received by m$a" received_past
kill -9 "$(cat "$HA_DIR/m$l/patroni.pid")" "$(head -n 1 "$HA_DIR/m$l/data/postmaster.pid")" "$sender"
wait "$writer" 2>/dev/null && fail "the commit waiting for the cut-off sync standby was acknowledged"
echo "killed the leader m$l; m$s received up to $end, m$a a commit past it"

# m$s takes over; m$a's Patroni compares its replayed position with the fork
# (the truncation not replayed yet: no pg_rewind needed, it decides).
lines=$(wc -l < "$HA_DIR/m$a/patroni.log")
leads() { [ "$(member_with_role "$s" leader 2>/dev/null)" = "m$s" ]; }
wait_for 45 "failover to m$s" leads
checked() { tail -n +"$lines" "$HA_DIR/m$a/patroni.log" | grep -q 'primary_timeline='; }
wait_for 30 "pg_rewind check by m$a's Patroni" checked
fork=$(curl -fsS --max-time 2 "http://127.0.0.1:$((HA_API_PORT + s))/history" | /usr/bin/python3 -c '
import json, sys
value = json.load(sys.stdin)[-1][1]
print("%X/%X" % (value >> 32, value & 0xFFFFFFFF))')
[ "$(sql "$a" "SELECT pg_last_wal_replay_lsn() <= '$fork'")" = t ] ||
  fail "m$a replayed past the fork at $fork before its Patroni checked: no race made"
# The query goes: m$a's replay goes past the fork.
sql "$a" "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'fork-holder'" >/dev/null
diverged() { [ "$(sql "$a" "SELECT pg_last_wal_replay_lsn() > '$fork'")" = t ]; }
wait_for 20 "replay past the fork at $fork on m$a" diverged
! tail -n +"$lines" "$HA_DIR/m$a/patroni.log" | grep -q 'running pg_rewind' ||
  fail "m$a's Patroni ran pg_rewind itself: no race made"
echo "m$a replayed past the fork at $fork, after its Patroni decided it needed no pg_rewind"

up "(the old leader m$l killed, m$a diverged)"
grep "^ha.sh: m$a (running on timeline .*asked Patroni to rebuild it from the leader m$s" "$WORK/up.log" ||
  { cat "$WORK/up.log"; fail "up did not rebuild m$a"; }

# What up promised, seen from Patroni: the leader streams to both others, all on its timeline.
verdict=$(cluster "$s" | /usr/bin/python3 -c '
import json, sys, urllib.request
members = json.load(sys.stdin)["members"]
leader = next(m for m in members if m["role"] == "leader")
status = json.load(urllib.request.urlopen(leader["api_url"], timeout=2))
streams = {r["application_name"]: r["state"] for r in status.get("replication", [])}
problems = ["%s does not stream" % m["name"] for m in members if m is not leader and streams.get(m["name"]) != "streaming"]
problems += ["%s on timeline %s, the leader on %s" % (m["name"], m.get("timeline"), status["timeline"])
             for m in members if m.get("timeline") != status["timeline"]]
print("; ".join(problems) or "ok")')
[ "$verdict" = ok ] || { "$ROOT/scripts/ha.sh" status || true; fail "after up: $verdict"; }
rows=$(PGCONNECT_TIMEOUT=5 "$PSQL" "$url" -qtAc "SELECT count(*) FROM users WHERE email = 'acked@ha.example.com'")
[ "$rows" = 1 ] || fail "after up: the acknowledged row is missing ($rows)"
PGCONNECT_TIMEOUT=5 "$PSQL" "$url" -qtA -v ON_ERROR_STOP=1 -c \
  "INSERT INTO users (username, email) VALUES ('after', 'after@ha.example.com')" >/dev/null ||
  fail "after up: a write does not go through"
echo "PASS"
