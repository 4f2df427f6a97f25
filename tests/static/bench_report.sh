#!/usr/bin/env bash
# The benchmark without running it: its scripts parse, and bench/report.py
# turns a small rows file into the right tables and goals.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
for script in "$root"/bench/*.sh; do bash -n "$script"; done
python3 "$root/tests/static/bench_report_test.py"
