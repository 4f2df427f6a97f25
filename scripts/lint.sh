#!/usr/bin/env bash
# make lint: five analysers over the project's own files, each run to the end;
# the script exits non-zero when any of them reports anything.
#   - clang-format: every .cpp/.hpp matches .clang-format
#   - clang-tidy: common/ and services/ (.clang-tidy: the checks, and the
#     exceptions with their reasons), warnings are errors
#   - cppcheck: common/ and services/
#   - ShellCheck: every shell script and Bats file (.shellcheckrc)
#   - yamllint: the compose files, the CI workflow, deploy/k8s (.yamllint)
# `scripts/lint.sh NAME...` runs only the named ones. JOBS sets clang-tidy's
# parallelism (default: the number of cores).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
JOBS=${JOBS:-$(nproc)}

cpp_sources() { git ls-files 'common/*.cpp' 'services/*.cpp'; }

run_clang_format() {
  git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run --Werror
}

run_clang_tidy() {
  # The compile commands of the debug tree; configuring is enough (no
  # generated header), so this needs no build.
  cmake --preset debug >/dev/null
  local out rc=0
  out=$(cpp_sources | xargs -P"$JOBS" -n4 clang-tidy -p build/debug --quiet \
        --header-filter="^$root/(common|services)/" 2>&1) || rc=$?
  # Keep the findings, drop clang-tidy's per-file tallies.
  grep -vE '^[0-9]+ (warning|error)s?( and [0-9]+ (warning|error)s?)? generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter=|^Use -system-headers' <<<"$out" || true
  return "$rc"
}

run_cppcheck() {
  # Not given the system include paths on purpose: cppcheck's own knowledge
  # of the standard library is better than parsing libstdc++.
  cppcheck --enable=warning,performance,portability --error-exitcode=1 --inline-suppr \
    --std=c++17 --language=c++ --quiet -j"$JOBS" \
    -I common/include -I common/src -I services/users/src \
    common services
}

run_shellcheck() {
  { git ls-files '*.sh' '*.bats'; echo .ci/run; } | xargs shellcheck
}

run_yamllint() {
  git ls-files 'docker-compose*.yml' 'tests/release/compose*.yml' '.github/workflows/*.yml' \
    'deploy/k8s/*.yaml' | xargs yamllint --strict
}

all=(clang-format clang-tidy cppcheck shellcheck yamllint)
[ $# -gt 0 ] || set -- "${all[@]}"
failed=()
for tool in "$@"; do
  [[ " ${all[*]} " == *" $tool "* ]] || { echo "lint.sh: unknown check '$tool' (one of: ${all[*]})" >&2; exit 64; }
  command -v "$tool" >/dev/null || { echo "lint.sh: $tool not installed (scripts/install-deps.sh lint)" >&2; exit 1; }
  echo "== $tool"
  start=$SECONDS
  if "run_${tool//-/_}"; then
    echo "ok: $tool ($((SECONDS - start))s)"
  else
    echo "FAIL: $tool ($((SECONDS - start))s)"
    failed+=("$tool")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "lint: findings from ${failed[*]}" >&2
  exit 1
fi
echo "lint: no findings"
