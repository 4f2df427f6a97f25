#!/usr/bin/env bats
# The HTTP contract through the production stack's nginx, from a container on
# the compose network. Each test stands alone: emails are unique per run.

# `run !`: a bare `! cmd` never fails a Bats test.
bats_require_minimum_version 1.5.0

setup_file() {
  RUN_ID="r$(date +%s%N)"
  export RUN_ID
}

# curl into $status_code, $body and $headers (files under BATS_TEST_TMPDIR).
request() {
  local method=$1 path=$2; shift 2
  status_code=$(curl -sS -o "$BATS_TEST_TMPDIR/body" -D "$BATS_TEST_TMPDIR/headers" \
    -w '%{http_code}' -X "$method" "$BASE_URL$path" "$@")
  body=$(cat "$BATS_TEST_TMPDIR/body")
  headers=$(tr -d '\r' < "$BATS_TEST_TMPDIR/headers")
}

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
  request GET /auth/status
  expect_fail 403 "Provide a valid auth token."
}

@test "the OpenAPI document and the docs page are served" {
  request GET /openapi.json
  [ "$status_code" = 200 ]
  [[ "$(json_field .openapi)" == 3.1* ]]
  request GET /docs
  [ "$status_code" = 200 ]
  grep -qi '^content-type: text/html' <<<"$headers"
}
