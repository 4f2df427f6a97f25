#!/usr/bin/env bash
# nginx -t on both templates as rendered for a local run, and the promises
# the prod template makes.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for flavour in dev prod; do
  "$root/scripts/render-nginx.sh" "$flavour" "$tmp/$flavour" 18081 127.0.0.1:5000
  nginx -t -q -c "$tmp/$flavour/nginx.conf" -p "$tmp/$flavour" -e "$tmp/$flavour/error.log"
  echo "ok: nginx -t $flavour"
done
prod="$root/nginx/prod.conf.template"
for promise in 'server_tokens off;' 'client_max_body_size 1m;' 'keepalive 64;' \
               'proxy_set_header Connection "";' 'proxy_set_header X-Request-ID' \
               'X-Content-Type-Options nosniff' 'X-Frame-Options DENY' 'Content-Security-Policy' \
               'error_page 413' 'error_page 502' 'error_page 504' 'gzip on;'; do
  grep -qF -- "$promise" "$prod" || { echo "FAIL: prod template lacks: $promise"; exit 1; }
done
echo "ok: prod template promises"
