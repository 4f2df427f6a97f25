#!/usr/bin/env bash
# Both compose files parse (no Docker engine needed). Exit 77 = skipped.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
if command -v docker-compose >/dev/null; then
  compose=(docker-compose)
elif docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  echo "SKIP: neither docker-compose nor the docker compose plugin is installed"; exit 77
fi
cd "$root"
"${compose[@]}" -f docker-compose.yml config -q
echo "ok: docker-compose.yml"
SECRET_KEY=static-check "${compose[@]}" -f docker-compose-prod.yml config -q
echo "ok: docker-compose-prod.yml"
# The prod file must refuse to start without a SECRET_KEY.
if env -u SECRET_KEY "${compose[@]}" -f docker-compose-prod.yml config -q 2>/dev/null; then
  echo "FAIL: docker-compose-prod.yml accepted a missing SECRET_KEY"; exit 1
fi
echo "ok: prod requires SECRET_KEY"
