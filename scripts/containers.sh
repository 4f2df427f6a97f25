#!/usr/bin/env bash
# The container engine for `make release` and the Docker tests: Docker when
# its engine answers, otherwise Debian's podman behind its Docker-compatible
# API, so that the same compose files and `docker-compose` work on machines
# with no Docker engine and no access to Docker Hub.
#
#   scripts/containers.sh setup         make the engine ready (installs what is
#                                       missing; podman: runtime settings, API
#                                       socket, base images and stand-ins for
#                                       images it cannot pull)
#   eval "$(scripts/containers.sh env)" CONTAINER_TOOL, COMPOSE, DOCKER_HOST;
#                                       podman: COMPOSE_FILE adds the rlimits
#                                       podman's API needs to docker-compose.yml
#   eval "$(scripts/containers.sh env prod)"  the same for docker-compose-prod.yml
#   scripts/containers.sh healthchecks  podman only, in the background: run
#                                       every container's HEALTHCHECK every 2 s
#                                       (podman schedules them with systemd
#                                       timers, which these machines lack)
#   scripts/containers.sh stop-api      stop the podman API service started here
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
PODMAN_SOCK=${PODMAN_SOCK:-/run/users-service-podman.sock}
PODMAN_PID=${PODMAN_SOCK%.sock}.pid

docker_engine_answers() {
  command -v docker >/dev/null && docker info >/dev/null 2>&1
}

tool() {
  if [ -n "${CONTAINER_TOOL:-}" ]; then echo "$CONTAINER_TOOL"
  elif docker_engine_answers; then echo docker
  elif command -v podman >/dev/null; then echo podman
  else echo "containers: neither a Docker engine nor podman (run scripts/install-deps.sh release)" >&2; exit 1
  fi
}

compose_command() {
  if [ "$1" = docker ] && docker compose version >/dev/null 2>&1; then echo "docker compose"
  else echo docker-compose
  fi
}

api_answers() {
  curl -fsS --max-time 2 --unix-socket "$PODMAN_SOCK" http://d/_ping >/dev/null 2>&1
}

# crun cannot run in these VMs' hybrid cgroups and the default rlimits exceed
# what the VM grants; runc with limits at the machine's own works.
configure_podman() {
  local conf=/etc/containers/containers.conf
  if ! grep -q 'users-service' "$conf" 2>/dev/null; then
    mkdir -p /etc/containers
    [ -f "$conf" ] && cp "$conf" "$conf.before-users-service"
    cat > "$conf" <<'EOF'
# Written by users-service scripts/containers.sh: runc (crun fails on hybrid
# cgroups), cgroupfs and file events (no systemd), rlimits the VM can grant.
[containers]
default_ulimits = ["nofile=1024:4096", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
  fi
}

start_api() {
  api_answers && return 0
  rm -f "$PODMAN_SOCK"
  # The service outlives its caller: it must not keep the caller's open files
  # (a `flock` lock, a pipe), or that lock stays held for as long as it runs.
  (
    for fd in "/proc/$BASHPID/fd/"*; do
      fd=${fd##*/}
      [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
    done
    exec setsid podman system service --time=0 "unix://$PODMAN_SOCK" >/dev/null 2>&1 < /dev/null
  ) &
  echo $! > "$PODMAN_PID"
  for _ in $(seq 1 50); do api_answers && return 0; sleep 0.2; done
  echo "containers: podman API did not come up on $PODMAN_SOCK" >&2; exit 1
}

apt_mirror() {
  local uri
  uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '$1=="deb"{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

# Debian's base images from Debian's own mirror (debootstrap), when no
# registry can provide them.
ensure_debian_base() {
  podman image exists docker.io/library/debian:bookworm-slim && \
    podman image exists docker.io/library/debian:bookworm && return 0
  local dir
  dir=$(mktemp -d /var/tmp/bookworm-rootfs.XXXXXX)
  echo "containers: building debian:bookworm-slim with debootstrap (about 2 minutes)"
  debootstrap --variant=minbase bookworm "$dir" "$(apt_mirror)" >/dev/null
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  tar -C "$dir" -c . | podman import --change 'CMD ["bash"]' - docker.io/library/debian:bookworm-slim >/dev/null
  podman tag docker.io/library/debian:bookworm-slim docker.io/library/debian:bookworm
  rm -rf "$dir"
}

# Local stand-ins for the official postgres and nginx images (tests/containers).
ensure_standin() {
  local image=$1 dir=$2
  podman image exists "$image" && return 0
  echo "containers: building stand-in $image from Debian packages ($dir)"
  podman build --pull=never --network host --format docker -q -t "$image" "$root/$dir" >/dev/null
}

case "${1:-}" in
  setup)
    "$root/scripts/install-deps.sh" release
    t=$(tool)
    if [ "$t" = podman ]; then
      configure_podman
      ensure_debian_base
      ensure_standin docker.io/library/postgres:15-bookworm tests/containers/postgres
      ensure_standin docker.io/library/nginx:1.25-bookworm tests/containers/nginx
      start_api
    fi
    ;;
  env)
    t=$(tool)
    echo "export CONTAINER_TOOL=$t"
    echo "export COMPOSE='$(compose_command "$t")'"
    # compose builds through the API, never through a docker CLI that may lack an engine
    # (and, with no docker CLI at all, execs too). podman's API does not apply
    # containers.conf's rlimits, and podman's own defaults exceed what such
    # machines grant: docker-compose*.podman.yml set them per service.
    if [ "$t" = podman ]; then
      echo "export DOCKER_HOST=unix://$PODMAN_SOCK COMPOSE_DOCKER_CLI_BUILD=0"
      command -v docker >/dev/null || echo "export COMPOSE_INTERACTIVE_NO_CLI=1"
      if [ "${2:-}" = prod ]; then
        printf "export COMPOSE_FILE=%q\n" "$root/docker-compose-prod.yml:$root/docker-compose-prod.podman.yml"
      else
        printf "export COMPOSE_FILE=%q\n" "$root/docker-compose.yml:$root/docker-compose.podman.yml"
      fi
    fi
    ;;
  healthchecks)
    [ "$(tool)" = podman ] || exit 0
    while true; do
      for c in $(podman ps -q 2>/dev/null); do
        podman healthcheck run "$c" >/dev/null 2>&1 || true
      done
      sleep 2
    done
    ;;
  stop-api)
    if [ -f "$PODMAN_PID" ]; then kill "$(cat "$PODMAN_PID")" 2>/dev/null || true; rm -f "$PODMAN_PID"; fi
    ;;
  *)
    sed -n '2,20p' "$0" >&2; exit 2 ;;
esac
