#!/usr/bin/env bash
# nginx -t on both templates as rendered for a local run (the prod one also
# with HTTPS), the promises the prod template makes, and the HTTPS render
# serving: redirect, HSTS, TLS versions, headers on every answer, /metrics
# closed, a JSON 429 from the auth rate limit (the mail flows' POSTs too), no
# token from a mail's link in the access or error log.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for flavour in dev prod; do
  "$root/scripts/render-nginx.sh" "$flavour" "$tmp/$flavour" 18081 127.0.0.1:5000
  nginx -t -q -c "$tmp/$flavour/nginx.conf" -p "$tmp/$flavour" -e "$tmp/$flavour/error.log"
  echo "ok: nginx -t $flavour"
done
prod="$root/nginx/prod.conf.template"
# shellcheck disable=SC2016 # nginx's own $variables, literally
for promise in 'server_tokens off;' 'client_max_body_size 1m;' 'keepalive 64;' \
               'proxy_set_header Connection "";' 'proxy_set_header X-Request-ID' \
               'include ${NGINX_RUNTIME_DIR}/security-headers.conf;' \
               'error_page 413' 'error_page 502' 'error_page 504' 'gzip on;'; do
  grep -qF -- "$promise" "$prod" || { echo "FAIL: prod template lacks: $promise"; exit 1; }
done
for promise in 'X-Content-Type-Options nosniff' 'X-Frame-Options DENY' 'Referrer-Policy no-referrer' \
               'Content-Security-Policy'; do
  grep -qF -- "$promise" "$root/nginx/security-headers.conf" ||
    { echo "FAIL: nginx/security-headers.conf lacks: $promise"; exit 1; }
done
echo "ok: prod template promises"

# HTTPS: TLS 1.2/1.3 only, no tickets, no stapling, HSTS; the auth POSTs
# rate-limited per client address; /metrics closed.
headers="$root/nginx/security-headers.conf"
# shellcheck disable=SC2016 # nginx's own $variables, literally
for promise in 'ssl_protocols TLSv1.2 TLSv1.3;' 'ssl_session_tickets off;' 'ssl_stapling off;' \
               'return 301 https://$host$request_uri;' 'limit_req_status 429;' \
               'limit_req zone=users_auth' '"POST /auth/login" $binary_remote_addr;' \
               '"POST /auth/register" $binary_remote_addr;' '"POST /auth/password" $binary_remote_addr;' \
               '"POST /auth/password/forgot" $binary_remote_addr;' '"POST /auth/password/reset" $binary_remote_addr;' \
               '"POST /auth/verify" $binary_remote_addr;' '"POST /auth/verify/resend" $binary_remote_addr;' \
               '"POST /reset-password" $binary_remote_addr;' '"POST /verify-email" $binary_remote_addr;' \
               '"POST /auth/refresh" $binary_remote_addr;' \
               'error_page 429 /__nginx_error/429;' 'location = /metrics {' \
               'proxy_hide_header Content-Security-Policy;'; do
  grep -qF -- "$promise" "$prod" || { echo "FAIL: prod template lacks: $promise"; exit 1; }
done
grep -q '^#tls add_header Strict-Transport-Security "max-age=[0-9]*' "$headers" ||
  { echo "FAIL: security-headers.conf sends no HSTS with HTTPS"; exit 1; }
# nginx drops inherited add_header lines in a location with its own: every
# block that adds a header must include the security headers too.
awk '/^ *location /{loc=$0; adds=0; incl=0} /add_header/{adds=1} /include .*security-headers.conf/{incl=1}
     /^        }$/{ if (loc != "" && adds && !incl) { print "FAIL: " loc " adds a header without the security headers"; bad=1 } loc="" }
     END{exit bad}' "$prod"
echo "ok: prod template promises HTTPS, HSTS, rate limits and headers in every location"

# Scripts run on one page only, Swagger UI's /docs/try, and from this origin
# only: no inline script, no eval, nowhere (the CSP is the map $users_csp).
docs_try_csp=$(grep -E '^ +~\^/docs/try[^ ]* +"' "$prod" || true)
if grep -vE '^ +~\^/docs/try[^ ]* +"' "$prod" | grep -q 'script-src'; then
  echo "FAIL: prod CSP allows scripts outside /docs/try"; exit 1
fi
grep -qF "script-src 'self';" <<<"$docs_try_csp" || { echo "FAIL: /docs/try has no script-src 'self'"; exit 1; }
grep -qF "frame-ancestors 'none'" <<<"$docs_try_csp" || { echo "FAIL: /docs/try drops frame-ancestors 'none'"; exit 1; }
if grep -qE "unsafe-(inline|eval)" "$prod"; then echo "FAIL: prod CSP allows inline script or eval"; exit 1; fi
echo "ok: only /docs/try runs scripts, from 'self'"

# A token from a mail's link never reaches a log: the access log's request
# line is $users_logged_request (a query only on / and /users, never one
# naming a token), and the pages' own locations write no error-log lines
# (which quote the request line). Served below: the lines nginx wrote.
for template in "$prod" "$root/nginx/dev.conf.template"; do
  formats=$(awk '/^ *log_format /{on=1} on{print} on && /;$/{on=0}' "$template")
  # shellcheck disable=SC2016 # nginx's own $variables, literally
  grep -qF '"$users_logged_request"' <<<"$formats" && ! grep -qE '\$request[^_a-z]' <<<"$formats" ||
    { echo "FAIL: $template logs \$request with its query string"; exit 1; }
  for page in /reset-password /verify-email; do
    awk -v page="$page" '$0 ~ "^ *location = " page " [{]$"{on=1} on && /error_log .* crit;/{found=1} on && /^        }$/{on=0}
         END{exit !found}' "$template" ||
      { echo "FAIL: $template has no location = $page whose error_log is crit"; exit 1; }
  done
done
echo "ok: both templates log no query string but paging's, and no error-log line for the mail links' pages"

# Every rate-limited or blocked path is an exact match, and no other
# spelling of it reaches the service: nginx keeps empty segments (no
# merge_slashes) and answers any non-canonical path (an empty segment, a
# trailing slash) with its 404, as the service does.
limited=$(awk '/^ *map "\$request_method \$uri" \$users_auth_client \{/{on=1; next} on && /^ *}/{on=0} on' "$prod")
[ -n "$limited" ] || { echo "FAIL: prod template has no map \$users_auth_client"; exit 1; }
# shellcheck disable=SC2016 # nginx's own $variables, literally
if grep -vE '^ *(default ""|"POST /[a-z/-]*[a-z]" \$binary_remote_addr);$' <<<"$limited"; then
  echo "FAIL: the rate-limited paths above are not exact \"POST /path\" strings"; exit 1
fi
for template in "$prod" "$root/nginx/dev.conf.template"; do
  if grep -E '^ *location ' "$template" | grep -v '^ *location [=@]' |
     grep -vxF -e '        location / {' -e '        location ~ "//|./$" {'; then
    echo "FAIL: $template has a location above that is neither exact nor the catch-all"; exit 1
  fi
done
grep -qE '^ *limit_req zone=users_auth' "$prod" && [ "$(grep -c '^ *limit_req zone=' "$prod")" = 1 ] ||
  { echo "FAIL: the auth rate limit is not one server-wide limit_req keyed by exact paths"; exit 1; }
for promise in 'merge_slashes off;' 'location ~ "//|./$" {' 'location = /metrics {'; do
  grep -qF -- "$promise" "$prod" || { echo "FAIL: prod template lacks: $promise"; exit 1; }
done
awk '/location ~ "\/\/\|\.\/\$" \{/{getline; if ($0 !~ /^ *return 404;$/) exit 1; found=1} END{exit !found}' "$prod" ||
  { echo "FAIL: the non-canonical paths' location does not return 404"; exit 1; }
echo "ok: every rate-limited or blocked path is exact; other spellings are nginx's 404"

tls="$tmp/tls"
mkdir -p "$tls"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -addext subjectAltName=DNS:localhost \
  -keyout "$tls/key.pem" -out "$tls/cert.pem" 2>/dev/null
https_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
http_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
NGINX_TLS_CERT="$tls/cert.pem" NGINX_TLS_KEY="$tls/key.pem" NGINX_HTTP_PORT=$http_port \
  "$root/scripts/render-nginx.sh" prod "$tmp/https" "$https_port" 127.0.0.1:9
nginx -t -q -c "$tmp/https/nginx.conf" -p "$tmp/https" -e "$tmp/https/error.log"
echo "ok: nginx -t prod with HTTPS"
nginx -c "$tmp/https/nginx.conf" -p "$tmp/https" -e "$tmp/https/error.log"
trap 'kill "$(cat "$tmp/https/nginx.pid" 2>/dev/null)" 2>/dev/null; rm -rf "$tmp"' EXIT
base="https://localhost:$https_port"
fetch() { curl -sS --cacert "$tls/cert.pem" --resolve "localhost:$https_port:127.0.0.1" -D "$tmp/h" -o "$tmp/b" -w '%{http_code}' "$@"; }
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$http_port/nginx-ping" && break; sleep 0.1; done
code=$(curl -sS -D "$tmp/h" -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http_port/users?x=1")
[ "$code" = 301 ] && grep -qi '^location: https://127.0.0.1/users?x=1' "$tmp/h" ||
  { echo "FAIL: plain HTTP answered $code, not a redirect to HTTPS"; cat "$tmp/h"; exit 1; }
for path in /nginx-ping /metrics /users; do  # nginx's own 200, its 404, its 502 (no upstream)
  fetch "$base$path" >/dev/null
  for header in 'Strict-Transport-Security: max-age=' 'Content-Security-Policy: ' \
                'X-Frame-Options: DENY' 'X-Content-Type-Options: nosniff' 'Referrer-Policy: no-referrer'; do
    [ "$(grep -ci "^$header" "$tmp/h")" = 1 ] ||
      { echo "FAIL: $path does not carry '$header' exactly once"; cat "$tmp/h"; exit 1; }
  done
done
fetch "$base/docs/try" >/dev/null
[ "$(grep -ci '^Content-Security-Policy: ' "$tmp/h")" = 1 ] && grep -qi "^Content-Security-Policy: .*script-src 'self'" "$tmp/h" ||
  { echo "FAIL: /docs/try does not carry one CSP allowing scripts from 'self'"; cat "$tmp/h"; exit 1; }
fetch "$base/users" >/dev/null
if grep -qi '^Content-Security-Policy: .*script-src' "$tmp/h"; then echo "FAIL: /users allows scripts"; exit 1; fi
for path in /metrics /metrics/ //metrics /metrics%2F; do
  [ "$(fetch --path-as-is "$base$path")" = 404 ] && grep -q '"Resource not found."' "$tmp/b" ||
    { echo "FAIL: $path is not nginx's JSON 404"; exit 1; }
done
for path in /auth/login/ /auth/register/ //auth/password; do
  [ "$(fetch --path-as-is -X POST --data '{}' "$base$path")" = 404 ] ||
    { echo "FAIL: POST $path is not nginx's 404 (it would pass the rate limit)"; exit 1; }
done
fetch --tlsv1.2 --tls-max 1.2 "$base/nginx-ping" >/dev/null
if curl -sS -o /dev/null --cacert "$tls/cert.pem" --resolve "localhost:$https_port:127.0.0.1" --tlsv1.1 --tls-max 1.1 --ciphers 'DEFAULT@SECLEVEL=0' \
     "$base/nginx-ping" 2>"$tmp/err" || ! grep -q 'protocol version' "$tmp/err"; then
  echo "FAIL: TLS 1.1 was not refused by nginx"; cat "$tmp/err"; exit 1
fi
# 30 POSTs on one kept-alive connection (one curl, 30 transfers), then one more.
flood=()
for _ in $(seq 30); do flood+=("$base/auth/login" -o /dev/null); done
codes=$(curl -sS --cacert "$tls/cert.pem" --resolve "localhost:$https_port:127.0.0.1" -X POST --data '{}' \
  -w '%{http_code} ' "${flood[@]}")
[ "$(fetch -X POST "$base/auth/login" --data '{}')" = 429 ] && [[ "$codes" == *"429"* ]] &&
  grep -q '"Too many requests."' "$tmp/b" && grep -qi '^retry-after: 1' "$tmp/h" ||
  { echo "FAIL: 31 quick POST /auth/login got $codes, no JSON 429"; cat "$tmp/h" "$tmp/b"; exit 1; }
[ "$(fetch -X GET "$base/auth/login")" != 429 ] || { echo "FAIL: a GET was rate-limited"; exit 1; }
# The mail flows' POSTs share the limit (each: 15 at once from this address,
# whose allowance the flood above used up); their other spellings are 404s.
for path in /auth/password/forgot /auth/password/reset /auth/verify /auth/verify/resend /reset-password /verify-email; do
  flood=()
  for _ in $(seq 15); do flood+=("$base$path" -o /dev/null); done
  codes=$(curl -sS --cacert "$tls/cert.pem" --resolve "localhost:$https_port:127.0.0.1" -X POST --data '{}' \
    -w '%{http_code} ' "${flood[@]}")
  [[ "$codes" == *"429"* ]] || { echo "FAIL: 15 quick POST $path got $codes, no 429"; exit 1; }
  [ "$(fetch --path-as-is -X POST --data '{}' "$base$path/")" = 404 ] ||
    { echo "FAIL: POST $path/ is not nginx's 404 (it would pass the rate limit)"; exit 1; }
done
[ "$(fetch -X GET "$base/reset-password?token=x")" != 429 ] || { echo "FAIL: the reset page's GET was rate-limited"; exit 1; }
echo "ok: HTTPS serves: redirect, HSTS and headers on every answer, TLS 1.2+, /metrics 404, auth POSTs 429"
# The mails' links through this nginx, whose upstream is down (a 502 and, but
# for the pages' locations, an error-log line each): the access log holds no
# query with a token, and the error log no line of the pages. (Another path
# with a token in its query still has its error-log line: only the pages'
# links carry one.)
secret=tok3nS3cr3tFromAMailLink
for target in "/reset-password?token=$secret" "/verify-email?token=$secret&x=1" "/reset-password/?token=$secret" \
              "/users?token=$secret" "/docs?Token=$secret" "/?a=$secret"; do
  fetch --path-as-is "$base$target" >/dev/null
done
fetch --path-as-is "$base/users?limit=2&after=7" >/dev/null
sleep 0.2  # the workers' buffered log lines
if grep "$secret" "$tmp/https/access.log" || grep -E "(reset-password|verify-email).*$secret" "$tmp/https/error.log"; then
  echo "FAIL: a token from a link reached nginx's logs (above)"; exit 1
fi
grep -q '"GET /reset-password HTTP/1.1" 502 ' "$tmp/https/access.log" &&
  grep -q '"GET /verify-email HTTP/1.1" 502 ' "$tmp/https/access.log" &&
  grep -q '"GET /users?limit=2&after=7 HTTP/1.1" 502 ' "$tmp/https/access.log" ||
  { echo "FAIL: the access log lacks the pages' lines without their query, or paging's with it"; cat "$tmp/https/access.log"; exit 1; }
echo "ok: a token in a link's query reaches neither the access log nor the error log"
# Every status nginx can produce by itself is answered as the service's JSON,
# through an internal URI (a named location fails for an unparsable request line).
for flavour in dev prod; do
  template="$root/nginx/$flavour.conf.template"
  for status in 400 404 405 408 413 414 431 494 500 501 502 503 504 505; do
    grep -qE "error_page ([0-9]+ )*$status( [0-9]+)* (=[0-9]+ )?/__nginx_error/" "$template" ||
      { echo "FAIL: $flavour template has no JSON error_page for $status"; exit 1; }
  done
  # 418 is the one exception: only `location /` returns it, for a parsed request.
  if grep 'error_page .*= *@' "$template" | grep -vqF 'error_page 418 = @users_once;'; then
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
# Only GET and HEAD go to another replica after an answer: every other
# method but POST and PATCH (never resent once sent, by nginx's own rule)
# goes to @users_once, which never resends.
methods=$(awk '/^ *map \$request_method \$users_no_retry \{/{on=1; next} on && /^ *}/{on=0} on' "$prod" | tr -s ' \n' ' ')
[ "$methods" = ' default 1; GET ""; HEAD ""; POST ""; PATCH ""; ' ] ||
  { echo "FAIL: the map \$users_no_retry is '$methods'"; exit 1; }
awk '/^ *location @users_once \{/{on=1} on && /proxy_next_upstream off;/{found=1} on && /^        }$/{on=0} END{exit !found}' "$prod" ||
  { echo "FAIL: @users_once does not set proxy_next_upstream off"; exit 1; }
# shellcheck disable=SC2016 # nginx's own $variables, literally
grep -qE '^ *if \(\$users_no_retry\) \{' "$prod" || { echo "FAIL: location / never hands writes to @users_once"; exit 1; }
echo "ok: several upstreams render with health checks; only GET and HEAD are retried after an answer"
