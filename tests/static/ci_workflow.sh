#!/usr/bin/env bash
# The hosted CI workflow parses and runs what .ci/run runs: make lint before
# everything else (every job waits for the lint job), make test, make
# test-asan, make coverage and make release; its release job pushes the images
# to ghcr.io on pushes to main only.
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

# The release job pushes the images it ran to GitHub's container registry, on
# pushes to main only, tagged with the commit's SHA.
release = workflow["jobs"].get("release")
assert release, "no release job"
steps = release.get("steps", [])
pushes = [s for s in steps if "release.sh push" in s.get("run", "")]
assert len(pushes) == 1, "the release job has no step running scripts/release.sh push"
push = pushes[0]
names = [s.get("run", "") for s in steps]
assert any(n.strip() == "make release" for n in names[:steps.index(push)]), \
    "the push step does not come after make release"
condition = str(push.get("if", ""))
assert "github.ref == 'refs/heads/main'" in condition, f"the push step does not run only on main: {condition!r}"
assert "github.event_name == 'push'" in condition, f"the push step may run on pull requests: {condition!r}"
assert "&&" in condition and "||" not in condition, f"the push step's condition is not a conjunction: {condition!r}"
assert "docker login ghcr.io" in push["run"] and "--password-stdin" in push["run"], \
    "the push step does not log in to ghcr.io with the token on stdin"
assert "secrets.GITHUB_TOKEN" in str(push.get("env", {})), "the push step does not use GITHUB_TOKEN"
assert "rev-parse --short \"$GITHUB_SHA\"" in push["run"] or "github.sha" in push["run"], \
    "the push step does not tag the images with the commit SHA"
assert "packages" in release.get("permissions", {}) and release["permissions"]["packages"] == "write", \
    "the release job cannot write packages"
assert "release.sh push" in open(sys.argv[1]).read()
print("ok: the release job pushes to ghcr.io on main only, tagged with the commit SHA")
PY
