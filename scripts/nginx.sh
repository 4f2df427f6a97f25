#!/usr/bin/env bash
# Starts or stops an nginx rendered by render-nginx.sh into DIR.
#   nginx.sh start DIR   daemonised; waits until it listens
#   nginx.sh stop DIR    by the PID in DIR/nginx.pid
set -euo pipefail
cmd=${1:-}; dir=$(realpath -m "${2:-}")
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
case "$cmd" in
  start)
    "$NGINX" -t -q -c "$dir/nginx.conf" -p "$dir" -e "$dir/error.log"
    "$NGINX" -c "$dir/nginx.conf" -p "$dir" -e "$dir/error.log"
    for _ in $(seq 100); do
      [ -s "$dir/nginx.pid" ] && kill -0 "$(cat "$dir/nginx.pid")" 2>/dev/null && exit 0
      sleep 0.05
    done
    echo "nginx.sh: nginx did not start; see $dir/error.log" >&2; exit 1
    ;;
  stop)
    [ -s "$dir/nginx.pid" ] || exit 0
    pid=$(cat "$dir/nginx.pid")
    kill -QUIT "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.05; done
    kill -TERM "$pid" 2>/dev/null || true
    ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 64 ;;
esac
