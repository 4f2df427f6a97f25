# shellcheck shell=bash
# Shared by the HA tests (sourced): free ports and Patroni's view of the cluster.

# Nine consecutive free ports: three members each for PostgreSQL, the REST
# API and Raft (scripts/ha.sh uses base+0..2 of each).
free_base() {
  local base i
  while :; do
    base=$((20000 + RANDOM % 12000))  # below the ephemeral range
    for i in $(seq 0 8); do
      [ -z "$(ss -Hltn "sport = :$((base + i))")" ] || continue 2
    done
    echo "$base"
    return
  done
}

# Patroni's /cluster from member $1's REST API (HA_API_PORT must be set).
cluster() { curl -fsS --max-time 2 "http://127.0.0.1:$((HA_API_PORT + $1))/cluster"; }

member_with_role() {  # any member's API index, role -> member name
  cluster "$1" | /usr/bin/python3 -c '
import json, sys
print(next((m["name"] for m in json.load(sys.stdin)["members"] if m["role"] == sys.argv[1]), ""))' "$2"
}
