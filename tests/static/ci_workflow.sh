#!/usr/bin/env bash
# The hosted CI workflow parses and runs what .ci/run runs: make lint before
# everything else (every job waits for the lint job), make test, make
# test-asan, make coverage and make release.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
python3 - "$root/.github/workflows/ci.yml" "$root/.ci/run" <<'PY'
import sys, yaml
workflow = yaml.safe_load(open(sys.argv[1]))
ci_run = open(sys.argv[2]).read()
jobs = workflow.get("jobs")
assert isinstance(jobs, dict) and jobs, "no jobs"
# PyYAML reads the key `on` as the boolean True.
assert workflow.get("on", workflow.get(True)), "no trigger"
commands = []
runs = {}  # job -> its run commands
for name, job in jobs.items():
    assert "runs-on" in job, f"job {name} has no runs-on"
    runs[name] = []
    for step in job.get("steps", []):
        assert "run" in step or "uses" in step, f"job {name}: a step with neither run nor uses"
        runs[name].append(step.get("run", "").strip())
        commands.append(step.get("run", ""))
targets = ("make lint", "make test", "make test-asan", "make coverage", "make release")
for target in targets:
    assert any(c.strip() == target for c in commands), f"the workflow never runs `{target}`"
    assert target in ci_run.splitlines(), f".ci/run never runs `{target}`"

# .ci/run: lint is the first make.
makes = [l.strip() for l in ci_run.splitlines() if l.strip().startswith("make ")]
assert makes and makes[0] == "make lint", f".ci/run runs {makes[:1]} before make lint"

# The workflow: every job other than the lint job waits for it, directly or
# through another job.
lint_jobs = {n for n, r in runs.items() if "make lint" in r}
def needs(name):
    n = jobs[name].get("needs", [])
    return [n] if isinstance(n, str) else list(n)
def waits_for_lint(name, seen=()):
    return any(d in lint_jobs or (d not in seen and waits_for_lint(d, seen + (name,)))
               for d in needs(name))
for name in jobs:
    if name in lint_jobs:
        assert all(r in ("", "make lint") or not r.startswith("make ") for r in runs[name]), \
            f"job {name} runs make lint and other targets: the lint job should be lint only"
        continue
    assert waits_for_lint(name), f"job {name} does not wait for the lint job"
print("ok: .github/workflows/ci.yml parses, lints first, runs make test, make test-asan, "
      "make coverage, make release")
PY
