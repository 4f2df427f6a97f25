#!/usr/bin/env bash
# Renders an nginx template for a local run (tests, `make prod`, `make scale`,
# the bench):
#   render-nginx.sh {dev|prod} OUTDIR LISTEN_PORT UPSTREAM [UPSTREAM...]
# Each UPSTREAM is HOST:PORT, optionally followed by `server` parameters in
# the same argument ("127.0.0.1:5002 down"). One UPSTREAM fills the template's
# `server ${USERS_UPSTREAM};` line as it is; several become one `server` line
# each, with passive health checks (max_fails/fail_timeout: a replica that
# fails is left alone for a while) unless the argument sets its own.
# Writes OUTDIR/nginx.conf with every runtime path (pid, logs, temp files)
# inside OUTDIR, so nginx runs without touching /etc or /var.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 4 ] || { echo "usage: $0 {dev|prod} OUTDIR LISTEN_PORT UPSTREAM [UPSTREAM...]" >&2; exit 64; }
flavour=$1; outdir=$(realpath -m "$2"); listen=$3; shift 3
template="nginx/$flavour.conf.template"
[ -f "$template" ] || { echo "render-nginx: no template $template" >&2; exit 64; }
# shellcheck disable=SC2016 # the literal placeholder, not an expansion
grep -q 'server \${USERS_UPSTREAM};' "$template" || { echo "render-nginx: $template has no 'server \${USERS_UPSTREAM};' line" >&2; exit 64; }
for u in "$@"; do
  [[ "$u" =~ ^[A-Za-z0-9._:-]+(\ [a-z_]+(=[A-Za-z0-9.]+)?)*$ ]] || { echo "render-nginx: bad upstream '$u'" >&2; exit 64; }
done
mkdir -p "$outdir"

# The upstream's server lines, indented like the template's.
servers=""
if [ $# -eq 1 ]; then
  servers="        server $1;"
else
  for u in "$@"; do
    [[ "$u" == *max_fails=* ]] || u="$u max_fails=1"
    [[ "$u" == *fail_timeout=* ]] || u="$u fail_timeout=2s"
    servers+="${servers:+\\n}        server $u;"
  done
fi
sed -e "s|^ *server \${USERS_UPSTREAM};|$servers|" \
    -e "s|\${LISTEN_PORT}|127.0.0.1:$listen|g" \
    -e "s|\${NGINX_RUNTIME_DIR}|$outdir|g" \
    "$template" > "$outdir/nginx.conf"
# As root, workers would switch to "nobody", who cannot write here.
if [ "$(id -u)" -eq 0 ]; then sed -i '1i user root;' "$outdir/nginx.conf"; fi
