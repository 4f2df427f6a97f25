#!/usr/bin/env bash
# A local PostgreSQL that survives its primary: three PostgreSQL 15 members on
# loopback, each run by Patroni, which elects the leader through a three-member
# etcd (Debian's etcd 3.4, Patroni's etcd3 API) on loopback too, started and
# stopped here like the rest. synchronous_mode makes every acknowledged commit
# wait for the sync standby, and only that standby may be promoted, so a
# failover never loses an acknowledged write.
#   ha.sh up      start etcd and the members, whatever state a fault or a first
#                 run that stopped half-way left them in (a bootstrap that never
#                 finished is undone, an incomplete data directory is moved
#                 aside, a replica that replayed past the leader's fork is
#                 rebuilt; what it cannot mend, it names); wait until the leader
#                 runs and both other members stream from it (one as its sync
#                 standby), printing what it waits for whenever that changes;
#                 `manage migrate` through the URL (it lands on the leader);
#                 print the URL with its password masked
#   ha.sh down    stop what `up` started (by PID); data is kept under the state dir
#   ha.sh status  one line per member: name, role, state, postgres port, timeline, lag;
#                 then one per etcd member
#   ha.sh url     the multi-host libpq URI; libpq picks the writable member itself
#   ha.sh backup [full|diff|incr]  a pgBackRest backup from the leader (full the
#                 first time); every leader archives its WAL into the same
#                 repository, and new members are restored from it
#   ha.sh backups the backups and the archive (pgbackrest info)
# State under ${RUN_DIR:-.run}/ha: m0..m2 (Patroni and PostgreSQL), e0..e2
# (etcd), backup (the pgBackRest repository). Ports: member i (0..2) uses HA_PG_PORT+i for PostgreSQL (15440),
# HA_API_PORT+i for Patroni's REST API (18440), HA_ETCD_PORT+i for etcd's
# clients and HA_ETCD_PORT+3+i for its peers (18450..18455): all below the
# kernel's ephemeral range, where an outgoing connection may hold any port.
# They are fixed when the cluster is first created (ha.env in the state dir).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUN_DIR="${RUN_DIR:-$ROOT/.run}"
# shellcheck source=scripts/lib/local.sh
. scripts/lib/local.sh
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
PYTHON=/usr/bin/python3  # Debian's, the one patroni and python3-etcd are installed for
ETCDCTL=(env ETCDCTL_API=3 etcdctl --dial-timeout=2s --command-timeout=3s)

# Ports and names are fixed at creation: a later `url` or `status` without the
# same environment must still find the cluster.
if [ -f "$HA_DIR/ha.env" ]; then
  # A cluster made when Patroni elected through its own Raft (pysyncobj): its
  # leader and members were recorded there, not in etcd. `down` still stops it.
  if grep -q '^HA_RAFT_PORT=' "$HA_DIR/ha.env" && ! grep -q '^HA_ETCD_PORT=' "$HA_DIR/ha.env" &&
    [ "${1:-}" = up ]; then
    echo "ha.sh: $HA_DIR holds a cluster from before etcd (Patroni's Raft); run ha.sh down, remove $HA_DIR, then ha.sh up again" >&2
    exit 1
  fi
  # shellcheck source=/dev/null
  . "$HA_DIR/ha.env"
fi
HA_PG_PORT="${HA_PG_PORT:-15440}"
HA_API_PORT="${HA_API_PORT:-18440}"
HA_ETCD_PORT="${HA_ETCD_PORT:-18450}"
HA_DB="${HA_DB:-users_prod}"
HA_USER="${HA_USER:-users}"

# Failover timings (Patroni's dynamic configuration, kept in etcd; `up` sets
# them on an existing cluster too; each can be set in the environment). The
# leader refreshes its key every loop_wait s; when it dies, the key expires
# after ttl s and the sync standby takes over at once; an etcd or PostgreSQL
# call is retried for retry_timeout s. Patroni's rule: loop_wait + 2 *
# retry_timeout <= ttl, whole seconds. primary_start_timeout 0: a primary
# whose PostgreSQL crashed (its Patroni alive) hands over to the sync standby
# instead of restarting in place; with synchronous_mode that loses no
# acknowledged write. failsafe_mode: when the leader cannot reach etcd (an
# etcd election on a loaded machine, or two of the three etcd members gone)
# it stays primary as long as every other member's Patroni answers it, rather
# than demote itself and stop all writes over a DCS outage alone.
HA_TTL=${HA_TTL:-4} HA_LOOP_WAIT=${HA_LOOP_WAIT:-1} HA_RETRY_TIMEOUT=${HA_RETRY_TIMEOUT:-2}
HA_PRIMARY_START_TIMEOUT=${HA_PRIMARY_START_TIMEOUT:-0} HA_FAILSAFE_MODE=${HA_FAILSAFE_MODE:-true}
DYNAMIC_CONFIG="{\"ttl\": $HA_TTL, \"loop_wait\": $HA_LOOP_WAIT, \"retry_timeout\": $HA_RETRY_TIMEOUT, \"primary_start_timeout\": $HA_PRIMARY_START_TIMEOUT, \"failsafe_mode\": $HA_FAILSAFE_MODE}"
# etcd's own Raft: a heartbeat every 200 ms and an election after 2 s without
# one (etcd's defaults are 100 ms and 1 s, for a machine with time to spare).
# A Patroni lease may not be shorter than 1.5 elections (3 s < ttl).
HA_ETCD_HEARTBEAT_MS=${HA_ETCD_HEARTBEAT_MS:-200} HA_ETCD_ELECTION_MS=${HA_ETCD_ELECTION_MS:-2000}

pg_bindir() {
  local dir=/usr/lib/postgresql/15/bin
  [ -x "$dir/postgres" ] || dir=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  [ -x "$dir/postgres" ] || { echo "ha.sh: PostgreSQL server binaries not found (install postgresql)" >&2; exit 1; }
  echo "$dir"
}

member_dir() { echo "$HA_DIR/m$1"; }
etcd_dir() { echo "$HA_DIR/e$1"; }
etcd_endpoints() {
  local i eps=""
  for i in "${MEMBERS[@]}"; do eps+="${eps:+,}http://127.0.0.1:$((HA_ETCD_PORT + i))"; done
  echo "$eps"
}
# pgBackRest for member i: one repository and one stanza for the cluster,
# the member's own data directory (as PostgreSQL and Patroni run it: archive,
# restore; those refuse the connection options).
pgbackrest_cmd() {  # member
  echo "/usr/bin/pgbackrest --config=$HA_DIR/pgbackrest.conf --stanza=users-ha --pg1-path=$(member_dir "$1")/data"
}
# The same with its socket and port, run as the cluster's owner (stanza-create, backup).
pgbackrest_on() {  # member, pgBackRest command and options
  local i=$1
  shift
  as_postgres /usr/bin/pgbackrest --config="$HA_DIR/pgbackrest.conf" --stanza=users-ha --pg1-path="$(member_dir "$i")/data" \
    --pg1-port=$((HA_PG_PORT + i)) --pg1-socket-path="$(member_dir "$i")" "$@"
}
# Where Patroni keeps the cluster in etcd (its etcd3 namespace and scope).
DCS_PREFIX=/service/users-ha

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

# A process that has not exited: not a zombie either (its parent, ha.sh, is
# gone, and whoever adopted it may be slow to reap it; kill -0 says yes then).
running() { [ -n "$(tr -d '\0' 2>/dev/null < "/proc/$1/cmdline")" ]; }

alive() {  # pid file, process name it must have
  local pid
  [ -s "$1" ] || return 1
  pid=$(cat "$1")
  kill -0 "$pid" 2>/dev/null && grep -q "$2" "/proc/$pid/cmdline" 2>/dev/null
}

require_free_port() {  # port, what
  if port_in_use "$1"; then
    local owners; owners=$(port_owners "$1")
    echo "ha.sh: port $1 ($2) is already in use${owners:+ by pid $owners}; set HA_PG_PORT / HA_API_PORT (bases of three ports each) / HA_ETCD_PORT (base of six) for a new cluster" >&2
    exit 1
  fi
  if in_ephemeral_range "$1"; then
    echo "ha.sh: warning: port $1 ($2) is in the kernel's range for outgoing connections ($(tr -s '\t ' - < /proc/sys/net/ipv4/ip_local_port_range)): one may take it before its server does" >&2
  fi
}

app_url() {
  local hosts="" i
  for i in "${MEMBERS[@]}"; do hosts+="${hosts:+,}127.0.0.1:$((HA_PG_PORT + i))"; done
  echo "postgresql://$HA_USER:$(cat "$HA_DIR/app_password")@$hosts/$HA_DB?target_session_attrs=read-write&connect_timeout=2"
}

# The leader's member index (0..2), from Patroni.
leader_index() {
  local json
  json=$(cluster_json) || return 1
  printf '%s' "$json" | "$PYTHON" -c '
import json, sys
leader = [m["name"] for m in json.load(sys.stdin)["members"] if m["role"] == "leader"]
sys.exit(not leader or print(leader[0][1:]))'
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
# One it mends itself: a replica that replayed WAL of its old timeline past
# the point where the leader's timeline forked off it. Patroni decides about
# pg_rewind once, from the position replayed at that moment; when the replay
# goes on afterwards (say with a segment of the old timeline that the old
# primary's Patroni archived after its crash recovery, fetched by
# restore_command: seen in the up-after-fault test), PostgreSQL can never
# follow the leader ("new timeline N forked off current database system
# timeline N-1 before current recovery point") and Patroni never looks
# again: it stays "running" and never streams. Seen so for DIVERGED_GRACE s (Patroni, had it
# meant to rewind, would have done so within a loop or two), such a member is
# rebuilt from the leader (Patroni's reinitialize). What it loses is WAL that
# only a dead timeline has: with synchronous_mode no acknowledged commit.
# Its first sighting is kept in $HA_DIR/diverged.json between two calls.
DIVERGED_GRACE=${HA_DIVERGED_GRACE:-10}
cluster_state() {
  "$PYTHON" - "$HA_API_PORT" "${#MEMBERS[@]}" "$HA_DIR" "$DYNAMIC_CONFIG" "$UP_STARTED" "$DIVERGED_GRACE" <<'EOF'
import json, re, sys, time, urllib.error, urllib.request
api_base, count, ha_dir, wanted = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
since = sys.argv[5]  # Patroni's log lines from before this `up` are another story
grace = float(sys.argv[6])
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

def reinitialize(i):
    """Patroni's answer to POST /reinitialize, a sentence (200: started; 503: why not)."""
    request = urllib.request.Request("http://127.0.0.1:%d/reinitialize" % (api_base + i), method="POST",
                                     data=json.dumps({"force": True}).encode())
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.read().decode("utf-8", "replace")
    except Exception as error:
        return "no answer (%s)" % error

def lsn(value):
    return "%X/%X" % (value >> 32, value & 0xFFFFFFFF)

def diverged(leader, status, name, members):
    """Where the member replayed past the fork of its timeline: (replayed, fork), or None."""
    timeline = members.get(name, {}).get("timeline")
    if members.get(name, {}).get("state") != "running" or not timeline or timeline >= status.get("timeline", 0):
        return None
    history = call(names.index(leader["name"]), "/history") or []
    # Patroni writes the leader's history to etcd a loop after a promotion:
    # only a history that reaches the leader's timeline tells where it forked.
    if not history or history[-1][0] + 1 != status.get("timeline"):
        return None
    fork = next((line[1] for line in history if line[0] == timeline), None)
    replayed = ((call(names.index(name), "/patroni") or {}).get("xlog") or {}).get("replayed_location")
    return (replayed, fork) if fork is not None and replayed is not None and replayed > fork else None

def mend_diverged(leader, status, lagging, members):
    """Reinitializes a member diverged for grace seconds; what to say about each diverged one."""
    path = "%s/diverged.json" % ha_dir
    try:
        with open(path) as f:
            seen = json.load(f)
    except (OSError, ValueError):
        seen = {}
    now, notes, still = time.time(), {}, {}
    for name in lagging:
        where = diverged(leader, status, name, members)
        if where is None:
            continue
        # Seen and last seen: a sighting more than a few seconds old (no
        # leader in between, another up) starts the count again.
        first, last = seen.get(name, (now, now))
        first = first if now - last < 5 else now
        still[name] = (first, now)
        what = "%s (running on timeline %s, replayed to %s, past %s where the leader's timeline forked off it: " % (
            name, members[name]["timeline"], lsn(where[0]), lsn(where[1]))
        if now - first < grace:
            notes[name] = what + "Patroni never rewinds it; rebuilt from the leader after %g s)" % grace
            continue
        answer = reinitialize(names.index(name))
        print("ha.sh: %sasked Patroni to rebuild it from the leader %s; Patroni: %s)" % (
            what, leader["name"], answer), file=sys.stderr)
        notes[name] = "%s (being rebuilt from the leader: %s)" % (name, answer)
        del still[name]
    with open(path, "w") as f:
        json.dump(still, f)
    return notes

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
    notes = mend_diverged(leader, status, lagging, members)
    print("%s to stream from the leader %s: " % (" and ".join(lagging), leader["name"]) +
          "; ".join(notes.get(name) or about(name, members) for name in lagging))
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
  local i=$1 dir hosts="" j
  dir=$(member_dir "$i")
  for j in "${MEMBERS[@]}"; do hosts+="${hosts:+,}127.0.0.1:$((HA_ETCD_PORT + j))"; done
  cat > "$dir/patroni.yml.new" <<EOF
scope: users-ha
name: m$i
log:
  level: INFO
restapi:
  listen: 127.0.0.1:$((HA_API_PORT + i))
  connect_address: 127.0.0.1:$((HA_API_PORT + i))
etcd3:
  hosts: $hosts
  protocol: http
bootstrap:
  dcs:
    ttl: $HA_TTL
    loop_wait: $HA_LOOP_WAIT
    retry_timeout: $HA_RETRY_TIMEOUT
    primary_start_timeout: $HA_PRIMARY_START_TIMEOUT
    failsafe_mode: $HA_FAILSAFE_MODE
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
  # A new member is restored from the last pgBackRest backup (the files
  # from the repository, the WAL since from the archive, then it streams);
  # without a backup yet, or when that fails, a base backup from the leader.
  create_replica_methods: [pgbackrest, basebackup]
  pgbackrest:
    command: $(pgbackrest_cmd "$i") --delta restore
    keep_data: true
    no_params: true
  recovery_conf:
    restore_command: '$(pgbackrest_cmd "$i") archive-get %f "%p"'
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
    # Whichever member leads archives its WAL into the one repository
    # (archive_mode on: a standby archives nothing).
    archive_mode: 'on'
    archive_command: '$(pgbackrest_cmd "$i") archive-push "%p"'
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
    printf 'HA_PG_PORT=%s\nHA_API_PORT=%s\nHA_ETCD_PORT=%s\nHA_DB=%s\nHA_USER=%s\n' \
      "$HA_PG_PORT" "$HA_API_PORT" "$HA_ETCD_PORT" "$HA_DB" "$HA_USER" > "$HA_DIR/ha.env"
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
  # pgBackRest: the repository, and its lock, log and spool, in the state dir.
  mkdir -p "$HA_DIR/backup" "$HA_DIR/pgbackrest/lock" "$HA_DIR/pgbackrest/log" "$HA_DIR/pgbackrest/spool"
  cat > "$HA_DIR/pgbackrest.conf" <<EOF
[global]
repo1-path=$HA_DIR/backup
repo1-retention-full=${HA_BACKUP_RETENTION_FULL:-2}
lock-path=$HA_DIR/pgbackrest/lock
log-path=$HA_DIR/pgbackrest/log
spool-path=$HA_DIR/pgbackrest/spool
log-level-console=warn
log-level-file=info
start-fast=y
EOF
  local i
  for i in "${MEMBERS[@]}"; do
    mkdir -p "$(member_dir "$i")/log" "$(etcd_dir "$i")"
    (umask 077; write_config "$i")
    # A member already running reads a changed configuration on SIGHUP
    # (settings that need a restart show as pending_restart in its status).
    if cmp -s "$(member_dir "$i")/patroni.yml.new" "$(member_dir "$i")/patroni.yml"; then
      rm "$(member_dir "$i")/patroni.yml.new"
    else
      mv "$(member_dir "$i")/patroni.yml.new" "$(member_dir "$i")/patroni.yml"
      ! alive "$(member_dir "$i")/patroni.pid" patroni || kill -HUP "$(cat "$(member_dir "$i")/patroni.pid")"
    fi
  done
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$HA_DIR" "$HA_DIR/post_bootstrap.sh" "$HA_DIR/pgbackrest.conf"
    chown -R postgres: "$HA_DIR/backup" "$HA_DIR/pgbackrest"
    for i in "${MEMBERS[@]}"; do chown -R postgres: "$(member_dir "$i")" "$(etcd_dir "$i")"; done
    chmod 700 "$HA_DIR/m"* "$HA_DIR/e"*
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
  ( exec_as_postgres env -i PATH=/usr/bin:/bin HOME="$dir" LC_ALL=C.UTF-8 \
      "$PYTHON" /usr/bin/patroni "$dir/patroni.yml" ) >> "$dir/patroni.log" 2>&1 < /dev/null &
  echo $! > "$dir/patroni.pid"
}

# SIGTERM: Patroni shuts its PostgreSQL down (fast), gives up its leader key
# and exits. All three at once, and etcd after them (they need it to leave).
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
    for _ in $(seq 300); do running "$pid" || break; sleep 0.1; done
    running "$pid" && kill -9 "$pid"
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

start_etcd() {  # member
  local i=$1 dir peers="" j
  dir=$(etcd_dir "$i")
  if alive "$dir/etcd.pid" etcd; then return 0; fi
  require_free_port $((HA_ETCD_PORT + i)) "etcd e$i clients"
  require_free_port $((HA_ETCD_PORT + 3 + i)) "etcd e$i peers"
  for j in "${MEMBERS[@]}"; do peers+="${peers:+,}e$j=http://127.0.0.1:$((HA_ETCD_PORT + 3 + j))"; done
  # --initial-cluster* only count the first time (an empty data dir); a member
  # that never started then joins the two others under the same names.
  # Patroni rewrites its keys every loop: compaction keeps etcd's history short.
  ( exec_as_postgres env -i PATH=/usr/bin:/bin HOME="$dir" etcd --name "e$i" --data-dir "$dir/data" \
      --listen-client-urls "http://127.0.0.1:$((HA_ETCD_PORT + i))" \
      --advertise-client-urls "http://127.0.0.1:$((HA_ETCD_PORT + i))" \
      --listen-peer-urls "http://127.0.0.1:$((HA_ETCD_PORT + 3 + i))" \
      --initial-advertise-peer-urls "http://127.0.0.1:$((HA_ETCD_PORT + 3 + i))" \
      --initial-cluster "$peers" --initial-cluster-token users-ha --initial-cluster-state new \
      --heartbeat-interval "$HA_ETCD_HEARTBEAT_MS" --election-timeout "$HA_ETCD_ELECTION_MS" \
      --auto-compaction-mode periodic --auto-compaction-retention 10m --snapshot-count 10000 \
      --logger zap --log-outputs stderr ) >> "$dir/etcd.log" 2>&1 < /dev/null &
  echo $! > "$dir/etcd.pid"
}

# etcd's leader last: asked to stop, a leader first hands its role to a
# follower, which takes seconds when the followers are stopping too; once
# they are gone it has no one to hand it to and stops at once.
stop_etcd() {
  local leader="" i running=""
  for i in "${MEMBERS[@]}"; do ! alive "$(etcd_dir "$i")/etcd.pid" etcd || running+=" e$i"; done
  [ -n "$running" ] || return 0  # none runs: asking them who leads would only time out
  leader=$("${ETCDCTL[@]}" --endpoints="$(etcd_endpoints)" endpoint status -w json 2>/dev/null | "$PYTHON" -c '
import json, sys
for status in json.load(sys.stdin):
    if status["Status"]["header"]["member_id"] == status["Status"]["leader"]:
        print(int(status["Endpoint"].rsplit(":", 1)[1]) - int(sys.argv[1]))' "$HA_ETCD_PORT" || true)
  for i in "${MEMBERS[@]}"; do [ "$i" = "$leader" ] || stop_etcd_member "$i" & done
  wait
  [ -z "$leader" ] || stop_etcd_member "$leader"
}

stop_etcd_member() {  # member
  local dir pid
  dir=$(etcd_dir "$1")
  if alive "$dir/etcd.pid" etcd; then
    pid=$(cat "$dir/etcd.pid")
    kill "$pid"
    for _ in $(seq 100); do running "$pid" || break; sleep 0.1; done
    running "$pid" && kill -9 "$pid"
  fi
  rm -f "$dir/etcd.pid"
}

# "e0 e1" for the etcd members that answer healthy (they see an etcd leader).
healthy_etcd() {
  local i out=""
  for i in "${MEMBERS[@]}"; do
    curl -fsS --max-time 2 "http://127.0.0.1:$((HA_ETCD_PORT + i))/health" 2>/dev/null |
      grep -q '"health":"true"' && out+="${out:+ }e$i"
  done
  echo "$out"
}

last_etcd_line() {  # member -> the last message in its log
  tail -n 1 "$(etcd_dir "$1")/etcd.log" 2>/dev/null | "$PYTHON" -c '
import json, sys
line = sys.stdin.read().strip()
try:
    entry = json.loads(line)
    print((entry.get("msg", "") + " " + str(entry.get("error", ""))).strip()[:160])
except ValueError:
    print(line[:160] or "no log yet")'
}

# The initialize key: absent until a member starts to bootstrap, empty while
# it does, the system identifier once the bootstrap has finished.
initialize_key() {
  "${ETCDCTL[@]}" --endpoints="$(etcd_endpoints)" get "$DCS_PREFIX/initialize" -w json | "$PYTHON" -c '
import base64, json, sys
kvs = json.load(sys.stdin).get("kvs") or []
print("absent" if not kvs else "sysid " + base64.b64decode(kvs[0].get("value", "")).decode() if kvs[0].get("value") else "empty")'
}

# The timings above into Patroni's dynamic configuration in etcd before the
# members start: a cluster stored with others (say a retry_timeout too short
# for the leader race) might never elect the leader that a PATCH through the
# REST API needs. Patroni reads the key again at its next loop.
set_dynamic_config() {
  local current wanted
  current=$("${ETCDCTL[@]}" --endpoints="$(etcd_endpoints)" get "$DCS_PREFIX/config" --print-value-only)
  [ -n "$current" ] || return 0  # a new cluster: the bootstrap section writes it
  wanted=$("$PYTHON" -c '
import json, sys
config, wanted = json.loads(sys.argv[1]), json.loads(sys.argv[2])
if any(config.get(key) != value for key, value in wanted.items()):
    config.update(wanted)
    print(json.dumps(config, separators=(",", ":")))' "$current" "$DYNAMIC_CONFIG")
  if [ -n "$wanted" ]; then
    "${ETCDCTL[@]}" --endpoints="$(etcd_endpoints)" put "$DCS_PREFIX/config" "$wanted" >/dev/null
    echo "ha.sh: set Patroni's timings in etcd to $DYNAMIC_CONFIG" >&2
  fi
}

# What a first `up` that stopped half-way can leave, mended before Patroni
# starts: data dirs are moved aside (never deleted) and named.
#  - a data dir without global/pg_control (an initdb or base backup cut
#    short) is no cluster: Patroni would try to start it forever; without it
#    the member is made again from the leader.
#  - a bootstrap that never finished (the initialize key still empty and no
#    live Patroni on a data dir): every member would wait "for leader to
#    bootstrap" forever. Nothing can have been written yet (the database and
#    its user are made at the end of the bootstrap): its key goes, the
#    waiting Patroni processes are stopped, and the bootstrap starts over.
mend_first_run() {
  local i dir data key moved="" busy=""
  for i in "${MEMBERS[@]}"; do
    dir=$(member_dir "$i") data="$(member_dir "$i")/data"
    alive "$dir/patroni.pid" patroni && [ -n "$(ls -A "$data" 2>/dev/null)" ] && busy+=" m$i"
    if [ -n "$(ls -A "$data" 2>/dev/null)" ] && [ ! -f "$data/global/pg_control" ] &&
      ! alive "$dir/patroni.pid" patroni; then
      mv "$data" "$data.incomplete-$(date +%Y%m%dT%H%M%S)"
      moved+=" m$i"
    fi
  done
  [ -z "$moved" ] || echo "ha.sh: moved aside the incomplete data directories of$moved ($HA_DIR/m*/data.incomplete-*; remove them when you like)" >&2
  # A live Patroni with an empty data directory only waits: the one that
  # bootstraps starts initdb the moment it has taken the key.
  key=$(initialize_key)
  if [ "$key" = empty ] && [ -z "$busy" ]; then
    echo "ha.sh: a bootstrap that never finished (the initialize key in etcd is empty): starting it over" >&2
    stop_members
    for i in "${MEMBERS[@]}"; do
      data="$(member_dir "$i")/data"
      if [ -n "$(ls -A "$data" 2>/dev/null)" ]; then
        mv "$data" "$data.unfinished-bootstrap-$(date +%Y%m%dT%H%M%S)"
        echo "ha.sh: moved aside m$i's data directory of that bootstrap ($data.unfinished-bootstrap-*; remove it when you like)" >&2
      fi
    done
    "${ETCDCTL[@]}" --endpoints="$(etcd_endpoints)" del "$DCS_PREFIX/initialize" >/dev/null
  fi
}

case "${1:-}" in
  up)
    command -v patroni >/dev/null && command -v etcd >/dev/null && command -v etcdctl >/dev/null &&
      command -v pgbackrest >/dev/null && "$PYTHON" -c 'import etcd' 2>/dev/null || {
      echo "ha.sh: patroni, etcd-server, etcd-client, python3-etcd and pgbackrest are needed (scripts/install-deps.sh ha)" >&2; exit 1; }
    [ -x "$BIN/manage" ] || { echo "ha.sh: $BIN/manage not found (make build-release, or set USERS_BIN_DIR)" >&2; exit 1; }
    prepare
    UP_STARTED=$(env -u TZ date '+%F %T')  # in Patroni's time zone (it runs without TZ)
    deadline=$((SECONDS + ${HA_UP_TIMEOUT:-120}))
    rm -f "$HA_DIR/diverged.json"  # what an earlier up saw
    for i in "${MEMBERS[@]}"; do start_etcd "$i"; done
    # Patroni would only wait for etcd too; the mending below needs it first.
    said=""
    until [ -n "$(healthy_etcd)" ] && "${ETCDCTL[@]}" --endpoints="$(etcd_endpoints)" get /quorum >/dev/null 2>&1; do
      state="an etcd quorum: $(for i in "${MEMBERS[@]}"; do printf 'e%s: %s; ' "$i" "$(last_etcd_line "$i")"; done)"
      [ "$state" = "$said" ] || { echo "ha.sh: waiting for ${state%; }" >&2; said=$state; }
      if [ $SECONDS -ge $deadline ]; then
        echo "ha.sh: gave up after ${HA_UP_TIMEOUT:-120} s (HA_UP_TIMEOUT) without an etcd quorum; see $HA_DIR/e*/etcd.log" >&2
        exit 1
      fi
      sleep 0.5
    done
    mend_first_run
    set_dynamic_config
    for i in "${MEMBERS[@]}"; do start_member "$i"; done
    # Whatever a fault left (a crashed primary, a member to rewind, the dead
    # leader's key still in etcd), Patroni sorts it out; this waits for the
    # whole cluster and says what it is waiting for whenever that changes.
    said=""
    while :; do
      state=$(cluster_state)
      healthy=$(healthy_etcd)
      if [ "$state" = ready ] && [ "$healthy" != "e0 e1 e2" ]; then
        state="all three etcd members (healthy: ${healthy:-none}; $(for i in "${MEMBERS[@]}"; do
          [[ " $healthy " == *" e$i "* ]] || printf 'e%s: %s' "$i" "$(last_etcd_line "$i")"; done))"
      fi
      if [ "$state" = ready ]; then
        PGCONNECT_TIMEOUT=2 "$(pg_bindir)/psql" "$(app_url)" -qtAc 'SELECT 1' >/dev/null 2>&1 && break
        state="the URL to reach a writable member"
      fi
      if [ "$state" != "$said" ]; then
        echo "ha.sh: waiting for $state" >&2
        said=$state
      fi
      if [ $SECONDS -ge $deadline ]; then
        echo "ha.sh: gave up after ${HA_UP_TIMEOUT:-120} s (HA_UP_TIMEOUT), still waiting for $state; see $HA_DIR/m*/patroni.log and $HA_DIR/e*/etcd.log" >&2
        exit 1
      fi
      sleep 0.5
    done
    # The stanza (the repository's record of this cluster) once there is a
    # leader to read it from; the leader's WAL goes into it from then on.
    pgbackrest_on "$(leader_index)" stanza-create >/dev/null
    env -i PATH="$PATH" APP_ENV=development DATABASE_URL="$(app_url)" "$BIN/manage" migrate
    "$0" status
    # The password stays out of terminals and CI logs: `ha.sh url` prints it.
    app_url | sed 's|^\(postgresql://[^:]*:\)[^@]*@|\1***@|'
    echo "(scripts/ha.sh url prints the URL with its password)"
    ;;
  down)
    [ -d "$HA_DIR" ] || exit 0
    stop_members
    stop_etcd
    ;;
  status)
    json=$(cluster_json) || { echo "ha.sh: no member answers (is the cluster up?)" >&2; exit 1; }
    printf '%s' "$json" | "$PYTHON" -c '
import json, sys
for m in json.load(sys.stdin).get("members", []):
    print("{:<4} {:<13} {:<10} port {:<6} timeline {:<3} lag {}".format(
        m.get("name"), m.get("role"), m.get("state"), m.get("port"),
        m.get("timeline", "-"), m.get("lag", 0)))'
    healthy=$(healthy_etcd)
    for i in "${MEMBERS[@]}"; do
      if [[ " $healthy " == *" e$i "* ]]; then state=healthy
      elif alive "$(etcd_dir "$i")/etcd.pid" etcd; then state=unhealthy
      else state=stopped; fi
      printf 'e%-3s %-13s %-10s port %s\n' "$i" etcd "$state" $((HA_ETCD_PORT + i))
    done
    ;;
  backup)
    # From the leader, into the cluster's repository: full the first time,
    # then incremental unless told (full, diff, incr).
    index=$(leader_index) || { echo "ha.sh: no leader (is the cluster up?)" >&2; exit 1; }
    # Right after a failover the new leader's pg_control still names the old
    # timeline until its first checkpoint, and pgBackRest refuses to start.
    as_postgres "$(pg_bindir)/psql" -h "$(member_dir "$index")" -p $((HA_PG_PORT + index)) -d postgres -qc CHECKPOINT
    pgbackrest_on "$index" backup --type="${2:-incr}"
    as_postgres /usr/bin/pgbackrest --config="$HA_DIR/pgbackrest.conf" --stanza=users-ha info
    ;;
  backups)
    as_postgres /usr/bin/pgbackrest --config="$HA_DIR/pgbackrest.conf" --stanza=users-ha info
    ;;
  url)
    [ -s "$HA_DIR/app_password" ] || { echo "ha.sh: no cluster under $HA_DIR (run ha.sh up)" >&2; exit 1; }
    app_url
    ;;
  *)
    echo "usage: $0 up | down | status | url | backup [full|diff|incr] | backups" >&2
    exit 64
    ;;
esac
