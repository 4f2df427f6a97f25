#!/usr/bin/env bash
# A local PostgreSQL that survives its primary: three PostgreSQL 15 members on
# loopback, each run by Patroni, which elects the leader through its built-in
# Raft (pysyncobj) -- no etcd or Consul to run. synchronous_mode makes every
# acknowledged commit wait for the sync standby, and only that standby may be
# promoted, so a failover never loses an acknowledged write.
#   ha.sh up      start the members; wait for a leader and a sync standby;
#                 `manage migrate` through the URL (it lands on the leader); print the
#                 URL with its password masked
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

# True once one member leads and another is its running sync standby.
leader_and_sync() {
  cluster_json | "$PYTHON" -c '
import json, sys
members = json.load(sys.stdin).get("members", [])
roles = {m.get("role"): m.get("state") for m in members}
ok = roles.get("leader") == "running" and roles.get("sync_standby") in ("running", "streaming")
sys.exit(0 if ok else 1)' 2>/dev/null
}

write_config() {  # member
  local i=$1 dir partners="" j
  dir=$(member_dir "$i")
  for j in "${MEMBERS[@]}"; do
    [ "$j" = "$i" ] || partners+="${partners:+, }'127.0.0.1:$((HA_RAFT_PORT + j))'"
  done
  # Timings: the leader key lives ttl seconds and Patroni checks every
  # loop_wait; Patroni wants loop_wait + 2 * retry_timeout <= ttl.
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
    ttl: 10
    loop_wait: 1
    retry_timeout: 4
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
      /usr/bin/patroni "$dir/patroni.yml" ) >> "$dir/patroni.log" 2>&1 < /dev/null &
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
    for i in "${MEMBERS[@]}"; do start_member "$i"; done
    deadline=$((SECONDS + ${HA_UP_TIMEOUT:-120}))
    until leader_and_sync && PGCONNECT_TIMEOUT=2 "$(pg_bindir)/psql" "$(app_url)" -qtAc 'SELECT 1' >/dev/null 2>&1; do
      if [ $SECONDS -ge $deadline ]; then
        echo "ha.sh: no leader with a sync standby after ${HA_UP_TIMEOUT:-120} s; see $HA_DIR/m*/patroni.log" >&2
        tail -n 5 "$HA_DIR"/m*/patroni.log >&2
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
