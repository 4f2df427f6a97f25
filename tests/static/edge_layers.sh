#!/usr/bin/env bash
# The request path goes one way through the edge (common/src/edge): each
# file includes only edge headers of layers below its own, so nothing calls
# back into what called it. The layers, top first:
#
#   connection_set    accepts and owns a loop's connections
#   http_connection   reads and frames bytes, writes answers
#   dispatcher        routes a request, runs its handler, writes the answer
#                     to the ResponseSink it is handed
#   server_state      what the loops share (route table, limits, observers)
#   router response_wire request_framer   matching, writing, parsing
#   percent_decode
#
# The common headers outside the edge (common/text.hpp, common/http.hpp, ...)
# are below all of it: any edge file may include them, and this check reads
# only the "edge/..." includes.
# A file may include its own header and the headers of lower layers; an
# include of its own layer's or a higher layer's header fails, and so does an
# edge file missing from the list (a new file takes its place here).
# With --self-test it also checks that it catches an upward include.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)

layer_of() {
  case "$1" in
    connection_set) echo 0 ;;
    http_connection) echo 1 ;;
    dispatcher) echo 2 ;;
    server_state) echo 3 ;;
    router | response_wire | request_framer) echo 4 ;;
    percent_decode) echo 5 ;;
    *) echo "" ;;
  esac
}

# Prints every violation under the edge directory $1; fails if there is one.
check() {
  local dir=$1 failures=0 file name own included target layer
  for file in "$dir"/*.hpp "$dir"/*.cpp; do
    name=$(basename "$file")
    own=${name%.*}
    layer=$(layer_of "$own")
    if [[ -z $layer ]]; then
      echo "FAIL: $name: not in the edge's layer order (tests/static/edge_layers.sh)"
      failures=$((failures + 1))
      continue
    fi
    while read -r included; do
      target=${included%.hpp}
      [[ $target == "$own" ]] && continue
      local below
      below=$(layer_of "$target")
      if [[ -z $below ]]; then
        echo "FAIL: $name includes edge/$included, which is not in the layer order"
        failures=$((failures + 1))
      elif ((below <= layer)); then
        echo "FAIL: $name (layer $layer) includes edge/$included (layer $below): not below it"
        failures=$((failures + 1))
      fi
    done < <(sed -n 's|^[[:space:]]*#[[:space:]]*include[[:space:]]*"edge/\([^"]*\)".*|\1|p' "$file")
  done
  return $((failures > 0))
}

check "$root/common/src/edge"
echo "ok: every edge file includes only edge headers below its layer"

if [[ ${1:-} == --self-test ]]; then
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  cp "$root"/common/src/edge/*.?pp "$scratch"/
  # The dispatcher reaching back into the connection must be caught.
  sed -i '0,/#include "edge\//s|#include "edge/|#include "edge/http_connection.hpp"\n#include "edge/|' \
    "$scratch/dispatcher.cpp"
  if check "$scratch" >/dev/null; then
    echo "FAIL: an upward include (dispatcher.cpp -> http_connection.hpp) went unnoticed"
    exit 1
  fi
  echo "ok: an upward include is caught"
fi
