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
# Scripts run on one page only, Swagger UI's /docs/try, and from this origin
# only: no inline script, no eval, nowhere.
outside=$(awk '/location = \/docs\/try \{/ {inside=1} !inside {print} inside && /^ *\}/ {inside=0}' "$prod")
inside=$(awk '/location = \/docs\/try \{/ {inside=1} inside {print} inside && /^ *\}/ {inside=0}' "$prod")
if grep -q 'script-src' <<<"$outside"; then echo "FAIL: prod CSP allows scripts outside /docs/try"; exit 1; fi
grep -qF "script-src 'self';" <<<"$inside" || { echo "FAIL: /docs/try has no script-src 'self'"; exit 1; }
for promise in 'X-Content-Type-Options nosniff' 'X-Frame-Options DENY' "frame-ancestors 'none'"; do
  grep -qF -- "$promise" <<<"$inside" || { echo "FAIL: /docs/try drops: $promise"; exit 1; }
done
if grep -qE "unsafe-(inline|eval)" "$prod"; then echo "FAIL: prod CSP allows inline script or eval"; exit 1; fi
echo "ok: only /docs/try runs scripts, from 'self'"
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
# Several replicas (make scale): one server line each, passive health checks,
# a replica taken out with `down`; a failed request moves on to another
# replica, but never a POST that reached one (no non_idempotent).
"$root/scripts/render-nginx.sh" prod "$tmp/scale" 18081 127.0.0.1:5001 "127.0.0.1:5002 down" 127.0.0.1:5003
nginx -t -q -c "$tmp/scale/nginx.conf" -p "$tmp/scale" -e "$tmp/scale/error.log"
for line in 'server 127.0.0.1:5001 max_fails=1 fail_timeout=2s;' 'server 127.0.0.1:5002 down max_fails=1 fail_timeout=2s;' \
            'server 127.0.0.1:5003 max_fails=1 fail_timeout=2s;' 'proxy_next_upstream error timeout http_502 http_503;' \
            'proxy_next_upstream_tries' 'proxy_next_upstream_timeout' 'keepalive 64;'; do
  grep -qF -- "$line" "$tmp/scale/nginx.conf" || { echo "FAIL: rendered scale config lacks: $line"; exit 1; }
done
if grep -qE "^[^#]*non_idempotent" "$prod"; then echo "FAIL: prod template lets nginx resend a POST"; exit 1; fi
echo "ok: several upstreams render with health checks; POSTs are never resent"
