#!/usr/bin/env bash
# deploy/k8s renders with kustomize (base and overlays/prod), every rendered
# object matches the Kubernetes schemas with no unknown field, and the
# manifests agree with the service's source: probe paths, port, drain time,
# uid, selectors, body limit, database (k8s-validate/validate.js).
# kustomize: kubectl's (`kubectl kustomize`) or a standalone `kustomize`. On a
# fresh Debian bookworm, scripts/install-deps.sh installs Debian's
# kubernetes-client (kubectl 1.20, kustomize v2.0.3, the only kustomize Debian
# ships); for it the test renders a copy spelt the v2 way
# (k8s-validate/legacy_kustomization.js). Exit 77 = skipped.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dir="$root/tests/static/k8s-validate"
command -v npm >/dev/null || { echo "SKIP: npm is not installed (scripts/install-deps.sh installs it)"; exit 77; }
if command -v kubectl >/dev/null; then
  render=(kubectl kustomize)
elif command -v kustomize >/dev/null; then
  render=(kustomize build)
else
  echo "SKIP: neither kubectl nor kustomize is installed (scripts/install-deps.sh installs Debian's kubernetes-client)"
  exit 77
fi
if [ ! -f "$dir/node_modules/kubernetes-models/package.json" ] || [ ! -f "$dir/node_modules/yaml/package.json" ]; then
  npm ci --prefix "$dir" --no-audit --no-fund --ignore-scripts --loglevel=error
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
k8s="$root/deploy/k8s"
# kubectl before 1.21 embeds kustomize v2.0.3: render a copy spelt for it.
if [ "${render[0]}" = kubectl ] &&
   kubectl version --client -o json 2>/dev/null |
     node -e 'const v = JSON.parse(require("fs").readFileSync(0)).clientVersion;
              process.exit(Number(v.major) === 1 && parseInt(v.minor, 10) < 21 ? 0 : 1)'; then
  cp -r "$k8s" "$tmp/legacy"
  node "$dir/legacy_kustomization.js" "$tmp/legacy"
  echo "note: this kubectl's kustomize is v2.0.3; rendering a copy spelt for it"
  k8s="$tmp/legacy"
fi
for target in base overlays/prod; do
  out="$tmp/$(basename "$target").yaml"
  "${render[@]}" "$k8s/$target" >"$out" 2>"$tmp/err" ||
    { cat "$tmp/err"; echo "FAIL: ${render[*]} deploy/k8s/$target"; exit 1; }
  if [ -s "$tmp/err" ]; then
    cat "$tmp/err"; echo "FAIL: ${render[*]} deploy/k8s/$target printed warnings"; exit 1
  fi
  echo "ok: ${render[*]} deploy/k8s/$target"
done
node "$dir/validate.js" "$root" base="$tmp/base.yaml" prod="$tmp/prod.yaml"
