# shellcheck shell=bash
# Shared by the HA tests (sourced): the tools, free ports, Patroni's view of
# the cluster.

# Exit 77 (CTest: skipped) only when what scripts/ha.sh runs is not installed.
require_ha_tools() {
  if ! command -v patroni >/dev/null || ! command -v etcd >/dev/null || ! command -v etcdctl >/dev/null ||
    ! command -v pgbackrest >/dev/null || ! /usr/bin/python3 -c 'import etcd' 2>/dev/null; then
    echo "SKIPPED: patroni, etcd-server, etcd-client, python3-etcd and pgbackrest are not installed (scripts/install-deps.sh ha installs them)"
    exit 77
  fi
}

# FAIL and its reason, kept in $WORK/failure: fail may run in a command
# substitution's subshell, and the cleanup says it again as the last line,
# after the logs it dumps (CI keeps only the end of a long output).
fail() { echo "$*" > "$WORK/failure"; echo "FAIL: $*" >&2; exit 1; }
repeat_failure() {  # exit status
  echo "FAIL: $(cat "$WORK/failure" 2>/dev/null || echo "exit status $1 (a command failed under set -e)")"
}

# Twelve consecutive free ports (no socket of any kind on them, an outgoing
# connection's included): three members each for PostgreSQL and the REST API,
# then six for etcd's clients and peers. Exports the bases scripts/ha.sh reads.
use_free_ports() {
  local base i
  while :; do
    base=$((20000 + RANDOM % 12000))  # below the ephemeral range
    for i in $(seq 0 11); do
      [ -z "$(ss -Htan state all exclude time-wait "sport = :$((base + i))")" ] || continue 2
    done
    break
  done
  export HA_PG_PORT=$base HA_API_PORT=$((base + 3)) HA_ETCD_PORT=$((base + 6))
}

# Patroni's /cluster from member $1's REST API (HA_API_PORT must be set).
cluster() { curl -fsS --max-time 2 "http://127.0.0.1:$((HA_API_PORT + $1))/cluster"; }

member_with_role() {  # any member's API index, role -> member name
  cluster "$1" | /usr/bin/python3 -c '
import json, sys
print(next((m["name"] for m in json.load(sys.stdin)["members"] if m["role"] == sys.argv[1]), ""))' "$2"
}

# The production service on the cluster ($URL) on a free port, in the
# background, until it is ready: sets SERVICE_PORT and service_pid (the
# callers stop it by that PID).
start_service() {
  SERVICE_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  env -i APP_ENV=production SECRET_KEY=ha-test-signing-key-0123456789abcdef DATABASE_URL="$URL" \
    HOST=127.0.0.1 PORT="$SERVICE_PORT" THREADS=4 LOG_LEVEL=info \
    "$BIN/users-service" > "$WORK/service.log" 2>&1 &
  # shellcheck disable=SC2034 # read by the callers
  service_pid=$!
  for _ in $(seq 150); do
    curl -fsS -o /dev/null "http://127.0.0.1:$SERVICE_PORT/health/ready" 2>/dev/null && break
    sleep 0.1
  done
  curl -fsS -o /dev/null "http://127.0.0.1:$SERVICE_PORT/health/ready" || fail "the service is not ready"
}
