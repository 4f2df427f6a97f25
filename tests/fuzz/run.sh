#!/usr/bin/env bash
# make fuzz: builds the libFuzzer targets with clang (ASan + UBSan) in
# build/fuzz and runs each for a bounded time over the committed corpus.
# FUZZ_SECONDS (default 30) per target. A crash leaves its input in
# build/fuzz/artifacts/; turn it into a unit test.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_TARGET=${FUZZ_SECONDS:-30}
cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DUSERS_FUZZ=ON -DBUILD_TESTING=OFF >/dev/null
cmake --build build/fuzz -j"$(nproc)" --target fuzz_request_parsers fuzz_http_request
mkdir -p build/fuzz/artifacts
for target in request_parsers http_request; do
  corpus="build/fuzz/corpus/$target"
  mkdir -p "$corpus"
  echo "fuzz: $target for ${SECONDS_PER_TARGET}s"
  build/fuzz/tests/fuzz/fuzz_$target -max_total_time="$SECONDS_PER_TARGET" -max_len=8192 \
    -timeout=10 -artifact_prefix=build/fuzz/artifacts/ -print_final_stats=1 \
    "$corpus" "tests/fuzz/corpus/$target" 2>&1 | grep -E "^(#[0-9]+ *DONE|stat::number_of_executed_units|stat::average_exec_per_sec|==[0-9]+==ERROR|SUMMARY)" || true
  if ls build/fuzz/artifacts/crash-* build/fuzz/artifacts/timeout-* >/dev/null 2>&1; then
    echo "fuzz: $target found a failing input (build/fuzz/artifacts/)"; exit 1
  fi
done
echo "fuzz: no crash"
