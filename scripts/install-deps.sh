#!/usr/bin/env bash
# Installs the Debian packages a make target needs, by group:
#   install-deps.sh build        compiling (make build, make build-release)
#   install-deps.sh run          make run, make prod: PostgreSQL, pgBackRest, nginx, curl, aiosmtpd
#   install-deps.sh test         make test: run, plus the test tools (bats, the
#                                browser and node, kubectl, docker-compose, ...)
#   install-deps.sh bench        make bench: run, plus wrk, gnuplot and Google
#                                Benchmark (bench/router_bench.cpp)
#   install-deps.sh fuzz         make fuzz: clang and its libFuzzer runtime
#   install-deps.sh release      the images: podman (with runc) behind
#                                docker-compose where no Docker engine answers,
#                                debootstrap (scripts/containers.sh setup)
#   install-deps.sh registry     make release: Debian's docker-registry (the
#                                system service it installs listens on :5000
#                                where systemd runs; make release runs its own)
#   install-deps.sh ha           make ha, make test-scale: Patroni and etcd
#   install-deps.sh lint         make lint, make coverage: the five analysers
#                                and gcovr
# Several groups at once: `install-deps.sh build test`. No group: build.
# --dry-run (first) prints the missing packages and installs nothing.
# Idempotent: does nothing (no apt-get at all) when everything is already
# present. Works as root without sudo.
set -euo pipefail

dry_run=0
if [ "${1:-}" = --dry-run ]; then dry_run=1; shift; fi
[ $# -gt 0 ] || set -- build

packages_of() {
  case "$1" in
    build)
      echo build-essential cmake pkg-config \
        libpistache-dev libpqxx-dev nlohmann-json3-dev libspdlog-dev libfmt-dev \
        libcli11-dev libkainjow-mustache-dev libsodium-dev libjwt-dev libvalijson-dev \
        libgtest-dev googletest libboost-context-dev libcmark-dev libcurl4-openssl-dev ;;
    # a real PostgreSQL (its WAL archived by pgBackRest; jq reads its info),
    # a real nginx and a real SMTP server for the mail (aiosmtpd)
    run) echo postgresql postgresql-contrib pgbackrest jq nginx-light curl openssl procps iproute2 \
      python3-aiosmtpd ;;
    test)
      packages_of run
      # format and static checks, the shell tests, a TCP forwarder to cut one
      # replica from the database, the compose files' check, the browser test,
      # the benchmark report's chart (tests/static/bench_report.sh)
      echo clang-format clang-tidy bats socat docker-compose chromium gnuplot-nox ;;
    bench) packages_of run; echo wrk gnuplot-nox libbenchmark-dev ;;
    fuzz) echo clang libclang-rt-14-dev ;;
    release)
      if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
        echo curl openssl
        docker compose version >/dev/null 2>&1 || echo docker-compose
      else
        echo podman runc golang-github-containernetworking-plugin-dnsname docker-compose \
          debootstrap curl openssl
      fi ;;
    registry) echo docker-registry python3 curl ;;
    # Patroni runs the PostgreSQL cluster and elects its leader through a
    # three-member etcd (etcd-server; etcdctl from etcd-client; python3-etcd
    # is the client library Patroni's etcd3 support builds on); pgBackRest
    # archives the leader's WAL, takes backups and restores new members.
    ha) echo patroni etcd-server etcd-client python3-etcd pgbackrest postgresql curl ;;
    # make lint, make coverage: the five analysers and the coverage reporter
    lint) echo clang-format clang-tidy cppcheck shellcheck yamllint gcovr ;;
    *) echo "install-deps: unknown group $1 (build run test bench fuzz release registry ha lint)" >&2; exit 2 ;;
  esac
}

missing=()
for group in "$@"; do
  for p in $(packages_of "$group"); do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$status" = "installed" ] || [[ " ${missing[*]} " == *" $p "* ]] || missing+=("$p")
  done
  # npm is a build dependency (it installs Swagger UI's files, embedded into
  # the service for /docs/try; make release puts them in the image's build
  # context) and Node.js drives the browser test; many machines already carry
  # their own node and npm outside dpkg, and Debian's npm conflicts with those,
  # so only add the Debian packages when the commands are missing.
  if [ "$group" = build ] || [ "$group" = test ] || [ "$group" = release ]; then
    command -v node >/dev/null || [[ " ${missing[*]} " == *" nodejs "* ]] || missing+=(nodejs)
    command -v npm >/dev/null || [[ " ${missing[*]} " == *" npm "* ]] || missing+=(npm)
  fi
  if [ "$group" = test ]; then
    # kubectl renders deploy/k8s (tests/static/k8s_manifests.sh). Debian's
    # kubernetes-client (1.20) conflicts with a kubectl installed from another
    # source, so only when there is none.
    command -v kubectl >/dev/null || missing+=(kubernetes-client)
  fi
done

if [ $dry_run = 1 ]; then
  echo "install-deps ($*): ${missing[*]:-nothing missing}"
  exit 0
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
