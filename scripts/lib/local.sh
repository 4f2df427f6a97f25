# shellcheck shell=bash
# Helpers shared by the scripts that run the stack on this machine
# (run-local.sh: make run / make prod; scale.sh: make scale). Sourced, not run.
# Expects ROOT (the checkout) and RUN_DIR to be set.

# Where the local PostgreSQL cluster lives: $RUN_DIR/pg, except as root when
# the postgres user cannot enter this checkout (e.g. under /root): then a
# directory in /var/tmp named after RUN_DIR.
local_pg_dir() {
  local dir="$RUN_DIR/pg"
  if [ "$(id -u)" -eq 0 ] && id postgres >/dev/null 2>&1; then
    mkdir -p "$RUN_DIR"
    if ! runuser -u postgres -- test -x "$RUN_DIR"; then
      dir="/var/tmp/users-service-$(printf '%s' "$RUN_DIR" | md5sum | cut -c1-8)/pg"
      mkdir -p "$(dirname "$dir")" && chmod 755 "$(dirname "$dir")"
    fi
  fi
  echo "$dir"
}

# Production needs a SECRET_KEY, the same one in every replica (a token
# signed by one is checked by another): one generated per run directory.
local_secret_key() {
  if [ -n "${SECRET_KEY:-}" ]; then echo "$SECRET_KEY"; return; fi
  mkdir -p "$RUN_DIR"
  [ -s "$RUN_DIR/secret_key" ] || (umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$RUN_DIR/secret_key")
  cat "$RUN_DIR/secret_key"
}

wait_for() {  # url, seconds
  local deadline=$((SECONDS + $2))
  until curl -fsS -o /dev/null "$1" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then return 1; fi
    sleep 0.2
  done
}

# Any TCP socket on a local port blocks a server's bind there, not only a
# listener: an outgoing connection the kernel gave that port too (the ports
# between /proc/sys/net/ipv4/ip_local_port_range's bounds are handed out so).
# TIME_WAIT is left out: every server here binds with SO_REUSEADDR, which
# the kernel lets through those (a `stop` then `start` leaves some).
port_sockets() {  # port [extra ss options]
  ss -Htan"${2:-}" state all exclude time-wait "sport = :$1" 2>/dev/null
}
port_in_use() { [ -n "$(port_sockets "$1")" ]; }

# PIDs with a socket on a TCP port (empty when it is free).
port_owners() {
  port_sockets "$1" p | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u | paste -sd ' ' -
}

# True when the kernel may pick this port for an outgoing connection.
in_ephemeral_range() {
  local low high
  read -r low high < /proc/sys/net/ipv4/ip_local_port_range
  [ "$1" -ge "$low" ] && [ "$1" -le "$high" ]
}

# Fails loudly when a socket already holds the port we are about to listen on.
require_free_port() {  # port, what, variable that moves it
  if port_in_use "$1"; then
    local owners; owners=$(port_owners "$1")
    echo "error: port $1 ($2) is already in use${owners:+ by pid $owners}; stop that process (make stop, if it is ours) or set ${3:-PORT}=..." >&2
    exit 1
  fi
}

# True when PID is alive and is the program named (a stale PID file's number
# may belong to anything by now).
is_process() {  # pid, comm
  [ -n "$1" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]
}
