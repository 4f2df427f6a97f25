#!/usr/bin/env bash
# Runs the README's development Docker commands (the sh block after the
# `<!-- readme-docker-dev -->` marker) line by line as written, then checks
# that the API on port 5001 serves the seeded users, and tears the stack down.
# `docker compose` goes to the compose that scripts/containers.sh found, with
# the podman-only override on machines without a Docker engine; `exec` gets
# -T when there is no terminal (CI).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
eval "$(scripts/containers.sh env)"
PROJECT=users-readme
files=(-f docker-compose.yml)
[ "$CONTAINER_TOOL" = podman ] && files+=(-f tests/release/compose.podman-dev.yml)

docker() {
  if [ "${1:-}" != compose ]; then command docker "$@"; return; fi
  shift
  if [ "${1:-}" = exec ] && [ ! -t 0 ]; then shift; set -- exec -T "$@"; fi
  $COMPOSE -p "$PROJECT" "${files[@]}" "$@"
}
cleanup() { $COMPOSE -p "$PROJECT" "${files[@]}" down -v --remove-orphans >/dev/null 2>&1 || true; }
trap cleanup EXIT

mapfile -t lines < <(awk '/<!-- readme-docker-dev -->/{found=1; next}
  found && /^```sh/{inside=1; next} inside && /^```/{exit} inside{print}' README.md)
[ ${#lines[@]} -gt 0 ] || { echo "FAIL: no README block after <!-- readme-docker-dev -->"; exit 1; }

output=""
for line in "${lines[@]}"; do
  echo "+ $line"
  if [[ "$line" == "docker compose up"* ]]; then
    # podman has no systemd timers to run HEALTHCHECKs; drive them meanwhile.
    scripts/containers.sh healthchecks & health_pid=$!
    eval "$line"
    kill "$health_pid"
  elif [[ "$line" == curl* ]]; then
    output=$(eval "$line")
    echo "$output"
  else
    eval "$line"
  fi
done
grep -q '"michael@realpython.com"' <<<"$output" && grep -q '"michael@mherman.org"' <<<"$output" || {
  echo "FAIL: the README's last command did not list the two seeded users"; exit 1; }
echo "ok: README development Docker commands"
