// Unknown-field check ("kubectl apply --validate=strict" without a cluster).
// kubernetes-models' compiled validators check types and required fields but
// accept any extra key, so a misspelt field (readinessprobe, runAsNonroot)
// would pass them and be dropped by the API server. This walks an object
// along the TypeScript interfaces the package ships (generated from the same
// OpenAPI document) and reports every key the interface does not declare.
"use strict";
const fs = require("fs");
const path = require("path");

const nodeModules = path.join(__dirname, "node_modules");
const interfaces = new Map(); // .d.ts file -> {props, imports} | null

function resolveImport(fromFile, spec) {
  const base = spec.startsWith(".") ? path.resolve(path.dirname(fromFile), spec)
                                    : path.join(nodeModules, spec);
  return base + ".d.ts";
}

// The first `export interface` of a generated .d.ts: its properties (4-space
// indent, one per line) and the file each imported interface name lives in.
function load(file) {
  if (interfaces.has(file)) return interfaces.get(file);
  let parsed = null;
  if (fs.existsSync(file)) {
    const text = fs.readFileSync(file, "utf8");
    const imports = new Map();
    for (const m of text.matchAll(/^import \{ (\w+) \} from "([^"]+)";$/gm)) {
      imports.set(m[1], resolveImport(file, m[2]));
    }
    const body = text.match(/^export interface \w+(?: extends \w+)? \{\n([\s\S]*?)\n\}$/m);
    if (body) {
      const props = new Map();
      for (const m of body[1].matchAll(/^ {4}"([^"]+)"\??: (.*)$/gm)) props.set(m[1], m[2]);
      parsed = { props, imports };
    }
  }
  interfaces.set(file, parsed);
  return parsed;
}

// The interface file a property's type refers to (directly or as Array<T>),
// or null for strings, numbers, maps, enums and aliases such as Quantity.
function childFile(decl, type) {
  const m = type.match(/^(?:Array<)?(I\w+)>?;$/);
  return m && decl.imports.has(m[1]) ? decl.imports.get(m[1]) : null;
}

function walk(value, file, where, problems) {
  const decl = load(file);
  if (!decl || value === null || typeof value !== "object") return;
  if (Array.isArray(value)) {
    value.forEach((item, i) => walk(item, file, `${where}[${i}]`, problems));
    return;
  }
  for (const [key, child] of Object.entries(value)) {
    if (!decl.props.has(key)) {
      problems.push(`${where}.${key} is not a field of ${path.basename(file, ".d.ts")}`);
      continue;
    }
    const next = childFile(decl, decl.props.get(key));
    if (next) walk(child, next, `${where}.${key}`, problems);
  }
}

// modelFile: the kind's .d.ts, e.g. node_modules/kubernetes-models/apps/v1/Deployment.d.ts
function unknownFields(object, modelFile, name) {
  const problems = [];
  if (!load(modelFile)) return [`${name}: no interface in ${modelFile}`];
  walk(object, modelFile, name, problems);
  return problems;
}

module.exports = { unknownFields };
