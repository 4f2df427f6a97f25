#!/usr/bin/env bash
# The pinned npm packages (the browser test's, and Swagger UI's that the build
# installs) must run on the Node.js that scripts/install-deps.sh gives a fresh
# Debian bookworm (Debian's nodejs, 18) and on the node this machine runs.
# Every `engines.node` in the lock files is checked against both; a range of
# a form this check cannot read fails it.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
locks=("$root/tests/e2e/browser/package-lock.json" "$root/services/users/swagger-ui/package-lock.json")
debian_node=18.20.4   # nodejs in Debian bookworm (and bookworm-security)
if apt-cache madison nodejs >/dev/null 2>&1; then
  from_debian=$(apt-cache madison nodejs | awk -F'|' '$3 ~ /debian\.org/ {gsub(/ /,"",$2); print $2}' |
                sed 's/+.*//' | sort -V | head -n1)
  [ -n "$from_debian" ] && debian_node=$from_debian
fi
local_node=$(node --version 2>/dev/null | tr -d v || true)
for lock in "${locks[@]}"; do
echo "$lock:"
python3 - "$lock" "$debian_node" "$local_node" <<'PY'
import json, re, sys
lock, versions = sys.argv[1], [v for v in sys.argv[2:] if v]
def parse(v): return tuple(int(x) for x in v.split(".")[:3])
def satisfies(version, rng):
    for alternative in rng.split("||"):
        ok = True
        for clause in alternative.split():
            m = re.fullmatch(r"(>=|>|<=|<|\^|~)?v?(\d+)(?:\.(\d+|x))?(?:\.(\d+|x))?", clause)
            if not m: raise SystemExit(f"FAIL: cannot read engines range {rng!r}")
            op = m.group(1) or "="
            bound = tuple(int(x) if x and x != "x" else 0 for x in m.group(2, 3, 4))
            v = parse(version)
            ok &= {">=": v >= bound, ">": v > bound, "<=": v <= bound, "<": v < bound,
                   "^": v >= bound and v[0] == bound[0], "~": v[:2] == bound[:2] and v >= bound,
                   "=": v[:1] == bound[:1] if m.group(3) is None else v >= bound and v[:2] == bound[:2]}[op]
        if ok: return True
    return False
packages = json.load(open(lock))["packages"]
failed = False
for name, meta in packages.items():
    rng = (meta.get("engines") or {}).get("node")
    if not rng: continue
    for version in versions:
        good = satisfies(version, rng)
        print(f"{'ok' if good else 'FAIL'}: {name or 'root'} needs node {rng}; node {version}")
        failed |= not good
sys.exit(1 if failed else 0)
PY
done
