#!/usr/bin/env bash
# Runs the README's development Docker commands exactly as a user types them:
# the sh block after `<!-- readme-docker-dev -->` where a Docker engine answers,
# the one after `<!-- readme-podman-dev -->` otherwise. The block runs as it is
# written, in one shell of its own (nothing added: no extra compose file, no
# flag, no environment), stopping at the first failing command; then the test
# checks that its last command listed the seeded users, and tears down what the
# block started (the stack, and the background healthcheck loop of the podman
# block).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
# The engine a user's shell would find (not the one this test's caller chose).
tool=$(env -u CONTAINER_TOOL -u DOCKER_HOST scripts/containers.sh env | sed -n 's/^export CONTAINER_TOOL=//p')
if [ "$tool" = docker ]; then
  marker='<!-- readme-docker-dev -->'
else
  marker='<!-- readme-podman-dev -->'
fi
work=$(mktemp -d /tmp/readme-docker.XXXXXX)
awk -v marker="$marker" '$0 == marker {found=1; next}
  found && /^```sh/ {inside=1; next} inside && /^```/ {exit} inside {print}' README.md > "$work/block.sh"
[ -s "$work/block.sh" ] || { echo "FAIL: no sh block after $marker in README.md"; exit 1; }

block_pid=""
cleanup() {
  # The block's shell leads its own process group: stop whatever it left
  # running (a user would leave `healthchecks &` going; a test must not).
  [ -n "$block_pid" ] && kill -- "-$block_pid" 2>/dev/null || true
  (
    eval "$(scripts/containers.sh env)"
    $COMPOSE down -v --remove-orphans >/dev/null 2>&1 || true
  )
  rm -rf "$work"
}
trap cleanup EXIT

echo "README block ($marker):"
sed 's/^/+ /' "$work/block.sh"
# A fresh shell, as a user's: -e to stop at the first failure, -x to show it.
setsid bash -ex "$work/block.sh" > "$work/output" 2>&1 < /dev/null &
block_pid=$!
status=0
wait "$block_pid" || status=$?
sed 's/^/    /' "$work/output"
[ "$status" -eq 0 ] || { echo "FAIL: the README block stopped with exit code $status"; exit 1; }
grep -q '"michael@realpython.com"' "$work/output" && grep -q '"michael@mherman.org"' "$work/output" || {
  echo "FAIL: the README's last command did not list the two seeded users"; exit 1; }
echo "ok: README development Docker commands"
