#!/usr/bin/env bash
# Installs every Debian package the build, the tests, `make run`, `make prod`
# and `make bench` need; `install-deps.sh release` adds what `make release`
# needs to build and run the images where no Docker engine is installed;
# `install-deps.sh ha` adds Patroni with its Raft library for `make ha` and
# `make test-scale`; `install-deps.sh lint` adds the analysers of `make lint`
# and gcovr for `make coverage`.
# Idempotent: does nothing (no apt-get at all) when everything is already
# present. Works as root without sudo.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake pkg-config clang-format clang-tidy
  libpistache-dev libpqxx-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libcli11-dev libkainjow-mustache-dev libsodium-dev libjwt-dev libvalijson-dev
  libgtest-dev googletest libboost-context-dev
  # run and test: a real PostgreSQL and a real nginx
  postgresql postgresql-contrib nginx-light curl procps iproute2 bats
  # make test-scale: a TCP forwarder to cut one replica from the database
  socat
  # static checks of the deployment files
  docker-compose
  # fuzzing (clang's libFuzzer runtime)
  clang libclang-rt-14-dev
  # benchmark
  wrk gnuplot-nox
  # browser test of the index page
  chromium
)

# make release: podman (with runc) behind docker-compose when no Docker engine
# answers, debootstrap for Debian's base images.
if [ "${1:-}" = release ]; then
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    PACKAGES=(curl)
    docker compose version >/dev/null 2>&1 || PACKAGES+=(docker-compose)
  else
    PACKAGES=(podman runc golang-github-containernetworking-plugin-dnsname docker-compose debootstrap curl)
  fi
fi

# make ha, make test-scale: Patroni runs the PostgreSQL cluster and elects its
# leader through its built-in Raft (pysyncobj), so no etcd or Consul.
if [ "${1:-}" = ha ]; then
  PACKAGES=(patroni python3-pysyncobj postgresql curl)
fi

# make lint, make coverage: the five analysers and the coverage reporter, all
# Debian's; `make build` never needs them.
if [ "${1:-}" = lint ]; then
  PACKAGES=(clang-format clang-tidy cppcheck shellcheck yamllint gcovr)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$p")
done

# Node.js drives the browser test; many machines already carry their own node
# and npm outside dpkg, and Debian's npm conflicts with those, so only add the
# Debian packages when the commands are missing.
if [ -z "${1:-}" ]; then
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  # kubectl renders deploy/k8s (tests/static/k8s_manifests.sh). Debian's
  # kubernetes-client (1.20) conflicts with a kubectl installed from another
  # source, so only when there is none.
  command -v kubectl >/dev/null || missing+=(kubernetes-client)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
