#!/usr/bin/env bash
# A local SMTP server that keeps every mail it receives (make run's mail
# sink): Debian's python3-aiosmtpd with its Maildir handler, on 127.0.0.1.
#   mail-sink.sh start DIR PORT   mail lands in DIR/Maildir/new; log DIR/aiosmtpd.log
#   mail-sink.sh stop DIR         stops the one started there, by its PID
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUN_DIR="${RUN_DIR:-$ROOT/.run}"
. scripts/lib/local.sh

# A PID file's process only if it still is our aiosmtpd.
sink_pid() {  # dir
  local pid
  pid=$(cat "$1/aiosmtpd.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q ' -m aiosmtpd ' &&
    echo "$pid"
}

case "${1:-}" in
  start)
    dir=$2 port=$3
    mkdir -p "$dir"
    if pid=$(sink_pid "$dir"); then
      echo "mail sink already running (pid $pid)"
      exit 0
    fi
    require_free_port "$port" "the mail sink" MAIL_PORT
    # Debian's python3 by path: one earlier in PATH (pyenv, a venv) may lack aiosmtpd.
    nohup /usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$port" \
      -c aiosmtpd.handlers.Mailbox "$dir/Maildir" >> "$dir/aiosmtpd.log" 2>&1 &
    echo $! > "$dir/aiosmtpd.pid"
    for _ in $(seq 100); do
      [ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ] && exit 0
      kill -0 "$(cat "$dir/aiosmtpd.pid")" 2>/dev/null || break
      sleep 0.1
    done
    echo "error: the mail sink did not listen on 127.0.0.1:$port; see $dir/aiosmtpd.log" >&2
    exit 1
    ;;
  stop)
    dir=$2
    if pid=$(sink_pid "$dir"); then
      kill "$pid"
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$dir/aiosmtpd.pid"
    ;;
  *)
    echo "usage: $0 start DIR PORT | stop DIR" >&2
    exit 64
    ;;
esac
