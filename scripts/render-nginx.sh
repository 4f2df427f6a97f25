#!/usr/bin/env bash
# Renders an nginx template for a local run (tests, `make prod`, the bench):
#   render-nginx.sh {dev|prod} OUTDIR LISTEN_PORT UPSTREAM_HOST:PORT
# Writes OUTDIR/nginx.conf with every runtime path (pid, logs, temp files)
# inside OUTDIR, so nginx runs without touching /etc or /var.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 4 ] || { echo "usage: $0 {dev|prod} OUTDIR LISTEN_PORT UPSTREAM_HOST:PORT" >&2; exit 64; }
flavour=$1; outdir=$(realpath -m "$2"); listen=$3; upstream=$4
template="nginx/$flavour.conf.template"
[ -f "$template" ] || { echo "render-nginx: no template $template" >&2; exit 64; }
mkdir -p "$outdir"
sed -e "s|\${LISTEN_PORT}|127.0.0.1:$listen|g" \
    -e "s|\${USERS_UPSTREAM}|$upstream|g" \
    -e "s|\${NGINX_RUNTIME_DIR}|$outdir|g" \
    "$template" > "$outdir/nginx.conf"
# As root, workers would switch to "nobody", who cannot write here.
if [ "$(id -u)" -eq 0 ]; then sed -i '1i user root;' "$outdir/nginx.conf"; fi
