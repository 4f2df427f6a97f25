#!/usr/bin/env bats
# The HTTP contract through the production stack's nginx, from a container on
# the compose network. Each test stands alone: emails are unique per run.
#
# Two profiles: the open one (the seed's contract), and the locked-down one
# (REQUIRE_ADMIN_FOR_WRITES=true and REQUIRE_AUTH_FOR_READS=true), which
# scripts/release.sh runs with AUTH_TOKEN set to an admin's token: every
# request that brings no Authorization of its own then carries that token, so
# the contract above holds for an admin, and the locked-down tests at the end
# check what a client without a token (or without the admin flag) gets.

# `run !`: a bare `! cmd` never fails a Bats test.
bats_require_minimum_version 1.5.0

setup_file() {
  RUN_ID="r$(date +%s%N)"
  export RUN_ID
}

locked_down() { [ -n "${AUTH_TOKEN:-}" ]; }

# curl into $status_code, $body and $headers (files under BATS_TEST_TMPDIR).
# In the locked-down profile the admin's token goes with every request that
# sets no Authorization header itself; `anonymous request ...` sends none.
request() {
  local method=$1 path=$2; shift 2
  local auth=() arg
  if locked_down && [ -z "${ANONYMOUS:-}" ]; then
    auth=(-H "Authorization: Bearer $AUTH_TOKEN")
    for arg in "$@"; do
      if [[ "${arg,,}" == authorization:* ]]; then auth=(); break; fi
    done
  fi
  status_code=$(curl -sS -o "$BATS_TEST_TMPDIR/body" -D "$BATS_TEST_TMPDIR/headers" \
    -w '%{http_code}' -X "$method" "${auth[@]}" "$BASE_URL$path" "$@")
  body=$(cat "$BATS_TEST_TMPDIR/body")
  headers=$(tr -d '\r' < "$BATS_TEST_TMPDIR/headers")
}

anonymous() { ANONYMOUS=1 "$@"; }

post_user() {  # username email
  request POST /users -H 'Content-Type: application/json' \
    --data "{\"username\":\"$1\",\"email\":\"$2\"}"
}

json_field() { jq -r "$1" <<<"$body"; }

expect_fail() {  # status message
  [ "$status_code" = "$1" ]
  [ "$(json_field .status)" = fail ]
  [ "$(json_field .message)" = "$2" ]
  grep -qi '^content-type: application/json' <<<"$headers"
}

@test "GET /ping answers pong" {
  request GET /ping
  [ "$status_code" = 200 ]
  [ "$(json_field .status)" = success ]
  [ "$(json_field .message)" = "pong!" ]
  [ "$(jq -c 'keys' <<<"$body")" = '["message","status"]' ]
}

@test "POST /users adds a user, GET /users/{id} returns it" {
  post_user "ann-$RUN_ID" "ann-$RUN_ID@example.com"
  [ "$status_code" = 201 ]
  [ "$(json_field .message)" = "ann-$RUN_ID@example.com was added!" ]
  request GET /users
  id=$(json_field ".data.users[] | select(.email == \"ann-$RUN_ID@example.com\") | .id")
  [ -n "$id" ]
  request GET "/users/$id"
  [ "$status_code" = 200 ]
  [ "$(json_field .status)" = success ]
  [ "$(json_field .data.username)" = "ann-$RUN_ID" ]
  [ "$(json_field .data.active)" = false ]  # the Flask model's default
  [[ "$(json_field .data.created_at)" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$ ]]
}

@test "POST /users with a duplicate email is a 400" {
  post_user "bob-$RUN_ID" "bob-$RUN_ID@example.com"
  [ "$status_code" = 201 ]
  post_user "bob2-$RUN_ID" "BOB-$RUN_ID@example.com"
  expect_fail 400 "Sorry. That email already exists."
}

@test "POST /users with an invalid payload is a 400" {
  request POST /users -H 'Content-Type: application/json' --data '{}'
  expect_fail 400 "Invalid payload."
  request POST /users -H 'Content-Type: application/json' --data '{"email":"x@example.com"}'
  expect_fail 400 "Invalid payload."
  request POST /users -H 'Content-Type: application/json' --data '{"username":"x","email":'
  expect_fail 400 "Invalid payload."
}

@test "GET /users/{id} with a bad id is a 400, with an unknown id a 404" {
  request GET /users/blah
  expect_fail 400 "Param id error"
  request GET /users/999999999
  expect_fail 404 "User does not exist"
}

@test "GET /users lists users in insertion order" {
  post_user "c1-$RUN_ID" "c1-$RUN_ID@example.com"
  post_user "c2-$RUN_ID" "c2-$RUN_ID@example.com"
  request GET /users
  [ "$status_code" = 200 ]
  [ "$(json_field .status)" = success ]
  order=$(json_field ".data.users[] | select(.username | endswith(\"-$RUN_ID\")) | .username" | grep -E '^c[12]-' | tr '\n' ' ')
  [ "$order" = "c1-$RUN_ID c2-$RUN_ID " ]
}

@test "GET / shows the page with the users" {
  post_user "page-$RUN_ID" "page-$RUN_ID@example.com"
  request GET /
  [ "$status_code" = 200 ]
  grep -qi '^content-type: text/html' <<<"$headers"
  grep -q 'All Users' <<<"$body"
  grep -q "page-$RUN_ID" <<<"$body"
  run ! grep -q "page-$RUN_ID@example.com" <<<"$body"  # usernames and dates only
}

@test "POST / (form) adds a user, then shows the page" {
  request POST / --data-urlencode "username=form-$RUN_ID" --data-urlencode "email=form-$RUN_ID@example.com"
  [ "$status_code" = 303 ]
  grep -qi '^location: /' <<<"$headers"
  request GET /
  [ "$status_code" = 200 ]
  grep -q "form-$RUN_ID" <<<"$body"
}

@test "unknown route is a JSON 404, wrong method a JSON 405" {
  request GET /no/such/route
  [ "$status_code" = 404 ]
  [ "$(json_field .status)" = fail ]
  request DELETE /ping
  [ "$status_code" = 405 ]
  [ "$(json_field .status)" = fail ]
}

@test "a body over the limit is a JSON 413 from nginx" {
  head -c 2000000 /dev/zero | tr '\0' a > "$BATS_TEST_TMPDIR/big"
  request POST /users -H 'Content-Type: application/json' --data-binary "@$BATS_TEST_TMPDIR/big"
  [ "$status_code" = 413 ]
  [ "$(json_field .status)" = fail ]
  grep -qi '^content-type: application/json' <<<"$headers"
}

@test "responses carry a request id and nginx hides its version" {
  request GET /ping -H 'X-Request-ID: acceptance-1'
  grep -qi '^x-request-id: acceptance-1' <<<"$headers"
  run ! grep -qi '^server: nginx/' <<<"$headers"
}

@test "health endpoints answer through nginx" {
  request GET /health/ready
  [ "$status_code" = 200 ]
}

@test "register, login, status, logout: the token is refused after logout" {
  local email="auth-$RUN_ID@example.com"
  request POST /auth/register -H 'Content-Type: application/json' \
    --data "{\"username\":\"auth-$RUN_ID\",\"email\":\"$email\",\"password\":\"correct horse battery\"}"
  [ "$status_code" = 201 ]
  [ "$(json_field .message)" = "Successfully registered." ]
  request POST /auth/login -H 'Content-Type: application/json' \
    --data "{\"email\":\"$email\",\"password\":\"wrong password\"}"
  expect_fail 401 "Invalid credentials."
  request POST /auth/login -H 'Content-Type: application/json' \
    --data "{\"email\":\"$email\",\"password\":\"correct horse battery\"}"
  [ "$status_code" = 200 ]
  token=$(json_field .auth_token)
  request GET /auth/status -H "Authorization: Bearer $token"
  [ "$status_code" = 200 ]
  [ "$(json_field .data.email)" = "$email" ]
  [ "$(json_field '.data | has("password")')" = false ]
  request GET /auth/logout -H "Authorization: Bearer $token"
  [ "$status_code" = 200 ]
  request GET /auth/status -H "Authorization: Bearer $token"
  [ "$status_code" = 401 ]
  anonymous request GET /auth/status
  expect_fail 403 "Provide a valid auth token."
}

# --- sessions and refresh tokens ---------------------------------------------
# tests/release/compose.release.yml sets REFRESH_TOKEN_GRACE_SECONDS to 2, so
# the replay within the window and the reuse after it both fit in seconds.

refresh() {  # refresh_token
  request POST /auth/refresh -H 'Content-Type: application/json' --data "{\"refresh_token\":\"$1\"}"
}

@test "log in, refresh, list the sessions; a retired refresh token reused after the grace window ends its session" {
  local email="sess-$RUN_ID@example.com" agent="acceptance-$RUN_ID"
  request POST /auth/register -H 'Content-Type: application/json' \
    --data "{\"username\":\"sess-$RUN_ID\",\"email\":\"$email\",\"password\":\"correct horse battery\"}"
  [ "$status_code" = 201 ]
  first_token=$(json_field .auth_token)  # the registration's session
  request POST /auth/login -H 'Content-Type: application/json' -A "$agent" \
    --data "{\"email\":\"$email\",\"password\":\"correct horse battery\"}"
  [ "$status_code" = 200 ]
  grep -qi '^cache-control: no-store' <<<"$headers"
  token=$(json_field .auth_token)
  retired=$(json_field .refresh_token)
  [ -n "$token" ]
  [ -n "$retired" ]
  [ "$retired" != null ]
  [ "$(json_field '.expires_in | type == "number" and . > 0')" = true ]

  refresh "$retired"
  [ "$status_code" = 200 ]
  grep -qi '^cache-control: no-store' <<<"$headers"
  token=$(json_field .auth_token)
  current=$(json_field .refresh_token)
  [ -n "$token" ]
  [ "$current" != "$retired" ]
  [ "$(json_field '.expires_in > 0')" = true ]
  # Within the grace window the retired token gives the same new pair back
  # (a client whose answer was lost retries).
  refresh "$retired"
  [ "$status_code" = 200 ]
  [ "$(json_field .refresh_token)" = "$current" ]
  [ "$(json_field .auth_token)" = "$token" ]

  request GET /auth/status -H "Authorization: Bearer $token"
  [ "$status_code" = 200 ]
  [ "$(json_field .data.email)" = "$email" ]
  # Newest first: the login's session, marked current, then the registration's.
  request GET /auth/sessions -H "Authorization: Bearer $token"
  [ "$status_code" = 200 ]
  [ "$(json_field '.data.sessions | length')" = 2 ]
  [ "$(json_field '.data.sessions[0].current')" = true ]
  [ "$(json_field '.data.sessions[0].user_agent')" = "$agent" ]
  [ "$(json_field '.data.sessions[1].current')" = false ]
  first_session=$(json_field '.data.sessions[1].id')

  # After the window, the retired token is a reuse: 401, and its session ends
  # with every token it had.
  sleep 3
  refresh "$retired"
  expect_fail 401 "Invalid token. Please log in again."
  request GET /auth/status -H "Authorization: Bearer $token"
  expect_fail 401 "Token revoked. Please log in again."
  refresh "$current"
  expect_fail 401 "Invalid token. Please log in again."

  # The registration's session is untouched, lists itself alone, and ends
  # when its owner ends it.
  request GET /auth/sessions -H "Authorization: Bearer $first_token"
  [ "$status_code" = 200 ]
  [ "$(json_field '[.data.sessions[] | [.id, .current]]' | jq -c .)" = "[[$first_session,true]]" ]
  request DELETE "/auth/sessions/$first_session" -H "Authorization: Bearer $first_token"
  [ "$status_code" = 204 ]
  request GET /auth/status -H "Authorization: Bearer $first_token"
  expect_fail 401 "Token revoked. Please log in again."
}

@test "PATCH /users/{id} changes one's username, honours If-Match; DELETE removes the user" {
  local email="life-$RUN_ID@example.com"
  request POST /auth/register -H 'Content-Type: application/json' \
    --data "{\"username\":\"life-$RUN_ID\",\"email\":\"$email\",\"password\":\"correct horse battery\"}"
  [ "$status_code" = 201 ]
  token=$(json_field .auth_token)
  request GET /auth/status -H "Authorization: Bearer $token"
  id=$(json_field .data.id)
  request GET "/users/$id"
  [ "$status_code" = 200 ]
  [ "$(json_field .data.active)" = true ]
  etag=$(sed -n 's/^[Ee][Tt][Aa][Gg]: //p' <<<"$headers")
  [ -n "$etag" ]
  request GET "/users/$id" -H "If-None-Match: $etag"
  [ "$status_code" = 304 ]
  request PATCH "/users/$id" -H "Authorization: Bearer $token" -H "If-Match: $etag" \
    -H 'Content-Type: application/merge-patch+json' --data "{\"username\":\"renamed-$RUN_ID\"}"
  [ "$status_code" = 200 ]
  [ "$(json_field .data.username)" = "renamed-$RUN_ID" ]
  request PATCH "/users/$id" -H "Authorization: Bearer $token" -H "If-Match: $etag" \
    -H 'Content-Type: application/merge-patch+json' --data '{"username":"stale"}'
  expect_fail 412 "The user has changed since you read it."
  request PATCH "/users/$id" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/merge-patch+json' --data '{"admin":true}'
  expect_fail 401 "You do not have permission to do that."
  request DELETE "/users/$id" -H "Authorization: Bearer $token"
  [ "$status_code" = 204 ]
  request GET "/users/$id"
  expect_fail 404 "User does not exist"
  request GET /auth/status -H "Authorization: Bearer $token"
  expect_fail 401 "Invalid token. Please log in again."
}

@test "the OpenAPI document and the docs page are served" {
  request GET /openapi.json
  [ "$status_code" = 200 ]
  [[ "$(json_field .openapi)" == 3.1* ]]
  request GET /docs
  [ "$status_code" = 200 ]
  grep -qi '^content-type: text/html' <<<"$headers"
}

@test "Swagger UI is served from the image, scripts allowed on its page only" {
  request GET /docs/try
  [ "$status_code" = 200 ]
  grep -qi "^content-security-policy: .*script-src 'self';" <<<"$headers"
  bundle=$(grep -o '/docs/try/swagger-ui-bundle.js?v=[0-9a-f]*' <<<"$body")
  request GET "$bundle"
  [ "$status_code" = 200 ]
  grep -qi '^content-type: text/javascript' <<<"$headers"
  grep -q SwaggerUIBundle <<<"$body"
  request GET /docs
  run grep -qi '^content-security-policy: .*script-src' <<<"$headers"
  [ "$status" -ne 0 ]
}

# --- who may read and write: the open profile and the locked-down one -------
# Each test asserts both profiles: what a client without a token gets is the
# difference between them.

@test "reads without a token: open in the open profile, 403 when locked down" {
  post_user "anon-$RUN_ID" "anon-$RUN_ID@example.com"
  [ "$status_code" = 201 ]
  request GET /users
  id=$(json_field ".data.users[] | select(.email == \"anon-$RUN_ID@example.com\") | .id")
  [ -n "$id" ]
  anonymous request GET /users
  if locked_down; then
    expect_fail 403 "Provide a valid auth token."
  else
    [ "$status_code" = 200 ]
    [ -n "$(json_field ".data.users[] | select(.id == $id) | .email")" ]
  fi
  anonymous request GET "/users/$id"
  if locked_down; then
    expect_fail 403 "Provide a valid auth token."
    request GET /users -H "Authorization: Bearer not-a-token"
    expect_fail 401 "Invalid token. Please log in again."
  else
    [ "$status_code" = 200 ]
    [ "$(json_field .data.email)" = "anon-$RUN_ID@example.com" ]
  fi
}

@test "writes without a token: open in the open profile, 403 when locked down, 401 for a non-admin" {
  anonymous post_user "w1-$RUN_ID" "w1-$RUN_ID@example.com"
  if locked_down; then expect_fail 403 "Provide a valid auth token."; else [ "$status_code" = 201 ]; fi
  anonymous request POST / --data-urlencode "username=w2-$RUN_ID" --data-urlencode "email=w2-$RUN_ID@example.com"
  if locked_down; then  # the page's form answers with the page
    [ "$status_code" = 403 ]
    grep -qi '^content-type: text/html' <<<"$headers"
    grep -q "Provide a valid auth token." <<<"$body"
  else
    [ "$status_code" = 303 ]
  fi
  request POST /auth/register -H 'Content-Type: application/json' \
    --data "{\"username\":\"w3-$RUN_ID\",\"email\":\"w3-$RUN_ID@example.com\",\"password\":\"correct horse battery\"}"
  [ "$status_code" = 201 ]
  token=$(json_field .auth_token)
  request POST /users -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    --data "{\"username\":\"w4-$RUN_ID\",\"email\":\"w4-$RUN_ID@example.com\"}"
  if locked_down; then
    expect_fail 401 "You do not have permission to do that."
  else
    [ "$status_code" = 201 ]  # the open profile does not look at the token
  fi
  # What was refused was not added; what was accepted was.
  request GET /users
  added=$(json_field ".data.users[] | select(.username | endswith(\"-$RUN_ID\")) | .username" |
    grep -E '^w[124]-' | sort | tr '\n' ' ')
  if locked_down; then [ -z "$added" ]; else [ "$added" = "w1-$RUN_ID w2-$RUN_ID w4-$RUN_ID " ]; fi
}

@test "the page answers without a token and shows usernames, never emails" {
  post_user "pg-$RUN_ID" "pg-$RUN_ID@example.com"
  [ "$status_code" = 201 ]
  anonymous request GET /
  [ "$status_code" = 200 ]
  grep -qi '^content-type: text/html' <<<"$headers"
  grep -q "pg-$RUN_ID" <<<"$body"
  run ! grep -q "@example.com" <<<"$body"
}

# --- mail: a forgotten password, through the prod file's mail sink -----------
# The service sends through SMTP_URL=smtp://mail:1025 (the profile mail) and
# the sink keeps each mail in its Maildir, which MAILDIR mounts read-only
# (tests/release/compose.release.yml); the links name PUBLIC_BASE_URL, nginx
# as this client reaches it (BASE_URL).

# Every MIME part of a mail file, base64 ones decoded (the service sends a
# part as 7bit when it is ASCII, else as base64).
decoded_mail() {
  local dir part
  dir=$(mktemp -d "$BATS_TEST_TMPDIR/parts.XXXXXX")
  awk -v dir="$dir" 'BEGIN{n=0} /^--/{n++; next} {gsub(/\r/, ""); print > (dir "/" n)}' "$1"
  for part in "$dir"/*; do
    if grep -qi '^content-transfer-encoding: base64' "$part"; then
      sed '1,/^$/d' "$part" | base64 -d
      echo
    else
      cat "$part"
    fi
  done
}

# The token of a link to the page $2 (a URL) in a mail to $1 the sink kept;
# waits up to 60 s (the sender works off the request, in its own thread).
token_from_mail() {
  local to=$1 page=$2 file token
  for _ in $(seq 1 120); do
    for file in $(grep -lF "$to" "$MAILDIR"/new/* 2>/dev/null || true); do
      token=$(decoded_mail "$file" | sed -n "s|.*$page?token=\([A-Za-z0-9_-]*\).*|\1|p" | head -n1)
      if [ -n "$token" ]; then echo "$token"; return 0; fi
    done
    sleep 0.5
  done
  echo "no mail to $to with a link to $page in $MAILDIR/new:" >&2
  ls -l "$MAILDIR/new" >&2 || true
  return 1
}

@test "a forgotten password: the reset mail from the sink, a new password, a login with it" {
  [ -d "$MAILDIR" ]
  local email="reset-$RUN_ID@example.com"
  request POST /auth/register -H 'Content-Type: application/json' \
    --data "{\"username\":\"reset-$RUN_ID\",\"email\":\"$email\",\"password\":\"correct horse battery\"}"
  [ "$status_code" = 201 ]
  old_token=$(json_field .auth_token)
  request POST /auth/password/forgot -H 'Content-Type: application/json' --data "{\"email\":\"$email\"}"
  [ "$status_code" = 202 ]
  [ "$(json_field .message)" = "If that address has an account, a reset link is on its way." ]
  token=$(token_from_mail "$email" "$BASE_URL/reset-password")
  request POST /auth/password/reset -H 'Content-Type: application/json' \
    --data "{\"token\":\"$token\",\"new_password\":\"a brand new password\"}"
  [ "$status_code" = 200 ]
  [ -n "$(json_field .auth_token)" ]
  request POST /auth/login -H 'Content-Type: application/json' \
    --data "{\"email\":\"$email\",\"password\":\"a brand new password\"}"
  [ "$status_code" = 200 ]
  request POST /auth/login -H 'Content-Type: application/json' \
    --data "{\"email\":\"$email\",\"password\":\"correct horse battery\"}"
  expect_fail 401 "Invalid credentials."
  # The token works once, and the reset ended the sessions from before it.
  request POST /auth/password/reset -H 'Content-Type: application/json' \
    --data "{\"token\":\"$token\",\"new_password\":\"another new password\"}"
  expect_fail 400 "Invalid or expired token."
  request GET /auth/status -H "Authorization: Bearer $old_token"
  [ "$status_code" = 401 ]
}

# --- the edge: HTTPS, headers, what the public cannot reach, rate limits -----
# BASE_URL is https://nginx, verified against the run's throwaway CA
# (CURL_CA_BUNDLE, mounted by tests/release/compose.release.yml): every test
# above already spoke verified HTTPS.

@test "the certificate is verified against the run's CA, and only against it" {
  [[ "$BASE_URL" == https://* ]]
  [ -s "$CURL_CA_BUNDLE" ]
  run curl -sS -o /dev/null --cacert /etc/ssl/certs/ca-certificates.crt "$BASE_URL/ping"
  [ "$status" -ne 0 ]  # the system's CAs do not know the throwaway one
  request GET /ping
  [ "$status_code" = 200 ]
}

@test "plain HTTP on port 80 redirects to HTTPS" {
  local host=${BASE_URL#https://}
  local code
  code=$(curl -sS -o /dev/null -D "$BATS_TEST_TMPDIR/headers" -w '%{http_code}' \
    "http://$host/users?x=1")
  [ "$code" = 301 ]
  grep -qi "^location: https://$host/users?x=1" "$BATS_TEST_TMPDIR/headers"
}

@test "TLS 1.2 and 1.3 are accepted, TLS 1.1 is refused by nginx" {
  curl -sS -o /dev/null --tlsv1.2 --tls-max 1.2 "$BASE_URL/ping"
  curl -sS -o /dev/null --tlsv1.3 "$BASE_URL/ping"
  # SECLEVEL=0: this client would speak TLS 1.1, so the refusal is the server's
  # (curl 35, "alert protocol version").
  run curl -sS -o /dev/null --tlsv1.1 --tls-max 1.1 --ciphers 'DEFAULT@SECLEVEL=0' "$BASE_URL/ping"
  [ "$status" = 35 ]
  [[ "$output" == *"protocol version"* ]]
}

# Each header exactly once, on the service's answers, nginx's own errors and
# the static files alike.
expect_edge_headers() {
  [ "$(grep -ci '^strict-transport-security: max-age=' <<<"$headers")" = 1 ]
  [ "$(grep -ci '^content-security-policy: ' <<<"$headers")" = 1 ]
  [ "$(grep -ci '^x-frame-options: DENY' <<<"$headers")" = 1 ]
  [ "$(grep -ci '^x-content-type-options: nosniff' <<<"$headers")" = 1 ]
  [ "$(grep -ci '^referrer-policy: no-referrer' <<<"$headers")" = 1 ]
}

@test "HSTS and the security headers on every answer, /static/ included" {
  request GET /ping
  expect_edge_headers
  request GET /static/style.css
  [ "$status_code" = 200 ]
  expect_edge_headers
  request GET /no/such/route
  expect_edge_headers
  head -c 2000000 /dev/zero | tr '\0' a > "$BATS_TEST_TMPDIR/big"
  request POST /users -H 'Content-Type: application/json' --data-binary "@$BATS_TEST_TMPDIR/big"
  [ "$status_code" = 413 ]
  expect_edge_headers
}

@test "token answers are never cached" {
  request POST /auth/register -H 'Content-Type: application/json' \
    --data "{\"username\":\"nostore-$RUN_ID\",\"email\":\"nostore-$RUN_ID@example.com\",\"password\":\"correct horse battery\"}"
  [ "$status_code" = 201 ]
  grep -qi '^cache-control: no-store' <<<"$headers"
}

@test "/metrics is not reachable through the edge" {
  request GET /metrics
  expect_fail 404 "Resource not found."
  request GET /%6detrics
  [ "$status_code" = 404 ]
}

# Last: it uses up this client's allowance for a while.
@test "a flood of logins from one address gets JSON 429s from nginx" {
  # 30 POSTs on one kept-alive connection (one curl, 30 transfers), then one more.
  local flood=() codes
  for _ in $(seq 1 30); do flood+=("$BASE_URL/auth/login" -o /dev/null); done
  codes=$(curl -sS -X POST -H 'Content-Type: application/json' --data '{}' -w '%{http_code} ' "${flood[@]}")
  [[ "$codes" == "400 "* ]]  # the first ones reach the service
  [[ "$codes" == *"429 "* ]]
  request POST /auth/login -H 'Content-Type: application/json' --data '{}'
  expect_fail 429 "Too many requests."
  grep -qi '^retry-after: 1' <<<"$headers"
  request GET /ping  # other requests are not limited
  [ "$status_code" = 200 ]
}
