#!/usr/bin/env bash
# A local PostgreSQL that survives its primary: three PostgreSQL 15 members on
# loopback, each run by Patroni, which elects the leader through its built-in
# Raft (pysyncobj) -- no etcd or Consul to run. synchronous_mode makes every
# acknowledged commit wait for the sync standby, and only that standby may be
# promoted, so a failover never loses an acknowledged write.
#   ha.sh up      start the members, whatever state a fault left them in; wait
#                 until the leader runs and both other members stream from it
#                 (one as its sync standby), printing what it waits for whenever
#                 that changes; `manage migrate` through the URL (it lands on the
#                 leader); print the URL with its password masked
#   ha.sh down    stop what `up` started (by PID); data is kept under the state dir
#   ha.sh status  one line per member: name, role, state, postgres port, timeline, lag
#   ha.sh url     the multi-host libpq URI; libpq picks the writable member itself
# State under ${RUN_DIR:-.run}/ha. Ports: member i (0..2) uses HA_PG_PORT+i for
# PostgreSQL, HA_API_PORT+i for Patroni's REST API and HA_RAFT_PORT+i for Raft;
# they are fixed when the cluster is first created (ha.env in the state dir).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUN_DIR="${RUN_DIR:-$ROOT/.run}"
HA_DIR="$RUN_DIR/ha"
# As root, PostgreSQL runs as the postgres user, who may not be able to enter
# this checkout (e.g. under /root): keep the cluster in /var/tmp then.
if [ "$(id -u)" -eq 0 ] && id postgres >/dev/null 2>&1; then
  mkdir -p "$RUN_DIR"
  if ! runuser -u postgres -- test -x "$RUN_DIR"; then
    HA_DIR="/var/tmp/users-service-$(printf '%s' "$RUN_DIR" | md5sum | cut -c1-8)/ha"
    mkdir -p "$(dirname "$HA_DIR")" && chmod 755 "$(dirname "$HA_DIR")"
  fi
fi
MEMBERS=(0 1 2)
BIN="${USERS_BIN_DIR:-$ROOT/build/release/bin}"
PYTHON=/usr/bin/python3  # Debian's, the one patroni and pysyncobj are installed for

# Ports and names are fixed at creation: a later `url` or `status` without the
# same environment must still find the cluster.
if [ -f "$HA_DIR/ha.env" ]; then
  # shellcheck source=/dev/null
  . "$HA_DIR/ha.env"
fi
HA_PG_PORT="${HA_PG_PORT:-55440}"
HA_API_PORT="${HA_API_PORT:-58440}"
HA_RAFT_PORT="${HA_RAFT_PORT:-52440}"
HA_DB="${HA_DB:-users_prod}"
HA_USER="${HA_USER:-users}"

# Failover timings (Patroni's dynamic configuration, kept in Raft; `up` sets
# them on an existing cluster too). The leader refreshes its key every
# loop_wait s; when it dies, the key expires after ttl s and the sync standby
# takes over at once; a Raft or PostgreSQL call is retried for retry_timeout s.
# Patroni's rule: loop_wait + 2 * retry_timeout <= ttl, whole seconds.
# primary_start_timeout 0: a primary whose PostgreSQL crashed (its Patroni
# alive) hands over to the sync standby instead of restarting in place; with
# synchronous_mode that loses no acknowledged write.
HA_TTL=4 HA_LOOP_WAIT=1 HA_RETRY_TIMEOUT=1 HA_PRIMARY_START_TIMEOUT=0
DYNAMIC_CONFIG="{\"ttl\": $HA_TTL, \"loop_wait\": $HA_LOOP_WAIT, \"retry_timeout\": $HA_RETRY_TIMEOUT, \"primary_start_timeout\": $HA_PRIMARY_START_TIMEOUT}"

pg_bindir() {
  local dir=/usr/lib/postgresql/15/bin
  [ -x "$dir/postgres" ] || dir=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  [ -x "$dir/postgres" ] || { echo "ha.sh: PostgreSQL server binaries not found (install postgresql)" >&2; exit 1; }
  echo "$dir"
}

member_dir() { echo "$HA_DIR/m$1"; }

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Runs a command as the cluster's owner and keeps its PID (setpriv execs,
# runuser would fork and leave its own PID in $!).
exec_as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then
    exec setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
  else
    exec "$@"
  fi
}

# A password safe in a URI and in SQL without quoting: letters and digits.
new_password() { head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24; }

alive() {  # pid file, process name it must have
  local pid
  [ -s "$1" ] || return 1
  pid=$(cat "$1")
  kill -0 "$pid" 2>/dev/null && grep -q "$2" "/proc/$pid/cmdline" 2>/dev/null
}

require_free_port() {  # port, what
  if [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; then
    echo "ha.sh: port $1 ($2) is already in use; set HA_PG_PORT / HA_API_PORT / HA_RAFT_PORT (bases of three ports each)" >&2
    exit 1
  fi
}

app_url() {
  local hosts="" i
  for i in "${MEMBERS[@]}"; do hosts+="${hosts:+,}127.0.0.1:$((HA_PG_PORT + i))"; done
  echo "postgresql://$HA_USER:$(cat "$HA_DIR/app_password")@$hosts/$HA_DB?target_session_attrs=read-write&connect_timeout=2"
}

# Patroni's view of the cluster from the first member whose REST API answers.
cluster_json() {
  local i
  for i in "${MEMBERS[@]}"; do
    curl -fsS --max-time 2 "http://127.0.0.1:$((HA_API_PORT + i))/cluster" 2>/dev/null && return 0
  done
  return 1
}

# What the cluster still lacks before `up` is done, in words, or "ready":
# a running leader, the two other members streaming from it (one of them its
# sync standby), and the timings above in Patroni's dynamic configuration
# (set here when they differ: a cluster created with other timings gets them).
# A member that is not streaming is shown with its state and the last line of
# its Patroni log (crash recovery, pg_rewind, a base backup...).
cluster_state() {
  "$PYTHON" - "$HA_API_PORT" "${#MEMBERS[@]}" "$HA_DIR" "$DYNAMIC_CONFIG" "$UP_STARTED" <<'EOF'
import json, re, sys, urllib.error, urllib.request
api_base, count, ha_dir, wanted = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
since = sys.argv[5]  # Patroni's log lines from before this `up` are another story
names = ["m%d" % i for i in range(count)]

def call(i, path, method="GET", body=None):
    request = urllib.request.Request("http://127.0.0.1:%d%s" % (api_base + i, path), method=method,
                                     data=body and json.dumps(body).encode())
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:  # /patroni answers 503 while PostgreSQL is down
        try:
            return json.load(error)
        except Exception:
            return None
    except Exception:
        return None

def last_log_line(name):
    try:
        with open("%s/%s/patroni.log" % (ha_dir, name), "rb") as log:
            log.seek(0, 2)
            log.seek(max(0, log.tell() - 8192))
            lines = log.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return "no Patroni log yet"
    for line in reversed(lines):
        match = re.match(r"(\d{4}-\d\d-\d\d [\d:]+)[,.]\d+ (?:INFO|WARNING|ERROR): (.*)", line)
        if match:
            return match.group(2)[:160] if match.group(1) >= since else "no Patroni log line yet"
    return "no Patroni log line yet"

def about(name, members):
    member = members.get(name)
    state = "not in Patroni's member list" if member is None else "%s, timeline %s" % (
        member.get("state"), member.get("timeline", "-"))
    return "%s (%s; Patroni: %s)" % (name, state, last_log_line(name))

cluster = next((c for c in (call(i, "/cluster") for i in range(count)) if c is not None), None)
if cluster is None:
    print("a member's Patroni REST API to answer: " + "; ".join(
        "%s: %s" % (name, last_log_line(name)) for name in names))
    sys.exit()
members = {m["name"]: m for m in cluster.get("members", [])}
leader = next((m for m in members.values() if m.get("role") == "leader"), None)
if leader is None:
    print("a leader: " + "; ".join(about(name, members) for name in names))
    sys.exit()
status = call(names.index(leader["name"]), "/patroni") if leader["name"] in names else None
if not status or status.get("state") != "running" or status.get("role") not in ("master", "primary"):
    print("the leader %s to run as primary (the leader key is its; a stale key expires after ttl): %s"
          % (leader["name"], about(leader["name"], members)))
    sys.exit()
streams = {r.get("application_name"): r for r in status.get("replication") or []}
# Streaming as PostgreSQL sees it, and running on the leader's timeline as
# the member's Patroni reports it (it lags PostgreSQL by up to a loop).
lagging = [name for name in names if name != leader["name"] and (
    (streams.get(name) or {}).get("state") != "streaming" or members.get(name, {}).get("state") != "running"
    or members.get(name, {}).get("timeline") != status.get("timeline"))]
if lagging:
    print("%s to stream from the leader %s: " % (" and ".join(lagging), leader["name"]) +
          "; ".join(about(name, members) for name in lagging))
    sys.exit()
sync = [name for name, r in streams.items() if r.get("sync_state") == "sync"]
if not sync or not any(members.get(name, {}).get("role") == "sync_standby" for name in sync):
    print("a sync standby: the leader %s assigns one at its next loop (%s)" % (
        leader["name"], ", ".join("%s %s" % (n, r.get("sync_state")) for n, r in sorted(streams.items()))))
    sys.exit()
config = call(names.index(leader["name"]), "/config") or {}
if any(config.get(key) != value for key, value in wanted.items()):
    call(names.index(leader["name"]), "/config", "PATCH", wanted)
    print("Patroni's dynamic configuration to take %s (it had %s)" % (
        json.dumps(wanted), json.dumps({key: config.get(key) for key in wanted})))
    sys.exit()
print("ready")
EOF
}

write_config() {  # member
  local i=$1 dir partners="" j
  dir=$(member_dir "$i")
  for j in "${MEMBERS[@]}"; do
    [ "$j" = "$i" ] || partners+="${partners:+, }'127.0.0.1:$((HA_RAFT_PORT + j))'"
  done
  cat > "$dir/patroni.yml" <<EOF
scope: users-ha
name: m$i
log:
  level: INFO
restapi:
  listen: 127.0.0.1:$((HA_API_PORT + i))
  connect_address: 127.0.0.1:$((HA_API_PORT + i))
raft:
  data_dir: $dir/raft
  self_addr: 127.0.0.1:$((HA_RAFT_PORT + i))
  partner_addrs: [$partners]
bootstrap:
  dcs:
    ttl: $HA_TTL
    loop_wait: $HA_LOOP_WAIT
    retry_timeout: $HA_RETRY_TIMEOUT
    primary_start_timeout: $HA_PRIMARY_START_TIMEOUT
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      parameters:
        max_connections: 200
        wal_keep_size: 128MB
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
  post_bootstrap: $HA_DIR/post_bootstrap.sh
postgresql:
  listen: 127.0.0.1:$((HA_PG_PORT + i))
  connect_address: 127.0.0.1:$((HA_PG_PORT + i))
  use_unix_socket: true
  data_dir: $dir/data
  bin_dir: $(pg_bindir)
  pgpass: $dir/pgpass
  # A spread checkpoint would make each new replica wait minutes for nothing.
  basebackup:
    - checkpoint: fast
  authentication:
    superuser: {username: postgres, password: $(cat "$HA_DIR/superuser_password")}
    replication: {username: replicator, password: $(cat "$HA_DIR/replication_password")}
  parameters:
    unix_socket_directories: $dir
    logging_collector: 'on'
    log_directory: $dir/log
  # The socket directory is the postgres user's alone, so trust there is
  # trust in that user; every TCP connection needs its password.
  pg_hba:
    - local all all trust
    - host replication replicator 127.0.0.1/32 scram-sha-256
    - host all all 127.0.0.1/32 scram-sha-256
watchdog:
  mode: off
EOF
}

prepare() {
  mkdir -p "$HA_DIR"
  if [ ! -f "$HA_DIR/ha.env" ]; then
    printf 'HA_PG_PORT=%s\nHA_API_PORT=%s\nHA_RAFT_PORT=%s\nHA_DB=%s\nHA_USER=%s\n' \
      "$HA_PG_PORT" "$HA_API_PORT" "$HA_RAFT_PORT" "$HA_DB" "$HA_USER" > "$HA_DIR/ha.env"
  fi
  local secret
  for secret in superuser_password replication_password app_password; do
    [ -s "$HA_DIR/$secret" ] || (umask 077; new_password > "$HA_DIR/$secret")
  done
  # Patroni runs this once, on the member that bootstraps the cluster, with a
  # superuser connection string as its argument.
  (umask 077; cat > "$HA_DIR/post_bootstrap.sh" <<EOF
#!/bin/sh
set -e
$(pg_bindir)/psql "\$1" -v ON_ERROR_STOP=1 -q \\
  -c "CREATE ROLE \"$HA_USER\" LOGIN PASSWORD '$(cat "$HA_DIR/app_password")'" \\
  -c "CREATE DATABASE \"$HA_DB\" OWNER \"$HA_USER\""
EOF
  )
  chmod 700 "$HA_DIR/post_bootstrap.sh"
  # Patroni through this wrapper: Debian's pysyncobj 0.3.11 starts every Raft
  # node at term 0 whatever its journal holds (it keeps no term on disk). When
  # all three restart at once (`down`, then `up`), a member whose old log ends
  # in a higher term can then win an election and overwrite what the others
  # committed meanwhile: members see different leader keys, or none, and the
  # cluster never settles (PySyncObj issue #201). The wrapper starts the term
  # at the last one in the journal, which Raft's election rule then respects.
  cat > "$HA_DIR/patroni_raft_term.py" <<'EOF'
import sys
import patroni.dcs.raft as raft

start = raft.KVStoreTTL.__init__


def start_at_the_journal_term(self, *args, **kwargs):
    start(self, *args, **kwargs)  # loads the journal; nothing runs until the first tick
    log = self._SyncObj__raftLog
    if len(log) and self._SyncObj__raftCurrentTerm < log[len(log) - 1][2]:
        self._SyncObj__raftCurrentTerm = log[len(log) - 1][2]


raft.KVStoreTTL.__init__ = start_at_the_journal_term
# Patroni starts PostgreSQL through multiprocessing's spawn, whose child
# imports this file again: only the first process is Patroni.
if __name__ == "__main__":
    from patroni.__main__ import main
    sys.exit(main())
EOF
  chmod 644 "$HA_DIR/patroni_raft_term.py"
  local i
  for i in "${MEMBERS[@]}"; do
    mkdir -p "$(member_dir "$i")/log"
    (umask 077; write_config "$i")
  done
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$HA_DIR" "$HA_DIR/post_bootstrap.sh"
    for i in "${MEMBERS[@]}"; do chown -R postgres: "$(member_dir "$i")"; done
    chmod 700 "$HA_DIR/m"*
    runuser -u postgres -- test -x "$HA_DIR" || {
      echo "ha.sh: the postgres user cannot reach $HA_DIR (a parent directory is not traversable)" >&2; exit 1; }
  fi
}

own_postmaster_alive() {  # member dir
  local pid
  [ -s "$1/data/postmaster.pid" ] || return 1
  pid=$(head -n 1 "$1/data/postmaster.pid")
  kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ]
}

start_member() {  # member
  local i=$1 dir
  dir=$(member_dir "$i")
  if alive "$dir/patroni.pid" patroni; then return 0; fi
  # A postmaster left running by a Patroni that was killed holds its port:
  # the new Patroni adopts it.
  own_postmaster_alive "$dir" || require_free_port $((HA_PG_PORT + i)) "member m$i postgres"
  require_free_port $((HA_API_PORT + i)) "member m$i REST API"
  require_free_port $((HA_RAFT_PORT + i)) "member m$i raft"
  ( exec_as_postgres env -i PATH=/usr/bin:/bin HOME="$dir" LC_ALL=C.UTF-8 \
      "$PYTHON" "$HA_DIR/patroni_raft_term.py" "$dir/patroni.yml" ) >> "$dir/patroni.log" 2>&1 < /dev/null &
  echo $! > "$dir/patroni.pid"
}

# SIGTERM: Patroni shuts its PostgreSQL down (fast) and then exits. All three
# at once: one by one, the last ones lose the Raft quorum and wait it out.
stop_members() {
  local i dir pids=() pid postmaster
  for i in "${MEMBERS[@]}"; do
    dir=$(member_dir "$i")
    if alive "$dir/patroni.pid" patroni; then
      pid=$(cat "$dir/patroni.pid")
      kill "$pid" && pids+=("$pid")
    fi
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  done
  for i in "${MEMBERS[@]}"; do
    dir=$(member_dir "$i")
    rm -f "$dir/patroni.pid"
    # A postmaster whose Patroni was killed (as the failover test does).
    if own_postmaster_alive "$dir"; then
      postmaster=$(head -n 1 "$dir/data/postmaster.pid")
      as_postgres "$(pg_bindir)/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null || kill -9 "$postmaster"
    fi
  done
}

case "${1:-}" in
  up)
    command -v patroni >/dev/null && "$PYTHON" -c 'import pysyncobj' 2>/dev/null || {
      echo "ha.sh: patroni and python3-pysyncobj are needed (scripts/install-deps.sh ha)" >&2; exit 1; }
    [ -x "$BIN/manage" ] || { echo "ha.sh: $BIN/manage not found (make build-release, or set USERS_BIN_DIR)" >&2; exit 1; }
    prepare
    UP_STARTED=$(env -u TZ date '+%F %T')  # in Patroni's time zone (it runs without TZ)
    for i in "${MEMBERS[@]}"; do start_member "$i"; done
    # Whatever a fault left (a crashed primary, a member to rewind, the dead
    # leader's key still in Raft), Patroni sorts it out; this waits for the
    # whole cluster and says what it is waiting for whenever that changes.
    deadline=$((SECONDS + ${HA_UP_TIMEOUT:-120}))
    said=""
    while :; do
      state=$(cluster_state)
      if [ "$state" = ready ]; then
        PGCONNECT_TIMEOUT=2 "$(pg_bindir)/psql" "$(app_url)" -qtAc 'SELECT 1' >/dev/null 2>&1 && break
        state="the URL to reach a writable member"
      fi
      if [ "$state" != "$said" ]; then
        echo "ha.sh: waiting for $state" >&2
        said=$state
      fi
      if [ $SECONDS -ge $deadline ]; then
        echo "ha.sh: gave up after ${HA_UP_TIMEOUT:-120} s (HA_UP_TIMEOUT), still waiting for $state; see $HA_DIR/m*/patroni.log" >&2
        exit 1
      fi
      sleep 0.5
    done
    env -i PATH="$PATH" APP_ENV=development DATABASE_URL="$(app_url)" "$BIN/manage" migrate
    "$0" status
    # The password stays out of terminals and CI logs: `ha.sh url` prints it.
    app_url | sed 's|^\(postgresql://[^:]*:\)[^@]*@|\1***@|'
    echo "(scripts/ha.sh url prints the URL with its password)"
    ;;
  down)
    [ -d "$HA_DIR" ] || exit 0
    stop_members
    ;;
  status)
    json=$(cluster_json) || { echo "ha.sh: no member answers (is the cluster up?)" >&2; exit 1; }
    printf '%s' "$json" | "$PYTHON" -c '
import json, sys
for m in json.load(sys.stdin).get("members", []):
    print("{:<4} {:<13} {:<10} port {:<6} timeline {:<3} lag {}".format(
        m.get("name"), m.get("role"), m.get("state"), m.get("port"),
        m.get("timeline", "-"), m.get("lag", 0)))'
    ;;
  url)
    [ -s "$HA_DIR/app_password" ] || { echo "ha.sh: no cluster under $HA_DIR (run ha.sh up)" >&2; exit 1; }
    app_url
    ;;
  *)
    echo "usage: $0 up | down | status | url" >&2
    exit 64
    ;;
esac
