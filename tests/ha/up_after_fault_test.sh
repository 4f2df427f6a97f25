#!/usr/bin/env bash
# `scripts/ha.sh up` finishes what a first run left half-way, each on a new
# cluster:
#   first run A: a member's port is held by an outgoing connection (the free
#            port check must see it, not only listeners): up stops after
#            starting etcd and two members; once the port is free, up again
#            starts the member that never started and completes.
#   first run B: the member that bootstraps the cluster is killed in the
#            middle (etcd's initialize key left empty, the two others waiting
#            "for leader to bootstrap" forever): up again starts it over.
# Then it brings a cluster back from what a fault left, twice in a row:
# up -> kill -9 the leader (its Patroni and its postmaster) -> down -> up.
#   round 1: down once the failover is over: the old leader is a crashed
#            primary behind the new timeline, it needs pg_rewind to rejoin.
#   round 2: down at once after the kill, before any failover: the dead
#            leader's key is still in etcd and its member crashed mid-write.
# After every up: one leader, a sync standby and the third member streaming,
# all on the leader's timeline; every row acknowledged before is there; a
# write goes through; the failover timings are those of a new cluster (round
# 1 changes them before down). Exit 77 (CTest: skipped) only without Patroni.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN="${USERS_BIN_DIR:-$ROOT/build/debug/bin}"
UP_LIMIT=${HA_TEST_UP_LIMIT:-90}  # seconds for one `ha.sh up` (its own deadline is longer)
PSQL=/usr/lib/postgresql/15/bin/psql
# shellcheck source=tests/ha/lib.sh
. "$(dirname "$0")/lib.sh"
require_ha_tools


WORK=$(mktemp -d /tmp/users-ha-up-test-XXXXXX)
chmod 755 "$WORK"  # the postgres user must enter it
export USERS_BIN_DIR="$BIN"
HA_DIR=""
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
  [ -z "${holder:-}" ] || kill "$holder" 2>/dev/null || true
  for dir in "$WORK"/*/; do RUN_DIR=$dir "$ROOT/scripts/ha.sh" down >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

use_free_ports

marks=0
up() {  # what the cluster was left in
  local started=$SECONDS
  local status=0
  "$ROOT/scripts/ha.sh" up > "$WORK/up.log" 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    cat "$WORK/up.log"
    fail "ha.sh up after $1 (exit status $status, $((SECONDS - started)) s): $(tail -n 1 "$WORK/up.log")"
  fi
  local took=$((SECONDS - started))
  echo "up after $1: $took s"
  # What it waited for, and what it mended (e.g. a replica rebuilt from the leader).
  grep '^ha.sh: ' "$WORK/up.log" | sed 's/^/  /' || true
  [ "$took" -le "$UP_LIMIT" ] || fail "ha.sh up took $took s (limit $UP_LIMIT s)"
  check_cluster "$1"
}

# All three members back: the leader running, the two others streaming from
# it (one of them its sync standby), all on its timeline; every acknowledged
# row there; then one more row.
check_cluster() {
  local json leader status verdict url rows
  json=$(cluster 0 || cluster 1 || cluster 2) || fail "no member's REST API answers after up ($1)"
  leader=$(printf '%s' "$json" | /usr/bin/python3 -c '
import json, sys
print(next((m["name"] for m in json.load(sys.stdin)["members"] if m["role"] == "leader"), ""))')
  [ -n "$leader" ] || fail "after up ($1): no leader"
  status=$(curl -fsS --max-time 2 "http://127.0.0.1:$((HA_API_PORT + ${leader#m}))/patroni") ||
    fail "after up ($1): the leader $leader does not answer"
  verdict=$(/usr/bin/python3 -c '
import json, sys
members, leader = json.loads(sys.argv[1])["members"], json.loads(sys.argv[2])
problems = []
if len(members) != 3: problems.append("%d members" % len(members))
if leader.get("state") != "running" or leader.get("role") != "master": problems.append("the leader is %s %s" % (leader.get("state"), leader.get("role")))
streams = {r["application_name"]: r for r in leader.get("replication", [])}
for m in members:
    if m["role"] == "leader": continue
    r = streams.get(m["name"])
    if not r or r["state"] != "streaming": problems.append("%s does not stream from the leader" % m["name"])
    if m.get("timeline") != leader.get("timeline"): problems.append("%s on timeline %s, the leader on %s" % (m["name"], m.get("timeline"), leader.get("timeline")))
if sorted(r["sync_state"] for r in streams.values()) != ["async", "sync"]: problems.append("sync states %s" % sorted(r["sync_state"] for r in streams.values()))
if not any(m["role"] == "sync_standby" for m in members): problems.append("no sync standby")
print("; ".join(problems) or "ok")' "$json" "$status")
  [ "$verdict" = ok ] || { "$ROOT/scripts/ha.sh" status || true; fail "after up ($1): $verdict"; }
  timings=$(timings "${leader#m}")
  [ -z "${first_timings:-}" ] || [ "$timings" = "$first_timings" ] ||
    fail "after up ($1): timings $timings, a new cluster had $first_timings"
  first_timings=${first_timings:-$timings}
  url=$("$ROOT/scripts/ha.sh" url)
  rows=$(PGCONNECT_TIMEOUT=5 "$PSQL" "$url" -qtAc "SELECT count(*) FROM users WHERE email LIKE 'mark-%@ha.example.com'")
  [ "$rows" -eq "$marks" ] || fail "after up ($1): $rows marked rows, $marks were acknowledged"
  mark
}

timings() {  # member index -> Patroni's failover timings (dynamic configuration)
  curl -fsS --max-time 2 "http://127.0.0.1:$((HA_API_PORT + $1))/config" | /usr/bin/python3 -c '
import json, sys
config = json.load(sys.stdin)
print(" ".join("%s=%s" % (k, config.get(k)) for k in ("ttl", "loop_wait", "retry_timeout", "primary_start_timeout")))'
}

mark() {  # one more acknowledged row (synchronous commit: on the sync standby too)
  marks=$((marks + 1))
  PGCONNECT_TIMEOUT=5 "$PSQL" "$("$ROOT/scripts/ha.sh" url)" -qtA -v ON_ERROR_STOP=1 -c \
    "INSERT INTO users (username, email) VALUES ('mark-$marks', 'mark-$marks@ha.example.com')" >/dev/null ||
    fail "could not write mark $marks"
}

kill_leader() {
  local leader dir
  leader=$(member_with_role 0 leader || member_with_role 1 leader || member_with_role 2 leader)
  [ -n "$leader" ] || fail "no leader to kill"
  dir="$HA_DIR/$leader"
  kill -9 "$(cat "$dir/patroni.pid")" "$(head -n 1 "$dir/data/postmaster.pid")"
  echo "killed the leader $leader" >&2
  echo "$leader"
}

down() {
  local started=$SECONDS
  "$ROOT/scripts/ha.sh" down || fail "ha.sh down"
  echo "down: $((SECONDS - started)) s"
}

started=$SECONDS

# First run A: m2's REST API port taken by an outgoing connection.
export RUN_DIR="$WORK/first-a" HA_DIR="$WORK/first-a/ha"
/usr/bin/python3 -c '
import socket, sys, time
server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen(1)
client = socket.socket(); client.bind(("127.0.0.1", int(sys.argv[1]))); client.connect(server.getsockname())
connection, _ = server.accept()
print("held", flush=True)
time.sleep(600)' $((HA_API_PORT + 2)) > "$WORK/holder.out" &
holder=$!
for _ in $(seq 50); do grep -q held "$WORK/holder.out" && break; sleep 0.1; done
[ -z "$(ss -Hltn "sport = :$((HA_API_PORT + 2))")" ] || fail "the holder listens (it must only connect)"
if "$ROOT/scripts/ha.sh" up > "$WORK/up.log" 2>&1; then fail "ha.sh up started m2 on a port held by pid $holder"; fi
grep -q "port $((HA_API_PORT + 2)) (member m2 REST API) is already in use by pid $holder" "$WORK/up.log" ||
  { cat "$WORK/up.log"; fail "ha.sh up did not name the held port and its holder"; }
kill "$holder"; wait "$holder" 2>/dev/null || true; holder=""
up "a first run that stopped before m2 started"
down

# First run B: the bootstrap killed half-way.
export RUN_DIR="$WORK/first-b" HA_DIR="$WORK/first-b/ha"
marks=0
"$ROOT/scripts/ha.sh" up > "$WORK/up-killed.log" 2>&1 &
up_pid=$!
bootstrapper=""
deadline=$((SECONDS + 90))
until [ -n "$bootstrapper" ]; do
  [ $SECONDS -lt $deadline ] || { cat "$WORK/up-killed.log"; fail "no bootstrap seen within 90 s"; }
  sleep 0.1
  # The initialize key present and still empty: a bootstrap under way.
  mapfile -t key < <(ETCDCTL_API=3 etcdctl --endpoints="127.0.0.1:$HA_ETCD_PORT" --command-timeout=1s \
    get /service/users-ha/initialize 2>/dev/null || true)
  [ "${#key[@]}" -ge 1 ] && [ -z "${key[1]:-}" ] || continue
  bootstrapper=$(grep -l 'trying to bootstrap a new cluster' "$HA_DIR"/m*/patroni.log 2>/dev/null | head -n 1 || true)
done
bootstrapper=$(basename "$(dirname "$bootstrapper")")
descendants() { local child; for child in $(ps -o pid= --ppid "$1"); do echo "$child"; descendants "$child"; done; }
patroni_pid=$(cat "$HA_DIR/$bootstrapper/patroni.pid")
victims="$up_pid $patroni_pid $(descendants "$patroni_pid" | tr '\n' ' ')"
# initdb's postmaster may come and go between a look and a read: no pid, no victim.
postmaster=$(head -n 1 "$HA_DIR/$bootstrapper/data/postmaster.pid" 2>/dev/null || true)
[ -z "$postmaster" ] || victims+=" $postmaster"
# shellcheck disable=SC2086 # a list of PIDs
kill -9 $victims 2>/dev/null || true
wait "$up_pid" 2>/dev/null || true
echo "killed $bootstrapper's bootstrap half-way (pids $victims)"
up "a first run whose bootstrap was killed half-way"
grep -q 'a bootstrap that never finished' "$WORK/up.log" || fail "up did not say it started the bootstrap over"
down

export RUN_DIR="$WORK/run" HA_DIR="$WORK/run/ha"
marks=0
up "nothing (a new cluster)"

# Round 1: the failover completes (a write goes through on the new leader),
# then down: the old leader must be rewound to rejoin.
old=$(kill_leader)
deadline=$((SECONDS + 45))
until PGCONNECT_TIMEOUT=2 "$PSQL" "$("$ROOT/scripts/ha.sh" url)" -qtAc "SELECT 1" >/dev/null 2>&1 &&
  [ -n "$(member_with_role "$(( ${old#m} == 0 ? 1 : 0 ))" leader)" ]; do
  [ $SECONDS -lt $deadline ] || fail "no failover within 45 s of killing $old"
  sleep 0.5
done
mark
# As if the cluster had been created with other timings: up sets its own.
curl -fsS -o /dev/null --max-time 5 -X PATCH -d '{"ttl": 10, "retry_timeout": 4, "primary_start_timeout": 300}' \
  "http://127.0.0.1:$((HA_API_PORT + $(( ${old#m} == 0 ? 1 : 0 ))))/config" || fail "could not change the timings"
down
up "a failover (old leader $old killed) and other timings"

# Round 2: down right after the kill, before the failover: the dead
# leader's key is left in etcd.
old=$(kill_leader)
down
up "a leader killed just before down ($old)"
down
echo "PASS ($((SECONDS - started)) s in all, $marks rows acknowledged and found)"
