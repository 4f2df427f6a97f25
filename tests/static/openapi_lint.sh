#!/usr/bin/env bash
# The OpenAPI document lints clean: Redocly CLI (pinned by
# openapi-lint/package-lock.json, runs on Node 18), no error and no warning.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dir="$root/tests/static/openapi-lint"
command -v npm >/dev/null || { echo "skip: npm is not installed"; exit 77; }
if [ ! -x "$dir/node_modules/.bin/redocly" ]; then
  npm ci --prefix "$dir" --no-audit --no-fund --ignore-scripts --loglevel=error
fi
out=$("$dir/node_modules/.bin/redocly" lint "$root/services/users/openapi/openapi.json" \
  --config "$dir/redocly.yaml" --format=stylish 2>&1) || { echo "$out"; echo "FAIL: openapi lint"; exit 1; }
if grep -qiE '[0-9]+ warnings?' <<<"$out"; then
  echo "$out"; echo "FAIL: openapi lint has warnings"; exit 1
fi
echo "ok: openapi.json lints clean"
