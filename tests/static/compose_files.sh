#!/usr/bin/env bash
# The compose files parse (no Docker engine needed). Exit 77 = skipped.
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
# The podman additions (scripts/containers.sh env) merge onto their files.
"${compose[@]}" -f docker-compose.yml -f docker-compose.podman.yml config -q
echo "ok: docker-compose.yml + docker-compose.podman.yml"
SECRET_KEY=static-check "${compose[@]}" -f docker-compose-prod.yml -f docker-compose-prod.podman.yml config -q
echo "ok: docker-compose-prod.yml + docker-compose-prod.podman.yml"
# The prod images take the REGISTRY prefix and IMAGE_TAG of make release.
images=$(SECRET_KEY=static-check REGISTRY=127.0.0.1:5999/ IMAGE_TAG=abc1234 \
  "${compose[@]}" -f docker-compose-prod.yml config | awk '$1 == "image:" {print $2}' | sort -u | tr '\n' ' ')
[ "$images" = "127.0.0.1:5999/users-db:abc1234 127.0.0.1:5999/users-nginx:abc1234 127.0.0.1:5999/users-service:abc1234 " ] || {
  echo "FAIL: prod image names with REGISTRY and IMAGE_TAG: $images"; exit 1; }
echo "ok: prod image names take REGISTRY and IMAGE_TAG"
