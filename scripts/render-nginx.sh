#!/usr/bin/env bash
# Renders an nginx template for a local run (tests, `make prod`, `make scale`,
# the bench):
#   render-nginx.sh {dev|prod} OUTDIR LISTEN_PORT UPSTREAM [UPSTREAM...]
# Each UPSTREAM is HOST:PORT, optionally followed by `server` parameters in
# the same argument ("127.0.0.1:5002 down"). One UPSTREAM fills the template's
# `server ${USERS_UPSTREAM};` line as it is; several become one `server` line
# each, with passive health checks (max_fails/fail_timeout: a replica that
# fails is left alone for a while) unless the argument sets its own.
# Writes OUTDIR/nginx.conf (and the prod template's security-headers.conf)
# with every runtime path (pid, logs, temp files) inside OUTDIR, so nginx runs
# without touching /etc or /var.
# HTTPS (prod template): with NGINX_TLS_CERT and NGINX_TLS_KEY set (PEM
# files), LISTEN_PORT serves HTTPS and NGINX_HTTP_PORT (required then)
# redirects to it; without them, plain HTTP on LISTEN_PORT (`make prod`).
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
tls_cert=${NGINX_TLS_CERT:-} tls_key=${NGINX_TLS_KEY:-} http_port=${NGINX_HTTP_PORT:-}
if [ -n "$tls_cert" ]; then
  [ -f "$tls_cert" ] && [ -f "${tls_key:-/nonexistent}" ] && [ -n "$http_port" ] ||
    { echo "render-nginx: HTTPS needs NGINX_TLS_CERT, NGINX_TLS_KEY (files) and NGINX_HTTP_PORT" >&2; exit 64; }
  tls_cert=$(realpath "$tls_cert") tls_key=$(realpath "$tls_key")
  # The `#tls ` lines unmarked, the `#plain-only` ones dropped.
  tls_edit=(-e 's/^\( *\)#tls /\1/' -e '/#plain-only$/d')
else
  tls_edit=(-e '/^ *#tls /d')
fi
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
    -e "s|\${HTTP_PORT}|127.0.0.1:$http_port|g" \
    -e "s|\${TLS_CERT}|$tls_cert|g" -e "s|\${TLS_KEY}|$tls_key|g" \
    "${tls_edit[@]}" "$template" > "$outdir/nginx.conf"
if [ -f nginx/security-headers.conf ]; then
  sed "${tls_edit[@]}" nginx/security-headers.conf > "$outdir/security-headers.conf"
fi
# As root, workers would switch to "nobody", who cannot write here.
if [ "$(id -u)" -eq 0 ]; then sed -i '1i user root;' "$outdir/nginx.conf"; fi
