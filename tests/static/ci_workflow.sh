#!/usr/bin/env bash
# The hosted CI workflow parses and runs what .ci/run runs: make test,
# make test-asan and make release.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
python3 - "$root/.github/workflows/ci.yml" "$root/.ci/run" <<'PY'
import sys, yaml
workflow = yaml.safe_load(open(sys.argv[1]))
ci_run = open(sys.argv[2]).read()
assert isinstance(workflow.get("jobs"), dict) and workflow["jobs"], "no jobs"
# PyYAML reads the key `on` as the boolean True.
assert workflow.get("on", workflow.get(True)), "no trigger"
commands = []
for name, job in workflow["jobs"].items():
    assert "runs-on" in job, f"job {name} has no runs-on"
    for step in job.get("steps", []):
        assert "run" in step or "uses" in step, f"job {name}: a step with neither run nor uses"
        commands.append(step.get("run", ""))
for target in ("make test", "make test-asan", "make release"):
    assert any(c.strip() == target for c in commands), f"the workflow never runs `{target}`"
    assert target in ci_run, f".ci/run never runs `{target}`"
print("ok: .github/workflows/ci.yml parses and runs make test, make test-asan, make release")
PY
