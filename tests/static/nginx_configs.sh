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
# Every status nginx can produce by itself is answered as the service's JSON,
# through an internal URI (a named location fails for an unparsable request line).
for flavour in dev prod; do
  template="$root/nginx/$flavour.conf.template"
  for status in 400 404 405 408 413 414 431 494 500 501 502 503 504 505; do
    grep -qE "error_page ([0-9]+ )*$status( [0-9]+)* (=[0-9]+ )?/__nginx_error/" "$template" ||
      { echo "FAIL: $flavour template has no JSON error_page for $status"; exit 1; }
  done
  if grep -q 'error_page .*= *@' "$template"; then
    echo "FAIL: $flavour template sends an error to a named location"; exit 1
  fi
done
echo "ok: nginx's own errors are JSON in both templates"
