// What the manifests must agree with, read from the service's own files rather
// than repeated in the test: a change there fails the test until deploy/k8s
// follows.
"use strict";
const fs = require("fs");
const path = require("path");

function grab(root, file, pattern, what) {
  const text = fs.readFileSync(path.join(root, file), "utf8");
  const m = text.match(pattern);
  if (!m) throw new Error(`cannot read ${what} from ${file} (pattern ${pattern}); update service_facts.js`);
  return m;
}

function read(root) {
  const user = grab(root, "services/users/Dockerfile", /^USER (\d+):(\d+)\s*$/m, "the runtime USER uid:gid");
  const drain = grab(root, "common/src/app.cpp", /sigwait[\s\S]*?shutdown\(std::chrono::(seconds|milliseconds)\((\d+)\)\)/,
                     "the SIGTERM drain deadline");
  const routes = [...fs.readFileSync(path.join(root, "common/src/health_blueprint.cpp"), "utf8")
                    .matchAll(/\.get\("(\/[^"]*)"/g)].map((m) => m[1]);
  if (routes.length === 0) throw new Error("no routes found in common/src/health_blueprint.cpp; update service_facts.js");
  // The /auth routes: the Ingresses route each by its exact path.
  const routeDir = path.join(root, "services/users/src/routes");
  const authRoutes = [...new Set(fs.readdirSync(routeDir).filter((f) => f.endsWith(".cpp"))
    .flatMap((f) => [...fs.readFileSync(path.join(routeDir, f), "utf8")
      .matchAll(/\.(?:get|post|patch|put|del|delete)\("(\/auth\/[^"]*)"/g)].map((m) => m[1])))].sort();
  if (authRoutes.length === 0) throw new Error(`no /auth routes found in ${routeDir}; update service_facts.js`);
  // Every literal path the blueprints register (`/users/:id` as written).
  const allRoutes = [...new Set([...fs.readdirSync(routeDir).filter((f) => f.endsWith(".cpp")).map((f) => path.join(routeDir, f)),
    path.join(root, "common/src/health_blueprint.cpp"), path.join(root, "common/src/metrics.cpp")]
    .filter((f) => fs.existsSync(f))
    .flatMap((f) => [...fs.readFileSync(f, "utf8").matchAll(/\.(?:get|post|patch|put|del|delete)\("(\/[^"]*)"/g)].map((m) => m[1])))].sort();
  return {
    port: Number(grab(root, "common/include/common/config.hpp", /\bint port = (\d+);/, "the default PORT")[1]),
    maxBodyBytes: Number(grab(root, "common/include/common/config.hpp", /\bmax_body_bytes = (\d+);/, "the default MAX_BODY_BYTES")[1]),
    uid: Number(user[1]),
    gid: Number(user[2]),
    drainSeconds: drain[1] === "seconds" ? Number(drain[2]) : Number(drain[2]) / 1000,
    healthRoutes: routes,
    authRoutes,
    routes: allRoutes,
    postgresMajor: Number(grab(root, "db/Dockerfile", /^FROM postgres:(\d+)/m, "the PostgreSQL major version")[1]),
  };
}

// nginx's size syntax (ingress-nginx's proxy-body-size): 1m, 512k, 1048576.
function nginxSize(text) {
  const m = String(text).match(/^(\d+)([kKmMgG]?)$/);
  if (!m) return NaN;
  return Number(m[1]) * { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase()];
}

// SMTP_URL's host and port (the service's defaults: 25 for smtp://, 465 for
// smtps://); null when mail is off.
function smtpEndpoint(url) {
  if (!url) return null;
  const m = String(url).match(/^(smtps?):\/\/([^/:]+|\[[^\]]+\])(?::(\d+))?\/?$/);
  if (!m) return { host: "", port: NaN };
  return { host: m[2], port: m[3] ? Number(m[3]) : (m[1] === "smtps" ? 465 : 25) };
}

module.exports = { read, nginxSize, smtpEndpoint };
