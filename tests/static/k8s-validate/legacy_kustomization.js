// Rewrites a copy of deploy/k8s for kustomize v2.0.3, the one inside Debian
// bookworm's kubectl (kubernetes-client 1.20): it predates directories under
// `resources:` (v2 calls them `bases:`) and the `patches:` list (v2's
// `patchesStrategicMerge:`). The files in the repository keep today's
// spelling, which kustomize v5 reads without deprecation warnings; the
// meaning of each rewritten field is the same.
// Usage: node legacy_kustomization.js COPY_OF_DEPLOY_K8S
"use strict";
const fs = require("fs");
const path = require("path");
const YAML = require("yaml");

function rewrite(file) {
  const k = YAML.parse(fs.readFileSync(file, "utf8"));
  const dir = path.dirname(file);
  const isDir = (entry) => fs.statSync(path.resolve(dir, entry)).isDirectory();
  if (k.resources && k.resources.some(isDir)) {
    k.bases = k.resources.filter(isDir);
    k.resources = k.resources.filter((r) => !isDir(r));
  }
  if (k.patches) {
    if (!k.patches.every((p) => p.path && !p.target && Object.keys(p).length === 1)) {
      throw new Error(`${file}: only patches given as {path} can be spelt for kustomize v2`);
    }
    k.patchesStrategicMerge = k.patches.map((p) => p.path);
    delete k.patches;
  }
  fs.writeFileSync(file, YAML.stringify(k));
}

(function visit(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) visit(full);
    else if (entry.name === "kustomization.yaml") rewrite(full);
  }
})(process.argv[2]);
