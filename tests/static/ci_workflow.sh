#!/usr/bin/env bash
# The hosted CI workflow parses and runs what .ci/run runs: make test,
# make test-asan and make release; its release job pushes the images to
# ghcr.io on pushes to main only.
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
