#!/usr/bin/env bash
# The primary dies under a write load and no acknowledged write is lost.
# A three-member Patroni cluster (scripts/ha.sh) on free ports, one
# users-service with the multi-host URL, several clients POSTing unique
# emails; then kill -9 the leader's Patroni and its postmaster, so the other
# Patroni members must promote the sync standby. At the end: every email that
# got 201 is in the new primary's users table, no duplicates, the same service
# process serves writes again within a bounded time, and no request hung.
# Exit 77 (CTest: skipped) only when Patroni or etcd is not installed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN="${USERS_BIN_DIR:-$ROOT/build/debug/bin}"
CLIENTS=${HA_TEST_CLIENTS:-6}
LOAD_BEFORE_KILL=${HA_TEST_LOAD_BEFORE_KILL:-5}  # seconds of load with a healthy cluster
LOAD_AFTER_RECOVERY=3    # seconds of load once writes succeed again
GIVE_UP_AFTER=45         # seconds after the kill without a 201: fail
FAILOVER_LIMIT=30        # seconds from the kill to the first 201 after it
SLOWEST_503_LIMIT=3      # seconds: with no primary, the 503 comes fast
SLOWEST_LIMIT=6          # seconds: no request hangs (statement_timeout is 5 s)
# shellcheck source=tests/ha/lib.sh
. "$(dirname "$0")/lib.sh"
require_ha_tools


WORK=$(mktemp -d /tmp/users-ha-test-XXXXXX)
chmod 755 "$WORK"  # the postgres user must enter it
export RUN_DIR="$WORK/run" USERS_BIN_DIR="$BIN"
service_pid=""
cleanup() {
  local status=$?
  if [ "$status" -ne 0 ] && [ "$status" -ne 77 ]; then
    echo "service log, errors and the last warnings:"
    grep -E ' error | 50[0-24-9] [0-9.]+ms' "$WORK/service.log" | tail -n 20 || true
    grep ' warning ' "$WORK/service.log" | tail -n 5 || true
    tail -n 20 "$RUN_DIR"/ha/m*/patroni.log 2>/dev/null || true
    repeat_failure "$status"
  fi
  [ -n "$service_pid" ] && kill "$service_pid" 2>/dev/null && wait "$service_pid" 2>/dev/null
  "$ROOT/scripts/ha.sh" down >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

now() { date +%s.%N; }
less_than() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a < b)}'; }


use_free_ports
started=$SECONDS
"$ROOT/scripts/ha.sh" up > "$WORK/up.log" 2>&1 || { cat "$WORK/up.log"; fail "ha.sh up"; }
echo "cluster up in $((SECONDS - started)) s"
URL=$("$ROOT/scripts/ha.sh" url)
HA_DIR="$RUN_DIR/ha"
[ -d "$HA_DIR/m0" ] || fail "no cluster under $HA_DIR"


first_leader=$(member_with_role 0 leader)
timeline() { cluster 0 | /usr/bin/python3 -c '
import json, sys
print(next((m.get("timeline") for m in json.load(sys.stdin)["members"] if m["role"] == "leader"), ""))'; }
first_timeline=$(timeline)

start_service

# The clients: one line per request in requests.log (tests/ha/write_load.py).
"$(dirname "$0")/write_load.py" "$SERVICE_PORT" "$CLIENTS" "$WORK/requests.log" "$WORK/stop" &
load_pid=$!
sleep "$LOAD_BEFORE_KILL"

leader=$(member_with_role 0 leader)
sync_standby=$(member_with_role 0 sync_standby)
[ -n "$leader" ] && [ -n "$sync_standby" ] || fail "no leader ($leader) or sync standby ($sync_standby)"
# No false failover: under the load, on a busy machine, the first leader
# kept its key (same leader, same timeline) and every write before the kill
# was acknowledged.
[ "$leader" = "$first_leader" ] && [ "$(timeline)" = "$first_timeline" ] ||
  fail "a failover without a fault: the leader was $first_leader on timeline $first_timeline, now $leader on $(timeline)"
echo "before the kill ($LOAD_BEFORE_KILL s of load): $(cat "$HA_DIR"/m*/patroni.log | grep -c 'Error communicating with DCS') etcd calls failed, $(cat "$HA_DIR"/m*/patroni.log | grep -c 'Loop time exceeded') Patroni loops late"
before_kill=$(awk '$3 != 201' "$WORK/requests.log" | wc -l)
[ "$before_kill" -eq 0 ] || fail "$before_kill writes failed before the kill"
leader_dir="$HA_DIR/$leader"
patroni_pid=$(cat "$leader_dir/patroni.pid")
postmaster_pid=$(head -n 1 "$leader_dir/data/postmaster.pid")
killed_at=$(now)
kill -9 "$patroni_pid" "$postmaster_pid"
echo "killed the leader $leader (patroni $patroni_pid, postmaster $postmaster_pid); sync standby was $sync_standby"

# The old primary's backends may still answer for a moment after the kill;
# the outage is over at the first 201 after the last failure. Load goes on
# until there has been no failure for LOAD_AFTER_RECOVERY s, or gives up.
recovered_at() {  # the end of the first 201 after the last failure since the kill
  awk -v t="$killed_at" -v n="$(now)" -v h="$LOAD_AFTER_RECOVERY" '
    NR == FNR { if ($1 > t && $3 != 201 && $1 > last_bad) last_bad = $1; next }
    last_bad != "" && $1 > last_bad && $3 == 201 && (first == "" || $1 + $2 < first) { first = $1 + $2 }
    END { if (first != "" && n - last_bad >= h) printf "%.6f\n", first }' \
    "$WORK/requests.log" "$WORK/requests.log"
}
give_up_at=$(awk -v t="$killed_at" -v g="$GIVE_UP_AFTER" 'BEGIN {printf "%.6f", t + g}')
first_201=""
while [ -z "$first_201" ] && less_than "$(now)" "$give_up_at"; do
  sleep 0.2
  first_201=$(recovered_at)
done
touch "$WORK/stop"
wait "$load_pid"
posts=$(wc -l < "$WORK/requests.log")
created=$(awk '$3 == 201' "$WORK/requests.log" | wc -l)
unavailable=$(awk '$3 == 503' "$WORK/requests.log" | wc -l)
other=$((posts - created - unavailable))
slowest=$(awk 'BEGIN {m = 0} $2 > m {m = $2} END {printf "%.2f", m}' "$WORK/requests.log")
slowest_503=$(awk 'BEGIN {m = 0} $3 == 503 && $2 > m {m = $2} END {printf "%.2f", m}' "$WORK/requests.log")
median_201=$(awk '$3 == 201 {print $2}' "$WORK/requests.log" | sort -n |
  awk '{v[NR] = $1} END {printf "%.3f", NR ? v[int((NR + 1) / 2)] : 0}')

# The new primary, through the same multi-host URL (libpq finds it).
new_leader=$(member_with_role "${sync_standby#m}" leader)
/usr/lib/postgresql/15/bin/psql "$URL" -qtAc \
  "SELECT email FROM users WHERE email LIKE '%@ha.example.com'" | sort > "$WORK/rows"
rows=$(wc -l < "$WORK/rows")
duplicates=$(uniq -d "$WORK/rows" | wc -l)
awk '$3 == 201 {print $4}' "$WORK/requests.log" | sort > "$WORK/acknowledged"
lost=$(comm -23 "$WORK/acknowledged" "$WORK/rows" | wc -l)
awk '{print $4}' "$WORK/requests.log" | sort > "$WORK/posted"
unknown=$(comm -23 "$WORK/rows" "$WORK/posted" | wc -l)

early=$(awk -v t="$killed_at" 'NR == FNR { if ($1 > t && $3 != 201 && (b == "" || $1 < b)) b = $1; next }
  $1 > t && $1 < b && $3 == 201 {c++} END {print c + 0}' "$WORK/requests.log" "$WORK/requests.log")
if [ -n "$first_201" ]; then
  failover=$(awk -v a="$first_201" -v b="$killed_at" 'BEGIN {printf "%.1f", a - b}')
else
  failover="none within $GIVE_UP_AFTER s"
fi
echo "posts $posts, 201 $created, 503 $unavailable, other $other; rows $rows, lost acknowledged $lost, duplicates $duplicates"
echo "failover: first 201 after the outage ${failover} s after the kill ($early 201s from the old primary's backends after the kill); new leader $new_leader; median 201 ${median_201} s"
echo "slowest: 503 ${slowest_503} s, any ${slowest} s; the five slowest (status, seconds, started after the kill):"
sort -k2,2nr "$WORK/requests.log" |
  awk -v t="$killed_at" 'NR <= 5 {printf "  %s %.2f s, %+.2f s\n", $3, $2, $1 - t}'
if [ "$other" -gt 0 ]; then
  echo "statuses other than 201 and 503 (0: no answer):"; awk '$3 != 201 && $3 != 503 {print $3}' "$WORK/requests.log" | sort | uniq -c
fi

[ -n "$first_201" ] || fail "no write succeeded within $GIVE_UP_AFTER s of the kill"
less_than "$failover" "$FAILOVER_LIMIT" || fail "failover took $failover s (limit $FAILOVER_LIMIT s)"
[ "$lost" -eq 0 ] || { comm -23 "$WORK/acknowledged" "$WORK/rows" | awk 'NR <= 10'; fail "$lost acknowledged writes lost"; }
[ "$duplicates" -eq 0 ] || fail "$duplicates duplicate emails"
[ "$unknown" -eq 0 ] || fail "$unknown rows nobody posted"
[ "$created" -gt 0 ] && [ "$rows" -ge "$created" ] || fail "rows $rows < acknowledged $created"
[ "$other" -eq 0 ] || fail "$other responses neither 201 nor 503"
[ "$new_leader" = "$sync_standby" ] || fail "the new leader is $new_leader, not the sync standby $sync_standby"
less_than "$slowest_503" "$SLOWEST_503_LIMIT" || fail "a 503 took $slowest_503 s (limit $SLOWEST_503_LIMIT s)"
less_than "$slowest" "$SLOWEST_LIMIT" || fail "a request took $slowest s (limit $SLOWEST_LIMIT s)"
# The same process, never restarted, still listening.
kill -0 "$service_pid" 2>/dev/null || fail "the service exited"
ss -Hltnp "sport = :$SERVICE_PORT" | grep -q "pid=$service_pid," || fail "pid $service_pid no longer listens"
! grep -qF "$(cat "$HA_DIR/app_password")" "$WORK/service.log" || fail "the database password is in the service log"
echo "PASS"
